//! The selection desk's storage traits (`db::desk`) on PostgreSQL: the desk's tables live in
//! the server's database (migration step 4, `desk_schema`), and [`super::PgDb`] implements
//! the desk's traits beside the server's.
//!
//! Several nodes may run desk commands on one database at once. The writes that decide a
//! race are single conditional statements (`take_unit` updates only an available unit), which
//! READ COMMITTED makes safe: a second writer waits for the first's row lock and re-checks
//! the condition against the committed row.

mod answers;
mod board;
mod books;
mod delegation;
mod display;
mod group;
mod image;
#[cfg(test)]
mod image_tests;
mod ledger;
#[cfg(test)]
mod ledger_tests;
mod sales;
mod state;
#[cfg(test)]
mod tests;

use crate::db::DbError;

/// A stored 32-byte hash (a ledger entry's, a delegation's anchor).
fn hash32(bytes: &[u8], what: &str) -> Result<[u8; 32], DbError> {
    <[u8; 32]>::try_from(bytes).map_err(|_| DbError::Corrupt(format!("{what} hash")))
}

/// A small number the traits carry as `u32`, read from a `bigint` column.
fn small(n: i64, what: &str) -> Result<u32, DbError> {
    u32::try_from(n).map_err(|_| DbError::Corrupt(format!("{what} {n}")))
}

/// As [`small`], for a nullable column.
fn small_opt(n: Option<i64>, what: &str) -> Result<Option<u32>, DbError> {
    n.map(|n| small(n, what)).transpose()
}

/// A fresh, migrated schema for the desk suite, or `None` without a test server.
#[cfg(test)]
fn fresh() -> Option<super::SuiteDb> {
    super::fresh()
}

#[cfg(test)]
mod suite {
    crate::desk_suite!(@optional super::fresh;
        the_queue_calls_skips_recalls_and_numbers_buyers,
        answers_are_found_under_their_device_and_key,
        display_links_are_made_once_and_rotate_per_event,
        the_board_shows_the_plan_the_queue_and_recent_sales,
        a_command_undone_leaves_nothing_and_a_released_one_stays,
        an_event_opens_once_with_its_units_allotments_and_buyers,
        a_hold_takes_an_available_unit_once_and_ends_with_its_state,
        a_hold_and_a_release_are_decided_on_facts_read_together,
        the_ledger_appends_and_reads_its_tip_back,
        a_sale_is_recorded_and_reversed_in_red,
        the_books_list_tickets_receipts_vouchers_and_papers,
        delegations_keep_their_generations_and_the_venue_segment,
        a_venue_chain_continues_from_its_anchor,
        central_takes_only_its_event_s_progress_from_a_venue,
        an_image_written_again_changes_no_append_only_row,
    );
}

//! The selection desk's storage traits (`db::desk`) on PostgreSQL: the desk's tables live in
//! the server's database (migration step 4, `desk_schema`), and [`super::PgDb`] implements
//! the desk's traits beside the server's.

mod books;
mod delegation;
mod image;
#[cfg(test)]
mod image_tests;
mod ledger;
#[cfg(test)]
mod ledger_tests;
mod sales;

#[cfg(test)]
mod suite {
    crate::desk_suite!(@optional super::super::fresh;
        a_venue_chain_continues_from_its_anchor,
    );
}

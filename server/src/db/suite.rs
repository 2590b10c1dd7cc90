//! The store test suite, written once against the storage traits and run against every
//! backend (as matrix-rust-sdk's `store/integration_tests.rs` is): a backend's module invokes
//! [`store_suite!`](crate::store_suite) with a function that opens a fresh, migrated store,
//! and gets one test per case. Both SQLite and PostgreSQL (`db::postgres`, ADR 0024) run every
//! case. Each case asks for the concerns it uses, not the whole `Db`.
//!
//! Each case states what every backend must do, in the traits' own words: no SQL here.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::arithmetic_side_effects)] // Tests may panic on a broken expectation.

use automerge::ActorId;
use chrono::{DateTime, Duration, TimeZone, Utc};
use kam_core::Policy;
use kam_core::demo::{self, DemoSpec};
use kam_core::doc::{DocKind, EditMeta, create_customer};
use kam_core::model::{Role, UserId};
use kam_core::replica::store::{CompactionPolicy, StoredDoc};

use super::accounts::DeviceSeen;
use super::grants::{GrantRow, Reason};
use super::hq::CustomerFilter;
use super::projections::CustomerFacts;
use super::review::{AuditEntry, NewViolation};
use super::sales::{SalesMonthRecord, YearMonth};
use super::sessions::NewSession;
// The cases of `suite_accounts`, so that `store_suite!` names them all here.
pub(crate) use super::suite_accounts::*;
use super::{
    AccountStore, DocumentStore, GrantStore, HqQueries, ProjectionStore, ReviewStore,
    SalesLedgerStore, Savepoints, SessionStore, SyncStateStore,
};

mod charts;
mod projected;
pub(crate) use charts::charts_count_and_sum_where_the_rows_are;
pub(crate) use projected::{
    customer_files_and_lists_come_from_the_projections, headquarters_reads_the_projected_company,
    reports_read_the_projected_company,
};

/// Generates one test per case of the suite for the backend `open` makes (a function
/// returning something that derefs to a fresh, migrated `dyn Db`).
#[macro_export]
macro_rules! store_suite {
    ($open:path) => {
        $crate::store_suite!(@cases $open;
            the_change_sequence_counts_up,
            settings_are_kept_and_replaced,
            users_and_devices_authenticate_until_revoked,
            devices_seen_are_counted_for_headquarters,
            grants_revocations_and_news,
            documents_are_written_read_back_and_positioned,
            sync_states_wait_for_the_cursor,
            conflicts_violations_audit_and_quarantine,
            sessions_live_until_they_end_or_expire,
            projections_replace_rows_and_savepoints_undo,
            sales_months_are_replaced_and_read_by_range,
            leads_are_written_filtered_and_read_with_their_history,
            plans_come_back_whole_with_quarters_and_evaluations,
            surveys_keep_their_score_and_the_account_managers_rating,
            scorecards_are_listed_by_period_with_lines_and_ratings,
            scorecards_are_deleted_with_their_doc,
            open_measures_before_a_month_leave_out_closed_ones_and_that_month,
            scorecard_inputs_count_the_periods_surveys_and_closed_leads,
            scorecard_inputs_follow_the_customers_a_person_owns,
            organisations_keep_their_money_and_list_what_is_outstanding,
            active_reps_leave_out_other_roles,
            people_travel_with_their_grants_and_take_this_stores_numbers,
            headquarters_reads_the_projected_company,
            customer_files_and_lists_come_from_the_projections,
            reports_read_the_projected_company,
            charts_count_and_sum_where_the_rows_are,
        );
    };
    (@cases $open:path; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                let store = $open();
                $crate::db::suite::$case(&*store);
            }
        )*
    };
    // A backend whose store may be absent on this machine (`None`: the case says so and
    // returns), and which runs the cases it lists.
    (@optional $open:path; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                let Some(store) = $open() else { return };
                $crate::db::suite::$case(&*store);
            }
        )*
    };
}

fn at(hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, hour, 0, 0).unwrap()
}

fn company() -> demo::DemoData {
    let spec = DemoSpec { customers: 3, tickets: 1, units: 2, buyers: 1, ..DemoSpec::standard(1) };
    demo::generate(&spec, at(1), &Policy::default())
}

/// Writes a customer document as new; returns its id.
fn store_customer(
    db: &(impl DocumentStore + ?Sized),
    customer: &kam_core::model::Customer,
) -> kam_core::doc::DocId {
    let meta = EditMeta::new(&UserId::from("rep-01"), at(1), "customer.create");
    let doc = create_customer(customer, ActorId::random(), &meta).unwrap();
    let id = doc.id().clone();
    let mut stored = StoredDoc::new_unsaved(doc);
    let outcome = db.write_document(&mut stored, CompactionPolicy { max_chunks: 64 }).unwrap();
    outcome.expect("a new document is written").apply(&mut stored);
    let seq = db.next_seq().unwrap();
    let scope_key = format!("customer/{}", customer.id.as_str());
    db.set_document_position(&id, seq, &scope_key, &stored.doc.heads()).unwrap();
    id
}

pub(crate) fn the_change_sequence_counts_up(db: &(impl DocumentStore + ?Sized)) {
    let start = db.current_seq().unwrap();
    assert_eq!(db.next_seq().unwrap(), start + 1);
    assert_eq!(db.next_seq().unwrap(), start + 2);
    assert_eq!(db.current_seq().unwrap(), start + 2);
}

pub(crate) fn settings_are_kept_and_replaced(db: &(impl DocumentStore + ?Sized)) {
    assert_eq!(db.meta("suite_key").unwrap(), None);
    db.set_meta("suite_key", "one").unwrap();
    db.set_meta("suite_key", "two").unwrap();
    assert_eq!(db.meta("suite_key").unwrap().as_deref(), Some("two"));
}

pub(crate) fn users_and_devices_authenticate_until_revoked(db: &(impl AccountStore + ?Sized)) {
    assert!(db.insert_user("rep-x", "Rep X", Role::Rep, at(1)).unwrap());
    assert!(!db.insert_user("rep-x", "Again", Role::Hq, at(1)).unwrap(), "the id is taken");
    assert_eq!(db.user_role("rep-x").unwrap(), Some(Role::Rep));
    assert_eq!(db.user_role("nobody").unwrap(), None);
    let users = db.users().unwrap();
    let listed = users.iter().find(|u| u.user_id == "rep-x").expect("listed");
    assert_eq!((listed.display_name.as_str(), listed.role), ("Rep X", Role::Rep));
    assert_eq!(listed.disabled_at, None);
    assert!(db.set_user_role("rep-x", Role::Hq).unwrap());
    assert_eq!(db.user_role("rep-x").unwrap(), Some(Role::Hq), "the new role is read back");
    assert!(!db.set_user_role("nobody", Role::Hq).unwrap(), "no such user");
    assert!(db.set_user_role("rep-x", Role::Rep).unwrap());
    db.insert_device("dev-x", "rep-x", "tablet", b"hash-x", at(1)).unwrap();
    let who = db.device_by_token_hash(b"hash-x").unwrap().expect("enrolled");
    assert_eq!(
        (who.device_id.as_str(), who.user_id.as_str(), who.role),
        ("dev-x", "rep-x", Role::Rep)
    );
    assert!(db.device_by_token_hash(b"other").unwrap().is_none());
    db.record_device_seen(&DeviceSeen {
        device_id: "dev-x",
        cursor: 7,
        oldest_upload: None,
        at: at(2),
        unchanged_since: at(2) - Duration::seconds(60),
    })
    .unwrap();
    let listed = db.devices_newest_first().unwrap();
    let row = listed.iter().find(|d| d.device_id == "dev-x").expect("listed");
    assert_eq!(row.last_seen_at.as_deref(), Some(at(2).to_rfc3339().as_str()));
    let before = db.credentials_fingerprint().unwrap();
    assert!(db.device_active("dev-x").unwrap());
    assert_eq!(db.device_installation("dev-x").unwrap(), None, "unbound until it syncs");
    assert_eq!(db.bind_installation("dev-x", "inst-a").unwrap().as_deref(), Some("inst-a"));
    assert_eq!(db.bind_installation("dev-x", "inst-b").unwrap().as_deref(), Some("inst-a"));
    assert_eq!(db.release_installation("dev-x").unwrap().as_deref(), Some("inst-a"));
    assert_eq!(db.bind_installation("dev-x", "inst-b").unwrap().as_deref(), Some("inst-b"));
    let listed = db.devices_newest_first().unwrap();
    let row = listed.iter().find(|d| d.device_id == "dev-x").expect("listed");
    assert_eq!(row.installation.as_deref(), Some("inst-b"));
    assert!(db.revoke_device("dev-x", at(3)).unwrap());
    assert!(!db.revoke_device("dev-x", at(3)).unwrap(), "revoked once");
    assert!(!db.device_active("dev-x").unwrap());
    assert!(db.device_by_token_hash(b"hash-x").unwrap().is_none());
    assert_ne!(db.credentials_fingerprint().unwrap(), before, "a revocation moves it");
}

pub(crate) fn devices_seen_are_counted_for_headquarters(
    db: &(impl AccountStore + HqQueries + ?Sized),
) {
    db.insert_user("rep-h", "Rep H", Role::Rep, at(1)).unwrap();
    db.insert_device("dev-h", "rep-h", "tablet", b"hash-h", at(1)).unwrap();
    assert_eq!(db.devices_seen_since(at(2)).unwrap(), 0, "never seen");
    db.record_device_seen(&DeviceSeen {
        device_id: "dev-h",
        cursor: 3,
        oldest_upload: None,
        at: at(2),
        unchanged_since: at(2) - Duration::seconds(60),
    })
    .unwrap();
    assert_eq!(db.devices_seen_since(at(2)).unwrap(), 1);
    assert_eq!(db.devices_seen_since(at(3)).unwrap(), 0, "not since");
}

pub(crate) fn grants_revocations_and_news(
    db: &(impl AccountStore + DocumentStore + GrantStore + SyncStateStore + ?Sized),
) {
    let data = company();
    db.insert_user("rep-g", "Rep G", Role::Rep, at(1)).unwrap();
    db.insert_device("dev-g", "rep-g", "tablet", b"hash-g", at(1)).unwrap();
    let customer = &data.customers[0];
    let key = format!("customer/{}", customer.id.as_str());
    let cursor = db.current_seq().unwrap();
    let id = store_customer(db, customer);
    assert!(db.news_after(Role::Rep, "rep-g", cursor).unwrap().is_empty(), "not granted yet");
    assert!(!db.has_grant("rep-g", &key).unwrap());
    let granted_at = db.next_seq().unwrap();
    db.insert_grant("rep-g", &key, granted_at).unwrap();
    assert!(db.has_grant("rep-g", &key).unwrap());
    let listed: Vec<GrantRow> =
        db.grants().unwrap().into_iter().filter(|g| g.user_id == "rep-g").collect();
    let expected =
        GrantRow { user_id: "rep-g".into(), scope_key: key.clone(), granted_seq: granted_at };
    assert_eq!(listed, [expected], "the grant is listed with its number");
    let news = db.news_after(Role::Rep, "rep-g", cursor).unwrap();
    let reasons: Vec<Reason> =
        news.iter().filter(|n| n.doc_id == id.to_string()).map(|n| n.reason).collect();
    assert!(reasons.contains(&Reason::Changed) && reasons.contains(&Reason::Granted), "{news:?}");
    let everyone = db.news_after(Role::Hq, "hq", cursor).unwrap();
    assert!(everyone.iter().any(|n| n.doc_id == id.to_string()), "headquarters sees all");

    db.save_sync_state("dev-g", &id.to_string(), b"state").unwrap();
    assert!(db.delete_grant("rep-g", &key).unwrap());
    assert!(!db.delete_grant("rep-g", &key).unwrap(), "withdrawn once");
    assert!(!db.grants().unwrap().iter().any(|g| g.user_id == "rep-g"), "no longer listed");
    let revoked_at = db.next_seq().unwrap();
    db.record_revocation("rep-g", &key, revoked_at).unwrap();
    let news = db.news_after(Role::Rep, "rep-g", granted_at).unwrap();
    assert!(news.iter().any(|n| n.reason == Reason::Revoked && n.seq == revoked_at), "{news:?}");
    assert_eq!(db.sync_state("dev-g", &id.to_string()).unwrap(), None, "its device forgets it");
}

pub(crate) fn documents_are_written_read_back_and_positioned(db: &(impl DocumentStore + ?Sized)) {
    let data = company();
    let customers_before = db.count_documents(DocKind::Customer).unwrap();
    let id = store_customer(db, &data.customers[1]);
    assert_eq!(db.count_documents(DocKind::Customer).unwrap(), customers_before + 1);
    let row = db.document_row(&id).unwrap().expect("stored");
    assert_eq!(row.seq, db.current_seq().unwrap());
    assert_eq!(row.scope_key, format!("customer/{}", data.customers[1].id.as_str()));
    assert!(row.stored_bytes > 0);
    let mut loaded = db.load_document(&id, &ActorId::random()).unwrap().expect("loads");
    assert_eq!(loaded.doc.heads(), row.heads);
    let bytes = db.read_document(&id).unwrap().expect("readable");
    let mut reloaded = bytes.load(&id, &ActorId::random()).unwrap();
    assert_eq!(reloaded.doc.heads(), row.heads);
    assert!(db.stored_snapshot(&id).unwrap().is_some(), "a new document is one snapshot");
    assert!(db.document_seqs().unwrap().contains(&(id.to_string(), row.seq)));
    let missing = kam_core::doc::DocId::new(DocKind::Customer, "missing");
    assert!(db.document_row(&missing).unwrap().is_none());
    assert!(db.load_document(&missing, &ActorId::random()).unwrap().is_none());
    let after = db.documents_after(row.seq - 1, 10).unwrap();
    assert_eq!(after.first(), Some(&(id.to_string(), row.seq)));
    let changes = db.changes_after(row.seq - 1, 10).unwrap();
    assert_eq!(changes, vec![(id.to_string(), row.seq, row.scope_key.clone())]);
    assert!(db.changes_after(row.seq, 10).unwrap().is_empty());
    assert_eq!(db.count_documents_after(row.seq).unwrap(), 0);
}

pub(crate) fn sync_states_wait_for_the_cursor(db: &(impl AccountStore + SyncStateStore + ?Sized)) {
    db.insert_user("rep-s", "Rep S", Role::Rep, at(1)).unwrap();
    db.insert_device("dev-s", "rep-s", "tablet", b"hash-s", at(1)).unwrap();
    assert_eq!(db.sync_state("dev-s", "customer/a").unwrap(), None);
    db.save_sync_state("dev-s", "customer/a", b"one").unwrap();
    db.set_pending_sync_state("dev-s", "customer/a", b"two", 10).unwrap();
    db.confirm_sync_states("dev-s", 9).unwrap();
    assert_eq!(db.sync_state("dev-s", "customer/a").unwrap().as_deref(), Some(&b"one"[..]));
    db.confirm_sync_states("dev-s", 10).unwrap();
    assert_eq!(db.sync_state("dev-s", "customer/a").unwrap().as_deref(), Some(&b"two"[..]));
    db.forget_sync_states("dev-s").unwrap();
    assert_eq!(db.sync_state("dev-s", "customer/a").unwrap(), None);
}

pub(crate) fn conflicts_violations_audit_and_quarantine(db: &(impl ReviewStore + ?Sized)) {
    assert!(!db.has_open_conflict("customer/c").unwrap());
    let values = vec!["甲".to_owned(), "乙".to_owned()];
    db.upsert_conflict("customer/c", "/profile/name", &values, at(1)).unwrap();
    assert!(db.has_open_conflict("customer/c").unwrap());
    assert_eq!(db.open_conflict_values("customer/c", "/profile/name").unwrap(), Some(values));
    assert_eq!(db.open_conflicts().unwrap().len(), 1);
    db.settle_conflicts("customer/c", "/profile", at(2)).unwrap();
    assert!(!db.has_open_conflict("customer/c").unwrap(), "settled with its parent path");

    db.insert_violation(&NewViolation {
        at: at(1),
        user_id: "rep-01",
        device_id: "dev-1",
        doc_id: "customer/c",
        field: "credit_limit",
        rule: "credit.limit",
        old_value: "\"100\"",
        new_value: "\"900\"",
    })
    .unwrap();
    let open = db.open_violations().unwrap();
    assert_eq!(open.len(), 1);
    assert!(db.mark_violation_reviewed(open[0].violation_id, "hq", at(2)).unwrap());
    assert!(!db.mark_violation_reviewed(open[0].violation_id, "hq", at(2)).unwrap());
    assert!(db.open_violations().unwrap().is_empty());
    db.append_audit(&AuditEntry {
        at: at(2),
        actor: "hq",
        action: "violation.reviewed",
        target: "1",
        detail: "{}",
    })
    .unwrap();

    db.quarantine("projection", "customer/bad", 3, "does not load", at(1)).unwrap();
    db.quarantine("projection", "customer/bad", 4, "still does not load", at(2)).unwrap();
    assert!(db.is_quarantined("projection", "customer/bad").unwrap());
    assert!(!db.is_quarantined("mirror", "customer/bad").unwrap());
    let listed = db.quarantined(10).unwrap();
    assert_eq!((listed.len(), listed[0].attempts, listed[0].seq), (1, 2, 4));
    assert_eq!(db.quarantined_count().unwrap(), 1);
    db.release_from_quarantine("projection", "customer/bad").unwrap();
    assert_eq!(db.quarantined_count().unwrap(), 0);
}

pub(crate) fn sessions_live_until_they_end_or_expire(
    db: &(impl AccountStore + SessionStore + ?Sized),
) {
    db.insert_user("hq-s", "HQ", Role::Hq, at(1)).unwrap();
    assert_eq!(db.credentials("hq-s").unwrap(), None, "no password yet");
    assert!(db.set_password_hash("hq-s", "$argon2id$hash").unwrap());
    assert!(!db.set_password_hash("nobody", "$argon2id$hash").unwrap());
    assert_eq!(db.credentials("hq-s").unwrap(), Some(("$argon2id$hash".to_owned(), Role::Hq)));
    let session = NewSession {
        session_hash: b"session-1",
        user_id: "hq-s",
        csrf_token: "csrf",
        created_at: at(1),
        expires_at: at(3),
    };
    db.open_session(&session).unwrap();
    let live = db.live_session(b"session-1", at(2)).unwrap().expect("live");
    assert_eq!(
        (live.user_id.as_str(), live.role, live.csrf_token.as_str()),
        ("hq-s", Role::Hq, "csrf")
    );
    assert!(db.live_session(b"session-1", at(4)).unwrap().is_none(), "expired");
    db.end_session(b"session-1").unwrap();
    assert!(db.live_session(b"session-1", at(2)).unwrap().is_none(), "ended");
}

pub(crate) fn projections_replace_rows_and_savepoints_undo(
    db: &(impl ProjectionStore + HqQueries + Savepoints + ?Sized),
) {
    let data = company();
    let customer = &data.customers[2];
    let facts = CustomerFacts { next_visit_due: None, overdue_visits: 0, projected_at: at(1) };
    db.insert_customer(customer, &facts).unwrap();
    let filter = CustomerFilter::default();
    let ids = || -> Vec<String> {
        db.customers(&filter).unwrap().into_iter().map(|c| c.customer_id).collect()
    };
    assert!(ids().contains(&customer.id.as_str().to_owned()));
    let file = db.customer_file(customer.id.as_str()).unwrap().expect("projected");
    assert_eq!(file.customer.name, customer.profile.name);
    let doc_id = kam_core::doc::customer_doc_id(&customer.id);

    db.savepoint("suite").unwrap();
    db.delete_projected(&doc_id).unwrap();
    assert!(!ids().contains(&customer.id.as_str().to_owned()));
    db.undo_savepoint("suite").unwrap();
    assert!(ids().contains(&customer.id.as_str().to_owned()), "undone with its savepoint");

    db.savepoint("suite").unwrap();
    db.delete_projected(&doc_id).unwrap();
    db.release_savepoint("suite").unwrap();
    assert!(db.customer_file(customer.id.as_str()).unwrap().is_none(), "kept once released");
    db.insert_customer(customer, &facts).unwrap();
    db.clear_projections().unwrap();
    assert!(ids().is_empty());
}

pub(crate) fn sales_months_are_replaced_and_read_by_range(db: &(impl SalesLedgerStore + ?Sized)) {
    let month = |text: &str| YearMonth::parse(text).unwrap();
    let row = |m: &str, amount: i64| SalesMonthRecord {
        customer_id: "c-sales",
        month: month(m),
        amount: rust_decimal::Decimal::new(amount, 2),
        source: "erp",
        imported_at: at(1),
    };
    assert!(db.upsert_sales_month(&row("2026-01", 10_000)).unwrap(), "a new row");
    assert!(!db.upsert_sales_month(&row("2026-01", 12_345)).unwrap(), "replaced");
    assert!(db.upsert_sales_month(&row("2026-03", 50)).unwrap());
    let january = db.sales_month("c-sales", month("2026-01")).unwrap();
    assert_eq!(january, Some(rust_decimal::Decimal::new(12_345, 2)), "exact, not rounded");
    assert_eq!(db.sales_month("c-sales", month("2026-02")).unwrap(), None);
    let range = db.sales_between(month("2026-02"), month("2026-03"), None).unwrap();
    let mine = db.sales_between(month("2026-01"), month("2026-03"), Some(&["c-sales".to_owned()]));
    assert_eq!(mine.unwrap().len(), 2, "one customer's months");
    let none = db.sales_between(month("2026-01"), month("2026-03"), Some(&["c-other".to_owned()]));
    assert!(none.unwrap().is_empty(), "another customer's: none");
    assert_eq!(range.len(), 1);
    assert_eq!(
        range.get(&("c-sales".to_owned(), month("2026-03"))),
        Some(&rust_decimal::Decimal::new(50, 2))
    );
}

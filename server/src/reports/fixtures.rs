//! Test fixtures: a real server database (every migration applied) with rows inserted
//! directly into the projection tables and the sales ledger, as the projector would.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use kam_core::Policy;
use rusqlite::{Connection, params};

use crate::store::Store;

/// A fresh store in a temporary directory; keep the directory alive as long as the store.
pub(crate) fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("kam.sqlite3"), Policy::default()).unwrap();
    (dir, store)
}

/// A customer with the given tier and defaults for everything else (payment `net:90`, no
/// credit limit).
pub(crate) fn customer(conn: &Connection, id: &str, name: &str, tier: &str) {
    customer_with(conn, id, name, tier, "0.00", "net:90");
}

/// A customer with the given credit limit and payment terms.
pub(crate) fn customer_with(
    conn: &Connection,
    id: &str,
    name: &str,
    tier: &str,
    credit_limit: &str,
    terms: &str,
) {
    conn.execute(
        "INSERT INTO customers (customer_id, name, industry, region, tier, strategic, grade, score,
             credit_grade, credit_limit, payment_terms, profit_contribution, latest_sales_year,
             latest_annual_sales, created_at, next_visit_due, overdue_visits, projected_at)
         VALUES (?1, ?2, 'machinery', 'east', ?3, ?4, 'A', 90, 'AA', ?5, ?6, '0', NULL, NULL,
             '2024-01-01T00:00:00Z', NULL, 0, '2026-01-01T00:00:00Z')",
        params![id, name, tier, i64::from(tier == "strategic"), credit_limit, terms],
    )
    .unwrap();
}

/// A late-payment record of customer `id`, due on `due` and paid on `paid` (dates as text).
pub(crate) fn late_payment(conn: &Connection, id: &str, due: &str, paid: Option<&str>) {
    conn.execute(
        "INSERT INTO customer_late_payments (customer_id, late_payment_id, reference, due_on,
             paid_on)
         VALUES (?1, ?2, 'INV', ?3, ?4)",
        params![id, kam_core::model::LatePaymentId::new().as_str(), due, paid],
    )
    .unwrap();
}

/// One month of sales.
pub(crate) fn sale(conn: &Connection, id: &str, month: &str, amount: &str) {
    conn.execute(
        "INSERT INTO sales_monthly (customer_id, month, amount, source, imported_at)
         VALUES (?1, ?2, ?3, 'test', '2026-01-01T00:00:00Z')",
        params![id, month, amount],
    )
    .unwrap();
}

/// A ticket opened at `opened_at` (RFC 3339), with an optional first reply.
pub(crate) fn ticket(
    conn: &Connection,
    ticket_id: &str,
    customer: &str,
    kind: &str,
    priority: &str,
    opened_at: &str,
    first_reply_at: Option<&str>,
) {
    conn.execute(
        "INSERT INTO tickets (ticket_id, customer_id, kind, priority, status, title, opened_at,
             opened_by, owner, first_reply_at, reply_due_at, sla_state, replies, satisfaction,
             projected_at)
         VALUES (?1, ?2, ?3, ?4, 'new', 'title', ?5, 'rep', NULL, ?6, ?5, 'pending', 0, NULL,
             '2026-01-01T00:00:00Z')",
        params![ticket_id, customer, kind, priority, opened_at, first_reply_at],
    )
    .unwrap();
}

/// A visit record.
pub(crate) fn visit(
    conn: &Connection,
    customer: &str,
    visit_id: &str,
    date: &str,
    [demand, competitor, personnel]: [&str; 3],
) {
    conn.execute(
        "INSERT INTO visits (customer_id, visit_id, level, visit_date, visitor, topics, problems,
             demand, competitor_activity, personnel_changes)
         VALUES (?1, ?2, 'account_manager', ?3, 'rep', '[]', '', ?4, ?5, ?6)",
        params![customer, visit_id, date, demand, competitor, personnel],
    )
    .unwrap();
}

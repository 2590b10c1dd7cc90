//! The overview: the counts headquarters looks at first.

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use serde::Serialize;

use crate::error::ServerError;

/// The numbers on the overview page.
#[derive(Clone, Debug, Serialize)]
pub struct Overview {
    /// Customers in the projections.
    pub customers: u64,
    /// Customers per tier code, strategic first.
    pub customers_by_tier: Vec<(String, u64)>,
    /// Tickets still open.
    pub open_tickets: u64,
    /// Open tickets whose first reply is past due now.
    pub overdue_tickets: u64,
    /// Customers with at least one visit overdue at their last projection.
    pub customers_with_overdue_visits: u64,
    /// Conflicts nobody has settled yet.
    pub open_conflicts: u64,
    /// Rule violations nobody has reviewed yet.
    pub unreviewed_violations: u64,
    /// Devices that synced in the last 24 hours.
    pub devices_seen_24h: u64,
    /// Selection events.
    pub events: Vec<EventLine>,
}

/// A selection event, for links to its board.
#[derive(Clone, Debug, Serialize)]
pub struct EventLine {
    /// Event id.
    pub event_id: String,
    /// Its name.
    pub name: String,
    /// When it starts.
    pub starts_at: String,
    /// Units allotted to it.
    pub allotted_units: u64,
}

fn count(conn: &Connection, sql: &str, arg: &str) -> Result<u64, ServerError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let n = if sql.contains("?1") {
        stmt.query_row([arg], |r| r.get(0))?
    } else {
        stmt.query_row([], |r| r.get(0))?
    };
    Ok(n)
}

/// The overview at `now`.
pub fn overview(conn: &Connection, now: DateTime<Utc>) -> Result<Overview, ServerError> {
    let now_text = now.to_rfc3339();
    let open = super::open_ticket("status");
    let since = now
        .checked_sub_signed(chrono::Duration::hours(24))
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC)
        .to_rfc3339();
    let mut by_tier = conn.prepare_cached(&format!(
        "SELECT tier, COUNT(*) FROM customers GROUP BY tier ORDER BY {}",
        super::TIER_ORDER
    ))?;
    let customers_by_tier =
        by_tier.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
    let mut events = conn.prepare_cached(
        "SELECT event_id, name, starts_at, allotted_units FROM events ORDER BY starts_at, event_id",
    )?;
    let events = events
        .query_map([], |r| {
            Ok(EventLine {
                event_id: r.get(0)?,
                name: r.get(1)?,
                starts_at: r.get(2)?,
                allotted_units: r.get(3)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(Overview {
        customers: count(conn, "SELECT COUNT(*) FROM customers", "")?,
        customers_by_tier,
        open_tickets: count(conn, &format!("SELECT COUNT(*) FROM tickets WHERE {open}"), "")?,
        overdue_tickets: count(
            conn,
            &format!(
                "SELECT COUNT(*) FROM tickets WHERE {open}
                 AND first_reply_at IS NULL AND reply_due_at < ?1"
            ),
            &now_text,
        )?,
        customers_with_overdue_visits: count(
            conn,
            "SELECT COUNT(*) FROM customers WHERE overdue_visits > 0",
            "",
        )?,
        open_conflicts: count(
            conn,
            "SELECT COUNT(*) FROM conflicts WHERE resolved_at IS NULL",
            "",
        )?,
        unreviewed_violations: count(
            conn,
            "SELECT COUNT(*) FROM violations WHERE reviewed_at IS NULL",
            "",
        )?,
        devices_seen_24h: super::devices::seen_since(conn, &since)?,
        events,
    })
}

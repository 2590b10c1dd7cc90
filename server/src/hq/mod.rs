//! Headquarters' view of everything that has synced: the queries behind the dashboard's
//! pages and the `/api/v1/hq` JSON API, and the two decisions headquarters takes there
//! (approving a re-grade, settling a conflict or a violation).
//!
//! Everything here reads the projection tables (never scans documents), except a customer's
//! change history, which only its document knows. Pages and JSON serve the same structs, so
//! the API always says what the page shows.

pub mod compliance;
pub mod customers;
pub mod devices;
pub mod overview;
pub mod regrade;
pub mod review;
pub mod tickets;

use rust_decimal::Decimal;

use crate::error::ServerError;

/// SQL ordering of the `tier` column: strategic first, as every list shows tiers.
pub(crate) const TIER_ORDER: &str =
    "CASE tier WHEN 'strategic' THEN 0 WHEN 'key' THEN 1 WHEN 'main' THEN 2 ELSE 3 END";

/// SQL condition on `column` for a ticket that still needs work, from the statuses kam-core
/// counts as open (`TicketStatus::is_open`), so screens and SQL never disagree.
pub(crate) fn open_ticket(column: &str) -> String {
    let codes: Vec<String> = kam_core::model::TicketStatus::ALL
        .iter()
        .filter(|s| s.is_open())
        .map(|s| format!("'{}'", s.as_str()))
        .collect();
    format!("{column} IN ({})", codes.join(", "))
}

/// Parses an RFC 3339 instant stored by the projections.
pub(crate) fn instant(text: &str) -> Result<chrono::DateTime<chrono::Utc>, ServerError> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|_| ServerError::Corrupt(format!("`{text}` is not an instant")))
}

/// Parses a Decimal stored as text by the projections.
pub(crate) fn decimal(text: &str) -> Result<Decimal, ServerError> {
    text.parse().map_err(|_| ServerError::Corrupt(format!("`{text}` is not a decimal")))
}

/// Owners of every customer, as `customer_id -> [rep]`, for list pages.
pub(crate) fn owners_by_customer(
    conn: &rusqlite::Connection,
) -> Result<std::collections::HashMap<String, Vec<String>>, ServerError> {
    let mut stmt = conn.prepare_cached(
        "SELECT customer_id, owner_id FROM customer_owners ORDER BY customer_id, owner_id",
    )?;
    let mut out: std::collections::HashMap<String, Vec<String>> = Default::default();
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    for row in rows {
        let (customer, owner) = row?;
        out.entry(customer).or_default().push(owner);
    }
    Ok(out)
}

//! Customers by tier and grade, and one customer's whole file (档案).

use crate::db::HqQueries;
use crate::error::ServerError;

pub use crate::db::hq::{
    ContactLine, CustomerDetail, CustomerFilter, CustomerLine, HistoryLine, TicketLine, VisitLine,
};

/// Customers matching `filter`, strategic first, then by grade and score.
pub fn list(db: &dyn HqQueries, filter: &CustomerFilter) -> Result<Vec<CustomerLine>, ServerError> {
    Ok(db.customers(filter)?)
}

/// One customer's file from the projections; `history` is left empty for the caller, who
/// reads it from the document.
pub fn detail(db: &dyn HqQueries, customer_id: &str) -> Result<CustomerDetail, ServerError> {
    db.customer_file(customer_id)?.ok_or(ServerError::NotFound)
}

/// The document's history as lines, newest first.
pub fn history_lines(doc: &mut kam_core::doc::Document) -> Vec<HistoryLine> {
    let mut lines: Vec<HistoryLine> = doc
        .history()
        .into_iter()
        .filter_map(|h| h.meta)
        .map(|m| HistoryLine {
            at: m.at.to_rfc3339(),
            author: m.author.to_string(),
            action: m.action.clone(),
        })
        .collect();
    lines.reverse();
    lines
}

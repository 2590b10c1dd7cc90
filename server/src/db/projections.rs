//! The relational projections of the documents headquarters queries (see `projection` for
//! what they are and why they can always be rebuilt), and the watermark bookkeeping of the
//! projector that keeps them current.

use chrono::{DateTime, NaiveDate, Utc};
use kam_core::doc::{DocId, DocKind};
use kam_core::model::{Customer, SelectionEvent, ServiceTicket, Unit};
use rust_decimal::Decimal;

use super::DbError;

/// What the rules say about a customer at its projection.
#[derive(Clone, Debug)]
pub struct CustomerFacts {
    /// The earliest next visit due at any level.
    pub next_visit_due: Option<NaiveDate>,
    /// Levels whose visit is overdue at projection.
    pub overdue_visits: usize,
    /// When it was projected.
    pub projected_at: DateTime<Utc>,
}

/// What the rules say about a ticket at its projection.
#[derive(Clone, Debug)]
pub struct TicketFacts {
    /// When the first reply is due.
    pub reply_due_at: DateTime<Utc>,
    /// The reply SLA's stable code at projection.
    pub sla_code: &'static str,
    /// When it was projected.
    pub projected_at: DateTime<Utc>,
}

/// The projection tables.
pub trait ProjectionStore {
    /// Deletes every row derived from `doc_id` (child rows too).
    fn delete_projected(&self, doc_id: &DocId) -> Result<(), DbError>;
    /// Deletes every projected row, before they are derived again from the documents.
    fn clear_projections(&self) -> Result<(), DbError>;
    /// The customer's row with its owners, contacts, visits, yearly sales and late payments.
    fn insert_customer(&self, customer: &Customer, facts: &CustomerFacts) -> Result<(), DbError>;
    /// The ticket's row.
    fn insert_ticket(&self, ticket: &ServiceTicket, facts: &TicketFacts) -> Result<(), DbError>;
    /// The row of one unit, with its total price when it has one.
    fn insert_unit(
        &self,
        project_id: &str,
        unit: &Unit,
        total_price: Option<Decimal>,
    ) -> Result<(), DbError>;
    /// Deletes the row of one unit.
    fn delete_unit(&self, project_id: &str, unit_id: &str) -> Result<(), DbError>;
    /// The event's row (buyers counted, never listed).
    fn insert_event(&self, event: &SelectionEvent) -> Result<(), DbError>;
}

/// Nested units of work inside the caller's transaction (or their own transaction when
/// there is none): a failed part is undone without undoing the rest.
pub trait Savepoints {
    /// Opens the savepoint `name`.
    fn savepoint(&self, name: &'static str) -> Result<(), DbError>;
    /// Keeps what was done since the savepoint `name`.
    fn release_savepoint(&self, name: &'static str) -> Result<(), DbError>;
    /// Undoes what was done since the savepoint `name`, and closes it.
    fn undo_savepoint(&self, name: &'static str) -> Result<(), DbError>;
}

/// The tables projected from one document kind, and the column that names the entity in
/// each. Deleting an entity and clearing every projection both read this one list, on every
/// backend (their tables have the same names and keys).
pub(crate) fn projected_tables(kind: DocKind) -> (&'static str, &'static [&'static str]) {
    match kind {
        DocKind::Customer => (
            "customer_id",
            &[
                "customers",
                "customer_owners",
                "contacts",
                "visits",
                "customer_sales_years",
                "customer_late_payments",
            ],
        ),
        DocKind::Ticket => ("ticket_id", &["tickets"]),
        DocKind::Project => ("project_id", &["units"]),
        DocKind::Event => ("event_id", &["events"]),
        DocKind::Lead => ("lead_id", &["leads", "lead_stage_changes"]),
        DocKind::Plan => ("plan_id", &["plans", "plan_quarter_goals", "plan_evaluations"]),
        DocKind::Survey => ("survey_id", &["surveys"]),
        DocKind::Scorecard => {
            ("scorecard_id", &["scorecards", "scorecard_lines", "scorecard_ratings"])
        }
        DocKind::Review => ("review_id", &["reviews", "review_findings", "review_measures"]),
        DocKind::Organisation => (
            "organisation_id",
            &[
                "organisations",
                "organisation_instalments",
                "organisation_collections",
                "organisation_reconciliations",
            ],
        ),
    }
}

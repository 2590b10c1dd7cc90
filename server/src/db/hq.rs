//! Headquarters' questions of the projections: what the dashboard and the `/api/v1/hq` JSON
//! API show, and the bookkeeping of the yearly re-grade. The rules applied to the rows (the
//! reply SLA, the visit cadence, the re-grade proposal) stay with the use cases in `hq`.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use kam_core::model::Customer;
use kam_core::rules::{RegradeInput, RegradeProposal};
use serde::{Deserialize, Serialize};

use super::DbError;

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
    /// The project whose units it sells.
    pub project_id: String,
    /// Its name.
    pub name: String,
    /// When it starts.
    pub starts_at: String,
    /// Units allotted to it.
    pub allotted_units: u64,
    /// Buyers on its list.
    pub buyers: u64,
}

/// Filters of the customer list; empty means all.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct CustomerFilter {
    /// A tier code (`strategic`, `key`, `main`, `general`).
    pub tier: Option<String>,
    /// A grade (`A`–`D`), or `none` for ungraded customers.
    pub grade: Option<String>,
    /// Part of the name.
    pub q: Option<String>,
}

/// One line of the customer list.
#[derive(Clone, Debug, Serialize)]
pub struct CustomerLine {
    /// Customer id.
    pub customer_id: String,
    /// Registered name.
    pub name: String,
    /// Industry.
    pub industry: String,
    /// Region.
    pub region: String,
    /// Approved tier code.
    pub tier: String,
    /// Designated strategic.
    pub strategic: bool,
    /// Approved grade.
    pub grade: Option<String>,
    /// Last score.
    pub score: Option<i64>,
    /// Credit limit (CNY, decimal text).
    pub credit_limit: String,
    /// Payment terms code.
    pub payment_terms: String,
    /// The latest year with recorded sales.
    pub latest_sales_year: Option<i64>,
    /// That year's sales (CNY, decimal text).
    pub latest_annual_sales: Option<String>,
    /// Owning reps (user ids).
    pub owners: Vec<String>,
    /// Their names, in the same order (filled by the use case; empty as the store reads it).
    #[serde(default)]
    pub owner_names: Vec<String>,
    /// Visits overdue at the last projection.
    pub overdue_visits: i64,
    /// When the next visit is due.
    pub next_visit_due: Option<String>,
}

/// A contact person.
#[derive(Clone, Debug, Serialize)]
pub struct ContactLine {
    /// Name.
    pub name: String,
    /// Job title.
    pub title: String,
    /// Phone.
    pub phone: String,
    /// E-mail.
    pub email: String,
    /// The main contact.
    pub primary: bool,
}

/// A contact record (客户接触记录).
#[derive(Clone, Debug, Serialize)]
pub struct VisitLine {
    /// Visit id.
    pub visit_id: String,
    /// Level code.
    pub level: String,
    /// Date.
    pub visit_date: String,
    /// Who made it.
    pub visitor: String,
    /// Topics.
    pub topics: Vec<String>,
    /// Problems raised.
    pub problems: String,
    /// Demand heard.
    pub demand: String,
    /// Competitor activity.
    pub competitor_activity: String,
}

/// A ticket of the customer.
#[derive(Clone, Debug, Serialize)]
pub struct TicketLine {
    /// Ticket id.
    pub ticket_id: String,
    /// Kind code.
    pub kind: String,
    /// Priority code.
    pub priority: String,
    /// Status code.
    pub status: String,
    /// Title.
    pub title: String,
    /// When it was opened.
    pub opened_at: String,
}

/// One change of the customer's document: who did what, when, and which values it changed.
#[derive(Clone, Debug, Serialize)]
pub struct HistoryLine {
    /// When (RFC 3339).
    pub at: String,
    /// Who (user id).
    pub author: String,
    /// Their name (filled by the page; the id when no user has it).
    pub author_name: String,
    /// The action (`customer.update_profile`, …).
    pub action: String,
    /// The fields it set or removed, old and new values (the newest changes only).
    pub changes: Vec<HistoryField>,
    /// Whether it changed more fields than are listed.
    pub more_changes: bool,
}

/// One field a change set or removed.
#[derive(Clone, Debug, Serialize)]
pub struct HistoryField {
    /// Map keys from the document's root, joined by `/`.
    pub field: String,
    /// Before, if it held a value.
    pub old: Option<String>,
    /// After, unless removed.
    pub new: Option<String>,
}

/// A customer's whole file.
#[derive(Clone, Debug, Serialize)]
pub struct CustomerDetail {
    /// The list line (classification, credit, owners).
    pub customer: CustomerLine,
    /// Leading brand in its industry.
    pub leading_brand: bool,
    /// Sales per year (CNY, decimal text), oldest first.
    pub annual_sales: Vec<(i64, String)>,
    /// Contacts.
    pub contacts: Vec<ContactLine>,
    /// Visits, newest first.
    pub visits: Vec<VisitLine>,
    /// Tickets, newest first.
    pub tickets: Vec<TicketLine>,
    /// Changes to the document, newest first.
    pub history: Vec<HistoryLine>,
}

/// One enrolled device as stored, for the devices page.
#[derive(Clone, Debug)]
pub struct DeviceRecord {
    /// Device id.
    pub device_id: String,
    /// Its user.
    pub user_id: String,
    /// The user's role code.
    pub role: String,
    /// Label.
    pub label: String,
    /// When it last synced (RFC 3339).
    pub last_seen_at: Option<String>,
    /// The last cursor it reported.
    pub last_cursor: i64,
    /// Revoked at, if revoked.
    pub revoked_at: Option<String>,
    /// When it last delivered edits.
    pub last_upload_at: Option<String>,
    /// The oldest edit of that upload, by the device's clock.
    pub last_upload_oldest_change_at: Option<String>,
}

/// A ticket as projected, for the SLA list.
#[derive(Clone, Debug)]
pub struct TicketRecord {
    /// Ticket id.
    pub ticket_id: String,
    /// Customer id.
    pub customer_id: String,
    /// Customer name ('' when the customer is not projected).
    pub customer_name: String,
    /// Kind code.
    pub kind: String,
    /// Priority code.
    pub priority: String,
    /// Status code.
    pub status: String,
    /// Title.
    pub title: String,
    /// Who owns it.
    pub owner: Option<String>,
    /// Opened at (RFC 3339, as stored).
    pub opened_at: String,
    /// First reply at (RFC 3339, as stored).
    pub first_reply_at: Option<String>,
}

/// Which projected tickets to read, and how much of each.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TicketFilter {
    /// The open ones only.
    pub open_only: bool,
    /// Only of this status code.
    pub status: Option<String>,
    /// Only of this kind code.
    pub kind: Option<String>,
    /// Only of this priority code.
    pub priority: Option<String>,
    /// Only owned by this user.
    pub owner: Option<String>,
    /// Only of this customer.
    pub customer: Option<String>,
    /// Leave `customer_name` and `title` empty: a list that neither sorts nor searches by them
    /// reads them for the rows of its page only (`tickets_by_id`), not for every ticket.
    pub without_text: bool,
}

impl TicketFilter {
    /// Every ticket, or the open ones, in full.
    pub fn all(open_only: bool) -> TicketFilter {
        TicketFilter { open_only, ..TicketFilter::default() }
    }
}

/// A re-grade decision as recorded.
#[derive(Clone, Debug)]
pub struct RegradeDecisionRecord<'a> {
    /// The proposal decided on.
    pub proposal: &'a RegradeProposal,
    /// `approved` or `rejected`.
    pub decision: &'a str,
    /// Who decided.
    pub decided_by: &'a str,
    /// When.
    pub decided_at: DateTime<Utc>,
}

/// Headquarters' reads of the projections (and the re-grade decisions it records).
pub trait HqQueries {
    /// Customers per tier code, strategic first.
    fn customers_by_tier(&self) -> Result<Vec<(String, u64)>, DbError>;
    /// The overview's counts at `now`, counting the devices seen since `seen_since`.
    fn overview(&self, now: DateTime<Utc>, seen_since: DateTime<Utc>) -> Result<Overview, DbError>;
    /// The selection events as projected, by start then id.
    fn projected_events(&self) -> Result<Vec<EventLine>, DbError>;
    /// Active (not revoked) devices that synced at or after `since`: the one count the
    /// overview and `/metrics` both show.
    fn devices_seen_since(&self, since: DateTime<Utc>) -> Result<u64, DbError>;
    /// Every device, the longest silent first.
    fn devices(&self) -> Result<Vec<DeviceRecord>, DbError>;
    /// Customers matching `filter`, strategic first, then by grade and score, with owners.
    fn customers(&self, filter: &CustomerFilter) -> Result<Vec<CustomerLine>, DbError>;
    /// One customer's file from the projections (`history` left empty), if projected.
    fn customer_file(&self, customer_id: &str) -> Result<Option<CustomerDetail>, DbError>;
    /// Owners of every customer, as `customer_id -> [rep]`.
    fn owners_by_customer(&self) -> Result<HashMap<String, Vec<String>>, DbError>;
    /// Projected tickets matching `filter`, in no particular order (a list sorts them its
    /// own way; sorting them here too cost a third of the read).
    fn tickets(&self, filter: &TicketFilter) -> Result<Vec<TicketRecord>, DbError>;
    /// The tickets of `ids` in full (unknown ids left out), in no particular order.
    fn tickets_by_id(&self, ids: &[String]) -> Result<Vec<TicketRecord>, DbError>;
    /// The customers the visit cadence may apply to (strategic, or graded A) with their
    /// visits and names, as the `Customer` values the rule reads (other fields empty).
    fn cadence_customers(&self) -> Result<Vec<(Customer, String)>, DbError>;
    /// The re-grade rule's inputs for every scored customer, with their names, taking the
    /// sales of `sales_year`.
    fn regrade_inputs(&self, sales_year: i32) -> Result<Vec<(RegradeInput, String)>, DbError>;
    /// Customers whose re-grade for `year` is decided.
    fn regrade_decided(&self, year: i32) -> Result<HashSet<String>, DbError>;
    /// Records a re-grade decision.
    fn record_regrade_decision(&self, decision: &RegradeDecisionRecord<'_>) -> Result<(), DbError>;
}

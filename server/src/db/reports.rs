//! What headquarters' reports read from the projections: the customers each report covers,
//! their tickets, visits, credit and late payments. Which rows make a report line, the
//! rules applied to them and every sum stay with `reports`; the sales figures come from
//! [`super::SalesLedgerStore`] and the owners from [`super::HqQueries`].

use chrono::{DateTime, NaiveDate, Utc};
use kam_core::model::{LatePayment, Tier};
use rust_decimal::Decimal;

use super::DbError;
use super::sales::YearMonth;

/// A customer the monthly report (附件一) covers: strategic and key customers, and any
/// customer management designated strategic whatever its computed tier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonthlyAccount {
    /// Customer id.
    pub customer_id: String,
    /// Registered name.
    pub name: String,
    /// Approved tier.
    pub tier: Tier,
    /// Designated strategic by management.
    pub designated_strategic: bool,
}

/// A ticket of a customer the monthly report covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonthlyTicket {
    /// Customer id.
    pub customer_id: String,
    /// Kind code, as stored (possibly one this build does not know).
    pub kind: String,
    /// Priority code, as stored (possibly one this build does not know).
    pub priority: String,
    /// When it was opened.
    pub opened_at: DateTime<Utc>,
    /// When it was first answered.
    pub first_reply_at: Option<DateTime<Utc>>,
}

/// What one visit record of a month said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonthVisit {
    /// Customer id.
    pub customer_id: String,
    /// The visit's business-local date, `YYYY-MM-DD`.
    pub visit_date: String,
    /// Demand heard.
    pub demand: String,
    /// Competitor activity.
    pub competitor_activity: String,
    /// Personnel changes at the customer.
    pub personnel_changes: String,
}

/// A customer's stored credit facts, for the quarterly analysis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreditRecord {
    /// Customer id.
    pub customer_id: String,
    /// Registered name.
    pub name: String,
    /// Approved tier.
    pub tier: Tier,
    /// Grade A–D, when graded.
    pub grade: Option<String>,
    /// Credit grade, when rated.
    pub credit_grade: Option<String>,
    /// Credit limit (CNY).
    pub credit_limit: Decimal,
    /// Payment terms code, as stored.
    pub payment_terms: String,
}

/// The reports' reads of the projections.
pub trait ReportQueries {
    /// The customers 附件一 covers, in no particular order.
    fn monthly_accounts(&self) -> Result<Vec<MonthlyAccount>, DbError>;
    /// Every ticket, whenever opened, of the customers 附件一 covers.
    fn monthly_account_tickets(&self) -> Result<Vec<MonthlyTicket>, DbError>;
    /// The visits dated in `month`, in date order (then by visit id).
    fn visits_in_month(&self, month: YearMonth) -> Result<Vec<MonthVisit>, DbError>;
    /// Every customer's credit facts, in no particular order.
    fn credit_records(&self) -> Result<Vec<CreditRecord>, DbError>;
    /// Late-payment records due on or after `from` and before `until`, each with its
    /// customer id.
    fn late_payments_due(
        &self,
        from: NaiveDate,
        until: NaiveDate,
    ) -> Result<Vec<(String, LatePayment)>, DbError>;
}

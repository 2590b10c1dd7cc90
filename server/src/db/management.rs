//! Management records (issue 23): staff scorecards, the monthly leadership review and
//! commissioning organisations — their projection rows, and the reads of headquarters' pages
//! and of the scorecard's inputs.
//!
//! Rows hold values as stored (money as decimal text, dates `YYYY-MM-DD`, instants RFC 3339);
//! what depends on the day a page is read (an instalment overdue, a measure overdue) is
//! computed by the caller with today, never stored.

use chrono::NaiveDate;
use kam_core::model::{Instalment, LeadershipReview, Organisation, Scorecard};
use rust_decimal::Decimal;
use serde::Serialize;

use super::DbError;

/// What the projection computes about one instalment: the receipts applied to it (oldest due
/// first) and the reminder last sent for it.
#[derive(Clone, Debug)]
pub struct InstalmentFacts<'a> {
    /// The instalment.
    pub instalment: &'a Instalment,
    /// Received and applied to it.
    pub received: Decimal,
    /// Still to receive.
    pub outstanding: Decimal,
    /// The last reminder sent for it.
    pub last_reminder_on: Option<NaiveDate>,
}

/// The projection rows of the management records.
pub trait ManagementProjection {
    /// The scorecard's row with its published lines and ratings.
    fn insert_scorecard(&self, card: &Scorecard) -> Result<(), DbError>;
    /// The review's row with its findings and measures.
    fn insert_review(&self, review: &LeadershipReview) -> Result<(), DbError>;
    /// The organisation's row with its instalments (as applied), collections and
    /// reconciliations; `missing_clauses` are the agreement's missing clause codes.
    fn insert_organisation(
        &self,
        org: &Organisation,
        missing_clauses: &[&str],
        instalments: &[InstalmentFacts<'_>],
    ) -> Result<(), DbError>;
}

/// One scorecard line as stored.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ScorecardLineRow {
    /// Measure code.
    pub measure: String,
    /// Attainment 0–100.
    pub attainment: String,
    /// Weight in percent.
    pub weight_pct: u32,
    /// Points.
    pub points: String,
    /// How it was computed.
    pub basis: String,
}

/// One rating as stored.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct RatingRow {
    /// Entry id.
    pub entry_id: String,
    /// Rater kind code.
    pub rater: String,
    /// Who entered it.
    pub by_user: String,
    /// 0–100.
    pub score: u32,
    /// When.
    pub at: String,
    /// Why.
    pub note: String,
}

/// One scorecard with its lines.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ScorecardRow {
    /// `<user>-<period>`.
    pub scorecard_id: String,
    /// Whose.
    pub person: String,
    /// `YYYY-MM` or `YYYY`.
    pub period: String,
    /// Sales target.
    pub sales_target: String,
    /// Total points, once published.
    pub total: Option<String>,
    /// When published.
    pub computed_at: Option<String>,
    /// The published lines.
    pub lines: Vec<ScorecardLineRow>,
}

/// A scorecard with its ratings.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ScorecardDetail {
    /// The scorecard.
    #[serde(flatten)]
    pub card: ScorecardRow,
    /// Its ratings, oldest first.
    pub ratings: Vec<RatingRow>,
}

/// One month's review as listed.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ReviewRow {
    /// `YYYY-MM`.
    pub review_id: String,
    /// Day held.
    pub held_on: String,
    /// Attendees' names.
    pub attendees: Vec<String>,
    /// Findings recorded.
    pub findings: u64,
    /// Measures still open.
    pub open_measures: u64,
}

/// One finding.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct FindingRow {
    /// Entry id.
    pub entry_id: String,
    /// The customer.
    pub customer_id: String,
    /// Finding kind code.
    pub kind: String,
    /// What was found.
    pub text: String,
}

/// One measure.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct MeasureRow {
    /// The month it was decided.
    pub review_id: String,
    /// Entry id.
    pub entry_id: String,
    /// The customer, if one.
    pub customer_id: Option<String>,
    /// What is to be done.
    pub text: String,
    /// Owner.
    pub owner: String,
    /// Due date.
    pub due_on: String,
    /// When closed.
    pub closed_at: Option<String>,
    /// By whom.
    pub closed_by: Option<String>,
    /// What was done.
    pub closing_note: Option<String>,
}

/// One month's review in full.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ReviewDetail {
    /// The review.
    #[serde(flatten)]
    pub review: ReviewRow,
    /// Attendees: user id and name.
    pub attendee_ids: Vec<(String, String)>,
    /// Findings by customer then kind.
    pub findings_list: Vec<FindingRow>,
    /// Measures by due date.
    pub measures: Vec<MeasureRow>,
}

/// One organisation as listed.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct OrganisationRow {
    /// Id.
    pub organisation_id: String,
    /// Project.
    pub project_id: String,
    /// Name.
    pub name: String,
    /// Status code.
    pub status: String,
    /// Accepted price per m².
    pub accepted_price_per_m2: String,
    /// Accepted payment ratio, percent.
    pub payment_ratio_pct: String,
    /// Resource exchange 0–10.
    pub resource_exchange: u32,
    /// Owner-occupiers, percent.
    pub owner_occupier_pct: String,
    /// GM's approval of the choice (user).
    pub approved_by_gm: Option<String>,
    /// Chairman's approval of the choice (user).
    pub approved_by_chairman: Option<String>,
    /// Approved price per m².
    pub price_per_m2: Option<String>,
    /// Pricing method code.
    pub price_method: Option<String>,
    /// Missing agreement clause codes.
    pub missing_clauses: Vec<String>,
    /// When signed.
    pub signed_at: Option<String>,
}

/// One instalment as applied.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct InstalmentRow {
    /// Organisation.
    pub organisation_id: String,
    /// Entry id.
    pub entry_id: String,
    /// Due date.
    pub due_on: String,
    /// Amount due.
    pub amount: String,
    /// Received (applied oldest due first).
    pub received: String,
    /// Outstanding.
    pub outstanding: String,
    /// Last reminder.
    pub last_reminder_on: Option<String>,
    /// What for.
    pub note: String,
}

/// One collection.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct CollectionRow {
    /// Entry id.
    pub entry_id: String,
    /// Day received.
    pub received_on: String,
    /// Amount.
    pub amount: String,
    /// Receipt number.
    pub receipt_no: String,
    /// Recorded by.
    pub by_user: String,
}

/// One reconciliation.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ReconciliationRow {
    /// Entry id.
    pub entry_id: String,
    /// Day.
    pub on_day: String,
    /// Bank balance.
    pub bank_balance: String,
    /// Receipts counted.
    pub receipts_total: String,
    /// Recorded by.
    pub by_user: String,
    /// Explanation.
    pub note: String,
}

/// One organisation in full.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct OrganisationDetail {
    /// The organisation.
    #[serde(flatten)]
    pub organisation: OrganisationRow,
    /// Instalments by due date.
    pub instalments: Vec<InstalmentRow>,
    /// Collections by day.
    pub collections: Vec<CollectionRow>,
    /// Reconciliations by day.
    pub reconciliations: Vec<ReconciliationRow>,
}

/// A ticket's reply deadline and first reply, for the reply SLA of a scorecard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplyRecord {
    /// When the first reply was due.
    pub reply_due_at: String,
    /// When it came, if it did.
    pub first_reply_at: Option<String>,
}

/// The reads of the management pages and of the scorecard's inputs.
pub trait ManagementQueries {
    /// Periods that have scorecards, newest first.
    fn scorecard_periods(&self) -> Result<Vec<String>, DbError>;
    /// Scorecards (of one period, or all) by period newest first, then person.
    fn scorecards(&self, period: Option<&str>) -> Result<Vec<ScorecardRow>, DbError>;
    /// One scorecard with its ratings.
    fn scorecard(&self, scorecard_id: &str) -> Result<Option<ScorecardDetail>, DbError>;
    /// Every review, newest month first.
    fn reviews(&self) -> Result<Vec<ReviewRow>, DbError>;
    /// One month's review.
    fn review(&self, review_id: &str) -> Result<Option<ReviewDetail>, DbError>;
    /// Measures decided in months before `month` and still open, by due date.
    fn open_measures_before(&self, month: &str) -> Result<Vec<MeasureRow>, DbError>;
    /// Every organisation, by project then name.
    fn organisations(&self) -> Result<Vec<OrganisationRow>, DbError>;
    /// One organisation in full.
    fn organisation(&self, organisation_id: &str) -> Result<Option<OrganisationDetail>, DbError>;
    /// Every instalment with something outstanding, by due date.
    fn outstanding_instalments(&self) -> Result<Vec<InstalmentRow>, DbError>;
    /// Active users with the rep role, by id (whose scorecards are published each period).
    fn active_reps(&self) -> Result<Vec<String>, DbError>;
    /// The customers `person` owns.
    fn customers_owned_by(&self, person: &str) -> Result<Vec<String>, DbError>;
    /// Survey scores of `customers` taken on `from..=to` (dates).
    fn survey_scores(
        &self,
        customers: &[String],
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<u32>, DbError>;
    /// Leads `owner` closed on `from..=to`: (won, closed).
    fn leads_closed(
        &self,
        owner: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<(u64, u64), DbError>;
    /// Tickets owned by `person` or of `customers` whose first reply fell due on `from..=to`.
    fn replies_due(
        &self,
        person: &str,
        customers: &[String],
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<ReplyRecord>, DbError>;
}

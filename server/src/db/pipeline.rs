//! The account work headquarters follows (issue 23): development leads and their stage
//! history, yearly account plans with their quarter goals and evaluations, and satisfaction
//! surveys. Projection writes one entity's rows from its record; the reads serve the
//! `/hq/pipeline`, `/hq/plans` and `/hq/surveys` pages and their JSON twins. The rules applied
//! to these rows (win rate, missing owners, evaluations due, survey cadence) stay with `hq`.

use chrono::{DateTime, Utc};
use kam_core::model::{AccountPlan, Lead, Survey};
use serde::{Deserialize, Serialize};

use super::DbError;

/// What projection computes for a lead besides its record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeadFacts {
    /// Whether it meets a key-account criterion (`rules::key_account_candidate`).
    pub candidate: bool,
    /// When the current stage was entered (the latest stage change, else identification).
    pub stage_changed_at: DateTime<Utc>,
    /// When it was won or lost, if it is.
    pub closed_at: Option<DateTime<Utc>>,
    /// Why it was lost, if it is.
    pub lost_reason: Option<String>,
}

/// Filters of the lead list; empty means all.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct LeadFilter {
    /// The rep working the lead.
    pub owner: Option<String>,
    /// A stage code (`negotiation`, `won`, …).
    pub stage: Option<String>,
}

/// One lead as projected.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LeadLine {
    /// Lead id.
    pub lead_id: String,
    /// Customer id.
    pub customer_id: String,
    /// Customer name ('' when the customer is not projected).
    pub customer_name: String,
    /// One-line description.
    pub title: String,
    /// The rep working it.
    pub owner: String,
    /// Who identified it.
    pub identified_by: String,
    /// When (RFC 3339).
    pub identified_at: String,
    /// Stage code.
    pub stage: String,
    /// Expected contract value (CNY, decimal text).
    pub expected_value: String,
    /// Meets a key-account criterion.
    pub candidate: bool,
    /// When the current stage was entered.
    pub stage_changed_at: String,
    /// When it was won or lost.
    pub closed_at: Option<String>,
    /// Why it was lost.
    pub lost_reason: Option<String>,
}

/// One stage change of a lead.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StageChangeLine {
    /// Stage before (code).
    pub from_stage: String,
    /// Stage after (code).
    pub to_stage: String,
    /// When (RFC 3339).
    pub at: String,
    /// Who.
    pub by_user: String,
    /// What was learned.
    pub learned: String,
    /// Why it was lost.
    pub lost_reason: Option<String>,
}

/// Goals of a year or a quarter, as stored (money as decimal text).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GoalsLine {
    /// Quarter 1–4, or 0 for the year.
    pub quarter: u8,
    /// Sales goal (CNY).
    pub sales: String,
    /// Profit contribution goal (CNY).
    pub profit: String,
    /// Satisfaction goal, 0–100.
    pub satisfaction: i64,
}

/// One quarter's evaluation as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EvaluationLine {
    /// Quarter 1–4.
    pub quarter: u8,
    /// Sales of the quarter (CNY).
    pub sales_actual: String,
    /// Profit contribution of the quarter (CNY).
    pub profit_actual: String,
    /// Satisfaction of the quarter, when surveys were taken.
    pub satisfaction_actual: Option<i64>,
    /// The adjustment decided.
    pub adjustment: String,
    /// Who evaluated.
    pub by_user: String,
    /// When (RFC 3339).
    pub at: String,
}

/// One plan as projected.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlanLine {
    /// Plan id (`<customer>-<year>`).
    pub plan_id: String,
    /// Customer id.
    pub customer_id: String,
    /// Customer name ('' when the customer is not projected).
    pub customer_name: String,
    /// Customer tier code ('' when not projected).
    pub tier: String,
    /// The customer's latest yearly sales (CNY), which decide the resident representative.
    pub annual_sales: Option<String>,
    /// The plan's year.
    pub year: i32,
    /// Revision.
    pub revision: i64,
    /// `draft`, `approved` or `revised_since_approval`.
    pub status: String,
    /// Who approved.
    pub approved_by: Option<String>,
    /// When.
    pub approved_at: Option<String>,
    /// The revision approved.
    pub approved_revision: Option<i64>,
    /// The year's goals (`quarter` 0).
    pub year_goals: GoalsLine,
    /// Named owners, function code → user.
    pub owners: std::collections::BTreeMap<String, String>,
    /// Sales strategy.
    pub sales_strategy: String,
    /// Service plan.
    pub service_plan: String,
    /// Quarters evaluated.
    pub evaluated: Vec<u8>,
}

/// One plan with its quarter goals and evaluations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlanRows {
    /// The plan.
    pub plan: PlanLine,
    /// Goals per quarter, in quarter order.
    pub quarters: Vec<GoalsLine>,
    /// Evaluations, in quarter order.
    pub evaluations: Vec<EvaluationLine>,
}

/// One survey as projected.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SurveyLine {
    /// Survey id.
    pub survey_id: String,
    /// Customer id.
    pub customer_id: String,
    /// `periodic` or `after_service`.
    pub kind: String,
    /// The ticket an after-service survey follows.
    pub ticket_id: Option<String>,
    /// When (RFC 3339).
    pub taken_at: String,
    /// Who took it.
    pub taken_by: String,
    /// Who answered.
    pub respondent: String,
    /// Its score, 0–100 (`rules::survey_score`).
    pub score: i64,
    /// The customer's rating of the account manager.
    pub account_manager_score: Option<i64>,
    /// What the customer said.
    pub comments: String,
}

/// A projected customer, for the survey cadence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SurveyedCustomer {
    /// Customer id.
    pub customer_id: String,
    /// Name.
    pub name: String,
    /// Tier code.
    pub tier: String,
    /// When the customer was created (RFC 3339).
    pub created_at: String,
    /// Profit contribution of the last year (CNY, decimal text).
    pub profit_contribution: String,
}

/// The rows of leads, plans and surveys, and headquarters' reads of them.
pub trait AccountWorkStore {
    /// Writes a lead's row and its stage history.
    fn insert_lead(&self, lead: &Lead, facts: &LeadFacts) -> Result<(), DbError>;
    /// Writes a plan's row (with its `status` code), quarter goals and evaluations.
    fn insert_plan(&self, plan: &AccountPlan, status: &str) -> Result<(), DbError>;
    /// Writes a survey's row with its score.
    fn insert_survey(&self, survey: &Survey, score: u8) -> Result<(), DbError>;
    /// Leads matching `filter`, the latest stage change first.
    fn leads(&self, filter: &LeadFilter) -> Result<Vec<LeadLine>, DbError>;
    /// One lead and its stage changes, oldest first.
    fn lead(&self, lead_id: &str) -> Result<Option<(LeadLine, Vec<StageChangeLine>)>, DbError>;
    /// Plans of `year` (or every year) with their quarters and evaluations, the latest year
    /// first, then by customer name.
    fn plans(&self, year: Option<i32>) -> Result<Vec<PlanRows>, DbError>;
    /// One plan with its quarters and evaluations.
    fn plan(&self, plan_id: &str) -> Result<Option<PlanRows>, DbError>;
    /// Surveys of one customer (or all), newest first.
    fn surveys(&self, customer_id: Option<&str>) -> Result<Vec<SurveyLine>, DbError>;
    /// Every projected customer with what the survey cadence reads, by name.
    fn surveyed_customers(&self) -> Result<Vec<SurveyedCustomer>, DbError>;
}

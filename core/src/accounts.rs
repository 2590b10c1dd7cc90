//! What a rep does on the tablet for account management (issue 23), offline: identify and work
//! a development lead, draft an account plan and evaluate its quarters, take a satisfaction
//! survey, read a scorecard.
//!
//! Each action checks its pure rule first (`rules`), so the tablet refuses what the server
//! would refuse, and then writes exactly one commit through [`Replica::create_record`] or
//! [`Replica::edit_record`]. A refusal is [`ReplicaError::Rule`] (as `edit_ticket` does) and
//! writes nothing. Who may write what is the server's authority; these functions do not guess
//! it.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Utc};
use rust_decimal::Decimal;

use crate::doc::{EditMeta, LeadEdit, PlanEdit, RecordEdit};
use crate::model::{
    AccountPlan, CustomerId, EntryId, Lead, LeadCriteria, LeadId, LeadStage, PlanActuals,
    PlanEvaluation, PlanFunction, PlanGoals, PlanId, Scorecard, StageChange, Survey, SurveyId,
    SurveyItem, SurveyKind, TicketId, UserId, plan_id, scorecard_id,
};
use crate::replica::{Replica, ReplicaError};
use crate::rules;

fn refused(error: impl std::fmt::Display) -> ReplicaError {
    ReplicaError::Rule(error.to_string())
}

/// Identifies a development lead on `customer_id`, owned by `by` at the first stage (market
/// research). Refused unless at least one criterion of 003 二 holds
/// (`rules::key_account_candidate`): a lead is a key-account candidate by definition.
pub fn identify_lead(
    replica: &mut Replica,
    customer_id: &CustomerId,
    title: &str,
    criteria: &LeadCriteria,
    expected_value: Decimal,
    by: &UserId,
    now: DateTime<Utc>,
) -> Result<Lead, ReplicaError> {
    if !rules::key_account_candidate(criteria, replica.policy()).is_candidate() {
        return Err(refused(
            "不符合大客户候选条件：采购额、利润贡献或发展潜力须至少满足一项 \
             (not a key-account candidate: no criterion of 003 二 holds)",
        ));
    }
    if title.trim().is_empty() {
        return Err(refused("线索须填写标题 (a lead needs a title)"));
    }
    let lead = Lead {
        id: LeadId::new(),
        customer_id: customer_id.clone(),
        title: title.to_owned(),
        identified_by: by.clone(),
        identified_at: now,
        owner: by.clone(),
        criteria: criteria.clone(),
        expected_value,
        stage: LeadStage::MarketResearch,
        history: BTreeMap::new(),
    };
    replica.create_record(&lead, &EditMeta::new(by, now, "lead.identify"))?;
    Ok(lead)
}

/// Moves a lead to stage `to`, with what was learned at the stage being left and, for a loss,
/// the reason (`rules::check_stage_change`). Returns the lead after the change.
pub fn change_lead_stage(
    replica: &mut Replica,
    lead_id: &LeadId,
    to: LeadStage,
    learned: &str,
    lost_reason: Option<&str>,
    by: &UserId,
    now: DateTime<Utc>,
) -> Result<Lead, ReplicaError> {
    let lead: Lead = replica.record(lead_id.as_str())?;
    rules::check_stage_change(&lead, to, learned, lost_reason).map_err(refused)?;
    let edit = LeadEdit::ChangeStage(StageChange {
        id: EntryId::new(),
        from: lead.stage,
        to,
        at: now,
        by: by.clone(),
        learned: learned.to_owned(),
        lost_reason: lost_reason.map(str::to_owned),
    });
    replica.edit_record(lead_id.as_str(), &edit, &EditMeta::new(by, now, edit.action()))
}

/// The content of an account plan a rep writes: goals, owners, strategy and service plan.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PlanContent {
    /// Goals for the year.
    pub year_goals: PlanGoals,
    /// Goals per quarter 1–4.
    pub quarter_goals: BTreeMap<u8, PlanGoals>,
    /// The named owner per function.
    pub owners: BTreeMap<PlanFunction, UserId>,
    /// Sales strategy (销售策略).
    pub sales_strategy: String,
    /// Service plan (服务计划).
    pub service_plan: String,
}

impl PlanContent {
    fn into_edit(self) -> PlanEdit {
        PlanEdit::SetContent {
            year_goals: self.year_goals,
            quarter_goals: self.quarter_goals,
            owners: self.owners,
            sales_strategy: self.sales_strategy,
            service_plan: self.service_plan,
        }
    }
}

/// Drafts `customer_id`'s plan for `year` (revision 1, not approved). A customer has one plan
/// a year: a second draft for the same year is [`ReplicaError::AlreadyExists`] — change the
/// first with [`set_plan_content`]. Goals and quarters are range-checked by the record.
pub fn draft_plan(
    replica: &mut Replica,
    customer_id: &CustomerId,
    year: i32,
    content: PlanContent,
    by: &UserId,
    now: DateTime<Utc>,
) -> Result<AccountPlan, ReplicaError> {
    let plan = AccountPlan {
        id: plan_id(customer_id, year),
        customer_id: customer_id.clone(),
        year,
        year_goals: content.year_goals,
        quarter_goals: content.quarter_goals,
        owners: content.owners,
        sales_strategy: content.sales_strategy,
        service_plan: content.service_plan,
        revision: 1,
        approval: None,
        evaluations: BTreeMap::new(),
    };
    replica.create_record(&plan, &EditMeta::new(by, now, "plan.draft"))?;
    Ok(plan)
}

/// Rewrites a plan's content; raises its revision, so an approval of the earlier revision no
/// longer covers it (`rules::plan_status`).
pub fn set_plan_content(
    replica: &mut Replica,
    plan_id: &PlanId,
    content: PlanContent,
    by: &UserId,
    now: DateTime<Utc>,
) -> Result<AccountPlan, ReplicaError> {
    let edit = content.into_edit();
    replica.edit_record(plan_id.as_str(), &edit, &EditMeta::new(by, now, edit.action()))
}

/// What a rep enters to evaluate one quarter of a plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuarterEvaluation {
    /// Quarter 1–4 of the plan's year.
    pub quarter: u8,
    /// What the quarter brought (on the tablet the rep enters it; the server's HQ use case
    /// fills it from its own data).
    pub actuals: PlanActuals,
    /// The adjustment of the plan decided (调整措施).
    pub adjustment: String,
}

/// Records (or revises) the evaluation of a quarter that has ended. A quarter still running,
/// or not 1–4, is refused: its results are not known yet (`rules::quarter_of`).
pub fn evaluate_plan_quarter(
    replica: &mut Replica,
    plan_id: &PlanId,
    evaluation: QuarterEvaluation,
    by: &UserId,
    now: DateTime<Utc>,
) -> Result<AccountPlan, ReplicaError> {
    let plan: AccountPlan = replica.record(plan_id.as_str())?;
    let today = replica.policy().business_date(now);
    check_quarter_ended(plan.year, evaluation.quarter, today)?;
    let edit = PlanEdit::Evaluate(PlanEvaluation {
        quarter: evaluation.quarter,
        actuals: evaluation.actuals,
        adjustment: evaluation.adjustment,
        by: by.clone(),
        at: now,
    });
    replica.edit_record(plan_id.as_str(), &edit, &EditMeta::new(by, now, edit.action()))
}

fn check_quarter_ended(
    year: i32,
    quarter: u8,
    today: chrono::NaiveDate,
) -> Result<(), ReplicaError> {
    if !(1..=4).contains(&quarter) {
        return Err(refused(format!("季度须为1至4 (quarter {quarter} is not 1–4)")));
    }
    let ended = today.year() > year || (today.year() == year && rules::quarter_of(today) > quarter);
    if !ended {
        return Err(refused(format!(
            "{year}年第{quarter}季度尚未结束，不能评估 (quarter {quarter} of {year} has not ended)"
        )));
    }
    Ok(())
}

/// What a rep or service staff enters when taking a survey.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSurvey {
    /// The customer surveyed.
    pub customer_id: CustomerId,
    /// Periodic, or the call after a service ticket.
    pub kind: SurveyKind,
    /// The ticket an after-service survey follows.
    pub ticket_id: Option<TicketId>,
    /// Who answered at the customer.
    pub respondent: String,
    /// Scores per item, 0–100.
    pub items: BTreeMap<SurveyItem, u8>,
    /// What the customer said.
    pub comments: String,
}

/// Takes a survey: refused when it scores no item or an item above 100
/// (`rules::survey_score`).
pub fn take_survey(
    replica: &mut Replica,
    survey: NewSurvey,
    by: &UserId,
    now: DateTime<Utc>,
) -> Result<Survey, ReplicaError> {
    rules::survey_score(&survey.items).map_err(refused)?;
    let survey = Survey {
        id: SurveyId::new(),
        customer_id: survey.customer_id,
        kind: survey.kind,
        ticket_id: survey.ticket_id,
        taken_at: now,
        taken_by: by.clone(),
        respondent: survey.respondent,
        items: survey.items,
        comments: survey.comments,
    };
    replica.create_record(&survey, &EditMeta::new(by, now, "survey.take"))?;
    Ok(survey)
}

/// `user`'s scorecard for `period` (`YYYY-MM` or `YYYY`), whole, if this replica holds it.
pub fn my_scorecard(
    replica: &mut Replica,
    user: &UserId,
    period: &str,
) -> Result<Option<Scorecard>, ReplicaError> {
    match replica.record::<Scorecard>(scorecard_id(user, period).as_str()) {
        Ok(card) => Ok(Some(card)),
        Err(ReplicaError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
#[path = "accounts_tests.rs"]
mod tests;

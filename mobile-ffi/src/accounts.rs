//! Account management on the tablet (issue 23): development leads, account plans, satisfaction
//! surveys and the rep's scorecard. Every call delegates to `kam_core::accounts` (the actions,
//! each checking its rule and writing one commit) or to the replica's account queries (the
//! list screens, read from the local index).

use chrono::Utc;
use kam_core::accounts::{self, QuarterEvaluation};
use kam_core::doc::{DocId, DocKind, lead_doc_id, survey_doc_id};
use kam_core::model::{
    CustomerId, LeadCriteria, LeadId, LeadStage, PlanActuals, PlanApproval, PlanEvaluation,
    PlanFunction, PlanGoals, PlanId, ScorecardLine, StageChange, SurveyId, SurveyItem, SurveyKind,
    TicketId, UserId, plan_id,
};
use kam_core::replica::{
    LeadRow, PipelineStageRow, PlanDueRow, Replica, ReplicaError, ScorecardRow, SurveyDueRow,
};
use kam_core::rules::{PlanStatus, SatisfactionFactor};
use rust_decimal::Decimal;

use crate::error::KamError;
use crate::replica::KamReplica;
use crate::types::{LocalDate, Timestamp};

// ---- vocabularies -------------------------------------------------------------------------

/// Where a lead is in its development (002 客户开发).
#[uniffi::remote(Enum)]
pub enum LeadStage {
    /// 市场调研.
    MarketResearch,
    /// 初步接触.
    FirstContact,
    /// 需求分析.
    NeedsAnalysis,
    /// 方案制定.
    Solution,
    /// 商务谈判.
    Negotiation,
    /// 签约成功: reached only from negotiation.
    Won,
    /// 开发失败: needs a reason.
    Lost,
}

/// Why a survey was taken.
#[uniffi::remote(Enum)]
pub enum SurveyKind {
    /// The periodic survey on the policy's cadence.
    Periodic,
    /// The call after a service ticket (回访).
    AfterService,
}

/// What a survey asks about, each scored 0–100.
#[uniffi::remote(Enum)]
pub enum SurveyItem {
    /// 产品质量.
    Product,
    /// 交付.
    Delivery,
    /// 服务.
    Service,
    /// 客户经理.
    AccountManager,
    /// 总体满意度.
    Overall,
}

/// The one-to-one owner functions a plan names.
#[uniffi::remote(Enum)]
pub enum PlanFunction {
    /// 客户经理.
    AccountManager,
    /// 技术对接.
    Technical,
    /// 质量工程师.
    Quality,
    /// 售后服务.
    AfterSales,
    /// 驻厂业务代表: required above the policy's yearly sales.
    ResidentRepresentative,
}

/// A plan's approval status.
#[uniffi::remote(Enum)]
pub enum PlanStatus {
    /// Not approved yet.
    Draft,
    /// HQ approved the current revision.
    Approved,
    /// Changed since HQ approved it: needs a new approval.
    RevisedSinceApproval,
}

// ---- core records as they are -------------------------------------------------------------

/// Why a lead is a key-account candidate (003 二): any one criterion is enough.
#[uniffi::remote(Record)]
pub struct LeadCriteria {
    /// Expected yearly purchase amount, CNY.
    pub expected_annual_purchase: Option<Decimal>,
    /// Expected profit contribution, percent of our profit.
    pub profit_share_pct: Option<Decimal>,
    /// Development potential, with its reason (empty: none).
    pub potential: String,
}

/// One stage change of a lead.
#[uniffi::remote(Record)]
pub struct StageChange {
    /// Stable id.
    pub id: kam_core::model::EntryId,
    /// Stage before.
    pub from: LeadStage,
    /// Stage after.
    pub to: LeadStage,
    /// When.
    pub at: Timestamp,
    /// Who.
    pub by: UserId,
    /// What was learned at the stage left.
    pub learned: String,
    /// Why the lead was lost.
    pub lost_reason: Option<String>,
}

/// Goals for a year or a quarter.
#[uniffi::remote(Record)]
pub struct PlanGoals {
    /// Sales, CNY.
    pub sales: Decimal,
    /// Profit contribution, CNY.
    pub profit_contribution: Decimal,
    /// Satisfaction to reach, 0–100.
    pub satisfaction: u8,
}

/// HQ's approval of one revision of a plan.
#[uniffi::remote(Record)]
pub struct PlanApproval {
    /// Who approved.
    pub by: UserId,
    /// When.
    pub at: Timestamp,
    /// The revision approved.
    pub revision: u32,
}

/// What a quarter brought.
#[uniffi::remote(Record)]
pub struct PlanActuals {
    /// Sales, CNY.
    pub sales: Decimal,
    /// Profit contribution, CNY.
    pub profit_contribution: Decimal,
    /// Satisfaction from the quarter's surveys, 0–100.
    pub satisfaction: Option<u8>,
}

/// A quarter's evaluation against the plan.
#[uniffi::remote(Record)]
pub struct PlanEvaluation {
    /// Quarter 1–4.
    pub quarter: u8,
    /// Results.
    pub actuals: PlanActuals,
    /// The adjustment decided (调整措施).
    pub adjustment: String,
    /// Who evaluated.
    pub by: UserId,
    /// When.
    pub at: Timestamp,
}

/// What a rep enters to evaluate a quarter that has ended.
#[uniffi::remote(Record)]
pub struct QuarterEvaluation {
    /// Quarter 1–4 of the plan's year.
    pub quarter: u8,
    /// What the quarter brought.
    pub actuals: PlanActuals,
    /// The adjustment decided.
    pub adjustment: String,
}

/// One published line of a scorecard, with how it was computed.
#[uniffi::remote(Record)]
pub struct ScorecardLine {
    /// Measure code.
    pub measure: String,
    /// Attainment 0–100.
    pub attainment: Decimal,
    /// Weight, percent.
    pub weight_pct: u32,
    /// Points.
    pub points: Decimal,
    /// How the figure was computed, in words.
    pub basis: String,
}

/// A customer's satisfaction from its recent surveys.
#[uniffi::remote(Record)]
pub struct SatisfactionFactor {
    /// Mean score, rounded half up.
    pub score: u8,
    /// Surveys counted.
    pub surveys_counted: u32,
    /// First day of the window.
    pub since: LocalDate,
}

/// One lead on the pipeline screen.
#[uniffi::remote(Record)]
pub struct LeadRow {
    /// Lead id.
    pub id: LeadId,
    /// Customer.
    pub customer_id: CustomerId,
    /// Customer name.
    pub customer_name: String,
    /// One-line description.
    pub title: String,
    /// Stage.
    pub stage: LeadStage,
    /// Expected value, CNY.
    pub expected_value: Decimal,
    /// Last stage change, else identification.
    pub updated_at: Timestamp,
}

/// One stage of my pipeline.
#[uniffi::remote(Record)]
pub struct PipelineStageRow {
    /// The stage.
    pub stage: LeadStage,
    /// Its leads, most recently moved first.
    pub leads: Vec<LeadRow>,
    /// How many.
    pub count: u32,
    /// Their expected value together, CNY.
    pub expected_value: Decimal,
}

/// An ended quarter of a plan without an evaluation.
#[uniffi::remote(Record)]
pub struct PlanDueRow {
    /// The plan.
    pub plan_id: PlanId,
    /// Its customer.
    pub customer_id: CustomerId,
    /// Customer name.
    pub customer_name: String,
    /// The plan's year.
    pub year: i32,
    /// Quarter to evaluate.
    pub quarter: u8,
    /// Approval status.
    pub status: PlanStatus,
    /// Due from (the day after the quarter).
    pub due_from: LocalDate,
    /// Last day on time.
    pub overdue_after: LocalDate,
    /// Late today.
    pub overdue: bool,
}

/// The next periodic survey of one of my customers.
#[uniffi::remote(Record)]
pub struct SurveyDueRow {
    /// The customer.
    pub customer_id: CustomerId,
    /// Its name.
    pub customer_name: String,
    /// Its tier.
    pub tier: kam_core::model::Tier,
    /// Last periodic survey.
    pub last_periodic_on: Option<LocalDate>,
    /// Last day on time.
    pub due_on: LocalDate,
    /// Late today.
    pub overdue: bool,
}

/// A scorecard with its published lines.
#[uniffi::remote(Record)]
pub struct ScorecardRow {
    /// Scorecard id.
    pub id: kam_core::model::ScorecardId,
    /// Whose.
    pub person: UserId,
    /// `YYYY-MM` or `YYYY`.
    pub period: String,
    /// Sales target, CNY.
    pub sales_target: Decimal,
    /// When computed (none: not published).
    pub computed_at: Option<Timestamp>,
    /// Total points once published.
    pub total: Option<Decimal>,
    /// Lines in policy order, each with its basis.
    pub lines: Vec<ScorecardLine>,
}

// ---- records of this layer (maps become lists) ----------------------------------------------

/// A development lead with its stage changes, oldest first.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Lead {
    /// Stable id.
    pub id: LeadId,
    /// The customer being developed.
    pub customer_id: CustomerId,
    /// One-line description.
    pub title: String,
    /// Who identified it.
    pub identified_by: UserId,
    /// When.
    pub identified_at: Timestamp,
    /// The rep working it.
    pub owner: UserId,
    /// Why it is a candidate.
    pub criteria: LeadCriteria,
    /// Expected contract value, CNY.
    pub expected_value: Decimal,
    /// Current stage.
    pub stage: LeadStage,
    /// Every stage change.
    pub history: Vec<StageChange>,
}

impl From<kam_core::model::Lead> for Lead {
    fn from(l: kam_core::model::Lead) -> Self {
        let mut history: Vec<StageChange> = l.history.into_values().collect();
        history.sort_by_key(|c| c.at);
        Lead {
            id: l.id,
            customer_id: l.customer_id,
            title: l.title,
            identified_by: l.identified_by,
            identified_at: l.identified_at,
            owner: l.owner,
            criteria: l.criteria,
            expected_value: l.expected_value,
            stage: l.stage,
            history,
        }
    }
}

/// One quarter's goals.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct QuarterGoals {
    /// Quarter 1–4.
    pub quarter: u8,
    /// Its goals.
    pub goals: PlanGoals,
}

/// The owner named for one function.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PlanOwner {
    /// The function.
    pub function: PlanFunction,
    /// The person.
    pub user: UserId,
}

/// What a rep writes in an account plan.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PlanContent {
    /// Goals for the year.
    pub year_goals: PlanGoals,
    /// Goals per quarter.
    pub quarter_goals: Vec<QuarterGoals>,
    /// The named owners.
    pub owners: Vec<PlanOwner>,
    /// Sales strategy (销售策略).
    pub sales_strategy: String,
    /// Service plan (服务计划).
    pub service_plan: String,
}

impl From<PlanContent> for accounts::PlanContent {
    fn from(c: PlanContent) -> Self {
        accounts::PlanContent {
            year_goals: c.year_goals,
            quarter_goals: c.quarter_goals.into_iter().map(|q| (q.quarter, q.goals)).collect(),
            owners: c.owners.into_iter().map(|o| (o.function, o.user)).collect(),
            sales_strategy: c.sales_strategy,
            service_plan: c.service_plan,
        }
    }
}

/// A customer's account plan for one year.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct AccountPlan {
    /// `<customer>-<year>`.
    pub id: PlanId,
    /// The customer.
    pub customer_id: CustomerId,
    /// The year.
    pub year: i32,
    /// Content.
    pub content: PlanContent,
    /// Revision, raised by every content change.
    pub revision: u32,
    /// HQ's approval.
    pub approval: Option<PlanApproval>,
    /// Evaluations, by quarter.
    pub evaluations: Vec<PlanEvaluation>,
    /// Approval status.
    pub status: PlanStatus,
}

impl From<kam_core::model::AccountPlan> for AccountPlan {
    fn from(p: kam_core::model::AccountPlan) -> Self {
        let status = kam_core::rules::plan_status(&p);
        AccountPlan {
            id: p.id,
            customer_id: p.customer_id,
            year: p.year,
            content: PlanContent {
                year_goals: p.year_goals,
                quarter_goals: p
                    .quarter_goals
                    .into_iter()
                    .map(|(quarter, goals)| QuarterGoals { quarter, goals })
                    .collect(),
                owners: p
                    .owners
                    .into_iter()
                    .map(|(function, user)| PlanOwner { function, user })
                    .collect(),
                sales_strategy: p.sales_strategy,
                service_plan: p.service_plan,
            },
            revision: p.revision,
            approval: p.approval,
            evaluations: p.evaluations.into_values().collect(),
            status,
        }
    }
}

/// One item's score in a survey.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct ItemScore {
    /// The item.
    pub item: SurveyItem,
    /// Score 0–100.
    pub score: u8,
}

/// What a rep or service staff enters when taking a survey.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct NewSurvey {
    /// The customer surveyed.
    pub customer_id: CustomerId,
    /// Periodic or after service.
    pub kind: SurveyKind,
    /// The ticket an after-service survey follows.
    pub ticket_id: Option<TicketId>,
    /// Who answered.
    pub respondent: String,
    /// Scores per item.
    pub items: Vec<ItemScore>,
    /// What the customer said.
    pub comments: String,
}

/// A survey taken.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Survey {
    /// Stable id.
    pub id: SurveyId,
    /// The customer.
    pub customer_id: CustomerId,
    /// Periodic or after service.
    pub kind: SurveyKind,
    /// The ticket it follows.
    pub ticket_id: Option<TicketId>,
    /// When.
    pub taken_at: Timestamp,
    /// Who took it.
    pub taken_by: UserId,
    /// Who answered.
    pub respondent: String,
    /// Scores per item, in item order.
    pub items: Vec<ItemScore>,
    /// What the customer said.
    pub comments: String,
}

impl From<kam_core::model::Survey> for Survey {
    fn from(s: kam_core::model::Survey) -> Self {
        Survey {
            id: s.id,
            customer_id: s.customer_id,
            kind: s.kind,
            ticket_id: s.ticket_id,
            taken_at: s.taken_at,
            taken_by: s.taken_by,
            respondent: s.respondent,
            items: s.items.into_iter().map(|(item, score)| ItemScore { item, score }).collect(),
            comments: s.comments,
        }
    }
}

// ---- the replica's account-management calls ------------------------------------------------

#[uniffi::export]
impl KamReplica {
    /// Identifies a development lead owned by this user (stage: market research). Refused
    /// (`KamError.Rejected`, code `rule`) unless one criterion of 003 二 holds.
    pub fn identify_lead(
        &self,
        customer_id: CustomerId,
        title: String,
        criteria: LeadCriteria,
        expected_value: Decimal,
    ) -> Result<Lead, KamError> {
        let now = Utc::now();
        let identify = |r: &mut Replica, user: &UserId| {
            accounts::identify_lead(r, &customer_id, &title, &criteria, expected_value, user, now)
        };
        self.edit_new(identify, |l| lead_doc_id(&l.id)).map(Lead::from)
    }

    /// Moves a lead to `to` (won only from negotiation; lost needs a reason; going back needs
    /// a note) and returns it.
    pub fn change_lead_stage(
        &self,
        lead_id: LeadId,
        to: LeadStage,
        learned: String,
        lost_reason: Option<String>,
    ) -> Result<Lead, KamError> {
        let doc = DocId::new(DocKind::Lead, lead_id.as_str());
        let lost = lost_reason.as_deref();
        let now = Utc::now();
        Ok(self
            .edit(doc, |r, user| {
                accounts::change_lead_stage(r, &lead_id, to, &learned, lost, user, now)
            })?
            .into())
    }

    /// Drafts `customer_id`'s plan for `year`; one plan a year (a second is
    /// `KamError.Rejected` with code `already_exists`).
    pub fn draft_plan(
        &self,
        customer_id: CustomerId,
        year: i32,
        content: PlanContent,
    ) -> Result<AccountPlan, KamError> {
        let doc = DocId::new(DocKind::Plan, plan_id(&customer_id, year).as_str());
        Ok(self
            .edit(doc, |r, user| {
                accounts::draft_plan(r, &customer_id, year, content.into(), user, Utc::now())
            })?
            .into())
    }

    /// Rewrites a plan's content (a new revision: HQ approves it again).
    pub fn set_plan_content(
        &self,
        plan_id: PlanId,
        content: PlanContent,
    ) -> Result<AccountPlan, KamError> {
        let doc = DocId::new(DocKind::Plan, plan_id.as_str());
        Ok(self
            .edit(doc, |r, user| {
                accounts::set_plan_content(r, &plan_id, content.into(), user, Utc::now())
            })?
            .into())
    }

    /// Records the evaluation of a quarter that has ended (a running quarter is refused).
    pub fn evaluate_plan_quarter(
        &self,
        plan_id: PlanId,
        evaluation: QuarterEvaluation,
    ) -> Result<AccountPlan, KamError> {
        let doc = DocId::new(DocKind::Plan, plan_id.as_str());
        Ok(self
            .edit(doc, |r, user| {
                accounts::evaluate_plan_quarter(r, &plan_id, evaluation, user, Utc::now())
            })?
            .into())
    }

    /// Takes a survey now, as this user; refused when no item is scored or one is above 100.
    pub fn take_survey(&self, survey: NewSurvey) -> Result<Survey, KamError> {
        let survey = accounts::NewSurvey {
            customer_id: survey.customer_id,
            kind: survey.kind,
            ticket_id: survey.ticket_id,
            respondent: survey.respondent,
            items: survey.items.into_iter().map(|i| (i.item, i.score)).collect(),
            comments: survey.comments,
        };
        let take =
            |r: &mut Replica, user: &UserId| accounts::take_survey(r, survey, user, Utc::now());
        self.edit_new(take, |s| survey_doc_id(&s.id)).map(Survey::from)
    }

    /// `owner`'s leads by stage, every stage listed.
    pub fn my_pipeline_by_stage(&self, owner: UserId) -> Result<Vec<PipelineStageRow>, KamError> {
        Ok(self.shared.read(|r, _| r.my_pipeline_by_stage(&owner))?)
    }

    /// Ended quarters of `owner`'s customers' plans still to evaluate, longest waiting first.
    pub fn plans_due_for_evaluation(&self, owner: UserId) -> Result<Vec<PlanDueRow>, KamError> {
        Ok(self.shared.read(|r, policy| {
            r.plans_due_for_evaluation(&owner, policy.business_date(Utc::now()))
        })?)
    }

    /// Periodic surveys of `owner`'s customers overdue or due by the end of this month.
    pub fn surveys_due(&self, owner: UserId) -> Result<Vec<SurveyDueRow>, KamError> {
        Ok(self
            .shared
            .read(|r, policy| r.surveys_due(&owner, policy.business_date(Utc::now()), policy))?)
    }

    /// `person`'s scorecard for `period` (`YYYY-MM` or `YYYY`), if this device holds it.
    pub fn my_scorecard(
        &self,
        person: UserId,
        period: String,
    ) -> Result<Option<ScorecardRow>, KamError> {
        Ok(self.shared.read(|r, _| r.my_scorecard(&person, &period))?)
    }

    /// A customer's satisfaction from its surveys of the policy's window up to today.
    pub fn satisfaction_factor(
        &self,
        customer_id: CustomerId,
    ) -> Result<Option<SatisfactionFactor>, KamError> {
        self.with(|r| {
            let today = r.policy().business_date(Utc::now());
            r.satisfaction_factor(&customer_id, today)
        })
    }
}

impl KamReplica {
    /// Runs an action that creates a document whose id the action makes, as this user; the
    /// listeners hear of the new document.
    fn edit_new<T>(
        &self,
        action: impl FnOnce(&mut Replica, &UserId) -> Result<T, ReplicaError>,
        created: impl FnOnce(&T) -> DocId,
    ) -> Result<T, KamError> {
        Ok(self.shared.create(|r| action(r, &self.user), created)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kam_core::model::CustomerProfile;

    #[test]
    fn a_lead_is_worked_to_won_offline_and_shows_in_my_pipeline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.kam").display().to_string();
        let replica = KamReplica::open(path, UserId::from("rep-01"), None).unwrap();
        let profile = CustomerProfile { name: "西南重工".into(), ..Default::default() };
        let customer = replica.create_customer(profile).unwrap();
        let none_holds = LeadCriteria {
            expected_annual_purchase: Some(Decimal::from(1_000_000)),
            profit_share_pct: None,
            potential: String::new(),
        };
        let refused =
            replica.identify_lead(customer.id.clone(), "扩产".into(), none_holds, Decimal::ONE);
        assert!(matches!(refused, Err(KamError::Rejected { code, .. }) if code == "rule"));

        let criteria = LeadCriteria { potential: "新产线".into(), ..none_holds_default() };
        let value = Decimal::from(3_500_000);
        let lead =
            replica.identify_lead(customer.id.clone(), "二期".into(), criteria, value).unwrap();
        for stage in [LeadStage::FirstContact, LeadStage::Negotiation, LeadStage::Won] {
            replica.change_lead_stage(lead.id.clone(), stage, "交期".into(), None).unwrap();
        }
        let items = vec![ItemScore { item: SurveyItem::Overall, score: 90 }];
        let survey = NewSurvey {
            customer_id: customer.id.clone(),
            kind: SurveyKind::Periodic,
            ticket_id: None,
            respondent: "李经理".into(),
            items,
            comments: String::new(),
        };
        replica.take_survey(survey).unwrap();
        let empty = NewSurvey {
            customer_id: customer.id.clone(),
            kind: SurveyKind::Periodic,
            ticket_id: None,
            respondent: String::new(),
            items: Vec::new(),
            comments: String::new(),
        };
        assert!(matches!(replica.take_survey(empty), Err(KamError::Rejected { .. })));

        let pipeline = replica.my_pipeline_by_stage(UserId::from("rep-01")).unwrap();
        let won = pipeline.iter().find(|s| s.stage == LeadStage::Won).unwrap();
        assert_eq!((won.count, won.expected_value), (1, value));
        assert_eq!(won.leads[0].id, lead.id);
        let factor = replica.satisfaction_factor(customer.id.clone()).unwrap().unwrap();
        assert_eq!((factor.score, factor.surveys_counted), (90, 1));
        let due = replica.surveys_due(UserId::from("rep-01")).unwrap();
        assert!(due.is_empty(), "surveyed today: the next is months away");
        assert!(replica.plans_due_for_evaluation(UserId::from("rep-01")).unwrap().is_empty());
        assert_eq!(replica.my_scorecard(UserId::from("rep-01"), "2026-10".into()).unwrap(), None);
    }

    fn none_holds_default() -> LeadCriteria {
        LeadCriteria {
            expected_annual_purchase: None,
            profit_share_pct: None,
            potential: String::new(),
        }
    }

    #[test]
    fn a_plan_is_drafted_once_and_a_running_quarter_is_not_evaluated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.kam").display().to_string();
        let replica = KamReplica::open(path, UserId::from("rep-01"), None).unwrap();
        let c = CustomerId::from("c1");
        let goals = PlanGoals {
            sales: Decimal::from(100),
            profit_contribution: Decimal::ONE,
            satisfaction: 90,
        };
        let content = PlanContent {
            year_goals: goals.clone(),
            quarter_goals: vec![QuarterGoals { quarter: 1, goals }],
            owners: vec![PlanOwner {
                function: PlanFunction::AccountManager,
                user: "rep-01".into(),
            }],
            sales_strategy: "份额".into(),
            service_plan: "回访".into(),
        };
        let year = chrono::Datelike::year(&Utc::now()).checked_add(1).unwrap();
        let plan = replica.draft_plan(c.clone(), year, content.clone()).unwrap();
        assert_eq!(
            (plan.revision, plan.status, plan.content.owners.len()),
            (1, PlanStatus::Draft, 1)
        );
        assert!(matches!(
            replica.draft_plan(c, year, content),
            Err(KamError::Rejected { code, .. }) if code == "already_exists"
        ));
        let evaluation = QuarterEvaluation {
            quarter: 1,
            actuals: PlanActuals {
                sales: Decimal::ONE,
                profit_contribution: Decimal::ONE,
                satisfaction: None,
            },
            adjustment: String::new(),
        };
        let early = replica.evaluate_plan_quarter(plan.id, evaluation);
        assert!(matches!(early, Err(KamError::Rejected { .. })), "next year's Q1 has not ended");
    }
}

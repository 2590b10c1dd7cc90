//! A customer's yearly account plan (大客户管理计划, 003 三.3–三.5, 001 五, 000 §4.2): goals,
//! the named owners per function, strategy and service plan, HQ's approval and the quarterly
//! evaluations against results.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::common::{CustomerId, PlanId, UserId, vocabulary};

/// The one-to-one owner functions a plan names (000 §4.2.1–4.2.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanFunction {
    /// 客户经理 (§4.2.3).
    AccountManager,
    /// 技术对接人 (§4.2.2).
    Technical,
    /// 质量工程师 (§4.2.4).
    Quality,
    /// 售后服务 (§4.2.5).
    AfterSales,
    /// 驻厂业务代表 (§4.2.1.1): required above the policy's yearly sales.
    ResidentRepresentative,
}
vocabulary!(PlanFunction, "plan function", {
    AccountManager => "account_manager", Technical => "technical", Quality => "quality",
    AfterSales => "after_sales", ResidentRepresentative => "resident_representative"
});

impl PlanFunction {
    /// The functions every plan names.
    pub const ALWAYS: [PlanFunction; 4] = [
        PlanFunction::AccountManager,
        PlanFunction::Technical,
        PlanFunction::Quality,
        PlanFunction::AfterSales,
    ];

    /// The Chinese name used on screens and exports.
    pub fn label_zh(self) -> &'static str {
        match self {
            PlanFunction::AccountManager => "客户经理",
            PlanFunction::Technical => "技术对接",
            PlanFunction::Quality => "质量工程师",
            PlanFunction::AfterSales => "售后服务",
            PlanFunction::ResidentRepresentative => "驻厂业务代表",
        }
    }
}

/// What a plan aims at for a year or a quarter.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanGoals {
    /// Sales in CNY.
    pub sales: Decimal,
    /// Profit contribution in CNY.
    pub profit_contribution: Decimal,
    /// Satisfaction score to reach, 0–100.
    pub satisfaction: u8,
}

/// HQ's approval of one revision of the plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanApproval {
    /// Who approved (HQ).
    pub by: UserId,
    /// When.
    pub at: DateTime<Utc>,
    /// The revision approved; a later revision needs a new approval.
    pub revision: u32,
}

/// What a quarter actually brought, as the evaluation recorded it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanActuals {
    /// Sales in CNY.
    pub sales: Decimal,
    /// Profit contribution in CNY.
    pub profit_contribution: Decimal,
    /// Satisfaction from the quarter's surveys, 0–100 (none taken: `None`).
    pub satisfaction: Option<u8>,
}

/// The evaluation of one quarter against the plan, with the adjustment decided.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanEvaluation {
    /// Quarter 1–4 of the plan's year.
    pub quarter: u8,
    /// Results of the quarter.
    pub actuals: PlanActuals,
    /// The adjustment of the plan decided (调整措施).
    pub adjustment: String,
    /// Who evaluated.
    pub by: UserId,
    /// When.
    pub at: DateTime<Utc>,
}

/// A customer's plan for one year: one `plan/<customer>-<year>` document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountPlan {
    /// Stable id (`<customer id>-<year>`).
    pub id: PlanId,
    /// The customer.
    pub customer_id: CustomerId,
    /// The plan's year.
    pub year: i32,
    /// Goals for the year.
    pub year_goals: PlanGoals,
    /// Goals per quarter (1–4).
    pub quarter_goals: BTreeMap<u8, PlanGoals>,
    /// The named owner per function.
    pub owners: BTreeMap<PlanFunction, UserId>,
    /// Sales strategy (销售策略).
    pub sales_strategy: String,
    /// Service plan (服务计划).
    pub service_plan: String,
    /// Revision number, raised by every change of goals, owners, strategy or service plan.
    pub revision: u32,
    /// HQ's approval, if any.
    pub approval: Option<PlanApproval>,
    /// Evaluations per quarter (1–4).
    pub evaluations: BTreeMap<u8, PlanEvaluation>,
}

/// The id of a customer's plan for `year`.
pub fn plan_id(customer: &CustomerId, year: i32) -> PlanId {
    PlanId(format!("{customer}-{year}"))
}

//! Account plans (大客户管理计划, 003 三.3–三.5, 000 §4.2; RULES.md §9): who must be named,
//! when a plan may be approved, which quarterly evaluations are due and how a quarter did.

use chrono::{Datelike, Days, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::bounds::{Overflow, sum};
use crate::model::{AccountPlan, PlanActuals, PlanFunction, PlanGoals};
use crate::policy::Policy;

use super::pipeline::percent_1dp;

/// The owner functions a plan for an account with `annual_sales` must name: the four of
/// [`PlanFunction::ALWAYS`], plus the resident representative from
/// `plans.resident_representative_min_annual_sales` on.
///
/// 000 §4.2.1.1 says 5000万**以上**战略客户要配备驻厂业务代表. In Chinese legal and regulatory
/// usage 以上 includes the number itself (民法典 第1259条), and the tier thresholds here are
/// inclusive too, so exactly 50,000,000 CNY needs a resident representative.
pub fn required_functions(annual_sales: Decimal, policy: &Policy) -> Vec<PlanFunction> {
    let mut out = PlanFunction::ALWAYS.to_vec();
    if annual_sales >= policy.plans.resident_representative_min_annual_sales {
        out.push(PlanFunction::ResidentRepresentative);
    }
    out
}

/// The required functions the plan names nobody for, in [`required_functions`] order.
pub fn missing_owners(
    plan: &AccountPlan,
    annual_sales: Decimal,
    policy: &Policy,
) -> Vec<PlanFunction> {
    required_functions(annual_sales, policy)
        .into_iter()
        .filter(|f| plan.owners.get(f).is_none_or(|user| user.to_string().trim().is_empty()))
        .collect()
}

/// Where a plan stands with HQ.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanStatus {
    /// Never approved.
    Draft,
    /// The current revision is approved.
    Approved,
    /// Approved once, changed since: the current revision needs a new approval.
    RevisedSinceApproval,
}

/// Whether the plan's current revision is the one HQ approved.
pub fn plan_status(plan: &AccountPlan) -> PlanStatus {
    match &plan.approval {
        None => PlanStatus::Draft,
        Some(a) if plan.revision > a.revision => PlanStatus::RevisedSinceApproval,
        Some(_) => PlanStatus::Approved,
    }
}

/// Why HQ cannot approve a plan as it stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PlanRefusal {
    /// This revision is already approved.
    #[error("计划第 {revision} 版已审批 (revision {revision} is already approved)")]
    AlreadyApproved {
        /// The approved revision.
        revision: u32,
    },
    /// Functions without a named owner.
    #[error("计划未指定负责人：{} (no owner named for {functions:?})", zh_functions(functions))]
    OwnersMissing {
        /// The functions, in required order.
        functions: Vec<PlanFunction>,
    },
    /// The year's sales goal is not set (zero or negative).
    #[error("未设定年度销售目标 (the year's sales goal is not set)")]
    YearGoalsMissing,
    /// A goal's satisfaction is above 100.
    #[error("满意度目标 {satisfaction} 超过 100 (satisfaction goal {satisfaction} is above 100)")]
    SatisfactionOutOfRange {
        /// The goal given.
        satisfaction: u8,
    },
    /// Quarters without goals (or goals keyed outside 1–4).
    #[error(
        "季度目标须为第1至4季度各一项，缺少或多出：{quarters:?} (quarter goals must be exactly quarters 1–4; wrong: {quarters:?})"
    )]
    QuarterGoalsIncomplete {
        /// Missing quarters and quarters outside 1–4.
        quarters: Vec<u8>,
    },
    /// The quarters' sales goals do not add up to the year's.
    #[error(
        "季度销售目标合计 {quarters_total} 不等于年度目标 {year} (quarter sales goals add up to {quarters_total}, not the year's {year})"
    )]
    QuarterSalesMismatch {
        /// Sum of the quarters' sales goals.
        quarters_total: Decimal,
        /// The year's sales goal.
        year: Decimal,
    },
    /// No sales strategy written.
    #[error("未填写销售策略 (the sales strategy is empty)")]
    StrategyMissing,
    /// No service plan written.
    #[error("未填写服务计划 (the service plan is empty)")]
    ServicePlanMissing,
    /// The goals are too large to add up.
    #[error(transparent)]
    Overflow(#[from] Overflow),
}

impl PlanRefusal {
    /// Stable machine code, the same as the serde `kind`.
    pub fn code(&self) -> &'static str {
        match self {
            PlanRefusal::AlreadyApproved { .. } => "already_approved",
            PlanRefusal::OwnersMissing { .. } => "owners_missing",
            PlanRefusal::YearGoalsMissing => "year_goals_missing",
            PlanRefusal::SatisfactionOutOfRange { .. } => "satisfaction_out_of_range",
            PlanRefusal::QuarterGoalsIncomplete { .. } => "quarter_goals_incomplete",
            PlanRefusal::QuarterSalesMismatch { .. } => "quarter_sales_mismatch",
            PlanRefusal::StrategyMissing => "strategy_missing",
            PlanRefusal::ServicePlanMissing => "service_plan_missing",
            PlanRefusal::Overflow(_) => "arithmetic_overflow",
        }
    }
}

fn zh_functions(functions: &[PlanFunction]) -> String {
    functions.iter().map(|f| f.label_zh()).collect::<Vec<_>>().join("、")
}

/// Whether HQ may approve the plan's current revision: owners named for every required
/// function, a year sales goal, goals for exactly quarters 1–4 whose sales add up to the
/// year's (profit and satisfaction are not required to add up: profit may be phased and
/// satisfaction is a level, not a sum), satisfaction goals within 0–100, and a strategy and
/// service plan written. The first failing check is reported, in that order.
pub fn check_approval(
    plan: &AccountPlan,
    annual_sales: Decimal,
    policy: &Policy,
) -> Result<(), PlanRefusal> {
    if plan_status(plan) == PlanStatus::Approved {
        return Err(PlanRefusal::AlreadyApproved { revision: plan.revision });
    }
    let functions = missing_owners(plan, annual_sales, policy);
    if !functions.is_empty() {
        return Err(PlanRefusal::OwnersMissing { functions });
    }
    if plan.year_goals.sales <= Decimal::ZERO {
        return Err(PlanRefusal::YearGoalsMissing);
    }
    let goals = std::iter::once(&plan.year_goals).chain(plan.quarter_goals.values());
    if let Some(g) = goals.into_iter().find(|g| g.satisfaction > 100) {
        return Err(PlanRefusal::SatisfactionOutOfRange { satisfaction: g.satisfaction });
    }
    let mut quarters: Vec<u8> = (1..=4).filter(|q| !plan.quarter_goals.contains_key(q)).collect();
    quarters.extend(plan.quarter_goals.keys().filter(|q| !(1..=4).contains(*q)));
    if !quarters.is_empty() {
        return Err(PlanRefusal::QuarterGoalsIncomplete { quarters });
    }
    let quarters_total = sum("quarter sales goals", plan.quarter_goals.values().map(|g| g.sales))?;
    if quarters_total != plan.year_goals.sales {
        return Err(PlanRefusal::QuarterSalesMismatch {
            quarters_total,
            year: plan.year_goals.sales,
        });
    }
    if plan.sales_strategy.trim().is_empty() {
        return Err(PlanRefusal::StrategyMissing);
    }
    if plan.service_plan.trim().is_empty() {
        return Err(PlanRefusal::ServicePlanMissing);
    }
    Ok(())
}

/// The calendar quarter (1–4) of `date`.
pub fn quarter_of(date: NaiveDate) -> u8 {
    match date.month0() {
        0..=2 => 1,
        3..=5 => 2,
        6..=8 => 3,
        _ => 4,
    }
}

/// The last day of `quarter` (1–4) of `year`; `None` outside chrono's range or for a bad
/// quarter.
fn quarter_end(year: i32, quarter: u8) -> Option<NaiveDate> {
    let next_start = match quarter {
        1 => NaiveDate::from_ymd_opt(year, 4, 1),
        2 => NaiveDate::from_ymd_opt(year, 7, 1),
        3 => NaiveDate::from_ymd_opt(year, 10, 1),
        4 => NaiveDate::from_ymd_opt(year.checked_add(1)?, 1, 1),
        _ => None,
    }?;
    next_start.pred_opt()
}

/// A quarter of the plan's year that has ended without an evaluation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvaluationDue {
    /// Quarter 1–4.
    pub quarter: u8,
    /// The day after the quarter's end, from which the evaluation is due.
    pub due_from: NaiveDate,
    /// The last day on which the evaluation is on time (quarter end +
    /// `plans.evaluation_days_after_quarter`).
    pub overdue_after: NaiveDate,
    /// Whether `today` is past `overdue_after`.
    pub overdue: bool,
}

/// The ended quarters of the plan's year that have no evaluation yet, in quarter order. A
/// quarter has ended once `today` is after its last day; it is overdue once `today` is after
/// the last day plus `plans.evaluation_days_after_quarter` (that day itself is on time).
pub fn evaluations_due(
    plan: &AccountPlan,
    today: NaiveDate,
    policy: &Policy,
) -> Vec<EvaluationDue> {
    let days = Days::new(u64::from(policy.plans.evaluation_days_after_quarter));
    (1..=4u8)
        .filter(|q| !plan.evaluations.contains_key(q))
        .filter_map(|quarter| {
            let end = quarter_end(plan.year, quarter)?;
            let due_from = end.succ_opt()?;
            let overdue_after = end.checked_add_days(days)?;
            (today >= due_from).then_some(EvaluationDue {
                quarter,
                due_from,
                overdue_after,
                overdue: today > overdue_after,
            })
        })
        .collect()
}

/// How a quarter did against its goals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarterAttainment {
    /// Actual sales in percent of the goal, one decimal; `None` when the goal is zero or
    /// negative (a percentage of nothing means nothing).
    pub sales_pct: Option<Decimal>,
    /// Actual profit contribution in percent of the goal, likewise.
    pub profit_pct: Option<Decimal>,
    /// Actual satisfaction minus the goal; `None` when no survey was taken.
    pub satisfaction_gap: Option<i32>,
    /// Sales and profit at or above their goals and satisfaction not below its goal (an
    /// unmeasured satisfaction does not count against the quarter).
    pub on_track: bool,
}

/// Compares a quarter's actuals with its goals. On-track compares the amounts themselves,
/// so a zero or negative goal needs no division.
pub fn evaluate_quarter(goals: &PlanGoals, actuals: &PlanActuals) -> QuarterAttainment {
    let pct = |actual: Decimal, goal: Decimal| {
        if goal > Decimal::ZERO { percent_1dp(actual, goal) } else { None }
    };
    let satisfaction_gap =
        actuals.satisfaction.map(|s| i32::from(s).saturating_sub(i32::from(goals.satisfaction)));
    QuarterAttainment {
        sales_pct: pct(actuals.sales, goals.sales),
        profit_pct: pct(actuals.profit_contribution, goals.profit_contribution),
        satisfaction_gap,
        on_track: actuals.sales >= goals.sales
            && actuals.profit_contribution >= goals.profit_contribution
            && satisfaction_gap.is_none_or(|gap| gap >= 0),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::Utc;
    use rust_decimal_macros::dec;

    use super::*;
    use crate::model::{CustomerId, PlanApproval, PlanEvaluation, PlanId, UserId};

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn goals(sales: Decimal) -> PlanGoals {
        PlanGoals { sales, profit_contribution: dec!(0), satisfaction: 90 }
    }

    fn ready_plan() -> AccountPlan {
        AccountPlan {
            id: PlanId::from("c1-2026"),
            customer_id: CustomerId::from("c1"),
            year: 2026,
            year_goals: goals(dec!(400)),
            quarter_goals: (1..=4).map(|q| (q, goals(dec!(100)))).collect(),
            owners: PlanFunction::ALWAYS.iter().map(|f| (*f, UserId::from("u1"))).collect(),
            sales_strategy: "深耕".to_owned(),
            service_plan: "驻场".to_owned(),
            revision: 1,
            approval: None,
            evaluations: BTreeMap::new(),
        }
    }

    #[test]
    fn the_resident_representative_starts_at_exactly_50_million() {
        let p = Policy::default();
        assert_eq!(required_functions(dec!(49999999.99), &p), PlanFunction::ALWAYS.to_vec());
        let at = required_functions(dec!(50000000), &p);
        assert_eq!(at.last(), Some(&PlanFunction::ResidentRepresentative));
        let plan = ready_plan();
        assert_eq!(missing_owners(&plan, dec!(10), &p), vec![]);
        assert_eq!(
            missing_owners(&plan, dec!(50000000), &p),
            vec![PlanFunction::ResidentRepresentative]
        );
    }

    #[test]
    fn status_follows_the_approved_revision() {
        let mut plan = ready_plan();
        assert_eq!(plan_status(&plan), PlanStatus::Draft);
        plan.approval = Some(PlanApproval { by: UserId::from("hq"), at: Utc::now(), revision: 1 });
        assert_eq!(plan_status(&plan), PlanStatus::Approved);
        assert_eq!(
            check_approval(&plan, dec!(0), &Policy::default()),
            Err(PlanRefusal::AlreadyApproved { revision: 1 })
        );
        plan.revision = 2;
        assert_eq!(plan_status(&plan), PlanStatus::RevisedSinceApproval);
        assert_eq!(check_approval(&plan, dec!(0), &Policy::default()), Ok(()));
    }

    #[test]
    fn approval_checks_each_part() {
        let p = Policy::default();
        assert_eq!(check_approval(&ready_plan(), dec!(0), &p), Ok(()));
        let err = check_approval(&ready_plan(), dec!(60000000), &p).unwrap_err();
        assert_eq!(err.code(), "owners_missing");
        assert!(err.to_string().contains("驻厂业务代表"), "{err}");
        let mut plan = ready_plan();
        plan.year_goals.sales = dec!(0);
        assert_eq!(check_approval(&plan, dec!(0), &p), Err(PlanRefusal::YearGoalsMissing));
        let mut plan = ready_plan();
        plan.quarter_goals.remove(&3);
        plan.quarter_goals.insert(5, goals(dec!(100)));
        assert_eq!(
            check_approval(&plan, dec!(0), &p),
            Err(PlanRefusal::QuarterGoalsIncomplete { quarters: vec![3, 5] })
        );
        let mut plan = ready_plan();
        plan.quarter_goals.insert(4, goals(dec!(100.01)));
        assert_eq!(
            check_approval(&plan, dec!(0), &p),
            Err(PlanRefusal::QuarterSalesMismatch {
                quarters_total: dec!(400.01),
                year: dec!(400)
            })
        );
        let mut plan = ready_plan();
        plan.quarter_goals.get_mut(&2).unwrap().satisfaction = 101;
        assert_eq!(
            check_approval(&plan, dec!(0), &p).unwrap_err().code(),
            "satisfaction_out_of_range"
        );
        let mut plan = ready_plan();
        plan.sales_strategy = " ".to_owned();
        assert_eq!(check_approval(&plan, dec!(0), &p), Err(PlanRefusal::StrategyMissing));
        let mut plan = ready_plan();
        plan.service_plan.clear();
        assert_eq!(check_approval(&plan, dec!(0), &p), Err(PlanRefusal::ServicePlanMissing));
    }

    #[test]
    fn quarters() {
        assert_eq!(quarter_of(d(2026, 1, 1)), 1);
        assert_eq!(quarter_of(d(2026, 3, 31)), 1);
        assert_eq!(quarter_of(d(2026, 4, 1)), 2);
        assert_eq!(quarter_of(d(2026, 9, 30)), 3);
        assert_eq!(quarter_of(d(2026, 12, 31)), 4);
        assert_eq!(quarter_end(2026, 1), Some(d(2026, 3, 31)));
        assert_eq!(quarter_end(2026, 4), Some(d(2026, 12, 31)));
        assert_eq!(quarter_end(2026, 0), None);
    }

    #[test]
    fn evaluations_fall_due_after_the_quarter_and_overdue_after_15_days() {
        let p = Policy::default();
        let mut plan = ready_plan();
        assert!(evaluations_due(&plan, d(2026, 3, 31), &p).is_empty(), "Q1 not yet ended");
        let due = evaluations_due(&plan, d(2026, 4, 1), &p);
        assert_eq!(
            due,
            vec![EvaluationDue {
                quarter: 1,
                due_from: d(2026, 4, 1),
                overdue_after: d(2026, 4, 15),
                overdue: false
            }]
        );
        assert!(!evaluations_due(&plan, d(2026, 4, 15), &p)[0].overdue, "last day on time");
        assert!(evaluations_due(&plan, d(2026, 4, 16), &p)[0].overdue);
        let eval = PlanEvaluation {
            quarter: 1,
            actuals: PlanActuals::default(),
            adjustment: String::new(),
            by: UserId::from("u1"),
            at: Utc::now(),
        };
        plan.evaluations.insert(1, eval);
        let later: Vec<u8> =
            evaluations_due(&plan, d(2027, 2, 1), &p).iter().map(|e| e.quarter).collect();
        assert_eq!(later, vec![2, 3, 4]);
    }

    #[test]
    fn quarter_attainment() {
        let g = PlanGoals { sales: dec!(1500000), profit_contribution: dec!(0), satisfaction: 85 };
        let a = PlanActuals {
            sales: dec!(1200000),
            profit_contribution: dec!(10),
            satisfaction: Some(88),
        };
        let r = evaluate_quarter(&g, &a);
        assert_eq!(r.sales_pct, Some(dec!(80.0)));
        assert_eq!(r.profit_pct, None, "zero goal: no percentage, no division");
        assert_eq!(r.satisfaction_gap, Some(3));
        assert!(!r.on_track, "sales short");
        let a =
            PlanActuals { sales: dec!(1500000), profit_contribution: dec!(0), satisfaction: None };
        let r = evaluate_quarter(&g, &a);
        assert_eq!(r.sales_pct, Some(dec!(100.0)));
        assert!(r.on_track);
        let a = PlanActuals { satisfaction: Some(84), ..a };
        assert_eq!(evaluate_quarter(&g, &a).satisfaction_gap, Some(-1));
        assert!(!evaluate_quarter(&g, &a).on_track);
    }
}

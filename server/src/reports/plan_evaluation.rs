//! 大客户管理计划季度评估表: one row per account plan of a year for one quarter — the
//! quarter's goals, the evaluation's actuals, the attainment by the shared rule
//! (`rules::evaluate_quarter`) and the adjustment decided (003 三.5 按季度评估). Laid out
//! like 附件一: a title, a period line, one row per customer, a total row.

use kam_core::model::{PlanActuals, PlanGoals, Tier};
use kam_core::rules;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::db::AccountWorkStore;
use crate::db::parse::decimal;
use crate::db::pipeline::{EvaluationLine, GoalsLine, PlanRows};
use crate::error::ServerError;

/// One plan's quarter.
#[derive(Clone, Debug, Serialize)]
pub struct PlanEvaluationRow {
    /// Plan id.
    pub plan_id: String,
    /// Customer id.
    pub customer_id: String,
    /// Customer name.
    pub name: String,
    /// Customer tier, when the customer is projected.
    pub tier: Option<Tier>,
    /// The quarter's goals.
    pub goals: PlanGoals,
    /// The evaluation's actuals, when evaluated.
    pub actuals: Option<PlanActuals>,
    /// Sales attained, percent.
    pub sales_pct: Option<Decimal>,
    /// Profit attained, percent.
    pub profit_pct: Option<Decimal>,
    /// Every goal met.
    pub on_track: Option<bool>,
    /// The adjustment decided.
    pub adjustment: String,
    /// Who evaluated.
    pub evaluated_by: String,
}

/// The whole table.
#[derive(Clone, Debug, Serialize)]
pub struct PlanEvaluationReport {
    /// The plans' year.
    pub year: i32,
    /// The quarter, 1–4.
    pub quarter: u8,
    /// One row per plan, by customer name.
    pub rows: Vec<PlanEvaluationRow>,
    /// Sums of the goals' and actuals' sales and profit.
    pub totals: PlanEvaluationTotals,
}

/// The total row.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct PlanEvaluationTotals {
    /// Sales goals.
    pub sales_goal: Decimal,
    /// Sales actual.
    pub sales_actual: Decimal,
    /// Profit goals.
    pub profit_goal: Decimal,
    /// Profit actual.
    pub profit_actual: Decimal,
    /// Plans evaluated.
    pub evaluated: usize,
}

/// The evaluation table of `quarter` (1–4) for the plans of `year`.
pub fn plan_evaluation_report(
    db: &dyn AccountWorkStore,
    year: i32,
    quarter: u8,
) -> Result<PlanEvaluationReport, ServerError> {
    if !(1..=4).contains(&quarter) {
        return Err(ServerError::Invalid { field: "quarter", reason: "1 to 4".into() });
    }
    let mut rows = Vec::new();
    let mut totals = PlanEvaluationTotals::default();
    for plan in db.plans(Some(year))? {
        let row = row(&plan, quarter)?;
        let overflow =
            || ServerError::Invalid { field: "sales", reason: "total out of range".into() };
        totals.sales_goal = totals.sales_goal.checked_add(row.goals.sales).ok_or_else(overflow)?;
        totals.profit_goal =
            totals.profit_goal.checked_add(row.goals.profit_contribution).ok_or_else(overflow)?;
        if let Some(a) = &row.actuals {
            totals.sales_actual = totals.sales_actual.checked_add(a.sales).ok_or_else(overflow)?;
            totals.profit_actual =
                totals.profit_actual.checked_add(a.profit_contribution).ok_or_else(overflow)?;
            totals.evaluated = totals.evaluated.saturating_add(1);
        }
        rows.push(row);
    }
    Ok(PlanEvaluationReport { year, quarter, rows, totals })
}

fn goals_of(g: Option<&GoalsLine>) -> Result<PlanGoals, ServerError> {
    let Some(g) = g else { return Ok(PlanGoals::default()) };
    Ok(PlanGoals {
        sales: decimal(&g.sales)?,
        profit_contribution: decimal(&g.profit)?,
        satisfaction: u8::try_from(g.satisfaction).unwrap_or(u8::MAX),
    })
}

fn actuals_of(e: &EvaluationLine) -> Result<PlanActuals, ServerError> {
    Ok(PlanActuals {
        sales: decimal(&e.sales_actual)?,
        profit_contribution: decimal(&e.profit_actual)?,
        satisfaction: e.satisfaction_actual.and_then(|s| u8::try_from(s).ok()),
    })
}

fn row(plan: &PlanRows, quarter: u8) -> Result<PlanEvaluationRow, ServerError> {
    let goals = goals_of(plan.quarters.iter().find(|g| g.quarter == quarter))?;
    let evaluation = plan.evaluations.iter().find(|e| e.quarter == quarter);
    let actuals = evaluation.map(actuals_of).transpose()?;
    let attainment = actuals.as_ref().map(|a| rules::evaluate_quarter(&goals, a));
    let p = &plan.plan;
    Ok(PlanEvaluationRow {
        plan_id: p.plan_id.clone(),
        customer_id: p.customer_id.clone(),
        name: p.customer_name.clone(),
        tier: p.tier.parse().ok(),
        goals,
        actuals,
        sales_pct: attainment.and_then(|a| a.sales_pct),
        profit_pct: attainment.and_then(|a| a.profit_pct),
        on_track: attainment.map(|a| a.on_track),
        adjustment: evaluation.map(|e| e.adjustment.clone()).unwrap_or_default(),
        evaluated_by: evaluation.map(|e| e.by_user.clone()).unwrap_or_default(),
    })
}

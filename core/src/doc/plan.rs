//! The `plan/<customer>-<year>` record document (ADR 0023): a customer's yearly account plan.
//!
//! Root keys: `customer_id`, `year` (fixed); `year_goals`, `quarter_goals`, `owners`,
//! `sales_strategy`, `service_plan`, `revision` (content); `approval`; `evaluations`.

use std::collections::BTreeMap;

use super::document::{DocId, DocKind};
use super::error::DocError;
use super::record::{Record, RecordEdit, bounded, bounded_score, edit_refused, record_doc_id};
use crate::bounds::{ANNUAL_SALES, PROFIT_CONTRIBUTION};
use crate::model::{
    AccountPlan, PlanApproval, PlanEvaluation, PlanFunction, PlanGoals, PlanId, UserId,
};
use crate::rules::DocPart;

/// The root keys of a plan document and the part of the permission matrix each holds.
pub(super) const PARTS: [(&str, DocPart); 12] = [
    ("kind", DocPart::Fixed),
    ("id", DocPart::Fixed),
    ("customer_id", DocPart::Fixed),
    ("year", DocPart::Fixed),
    ("year_goals", DocPart::PlanContent),
    ("quarter_goals", DocPart::PlanContent),
    ("owners", DocPart::PlanContent),
    ("sales_strategy", DocPart::PlanContent),
    ("service_plan", DocPart::PlanContent),
    ("revision", DocPart::PlanContent),
    ("approval", DocPart::PlanApproval),
    ("evaluations", DocPart::PlanEvaluations),
];

fn check_goals(path: &str, goals: &PlanGoals) -> Result<(), DocError> {
    bounded(&format!("{path}/sales"), &ANNUAL_SALES, goals.sales)?;
    bounded(
        &format!("{path}/profit_contribution"),
        &PROFIT_CONTRIBUTION,
        goals.profit_contribution,
    )?;
    bounded_score(&format!("{path}/satisfaction"), goals.satisfaction)
}

impl Record for AccountPlan {
    const KIND: DocKind = DocKind::Plan;

    fn entity(&self) -> &str {
        self.id.as_str()
    }

    fn check_bounds(&self) -> Result<(), DocError> {
        check_goals("/year_goals", &self.year_goals)?;
        for (q, goals) in &self.quarter_goals {
            if !(1..=4).contains(q) {
                return Err(DocError::InvalidField {
                    path: format!("/quarter_goals/{q}"),
                    expected: "quarter 1–4",
                });
            }
            check_goals(&format!("/quarter_goals/{q}"), goals)?;
        }
        for (q, e) in &self.evaluations {
            if !(1..=4).contains(q) || e.quarter != *q {
                return Err(DocError::InvalidField {
                    path: format!("/evaluations/{q}"),
                    expected: "quarter 1–4",
                });
            }
            let path = format!("/evaluations/{q}/actuals");
            bounded(&format!("{path}/sales"), &ANNUAL_SALES, e.actuals.sales)?;
            bounded(
                &format!("{path}/profit_contribution"),
                &PROFIT_CONTRIBUTION,
                e.actuals.profit_contribution,
            )?;
            if let Some(s) = e.actuals.satisfaction {
                bounded_score(&format!("{path}/satisfaction"), s)?;
            }
        }
        Ok(())
    }
}

/// The document id of a plan.
pub fn plan_doc_id(id: &PlanId) -> DocId {
    record_doc_id::<AccountPlan>(id.as_str())
}

/// One user action on a plan; each becomes exactly one commit.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "edit", rename_all = "snake_case")]
pub enum PlanEdit {
    /// Write the plan's content; raises the revision (an approval covers one revision).
    SetContent {
        /// Goals for the year.
        year_goals: PlanGoals,
        /// Goals per quarter 1–4.
        quarter_goals: BTreeMap<u8, PlanGoals>,
        /// The named owner per function.
        owners: BTreeMap<PlanFunction, UserId>,
        /// Sales strategy.
        sales_strategy: String,
        /// Service plan.
        service_plan: String,
    },
    /// HQ approves the current revision; the caller has checked `rules::check_approval`.
    Approve(PlanApproval),
    /// Record (or revise) a quarter's evaluation and the adjustment decided.
    Evaluate(PlanEvaluation),
}

impl RecordEdit for PlanEdit {
    type Target = AccountPlan;

    fn action(&self) -> &'static str {
        match self {
            PlanEdit::SetContent { .. } => "plan.set_content",
            PlanEdit::Approve(_) => "plan.approve",
            PlanEdit::Evaluate(_) => "plan.evaluate",
        }
    }

    fn apply(&self, plan: &mut AccountPlan) -> Result<(), DocError> {
        match self {
            PlanEdit::SetContent {
                year_goals,
                quarter_goals,
                owners,
                sales_strategy,
                service_plan,
            } => {
                plan.year_goals = year_goals.clone();
                plan.quarter_goals = quarter_goals.clone();
                plan.owners = owners.clone();
                plan.sales_strategy.clone_from(sales_strategy);
                plan.service_plan.clone_from(service_plan);
                plan.revision = plan
                    .revision
                    .checked_add(1)
                    .ok_or_else(|| edit_refused(&plan_doc_id(&plan.id), "revision overflow"))?;
            }
            PlanEdit::Approve(approval) => {
                if approval.revision != plan.revision {
                    return Err(edit_refused(
                        &plan_doc_id(&plan.id),
                        format!(
                            "approval of revision {} but the plan is at {}",
                            approval.revision, plan.revision
                        ),
                    ));
                }
                plan.approval = Some(approval.clone());
            }
            PlanEdit::Evaluate(evaluation) => {
                plan.evaluations.insert(evaluation.quarter, evaluation.clone());
            }
        }
        Ok(())
    }
}

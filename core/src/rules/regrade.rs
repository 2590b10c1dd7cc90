//! The yearly re-grade: proposed tiers and grades for the general manager to approve.
//!
//! A proposal is data. Nothing here (or anywhere in the rules) changes a customer's
//! classification: the approved tier and grade are written only when the general manager
//! approves the proposal (客户分类…每年汇总申报公司总经理批准), through the document layer.

use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::model::{CustomerId, Grade, Tier};
use crate::policy::Policy;

use super::{TierReason, distribute_grades, tier_for};

/// One customer's figures for the yearly re-grade.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegradeInput {
    /// The customer.
    pub customer_id: CustomerId,
    /// Designated strategic by management.
    pub strategic: bool,
    /// A leading brand in its industry.
    pub leading_brand: bool,
    /// Annual sales of the year before the proposal's year (CNY).
    pub last_year_sales: Decimal,
    /// The approved tier now.
    pub current_tier: Tier,
    /// The approved grade now, if graded.
    pub current_grade: Option<Grade>,
    /// This year's 100-point score.
    pub score: u32,
}

/// A proposed change of tier and/or grade, pending approval.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegradeProposal {
    /// The customer.
    pub customer_id: CustomerId,
    /// The year the new classification would apply to.
    pub year: i32,
    /// The approved tier now.
    pub current_tier: Tier,
    /// The tier last year's sales call for.
    pub proposed_tier: Tier,
    /// The approved grade now.
    pub current_grade: Option<Grade>,
    /// The grade the forced distribution gives.
    pub proposed_grade: Grade,
    /// The score behind the grade.
    pub score: u32,
    /// Why, one entry per change, for the approver (the dashboard words them in the reader's
    /// language).
    pub reasons: Vec<RegradeReason>,
}

/// Why a re-grade proposal changes the tier or the grade.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RegradeReason {
    /// The tier last year's sales call for is not the approved one.
    Tier {
        /// The approved tier now.
        from: Tier,
        /// The tier proposed.
        to: Tier,
        /// Why the sales call for it.
        why: TierReason,
    },
    /// The forced distribution of scores gives another grade.
    Grade {
        /// The approved grade now, if any.
        from: Option<Grade>,
        /// The grade proposed.
        to: Grade,
        /// This year's score.
        score: u32,
        /// The customer's place in the ranking, from 1.
        rank: usize,
        /// How many customers were ranked.
        of: usize,
    },
}

impl fmt::Display for RegradeReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegradeReason::Tier { from, to, why } => {
                write!(f, "tier {from} ({}) → {to} ({}): {why}", from.label_zh(), to.label_zh())
            }
            RegradeReason::Grade { from, to, score, rank, of } => {
                let from = from.map_or_else(|| "none".to_owned(), |g| g.to_string());
                write!(
                    f,
                    "grade {from} → {to}: score {score} ranks {rank} of {of} in the forced distribution"
                )
            }
        }
    }
}

/// Proposes the year's re-grade for a whole population.
///
/// The tier comes from [`tier_for`] on last year's sales; the grade from
/// [`distribute_grades`] over *all* inputs (so the population given must be the whole graded
/// population). Only customers whose tier or grade would change get a proposal. Proposals
/// come in ranking order (score descending, then customer id). An id given twice is graded
/// twice; callers pass each customer once.
pub fn propose_regrades(
    inputs: &[RegradeInput],
    year: i32,
    policy: &Policy,
) -> Vec<RegradeProposal> {
    // The index keeps keys unique even if an id repeats, so every input maps back exactly.
    let keyed: Vec<((CustomerId, usize), u32)> =
        inputs.iter().enumerate().map(|(i, r)| ((r.customer_id.clone(), i), r.score)).collect();
    let graded = distribute_grades(&keyed, policy);
    let n = graded.len();
    graded
        .into_iter()
        .enumerate()
        .filter_map(|(rank, ((_, index), grade))| {
            let input = inputs.get(index)?;
            proposal_for(input, grade, rank + 1, n, year, policy)
        })
        .collect()
}

/// The proposal for one customer, or `None` when nothing would change.
fn proposal_for(
    input: &RegradeInput,
    grade: Grade,
    rank: usize,
    n: usize,
    year: i32,
    policy: &Policy,
) -> Option<RegradeProposal> {
    let decision = tier_for(input.last_year_sales, input.leading_brand, input.strategic, policy);
    let tier_changes = decision.tier != input.current_tier;
    let grade_changes = input.current_grade != Some(grade);
    if !tier_changes && !grade_changes {
        return None;
    }
    let mut reasons = Vec::new();
    if tier_changes {
        reasons.push(RegradeReason::Tier {
            from: input.current_tier,
            to: decision.tier,
            why: decision.reason,
        });
    }
    if grade_changes {
        let (from, score) = (input.current_grade, input.score);
        reasons.push(RegradeReason::Grade { from, to: grade, score, rank, of: n });
    }
    Some(RegradeProposal {
        customer_id: input.customer_id.clone(),
        year,
        current_tier: input.current_tier,
        proposed_tier: decision.tier,
        current_grade: input.current_grade,
        proposed_grade: grade,
        score: input.score,
        reasons,
    })
}

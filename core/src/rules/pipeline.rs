//! Development leads (客户开发, 003 二/三.1, 002 客户开发; RULES.md §8): whether a lead is a
//! key-account candidate, which stage changes are allowed, and the pipeline's totals.

use std::collections::BTreeMap;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::bounds::{Overflow, add};
use crate::model::{Lead, LeadCriteria, LeadStage};
use crate::policy::Policy;

/// `part / whole` in percent, rounded half up to one decimal; `None` when `whole` is zero
/// (nothing to measure) or the quotient cannot be computed.
pub(super) fn percent_1dp(part: Decimal, whole: Decimal) -> Option<Decimal> {
    if whole.is_zero() {
        return None;
    }
    let pct = part.checked_mul(Decimal::ONE_HUNDRED)?.checked_div(whole)?;
    Some(pct.round_dp_with_strategy(1, RoundingStrategy::MidpointAwayFromZero))
}

/// Which of the 003 二 criteria a lead meets; any one makes it a key-account candidate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CandidateVerdict {
    /// Expected yearly purchase above `pipeline.candidate_min_annual_purchase`.
    pub by_purchase: bool,
    /// Profit share above `pipeline.candidate_min_profit_share_pct`.
    pub by_profit_share: bool,
    /// A development potential is recorded with its reason.
    pub by_potential: bool,
}

impl CandidateVerdict {
    /// Whether any criterion holds.
    pub fn is_candidate(&self) -> bool {
        self.by_purchase || self.by_profit_share || self.by_potential
    }
}

/// Which key-account criteria (003 二) a lead meets.
///
/// The seed says 购买金额**超过**一定限额(如100万元) and 贡献利润**超过**一定比例(如10%):
/// 超过 is "exceeds", so the threshold itself does **not** qualify — exactly 1,000,000 CNY or
/// exactly 10 % is not enough on its own. (Contrast 000 §4.2.1.1's 5000万**以上**, which by
/// Chinese legal usage includes the amount; see `account_plan`.) A potential counts when
/// its reason is not blank.
pub fn key_account_candidate(criteria: &LeadCriteria, policy: &Policy) -> CandidateVerdict {
    let p = &policy.pipeline;
    CandidateVerdict {
        by_purchase: criteria
            .expected_annual_purchase
            .is_some_and(|amount| amount > p.candidate_min_annual_purchase),
        by_profit_share: criteria
            .profit_share_pct
            .is_some_and(|share| share > p.candidate_min_profit_share_pct),
        by_potential: !criteria.potential.trim().is_empty(),
    }
}

/// Why a lead cannot move to the stage asked for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StageRefusal {
    /// The lead is already won or lost; nothing follows.
    #[error("线索已{}，不能再变更阶段 (the lead is {stage}; its stage cannot change)", stage.label_zh())]
    Closed {
        /// The closed stage.
        stage: LeadStage,
    },
    /// The lead is already at that stage.
    #[error("线索已处于{}阶段 (the lead is already at {stage})", stage.label_zh())]
    SameStage {
        /// The current (and requested) stage.
        stage: LeadStage,
    },
    /// Only a negotiation ends in a signed agreement.
    #[error(
        "只有商务谈判阶段可以签约，当前为{} (a lead is won only from negotiation, not from {from})",
        from.label_zh()
    )]
    WonOnlyFromNegotiation {
        /// The current stage.
        from: LeadStage,
    },
    /// A lost lead needs its reason.
    #[error("开发失败须填写原因 (a lost lead needs a reason)")]
    LostReasonMissing,
    /// Going back to an earlier stage needs a note saying why.
    #[error(
        "退回{}阶段须说明原因 (going back from {from} to {to} needs a note)",
        to.label_zh()
    )]
    BackwardNoteMissing {
        /// The current stage.
        from: LeadStage,
        /// The earlier stage asked for.
        to: LeadStage,
    },
}

impl StageRefusal {
    /// Stable machine code, the same as the serde `kind`.
    pub fn code(&self) -> &'static str {
        match self {
            StageRefusal::Closed { .. } => "closed",
            StageRefusal::SameStage { .. } => "same_stage",
            StageRefusal::WonOnlyFromNegotiation { .. } => "won_only_from_negotiation",
            StageRefusal::LostReasonMissing => "lost_reason_missing",
            StageRefusal::BackwardNoteMissing { .. } => "backward_note_missing",
        }
    }
}

/// Whether `lead` may move to `to`, with `learned` (what was learned at the stage left) and
/// `lost_reason`.
///
/// Real sales do not run in a straight line, so a lead may skip ahead to any later open
/// stage, and may go back to an earlier open stage when `learned` says why. Won only follows
/// a negotiation (002: 商务谈判 … 签订合作协议); lost may follow any open stage but needs a
/// non-blank reason. Nothing follows won or lost, and a change to the current stage is no
/// change.
pub fn check_stage_change(
    lead: &Lead,
    to: LeadStage,
    learned: &str,
    lost_reason: Option<&str>,
) -> Result<(), StageRefusal> {
    let from = lead.stage;
    if from.is_closed() {
        return Err(StageRefusal::Closed { stage: from });
    }
    if from == to {
        return Err(StageRefusal::SameStage { stage: from });
    }
    match to {
        LeadStage::Won if from != LeadStage::Negotiation => {
            Err(StageRefusal::WonOnlyFromNegotiation { from })
        }
        LeadStage::Lost if lost_reason.is_none_or(|r| r.trim().is_empty()) => {
            Err(StageRefusal::LostReasonMissing)
        }
        _ if to < from && learned.trim().is_empty() => {
            Err(StageRefusal::BackwardNoteMissing { from, to })
        }
        _ => Ok(()),
    }
}

/// A count of leads and their expected value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageTotal {
    /// Number of leads.
    pub count: u32,
    /// Sum of their expected value, CNY.
    pub expected_value: Decimal,
}

impl StageTotal {
    fn add(&mut self, value: Decimal) -> Result<(), Overflow> {
        self.count = self.count.saturating_add(1);
        self.expected_value = add("pipeline value", self.expected_value, value)?;
        Ok(())
    }
}

/// The pipeline at a glance.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipelineSummary {
    /// Every open stage (including empty ones), in stage order.
    pub open: BTreeMap<LeadStage, StageTotal>,
    /// Leads won.
    pub won: StageTotal,
    /// Leads lost.
    pub lost: StageTotal,
    /// won / (won + lost) in percent with one decimal; `None` while no lead is closed.
    pub win_rate_pct: Option<Decimal>,
}

/// Counts and expected values per stage, won and lost, and the win rate by count.
pub fn pipeline_summary(leads: &[Lead]) -> Result<PipelineSummary, Overflow> {
    let mut summary = PipelineSummary {
        open: LeadStage::OPEN.iter().map(|s| (*s, StageTotal::default())).collect(),
        ..PipelineSummary::default()
    };
    for lead in leads {
        let total = match lead.stage {
            LeadStage::Won => &mut summary.won,
            LeadStage::Lost => &mut summary.lost,
            open => summary.open.entry(open).or_default(),
        };
        total.add(lead.expected_value)?;
    }
    let closed = u64::from(summary.won.count).saturating_add(u64::from(summary.lost.count));
    summary.win_rate_pct = percent_1dp(summary.won.count.into(), closed.into());
    Ok(summary)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use chrono::Utc;
    use rust_decimal_macros::dec;

    use super::*;
    use crate::model::{CustomerId, LeadId, UserId};

    fn lead(stage: LeadStage, value: Decimal) -> Lead {
        Lead {
            id: LeadId::from("l1"),
            customer_id: CustomerId::from("c1"),
            title: "扩产".to_owned(),
            identified_by: UserId::from("u1"),
            identified_at: Utc::now(),
            owner: UserId::from("u1"),
            criteria: LeadCriteria::default(),
            expected_value: value,
            stage,
            history: BTreeMap::new(),
        }
    }

    fn verdict(
        purchase: Option<Decimal>,
        share: Option<Decimal>,
        potential: &str,
    ) -> CandidateVerdict {
        let criteria = LeadCriteria {
            expected_annual_purchase: purchase,
            profit_share_pct: share,
            potential: potential.to_owned(),
        };
        key_account_candidate(&criteria, &Policy::default())
    }

    #[test]
    fn the_thresholds_themselves_do_not_qualify() {
        assert!(!verdict(Some(dec!(1000000)), None, "").is_candidate(), "exactly 1,000,000");
        assert!(verdict(Some(dec!(1000000.01)), None, "").by_purchase);
        assert!(!verdict(None, Some(dec!(10)), "").is_candidate(), "exactly 10 %");
        assert!(verdict(None, Some(dec!(10.01)), "").by_profit_share);
        assert!(!verdict(None, None, "  ").is_candidate(), "a blank potential is none");
        let v = verdict(Some(dec!(2000000)), Some(dec!(5)), "计划扩产");
        assert_eq!(
            v,
            CandidateVerdict { by_purchase: true, by_profit_share: false, by_potential: true }
        );
    }

    #[test]
    fn stage_changes() {
        use LeadStage::*;
        let at = |s| lead(s, dec!(0));
        assert_eq!(check_stage_change(&at(MarketResearch), Negotiation, "", None), Ok(()));
        assert_eq!(check_stage_change(&at(FirstContact), NeedsAnalysis, "", None), Ok(()));
        assert_eq!(
            check_stage_change(&at(Solution), FirstContact, " ", None),
            Err(StageRefusal::BackwardNoteMissing { from: Solution, to: FirstContact })
        );
        assert_eq!(check_stage_change(&at(Solution), FirstContact, "换了决策人", None), Ok(()));
        assert_eq!(
            check_stage_change(&at(Solution), Won, "", None),
            Err(StageRefusal::WonOnlyFromNegotiation { from: Solution })
        );
        assert_eq!(check_stage_change(&at(Negotiation), Won, "", None), Ok(()));
        for reason in [None, Some(""), Some("  ")] {
            assert_eq!(
                check_stage_change(&at(FirstContact), Lost, "", reason),
                Err(StageRefusal::LostReasonMissing)
            );
        }
        assert_eq!(check_stage_change(&at(FirstContact), Lost, "", Some("价格")), Ok(()));
        let err = check_stage_change(&at(Won), Lost, "", Some("x")).unwrap_err();
        assert_eq!(err, StageRefusal::Closed { stage: Won });
        assert!(err.to_string().contains("签约成功"), "{err}");
        assert_eq!(err.code(), "closed");
        assert!(check_stage_change(&at(Lost), MarketResearch, "x", None).is_err());
        assert_eq!(
            check_stage_change(&at(Solution), Solution, "x", None),
            Err(StageRefusal::SameStage { stage: Solution })
        );
    }

    #[test]
    fn summary_counts_values_and_win_rate() {
        use LeadStage::*;
        let empty = pipeline_summary(&[]).unwrap();
        assert_eq!(empty.open.len(), 5);
        assert_eq!(empty.win_rate_pct, None);
        let leads = [
            lead(Solution, dec!(100)),
            lead(Solution, dec!(50.5)),
            lead(Won, dec!(300)),
            lead(Lost, dec!(10)),
            lead(Lost, dec!(20)),
        ];
        let s = pipeline_summary(&leads).unwrap();
        assert_eq!(s.open[&Solution], StageTotal { count: 2, expected_value: dec!(150.5) });
        assert_eq!(s.open[&FirstContact].count, 0);
        assert_eq!(s.won, StageTotal { count: 1, expected_value: dec!(300) });
        assert_eq!(s.lost, StageTotal { count: 2, expected_value: dec!(30) });
        assert_eq!(s.win_rate_pct, Some(dec!(33.3)));
        let huge = [lead(Won, Decimal::MAX), lead(Won, Decimal::MAX)];
        assert!(pipeline_summary(&huge).is_err());
    }

    #[test]
    fn percent_rounds_half_up_and_guards_zero() {
        assert_eq!(percent_1dp(dec!(2), dec!(3)), Some(dec!(66.7)));
        assert_eq!(percent_1dp(dec!(1), dec!(8)), Some(dec!(12.5)));
        assert_eq!(percent_1dp(dec!(1), dec!(1600)), Some(dec!(0.1))); // 0.0625 → 0.1
        assert_eq!(percent_1dp(dec!(1), dec!(0)), None);
    }
}

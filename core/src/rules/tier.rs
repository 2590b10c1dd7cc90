//! Customer tiers (客户分级): the default annual-sales scheme and the purchase-amount scheme.
//!
//! A computed tier is a proposal until the general manager approves it (RULES.md §1); these
//! functions only compute.

use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::model::{Classification, Tier};
use crate::policy::Policy;

/// The tier a customer's figures call for, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierDecision {
    /// The computed tier.
    pub tier: Tier,
    /// Why this tier.
    pub reason: TierReason,
}

/// Why [`tier_for`] chose a tier. Amounts are CNY.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TierReason {
    /// Management designated the customer strategic; sales do not matter.
    DesignatedStrategic,
    /// Sales at or above the key threshold and a leading brand.
    KeyThresholdAndLeadingBrand {
        /// Annual sales considered.
        annual_sales: Decimal,
        /// The key threshold.
        key_min: Decimal,
    },
    /// Sales reach the key threshold but the customer is not a leading brand, so it is main.
    KeySalesWithoutLeadingBrand {
        /// Annual sales considered.
        annual_sales: Decimal,
        /// The key threshold.
        key_min: Decimal,
    },
    /// Sales at or above the main threshold (and below key).
    MainThreshold {
        /// Annual sales considered.
        annual_sales: Decimal,
        /// The main threshold.
        main_min: Decimal,
    },
    /// Sales below the main threshold.
    BelowMainThreshold {
        /// Annual sales considered.
        annual_sales: Decimal,
        /// The main threshold.
        main_min: Decimal,
    },
}

impl fmt::Display for TierReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TierReason::DesignatedStrategic => {
                write!(f, "designated strategic by management (战略客户)")
            }
            TierReason::KeyThresholdAndLeadingBrand { annual_sales, key_min } => write!(
                f,
                "annual sales {annual_sales} CNY ≥ {key_min} and a leading brand (重点客户)"
            ),
            TierReason::KeySalesWithoutLeadingBrand { annual_sales, key_min } => write!(
                f,
                "annual sales {annual_sales} CNY ≥ {key_min} but not a leading brand, so main (主要客户)"
            ),
            TierReason::MainThreshold { annual_sales, main_min } => {
                write!(f, "annual sales {annual_sales} CNY ≥ {main_min} (主要客户)")
            }
            TierReason::BelowMainThreshold { annual_sales, main_min } => {
                write!(f, "annual sales {annual_sales} CNY below {main_min} (一般客户)")
            }
        }
    }
}

/// The tier for a customer's annual sales (seed 000 §4.1). A strategic designation wins;
/// key needs sales ≥ the key threshold *and* a leading brand; main needs sales ≥ the main
/// threshold. Thresholds are inclusive.
pub fn tier_for(
    annual_sales: Decimal,
    leading_brand: bool,
    strategic: bool,
    policy: &Policy,
) -> TierDecision {
    let key_min = policy.tiers.key_min_annual_sales;
    let main_min = policy.tiers.main_min_annual_sales;
    let (tier, reason) = if strategic {
        (Tier::Strategic, TierReason::DesignatedStrategic)
    } else if annual_sales >= key_min && leading_brand {
        (Tier::Key, TierReason::KeyThresholdAndLeadingBrand { annual_sales, key_min })
    } else if annual_sales >= key_min {
        (Tier::Main, TierReason::KeySalesWithoutLeadingBrand { annual_sales, key_min })
    } else if annual_sales >= main_min {
        (Tier::Main, TierReason::MainThreshold { annual_sales, main_min })
    } else {
        (Tier::General, TierReason::BelowMainThreshold { annual_sales, main_min })
    };
    TierDecision { tier, reason }
}

/// Whether a customer counts as strategic: designated so, or holding the strategic tier. The
/// cadence and service rules for strategic customers use this.
pub fn is_strategic(classification: &Classification) -> bool {
    classification.strategic || classification.tier == Tier::Strategic
}

/// A class of the purchase-amount scheme (seed 001 第5条).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PurchaseClass {
    /// 战略性大客户: at or above the strategic amount.
    Strategic,
    /// 伙伴式大客户: from the partner amount up to (not including) the strategic amount.
    Partner,
    /// 普通大客户: from the ordinary amount up to (not including) the partner amount.
    Ordinary,
}

impl PurchaseClass {
    /// The Chinese name used on screens and exports.
    pub fn label_zh(self) -> &'static str {
        match self {
            PurchaseClass::Strategic => "战略性大客户",
            PurchaseClass::Partner => "伙伴式大客户",
            PurchaseClass::Ordinary => "普通大客户",
        }
    }
}

impl fmt::Display for PurchaseClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label_zh())
    }
}

/// The purchase-amount class, or `None` below the ordinary amount. Lower bounds are
/// inclusive ("500万元以上" read as ≥ 5,000,000.00), upper bounds exclusive.
pub fn purchase_class_for(annual_purchase: Decimal, policy: &Policy) -> Option<PurchaseClass> {
    let p = &policy.purchase_classes;
    if annual_purchase >= p.strategic_min {
        Some(PurchaseClass::Strategic)
    } else if annual_purchase >= p.partner_min {
        Some(PurchaseClass::Partner)
    } else if annual_purchase >= p.ordinary_min {
        Some(PurchaseClass::Ordinary)
    } else {
        None
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    #[test]
    fn strategic_designation_wins_over_any_figure() {
        let d = tier_for(dec!(0), false, true, &Policy::default());
        assert_eq!(d.tier, Tier::Strategic);
        assert_eq!(d.reason, TierReason::DesignatedStrategic);
    }

    #[test]
    fn key_without_leading_brand_is_main_and_says_why() {
        let d = tier_for(dec!(30000000.00), false, false, &Policy::default());
        assert_eq!(d.tier, Tier::Main);
        assert!(d.reason.to_string().contains("not a leading brand"));
    }

    #[test]
    fn thresholds_come_from_the_policy() {
        let mut p = Policy::default();
        p.tiers.main_min_annual_sales = dec!(1000.00);
        assert_eq!(tier_for(dec!(1000.00), false, false, &p).tier, Tier::Main);
        assert_eq!(tier_for(dec!(999.99), false, false, &p).tier, Tier::General);
    }

    #[test]
    fn purchase_class_labels() {
        assert_eq!(PurchaseClass::Partner.to_string(), "伙伴式大客户");
    }
}

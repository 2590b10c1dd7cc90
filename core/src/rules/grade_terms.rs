//! What each grade gets (分级政策, seed 001): price floor, payment terms, delivery, credit.

use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::model::{Grade, PaymentTerms};
use crate::policy::{Policy, RushPolicy};

/// A readable name for payment terms, for messages.
pub(crate) fn terms_label(terms: PaymentTerms) -> String {
    match terms {
        PaymentTerms::NetDays { days } => format!("net {days} days (远期{days}天)"),
        PaymentTerms::CashOnDelivery => "cash on delivery (货到付款)".to_owned(),
        PaymentTerms::PaymentBeforeDelivery => "payment before delivery (款到发货)".to_owned(),
    }
}

/// "5% off the internal price", "5% above the internal price" or "the internal price".
fn discount_label(pct: Decimal) -> String {
    let pct = pct.normalize();
    if pct > Decimal::ZERO {
        format!("{pct}% off the internal price")
    } else if pct < Decimal::ZERO {
        format!("{}% above the internal price", pct.abs())
    } else {
        "the internal price".to_owned()
    }
}

/// Whether an offered price is within the grade's discount cap.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum PriceVerdict {
    /// The price may be offered.
    Approved {
        /// Discount off the internal price in percent, 4 places (negative: a surcharge).
        discount_pct: Decimal,
    },
    /// The price may not be offered.
    Refused {
        /// Why.
        reason: PriceRefusal,
    },
}

/// Why a price was refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PriceRefusal {
    /// The price is below the grade's floor.
    OverDiscountCap {
        /// The customer's grade.
        grade: Grade,
        /// The grade's cap in percent off (negative: required surcharge).
        cap_pct: Decimal,
        /// The discount asked, in percent off, 4 places.
        asked_pct: Decimal,
        /// The lowest price the grade may be offered.
        min_price: Decimal,
    },
    /// The internal price must be positive for a discount to mean anything.
    NonPositiveInternalPrice {
        /// The internal price given.
        internal_price: Decimal,
    },
    /// The amounts are too large to compute with exactly.
    AmountOutOfRange,
}

impl fmt::Display for PriceRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PriceRefusal::OverDiscountCap { grade, cap_pct, asked_pct, min_price } => write!(
                f,
                "grade {grade} may not be offered less than {} ({}); asked {} (超出价格权限)",
                min_price.normalize(),
                discount_label(*cap_pct),
                discount_label(*asked_pct),
            ),
            PriceRefusal::NonPositiveInternalPrice { internal_price } => {
                write!(f, "internal price {internal_price} must be above zero")
            }
            PriceRefusal::AmountOutOfRange => f.write_str("price amounts are out of range"),
        }
    }
}

/// The grade's lowest price and the discount asked (percent off, 4 places); `None` when the
/// amounts are too large for exact arithmetic — a refusal, never a panic.
fn floor_and_discount(
    internal: Decimal,
    offered: Decimal,
    cap_pct: Decimal,
) -> Option<(Decimal, Decimal)> {
    let hundred = Decimal::ONE_HUNDRED;
    let min_price = internal.checked_mul(hundred.checked_sub(cap_pct)?)?.checked_div(hundred)?;
    let asked = internal.checked_sub(offered)?.checked_mul(hundred)?.checked_div(internal)?;
    Some((min_price, asked.round_dp(4)))
}

/// Checks an offered price against the grade's cap: A ≤ 5% off, B ≤ 3% off, C at least the
/// internal price, D at least 5% above it (defaults). The boundary itself is allowed. The
/// comparison is on prices, exactly, so no percentage rounding can let a price slip through.
pub fn check_price(
    grade: Grade,
    internal_price: Decimal,
    offered_price: Decimal,
    policy: &Policy,
) -> PriceVerdict {
    if internal_price <= Decimal::ZERO {
        return PriceVerdict::Refused {
            reason: PriceRefusal::NonPositiveInternalPrice { internal_price },
        };
    }
    let cap_pct = policy.grades.max_discount_pct.get(grade);
    let Some((min_price, asked_pct)) = floor_and_discount(internal_price, offered_price, cap_pct)
    else {
        return PriceVerdict::Refused { reason: PriceRefusal::AmountOutOfRange };
    };
    if offered_price >= min_price {
        PriceVerdict::Approved { discount_pct: asked_pct }
    } else {
        PriceVerdict::Refused {
            reason: PriceRefusal::OverDiscountCap { grade, cap_pct, asked_pct, min_price },
        }
    }
}

/// Whether requested payment terms are within the grade's most generous terms.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum TermsVerdict {
    /// The terms may be agreed.
    Approved,
    /// The terms may not be agreed.
    Refused {
        /// Why.
        reason: TermsRefusal,
    },
}

/// Why payment terms were refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TermsRefusal {
    /// The requested terms give more time than the grade allows.
    MoreGenerousThanGrade {
        /// The customer's grade.
        grade: Grade,
        /// The grade's most generous terms.
        max: PaymentTerms,
        /// The terms asked for.
        requested: PaymentTerms,
    },
}

impl fmt::Display for TermsRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TermsRefusal::MoreGenerousThanGrade { grade, max, requested } => write!(
                f,
                "grade {grade} may get at most {}; {} asked",
                terms_label(*max),
                terms_label(*requested)
            ),
        }
    }
}

/// Checks requested terms against the grade's maximum (A net 90, B net 30 or cash on
/// delivery, C cash on delivery, D payment before delivery). Anything less generous than the
/// maximum is also allowed (a B customer may pay on delivery or before).
pub fn check_payment_terms(grade: Grade, requested: PaymentTerms, policy: &Policy) -> TermsVerdict {
    let max = policy.grades.max_payment_terms.get(grade);
    if requested.generosity_days() <= max.generosity_days() {
        TermsVerdict::Approved
    } else {
        TermsVerdict::Refused {
            reason: TermsRefusal::MoreGenerousThanGrade { grade, max, requested },
        }
    }
}

/// A grade's delivery promise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryTerms {
    /// Standard delivery time in days; `None` means reviewed order by order (D).
    pub standard_days: Option<u32>,
    /// Whether rush orders may jump the queue.
    pub rush: RushPolicy,
}

/// The delivery promise for a grade (A 20 days and may jump the queue, B 30 case by case,
/// C 40 no, D reviewed per order, no).
pub fn delivery_terms(grade: Grade, policy: &Policy) -> DeliveryTerms {
    DeliveryTerms {
        standard_days: policy.grades.standard_delivery_days.get(grade),
        rush: policy.grades.rush.get(grade),
    }
}

/// The answer of a credit check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum CreditVerdict {
    /// Within policy.
    Approved,
    /// Allowed only after a credit review (C customers' small limits).
    NeedsReview {
        /// Why.
        reason: CreditReason,
    },
    /// Allowed only with a manager's (部长/总经理) approval.
    NeedsManagerApproval {
        /// Why.
        reason: CreditReason,
    },
    /// Not allowed.
    Refused {
        /// Why.
        reason: CreditReason,
    },
}

/// Why a credit check did not simply approve. Amounts are CNY.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CreditReason {
    /// An A limit above the sales of the contract's payment period.
    AbovePaymentPeriodSales {
        /// Proposed limit.
        limit: Decimal,
        /// Sales of the payment period.
        period_sales: Decimal,
    },
    /// A B limit above the starting limit (it grows with record, by approval).
    AboveStartingLimit {
        /// Proposed limit.
        limit: Decimal,
        /// The policy's starting limit for B.
        starting_limit: Decimal,
    },
    /// A C customer may have a small limit, after review.
    SmallLimitNeedsReview {
        /// Proposed limit.
        limit: Decimal,
        /// The largest small limit.
        max: Decimal,
    },
    /// A C limit above what counts as small.
    AboveSmallLimit {
        /// Proposed limit.
        limit: Decimal,
        /// The largest small limit.
        max: Decimal,
    },
    /// The grade gets no credit at all.
    NoCreditForGrade {
        /// The customer's grade.
        grade: Grade,
    },
    /// Outstanding plus the new order exceed the credit limit.
    OverLimit {
        /// The customer's limit.
        credit_limit: Decimal,
        /// Outstanding plus the order.
        exposure: Decimal,
        /// By how much the limit is exceeded.
        excess: Decimal,
    },
    /// The order's payment terms are not allowed for the grade.
    TermsNotAllowed {
        /// The terms refusal.
        refusal: TermsRefusal,
    },
    /// An amount was negative, or too large to compute with exactly.
    InvalidAmount,
}

impl fmt::Display for CreditReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CreditReason::AbovePaymentPeriodSales { limit, period_sales } => write!(
                f,
                "limit {limit} is above the sales of the contract's payment period ({period_sales})"
            ),
            CreditReason::AboveStartingLimit { limit, starting_limit } => {
                write!(f, "limit {limit} is above the starting limit {starting_limit} for grade B")
            }
            CreditReason::SmallLimitNeedsReview { limit, max } => {
                write!(f, "grade C may have a small limit (≤ {max}) after review; {limit} asked")
            }
            CreditReason::AboveSmallLimit { limit, max } => {
                write!(f, "grade C limits may not exceed {max}; {limit} asked")
            }
            CreditReason::NoCreditForGrade { grade } => {
                write!(f, "grade {grade} gets no credit (现款现货或先款后货)")
            }
            CreditReason::OverLimit { credit_limit, exposure, excess } => write!(
                f,
                "outstanding plus order {exposure} exceeds the credit limit {credit_limit} by \
                 {excess}; needs 部长/总经理 approval"
            ),
            CreditReason::TermsNotAllowed { refusal } => write!(f, "{refusal}"),
            CreditReason::InvalidAmount => {
                f.write_str("amounts must be non-negative and within range")
            }
        }
    }
}

/// Checks a proposed credit limit for a grade (客户信用管理制度 第6条): A up to the sales of
/// the contract's payment period, more with a manager's approval; B up to the policy's
/// starting limit, more with approval; C a small limit after review, never more; D none.
/// A zero limit (no credit) is always approved.
pub fn check_credit_limit(
    grade: Grade,
    proposed_limit: Decimal,
    payment_period_sales: Decimal,
    policy: &Policy,
) -> CreditVerdict {
    let limit = proposed_limit;
    if limit < Decimal::ZERO || payment_period_sales < Decimal::ZERO {
        return CreditVerdict::Refused { reason: CreditReason::InvalidAmount };
    }
    if limit.is_zero() {
        return CreditVerdict::Approved;
    }
    let credit = &policy.credit;
    match grade {
        Grade::A if limit <= payment_period_sales => CreditVerdict::Approved,
        Grade::A => CreditVerdict::NeedsManagerApproval {
            reason: CreditReason::AbovePaymentPeriodSales {
                limit,
                period_sales: payment_period_sales,
            },
        },
        Grade::B if limit <= credit.b_starting_limit => CreditVerdict::Approved,
        Grade::B => CreditVerdict::NeedsManagerApproval {
            reason: CreditReason::AboveStartingLimit {
                limit,
                starting_limit: credit.b_starting_limit,
            },
        },
        Grade::C if limit <= credit.c_small_limit_max => CreditVerdict::NeedsReview {
            reason: CreditReason::SmallLimitNeedsReview { limit, max: credit.c_small_limit_max },
        },
        Grade::C => CreditVerdict::Refused {
            reason: CreditReason::AboveSmallLimit { limit, max: credit.c_small_limit_max },
        },
        Grade::D => CreditVerdict::Refused { reason: CreditReason::NoCreditForGrade { grade } },
    }
}

/// Checks one order against the customer's credit. In order: terms the grade may not have
/// are refused; terms that defer nothing (cash on delivery, payment before delivery) need no
/// credit and are approved; D never gets deferred payment; otherwise outstanding plus the
/// order must stay within the limit, and going over needs a manager's (部长/总经理) approval.
pub fn check_order_credit(
    grade: Grade,
    credit_limit: Decimal,
    outstanding: Decimal,
    order_amount: Decimal,
    terms: PaymentTerms,
    policy: &Policy,
) -> CreditVerdict {
    if [credit_limit, outstanding, order_amount].iter().any(|a| *a < Decimal::ZERO) {
        return CreditVerdict::Refused { reason: CreditReason::InvalidAmount };
    }
    if let TermsVerdict::Refused { reason } = check_payment_terms(grade, terms, policy) {
        return CreditVerdict::Refused {
            reason: CreditReason::TermsNotAllowed { refusal: reason },
        };
    }
    if terms.generosity_days() <= 0 {
        return CreditVerdict::Approved;
    }
    if grade == Grade::D {
        // Only reachable when a policy gives D deferred terms; the credit rule still says no.
        return CreditVerdict::Refused { reason: CreditReason::NoCreditForGrade { grade } };
    }
    let Some(exposure) = outstanding.checked_add(order_amount) else {
        return CreditVerdict::Refused { reason: CreditReason::InvalidAmount };
    };
    if exposure <= credit_limit {
        CreditVerdict::Approved
    } else {
        // Exposure is above a non-negative limit here, so the difference cannot overflow; the
        // fallback only keeps the arithmetic panic-free.
        let Some(excess) = exposure.checked_sub(credit_limit) else {
            return CreditVerdict::Refused { reason: CreditReason::InvalidAmount };
        };
        CreditVerdict::NeedsManagerApproval {
            reason: CreditReason::OverLimit { credit_limit, exposure, excess },
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    #[test]
    fn refusal_messages_read_well() {
        let p = Policy::default();
        let PriceVerdict::Refused { reason } = check_price(Grade::D, dec!(100), dec!(104), &p)
        else {
            panic!("D below surcharge must be refused")
        };
        assert_eq!(
            reason.to_string(),
            "grade D may not be offered less than 105 (5% above the internal price); \
             asked 4% above the internal price (超出价格权限)"
        );
        let PriceVerdict::Refused { reason } = check_price(Grade::C, dec!(100), dec!(99), &p)
        else {
            panic!("C below internal must be refused")
        };
        assert!(reason.to_string().contains("less than 100 (the internal price)"), "{reason}");
    }

    #[test]
    fn non_positive_internal_price_is_refused() {
        let v = check_price(Grade::A, dec!(0), dec!(10), &Policy::default());
        assert!(matches!(
            v,
            PriceVerdict::Refused { reason: PriceRefusal::NonPositiveInternalPrice { .. } }
        ));
    }

    #[test]
    fn invalid_amounts_are_refused_not_panicking() {
        let p = Policy::default();
        let net30 = PaymentTerms::NetDays { days: 30 };
        let v = check_order_credit(Grade::A, dec!(10), dec!(-1), dec!(1), net30, &p);
        assert_eq!(v, CreditVerdict::Refused { reason: CreditReason::InvalidAmount });
        let v = check_credit_limit(Grade::A, dec!(-1), dec!(10), &p);
        assert_eq!(v, CreditVerdict::Refused { reason: CreditReason::InvalidAmount });
        let v = check_order_credit(Grade::A, Decimal::MAX, Decimal::MAX, Decimal::MAX, net30, &p);
        assert_eq!(v, CreditVerdict::Refused { reason: CreditReason::InvalidAmount });
        let v = check_price(Grade::D, Decimal::MAX, Decimal::ONE, &p);
        assert_eq!(v, PriceVerdict::Refused { reason: PriceRefusal::AmountOutOfRange });
    }

    #[test]
    fn d_with_deferred_terms_in_a_lenient_policy_still_gets_no_credit() {
        let mut p = Policy::default();
        p.grades.max_payment_terms.d = PaymentTerms::NetDays { days: 10 };
        let net10 = PaymentTerms::NetDays { days: 10 };
        let v = check_order_credit(Grade::D, dec!(1000), dec!(0), dec!(1), net10, &p);
        assert_eq!(
            v,
            CreditVerdict::Refused { reason: CreditReason::NoCreditForGrade { grade: Grade::D } }
        );
    }
}

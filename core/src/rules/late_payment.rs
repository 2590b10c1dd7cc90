//! Late payments (不按付款条件支付): two or more in one calendar quarter drop the payment
//! terms one step at once (seed 001 客户分级管理制度 4).

use std::collections::BTreeMap;
use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::model::PaymentTerms;
use crate::policy::Policy;

use super::grade_terms::terms_label;

/// A calendar quarter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Quarter {
    /// Calendar year.
    pub year: i32,
    /// Quarter of the year, 1 to 4.
    pub quarter: u8,
}

impl Quarter {
    /// The quarter a date falls in.
    pub fn of(date: NaiveDate) -> Quarter {
        // month0 is 0..=11, so the quotient is 0..=3 and fits a u8.
        let q = u8::try_from(date.month0() / 3).unwrap_or(3) + 1;
        Quarter { year: date.year(), quarter: q }
    }
}

impl fmt::Display for Quarter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-Q{}", self.year, self.quarter)
    }
}

/// What the late-payment rule says about a customer's payment terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum TermsDowngrade {
    /// No quarter reached the threshold.
    NoChange,
    /// A quarter reached the threshold: the terms drop one step at once.
    Downgrade {
        /// Terms before.
        from: PaymentTerms,
        /// Terms after.
        to: PaymentTerms,
        /// The quarter that triggered it (the latest one, if several did).
        quarter: Quarter,
        /// Late payments due in that quarter.
        late_count: usize,
    },
    /// A quarter reached the threshold but the terms are already the strictest.
    AlreadyStrictest {
        /// The current (strictest) terms.
        terms: PaymentTerms,
        /// The quarter that triggered it.
        quarter: Quarter,
        /// Late payments due in that quarter.
        late_count: usize,
    },
}

impl fmt::Display for TermsDowngrade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TermsDowngrade::NoChange => f.write_str("no change to payment terms"),
            TermsDowngrade::Downgrade { from, to, quarter, late_count } => write!(
                f,
                "{late_count} late payments due in {quarter}: terms drop from {} to {}",
                terms_label(*from),
                terms_label(*to)
            ),
            TermsDowngrade::AlreadyStrictest { terms, quarter, late_count } => write!(
                f,
                "{late_count} late payments due in {quarter}; terms already {}",
                terms_label(*terms)
            ),
        }
    }
}

/// The next stricter step below `current` on the policy's ladder (the grades' maximum
/// terms, A to D: net 90 → net 30 → cash on delivery → payment before delivery). Terms not on
/// the ladder (net 60) drop to the first rung that is strictly less generous (net 30).
/// `None` when nothing is stricter.
pub fn next_stricter_terms(current: PaymentTerms, policy: &Policy) -> Option<PaymentTerms> {
    let mut ladder = policy.grades.max_payment_terms.in_order();
    ladder.sort_by_key(|t| std::cmp::Reverse(t.generosity_days()));
    let below = ladder.into_iter().find(|t| t.generosity_days() < current.generosity_days());
    match below {
        Some(t) => Some(t),
        // A policy whose D is not prepay still lets a downgrade reach payment before delivery.
        None if current != PaymentTerms::PaymentBeforeDelivery => {
            Some(PaymentTerms::PaymentBeforeDelivery)
        }
        None => None,
    }
}

/// Applies the late-payment rule to `current` terms.
///
/// Each date is the **due date** of one payment that was paid late (or is still unpaid past
/// it); the quarter is the quarter of the due date, not of the day it was noticed, so a
/// payment due on Mar 31 counts in Q1 even if recorded in April. Two payments due the same
/// day count twice. If the threshold (default 2, inclusive) is reached in any quarter, the
/// terms drop **one** step — several triggering quarters in the list still drop one step, and
/// the latest of them is reported. Callers pass the late payments since the terms were last
/// set, so a downgrade already applied is not applied again.
pub fn terms_after_late_payments(
    current: PaymentTerms,
    late_payment_due_dates: &[NaiveDate],
    policy: &Policy,
) -> TermsDowngrade {
    let mut per_quarter: BTreeMap<Quarter, usize> = BTreeMap::new();
    for date in late_payment_due_dates {
        *per_quarter.entry(Quarter::of(*date)).or_default() += 1;
    }
    let threshold =
        usize::try_from(policy.late_payments.per_quarter_threshold).unwrap_or(usize::MAX);
    let trigger = per_quarter.into_iter().rev().find(|(_, count)| *count >= threshold);
    let Some((quarter, late_count)) = trigger else {
        return TermsDowngrade::NoChange;
    };
    match next_stricter_terms(current, policy) {
        Some(to) => TermsDowngrade::Downgrade { from: current, to, quarter, late_count },
        None => TermsDowngrade::AlreadyStrictest { terms: current, quarter, late_count },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn quarters() {
        assert_eq!(Quarter::of(d(2026, 1, 1)), Quarter { year: 2026, quarter: 1 });
        assert_eq!(Quarter::of(d(2026, 3, 31)), Quarter { year: 2026, quarter: 1 });
        assert_eq!(Quarter::of(d(2026, 4, 1)), Quarter { year: 2026, quarter: 2 });
        assert_eq!(Quarter::of(d(2026, 12, 31)).to_string(), "2026-Q4");
    }

    #[test]
    fn terms_off_the_ladder_drop_to_the_next_rung() {
        let p = Policy::default();
        let net = |days| PaymentTerms::NetDays { days };
        assert_eq!(next_stricter_terms(net(60), &p), Some(net(30)));
        assert_eq!(next_stricter_terms(net(120), &p), Some(net(90)));
        assert_eq!(next_stricter_terms(net(10), &p), Some(PaymentTerms::CashOnDelivery));
        assert_eq!(next_stricter_terms(PaymentTerms::PaymentBeforeDelivery, &p), None);
    }

    #[test]
    fn latest_triggering_quarter_is_reported() {
        let dates = [d(2025, 2, 1), d(2025, 2, 2), d(2025, 11, 1), d(2025, 12, 1), d(2025, 12, 2)];
        let got =
            terms_after_late_payments(PaymentTerms::CashOnDelivery, &dates, &Policy::default());
        assert_eq!(
            got,
            TermsDowngrade::Downgrade {
                from: PaymentTerms::CashOnDelivery,
                to: PaymentTerms::PaymentBeforeDelivery,
                quarter: Quarter { year: 2025, quarter: 4 },
                late_count: 3,
            }
        );
        assert!(got.to_string().starts_with("3 late payments due in 2025-Q4"), "{got}");
    }

    #[test]
    fn same_quarter_of_different_years_is_not_one_quarter() {
        let dates = [d(2025, 1, 15), d(2026, 1, 15)];
        let got =
            terms_after_late_payments(PaymentTerms::CashOnDelivery, &dates, &Policy::default());
        assert_eq!(got, TermsDowngrade::NoChange);
    }
}

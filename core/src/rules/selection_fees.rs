//! After the selection day (RULES.md §7, seed 001 十 to 十二): renaming a buyer (更名), switching
//! from full payment to a loan (全款转按揭), repricing a late payer, and releasing
//! relationship units (关系房) against their approvals.

use std::fmt;

use chrono::{Datelike, NaiveDate, Weekday};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::bounds::UNIT_TOTAL_PRICE;
use crate::model::{RelationshipApproval, WrittenApproval};
use crate::policy::Policy;

use super::selection::{pct_of, round_fen};

/// What the contract says about renaming to or from a name that is not on the approved list.
/// Renames between listed names are always free; the seed's default is to refuse the others,
/// and a contract that must allow them charges the rename fee.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnlistedRename {
    /// Renames involving an unlisted name are refused.
    Refuse,
    /// Renames involving an unlisted name are allowed against the rename fee.
    ChargeFee,
}

/// A request to rename the buyer of a unit (更名).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenameRequest {
    /// The current buyer is on the approved list. Usually true; false when the unit was
    /// already renamed once to an unlisted name.
    pub from_listed: bool,
    /// The new buyer is on the approved list.
    pub to_listed: bool,
    /// What the contract allows for unlisted names.
    pub unlisted: UnlistedRename,
    /// Market price of the unit, CNY: the price of the company's other projects at the same
    /// stage of construction (同进度市场价格), for the whole unit.
    pub market_price: Decimal,
    /// The unit's contract price, CNY, for the whole unit.
    pub contract_price: Decimal,
}

/// What the rename rule says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum RenameVerdict {
    /// A rename between names on the list: free.
    Allowed,
    /// A rename involving an unlisted name, allowed by the contract against a fee. The fee
    /// may be zero (market price not above the contract price); the verdict still says it is
    /// a paid rename, so the record shows which kind it was.
    AllowedWithFee {
        /// The rename fee, CNY, rounded to the fen.
        fee: Decimal,
    },
    /// Not allowed.
    Refused {
        /// Why.
        reason: RenameRefusal,
    },
}

/// Why a rename was refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RenameRefusal {
    /// The rename is not between names on the list, and the contract does not allow others.
    NotBetweenListedNames,
    /// A price is negative or too large to compute the fee with.
    InvalidPrice,
}

impl RenameRefusal {
    /// Stable machine code, the same as the serde `kind`.
    pub fn code(&self) -> &'static str {
        match self {
            RenameRefusal::NotBetweenListedNames => "not_between_listed_names",
            RenameRefusal::InvalidPrice => "invalid_price",
        }
    }
}

impl fmt::Display for RenameRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RenameRefusal::NotBetweenListedNames => f.write_str(
                "只允许名单内人员之间更名，合同不允许其他更名 \
                 (renames are allowed only between names on the approved list)",
            ),
            RenameRefusal::InvalidPrice => f.write_str(
                "市场价和合同价必须是非负的有效金额 \
                 (market and contract prices must be valid non-negative amounts)",
            ),
        }
    }
}

impl std::error::Error for RenameRefusal {}

/// Judges a rename (更名, seed 001 十一 3). Between two names on the list it is free. Any other
/// rename is refused unless the contract allows it, and then it costs the policy's share
/// (default 50%) of the price difference, market price − contract price, never negative:
/// a unit whose market price is not above its contract price is renamed for a zero fee.
/// Prices are only looked at when a fee is due.
pub fn check_rename(request: &RenameRequest, policy: &Policy) -> RenameVerdict {
    if request.from_listed && request.to_listed {
        return RenameVerdict::Allowed;
    }
    if request.unlisted == UnlistedRename::Refuse {
        return RenameVerdict::Refused { reason: RenameRefusal::NotBetweenListedNames };
    }
    let (market, contract) = (request.market_price, request.contract_price);
    if market < Decimal::ZERO || contract < Decimal::ZERO {
        return RenameVerdict::Refused { reason: RenameRefusal::InvalidPrice };
    }
    if !UNIT_TOTAL_PRICE.contains(market) || !UNIT_TOTAL_PRICE.contains(contract) {
        return RenameVerdict::Refused { reason: RenameRefusal::InvalidPrice };
    }
    // Both prices are in [0, 10^12] here, so neither the difference nor the fee can overflow;
    // the checked forms keep that a refusal should a bound ever move.
    let fee = market
        .checked_sub(contract)
        .map(|d| d.max(Decimal::ZERO))
        .and_then(|d| pct_of(d, policy.selection.rename_fee_pct_of_difference));
    match fee {
        Some(fee) => RenameVerdict::AllowedWithFee { fee: round_fen(fee) },
        None => RenameVerdict::Refused { reason: RenameRefusal::InvalidPrice },
    }
}

/// Why a loan-switch fee cannot be charged as entered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LoanSwitchFeeRefusal {
    /// Below the policy's smallest fee.
    BelowMinimum {
        /// The fee entered.
        fee: Decimal,
        /// The smallest fee, CNY.
        min: Decimal,
    },
    /// Above the policy's largest fee.
    AboveMaximum {
        /// The fee entered.
        fee: Decimal,
        /// The largest fee, CNY.
        max: Decimal,
    },
    /// The fee has a fraction of a fen.
    FractionOfFen {
        /// The fee entered.
        fee: Decimal,
    },
}

impl LoanSwitchFeeRefusal {
    /// Stable machine code, the same as the serde `kind`.
    pub fn code(&self) -> &'static str {
        match self {
            LoanSwitchFeeRefusal::BelowMinimum { .. } => "below_minimum",
            LoanSwitchFeeRefusal::AboveMaximum { .. } => "above_maximum",
            LoanSwitchFeeRefusal::FractionOfFen { .. } => "fraction_of_fen",
        }
    }
}

impl fmt::Display for LoanSwitchFeeRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoanSwitchFeeRefusal::BelowMinimum { fee, min } => write!(
                f,
                "全款转按揭手续费 {fee} 元低于最低 {min} 元 \
                 (loan-switch fee {fee} CNY is below the minimum of {min} CNY)"
            ),
            LoanSwitchFeeRefusal::AboveMaximum { fee, max } => write!(
                f,
                "全款转按揭手续费 {fee} 元高于最高 {max} 元 \
                 (loan-switch fee {fee} CNY is above the maximum of {max} CNY)"
            ),
            LoanSwitchFeeRefusal::FractionOfFen { fee } => {
                write!(f, "手续费 {fee} 元须精确到分 (fee {fee} CNY must be in whole fen)")
            }
        }
    }
}

impl std::error::Error for LoanSwitchFeeRefusal {}

/// Checks the fee staff enter for switching from full payment to a loan (一次性付款转为贷款,
/// seed 001 十 (二) 4). The policy gives a range, not a formula (1,000–3,000 CNY by default,
/// both ends allowed) because the fee pays for the extra work the switch causes, which the
/// staff judge case by case; the rule only keeps the amount inside the range and in fen.
pub fn check_loan_switch_fee(fee: Decimal, policy: &Policy) -> Result<(), LoanSwitchFeeRefusal> {
    let (min, max) = (policy.selection.loan_switch_fee_min, policy.selection.loan_switch_fee_max);
    if fee.round_dp(2) != fee {
        return Err(LoanSwitchFeeRefusal::FractionOfFen { fee });
    }
    if fee < min {
        return Err(LoanSwitchFeeRefusal::BelowMinimum { fee, min });
    }
    if fee > max {
        return Err(LoanSwitchFeeRefusal::AboveMaximum { fee, max });
    }
    Ok(())
}

/// Whether a late payer moves to the new price policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum LateRepricing {
    /// Paid in full by the deadline, or the deadline has not passed yet: the price stands.
    KeepPrice,
    /// Not paid in full by the deadline: the sale moves to the new price policy.
    Reprice {
        /// Days past the deadline: until payment in full, or until today while still unpaid.
        /// The seed reprices "by the length of the delay", so the caller needs it.
        days_late: u32,
    },
}

impl LateRepricing {
    /// Whether the sale must be repriced.
    pub fn must_reprice(self) -> bool {
        matches!(self, LateRepricing::Reprice { .. })
    }
}

/// The late-payment repricing flag (seed 001 九 4 and 十二 (二)): a commissioning organisation
/// (or relationship buyer) that has not finished paying by the contract's deadline moves to
/// the new price policy. Paying in full on the deadline day is on time. Which new price
/// applies is the price policy's business, not this rule's.
pub fn late_repricing(
    payment_deadline: NaiveDate,
    paid_in_full_on: Option<NaiveDate>,
    today: NaiveDate,
) -> LateRepricing {
    // Once paid in full, the payment date decides for good; until then, today does.
    let settled_or_today = paid_in_full_on.unwrap_or(today);
    // `signed_duration_since` cannot overflow between any two dates chrono represents.
    let days_late = settled_or_today.signed_duration_since(payment_deadline).num_days();
    if days_late <= 0 {
        LateRepricing::KeepPrice
    } else {
        LateRepricing::Reprice { days_late: u32::try_from(days_late).unwrap_or(u32::MAX) }
    }
}

/// Whether `day` is a working day: Monday to Friday and not one of the policy's holidays.
fn is_working_day(day: NaiveDate, holidays: &[NaiveDate]) -> bool {
    !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) && !holidays.contains(&day)
}

/// The last day on which paper may back an urgent phone approval of a relationship unit:
/// the policy's number of working days (default 5) after the phone call, not counting the
/// day of the call. Working days are Monday to Friday less the policy's `holidays`; make-up
/// working weekends (调休) are not modelled, which can only make the deadline later, never
/// earlier than the office would reckon it.
pub fn paper_due_on(phone_approved_on: NaiveDate, policy: &Policy) -> NaiveDate {
    let selection = &policy.selection;
    let mut remaining = selection.relationship_paper_deadline_working_days;
    // Five working days fit in seven calendar days and each holiday costs at most one more
    // working day, so twice (days + holidays + 1) steps always suffice; the bound only makes
    // the loop's end evident.
    let holidays = u64::try_from(selection.holidays.len()).unwrap_or(u64::MAX);
    let max_steps =
        u64::from(remaining).saturating_add(holidays).saturating_add(1).saturating_mul(2);
    let mut day = phone_approved_on;
    let mut steps = 0u64;
    while remaining > 0 && steps < max_steps {
        let Some(next) = day.succ_opt() else { break };
        day = next;
        steps += 1;
        if is_working_day(day, &selection.holidays) {
            remaining -= 1;
        }
    }
    day
}

/// Where one relationship-unit approval stands with its paperwork.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "paper", rename_all = "snake_case")]
pub enum PaperStatus {
    /// Approved on paper from the start.
    Written,
    /// A phone approval whose paper is not in yet but not due either (due day included).
    Pending {
        /// The last day the paper is on time.
        paper_due_on: NaiveDate,
    },
    /// A phone approval backed by paper.
    Backed {
        /// The last day the paper was on time.
        paper_due_on: NaiveDate,
        /// Whether the paper was signed after that day.
        late: bool,
    },
    /// A phone approval past its due day without paper.
    Overdue {
        /// The last day the paper was on time.
        paper_due_on: NaiveDate,
    },
}

/// Where `approval` stands with its paperwork on `today`.
pub fn paper_status(
    approval: &RelationshipApproval,
    today: NaiveDate,
    policy: &Policy,
) -> PaperStatus {
    let RelationshipApproval::Phone { approved_on, paper } = approval else {
        return PaperStatus::Written;
    };
    let due = paper_due_on(*approved_on, policy);
    match paper {
        Some(paper) => PaperStatus::Backed { paper_due_on: due, late: paper.signed_on > due },
        None if today > due => PaperStatus::Overdue { paper_due_on: due },
        None => PaperStatus::Pending { paper_due_on: due },
    }
}

/// Why a relationship unit may not be released.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RelationshipRefusal {
    /// One of the requester's phone approvals is past its paper deadline without paper.
    PaperOverdue {
        /// The day of the phone approval (the earliest overdue one).
        phone_approved_on: NaiveDate,
        /// The last day its paper was on time.
        paper_due_on: NaiveDate,
    },
    /// The written approval of this release lacks a usable average price or payment ratio
    /// (price not above zero, ratio outside (0, 100]).
    InvalidTerms,
}

impl RelationshipRefusal {
    /// Stable machine code, the same as the serde `kind`.
    pub fn code(&self) -> &'static str {
        match self {
            RelationshipRefusal::PaperOverdue { .. } => "paper_overdue",
            RelationshipRefusal::InvalidTerms => "invalid_terms",
        }
    }
}

impl fmt::Display for RelationshipRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RelationshipRefusal::PaperOverdue { phone_approved_on, paper_due_on } => write!(
                f,
                "{phone_approved_on} 的电话审批应于 {paper_due_on} 前补齐书面手续，逾期未补，\
                 不予发放房源 (paper for the phone approval of {phone_approved_on} was due by \
                 {paper_due_on}; no further units are released to this requester)"
            ),
            RelationshipRefusal::InvalidTerms => f.write_str(
                "书面审批须列明有效的均价和交款比例 \
                 (the written approval needs a valid average price and payment ratio)",
            ),
        }
    }
}

impl std::error::Error for RelationshipRefusal {}

/// Whether written terms are usable: an average price above zero and a ratio in (0, 100].
fn terms_valid(paper: &WrittenApproval) -> bool {
    let hundred = Decimal::ONE_HUNDRED;
    paper.average_unit_price > Decimal::ZERO
        && paper.payment_ratio_pct > Decimal::ZERO
        && paper.payment_ratio_pct <= hundred
}

/// Whether a requester may be released another relationship unit (关系房, seed 001 十二).
/// `request` is the approval of this release; `earlier` are the requester's earlier approvals.
///
/// The release's own paper, if there is any yet, must state a usable average price and
/// payment ratio. Then no approval of the requester — earlier ones or this one — may be an
/// urgent phone approval past its paper deadline without paper: the seed stops further
/// releases until the paperwork is complete. Paper that arrives late completes it and lifts
/// the stop (the status still records it as late); a phone approval still inside its window
/// does not stop anything. The earliest overdue approval is the one reported.
pub fn check_relationship_release(
    request: &RelationshipApproval,
    earlier: &[RelationshipApproval],
    today: NaiveDate,
    policy: &Policy,
) -> Result<(), RelationshipRefusal> {
    let paper = match request {
        RelationshipApproval::Written { approval } => Some(approval),
        RelationshipApproval::Phone { paper, .. } => paper.as_ref(),
    };
    if paper.is_some_and(|p| !terms_valid(p)) {
        return Err(RelationshipRefusal::InvalidTerms);
    }
    let earliest_overdue = earlier
        .iter()
        .chain(std::iter::once(request))
        .filter_map(|approval| match (approval, paper_status(approval, today, policy)) {
            (
                RelationshipApproval::Phone { approved_on, .. },
                PaperStatus::Overdue { paper_due_on },
            ) => Some((*approved_on, paper_due_on)),
            _ => None,
        })
        .min();
    match earliest_overdue {
        Some((phone_approved_on, paper_due_on)) => {
            Err(RelationshipRefusal::PaperOverdue { phone_approved_on, paper_due_on })
        }
        None => Ok(()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn rename(from_listed: bool, to_listed: bool, unlisted: UnlistedRename) -> RenameRequest {
        RenameRequest {
            from_listed,
            to_listed,
            unlisted,
            market_price: dec!(1_200_000),
            contract_price: dec!(1_000_000),
        }
    }

    #[test]
    fn rename_between_listed_names_is_free() {
        let p = Policy::default();
        for unlisted in [UnlistedRename::Refuse, UnlistedRename::ChargeFee] {
            assert_eq!(check_rename(&rename(true, true, unlisted), &p), RenameVerdict::Allowed);
        }
        // Prices are not looked at for a free rename.
        let odd =
            RenameRequest { market_price: dec!(-1), ..rename(true, true, UnlistedRename::Refuse) };
        assert_eq!(check_rename(&odd, &p), RenameVerdict::Allowed);
    }

    #[test]
    fn rename_to_an_unlisted_name_is_refused_without_the_fee_clause() {
        let p = Policy::default();
        for (from, to) in [(true, false), (false, true), (false, false)] {
            let verdict = check_rename(&rename(from, to, UnlistedRename::Refuse), &p);
            let RenameVerdict::Refused { reason } = verdict else { panic!("{verdict:?}") };
            assert_eq!(reason, RenameRefusal::NotBetweenListedNames);
            assert_eq!(reason.code(), "not_between_listed_names");
            assert!(reason.to_string().starts_with("只允许名单内人员之间更名"), "{reason}");
        }
    }

    #[test]
    fn rename_to_an_unlisted_name_with_the_fee_clause_costs_half_the_difference() {
        let p = Policy::default();
        let verdict = check_rename(&rename(true, false, UnlistedRename::ChargeFee), &p);
        assert_eq!(verdict, RenameVerdict::AllowedWithFee { fee: dec!(100000) });
        // Rounded to the fen, half away from zero: 50% of 0.01 is 0.005 → 0.01.
        let r = RenameRequest {
            market_price: dec!(1000000.01),
            ..rename(true, false, UnlistedRename::ChargeFee)
        };
        assert_eq!(check_rename(&r, &p), RenameVerdict::AllowedWithFee { fee: dec!(0.01) });
    }

    #[test]
    fn rename_fee_is_never_negative() {
        let p = Policy::default();
        for market in [dec!(1_000_000), dec!(900_000)] {
            let r = RenameRequest {
                market_price: market,
                ..rename(true, false, UnlistedRename::ChargeFee)
            };
            assert_eq!(check_rename(&r, &p), RenameVerdict::AllowedWithFee { fee: dec!(0) });
        }
        let r = RenameRequest {
            contract_price: dec!(-1),
            ..rename(true, false, UnlistedRename::ChargeFee)
        };
        assert_eq!(
            check_rename(&r, &p),
            RenameVerdict::Refused { reason: RenameRefusal::InvalidPrice }
        );
        let r = RenameRequest {
            market_price: Decimal::MAX,
            contract_price: dec!(0),
            ..rename(true, false, UnlistedRename::ChargeFee)
        };
        assert_eq!(
            check_rename(&r, &p),
            RenameVerdict::Refused { reason: RenameRefusal::InvalidPrice }
        );
    }

    #[test]
    fn loan_switch_fee_within_the_range() {
        let p = Policy::default();
        for fee in [dec!(1000), dec!(1000.00), dec!(2500.50), dec!(3000)] {
            assert_eq!(check_loan_switch_fee(fee, &p), Ok(()), "{fee}");
        }
        let low = check_loan_switch_fee(dec!(999.99), &p).unwrap_err();
        assert_eq!(low, LoanSwitchFeeRefusal::BelowMinimum { fee: dec!(999.99), min: dec!(1000) });
        assert_eq!(
            low.to_string(),
            "全款转按揭手续费 999.99 元低于最低 1000.00 元 \
             (loan-switch fee 999.99 CNY is below the minimum of 1000.00 CNY)"
        );
        let high = check_loan_switch_fee(dec!(3000.01), &p).unwrap_err();
        assert_eq!(
            high,
            LoanSwitchFeeRefusal::AboveMaximum { fee: dec!(3000.01), max: dec!(3000) }
        );
        assert_eq!(high.code(), "above_maximum");
        let fraction = check_loan_switch_fee(dec!(1500.005), &p).unwrap_err();
        assert_eq!(fraction, LoanSwitchFeeRefusal::FractionOfFen { fee: dec!(1500.005) });
    }

    #[test]
    fn late_repricing_around_the_deadline() {
        let deadline = d(2026, 6, 30);
        // Not paid yet, deadline not passed (the deadline day itself included).
        assert_eq!(late_repricing(deadline, None, d(2026, 6, 1)), LateRepricing::KeepPrice);
        assert_eq!(late_repricing(deadline, None, deadline), LateRepricing::KeepPrice);
        // Not paid the day after.
        let late = late_repricing(deadline, None, d(2026, 7, 1));
        assert_eq!(late, LateRepricing::Reprice { days_late: 1 });
        assert!(late.must_reprice());
        // Paid in full on the deadline: on time for good, whatever today is.
        let on_time = late_repricing(deadline, Some(deadline), d(2026, 12, 31));
        assert_eq!(on_time, LateRepricing::KeepPrice);
        assert!(!on_time.must_reprice());
        // Paid in full ten days late: repriced for ten days, not for the time since.
        assert_eq!(
            late_repricing(deadline, Some(d(2026, 7, 10)), d(2026, 12, 31)),
            LateRepricing::Reprice { days_late: 10 }
        );
    }

    #[test]
    fn paper_deadline_skips_the_weekend() {
        let p = Policy::default();
        // Thursday 2026-03-05: Fri, Mon, Tue, Wed, Thu → Thursday 2026-03-12.
        assert_eq!(d(2026, 3, 5).weekday(), Weekday::Thu);
        assert_eq!(paper_due_on(d(2026, 3, 5), &p), d(2026, 3, 12));
        // Friday → the next Friday; Monday → the next Monday.
        assert_eq!(paper_due_on(d(2026, 3, 6), &p), d(2026, 3, 13));
        assert_eq!(paper_due_on(d(2026, 3, 9), &p), d(2026, 3, 16));
        // A call on Saturday or Sunday counts from Monday: due Friday.
        assert_eq!(paper_due_on(d(2026, 3, 7), &p), d(2026, 3, 13));
        assert_eq!(paper_due_on(d(2026, 3, 8), &p), d(2026, 3, 13));
    }

    #[test]
    fn paper_deadline_skips_holidays() {
        let mut p = Policy::default();
        // National Day week 2026: Thu Oct 1 to Wed Oct 7 (weekend included).
        p.selection.holidays = (1..=7).map(|day| d(2026, 10, day)).collect();
        // A call on Wed Sep 30: Oct 8, 9, 12, 13, 14 → Wed Oct 14.
        assert_eq!(paper_due_on(d(2026, 9, 30), &p), d(2026, 10, 14));
        // Without the holidays: Oct 1, 2, 5, 6, 7 → Oct 7.
        assert_eq!(paper_due_on(d(2026, 9, 30), &Policy::default()), d(2026, 10, 7));
        // A whole year of holidays (through Fri 2027-01-01) pushes the deadline past it:
        // Jan 4 to 8, 2027.
        p.selection.holidays = (0..366).map(|i| d(2026, 1, 1) + chrono::Days::new(i)).collect();
        assert_eq!(paper_due_on(d(2026, 1, 1), &p), d(2027, 1, 8));
        // The end of time is a deadline too.
        assert_eq!(paper_due_on(NaiveDate::MAX, &Policy::default()), NaiveDate::MAX);
    }

    fn paper(signed_on: NaiveDate) -> WrittenApproval {
        WrittenApproval {
            signed_on,
            average_unit_price: dec!(11000),
            payment_ratio_pct: dec!(60),
            payment_due_on: d(2026, 6, 30),
        }
    }

    fn phone(approved_on: NaiveDate, paper: Option<WrittenApproval>) -> RelationshipApproval {
        RelationshipApproval::Phone { approved_on, paper }
    }

    fn written(signed_on: NaiveDate) -> RelationshipApproval {
        RelationshipApproval::Written { approval: paper(signed_on) }
    }

    #[test]
    fn paper_status_through_the_window() {
        let p = Policy::default();
        // Thursday 2026-03-05, due Thursday 2026-03-12.
        let call = phone(d(2026, 3, 5), None);
        let due = d(2026, 3, 12);
        assert_eq!(paper_status(&written(d(2026, 3, 5)), due, &p), PaperStatus::Written);
        assert_eq!(paper_status(&call, due, &p), PaperStatus::Pending { paper_due_on: due });
        assert_eq!(
            paper_status(&call, d(2026, 3, 13), &p),
            PaperStatus::Overdue { paper_due_on: due }
        );
        let on_time = phone(d(2026, 3, 5), Some(paper(due)));
        assert_eq!(
            paper_status(&on_time, d(2026, 4, 1), &p),
            PaperStatus::Backed { paper_due_on: due, late: false }
        );
        let late = phone(d(2026, 3, 5), Some(paper(d(2026, 3, 13))));
        assert_eq!(
            paper_status(&late, d(2026, 4, 1), &p),
            PaperStatus::Backed { paper_due_on: due, late: true }
        );
    }

    #[test]
    fn overdue_phone_approval_stops_further_releases() {
        let p = Policy::default();
        let request = written(d(2026, 3, 20));
        // Phoned on Friday 2026-03-06, due Friday 2026-03-13 (over the weekend).
        let earlier = [written(d(2026, 1, 10)), phone(d(2026, 3, 6), None)];
        assert_eq!(check_relationship_release(&request, &earlier, d(2026, 3, 13), &p), Ok(()));
        let refusal =
            check_relationship_release(&request, &earlier, d(2026, 3, 16), &p).unwrap_err();
        assert_eq!(
            refusal,
            RelationshipRefusal::PaperOverdue {
                phone_approved_on: d(2026, 3, 6),
                paper_due_on: d(2026, 3, 13),
            }
        );
        assert_eq!(refusal.code(), "paper_overdue");
        assert!(refusal.to_string().starts_with("2026-03-06 的电话审批"), "{refusal}");
        // Paper that comes late completes the file and lifts the stop.
        let papered = [written(d(2026, 1, 10)), phone(d(2026, 3, 6), Some(paper(d(2026, 3, 18))))];
        assert_eq!(check_relationship_release(&request, &papered, d(2026, 3, 20), &p), Ok(()));
    }

    #[test]
    fn earliest_overdue_approval_is_reported() {
        let p = Policy::default();
        let earlier = [phone(d(2026, 3, 2), None), phone(d(2026, 2, 2), None)];
        let refusal =
            check_relationship_release(&phone(d(2026, 4, 1), None), &earlier, d(2026, 4, 1), &p);
        assert!(
            matches!(
                refusal,
                Err(RelationshipRefusal::PaperOverdue { phone_approved_on, .. })
                    if phone_approved_on == d(2026, 2, 2)
            ),
            "{refusal:?}"
        );
    }

    #[test]
    fn a_phone_release_inside_its_window_is_allowed_but_not_once_overdue() {
        let p = Policy::default();
        let request = phone(d(2026, 3, 5), None);
        assert_eq!(check_relationship_release(&request, &[], d(2026, 3, 12), &p), Ok(()));
        assert!(matches!(
            check_relationship_release(&request, &[], d(2026, 3, 13), &p),
            Err(RelationshipRefusal::PaperOverdue { .. })
        ));
    }

    #[test]
    fn written_terms_must_be_usable() {
        let p = Policy::default();
        let today = d(2026, 3, 5);
        let mut bad = paper(today);
        bad.payment_ratio_pct = dec!(0);
        let request = RelationshipApproval::Written { approval: bad.clone() };
        assert_eq!(
            check_relationship_release(&request, &[], today, &p),
            Err(RelationshipRefusal::InvalidTerms)
        );
        bad.payment_ratio_pct = dec!(100.01);
        assert_eq!(
            check_relationship_release(&phone(today, Some(bad)), &[], today, &p),
            Err(RelationshipRefusal::InvalidTerms)
        );
        let mut bad = paper(today);
        bad.average_unit_price = dec!(0);
        let request = RelationshipApproval::Written { approval: bad };
        assert_eq!(
            check_relationship_release(&request, &[], today, &p),
            Err(RelationshipRefusal::InvalidTerms)
        );
        let mut full = paper(today);
        full.payment_ratio_pct = dec!(100);
        let request = RelationshipApproval::Written { approval: full };
        assert_eq!(check_relationship_release(&request, &[], today, &p), Ok(()));
    }
}

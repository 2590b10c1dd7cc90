//! Selection day (选房, RULES.md §7, seed 001 九): who may hold a unit, what the work ticket
//! (选房工作票) states, and when a voucher (选房凭证) may be issued.
//!
//! The caller gathers the facts inside its own transaction (the list, the lottery order, the
//! unit's authoritative status) and these functions only judge them, so the server and a
//! tablet reach the same answer and the answer cannot depend on when it was asked.

use std::fmt;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::model::{SelectionMode, UnitStatus, WorkTicketFigures, WorkTicketTerms};
use crate::policy::Policy;

/// Rounds an amount to the fen, half away from zero (四舍五入). Buyers, finance and the
/// receipts all round that way by hand; the banker's rounding of `round_dp` would state a
/// figure one fen off what everyone else computes, and the voucher needs exact agreement.
pub(super) fn round_fen(amount: Decimal) -> Decimal {
    amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// `pct` percent of `amount`, unrounded; `None` when too large to compute exactly.
pub(super) fn pct_of(amount: Decimal, pct: Decimal) -> Option<Decimal> {
    amount.checked_mul(pct)?.checked_div(Decimal::ONE_HUNDRED)
}

/// The Chinese word for a unit status as the control table (销控表) shows it.
fn unit_status_zh(status: UnitStatus) -> &'static str {
    match status {
        UnitStatus::Available => "可选",
        UnitStatus::Held => "已锁定",
        UnitStatus::Sold => "已售",
        UnitStatus::Withdrawn => "已撤出销售",
    }
}

/// Everything the hold rule needs to know, gathered by the caller in its transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HoldCheck {
    /// The buyer is on the event's approved list (name and national ID number both match).
    pub buyer_listed: bool,
    /// The buyer's number in the notary's lottery order, if drawn.
    pub buyer_lottery_no: Option<u32>,
    /// How the queue is enforced at the event.
    pub mode: SelectionMode,
    /// The lottery number currently called (叫号); only strict mode looks at it.
    pub now_serving: Option<u32>,
    /// The unit is allotted to this event.
    pub unit_allotted: bool,
    /// The unit has an approved price.
    pub unit_price_approved: bool,
    /// The unit's authoritative current status.
    pub unit_status: UnitStatus,
    /// Units this buyer already holds or bought at this event.
    pub buyer_units_taken: u32,
}

/// Why a buyer may not hold a unit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HoldRefusal {
    /// The buyer is not on the approved list.
    NotOnList,
    /// Strict order: the buyer's number is not the one called, or the buyer has none.
    NotTheirTurn {
        /// The buyer's lottery number, if drawn.
        lottery_no: Option<u32>,
        /// The number currently called, if any.
        now_serving: Option<u32>,
    },
    /// The unit is not allotted to this event.
    UnitNotAllotted,
    /// The unit has no approved price, and no price may be promised before approval.
    PriceNotApproved,
    /// The unit is held, sold or withdrawn.
    UnitNotAvailable {
        /// Its current status.
        status: UnitStatus,
    },
    /// The buyer already has as many units as one buyer may take.
    OverBuyerLimit {
        /// Units one buyer may take at one event.
        limit: u32,
    },
}

impl HoldRefusal {
    /// Stable machine code, the same as the serde `kind`.
    pub fn code(&self) -> &'static str {
        match self {
            HoldRefusal::NotOnList => "not_on_list",
            HoldRefusal::NotTheirTurn { .. } => "not_their_turn",
            HoldRefusal::UnitNotAllotted => "unit_not_allotted",
            HoldRefusal::PriceNotApproved => "price_not_approved",
            HoldRefusal::UnitNotAvailable { .. } => "unit_not_available",
            HoldRefusal::OverBuyerLimit { .. } => "over_buyer_limit",
        }
    }
}

impl fmt::Display for HoldRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HoldRefusal::NotOnList => {
                f.write_str("不在审核名单上 (buyer is not on the approved list)")
            }
            HoldRefusal::NotTheirTurn { lottery_no: None, .. } => f.write_str(
                "没有选房顺序号，按顺序选房时不能选房 \
                 (buyer has no lottery number and cannot select in strict order)",
            ),
            HoldRefusal::NotTheirTurn { lottery_no: Some(no), now_serving: None } => write!(
                f,
                "尚未叫号，您的顺序号为 {no} (no number has been called yet; buyer's number is {no})"
            ),
            HoldRefusal::NotTheirTurn { lottery_no: Some(no), now_serving: Some(serving) } => {
                write!(
                    f,
                    "未轮到叫号：您的顺序号为 {no}，当前叫号 {serving} \
                     (not this buyer's turn: number {no}, now serving {serving})"
                )
            }
            HoldRefusal::UnitNotAllotted => {
                f.write_str("该房源不在本次选房范围内 (unit is not allotted to this event)")
            }
            HoldRefusal::PriceNotApproved => {
                f.write_str("该房源价格未审批 (unit price is not approved)")
            }
            HoldRefusal::UnitNotAvailable { status } => write!(
                f,
                "该房源{}，不可选 (unit is not available: {status})",
                unit_status_zh(*status)
            ),
            HoldRefusal::OverBuyerLimit { limit } => write!(
                f,
                "每人限选 {limit} 套，已达上限 (buyer already has the limit of {limit} unit(s))"
            ),
        }
    }
}

impl std::error::Error for HoldRefusal {}

/// Whether a buyer may hold a unit now. The checks run in this order, so the reason given is
/// the most fundamental one: the buyer is listed; the unit is allotted to the event; its
/// price is approved; it is available; the buyer is under the per-buyer limit (default 1);
/// and, in strict order only, the buyer's lottery number is the one called (a buyer without a
/// number cannot select in strict order). Free mode ignores the queue entirely.
///
/// A policy whose limit is 0 (only possible unvalidated) refuses every hold rather than
/// allowing any: the limit fails closed.
pub fn check_hold(check: &HoldCheck, policy: &Policy) -> Result<(), HoldRefusal> {
    if !check.buyer_listed {
        return Err(HoldRefusal::NotOnList);
    }
    if !check.unit_allotted {
        return Err(HoldRefusal::UnitNotAllotted);
    }
    if !check.unit_price_approved {
        return Err(HoldRefusal::PriceNotApproved);
    }
    if check.unit_status != UnitStatus::Available {
        return Err(HoldRefusal::UnitNotAvailable { status: check.unit_status });
    }
    let limit = policy.selection.max_units_per_buyer;
    if check.buyer_units_taken >= limit {
        return Err(HoldRefusal::OverBuyerLimit { limit });
    }
    if check.mode == SelectionMode::StrictOrder {
        let called = matches!(
            (check.buyer_lottery_no, check.now_serving),
            (Some(no), Some(serving)) if no == serving
        );
        if !called {
            return Err(HoldRefusal::NotTheirTurn {
                lottery_no: check.buyer_lottery_no,
                now_serving: check.now_serving,
            });
        }
    }
    Ok(())
}

/// Why a work ticket cannot be written with these terms.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WorkTicketRefusal {
    /// The payment ratio is below the policy's minimum (50% by default).
    RatioBelowMinimum {
        /// The ratio asked, in percent.
        ratio_pct: Decimal,
        /// The policy's minimum, in percent.
        min_pct: Decimal,
    },
    /// The payment ratio is above 100%.
    RatioAboveFull {
        /// The ratio asked, in percent.
        ratio_pct: Decimal,
    },
    /// The area is not above zero.
    InvalidArea,
    /// The approved unit price is not above zero, or price × area is too large to compute.
    InvalidPrice,
    /// A discount line's percentage is negative or above 100.
    DiscountOutOfRange {
        /// The line's code.
        code: String,
    },
    /// The discounts taken add up to more than the policy's cap.
    DiscountsOverCap {
        /// The summed percentages of the discounts taken.
        total_pct: Decimal,
        /// The policy's cap, in percent.
        cap_pct: Decimal,
    },
    /// The sealing fee is negative.
    NegativeSealingFee,
}

impl WorkTicketRefusal {
    /// Stable machine code, the same as the serde `kind`.
    pub fn code(&self) -> &'static str {
        match self {
            WorkTicketRefusal::RatioBelowMinimum { .. } => "ratio_below_minimum",
            WorkTicketRefusal::RatioAboveFull { .. } => "ratio_above_full",
            WorkTicketRefusal::InvalidArea => "invalid_area",
            WorkTicketRefusal::InvalidPrice => "invalid_price",
            WorkTicketRefusal::DiscountOutOfRange { .. } => "discount_out_of_range",
            WorkTicketRefusal::DiscountsOverCap { .. } => "discounts_over_cap",
            WorkTicketRefusal::NegativeSealingFee => "negative_sealing_fee",
        }
    }
}

impl fmt::Display for WorkTicketRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WorkTicketRefusal::RatioBelowMinimum { ratio_pct, min_pct } => {
                let (ratio, min) = (ratio_pct.normalize(), min_pct.normalize());
                write!(
                    f,
                    "交款比例 {ratio}% 低于最低 {min}% \
                     (payment ratio {ratio}% is below the minimum {min}%)"
                )
            }
            WorkTicketRefusal::RatioAboveFull { ratio_pct } => {
                let ratio = ratio_pct.normalize();
                write!(f, "交款比例 {ratio}% 超过 100% (payment ratio {ratio}% is above 100%)")
            }
            WorkTicketRefusal::InvalidArea => {
                f.write_str("面积必须大于零 (area must be above zero)")
            }
            WorkTicketRefusal::InvalidPrice => f.write_str(
                "审批单价必须大于零且总价可计算 \
                 (approved unit price must be above zero and the total computable)",
            ),
            WorkTicketRefusal::DiscountOutOfRange { code } => write!(
                f,
                "优惠 {code} 的比例必须在 0 到 100 之间 \
                 (discount {code} must be between 0 and 100 percent)"
            ),
            WorkTicketRefusal::DiscountsOverCap { total_pct, cap_pct } => {
                let (total, cap) = (total_pct.normalize(), cap_pct.normalize());
                write!(
                    f,
                    "享受的优惠合计 {total}% 超过上限 {cap}% \
                     (discounts taken add up to {total}%, above the cap of {cap}%)"
                )
            }
            WorkTicketRefusal::NegativeSealingFee => {
                f.write_str("封户费不能为负 (sealing fee must not be negative)")
            }
        }
    }
}

impl std::error::Error for WorkTicketRefusal {}

/// The figures of a work ticket, or why the terms cannot go on one.
///
/// Checked in this order: unit price and area above zero; payment ratio at least the
/// policy's minimum (the boundary itself is allowed) and at most 100%; every discount line,
/// taken or waived, between 0 and 100 percent (a waived line is still printed, so it must
/// make sense); the discounts taken summed and at most the policy's cap (default 5%, the cap
/// itself allowed); the sealing fee not negative. Lines are summed as given, so a code listed
/// twice counts twice and the cap still bounds the whole.
///
/// The figures: total = unit price × area; discount = total × summed percent; net = total −
/// discount; amount due = net × ratio; each rounded to the fen half away from zero, each from
/// the previous *stated* figure so that the ticket adds up as printed. The sealing fee is
/// stated separately (rounded to the fen) and is not part of the amount due.
pub fn price_work_ticket(
    terms: &WorkTicketTerms,
    policy: &Policy,
) -> Result<WorkTicketFigures, WorkTicketRefusal> {
    if terms.approved_unit_price <= Decimal::ZERO {
        return Err(WorkTicketRefusal::InvalidPrice);
    }
    if terms.area_m2 <= Decimal::ZERO {
        return Err(WorkTicketRefusal::InvalidArea);
    }
    let selection = &policy.selection;
    let ratio_pct = terms.payment_ratio_pct;
    if ratio_pct < selection.min_payment_ratio_pct {
        return Err(WorkTicketRefusal::RatioBelowMinimum {
            ratio_pct,
            min_pct: selection.min_payment_ratio_pct,
        });
    }
    if ratio_pct > Decimal::ONE_HUNDRED {
        return Err(WorkTicketRefusal::RatioAboveFull { ratio_pct });
    }
    let pct_range = Decimal::ZERO..=Decimal::ONE_HUNDRED;
    if let Some(bad) = terms.discounts.iter().find(|d| !pct_range.contains(&d.pct)) {
        return Err(WorkTicketRefusal::DiscountOutOfRange { code: bad.code.clone() });
    }
    // Each line is at most 100, so only an absurd number of lines could overflow; saturating
    // keeps that a refusal (over the cap) rather than a panic.
    let total_pct = terms
        .discounts
        .iter()
        .filter(|d| d.taken)
        .fold(Decimal::ZERO, |sum, d| sum.saturating_add(d.pct));
    if total_pct > selection.max_total_discount_pct {
        return Err(WorkTicketRefusal::DiscountsOverCap {
            total_pct,
            cap_pct: selection.max_total_discount_pct,
        });
    }
    if terms.sealing_fee < Decimal::ZERO {
        return Err(WorkTicketRefusal::NegativeSealingFee);
    }
    let total_price = terms
        .approved_unit_price
        .checked_mul(terms.area_m2)
        .map(round_fen)
        .ok_or(WorkTicketRefusal::InvalidPrice)?;
    // Both percentages are at most 100 here, so neither product can exceed 100 × the total
    // price; the fallbacks only keep the arithmetic panic-free.
    let discount_amount =
        pct_of(total_price, total_pct).map(round_fen).ok_or(WorkTicketRefusal::InvalidPrice)?;
    let net_price =
        total_price.checked_sub(discount_amount).ok_or(WorkTicketRefusal::InvalidPrice)?;
    let amount_due =
        pct_of(net_price, ratio_pct).map(round_fen).ok_or(WorkTicketRefusal::InvalidPrice)?;
    Ok(WorkTicketFigures {
        total_price,
        discount_amount,
        net_price,
        amount_due,
        sealing_fee: round_fen(terms.sealing_fee),
    })
}

/// Why a voucher (选房凭证) may not be issued yet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum VoucherRefusal {
    /// The work ticket has not been reviewed by an independent second person.
    NotConfirmed,
    /// The receipts fall short of the amount due.
    NotPaid {
        /// The amount due on the work ticket.
        due: Decimal,
        /// The receipts' total.
        received: Decimal,
    },
    /// The receipts exceed the amount due: a receipt is wrong or belongs elsewhere, and
    /// finance must reconcile before anything is issued.
    Overpaid {
        /// The amount due on the work ticket.
        due: Decimal,
        /// The receipts' total.
        received: Decimal,
    },
}

impl VoucherRefusal {
    /// Stable machine code, the same as the serde `kind`.
    pub fn code(&self) -> &'static str {
        match self {
            VoucherRefusal::NotConfirmed => "not_confirmed",
            VoucherRefusal::NotPaid { .. } => "not_paid",
            VoucherRefusal::Overpaid { .. } => "overpaid",
        }
    }
}

impl fmt::Display for VoucherRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VoucherRefusal::NotConfirmed => f.write_str(
                "选房工作票尚未复核确认 (the work ticket has not been reviewed and confirmed)",
            ),
            VoucherRefusal::NotPaid { due, received } => write!(
                f,
                "房款未付清：应收 {due}，实收 {received} \
                 (not paid in full: due {due}, received {received})"
            ),
            VoucherRefusal::Overpaid { due, received } => write!(
                f,
                "实收超过应收，请核对收据：应收 {due}，实收 {received} \
                 (receipts exceed the amount due, reconcile them: due {due}, received {received})"
            ),
        }
    }
}

impl std::error::Error for VoucherRefusal {}

/// A voucher (选房凭证) is issued only when receipts match the amount due exactly, and only for
/// a reviewed (confirmed) work ticket. Amounts compare by value, so `100` and `100.00` match;
/// a fen either way is a mismatch, because the seed asks for the receipts and the amount due
/// to agree (一致), not to come close.
pub fn check_voucher_issue(
    ticket_confirmed: bool,
    amount_due: Decimal,
    receipts_total: Decimal,
) -> Result<(), VoucherRefusal> {
    if !ticket_confirmed {
        return Err(VoucherRefusal::NotConfirmed);
    }
    let (due, received) = (amount_due, receipts_total);
    if received < due {
        return Err(VoucherRefusal::NotPaid { due, received });
    }
    if received > due {
        return Err(VoucherRefusal::Overpaid { due, received });
    }
    Ok(())
}

/// A price approval that leaves out approvers the policy requires.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApproversMissing {
    /// The required approvers not named, in the policy's order.
    pub missing: Vec<String>,
}

impl ApproversMissing {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        "approvers_missing"
    }
}

/// The Chinese title of an approver id the demo and the default policy use; `None` for
/// another id, which is then shown as it is.
fn approver_title_zh(id: &str) -> Option<&'static str> {
    Some(match id {
        "sales-director" => "销售总监",
        "finance-director" => "财务总监",
        "project-head" => "项目负责人",
        "gm" => "总经理",
        "chairman" => "董事长",
        _ => return None,
    })
}

impl fmt::Display for ApproversMissing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let zh: Vec<String> = self
            .missing
            .iter()
            .map(|id| match approver_title_zh(id) {
                Some(title) => format!("{title}（{id}）"),
                None => id.clone(),
            })
            .collect();
        write!(
            f,
            "房价须经全部审批人审批，缺少：{} (the price needs every required approver; missing: {})",
            zh.join("、"),
            self.missing.join(", ")
        )
    }
}

impl std::error::Error for ApproversMissing {}

/// Whether `approvers` include everyone the policy requires to approve a unit price
/// (RULES.md §7: sales director, finance director, project head, GM and chairman by default).
/// Ids compare exactly after trimming; extra approvers beyond the required ones are allowed.
/// A policy that requires nobody (only possible unvalidated) still refuses an approval that
/// names nobody: a price is never approved by no one.
pub fn check_price_approvers(
    approvers: &[String],
    policy: &Policy,
) -> Result<(), ApproversMissing> {
    let named: Vec<&str> = approvers.iter().map(|a| a.trim()).filter(|a| !a.is_empty()).collect();
    let mut missing: Vec<String> = policy
        .selection
        .price_approvers
        .iter()
        .map(|a| a.trim())
        .filter(|required| !named.contains(required))
        .map(str::to_owned)
        .collect();
    if named.is_empty() && missing.is_empty() {
        missing.push("—".to_owned());
    }
    if missing.is_empty() { Ok(()) } else { Err(ApproversMissing { missing }) }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;
    use crate::model::DiscountLine;

    /// A listed buyer whose number is called, asking for an available, approved, allotted unit.
    fn ok_check() -> HoldCheck {
        HoldCheck {
            buyer_listed: true,
            buyer_lottery_no: Some(7),
            mode: SelectionMode::StrictOrder,
            now_serving: Some(7),
            unit_allotted: true,
            unit_price_approved: true,
            unit_status: UnitStatus::Available,
            buyer_units_taken: 0,
        }
    }

    fn hold(check: HoldCheck) -> Result<(), HoldRefusal> {
        check_hold(&check, &Policy::default())
    }

    #[test]
    fn called_listed_buyer_may_hold() {
        assert_eq!(hold(ok_check()), Ok(()));
    }

    #[test]
    fn buyer_not_on_the_list_is_refused_first() {
        // Everything else is wrong too: the list is the reason given.
        let check = HoldCheck {
            buyer_listed: false,
            unit_allotted: false,
            unit_price_approved: false,
            unit_status: UnitStatus::Sold,
            now_serving: Some(1),
            ..ok_check()
        };
        let refusal = hold(check).unwrap_err();
        assert_eq!(refusal, HoldRefusal::NotOnList);
        assert_eq!(refusal.to_string(), "不在审核名单上 (buyer is not on the approved list)");
    }

    #[test]
    fn not_their_turn_in_strict_order() {
        let refusal = hold(HoldCheck { now_serving: Some(6), ..ok_check() }).unwrap_err();
        assert_eq!(
            refusal,
            HoldRefusal::NotTheirTurn { lottery_no: Some(7), now_serving: Some(6) }
        );
        assert_eq!(refusal.code(), "not_their_turn");
        assert!(refusal.to_string().starts_with("未轮到叫号"), "{refusal}");
        assert!(refusal.to_string().contains("(not this buyer's turn"), "{refusal}");
        // A number already passed is not a turn either: the queue moves on.
        let passed = hold(HoldCheck { now_serving: Some(8), ..ok_check() });
        assert!(matches!(passed, Err(HoldRefusal::NotTheirTurn { .. })));
        // Nobody called yet.
        let refusal = hold(HoldCheck { now_serving: None, ..ok_check() }).unwrap_err();
        assert_eq!(refusal, HoldRefusal::NotTheirTurn { lottery_no: Some(7), now_serving: None });
        assert!(refusal.to_string().starts_with("尚未叫号"), "{refusal}");
    }

    #[test]
    fn no_lottery_number_cannot_select_in_strict_order() {
        for now_serving in [None, Some(7)] {
            let check = HoldCheck { buyer_lottery_no: None, now_serving, ..ok_check() };
            let refusal = hold(check).unwrap_err();
            assert_eq!(refusal, HoldRefusal::NotTheirTurn { lottery_no: None, now_serving });
            assert!(refusal.to_string().starts_with("没有选房顺序号"), "{refusal}");
        }
    }

    #[test]
    fn free_mode_ignores_the_turn() {
        for (buyer_lottery_no, now_serving) in [(Some(7), Some(3)), (None, None), (Some(1), None)] {
            let check = HoldCheck {
                mode: SelectionMode::Free,
                buyer_lottery_no,
                now_serving,
                ..ok_check()
            };
            assert_eq!(hold(check), Ok(()));
        }
        // Free mode still applies every other control.
        let check = HoldCheck { mode: SelectionMode::Free, buyer_listed: false, ..ok_check() };
        assert_eq!(hold(check), Err(HoldRefusal::NotOnList));
    }

    #[test]
    fn unit_not_allotted_or_not_approved() {
        let refusal = hold(HoldCheck { unit_allotted: false, ..ok_check() }).unwrap_err();
        assert_eq!(refusal, HoldRefusal::UnitNotAllotted);
        let refusal = hold(HoldCheck { unit_price_approved: false, ..ok_check() }).unwrap_err();
        assert_eq!(refusal, HoldRefusal::PriceNotApproved);
        assert_eq!(refusal.to_string(), "该房源价格未审批 (unit price is not approved)");
        // Allotment is checked before approval.
        let both = HoldCheck { unit_allotted: false, unit_price_approved: false, ..ok_check() };
        assert_eq!(hold(both), Err(HoldRefusal::UnitNotAllotted));
    }

    #[test]
    fn held_sold_or_withdrawn_units_are_not_available() {
        for status in [UnitStatus::Held, UnitStatus::Sold, UnitStatus::Withdrawn] {
            let refusal = hold(HoldCheck { unit_status: status, ..ok_check() }).unwrap_err();
            assert_eq!(refusal, HoldRefusal::UnitNotAvailable { status });
        }
        let refusal = hold(HoldCheck { unit_status: UnitStatus::Sold, ..ok_check() }).unwrap_err();
        assert_eq!(refusal.to_string(), "该房源已售，不可选 (unit is not available: sold)");
        // An unavailable unit is reported before the queue: nothing to wait for.
        let check = HoldCheck { unit_status: UnitStatus::Held, now_serving: Some(1), ..ok_check() };
        assert_eq!(hold(check), Err(HoldRefusal::UnitNotAvailable { status: UnitStatus::Held }));
    }

    #[test]
    fn per_buyer_limit() {
        let refusal = hold(HoldCheck { buyer_units_taken: 1, ..ok_check() }).unwrap_err();
        assert_eq!(refusal, HoldRefusal::OverBuyerLimit { limit: 1 });
        assert_eq!(refusal.code(), "over_buyer_limit");
        let mut policy = Policy::default();
        policy.selection.max_units_per_buyer = 2;
        assert_eq!(check_hold(&HoldCheck { buyer_units_taken: 1, ..ok_check() }, &policy), Ok(()));
        assert_eq!(
            check_hold(&HoldCheck { buyer_units_taken: 2, ..ok_check() }, &policy),
            Err(HoldRefusal::OverBuyerLimit { limit: 2 })
        );
        // The limit comes before the turn: a buyer at the limit need not wait to be told.
        let check = HoldCheck { buyer_units_taken: 1, now_serving: Some(1), ..ok_check() };
        assert_eq!(hold(check), Err(HoldRefusal::OverBuyerLimit { limit: 1 }));
        // A zero limit (unvalidated policy) fails closed.
        policy.selection.max_units_per_buyer = 0;
        assert_eq!(check_hold(&ok_check(), &policy), Err(HoldRefusal::OverBuyerLimit { limit: 0 }));
    }

    #[test]
    fn refusal_codes_match_their_serde_kind() {
        let refusals = [
            serde_json::to_value(HoldRefusal::NotOnList).unwrap(),
            serde_json::to_value(HoldRefusal::UnitNotAvailable { status: UnitStatus::Held })
                .unwrap(),
            serde_json::to_value(WorkTicketRefusal::DiscountsOverCap {
                total_pct: dec!(6),
                cap_pct: dec!(5),
            })
            .unwrap(),
            serde_json::to_value(VoucherRefusal::NotPaid { due: dec!(1), received: dec!(0) })
                .unwrap(),
        ];
        let codes = [
            HoldRefusal::NotOnList.code(),
            HoldRefusal::UnitNotAvailable { status: UnitStatus::Held }.code(),
            WorkTicketRefusal::DiscountsOverCap { total_pct: dec!(6), cap_pct: dec!(5) }.code(),
            VoucherRefusal::NotPaid { due: dec!(1), received: dec!(0) }.code(),
        ];
        for (json, code) in refusals.iter().zip(codes) {
            assert_eq!(json["kind"], code);
        }
    }

    fn line(code: &str, pct: Decimal, taken: bool) -> DiscountLine {
        DiscountLine { code: code.to_owned(), label: code.to_owned(), pct, taken }
    }

    /// 12,345.67 CNY/m² × 89.5 m², half paid, no discounts, 2,000 sealing fee.
    fn terms() -> WorkTicketTerms {
        WorkTicketTerms {
            approved_unit_price: dec!(12345.67),
            area_m2: dec!(89.5),
            payment_ratio_pct: dec!(50),
            discounts: vec![],
            sealing_fee: dec!(2000),
        }
    }

    fn price(terms: &WorkTicketTerms) -> Result<WorkTicketFigures, WorkTicketRefusal> {
        price_work_ticket(terms, &Policy::default())
    }

    #[test]
    fn figures_of_a_plain_ticket() {
        let figures = price(&terms()).unwrap();
        // 12345.67 × 89.5 = 1,104,937.465 → half away from zero → 1,104,937.47.
        assert_eq!(figures.total_price, dec!(1104937.47));
        assert_eq!(figures.discount_amount, dec!(0));
        assert_eq!(figures.net_price, dec!(1104937.47));
        // Half of it is 552,468.735 → 552,468.74.
        assert_eq!(figures.amount_due, dec!(552468.74));
        assert_eq!(figures.sealing_fee, dec!(2000));
        // Banker's rounding would have stated the total a fen lower.
        assert_eq!(dec!(1104937.465).round_dp(2), dec!(1104937.46));
    }

    #[test]
    fn ratio_exactly_the_minimum_is_allowed() {
        let t = WorkTicketTerms { payment_ratio_pct: dec!(50.00), ..terms() };
        assert!(price(&t).is_ok());
        let t = WorkTicketTerms { payment_ratio_pct: dec!(100), ..terms() };
        let figures = price(&t).unwrap();
        assert_eq!(figures.amount_due, figures.net_price);
    }

    #[test]
    fn ratio_just_below_the_minimum_is_refused() {
        let t = WorkTicketTerms { payment_ratio_pct: dec!(49.99), ..terms() };
        let refusal = price(&t).unwrap_err();
        assert_eq!(
            refusal,
            WorkTicketRefusal::RatioBelowMinimum { ratio_pct: dec!(49.99), min_pct: dec!(50) }
        );
        assert_eq!(refusal.code(), "ratio_below_minimum");
        assert_eq!(
            refusal.to_string(),
            "交款比例 49.99% 低于最低 50% (payment ratio 49.99% is below the minimum 50%)"
        );
    }

    #[test]
    fn ratio_above_full_is_refused() {
        let t = WorkTicketTerms { payment_ratio_pct: dec!(100.01), ..terms() };
        assert_eq!(price(&t), Err(WorkTicketRefusal::RatioAboveFull { ratio_pct: dec!(100.01) }));
    }

    #[test]
    fn non_positive_price_or_area_is_refused() {
        let t = WorkTicketTerms { approved_unit_price: dec!(0), ..terms() };
        assert_eq!(price(&t), Err(WorkTicketRefusal::InvalidPrice));
        let t = WorkTicketTerms { area_m2: dec!(-1), ..terms() };
        assert_eq!(price(&t), Err(WorkTicketRefusal::InvalidArea));
        let t = WorkTicketTerms { area_m2: dec!(0), ..terms() };
        assert_eq!(price(&t), Err(WorkTicketRefusal::InvalidArea));
        // Too large to multiply is a refusal, not a panic.
        let t = WorkTicketTerms { approved_unit_price: Decimal::MAX, area_m2: dec!(2), ..terms() };
        assert_eq!(price(&t), Err(WorkTicketRefusal::InvalidPrice));
    }

    #[test]
    fn waived_discounts_count_nothing() {
        let t = WorkTicketTerms {
            approved_unit_price: dec!(10000),
            area_m2: dec!(100),
            discounts: vec![line("full_payment", dec!(3), true), line("group", dec!(4), false)],
            ..terms()
        };
        let figures = price(&t).unwrap();
        assert_eq!(figures.total_price, dec!(1000000));
        assert_eq!(figures.discount_amount, dec!(30000));
        assert_eq!(figures.net_price, dec!(970000));
        assert_eq!(figures.amount_due, dec!(485000));
        // Taking the second one too would be 7%, over the 5% cap.
        let mut both = t.clone();
        both.discounts[1].taken = true;
        let refusal = price(&both).unwrap_err();
        assert_eq!(
            refusal,
            WorkTicketRefusal::DiscountsOverCap { total_pct: dec!(7), cap_pct: dec!(5) }
        );
        assert!(refusal.to_string().starts_with("享受的优惠合计 7% 超过上限 5%"), "{refusal}");
    }

    #[test]
    fn discounts_exactly_at_the_cap_are_allowed() {
        let t = WorkTicketTerms {
            discounts: vec![line("a", dec!(2.5), true), line("b", dec!(2.5), true)],
            ..terms()
        };
        let figures = price(&t).unwrap();
        // 5% of 1,104,937.47 = 55,246.8735 → 55,246.87.
        assert_eq!(figures.discount_amount, dec!(55246.87));
        assert_eq!(figures.net_price, dec!(1049690.60));
        assert_eq!(figures.net_price, figures.total_price - figures.discount_amount);
        let t = WorkTicketTerms {
            discounts: vec![line("a", dec!(2.5), true), line("b", dec!(2.51), true)],
            ..terms()
        };
        assert!(matches!(price(&t), Err(WorkTicketRefusal::DiscountsOverCap { .. })));
        // A code listed twice counts twice.
        let t = WorkTicketTerms {
            discounts: vec![line("a", dec!(3), true), line("a", dec!(3), true)],
            ..terms()
        };
        assert!(matches!(price(&t), Err(WorkTicketRefusal::DiscountsOverCap { .. })));
    }

    #[test]
    fn discount_lines_must_be_percentages() {
        for pct in [dec!(-0.01), dec!(100.01)] {
            // Waived or not: the line is printed on the ticket either way.
            let t = WorkTicketTerms { discounts: vec![line("odd", pct, false)], ..terms() };
            assert_eq!(
                price(&t),
                Err(WorkTicketRefusal::DiscountOutOfRange { code: "odd".to_owned() })
            );
        }
    }

    #[test]
    fn sealing_fee_must_not_be_negative() {
        let t = WorkTicketTerms { sealing_fee: dec!(-0.01), ..terms() };
        assert_eq!(price(&t), Err(WorkTicketRefusal::NegativeSealingFee));
        let t = WorkTicketTerms { sealing_fee: dec!(0), payment_ratio_pct: dec!(100), ..terms() };
        assert_eq!(price(&t).unwrap().sealing_fee, dec!(0));
    }

    #[test]
    fn voucher_needs_a_confirmed_ticket_and_exact_payment() {
        let due = dec!(552468.74);
        assert_eq!(check_voucher_issue(true, due, dec!(552468.740)), Ok(()));
        let partial = check_voucher_issue(true, due, dec!(500000)).unwrap_err();
        assert_eq!(partial, VoucherRefusal::NotPaid { due, received: dec!(500000) });
        assert_eq!(
            partial.to_string(),
            "房款未付清：应收 552468.74，实收 500000 \
             (not paid in full: due 552468.74, received 500000)"
        );
        // One fen short or over is a mismatch.
        assert!(matches!(
            check_voucher_issue(true, due, dec!(552468.73)),
            Err(VoucherRefusal::NotPaid { .. })
        ));
        let over = check_voucher_issue(true, due, dec!(552468.75)).unwrap_err();
        assert_eq!(over, VoucherRefusal::Overpaid { due, received: dec!(552468.75) });
        assert_eq!(over.code(), "overpaid");
        // Nothing received at all.
        assert!(matches!(
            check_voucher_issue(true, due, Decimal::ZERO),
            Err(VoucherRefusal::NotPaid { .. })
        ));
        // An unreviewed ticket is refused even when fully paid.
        assert_eq!(check_voucher_issue(false, due, due), Err(VoucherRefusal::NotConfirmed));
    }

    #[test]
    fn a_price_needs_every_approver_the_policy_names() {
        let policy = Policy::default();
        let all: Vec<String> = policy.selection.price_approvers.clone();
        assert_eq!(check_price_approvers(&all, &policy), Ok(()));
        let mut more = all.clone();
        more.push("auditor".into());
        assert_eq!(check_price_approvers(&more, &policy), Ok(()), "extra approvers are fine");
        let few = vec!["gm".to_owned(), " chairman ".to_owned()];
        let refused = check_price_approvers(&few, &policy).unwrap_err();
        assert_eq!(refused.missing, ["sales-director", "finance-director", "project-head"]);
        assert_eq!(refused.code(), "approvers_missing");
        let text = refused.to_string();
        assert!(text.starts_with("房价须经全部审批人审批"), "{text}");
        assert!(
            text.contains("销售总监（sales-director）") && text.contains("project-head"),
            "{text}"
        );
        assert_eq!(check_price_approvers(&[], &policy).unwrap_err().missing.len(), 5);
        let mut none_required = Policy::default();
        none_required.selection.price_approvers.clear();
        assert!(check_price_approvers(&[" ".to_owned()], &none_required).is_err());
        assert_eq!(check_price_approvers(&["x".to_owned()], &none_required), Ok(()));
    }
}

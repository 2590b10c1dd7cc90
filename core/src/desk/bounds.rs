//! The ranges of the numbers a desk command carries (ADR 0017).
//!
//! The server checks a command with [`validate`] where it arrives and answers 422 with the
//! [`OutOfRange`] error beyond a range, before the command is queued for the desk's writer; the
//! desk's own command functions check the same fields again with the per-field functions here,
//! so a command that reaches them some other way is refused, never computed with. A tablet may
//! call [`validate`] before it queues a command, to tell the person at once.

use rust_decimal::Decimal;

use super::command::DeskCommand;
use crate::bounds::{
    DISCOUNT_PCT, LOTTERY_NO, OutOfRange, PAYMENT_RATIO_PCT, RECEIPT_AMOUNT, SEALING_FEE,
    UNIT_PRICE, VOUCHER_NO,
};
use crate::model::DiscountLine;

/// Checks every number of `command` against its documented range; the first one outside it is
/// the error. Commands without numbers always pass. Rules (the policy's minimum ratio, the
/// discount cap, receipts matching the amount due) are the desk's to judge afterwards.
// `{ .. }` even on unit variants, so a field added to a command later keeps this compiling.
#[allow(clippy::unneeded_struct_pattern)]
pub fn validate(command: &DeskCommand) -> Result<(), OutOfRange> {
    match command {
        DeskCommand::ApprovePrice { unit_price, .. } => check_unit_price(*unit_price),
        DeskCommand::PrepareWorkTicket { payment_ratio_pct, discounts, sealing_fee, .. } => {
            check_work_ticket(*payment_ratio_pct, discounts, *sealing_fee)
        }
        DeskCommand::RecordReceipt { amount, .. } => check_receipt_amount(*amount),
        DeskCommand::Recall { lottery_no, .. } => check_lottery_no(*lottery_no),
        DeskCommand::CancelSale { voucher_no, .. } | DeskCommand::SwapUnit { voucher_no, .. } => {
            check_voucher_no(*voucher_no)
        }
        // A new variant breaks this match on purpose: its numbers need a range.
        DeskCommand::Hold { .. }
        | DeskCommand::Release { .. }
        | DeskCommand::CallNext { .. }
        | DeskCommand::Skip { .. }
        | DeskCommand::CheckIdentity { .. }
        | DeskCommand::SetMode { .. }
        | DeskCommand::ImportBuyers { .. }
        | DeskCommand::ImportLottery { .. }
        | DeskCommand::ReviewWorkTicket { .. }
        | DeskCommand::IssueVoucher { .. } => Ok(()),
    }
}

/// An approved unit price: `(0, 10,000,000]` CNY/m², to the fen.
pub fn check_unit_price(unit_price: Decimal) -> Result<(), OutOfRange> {
    UNIT_PRICE.check(unit_price).map(drop)
}

/// A work ticket's numbers: the payment ratio and every discount line in `[0, 100]` %, and the
/// sealing fee in `[0, 10,000,000]` CNY, each with at most two places.
pub fn check_work_ticket(
    payment_ratio_pct: Decimal,
    discounts: &[DiscountLine],
    sealing_fee: Decimal,
) -> Result<(), OutOfRange> {
    PAYMENT_RATIO_PCT.check(payment_ratio_pct)?;
    for line in discounts {
        DISCOUNT_PCT.check(line.pct)?;
    }
    SEALING_FEE.check(sealing_fee).map(drop)
}

/// A receipt: `(0, 10,000,000,000]` CNY, to the fen.
pub fn check_receipt_amount(amount: Decimal) -> Result<(), OutOfRange> {
    RECEIPT_AMOUNT.check(amount).map(drop)
}

/// A lottery number: `[1, 1,000,000]`.
pub fn check_lottery_no(lottery_no: u32) -> Result<(), OutOfRange> {
    LOTTERY_NO.check_u64(u64::from(lottery_no)).map(drop)
}

/// A voucher number: `[1, 1,000,000]`.
pub fn check_voucher_no(voucher_no: u32) -> Result<(), OutOfRange> {
    VOUCHER_NO.check_u64(u64::from(voucher_no)).map(drop)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn command(value: serde_json::Value) -> DeskCommand {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn the_reproduction_of_issue_18_is_out_of_range() {
        let c = command(json!({ "kind": "approve_price", "unit_id": "u1",
            "unit_price": "79228162514264337593543950335", "approvers": ["gm"] }));
        let e = validate(&c).unwrap_err();
        assert_eq!((e.field, e.code()), ("unit_price", "out_of_range"));
        let ok = command(json!({ "kind": "approve_price", "unit_id": "u1",
            "unit_price": "19500", "approvers": ["gm"] }));
        assert_eq!(validate(&ok), Ok(()));
    }

    #[test]
    fn every_number_of_a_work_ticket_is_checked() {
        let ticket = |ratio: &str, pct: &str, fee: &str| {
            command(json!({ "kind": "prepare_work_ticket", "unit_id": "u1", "hold_id": "h1",
                "payment_ratio_pct": ratio, "sealing_fee": fee,
                "discounts": [{ "code": "c", "label": "l", "pct": pct, "taken": true }] }))
        };
        assert_eq!(validate(&ticket("60", "1", "20000")), Ok(()));
        assert_eq!(validate(&ticket("100.01", "1", "0")).unwrap_err().field, "payment_ratio_pct");
        assert_eq!(validate(&ticket("60", "-1", "0")).unwrap_err().field, "discount_pct");
        assert_eq!(validate(&ticket("60", "1", "0.001")).unwrap_err().field, "sealing_fee");
        assert_eq!(validate(&ticket("60", "1", "10000000.01")).unwrap_err().field, "sealing_fee");
    }

    #[test]
    fn receipts_and_numbers_are_checked() {
        let receipt = |amount: &str| {
            command(json!({ "kind": "record_receipt", "ticket_id": "t",
                "amount": amount, "method": "transfer" }))
        };
        assert_eq!(validate(&receipt("0.01")), Ok(()));
        assert!(validate(&receipt("0")).is_err());
        assert!(validate(&receipt("10000000000.01")).is_err());
        assert!(validate(&command(json!({ "kind": "recall", "lottery_no": 0 }))).is_err());
        assert!(validate(&command(json!({ "kind": "recall", "lottery_no": 7 }))).is_ok());
        let cancel =
            |no: u32| command(json!({ "kind": "cancel_sale", "voucher_no": no, "reason": "r" }));
        assert!(validate(&cancel(0)).is_err());
        assert!(validate(&cancel(u32::MAX)).is_err());
        assert!(validate(&cancel(1)).is_ok());
        assert!(validate(&command(json!({ "kind": "call_next", "now_serving": 0 }))).is_ok());
    }
}

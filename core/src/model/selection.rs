//! What a selection (选房) produces on paper: the work ticket's terms and figures (选房工作票),
//! and the approvals behind relationship units (关系房). The rules that judge them are in
//! `rules::selection`; these are the records the caller gathers and stores.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// A discount the buyer takes or waives on the work ticket (选房工作票).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscountLine {
    /// Stable code of the discount in the sales policy, e.g. `full_payment`.
    pub code: String,
    /// The label printed on the ticket, e.g. "一次性付款优惠".
    pub label: String,
    /// Percent off the total price, e.g. `2` for 2%.
    pub pct: Decimal,
    /// Whether the buyer takes it; a waived line is printed but counts nothing.
    pub taken: bool,
}

/// What the buyer confirms on the work ticket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkTicketTerms {
    /// The approved price of the unit, CNY per square metre.
    pub approved_unit_price: Decimal,
    /// Saleable area in square metres.
    pub area_m2: Decimal,
    /// The share of the net price the buyer pays now, in percent (not below the policy's
    /// minimum, 50% by default).
    pub payment_ratio_pct: Decimal,
    /// Every discount of the sales policy, taken or waived.
    pub discounts: Vec<DiscountLine>,
    /// The sealing fee (封户费) stated on the ticket, CNY; zero when the buyer pays in full at
    /// once, because the policy omits it then.
    pub sealing_fee: Decimal,
}

/// The figures a work ticket states. Every amount is CNY rounded to the fen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkTicketFigures {
    /// Approved unit price × area.
    pub total_price: Decimal,
    /// The discounts taken, as an amount off the total price.
    pub discount_amount: Decimal,
    /// Total price less the discount amount.
    pub net_price: Decimal,
    /// Net price × payment ratio: what must be received before a voucher (选房凭证) is issued.
    /// The sealing fee is not part of it.
    pub amount_due: Decimal,
    /// The sealing fee, stated separately.
    pub sealing_fee: Decimal,
}

/// The written approval of a relationship unit (关系房): the paper every release needs,
/// listing the average price, the payment ratio and the payment date.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrittenApproval {
    /// The day the paper was signed.
    pub signed_on: NaiveDate,
    /// Approved average price, CNY per square metre (均价).
    pub average_unit_price: Decimal,
    /// Approved payment ratio in percent (交款比例).
    pub payment_ratio_pct: Decimal,
    /// The day by which the buyer must pay (交款时间).
    pub payment_due_on: NaiveDate,
}

/// How one release of a relationship unit was approved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "form", rename_all = "snake_case")]
pub enum RelationshipApproval {
    /// Approved on paper from the start.
    Written {
        /// The paper.
        approval: WrittenApproval,
    },
    /// An urgent approval telephoned by the general manager or someone above (总经理级别以上),
    /// which must be backed by paper within the policy's working days. Whether the caller
    /// ranked high enough is checked where the approval is recorded, from the caller's role.
    Phone {
        /// The day of the phone call.
        approved_on: NaiveDate,
        /// The paper that backs it, once it has arrived.
        paper: Option<WrittenApproval>,
    },
}

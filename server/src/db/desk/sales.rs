//! Prices, work tickets and their reviews, receipts and vouchers (with red-ink reversals).
//! The rules (who may do what, the figures, the checked money arithmetic) stay with
//! `desk::sales`; this is what it reads and writes. Amounts are exact decimals, stored as
//! text.

use kam_core::model::{UnitStatus, WorkTicketFigures, WorkTicketTerms};
use rust_decimal::Decimal;

use crate::db::DbError;

/// An approved unit price to record.
#[derive(Clone, Copy, Debug)]
pub struct PriceApproval<'a> {
    /// The unit's project.
    pub project_id: &'a str,
    /// The unit.
    pub unit_id: &'a str,
    /// The approved price, CNY per square metre.
    pub unit_price: Decimal,
    /// Who approved it.
    pub approvers: &'a [String],
    /// When, as the desk stores instants.
    pub approved_at: &'a str,
}

/// A unit as a work ticket is drawn up for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnitForTicket {
    /// Its status.
    pub status: UnitStatus,
    /// Saleable area, square metres.
    pub area_m2: Decimal,
    /// The approved price, if any.
    pub unit_price: Option<Decimal>,
    /// The event holding it; empty when none does.
    pub event_id: String,
    /// The buyer it is held or sold for.
    pub buyer_id: Option<String>,
    /// The hold on it.
    pub hold_id: Option<String>,
}

/// A work ticket to write.
#[derive(Clone, Copy, Debug)]
pub struct NewWorkTicket<'a> {
    /// Its id.
    pub ticket_id: &'a str,
    /// The event.
    pub event_id: &'a str,
    /// The hold it is drawn up under.
    pub hold_id: &'a str,
    /// The unit.
    pub unit_id: &'a str,
    /// The buyer.
    pub buyer_id: &'a str,
    /// What the buyer confirms.
    pub terms: &'a WorkTicketTerms,
    /// The figures computed from the terms.
    pub figures: &'a WorkTicketFigures,
    /// Who drew it up.
    pub prepared_by: &'a str,
    /// When.
    pub prepared_at: &'a str,
}

/// A work ticket as read for review, receipts and vouchers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicketRow {
    /// The hold it was drawn up under.
    pub hold_id: String,
    /// The unit.
    pub unit_id: String,
    /// The buyer.
    pub buyer_id: String,
    /// What must be received before a voucher.
    pub amount_due: Decimal,
    /// Who drew it up.
    pub prepared_by: String,
    /// The ticket it reverses, when it is a red ticket.
    pub reverses: Option<String>,
    /// Whether a red ticket reverses it.
    pub reversed: bool,
}

/// A receipt to write.
#[derive(Clone, Copy, Debug)]
pub struct NewReceipt<'a> {
    /// Its id.
    pub receipt_id: &'a str,
    /// The event.
    pub event_id: &'a str,
    /// The ticket paid against.
    pub ticket_id: &'a str,
    /// The amount received.
    pub amount: Decimal,
    /// How it was paid.
    pub method: &'a str,
    /// When.
    pub received_at: &'a str,
    /// Who recorded it.
    pub recorded_by: &'a str,
}

/// An event's pre-numbered voucher series.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VoucherSeries {
    /// The next number to issue.
    pub next: u32,
    /// The last number of the series.
    pub last: u32,
    /// The prefix of every voucher code.
    pub prefix: String,
}

/// A voucher to write.
#[derive(Clone, Copy, Debug)]
pub struct NewVoucher<'a> {
    /// The event.
    pub event_id: &'a str,
    /// Its number in the event's series.
    pub voucher_no: u32,
    /// Its printed code.
    pub voucher_code: &'a str,
    /// The ticket it is issued for.
    pub ticket_id: &'a str,
    /// The buyer.
    pub buyer_id: &'a str,
    /// The unit.
    pub unit_id: &'a str,
    /// The amount (negative on a red voucher).
    pub amount: Decimal,
    /// When.
    pub issued_at: &'a str,
    /// Who issued it.
    pub issued_by: &'a str,
}

/// A voucher as read for its reversal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VoucherRow {
    /// The ticket it was issued for.
    pub ticket_id: String,
    /// The buyer.
    pub buyer_id: String,
    /// The unit.
    pub unit_id: String,
    /// The amount.
    pub amount: Decimal,
    /// The voucher it reverses, when it is a red voucher.
    pub reverses: Option<u32>,
    /// Whether a red voucher reverses it.
    pub reversed: bool,
}

/// The desk's sales records.
pub trait DeskSales {
    /// How many receipts were recorded against the work tickets of `hold_id`.
    fn receipts_for_hold(&self, hold_id: &str) -> Result<i64, DbError>;
    /// The unit's approved price, if it has one. The unit must exist.
    fn approved_unit_price(
        &self,
        project_id: &str,
        unit_id: &str,
    ) -> Result<Option<Decimal>, DbError>;

    /// Records an approved price and its approvers on the unit.
    fn set_unit_price(&self, approval: &PriceApproval<'_>) -> Result<(), DbError>;

    /// The unit as a work ticket is drawn up for it, if it exists.
    fn unit_for_ticket(
        &self,
        project_id: &str,
        unit_id: &str,
    ) -> Result<Option<UnitForTicket>, DbError>;

    /// The live ticket (not a reversal, not reversed) drawn up under `hold_id`, if any.
    fn live_ticket_of_hold(&self, hold_id: &str) -> Result<Option<String>, DbError>;

    /// Writes a work ticket.
    fn insert_work_ticket(&self, ticket: &NewWorkTicket<'_>) -> Result<(), DbError>;

    /// The ticket `ticket_id` of `event_id`, if it exists, reversal or reversed alike.
    fn work_ticket(&self, ticket_id: &str, event_id: &str) -> Result<Option<TicketRow>, DbError>;

    /// Records a ticket's review; `false` when it was already reviewed.
    fn insert_ticket_review(
        &self,
        ticket_id: &str,
        reviewed_by: &str,
        reviewed_at: &str,
    ) -> Result<bool, DbError>;

    /// Whether the ticket was reviewed.
    fn ticket_reviewed(&self, ticket_id: &str) -> Result<bool, DbError>;

    /// Seals the hold `hold_id`: it no longer lapses.
    fn seal_hold(&self, hold_id: &str) -> Result<(), DbError>;

    /// Every amount received against the ticket, red receipts included.
    fn receipt_amounts(&self, ticket_id: &str) -> Result<Vec<Decimal>, DbError>;

    /// Writes a receipt.
    fn insert_receipt(&self, receipt: &NewReceipt<'_>) -> Result<(), DbError>;

    /// The event's voucher series. The event must exist.
    fn voucher_series(&self, event_id: &str) -> Result<VoucherSeries, DbError>;

    /// Takes the next number of the event's voucher series.
    fn advance_voucher_series(&self, event_id: &str) -> Result<(), DbError>;

    /// Whether a (not red) voucher was issued for the ticket.
    fn ticket_vouchered(&self, ticket_id: &str) -> Result<bool, DbError>;

    /// Marks the unit sold if it is held under `hold_id`; how many units changed (0 or 1).
    fn mark_unit_sold(
        &self,
        project_id: &str,
        unit_id: &str,
        hold_id: &str,
    ) -> Result<usize, DbError>;

    /// Ends the hold as sold at `ended_at`.
    fn end_hold_sold(&self, hold_id: &str, ended_at: &str) -> Result<(), DbError>;

    /// Writes a voucher.
    fn insert_voucher(&self, voucher: &NewVoucher<'_>) -> Result<(), DbError>;

    /// The voucher `voucher_no` of `event_id`, if it exists.
    fn voucher(&self, event_id: &str, voucher_no: u32) -> Result<Option<VoucherRow>, DbError>;

    /// Writes a red voucher that reverses `reverses` for `reason`.
    fn insert_red_voucher(
        &self,
        voucher: &NewVoucher<'_>,
        reverses: u32,
        reason: &str,
    ) -> Result<(), DbError>;

    /// Writes `red_ticket_id`, the red copy of `ticket_id` (every amount negated) that
    /// reverses it for `reason`.
    fn insert_red_ticket(
        &self,
        ticket_id: &str,
        red_ticket_id: &str,
        prepared_by: &str,
        prepared_at: &str,
        reason: &str,
    ) -> Result<(), DbError>;

    /// Writes a red receipt for each receipt of the ticket that is not itself red; how many.
    fn insert_red_receipts(
        &self,
        ticket_id: &str,
        received_at: &str,
        recorded_by: &str,
    ) -> Result<usize, DbError>;

    /// Frees the unit if it is sold; how many units changed (0 or 1).
    fn free_sold_unit(&self, project_id: &str, unit_id: &str) -> Result<usize, DbError>;
}

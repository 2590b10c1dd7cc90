//! What the finance console and the printed papers read from the desk: an event's work
//! tickets with their review, receipts and voucher, its receipts and vouchers (red ones
//! included), and for one paper its unit, buyer, ticket and the ledger entry that made it.
//! Reads only; one query per list, never one per row.

use kam_core::model::{WorkTicketFigures, WorkTicketTerms};
use rust_decimal::Decimal;

use crate::db::DbError;

/// A live work ticket of an event (neither a red ticket nor reversed), with where it stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BookTicket {
    /// The ticket.
    pub ticket_id: String,
    /// The hold it was drawn up for.
    pub hold_id: String,
    /// The unit.
    pub unit_id: String,
    /// The unit's code on the plan.
    pub unit_code: String,
    /// The buyer.
    pub buyer_id: String,
    /// The buyer's name in clear: the page masks it before it leaves the server.
    pub buyer_name: String,
    /// Approved unit price × area.
    pub total_price: Decimal,
    /// The discounts taken, as an amount.
    pub discount_amount: Decimal,
    /// Total less discounts.
    pub net_price: Decimal,
    /// The payment ratio the buyer confirmed, percent.
    pub payment_ratio_pct: Decimal,
    /// What must be received before a voucher.
    pub amount_due: Decimal,
    /// The sealing fee (封户费).
    pub sealing_fee: Decimal,
    /// Who drew it up.
    pub prepared_by: String,
    /// When (as stored).
    pub prepared_at: String,
    /// Who confirmed it, once reviewed.
    pub reviewed_by: Option<String>,
    /// When it was confirmed.
    pub reviewed_at: Option<String>,
    /// The voucher in force issued for it, if any.
    pub voucher_no: Option<u32>,
}

/// One receipt of an event, red ones (negative, naming the receipt they reverse) included.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BookReceipt {
    /// The receipt.
    pub receipt_id: String,
    /// The ticket it pays.
    pub ticket_id: String,
    /// The ticket's unit code.
    pub unit_code: String,
    /// The amount (negative for a red receipt).
    pub amount: Decimal,
    /// How it was paid (`transfer`, `card`, `cash`, `cheque`, or what was typed).
    pub method: String,
    /// When (as stored).
    pub received_at: String,
    /// Who recorded it.
    pub recorded_by: String,
    /// The receipt a red one reverses.
    pub reverses: Option<String>,
}

/// One voucher of an event, black or red.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BookVoucher {
    /// Its number in the event's series.
    pub voucher_no: u32,
    /// Its printed code.
    pub voucher_code: String,
    /// The work ticket it was issued on.
    pub ticket_id: String,
    /// The unit.
    pub unit_id: String,
    /// The unit's code.
    pub unit_code: String,
    /// The buyer.
    pub buyer_id: String,
    /// The buyer's name in clear (masked by the page).
    pub buyer_name: String,
    /// The amount received (negative on a red voucher).
    pub amount: Decimal,
    /// When (as stored).
    pub issued_at: String,
    /// Who issued it.
    pub issued_by: String,
    /// For a red voucher, the number of the voucher it reverses.
    pub reverses: Option<u32>,
    /// For a red voucher, why.
    pub reason: Option<String>,
    /// For a black voucher, the red one that reversed it.
    pub reversed_by: Option<u32>,
}

/// A unit as a paper prints it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaperUnit {
    /// The unit.
    pub unit_id: String,
    /// Its code.
    pub code: String,
    /// Its building's name.
    pub building: String,
    /// Its floor.
    pub floor: i32,
    /// Its layout.
    pub layout: String,
    /// Its area, m².
    pub area_m2: Decimal,
    /// Its approved unit price now, if approved.
    pub unit_price: Option<Decimal>,
}

/// A buyer as a paper prints them: the name in clear (masked by the page) and the ID number
/// only as the list keeps it, masked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaperBuyer {
    /// The buyer.
    pub buyer_id: String,
    /// Their name in clear.
    pub name: String,
    /// Their ID number, masked.
    pub id_number_masked: String,
    /// Their lottery number.
    pub lottery_no: Option<u32>,
}

/// A hold, for the unit confirmation (房源确认单).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaperHold {
    /// The hold.
    pub hold_id: String,
    /// `active`, `sold`, `released` or `expired`.
    pub state: String,
    /// Who placed it.
    pub held_by: String,
    /// When.
    pub held_at: String,
    /// When it lapses (unless sealed by a review).
    pub expires_at: String,
    /// The unit held.
    pub unit: PaperUnit,
    /// The buyer it is held for.
    pub buyer: PaperBuyer,
}

/// A work ticket (black or red), for the papers.
#[derive(Clone, Debug, PartialEq)]
pub struct PaperTicket {
    /// The ticket.
    pub ticket_id: String,
    /// The hold it was drawn up for.
    pub hold_id: String,
    /// What the buyer confirmed.
    pub terms: WorkTicketTerms,
    /// Its figures as stored.
    pub figures: WorkTicketFigures,
    /// Who drew it up.
    pub prepared_by: String,
    /// When.
    pub prepared_at: String,
    /// Who confirmed it.
    pub reviewed_by: Option<String>,
    /// The ticket a red one reverses.
    pub reverses: Option<String>,
    /// The unit.
    pub unit: PaperUnit,
    /// The buyer.
    pub buyer: PaperBuyer,
    /// The receipts recorded against it, red ones included, in order.
    pub receipts: Vec<BookReceipt>,
}

/// Which paper's ledger entry to find.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaperOf<'a> {
    /// The unit confirmation of a hold: its `hold` entry.
    Confirmation(&'a str),
    /// A work ticket: its `work_ticket_prepared` entry.
    WorkTicket(&'a str),
    /// A voucher: its `voucher_issued` entry.
    Voucher(u32),
    /// A red voucher: the `sale_cancelled` entry that issued it.
    Red(u32),
}

/// The ledger entry that made a paper.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaperEntry {
    /// Its sequence number.
    pub seq: i64,
    /// When.
    pub at: String,
    /// Its kind.
    pub kind: String,
    /// Its hash.
    pub hash: Vec<u8>,
}

/// The finance console's and the papers' reads.
pub trait DeskBooks {
    /// The event's name (empty if the desk keeps none), `None` if no desk is open for it.
    fn event_name(&self, event_id: &str) -> Result<Option<String>, DbError>;
    /// The event's live work tickets with their review and voucher, oldest first.
    fn event_tickets(&self, event_id: &str) -> Result<Vec<BookTicket>, DbError>;
    /// Every receipt of the event, red ones included, in the order they were recorded.
    fn event_receipts(&self, event_id: &str) -> Result<Vec<BookReceipt>, DbError>;
    /// Every voucher of the event, black and red, by number.
    fn event_vouchers(&self, event_id: &str) -> Result<Vec<BookVoucher>, DbError>;
    /// The voucher `voucher_no` of the event.
    fn event_voucher(
        &self,
        event_id: &str,
        voucher_no: u32,
    ) -> Result<Option<BookVoucher>, DbError>;
    /// The hold `hold_id` of the event, with its unit and buyer.
    fn paper_hold(&self, event_id: &str, hold_id: &str) -> Result<Option<PaperHold>, DbError>;
    /// The work ticket `ticket_id` of the event, with its unit, buyer and receipts.
    fn paper_ticket(&self, event_id: &str, ticket_id: &str)
    -> Result<Option<PaperTicket>, DbError>;
    /// The ledger entry of the event that made the paper `of` (the first, if several).
    fn paper_entry(&self, event_id: &str, of: PaperOf<'_>) -> Result<Option<PaperEntry>, DbError>;
}

//! What a desk command says and what the desk answers, as JSON on the HTTP API and in the
//! tablets' outbox. The server and the tablets share these types.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::model::{DiscountLine, SelectionMode};

/// The longest idempotency key accepted.
pub const MAX_KEY_LEN: usize = 128;

/// One command, under the idempotency key the client stored before its first send.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandRequest {
    /// Chosen by the client (a UUID), stored with the command before it is first sent.
    pub idempotency_key: String,
    /// The event the command acts on.
    pub event_id: String,
    /// The command.
    pub command: DeskCommand,
}

/// Every command the desk takes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum DeskCommand {
    /// Hold a unit for a buyer until the policy's hold time passes.
    Hold {
        /// The unit.
        unit_id: String,
        /// The buyer.
        buyer_id: String,
    },
    /// Release a held (not sold) unit, e.g. the buyer changed their mind.
    Release {
        /// The unit.
        unit_id: String,
        /// The hold the sender saw on the unit: a release made against one hold never frees
        /// a later one (a release queued offline may arrive after the hold lapsed and another
        /// buyer's was placed).
        hold_id: String,
        /// Why.
        reason: String,
    },
    /// Call the next lottery number (叫号).
    CallNext {
        /// The number being served on the sender's screen (0 before anyone was called): a
        /// call made while another desk already called the next number is refused, not
        /// applied again (which would pass over a buyer).
        now_serving: u32,
    },
    /// Skip the buyer now called; they keep their number and may be recalled.
    Skip {
        /// The number the sender skips: it must still be the one being served.
        lottery_no: u32,
    },
    /// Call a skipped buyer again.
    Recall {
        /// Their lottery number.
        lottery_no: u32,
    },
    /// Check the ID card of the buyer at the desk (身份核验) against the list: the number
    /// typed or scanned is hashed on the server and compared; it is never stored.
    CheckIdentity {
        /// The buyer the person says they are.
        buyer_id: String,
        /// The number on their ID card.
        id_number: String,
    },
    /// Switch between strict lottery order and free selection.
    SetMode {
        /// The new mode.
        mode: SelectionMode,
    },
    /// Add buyers to the approved list from CSV lines `name,id_number` (audited list).
    ImportBuyers {
        /// The CSV text; a header line is allowed.
        csv: String,
    },
    /// Import the notary's lottery order from CSV lines `order_no,name,id_number`.
    ImportLottery {
        /// The CSV text; a header line is allowed.
        csv: String,
    },
    /// Record an approved price with its approvers (HQ).
    ApprovePrice {
        /// The unit.
        unit_id: String,
        /// Approved price per square metre, CNY.
        unit_price: Decimal,
        /// Who approved it.
        approvers: Vec<String>,
        /// The approved price the sender saw on the unit (absent if it had none): an
        /// approval made against one price never silently replaces another approved since.
        #[serde(default)]
        price_seen: Option<Decimal>,
    },
    /// Draw up the selection work ticket (选房工作票) for a held unit.
    PrepareWorkTicket {
        /// The unit, held for the buyer.
        unit_id: String,
        /// The hold the ticket is drawn up for.
        hold_id: String,
        /// Payment ratio the buyer confirms, percent.
        payment_ratio_pct: Decimal,
        /// Discounts taken or waived.
        discounts: Vec<DiscountLine>,
        /// Sealing fee (封户费), CNY.
        sealing_fee: Decimal,
    },
    /// A second person checks the work ticket and confirms it.
    ReviewWorkTicket {
        /// The ticket.
        ticket_id: String,
    },
    /// Record money received against a work ticket.
    RecordReceipt {
        /// The ticket.
        ticket_id: String,
        /// Amount, CNY.
        amount: Decimal,
        /// Payment method (transfer, card, ...).
        method: String,
    },
    /// Issue the selection voucher (选房凭证) once receipts match the amount due.
    IssueVoucher {
        /// The ticket.
        ticket_id: String,
    },
    /// Cancel a sale: red voucher, red work ticket, red receipts, and the unit is free again.
    CancelSale {
        /// The voucher to reverse.
        voucher_no: u32,
        /// Why.
        reason: String,
    },
    /// Swap to another allotted unit: the sale is reversed in red and the new unit is held for
    /// the same buyer, who then gets a new ticket and voucher.
    SwapUnit {
        /// The voucher to reverse.
        voucher_no: u32,
        /// The unit to move to.
        new_unit_id: String,
        /// Why.
        reason: String,
    },
}

impl DeskCommand {
    /// Whether the command carries national ID numbers in clear. Such a command is sent
    /// straight to the desk and never queued on a device: ID numbers are never kept on one.
    pub fn carries_id_numbers(&self) -> bool {
        matches!(
            self,
            DeskCommand::CheckIdentity { .. }
                | DeskCommand::ImportBuyers { .. }
                | DeskCommand::ImportLottery { .. }
        )
    }

    /// The stable name recorded in the ledger and the metrics.
    pub fn name(&self) -> &'static str {
        match self {
            DeskCommand::Hold { .. } => "hold",
            DeskCommand::Release { .. } => "release",
            DeskCommand::CallNext { .. } => "call_next",
            DeskCommand::Skip { .. } => "skip",
            DeskCommand::Recall { .. } => "recall",
            DeskCommand::CheckIdentity { .. } => "check_identity",
            DeskCommand::SetMode { .. } => "set_mode",
            DeskCommand::ImportBuyers { .. } => "import_buyers",
            DeskCommand::ImportLottery { .. } => "import_lottery",
            DeskCommand::ApprovePrice { .. } => "approve_price",
            DeskCommand::PrepareWorkTicket { .. } => "prepare_work_ticket",
            DeskCommand::ReviewWorkTicket { .. } => "review_work_ticket",
            DeskCommand::RecordReceipt { .. } => "record_receipt",
            DeskCommand::IssueVoucher { .. } => "issue_voucher",
            DeskCommand::CancelSale { .. } => "cancel_sale",
            DeskCommand::SwapUnit { .. } => "swap_unit",
        }
    }
}

/// Whether the desk carried the command out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Done; the result says what changed.
    Accepted,
    /// Refused by a rule; nothing changed, and the refusal says why.
    Rejected,
}

/// The refusal code of a command made against a state that has moved on (another hold, a
/// queue that advanced, a price approved since): the command was not applied to the new state.
pub const STALE_STATE: &str = "stale_state";

/// Why a rule refused a command: a stable code for programs, a message for people.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    /// Stable machine code, e.g. `unit_not_available`.
    pub code: String,
    /// Chinese first, English after.
    pub message: String,
}

impl Refusal {
    /// A refusal with `code` and `message`.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Refusal {
        Refusal { code: code.into(), message: message.into() }
    }
}

/// The desk's answer, stored under the key and returned again to every retry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CommandAnswer {
    /// The key the answer is stored under.
    pub idempotency_key: String,
    /// The command's name.
    pub command: String,
    /// Accepted or rejected.
    pub outcome: Outcome,
    /// What changed (command-specific), when accepted.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub result: serde_json::Value,
    /// Why not, when rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<Refusal>,
    /// The last ledger entry the command wrote, when accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger_seq: Option<i64>,
    /// When the desk answered (RFC 3339, UTC).
    pub answered_at: String,
}

/// What the desk granted with an accepted hold: the hold's id and when it lapses unless a
/// work ticket seals it first. The desk puts both in the hold's answer (`result.hold_id`,
/// `result.expires_at`), so a tablet shows the hold the moment it is answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HoldGranted {
    /// The hold, named by a later release or work ticket.
    pub hold_id: String,
    /// When the desk lets the hold lapse.
    pub expires_at: DateTime<Utc>,
}

impl CommandAnswer {
    /// The hold an accepted `hold` answer granted; `None` for any other answer, or one
    /// without a readable id and expiry (an answer stored by an older desk).
    pub fn hold_granted(&self) -> Option<HoldGranted> {
        if self.outcome != Outcome::Accepted || self.command != "hold" {
            return None;
        }
        let hold_id = self.result["hold_id"].as_str()?.to_owned();
        let expires_at = DateTime::parse_from_rfc3339(self.result["expires_at"].as_str()?)
            .ok()?
            .with_timezone(&Utc);
        Some(HoldGranted { hold_id, expires_at })
    }
}

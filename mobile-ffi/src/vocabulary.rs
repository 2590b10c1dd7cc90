//! kam-core's enums, declared to uniffi as they are (see `types` for how the mirrors work):
//! the closed vocabularies (tier, grade, statuses...), the SLA state, what the control table
//! shows, and the desk's commands.

use kam_core::desk::{DeskCommand, TableStatus};
use kam_core::doc::DocKind;
use kam_core::model::{
    DiscountLine, Grade, PaymentTerms, SelectionMode, TicketKind, TicketPriority, TicketStatus,
    Tier, UnitStatus, VisitLevel,
};
use kam_core::replica::OutboxStatus;
use kam_core::rules::SlaState;
use rust_decimal::Decimal;

use crate::types::{TimeSpan, Timestamp};

/// A customer's tier (客户分级).
#[uniffi::remote(Enum)]
pub enum Tier {
    /// 战略客户: designated by management.
    Strategic,
    /// 重点客户.
    Key,
    /// 主要客户.
    Main,
    /// 一般客户.
    General,
}

/// A customer's grade from the 100-point score.
#[uniffi::remote(Enum)]
pub enum Grade {
    /// Top 20%.
    A,
    /// Next 30%.
    B,
    /// Next 40%.
    C,
    /// Last 10%.
    D,
}

/// Agreed payment terms.
#[uniffi::remote(Enum)]
pub enum PaymentTerms {
    /// Due this many days after delivery (远期付款).
    NetDays {
        /// Days after delivery.
        days: u32,
    },
    /// Cash on delivery (货到付款).
    CashOnDelivery,
    /// Payment before delivery (款到发货).
    PaymentBeforeDelivery,
}

/// Who from our side met the customer (拜访层级).
#[uniffi::remote(Enum)]
pub enum VisitLevel {
    /// 高层互访.
    Leadership,
    /// 大客户经理拜访.
    AccountManager,
    /// 技术拜访.
    Technical,
    /// 质量拜访.
    Quality,
}

/// What kind of request a ticket is.
#[uniffi::remote(Enum)]
pub enum TicketKind {
    /// A question (询价/咨询).
    Inquiry,
    /// After-sales service (售后服务).
    AfterSales,
    /// A quality problem: closing needs a verified preventive action.
    Quality,
    /// A complaint (投诉).
    Complaint,
    /// A delivery problem (交货问题).
    Delivery,
}

/// Ticket priority, most urgent first.
#[uniffi::remote(Enum)]
pub enum TicketPriority {
    /// Serious complaint or stopped production.
    Urgent,
    /// Soon.
    High,
    /// Ordinary.
    Normal,
    /// Can wait.
    Low,
}

/// Where a ticket is in its life.
#[uniffi::remote(Enum)]
pub enum TicketStatus {
    /// Received.
    New,
    /// Being worked on.
    InProgress,
    /// Handed to a cross-department group.
    Escalated,
    /// Solved; waiting for the follow-up call.
    Resolved,
    /// Done.
    Closed,
    /// Opened again.
    Reopened,
}

/// A unit's status as the server last sent it. Only the server changes it.
#[uniffi::remote(Enum)]
pub enum UnitStatus {
    /// Free.
    Available,
    /// Held for a buyer.
    Held,
    /// Sold.
    Sold,
    /// Withdrawn from sale.
    Withdrawn,
}

/// How an event's queue is enforced.
#[uniffi::remote(Enum)]
pub enum SelectionMode {
    /// Strictly in lottery order.
    StrictOrder,
    /// Any listed buyer may select.
    Free,
}

/// Where a queued desk command is in its life.
#[uniffi::remote(Enum)]
pub enum OutboxStatus {
    /// Waiting for the desk's answer: shown as pending, never as done.
    Pending,
    /// The desk accepted it.
    Accepted,
    /// The desk refused it; the refusal says why. Stays until dismissed.
    Rejected,
    /// A person has seen the answer.
    Dismissed,
}

/// The kinds of document, one per aggregate.
#[uniffi::remote(Enum)]
pub enum DocKind {
    /// A customer with contacts and visits.
    Customer,
    /// A service ticket.
    Ticket,
    /// A project's buildings and units.
    Project,
    /// A selection event.
    Event,
    /// A development lead.
    Lead,
    /// A customer's yearly account plan.
    Plan,
    /// A satisfaction survey.
    Survey,
    /// A person's scorecard.
    Scorecard,
    /// A monthly leadership review.
    Review,
    /// A commissioning organisation.
    Organisation,
}

/// Where a ticket stands against the 24-hour reply rule.
#[uniffi::remote(Enum)]
pub enum SlaState {
    /// First reply on time.
    Met {
        /// When.
        replied_at: Timestamp,
    },
    /// First reply late.
    Breached {
        /// When.
        replied_at: Timestamp,
        /// How late.
        late_by: TimeSpan,
    },
    /// No reply yet; plenty of time.
    Pending {
        /// Reply due by.
        due_at: Timestamp,
        /// Time left.
        remaining: TimeSpan,
    },
    /// No reply yet; the warning window has started.
    DueSoon {
        /// Reply due by.
        due_at: Timestamp,
        /// Time left.
        remaining: TimeSpan,
    },
    /// No reply and past due.
    Overdue {
        /// Reply was due by.
        due_at: Timestamp,
        /// How long past due.
        overdue_by: TimeSpan,
    },
}

/// What the tablet shows for a unit on the control table.
#[uniffi::remote(Enum)]
pub enum TableStatus {
    /// The server's status, as last synced.
    Synced(UnitStatus),
    /// This tablet asked to hold it and has no answer yet: pending, never held.
    HoldPending,
    /// This tablet asked to release it and has no answer yet.
    ReleasePending,
    /// The desk accepted this tablet's hold: held, with the hold id and expiry of its answer,
    /// before and after the synced documents show it.
    HeldHere,
    /// The desk accepted this tablet's release: available, before and after the synced
    /// documents show it.
    Released,
}

/// A selection-desk command (see the README's selection desk section).
#[uniffi::remote(Enum)]
pub enum DeskCommand {
    /// Hold a unit for a buyer.
    Hold {
        /// The unit.
        unit_id: String,
        /// The buyer.
        buyer_id: String,
    },
    /// Release a held, unsold unit.
    Release {
        /// The unit.
        unit_id: String,
        /// The hold seen on the unit (a later hold is never released by this command).
        hold_id: String,
        /// Why.
        reason: String,
    },
    /// Call the next lottery number (叫号).
    CallNext {
        /// The number being served on this screen (0 before anyone was called).
        now_serving: u32,
    },
    /// Skip the buyer now called.
    Skip {
        /// The number skipped: it must still be the one being served.
        lottery_no: u32,
    },
    /// Call a skipped buyer again.
    Recall {
        /// Their lottery number.
        lottery_no: u32,
    },
    /// Check a buyer's ID card (online only: never queued on a device).
    CheckIdentity {
        /// The buyer.
        buyer_id: String,
        /// The number on the card.
        id_number: String,
    },
    /// Switch between lottery order and free selection.
    SetMode {
        /// The new mode.
        mode: SelectionMode,
    },
    /// Add buyers from CSV `name,id_number` (online only).
    ImportBuyers {
        /// The CSV text.
        csv: String,
    },
    /// Import the lottery order from CSV `order_no,name,id_number` (online only).
    ImportLottery {
        /// The CSV text.
        csv: String,
    },
    /// Record an approved price (HQ).
    ApprovePrice {
        /// The unit.
        unit_id: String,
        /// CNY per square metre.
        unit_price: Decimal,
        /// Who approved it.
        approvers: Vec<String>,
        /// The approved price seen on the unit, if it had one.
        price_seen: Option<Decimal>,
    },
    /// Draw up the work ticket (选房工作票) for a held unit.
    PrepareWorkTicket {
        /// The unit.
        unit_id: String,
        /// The hold the ticket is for.
        hold_id: String,
        /// Payment ratio, percent.
        payment_ratio_pct: Decimal,
        /// Discounts taken or waived.
        discounts: Vec<DiscountLine>,
        /// Sealing fee (封户费), CNY.
        sealing_fee: Decimal,
    },
    /// A second person confirms the work ticket.
    ReviewWorkTicket {
        /// The ticket.
        ticket_id: String,
    },
    /// Record money received.
    RecordReceipt {
        /// The ticket.
        ticket_id: String,
        /// CNY.
        amount: Decimal,
        /// Transfer, card, ...
        method: String,
    },
    /// Issue the selection voucher (选房凭证).
    IssueVoucher {
        /// The ticket.
        ticket_id: String,
    },
    /// Cancel a sale in red ink.
    CancelSale {
        /// The voucher.
        voucher_no: u32,
        /// Why.
        reason: String,
    },
    /// Move a sale to another unit.
    SwapUnit {
        /// The voucher.
        voucher_no: u32,
        /// The new unit.
        new_unit_id: String,
        /// Why.
        reason: String,
    },
}

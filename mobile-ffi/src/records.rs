//! Records of this layer's own: the core types whose maps uniffi cannot carry (entities keyed
//! by id become lists, ordered by id as the core keeps them) and the outbox entry, whose JSON
//! payload and answer are read into typed fields here so the apps never parse JSON.

use kam_core::desk::{CommandAnswer, DeskCommand, Refusal};
use kam_core::doc::DocKind;
use kam_core::model::{
    Buyer, Classification, Contact, CreditTerms, CustomerId, CustomerProfile, EventId, FollowUp,
    LatePayment, PreventiveAction, ProjectId, Reply, SelectionMode, StatusChange, TicketId,
    TicketKind, TicketPriority, TicketStatus, UnitId, UserId, VisitRecord,
};
use kam_core::replica::OutboxStatus;
use rust_decimal::Decimal;

use crate::types::Timestamp;

/// A whole customer (客户档案).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Customer {
    /// Stable id.
    pub id: CustomerId,
    /// When it was created.
    pub created_at: Timestamp,
    /// Descriptive profile.
    pub profile: CustomerProfile,
    /// Sales with us per calendar year, oldest first.
    pub annual_sales: Vec<AnnualSales>,
    /// Profit contribution of the last year, CNY.
    pub profit_contribution: Decimal,
    /// The reps who own the account.
    pub owners: Vec<UserId>,
    /// Tier, grade, score (finance and HQ write these).
    pub classification: Classification,
    /// Credit and payment terms (finance and HQ write these).
    pub credit: CreditTerms,
    /// Contacts, by id.
    pub contacts: Vec<Contact>,
    /// Visit records, by id (ids are time-ordered, so oldest first).
    pub visits: Vec<VisitRecord>,
    /// Late payments, by id.
    pub late_payments: Vec<LatePayment>,
}

/// One year's sales with a customer.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AnnualSales {
    /// Calendar year.
    pub year: i32,
    /// CNY.
    pub amount: Decimal,
}

impl From<kam_core::model::Customer> for Customer {
    fn from(c: kam_core::model::Customer) -> Self {
        Customer {
            id: c.id,
            created_at: c.created_at,
            profile: c.profile,
            annual_sales: c
                .annual_sales
                .into_iter()
                .map(|(year, amount)| AnnualSales { year, amount })
                .collect(),
            profit_contribution: c.profit_contribution,
            owners: c.owners,
            classification: c.classification,
            credit: c.credit,
            contacts: c.contacts.into_values().collect(),
            visits: c.visits.into_values().collect(),
            late_payments: c.late_payments.into_values().collect(),
        }
    }
}

/// What a rep types to open a ticket; the rest (id, time, author, status `new`) is filled in.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct NewTicket {
    /// The customer it belongs to.
    pub customer_id: CustomerId,
    /// Kind of request.
    pub kind: TicketKind,
    /// Priority.
    pub priority: TicketPriority,
    /// One-line summary.
    pub title: String,
    /// What the customer asked or reported.
    pub description: String,
    /// Named service owner, if any (strategic customers need one).
    pub owner: Option<UserId>,
}

/// A whole service ticket.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ServiceTicket {
    /// Stable id.
    pub id: TicketId,
    /// The customer.
    pub customer_id: CustomerId,
    /// Kind.
    pub kind: TicketKind,
    /// Priority.
    pub priority: TicketPriority,
    /// Summary.
    pub title: String,
    /// Description.
    pub description: String,
    /// Received at.
    pub opened_at: Timestamp,
    /// Received by.
    pub opened_by: UserId,
    /// Service owner.
    pub owner: Option<UserId>,
    /// Current status.
    pub status: TicketStatus,
    /// Status history, oldest first.
    pub history: Vec<StatusChange>,
    /// Replies, oldest first.
    pub replies: Vec<Reply>,
    /// Preventive action (quality tickets).
    pub preventive_action: Option<PreventiveAction>,
    /// Follow-up call, once made.
    pub follow_up: Option<FollowUp>,
    /// The statuses this ticket may move to next, for the app's buttons.
    pub allowed_next: Vec<TicketStatus>,
}

impl From<kam_core::model::ServiceTicket> for ServiceTicket {
    fn from(t: kam_core::model::ServiceTicket) -> Self {
        ServiceTicket {
            allowed_next: kam_core::rules::allowed_transitions(t.status).to_vec(),
            id: t.id,
            customer_id: t.customer_id,
            kind: t.kind,
            priority: t.priority,
            title: t.title,
            description: t.description,
            opened_at: t.opened_at,
            opened_by: t.opened_by,
            owner: t.owner,
            status: t.status,
            history: t.history.into_values().collect(),
            replies: t.replies.into_values().collect(),
            preventive_action: t.preventive_action,
            follow_up: t.follow_up,
        }
    }
}

/// A selection event (选房) as the tablet holds it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SelectionEvent {
    /// Stable id.
    pub id: EventId,
    /// The project whose units are offered.
    pub project_id: ProjectId,
    /// Name.
    pub name: String,
    /// When selection starts.
    pub starts_at: Timestamp,
    /// Queue mode.
    pub mode: SelectionMode,
    /// Units allotted to the event.
    pub allotted_units: Vec<UnitId>,
    /// Buyers in lottery order (undrawn buyers last).
    pub buyers: Vec<Buyer>,
    /// The lottery number the desk has called (叫号).
    pub now_serving: Option<u32>,
}

impl From<kam_core::model::SelectionEvent> for SelectionEvent {
    fn from(e: kam_core::model::SelectionEvent) -> Self {
        let mut buyers: Vec<Buyer> = e.buyers.into_values().collect();
        buyers.sort_by_key(|b| b.lottery_no.unwrap_or(u32::MAX));
        SelectionEvent {
            id: e.id,
            project_id: e.project_id,
            name: e.name,
            starts_at: e.starts_at,
            mode: e.mode,
            allotted_units: e.allotted_units,
            buyers,
            now_serving: e.now_serving,
        }
    }
}

/// A desk command queued on this device and what became of it.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct OutboxEntry {
    /// The idempotency key, stored before the first send.
    pub key: String,
    /// Command name, e.g. `hold`.
    pub command_name: String,
    /// The event it acts on.
    pub event_id: Option<String>,
    /// The command, when this build can read it.
    pub command: Option<DeskCommand>,
    /// Pending, accepted, rejected or dismissed.
    pub status: OutboxStatus,
    /// When it was queued.
    pub created_at: Timestamp,
    /// How many times it was sent.
    pub attempts: u32,
    /// When it was last sent.
    pub last_attempt_at: Option<Timestamp>,
    /// When the answer arrived.
    pub answered_at: Option<Timestamp>,
    /// Why the desk refused it (rejected entries).
    pub refusal: Option<Refusal>,
    /// What the desk did (accepted entries), as the desk's JSON, e.g. the hold id.
    pub result_json: Option<String>,
}

impl From<kam_core::replica::OutboxEntry> for OutboxEntry {
    fn from(e: kam_core::replica::OutboxEntry) -> Self {
        let answer = e.answer.and_then(|a| serde_json::from_value::<CommandAnswer>(a).ok());
        let (refusal, result_json) = match answer {
            Some(a) => (a.refusal, (!a.result.is_null()).then(|| a.result.to_string())),
            None => (None, None),
        };
        OutboxEntry {
            event_id: e.payload["event_id"].as_str().map(str::to_owned),
            command: serde_json::from_value(e.payload["command"].clone()).ok(),
            key: e.key,
            command_name: e.command,
            status: e.status,
            created_at: e.created_at,
            attempts: e.attempts,
            last_attempt_at: e.last_attempt_at,
            answered_at: e.answered_at,
            refusal,
            result_json,
        }
    }
}

/// The desk's answer to a command sent online (not through the outbox).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DeskAnswer {
    /// Whether the desk carried it out.
    pub accepted: bool,
    /// Why not, when refused.
    pub refusal: Option<Refusal>,
    /// What the desk did, as the desk's JSON (e.g. `{"matches": true}` for an identity check).
    pub result_json: Option<String>,
}

impl From<CommandAnswer> for DeskAnswer {
    fn from(a: CommandAnswer) -> Self {
        DeskAnswer {
            accepted: a.outcome == kam_core::desk::Outcome::Accepted,
            refusal: a.refusal,
            result_json: (!a.result.is_null()).then(|| a.result.to_string()),
        }
    }
}

/// What one send of the pending desk commands did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DeskSendReport {
    /// Commands the desk accepted.
    pub accepted: u32,
    /// Commands the desk refused (kept with their reason until dismissed).
    pub rejected: u32,
    /// Commands still waiting (none, unless this call failed part way).
    pub still_pending: u32,
}

/// A document, by kind and entity id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, uniffi::Record)]
pub struct DocumentRef {
    /// Kind.
    pub kind: DocKind,
    /// The customer, ticket, project or event id.
    pub id: String,
}

impl DocumentRef {
    pub(crate) fn new(kind: DocKind, id: &str) -> DocumentRef {
        DocumentRef { kind, id: id.to_owned() }
    }
}

/// Where a change came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ChangeOrigin {
    /// This device's user edited something.
    Local,
    /// A sync brought changes from the server.
    Sync,
    /// The desk answered queued commands (the outbox and the control table changed).
    Desk,
}

/// What changed in the replica, for the screens to refresh.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ChangeSet {
    /// Where it came from.
    pub origin: ChangeOrigin,
    /// The documents written or removed (by an edit, or by one sync round).
    pub documents: Vec<DocumentRef>,
    /// Whether the desk outbox changed: a command queued, answered or dismissed.
    pub outbox: bool,
}

impl From<&kam_core::shared::ChangeSet> for ChangeSet {
    fn from(changes: &kam_core::shared::ChangeSet) -> ChangeSet {
        use kam_core::shared::ChangeOrigin as Core;
        ChangeSet {
            origin: match changes.origin {
                Core::Local => ChangeOrigin::Local,
                Core::Sync => ChangeOrigin::Sync,
                Core::Desk => ChangeOrigin::Desk,
            },
            documents: changes
                .documents
                .iter()
                .map(|d| DocumentRef::new(d.kind(), d.entity()))
                .collect(),
            outbox: changes.outbox,
        }
    }
}

//! kam-core's own types, declared to uniffi as they are; its enums are in `vocabulary`.
//!
//! Custom types carry money, instants, calendar dates and ids across the boundary as strings or
//! uniffi's built-in timestamp, so each platform gets its own type (see `uniffi.toml`): money
//! is a `BigDecimal` in Kotlin, a `Foundation.Decimal` in Swift and a `decimal.Decimal` in
//! Python, never a float. The `#[uniffi::remote]` mirrors restate a core type field for field:
//! uniffi generates its converters from the mirror, and the compiler checks the mirror against
//! the real type, so a field added in the core fails this build instead of vanishing.

use std::str::FromStr;
use std::time::SystemTime;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use kam_core::desk::{Refusal, TableStatus, UnitOnTable};
use kam_core::doc::{EditMeta, FieldConflict, HistoryEntry};
use kam_core::model::{
    BuildingId, Buyer, BuyerId, Classification, Contact, ContactId, CreditTerms, CustomerId,
    CustomerProfile, DiscountLine, EntryId, EventId, FollowUp, Grade, LatePayment, LatePaymentId,
    LeadId, PaymentTerms, PlanId, PreventiveAction, PriceApproval, ProjectId, Reply, ScorecardId,
    StatusChange, SurveyId, TicketId, TicketKind, TicketPriority, TicketStatus, Tier, Unit, UnitId,
    UnitStatus, UserId, VisitId, VisitLevel, VisitRecord,
};
use kam_core::replica::{CustomerRow, TicketRow, VisitDueRow};
use kam_core::rules::SlaState;
use kam_core::shared::{PendingUploads, SyncStatus};
use kam_core::sync_client::{SyncProgress, SyncReport};
use rust_decimal::Decimal;

use crate::error::KamError;

// ---- custom types -------------------------------------------------------------------------

/// An instant in UTC: `java.time.Instant`, Swift `Date`, Python `datetime` (UTC).
pub type Timestamp = DateTime<Utc>;
/// A calendar date in the business time zone: `java.time.LocalDate`, Python `datetime.date`,
/// and `YYYY-MM-DD` text in Swift (Foundation has no date-only type).
pub type LocalDate = NaiveDate;
/// A length of time: `java.time.Duration`, Swift `TimeInterval`, Python `timedelta`.
pub type TimeSpan = TimeDelta;

uniffi::custom_type!(Decimal, String, {
    remote,
    lower: |value| value.to_string(),
    try_lift: |text| parse_decimal(&text),
});

uniffi::custom_type!(Timestamp, SystemTime, {
    remote,
    lower: |instant| SystemTime::from(instant),
    try_lift: |time| Ok(DateTime::<Utc>::from(time)),
});

uniffi::custom_type!(LocalDate, String, {
    remote,
    lower: |date| date.format("%Y-%m-%d").to_string(),
    try_lift: |text| NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|e| KamError::invalid("date", format!("`{text}` is not YYYY-MM-DD: {e}")).into()),
});

uniffi::custom_type!(TimeSpan, std::time::Duration, {
    remote,
    // The core's spans here (time left, time late) are never negative; were one ever, zero is
    // the honest display rather than a failed call.
    lower: |span| span.to_std().unwrap_or_default(),
    try_lift: |duration| TimeDelta::from_std(duration)
        .map_err(|e| KamError::invalid("duration", e).into()),
});

/// Parses decimal text as the platforms write it: plain (`1234.50`, Kotlin's `toPlainString`)
/// or scientific (`1.2E+3`, which Python's `str(Decimal)` may produce). NaN, infinities and
/// values beyond 28 significant digits are refused as an invalid field, which the bindings
/// raise as `KamError.InvalidField`.
fn parse_decimal(text: &str) -> uniffi::Result<Decimal> {
    let text = text.trim();
    Decimal::from_str(text)
        .or_else(|_| Decimal::from_scientific(text))
        .map_err(|e| KamError::invalid("decimal", format!("`{text}` is not a decimal: {e}")).into())
}

/// Declares string-backed core ids as custom types, so the bindings name them
/// (`typealias CustomerId = String` in Kotlin and Swift).
macro_rules! id_types {
    ($($id:ident),+ $(,)?) => {$(
        uniffi::custom_type!($id, String, {
            remote,
            lower: |id| id.0,
            try_lift: |text| Ok($id(text)),
        });
    )+};
}

id_types!(
    CustomerId,
    ContactId,
    VisitId,
    TicketId,
    EntryId,
    ProjectId,
    BuildingId,
    UnitId,
    EventId,
    BuyerId,
    UserId,
    LatePaymentId,
    LeadId,
    PlanId,
    SurveyId,
    ScorecardId,
);

// ---- records ------------------------------------------------------------------------------

/// Descriptive fields of a customer, editable by its reps.
#[uniffi::remote(Record)]
pub struct CustomerProfile {
    /// Registered name.
    pub name: String,
    /// Industry.
    pub industry: String,
    /// Sales region.
    pub region: String,
    /// Postal address.
    pub address: String,
    /// A leading brand in its industry.
    pub leading_brand: bool,
    /// Notes.
    pub notes: String,
}

/// Tier, grade and score (finance and HQ only).
#[uniffi::remote(Record)]
pub struct Classification {
    /// Designated strategic.
    pub strategic: bool,
    /// Approved tier.
    pub tier: Tier,
    /// Approved grade.
    pub grade: Option<Grade>,
    /// Last score.
    pub score: Option<u32>,
}

/// Credit settings (finance and HQ only).
#[uniffi::remote(Record)]
pub struct CreditTerms {
    /// Credit grade.
    pub credit_grade: Option<Grade>,
    /// Credit limit, CNY.
    pub credit_limit: Decimal,
    /// Payment terms.
    pub payment_terms: PaymentTerms,
}

/// A contact person at the customer.
#[uniffi::remote(Record)]
pub struct Contact {
    /// Stable id (`newId()`).
    pub id: ContactId,
    /// Name.
    pub name: String,
    /// Job title.
    pub title: String,
    /// Phone (personal data).
    pub phone: String,
    /// E-mail.
    pub email: String,
    /// The main contact.
    pub primary: bool,
}

/// A visit record (客户接触记录).
#[uniffi::remote(Record)]
pub struct VisitRecord {
    /// Stable id (`newId()`).
    pub id: VisitId,
    /// Level of the visit.
    pub level: VisitLevel,
    /// Date of the visit.
    pub date: LocalDate,
    /// Who from our side.
    pub visitor: UserId,
    /// Topics discussed.
    pub topics: Vec<String>,
    /// Personnel changes at the customer.
    pub personnel_changes: String,
    /// Problems raised.
    pub problems: String,
    /// Demand heard.
    pub demand: String,
    /// Competitor activity.
    pub competitor_activity: String,
}

/// A payment made after its due date.
#[uniffi::remote(Record)]
pub struct LatePayment {
    /// Stable id.
    pub id: LatePaymentId,
    /// Invoice or contract reference.
    pub reference: String,
    /// When it was due.
    pub due_on: LocalDate,
    /// When it was paid.
    pub paid_on: Option<LocalDate>,
}

/// One entry of a ticket's status history.
#[uniffi::remote(Record)]
pub struct StatusChange {
    /// Stable id.
    pub id: EntryId,
    /// Before.
    pub from: TicketStatus,
    /// After.
    pub to: TicketStatus,
    /// When.
    pub at: Timestamp,
    /// Who.
    pub by: UserId,
    /// Why.
    pub note: String,
}

/// A reply to the customer.
#[uniffi::remote(Record)]
pub struct Reply {
    /// Stable id.
    pub id: EntryId,
    /// When.
    pub at: Timestamp,
    /// Who.
    pub by: UserId,
    /// What was said.
    pub body: String,
}

/// The preventive action a quality ticket needs before it closes.
#[uniffi::remote(Record)]
pub struct PreventiveAction {
    /// What will stop it happening again.
    pub description: String,
    /// Who verified it.
    pub verified_by: Option<UserId>,
    /// When.
    pub verified_at: Option<Timestamp>,
}

/// The follow-up call (回访).
#[uniffi::remote(Record)]
pub struct FollowUp {
    /// When.
    pub at: Timestamp,
    /// Who called.
    pub by: UserId,
    /// 1 (very unhappy) to 5 (very happy).
    pub satisfaction: u8,
    /// What the customer said.
    pub notes: String,
}

/// One line of the customer list.
#[uniffi::remote(Record)]
pub struct CustomerRow {
    /// Customer id.
    pub id: CustomerId,
    /// Name.
    pub name: String,
    /// Industry.
    pub industry: String,
    /// Region.
    pub region: String,
    /// Tier.
    pub tier: Tier,
    /// Grade.
    pub grade: Option<Grade>,
    /// Score.
    pub score: Option<u32>,
    /// Designated strategic.
    pub strategic: bool,
    /// Next visit due.
    pub next_visit_due: Option<LocalDate>,
    /// Open tickets.
    pub open_tickets: u32,
}

/// One line of the "visits due" screen.
#[uniffi::remote(Record)]
pub struct VisitDueRow {
    /// Customer id.
    pub customer_id: CustomerId,
    /// Customer name.
    pub customer_name: String,
    /// Tier.
    pub tier: Tier,
    /// Which level of visit is due.
    pub level: VisitLevel,
    /// Last visit at that level.
    pub last_visit_on: Option<LocalDate>,
    /// Next due.
    pub next_due_on: LocalDate,
    /// Past due today.
    pub overdue: bool,
}

/// One line of the open-tickets screen.
#[uniffi::remote(Record)]
pub struct TicketRow {
    /// Ticket id.
    pub id: TicketId,
    /// Customer id.
    pub customer_id: CustomerId,
    /// Customer name.
    pub customer_name: String,
    /// Kind.
    pub kind: TicketKind,
    /// Priority.
    pub priority: TicketPriority,
    /// Status.
    pub status: TicketStatus,
    /// Summary.
    pub title: String,
    /// Received at.
    pub opened_at: Timestamp,
    /// Reply state now.
    pub sla: SlaState,
}

/// A field holding concurrent values (a conflict to review).
#[uniffi::remote(Record)]
pub struct FieldConflict {
    /// Path of the field, e.g. `/profile/name`.
    pub path: String,
    /// Every concurrent value; the first is the one shown.
    pub values: Vec<String>,
}

/// Who did an action, when, and what it was.
#[uniffi::remote(Record)]
pub struct EditMeta {
    /// The user.
    pub author: UserId,
    /// When, by the acting device's clock.
    pub at: Timestamp,
    /// Stable action name, e.g. `customer.upsert_visit`.
    pub action: String,
}

/// A change in a document's history.
#[uniffi::remote(Record)]
pub struct HistoryEntry {
    /// Change hash (hex).
    pub hash: String,
    /// Author, time and action, when the change carries them.
    pub meta: Option<EditMeta>,
}

/// A discount line on a work ticket.
#[uniffi::remote(Record)]
pub struct DiscountLine {
    /// Code in the sales policy.
    pub code: String,
    /// Printed label.
    pub label: String,
    /// Percent off.
    pub pct: Decimal,
    /// Taken or waived.
    pub taken: bool,
}

/// A buyer on an event's approved list; the ID number is never in clear.
#[uniffi::remote(Record)]
pub struct Buyer {
    /// Stable id.
    pub id: BuyerId,
    /// Name.
    pub name: String,
    /// Salted hash of the ID number.
    pub id_number_hash: String,
    /// Masked ID number for display.
    pub id_number_masked: String,
    /// Lottery position, once drawn.
    pub lottery_no: Option<u32>,
}

/// Who approved a unit price, and when.
#[uniffi::remote(Record)]
pub struct PriceApproval {
    /// The approvers.
    pub approvers: Vec<UserId>,
    /// When the approval was complete.
    pub approved_at: Timestamp,
}

/// A housing unit (房源). Named so in the bindings because `Unit` is Kotlin's `void`.
pub type HousingUnit = Unit;

/// A housing unit (房源).
#[uniffi::remote(Record)]
pub struct HousingUnit {
    /// Stable id.
    pub id: UnitId,
    /// Code shown to buyers, e.g. "3-1502".
    pub code: String,
    /// Building.
    pub building_id: BuildingId,
    /// Floor.
    pub floor: i32,
    /// Layout, e.g. "3室2厅2卫".
    pub layout: String,
    /// Saleable area, m².
    pub area_m2: Decimal,
    /// Approved price per m², CNY.
    pub unit_price: Option<Decimal>,
    /// The approval behind the price.
    pub approval: Option<PriceApproval>,
    /// Status as last synced.
    pub status: UnitStatus,
    /// The desk hold that status is about (the control table uses it; apps need not).
    pub desk_hold: Option<String>,
}

/// One row of the tablet's control table (销控表).
#[uniffi::remote(Record)]
pub struct UnitOnTable {
    /// The unit.
    pub unit_id: UnitId,
    /// Its code.
    pub code: String,
    /// The status the server last sent.
    pub synced: UnitStatus,
    /// What to show: the tablet's own pending command, or the desk's answer to it, wins over
    /// the synced status until the synced status moves past it.
    pub shown: TableStatus,
    /// The key of this tablet's command waiting on the unit.
    pub pending_key: Option<String>,
    /// The hold this tablet placed on the unit, while it is held (for release and the ticket).
    pub hold_id: Option<String>,
    /// When that hold lapses, as the desk answered.
    pub hold_expires_at: Option<Timestamp>,
    /// The desk's refusal of this tablet's newest command on the unit, until dismissed.
    pub refusal: Option<Refusal>,
}

/// Why the desk refused a command.
#[uniffi::remote(Record)]
pub struct Refusal {
    /// Stable code, e.g. `unit_not_available`.
    pub code: String,
    /// Chinese first, English after.
    pub message: String,
}

/// Progress after each sync round, for a progress bar.
#[uniffi::remote(Record)]
pub struct SyncProgress {
    /// Rounds done.
    pub rounds: u32,
    /// Whole documents received so far.
    pub documents_received: u64,
    /// Documents the server says are still waiting.
    pub documents_remaining: u64,
    /// Bytes sent so far.
    pub bytes_sent: u64,
    /// Bytes received so far.
    pub bytes_received: u64,
}

/// What one sync did.
#[uniffi::remote(Record)]
pub struct SyncReport {
    /// Rounds.
    pub rounds: u32,
    /// Sync messages sent.
    pub messages_sent: u64,
    /// Sync messages received.
    pub messages_received: u64,
    /// Whole documents received.
    pub snapshots_received: u64,
    /// Documents removed because they left this device's scope.
    pub removed: u64,
    /// Bytes sent.
    pub bytes_sent: u64,
    /// Bytes received.
    pub bytes_received: u64,
    /// Failed attempts that were retried.
    pub retries: u32,
    /// The server's change cursor at the end.
    pub cursor: u64,
    /// Whether both sides ended quiet.
    pub quiet: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_parse_as_the_platforms_write_them() {
        let plain = parse_decimal("1234.50").unwrap();
        assert_eq!(plain.to_string(), "1234.50", "the scale survives the round trip");
        assert_eq!(parse_decimal("1.2E+3").unwrap(), Decimal::from(1200));
        assert_eq!(parse_decimal(" -0.01 ").unwrap(), Decimal::new(-1, 2));
        for bad in ["NaN", "Infinity", "", "12,5", "1e40"] {
            let error = parse_decimal(bad).unwrap_err();
            assert!(
                matches!(error.downcast_ref::<KamError>(), Some(KamError::InvalidField { .. })),
                "{bad}: {error}"
            );
        }
    }
}

/// Where syncing stands, for a status line.
#[uniffi::remote(Enum)]
pub enum SyncStatus {
    /// Not syncing; when the last sync finished, if any did.
    Idle {
        /// When the last sync ended.
        last_synced_at: Option<Timestamp>,
    },
    /// A round is on its way to the server.
    Connecting,
    /// The server is sending what it has, in batches.
    Downloading {
        /// Documents received whole so far in this sync.
        documents_received: u64,
        /// Documents the server says are still waiting.
        documents_remaining: u64,
    },
    /// This device is sending its changes.
    Uploading {
        /// Documents and desk commands waiting to be sent.
        pending: u64,
    },
    /// The server cannot be reached; syncing resumes when it can.
    Offline {
        /// Since when.
        since: Timestamp,
        /// The last network error.
        last_error: String,
    },
    /// The last sync failed for a reason other than the network.
    Error {
        /// What went wrong.
        message: String,
        /// When.
        at: Timestamp,
    },
}

/// What waits to be sent to the server.
#[uniffi::remote(Record)]
pub struct PendingUploads {
    /// Documents holding changes the server may not have yet.
    pub documents: u64,
    /// Desk commands waiting for an answer.
    pub desk_commands: u64,
}

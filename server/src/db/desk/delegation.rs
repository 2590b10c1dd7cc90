//! Venue edge authority (ADR 0021): the leases under which an event's desk is lent to a venue
//! server, the venue's ledger segment as central keeps it, and the anchor a venue's own chain
//! continues from. What the rows mean (who may serve an event, how a segment is verified) is
//! `desk::delegation`'s; this is what it reads and writes.

use crate::db::DbError;
use crate::db::desk::ledger::{ChainEntry, LedgerTip};

/// Which side of a delegation this desk is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaseSide {
    /// Central lent the event's desk to a venue.
    Lent,
    /// This venue server holds the event's desk.
    Held,
}

impl LeaseSide {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            LeaseSide::Lent => "lent",
            LeaseSide::Held => "held",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<LeaseSide> {
        match s {
            "lent" => Some(LeaseSide::Lent),
            "held" => Some(LeaseSide::Held),
            _ => None,
        }
    }
}

/// Where a generation of a delegation stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaseState {
    /// The venue serves the event.
    Active,
    /// The venue stopped serving and is shipping its last batch (venue side only).
    Returning,
    /// The venue handed the desk back (or central imported its final bundle).
    Returned,
    /// Central took the desk back after the lease ended.
    TakenBack,
}

impl LeaseState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            LeaseState::Active => "active",
            LeaseState::Returning => "returning",
            LeaseState::Returned => "returned",
            LeaseState::TakenBack => "taken_back",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<LeaseState> {
        match s {
            "active" => Some(LeaseState::Active),
            "returning" => Some(LeaseState::Returning),
            "returned" => Some(LeaseState::Returned),
            "taken_back" => Some(LeaseState::TakenBack),
            _ => None,
        }
    }
}

/// One generation of one event's delegation, on either side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DelegationRow {
    /// The event whose desk is lent.
    pub event_id: String,
    /// The fencing generation: odd while a venue holds the desk.
    pub generation: i64,
    /// Lent (central) or held (venue).
    pub side: LeaseSide,
    /// The venue server's enrolled device.
    pub venue_device_id: String,
    /// The venue's name as people see it (the device's label).
    pub venue_name: String,
    /// When the lease ends, as the desk stores instants.
    pub lease_until: String,
    /// The delegation entry in the lender's chain: the venue's chain continues from it.
    pub anchor: LedgerTip,
    /// The key the venue signs its export bundle with, hex.
    pub bundle_key: String,
    /// Active, returned or taken back.
    pub state: LeaseState,
    /// The last venue entry central verified and stored (the anchor before the first).
    pub shipped: LedgerTip,
    /// The venue's tip as it last reported it.
    pub venue_tip_seq: i64,
    /// When the oldest entry not yet shipped was written, as the venue last reported.
    pub oldest_unshipped_at: Option<String>,
    /// When central last heard from the venue (central) or central last answered (venue).
    pub last_heard_at: Option<String>,
    /// When the desk was lent.
    pub delegated_at: String,
    /// When the generation ended.
    pub ended_at: Option<String>,
}

/// What one report from the venue changes on central's row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShippedReport<'a> {
    /// The event.
    pub event_id: &'a str,
    /// The generation.
    pub generation: i64,
    /// The last venue entry now stored.
    pub shipped: LedgerTip,
    /// The venue's tip as it reports it.
    pub venue_tip_seq: i64,
    /// Its oldest entry not yet shipped, if any.
    pub oldest_unshipped_at: Option<&'a str>,
    /// Now.
    pub heard_at: &'a str,
}

/// The desk's delegations.
pub trait DeskDelegations {
    /// The latest generation of `event_id`'s delegation, if it was ever delegated.
    fn delegation(&self, event_id: &str) -> Result<Option<DelegationRow>, DbError>;

    /// Every generation of every event, oldest first.
    fn delegations(&self) -> Result<Vec<DelegationRow>, DbError>;

    /// Records a new generation.
    fn insert_delegation(&self, row: &DelegationRow) -> Result<(), DbError>;

    /// Records what the venue shipped (central) or what central acknowledged (venue).
    fn set_shipped(&self, report: &ShippedReport<'_>) -> Result<(), DbError>;

    /// Ends a generation.
    fn end_delegation(
        &self,
        event_id: &str,
        generation: i64,
        state: LeaseState,
        at: &str,
    ) -> Result<(), DbError>;

    /// Stores one verified entry of a venue's segment.
    fn append_venue_entry(&self, generation: i64, entry: &ChainEntry) -> Result<(), DbError>;

    /// The stored hash of the venue's entry `seq`, if central has it.
    fn venue_entry_hash(
        &self,
        event_id: &str,
        generation: i64,
        seq: i64,
    ) -> Result<Option<Vec<u8>>, DbError>;

    /// The venue's entries of a generation after `after_seq`, in order, at most `limit`.
    fn venue_entries(
        &self,
        event_id: &str,
        generation: i64,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<ChainEntry>, DbError>;

    /// Another event one of `event_id`'s allotted units is allotted to, if any.
    fn event_sharing_units(&self, event_id: &str) -> Result<Option<String>, DbError>;

    /// When this desk file was copied by the second copy, if it is such a copy that has not
    /// compared its chain with central's yet.
    fn copy_mark(&self) -> Result<Option<String>, DbError>;

    /// Marks this desk as one that must take back from central what it lacks before it serves
    /// (a copy, or a store that took an offer it had taken before).
    fn set_copy_mark(&self, at: &str) -> Result<(), DbError>;

    /// Clears the copy's mark: its chain agrees with central's (or the operator said so).
    fn clear_copy_mark(&self) -> Result<(), DbError>;
}

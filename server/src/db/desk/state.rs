//! The desk's live state: events, units and allotments, holds, buyers and the queue, and the
//! reads built on them (the control table, the mirror's rows, an event's books).
//!
//! Instants are passed and returned as the desk stores them (RFC 3339, UTC, microseconds; see
//! [`instant`]): a command formats its time once and writes the same text into several rows
//! and its ledger entry, and lapsed holds are found by comparing that text.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, SecondsFormat, Utc};
use kam_core::model::{Buyer, SelectionMode, UnitId, UnitStatus, UserId};
use rust_decimal::Decimal;

use crate::db::DbError;

/// An instant as the desk stores it: RFC 3339, UTC, microseconds.
pub fn instant(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// What the selection desk is the authority over, as a sync round asks it (only when a merge
/// touched a project's units or an event).
pub trait DeskView {
    /// The units of project `project_id` on an open desk: their price, code and area are the
    /// desk's, and they stay in the project.
    fn units_on_desk(&self, project_id: &str) -> Result<BTreeSet<UnitId>, DbError>;
    /// Whether the desk of event `event_id` is open: its project, allotments and mode are
    /// then the desk's.
    fn event_desk_open(&self, event_id: &str) -> Result<bool, DbError>;
    /// The events central lent to the venue device `device_id` and has not had back (ADR
    /// 0021): that venue is their desk.
    fn lent_to_device(&self, device_id: &str) -> Result<Vec<LentDesk>, DbError>;
}

/// An event whose desk is lent to a venue, with what the venue's desk owns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LentDesk {
    /// The event.
    pub event_id: String,
    /// Its project.
    pub project_id: String,
    /// The units allotted to it.
    pub units: Vec<String>,
}

/// An event's desk row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeskEventRow {
    /// The project whose units the event sells.
    pub project_id: String,
    /// Strict lottery order or free selection.
    pub mode: SelectionMode,
    /// The lottery number being served, once one was called.
    pub now_serving: Option<u32>,
}

/// A new event's desk row.
#[derive(Clone, Copy, Debug)]
pub struct NewDeskEvent<'a> {
    /// The event.
    pub event_id: &'a str,
    /// Its name, as the consoles show it.
    pub name: &'a str,
    /// Its project.
    pub project_id: &'a str,
    /// Its selection mode.
    pub mode: SelectionMode,
    /// The prefix of its voucher codes.
    pub voucher_prefix: &'a str,
    /// The last number of its voucher series.
    pub voucher_last: u32,
    /// When the desk opened (as stored).
    pub opened_at: &'a str,
}

/// A unit of a project, as the desk takes it over from the project's document.
#[derive(Clone, Copy, Debug)]
pub struct NewDeskUnit<'a> {
    /// The unit.
    pub unit_id: &'a str,
    /// Its building's name, e.g. `1号楼`.
    pub building: &'a str,
    /// Its floor.
    pub floor: i32,
    /// Its layout, e.g. `3室2厅2卫`.
    pub layout: &'a str,
    /// Its code on the plan.
    pub code: &'a str,
    /// Its area in m².
    pub area_m2: Decimal,
    /// Its approved price per m², if one was approved.
    pub unit_price: Option<Decimal>,
    /// Who approved that price, and when.
    pub approval: Option<(&'a [UserId], DateTime<Utc>)>,
    /// Its status in the document.
    pub status: UnitStatus,
}

/// The desk's row for one unit, as a command checks it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeskUnit {
    /// Its authoritative status.
    pub status: UnitStatus,
    /// Whether a price was approved for it.
    pub price_approved: bool,
    /// The hold on it, if held.
    pub hold_id: Option<String>,
    /// When that hold lapses (as stored); none once sealed.
    pub held_until: Option<String>,
}

/// Everything a hold is decided on, read together ([`DeskState::hold_facts`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HoldFacts {
    /// The unit, if it is on the desk.
    pub unit: Option<DeskUnit>,
    /// Whether it is allotted to the event.
    pub allotted: bool,
    /// The buyer's lottery number: `None` when not listed, `Some(None)` before the lottery.
    pub lottery_no: Option<Option<u32>>,
    /// How many units the buyer holds or bought at the event.
    pub units_taken: u32,
}

/// A hold being placed.
#[derive(Clone, Copy, Debug)]
pub struct NewHold<'a> {
    /// The hold's id.
    pub hold_id: &'a str,
    /// The event it is placed at.
    pub event_id: &'a str,
    /// The unit's project.
    pub project_id: &'a str,
    /// The unit.
    pub unit_id: &'a str,
    /// The buyer it is held for.
    pub buyer_id: &'a str,
    /// Who placed it.
    pub held_by: &'a str,
    /// When (as stored).
    pub held_at: &'a str,
    /// When it lapses (as stored).
    pub expires_at: &'a str,
}

/// How a hold ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HoldEnd {
    /// Released by staff.
    Released,
    /// Its time passed.
    Expired,
}

impl HoldEnd {
    /// The state the hold's row keeps.
    pub fn as_str(self) -> &'static str {
        match self {
            HoldEnd::Released => "released",
            HoldEnd::Expired => "expired",
        }
    }
}

/// A held unit whose time has passed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DueHold {
    /// The event it was held at.
    pub event_id: String,
    /// The unit's project.
    pub project_id: String,
    /// The unit.
    pub unit_id: String,
}

/// A listed buyer as the identity check reads them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuyerIdentity {
    /// The salted hash of their ID number.
    pub id_number_hash: String,
    /// The masked ID number.
    pub id_number_masked: String,
    /// Their lottery number, once drawn.
    pub lottery_no: Option<u32>,
}

/// A buyer added to the list by an import.
#[derive(Clone, Copy, Debug)]
pub struct NewBuyer<'a> {
    /// The event.
    pub event_id: &'a str,
    /// The buyer's new id.
    pub buyer_id: &'a str,
    /// Their name.
    pub name: &'a str,
    /// The salted hash of their ID number.
    pub id_number_hash: &'a str,
    /// The masked ID number.
    pub id_number_masked: &'a str,
}

/// An approved price as the desk keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredApproval {
    /// The price per m².
    pub unit_price: Decimal,
    /// Who approved it.
    pub approvers: Vec<String>,
    /// When.
    pub approved_at: DateTime<Utc>,
}

/// One allotted unit as the control table shows it (its fields are the API's `UnitLine`, in
/// this order).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ControlUnit {
    /// The unit.
    pub unit_id: String,
    /// Its code on the plan, e.g. `1-1001`.
    pub code: String,
    /// Area in m² (decimal text).
    pub area_m2: String,
    /// Approved unit price per m² (decimal text), if approved.
    pub unit_price: Option<String>,
    /// `available`, `held`, `sold` or `withdrawn`.
    pub status: String,
    /// The buyer holding or owning it.
    pub buyer_id: Option<String>,
    /// The hold on it, if held: `release` and `prepare_work_ticket` name it.
    pub hold_id: Option<String>,
    /// When the hold lapses.
    pub held_until: Option<String>,
}

/// One voucher row, red or black.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VoucherRow {
    /// Its number in the event's series.
    pub no: u32,
    /// The work ticket it was issued for.
    pub ticket_id: String,
    /// The unit it sells.
    pub unit_id: String,
    /// The buyer it names.
    pub buyer_id: String,
    /// The amount it states, CNY.
    pub amount: Decimal,
    /// The voucher this red one reverses, if it is red.
    pub reverses: Option<u32>,
    /// Whether a red voucher reverses this one.
    pub reversed: bool,
}

/// An allotted unit as the reconciliation reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BookUnit {
    /// `available`, `held`, `sold` or `withdrawn`.
    pub status: String,
    /// The buyer holding or owning it.
    pub buyer_id: Option<String>,
}

/// What the reconciliation of one event reads: every row it compares, and nothing else.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventBooks {
    /// Every voucher of the event, by number.
    pub vouchers: Vec<VoucherRow>,
    /// Every receipt of the event (red ones negative): its ticket and amount.
    pub receipts: Vec<(String, Decimal)>,
    /// The units allotted to the event, by id.
    pub units: BTreeMap<String, BookUnit>,
    /// The buyers on the event's approved list.
    pub buyers: BTreeSet<String>,
}

/// The desk's live state.
pub trait DeskState: DeskView {
    /// The desk row of `event_id`, if its desk is open.
    fn desk_event(&self, event_id: &str) -> Result<Option<DeskEventRow>, DbError>;
    /// The project of the open desk of `event_id`, if its desk is open.
    fn event_project(&self, event_id: &str) -> Result<Option<String>, DbError>;
    /// Opens an event's desk row; `false` if it is there already.
    fn insert_desk_event(&self, event: &NewDeskEvent<'_>) -> Result<bool, DbError>;
    /// Takes a unit of `project_id` onto the desk unless it is there already; how many rows
    /// were added (0 or 1).
    fn insert_desk_unit(&self, project_id: &str, unit: &NewDeskUnit<'_>) -> Result<usize, DbError>;
    /// Allots `unit_id` to `event_id` (once).
    fn allot_unit(&self, event_id: &str, unit_id: &str) -> Result<(), DbError>;
    /// Lists a buyer of the event's document (once).
    fn list_buyer(&self, event_id: &str, buyer: &Buyer) -> Result<(), DbError>;

    /// The unit `unit_id` of `project_id`.
    fn unit(&self, project_id: &str, unit_id: &str) -> Result<Option<DeskUnit>, DbError>;
    /// The units `unit_ids` of `project_id` that are on the desk, by id, in one read. By
    /// default one [`DeskState::unit`] each (in-process reads cost no round trip); a backend
    /// across a network reads them in one query.
    fn units_of(
        &self,
        project_id: &str,
        unit_ids: &[&str],
    ) -> Result<BTreeMap<String, DeskUnit>, DbError> {
        let mut found = BTreeMap::new();
        for unit_id in unit_ids {
            if let Some(unit) = self.unit(project_id, unit_id)? {
                found.insert((*unit_id).to_owned(), unit);
            }
        }
        Ok(found)
    }
    /// Whether `unit_id` is allotted to `event_id`.
    fn allotted(&self, event_id: &str, unit_id: &str) -> Result<bool, DbError>;
    /// The listed buyer's lottery number: `None` when not listed, `Some(None)` before the
    /// lottery.
    fn buyer_lottery_no(
        &self,
        event_id: &str,
        buyer_id: &str,
    ) -> Result<Option<Option<u32>>, DbError>;
    /// How many units the buyer holds or bought at the event.
    fn units_taken(&self, event_id: &str, buyer_id: &str) -> Result<u32, DbError>;
    /// What a hold of `unit_id` (of `project_id`) for `buyer_id` at `event_id` is decided on:
    /// [`DeskState::unit`], [`DeskState::allotted`], [`DeskState::buyer_lottery_no`] and
    /// [`DeskState::units_taken`]. By default the four reads; a backend across a network
    /// reads them in one query.
    fn hold_facts(
        &self,
        event_id: &str,
        project_id: &str,
        unit_id: &str,
        buyer_id: &str,
    ) -> Result<HoldFacts, DbError> {
        Ok(HoldFacts {
            unit: self.unit(project_id, unit_id)?,
            allotted: self.allotted(event_id, unit_id)?,
            lottery_no: self.buyer_lottery_no(event_id, buyer_id)?,
            units_taken: self.units_taken(event_id, buyer_id)?,
        })
    }
    /// What a release of `hold_id` on `unit_id` is decided on, in one read: the unit, and how
    /// many receipts were recorded against the hold.
    fn release_facts(
        &self,
        project_id: &str,
        unit_id: &str,
        hold_id: &str,
    ) -> Result<(Option<DeskUnit>, i64), DbError>;
    /// Marks an available unit held by `hold`; `false` if it was not available.
    fn take_unit(&self, hold: &NewHold<'_>) -> Result<bool, DbError>;
    /// Takes a unit the command has just read as available ([`DeskState::take_unit`]) and
    /// records its hold ([`DeskState::insert_hold`]). `false` if it was not available after
    /// all — where the backend can tell at once. Inside a transaction a backend may instead
    /// send the writes with the next statement and answer `true`: the desk's writer reads and
    /// writes its units under the ledger's lock, so the unit is as read, and if it was not,
    /// the transaction fails and nothing it answered is sent.
    fn hold_unit(&self, hold: &NewHold<'_>) -> Result<bool, DbError> {
        if !self.take_unit(hold)? {
            return Ok(false);
        }
        self.insert_hold(hold)?;
        Ok(true)
    }
    /// Records an active hold.
    fn insert_hold(&self, hold: &NewHold<'_>) -> Result<(), DbError>;
    /// Frees the unit and closes its active hold `hold_id` as `end`, at `at`.
    fn end_hold(
        &self,
        project_id: &str,
        unit_id: &str,
        hold_id: &str,
        end: HoldEnd,
        at: &str,
    ) -> Result<(), DbError>;
    /// The hold on a unit that exists (an error if it does not).
    fn unit_hold_id(&self, project_id: &str, unit_id: &str) -> Result<Option<String>, DbError>;
    /// Held units whose time is at or before `at`.
    fn holds_due(&self, at: &str) -> Result<Vec<DueHold>, DbError>;

    /// Marks the buyer with `lottery_no` as skipped.
    fn skip_buyer(&self, event_id: &str, lottery_no: u32) -> Result<(), DbError>;
    /// The first number above every number called so far, with its buyer.
    fn next_to_call(&self, event_id: &str) -> Result<Option<(u32, String)>, DbError>;
    /// Serves `number`, raising the highest number called if `advance_high_water`.
    fn set_now_serving(
        &self,
        event_id: &str,
        number: u32,
        advance_high_water: bool,
    ) -> Result<(), DbError>;
    /// The buyer with `lottery_no` and whether they were skipped.
    fn buyer_by_number(
        &self,
        event_id: &str,
        lottery_no: u32,
    ) -> Result<Option<(String, bool)>, DbError>;
    /// Clears the buyer's skipped mark.
    fn unskip_buyer(&self, event_id: &str, buyer_id: &str) -> Result<(), DbError>;
    /// The listed buyer's ID number as kept, for the identity check.
    fn buyer_identity(
        &self,
        event_id: &str,
        buyer_id: &str,
    ) -> Result<Option<BuyerIdentity>, DbError>;
    /// Switches the event's selection mode.
    fn set_mode(&self, event_id: &str, mode: SelectionMode) -> Result<(), DbError>;
    /// The desk's salt for ID numbers, once created.
    fn id_number_salt(&self) -> Result<Option<String>, DbError>;
    /// Keeps the desk's salt for ID numbers.
    fn set_id_number_salt(&self, salt: &str) -> Result<(), DbError>;
    /// Adds a buyer unless one with the same ID number is listed; whether it was added.
    fn add_buyer(&self, buyer: &NewBuyer<'_>) -> Result<bool, DbError>;
    /// How many of the event's buyers have a lottery number.
    fn numbered_buyers(&self, event_id: &str) -> Result<i64, DbError>;
    /// The listed buyer with this ID number hash: their id and name.
    fn buyer_by_id_hash(
        &self,
        event_id: &str,
        id_number_hash: &str,
    ) -> Result<Option<(String, String)>, DbError>;
    /// Gives the buyer their lottery number.
    fn number_buyer(&self, event_id: &str, buyer_id: &str, number: u32) -> Result<(), DbError>;

    /// A unit's approved price, if it has one.
    fn approval(&self, project_id: &str, unit_id: &str) -> Result<Option<StoredApproval>, DbError>;
    /// The event's listed buyers, by id.
    fn buyers(&self, event_id: &str) -> Result<Vec<Buyer>, DbError>;
    /// The event's allotted units, by code.
    fn control_units(&self, event_id: &str) -> Result<Vec<ControlUnit>, DbError>;
    /// Every row the reconciliation of `event_id` compares.
    fn event_books(&self, event_id: &str) -> Result<EventBooks, DbError>;
}

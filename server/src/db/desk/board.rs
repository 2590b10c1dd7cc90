//! What the consoles, the big screen and headquarters' board read from the desk: the whole
//! plan of an event's project (every unit, where it is, what it is, its status and its buyer)
//! and the event's queue. Reads only; the desk's writer never needs them.

use crate::db::DbError;

/// One unit of the event's project as the control table (销控表) draws it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BoardUnit {
    /// The unit.
    pub unit_id: String,
    /// Its code on the plan, e.g. `1-1001`.
    pub code: String,
    /// Its building's name (empty for a unit loaded before the desk kept it).
    pub building: String,
    /// Its floor (0 when not known).
    pub floor: i32,
    /// Its layout, e.g. `3室2厅2卫` (empty when not known).
    pub layout: String,
    /// Area in m² (decimal text).
    pub area_m2: String,
    /// Approved unit price per m² (decimal text), if approved.
    pub unit_price: Option<String>,
    /// `available`, `held`, `sold` or `withdrawn`.
    pub status: String,
    /// Whether the unit is allotted to the event (only those may be chosen there).
    pub allotted: bool,
    /// The buyer holding or owning it.
    pub buyer_id: Option<String>,
    /// That buyer's name as the list holds it, in clear: the use case masks it before it
    /// leaves the server.
    pub buyer_name: Option<String>,
    /// The hold on it, if held.
    pub hold_id: Option<String>,
    /// When the hold lapses.
    pub held_until: Option<String>,
}

/// One buyer of the event's list, in lottery order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueLine {
    /// Their lottery number, once the lottery was imported.
    pub lottery_no: Option<u32>,
    /// The buyer.
    pub buyer_id: String,
    /// Their name in clear (masked by the use case before it leaves the server).
    pub name: String,
    /// Their ID number, masked as the list keeps it.
    pub id_number_masked: String,
    /// Whether they were skipped and not yet recalled.
    pub skipped: bool,
    /// Units they hold or bought at the event.
    pub units_taken: u32,
}

/// A unit sold at the event, for the hall's big screen (nothing about its buyer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecentSale {
    /// The unit's code.
    pub code: String,
    /// Its building's name.
    pub building: String,
    /// Its layout.
    pub layout: String,
    /// When its voucher was issued (RFC 3339, UTC).
    pub sold_at: String,
}

/// How many units of the event's project share a building, a status and whether they are
/// allotted to the event: what the control table's tabs and counts need, without the units.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BoardTally {
    /// The building's name; empty for units loaded before the desk kept it.
    pub building: String,
    /// For such a unit (one per row), its code, which names its building; `None` otherwise.
    pub code: Option<String>,
    /// `available`, `held`, `sold` or `withdrawn`.
    pub status: String,
    /// Whether these units are allotted to the event.
    pub allotted: bool,
    /// How many units.
    pub units: u64,
}

/// The consoles' reads.
pub trait DeskBoard {
    /// The units of the project of `event_id`'s desk, with whether each is allotted to the
    /// event, ordered by building, floor and code; empty if no desk is open for it. With a
    /// `building`, only that building's units and those whose building the desk does not
    /// know (the caller places them by their code).
    fn board_units(
        &self,
        event_id: &str,
        building: Option<&str>,
    ) -> Result<Vec<BoardUnit>, DbError>;
    /// The units of the project of `event_id`'s desk counted by building, status and whether
    /// allotted (units without a building one by one, with their code); empty if no desk is
    /// open for it.
    fn board_tally(&self, event_id: &str) -> Result<Vec<BoardTally>, DbError>;
    /// The event's buyers, numbered ones first in lottery order.
    fn queue_lines(&self, event_id: &str) -> Result<Vec<QueueLine>, DbError>;
    /// The latest `limit` units sold at the event (live vouchers, newest first).
    fn recent_sales(&self, event_id: &str, limit: u32) -> Result<Vec<RecentSale>, DbError>;
    /// The events whose desks are open here: id and name, by id.
    fn open_events(&self) -> Result<Vec<(String, String)>, DbError>;
}

//! An event's desk rows as they are stored, to move between servers (ADR 0021): the whole
//! event when a desk is lent or handed back, the rows a batch of ledger entries names while a
//! venue ships its segment.
//!
//! Rows travel as stored — every column, text as text, integers as integers — so the
//! receiving desk holds byte-identical rows. Only the desk's own tables of one event are
//! read or written; a table or column the receiver does not know refuses the image.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::db::DbError;

/// The rows of one table.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TableRows {
    /// The table's name.
    pub table: String,
    /// Its columns, in the order of each row's cells.
    pub columns: Vec<String>,
    /// The rows: null, integer or text cells.
    pub rows: Vec<Vec<serde_json::Value>>,
}

/// Some or all of one event's desk rows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EventImage {
    /// The event.
    pub event_id: String,
    /// Whether this is every row of the event (a delegation or a hand-back).
    pub full: bool,
    /// The rows, table by table, in an order that keeps references valid.
    pub tables: Vec<TableRows>,
}

impl EventImage {
    /// The number of rows.
    pub fn row_count(&self) -> usize {
        self.tables.iter().map(|t| t.rows.len()).sum()
    }
}

/// Which rows a batch of ledger entries names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Touched {
    /// Units by id.
    pub units: BTreeSet<String>,
    /// Holds by id.
    pub holds: BTreeSet<String>,
    /// Work tickets by id (with their reviews, receipts and vouchers).
    pub tickets: BTreeSet<String>,
    /// Receipts by id.
    pub receipts: BTreeSet<String>,
    /// Vouchers by number.
    pub vouchers: BTreeSet<i64>,
    /// Buyers by id.
    pub buyers: BTreeSet<String>,
    /// Every buyer (a list or lottery import).
    pub all_buyers: bool,
    /// The idempotency keys of the commands that wrote the entries: their answers travel
    /// with them.
    pub keys: BTreeSet<String>,
}

/// Which units' rows an image may write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnitScope {
    /// Every unit of the event's project (a venue taking a desk).
    Project,
    /// Only the units allotted to the event at the receiving desk (central).
    Allotted,
}

/// What applying an image wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImageApplied {
    /// Rows inserted or changed.
    pub rows: usize,
}

/// Reading and writing an event's rows as an image.
pub trait DeskImages {
    /// The event's rows: all of them (`touched` is `None`), or those `touched` names plus the
    /// event's own row. `None` if the desk has no such event.
    fn event_image(
        &self,
        event_id: &str,
        touched: Option<&Touched>,
    ) -> Result<Option<EventImage>, DbError>;

    /// Writes an image's rows: rows that change in place (the event, units, allotments,
    /// buyers, holds) are inserted or updated; append-only rows (work tickets, reviews,
    /// receipts, vouchers) are inserted when new and must equal the stored row otherwise.
    /// `units` says which units' rows may be written: the venue takes the whole project's
    /// (its control table shows them all), central only the event's allotted units (the
    /// others may have moved at central's own desk meanwhile).
    fn apply_image(&self, image: &EventImage, units: UnitScope) -> Result<ImageApplied, DbError>;
}

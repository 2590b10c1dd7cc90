//! Selection events (选房) and their buyers. Behaviour arrives with the selection-event work;
//! this is the record the event document holds.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::common::{BuyerId, EventId, ProjectId, UnitId, vocabulary};

/// How the queue is enforced at an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SelectionMode {
    /// Buyers select strictly in lottery order.
    StrictOrder,
    /// Any listed buyer may select.
    Free,
}
vocabulary!(SelectionMode, "selection mode", { StrictOrder => "strict_order", Free => "free" });

/// A buyer on the approved list. The national ID number never appears in clear.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Buyer {
    /// Stable id.
    pub id: BuyerId,
    /// Name as on the list.
    pub name: String,
    /// Salted hash of the national ID number (hex).
    pub id_number_hash: String,
    /// Masked ID number for display, e.g. "1101********1234".
    pub id_number_masked: String,
    /// Position in the notary's lottery order, once drawn.
    pub lottery_no: Option<u32>,
}

/// A whole selection-event aggregate as read from its document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelectionEvent {
    /// Stable id.
    pub id: EventId,
    /// The project whose units are offered.
    pub project_id: ProjectId,
    /// Event name.
    pub name: String,
    /// When selection starts.
    pub starts_at: DateTime<Utc>,
    /// Queue mode.
    pub mode: SelectionMode,
    /// Units allotted to this event.
    pub allotted_units: Vec<UnitId>,
    /// Buyers by id.
    pub buyers: BTreeMap<BuyerId, Buyer>,
    /// The lottery number the desk has called (叫号), mirrored by the server.
    pub now_serving: Option<u32>,
}

//! What travels between central and a venue server, as JSON: the offer of a desk, the venue's
//! shipments of its segment, central's acknowledgements and the export bundle.

use serde::{Deserialize, Serialize};

use crate::db::desk::image::{EventImage, TableRows};
use crate::db::desk::ledger::{ChainEntry, LedgerTip};

/// A point of a chain: a sequence number and its hash, hex.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// The entry's sequence number.
    pub seq: i64,
    /// Its hash, hex.
    pub hash: String,
}

impl From<LedgerTip> for Link {
    fn from(t: LedgerTip) -> Link {
        Link { seq: t.seq, hash: hex::encode(t.hash) }
    }
}

impl Link {
    /// The link as a tip, if its hash is 32 bytes of hex.
    pub fn tip(&self) -> Option<LedgerTip> {
        let hash = <[u8; 32]>::try_from(hex::decode(&self.hash).ok()?.as_slice()).ok()?;
        Some(LedgerTip { seq: self.seq, hash })
    }
}

/// One ledger entry on the wire.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireEntry {
    /// Sequence number.
    pub seq: i64,
    /// When, as the desk stores instants.
    pub at: String,
    /// The event.
    pub event_id: String,
    /// Who caused it.
    pub actor: String,
    /// The command's key, if any.
    pub idempotency_key: Option<String>,
    /// What happened.
    pub kind: String,
    /// The entry, JSON text.
    pub entry: String,
    /// The previous hash, hex.
    pub prev_hash: String,
    /// Its hash, hex.
    pub hash: String,
}

impl From<&ChainEntry> for WireEntry {
    fn from(e: &ChainEntry) -> WireEntry {
        WireEntry {
            seq: e.seq,
            at: e.at.clone(),
            event_id: e.event_id.clone(),
            actor: e.actor.clone(),
            idempotency_key: e.idempotency_key.clone(),
            kind: e.kind.clone(),
            entry: e.entry.clone(),
            prev_hash: hex::encode(&e.prev_hash),
            hash: hex::encode(&e.hash),
        }
    }
}

impl WireEntry {
    /// The entry as stored; `None` if a hash is not hex.
    pub fn chain_entry(&self) -> Option<ChainEntry> {
        Some(ChainEntry {
            seq: self.seq,
            at: self.at.clone(),
            event_id: self.event_id.clone(),
            actor: self.actor.clone(),
            idempotency_key: self.idempotency_key.clone(),
            kind: self.kind.clone(),
            entry: self.entry.clone(),
            prev_hash: hex::decode(&self.prev_hash).ok()?,
            hash: hex::decode(&self.hash).ok()?,
        })
    }
}

/// Central's offer of an event's desk to the venue it is lent to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Offer {
    /// The event.
    pub event_id: String,
    /// The generation the venue will hold.
    pub generation: i64,
    /// The venue's name.
    pub venue_name: String,
    /// When the lease ends (RFC 3339).
    pub lease_until: String,
    /// The delegation entry in central's chain: the venue's chain continues from it.
    pub anchor: Link,
    /// The last venue entry central holds: past the anchor when a venue (a copy taken before
    /// it took the desk, or a new box on the same device) takes an offer it took before.
    pub shipped: Link,
    /// The key the venue signs an export bundle with, hex.
    pub bundle_key: String,
    /// Every desk row of the event.
    pub image: EventImage,
    /// The people who work the event: users (with password hashes), their devices (token
    /// hashes) and grants, so they sign in and send commands at the venue.
    pub people: Vec<TableRows>,
}

/// A batch of the venue's segment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Shipment {
    /// The event.
    pub event_id: String,
    /// The generation the venue holds.
    pub generation: i64,
    /// Entries after what central acknowledged, in order.
    pub entries: Vec<WireEntry>,
    /// The rows those entries name (the whole event on a hand-back).
    pub image: Option<EventImage>,
    /// The venue's tip when it sent the batch.
    pub venue_tip: Link,
    /// When the oldest entry not in this batch was written, if one is left.
    pub oldest_unshipped_at: Option<String>,
    /// The venue hands the desk back with this batch.
    #[serde(rename = "final")]
    pub is_final: bool,
}

/// Central's answer to a shipment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    /// The last venue entry central holds.
    pub shipped: Link,
    /// Central has taken the desk back (after a final shipment).
    pub returned: bool,
}

/// A venue's export bundle: its whole segment and the event's rows, signed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bundle {
    /// The anchor the segment continues from.
    pub anchor: Link,
    /// The final shipment: every entry since the anchor and the full image.
    pub shipment: Shipment,
    /// HMAC-SHA256 of the shipment's JSON under the delegation's bundle key, hex.
    pub mac: String,
}

/// What central holds of a venue's segment beyond a point: for a venue restarted from its
/// second copy, which may be behind what it had shipped.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recovery {
    /// The last venue entry central holds.
    pub shipped: Link,
    /// Central's entries after the point asked for (at most a batch).
    pub entries: Vec<WireEntry>,
    /// Central's rows those entries name (the venue's rows as shipped).
    pub image: Option<EventImage>,
}

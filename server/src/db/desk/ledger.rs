//! The desk's hash-chained ledger: append, the tip, and reading it back for verification.
//! Computing the hashes and checking the chain stay with `desk::ledger`; this is what it
//! reads and writes.

use std::ops::ControlFlow;

use crate::db::DbError;

/// The last entry of the ledger, as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LedgerTip {
    /// Its sequence number.
    pub seq: i64,
    /// Its hash.
    pub hash: [u8; 32],
}

/// One entry to append, its hash already computed.
#[derive(Clone, Copy, Debug)]
pub struct NewLedgerEntry<'a> {
    /// Its sequence number: the tip's plus one.
    pub seq: i64,
    /// When it happened, as the desk stores instants.
    pub at: &'a str,
    /// The event it belongs to.
    pub event_id: &'a str,
    /// Who caused it.
    pub actor: &'a str,
    /// The idempotency key of the command that caused it, if a command did.
    pub idempotency_key: Option<&'a str>,
    /// What happened.
    pub kind: &'a str,
    /// The entry itself, JSON.
    pub entry: &'a str,
    /// The hash of the entry before it.
    pub prev_hash: &'a [u8; 32],
    /// Its own hash.
    pub hash: &'a [u8; 32],
}

/// One stored entry, with the fields its hash covers, as read back for verification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredLedgerEntry {
    /// Its sequence number.
    pub seq: i64,
    /// When it happened.
    pub at: String,
    /// The event it belongs to.
    pub event_id: String,
    /// What happened.
    pub kind: String,
    /// The entry, JSON.
    pub entry: String,
    /// The hash it names as its predecessor's (not necessarily 32 bytes in a damaged file).
    pub prev_hash: Vec<u8>,
    /// The hash stored with it.
    pub hash: Vec<u8>,
}

/// One ledger entry with every stored field, as a venue ships it (the hash covers seq, at, event, kind,
/// entry and the previous hash; actor and key are carried for the record).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainEntry {
    /// Its sequence number in the chain.
    pub seq: i64,
    /// When it happened.
    pub at: String,
    /// The event.
    pub event_id: String,
    /// Who caused it.
    pub actor: String,
    /// The command's idempotency key, if a command caused it.
    pub idempotency_key: Option<String>,
    /// What happened.
    pub kind: String,
    /// The entry, JSON.
    pub entry: String,
    /// The previous entry's hash.
    pub prev_hash: Vec<u8>,
    /// Its own hash.
    pub hash: Vec<u8>,
}

/// The desk's ledger.
pub trait DeskLedger {
    /// The last entry, or `None` while the ledger is empty. A stored hash that is not 32
    /// bytes is corrupt.
    fn ledger_tip(&self) -> Result<Option<LedgerTip>, DbError>;

    /// Appends one entry.
    fn append_ledger_entry(&self, entry: &NewLedgerEntry<'_>) -> Result<(), DbError>;

    /// Hands every entry to `visit` in sequence order, one at a time (the ledger can be far
    /// larger than memory should hold), until `visit` breaks.
    fn visit_ledger(
        &self,
        visit: &mut dyn FnMut(StoredLedgerEntry) -> ControlFlow<()>,
    ) -> Result<(), DbError>;

    /// Up to `limit` entries after `seq`, in order (for the mirror).
    fn ledger_after(&self, seq: i64, limit: i64) -> Result<Vec<LedgerRow>, DbError>;

    /// This desk's own ledger entries after `after_seq`, every field, at most `limit` (what
    /// a venue ships).
    fn own_entries(&self, after_seq: i64, limit: i64) -> Result<Vec<ChainEntry>, DbError>;

    /// Where this desk's own chain starts: `None` for central (the genesis hash), the
    /// delegation entry for a venue.
    fn chain_anchor(&self) -> Result<Option<LedgerTip>, DbError>;

    /// Sets where this desk's chain starts; only while its ledger is empty.
    fn set_chain_anchor(&self, anchor: LedgerTip) -> Result<(), DbError>;

    /// The sequence number of the last entry (0 before the first).
    fn ledger_seq(&self) -> Result<i64, DbError> {
        Ok(match self.ledger_tip()? {
            Some(tip) => tip.seq,
            None => self.chain_anchor()?.map_or(0, |anchor| anchor.seq),
        })
    }
}

/// One ledger entry as the mirror reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerRow {
    /// Its sequence number.
    pub seq: i64,
    /// The event it belongs to.
    pub event_id: String,
    /// What happened (`hold`, `call`, ...).
    pub kind: String,
    /// The entry, JSON.
    pub entry: String,
}

//! The desk's append-only ledger, hash-chained so that any edit, deletion or reordering of
//! past entries is detectable.
//!
//! Each entry's hash is SHA-256 over the previous entry's hash and the entry's own fields, so
//! the last hash commits to the whole history. The chain starts from 32 zero bytes. The
//! writer keeps the tip in memory between commands; a command that is rolled back (a refusal
//! or a failed group) restores the tip it started from.

use std::ops::ControlFlow;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::db::desk::DeskLedger;
use crate::db::desk::ledger::{LedgerTip, NewLedgerEntry};
use crate::error::ServerError;

/// The hash before the first entry.
pub const GENESIS: [u8; 32] = [0; 32];

/// The end of the chain: the last sequence number and its hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tip {
    /// Sequence number of the last entry (0 before the first).
    pub seq: i64,
    /// Hash of the last entry.
    pub hash: [u8; 32],
}

/// Who caused an entry and under which command.
#[derive(Clone, Copy, Debug)]
pub struct Cause<'a> {
    /// The user (or `server` for expiries).
    pub actor: &'a str,
    /// The command's idempotency key, if a command caused it.
    pub key: Option<&'a str>,
    /// When the group that holds it commits.
    pub at: DateTime<Utc>,
}

/// Reads the tip from the database: before the first entry, the chain starts from its anchor
/// — [`GENESIS`] at central, the delegation entry of central's chain at a venue (ADR 0021).
pub fn tip(db: &dyn DeskLedger) -> Result<Tip, ServerError> {
    Ok(match db.ledger_tip()? {
        None => start(db)?,
        Some(LedgerTip { seq, hash }) => Tip { seq, hash },
    })
}

/// Where this desk's chain starts: the genesis, or a venue's anchor.
pub fn start(db: &dyn DeskLedger) -> Result<Tip, ServerError> {
    Ok(match db.chain_anchor()? {
        None => Tip { seq: 0, hash: GENESIS },
        Some(LedgerTip { seq, hash }) => Tip { seq, hash },
    })
}

/// The hash of one entry.
pub(crate) fn entry_hash(
    prev: &[u8; 32],
    seq: i64,
    at: &str,
    event_id: &str,
    kind: &str,
    entry: &str,
) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(seq.to_be_bytes());
    // Field separators keep ("ab", "c") and ("a", "bc") apart.
    for field in [at, event_id, kind, entry] {
        h.update(field.as_bytes());
        h.update([0u8]);
    }
    h.finalize().into()
}

/// Appends one entry after `tip` and advances it.
pub fn append(
    db: &dyn DeskLedger,
    tip: &mut Tip,
    cause: Cause<'_>,
    event_id: &str,
    kind: &str,
    entry: &impl Serialize,
) -> Result<i64, ServerError> {
    let entry = serde_json::to_string(entry).map_err(|e| ServerError::Corrupt(e.to_string()))?;
    let at = cause.at.to_rfc3339_opts(SecondsFormat::Micros, true);
    let seq = tip.seq + 1;
    let hash = entry_hash(&tip.hash, seq, &at, event_id, kind, &entry);
    db.append_ledger_entry(&NewLedgerEntry {
        seq,
        at: &at,
        event_id,
        actor: cause.actor,
        idempotency_key: cause.key,
        kind,
        entry: &entry,
        prev_hash: &tip.hash,
        hash: &hash,
    })?;
    *tip = Tip { seq, hash };
    Ok(seq)
}

/// The result of checking the whole chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Verification {
    /// Entries checked.
    pub entries: i64,
    /// The first entry whose link or hash does not match, if any.
    pub first_bad_seq: Option<i64>,
    /// The last hash, hex.
    pub tip_hash: String,
}

impl Verification {
    /// Whether the chain is intact.
    pub fn ok(&self) -> bool {
        self.first_bad_seq.is_none()
    }
}

/// Recomputes every hash from the first entry and checks each link and the numbering. A
/// venue's chain is checked from its anchor.
pub fn verify(db: &dyn DeskLedger) -> Result<Verification, ServerError> {
    let start = start(db)?;
    let mut prev = start.hash;
    let mut expected_seq = start.seq.saturating_add(1);
    let mut entries = 0;
    let mut first_bad_seq = None;
    db.visit_ledger(&mut |e| {
        let computed = entry_hash(&prev, e.seq, &e.at, &e.event_id, &e.kind, &e.entry);
        if e.seq != expected_seq || e.prev_hash != prev || e.hash != computed {
            first_bad_seq = Some(e.seq);
            return ControlFlow::Break(());
        }
        prev = computed;
        expected_seq += 1;
        entries += 1;
        ControlFlow::Continue(())
    })?;
    Ok(Verification { entries, first_bad_seq, tip_hash: hex::encode(prev) })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use rusqlite::Connection;

    use super::*;

    fn ledger() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(crate::db::sqlite::desk::schema::DESK_SCHEMA).unwrap();
        conn
    }

    fn cause() -> Cause<'static> {
        Cause { actor: "staff-01", key: Some("k1"), at: DateTime::UNIX_EPOCH }
    }

    #[test]
    fn an_intact_chain_verifies_and_its_tip_survives_a_reread() {
        let conn = ledger();
        let mut tip = tip(&conn).unwrap();
        for i in 0..5 {
            append(&conn, &mut tip, cause(), "e1", "hold", &serde_json::json!({ "i": i })).unwrap();
        }
        let v = verify(&conn).unwrap();
        assert!(v.ok());
        assert_eq!(v.entries, 5);
        assert_eq!(super::tip(&conn).unwrap(), tip);
        assert_eq!(v.tip_hash, hex::encode(tip.hash));
    }

    #[test]
    fn an_edited_entry_breaks_the_chain_at_that_entry() {
        let conn = ledger();
        let mut tip = tip(&conn).unwrap();
        for i in 0..5 {
            append(&conn, &mut tip, cause(), "e1", "hold", &serde_json::json!({ "i": i })).unwrap();
        }
        // The triggers refuse edits; someone with the file can still drop them first.
        assert!(conn.execute("UPDATE desk_ledger SET entry = '{}' WHERE seq = 3", []).is_err());
        conn.execute_batch(
            "DROP TRIGGER desk_ledger_append_only; UPDATE desk_ledger SET entry = '{\"i\":9}' WHERE seq = 3;",
        )
        .unwrap();
        assert_eq!(verify(&conn).unwrap().first_bad_seq, Some(3));
    }

    #[test]
    fn a_deleted_entry_breaks_the_chain() {
        let conn = ledger();
        let mut tip = tip(&conn).unwrap();
        for i in 0..4 {
            append(&conn, &mut tip, cause(), "e1", "hold", &serde_json::json!({ "i": i })).unwrap();
        }
        assert!(conn.execute("DELETE FROM desk_ledger WHERE seq = 2", []).is_err());
        conn.execute_batch(
            "DROP TRIGGER desk_ledger_no_delete; DELETE FROM desk_ledger WHERE seq = 2;",
        )
        .unwrap();
        assert_eq!(verify(&conn).unwrap().first_bad_seq, Some(3));
    }
}

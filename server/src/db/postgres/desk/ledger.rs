//! `DeskLedger` over PostgreSQL.
//!
//! Several server nodes append to the one chain (ADR 0024). Reading the tip takes a
//! transaction-scoped advisory lock first, so an appender reads the tip only once every other
//! appender's transaction has ended, and under READ COMMITTED its next statement sees what
//! that one committed: the chain stays one chain. (`SELECT … FOR UPDATE` on the last row would
//! not do: after waiting it can return the old tip, which a new row has since followed.)
//! Outside a transaction the lock is taken and released by its own statement: a reader then
//! only waits for an append in flight to commit.

use std::ops::ControlFlow;

use tokio_postgres::Row;

use super::super::PgDb;
use super::super::deferred::owned_params;
use super::hash32;
use crate::db::DbError;
use crate::db::desk::DeskLedger;
use crate::db::desk::ledger::{
    ChainEntry, LedgerRow, LedgerTip, NewLedgerEntry, StoredLedgerEntry,
};

/// The advisory lock key of the desk's ledger ("desk led" in ASCII): held from reading the
/// tip until the appending transaction ends.
pub(crate) const LEDGER_LOCK: i64 = 0x6465_736b_206c_6564;

/// How many entries [`DeskLedger::visit_ledger`] reads per query: the ledger can be far
/// larger than memory should hold.
pub(super) const VISIT_PAGE: i64 = 1000;

/// A limit as SQLite takes it: a negative one is no limit (`LIMIT NULL` on PostgreSQL).
pub(crate) fn no_limit_if_negative(limit: i64) -> Option<i64> {
    (limit >= 0).then_some(limit)
}

/// A full ledger row: seq, at, event, actor, key, kind, entry, previous hash, hash.
pub(crate) fn chain_entry(r: &Row) -> Result<ChainEntry, DbError> {
    Ok(ChainEntry {
        seq: r.try_get(0)?,
        at: r.try_get(1)?,
        event_id: r.try_get(2)?,
        actor: r.try_get(3)?,
        idempotency_key: r.try_get(4)?,
        kind: r.try_get(5)?,
        entry: r.try_get(6)?,
        prev_hash: r.try_get(7)?,
        hash: r.try_get(8)?,
    })
}

impl DeskLedger for PgDb {
    fn ledger_seq(&self) -> Result<i64, DbError> {
        // Readers (control tables, live screens, other nodes following the ledger) read the
        // last committed entry without the appenders' lock: they never wait for a group.
        let last = self.row("SELECT seq FROM desk_ledger ORDER BY seq DESC LIMIT 1", &[])?;
        match last {
            Some(row) => Ok(row.try_get(0)?),
            None => Ok(self.chain_anchor()?.map_or(0, |anchor| anchor.seq)),
        }
    }

    fn ledger_tip(&self) -> Result<Option<LedgerTip>, DbError> {
        // A statement of its own: the read below then takes its snapshot after the lock (in a
        // transaction the lock is queued and sent with that read, which runs after it).
        self.write_soon("SELECT pg_advisory_xact_lock($1)", owned_params![LEDGER_LOCK], None)?;
        let Some(row) =
            self.row("SELECT seq, hash FROM desk_ledger ORDER BY seq DESC LIMIT 1", &[])?
        else {
            return Ok(None);
        };
        let seq: i64 = row.try_get(0)?;
        let hash: Vec<u8> = row.try_get(1)?;
        Ok(Some(LedgerTip { seq, hash: hash32(&hash, &format!("ledger entry {seq}'s"))? }))
    }

    fn append_ledger_entry(&self, e: &NewLedgerEntry<'_>) -> Result<(), DbError> {
        // Queued in a transaction: the entry's answer is only ever an error, which fails the
        // group's transaction when it comes (see `deferred`).
        self.write_soon(
            "INSERT INTO desk_ledger(seq, at, event_id, actor, idempotency_key, kind, entry,
                 prev_hash, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            owned_params![
                e.seq,
                e.at.to_owned(),
                e.event_id.to_owned(),
                e.actor.to_owned(),
                e.idempotency_key.map(str::to_owned),
                e.kind.to_owned(),
                e.entry.to_owned(),
                e.prev_hash.to_vec(),
                e.hash.to_vec(),
            ],
            Some(1),
        )
    }

    fn visit_ledger(
        &self,
        visit: &mut dyn FnMut(StoredLedgerEntry) -> ControlFlow<()>,
    ) -> Result<(), DbError> {
        let mut after = i64::MIN;
        loop {
            let rows = self.rows(
                "SELECT seq, at, event_id, kind, entry, prev_hash, hash FROM desk_ledger
                 WHERE seq > $1 ORDER BY seq LIMIT $2",
                &[&after, &VISIT_PAGE],
            )?;
            for r in &rows {
                let entry = StoredLedgerEntry {
                    seq: r.try_get(0)?,
                    at: r.try_get(1)?,
                    event_id: r.try_get(2)?,
                    kind: r.try_get(3)?,
                    entry: r.try_get(4)?,
                    prev_hash: r.try_get(5)?,
                    hash: r.try_get(6)?,
                };
                after = entry.seq;
                if visit(entry).is_break() {
                    return Ok(());
                }
            }
            if i64::try_from(rows.len()).unwrap_or(i64::MAX) < VISIT_PAGE {
                return Ok(());
            }
        }
    }

    fn ledger_after(&self, seq: i64, limit: i64) -> Result<Vec<LedgerRow>, DbError> {
        let rows = self.rows(
            "SELECT seq, event_id, kind, entry FROM desk_ledger WHERE seq > $1 ORDER BY seq
             LIMIT $2",
            &[&seq, &no_limit_if_negative(limit)],
        )?;
        rows.iter()
            .map(|r| {
                Ok(LedgerRow {
                    seq: r.try_get(0)?,
                    event_id: r.try_get(1)?,
                    kind: r.try_get(2)?,
                    entry: r.try_get(3)?,
                })
            })
            .collect()
    }

    fn own_entries(&self, after_seq: i64, limit: i64) -> Result<Vec<ChainEntry>, DbError> {
        let rows = self.rows(
            "SELECT seq, at, event_id, actor, idempotency_key, kind, entry, prev_hash, hash
             FROM desk_ledger WHERE seq > $1 ORDER BY seq LIMIT $2",
            &[&after_seq, &no_limit_if_negative(limit)],
        )?;
        rows.iter().map(chain_entry).collect()
    }

    fn chain_anchor(&self) -> Result<Option<LedgerTip>, DbError> {
        let Some(row) = self.row("SELECT value FROM desk_meta WHERE key = 'chain_anchor'", &[])?
        else {
            return Ok(None);
        };
        let text: String = row.try_get(0)?;
        let parsed = text.split_once(':').and_then(|(seq, hash)| {
            let hash = <[u8; 32]>::try_from(hex::decode(hash).ok()?.as_slice()).ok()?;
            Some(LedgerTip { seq: seq.parse().ok()?, hash })
        });
        parsed.map(Some).ok_or_else(|| DbError::Corrupt("the chain anchor is unreadable".into()))
    }

    fn set_chain_anchor(&self, anchor: LedgerTip) -> Result<(), DbError> {
        if self.ledger_tip()?.is_some() {
            return Err(DbError::Corrupt("a chain anchor is set only on an empty ledger".into()));
        }
        let value = format!("{}:{}", anchor.seq, hex::encode(anchor.hash));
        self.execute(
            "INSERT INTO desk_meta(key, value) VALUES ('chain_anchor', $1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&value],
        )?;
        Ok(())
    }
}

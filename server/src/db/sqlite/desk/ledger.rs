//! `DeskLedger` over SQLite.

use std::ops::ControlFlow;

use rusqlite::{Connection, OptionalExtension, params};

use crate::db::DbError;
use crate::db::desk::DeskLedger;
use crate::db::desk::ledger::{
    ChainEntry, LedgerRow, LedgerTip, NewLedgerEntry, StoredLedgerEntry,
};

impl DeskLedger for Connection {
    fn ledger_tip(&self) -> Result<Option<LedgerTip>, DbError> {
        let last: Option<(i64, Vec<u8>)> = self
            // Cached: every group of the writer starts by reading the tip.
            .prepare_cached("SELECT seq, hash FROM desk_ledger ORDER BY seq DESC LIMIT 1")?
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        last.map(|(seq, hash)| {
            let hash = <[u8; 32]>::try_from(hash.as_slice())
                .map_err(|_| DbError::Corrupt(format!("ledger hash at {seq}")))?;
            Ok(LedgerTip { seq, hash })
        })
        .transpose()
    }

    fn append_ledger_entry(&self, e: &NewLedgerEntry<'_>) -> Result<(), DbError> {
        self.prepare_cached(
            "INSERT INTO desk_ledger(seq, at, event_id, actor, idempotency_key, kind, entry, prev_hash, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?
        .execute(params![
            e.seq,
            e.at,
            e.event_id,
            e.actor,
            e.idempotency_key,
            e.kind,
            e.entry,
            &e.prev_hash[..],
            &e.hash[..]
        ])?;
        Ok(())
    }

    fn visit_ledger(
        &self,
        visit: &mut dyn FnMut(StoredLedgerEntry) -> ControlFlow<()>,
    ) -> Result<(), DbError> {
        let mut stmt = self.prepare(
            "SELECT seq, at, event_id, kind, entry, prev_hash, hash FROM desk_ledger ORDER BY seq",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let entry = StoredLedgerEntry {
                seq: r.get(0)?,
                at: r.get(1)?,
                event_id: r.get(2)?,
                kind: r.get(3)?,
                entry: r.get(4)?,
                prev_hash: r.get(5)?,
                hash: r.get(6)?,
            };
            if visit(entry).is_break() {
                break;
            }
        }
        Ok(())
    }

    fn ledger_after(&self, seq: i64, limit: i64) -> Result<Vec<LedgerRow>, DbError> {
        Ok(self
            .prepare_cached(
                "SELECT seq, event_id, kind, entry FROM desk_ledger WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )?
            .query_map([seq, limit], |r| {
                Ok(LedgerRow { seq: r.get(0)?, event_id: r.get(1)?, kind: r.get(2)?, entry: r.get(3)? })
            })?
            .collect::<Result<_, _>>()?)
    }

    fn own_entries(&self, after_seq: i64, limit: i64) -> Result<Vec<ChainEntry>, DbError> {
        Ok(self
            .prepare_cached(
                "SELECT seq, at, event_id, actor, idempotency_key, kind, entry, prev_hash, hash
                 FROM desk_ledger WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )?
            .query_map([after_seq, limit], chain_entry)?
            .collect::<Result<_, _>>()?)
    }

    fn chain_anchor(&self) -> Result<Option<LedgerTip>, DbError> {
        let text: Option<String> = self
            .prepare_cached("SELECT value FROM desk_meta WHERE key = 'chain_anchor'")?
            .query_row([], |r| r.get(0))
            .optional()?;
        let Some(text) = text else { return Ok(None) };
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
        self.execute(
            "INSERT INTO desk_meta(key, value) VALUES ('chain_anchor', ?1)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [format!("{}:{}", anchor.seq, hex::encode(anchor.hash))],
        )?;
        Ok(())
    }
}

/// A full ledger row.
pub(super) fn chain_entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<ChainEntry> {
    Ok(ChainEntry {
        seq: r.get(0)?,
        at: r.get(1)?,
        event_id: r.get(2)?,
        actor: r.get(3)?,
        idempotency_key: r.get(4)?,
        kind: r.get(5)?,
        entry: r.get(6)?,
        prev_hash: r.get(7)?,
        hash: r.get(8)?,
    })
}

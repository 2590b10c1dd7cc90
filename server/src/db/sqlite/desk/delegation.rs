//! `DeskDelegations` over SQLite.

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::db::DbError;
use crate::db::desk::DeskDelegations;
use crate::db::desk::delegation::{DelegationRow, LeaseSide, LeaseState, ShippedReport};
use crate::db::desk::ledger::{ChainEntry, LedgerTip};

const COLUMNS: &str = "event_id, generation, side, venue_device_id, venue_name, lease_until,
    anchor_seq, anchor_hash, bundle_key, state, shipped_seq, shipped_hash, venue_tip_seq,
    oldest_unshipped_at, last_heard_at, delegated_at, ended_at";

fn hash32(bytes: Vec<u8>, what: &str) -> Result<[u8; 32], DbError> {
    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| DbError::Corrupt(format!("{what} hash")))
}

/// The stored columns of one row, before their names are parsed.
type RawRow = (DelegationRow, String, String, Vec<u8>, Vec<u8>);

fn raw(r: &Row<'_>) -> rusqlite::Result<RawRow> {
    let zero = LedgerTip { seq: 0, hash: [0; 32] };
    let row = DelegationRow {
        event_id: r.get(0)?,
        generation: r.get(1)?,
        side: LeaseSide::Lent,
        venue_device_id: r.get(3)?,
        venue_name: r.get(4)?,
        lease_until: r.get(5)?,
        anchor: LedgerTip { seq: r.get(6)?, ..zero },
        bundle_key: r.get(8)?,
        state: LeaseState::Active,
        shipped: LedgerTip { seq: r.get(10)?, ..zero },
        venue_tip_seq: r.get(12)?,
        oldest_unshipped_at: r.get(13)?,
        last_heard_at: r.get(14)?,
        delegated_at: r.get(15)?,
        ended_at: r.get(16)?,
    };
    Ok((row, r.get(2)?, r.get(9)?, r.get(7)?, r.get(11)?))
}

fn parse((mut row, side, state, anchor, shipped): RawRow) -> Result<DelegationRow, DbError> {
    row.side = LeaseSide::parse(&side).ok_or_else(|| DbError::Corrupt(format!("side {side}")))?;
    row.state =
        LeaseState::parse(&state).ok_or_else(|| DbError::Corrupt(format!("lease {state}")))?;
    row.anchor.hash = hash32(anchor, "anchor")?;
    row.shipped.hash = hash32(shipped, "shipped")?;
    Ok(row)
}

impl DeskDelegations for Connection {
    fn delegation(&self, event_id: &str) -> Result<Option<DelegationRow>, DbError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM desk_delegations WHERE event_id = ?1
             ORDER BY generation DESC LIMIT 1"
        );
        let found = self.prepare_cached(&sql)?.query_row([event_id], raw).optional()?;
        found.map(parse).transpose()
    }

    fn delegations(&self) -> Result<Vec<DelegationRow>, DbError> {
        let sql =
            format!("SELECT {COLUMNS} FROM desk_delegations ORDER BY delegated_at, generation");
        let rows: Vec<RawRow> =
            self.prepare_cached(&sql)?.query_map([], raw)?.collect::<Result<_, _>>()?;
        rows.into_iter().map(parse).collect()
    }

    fn insert_delegation(&self, d: &DelegationRow) -> Result<(), DbError> {
        let sql = format!(
            "INSERT INTO desk_delegations({COLUMNS})
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)"
        );
        self.prepare_cached(&sql)?.execute(params![
            d.event_id,
            d.generation,
            d.side.as_str(),
            d.venue_device_id,
            d.venue_name,
            d.lease_until,
            d.anchor.seq,
            &d.anchor.hash[..],
            d.bundle_key,
            d.state.as_str(),
            d.shipped.seq,
            &d.shipped.hash[..],
            d.venue_tip_seq,
            d.oldest_unshipped_at,
            d.last_heard_at,
            d.delegated_at,
            d.ended_at,
        ])?;
        Ok(())
    }

    fn set_shipped(&self, r: &ShippedReport<'_>) -> Result<(), DbError> {
        self.prepare_cached(
            "UPDATE desk_delegations SET shipped_seq = ?3, shipped_hash = ?4, venue_tip_seq = ?5,
                 oldest_unshipped_at = ?6, last_heard_at = ?7
             WHERE event_id = ?1 AND generation = ?2",
        )?
        .execute(params![
            r.event_id,
            r.generation,
            r.shipped.seq,
            &r.shipped.hash[..],
            r.venue_tip_seq,
            r.oldest_unshipped_at,
            r.heard_at,
        ])?;
        Ok(())
    }

    fn end_delegation(
        &self,
        event_id: &str,
        generation: i64,
        state: LeaseState,
        at: &str,
    ) -> Result<(), DbError> {
        self.prepare_cached(
            "UPDATE desk_delegations SET state = ?3, ended_at = ?4
             WHERE event_id = ?1 AND generation = ?2",
        )?
        .execute(params![event_id, generation, state.as_str(), at])?;
        Ok(())
    }

    fn append_venue_entry(&self, generation: i64, e: &ChainEntry) -> Result<(), DbError> {
        self.prepare_cached(
            "INSERT INTO desk_venue_ledger(event_id, generation, seq, at, actor, idempotency_key,
                 kind, entry, prev_hash, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?
        .execute(params![
            e.event_id,
            generation,
            e.seq,
            e.at,
            e.actor,
            e.idempotency_key,
            e.kind,
            e.entry,
            e.prev_hash,
            e.hash,
        ])?;
        Ok(())
    }

    fn venue_entry_hash(
        &self,
        event_id: &str,
        generation: i64,
        seq: i64,
    ) -> Result<Option<Vec<u8>>, DbError> {
        Ok(self
            .prepare_cached(
                "SELECT hash FROM desk_venue_ledger
                 WHERE event_id = ?1 AND generation = ?2 AND seq = ?3",
            )?
            .query_row(params![event_id, generation, seq], |r| r.get(0))
            .optional()?)
    }

    fn venue_entries(
        &self,
        event_id: &str,
        generation: i64,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<ChainEntry>, DbError> {
        Ok(self
            .prepare_cached(
                "SELECT seq, at, event_id, actor, idempotency_key, kind, entry, prev_hash, hash
                 FROM desk_venue_ledger WHERE event_id = ?1 AND generation = ?2 AND seq > ?3
                 ORDER BY seq LIMIT ?4",
            )?
            .query_map(params![event_id, generation, after_seq, limit], super::ledger::chain_entry)?
            .collect::<Result<_, _>>()?)
    }

    fn event_sharing_units(&self, event_id: &str) -> Result<Option<String>, DbError> {
        Ok(self
            .prepare_cached(
                "SELECT b.event_id FROM desk_allotments a JOIN desk_allotments b
                     ON b.unit_id = a.unit_id AND b.event_id <> a.event_id
                 WHERE a.event_id = ?1 LIMIT 1",
            )?
            .query_row([event_id], |r| r.get(0))
            .optional()?)
    }

    fn copy_mark(&self) -> Result<Option<String>, DbError> {
        Ok(self
            .prepare_cached("SELECT value FROM desk_meta WHERE key = 'second_copy_of'")?
            .query_row([], |r| r.get(0))
            .optional()?)
    }

    fn set_copy_mark(&self, at: &str) -> Result<(), DbError> {
        self.execute(
            "INSERT INTO desk_meta(key, value) VALUES ('second_copy_of', ?1)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [at],
        )?;
        Ok(())
    }

    fn clear_copy_mark(&self) -> Result<(), DbError> {
        self.execute("DELETE FROM desk_meta WHERE key = 'second_copy_of'", [])?;
        Ok(())
    }
}

//! `DeskDelegations` over PostgreSQL.

use tokio_postgres::Row;

use super::super::PgDb;
use super::hash32;
use super::ledger::{chain_entry, no_limit_if_negative};
use crate::db::DbError;
use crate::db::desk::DeskDelegations;
use crate::db::desk::delegation::{DelegationRow, LeaseSide, LeaseState, ShippedReport};
use crate::db::desk::ledger::{ChainEntry, LedgerTip};

const COLUMNS: &str = "event_id, generation, side, venue_device_id, venue_name, lease_until,
    anchor_seq, anchor_hash, bundle_key, state, shipped_seq, shipped_hash, venue_tip_seq,
    oldest_unshipped_at, last_heard_at, delegated_at, ended_at";

/// One row of [`COLUMNS`].
fn delegation_row(r: &Row) -> Result<DelegationRow, DbError> {
    let side: String = r.try_get(2)?;
    let state: String = r.try_get(9)?;
    Ok(DelegationRow {
        event_id: r.try_get(0)?,
        generation: r.try_get(1)?,
        side: LeaseSide::parse(&side).ok_or_else(|| DbError::Corrupt(format!("side {side}")))?,
        venue_device_id: r.try_get(3)?,
        venue_name: r.try_get(4)?,
        lease_until: r.try_get(5)?,
        anchor: LedgerTip { seq: r.try_get(6)?, hash: hash32(r.try_get(7)?, "anchor")? },
        bundle_key: r.try_get(8)?,
        state: LeaseState::parse(&state)
            .ok_or_else(|| DbError::Corrupt(format!("lease {state}")))?,
        shipped: LedgerTip { seq: r.try_get(10)?, hash: hash32(r.try_get(11)?, "shipped")? },
        venue_tip_seq: r.try_get(12)?,
        oldest_unshipped_at: r.try_get(13)?,
        last_heard_at: r.try_get(14)?,
        delegated_at: r.try_get(15)?,
        ended_at: r.try_get(16)?,
    })
}

impl DeskDelegations for PgDb {
    fn delegation(&self, event_id: &str) -> Result<Option<DelegationRow>, DbError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM desk_delegations WHERE event_id = $1
             ORDER BY generation DESC LIMIT 1"
        );
        self.row(&sql, &[&event_id])?.as_ref().map(delegation_row).transpose()
    }

    fn delegations(&self) -> Result<Vec<DelegationRow>, DbError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM desk_delegations ORDER BY delegated_at, generation, event_id"
        );
        self.rows(&sql, &[])?.iter().map(delegation_row).collect()
    }

    fn insert_delegation(&self, d: &DelegationRow) -> Result<(), DbError> {
        let sql = format!(
            "INSERT INTO desk_delegations({COLUMNS})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
        );
        self.execute(
            &sql,
            &[
                &d.event_id,
                &d.generation,
                &d.side.as_str(),
                &d.venue_device_id,
                &d.venue_name,
                &d.lease_until,
                &d.anchor.seq,
                &&d.anchor.hash[..],
                &d.bundle_key,
                &d.state.as_str(),
                &d.shipped.seq,
                &&d.shipped.hash[..],
                &d.venue_tip_seq,
                &d.oldest_unshipped_at,
                &d.last_heard_at,
                &d.delegated_at,
                &d.ended_at,
            ],
        )?;
        Ok(())
    }

    fn set_shipped(&self, r: &ShippedReport<'_>) -> Result<(), DbError> {
        self.execute(
            "UPDATE desk_delegations SET shipped_seq = $3, shipped_hash = $4, venue_tip_seq = $5,
                 oldest_unshipped_at = $6, last_heard_at = $7
             WHERE event_id = $1 AND generation = $2",
            &[
                &r.event_id,
                &r.generation,
                &r.shipped.seq,
                &&r.shipped.hash[..],
                &r.venue_tip_seq,
                &r.oldest_unshipped_at,
                &r.heard_at,
            ],
        )?;
        Ok(())
    }

    fn end_delegation(
        &self,
        event_id: &str,
        generation: i64,
        state: LeaseState,
        at: &str,
    ) -> Result<(), DbError> {
        self.execute(
            "UPDATE desk_delegations SET state = $3, ended_at = $4
             WHERE event_id = $1 AND generation = $2",
            &[&event_id, &generation, &state.as_str(), &at],
        )?;
        Ok(())
    }

    fn append_venue_entry(&self, generation: i64, e: &ChainEntry) -> Result<(), DbError> {
        self.execute(
            "INSERT INTO desk_venue_ledger(event_id, generation, seq, at, actor, idempotency_key,
                 kind, entry, prev_hash, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &[
                &e.event_id,
                &generation,
                &e.seq,
                &e.at,
                &e.actor,
                &e.idempotency_key,
                &e.kind,
                &e.entry,
                &e.prev_hash,
                &e.hash,
            ],
        )?;
        Ok(())
    }

    fn venue_entry_hash(
        &self,
        event_id: &str,
        generation: i64,
        seq: i64,
    ) -> Result<Option<Vec<u8>>, DbError> {
        let row = self.row(
            "SELECT hash FROM desk_venue_ledger
             WHERE event_id = $1 AND generation = $2 AND seq = $3",
            &[&event_id, &generation, &seq],
        )?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    fn venue_entries(
        &self,
        event_id: &str,
        generation: i64,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<ChainEntry>, DbError> {
        let rows = self.rows(
            "SELECT seq, at, event_id, actor, idempotency_key, kind, entry, prev_hash, hash
             FROM desk_venue_ledger WHERE event_id = $1 AND generation = $2 AND seq > $3
             ORDER BY seq LIMIT $4",
            &[&event_id, &generation, &after_seq, &no_limit_if_negative(limit)],
        )?;
        rows.iter().map(chain_entry).collect()
    }

    fn event_sharing_units(&self, event_id: &str) -> Result<Option<String>, DbError> {
        let row = self.row(
            "SELECT b.event_id FROM desk_allotments a JOIN desk_allotments b
                 ON b.unit_id = a.unit_id AND b.event_id <> a.event_id
             WHERE a.event_id = $1 ORDER BY b.event_id LIMIT 1",
            &[&event_id],
        )?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    fn copy_mark(&self) -> Result<Option<String>, DbError> {
        let row = self.row("SELECT value FROM desk_meta WHERE key = 'second_copy_of'", &[])?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    fn set_copy_mark(&self, at: &str) -> Result<(), DbError> {
        self.execute(
            "INSERT INTO desk_meta(key, value) VALUES ('second_copy_of', $1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&at],
        )?;
        Ok(())
    }

    fn clear_copy_mark(&self) -> Result<(), DbError> {
        self.execute("DELETE FROM desk_meta WHERE key = 'second_copy_of'", &[])?;
        Ok(())
    }
}

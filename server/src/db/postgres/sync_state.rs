//! Per-device sync states on PostgreSQL. The states a round writes are never read back by it:
//! inside its transaction they are queued and sent with its next statement (see `deferred`),
//! a round trip saved per document.

use super::PgDb;
use super::deferred::owned_params;
use crate::db::DbError;
use crate::db::sync_state::SyncStateStore;

impl SyncStateStore for PgDb {
    fn sync_state(&self, device_id: &str, doc_id: &str) -> Result<Option<Vec<u8>>, DbError> {
        let row = self.row(
            "SELECT state FROM device_docs WHERE device_id = $1 AND doc_id = $2",
            &[&device_id, &doc_id],
        )?;
        row.map(|r| r.try_get(0)).transpose().map_err(DbError::from)
    }

    fn save_sync_state(&self, device_id: &str, doc_id: &str, state: &[u8]) -> Result<(), DbError> {
        self.write_soon(
            "INSERT INTO device_docs(device_id, doc_id, state) VALUES ($1, $2, $3)
             ON CONFLICT (device_id, doc_id) DO UPDATE SET state = excluded.state,
                 pending_state = NULL, pending_cursor = NULL",
            owned_params![device_id.to_owned(), doc_id.to_owned(), state.to_vec()],
            None,
        )
    }

    fn set_pending_sync_state(
        &self,
        device_id: &str,
        doc_id: &str,
        state: &[u8],
        cursor: i64,
    ) -> Result<(), DbError> {
        self.write_soon(
            "UPDATE device_docs SET pending_state = $3, pending_cursor = $4
             WHERE device_id = $1 AND doc_id = $2",
            owned_params![device_id.to_owned(), doc_id.to_owned(), state.to_vec(), cursor],
            None,
        )
    }

    fn confirm_sync_states(&self, device_id: &str, cursor: i64) -> Result<(), DbError> {
        self.write_soon(
            "UPDATE device_docs SET state = pending_state, pending_state = NULL,
                 pending_cursor = NULL
             WHERE device_id = $1 AND pending_cursor IS NOT NULL AND pending_cursor <= $2",
            owned_params![device_id.to_owned(), cursor],
            None,
        )
    }

    fn forget_sync_states(&self, device_id: &str) -> Result<(), DbError> {
        self.execute("DELETE FROM device_docs WHERE device_id = $1", &[&device_id])?;
        Ok(())
    }
}

//! What the server knows each device holds: Automerge sync states per device and document,
//! with the answer's state pending until the device's cursor confirms it applied the answer.

use super::DbError;

/// Per-device sync states.
pub trait SyncStateStore {
    /// The confirmed sync state of `doc_id` with `device_id`, encoded.
    fn sync_state(&self, device_id: &str, doc_id: &str) -> Result<Option<Vec<u8>>, DbError>;
    /// Sets the confirmed sync state (and drops any pending one).
    fn save_sync_state(&self, device_id: &str, doc_id: &str, state: &[u8]) -> Result<(), DbError>;
    /// Keeps `state` as pending until the device's cursor reaches `cursor`.
    fn set_pending_sync_state(
        &self,
        device_id: &str,
        doc_id: &str,
        state: &[u8],
        cursor: i64,
    ) -> Result<(), DbError>;
    /// The device applied every answer up to `cursor`: their pending states become confirmed.
    fn confirm_sync_states(&self, device_id: &str, cursor: i64) -> Result<(), DbError>;
    /// Forgets every sync state of the device (it starts from nothing, or lists what it holds).
    fn forget_sync_states(&self, device_id: &str) -> Result<(), DbError>;
}

//! Documents a background task could not process, set aside so the task goes on (ADR 0013).
//!
//! The projector and the desk's mirror work through documents in order. One document that
//! cannot be read (a poison value, a broken header, bytes that fail to load) or whose rows
//! break a constraint used to fail every batch after it: the projections stopped for good and
//! the server refused to start. Now that document's work is rolled back to a savepoint, a row
//! here records what failed, and the task goes on with the next document. The row stays until
//! the same task processes the document successfully (a later edit repaired it), and
//! headquarters sees every open row on the review page; `/metrics` counts them.

use crate::db::ReviewStore;
use crate::db::sql_is_content_fault;
use crate::error::ServerError;
use chrono::{DateTime, Utc};

pub use crate::db::review::Quarantined;

/// The background tasks that quarantine documents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Task {
    /// Projecting documents into headquarters' tables.
    Projection,
    /// Mirroring desk outcomes into an event's documents.
    Mirror,
}

impl Task {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Task::Projection => "projection",
            Task::Mirror => "mirror",
        }
    }
}

/// Whether `error`, met while processing one document, is that document's fault (set it
/// aside and go on) rather than the store's (stop the batch and retry it later).
///
/// The store's faults are I/O, a full disk, a locked or corrupt database file: processing
/// the next document would fail the same way, and setting documents aside for them would
/// quarantine good documents. Anything a document's content causes — it does not load or
/// read, a value is out of range, its rows break a constraint, the work panicked — is the
/// document's.
pub fn is_document_fault(error: &ServerError) -> bool {
    match error {
        ServerError::Storage(e) => e.is_content_fault(),
        ServerError::Blocking(_) | ServerError::LockPoisoned => false,
        ServerError::Store(kam_core::replica::ReplicaError::Sqlite(e)) => sql_is_content_fault(e),
        _ => true,
    }
}

/// Records that `task` failed on `doc_id` at sequence position `seq`.
pub fn record(
    db: &dyn ReviewStore,
    task: Task,
    doc_id: &str,
    seq: i64,
    error: &ServerError,
    now: DateTime<Utc>,
) -> Result<(), ServerError> {
    let text: String = error.to_string().chars().take(2_000).collect();
    Ok(db.quarantine(task.as_str(), doc_id, seq, &text, now)?)
}

/// Clears `doc_id`'s row for `task` after it was processed successfully.
pub fn clear(db: &dyn ReviewStore, task: Task, doc_id: &str) -> Result<(), ServerError> {
    Ok(db.release_from_quarantine(task.as_str(), doc_id)?)
}

/// Whether `doc_id` has a row for `task`.
pub fn is_quarantined(db: &dyn ReviewStore, task: Task, doc_id: &str) -> Result<bool, ServerError> {
    Ok(db.is_quarantined(task.as_str(), doc_id)?)
}

/// Documents set aside now.
pub fn open_count(db: &dyn ReviewStore) -> Result<u64, ServerError> {
    Ok(db.quarantined_count()?)
}

/// Every document set aside, the latest first (at most `limit`).
pub fn list(db: &dyn ReviewStore, limit: usize) -> Result<Vec<Quarantined>, ServerError> {
    Ok(db.quarantined(limit)?)
}

//! Documents a background task could not process, set aside so the task goes on (ADR 0013).
//!
//! The projector and the desk's mirror work through documents in order. One document that
//! cannot be read (a poison value, a broken header, bytes that fail to load) or whose rows
//! break a constraint used to fail every batch after it: the projections stopped for good and
//! the server refused to start. Now that document's work is rolled back to a savepoint, a row
//! here records what failed, and the task goes on with the next document. The row stays until
//! the same task processes the document successfully (a later edit repaired it), and
//! headquarters sees every open row on the review page; `/metrics` counts them.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, ErrorCode, OptionalExtension, params};
use serde::Serialize;

use crate::error::ServerError;

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
        ServerError::Sql(e) => sql_is_document_fault(e),
        ServerError::Blocking(_) | ServerError::LockPoisoned => false,
        ServerError::Store(kam_core::replica::ReplicaError::Sqlite(e)) => sql_is_document_fault(e),
        _ => true,
    }
}

/// A constraint a document's rows break, or a stored value of the wrong shape, is the
/// document's fault; every other SQLite error is the store's.
fn sql_is_document_fault(error: &rusqlite::Error) -> bool {
    match error {
        rusqlite::Error::SqliteFailure(failure, _) => {
            failure.code == ErrorCode::ConstraintViolation
        }
        rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::IntegralValueOutOfRange(..)
        | rusqlite::Error::InvalidColumnType(..) => true,
        _ => false,
    }
}

/// Records that `task` failed on `doc_id` at sequence position `seq`.
pub fn record(
    conn: &Connection,
    task: Task,
    doc_id: &str,
    seq: i64,
    error: &ServerError,
    now: DateTime<Utc>,
) -> Result<(), ServerError> {
    let text: String = error.to_string().chars().take(2_000).collect();
    conn.prepare_cached(
        "INSERT INTO quarantine(task, doc_id, seq, error, first_at, last_at, attempts)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5, 1)
         ON CONFLICT(task, doc_id) DO UPDATE SET seq = excluded.seq, error = excluded.error,
             last_at = excluded.last_at, attempts = attempts + 1",
    )?
    .execute(params![task.as_str(), doc_id, seq, text, now.to_rfc3339()])?;
    Ok(())
}

/// Clears `doc_id`'s row for `task` after it was processed successfully.
pub fn clear(conn: &Connection, task: Task, doc_id: &str) -> Result<(), ServerError> {
    conn.prepare_cached("DELETE FROM quarantine WHERE task = ?1 AND doc_id = ?2")?
        .execute([task.as_str(), doc_id])?;
    Ok(())
}

/// Whether `doc_id` has a row for `task`.
pub fn is_quarantined(conn: &Connection, task: Task, doc_id: &str) -> Result<bool, ServerError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM quarantine WHERE task = ?1 AND doc_id = ?2")?
        .query_row([task.as_str(), doc_id], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Documents set aside now.
pub fn open_count(conn: &Connection) -> Result<u64, ServerError> {
    Ok(conn.prepare_cached("SELECT COUNT(*) FROM quarantine")?.query_row([], |r| r.get(0))?)
}

/// One document set aside, for the review page and the API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Quarantined {
    /// The task that could not process it.
    pub task: String,
    /// The document.
    pub doc_id: String,
    /// Its sequence position (projection) or the ledger position (mirror) when it failed.
    pub seq: i64,
    /// What failed (for the operator; may name the document's fields, never a token).
    pub error: String,
    /// When it first failed.
    pub first_at: String,
    /// When it last failed.
    pub last_at: String,
    /// How many times it failed.
    pub attempts: i64,
}

/// Every document set aside, the latest first (at most `limit`).
pub fn list(conn: &Connection, limit: usize) -> Result<Vec<Quarantined>, ServerError> {
    let mut stmt = conn.prepare_cached(
        "SELECT task, doc_id, seq, error, first_at, last_at, attempts FROM quarantine
         ORDER BY last_at DESC, doc_id LIMIT ?1",
    )?;
    let rows = stmt.query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
        Ok(Quarantined {
            task: r.get(0)?,
            doc_id: r.get(1)?,
            seq: r.get(2)?,
            error: r.get(3)?,
            first_at: r.get(4)?,
            last_at: r.get(5)?,
            attempts: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

//! Errors of the local replica.

use crate::doc::DocError;

/// What can go wrong in the local replica.
#[derive(Debug, thiserror::Error)]
pub enum ReplicaError {
    /// SQLite failed (I/O, corruption, constraint).
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A document could not be read or written.
    #[error("document: {0}")]
    Doc(#[from] DocError),
    /// The file was written by a newer build.
    #[error("replica schema {found} is newer than supported {supported}; update the app")]
    SchemaTooNew {
        /// Version found in the file.
        found: i64,
        /// Newest version this build knows.
        supported: i64,
    },
    /// No document with this id is stored.
    #[error("document {0} not found")]
    NotFound(String),
    /// A document with this id already exists.
    #[error("document {0} already exists")]
    AlreadyExists(String),
    /// A business rule refused the action before anything was written.
    #[error("refused by rule: {0}")]
    Rule(String),
    /// An outbox entry with this idempotency key does not exist.
    #[error("no outbox entry with key {0}")]
    UnknownOutboxKey(String),
    /// The same idempotency key was reused for a different command.
    #[error("idempotency key {0} already used for a different command")]
    OutboxKeyReused(String),
    /// An outbox entry is not in a state that allows the requested change.
    #[error("outbox entry {key} is {status}, cannot {action}")]
    OutboxState {
        /// The idempotency key.
        key: String,
        /// Its current status.
        status: String,
        /// What was attempted.
        action: &'static str,
    },
    /// JSON encoding or decoding of an outbox payload or answer failed.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    /// A stored value is not what this build expects.
    #[error("corrupt replica: {0}")]
    Corrupt(String),
    /// An earlier call failed while it held the replica (a panic), so memory may be ahead of
    /// the file; open the replica again.
    #[error("the replica failed earlier in this session; open it again")]
    Poisoned,
    /// Another process has this replica file open (a second copy of the app, or a tool).
    #[error("replica file {0} is open in another process")]
    InUse(String),
    /// A file beside the replica (its lock) could not be opened.
    #[error("file: {0}")]
    Io(String),
}

impl From<crate::migrations::MigrationError> for ReplicaError {
    fn from(error: crate::migrations::MigrationError) -> Self {
        match error {
            crate::migrations::MigrationError::TooNew { found, supported } => {
                ReplicaError::SchemaTooNew { found, supported }
            }
            crate::migrations::MigrationError::Sql(e) => ReplicaError::Sqlite(e),
        }
    }
}

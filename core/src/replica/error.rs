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
    /// The encryption key does not open the replica file: a wrong key, no key for an
    /// encrypted file, or a key for a plain one (which [`super::Replica::encrypt_plain_file`]
    /// encrypts). The file is untouched.
    #[error("the encryption key does not open the replica file (wrong key, or a key is missing)")]
    WrongKey,
    /// An encryption key was given to a build without the `encryption` feature (no SQLCipher).
    #[error("this build cannot encrypt the replica (built without the `encryption` feature)")]
    EncryptionUnavailable,
    /// Key rotation was asked of a replica that is not encrypted.
    #[error("the replica is not encrypted, so it has no key to change")]
    NotEncrypted,
    /// A file operation around the replica file failed (encrypting a plain file).
    #[error("file: {0}")]
    Io(#[from] std::io::Error),
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

//! The storage layer's error.

/// What can go wrong in storage. The server's `ServerError` takes each case over unchanged
/// (a database fault stays a database fault), so callers above storage match on their own
/// error only.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The SQLite database failed.
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The PostgreSQL database failed (ADR 0024).
    #[error("database: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    /// kam-core's document storage (snapshot and chunks) failed.
    #[error("store: {0}")]
    Replica(#[from] kam_core::replica::ReplicaError),
    /// The schema could not be brought to this build's version.
    #[error("{0}")]
    Migration(#[from] kam_core::migrations::MigrationError),
    /// A storage thread could not be started.
    #[error("{0}")]
    Thread(String),
    /// A pool is closed or full.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// Storage work panicked; it was rolled back.
    #[error("internal panic: {0}")]
    Panicked(String),
    /// A stored value is not what this build expects.
    #[error("corrupt server data: {0}")]
    Corrupt(String),
    /// A file beside the databases (a copy, a directory) could not be written or read.
    #[error("file {path}: {source}")]
    File {
        /// The file.
        path: String,
        /// What the operating system answered.
        source: std::io::Error,
    },
}

impl DbError {
    /// Whether this failure, met while processing one document, is that document's fault
    /// (a constraint its rows break, a stored value of the wrong shape) rather than the
    /// store's (I/O, a full disk, a locked or corrupt file).
    pub fn is_content_fault(&self) -> bool {
        match self {
            DbError::Sqlite(e) => super::sql_is_content_fault(e),
            DbError::Postgres(e) => super::postgres::is_content_fault(e),
            _ => false,
        }
    }
}

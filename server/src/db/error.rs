//! The storage layer's error.

/// What can go wrong in storage. The server's `ServerError` takes each case over unchanged
/// (a database fault stays a database fault), so callers above storage match on their own
/// error only.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The SQLite database failed.
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored value is not what this build expects.
    #[error("corrupt server data: {0}")]
    Corrupt(String),
}

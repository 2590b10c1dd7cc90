//! The server's error type. How each case becomes an HTTP response (status, stable code, the
//! JSON envelope) is the edge's (`http::edge::errors`): this enum knows nothing of HTTP.
//!
//! Bad input is a 4xx with a machine-readable code, and the request changed nothing (every
//! handler validates before it writes, and writes in one transaction). Internal faults are a
//! 5xx, logged inside the request's span, with no detail leaked to the client.

/// What can go wrong while serving a request or running an admin command.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// A kam-core replica operation failed; an internal fault.
    #[error("store: {0}")]
    Store(#[from] kam_core::replica::ReplicaError),
    /// Storage failed (its own error says which database and how); an internal fault.
    #[error("{0}")]
    Storage(crate::db::DbError),
    /// A stored document could not be read or written; an internal fault.
    #[error("document: {0}")]
    Doc(#[from] kam_core::doc::DocError),
    /// A worker thread running blocking store work panicked or was cancelled.
    #[error("blocking task failed: {0}")]
    Blocking(#[from] tokio::task::JoinError),
    /// The store's lock was poisoned by a panic in another request.
    #[error("store lock poisoned")]
    LockPoisoned,
    /// The policy could not be loaded or rendered.
    #[error("policy: {0}")]
    Policy(#[from] kam_core::policy::PolicyError),
    /// The database was written by a newer build.
    #[error("database schema {found} is newer than supported {supported}")]
    SchemaTooNew {
        /// Version found.
        found: i64,
        /// Newest version this build knows.
        supported: i64,
    },
    /// A stored value is not what this build expects.
    #[error("corrupt server data: {0}")]
    Corrupt(String),
    /// No route or resource matches the request (or the caller may not know it exists).
    #[error("not found")]
    NotFound,
    /// No valid device token: missing, unknown or revoked.
    #[error("a valid device token is required")]
    Unauthorized,
    /// The caller is known but may not do this.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// A sync body could not be decoded or breaks a limit.
    #[error("{0}")]
    Wire(#[from] kam_core::wire::WireError),
    /// A request field is invalid.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// The request conflicts with the current state (e.g. a user that already exists).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The request is not well-formed (syntax, encoding, a header or parameter that cannot
    /// be read).
    #[error("malformed request: {0}")]
    Malformed(String),
    /// A number is outside its documented range (see `kam_core::bounds`).
    #[error("{field} out of range: {reason}")]
    OutOfRange {
        /// The field.
        field: String,
        /// The range and the value.
        reason: String,
    },
    /// A well-formed request that a rule refuses, with its stable code (e.g. a synced
    /// document whose contents disagree with the id it was sent under).
    #[error("{message}")]
    Refused {
        /// Stable machine code.
        code: &'static str,
        /// Why, for people.
        message: String,
    },
    /// The authority refused the request in the state it is in (a desk lent to a venue, a
    /// lease not ended yet), with its stable code: 409.
    #[error("{message}")]
    Authority {
        /// Stable machine code.
        code: &'static str,
        /// Why, for people.
        message: String,
    },
    /// The request body is larger than the route allows (0: the limit is not known here).
    #[error("the request body is larger than the route allows ({limit_bytes} bytes)")]
    BodyTooLarge {
        /// The route's limit.
        limit_bytes: usize,
    },
    /// The client took too long to send its request body.
    #[error("the request body stopped arriving")]
    RequestTimeout,
    /// The body is not of a type the route takes (e.g. JSON without its content type).
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    /// The caller sent too much too fast; retry after the given seconds.
    #[error("too many requests; retry after {retry_after_s} s")]
    RateLimited {
        /// Seconds until a retry may succeed.
        retry_after_s: u64,
    },
    /// The server is at a capacity limit (connections, streams, the desk's queue) or shutting
    /// down; retry later.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// Work panicked; the store dropped what it had loaded and went on.
    #[error("internal panic: {0}")]
    Panicked(String),
}

impl From<crate::db::DbError> for ServerError {
    fn from(error: crate::db::DbError) -> ServerError {
        match error {
            e @ (crate::db::DbError::Sqlite(_)
            | crate::db::DbError::Postgres(_)
            | crate::db::DbError::File { .. }) => ServerError::Storage(e),
            crate::db::DbError::Replica(e) => ServerError::Store(e),
            crate::db::DbError::Corrupt(text) | crate::db::DbError::Thread(text) => {
                ServerError::Corrupt(text)
            }
            crate::db::DbError::Migration(e) => ServerError::from(e),
            crate::db::DbError::Unavailable(text) => ServerError::Unavailable(text),
            crate::db::DbError::Panicked(text) => ServerError::Panicked(text),
        }
    }
}

impl From<kam_core::bounds::OutOfRange> for ServerError {
    fn from(error: kam_core::bounds::OutOfRange) -> Self {
        ServerError::OutOfRange { field: error.field.to_owned(), reason: error.to_string() }
    }
}

impl From<kam_core::migrations::MigrationError> for ServerError {
    fn from(error: kam_core::migrations::MigrationError) -> Self {
        match error {
            kam_core::migrations::MigrationError::TooNew { found, supported } => {
                ServerError::SchemaTooNew { found, supported }
            }
            kam_core::migrations::MigrationError::Sql(e) => {
                ServerError::Storage(crate::db::DbError::Sqlite(e))
            }
        }
    }
}

impl crate::db::postgres::AsDbError for ServerError {
    fn as_db_error(&self) -> Option<&crate::db::DbError> {
        match self {
            ServerError::Storage(error) => Some(error),
            _ => None,
        }
    }
}

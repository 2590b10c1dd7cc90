//! The server's error type and how each case becomes an HTTP response.
//!
//! Bad input is a 4xx with a machine-readable code, and the request changed nothing (every
//! handler validates before it writes, and writes in one transaction). Internal faults are a
//! 5xx, logged inside the request's span, with no detail leaked to the client.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// What can go wrong while serving a request or running an admin command.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// A kam-core replica operation failed; an internal fault.
    #[error("store: {0}")]
    Store(#[from] kam_core::replica::ReplicaError),
    /// The server database failed; an internal fault.
    #[error("database: {0}")]
    Sql(#[from] rusqlite::Error),
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
}

impl ServerError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        use kam_core::wire::WireError;
        match self {
            ServerError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            ServerError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ServerError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ServerError::Wire(WireError::TooLarge { .. }) => {
                (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large")
            }
            ServerError::Wire(WireError::UnsupportedVersion(_)) => {
                (StatusCode::BAD_REQUEST, "unsupported_wire_version")
            }
            ServerError::Wire(_) => (StatusCode::BAD_REQUEST, "malformed_sync_body"),
            ServerError::Invalid { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"),
            ServerError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ServerError::Store(_)
            | ServerError::Sql(_)
            | ServerError::Doc(_)
            | ServerError::Blocking(_)
            | ServerError::LockPoisoned
            | ServerError::Policy(_)
            | ServerError::SchemaTooNew { .. }
            | ServerError::Corrupt(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        self.status_and_code().0
    }

    /// The stable machine-readable code this error answers with (`not_found`, `internal`, …).
    pub fn code(&self) -> &'static str {
        self.status_and_code().1
    }
}

impl From<kam_core::migrations::MigrationError> for ServerError {
    fn from(error: kam_core::migrations::MigrationError) -> Self {
        match error {
            kam_core::migrations::MigrationError::TooNew { found, supported } => {
                ServerError::SchemaTooNew { found, supported }
            }
            kam_core::migrations::MigrationError::Sql(e) => ServerError::Sql(e),
        }
    }
}

impl IntoResponse for ServerError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let message = if status.is_server_error() {
            // Internal details go to the log inside the request span, not to the client.
            tracing::error!(error = %self, "request failed");
            "internal error".to_owned()
        } else {
            self.to_string()
        };
        (status, Json(json!({ "error": { "code": code, "message": message } }))).into_response()
    }
}

//! The server's error type and how each case becomes an HTTP response.
//!
//! Bad input is a 4xx with a machine-readable code, and the request changed nothing (every
//! handler validates before it writes, and writes in one transaction). Internal faults are a
//! 5xx, logged inside the request's span, with no detail leaked to the client.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
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
            ServerError::Malformed(_) => (StatusCode::BAD_REQUEST, "malformed_request"),
            ServerError::OutOfRange { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "out_of_range"),
            ServerError::Refused { code, .. } => (StatusCode::UNPROCESSABLE_ENTITY, *code),
            ServerError::BodyTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"),
            ServerError::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            ServerError::RequestTimeout => (StatusCode::REQUEST_TIMEOUT, "request_timeout"),
            ServerError::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ServerError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ServerError::Store(_)
            | ServerError::Sql(_)
            | ServerError::Doc(_)
            | ServerError::Blocking(_)
            | ServerError::LockPoisoned
            | ServerError::Policy(_)
            | ServerError::SchemaTooNew { .. }
            | ServerError::Corrupt(_)
            | ServerError::Panicked(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        self.status_and_code().0
    }

    /// When a client may try again, for a 429 or a 503.
    pub fn retry_after_s(&self) -> Option<u64> {
        match self {
            ServerError::RateLimited { retry_after_s } => Some((*retry_after_s).max(1)),
            ServerError::Unavailable(_) => Some(1),
            _ => None,
        }
    }

    /// Adds the `Retry-After` header to `response` if this error has one.
    pub fn add_retry_after(&self, response: &mut Response) {
        if let Some(seconds) = self.retry_after_s() {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
    }

    /// The stable machine code of the JSON envelope (`{"error": {"code", "message"}}`).
    pub fn code(&self) -> &'static str {
        self.status_and_code().1
    }

    /// The envelope's message: what went wrong for a client fault, nothing internal for a
    /// server fault (that goes to the log inside the request's span).
    pub fn public_message(&self) -> String {
        if self.status().is_server_error() { "internal error".to_owned() } else { self.to_string() }
    }
}

/// The JSON envelope every error answers with: `{"error": {"code": …, "message": …}}`.
pub fn envelope(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({ "error": { "code": code, "message": message } });
    (status, Json(body)).into_response()
}

/// A JSON body axum could not take: 400 when it is not JSON, 415 without the JSON content
/// type, 413 over the limit, 422 when it is JSON of the wrong shape.
impl From<axum::extract::rejection::JsonRejection> for ServerError {
    fn from(rejection: axum::extract::rejection::JsonRejection) -> Self {
        use axum::extract::rejection::JsonRejection as R;
        match rejection {
            R::JsonDataError(e) => ServerError::Invalid { field: "body", reason: e.body_text() },
            R::MissingJsonContentType(e) => ServerError::UnsupportedMediaType(e.body_text()),
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                ServerError::BodyTooLarge { limit_bytes: 0 }
            }
            other => ServerError::Malformed(other.body_text()),
        }
    }
}

impl From<crate::db::DbError> for ServerError {
    fn from(error: crate::db::DbError) -> ServerError {
        match error {
            crate::db::DbError::Sqlite(e) => ServerError::Sql(e),
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
            kam_core::migrations::MigrationError::Sql(e) => ServerError::Sql(e),
        }
    }
}

impl IntoResponse for ServerError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if status.is_server_error() {
            // Internal details go to the log inside the request span, not to the client.
            tracing::error!(error = %self, "request failed");
        }
        let mut response = envelope(status, code, &self.public_message());
        self.add_retry_after(&mut response);
        response
    }
}

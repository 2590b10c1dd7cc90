//! The server's error type and how each case becomes an HTTP response.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// What can go wrong while serving a request.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The document store failed; an internal fault.
    #[error("store: {0}")]
    Store(#[from] kam_core::replica::ReplicaError),
    /// A worker thread running blocking store work panicked or was cancelled.
    #[error("blocking task failed: {0}")]
    Blocking(#[from] tokio::task::JoinError),
    /// The store's lock was poisoned by a panic in another request.
    #[error("store lock poisoned")]
    LockPoisoned,
    /// The policy could not be rendered.
    #[error("policy: {0}")]
    Policy(#[from] kam_core::policy::PolicyError),
    /// No route or resource matches the request.
    #[error("not found")]
    NotFound,
}

impl ServerError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ServerError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            ServerError::Store(_)
            | ServerError::Blocking(_)
            | ServerError::LockPoisoned
            | ServerError::Policy(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
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

//! How a [`ServerError`] answers over HTTP: its status, its stable machine code, the JSON
//! envelope `{"error": {"code", "message"}}` and `Retry-After`. The codes are a contract with
//! clients (the OpenAPI document lists them); a case's code never changes.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::ServerError;

impl ServerError {
    /// The status and the stable code of each case, in one table.
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
            ServerError::Authority { code, .. } => (StatusCode::CONFLICT, *code),
            ServerError::BodyTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"),
            ServerError::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            ServerError::RequestTimeout => (StatusCode::REQUEST_TIMEOUT, "request_timeout"),
            ServerError::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ServerError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ServerError::Store(_)
            | ServerError::Storage(_)
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

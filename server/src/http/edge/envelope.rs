//! One error format for every answer, whoever produced it.
//!
//! Handlers answer errors through `ServerError`, which is already the JSON envelope. But some
//! answers come from elsewhere: axum's own rejections (a JSON syntax error, a missing content
//! type, a path that does not parse, a method the route does not have), tower-http's limits
//! (413 for a body over the limit, 408 for a request that took too long) and the fallback.
//! They answer in plain text. This middleware, outermost, rewrites every error answer that is
//! not already in the right format: the JSON envelope with a stable code on the API, a
//! localized page with the navigation everywhere else (the dashboard is read by people).

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::http::edge::errors::envelope;

/// The most of an error body read to reuse as its message.
const MESSAGE_BYTES: usize = 1024;

/// Whether `path` is answered in JSON (devices and programs, and the consoles' scripts)
/// rather than as pages (people).
pub fn is_api_path(path: &str) -> bool {
    path.starts_with("/api/")
        || path.starts_with("/console/api/")
        || path == "/healthz"
        || path == "/metrics"
}

/// The stable code of an error status that no handler described further.
pub fn code_for(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "malformed_request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::NOT_ACCEPTABLE => "not_acceptable",
        StatusCode::REQUEST_TIMEOUT => "request_timeout",
        StatusCode::CONFLICT => "conflict",
        StatusCode::LENGTH_REQUIRED => "length_required",
        StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
        StatusCode::URI_TOO_LONG => "uri_too_long",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid_field",
        StatusCode::TOO_MANY_REQUESTS => "rate_limited",
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => "headers_too_large",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        StatusCode::GATEWAY_TIMEOUT => "timeout",
        s if s.is_client_error() => "client_error",
        _ => "internal",
    }
}

fn content_type_is(headers: &HeaderMap, prefix: &str) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(prefix))
}

/// Headers of the original answer that the rewritten one keeps.
const KEPT: [header::HeaderName; 3] =
    [header::RETRY_AFTER, header::ALLOW, header::WWW_AUTHENTICATE];

async fn message_of(status: StatusCode, body: Body) -> String {
    if status.is_server_error() {
        return "internal error".to_owned();
    }
    let text = match to_bytes(body, MESSAGE_BYTES).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_owned(),
        Err(_) => String::new(),
    };
    if text.is_empty() { status.canonical_reason().unwrap_or("error").to_owned() } else { text }
}

/// The middleware: see the module documentation.
pub async fn one_error_format(request: Request, next: Next) -> Response {
    let api = is_api_path(request.uri().path());
    let lang = crate::web::session::lang_of(request.headers());
    let response = next.run(request).await;
    let status = response.status();
    if !status.is_client_error() && !status.is_server_error() {
        return response;
    }
    let (parts, body) = response.into_parts();
    let well_formed = if api {
        content_type_is(&parts.headers, "application/json")
    } else {
        content_type_is(&parts.headers, "text/html")
    };
    if well_formed {
        return Response::from_parts(parts, body);
    }
    let code = code_for(status);
    let mut rewritten = if api {
        envelope(status, code, &message_of(status, body).await)
    } else {
        crate::web::error::error_page(lang, status, code).into_response()
    };
    for name in KEPT {
        if let Some(value) = parts.headers.get(&name) {
            rewritten.headers_mut().insert(name, value.clone());
        }
    }
    rewritten
}

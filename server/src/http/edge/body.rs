//! Body limits that a client can hear.
//!
//! A server that answers 413 the moment it sees a declared length over the limit, and closes,
//! leaves a client still writing its body with a broken pipe instead of the answer: it never
//! learns that its body was too large. So a declared length over the limit is read — up to
//! the limit and no further — and then answered 413; what the client sends beyond that is
//! never read. A body without a declared length is cut at the limit as it streams (413 from
//! the extractor that reads it).

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::header;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use tower_http::limit::RequestBodyLimitLayer;

use crate::error::ServerError;
use crate::http::AppState;

/// `router` with a body limit of `bytes` on every route.
pub fn limited(router: Router<AppState>, bytes: usize) -> Router<AppState> {
    router.layer(RequestBodyLimitLayer::new(bytes)).layer(DefaultBodyLimit::max(bytes)).layer(
        middleware::from_fn(move |request: Request, next: Next| {
            declared_over(bytes, request, next)
        }),
    )
}

/// The declared length of `request`'s body, if it declares one.
fn declared_length(request: &Request) -> Option<u64> {
    request.headers().get(header::CONTENT_LENGTH)?.to_str().ok()?.trim().parse().ok()
}

async fn declared_over(limit: usize, request: Request, next: Next) -> Response {
    let limit_bytes = u64::try_from(limit).unwrap_or(u64::MAX);
    if declared_length(&request).is_none_or(|n| n <= limit_bytes) {
        return next.run(request).await;
    }
    let mut body = request.into_body();
    let mut read: usize = 0;
    while read < limit {
        match body.frame().await {
            Some(Ok(frame)) => {
                read = read.saturating_add(frame.data_ref().map_or(0, |d| d.len()));
            }
            Some(Err(_)) | None => break,
        }
    }
    ServerError::BodyTooLarge { limit_bytes: limit }.into_response()
}

/// What a body that could not be read becomes: 413 over the limit, 408 when it stopped
/// arriving (the body idle timeout), 400 otherwise.
pub fn unreadable(
    rejection: &axum::extract::rejection::BytesRejection,
    limit: usize,
) -> ServerError {
    if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        return ServerError::BodyTooLarge { limit_bytes: limit };
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(rejection);
    while let Some(error) = source {
        if error.is::<tower_http::timeout::TimeoutError>() {
            return ServerError::RequestTimeout;
        }
        source = error.source();
    }
    ServerError::Malformed(rejection.body_text())
}

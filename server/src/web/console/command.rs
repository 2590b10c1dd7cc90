//! `POST /console/api/events/{id}/commands`: a console's command, sent to the desk's writer
//! under the person's session.
//!
//! The body is `{"idempotency_key": "…", "command": {…}}`, the same command the desk's API
//! takes; the session's CSRF token comes in the `x-csrf-token` header. The answer is the desk's
//! own: 200 with what changed, 409 with the refusal's code and its Chinese-first message, and
//! the JSON envelope for anything refused before the desk (401 without a live session, 403 for
//! a stale token, 400/422 for a malformed command). The key was made when the form was drawn
//! and belongs to the person: a double click, or a resubmit after a timeout, gets the answer
//! of the first.

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::post;
use serde::Deserialize;

use crate::desk::Caller;
use crate::desk::command::{CommandRequest, DeskCommand};
use crate::error::ServerError;
use crate::http::AppState;
use crate::web::session::{SESSION_COOKIE, cookie, signed_in};

/// The path of an event's console commands.
pub fn commands_path(event_id: &str) -> String {
    format!("/console/api/events/{}/commands", crate::web::layout::url_encode(event_id))
}

/// The route (its body limit is the desk's `Limits::max_command_bytes`).
pub fn routes() -> Router<AppState> {
    Router::new().route("/console/api/events/{id}/commands", post(command))
}

/// What a console sends.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsoleCommand {
    idempotency_key: String,
    command: DeskCommand,
}

/// The handler: see the module documentation.
pub async fn command(
    State(state): State<AppState>,
    Path(event_id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ServerError> {
    let user = signed_in(&state, &headers).await?.ok_or(ServerError::Unauthorized)?;
    let session = cookie(&headers, SESSION_COOKIE).ok_or(ServerError::Unauthorized)?;
    let submitted = headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or("");
    if user.check_csrf(submitted).is_err() {
        return Err(ServerError::Forbidden("the form has expired: reload the page".into()));
    }
    let sent: ConsoleCommand = crate::desk::http::parse_command(&state, body)?;
    let request =
        CommandRequest { idempotency_key: sent.idempotency_key, event_id, command: sent.command };
    crate::desk::http::submit(&state, Caller::Session(session), request).await
}

//! The desk's HTTP surface.
//!
//! | Method and path | Who | What |
//! |---|---|---|
//! | `POST /api/v1/desk/commands` | event staff, finance, HQ | one command under its idempotency key |
//! | `GET /api/v1/events/{id}/desk` | event staff of the event, finance, HQ | the live unit control table and the queue |
//! | `GET /api/v1/events/{id}/reconciliation` | the same | receipts against vouchers against unit status |
//! | `GET /api/v1/desk/ledger/verify` | finance, HQ | the whole hash chain checked |

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;

use super::command::{CommandRequest, MAX_KEY_LEN};
use super::ledger::{Verification, verify};
use super::reconcile::{Reconciliation, reconcile};
use super::writer::{DeskReply, ReplyKind};
use crate::auth::{Principal, Role};
use crate::db::desk::DeskDb;
use crate::error::ServerError;
use crate::http::AppState;
use crate::http::edge::caller::{Device, bearer_token};

/// The route that takes commands (its body limit is `Limits::max_command_bytes`).
pub fn command_routes() -> Router<AppState> {
    Router::new().route("/api/v1/desk/commands", post(command))
}

/// The routes that read the desk.
pub fn read_routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/desk/ledger/verify", get(verify_ledger))
        .route("/api/v1/events/{id}/desk", get(control_table))
        .route("/api/v1/events/{id}/reconciliation", get(reconciliation))
}

/// Takes one command. The token is checked before the body is read, and again by the writer
/// inside the command's transaction, so a device revoked a moment ago cannot slip a command
/// into the group.
async fn command(
    State(state): State<AppState>,
    Device(_checked): Device,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ServerError> {
    let token = bearer_token(&headers).ok_or(ServerError::Unauthorized)?;
    let request: CommandRequest = parse_command(&state, body)?;
    submit(&state, super::Caller::Device(token), request).await
}

/// Sends a parsed `request` from `caller` to the desk's writer after the checks every command
/// path makes where it enters — money and numbers in range (ADR 0017), a printable key — and
/// answers with the desk's reply: the one path from HTTP to the authority, for devices and
/// consoles alike.
pub async fn submit(
    state: &AppState,
    caller: super::Caller,
    request: CommandRequest,
) -> Result<Response, ServerError> {
    let desk = state.desk.clone().ok_or(ServerError::NotFound)?;
    kam_core::desk::bounds::validate(&request.command)?;
    let key = &request.idempotency_key;
    if key.is_empty() || key.len() > MAX_KEY_LEN || key.chars().any(char::is_control) {
        return Err(ServerError::Invalid {
            field: "idempotency_key",
            reason: format!("1 to {MAX_KEY_LEN} printable characters"),
        });
    }
    let reply = desk.submit(caller, request).await;
    state.metrics.desk_commands.inc();
    if reply.replayed {
        state.metrics.desk_replays.inc();
    }
    Ok((reply.status(), [(header::CONTENT_TYPE, "application/json")], reply.body).into_response())
}

/// The HTTP status of a desk answer of `kind`: the one place the desk's outcomes become
/// statuses. A refusal by the authority is 409 (the request was sound; the state refused it),
/// which the tablets' outbox tells apart from a retryable fault.
pub fn reply_status(kind: ReplyKind) -> StatusCode {
    match kind {
        ReplyKind::Accepted => StatusCode::OK,
        ReplyKind::Refused => StatusCode::CONFLICT,
        ReplyKind::KeyReused => StatusCode::UNPROCESSABLE_ENTITY,
        ReplyKind::Unauthenticated => StatusCode::UNAUTHORIZED,
        ReplyKind::NotPermitted => StatusCode::FORBIDDEN,
        ReplyKind::DeskNotOpen => StatusCode::NOT_FOUND,
        ReplyKind::ServedElsewhere => StatusCode::CONFLICT,
        ReplyKind::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
        ReplyKind::Failed => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl DeskReply {
    /// The HTTP status this answer is sent with (see [`reply_status`]).
    pub fn status(&self) -> StatusCode {
        reply_status(self.kind)
    }
}

/// The command in `body`, read up to the command limit: 400 when it is not JSON at all (or
/// could not be read), 413 over the limit, 422 when it is JSON of the wrong shape (an unknown
/// command, a missing or mistyped field).
pub fn parse_command<T: serde::de::DeserializeOwned>(
    state: &AppState,
    body: Result<Bytes, BytesRejection>,
) -> Result<T, ServerError> {
    let limit = state.edge().limits.max_command_bytes;
    let body = body.map_err(|e| crate::http::edge::body::unreadable(&e, limit))?;
    serde_json::from_slice(&body).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => {
            ServerError::Invalid { field: "command", reason: e.to_string() }
        }
        _ => ServerError::Malformed(format!("the body is not JSON: {e}")),
    })
}

/// Whether `who` may read the desk of `event_id`: a venue server reads what event staff read
/// (it sends no commands, see `access`).
fn may_read(conn: &dyn crate::db::Db, who: &Principal, event_id: &str) -> Result<(), ServerError> {
    if who.role.sees_everything() {
        return Ok(());
    }
    if matches!(who.role, Role::EventStaff | Role::Venue)
        && conn.has_grant(&who.user_id, &format!("event/{event_id}"))?
    {
        return Ok(());
    }
    Err(ServerError::NotFound)
}

/// One row of the control table: the desk's row as storage reads it, which is also what the
/// API answers (OpenAPI's `UnitLine`).
pub use crate::db::desk::state::ControlUnit as UnitLine;

/// An event's control table as the desk holds it: the authority's own state.
#[derive(Clone, Debug, Serialize)]
pub struct ControlTable {
    /// The event.
    pub event_id: String,
    /// `strict_order` or `free`.
    pub mode: String,
    /// The lottery number being served.
    pub now_serving: Option<u32>,
    /// The ledger's last entry when read.
    pub ledger_seq: i64,
    /// Every allotted unit, by code.
    pub units: Vec<UnitLine>,
}

async fn control_table(
    State(state): State<AppState>,
    Device(who): Device,
    Path(event_id): Path<String>,
) -> Result<Json<ControlTable>, ServerError> {
    state
        .readers()
        .read(move |c| {
            may_read(c.db(), &who, &event_id)?;
            Ok(Json(read_control_table(c.desk(), &event_id)?))
        })
        .await
}

/// The control table of `event_id` from the desk's file; `NotFound` if no desk is open for it.
pub fn read_control_table(desk: &dyn DeskDb, event_id: &str) -> Result<ControlTable, ServerError> {
    let event_id = event_id.to_owned();
    let event = desk.desk_event(&event_id).ok().flatten().ok_or(ServerError::NotFound)?;
    let units = desk.control_units(&event_id)?;
    let ledger_seq = desk.ledger_seq()?;
    Ok(ControlTable {
        event_id,
        mode: event.mode.as_str().to_owned(),
        now_serving: event.now_serving,
        ledger_seq,
        units,
    })
}

async fn reconciliation(
    State(state): State<AppState>,
    Device(who): Device,
    Path(event_id): Path<String>,
) -> Result<Json<Reconciliation>, ServerError> {
    state
        .readers()
        .read(move |c| {
            may_read(c.db(), &who, &event_id)?;
            Ok(Json(reconcile(c.desk(), &event_id)?))
        })
        .await
}

async fn verify_ledger(
    State(state): State<AppState>,
    Device(who): Device,
) -> Result<Response, ServerError> {
    if !who.role.sees_everything() {
        return Err(ServerError::Forbidden(
            "the ledger check is for finance and headquarters".into(),
        ));
    }
    let verification: Verification = state.readers().read(|c| verify(c.desk())).await?;
    let status = if verification.ok() { StatusCode::OK } else { StatusCode::CONFLICT };
    Ok((status, Json(verification)).into_response())
}

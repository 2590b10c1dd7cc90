//! Central's routes for venue servers (ADR 0021). A venue is a device of a user with role
//! `venue`; it pulls its offer and pushes its segment (it sits behind the venue's NAT).
//!
//! | Method and path | Who | What |
//! |---|---|---|
//! | `GET /api/v1/venue/offer` | a device | the desk lent to it: `{"offer": …}`, null when none |
//! | `POST /api/v1/venue/segment` | the venue the event is lent to | one batch of its segment; answers the acknowledgement |
//! | `POST /api/v1/venue/recover` `{"after": N}` | the venue the event is lent to | what central holds of its segment after N (a venue restarted from its second copy) |
//! | `GET /api/v1/venue/status` | any device but a rep's | on a venue server: `{"lease": …}`, what it holds and has not shipped |
//! | `GET /api/v1/venue/delegations` | finance, HQ | on central: every delegation and each venue's lag |

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use super::wire::Shipment;
use super::{edge, lend};
use crate::auth::{Principal, Role};
use crate::error::ServerError;
use crate::http::AppState;
use crate::http::edge::caller::Device;

/// The largest batch body: 2,000 entries and the rows they name, or a whole event handed back.
pub const MAX_SEGMENT_BYTES: usize = 64 * 1024 * 1024;

/// The venue routes (their body limit is [`MAX_SEGMENT_BYTES`]).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/venue/offer", get(offer))
        .route("/api/v1/venue/segment", post(segment))
        .route("/api/v1/venue/recover", post(recover))
        .route("/api/v1/venue/status", get(status))
        .route("/api/v1/venue/delegations", get(delegations))
}

async fn status(
    State(state): State<AppState>,
    Device(who): Device,
) -> Result<Response, ServerError> {
    if who.role == Role::Rep {
        return Err(ServerError::Forbidden("reps do not work the selection desk".into()));
    }
    let found = state.readers().read(|c| Ok::<_, ServerError>(edge::status(c.desk())?)).await?;
    Ok(Json(json!({ "lease": found })).into_response())
}

async fn delegations(
    State(state): State<AppState>,
    Device(who): Device,
) -> Result<Response, ServerError> {
    if !who.role.sees_everything() {
        return Err(ServerError::Forbidden("the delegations are for finance and HQ".into()));
    }
    let now = chrono::Utc::now();
    let rows =
        state.readers().read(move |c| Ok::<_, ServerError>(lend::lag(c.desk(), now)?)).await?;
    Ok(Json(rows).into_response())
}

fn venue_only(who: &Principal) -> Result<(), ServerError> {
    if who.role == Role::Venue {
        return Ok(());
    }
    Err(ServerError::Forbidden("only a venue server takes or ships a desk".into()))
}

/// The offer, `{"offer": null}` when nothing is lent to the caller (only a venue server's
/// device is ever lent a desk: `lend` checks the role).
async fn offer(
    State(state): State<AppState>,
    Device(who): Device,
) -> Result<Response, ServerError> {
    let found = state
        .readers()
        .read(move |c| {
            Ok::<_, ServerError>(lend::offer(c.desk(), c.db(), &who.device_id, &who.user_id)?)
        })
        .await?;
    Ok(Json(json!({ "offer": found })).into_response())
}

/// `{"after": N}`: the sequence number the venue holds up to.
#[derive(Debug, serde::Deserialize)]
struct After {
    after: i64,
}

async fn recover(
    State(state): State<AppState>,
    Device(who): Device,
    body: Result<Json<After>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ServerError> {
    venue_only(&who)?;
    let Json(After { after }) = body?;
    let found = state
        .readers()
        .read(move |c| Ok::<_, ServerError>(lend::recovery(c.desk(), &who.device_id, after)?))
        .await?;
    Ok(Json(found).into_response())
}

async fn segment(
    State(state): State<AppState>,
    Device(who): Device,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ServerError> {
    venue_only(&who)?;
    let body = body.map_err(|e| crate::http::edge::body::unreadable(&e, MAX_SEGMENT_BYTES))?;
    let shipment: Shipment = serde_json::from_slice(&body)
        .map_err(|e| ServerError::Invalid { field: "body", reason: e.to_string() })?;
    let desk = state.desk.clone().ok_or(ServerError::NotFound)?;
    let device = who.device_id.clone();
    let entries = shipment.entries.len();
    let ack = desk
        .run(move |tx, _, tip, now| lend::receive(tx, tip, &device, &shipment, now))
        .await
        .ok_or_else(|| ServerError::Unavailable("the desk did not take the batch".into()))??;
    state.metrics.venue_entries.inc_by(entries as u64);
    Ok(Json(ack).into_response())
}

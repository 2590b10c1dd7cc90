//! HTTP routes and the layers every request passes.
//!
//! From the outside in: one error format (`edge::envelope`), a tracing span per request, the
//! per-address rate limit, the whole-request timeout (408), the body idle timeout, and then
//! per route group its body limit (413, read no further than the limit). Handlers take the
//! caller (`edge::caller::Device`) before the body, so a request without a valid token is
//! refused before its body is read.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use futures_util::Stream;
use kam_core::doc::{DocId, DocKind};
use kam_core::wire::{MAX_REQUEST_BYTES, SyncRequest, WIRE_CONTENT_TYPE, WireError};
use serde::Serialize;
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};
use tracing::Instrument;

use crate::auth::{self, Principal};
use crate::conflicts::OpenConflict;
use crate::error::ServerError;
use crate::http::AppState;
use crate::http::edge;
use crate::http::edge::caller::Device;
use crate::sync::{self, projector, scope};

pub(crate) use crate::http::edge::caller::bearer_token;

/// The largest sync body: the wire format's limit and room for its header.
const SYNC_BODY_BYTES: usize = MAX_REQUEST_BYTES + 1024;

/// The whole router.
pub fn app(state: AppState) -> Router {
    let limits = state.edge().limits.clone();
    let small = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/api/v1/policy", get(policy))
        .route("/api/v1/summary", get(summary))
        .route("/api/v1/changes", get(changes))
        .route("/api/v1/documents/{kind}/{id}", get(document))
        .route("/api/v1/conflicts", get(open_conflicts))
        .merge(crate::desk::http::read_routes())
        .merge(crate::web::routes())
        .merge(crate::api::hq::routes())
        .merge(crate::api::charts::routes())
        .merge(crate::api::management::routes())
        .merge(crate::api::admin::routes());
    let sync = Router::new().route("/api/v1/sync", post(sync_round));
    Router::new()
        .merge(edge::body::limited(small, limits.max_body_bytes))
        .merge(edge::body::limited(sync, SYNC_BODY_BYTES))
        .merge(edge::body::limited(crate::desk::http::command_routes(), limits.max_command_bytes))
        .merge(edge::body::limited(
            crate::desk::delegation::http::routes(),
            crate::desk::delegation::http::MAX_SEGMENT_BYTES,
        ))
        .merge(edge::body::limited(
            crate::web::console::command::routes(),
            limits.max_command_bytes,
        ))
        .fallback(not_found)
        .layer(RequestBodyTimeoutLayer::new(limits.body_idle_timeout()))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout(),
        ))
        .layer(middleware::from_fn_with_state(state.clone(), edge::per_address))
        .layer(middleware::from_fn(trace_request))
        .layer(middleware::from_fn(edge::envelope::one_error_format))
        .layer(middleware::from_fn_with_state(state.web, crate::web::security::security_headers))
        .with_state(state)
}

/// Wraps every request in a tracing span, so logs from the handler carry method and path.
async fn trace_request(request: Request, next: Next) -> Response {
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path()
    );
    async move {
        let response = next.run(request).await;
        tracing::debug!(status = response.status().as_u16(), "answered");
        response
    }
    .instrument(span)
    .await
}

/// Liveness that means something: 200 when every background task is moving, 503 naming the
/// stuck ones otherwise (see `health`).
async fn healthz(State(state): State<AppState>) -> Response {
    let (ok, tasks) = state.health.report();
    let status = if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let body = serde_json::json!({ "status": if ok { "ok" } else { "unhealthy" }, "tasks": tasks });
    (status, Json(body)).into_response()
}

async fn sync_round(
    State(state): State<AppState>,
    Device(who): Device,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ServerError> {
    let started = Instant::now();
    let _under_way = state.projector.round_started();
    let answer = sync_round_inner(&state, who, body).await;
    state.metrics.sync_latency_seconds.observe(started.elapsed().as_secs_f64());
    if answer.is_err() {
        state.metrics.sync_failures.inc();
    }
    answer
}

async fn sync_round_inner(
    state: &AppState,
    who: Principal,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ServerError> {
    let body = body.map_err(|e| match edge::body::unreadable(&e, SYNC_BODY_BYTES) {
        ServerError::BodyTooLarge { .. } => ServerError::Wire(WireError::TooLarge {
            size: MAX_REQUEST_BYTES + 1,
            limit: MAX_REQUEST_BYTES,
        }),
        ServerError::Malformed(text) => ServerError::Wire(WireError::Malformed(text)),
        other => other,
    })?;
    let bytes_in = body.len();
    let request = SyncRequest::decode(&body)?;
    drop(body);
    let metrics = Arc::clone(&state.metrics);
    let device_id = who.device_id.clone();
    let result = state
        .with_store(move |store| {
            // Checked again inside the round's own turn: a device revoked since the check
            // before the body was read gets nothing.
            let token_still_valid = auth::device_active(store.conn(), &device_id)?;
            if !token_still_valid {
                return Err(ServerError::Unauthorized);
            }
            metrics.sync_bytes_in.inc_by(bytes_in as u64);
            let span = tracing::info_span!(
                "sync_round",
                device = %who.device_id,
                cursor = request.cursor,
                messages = request.messages.len()
            );
            let _entered = span.enter();
            sync::sync_round(store, &who, &request, Utc::now())
        })
        .await?;
    state.push.announce(&result.changed);
    if !result.changed.is_empty() {
        state.projector.wake();
    }
    state.metrics.sync_rounds.inc();
    state.metrics.violations.inc_by(result.violations as u64);
    let bytes = result.response.encode()?;
    state.metrics.sync_bytes_out.inc_by(bytes.len() as u64);
    Ok(([(header::CONTENT_TYPE, WIRE_CONTENT_TYPE)], bytes).into_response())
}

/// The push channel: a server-sent event `changed` with `{cursor, docs}` whenever documents
/// the device may see change. See `crate::http::edge::changes::device_stream`.
async fn changes(
    State(state): State<AppState>,
    Device(who): Device,
    headers: axum::http::HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ServerError> {
    let token = bearer_token(&headers).ok_or(ServerError::Unauthorized)?;
    let slot = state.edge().streams.take(edge::caller::credential_id(&token))?;
    let stream = crate::http::edge::changes::device_stream(state, who, token, slot);
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// One document by id, as saved bytes, if the caller may see it. Anything else is 404, so a
/// rep cannot even learn whether another rep's customer exists.
async fn document(
    State(state): State<AppState>,
    Device(who): Device,
    Path((kind, entity)): Path<(String, String)>,
) -> Result<Response, ServerError> {
    let kind: DocKind = kind.parse().map_err(|_| ServerError::NotFound)?;
    if entity.is_empty() || entity.len() > kam_core::wire::MAX_DOC_ID_LEN {
        return Err(ServerError::NotFound);
    }
    let id = DocId::new(kind, entity);
    let bytes = state
        .with_store(move |store| {
            let row = store.conn().document_row(&id)?.ok_or(ServerError::NotFound)?;
            if !scope::can_see(store.conn(), &who, kind, &row.scope_key)? {
                return Err(ServerError::NotFound);
            }
            Ok(store.document(&id)?.ok_or(ServerError::NotFound)?.save())
        })
        .await?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response())
}

/// Open conflicts, for headquarters.
async fn open_conflicts(
    State(state): State<AppState>,
    Device(who): Device,
) -> Result<Json<Vec<OpenConflict>>, ServerError> {
    if !who.role.sees_everything() {
        return Err(ServerError::Forbidden("conflicts are for headquarters".into()));
    }
    Ok(Json(state.readers().read(|c| c.db().open_conflicts().map_err(ServerError::from)).await?))
}

async fn metrics(State(state): State<AppState>) -> Result<Response, ServerError> {
    let (seen, pending, quarantined) = state
        .readers()
        .read(|c| {
            Ok::<_, ServerError>((
                crate::hq::overview::devices_seen_24h(c.db(), Utc::now())?,
                projector::pending(c.db())?,
                crate::quarantine::open_count(c.db())?,
            ))
        })
        .await?;
    let cached = state.with_store(|store| Ok(store.cached_documents())).await?;
    let gauge = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    state.metrics.cached_documents.set(gauge(cached as u64));
    state.metrics.devices_seen_24h.set(gauge(seen));
    state.metrics.projection_pending.set(gauge(pending));
    state.metrics.quarantined_documents.set(gauge(quarantined));
    state.metrics.open_streams.set(gauge(state.edge().streams.open_now() as u64));
    state.metrics.rate_limit_keys.set(gauge(state.edge().rates.keys() as u64));
    if let Some(desk) = &state.desk {
        let load =
            |n: &std::sync::atomic::AtomicU64| gauge(n.load(std::sync::atomic::Ordering::Relaxed));
        state.metrics.desk_groups.set(load(&desk.stats().groups));
        state.metrics.desk_group_commands.set(load(&desk.stats().commands));
    }
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render())
        .into_response())
}

/// The business policy in force, so clients and people can see which thresholds apply.
async fn policy(State(state): State<AppState>) -> Result<Json<kam_core::Policy>, ServerError> {
    state.with_store(|store| Ok(Json(store.policy().clone()))).await
}

/// Counts only: no personal data is served without authentication.
#[derive(Debug, Serialize)]
struct Summary {
    policy_version: String,
    documents: Vec<KindCount>,
    customers_by_tier: Vec<TierCount>,
    /// Documents changed since the projector last rewrote their rows: the counts above lag
    /// the documents by this many.
    projection_pending: u64,
}

#[derive(Debug, Serialize)]
struct KindCount {
    kind: &'static str,
    count: u64,
}

#[derive(Debug, Serialize)]
struct TierCount {
    tier: String,
    count: u64,
}

async fn summary(State(state): State<AppState>) -> Result<Json<Summary>, ServerError> {
    let policy_version = state.with_store(|store| Ok(store.policy().version.clone())).await?;
    state
        .readers()
        .read(move |c| {
            let db = c.db();
            let mut documents = Vec::new();
            for kind in DocKind::ALL {
                documents
                    .push(KindCount { kind: kind.as_str(), count: db.count_documents(*kind)? });
            }
            // By tier code, as this summary has always listed them.
            let mut customers_by_tier: Vec<TierCount> = db
                .customers_by_tier()?
                .into_iter()
                .map(|(tier, count)| TierCount { tier, count })
                .collect();
            customers_by_tier.sort_by(|a, b| a.tier.cmp(&b.tier));
            Ok(Json(Summary {
                policy_version,
                documents,
                customers_by_tier,
                projection_pending: projector::pending(db)?,
            }))
        })
        .await
}

async fn not_found() -> ServerError {
    ServerError::NotFound
}

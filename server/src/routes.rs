//! HTTP routes.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use futures_util::{Stream, StreamExt};
use kam_core::doc::{DocId, DocKind};
use kam_core::wire::{MAX_REQUEST_BYTES, SyncRequest, WIRE_CONTENT_TYPE, WireError};
use serde::Serialize;
use tokio_stream::wrappers::BroadcastStream;
use tracing::Instrument;

use crate::auth::{self, Principal};
use crate::conflicts::{self, OpenConflict};
use crate::error::ServerError;
use crate::state::AppState;
use crate::{docs, projector, scope, sync};

/// The whole router.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/api/v1/policy", get(policy))
        .route("/api/v1/summary", get(summary))
        .route(
            "/api/v1/sync",
            // The limit leaves room for the header; the decoder enforces the exact one.
            post(sync_round).layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES + 1024)),
        )
        .route("/api/v1/changes", get(changes))
        .route("/api/v1/documents/{kind}/{id}", get(document))
        .route("/api/v1/conflicts", get(open_conflicts))
        .merge(crate::desk::http::routes())
        .merge(crate::web::routes())
        .merge(crate::api::hq::routes())
        .fallback(not_found)
        .layer(middleware::from_fn(trace_request))
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

async fn healthz() -> &'static str {
    "ok"
}

/// The request's bearer token, if it carries a plausible one.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 256)
        .map(str::to_owned)
}

/// The device behind the request's bearer token.
pub(crate) async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Principal, ServerError> {
    let token = bearer_token(headers).ok_or(ServerError::Unauthorized)?;
    state
        .with_store(move |store| {
            auth::authenticate(store.conn(), &token)?.ok_or(ServerError::Unauthorized)
        })
        .await
}

async fn sync_round(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ServerError> {
    let started = Instant::now();
    let _under_way = state.projector.round_started();
    let answer = sync_round_inner(&state, &headers, body).await;
    state.metrics.sync_latency_seconds.observe(started.elapsed().as_secs_f64());
    if answer.is_err() {
        state.metrics.sync_failures.inc();
    }
    answer
}

async fn sync_round_inner(
    state: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ServerError> {
    let token = bearer_token(headers).ok_or(ServerError::Unauthorized)?;
    // The body is decoded before the store is taken, but a failure is reported only after
    // the token checks out, so an unknown caller learns nothing about its body. Checking the
    // token in the round's own turn at the store saves a second turn per round.
    let decoded = body
        .map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ServerError::Wire(WireError::TooLarge {
                    size: MAX_REQUEST_BYTES + 1,
                    limit: MAX_REQUEST_BYTES,
                })
            } else {
                ServerError::Wire(WireError::Malformed(e.body_text()))
            }
        })
        .and_then(|body| Ok((body.len(), SyncRequest::decode(&body)?)));
    let metrics = Arc::clone(&state.metrics);
    let result = state
        .with_store(move |store| {
            let who = auth::authenticate(store.conn(), &token)?.ok_or(ServerError::Unauthorized)?;
            let (bytes_in, request) = decoded?;
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
/// the device may see change.
async fn changes(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ServerError> {
    let who = authenticate(&state, &headers).await?;
    let receiver = state.push.subscribe();
    let stream = BroadcastStream::new(receiver).filter_map(move |notice| {
        let (state, who) = (state.clone(), who.clone());
        async move {
            let Ok(changed) = notice else {
                // Missed notices: tell the device to sync, which brings everything anyway.
                return Some(Ok(Event::default().event("lagged").data("{}")));
            };
            let visible = visible(&state, &who, &changed).await.unwrap_or(false);
            visible.then(|| {
                let data = serde_json::json!({ "cursor": changed.seq, "docs": [changed.doc_id] });
                Ok(Event::default().event("changed").data(data.to_string()))
            })
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

async fn visible(
    state: &AppState,
    who: &Principal,
    changed: &sync::ChangedDoc,
) -> Result<bool, ServerError> {
    let id: DocId = changed.doc_id.parse().map_err(|_| ServerError::NotFound)?;
    if who.role.sees_everything() {
        return Ok(true);
    }
    let (who, key) = (who.clone(), changed.scope_key.clone());
    state.with_store(move |store| scope::can_see(store.conn(), &who, id.kind(), &key)).await
}

/// One document by id, as saved bytes, if the caller may see it. Anything else is 404, so a
/// rep cannot even learn whether another rep's customer exists.
async fn document(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((kind, entity)): Path<(String, String)>,
) -> Result<Response, ServerError> {
    let who = authenticate(&state, &headers).await?;
    let kind: DocKind = kind.parse().map_err(|_| ServerError::NotFound)?;
    let id = DocId::new(kind, entity);
    let bytes = state
        .with_store(move |store| {
            let row = docs::row(store.conn(), &id)?.ok_or(ServerError::NotFound)?;
            if !scope::can_see(store.conn(), &who, kind, &row.scope_key)? {
                return Err(ServerError::NotFound);
            }
            let Store { conn, docs, .. } = store;
            Ok(docs.get(conn, &id, false)?.ok_or(ServerError::NotFound)?.save())
        })
        .await?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response())
}

use crate::store::Store;

/// Open conflicts, for headquarters.
async fn open_conflicts(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Vec<OpenConflict>>, ServerError> {
    let who = authenticate(&state, &headers).await?;
    if !who.role.sees_everything() {
        return Err(ServerError::Forbidden("conflicts are for headquarters".into()));
    }
    Ok(Json(state.with_store(|store| conflicts::open_conflicts(store.conn())).await?))
}

async fn metrics(State(state): State<AppState>) -> Result<Response, ServerError> {
    let (seen, cached, pending) = state
        .with_store(|store| {
            let day_ago = Utc::now().checked_sub_signed(chrono::Duration::hours(24));
            let since = day_ago.unwrap_or(chrono::DateTime::<Utc>::MIN_UTC).to_rfc3339();
            let seen: i64 = store.conn().query_row(
                "SELECT COUNT(*) FROM devices WHERE last_seen_at >= ?1",
                [since],
                |r| r.get(0),
            )?;
            Ok((seen, store.cached_documents(), projector::pending(store.conn())?))
        })
        .await?;
    state.metrics.devices_seen_24h.set(seen);
    state.metrics.cached_documents.set(i64::try_from(cached).unwrap_or(i64::MAX));
    state.metrics.projection_pending.set(i64::try_from(pending).unwrap_or(i64::MAX));
    if let Some(desk) = &state.desk {
        let load = |n: &std::sync::atomic::AtomicU64| {
            i64::try_from(n.load(std::sync::atomic::Ordering::Relaxed)).unwrap_or(i64::MAX)
        };
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
    state
        .with_store(|store| {
            let mut documents = Vec::new();
            for kind in DocKind::ALL {
                documents.push(KindCount {
                    kind: kind.as_str(),
                    count: crate::store::count_documents(store.conn(), *kind)?,
                });
            }
            let mut stmt = store
                .conn()
                .prepare("SELECT tier, COUNT(*) FROM customers GROUP BY tier ORDER BY tier")?;
            let customers_by_tier = stmt
                .query_map([], |r| Ok(TierCount { tier: r.get(0)?, count: r.get(1)? }))?
                .collect::<Result<_, _>>()?;
            Ok(Json(Summary {
                policy_version: store.policy().version.clone(),
                documents,
                customers_by_tier,
                projection_pending: projector::pending(store.conn())?,
            }))
        })
        .await
}

async fn not_found() -> ServerError {
    ServerError::NotFound
}

//! HTTP routes.

use axum::extract::Request;
use axum::extract::State;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use tracing::Instrument;

use crate::error::ServerError;
use crate::state::AppState;

/// The whole router.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/api/v1/policy", get(policy))
        .route("/api/v1/summary", get(summary))
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

/// The business policy in force, so clients and people can see which thresholds apply.
async fn policy(State(state): State<AppState>) -> Result<Json<kam_core::Policy>, ServerError> {
    state.with_store(|store| Ok(Json(store.policy().clone()))).await
}

/// Counts only: no personal data is served before authentication exists.
#[derive(Debug, Serialize)]
struct Summary {
    policy_version: String,
    documents: Vec<KindCount>,
    customers_by_tier: Vec<TierCount>,
}

#[derive(Debug, Serialize)]
struct KindCount {
    kind: &'static str,
    count: u64,
}

#[derive(Debug, Serialize)]
struct TierCount {
    tier: &'static str,
    label_zh: &'static str,
    count: u32,
}

async fn summary(State(state): State<AppState>) -> Result<Json<Summary>, ServerError> {
    state
        .with_store(|store| {
            let documents = store
                .document_counts_by_kind()?
                .into_iter()
                .map(|(kind, count)| KindCount { kind: kind.as_str(), count })
                .collect();
            let customers_by_tier = store
                .customer_counts_by_tier()?
                .into_iter()
                .map(|(tier, count)| TierCount {
                    tier: tier.as_str(),
                    label_zh: tier.label_zh(),
                    count,
                })
                .collect();
            Ok(Json(Summary {
                policy_version: store.policy().version.clone(),
                documents,
                customers_by_tier,
            }))
        })
        .await
}

async fn not_found() -> ServerError {
    ServerError::NotFound
}

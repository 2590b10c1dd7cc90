//! `/api/v1/hq/charts`: the charts page's series as JSON, the same structs (`hq::charts`).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use chrono::Utc;

use super::hq::HqReader;
use crate::error::ServerError;
use crate::hq::charts::{self, Charts};
use crate::http::AppState;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/hq/charts", get(charts_json))
}

async fn charts_json(
    State(state): State<AppState>,
    _reader: HqReader,
) -> Result<Json<Charts>, ServerError> {
    Ok(Json(state.hq_read(|store| charts::charts(store.conn(), store.policy(), Utc::now())).await?))
}

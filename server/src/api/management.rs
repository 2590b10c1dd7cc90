//! The `/api/v1/hq` reads of the management pages (issue 23): scorecards, the monthly review
//! and commissioning organisations — the same structs the dashboard's pages show.

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use chrono::Utc;
use serde::Deserialize;

use super::hq::HqReader;
use crate::db::ManagementQueries;
use crate::db::management::{ReviewRow, ScorecardRow};
use crate::error::ServerError;
use crate::hq::organisations::{self, OrganisationsView};
use crate::http::AppState;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/hq/scorecards", get(scorecards_json))
        .route("/api/v1/hq/meetings", get(meetings_json))
        .route("/api/v1/hq/organisations", get(organisations_json))
}

/// The scorecards' filter.
#[derive(Debug, Default, Deserialize)]
struct PeriodQuery {
    period: Option<String>,
}

async fn scorecards_json(
    State(state): State<AppState>,
    _reader: HqReader,
    Query(q): Query<PeriodQuery>,
) -> Result<Json<Vec<ScorecardRow>>, ServerError> {
    let period = q.period.filter(|p| !p.is_empty());
    Ok(Json(
        state
            .with_store(move |store| {
                let db: &dyn ManagementQueries = store.conn();
                Ok(db.scorecards(period.as_deref())?)
            })
            .await?,
    ))
}

async fn meetings_json(
    State(state): State<AppState>,
    _reader: HqReader,
) -> Result<Json<Vec<ReviewRow>>, ServerError> {
    Ok(Json(state.with_store(|store| crate::hq::meetings::months(store.conn())).await?))
}

async fn organisations_json(
    State(state): State<AppState>,
    _reader: HqReader,
) -> Result<Json<OrganisationsView>, ServerError> {
    Ok(Json(
        state
            .with_store(|store| {
                organisations::organisations(store.conn(), store.policy(), Utc::now())
            })
            .await?,
    ))
}

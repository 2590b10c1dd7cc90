//! The `/api/v1/hq` reads of the management pages (issue 23): scorecards, the monthly review
//! and commissioning organisations — the same structs the dashboard's pages show.

use axum::extract::{Query, State};
use axum::http::Uri;
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use chrono::Utc;

use super::hq::HqReader;
use crate::db::management::ReviewRow;
use crate::error::ServerError;
use crate::hq::listing::ListParams;
use crate::hq::organisations::{self, OrganisationsView};
use crate::hq::scorecard_list::{self, ScorecardQuery};
use crate::http::AppState;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/hq/scorecards", get(scorecards_json))
        .route("/api/v1/hq/meetings", get(meetings_json))
        .route("/api/v1/hq/organisations", get(organisations_json))
}

async fn scorecards_json(
    State(state): State<AppState>,
    _reader: HqReader,
    uri: Uri,
    Query(query): Query<ScorecardQuery>,
    Query(params): Query<ListParams>,
) -> Result<Response, ServerError> {
    let page =
        state.hq_read(move |store| scorecard_list::page(store.conn(), &query, &params)).await?;
    Ok(super::paging::paged(page, &uri))
}

async fn meetings_json(
    State(state): State<AppState>,
    _reader: HqReader,
) -> Result<Json<Vec<ReviewRow>>, ServerError> {
    Ok(Json(state.hq_read(|store| crate::hq::meetings::months(store.conn())).await?))
}

async fn organisations_json(
    State(state): State<AppState>,
    _reader: HqReader,
) -> Result<Json<OrganisationsView>, ServerError> {
    Ok(Json(
        state
            .hq_read(|store| organisations::organisations(store.conn(), store.policy(), Utc::now()))
            .await?,
    ))
}

//! The `/api/v1/hq` reads of the management pages (issue 23): scorecards, the monthly review
//! and commissioning organisations — the same structs the dashboard's pages show.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::Uri;
use axum::response::Response;
use axum::routing::get;
use chrono::Utc;

use super::hq::HqReader;
use crate::error::ServerError;
use crate::hq::listing::ListParams;
use crate::hq::meetings::{self, MonthQuery};
use crate::hq::organisation_lists::{self, CandidateQuery, CollectionQuery};
use crate::hq::scorecard_list::{self, ScorecardQuery};
use crate::http::AppState;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/hq/scorecards", get(scorecards_json))
        .route("/api/v1/hq/meetings", get(meetings_json))
        .route("/api/v1/hq/organisations", get(organisations_json))
        .route("/api/v1/hq/collections", get(collections_json))
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
    uri: Uri,
    Query(query): Query<MonthQuery>,
    Query(params): Query<ListParams>,
) -> Result<Response, ServerError> {
    let page = state
        .hq_read(move |store| {
            meetings::MONTHS.page(&params, || meetings::months(store.conn(), &query))
        })
        .await?;
    Ok(super::paging::paged(page, &uri))
}

async fn organisations_json(
    State(state): State<AppState>,
    _reader: HqReader,
    uri: Uri,
    Query(query): Query<CandidateQuery>,
    Query(params): Query<ListParams>,
) -> Result<Response, ServerError> {
    let page = state
        .hq_read(move |store| {
            let read = || organisation_lists::candidates(store.conn(), store.policy(), &query);
            organisation_lists::CANDIDATES.page(&params, read)
        })
        .await?;
    Ok(super::paging::paged(page, &uri))
}

async fn collections_json(
    State(state): State<AppState>,
    _reader: HqReader,
    uri: Uri,
    Query(query): Query<CollectionQuery>,
    Query(params): Query<ListParams>,
) -> Result<Response, ServerError> {
    let page = state
        .hq_read(move |store| {
            let now = Utc::now();
            let read =
                || organisation_lists::collections(store.conn(), store.policy(), now, &query);
            organisation_lists::COLLECTIONS.page(&params, read)
        })
        .await?;
    Ok(super::paging::paged(page, &uri))
}

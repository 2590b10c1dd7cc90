//! The JSON twins of the pipeline, plans and surveys pages (`/api/v1/hq/pipeline`, `…/plans`,
//! `…/surveys`), and headquarters' two plan decisions by device token.

use axum::extract::{Path, Query, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use serde::Deserialize;

use super::hq::{HqDecider, HqReader};
use crate::error::ServerError;
use crate::hq::decisions;
use crate::hq::listing::ListParams;
use crate::hq::pipeline::{self, LeadDetail, LeadQuery, PipelineView};
use crate::hq::plans::{self, PlanDetail, PlanQuery, QuarterEvaluation};
use crate::hq::surveys::{self, SurveyFilter, SurveysView};
use crate::http::AppState;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/hq/pipeline", get(pipeline_json))
        .route("/api/v1/hq/pipeline/{id}", get(lead_json))
        .route("/api/v1/hq/plans", get(plans_json))
        .route("/api/v1/hq/plans/{id}", get(plan_json))
        .route("/api/v1/hq/plans/{id}/approve", post(approve_json))
        .route("/api/v1/hq/plans/{id}/evaluate", post(evaluate_json))
        .route("/api/v1/hq/surveys", get(surveys_json))
}

async fn pipeline_json(
    State(state): State<AppState>,
    _reader: HqReader,
    uri: Uri,
    Query(query): Query<LeadQuery>,
    Query(params): Query<ListParams>,
) -> Result<Response, ServerError> {
    let page =
        state.hq_read(move |store| pipeline::pipeline_page(store.conn(), &query, &params)).await?;
    let links = super::paging::PageLinks::of(&page.leads);
    let view = PipelineView { summary: page.summary, by_rep: page.by_rep, leads: page.leads.rows };
    Ok(super::paging::paged_body(view, links, &uri))
}

async fn lead_json(
    State(state): State<AppState>,
    _reader: HqReader,
    Path(id): Path<String>,
) -> Result<Json<LeadDetail>, ServerError> {
    Ok(Json(state.hq_read(move |store| pipeline::lead(store.conn(), &id)).await?))
}

async fn plans_json(
    State(state): State<AppState>,
    _reader: HqReader,
    uri: Uri,
    Query(query): Query<PlanQuery>,
    Query(params): Query<ListParams>,
) -> Result<Response, ServerError> {
    let page = state
        .hq_read(move |store| {
            let today = store.policy().business_date(Utc::now());
            plans::plans_page(store.conn(), store.policy(), &query, today, &params)
        })
        .await?;
    Ok(super::paging::paged(page, &uri))
}

async fn plan_json(
    State(state): State<AppState>,
    _reader: HqReader,
    Path(id): Path<String>,
) -> Result<Json<PlanDetail>, ServerError> {
    let detail = state
        .hq_read(move |store| {
            let today = store.policy().business_date(Utc::now());
            plans::plan(store.conn(), store.policy(), &id, today)
        })
        .await?;
    Ok(Json(detail))
}

async fn approve_json(
    State(state): State<AppState>,
    HqDecider(user): HqDecider,
    Path(id): Path<String>,
) -> Result<Response, ServerError> {
    decisions::approve_plan(&state, user.decider(), id.clone()).await?;
    Ok(Json(serde_json::json!({ "plan_id": id, "approved": true })).into_response())
}

/// The body of a quarter's evaluation.
#[derive(Debug, Deserialize)]
struct EvaluateBody {
    quarter: u8,
    #[serde(default)]
    adjustment: String,
}

async fn evaluate_json(
    State(state): State<AppState>,
    HqDecider(user): HqDecider,
    Path(id): Path<String>,
    body: Result<Json<EvaluateBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ServerError> {
    let Json(body) = body?;
    let evaluation = QuarterEvaluation { quarter: body.quarter, adjustment: body.adjustment };
    decisions::evaluate_plan_quarter(&state, user.decider(), id.clone(), evaluation).await?;
    Ok(Json(serde_json::json!({ "plan_id": id, "quarter": body.quarter })).into_response())
}

async fn surveys_json(
    State(state): State<AppState>,
    _reader: HqReader,
    uri: Uri,
    Query(filter): Query<SurveyFilter>,
    Query(params): Query<ListParams>,
) -> Result<Response, ServerError> {
    let page = state
        .hq_read(move |store| {
            let today = store.policy().business_date(Utc::now());
            surveys::surveys_page(store.conn(), store.policy(), &filter, today, &params)
        })
        .await?;
    let links = super::paging::PageLinks::of(&page.customers);
    let view = SurveysView { customers: page.customers.rows, surveys: page.surveys };
    Ok(super::paging::paged_body(view, links, &uri))
}

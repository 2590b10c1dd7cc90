//! The `/api/v1/hq` routes.

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use serde::Deserialize;

use crate::error::ServerError;
use crate::hq::customers::{CustomerDetail, CustomerQuery};
use crate::hq::events::{EVENTS, EventQuery};
use crate::hq::listing::ListParams;
use crate::hq::regrade::{Decision, ProposalQuery};
use crate::hq::review_lists::{self, ConflictQuery, QuarantineQuery, ViolationQuery};
use crate::hq::tickets::TicketQuery;
use crate::hq::{compliance, customers, decisions, devices, overview, regrade, tickets};
use crate::http::AppState;
use crate::http::edge::caller::{authenticate, bearer_token, source_address};
use crate::web::i18n::Lang;
use crate::web::session::{self, WebUser};

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/hq/overview", get(overview_json))
        .route("/api/v1/hq/customers", get(customers_json))
        .route("/api/v1/hq/customers/{id}", get(customer_json))
        .route("/api/v1/hq/regrades", get(regrades_json))
        .route("/api/v1/hq/regrades/{id}/{action}", post(decide_json))
        .route("/api/v1/hq/visit-compliance", get(compliance_json))
        .route("/api/v1/hq/visit-compliance/month", get(compliance_month_json))
        .route("/api/v1/hq/tickets", get(tickets_json))
        .route("/api/v1/hq/conflicts", get(conflicts_json))
        .route("/api/v1/hq/conflicts/resolve", post(resolve_json))
        .route("/api/v1/hq/violations", get(violations_json))
        .route("/api/v1/hq/violations/{id}/reviewed", post(reviewed_json))
        .route("/api/v1/hq/devices", get(devices_json))
        .route("/api/v1/hq/events", get(events_json))
        .route("/api/v1/hq/quarantine", get(quarantine_json))
        .route("/api/v1/hq/reports/monthly", get(monthly_json))
        .route("/api/v1/hq/reports/quarterly", get(quarterly_json))
        .route("/api/v1/openapi.json", get(openapi_json))
        .merge(super::account_work::routes())
}

/// The caller of a read: a device token or a dashboard session.
pub(super) async fn reader(parts: &Parts, state: &AppState) -> Result<WebUser, ServerError> {
    if bearer_token(&parts.headers).is_some() {
        let address = source_address(&parts.extensions);
        let who = authenticate(state, &parts.headers, address).await?;
        let clock = crate::web::layout::Clock::of(state.policy());
        Ok(WebUser {
            user_id: who.user_id,
            role: who.role,
            csrf: String::new(),
            lang: Lang::Zh,
            clock,
        })
    } else {
        session::signed_in(state, &parts.headers).await?.ok_or(ServerError::Unauthorized)
    }
}

/// The caller of a read: a device token or a dashboard session, of a role that sees
/// everything. Extracted before anything else of the request.
pub(crate) struct HqReader;

impl FromRequestParts<AppState> for HqReader {
    type Rejection = ServerError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ServerError> {
        let user = reader(parts, state).await?;
        if !user.is_hq() {
            return Err(ServerError::Forbidden(
                "headquarters' data is for finance and headquarters".into(),
            ));
        }
        Ok(HqReader)
    }
}

/// The caller of a decision: a device token only (a form on the dashboard carries its CSRF
/// token instead, see `web`).
pub(super) struct HqDecider(pub(super) WebUser);

impl FromRequestParts<AppState> for HqDecider {
    type Rejection = ServerError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ServerError> {
        let address = source_address(&parts.extensions);
        let who = authenticate(state, &parts.headers, address).await?;
        Ok(HqDecider(WebUser {
            user_id: who.user_id,
            role: who.role,
            csrf: String::new(),
            lang: Lang::Zh,
            clock: crate::web::layout::Clock::of(state.policy()),
        }))
    }
}

async fn overview_json(
    State(state): State<AppState>,
    _reader: HqReader,
) -> Result<Json<overview::Overview>, ServerError> {
    Ok(Json(state.hq_read(|store| overview::overview(store.conn(), Utc::now())).await?))
}

async fn customers_json(
    State(state): State<AppState>,
    _reader: HqReader,
    uri: Uri,
    Query(query): Query<CustomerQuery>,
    Query(params): Query<ListParams>,
) -> Result<Response, ServerError> {
    let page = state.hq_read(move |store| customers::page(store.conn(), &query, &params)).await?;
    Ok(super::paging::paged(page, &uri))
}

async fn customer_json(
    State(state): State<AppState>,
    _reader: HqReader,
    Path(id): Path<String>,
) -> Result<Json<CustomerDetail>, ServerError> {
    Ok(Json(crate::web::customers::customer_detail(&state, id).await?))
}

async fn regrades_json(
    State(state): State<AppState>,
    _reader: HqReader,
    uri: Uri,
    Query(query): Query<ProposalQuery>,
    Query(params): Query<ListParams>,
) -> Result<Response, ServerError> {
    let page = state
        .hq_read(move |store| {
            regrade::page(store.conn(), store.policy(), Utc::now(), &query, &params)
        })
        .await?;
    Ok(super::paging::paged(page, &uri))
}

async fn decide_json(
    State(state): State<AppState>,
    HqDecider(user): HqDecider,
    Path((id, action)): Path<(String, String)>,
) -> Result<Response, ServerError> {
    let decision = match action.as_str() {
        "approve" => Decision::Approve,
        "reject" => Decision::Reject,
        _ => return Err(ServerError::NotFound),
    };
    decisions::decide_regrade(&state, user.decider(), id.clone(), decision).await?;
    Ok(Json(serde_json::json!({ "customer_id": id, "decision": action })).into_response())
}

/// The visit-compliance filters: a rep, and for the month's rows, the month.
#[derive(Debug, Default, Deserialize)]
struct ComplianceQuery {
    rep: Option<String>,
    month: Option<String>,
}

async fn compliance_json(
    State(state): State<AppState>,
    _reader: HqReader,
    uri: Uri,
    Query(query): Query<ComplianceQuery>,
    Query(overdue): Query<crate::hq::visit_lists::VisitListQuery>,
    Query(params): Query<ListParams>,
) -> Result<Response, ServerError> {
    let (mut compliance, page) = state
        .hq_read(move |store| {
            let (conn, at) = (store.conn(), (store.policy(), Utc::now()));
            let rep = compliance::rep_asked(conn, query.rep.as_deref())?;
            crate::hq::visit_lists::compliance_page(conn, at, rep.as_deref(), (&overdue, &params))
        })
        .await?;
    let links = super::paging::PageLinks::of(&page);
    compliance.overdue = page.rows;
    Ok(super::paging::paged_body(compliance, links, &uri))
}

async fn compliance_month_json(
    State(state): State<AppState>,
    _reader: HqReader,
    uri: Uri,
    Query(query): Query<ComplianceQuery>,
    Query(lines): Query<crate::hq::visit_lists::VisitListQuery>,
    Query(params): Query<ListParams>,
) -> Result<Response, ServerError> {
    let (mut month, page) = state
        .hq_read(move |store| {
            let rep = compliance::rep_asked(store.conn(), query.rep.as_deref())?;
            let (conn, policy, now) = (store.conn(), store.policy(), Utc::now());
            let this_month = crate::db::sales::YearMonth::of(policy.business_date(now));
            let text = query.month.as_deref().map(str::trim).filter(|m| !m.is_empty());
            let month = match text {
                None => this_month,
                Some(text) => crate::db::sales::YearMonth::parse(text).ok_or_else(|| {
                    let reason = format!("{text:?} is not YYYY-MM");
                    ServerError::Invalid { field: "month", reason }
                })?,
            };
            let asked = (month, rep.as_deref());
            let found =
                crate::hq::visit_lists::month_page(conn, (policy, now), asked, (&lines, &params))?;
            found.ok_or_else(|| ServerError::Invalid {
                field: "month",
                reason: format!("{month} has not begun"),
            })
        })
        .await?;
    let links = super::paging::PageLinks::of(&page);
    month.lines = page.rows;
    Ok(super::paging::paged_body(month, links, &uri))
}

async fn tickets_json(
    State(state): State<AppState>,
    _reader: HqReader,
    uri: Uri,
    Query(query): Query<TicketQuery>,
    Query(params): Query<ListParams>,
) -> Result<Response, ServerError> {
    let page = state
        .hq_read(move |store| {
            tickets::page(store.conn(), &query, &params, store.policy(), Utc::now())
        })
        .await?;
    Ok(super::paging::paged(page, &uri))
}

async fn conflicts_json(
    State(state): State<AppState>,
    _reader: HqReader,
    uri: Uri,
    Query(query): Query<ConflictQuery>,
    Query(params): Query<ListParams>,
) -> Result<Response, ServerError> {
    let page = state
        .hq_read(move |store| {
            review_lists::CONFLICTS.page(&params, || review_lists::conflicts(store.conn(), &query))
        })
        .await?;
    Ok(super::paging::paged(page, &uri))
}

/// The body of a conflict resolution.
#[derive(Debug, Deserialize)]
struct ResolveBody {
    doc_id: String,
    path: String,
    value: String,
}

async fn resolve_json(
    State(state): State<AppState>,
    HqDecider(user): HqDecider,
    body: Result<Json<ResolveBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ServerError> {
    let Json(body) = body?;
    decisions::resolve_conflict(&state, user.decider(), body.doc_id, body.path, body.value).await?;
    Ok(Json(serde_json::json!({ "resolved": true })).into_response())
}

async fn violations_json(
    State(state): State<AppState>,
    _reader: HqReader,
    uri: Uri,
    Query(query): Query<ViolationQuery>,
    Query(params): Query<ListParams>,
) -> Result<Response, ServerError> {
    let page = state
        .hq_read(move |store| {
            review_lists::VIOLATIONS
                .page(&params, || review_lists::violations(store.conn(), &query))
        })
        .await?;
    Ok(super::paging::paged(page, &uri))
}

async fn reviewed_json(
    State(state): State<AppState>,
    HqDecider(user): HqDecider,
    Path(id): Path<i64>,
) -> Result<Response, ServerError> {
    decisions::review_violation(&state, user.decider(), id).await?;
    Ok(Json(serde_json::json!({ "violation_id": id, "reviewed": true })).into_response())
}

async fn devices_json(
    State(state): State<AppState>,
    _reader: HqReader,
    uri: Uri,
    Query(query): Query<devices::DeviceQuery>,
    Query(params): Query<ListParams>,
) -> Result<Response, ServerError> {
    let page = state
        .hq_read(move |store| devices::devices_page(store.conn(), Utc::now(), &query, &params))
        .await?;
    Ok(super::paging::paged(page, &uri))
}

async fn events_json(
    State(state): State<AppState>,
    _reader: HqReader,
    uri: Uri,
    Query(query): Query<EventQuery>,
    Query(params): Query<ListParams>,
) -> Result<Response, ServerError> {
    let page = state
        .hq_read(move |store| {
            let all = crate::hq::events::selection_events(store.conn(), store.desk())?;
            EVENTS.page(&params, || crate::hq::events::matching(all, &query))
        })
        .await?;
    Ok(super::paging::paged(page, &uri))
}

async fn quarantine_json(
    State(state): State<AppState>,
    _reader: HqReader,
    uri: Uri,
    Query(query): Query<QuarantineQuery>,
    Query(params): Query<ListParams>,
) -> Result<Response, ServerError> {
    let page = state
        .hq_read(move |store| {
            review_lists::QUARANTINE
                .page(&params, || review_lists::quarantine(store.conn(), &query))
        })
        .await?;
    Ok(super::paging::paged(page, &uri))
}

async fn monthly_json(
    State(state): State<AppState>,
    _reader: HqReader,
    uri: Uri,
    Query(period): Query<crate::web::reports::Period>,
    Query(params): Query<ListParams>,
) -> Result<Response, ServerError> {
    let report = crate::web::reports::monthly(&state, period.month).await?;
    let (mut report, page) = crate::reports::monthly::paged(report, &params)?;
    let links = super::paging::PageLinks::of(&page);
    report.rows = page.rows;
    Ok(super::paging::paged_body(report, links, &uri))
}

async fn quarterly_json(
    State(state): State<AppState>,
    _reader: HqReader,
    Query(period): Query<crate::web::reports::Period>,
) -> Result<Json<crate::reports::QuarterlyReport>, ServerError> {
    Ok(Json(crate::web::reports::quarterly(&state, period.quarter).await?))
}

async fn openapi_json() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], super::openapi::document().to_string())
        .into_response()
}

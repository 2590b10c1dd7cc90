//! The yearly re-grade proposals and headquarters' decision on each.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use maud::{Markup, html};

use super::error::{InLang, PageError};
use super::forms::{CsrfForm, Flash};
use super::layout::{Here, csrf_field, flash, page, url_encode};
use super::session::WebUser;
use crate::hq::decisions;
use crate::hq::regrade::{self, Decision};
use crate::http::AppState;

/// `GET /hq/regrades`.
pub async fn regrades_page(
    State(state): State<AppState>,
    user: WebUser,
    here: Here,
    Query(flash_msg): Query<Flash>,
) -> Result<Markup, PageError> {
    let lang = user.lang;
    let proposals = user
        .hq_read(&state, |store| regrade::proposals(store.conn(), store.policy(), Utc::now()))
        .await?;
    Ok(page(
        &user,
        &here,
        lang.t("分级调整", "Re-grades"),
        html! {
            h1 { (lang.t("年度分级调整（待总经理批准）", "Yearly re-grade proposals (for the general manager)")) }
            (flash(flash_msg.done.as_deref()))
            p .muted { (lang.t("依据上年销售额与评分的强制分布计算；批准后写入客户档案并同步到所有设备。",
                "Computed from last year's sales and the forced distribution of scores; an approval is written into the customer's file and synced to every device.")) }
            table #regrades {
                tr { th { (lang.t("客户", "Customer")) } th { (lang.t("现级别", "Tier now")) } th { (lang.t("建议级别", "Proposed tier")) } th { (lang.t("现等级", "Grade now")) } th { (lang.t("建议等级", "Proposed grade")) } th { (lang.t("评分", "Score")) } th { (lang.t("理由", "Why")) } th {} }
                @for p in &proposals {
                    @let id = p.proposal.customer_id.as_str();
                    tr data-customer-id=(id) {
                        td { a href={ "/hq/customers/" (url_encode(id)) } { (p.name) } }
                        td { (lang.label(p.proposal.current_tier.as_str())) }
                        td .proposed-tier data-tier=(p.proposal.proposed_tier.as_str()) { (lang.label(p.proposal.proposed_tier.as_str())) }
                        td { (p.proposal.current_grade.map(|g| g.as_str()).unwrap_or("—")) }
                        td .proposed-grade { (p.proposal.proposed_grade.as_str()) }
                        td .num { (p.proposal.score) }
                        td { @for r in &p.proposal.reasons { div { (lang.regrade_reason(r)) } } }
                        td {
                            @if user.may_decide() {
                                form method="post" action={ "/hq/regrades/" (url_encode(id)) "/approve" } { (csrf_field(&user)) button .approve type="submit" { (lang.t("批准", "Approve")) } }
                                form method="post" action={ "/hq/regrades/" (url_encode(id)) "/reject" } { (csrf_field(&user)) button .reject type="submit" { (lang.t("驳回", "Reject")) } }
                            }
                        }
                    }
                }
            }
        },
    ))
}

/// `POST /hq/regrades/{id}/{approve|reject}`.
pub async fn decide_regrade(
    State(state): State<AppState>,
    user: WebUser,
    Path((id, action)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    user.check_csrf(&form.csrf)?;
    let lang = user.lang;
    let decision = match action.as_str() {
        "approve" => Decision::Approve,
        "reject" => Decision::Reject,
        _ => return Err(PageError::Server(crate::error::ServerError::NotFound, lang)),
    };
    decisions::decide_regrade(&state, user.decider(), id, decision).await.in_lang(lang)?;
    let done = match decision {
        Decision::Approve => lang.t(
            "已批准，新级别已写入客户档案。",
            "Approved: the new classification is in the customer's file.",
        ),
        Decision::Reject => lang.t("已驳回。", "Rejected."),
    };
    Ok(Redirect::to(&format!("/hq/regrades?done={}", url_encode(done))).into_response())
}

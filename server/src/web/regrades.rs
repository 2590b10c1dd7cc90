//! The yearly re-grade proposals and headquarters' decision on each: one at a time, or several
//! approved in one form, each decision behind a ticked confirmation and each decided through
//! `hq::decisions::decide_regrade` (its own transaction and audit entry).

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use maud::{Markup, html};

use super::error::{InLang, PageError};
use super::forms::{ConfirmForm, Flash};
use super::i18n::Lang;
use super::layout::{Here, csrf_field, flash, page, url_encode};
use super::list::{self, ListView};
use super::session::WebUser;
use crate::error::ServerError;
use crate::hq::decisions;
use crate::hq::listing::ListParams;
use crate::hq::regrade::{self, Decision, ProposalQuery};
use crate::http::AppState;
use crate::reports::export::{ListCell, ListKind};

/// `GET /hq/regrades`.
pub async fn regrades_page(
    State(state): State<AppState>,
    user: WebUser,
    here: Here,
    Query(flash_msg): Query<Flash>,
    Query(query): Query<ProposalQuery>,
    Query(params): Query<ListParams>,
) -> Result<Markup, PageError> {
    let lang = user.lang;
    let (q, p) = (query.clone(), params.clone());
    let listed = user
        .hq_read(&state, move |store| {
            regrade::page(store.conn(), store.policy(), Utc::now(), &q, &p)
        })
        .await?;
    let view = ListView::new("/hq/regrades", query.pairs(), &params, lang);
    let proposals = &listed.rows;
    let h = Some(&listed);
    Ok(page(
        &user,
        &here,
        lang.t("分级调整", "Re-grades"),
        html! {
            h1 { (lang.t("年度分级调整（待总经理批准）", "Yearly re-grade proposals (for the general manager)")) }
            (flash(flash_msg.done.as_deref()))
            p .muted { (lang.t("依据上年销售额与评分的强制分布计算；批准后写入客户档案并同步到所有设备。",
                "Computed from last year's sales and the forced distribution of scores; an approval is written into the customer's file and synced to every device.")) }
            form .search #regrade-search method="get" action="/hq/regrades" {
                input type="search" name="q" id="search" value=(view.filter("q")) placeholder=(lang.t("客户名称或编号", "Customer name or id"));
                (list::select("proposed", view.filter("proposed"), lang.t("全部建议级别", "Any proposed tier"),
                    &list::tier_choices(lang)))
                (view.kept_fields())
                button type="submit" { (lang.t("筛选", "Filter")) }
            }
            div .list-bar { (view.pager(&listed)) (view.exports()) }
            table #regrades {
                tr { (view.header(h, "name", "客户", "Customer")) (view.header(h, "tier", "现级别", "Tier now")) (view.header(h, "proposed", "建议级别", "Proposed tier")) (view.header(h, "grade", "现等级", "Grade now")) (view.header(h, "proposed_grade", "建议等级", "Proposed grade")) (view.header(h, "score", "评分", "Score")) th { (lang.t("理由", "Why")) } th {} }
                @for p in proposals {
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
                                label .bulk-pick { input type="checkbox" name="customer" value=(id) form="bulk-approve"; " " (lang.t("选中", "Pick")) }
                                form .decide method="post" action={ "/hq/regrades/" (url_encode(id)) "/approve" } {
                                    (csrf_field(&user))
                                    label .confirm { input type="checkbox" name="confirm" value="yes"; " " (lang.t("确认", "Confirm")) }
                                    button .approve type="submit" { (lang.t("批准", "Approve")) }
                                    button .reject type="submit" formaction={ "/hq/regrades/" (url_encode(id)) "/reject" } { (lang.t("驳回", "Reject")) }
                                }
                            }
                        }
                    }
                }
            }
            (view.pager_below(&listed))
            @if user.may_decide() && !proposals.is_empty() {
                (bulk_form(&user, proposals))
            }
        },
    ))
}

/// `GET /hq/regrades.csv` and `.xlsx`: every proposal the list shows under its filters and
/// sort, with its reasons in words.
pub async fn regrades_file(
    State(state): State<AppState>,
    user: WebUser,
    uri: Uri,
    Query(query): Query<ProposalQuery>,
    Query(params): Query<ListParams>,
) -> Result<Response, PageError> {
    let title = user.lang.t("年度分级调整建议", "Yearly re-grade proposals");
    let filters = query.pairs();
    let kind = (ListKind::Regrades, title);
    super::list_file::send_list(&state, &user, &uri, kind, &filters, move |store, lang, now| {
        let rows = regrade::sorted(store.conn(), store.policy(), now, &query, &params)?;
        Ok(rows.iter().map(|p| proposal_cells(lang, p)).collect())
    })
    .await
}

fn proposal_cells(lang: Lang, p: &regrade::ProposalLine) -> Vec<ListCell> {
    let text = |s: &str| ListCell::Text(s.to_owned());
    let proposal = &p.proposal;
    let reasons: Vec<String> = proposal.reasons.iter().map(|r| lang.regrade_reason(r)).collect();
    vec![
        text(proposal.customer_id.as_str()),
        text(&p.name),
        ListCell::Text(lang.label(proposal.current_tier.as_str())),
        ListCell::Text(lang.label(proposal.proposed_tier.as_str())),
        text(proposal.current_grade.map(|g| g.as_str()).unwrap_or("")),
        text(proposal.proposed_grade.as_str()),
        ListCell::Text(proposal.score.to_string()),
        ListCell::Text(reasons.join("；")),
    ]
}

/// The form that approves the proposals ticked in the table (their boxes belong to it through
/// their `form` attribute), or every proposal shown.
fn bulk_form(user: &WebUser, proposals: &[regrade::ProposalLine]) -> Markup {
    let lang = user.lang;
    html! {
        form #bulk-approve method="post" action="/hq/regrades/bulk" {
            (csrf_field(user))
            @for p in proposals { input type="hidden" name="shown" value=(p.proposal.customer_id.as_str()); }
            label { input type="checkbox" name="all" value="yes"; " " (lang.t("全部（本页所列 ", "All (the ")) (proposals.len()) (lang.t(" 项）", " shown)")) } " "
            label .confirm { input type="checkbox" name="confirm" value="yes"; " " (lang.t("确认批准所选的分级调整", "Confirm: approve the re-grades picked")) } " "
            button .approve-bulk type="submit" { (lang.t("批量批准", "Approve the picked")) }
        }
    }
}

/// `POST /hq/regrades/{id}/{approve|reject}`.
pub async fn decide_regrade(
    State(state): State<AppState>,
    user: WebUser,
    Path((id, action)): Path<(String, String)>,
    Form(form): Form<ConfirmForm>,
) -> Result<Response, PageError> {
    user.check_csrf(&form.csrf)?;
    let lang = user.lang;
    form.confirmed(lang, "decide the re-grade")?;
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

/// The re-grades page's routes beyond the one-at-a-time decision (in `web::routes`).
pub fn routes() -> axum::Router<AppState> {
    axum::Router::new().route("/hq/regrades/bulk", axum::routing::post(approve_bulk))
}

/// `POST /hq/regrades/bulk`: approves the proposals picked (`customer`, repeated), or every
/// proposal the page showed (`all` with the page's `shown` list), after the confirmation.
pub async fn approve_bulk(
    State(state): State<AppState>,
    user: WebUser,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let lang = user.lang;
    let value = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let values = |name: &str| -> Vec<String> {
        fields.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect()
    };
    if !user.may_decide() {
        return Err(user.refuse(super::error::Refusal::Role));
    }
    user.check_csrf(value("csrf").unwrap_or(""))?;
    super::forms::confirmed(value("confirm"), lang, "approve the re-grades picked")?;
    let picked = if value("all") == Some("yes") { values("shown") } else { values("customer") };
    if picked.is_empty() {
        let reason = "pick at least one proposal".to_owned();
        return Err(PageError::Server(ServerError::Invalid { field: "customer", reason }, lang));
    }
    let outcomes =
        decisions::decide_regrades(&state, user.decider(), &picked, Decision::Approve).await;
    let approved = outcomes.iter().filter(|(_, o)| o.is_ok()).count();
    let failed: Vec<&str> =
        outcomes.iter().filter(|(_, o)| o.is_err()).map(|(id, _)| id.as_str()).collect();
    let mut message =
        format!("{}{approved}{}", lang.t("已批准 ", "Approved "), lang.t(" 项。", "."));
    if !failed.is_empty() {
        message.push_str(lang.t(
            " 未能批准（已决定或已不再建议）：",
            " Not approved (decided meanwhile or no longer proposed): ",
        ));
        message.push_str(&failed.join(", "));
    }
    Ok(Redirect::to(&format!("/hq/regrades?done={}", url_encode(&message))).into_response())
}

#[cfg(test)]
#[path = "regrades_tests.rs"]
mod tests;

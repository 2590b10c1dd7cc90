//! `/hq/scorecards`: staff scorecards (绩效考核, RULES.md §10) by period — each person's total
//! and lines — and one scorecard's lines with how each figure was computed, its ratings, and
//! headquarters' forms (target, rating, publish with a confirmation).

use axum::extract::{Path, Query, State};
use axum::http::Uri;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use kam_core::model::RaterKind;
use kam_core::rules::ScoreMeasure;
use maud::{Markup, html};
use rust_decimal::Decimal;
use serde::Deserialize;

use super::error::{InLang, PageError};
use super::forms::Flash;
use super::forms::{confirmed, recorded};
use super::i18n::Lang;
use super::layout::{Here, csrf_field, flash, money, page, url_encode};
use super::list::ListView;
use super::session::WebUser;
use crate::db::ManagementQueries;
use crate::error::ServerError;
use crate::hq::listing::ListParams;
use crate::hq::scorecard_list::{self, ScorecardQuery};
use crate::hq::scorecards;
use crate::http::AppState;
use crate::reports::export::{ListCell, ListKind};

/// The pages' routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/hq/scorecards", get(scorecards_page))
        .route("/hq/scorecards.csv", get(scorecards_file))
        .route("/hq/scorecards.xlsx", get(scorecards_file))
        .route("/hq/scorecards/{id}", get(scorecard_page))
        .route("/hq/scorecards/{id}/{action}", post(act))
}

/// The label of a measure code.
pub(crate) fn measure_label(lang: Lang, code: &str) -> String {
    match ScoreMeasure::ALL.iter().find(|m| m.as_str() == code) {
        Some(m) if lang == Lang::Zh => m.label_zh().to_owned(),
        Some(m) => m.label_en().to_owned(),
        None => code.to_owned(),
    }
}

fn rater_label(lang: Lang, code: &str) -> &'static str {
    match code {
        "supervisor" => lang.t("上级", "Supervisor"),
        "peer" => lang.t("同事", "Peer"),
        "customer" => lang.t("客户", "Customer"),
        _ => lang.t("未知", "Unknown"),
    }
}

/// `GET /hq/scorecards`.
pub async fn scorecards_page(
    State(state): State<AppState>,
    user: WebUser,
    here: Here,
    Query(flash_msg): Query<Flash>,
    Query(query): Query<ScorecardQuery>,
    Query(params): Query<ListParams>,
) -> Result<Markup, PageError> {
    let lang = user.lang;
    let view = ListView::new("/hq/scorecards", query.pairs(), &params, lang);
    let (periods, cards) = user
        .hq_read(&state, move |store| {
            let db: &dyn ManagementQueries = store.conn();
            let periods = db.scorecard_periods()?;
            Ok((periods, scorecard_list::page(store.conn(), &query, &params)?))
        })
        .await?;
    let h = Some(&cards);
    let periods: Vec<(String, String)> = periods.into_iter().map(|p| (p.clone(), p)).collect();
    Ok(page(
        &user,
        &here,
        lang.t("绩效考核", "Scorecards"),
        html! {
            h1 { (lang.t("绩效考核", "Staff scorecards")) }
            (flash(flash_msg.done.as_deref()))
            form .search #period-filter method="get" action="/hq/scorecards" {
                input type="search" name="q" id="search" value=(view.filter("q"))
                    placeholder=(lang.t("人员姓名或编号", "Person's name or id"));
                (super::list::select("period", view.filter("period"), lang.t("全部期间", "All periods"), &periods))
                (view.kept_fields())
                button type="submit" { (lang.t("筛选", "Filter")) }
                " " a href="/hq/scorecards" { (lang.t("清除", "Clear")) }
            }
            div .list-bar { (view.pager(&cards)) (view.exports()) }
            table #scorecards {
                tr { (view.header(h, "period", "期间", "Period")) (view.header(h, "person", "人员", "Person")) (view.header(h, "target", "销售目标", "Sales target")) (view.header(h, "total", "总分", "Total"))
                     @for m in ScoreMeasure::ALL { th { (measure_label(lang, m.as_str())) } } }
                @for line in &cards.rows {
                    @let c = &line.card;
                    tr data-scorecard-id=(c.scorecard_id) {
                        td { (c.period) } td { a href={ "/hq/scorecards/" (url_encode(&c.scorecard_id)) } { (line.person_name) } }
                        td .num { (money(&c.sales_target)) } td .num .total { (c.total.as_deref().unwrap_or("—")) }
                        @for m in ScoreMeasure::ALL {
                            td .num { (c.lines.iter().find(|l| l.measure == m.as_str()).map(|l| l.points.as_str()).unwrap_or("—")) }
                        }
                    }
                }
            }
            (view.pager_below(&cards))
            @if user.may_decide() {
                h2 { (lang.t("发布或新建考核", "Publish or start a scorecard")) }
                form #start-form method="post" action="/hq/scorecards/new/publish" {
                    (csrf_field(&user))
                    label { (lang.t("人员", "Person")) " " input name="person" required; }
                    label { (lang.t("期间（YYYY-MM 或 YYYY）", "Period (YYYY-MM or YYYY)")) " " input name="period" required; }
                    label { input type="checkbox" name="confirm" value="yes"; " " (lang.t("确认按系统记录计算并发布", "Confirm: compute from the records and publish")) }
                    button type="submit" { (lang.t("计算并发布", "Compute and publish")) }
                }
            }
        },
    ))
}

fn forms(user: &WebUser, id: &str) -> Markup {
    let lang = user.lang;
    let action = |a: &str| format!("/hq/scorecards/{}/{a}", url_encode(id));
    html! {
        form #target-form method="post" action=(action("target")) {
            (csrf_field(user))
            label { (lang.t("销售目标", "Sales target")) " " input name="target" required; }
            button type="submit" { (lang.t("设定目标", "Set target")) }
        }
        form #rating-form method="post" action=(action("rating")) {
            (csrf_field(user))
            label { (lang.t("评价人类别", "Rater")) " " select name="rater" { @for r in ["supervisor", "peer", "customer"] { option value=(r) { (rater_label(lang, r)) } } } }
            label { (lang.t("分数（0–100）", "Score (0–100)")) " " input name="score" required; }
            label { (lang.t("说明", "Note")) " " input name="note"; }
            button type="submit" { (lang.t("添加评价", "Add rating")) }
        }
        form #publish-form method="post" action=(action("publish")) {
            (csrf_field(user))
            label { input type="checkbox" name="confirm" value="yes"; " " (lang.t("确认按系统记录重新计算并发布", "Confirm: recompute from the records and publish")) }
            button type="submit" { (lang.t("计算并发布", "Compute and publish")) }
        }
    }
}

/// `GET /hq/scorecards.csv` and `.xlsx`: every scorecard the list shows under its filters
/// and sort, people by name.
pub async fn scorecards_file(
    State(state): State<AppState>,
    user: WebUser,
    uri: Uri,
    Query(query): Query<ScorecardQuery>,
    Query(params): Query<ListParams>,
) -> Result<Response, PageError> {
    let title = user.lang.t("员工绩效考核表", "Staff scorecards");
    let filters = query.pairs();
    let kind = (ListKind::Scorecards, title);
    super::list_file::send_list(&state, &user, &uri, kind, &filters, move |store, _, _| {
        let rows = scorecard_list::sorted(store.conn(), &query, &params)?;
        Ok(rows.iter().map(scorecard_cells).collect())
    })
    .await
}

fn scorecard_cells(line: &scorecard_list::ScorecardLine) -> Vec<ListCell> {
    let c = &line.card;
    let number = |text: Option<&str>| ListCell::Money(text.and_then(|t| t.parse().ok()));
    let mut cells = vec![
        ListCell::Text(c.period.clone()),
        ListCell::Text(line.person_name.clone()),
        number(Some(&c.sales_target)),
        number(c.total.as_deref()),
    ];
    cells.extend(ScoreMeasure::ALL.iter().map(|m| {
        number(c.lines.iter().find(|l| l.measure == m.as_str()).map(|l| l.points.as_str()))
    }));
    cells
}

/// `GET /hq/scorecards/{id}`.
pub async fn scorecard_page(
    State(state): State<AppState>,
    user: WebUser,
    here: Here,
    Path(id): Path<String>,
    Query(flash_msg): Query<Flash>,
) -> Result<Markup, PageError> {
    let lang = user.lang;
    let key = id.clone();
    let detail = user
        .hq_read(&state, move |store| {
            let db: &dyn ManagementQueries = store.conn();
            db.scorecard(&key)?.ok_or(ServerError::NotFound)
        })
        .await?;
    let c = &detail.card;
    Ok(page(
        &user,
        &here,
        lang.t("绩效考核", "Scorecard"),
        html! {
            h1 { (c.person) " · " (c.period) }
            (flash(flash_msg.done.as_deref()))
            p #target { (lang.t("销售目标", "Sales target")) ": " (money(&c.sales_target)) }
            p #total { (lang.t("总分", "Total")) ": " (c.total.as_deref().unwrap_or("—"))
                @if let Some(at) = &c.computed_at { " (" (lang.t("计算于", "computed")) " " (user.clock.local(at)) ")" } }
            table #lines {
                tr { th { (lang.t("指标", "Measure")) } th { (lang.t("达成率", "Attainment")) } th { (lang.t("权重%", "Weight %")) } th { (lang.t("得分", "Points")) } th { (lang.t("计算依据", "How computed")) } }
                @for l in &c.lines {
                    tr data-measure=(l.measure) { td { (measure_label(lang, &l.measure)) } td .num { (l.attainment) } td .num { (l.weight_pct) } td .num { (l.points) } td .basis { (l.basis) } }
                }
            }
            h2 { (lang.t("评价", "Ratings")) }
            table #ratings {
                tr { th { (lang.t("类别", "Rater")) } th { (lang.t("录入人", "Entered by")) } th { (lang.t("分数", "Score")) } th { (lang.t("时间", "When")) } th { (lang.t("说明", "Note")) } }
                @for r in &detail.ratings { tr { td { (rater_label(lang, &r.rater)) } td { (r.by_user) } td .num { (r.score) } td { (user.clock.local(&r.at)) } td { (r.note) } } }
            }
            @if user.may_decide() { (forms(&user, &c.scorecard_id)) }
        },
    ))
}

/// Every form of the scorecard pages.
#[derive(Debug, Default, Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    csrf: String,
    person: Option<String>,
    period: Option<String>,
    target: Option<String>,
    rater: Option<String>,
    score: Option<String>,
    note: Option<String>,
    confirm: Option<String>,
}

fn invalid(field: &'static str, reason: &str) -> ServerError {
    ServerError::Invalid { field, reason: reason.into() }
}

/// Splits a scorecard id `<user>-<period>` (period `YYYY-MM` or `YYYY`).
fn split_id(id: &str) -> Option<(String, String)> {
    for len in [7usize, 4] {
        let cut = id.len().checked_sub(len)?;
        let (person, period) = (id.get(..cut.checked_sub(1)?)?, id.get(cut..)?);
        if id.get(cut.checked_sub(1)?..cut) == Some("-")
            && kam_core::rules::period_bounds(period).is_ok()
            && !person.is_empty()
        {
            return Some((person.to_owned(), period.to_owned()));
        }
    }
    None
}

/// `POST /hq/scorecards/{id}/{target|rating|publish}`; `new/publish` takes the person and
/// period from the form.
pub async fn act(
    State(state): State<AppState>,
    user: WebUser,
    Path((id, kind)): Path<(String, String)>,
    Form(f): Form<ActionForm>,
) -> Result<Response, PageError> {
    user.check_csrf(&f.csrf)?;
    user.require_hq()?;
    let lang = user.lang;
    let text = |v: &Option<String>| v.as_deref().unwrap_or("").trim().to_owned();
    let (person, period) = if id == "new" {
        (text(&f.person), text(&f.period))
    } else {
        split_id(&id).ok_or(ServerError::NotFound).in_lang(lang)?
    };
    let by = user.decider();
    match kind.as_str() {
        "target" => {
            let target: Decimal = text(&f.target)
                .parse()
                .map_err(|_| invalid("target", "is not a number"))
                .in_lang(lang)?;
            scorecards::set_target(&state, person.clone(), period.clone(), target, by).await
        }
        "rating" => {
            let rater: RaterKind = text(&f.rater)
                .parse()
                .map_err(|_| invalid("rater", "is not a rater kind"))
                .in_lang(lang)?;
            let score: u8 = text(&f.score)
                .parse()
                .map_err(|_| invalid("score", "is not 0–100"))
                .in_lang(lang)?;
            scorecards::add_rating(
                &state,
                person.clone(),
                period.clone(),
                rater,
                score,
                text(&f.note),
                by,
            )
            .await
        }
        "publish" => {
            confirmed(f.confirm.as_deref(), lang, "publish the scorecard")?;
            scorecards::publish_scorecard(&state, person.clone(), period.clone(), by).await
        }
        _ => Err(ServerError::NotFound),
    }
    .in_lang(lang)?;
    let card = format!("{person}-{period}");
    Ok(recorded(lang, &format!("/hq/scorecards/{}", url_encode(&card))))
}

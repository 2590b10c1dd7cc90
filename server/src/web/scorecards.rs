//! `/hq/scorecards`: staff scorecards (绩效考核, RULES.md §10) by period — each person's total
//! and lines — and one scorecard's lines with how each figure was computed, its ratings, and
//! headquarters' forms (target, rating, publish with a confirmation).

use axum::extract::{Path, Query, State};
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
use super::layout::{Here, csrf_field, flash, money, page, url_encode, when};
use super::session::WebUser;
use crate::db::ManagementQueries;
use crate::error::ServerError;
use crate::hq::scorecards;
use crate::http::AppState;

/// The pages' routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/hq/scorecards", get(scorecards_page))
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

/// The list's filter.
#[derive(Debug, Default, Deserialize)]
pub struct PeriodQuery {
    period: Option<String>,
    done: Option<String>,
}

/// `GET /hq/scorecards`.
pub async fn scorecards_page(
    State(state): State<AppState>,
    user: WebUser,
    here: Here,
    Query(q): Query<PeriodQuery>,
) -> Result<Markup, PageError> {
    let lang = user.lang;
    let period = q.period.clone().filter(|p| !p.is_empty());
    let (periods, cards) = user
        .hq_read(&state, move |store| {
            let db: &dyn ManagementQueries = store.conn();
            Ok((db.scorecard_periods()?, db.scorecards(period.as_deref())?))
        })
        .await?;
    Ok(page(
        &user,
        &here,
        lang.t("绩效考核", "Scorecards"),
        html! {
            h1 { (lang.t("绩效考核", "Staff scorecards")) }
            (flash(q.done.as_deref()))
            form #period-filter method="get" action="/hq/scorecards" {
                label { (lang.t("期间", "Period")) " " select name="period" {
                    option value="" { (lang.t("全部", "All")) }
                    @for p in &periods { option value=(p) selected[q.period.as_deref() == Some(p.as_str())] { (p) } }
                } }
                button type="submit" { (lang.t("筛选", "Filter")) }
            }
            table #scorecards {
                tr { th { (lang.t("期间", "Period")) } th { (lang.t("人员", "Person")) } th { (lang.t("销售目标", "Sales target")) } th { (lang.t("总分", "Total")) }
                     @for m in ScoreMeasure::ALL { th { (measure_label(lang, m.as_str())) } } }
                @for c in &cards {
                    tr data-scorecard-id=(c.scorecard_id) {
                        td { (c.period) } td { a href={ "/hq/scorecards/" (url_encode(&c.scorecard_id)) } { (c.person) } }
                        td .num { (money(&c.sales_target)) } td .num .total { (c.total.as_deref().unwrap_or("—")) }
                        @for m in ScoreMeasure::ALL {
                            td .num { (c.lines.iter().find(|l| l.measure == m.as_str()).map(|l| l.points.as_str()).unwrap_or("—")) }
                        }
                    }
                }
            }
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
                @if let Some(at) = &c.computed_at { " (" (lang.t("计算于", "computed")) " " (when(at)) ")" } }
            table #lines {
                tr { th { (lang.t("指标", "Measure")) } th { (lang.t("达成率", "Attainment")) } th { (lang.t("权重%", "Weight %")) } th { (lang.t("得分", "Points")) } th { (lang.t("计算依据", "How computed")) } }
                @for l in &c.lines {
                    tr data-measure=(l.measure) { td { (measure_label(lang, &l.measure)) } td .num { (l.attainment) } td .num { (l.weight_pct) } td .num { (l.points) } td .basis { (l.basis) } }
                }
            }
            h2 { (lang.t("评价", "Ratings")) }
            table #ratings {
                tr { th { (lang.t("类别", "Rater")) } th { (lang.t("录入人", "Entered by")) } th { (lang.t("分数", "Score")) } th { (lang.t("时间", "When")) } th { (lang.t("说明", "Note")) } }
                @for r in &detail.ratings { tr { td { (rater_label(lang, &r.rater)) } td { (r.by_user) } td .num { (r.score) } td { (when(&r.at)) } td { (r.note) } } }
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

//! The development pipeline (`/hq/pipeline`, one lead at `/hq/pipeline/{id}`) and the
//! satisfaction surveys (`/hq/surveys`).

use axum::extract::{Path, Query, State};
use axum::http::Uri;
use axum::response::Response;
use chrono::Utc;
use kam_core::model::LeadStage;
use kam_core::rules::{PipelineSummary, StageTotal};
use maud::{Markup, html};

use super::error::PageError;
use super::i18n::Lang;
use super::layout::{Here, money, page, url_encode};
use super::list::ListView;
use super::session::WebUser;
use crate::hq::listing::ListParams;
use crate::hq::pipeline::{self, LeadQuery};
use crate::hq::surveys::{self, SurveyFilter};
use crate::http::AppState;
use crate::reports::export::{ListCell, ListKind};

/// A stage code's label; an unknown code is shown as it is.
pub(crate) fn stage_label(lang: Lang, code: &str) -> String {
    match code.parse::<LeadStage>() {
        Ok(stage) => lang.t(stage.label_zh(), stage.label_en()).to_owned(),
        Err(_) => code.to_owned(),
    }
}

/// A percentage with one decimal (the rule rounds to one place), or a dash.
pub(crate) fn pct(value: Option<rust_decimal::Decimal>) -> String {
    value.map_or_else(
        || "—".to_owned(),
        |mut v| {
            v.rescale(1);
            format!("{v}%")
        },
    )
}

/// A rep's leads in open stages: their count and value (`None` beyond `Decimal`).
fn open_total(s: &PipelineSummary) -> (u32, Option<rust_decimal::Decimal>) {
    let count = s.open.values().fold(0u32, |n, t| n.saturating_add(t.count));
    let value = s
        .open
        .values()
        .try_fold(rust_decimal::Decimal::ZERO, |v, t| v.checked_add(t.expected_value));
    (count, value)
}

/// The totals table: one row per open stage, won, lost and the win rate.
fn summary_table(lang: Lang, s: &PipelineSummary) -> Markup {
    let row = |code: &str, t: &StageTotal| {
        html! { tr data-stage=(code) {
            td { a href={ "/hq/pipeline?stage=" (code) } { (stage_label(lang, code)) } }
            td .num .count { (t.count) } td .num .value { (money(&t.expected_value.to_string())) }
        } }
    };
    html! {
        table #stages {
            tr { th { (lang.t("阶段", "Stage")) } th { (lang.t("数量", "Leads")) } th { (lang.t("预计金额", "Expected value")) } }
            @for (stage, t) in &s.open { (row(stage.as_str(), t)) }
            (row("won", &s.won)) (row("lost", &s.lost))
        }
        p #win-rate { (lang.t("成功率（成功 ÷ (成功 + 失败)）：", "Win rate (won ÷ (won + lost)): ")) strong { (pct(s.win_rate_pct)) } }
    }
}

/// `GET /hq/pipeline`.
pub async fn pipeline_page(
    State(state): State<AppState>,
    user: WebUser,
    here: Here,
    Query(query): Query<LeadQuery>,
    Query(params): Query<ListParams>,
) -> Result<Markup, PageError> {
    let lang = user.lang;
    let filter = query.filter();
    let (q, p) = (query.clone(), params.clone());
    let view =
        user.hq_read(&state, move |store| pipeline::pipeline_page(store.conn(), &q, &p)).await?;
    let list = ListView::new("/hq/pipeline", query.pairs(), &params, lang);
    let h = Some(&view.leads);
    let name = |id: &str| view.rep_names.get(id).cloned().unwrap_or_else(|| id.to_owned());
    Ok(page(
        &user,
        &here,
        lang.t("客户开发", "Pipeline"),
        html! {
            h1 { (lang.t("客户开发进度", "Development pipeline")) }
            p .filters {
                a href="/hq/pipeline" { (lang.t("全部", "All")) } " | "
                @for stage in LeadStage::OPEN.iter().chain([LeadStage::Won, LeadStage::Lost].iter()) {
                    a href={ "/hq/pipeline?stage=" (stage.as_str()) } { (stage_label(lang, stage.as_str())) } " "
                }
                @if let Some(o) = &filter.owner { " | " (lang.t("客户经理：", "Rep: ")) strong { a href={ "/hq/reps/" (url_encode(o)) } { (name(o)) } } }
            }
            (summary_table(lang, &view.summary))
            h2 { (lang.t("按客户经理", "By rep")) }
            table #reps {
                tr { th { (lang.t("客户经理", "Rep")) } th { (lang.t("进行中", "Open")) } th { (lang.t("进行中金额", "Open value")) } th { (lang.t("成功", "Won")) } th { (lang.t("失败", "Lost")) } th { (lang.t("成功率", "Win rate")) } }
                @for r in &view.by_rep {
                    @let (open_count, open_value) = open_total(&r.summary);
                    tr data-owner=(r.owner) {
                        td { a href={ "/hq/pipeline?owner=" (url_encode(&r.owner)) } { (name(&r.owner)) } }
                        td .num { (open_count) } td .num { (open_value.map_or_else(|| "—".to_owned(), |v| money(&v.to_string()))) }
                        td .num { (r.summary.won.count) } td .num { (r.summary.lost.count) } td .num .win-rate { (pct(r.summary.win_rate_pct)) }
                    }
                }
            }
            h2 { (lang.t("线索", "Leads")) }
            (lead_search(&list, lang, &view.rep_names))
            div .list-bar { (list.pager(&view.leads)) (list.exports()) }
            table #leads {
                tr { (list.header(h, "title", "线索", "Lead")) (list.header(h, "customer", "客户", "Customer")) (list.header(h, "stage", "阶段", "Stage")) (list.header(h, "value", "预计金额", "Expected value")) th { (lang.t("大客户候选", "Key-account candidate")) } (list.header(h, "rep", "客户经理", "Rep")) (list.header(h, "changed", "阶段开始", "Stage since")) }
                @for l in &view.leads.rows {
                    tr data-lead-id=(l.lead_id) {
                        td { a href={ "/hq/pipeline/" (url_encode(&l.lead_id)) } { (l.title) } }
                        td { a href={ "/hq/customers/" (url_encode(&l.customer_id)) } { (if l.customer_name.is_empty() { &l.customer_id } else { &l.customer_name }) } }
                        td .stage { (stage_label(lang, &l.stage)) }
                        td .num { (money(&l.expected_value)) }
                        td { (if l.candidate { lang.t("是", "yes") } else { "" }) }
                        td { a .rep href={ "/hq/reps/" (url_encode(&l.owner)) } { (name(&l.owner)) } } td { (user.clock.local(&l.stage_changed_at)) }
                    }
                }
            }
            (list.pager_below(&view.leads))
        },
    ))
}

/// The lead list's search form: text, rep and stage.
fn lead_search(
    list: &ListView,
    lang: Lang,
    rep_names: &std::collections::BTreeMap<String, String>,
) -> Markup {
    let reps: Vec<(String, String)> =
        rep_names.iter().map(|(id, name)| (id.clone(), name.clone())).collect();
    let stages: Vec<(String, String)> = LeadStage::ALL
        .iter()
        .map(|s| (s.as_str().to_owned(), stage_label(lang, s.as_str())))
        .collect();
    html! {
        form .search #lead-search method="get" action="/hq/pipeline" {
            input type="search" name="q" id="search" value=(list.filter("q"))
                placeholder=(lang.t("线索、客户名称或编号", "Lead, customer or id"));
            (super::list::select("owner", list.filter("owner"), lang.t("全部客户经理", "All reps"), &reps))
            (super::list::select("stage", list.filter("stage"), lang.t("全部阶段", "All stages"), &stages))
            (list.kept_fields())
            button type="submit" { (lang.t("筛选", "Filter")) }
            " " a href="/hq/pipeline" { (lang.t("清除", "Clear")) }
        }
    }
}

/// `GET /hq/pipeline.csv` and `.xlsx`: every lead the list shows under its filters and sort.
pub async fn leads_file(
    State(state): State<AppState>,
    user: WebUser,
    uri: Uri,
    Query(query): Query<LeadQuery>,
    Query(params): Query<ListParams>,
) -> Result<Response, PageError> {
    let title = user.lang.t("客户开发线索", "Pipeline leads");
    let filters = query.pairs();
    let kind = (ListKind::Leads, title);
    super::list_file::send_list(&state, &user, &uri, kind, &filters, move |store, lang, _| {
        let policy = store.policy();
        let (leads, names) = pipeline::leads_sorted(store.conn(), &query, &params)?;
        Ok(leads.iter().map(|l| lead_cells(lang, policy, &names, l)).collect())
    })
    .await
}

fn lead_cells(
    lang: Lang,
    policy: &kam_core::Policy,
    names: &crate::hq::people::Names,
    l: &pipeline::LeadLine,
) -> Vec<ListCell> {
    let text = |s: &str| ListCell::Text(s.to_owned());
    vec![
        text(&l.lead_id),
        text(&l.title),
        text(if l.customer_name.is_empty() { &l.customer_id } else { &l.customer_name }),
        ListCell::Text(stage_label(lang, &l.stage)),
        ListCell::Money(l.expected_value.parse().ok()),
        text(if l.candidate { lang.t("是", "yes") } else { "" }),
        text(names.of(&l.owner)),
        ListCell::Text(super::layout::zoned(policy, &l.stage_changed_at)),
    ]
}

/// `GET /hq/pipeline/{id}`.
pub async fn lead_page(
    State(state): State<AppState>,
    user: WebUser,
    here: Here,
    Path(id): Path<String>,
) -> Result<Markup, PageError> {
    let lang = user.lang;
    let d = user.hq_read(&state, move |store| pipeline::lead(store.conn(), &id)).await?;
    let l = &d.lead;
    Ok(page(
        &user,
        &here,
        &l.title,
        html! {
            h1 { (l.title) }
            table #lead {
                tr { th { (lang.t("客户", "Customer")) } td { a href={ "/hq/customers/" (url_encode(&l.customer_id)) } { (if l.customer_name.is_empty() { &l.customer_id } else { &l.customer_name }) } } }
                tr { th { (lang.t("阶段", "Stage")) } td .stage { (stage_label(lang, &l.stage)) } }
                tr { th { (lang.t("预计金额", "Expected value")) } td .num { (money(&l.expected_value)) } }
                tr { th { (lang.t("客户经理", "Rep")) } td { (l.owner) } }
                tr { th { (lang.t("发现人 / 时间", "Identified by / at")) } td { (l.identified_by) " / " (user.clock.local(&l.identified_at)) } }
                tr { th { (lang.t("大客户候选", "Key-account candidate")) } td { (if l.candidate { lang.t("是", "yes") } else { lang.t("否", "no") }) } }
                @if let Some(reason) = &l.lost_reason { tr { th { (lang.t("失败原因", "Why lost")) } td .lost-reason { (reason) } } }
            }
            h2 { (lang.t("阶段变化", "Stage history")) }
            table #history {
                tr { th { (lang.t("时间", "When")) } th { (lang.t("从", "From")) } th { (lang.t("到", "To")) } th { (lang.t("操作人", "By")) } th { (lang.t("了解到的情况", "Learned")) } th { (lang.t("失败原因", "Why lost")) } }
                @for c in &d.history {
                    tr .change { td { (user.clock.local(&c.at)) } td { (stage_label(lang, &c.from_stage)) } td .to { (stage_label(lang, &c.to_stage)) } td { (c.by_user) } td { (c.learned) } td { (c.lost_reason.as_deref().unwrap_or("")) } }
                }
            }
        },
    ))
}

/// `GET /hq/surveys`.
pub async fn surveys_page(
    State(state): State<AppState>,
    user: WebUser,
    here: Here,
    Query(filter): Query<SurveyFilter>,
    Query(params): Query<ListParams>,
) -> Result<Markup, PageError> {
    let lang = user.lang;
    let (f, p) = (filter.clone(), params.clone());
    let view = user
        .hq_read(&state, move |store| {
            let today = store.policy().business_date(Utc::now());
            surveys::surveys_page(store.conn(), store.policy(), &f, today, &p)
        })
        .await?;
    let list = ListView::new("/hq/surveys", filter.pairs(), &params, lang);
    let h = Some(&view.customers);
    Ok(page(
        &user,
        &here,
        lang.t("满意度", "Surveys"),
        html! {
            h1 { (lang.t("客户满意度调查", "Satisfaction surveys")) }
            form .search #survey-search method="get" action="/hq/surveys" {
                input type="search" name="q" id="search" value=(list.filter("q"))
                    placeholder=(lang.t("客户名称或编号", "Customer name or id"));
                (super::list::select("tier", list.filter("tier"), lang.t("全部级别", "All tiers"), &super::list::tier_choices(lang)))
                (list.kept_fields())
                button type="submit" { (lang.t("筛选", "Filter")) }
                " " a href="/hq/surveys" { (lang.t("清除", "Clear")) }
            }
            div .list-bar { (list.pager(&view.customers)) (list.exports()) }
            table #survey-customers {
                tr { (list.header(h, "name", "客户", "Customer")) (list.header(h, "tier", "级别", "Tier")) (list.header(h, "surveys", "调查次数", "Surveys")) (list.header(h, "latest", "最近得分", "Latest score")) th { (lang.t("满意度系数", "Satisfaction factor")) } (list.header(h, "due", "下次定期调查", "Next periodic survey")) }
                @for c in &view.customers.rows {
                    tr data-customer-id=(c.customer_id) class=[c.due.overdue.then_some("overdue")] {
                        td { a href={ "/hq/customers/" (url_encode(&c.customer_id)) } { (c.name) } }
                        td { (lang.label(&c.tier)) } td .num { (c.surveys) }
                        td .num { @if let Some((score, at)) = &c.latest { (score) " (" (user.clock.local(at)) ")" } @else { "—" } }
                        td .num .factor { @if let Some(f) = &c.satisfaction { (f.score) " / " (f.surveys_counted) (lang.t(" 次", " surveys")) } @else { "—" } }
                        td .due { (c.due.due_on) @if c.due.overdue { " " span .overdue { (lang.t("已超期", "overdue")) } } }
                    }
                }
            }
            (list.pager_below(&view.customers))
            h2 { (lang.t("调查记录（本页客户）", "Surveys taken (the customers above)")) }
            table #surveys {
                tr { th { (lang.t("时间", "When")) } th { (lang.t("客户", "Customer")) } th { (lang.t("类型", "Kind")) } th { (lang.t("得分", "Score")) } th { (lang.t("客户经理评分", "Account manager")) } th { (lang.t("调查人", "Taken by")) } th { (lang.t("受访人", "Respondent")) } th { (lang.t("意见", "Comments")) } }
                @for s in &view.surveys {
                    tr data-survey-id=(s.survey_id) {
                        td { (user.clock.local(&s.taken_at)) } td { a href={ "/hq/customers/" (url_encode(&s.customer_id)) } { (s.customer_id) } }
                        td { (if s.kind == "after_service" { lang.t("服务回访", "After service") } else { lang.t("定期调查", "Periodic") }) }
                        td .num .score { (s.score) } td .num { (s.account_manager_score.map(|v| v.to_string()).unwrap_or_default()) }
                        td { (s.taken_by) } td { (s.respondent) } td { (s.comments) }
                    }
                }
            }
        },
    ))
}

/// `GET /hq/surveys.csv` and `.xlsx`: every surveyed customer the list shows under its
/// filters and sort.
pub async fn surveys_file(
    State(state): State<AppState>,
    user: WebUser,
    uri: Uri,
    Query(filter): Query<SurveyFilter>,
    Query(params): Query<ListParams>,
) -> Result<Response, PageError> {
    let title = user.lang.t("客户满意度调查", "Satisfaction surveys");
    let filters = filter.pairs();
    let kind = (ListKind::Surveys, title);
    super::list_file::send_list(&state, &user, &uri, kind, &filters, move |store, lang, now| {
        let policy = store.policy();
        let today = policy.business_date(now);
        let rows = surveys::surveyed_sorted(store.conn(), policy, &filter, today, &params)?;
        Ok(rows.iter().map(|c| survey_cells(lang, policy, c)).collect())
    })
    .await
}

fn survey_cells(
    lang: Lang,
    policy: &kam_core::Policy,
    c: &surveys::CustomerSurveys,
) -> Vec<ListCell> {
    let text = |s: &str| ListCell::Text(s.to_owned());
    let latest = c.latest.as_ref();
    vec![
        text(&c.customer_id),
        text(&c.name),
        ListCell::Text(lang.label(&c.tier)),
        ListCell::Count(c.surveys),
        ListCell::Text(latest.map(|(score, _)| score.to_string()).unwrap_or_default()),
        ListCell::Text(latest.map(|(_, at)| super::layout::zoned(policy, at)).unwrap_or_default()),
        ListCell::Text(c.satisfaction.as_ref().map(|f| f.score.to_string()).unwrap_or_default()),
        ListCell::Text(
            c.satisfaction.as_ref().map(|f| f.surveys_counted.to_string()).unwrap_or_default(),
        ),
        ListCell::Text(c.due.due_on.to_string()),
        text(if c.due.overdue { lang.t("是", "yes") } else { "" }),
    ]
}

/// The routes of the pipeline, plans and surveys pages.
pub fn routes() -> axum::Router<AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/hq/pipeline", get(pipeline_page))
        .route("/hq/pipeline.csv", get(leads_file))
        .route("/hq/pipeline.xlsx", get(leads_file))
        .route("/hq/plans.csv", get(super::plans::plans_file))
        .route("/hq/plans.xlsx", get(super::plans::plans_file))
        .route("/hq/surveys.csv", get(surveys_file))
        .route("/hq/surveys.xlsx", get(surveys_file))
        .route("/hq/pipeline/{id}", get(lead_page))
        .route("/hq/plans", get(super::plans::plans_page))
        .route("/hq/plans/{id}", get(super::plans::plan_page))
        .route("/hq/plans/{id}/approve", post(super::plans::approve))
        .route("/hq/plans/{id}/evaluate", post(super::plans::evaluate))
        .route("/hq/surveys", get(surveys_page))
}

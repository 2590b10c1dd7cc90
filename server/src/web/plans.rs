//! Account plans (`/hq/plans`, one plan at `/hq/plans/{id}`), and headquarters' two actions
//! on a plan: approving it (with a confirmation) and evaluating an ended quarter.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use kam_core::model::PlanFunction;
use maud::{Markup, html};
use serde::Deserialize;

use super::error::{InLang, PageError};
use super::forms::ConfirmForm;
use super::forms::Flash;
use super::i18n::Lang;
use super::layout::{Here, csrf_field, flash, money, page, url_encode};
use super::list::ListView;
use super::session::WebUser;
use crate::hq::decisions;
use crate::hq::listing::ListParams;
use crate::hq::plans::{self, GoalsLine, PlanQuery, PlanSummary, QuarterEvaluation};
use crate::http::AppState;
use crate::reports::export::{ListCell, ListKind};

/// A plan status code's label.
pub(crate) fn status_label(lang: Lang, code: &str) -> &str {
    match code {
        "draft" => lang.t("草稿（待审批）", "Draft"),
        "approved" => lang.t("已审批", "Approved"),
        "revised_since_approval" => lang.t("审批后已修改", "Revised since approval"),
        other => other,
    }
}

/// An owner function's label.
fn function_label(lang: Lang, f: PlanFunction) -> &'static str {
    let en = match f {
        PlanFunction::AccountManager => "Account manager",
        PlanFunction::Technical => "Technical contact",
        PlanFunction::Quality => "Quality engineer",
        PlanFunction::AfterSales => "After-sales",
        PlanFunction::ResidentRepresentative => "Resident representative",
    };
    lang.t(f.label_zh(), en)
}

fn missing(lang: Lang, p: &PlanSummary) -> Markup {
    html! { @for f in &p.missing_owners { span .missing-owner data-function=(f.as_str()) { (function_label(lang, *f)) } " " } }
}

/// `GET /hq/plans`.
pub async fn plans_page(
    State(state): State<AppState>,
    user: WebUser,
    here: Here,
    Query(query): Query<PlanQuery>,
    Query(params): Query<ListParams>,
) -> Result<Markup, PageError> {
    let lang = user.lang;
    let (q, p) = (query.clone(), params.clone());
    let (year, listed) = user
        .hq_read(&state, move |store| {
            let today = store.policy().business_date(Utc::now());
            let year = plans::year_asked(q.year.as_deref(), today)?;
            Ok((year, plans::plans_page(store.conn(), store.policy(), &q, today, &p)?))
        })
        .await?;
    let view = ListView::new("/hq/plans", query.pairs(), &params, lang);
    let h = Some(&listed);
    let list = &listed.rows;
    Ok(page(
        &user,
        &here,
        lang.t("客户计划", "Account plans"),
        html! {
            h1 { (lang.t("大客户管理计划", "Account plans")) @if let Some(y) = year { " " (y) } }
            p .filters {
                @if let Some(y) = year {
                    a href={ "/hq/plans?year=" (y.saturating_sub(1)) } { "← " (y.saturating_sub(1)) } " "
                    a href={ "/hq/plans?year=" (y.saturating_add(1)) } { (y.saturating_add(1)) " →" } " | "
                }
                a href="/hq/plans?year=all" { (lang.t("全部年份", "Every year")) }
            }
            (plan_search(&view, lang))
            div .list-bar { (view.pager(&listed)) (view.exports()) }
            table #plans {
                tr { (view.header(h, "customer", "客户", "Customer")) (view.header(h, "year", "年度", "Year")) (view.header(h, "status", "状态", "Status")) (view.header(h, "revision", "版本", "Revision")) th { (lang.t("年度销售目标", "Sales goal")) } th { (lang.t("缺少负责人", "Owners missing")) } (view.header(h, "due", "待评估季度", "Evaluations due")) }
                @for p in list {
                    tr data-plan-id=(p.plan.plan_id) data-status=(p.plan.status) {
                        td { a href={ "/hq/plans/" (url_encode(&p.plan.plan_id)) } { (if p.plan.customer_name.is_empty() { &p.plan.customer_id } else { &p.plan.customer_name }) } }
                        td { (p.plan.year) } td .status { (status_label(lang, &p.plan.status)) } td .num { (p.plan.revision) }
                        td .num { (money(&p.plan.year_goals.sales)) }
                        td { (missing(lang, p)) }
                        td { @for d in &p.evaluations_due { span class=(if d.overdue { "due overdue" } else { "due" }) { "Q" (d.quarter) @if d.overdue { (lang.t("（已超期）", " (overdue)")) } } " " } }
                    }
                }
            }
            (view.pager_below(&listed))
        },
    ))
}

/// The plan list's search form: text and status, within the year shown.
fn plan_search(view: &ListView, lang: Lang) -> Markup {
    let statuses: Vec<(String, String)> = plans::STATUS_CODES
        .iter()
        .map(|c| ((*c).to_owned(), status_label(lang, c).to_owned()))
        .collect();
    html! {
        form .search #plan-search method="get" action="/hq/plans" {
            input type="search" name="q" id="search" value=(view.filter("q"))
                placeholder=(lang.t("客户名称或编号", "Customer name or id"));
            (super::list::select("status", view.filter("status"), lang.t("全部状态", "Any status"), &statuses))
            @if !view.filter("year").is_empty() { input type="hidden" name="year" value=(view.filter("year")); }
            (view.kept_fields())
            button type="submit" { (lang.t("筛选", "Filter")) }
        }
    }
}

/// `GET /hq/plans.csv` and `.xlsx`: every plan the list shows under its filters and sort.
pub async fn plans_file(
    State(state): State<AppState>,
    user: WebUser,
    uri: Uri,
    Query(query): Query<PlanQuery>,
    Query(params): Query<ListParams>,
) -> Result<Response, PageError> {
    let title = user.lang.t("大客户管理计划", "Account plans");
    let filters = query.pairs();
    let kind = (ListKind::Plans, title);
    super::list_file::send_list(&state, &user, &uri, kind, &filters, move |store, lang, now| {
        let today = store.policy().business_date(now);
        let rows = plans::plans_sorted(store.conn(), store.policy(), &query, today, &params)?;
        Ok(rows.iter().map(|p| plan_cells(lang, p)).collect())
    })
    .await
}

fn plan_cells(lang: Lang, p: &PlanSummary) -> Vec<ListCell> {
    let text = |s: &str| ListCell::Text(s.to_owned());
    let plan = &p.plan;
    let missing: Vec<&str> = p.missing_owners.iter().map(|f| function_label(lang, *f)).collect();
    let due: Vec<String> = p
        .evaluations_due
        .iter()
        .map(|d| {
            format!(
                "Q{}{}",
                d.quarter,
                if d.overdue { lang.t("（已超期）", " (overdue)") } else { "" }
            )
        })
        .collect();
    vec![
        text(&plan.plan_id),
        text(if plan.customer_name.is_empty() { &plan.customer_id } else { &plan.customer_name }),
        ListCell::Text(plan.year.to_string()),
        text(status_label(lang, &plan.status)),
        ListCell::Text(plan.revision.to_string()),
        ListCell::Money(plan.year_goals.sales.parse().ok()),
        ListCell::Text(missing.join("、")),
        ListCell::Text(due.join(" ")),
    ]
}

fn goals_cells(g: Option<&GoalsLine>) -> Markup {
    match g {
        Some(g) => {
            html! { td .num { (money(&g.sales)) } td .num { (money(&g.profit)) } td .num { (g.satisfaction) } }
        }
        None => html! { td {} td {} td {} },
    }
}

/// `GET /hq/plans/{id}`.
pub async fn plan_page(
    State(state): State<AppState>,
    user: WebUser,
    here: Here,
    Path(id): Path<String>,
    Query(flash_msg): Query<Flash>,
) -> Result<Markup, PageError> {
    let lang = user.lang;
    let d = user
        .hq_read(&state, move |store| {
            let today = store.policy().business_date(Utc::now());
            plans::plan(store.conn(), store.policy(), &id, today)
        })
        .await?;
    let p = &d.summary.plan;
    let action = format!("/hq/plans/{}", url_encode(&p.plan_id));
    let name =
        if p.customer_name.is_empty() { p.customer_id.clone() } else { p.customer_name.clone() };
    Ok(page(
        &user,
        &here,
        &name,
        html! {
            h1 { (name) " " (p.year) (lang.t(" 年度计划", " account plan")) }
            (flash(flash_msg.done.as_deref()))
            table #plan {
                tr { th { (lang.t("状态", "Status")) } td .status data-status=(p.status) { (status_label(lang, &p.status)) " · " (lang.t("版本 ", "revision ")) (p.revision)
                    @if let (Some(by), Some(at)) = (&p.approved_by, &p.approved_at) { " · " (lang.t("审批：", "approved by ")) (by) " " (user.clock.local(at)) } } }
                tr { th { (lang.t("年度目标", "Year goals")) } td { (lang.t("销售 ", "Sales ")) (money(&p.year_goals.sales)) " · " (lang.t("利润贡献 ", "profit ")) (money(&p.year_goals.profit)) " · " (lang.t("满意度 ", "satisfaction ")) (p.year_goals.satisfaction) } }
                tr { th { (lang.t("销售策略", "Sales strategy")) } td .strategy { (p.sales_strategy) } }
                tr { th { (lang.t("服务计划", "Service plan")) } td .service-plan { (p.service_plan) } }
            }
            h2 { (lang.t("各职能负责人", "Owners per function")) }
            table #owners {
                @for (code, user_id) in &p.owners {
                    tr { th { (code.parse::<PlanFunction>().map(|f| function_label(lang, f)).unwrap_or(code)) } td { (user_id) } }
                }
                @for f in &d.summary.missing_owners { tr .missing { th { (function_label(lang, *f)) } td .missing-owner { (lang.t("未指定", "not named")) } } }
            }
            h2 { (lang.t("季度目标与评估", "Quarters: goals and evaluations")) }
            table #quarters {
                tr { th { (lang.t("季度", "Quarter")) } th { (lang.t("销售目标", "Sales goal")) } th { (lang.t("利润目标", "Profit goal")) } th { (lang.t("满意度目标", "Satisfaction goal")) }
                     th { (lang.t("实际销售", "Sales")) } th { (lang.t("实际利润贡献", "Profit")) } th { (lang.t("实际满意度", "Satisfaction")) } th { (lang.t("销售达成率", "Sales attained")) } th { (lang.t("调整措施", "Adjustment")) } }
                @for q in &d.quarters {
                    tr data-quarter=(q.quarter) {
                        td { "Q" (q.quarter) } (goals_cells(q.goals.as_ref()))
                        @if let Some(e) = &q.evaluation {
                            td .num { (money(&e.sales_actual)) } td .num { (money(&e.profit_actual)) } td .num { (e.satisfaction_actual.map(|s| s.to_string()).unwrap_or_else(|| "—".into())) }
                            td .num .attained { @if let Some(a) = &q.attainment { (super::pipeline::pct(a.sales_pct)) @if a.on_track { " ✓" } } }
                            td .adjustment { (e.adjustment) " (" (e.by_user) " " (user.clock.local(&e.at)) ")" }
                        } @else { td {} td {} td {} td {} td {} }
                    }
                }
            }
            @if user.may_decide() { (actions(&user, &d, &action)) }
        },
    ))
}

/// The approve and evaluate forms, for those who decide.
fn actions(user: &WebUser, d: &plans::PlanDetail, action: &str) -> Markup {
    let lang = user.lang;
    html! {
        h2 { (lang.t("总部操作", "Headquarters' actions")) }
        @match &d.approval_refused {
            None => form #approve method="post" action={ (action) "/approve" } {
                (csrf_field(user))
                label { input type="checkbox" name="confirm" value="yes"; " " (lang.t("确认审批本版本计划", "I approve this revision of the plan")) }
                " " button .approve type="submit" { (lang.t("审批", "Approve")) }
            },
            Some(why) => p .approval-refused { (lang.t("暂不能审批：", "Cannot be approved yet: ")) (why) },
        }
        @for due in &d.summary.evaluations_due {
            form .evaluate method="post" action={ (action) "/evaluate" } {
                (csrf_field(user))
                input type="hidden" name="quarter" value=(due.quarter);
                "Q" (due.quarter) " " (lang.t("调整措施：", "Adjustment: "))
                input type="text" name="adjustment" size="60";
                " " button type="submit" { (lang.t("评估（实际数据由系统计算）", "Evaluate (actuals from the server's data)")) }
            }
        }
    }
}

/// `POST /hq/plans/{id}/approve`.
pub async fn approve(
    State(state): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    Form(form): Form<ConfirmForm>,
) -> Result<Response, PageError> {
    user.check_csrf(&form.csrf)?;
    let lang = user.lang;
    form.confirmed(lang, "approve the plan")?;
    decisions::approve_plan(&state, user.decider(), id.clone()).await.in_lang(lang)?;
    let done =
        lang.t("计划已审批，并已同步到所有设备。", "Plan approved; every device receives it.");
    Ok(Redirect::to(&format!("/hq/plans/{}?done={}", url_encode(&id), url_encode(done)))
        .into_response())
}

/// The evaluate form.
#[derive(Debug, Deserialize)]
pub struct EvaluateForm {
    csrf: String,
    quarter: u8,
    #[serde(default)]
    adjustment: String,
}

/// `POST /hq/plans/{id}/evaluate`.
pub async fn evaluate(
    State(state): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    Form(form): Form<EvaluateForm>,
) -> Result<Response, PageError> {
    user.check_csrf(&form.csrf)?;
    let lang = user.lang;
    let evaluation = QuarterEvaluation { quarter: form.quarter, adjustment: form.adjustment };
    decisions::evaluate_plan_quarter(&state, user.decider(), id.clone(), evaluation)
        .await
        .in_lang(lang)?;
    let done = lang.t("季度评估已记录。", "Quarter evaluated.");
    Ok(Redirect::to(&format!("/hq/plans/{}?done={}", url_encode(&id), url_encode(done)))
        .into_response())
}

//! The reports page and its downloads: the monthly key-account report (附件一) and the
//! quarterly credit and sales analysis, as CSV and Excel, and as JSON for the API.

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, Months, Utc};
use maud::{Markup, html};
use serde::Deserialize;

use super::error::{InLang, PageError};
use super::i18n::Lang;
use super::layout::{Here, money, page};
use super::session::WebUser;
use crate::error::ServerError;
use crate::http::AppState;
use crate::reports::{self, MonthlyReport, QuarterlyReport, ReportLang, export};

/// Which period a report covers; each defaults to the last complete one.
#[derive(Debug, Default, Deserialize)]
pub struct Period {
    /// `YYYY-MM`.
    pub month: Option<String>,
    /// `YYYY-Qn`.
    pub quarter: Option<String>,
    /// A scorecard period, `YYYY-MM` or `YYYY` (all periods when absent).
    pub period: Option<String>,
}

fn report_lang(lang: Lang) -> ReportLang {
    match lang {
        Lang::Zh => ReportLang::Zh,
        Lang::En => ReportLang::En,
    }
}

/// The last complete month and quarter at the policy's business date.
fn defaults(policy: &kam_core::Policy) -> (String, String) {
    let today = policy.business_date(Utc::now());
    let last_month = today.checked_sub_months(Months::new(1)).unwrap_or(today);
    let quarter = (today.month0() / 3) as i32; // 0-based current quarter
    let (year, q) = if quarter == 0 { (today.year() - 1, 4) } else { (today.year(), quarter) };
    (format!("{:04}-{:02}", last_month.year(), last_month.month()), format!("{year:04}-Q{q}"))
}

/// The monthly report for `month` (or the last complete month).
pub(crate) async fn monthly(
    state: &AppState,
    month: Option<String>,
) -> Result<MonthlyReport, ServerError> {
    state
        .hq_read(move |store| {
            let month =
                month.filter(|m| !m.is_empty()).unwrap_or_else(|| defaults(store.policy()).0);
            reports::monthly_report(store.conn(), &month, store.policy(), Utc::now())
        })
        .await
}

/// The quarterly analysis for `quarter` (or the last complete quarter).
pub(crate) async fn quarterly(
    state: &AppState,
    quarter: Option<String>,
) -> Result<QuarterlyReport, ServerError> {
    state
        .hq_read(move |store| {
            let quarter =
                quarter.filter(|q| !q.is_empty()).unwrap_or_else(|| defaults(store.policy()).1);
            reports::quarterly_report(store.conn(), &quarter, store.policy(), Utc::now())
        })
        .await
}

/// `GET /hq/reports`.
pub async fn reports_page(
    State(state): State<AppState>,
    user: WebUser,
    here: Here,
    Query(period): Query<Period>,
) -> Result<Markup, PageError> {
    user.require_hq()?;
    let lang = user.lang;
    let report = monthly(&state, period.month).await.in_lang(lang)?;
    let quarter = match period.quarter.filter(|q| !q.is_empty()) {
        Some(q) => q,
        None => defaults(state.policy()).1,
    };
    let m = &report.month;
    Ok(page(
        &user,
        &here,
        lang.t("报表", "Reports"),
        html! {
            h1 { (lang.t("报表", "Reports")) }
            form method="get" action="/hq/reports" {
                label { (lang.t("月份", "Month")) " " input name="month" type="month" value=(m); }
                " " label { (lang.t("季度", "Quarter")) " " input name="quarter" value=(quarter) size="8"; }
                " " button type="submit" { (lang.t("查看", "Show")) }
            }
            h2 { (lang.t("附件一：公司战略客户和大客户业务状况分析报告表", "Attachment 1: strategic and key account status report")) " · " (m) }
            p {
                a #monthly-xlsx href={ "/hq/reports/monthly.xlsx?month=" (m) } download { "Excel (.xlsx)" } " · "
                a #monthly-csv href={ "/hq/reports/monthly.csv?month=" (m) } download { "CSV" }
            }
            table #monthly {
                tr { th { (lang.t("客户名称", "Customer")) } th { (lang.t("级别", "Tier")) } th { (lang.t("本月业务量", "This month")) } th { (lang.t("环比", "vs last month")) } th { (lang.t("同比", "vs last year")) } th { (lang.t("本年累计", "Year to date")) } th { (lang.t("新业务", "New business")) } th { (lang.t("质量/交货/服务问题", "Quality / delivery / service")) } th { (lang.t("严重抱怨", "Serious complaints")) } }
                @for r in &report.rows {
                    tr data-customer-id=(r.customer_id) {
                        td { (r.name) } td { (lang.label(r.tier.as_str())) }
                        td .num { (money(&r.volume.to_string())) }
                        td .num { (r.mom.pct.map(|p| format!("{p}%")).unwrap_or_else(|| "—".into())) }
                        td .num { (r.yoy.pct.map(|p| format!("{p}%")).unwrap_or_else(|| "—".into())) }
                        td .num { (money(&r.ytd.to_string())) }
                        td { (r.new_business) }
                        td .num { (r.quality_problems) " / " (r.delivery_problems) " / " (r.service_problems) }
                        td .num { (r.serious_complaints) }
                    }
                }
            }
            h3 #open-measures { (lang.t("以前月份例会未关闭的措施", "Open measures from earlier monthly reviews")) }
            ul { @for om in &report.open_measures { li data-entry-id=(om.entry_id) { (om.review_id) " · " (om.text) " · " (om.owner) " · " (om.due_on) } } }
            h2 { (lang.t("季度客户信用及销售分析", "Quarterly customer credit and sales analysis")) " · " (quarter) }
            p {
                a #quarterly-xlsx href={ "/hq/reports/quarterly.xlsx?quarter=" (quarter) } download { "Excel (.xlsx)" } " · "
                a #quarterly-csv href={ "/hq/reports/quarterly.csv?quarter=" (quarter) } download { "CSV" }
            }
            h2 { (lang.t("员工绩效考核", "Staff scorecards")) " · " (m) }
            p {
                a #scorecards-xlsx href={ "/hq/reports/scorecards.xlsx?period=" (m) } download { "Excel (.xlsx)" } " · "
                a #scorecards-csv href={ "/hq/reports/scorecards.csv?period=" (m) } download { "CSV" } " · "
                a href={ "/hq/scorecards?period=" (m) } { (lang.t("查看", "View")) }
            }
            h2 { (lang.t("大客户管理计划季度评估表", "Account plans: quarterly evaluation")) " · " (quarter) }
            p {
                a #plans-xlsx href={ "/hq/reports/plans.xlsx?quarter=" (quarter) } download { "Excel (.xlsx)" } " · "
                a #plans-csv href={ "/hq/reports/plans.csv?quarter=" (quarter) } download { "CSV" }
            }
        },
    ))
}

fn download(bytes: Vec<u8>, content_type: &'static str, filename: String) -> Response {
    let disposition = format!("attachment; filename=\"{filename}\"");
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response()
}

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const CSV: &str = "text/csv; charset=utf-8";

/// `GET /hq/reports/{monthly|quarterly}.{csv|xlsx}`.
pub async fn report_file(
    State(state): State<AppState>,
    user: WebUser,
    axum::extract::Path(file): axum::extract::Path<String>,
    Query(period): Query<Period>,
) -> Result<Response, PageError> {
    user.require_hq()?;
    let lang = user.lang;
    let fail = |e| PageError::Server(e, lang);
    let rl = report_lang(lang);
    Ok(match file.as_str() {
        "monthly.csv" | "monthly.xlsx" => {
            let r = monthly(&state, period.month).await.map_err(fail)?;
            let name = format!("key-accounts-{}", r.month);
            if file.ends_with("csv") {
                download(export::monthly_csv(&r, rl).into_bytes(), CSV, format!("{name}.csv"))
            } else {
                download(export::monthly_xlsx(&r, rl).map_err(fail)?, XLSX, format!("{name}.xlsx"))
            }
        }
        "quarterly.csv" | "quarterly.xlsx" => {
            let r = quarterly(&state, period.quarter).await.map_err(fail)?;
            let name = format!("credit-and-sales-{}", r.quarter);
            if file.ends_with("csv") {
                download(export::quarterly_csv(&r, rl).into_bytes(), CSV, format!("{name}.csv"))
            } else {
                download(
                    export::quarterly_xlsx(&r, rl).map_err(fail)?,
                    XLSX,
                    format!("{name}.xlsx"),
                )
            }
        }
        "scorecards.csv" | "scorecards.xlsx" => {
            let period = period.period.filter(|p| !p.is_empty());
            let key = period.clone();
            let rows = state
                .hq_read(move |store| {
                    let db: &dyn crate::db::ManagementQueries = store.conn();
                    Ok(db.scorecards(key.as_deref())?)
                })
                .await
                .map_err(fail)?;
            let name = format!("scorecards-{}", period.as_deref().unwrap_or("all"));
            let p = period.as_deref();
            if file.ends_with("csv") {
                download(
                    export::scorecards_csv(&rows, p, rl).into_bytes(),
                    CSV,
                    format!("{name}.csv"),
                )
            } else {
                download(
                    export::scorecards_xlsx(&rows, p, rl).map_err(fail)?,
                    XLSX,
                    format!("{name}.xlsx"),
                )
            }
        }
        "plans.csv" | "plans.xlsx" => {
            let r = plan_evaluation(&state, period.quarter).await.map_err(fail)?;
            let name = format!("plan-evaluation-{}-Q{}", r.year, r.quarter);
            if file.ends_with("csv") {
                let csv = export::plan_evaluation_csv(&r, rl).into_bytes();
                download(csv, CSV, format!("{name}.csv"))
            } else {
                let xlsx = export::plan_evaluation_xlsx(&r, rl).map_err(fail)?;
                download(xlsx, XLSX, format!("{name}.xlsx"))
            }
        }
        _ => return Err(fail(ServerError::NotFound)),
    })
}

/// The plans' evaluation table of `quarter` (`YYYY-Qn`, or the last complete quarter).
pub(crate) async fn plan_evaluation(
    state: &AppState,
    quarter: Option<String>,
) -> Result<reports::plan_evaluation::PlanEvaluationReport, ServerError> {
    state
        .hq_read(move |store| {
            let text =
                quarter.filter(|q| !q.is_empty()).unwrap_or_else(|| defaults(store.policy()).1);
            let q = reports::quarterly::parse_quarter(&text).ok_or_else(|| {
                ServerError::Invalid { field: "quarter", reason: "YYYY-Qn".into() }
            })?;
            reports::plan_evaluation::plan_evaluation_report(store.conn(), q.year, q.quarter)
        })
        .await
}

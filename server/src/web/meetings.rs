//! `/hq/meetings`: the strategic-account leadership group's monthly review (RULES.md §11) —
//! the months held, and one month's attendees, findings per customer, measures with owner and
//! due date, and the measures of earlier months still open (overdue first), with
//! headquarters' forms.

use axum::extract::{Path, Query, State};
use axum::http::Uri;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{NaiveDate, Utc};
use kam_core::model::FindingKind;
use maud::{Markup, html};
use serde::Deserialize;

use super::error::{InLang, PageError};
use super::forms::Flash;
use super::forms::{confirmed, date, recorded, text};
use super::i18n::Lang;
use super::layout::{Clock, Here, csrf_field, flash, page, url_encode};
use super::list::{ListView, select};
use super::list_file::send_list;
use super::session::WebUser;
use crate::error::ServerError;
use crate::hq::listing::ListParams;
use crate::hq::meetings::{self, MeasureLine, MonthQuery, ReviewAction};
use crate::http::AppState;
use crate::reports::export::{ListCell, ListKind};

const MEETINGS: &str = "/hq/meetings";

/// The pages' routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/hq/meetings", get(meetings_page))
        .route("/hq/meetings.csv", get(meetings_file))
        .route("/hq/meetings.xlsx", get(meetings_file))
        .route("/hq/meetings/{month}", get(meeting_page))
        .route("/hq/meetings/{month}/{action}", post(act))
}

/// The label of a finding kind code.
fn kind_label(lang: Lang, code: &str) -> String {
    match code.parse::<FindingKind>() {
        Ok(kind) if lang == Lang::Zh => kind.label_zh().to_owned(),
        _ => code.replace('_', " "),
    }
}

/// A table of measures; `with_month` shows the month each was decided.
pub(crate) fn measures_table(
    lang: Lang,
    clock: Clock,
    lines: &[MeasureLine],
    with_month: bool,
) -> Markup {
    html! {
        table .measures {
            tr {
                @if with_month { th { (lang.t("月份", "Month")) } }
                th { (lang.t("措施", "Measure")) } th { (lang.t("客户", "Customer")) } th { (lang.t("负责人", "Owner")) }
                th { (lang.t("期限", "Due")) } th { (lang.t("状态", "State")) }
            }
            @for l in lines {
                @let m = &l.measure;
                tr .overdue[l.overdue] data-entry-id=(m.entry_id) {
                    @if with_month { td { a href={ "/hq/meetings/" (m.review_id) } { (m.review_id) } } }
                    td { (m.text) } td { (m.customer_id.as_deref().unwrap_or("—")) } td { (m.owner) } td { (m.due_on) }
                    td {
                        @if let Some(at) = &m.closed_at { (lang.t("已关闭", "Closed")) " " (clock.local(at)) " — " (m.closing_note.as_deref().unwrap_or("")) }
                        @else if l.overdue { strong { (lang.t("已逾期", "Overdue")) } }
                        @else { (lang.t("进行中", "Open")) }
                    }
                }
            }
        }
    }
}

/// `GET /hq/meetings`: the months held, searched, filtered, sorted and paged.
pub async fn meetings_page(
    State(state): State<AppState>,
    user: WebUser,
    here: Here,
    Query(query): Query<MonthQuery>,
    Query(params): Query<ListParams>,
) -> Result<Markup, PageError> {
    let lang = user.lang;
    let view = ListView::new(MEETINGS, query.pairs(), &params, lang);
    let (months, this_month) = user
        .hq_read(&state, move |store| {
            let today = store.policy().business_date(Utc::now());
            let months =
                meetings::MONTHS.page(&params, || meetings::months(store.conn(), &query))?;
            Ok((months, kam_core::rules::month_of(today)))
        })
        .await?;
    let h = Some(&months);
    let open_choices = [
        ("yes".to_owned(), lang.t("有未关闭措施", "With open measures").to_owned()),
        ("no".to_owned(), lang.t("措施均已关闭", "All measures closed").to_owned()),
    ];
    Ok(page(
        &user,
        &here,
        lang.t("月度例会", "Monthly review"),
        html! {
            h1 { (lang.t("战略客户领导小组月度例会", "Strategic accounts: monthly leadership review")) }
            p { a href={ "/hq/meetings/" (this_month) } { (lang.t("本月例会", "This month's review")) " " (this_month) } }
            form .search #month-search method="get" action=(MEETINGS) {
                input type="search" name="q" id="search" value=(view.filter("q"))
                    placeholder=(lang.t("月份或出席人", "Month or attendee"));
                input type="text" name="year" id="filter-year" size="6" value=(view.filter("year"))
                    placeholder=(lang.t("年份", "Year"));
                (select("open", view.filter("open"), lang.t("全部月份", "Every month"), &open_choices))
                (view.kept_fields())
                button type="submit" { (lang.t("筛选", "Filter")) }
                " " a href=(MEETINGS) { (lang.t("清除", "Clear")) }
            }
            div .list-bar { (view.pager(&months)) (view.exports()) }
            table #months {
                tr { (view.header(h, "month", "月份", "Month")) (view.header(h, "held", "召开日期", "Held on")) th { (lang.t("出席", "Attendees")) } (view.header(h, "findings", "问题", "Findings")) (view.header(h, "open", "未关闭措施", "Open measures")) }
                @for m in &months.rows {
                    tr data-month=(m.review_id) {
                        td { a href={ "/hq/meetings/" (m.review_id) } { (m.review_id) } } td { (m.held_on) }
                        td { (m.attendees.join("、")) } td .num { (m.findings) } td .num { (m.open_measures) }
                    }
                }
            }
            (view.pager_below(&months))
        },
    ))
}

/// `GET /hq/meetings.csv` and `.xlsx`: the months the list shows.
pub async fn meetings_file(
    State(state): State<AppState>,
    user: WebUser,
    uri: Uri,
    Query(query): Query<MonthQuery>,
    Query(params): Query<ListParams>,
) -> Result<Response, PageError> {
    let title = user.lang.t("月度例会", "Monthly reviews");
    let filters = query.pairs();
    send_list(&state, &user, &uri, (ListKind::Meetings, title), &filters, move |store, _, _| {
        let rows = meetings::MONTHS.sorted(&params, || meetings::months(store.conn(), &query))?;
        let count = |n: u64| ListCell::Count(usize::try_from(n).unwrap_or(usize::MAX));
        Ok(rows
            .into_iter()
            .map(|m| {
                vec![
                    ListCell::Text(m.review_id),
                    ListCell::Text(m.held_on),
                    ListCell::Text(m.attendees.join("、")),
                    count(m.findings),
                    count(m.open_measures),
                ]
            })
            .collect())
    })
    .await
}

fn forms(user: &WebUser, month: &str, created: bool, open: &[MeasureLine]) -> Markup {
    let lang = user.lang;
    let action = |a: &str| format!("/hq/meetings/{month}/{a}");
    html! {
        @if !created {
            form #hold-form method="post" action=(action("hold")) {
                (csrf_field(user))
                label { (lang.t("召开日期", "Held on")) " " input type="date" name="held_on" required; }
                button type="submit" { (lang.t("创建本月例会", "Create the month's review")) }
            }
        } @else {
            form #attendee-form method="post" action=(action("attendees")) {
                (csrf_field(user))
                label { (lang.t("用户", "User id")) " " input name="user_id" required; }
                label { (lang.t("姓名", "Name")) " " input name="name" required; }
                button type="submit" { (lang.t("添加出席人", "Add attendee")) }
            }
            form #finding-form method="post" action=(action("findings")) {
                (csrf_field(user))
                label { (lang.t("客户", "Customer id")) " " input name="customer_id" required; }
                label { (lang.t("类别", "Kind")) " " select name="kind" { @for k in FindingKind::ALL { option value=(k.as_str()) { (kind_label(lang, k.as_str())) } } } }
                label { (lang.t("内容", "Text")) " " input name="text" required; }
                button type="submit" { (lang.t("记录问题", "Record finding")) }
            }
            form #measure-form method="post" action=(action("measures")) {
                (csrf_field(user))
                label { (lang.t("措施", "Measure")) " " input name="text" required; }
                label { (lang.t("客户（可选）", "Customer (optional)")) " " input name="customer_id"; }
                label { (lang.t("负责人", "Owner")) " " input name="owner" required; }
                label { (lang.t("期限", "Due")) " " input type="date" name="due_on" required; }
                button type="submit" { (lang.t("添加措施", "Add measure")) }
            }
        }
        @if !open.is_empty() && created {
            form #close-form method="post" action=(action("close")) {
                (csrf_field(user))
                label { (lang.t("措施", "Measure")) " " select name="measure_id" { @for l in open { option value=(l.measure.entry_id) { (l.measure.text) } } } }
                label { (lang.t("完成情况", "What was done")) " " input name="note" required; }
                label { input type="checkbox" name="confirm" value="yes"; " " (lang.t("确认关闭", "Confirm closing")) }
                button type="submit" { (lang.t("关闭措施", "Close measure")) }
            }
        }
    }
}

/// `GET /hq/meetings/{YYYY-MM}`.
pub async fn meeting_page(
    State(state): State<AppState>,
    user: WebUser,
    here: Here,
    Path(month): Path<String>,
    Query(flash_msg): Query<Flash>,
) -> Result<Markup, PageError> {
    let lang = user.lang;
    let key = month.clone();
    let view = user
        .hq_read(&state, move |store| {
            meetings::meeting(store.conn(), store.policy(), Utc::now(), &key)
        })
        .await?;
    let open_here: Vec<MeasureLine> =
        view.measures.iter().filter(|l| l.measure.closed_at.is_none()).cloned().collect();
    Ok(page(
        &user,
        &here,
        lang.t("月度例会", "Monthly review"),
        html! {
            h1 { (lang.t("月度例会", "Monthly review")) " " (view.month) }
            (flash(flash_msg.done.as_deref()))
            @if let Some(r) = &view.review {
                p #held { (lang.t("召开日期", "Held on")) ": " (r.review.held_on) }
                p #attendees { (lang.t("出席", "Attendees")) ": " (r.review.attendees.join("、")) }
                h2 { (lang.t("问题（按客户）", "Findings by customer")) }
                table #findings {
                    tr { th { (lang.t("客户", "Customer")) } th { (lang.t("类别", "Kind")) } th { (lang.t("内容", "Finding")) } }
                    @for f in &r.findings_list { tr { td { a href={ "/hq/customers/" (url_encode(&f.customer_id)) } { (f.customer_id) } } td { (kind_label(lang, &f.kind)) } td { (f.text) } } }
                }
                h2 { (lang.t("本月措施", "Measures decided")) }
                (measures_table(lang, user.clock, &view.measures, false))
            } @else {
                p .muted { (lang.t("本月例会尚未创建。", "The month's review has not been created.")) }
            }
            h2 #open-before { (lang.t("以前月份未关闭的措施（逾期优先）", "Open measures from earlier months (overdue first)")) }
            (measures_table(lang, user.clock, &view.open_before, true))
            @if user.may_decide() {
                (forms(&user, &view.month, view.review.is_some(), &open_here))
            }
        },
    ))
}

/// Every form of the month's page.
#[derive(Debug, Default, Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    csrf: String,
    held_on: Option<String>,
    user_id: Option<String>,
    name: Option<String>,
    customer_id: Option<String>,
    kind: Option<String>,
    text: Option<String>,
    owner: Option<String>,
    due_on: Option<String>,
    measure_id: Option<String>,
    note: Option<String>,
    confirm: Option<String>,
}

fn day(value: &Option<String>, name: &'static str) -> Result<NaiveDate, ServerError> {
    date(value, name)
}

fn action_of(kind: &str, f: &ActionForm) -> Result<ReviewAction, ServerError> {
    Ok(match kind {
        "hold" => ReviewAction::Hold { held_on: day(&f.held_on, "held_on")? },
        "attendees" => ReviewAction::Attendee { user_id: text(&f.user_id), name: text(&f.name) },
        "findings" => ReviewAction::Finding {
            customer_id: text(&f.customer_id),
            kind: text(&f.kind).parse().map_err(|_| ServerError::Invalid {
                field: "kind",
                reason: "is not a finding kind".into(),
            })?,
            text: text(&f.text),
        },
        "measures" => ReviewAction::Measure {
            customer_id: Some(text(&f.customer_id)),
            text: text(&f.text),
            owner: text(&f.owner),
            due_on: day(&f.due_on, "due_on")?,
        },
        "close" => ReviewAction::Close { measure_id: text(&f.measure_id), note: text(&f.note) },
        _ => return Err(ServerError::NotFound),
    })
}

/// `POST /hq/meetings/{month}/{hold|attendees|findings|measures|close}`.
pub async fn act(
    State(state): State<AppState>,
    user: WebUser,
    Path((month, kind)): Path<(String, String)>,
    Form(form): Form<ActionForm>,
) -> Result<Response, PageError> {
    user.check_csrf(&form.csrf)?;
    user.require_hq()?;
    let lang = user.lang;
    let action = action_of(&kind, &form).in_lang(lang)?;
    if matches!(action, ReviewAction::Close { .. }) {
        confirmed(form.confirm.as_deref(), lang, "close the measure")?;
    }
    meetings::act(&state, user.decider(), month.clone(), action).await.in_lang(lang)?;
    Ok(recorded(lang, &format!("/hq/meetings/{}", url_encode(&month))))
}

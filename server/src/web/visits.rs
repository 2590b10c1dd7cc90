//! Visit compliance: who is behind on the visit cadence, today or in one month, for the whole
//! company or one rep (`?rep=<user id>&month=YYYY-MM`, the links of the charts).

use axum::extract::{Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use chrono::Utc;
use kam_core::model::VisitLevel;
use maud::{Markup, html};
use serde::Deserialize;

use super::error::PageError;
use super::i18n::Lang;
use super::layout::{Here, page, url_encode};
use super::list::ListView;
use super::session::WebUser;
use crate::db::sales::YearMonth;
use crate::error::ServerError;
use crate::hq::compliance::{self, Compliance, DueVisit, MonthCompliance, MonthLine};
use crate::hq::listing::{ListParams, Page};
use crate::hq::people::Names;
use crate::hq::visit_lists::{self, VisitListQuery};
use crate::http::AppState;
use crate::reports::export::{ListCell, ListKind};

/// The page's filters, as the request spelled them.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct VisitsQuery {
    /// A rep's user id: only the customers they own.
    pub rep: Option<String>,
    /// `YYYY-MM`: that month's cadence entries instead of today's.
    pub month: Option<String>,
}

impl VisitsQuery {
    /// The rep and month as query-string pairs.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let v = |o: &Option<String>| o.clone().unwrap_or_default();
        vec![("rep", v(&self.rep)), ("month", v(&self.month))]
    }
}

/// What the page shows.
enum View {
    Today(Compliance, Page<DueVisit>),
    Month(MonthCompliance, Page<MonthLine>),
}

/// `GET /hq/visits`.
pub async fn visits_page(
    State(state): State<AppState>,
    user: WebUser,
    here: Here,
    Query(q): Query<VisitsQuery>,
    Query(list_query): Query<VisitListQuery>,
    Query(params): Query<ListParams>,
) -> Result<(StatusCode, Markup), PageError> {
    let lang = user.lang;
    let mut pairs = q.pairs();
    pairs.extend(list_query.pairs());
    let list = ListView::new("/hq/visits", pairs, &params, lang);
    let rep = q.rep.clone().filter(|r| !r.is_empty());
    let month_text = q.month.clone().filter(|m| !m.is_empty());
    let (view, names, problems) = user
        .hq_read(&state, move |store| {
            let now = Utc::now();
            let names = Names::load(store.conn())?;
            let mut problems = Vec::new();
            let rep = match rep {
                Some(r) if !names.knows(&r) => {
                    problems.push(Problem::UnknownRep(r));
                    None
                }
                other => other,
            };
            let (conn, at, list) = (store.conn(), (store.policy(), now), (&list_query, &params));
            let mut month = None;
            if let Some(text) = month_text {
                match YearMonth::parse(&text) {
                    None => problems.push(Problem::BadMonth(text)),
                    Some(m) => {
                        match visit_lists::month_page(conn, at, (m, rep.as_deref()), list)? {
                            None => problems.push(Problem::FutureMonth(text)),
                            Some(found) => month = Some(found),
                        }
                    }
                }
            }
            let view = match month {
                Some((m, page)) => View::Month(m, page),
                None => {
                    let (c, page) = visit_lists::compliance_page(conn, at, rep.as_deref(), list)?;
                    View::Today(c, page)
                }
            };
            Ok((view, names, (problems, rep)))
        })
        .await?;
    let (problems, rep) = problems;
    let status = if problems.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    let everyone = match &view {
        View::Month(m, _) => format!("/hq/visits?month={}", m.month),
        View::Today(..) => "/hq/visits".to_owned(),
    };
    let body = html! {
        @for p in &problems { p .error .bad-filter { (p.message(lang)) } }
        @if let Some(rep) = &rep {
            p #rep-filter { (lang.t("客户经理：", "Rep: ")) strong { (names.of(rep)) } " · " a href=(everyone) { (lang.t("查看全部", "Show everyone")) } }
        }
        @match &view {
            View::Today(c, overdue) => (today(lang, c, &names, (&list, overdue))),
            View::Month(m, lines) => (month(lang, m, &names, (rep.as_deref(), &list, lines))),
        }
    };
    Ok((status, page(&user, &here, lang.t("拜访达标", "Visit compliance"), body)))
}

/// A filter value the page cannot use, shown instead of silently ignored.
enum Problem {
    UnknownRep(String),
    BadMonth(String),
    FutureMonth(String),
}

impl Problem {
    fn message(&self, lang: Lang) -> String {
        match self {
            Problem::UnknownRep(r) => format!(
                "{}“{r}”{}",
                lang.t("没有用户", "There is no user "),
                lang.t("，显示全部客户经理。", "; showing every rep.")
            ),
            Problem::BadMonth(m) => format!(
                "{}“{m}”{}",
                lang.t("月份", "The month "),
                lang.t(
                    "无法识别（应为 YYYY-MM），显示今日情况。",
                    " is not a month (YYYY-MM); showing today."
                )
            ),
            Problem::FutureMonth(m) => format!(
                "{}“{m}”{}",
                lang.t("月份", "The month "),
                lang.t("尚未开始，显示今日情况。", " has not begun; showing today.")
            ),
        }
    }
}

fn today(
    lang: Lang,
    c: &Compliance,
    names: &Names,
    (list, overdue): (&ListView, &Page<DueVisit>),
) -> Markup {
    let o = Some(overdue);
    let head = html! { tr { th {} th { (lang.t("应拜访", "Required")) } th { (lang.t("超期", "Overdue")) } th { (lang.t("按期率", "On schedule")) } } };
    html! {
        h1 { (lang.t("拜访达标情况", "Visit compliance")) " · " (c.today) }
        p .muted { (lang.t("战略客户：高层每半年、客户经理每月、技术每半年、质量每季度；A级客户每季度。",
            "Strategic customers: leadership every half year, account manager monthly, technical every half year, quality quarterly; grade A customers quarterly.")) }
        p { a href="/hq/charts" { (lang.t("查看图表", "See the charts")) } }
        h2 { (lang.t("按客户经理", "By rep")) }
        table #visit-compliance {
            (head)
            @for (rep, n) in &c.by_rep { tr data-rep=(rep) { th { a href={ "/hq/visits?rep=" (url_encode(rep)) } { (names.of(rep)) } } td .num { (n.required) } td .num class=[(n.overdue > 0).then_some("overdue")] { (n.overdue) } td .num { (n.on_schedule_percent) "%" } } }
        }
        h2 { (lang.t("按拜访层级", "By level")) }
        table #visit-compliance-by-level {
            (head)
            @for (level, n) in &c.by_level { tr data-level=(level) { th { (lang.visit_level(level)) } td .num { (n.required) } td .num class=[(n.overdue > 0).then_some("overdue")] { (n.overdue) } td .num { (n.on_schedule_percent) "%" } } }
        }
        h2 { (lang.t("超期明细", "Overdue visits")) }
        (visit_search(list, lang, false))
        div .list-bar { (list.pager(overdue)) (list.exports()) }
        table #overdue-visits {
            tr { (list.header(o, "customer", "客户", "Customer")) (list.header(o, "level", "层级", "Level")) (list.header(o, "last", "上次拜访", "Last visit")) (list.header(o, "due", "应于", "Due on")) th { (lang.t("客户经理", "Reps")) } }
            @for v in &overdue.rows {
                tr { td { a href={ "/hq/customers/" (url_encode(&v.customer_id)) } { (v.customer_name) } } td { (lang.visit_level(&v.level)) }
                     td { (v.last_visit_on.map(|d| d.to_string()).unwrap_or_else(|| lang.t("从未", "never").to_owned())) }
                     td .overdue { (v.next_due_on) } td { (names.join(&v.owners)) } }
            }
        }
        (list.pager_below(overdue))
    }
}

/// A visit list's search form: text, level and (for a month) made or missed, for the rep and
/// month shown.
fn visit_search(list: &ListView, lang: Lang, in_month: bool) -> Markup {
    let states = [
        ("made".to_owned(), lang.t("已完成", "made").to_owned()),
        ("missed".to_owned(), lang.t("未完成", "missed").to_owned()),
    ];
    let levels: Vec<(String, String)> = VisitLevel::ALL
        .iter()
        .map(|l| (l.as_str().to_owned(), lang.visit_level(l.as_str()).to_owned()))
        .collect();
    html! {
        form .search #overdue-search method="get" action="/hq/visits" {
            input type="search" name="q" id="search" value=(list.filter("q"))
                placeholder=(lang.t("客户名称、编号或客户经理", "Customer name, id or rep"));
            (super::list::select("level", list.filter("level"), lang.t("全部层级", "All levels"), &levels))
            @if in_month { (super::list::select("made", list.filter("made"), lang.t("全部", "Made or missed"), &states)) }
            @for field in ["rep", "month"] {
                @if !list.filter(field).is_empty() { input type="hidden" name=(field) value=(list.filter(field)); }
            }
            (list.kept_fields())
            button type="submit" { (lang.t("筛选", "Filter")) }
        }
    }
}

/// `GET /hq/visits.csv` and `.xlsx`: every row the visit list shows under its filters and
/// sort — today's overdue visits, or with `month` that month's entries.
pub async fn visits_file(
    State(state): State<AppState>,
    user: WebUser,
    uri: Uri,
    Query(q): Query<VisitsQuery>,
    Query(query): Query<VisitListQuery>,
    Query(params): Query<ListParams>,
) -> Result<Response, PageError> {
    let mut filters = q.pairs();
    filters.extend(query.pairs());
    let month = q.month.as_deref().map(str::trim).filter(|m| !m.is_empty()).map(str::to_owned);
    let kind = match month {
        Some(_) => (ListKind::MonthVisits, user.lang.t("月度拜访", "A month's visits")),
        None => (ListKind::OverdueVisits, user.lang.t("超期拜访", "Overdue visits")),
    };
    super::list_file::send_list(&state, &user, &uri, kind, &filters, move |store, lang, now| {
        let (conn, at, list) = (store.conn(), (store.policy(), now), (&query, &params));
        let rep = compliance::rep_asked(conn, q.rep.as_deref())?;
        let names = Names::load(conn)?;
        let Some(text) = month else {
            let rows = visit_lists::overdue_sorted(conn, at, rep.as_deref(), list)?;
            return Ok(rows.iter().map(|v| overdue_cells(lang, &names, v)).collect());
        };
        let bad =
            |why: &str| ServerError::Invalid { field: "month", reason: format!("{text:?} {why}") };
        let m = YearMonth::parse(&text).ok_or_else(|| bad("is not YYYY-MM"))?;
        let rows = visit_lists::month_sorted(conn, at, (m, rep.as_deref()), list)?
            .ok_or_else(|| bad("has not begun"))?;
        Ok(rows.iter().map(|l| month_cells(lang, &names, l)).collect())
    })
    .await
}

fn month_cells(lang: Lang, names: &Names, l: &MonthLine) -> Vec<ListCell> {
    vec![
        ListCell::Text(l.customer_id.clone()),
        ListCell::Text(l.customer_name.clone()),
        ListCell::Text(lang.visit_level(l.entry.level.as_str()).to_owned()),
        ListCell::Text(l.entry.due_on.to_string()),
        ListCell::Text(l.entry.visited_on.map(|d| d.to_string()).unwrap_or_default()),
        ListCell::Text(names.join(&l.owners)),
    ]
}

fn overdue_cells(lang: Lang, names: &Names, v: &DueVisit) -> Vec<ListCell> {
    vec![
        ListCell::Text(v.customer_id.clone()),
        ListCell::Text(v.customer_name.clone()),
        ListCell::Text(lang.visit_level(&v.level).to_owned()),
        ListCell::Text(v.last_visit_on.map(|d| d.to_string()).unwrap_or_default()),
        ListCell::Text(v.next_due_on.to_string()),
        ListCell::Text(names.join(&v.owners)),
    ]
}

fn month(
    lang: Lang,
    m: &MonthCompliance,
    names: &Names,
    (rep, list, lines): (Option<&str>, &ListView, &Page<MonthLine>),
) -> Markup {
    let rep_query = rep.map(|r| format!("?rep={}", url_encode(r))).unwrap_or_default();
    let o = Some(lines);
    html! {
        h1 { (lang.t("拜访达标情况", "Visit compliance")) " · " (m.month) }
        p #month-summary {
            (lang.t("统计至", "Counted through ")) (m.last) (lang.t("：应拜访 ", ": due ")) strong { (m.due) }
            (lang.t("，按期完成 ", ", made ")) strong { (m.made) }
            (lang.t("，达标率 ", ", compliance ")) strong { (m.percent.as_deref().map_or_else(|| "—".to_owned(), |p| format!("{p}%"))) }
        }
        p .muted { (lang.t(
            "应拜访：月初时已到期或在统计截止日前到期的拜访项（含此前超期未补的）；按期完成：本月内有一次计入该项的拜访。",
            "Due: the cadence's entries due by the last day counted, as they stood at the month's start (including those still owed); made: a visit that counts for it within the month.")) }
        p { a href={ "/hq/visits" (rep_query) } { (lang.t("查看今日情况", "See today")) } " · " a href="/hq/charts" { (lang.t("查看图表", "See the charts")) } }
        (visit_search(list, lang, true))
        div .list-bar { (list.pager(lines)) (list.exports()) }
        table #month-visits {
            tr { (list.header(o, "customer", "客户", "Customer")) (list.header(o, "level", "层级", "Level")) (list.header(o, "due", "应于", "Due on")) (list.header(o, "visited", "拜访日期", "Visited on")) th { (lang.t("客户经理", "Reps")) } }
            @for l in &lines.rows {
                tr data-customer=(l.customer_id) {
                    td { a href={ "/hq/customers/" (url_encode(&l.customer_id)) } { (l.customer_name) } }
                    td { (lang.visit_level(l.entry.level.as_str())) }
                    td { (l.entry.due_on) }
                    @match l.entry.visited_on {
                        Some(day) => td { (day) },
                        None => td .overdue { (lang.t("未完成", "missed")) },
                    }
                    td { (names.join(&l.owners)) }
                }
            }
        }
        (list.pager_below(lines))
    }
}

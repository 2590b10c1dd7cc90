//! The overview, customers by tier and grade, and one customer's file.

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use kam_core::doc::{DocId, DocKind};
use maud::{Markup, html};

use super::error::{InLang, PageError};
use super::i18n::Lang;
use super::layout::{self, Here, money, page, url_encode};
use super::list::{self, ListView};
use super::session::WebUser;
use crate::hq::customers::{self, Choices, CustomerLine, CustomerQuery};
use crate::hq::listing::{ListParams, Page};
use crate::hq::overview;
use crate::http::AppState;
use crate::reports::export::{ListCell, ListKind};
use crate::store::Store;

/// `GET /hq`.
pub async fn overview_page(
    State(state): State<AppState>,
    user: WebUser,
    here: Here,
) -> Result<Markup, PageError> {
    let lang = user.lang;
    let (o, tiers) = user
        .hq_read(&state, |store| {
            let o = overview::overview(store.conn(), Utc::now())?;
            Ok((o, crate::hq::charts::tier_grade(store.conn())?))
        })
        .await?;
    let card = |id: &str, n: u64, zh: &'static str, en: &'static str, href: &str| {
        html! { a href=(href) { div .card { div .n id=(id) { (n) } div { (lang.t(zh, en)) } } } }
    };
    Ok(page(
        &user,
        &here,
        lang.t("总览", "Overview"),
        html! {
            h1 { (lang.t("总览", "Overview")) }
            div .cards {
                (card("count-customers", o.customers, "客户", "Customers", "/hq/customers"))
                (card("count-open-tickets", o.open_tickets, "未关闭工单", "Open tickets", "/hq/tickets"))
                (card("count-overdue-tickets", o.overdue_tickets, "超时未回复", "Reply overdue", "/hq/tickets?sla=overdue"))
                (card("count-overdue-visits", o.customers_with_overdue_visits, "拜访超期客户", "Customers with overdue visits", "/hq/visits"))
                (card("count-conflicts", o.open_conflicts, "待解决冲突", "Open conflicts", "/hq/review"))
                (card("count-violations", o.unreviewed_violations, "待复核违规", "Violations to review", "/hq/review"))
                (card("count-devices", o.devices_seen_24h, "24小时内同步设备", "Devices synced in 24 h", "/hq/devices"))
            }
            (super::charts::tier_grade_chart(lang, &tiers))
            p { a href="/hq/charts" { (lang.t("全部图表 →", "Every chart →")) } }
            h2 { (lang.t("客户分级", "Customers by tier")) }
            table #tiers {
                tr { th { (lang.t("级别", "Tier")) } th { (lang.t("客户数", "Customers")) } }
                @for (tier, n) in &o.customers_by_tier {
                    tr { td { a href={ "/hq/customers?tier=" (tier) } { (lang.label(tier)) } } td .num { (n) } }
                }
            }
            h2 { (lang.t("选房活动", "Selection events")) }
            table #events {
                tr { th { (lang.t("活动", "Event")) } th { (lang.t("开始时间", "Starts")) } th { (lang.t("房源", "Units")) } th {} }
                @for e in &o.events {
                    tr data-event-id=(e.event_id) {
                        td { (e.name) } td { (user.clock.local(&e.starts_at)) } td .num { (e.allotted_units) }
                        td {
                            a .board href={ "/hq/events/" (e.event_id) "/board" } { (lang.t("实时销控表", "Live control table")) } " · "
                            a href={ "/hq/events/" (e.event_id) "/reconciliation" } { (lang.t("对账", "Reconciliation")) }
                        }
                    }
                }
            }
        },
    ))
}

/// `GET /hq/customers`: searched, filtered, sorted and paged; a refused filter is a message.
pub async fn customers_page(
    State(state): State<AppState>,
    user: WebUser,
    here: Here,
    Query(query): Query<CustomerQuery>,
    Query(params): Query<ListParams>,
) -> Result<Response, PageError> {
    user.require_hq()?;
    let lang = user.lang;
    let (q, p) = (query.clone(), params.clone());
    let found =
        state.hq_read(move |store| customers::page_with_choices(store.conn(), &q, &p)).await;
    let view = ListView::new("/hq/customers", query.pairs(), &params, lang);
    let (listed, status) = match found {
        Ok((page, choices)) => (Ok((page, choices)), StatusCode::OK),
        Err(e) => match view.refused(&e) {
            Some(message) => (Err(message), e.status()),
            None => return Err(PageError::Server(e, lang)),
        },
    };
    let choices = listed.as_ref().map(|(_, c)| c.clone()).unwrap_or_default();
    let body = html! {
        h1 { (lang.t("客户（按级别与等级）", "Customers by tier and grade")) }
        (customer_search(&view, lang, &choices))
        @match &listed {
            Err(message) => (message),
            Ok((page, _)) => (customer_table(&view, lang, page)),
        }
    };
    Ok((status, page(&user, &here, lang.t("客户", "Customers"), body)).into_response())
}

fn customer_search(view: &ListView, lang: Lang, choices: &Choices) -> Markup {
    let tiers = list::tier_choices(lang);
    let grades: Vec<(String, String)> = ["A", "B", "C", "D"]
        .iter()
        .map(|g| ((*g).to_owned(), format!("{g}{}", lang.t("级", ""))))
        .chain([("none".to_owned(), lang.t("未评级", "Ungraded").to_owned())])
        .collect();
    let same = |v: &Vec<String>| v.iter().map(|x| (x.clone(), x.clone())).collect::<Vec<_>>();
    html! {
        form .search #customer-search method="get" action="/hq/customers" {
            input type="search" name="q" id="search" value=(view.filter("q"))
                placeholder=(lang.t("客户名称、编号、区域、行业或客户经理", "Name, id, region, industry or rep"));
            (list::select("tier", view.filter("tier"), lang.t("全部级别", "All tiers"), &tiers))
            (list::select("grade", view.filter("grade"), lang.t("全部等级", "All grades"), &grades))
            (list::select("rep", view.filter("rep"), lang.t("全部客户经理", "All reps"), &choices.reps))
            (list::select("region", view.filter("region"), lang.t("全部区域", "All regions"), &same(&choices.regions)))
            (list::select("industry", view.filter("industry"), lang.t("全部行业", "All industries"), &same(&choices.industries)))
            label { input type="checkbox" name="overdue" value="1" checked[view.filter("overdue") == "1"]; (lang.t("仅拜访超期", "Overdue visits only")) }
            (view.kept_fields())
            button type="submit" { (lang.t("筛选", "Filter")) }
            " " a href="/hq/customers" { (lang.t("清除", "Clear")) }
        }
    }
}

fn customer_table(view: &ListView, lang: Lang, page: &Page<CustomerLine>) -> Markup {
    let p = Some(page);
    html! {
        div .list-bar { (view.pager(page)) (view.exports()) }
        table #customers {
            tr {
                (view.header(p, "name", "客户名称", "Name")) (view.header(p, "tier", "级别", "Tier"))
                (view.header(p, "grade", "等级", "Grade")) (view.header(p, "score", "评分", "Score"))
                (view.header(p, "region", "区域", "Region")) (view.header(p, "industry", "行业", "Industry"))
                (view.header(p, "sales", "最近年度销售额", "Latest annual sales")) (view.header(p, "credit", "信用额度", "Credit limit"))
                (view.header(p, "reps", "客户经理", "Reps")) (view.header(p, "overdue", "超期拜访", "Overdue visits"))
            }
            @for c in &page.rows {
                tr data-customer-id=(c.customer_id) {
                    td { a href={ "/hq/customers/" (url_encode(&c.customer_id)) } { (c.name) } }
                    td .tier data-tier=(c.tier) { (lang.label(&c.tier)) @if c.strategic { " ★" } }
                    td .grade { (c.grade.as_deref().unwrap_or("—")) }
                    td .num { (c.score.map(|s| s.to_string()).unwrap_or_default()) }
                    td { (c.region) } td { (c.industry) }
                    td .num { @if let (Some(y), Some(a)) = (c.latest_sales_year, &c.latest_annual_sales) { (money(a)) " (" (y) ")" } }
                    td .num { (money(&c.credit_limit)) }
                    td { @for (i, (id, name)) in c.owners.iter().zip(&c.owner_names).enumerate() {
                        @if i > 0 { "、" } a .rep href={ "/hq/reps/" (url_encode(id)) } { (name) } } }
                    td .num class=[(c.overdue_visits > 0).then_some("overdue")] { (c.overdue_visits) }
                }
            }
        }
        (view.pager_below(page))
    }
}

/// `GET /hq/customers.csv` and `.xlsx`: every customer the list shows under its filters and
/// sort, in the reader's words.
pub async fn customers_file(
    State(state): State<AppState>,
    user: WebUser,
    uri: Uri,
    Query(query): Query<CustomerQuery>,
    Query(params): Query<ListParams>,
) -> Result<Response, PageError> {
    let title = user.lang.t("客户", "Customers");
    let filters = query.pairs();
    super::list_file::send_list(
        &state,
        &user,
        &uri,
        (ListKind::Customers, title),
        &filters,
        move |store, lang, _| {
            let lines = customers::sorted(store.conn(), &query, &params)?;
            Ok(lines.iter().map(|c| customer_cells(lang, c)).collect())
        },
    )
    .await
}

fn customer_cells(lang: Lang, c: &CustomerLine) -> Vec<ListCell> {
    let text = |s: &str| ListCell::Text(s.to_owned());
    vec![
        text(&c.customer_id),
        text(&c.name),
        ListCell::Text(format!("{}{}", lang.label(&c.tier), if c.strategic { " ★" } else { "" })),
        text(c.grade.as_deref().unwrap_or("")),
        ListCell::Text(c.score.map(|s| s.to_string()).unwrap_or_default()),
        text(&c.region),
        text(&c.industry),
        ListCell::Money(c.latest_annual_sales.as_deref().and_then(|a| a.parse().ok())),
        ListCell::Text(c.latest_sales_year.map(|y| y.to_string()).unwrap_or_default()),
        ListCell::Money(c.credit_limit.parse().ok()),
        ListCell::Text(crate::reports::terms_label(
            &c.payment_terms,
            super::list_file::report_lang(lang),
        )),
        ListCell::Text(c.owner_names.join("、")),
        ListCell::Count(usize::try_from(c.overdue_visits).unwrap_or(0)),
    ]
}

fn load_detail(
    store: &mut Store,
    id: &str,
) -> Result<customers::CustomerDetail, crate::error::ServerError> {
    let mut detail = customers::detail(store.conn(), id)?;
    let names = crate::hq::people::Names::load(store.conn())?;
    detail.customer.owner_names =
        detail.customer.owners.iter().map(|o| names.of(o).to_owned()).collect();
    let doc_id = DocId::new(DocKind::Customer, id);
    if let Some(doc) = store.document(&doc_id)? {
        detail.history = customers::history_lines(doc, &names);
    }
    Ok(detail)
}

/// A customer's file, for pages and the JSON API.
pub(crate) async fn customer_detail(
    state: &AppState,
    id: String,
) -> Result<customers::CustomerDetail, crate::error::ServerError> {
    state.with_store(move |store| load_detail(store, &id)).await
}

/// `GET /hq/customers/{id}`.
pub async fn customer_page(
    State(state): State<AppState>,
    user: WebUser,
    here: Here,
    Path(id): Path<String>,
) -> Result<Markup, PageError> {
    user.require_hq()?;
    let lang = user.lang;
    let sid = id.clone();
    let d = customer_detail(&state, id).await.in_lang(lang)?;
    let (satisfaction, policy) = user
        .hq_read(&state, move |store| {
            let today = store.policy().business_date(Utc::now());
            let factor =
                crate::hq::surveys::satisfaction_of(store.conn(), store.policy(), &sid, today)?;
            Ok((factor, store.policy().clone()))
        })
        .await?;
    let c = &d.customer;
    Ok(page(
        &user,
        &here,
        &c.name,
        html! {
            h1 { (c.name) }
            table #archive {
                tr { th { (lang.t("级别", "Tier")) } td { (lang.label(&c.tier)) @if c.strategic { " ★" } } th { (lang.t("等级 / 评分", "Grade / score")) } td { (c.grade.as_deref().unwrap_or("—")) " / " (c.score.map(|s| s.to_string()).unwrap_or_default()) } }
                tr { th { (lang.t("行业 / 区域", "Industry / region")) } td { (c.industry) " / " (c.region) } th { (lang.t("行业领先品牌", "Leading brand")) } td { (if d.leading_brand { lang.t("是", "yes") } else { lang.t("否", "no") }) } }
                tr { th { (lang.t("信用额度", "Credit limit")) } td .num { (money(&c.credit_limit)) } th { (lang.t("付款条件", "Payment terms")) } td { (crate::reports::terms_label(&c.payment_terms, super::list_file::report_lang(lang))) } }
                tr { th { (lang.t("客户经理", "Reps")) } td colspan="3" { @for (i, (id, name)) in c.owners.iter().zip(&c.owner_names).enumerate() { @if i > 0 { "、" } a .rep href={ "/hq/reps/" (url_encode(id)) } { (name) } } } }
                tr { th { (lang.t("满意度系数", "Satisfaction factor")) } td #satisfaction colspan="3" { @if let Some(f) = satisfaction { (f.score) " (" (f.surveys_counted) (lang.t(" 次调查，自 ", " surveys since ")) (f.since) ")" } @else { "—" } } }
                @for (year, amount) in &d.annual_sales { tr { th { (year) (lang.t("年销售额", " sales")) } td .num colspan="3" { (money(amount)) } } }
            }
            section #contacts {
                h2 { (lang.t("联系人", "Contacts")) }
                table { tr { th { (lang.t("姓名", "Name")) } th { (lang.t("职务", "Title")) } th { (lang.t("电话", "Phone")) } th { "Email" } }
                    @for k in &d.contacts { tr { td { (k.name) @if k.primary { " ★" } } td { (k.title) } td { (k.phone) } td { (k.email) } } } }
            }
            section #visits {
                h2 { (lang.t("接触记录", "Contact records")) }
                table { tr { th { (lang.t("日期", "Date")) } th { (lang.t("层级", "Level")) } th { (lang.t("拜访人", "Visitor")) } th { (lang.t("话题", "Topics")) } th { (lang.t("问题", "Problems")) } th { (lang.t("需求", "Demand")) } th { (lang.t("竞争对手动态", "Competitors")) } }
                    @for v in &d.visits { tr { td { (v.visit_date) } td { (lang.visit_level(&v.level)) } td { (v.visitor) } td { (v.topics.join("、")) } td { (v.problems) } td { (v.demand) } td { (v.competitor_activity) } } } }
            }
            section #tickets {
                h2 { (lang.t("工单", "Tickets")) }
                p { a href={ "/hq/tickets?show=all&customer=" (url_encode(&c.customer_id)) } { (lang.t("在工单列表中查看 →", "In the ticket list →")) } }
                table { tr { th { (lang.t("受理时间", "Opened")) } th { (lang.t("类型", "Kind")) } th { (lang.t("优先级", "Priority")) } th { (lang.t("状态", "Status")) } th { (lang.t("标题", "Title")) } }
                    @for t in &d.tickets { tr data-ticket-id=(t.ticket_id) { td { (layout::local_when(&policy, &t.opened_at)) } td { (lang.label(&t.kind)) } td { (lang.label(&t.priority)) } td { (lang.label(&t.status)) } td { (t.title) } } } }
            }
            (super::history::history_table(lang, &policy, &d.history))
        },
    ))
}

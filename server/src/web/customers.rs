//! The overview, customers by tier and grade, and one customer's file.

use axum::extract::{Path, Query, State};
use chrono::Utc;
use kam_core::doc::{DocId, DocKind};
use maud::{Markup, html};

use super::error::{InLang, PageError};
use super::layout::{self, Here, money, page, url_encode};
use super::session::WebUser;
use crate::hq::customers::{self, CustomerFilter};
use crate::hq::overview;
use crate::http::AppState;
use crate::store::Store;

/// `GET /hq`.
pub async fn overview_page(
    State(state): State<AppState>,
    user: WebUser,
    here: Here,
) -> Result<Markup, PageError> {
    let lang = user.lang;
    let o = user.hq_read(&state, |store| overview::overview(store.conn(), Utc::now())).await?;
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
                        td { (e.name) } td { (layout::when(&e.starts_at)) } td .num { (e.allotted_units) }
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

/// `GET /hq/customers`.
pub async fn customers_page(
    State(state): State<AppState>,
    user: WebUser,
    here: Here,
    Query(filter): Query<CustomerFilter>,
) -> Result<Markup, PageError> {
    let lang = user.lang;
    let f = filter.clone();
    let lines = user.hq_read(&state, move |store| customers::list(store.conn(), &f)).await?;
    Ok(page(
        &user,
        &here,
        lang.t("客户", "Customers"),
        html! {
            h1 { (lang.t("客户（按级别与等级）", "Customers by tier and grade")) }
            p .filters {
                a href="/hq/customers" { (lang.t("全部", "All")) }
                @for tier in ["strategic", "key", "main", "general"] { a href={ "/hq/customers?tier=" (tier) } { (lang.label(tier)) } }
                " | "
                @for grade in ["A", "B", "C", "D"] { a href={ "/hq/customers?grade=" (grade) } { (grade) (lang.t("级", "")) } }
            }
            p .muted { (lines.len()) " " (lang.t("家客户", "customers")) }
            table #customers {
                tr {
                    th { (lang.t("客户名称", "Name")) } th { (lang.t("级别", "Tier")) } th { (lang.t("等级", "Grade")) }
                    th { (lang.t("评分", "Score")) } th { (lang.t("区域", "Region")) } th { (lang.t("行业", "Industry")) }
                    th { (lang.t("最近年度销售额", "Latest annual sales")) } th { (lang.t("信用额度", "Credit limit")) }
                    th { (lang.t("客户经理", "Reps")) } th { (lang.t("超期拜访", "Overdue visits")) }
                }
                @for c in &lines {
                    tr data-customer-id=(c.customer_id) {
                        td { a href={ "/hq/customers/" (url_encode(&c.customer_id)) } { (c.name) } }
                        td .tier data-tier=(c.tier) { (lang.label(&c.tier)) }
                        td .grade { (c.grade.as_deref().unwrap_or("—")) }
                        td .num { (c.score.map(|s| s.to_string()).unwrap_or_default()) }
                        td { (c.region) } td { (c.industry) }
                        td .num { @if let (Some(y), Some(a)) = (c.latest_sales_year, &c.latest_annual_sales) { (money(a)) " (" (y) ")" } }
                        td .num { (money(&c.credit_limit)) }
                        td { (c.owners.join("、")) }
                        td .num class=[(c.overdue_visits > 0).then_some("overdue")] { (c.overdue_visits) }
                    }
                }
            }
        },
    ))
}

fn load_detail(
    store: &mut Store,
    id: &str,
) -> Result<customers::CustomerDetail, crate::error::ServerError> {
    let mut detail = customers::detail(store.conn(), id)?;
    let doc_id = DocId::new(DocKind::Customer, id);
    if let Some(doc) = store.document(&doc_id)? {
        detail.history = customers::history_lines(doc);
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
    let satisfaction = user
        .hq_read(&state, move |store| {
            let today = store.policy().business_date(Utc::now());
            crate::hq::surveys::satisfaction_of(store.conn(), store.policy(), &sid, today)
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
                tr { th { (lang.t("信用额度", "Credit limit")) } td .num { (money(&c.credit_limit)) } th { (lang.t("付款条件", "Payment terms")) } td { (c.payment_terms) } }
                tr { th { (lang.t("客户经理", "Reps")) } td colspan="3" { (c.owners.join("、")) } }
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
                table { tr { th { (lang.t("受理时间", "Opened")) } th { (lang.t("类型", "Kind")) } th { (lang.t("优先级", "Priority")) } th { (lang.t("状态", "Status")) } th { (lang.t("标题", "Title")) } }
                    @for t in &d.tickets { tr data-ticket-id=(t.ticket_id) { td { (layout::when(&t.opened_at)) } td { (lang.label(&t.kind)) } td { (lang.label(&t.priority)) } td { (lang.label(&t.status)) } td { (t.title) } } } }
            }
            section #history {
                h2 { (lang.t("变更历史", "History of changes")) }
                table { tr { th { (lang.t("时间", "When")) } th { (lang.t("作者", "Author")) } th { (lang.t("操作", "Action")) } }
                    @for h in &d.history { tr .change { td { (layout::when(&h.at)) } td .author { (h.author) } td .action { (h.action) } } } }
            }
        },
    ))
}

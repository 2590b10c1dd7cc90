//! A rep's page (`/hq/reps/{id}`): who they are, their customers, visits, tickets, pipeline
//! and scorecards, each linking to the whole list filtered on them.

use axum::extract::{Path, State};
use chrono::Utc;
use maud::{Markup, html};

use super::error::PageError;
use super::i18n::Lang;
use super::layout::{Here, local_when, money, page, url_encode};
use super::session::WebUser;
use crate::hq::reps::{self, RepView};
use crate::http::AppState;

/// `GET /hq/reps/{id}`.
pub async fn rep_page(
    State(state): State<AppState>,
    user: WebUser,
    here: Here,
    Path(id): Path<String>,
) -> Result<Markup, PageError> {
    let lang = user.lang;
    let (view, policy) = user
        .hq_read(&state, move |store| {
            let view = reps::rep(store.conn(), store.policy(), Utc::now(), &id)?;
            Ok((view, store.policy().clone()))
        })
        .await?;
    let body = html! {
        h1 #rep-name data-user-id=(view.user_id) { (view.name) " " span .muted { (view.user_id) " · " (lang.label(&view.role)) } }
        (summary(lang, &view))
        section #rep-visits {
            h2 { (lang.t("拜访", "Visits")) }
            (super::charts::visits_by_month_chart(lang, &view.visits_by_month, Some(&view.user_id)))
            @if !view.overdue_visits.is_empty() {
                table #rep-overdue-visits {
                    tr { th { (lang.t("客户", "Customer")) } th { (lang.t("层级", "Level")) } th { (lang.t("上次拜访", "Last visit")) } th { (lang.t("应于", "Due on")) } }
                    @for v in view.overdue_visits.iter().take(10) {
                        tr { td { a href={ "/hq/customers/" (url_encode(&v.customer_id)) } { (v.customer_name) } } td { (lang.visit_level(&v.level)) }
                             td { (v.last_visit_on.map(|d| d.to_string()).unwrap_or_else(|| lang.t("从未拜访", "never").to_owned())) }
                             td .overdue { (v.next_due_on) } }
                    }
                }
                p { a href={ "/hq/visits?rep=" (url_encode(&view.user_id)) } { (lang.t("全部超期拜访 →", "Every overdue visit →")) } }
            }
        }
        (customers(lang, &view))
        (tickets(lang, &view, &policy))
        (scorecards(lang, &view))
    };
    Ok(page(&user, &here, &view.name, body))
}

fn summary(lang: Lang, view: &RepView) -> Markup {
    let id = url_encode(&view.user_id);
    let p = &view.pipeline;
    let open_leads: u32 = p.open.values().map(|t| t.count).sum();
    html! {
        div .cards {
            a href={ "/hq/customers?rep=" (id) } { div .card { div .n #rep-customers { (view.customers.total) } div { (lang.t("客户", "Customers")) } } }
            a href={ "/hq/tickets?rep=" (id) } { div .card { div .n #rep-open-tickets { (view.open_tickets.total) } div { (lang.t("未关闭工单", "Open tickets")) } } }
            a href={ "/hq/visits?rep=" (id) } { div .card { div .n #rep-overdue { (view.visits.as_ref().map_or(0, |v| v.overdue)) } div { (lang.t("超期拜访", "Visits overdue")) } } }
            a href={ "/hq/pipeline?owner=" (id) } { div .card { div .n #rep-leads { (open_leads) } div { (lang.t("在跟进商机", "Open leads")) } } }
        }
        p .muted {
            (lang.t("按期拜访率 ", "Visits on schedule: ")) (view.visits.as_ref().map_or("—", |v| v.on_schedule_percent.as_str())) "%"
            " · " (lang.t("赢单 ", "Won ")) (p.won.count) " · " (lang.t("丢单 ", "Lost ")) (p.lost.count)
            " · " (lang.t("赢单率 ", "Win rate ")) (p.win_rate_pct.map_or_else(|| "—".to_owned(), |r| format!("{r}%")))
        }
    }
}

fn customers(lang: Lang, view: &RepView) -> Markup {
    html! {
        section #rep-customer-list {
            h2 { (lang.t("客户", "Customers")) }
            table {
                tr { th { (lang.t("客户名称", "Name")) } th { (lang.t("级别", "Tier")) } th { (lang.t("等级", "Grade")) } th { (lang.t("信用额度", "Credit limit")) } th { (lang.t("超期拜访", "Overdue visits")) } }
                @for c in &view.customers.rows {
                    tr data-customer-id=(c.customer_id) {
                        td { a href={ "/hq/customers/" (url_encode(&c.customer_id)) } { (c.name) } }
                        td { (lang.label(&c.tier)) @if c.strategic { " ★" } } td { (c.grade.as_deref().unwrap_or("—")) }
                        td .num { (money(&c.credit_limit)) } td .num { (c.overdue_visits) }
                    }
                }
            }
            p { a href={ "/hq/customers?rep=" (url_encode(&view.user_id)) } { (lang.t("全部 ", "All ")) (view.customers.total) (lang.t(" 家客户 →", " customers →")) } }
        }
    }
}

fn tickets(lang: Lang, view: &RepView, policy: &kam_core::Policy) -> Markup {
    html! {
        section #rep-tickets {
            h2 { (lang.t("未关闭工单", "Open tickets")) }
            table {
                tr { th { (lang.t("时效", "SLA")) } th { (lang.t("客户", "Customer")) } th { (lang.t("标题", "Title")) } th { (lang.t("回复期限", "Reply due")) } }
                @for t in &view.open_tickets.rows {
                    tr data-ticket-id=(t.ticket_id) {
                        td class=(t.sla) { (lang.label(t.sla)) }
                        td { a href={ "/hq/customers/" (url_encode(&t.customer_id)) } { (t.customer_name) } }
                        td { (t.title) } td { (local_when(policy, &t.reply_due_at)) }
                    }
                }
            }
            p { a href={ "/hq/tickets?rep=" (url_encode(&view.user_id)) } { (lang.t("全部 ", "All ")) (view.open_tickets.total) (lang.t(" 张未关闭工单 →", " open tickets →")) } }
        }
    }
}

fn scorecards(lang: Lang, view: &RepView) -> Markup {
    html! {
        section #rep-scorecards {
            h2 { (lang.t("绩效考核", "Scorecards")) }
            @if view.scorecards.is_empty() { p .muted { (lang.t("尚无考核。", "None yet.")) } }
            @else {
                table {
                    tr { th { (lang.t("期间", "Period")) } th { (lang.t("销售目标", "Sales target")) } th { (lang.t("总分", "Total")) } }
                    @for s in view.scorecards.iter().take(6) {
                        tr { td { a href={ "/hq/scorecards/" (url_encode(&s.scorecard_id)) } { (s.period) } }
                             td .num { (money(&s.sales_target)) } td .num { (s.total.as_deref().unwrap_or("—")) } }
                    }
                }
            }
        }
    }
}

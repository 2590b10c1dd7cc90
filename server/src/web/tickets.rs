//! Tickets against the 24-hour reply.

use axum::extract::{Query, State};
use chrono::Utc;
use maud::{Markup, html};

use super::error::PageError;
use super::layout::{Here, page, url_encode, when};
use super::session::WebUser;
use crate::hq::tickets::{self, TicketFilter};
use crate::http::AppState;

/// `GET /hq/tickets`.
pub async fn tickets_page(
    State(state): State<AppState>,
    user: WebUser,
    here: Here,
    Query(filter): Query<TicketFilter>,
) -> Result<Markup, PageError> {
    let lang = user.lang;
    let f = filter.clone();
    let list = user
        .hq_read(&state, move |store| {
            tickets::tickets(store.conn(), &f, store.policy(), Utc::now())
        })
        .await?;
    Ok(page(
        &user,
        &here,
        lang.t("工单时效", "Ticket SLA"),
        html! {
            h1 { (lang.t("工单与24小时回复时效", "Tickets and the 24-hour reply")) }
            p .filters {
                a href="/hq/tickets" { (lang.t("未关闭", "Open")) }
                a href="/hq/tickets?show=all" { (lang.t("全部", "All")) }
                @for s in ["overdue", "due_soon", "pending", "breached", "met"] { a href={ "/hq/tickets?show=all&sla=" (s) } { (lang.label(s)) } }
            }
            p .muted { (list.len()) " " (lang.t("张工单", "tickets")) }
            table #tickets {
                tr { th { (lang.t("时效", "SLA")) } th { (lang.t("客户", "Customer")) } th { (lang.t("类型", "Kind")) } th { (lang.t("优先级", "Priority")) } th { (lang.t("状态", "Status")) } th { (lang.t("标题", "Title")) } th { (lang.t("受理", "Opened")) } th { (lang.t("回复期限", "Reply due")) } th { (lang.t("负责人", "Owner")) } }
                @for t in &list {
                    tr data-ticket-id=(t.ticket_id) data-sla=(t.sla) {
                        td class=(t.sla) { (lang.label(t.sla)) @if t.minutes > 0 { " (" (t.minutes / 60) "h" (t.minutes % 60) "m)" } }
                        td { a href={ "/hq/customers/" (url_encode(&t.customer_id)) } { (t.customer_name) } }
                        td { (lang.label(&t.kind)) } td { (lang.label(&t.priority)) } td { (lang.label(&t.status)) }
                        td { (t.title) } td { (when(&t.opened_at)) } td { (when(&t.reply_due_at)) } td { (t.owner.as_deref().unwrap_or("—")) }
                    }
                }
            }
        },
    ))
}

//! Visit compliance, ticket SLA and devices: the pages that say who is behind.

use axum::extract::{Query, State};
use chrono::Utc;
use maud::{Markup, html};

use super::error::PageError;
use super::layout::{Here, page, url_encode, when};
use super::session::WebUser;
use crate::hq::tickets::TicketFilter;
use crate::hq::{compliance, devices, tickets};
use crate::http::AppState;

/// `GET /hq/visits`.
pub async fn visits_page(
    State(state): State<AppState>,
    user: WebUser,
    here: Here,
) -> Result<Markup, PageError> {
    let lang = user.lang;
    let c = user
        .hq_read(&state, |store| compliance::compliance(store.conn(), store.policy(), Utc::now()))
        .await?;
    let head = html! { tr { th {} th { (lang.t("应拜访", "Required")) } th { (lang.t("超期", "Overdue")) } th { (lang.t("按期率", "On schedule")) } } };
    Ok(page(
        &user,
        &here,
        lang.t("拜访达标", "Visit compliance"),
        html! {
            h1 { (lang.t("拜访达标情况", "Visit compliance")) " · " (c.today) }
            p .muted { (lang.t("战略客户：高层每半年、客户经理每月、技术每半年、质量每季度；A级客户每季度。",
                "Strategic customers: leadership every half year, account manager monthly, technical every half year, quality quarterly; grade A customers quarterly.")) }
            h2 { (lang.t("按客户经理", "By rep")) }
            table #visit-compliance {
                (head)
                @for (rep, n) in &c.by_rep { tr data-rep=(rep) { th { (rep) } td .num { (n.required) } td .num class=[(n.overdue > 0).then_some("overdue")] { (n.overdue) } td .num { (n.on_schedule_percent) "%" } } }
            }
            h2 { (lang.t("按拜访层级", "By level")) }
            table #visit-compliance-by-level {
                (head)
                @for (level, n) in &c.by_level { tr data-level=(level) { th { (lang.visit_level(level)) } td .num { (n.required) } td .num class=[(n.overdue > 0).then_some("overdue")] { (n.overdue) } td .num { (n.on_schedule_percent) "%" } } }
            }
            h2 { (lang.t("超期明细", "Overdue visits")) }
            table #overdue-visits {
                tr { th { (lang.t("客户", "Customer")) } th { (lang.t("层级", "Level")) } th { (lang.t("上次拜访", "Last visit")) } th { (lang.t("应于", "Due on")) } th { (lang.t("客户经理", "Reps")) } }
                @for v in &c.overdue {
                    tr { td { a href={ "/hq/customers/" (url_encode(&v.customer_id)) } { (v.customer_name) } } td { (lang.visit_level(&v.level)) }
                         td { (v.last_visit_on.map(|d| d.to_string()).unwrap_or_else(|| lang.t("从未", "never").to_owned())) }
                         td .overdue { (v.next_due_on) } td { (v.owners.join("、")) } }
                }
            }
        },
    ))
}

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

/// `GET /hq/devices`.
pub async fn devices_page(
    State(state): State<AppState>,
    user: WebUser,
    here: Here,
) -> Result<Markup, PageError> {
    let lang = user.lang;
    let list = user.hq_read(&state, |store| devices::devices(store.conn(), Utc::now())).await?;
    Ok(page(
        &user,
        &here,
        lang.t("设备", "Devices"),
        html! {
            h1 { (lang.t("设备与同步", "Devices and their sync")) }
            table #devices {
                tr { th { (lang.t("设备", "Device")) } th { (lang.t("用户", "User")) } th { (lang.t("角色", "Role")) } th { (lang.t("最近同步", "Last sync")) } th { (lang.t("距今", "Ago")) } th { (lang.t("落后变更数", "Changes behind")) } th { (lang.t("最近上传", "Last upload")) } th { (lang.t("上传时积压时长", "Outbox age at upload")) } th { (lang.t("状态", "State")) } }
                @for d in &list {
                    tr data-device-id=(d.device_id) {
                        td { (d.label) br; span .muted { (d.device_id) } } td { (d.user_id) } td { (lang.label(&d.role)) }
                        td { (d.last_seen_at.as_deref().map(when).unwrap_or_else(|| lang.t("从未", "never").to_owned())) }
                        td .num { @if let Some(m) = d.minutes_since_sync { (m / 60) "h" (m % 60) "m" } }
                        td .num { (d.changes_behind) }
                    td { (d.last_upload_at.as_deref().map(when).unwrap_or_else(|| "—".to_owned())) }
                    td .num .outbox-age { @if let Some(m) = d.outbox_age_minutes { (m / 60) "h" (m % 60) "m" } @else { "—" } }
                        td { @if d.revoked_at.is_some() { span .error { (lang.t("已吊销", "revoked")) } } @else { (lang.t("有效", "active")) } }
                    }
                }
            }
        },
    ))
}

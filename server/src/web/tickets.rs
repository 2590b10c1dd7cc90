//! Tickets against the 24-hour reply: searched, filtered, sorted, paged and exported.

use axum::extract::{Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use kam_core::model::{TicketKind, TicketPriority, TicketStatus};
use maud::{Markup, html};

use super::error::PageError;
use super::i18n::Lang;
use super::layout::{Here, local_when, page, url_encode, zone_label};
use super::list::{self, ListView};
use super::list_file;
use super::session::WebUser;
use crate::hq::listing::{ListParams, Page};
use crate::hq::tickets::{self, SLA_CODES, TicketQuery, TicketSla};
use crate::http::AppState;
use crate::reports::export::{ListCell, ListKind};

/// `GET /hq/tickets`: a refused filter is a message, not an empty list.
pub async fn tickets_page(
    State(state): State<AppState>,
    user: WebUser,
    here: Here,
    Query(query): Query<TicketQuery>,
    Query(params): Query<ListParams>,
) -> Result<Response, PageError> {
    user.require_hq()?;
    let lang = user.lang;
    let (q, p) = (query.clone(), params.clone());
    let found = state
        .hq_read(move |store| {
            let page = tickets::page(store.conn(), &q, &p, store.policy(), Utc::now())?;
            Ok((page, store.policy().clone()))
        })
        .await;
    let view = ListView::new("/hq/tickets", query.pairs(), &params, lang);
    let (body, status) = match found {
        Ok((page, policy)) => (ticket_table(&view, lang, &page, &policy), StatusCode::OK),
        Err(e) => match view.refused(&e) {
            Some(message) => (message, e.status()),
            None => return Err(PageError::Server(e, lang)),
        },
    };
    let body = html! {
        h1 { (lang.t("工单与24小时回复时效", "Tickets and the 24-hour reply")) }
        (ticket_search(&view, lang))
        (body)
    };
    Ok((status, page(&user, &here, lang.t("工单时效", "Ticket SLA"), body)).into_response())
}

fn labelled(lang: Lang, codes: impl Iterator<Item = &'static str>) -> Vec<(String, String)> {
    codes.map(|c| (c.to_owned(), lang.label(c))).collect()
}

fn ticket_search(view: &ListView, lang: Lang) -> Markup {
    let show = vec![("all".to_owned(), lang.t("全部（含已关闭）", "All, closed too").to_owned())];
    html! {
        form .search #ticket-search method="get" action="/hq/tickets" {
            input type="search" name="q" id="search" value=(view.filter("q"))
                placeholder=(lang.t("标题、工单号、客户或负责人", "Title, ticket id, customer or owner"));
            (list::select("show", view.filter("show"), lang.t("未关闭", "Open"), &show))
            (list::select("sla", view.filter("sla"), lang.t("全部时效", "Any SLA state"), &labelled(lang, SLA_CODES.iter().copied())))
            (list::select("status", view.filter("status"), lang.t("全部状态", "Any status"), &labelled(lang, TicketStatus::ALL.iter().map(|s| s.as_str()))))
            (list::select("kind", view.filter("kind"), lang.t("全部类型", "Any kind"), &labelled(lang, TicketKind::ALL.iter().map(|k| k.as_str()))))
            (list::select("priority", view.filter("priority"), lang.t("全部优先级", "Any priority"), &labelled(lang, TicketPriority::ALL.iter().map(|p| p.as_str()))))
            label { (lang.t("受理日期", "Opened")) " " input type="date" name="opened_from" value=(view.filter("opened_from")); }
            label { "–" input type="date" name="opened_to" value=(view.filter("opened_to")); }
            @for key in ["rep", "customer"] {
                @if !view.filter(key).is_empty() { input type="hidden" name=(key) value=(view.filter(key)); }
            }
            (view.kept_fields())
            button type="submit" { (lang.t("筛选", "Filter")) }
            " " a href="/hq/tickets" { (lang.t("清除", "Clear")) }
        }
    }
}

fn ticket_table(
    view: &ListView,
    lang: Lang,
    page: &Page<TicketSla>,
    policy: &kam_core::Policy,
) -> Markup {
    let p = Some(page);
    html! {
        div .list-bar { (view.pager(page)) (view.exports()) }
        p .muted { (lang.t("时间均为", "Times are in ")) (zone_label(policy)) }
        table #tickets {
            tr {
                (view.header(p, "sla", "时效", "SLA")) (view.header(p, "customer", "客户", "Customer"))
                (view.header(p, "kind", "类型", "Kind")) (view.header(p, "priority", "优先级", "Priority"))
                (view.header(p, "status", "状态", "Status")) (view.header(p, "title", "标题", "Title"))
                (view.header(p, "opened", "受理", "Opened")) (view.header(p, "due", "回复期限", "Reply due"))
                (view.header(p, "owner", "负责人", "Owner"))
            }
            @for t in &page.rows {
                tr data-ticket-id=(t.ticket_id) data-sla=(t.sla) {
                    td class=(t.sla) { (lang.label(t.sla)) @if t.minutes > 0 { " (" (t.minutes / 60) "h" (t.minutes % 60) "m)" } }
                    td { a href={ "/hq/customers/" (url_encode(&t.customer_id)) } { (t.customer_name) } }
                    td { (lang.label(&t.kind)) } td { (lang.label(&t.priority)) } td { (lang.label(&t.status)) }
                    td { (t.title) } td { (local_when(policy, &t.opened_at)) } td { (local_when(policy, &t.reply_due_at)) }
                    td { @match (&t.owner, &t.owner_name) {
                        (Some(id), Some(name)) => a .rep href={ "/hq/reps/" (url_encode(id)) } { (name) },
                        _ => "—",
                    } }
                }
            }
        }
        (view.pager_below(page))
    }
}

/// `GET /hq/tickets.csv` and `.xlsx`: every ticket the list shows under its filters and
/// sort, in the reader's words and the policy's time zone.
pub async fn tickets_file(
    State(state): State<AppState>,
    user: WebUser,
    uri: Uri,
    Query(query): Query<TicketQuery>,
    Query(params): Query<ListParams>,
) -> Result<Response, PageError> {
    let title = user.lang.t("工单", "Tickets");
    let filters = query.pairs();
    list_file::send_list(
        &state,
        &user,
        &uri,
        (ListKind::Tickets, title),
        &filters,
        move |store, lang, now| {
            let policy = store.policy();
            let rows = tickets::sorted(store.conn(), &query, &params, policy, now)?;
            Ok(rows.iter().map(|t| ticket_cells(lang, policy, t)).collect())
        },
    )
    .await
}

fn ticket_cells(lang: Lang, policy: &kam_core::Policy, t: &TicketSla) -> Vec<ListCell> {
    let text = |s: &str| ListCell::Text(s.to_owned());
    vec![
        text(&t.ticket_id),
        ListCell::Text(lang.label(t.sla)),
        ListCell::Count(usize::try_from(t.minutes).unwrap_or(0)),
        text(&t.customer_name),
        ListCell::Text(lang.label(&t.kind)),
        ListCell::Text(lang.label(&t.priority)),
        ListCell::Text(lang.label(&t.status)),
        text(&t.title),
        ListCell::Text(super::layout::zoned(policy, &t.opened_at)),
        ListCell::Text(super::layout::zoned(policy, &t.reply_due_at)),
        text(t.owner_name.as_deref().unwrap_or("")),
    ]
}

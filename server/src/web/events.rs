//! `GET /hq/events`: every selection event with its project, allotment and buyers, and whether
//! its desk is open on this server; headquarters opens a closed one here (a confirmed form),
//! and reaches an open one's control table, prices, consoles and hall screen link.

use axum::extract::{Path, Query, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{Markup, html};

use super::error::{InLang, PageError};
use super::forms::ConfirmForm;
use super::forms::Flash;
use super::layout::{Here, csrf_field, flash, local_when, page, url_encode, zone_label, zoned};
use super::list::{ListView, select};
use super::session::WebUser;
use super::venue::{current, delegate_form, history, lent_cell};
use crate::desk::catalog::DEFAULT_VOUCHER_SERIES;
use crate::hq::events::{
    EVENTS, EventQuery, EventSummary, EventsWithVenues, events_with_venues, matching, open_desk,
    selection_events,
};
use crate::hq::listing::ListParams;
use crate::http::AppState;
use crate::reports::export::{ListCell, ListKind};

const EVENTS_PATH: &str = "/hq/events";

/// The pages' routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/hq/events", get(events_page))
        .route("/hq/events.csv", get(events_file))
        .route("/hq/events.xlsx", get(events_file))
        .route("/hq/events/{event_id}/open", post(open))
        .merge(super::venue::routes())
}

/// `GET /hq/events`: the selection events, searched, filtered, sorted and paged.
pub async fn events_page(
    State(state): State<AppState>,
    user: WebUser,
    here: Here,
    Query(done): Query<Flash>,
    Query(query): Query<EventQuery>,
    Query(params): Query<ListParams>,
) -> Result<Markup, PageError> {
    let lang = user.lang;
    let now = chrono::Utc::now();
    let list = ListView::new(EVENTS_PATH, query.pairs(), &params, lang);
    let (view, events, projects) = user
        .hq_read(&state, move |store| {
            let mut view = events_with_venues(store.conn(), store.desk(), now)?;
            let all = std::mem::take(&mut view.events);
            let mut projects: Vec<String> = all.iter().map(|e| e.project_id.clone()).collect();
            projects.sort();
            projects.dedup();
            let events = EVENTS.page(&params, || matching(all, &query))?;
            Ok((view, events, projects))
        })
        .await?;
    let h = Some(&events);
    let projects: Vec<(String, String)> = projects.into_iter().map(|p| (p.clone(), p)).collect();
    let desks = [
        ("open".to_owned(), lang.t("已开启", "Open").to_owned()),
        ("closed".to_owned(), lang.t("未开启", "Closed").to_owned()),
    ];
    Ok(page(
        &user,
        &here,
        lang.t("选房活动", "Selection events"),
        html! {
            h1 { (lang.t("选房活动", "Selection events")) }
            (flash(done.done.as_deref()))
            @if events.total == 0 && list.filter("q").is_empty() && list.filter("project").is_empty() && list.filter("desk").is_empty() {
                p #no-events { (lang.t("还没有选房活动。", "There is no selection event yet.")) }
            }
            form .search #event-search method="get" action=(EVENTS_PATH) {
                input type="search" name="q" id="search" value=(list.filter("q"))
                    placeholder=(lang.t("活动名称或编号", "Event's name or id"));
                (select("project", list.filter("project"), lang.t("全部项目", "All projects"), &projects))
                (select("desk", list.filter("desk"), lang.t("全部选房台", "Any desk"), &desks))
                (list.kept_fields())
                button type="submit" { (lang.t("筛选", "Filter")) }
                " " a href=(EVENTS_PATH) { (lang.t("清除", "Clear")) }
            }
            p .muted { (lang.t("时间均为", "Times are in ")) (zone_label(state.policy())) }
            div .list-bar { (list.pager(&events)) (list.exports()) }
            table #selection-events {
                tr {
                    (list.header(h, "name", "活动", "Event")) (list.header(h, "project", "项目", "Project"))
                    (list.header(h, "starts", "开始时间", "Starts")) (list.header(h, "units", "分配房源", "Units allotted"))
                    (list.header(h, "buyers", "名单人数", "Buyers")) th { (lang.t("选房台", "Desk")) } th {}
                }
                @for e in &events.rows { (event_row(&user, &state, &view, e)) }
            }
            (list.pager_below(&events))
        },
    ))
}

/// `GET /hq/events.csv` and `.xlsx`: the events the list shows.
pub async fn events_file(
    State(state): State<AppState>,
    user: WebUser,
    uri: Uri,
    Query(query): Query<EventQuery>,
    Query(params): Query<ListParams>,
) -> Result<Response, PageError> {
    let lang = user.lang;
    let title = lang.t("选房活动", "Selection events");
    let filters = query.pairs();
    let events = user
        .hq_read(&state, move |store| {
            let all = selection_events(store.conn(), store.desk())?;
            EVENTS.sorted(&params, || matching(all, &query))
        })
        .await?;
    let policy = state.policy();
    let rows = events
        .iter()
        .map(|e| {
            let desk = if e.desk_open {
                lang.t("已开启", "Open")
            } else {
                lang.t("未开启", "Closed")
            };
            vec![
                ListCell::Text(e.name.clone()),
                ListCell::Text(e.event_id.clone()),
                ListCell::Text(e.project_id.clone()),
                ListCell::Text(zoned(policy, &e.starts_at.to_rfc3339())),
                ListCell::Count(e.allotted_units),
                ListCell::Count(e.buyers),
                ListCell::Text(desk.to_owned()),
            ]
        })
        .collect();
    super::list_file::send_rows(&state, lang, &uri, (ListKind::Events, title), &filters, rows)
}

fn event_row(
    user: &WebUser,
    state: &AppState,
    view: &EventsWithVenues,
    e: &EventSummary,
) -> Markup {
    let lang = user.lang;
    let id = url_encode(&e.event_id);
    let lent = current(&view.delegations, &e.event_id);
    let venues = view.venues.get(&e.event_id).map_or(&[][..], Vec::as_slice);
    html! {
        tr .event data-event-id=(e.event_id) data-desk=(if e.desk_open { "open" } else { "closed" })
            data-lent=(if lent.is_some() { "true" } else { "false" }) {
            td { (e.name) } td { (e.project_id) } td { (local_when(state.policy(), &e.starts_at.to_rfc3339())) }
            td .num { (e.allotted_units) } td .num { (e.buyers) }
            td { (if e.desk_open { lang.t("已开启", "Open") } else { lang.t("未开启", "Closed") }) }
            td {
                @if e.desk_open {
                    a .board href={ "/hq/events/" (id) "/board" } { (lang.t("销控表", "Control table")) } " · "
                    a .prices href={ "/hq/events/" (id) "/prices" } { (lang.t("房价审批", "Prices")) } " · "
                    a .desk href={ "/console/events/" (id) "/desk" } { (lang.t("选房台", "Desk")) } " · "
                    a .finance href={ "/console/events/" (id) "/finance" } { (lang.t("财务台", "Finance")) } " · "
                    a .screen-link href={ "/console/events/" (id) "/screen-link" } { (lang.t("大屏链接", "Screen link")) }
                    @if let Some(lag) = lent {
                        (lent_cell(user, state.policy(), lag, chrono::Utc::now()))
                    } @else if user.may_decide() {
                        (delegate_form(user, &e.event_id, venues))
                    }
                    (history(lang, &view.delegations, &e.event_id))
                } @else if user.may_decide() {
                    form .open-desk method="post" action={ "/hq/events/" (id) "/open" } {
                        (csrf_field(user))
                        label { input type="checkbox" name="confirm" value="yes" required; " " (lang.t("确认开启", "Confirm opening")) } " "
                        button type="submit" { (lang.t("开启选房台", "Open the desk")) }
                    }
                } @else {
                    span .muted { (lang.t("由总部开启", "Opened by headquarters")) }
                }
            }
        }
    }
}

/// `POST /hq/events/{id}/open`: opens the event's desk, back to the list with what it loaded.
pub async fn open(
    State(state): State<AppState>,
    user: WebUser,
    Path(event_id): Path<String>,
    Form(form): Form<ConfirmForm>,
) -> Result<Response, PageError> {
    user.check_csrf(&form.csrf)?;
    user.require_hq()?;
    let lang = user.lang;
    form.confirmed(lang, "open the desk")?;
    let opened =
        open_desk(&state, user.decider(), event_id, DEFAULT_VOUCHER_SERIES).await.in_lang(lang)?;
    let done = match lang {
        super::i18n::Lang::Zh => format!(
            "选房台已开启：{} 套房源（分配 {} 套），名单 {} 人。",
            opened.units, opened.allotted, opened.buyers
        ),
        super::i18n::Lang::En => format!(
            "The desk is open: {} units ({} allotted), {} buyers on the list.",
            opened.units, opened.allotted, opened.buyers
        ),
    };
    Ok(Redirect::to(&format!("/hq/events?done={}", url_encode(&done))).into_response())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use axum::http::StatusCode;

    use crate::web::demo_site_tests::demo_site;

    #[tokio::test]
    async fn headquarters_opens_a_closed_desk_only_when_it_confirms() {
        let site = demo_site(false);
        let (hq, csrf) = site.sign_in("hq-01").await;
        let (status, _, body) = site.get("/hq/events", Some(&hq)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.contains(r#"data-desk="closed""#), "{body}");
        assert!(body.contains(r#"class="open-desk""#) && body.contains(r#"name="confirm""#));
        let open = format!("/hq/events/{}/open", site.event);
        let (status, _, _) = site.post_form(&open, &hq, "csrf=forged&confirm=yes").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "the CSRF token is checked");
        let (status, _, _) = site.post_form(&open, &hq, &format!("csrf={csrf}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "not confirmed");
        let (finance, finance_csrf) = site.sign_in("finance-01").await;
        let (_, _, list) = site.get("/hq/events", Some(&finance)).await;
        assert!(!list.contains(r#"class="open-desk""#), "finance sees no form: {list}");
        let form = format!("csrf={finance_csrf}&confirm=yes");
        assert_eq!(site.post_form(&open, &finance, &form).await.0, StatusCode::FORBIDDEN);
        let (_, _, still) = site.get("/hq/events", Some(&hq)).await;
        assert!(still.contains(r#"data-desk="closed""#), "nothing opened yet");
        let (status, headers, _) =
            site.post_form(&open, &hq, &format!("csrf={csrf}&confirm=yes")).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let back = headers["location"].to_str().unwrap().to_owned();
        assert!(back.starts_with("/hq/events?done="), "{back}");
        let (_, _, body) = site.get(&back, Some(&hq)).await;
        assert!(body.contains(r#"data-desk="open""#) && body.contains("选房台已开启"), "{body}");
        for link in ["/board", "/prices", "/screen-link"] {
            assert!(body.contains(link), "{link} missing: {body}");
        }
        let audited = site
            .state
            .with_store(|store| {
                let sql =
                    "SELECT COUNT(*) FROM audit_log WHERE action = 'desk.open' AND actor = 'hq-01'";
                Ok(store.sql().query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap())
            })
            .await
            .unwrap();
        assert_eq!(audited, 1);
        let (status, _, _) = site.post_form(&open, &hq, &format!("csrf={csrf}&confirm=yes")).await;
        assert_eq!(status, StatusCode::CONFLICT, "a desk opens once");
        let (rep, _) = site.sign_in("rep-01").await;
        assert_eq!(site.get("/hq/events", Some(&rep)).await.0, StatusCode::FORBIDDEN);
    }
}

//! `/hq/admin/grants`: hand a customer over to another rep (`admin::handover`), after seeing
//! who owns it now, and assign a selection event to event staff or a venue
//! (`admin::assign_event`).

use axum::Form;
use axum::extract::{Query, State};
use axum::http::Uri;
use axum::response::Response;
use chrono::Utc;
use maud::{Markup, html};
use serde::Deserialize;

use super::{GRANTS, admin_nav, admit_form, confirm_box, done, require_admin};
use crate::admin;
use crate::auth::Role;
use crate::db::accounts::UserRow;
use crate::db::hq::EventLine;
use crate::error::ServerError;
use crate::hq::grant_list::{self, GRANTS as GRANTS_LIST, GrantLine, GrantQuery, SCOPES};
use crate::hq::listing::{ListParams, Page};
use crate::hq::people::Names;
use crate::http::AppState;
use crate::reports::export::{ListCell, ListKind};
use crate::web::error::{InLang, PageError};
use crate::web::forms::required;
use crate::web::i18n::Lang;
use crate::web::layout::{Here, csrf_field, flash, page, url_encode};
use crate::web::list::{ListView, select};
use crate::web::list_file::send_list;
use crate::web::session::WebUser;

/// The page's query: the customer to hand over, and the flash message.
#[derive(Debug, Default, Deserialize)]
pub struct GrantsQuery {
    customer: Option<String>,
    done: Option<String>,
}

/// The customer chosen for a handover: its id, name and owners by id.
struct Chosen {
    id: String,
    name: String,
    owners: Vec<String>,
}

/// What the page shows.
struct GrantsView {
    listed: Page<GrantLine>,
    users: Vec<UserRow>,
    names: Names,
    events: Vec<EventLine>,
    /// The customer asked for: found, or not (`Err` with the id asked for).
    chosen: Option<Result<Chosen, String>>,
}

/// `GET /hq/admin/grants[?customer=<id>]`: the grants held (searched, filtered, sorted,
/// paged), the handover of a customer and the assignment of an event.
pub async fn grants_page(
    State(state): State<AppState>,
    user: WebUser,
    here: Here,
    Query(q): Query<GrantsQuery>,
    Query(query): Query<GrantQuery>,
    Query(params): Query<ListParams>,
) -> Result<Markup, PageError> {
    require_admin(&user)?;
    let lang = user.lang;
    let list = ListView::new(GRANTS, query.pairs(), &params, lang);
    let asked = q.customer.map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
    let view = state
        .hq_read(move |store| {
            let db = store.conn();
            let chosen = asked.map(|id| match crate::hq::customers::detail(db, &id) {
                Ok(file) => Ok(Ok(Chosen {
                    id: file.customer.customer_id,
                    name: file.customer.name,
                    owners: file.customer.owners,
                })),
                Err(ServerError::NotFound) => Ok(Err(id)),
                Err(other) => Err(other),
            });
            Ok(GrantsView {
                listed: GRANTS_LIST.page(&params, || grant_list::grants(db, &query))?,
                users: db.users()?,
                names: Names::load(db)?,
                events: db.projected_events()?,
                chosen: chosen.transpose()?,
            })
        })
        .await
        .in_lang(lang)?;
    let body = html! {
        h1 { (lang.t("授权与移交", "Grants and handover")) }
        (admin_nav(lang, GRANTS))
        (flash(q.done.as_deref()))
        (grants_section(lang, &list, &view))
        (handover_section(&user, &view))
        (assign_section(&user, &view))
    };
    Ok(page(&user, &here, lang.t("授权与移交", "Grants and handover"), body))
}

/// A scope's label.
fn scope_label(lang: Lang, scope: &str) -> String {
    match scope {
        "customer" | "event" | "project" => lang.doc_kind(scope),
        other => other.to_owned(),
    }
}

/// The grants held: search, filters, pager, exports and the table.
fn grants_section(lang: Lang, list: &ListView, view: &GrantsView) -> Markup {
    let scopes: Vec<(String, String)> =
        SCOPES.iter().map(|s| ((*s).to_owned(), scope_label(lang, s))).collect();
    let h = Some(&view.listed);
    html! {
        h2 { (lang.t("现有授权", "Grants held")) }
        form .search #grant-search method="get" action=(GRANTS) {
            input type="search" name="q" id="search" value=(list.filter("q"))
                placeholder=(lang.t("人员、客户或活动", "Person, customer or event"));
            (select("scope", list.filter("scope"), lang.t("全部范围", "Every scope"), &scopes))
            @if !list.filter("user").is_empty() { input type="hidden" name="user" value=(list.filter("user")); }
            (list.kept_fields())
            button type="submit" { (lang.t("筛选", "Filter")) }
            " " a href=(GRANTS) { (lang.t("清除", "Clear")) }
        }
        div .list-bar { (list.pager(&view.listed)) (list.exports()) }
        table #grants {
            tr { (list.header(h, "person", "人员", "Person")) (list.header(h, "role", "角色", "Role")) (list.header(h, "scope", "范围", "Scope")) (list.header(h, "target", "对象", "Granted")) }
            @for g in &view.listed.rows {
                tr data-user-id=(g.user_id) data-scope-key={ (g.scope) "/" (g.target_id) } {
                    td { a href={ (GRANTS) "?user=" (url_encode(&g.user_id)) } { (g.user_name) } }
                    td { (lang.label(&g.role)) } td { (scope_label(lang, &g.scope)) }
                    td { (grant_target(g)) }
                }
            }
        }
        (list.pager_below(&view.listed))
    }
}

fn grant_target(g: &GrantLine) -> Markup {
    let id = url_encode(&g.target_id);
    match g.scope.as_str() {
        "customer" => html! { a href={ "/hq/customers/" (id) } { (g.target_name) } },
        "event" => html! { a href={ "/hq/events?q=" (id) } { (g.target_name) } },
        _ => html! { (g.target_name) },
    }
}

/// `GET /hq/admin/grants.csv` and `.xlsx`: the grants the list shows.
pub async fn grants_file(
    State(state): State<AppState>,
    user: WebUser,
    uri: Uri,
    Query(query): Query<GrantQuery>,
    Query(params): Query<ListParams>,
) -> Result<Response, PageError> {
    require_admin(&user)?;
    let title = user.lang.t("授权", "Grants");
    let filters = query.pairs();
    send_list(&state, &user, &uri, (ListKind::Grants, title), &filters, move |store, lang, _| {
        let rows = GRANTS_LIST.sorted(&params, || grant_list::grants(store.conn(), &query))?;
        Ok(rows
            .into_iter()
            .map(|g| {
                vec![
                    ListCell::Text(g.user_name),
                    ListCell::Text(g.user_id),
                    ListCell::Text(lang.label(&g.role)),
                    ListCell::Text(scope_label(lang, &g.scope)),
                    ListCell::Text(g.target_id),
                    ListCell::Text(g.target_name),
                ]
            })
            .collect())
    })
    .await
}

/// Active users of `roles`, as options of a select.
fn options_of(view: &GrantsView, roles: &[Role]) -> Markup {
    html! {
        @for u in view.users.iter().filter(|u| u.disabled_at.is_none() && roles.contains(&u.role)) {
            option value=(u.user_id) { (u.display_name) " (" (u.user_id) ")" }
        }
    }
}

fn handover_section(user: &WebUser, view: &GrantsView) -> Markup {
    let lang = user.lang;
    html! {
        h2 { (lang.t("移交客户", "Hand a customer over")) }
        p .muted { (lang.t("客户及其工单移交给另一位客户经理：原负责人的设备在下次同步时移除该客户。",
            "The customer and its tickets go to another rep: the previous owners' devices remove it on their next sync.")) }
        form #find-customer method="get" action=(GRANTS) {
            label { (lang.t("客户编号", "Customer id")) " " input name="customer" required; } " "
            button type="submit" { (lang.t("查看现负责人", "Show its owners")) }
        }
        @match &view.chosen {
            Some(Ok(c)) => {
                p #current-owners {
                    a href={ "/hq/customers/" (url_encode(&c.id)) } { (c.name) } " · "
                    (lang.t("现负责人：", "Owners now: "))
                    strong { (view.names.join(&c.owners)) }
                }
                form #handover method="post" action="/hq/admin/grants/handover" {
                    (csrf_field(user))
                    input type="hidden" name="customer" value=(c.id);
                    label { (lang.t("移交给", "Hand over to")) " " select name="to" { (options_of(view, &[Role::Rep])) } } " "
                    (confirm_box(lang.t("确认移交（原负责人失去该客户）", "Confirm: hand over (the owners now lose the customer)")))
                    button type="submit" { (lang.t("移交", "Hand over")) }
                }
            }
            Some(Err(id)) => p .error { (lang.t("没有此客户：", "No such customer: ")) (id) },
            None => {}
        }
    }
}

fn assign_section(user: &WebUser, view: &GrantsView) -> Markup {
    let lang = user.lang;
    html! {
        h2 { (lang.t("分配选房活动", "Assign a selection event")) }
        @if view.events.is_empty() {
            p .muted { (lang.t("暂无选房活动。", "No selection event yet.")) }
        } @else {
            form #assign-event method="post" action="/hq/admin/grants/assign" {
                (csrf_field(user))
                label { (lang.t("活动", "Event")) " " select name="event" {
                    @for e in &view.events { option value=(e.event_id) { (e.name) " (" (e.event_id) ")" } }
                } } " "
                label { (lang.t("人员", "Person")) " " select name="user_id" { (options_of(view, &[Role::EventStaff, Role::Venue])) } } " "
                (confirm_box(lang.t("确认授权该活动及其项目", "Confirm: grant the event and its project")))
                button type="submit" { (lang.t("分配", "Assign")) }
            }
        }
    }
}

/// The handover and assignment forms.
#[derive(Debug, Deserialize)]
pub struct GrantForm {
    #[serde(default)]
    csrf: String,
    confirm: Option<String>,
    customer: Option<String>,
    to: Option<String>,
    event: Option<String>,
    user_id: Option<String>,
}

/// `POST /hq/admin/grants/handover`.
pub async fn handover(
    State(state): State<AppState>,
    user: WebUser,
    Form(form): Form<GrantForm>,
) -> Result<Response, PageError> {
    let lang = user.lang;
    admit_form(&user, &form.csrf, form.confirm.as_deref(), "hand the customer over")?;
    let customer = required(&form.customer, "customer").in_lang(lang)?.to_owned();
    let to = required(&form.to, "to").in_lang(lang)?.to_owned();
    let (actor, id) = (user.user_id.clone(), customer.clone());
    state
        .with_store(move |store| {
            let now = Utc::now();
            let handed = admin::handover(store, &actor, &id, &to, now)?;
            // Headquarters' pages show the new owner at once, not after the projector.
            store.project_all(now)?;
            Ok(handed)
        })
        .await
        .in_lang(lang)?;
    // The previous owners' open streams stop seeing the customer now.
    super::credentials_changed(&state);
    state.projector.wake();
    let back = format!("{GRANTS}?customer={}", url_encode(&customer));
    Ok(done(&back, lang.t("已移交。", "Handed over.")))
}

/// `POST /hq/admin/grants/assign`: grants the event and its project to the person.
pub async fn assign_event(
    State(state): State<AppState>,
    user: WebUser,
    Form(form): Form<GrantForm>,
) -> Result<Response, PageError> {
    let lang = user.lang;
    admit_form(&user, &form.csrf, form.confirm.as_deref(), "assign the event")?;
    let event = required(&form.event, "event").in_lang(lang)?.to_owned();
    let person = required(&form.user_id, "user_id").in_lang(lang)?.to_owned();
    let actor = user.user_id.clone();
    state
        .with_store(move |store| assign_checked(store, &actor, &event, &person))
        .await
        .in_lang(lang)?;
    super::credentials_changed(&state);
    Ok(done(GRANTS, lang.t("已分配。", "Assigned.")))
}

/// Assigns `event` to `person` after checking both: the event exists (its project comes from
/// it) and the person is active event staff or a venue.
fn assign_checked(
    store: &mut crate::store::Store,
    actor: &str,
    event: &str,
    person: &str,
) -> Result<(), ServerError> {
    let project = crate::hq::events::selection_events(store.conn(), store.desk())?
        .into_iter()
        .find(|e| e.event_id == event)
        .ok_or(ServerError::NotFound)?
        .project_id;
    match store.conn().user_role(person)? {
        Some(Role::EventStaff | Role::Venue) => {}
        _ => {
            let reason = format!("{person} is not active event staff or a venue");
            return Err(ServerError::Invalid { field: "user_id", reason });
        }
    }
    admin::assign_event(store, actor, event, &project, person, Utc::now())
}

//! `/hq/admin/users`: every user with their role, and the forms that add a user, change a
//! role and set a password (`admin::add_user`, `admin::set_role`, `admin::set_password_hash`).

use axum::Form;
use axum::extract::{Query, State};
use axum::http::Uri;
use axum::response::Response;
use chrono::Utc;
use maud::{Markup, html};
use serde::Deserialize;

use super::{USERS, admin_nav, admit_form, confirm_box, done, require_admin, role_options};
use crate::admin;
use crate::auth::Role;
use crate::db::accounts::UserRow;
use crate::error::ServerError;
use crate::hq::listing::{ListParams, Page};
use crate::hq::user_list::{self, UserQuery};
use crate::http::AppState;
use crate::reports::export::{ListCell, ListKind};
use crate::web::error::{InLang, PageError};
use crate::web::forms::{Flash, required, text};
use crate::web::i18n::Lang;
use crate::web::layout::{Here, csrf_field, flash, page, zoned};
use crate::web::list::{ListView, select};
use crate::web::list_file::send_list;
use crate::web::session::{MIN_PASSWORD_CHARS, WebUser};

/// What the users page shows: a page of the list, and every user for the forms.
struct UsersView {
    listed: Page<UserRow>,
    users: Vec<UserRow>,
    policy: kam_core::Policy,
}

/// `GET /hq/admin/users`.
pub async fn users_page(
    State(state): State<AppState>,
    user: WebUser,
    here: Here,
    Query(flash_msg): Query<Flash>,
    Query(query): Query<UserQuery>,
    Query(params): Query<ListParams>,
) -> Result<Markup, PageError> {
    require_admin(&user)?;
    let lang = user.lang;
    let list = ListView::new(USERS, query.pairs(), &params, lang);
    let view = state
        .hq_read(move |store| {
            let listed = user_list::page(store.conn(), &query, &params)?;
            let (users, policy) = (store.conn().users()?, store.policy().clone());
            Ok(UsersView { listed, users, policy })
        })
        .await
        .in_lang(lang)?;
    let body = html! {
        h1 { (lang.t("用户", "Users")) }
        (admin_nav(lang, USERS))
        (flash(flash_msg.done.as_deref()))
        (user_search(&list, lang))
        div .list-bar { (list.pager(&view.listed)) (list.exports()) }
        (users_table(lang, &list, &view))
        (list.pager_below(&view.listed))
        (add_form(&user))
        (role_form(&user, &view.users))
        (password_form(&user, &view.users))
    };
    Ok(page(&user, &here, lang.t("用户管理", "Users"), body))
}

/// The user list's search form: text, role and state.
fn user_search(list: &ListView, lang: Lang) -> Markup {
    let roles: Vec<(String, String)> =
        Role::ALL.iter().map(|r| (r.as_str().to_owned(), lang.label(r.as_str()))).collect();
    let states = [
        ("active".to_owned(), lang.t("有效", "active").to_owned()),
        ("disabled".to_owned(), lang.t("已停用", "disabled").to_owned()),
    ];
    html! {
        form .search #user-search method="get" action=(USERS) {
            input type="search" name="q" id="search" value=(list.filter("q"))
                placeholder=(lang.t("姓名或用户名", "Name or user id"));
            (select("role", list.filter("role"), lang.t("全部角色", "All roles"), &roles))
            (select("state", list.filter("state"), lang.t("全部状态", "Any state"), &states))
            (list.kept_fields())
            button type="submit" { (lang.t("筛选", "Filter")) }
            " " a href=(USERS) { (lang.t("清除", "Clear")) }
        }
    }
}

/// `GET /hq/admin/users.csv` and `.xlsx`: every user the list shows under its filters and
/// sort.
pub async fn users_file(
    State(state): State<AppState>,
    user: WebUser,
    uri: Uri,
    Query(query): Query<UserQuery>,
    Query(params): Query<ListParams>,
) -> Result<Response, PageError> {
    require_admin(&user)?;
    let title = user.lang.t("用户", "Users");
    let filters = query.pairs();
    let kind = (ListKind::Users, title);
    send_list(&state, &user, &uri, kind, &filters, move |store, lang, _| {
        let policy = store.policy();
        let rows = user_list::sorted(store.conn(), &query, &params)?;
        Ok(rows.iter().map(|u| user_cells(lang, policy, u)).collect())
    })
    .await
}

fn user_cells(lang: Lang, policy: &kam_core::Policy, u: &UserRow) -> Vec<ListCell> {
    vec![
        ListCell::Text(u.display_name.clone()),
        ListCell::Text(u.user_id.clone()),
        ListCell::Text(lang.label(u.role.as_str())),
        ListCell::Text(zoned(policy, &u.created_at)),
        ListCell::Text(u.disabled_at.as_deref().map(|at| zoned(policy, at)).unwrap_or_default()),
    ]
}

fn users_table(lang: Lang, list: &ListView, view: &UsersView) -> Markup {
    let p = Some(&view.listed);
    html! {
        table #users {
            tr { (list.header(p, "name", "姓名", "Name")) (list.header(p, "user", "用户名", "User id")) (list.header(p, "role", "角色", "Role")) (list.header(p, "created", "创建时间", "Created")) th { (lang.t("状态", "State")) } }
            @for u in &view.listed.rows {
                tr data-user-id=(u.user_id) data-role=(u.role.as_str()) {
                    td { (u.display_name) } td { (u.user_id) } td { (lang.label(u.role.as_str())) }
                    td { (zoned(&view.policy, &u.created_at)) }
                    td { @match &u.disabled_at {
                        Some(at) => span .error { (lang.t("已停用", "disabled")) " " (zoned(&view.policy, at)) },
                        None => (lang.t("有效", "active")),
                    } }
                }
            }
        }
    }
}

fn user_options(users: &[UserRow]) -> Markup {
    html! {
        @for u in users.iter().filter(|u| u.disabled_at.is_none()) {
            option value=(u.user_id) { (u.display_name) " (" (u.user_id) ")" }
        }
    }
}

fn add_form(user: &WebUser) -> Markup {
    let lang = user.lang;
    html! {
        h2 { (lang.t("新增用户", "Add a user")) }
        form #add-user method="post" action=(USERS) {
            (csrf_field(user))
            label { (lang.t("用户名（登录名）", "User id (sign-in name)")) " " input name="user_id" required maxlength="64"; } " "
            label { (lang.t("姓名", "Name")) " " input name="name" required; } " "
            label { (lang.t("角色", "Role")) " " select name="role" { (role_options(lang, Some(Role::Rep))) } } " "
            (confirm_box(lang.t("确认新增此用户", "Confirm: add this user")))
            button type="submit" { (lang.t("新增", "Add")) }
        }
    }
}

fn role_form(user: &WebUser, users: &[UserRow]) -> Markup {
    let lang = user.lang;
    html! {
        h2 { (lang.t("调整角色", "Change a role")) }
        form #set-role method="post" action="/hq/admin/users/role" {
            (csrf_field(user))
            label { (lang.t("用户", "User")) " " select name="user_id" { (user_options(users)) } } " "
            label { (lang.t("新角色", "New role")) " " select name="role" { (role_options(lang, None)) } } " "
            (confirm_box(lang.t("确认调整角色（立即生效）", "Confirm: change the role (at once)")))
            button type="submit" { (lang.t("调整", "Change")) }
        }
    }
}

fn password_form(user: &WebUser, users: &[UserRow]) -> Markup {
    let lang = user.lang;
    html! {
        h2 { (lang.t("设置登录密码", "Set a dashboard password")) }
        p .muted { (lang.t("至少", "At least ")) (MIN_PASSWORD_CHARS) (lang.t(" 个字符；密码只保存其哈希，不会再显示。", " characters; only its hash is kept and it is never shown again.")) }
        form #set-password method="post" action="/hq/admin/users/password" {
            (csrf_field(user))
            label { (lang.t("用户", "User")) " " select name="user_id" { (user_options(users)) } } " "
            label { (lang.t("新密码", "New password")) " " input type="password" name="password" autocomplete="new-password" required minlength=(MIN_PASSWORD_CHARS); } " "
            (confirm_box(lang.t("确认设置此密码", "Confirm: set this password")))
            button type="submit" { (lang.t("设置", "Set")) }
        }
    }
}

/// The users page's forms (each uses the fields it needs).
#[derive(Debug, Deserialize)]
pub struct UserForm {
    #[serde(default)]
    csrf: String,
    confirm: Option<String>,
    user_id: Option<String>,
    name: Option<String>,
    role: Option<String>,
    password: Option<String>,
}

fn role_field(form: &UserForm) -> Result<Role, ServerError> {
    let code = required(&form.role, "role")?;
    Role::parse(code).ok_or_else(|| ServerError::Invalid {
        field: "role",
        reason: format!("unknown role {code}"),
    })
}

/// `POST /hq/admin/users`: adds a user.
pub async fn add_user(
    State(state): State<AppState>,
    user: WebUser,
    Form(form): Form<UserForm>,
) -> Result<Response, PageError> {
    let lang = user.lang;
    admit_form(&user, &form.csrf, form.confirm.as_deref(), "add the user")?;
    let user_id = required(&form.user_id, "user_id").in_lang(lang)?.to_owned();
    let name = match text(&form.name) {
        name if name.is_empty() => user_id.clone(),
        name => name,
    };
    let role = role_field(&form).in_lang(lang)?;
    let actor = user.user_id.clone();
    let id = user_id.clone();
    state
        .with_store(move |store| admin::add_user(store, &actor, &id, &name, role, Utc::now()))
        .await
        .in_lang(lang)?;
    Ok(done(USERS, lang.t("已新增用户。", "User added.")))
}

/// `POST /hq/admin/users/role`: changes a user's role; their devices' and sessions' open
/// streams check their credential again at once.
pub async fn set_role(
    State(state): State<AppState>,
    user: WebUser,
    Form(form): Form<UserForm>,
) -> Result<Response, PageError> {
    let lang = user.lang;
    admit_form(&user, &form.csrf, form.confirm.as_deref(), "change the role")?;
    let user_id = required(&form.user_id, "user_id").in_lang(lang)?.to_owned();
    let role = role_field(&form).in_lang(lang)?;
    let actor = user.user_id.clone();
    state
        .with_store(move |store| admin::set_role(store, &actor, &user_id, role, Utc::now()))
        .await
        .in_lang(lang)?;
    super::credentials_changed(&state);
    Ok(done(USERS, lang.t("角色已调整。", "Role changed.")))
}

/// `POST /hq/admin/users/password`: sets a user's password (never echoed). The slow hash is
/// computed before the store is taken, on a blocking thread.
pub async fn set_password(
    State(state): State<AppState>,
    user: WebUser,
    Form(form): Form<UserForm>,
) -> Result<Response, PageError> {
    let lang = user.lang;
    admit_form(&user, &form.csrf, form.confirm.as_deref(), "set the password")?;
    let user_id = required(&form.user_id, "user_id").in_lang(lang)?.to_owned();
    // Not trimmed: spaces may be part of a password.
    let password = form.password.unwrap_or_default();
    let hash = tokio::task::spawn_blocking(move || admin::hash_new_password(&password))
        .await
        .map_err(|e| ServerError::Corrupt(format!("password hashing stopped: {e}")))
        .and_then(|hashed| hashed)
        .in_lang(lang)?;
    let actor = user.user_id.clone();
    state
        .with_store(move |store| {
            admin::set_password_hash(store, &actor, &user_id, &hash, Utc::now())
        })
        .await
        .in_lang(lang)?;
    Ok(done(USERS, lang.t("密码已设置。", "Password set.")))
}

//! The administrator's pages: users (add, role, password), grants and handover, and the sales
//! import; with the devices page (`web::devices`: enrol, revoke) they replace the command
//! line's `kam-server admin …` for the everyday work. Every page calls the same function of
//! `crate::admin` as the command line, with the signed-in user as the audit log's actor; every
//! form carries the session's CSRF token and a ticked confirmation; only the `admin` role may
//! open these pages or send their forms (anyone else gets the localized forbidden page).

pub mod grants;
pub mod sales;
pub mod users;

#[cfg(test)]
mod tests;

use axum::Router;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};

use super::error::{PageError, Refusal};
use super::i18n::Lang;
use super::layout::url_encode;
use super::session::WebUser;
use crate::auth::Role;
use crate::http::AppState;

/// The users page.
pub const USERS: &str = "/hq/admin/users";
/// The grants and handover page.
pub const GRANTS: &str = "/hq/admin/grants";
/// The sales import page.
pub const SALES: &str = "/hq/admin/sales";
/// The devices page (`web::devices`), one of the administrator's pages.
pub const DEVICES: &str = "/hq/devices";

/// The administrator's routes (the devices page's forms are in `web::devices`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/hq/admin/users", get(users::users_page).post(users::add_user))
        .route("/hq/admin/users.csv", get(users::users_file))
        .route("/hq/admin/users.xlsx", get(users::users_file))
        .route("/hq/admin/users/role", post(users::set_role))
        .route("/hq/admin/users/password", post(users::set_password))
        .route("/hq/admin/grants", get(grants::grants_page))
        .route("/hq/admin/grants.csv", get(grants::grants_file))
        .route("/hq/admin/grants.xlsx", get(grants::grants_file))
        .route("/hq/admin/grants/handover", post(grants::handover))
        .route("/hq/admin/grants/assign", post(grants::assign_event))
        .route("/hq/admin/sales", get(sales::sales_page).post(sales::import))
}

/// Whether `user` may administer users, devices, grants and the sales import.
pub fn is_admin(user: &WebUser) -> bool {
    user.role == Role::Admin
}

/// The forbidden page unless `user` is an administrator.
pub fn require_admin(user: &WebUser) -> Result<(), PageError> {
    if is_admin(user) { Ok(()) } else { Err(user.refuse(Refusal::Role)) }
}

/// The checks every administrator's form passes before anything else is read: the role,
/// then the session's CSRF token, then the ticked confirmation to `what`.
pub fn admit_form(
    user: &WebUser,
    csrf: &str,
    confirm: Option<&str>,
    what: &str,
) -> Result<(), PageError> {
    require_admin(user)?;
    user.check_csrf(csrf)?;
    super::forms::confirmed(confirm, user.lang, what)
}

/// Credentials may have ended or narrowed (a device revoked, a role changed): the remembered
/// tokens are forgotten and every open stream checks its credential again now, instead of at
/// the credential watcher's next read (`http::edge::epoch`).
pub fn credentials_changed(state: &AppState) {
    state.edge().tokens.forget_all();
    state.edge().epoch.bump();
}

/// Back to `path` (which may carry a query) with `message` as the flash message.
pub fn done(path: &str, message: &str) -> Response {
    let join = if path.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{path}{join}done={}", url_encode(message))).into_response()
}

/// The links between the administrator's pages, `here` marked.
pub fn admin_nav(lang: Lang, here: &str) -> Markup {
    let pages = [
        (USERS, lang.t("用户", "Users")),
        (DEVICES, lang.t("设备", "Devices")),
        (GRANTS, lang.t("授权与移交", "Grants and handover")),
        (SALES, lang.t("销售导入", "Sales import")),
    ];
    html! {
        nav #admin-nav {
            @for (href, label) in pages {
                a href=(href) class=[(href == here).then_some("active")] { (label) } " "
            }
        }
    }
}

/// The ticked confirmation every administrator's form carries, saying what it confirms.
pub fn confirm_box(text: &str) -> Markup {
    html! { label .confirm { input type="checkbox" name="confirm" value="yes"; " " (text) } }
}

/// The role choices of a form's select, `selected` chosen.
pub fn role_options(lang: Lang, selected: Option<Role>) -> Markup {
    html! {
        @for role in Role::ALL {
            option value=(role.as_str()) selected[Some(role) == selected] { (lang.label(role.as_str())) }
        }
    }
}

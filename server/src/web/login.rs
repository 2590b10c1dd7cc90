//! Signing in and out, and the language switch.

use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use maud::{Markup, html};
use serde::Deserialize;

use super::error::{InLang, PageError};
use super::i18n::Lang;
use super::layout::{self, url_encode};
use super::security::{local_path, redirect_local};
use super::session::{self, LANG_COOKIE, SESSION_COOKIE, SESSION_TTL_S};
use crate::http::AppState;

/// The sign-in form's query: where to go afterwards.
#[derive(Debug, Default, Deserialize)]
pub struct Next {
    next: Option<String>,
}

/// The submitted sign-in form.
#[derive(Debug, Deserialize)]
pub struct Credentials {
    user: String,
    password: String,
    next: Option<String>,
}

/// Only a local path is a safe place to send someone after signing in.
fn safe_next(next: Option<&str>) -> String {
    local_path(next, "/hq")
}

fn form(lang: Lang, next: &str, user: &str, error: Option<&str>) -> Markup {
    // The language switch comes back to this form, still going to `next` afterwards.
    let back = url_encode(&format!("/login?next={}", url_encode(next)));
    layout::bare(
        lang,
        lang.t("登录", "Sign in"),
        html! {
            h1 { "KAM · " (lang.t("大客户管理 总部", "Key accounts · Headquarters")) }
            p {
                a #lang-zh href={ "/lang/zh?back=" (back) } { "中文" } " · "
                a #lang-en href={ "/lang/en?back=" (back) } { "English" }
            }
            @if let Some(e) = error { p .error { (e) } }
            form method="post" action="/login" {
                input type="hidden" name="next" value=(next);
                p { label { (lang.t("用户名", "User")) " " input name="user" value=(user) autocomplete="username" required; } }
                p { label { (lang.t("密码", "Password")) " " input name="password" type="password" autocomplete="current-password" required; } }
                button type="submit" { (lang.t("登录", "Sign in")) }
            }
        },
    )
}

/// The longest user name read from the sign-in form.
const MAX_USER_CHARS: usize = 64;

/// The longest password checked (Argon2 hashes any length; a megabyte of it would be work
/// for nothing).
const MAX_PASSWORD_CHARS: usize = 1_024;

/// A password hash of nothing anyone knows, made once, for unknown users.
fn decoy_hash() -> Option<&'static str> {
    static DECOY: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| session::hash_password("no user has this password").ok()).as_deref()
}

/// `GET /login`.
pub async fn login_page(headers: HeaderMap, q: Result<Query<Next>, QueryRejection>) -> Markup {
    let next = q.ok().and_then(|Query(q)| q.next);
    form(session::lang_of(&headers), &safe_next(next.as_deref()), "", None)
}

/// `POST /login`: checks the password off the store's lock (Argon2 is slow on purpose),
/// then opens a session. Attempts are limited per source address and per user name (known
/// or not), and password checks run a few at a time: a flood of sign-ins gets 429 or 503, not
/// the server's memory.
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    request_parts: axum::http::Extensions,
    Form(c): Form<Credentials>,
) -> Result<Response, PageError> {
    let lang = session::lang_of(&headers);
    let next = safe_next(c.next.as_deref());
    let user: String = c.user.trim().chars().take(MAX_USER_CHARS).collect();
    let address = crate::http::edge::caller::source_address(&request_parts);
    state.edge().rates.login(address, &user).in_lang(lang)?;
    let lookup = user.clone();
    let stored =
        state.readers().read(move |c| session::credentials(c.db(), &lookup)).await.in_lang(lang)?;
    let password: String = c.password.chars().take(MAX_PASSWORD_CHARS).collect();
    let ok = state
        .edge()
        .passwords
        .check(move || match stored {
            Some((hash, _)) => session::verify_password(&hash, &password),
            None => {
                // An unknown user costs one hash check too, so the answer's timing does not
                // tell which user names exist.
                if let Some(decoy) = decoy_hash() {
                    session::verify_password(decoy, &password);
                }
                false
            }
        })
        .await
        .in_lang(lang)?;
    if !ok {
        tracing::info!("dashboard sign-in refused");
        let page =
            form(lang, &next, &user, Some(lang.t("用户名或密码错误。", "Wrong user or password.")));
        return Ok((StatusCode::UNAUTHORIZED, page).into_response());
    }
    let token = state
        .with_store(move |store| session::create_session(store.conn(), &user, Utc::now()))
        .await
        .in_lang(lang)?;
    let secure = state.web.cookie_secure();
    let cookie = format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={SESSION_TTL_S}{secure}"
    );
    Ok(([(header::SET_COOKIE, cookie)], redirect_local(Some(&next), "/hq")).into_response())
}

/// The sign-out form: only the session's CSRF token.
#[derive(Debug, Default, Deserialize)]
pub struct LogoutForm {
    csrf: Option<String>,
}

/// `POST /logout`: ends the session and clears the cookie. A live session ends only with its
/// CSRF token (a wrong or missing one gets the forbidden page and the session stays), so
/// another site cannot sign anyone out; without a live session there is nothing to protect.
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<LogoutForm>, FormRejection>,
) -> Result<Response, PageError> {
    let lang = session::lang_of(&headers);
    let submitted = form.ok().and_then(|Form(f)| f.csrf).unwrap_or_default();
    if let Some(user) = session::signed_in(&state, &headers).await.in_lang(lang)? {
        user.check_csrf(&submitted)?;
        if let Some(token) = session::cookie(&headers, SESSION_COOKIE) {
            state
                .with_store(move |store| session::end_session(store.conn(), &token))
                .await
                .in_lang(lang)?;
            // The session's open streams (the live board) end now, not at their next read.
            state.edge().epoch.bump();
        }
    }
    let secure = state.web.cookie_secure();
    let clear = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}");
    Ok(([(header::SET_COOKIE, clear)], redirect_local(Some("/login"), "/login")).into_response())
}

/// The language switch's query.
#[derive(Debug, Default, Deserialize)]
pub struct Back {
    back: Option<String>,
}

/// `GET /lang/{code}`: remembers the language for a year and goes back to the page the link
/// was on (a local path only, see `security::local_path`).
pub async fn switch_lang(
    State(state): State<AppState>,
    axum::extract::Path(code): axum::extract::Path<String>,
    q: Result<Query<Back>, QueryRejection>,
) -> Response {
    // A query that does not even parse is no place to go back to.
    let back = q.ok().and_then(|Query(q)| q.back);
    let lang = Lang::from_code(Some(&code));
    let secure = state.web.cookie_secure();
    let cookie =
        format!("{LANG_COOKIE}={}; Path=/; SameSite=Lax; Max-Age=31536000{secure}", lang.code());
    ([(header::SET_COOKIE, cookie)], redirect_local(back.as_deref(), "/hq")).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(safe_next(Some("/hq/customers")), "/hq/customers");
        assert_eq!(safe_next(Some("//evil.example")), "/hq");
        assert_eq!(safe_next(Some("https://evil.example")), "/hq");
        assert_eq!(safe_next(Some("/\\evil")), "/hq");
        assert_eq!(safe_next(None), "/hq");
    }
}

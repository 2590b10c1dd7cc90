//! Signing in and out, and the language switch.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use maud::{Markup, html};
use serde::Deserialize;

use super::error::{InLang, PageError};
use super::i18n::Lang;
use super::layout;
use super::session::{self, LANG_COOKIE, SESSION_COOKIE, SESSION_TTL_S};
use crate::state::AppState;

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
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/hq".to_owned(),
    }
}

fn form(lang: Lang, next: &str, user: &str, error: Option<&str>) -> Markup {
    layout::bare(
        lang,
        lang.t("登录", "Sign in"),
        html! {
            h1 { "KAM · " (lang.t("大客户管理 总部", "Key accounts · Headquarters")) }
            p {
                a #lang-zh href={ "/lang/zh?back=/login" } { "中文" } " · "
                a #lang-en href={ "/lang/en?back=/login" } { "English" }
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

/// A password hash of nothing anyone knows, made once, for unknown users.
fn decoy_hash() -> Option<&'static str> {
    static DECOY: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| session::hash_password("no user has this password").ok()).as_deref()
}

/// `GET /login`.
pub async fn login_page(headers: HeaderMap, Query(q): Query<Next>) -> Markup {
    form(session::lang_of(&headers), &safe_next(q.next.as_deref()), "", None)
}

/// `POST /login`: checks the password off the store's lock (Argon2 is slow on purpose),
/// then opens a session.
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(c): Form<Credentials>,
) -> Result<Response, PageError> {
    let lang = session::lang_of(&headers);
    let next = safe_next(c.next.as_deref());
    let user = c.user.trim().to_owned();
    let lookup = user.clone();
    let stored = state
        .with_store(move |store| session::credentials(store.conn(), &lookup))
        .await
        .in_lang(lang)?;
    let password = c.password;
    let ok = tokio::task::spawn_blocking(move || match stored {
        Some((hash, _)) => session::verify_password(&hash, &password),
        None => {
            // An unknown user costs one hash check too, so the answer's timing does not tell
            // which user names exist.
            if let Some(decoy) = decoy_hash() {
                session::verify_password(decoy, &password);
            }
            false
        }
    })
    .await
    .map_err(|e| PageError::Server(e.into(), lang))?;
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
    let cookie = format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={SESSION_TTL_S}"
    );
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response())
}

/// `POST /logout`: ends the session (if any) and clears the cookie.
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let lang = session::lang_of(&headers);
    if let Some(token) = session::cookie(&headers, SESSION_COOKIE) {
        state
            .with_store(move |store| session::end_session(store.conn(), &token))
            .await
            .in_lang(lang)?;
    }
    let clear = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    Ok(([(header::SET_COOKIE, clear)], Redirect::to("/login")).into_response())
}

/// The language switch's query.
#[derive(Debug, Default, Deserialize)]
pub struct Back {
    back: Option<String>,
}

/// `GET /lang/{code}`: remembers the language for a year and goes back.
pub async fn switch_lang(
    axum::extract::Path(code): axum::extract::Path<String>,
    Query(q): Query<Back>,
) -> Response {
    let lang = Lang::from_code(Some(&code));
    let cookie = format!("{LANG_COOKIE}={}; Path=/; SameSite=Lax; Max-Age=31536000", lang.code());
    ([(header::SET_COOKIE, cookie)], Redirect::to(&safe_next(q.back.as_deref()))).into_response()
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

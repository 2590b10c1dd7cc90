//! How a dashboard request fails: as a page a person can read, never as JSON.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

use super::i18n::Lang;
use super::layout;
use crate::error::ServerError;

/// A dashboard request that cannot be served as asked.
#[derive(Debug)]
pub enum PageError {
    /// Nobody is signed in: go to the sign-in page, then back to `next`.
    SignIn {
        /// The page asked for.
        next: String,
    },
    /// The signed-in user's role may not open this page (or the form's CSRF token is wrong).
    Forbidden(Lang),
    /// The server failed or refused the input.
    Server(ServerError, Lang),
}

/// Turns a store or query failure into the error page, in the reader's language.
pub trait InLang<T> {
    /// The result, or the error page for its error.
    fn in_lang(self, lang: Lang) -> Result<T, PageError>;
}

impl<T> InLang<T> for Result<T, ServerError> {
    fn in_lang(self, lang: Lang) -> Result<T, PageError> {
        self.map_err(|e| PageError::Server(e, lang))
    }
}

impl From<(ServerError, Lang)> for PageError {
    fn from((error, lang): (ServerError, Lang)) -> Self {
        PageError::Server(error, lang)
    }
}

/// The localized error page for `status` with the stable error `code`.
pub fn error_page(lang: Lang, status: StatusCode, code: &str) -> Response {
    let title = match status {
        StatusCode::NOT_FOUND => lang.t("未找到", "Not found"),
        s if s.is_server_error() => lang.t("出错了", "Something went wrong"),
        _ => lang.t("无法完成", "Could not be done"),
    };
    let body = html! {
        h1 .error-title { (title) }
        p .error { (code) }
        p { a href="/hq" { (lang.t("返回总览", "Back to the overview")) } }
    };
    (status, layout::bare(lang, title, body)).into_response()
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::SignIn { next } => {
                let next = if next.starts_with('/') && !next.starts_with("//") {
                    next
                } else {
                    "/hq".into()
                };
                Redirect::to(&format!("/login?next={}", layout::url_encode(&next))).into_response()
            }
            PageError::Forbidden(lang) => {
                let body = html! {
                    h1 #forbidden { (lang.t("无权访问", "Access denied")) }
                    p { (lang.t("您的角色不能打开总部页面。", "Your role may not open headquarters' pages.")) }
                    form method="post" action="/logout" { button type="submit" { (lang.t("退出登录", "Sign out")) } }
                };
                (
                    StatusCode::FORBIDDEN,
                    layout::bare(lang, lang.t("无权访问", "Access denied"), body),
                )
                    .into_response()
            }
            PageError::Server(error, lang) => {
                let status = error.status();
                let message = if status.is_server_error() {
                    tracing::error!(%error, "dashboard request failed");
                    lang.t(
                        "服务器内部错误，请稍后再试。",
                        "Internal error; please try again later.",
                    )
                    .to_owned()
                } else {
                    error.to_string()
                };
                let title = match status {
                    StatusCode::NOT_FOUND => lang.t("未找到", "Not found"),
                    s if s.is_server_error() => lang.t("出错了", "Something went wrong"),
                    _ => lang.t("无法完成", "Could not be done"),
                };
                let body = html! {
                    h1 .error-title { (title) }
                    p .error { (message) }
                    p { a href="/hq" { (lang.t("返回总览", "Back to the overview")) } }
                };
                (status, layout::bare(lang, title, body)).into_response()
            }
        }
    }
}

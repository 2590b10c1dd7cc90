//! How a dashboard request fails: as a page a person can read, in their language, with the
//! navigation, never as JSON and never with the server's English detail.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

use super::i18n::Lang;
use super::layout::{self, url_encode};
use super::security::local_path;
use crate::error::ServerError;

/// Why the forbidden page is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The signed-in user's role may not open headquarters' pages.
    Role,
    /// The signed-in user's role does not work at this station of the selection day.
    Station,
    /// The signed-in event staff are not assigned to this event.
    NotThisEvent,
    /// A posted form's CSRF token is wrong or missing (a stale page, or a forged post).
    StaleForm,
    /// A field rep signed in to the dashboard: reps work in the tablet app.
    RepUsesTablet,
    /// A venue server's account signed in to the dashboard: it is the venue server's own.
    VenueUsesServer,
}

/// A dashboard request that cannot be served as asked.
#[derive(Debug)]
pub enum PageError {
    /// Nobody is signed in: go to the sign-in page, then back to `next`.
    SignIn {
        /// The page asked for (path and query).
        next: String,
    },
    /// The request is refused (403).
    Forbidden {
        /// The reader's language.
        lang: Lang,
        /// The session's CSRF token when someone is signed in, so the page's sign-out form
        /// carries it.
        csrf: Option<String>,
        /// Why.
        why: Refusal,
    },
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

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::SignIn { next } => {
                let next = local_path(Some(&next), "/hq");
                Redirect::to(&format!("/login?next={}", url_encode(&next))).into_response()
            }
            PageError::Forbidden { lang, csrf, why } => forbidden_page(lang, csrf.as_deref(), why),
            PageError::Server(error, lang) => {
                let status = error.status();
                if status.is_server_error() {
                    tracing::error!(%error, "dashboard request failed");
                } else {
                    // The detail is English and technical: it goes to the log, the page says
                    // what the code means in the reader's language.
                    tracing::info!(%error, "dashboard request refused");
                }
                let mut page = error_page(lang, status, error.code());
                error.add_retry_after(&mut page);
                page
            }
        }
    }
}

fn forbidden_page(lang: Lang, csrf: Option<&str>, why: Refusal) -> Response {
    let title = lang.t("无权访问", "Access denied");
    let message = match why {
        Refusal::Role => {
            lang.t("您的角色不能打开总部页面。", "Your role may not open headquarters' pages.")
        }
        Refusal::Station => lang.t(
            "您的角色不在此岗位工作：选房台属于现场工作人员，财务台属于财务。",
            "Your role does not work at this station: the desk is event staff's, the finance console finance's.",
        ),
        Refusal::NotThisEvent => lang.t(
            "您没有被分配到此选房活动。",
            "You are not assigned to this selection event.",
        ),
        Refusal::StaleForm => lang.t(
            "表单已失效（安全令牌不符），请返回页面后重试。",
            "The form has expired (its security token does not match); go back to the page and try again.",
        ),
        Refusal::RepUsesTablet => lang.t(
            "客户经理请使用平板应用工作：拜访、客户档案和工单都在平板上，网页端只供总部、财务和选房现场使用。",
            "Reps work in the tablet app: visits, customer files and tickets are there; these pages are for headquarters, finance and the selection day's staff.",
        ),
        Refusal::VenueUsesServer => lang.t(
            "现场服务器账号只供现场服务器使用：它为现场的平板和选房台与总部同步，不登录网页端。",
            "Venue accounts are for the venue server: it syncs the venue's tablets and desk with headquarters and does not sign in to these pages.",
        ),
    };
    let code = match why {
        Refusal::Role => "forbidden",
        Refusal::Station => "wrong_station",
        Refusal::NotThisEvent => "not_this_event",
        Refusal::StaleForm => "stale_form",
        Refusal::RepUsesTablet => "rep_uses_tablet",
        Refusal::VenueUsesServer => "venue_uses_server",
    };
    let body = html! {
        div .error-page data-code=(code) {
            h1 #forbidden { (title) }
            p .error { (message) }
            p {
                a #back-to-overview href="/hq" { (lang.t("返回总览", "Back to the overview")) }
                " · "
                a #to-console href="/console" { (lang.t("选房控制台", "Selection consoles")) }
            }
        }
    };
    (StatusCode::FORBIDDEN, layout::public(lang, title, csrf, body)).into_response()
}

/// The error page for an answer with `status` and the stable error `code` (the codes of
/// `ServerError`, plus those the request layer answers with): a title and a message chosen
/// by the code in the reader's language, with the navigation and a link back to the
/// overview. An unknown code is explained by its status class. Used by `PageError` and by
/// the middleware that turns any error on a page path into a page.
pub fn error_page(lang: Lang, status: StatusCode, code: &str) -> Response {
    let (title, message) = explain(lang, status, code);
    let body = html! {
        div #error .error-page data-code=(code) data-status=(status.as_u16()) {
            h1 .error-title { (title) }
            p .error { (message) }
            p .status { (lang.t("状态码", "Status")) " " (status.as_u16()) }
            p { a #back-to-overview href="/hq" { (lang.t("返回总览", "Back to the overview")) } }
        }
    };
    (status, layout::public(lang, title, None, body)).into_response()
}

/// Chinese and English words for a title or a message.
type Words = (&'static str, &'static str);

/// What each stable error code means to a reader: (code, title, message).
const EXPLANATIONS: &[(&str, Words, Words)] = &[
    (
        "not_found",
        ("未找到", "Not found"),
        (
            "您要找的页面或记录不存在，或您无权查看。",
            "The page or record you asked for does not exist, or you may not see it.",
        ),
    ),
    (
        "unauthorized",
        ("需要登录", "Sign-in required"),
        ("请先登录，再打开此页面。", "Please sign in to open this page."),
    ),
    (
        "forbidden",
        ("无权访问", "Access denied"),
        ("您的角色不能执行此操作。", "Your role may not do this."),
    ),
    (
        "body_too_large",
        ("提交的内容过大", "Too large"),
        ("提交的内容超过了允许的大小。", "What was sent exceeds the size allowed."),
    ),
    (
        "unsupported_wire_version",
        ("版本不受支持", "Unsupported version"),
        (
            "此服务器不支持该同步数据的版本，请更新应用。",
            "This server does not support the sync data's version; please update the app.",
        ),
    ),
    (
        "malformed_sync_body",
        ("同步数据无效", "Invalid sync data"),
        ("同步数据无法解析。", "The sync data could not be read."),
    ),
    (
        "invalid_field",
        ("输入有误", "Invalid input"),
        (
            "提交的内容有误，请检查后重试。",
            "Something entered is not valid; please check it and try again.",
        ),
    ),
    (
        "conflict",
        ("操作冲突", "Conflict"),
        (
            "该操作与当前数据冲突（可能已由他人处理），请刷新后重试。",
            "This conflicts with the current data (someone may have done it already); please reload and try again.",
        ),
    ),
    (
        "internal",
        ("出错了", "Something went wrong"),
        ("服务器内部错误，请稍后再试。", "Internal error; please try again later."),
    ),
    (
        "malformed_request",
        ("请求无效", "Bad request"),
        ("请求的格式不正确。", "The request is not well formed."),
    ),
    (
        "method_not_allowed",
        ("不支持此操作", "Not allowed here"),
        ("此地址不接受这种请求方式。", "This address does not accept this kind of request."),
    ),
    (
        "request_timeout",
        ("请求超时", "Request timed out"),
        ("请求未能及时完成，请稍后再试。", "The request took too long; please try again later."),
    ),
    (
        "unsupported_media_type",
        ("内容类型不受支持", "Unsupported content type"),
        ("提交内容的类型不被接受。", "The type of what was sent is not accepted."),
    ),
    (
        "out_of_range",
        ("超出范围", "Out of range"),
        ("请求的值超出了允许的范围。", "A value asked for is outside the range allowed."),
    ),
    (
        "rate_limited",
        ("请求过于频繁", "Too many requests"),
        ("请求过于频繁，请稍候再试。", "Too many requests; please wait a moment and try again."),
    ),
    (
        "unavailable",
        ("服务暂不可用", "Service unavailable"),
        (
            "服务器暂时无法处理请求，请稍后再试。",
            "The server cannot take requests right now; please try again later.",
        ),
    ),
    (
        "stale_state",
        ("数据已变化", "Out of date"),
        (
            "页面上的数据已经过时，请刷新后重试。",
            "The page showed data that has changed since; please reload and try again.",
        ),
    ),
    (
        "event_delegated",
        ("已移交现场服务器", "Served by the venue server"),
        (
            "本场选房已移交现场服务器，请在现场办理。",
            "This event's desk is served by the venue server; work there.",
        ),
    ),
    (
        "already_delegated",
        ("已经移交", "Already delegated"),
        ("本场选房已经移交给现场服务器。", "This event's desk is already lent to a venue server."),
    ),
    (
        "units_shared_with_event",
        ("房源与其他活动共用", "Units shared with another event"),
        (
            "本场的房源也分配给了另一个已开启的选房活动，不能移交。",
            "Some of this event's units are allotted to another open event too; it cannot be lent.",
        ),
    ),
    (
        "not_delegated",
        ("未移交", "Not delegated"),
        (
            "本场选房没有移交给该现场服务器（或所选设备不是本场的现场服务器）。",
            "The desk is not lent to that venue server (or the device is not a venue server of the event).",
        ),
    ),
    (
        "lease_not_ended",
        ("租约未到期", "Lease not ended"),
        (
            "现场服务器的租约尚未到期（含时钟误差余量），暂不能收回。",
            "The venue's lease has not ended yet (with the clock allowance); it cannot be taken back yet.",
        ),
    ),
    (
        "lease_ended",
        ("现场授权已到期", "Lease ended"),
        ("现场授权已到期，请联系总部。", "The venue's lease has ended; contact headquarters."),
    ),
    (
        "event_returned",
        ("已交还总部", "Handed back"),
        ("本场选房已交还总部。", "This event's desk was handed back to headquarters."),
    ),
];

/// For a code without words of its own: by status class.
const CLIENT_ERROR: (Words, Words) = (
    ("无法完成", "Could not be done"),
    (
        "请求未能完成，请检查后重试。",
        "The request could not be done; please check it and try again.",
    ),
);
/// A server error without words of its own.
const SERVER_ERROR: (Words, Words) = (
    ("出错了", "Something went wrong"),
    ("服务器内部错误，请稍后再试。", "Internal error; please try again later."),
);
/// Any other status without words of its own.
const OTHER: (Words, Words) =
    (("出错了", "Something went wrong"), ("请求未能完成。", "The request could not be done."));

/// The title and message of an error code, in `lang`.
fn explain(lang: Lang, status: StatusCode, code: &str) -> (&'static str, &'static str) {
    let ((title_zh, title_en), (message_zh, message_en)) =
        match EXPLANATIONS.iter().find(|(known, _, _)| *known == code) {
            Some((_, title, message)) => (*title, *message),
            None if status.is_server_error() => SERVER_ERROR,
            None if status.is_client_error() => CLIENT_ERROR,
            None => OTHER,
        };
    (lang.t(title_zh, title_en), lang.t(message_zh, message_en))
}

#[cfg(test)]
#[path = "error_tests.rs"]
mod tests;

//! The screen link's page: the event's staff, finance and headquarters read the hall screen's
//! full address (with its token) to open on the hall's PC, and rotate it when it leaked or a
//! screen is retired — every screen on the old link stops.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::token;
use crate::http::AppState;
use crate::web::console::{Station, admit, station_nav};
use crate::web::error::{InLang, PageError};
use crate::web::forms::Flash;
use crate::web::layout::{Here, csrf_field, flash, page, url_encode};
use crate::web::session::WebUser;

/// Admits the event's staff (desk) and finance or headquarters (finance station): the refusal
/// of the desk station when neither admits.
async fn admit_either(state: &AppState, user: &WebUser, event_id: &str) -> Result<(), PageError> {
    match admit(state, user, event_id, Station::Desk).await {
        Ok(()) => Ok(()),
        Err(_) if Station::Finance.admits(user.role) => {
            admit(state, user, event_id, Station::Finance).await
        }
        Err(refused) => Err(refused),
    }
}

/// The address the hall's browser opens: scheme and host as this request reached the server.
pub fn screen_url(tls: bool, host: Option<&str>, event_id: &str, token: &str) -> String {
    let path = format!("/screen/{}?token={}", url_encode(event_id), url_encode(token));
    match host.filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic())) {
        Some(host) => format!("{}://{host}{path}", if tls { "https" } else { "http" }),
        None => path,
    }
}

/// `GET /console/events/{id}/screen-link`.
pub async fn link_page(
    State(state): State<AppState>,
    user: WebUser,
    here: Here,
    headers: HeaderMap,
    Path(event_id): Path<String>,
    Query(done): Query<Flash>,
) -> Result<Markup, PageError> {
    admit_either(&state, &user, &event_id).await?;
    let lang = user.lang;
    let t = token::current_token(&state, &event_id).await.in_lang(lang)?;
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let url = screen_url(state.web.tls_proxy, host, &event_id, &t);
    let action = format!("/console/events/{}/screen-link", url_encode(&event_id));
    Ok(page(
        &user,
        &here,
        lang.t("大屏链接", "Screen link"),
        html! {
            (station_nav(lang, &user, &event_id))
            h1 { (lang.t("选房大屏链接", "The hall screen's link")) }
            (flash(done.done.as_deref()))
            p { (lang.t(
                "在大厅的电脑或电视浏览器中打开此地址（无需登录）。链接只显示叫号、剩余房源和成交，姓名已打码。",
                "Open this address in the hall's PC or TV browser (no sign-in). It shows the queue, units left and sales, with names masked."
            )) }
            p { code #screen-url { (url) } }
            p { a #open-screen href=(url) target="_blank" rel="noopener" { (lang.t("打开大屏", "Open the screen")) } }
            form #rotate-screen-link method="post" action=(action) {
                (csrf_field(&user))
                p { (lang.t(
                    "更换链接后，旧链接和所有用旧链接打开的大屏立即失效。",
                    "After a new link is made, the old link and every screen opened with it stop at once."
                )) }
                button type="submit" { (lang.t("更换链接", "Make a new link")) }
            }
        },
    ))
}

/// The rotation form: only the session's CSRF token.
#[derive(Debug, Deserialize)]
pub struct RotateForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /console/events/{id}/screen-link`: rotates the link, back to the page.
pub async fn rotate(
    State(state): State<AppState>,
    user: WebUser,
    Path(event_id): Path<String>,
    Form(form): Form<RotateForm>,
) -> Result<Response, PageError> {
    user.check_csrf(&form.csrf)?;
    admit_either(&state, &user, &event_id).await?;
    let lang = user.lang;
    token::rotate(&state, &event_id).await.in_lang(lang)?;
    tracing::info!(event = %event_id, by = %user.user_id, "screen link rotated");
    let done =
        lang.t("已更换链接，旧链接已失效。", "A new link was made; the old one no longer works.");
    Ok(Redirect::to(&format!(
        "/console/events/{}/screen-link?done={}",
        url_encode(&event_id),
        url_encode(done)
    ))
    .into_response())
}

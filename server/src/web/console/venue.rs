//! On a venue server (ADR 0021): the lease this server holds, as its consoles show it (the
//! generation, the lease's end, what central has not acknowledged yet, when central last
//! answered), and the hand-back to headquarters (`POST /console/venue/hand-back`, event
//! staff of the event and headquarters, confirmed). A server that holds no lease shows none
//! of this.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::{Form, Router};
use chrono::{DateTime, Utc};
use kam_core::Policy;
use maud::{Markup, html};

use super::{Station, admit};
use crate::desk::delegation::edge::{self, LeaseStatus};
use crate::error::ServerError;
use crate::hq::events::hand_back_desk;
use crate::http::AppState;
use crate::web::error::{InLang, PageError};
use crate::web::forms::ConfirmForm;
use crate::web::i18n::Lang;
use crate::web::layout::{csrf_field, local_when, url_encode};
use crate::web::session::WebUser;

/// The hand-back's route.
pub const HAND_BACK_PATH: &str = "/console/venue/hand-back";

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/console/venue/hand-back", post(hand_back))
}

/// The lease this server holds, if any.
pub async fn lease(state: &AppState) -> Result<Option<LeaseStatus>, ServerError> {
    state.readers().read(|c| Ok::<_, ServerError>(edge::status(c.desk())?)).await
}

/// Why this server's consoles take no commands for the lease's event at `now`, if they take
/// none: the desk was handed back, or the lease ran out.
pub fn closed_reason(lang: Lang, lease: &LeaseStatus, now: DateTime<Utc>) -> Option<&'static str> {
    match lease.state {
        "returning" => Some(lang.t(
            "已交还，正在上传最后一批：本机不再办理本场选房。",
            "Handed back; shipping the last batch: this server no longer serves the event.",
        )),
        "active" if ended(lease, now) => Some(lang.t(
            "现场授权已到期：本机不再办理本场选房，请联系总部。",
            "The lease has ended: this server no longer serves the event; contact headquarters.",
        )),
        "active" => None,
        _ => Some(lang.t(
            "已交还总部：本场选房由总部办理。",
            "Handed back to headquarters: it serves the event.",
        )),
    }
}

fn ended(lease: &LeaseStatus, now: DateTime<Utc>) -> bool {
    DateTime::parse_from_rfc3339(&lease.lease_until)
        .is_ok_and(|until| now >= until.with_timezone(&Utc))
}

/// The lease banner: "本地授权 第N代，租约至 …；未上传 N 条，最早 …；上次联系总部 …", the
/// hand-back's progress, and the hand-back form when `may_hand_back` and the lease is active.
pub fn lease_banner(
    user: &WebUser,
    policy: &Policy,
    lease: &LeaseStatus,
    may_hand_back: bool,
) -> Markup {
    let lang = user.lang;
    let now = Utc::now();
    let until = local_when(policy, &lease.lease_until);
    let heard = lease.last_heard_at.as_deref().and_then(|t| DateTime::parse_from_rfc3339(t).ok());
    html! {
        div #lease .banner data-state=(lease.state) data-event-id=(lease.event_id) data-unshipped=(lease.unshipped) {
            @match lang {
                Lang::Zh => { "本地授权 第" (lease.generation) "代，租约至 " (until) "；未上传 " b .unshipped { (lease.unshipped) } " 条" }
                Lang::En => { "Local lease, generation " (lease.generation) ", until " (until) "; not shipped: " b .unshipped { (lease.unshipped) } }
            }
            @if let Some(oldest) = &lease.oldest_unshipped_at {
                (lang.t("，最早 ", ", oldest ")) (local_when(policy, oldest))
            }
            (lang.t("；上次联系总部 ", "; last heard from headquarters "))
            @match heard {
                Some(at) => { (local_when(policy, &at.to_rfc3339())) " (" (now.signed_duration_since(at).num_seconds().max(0)) (lang.t(" 秒前）", " s ago)")) }
                None => { (lang.t("尚未联系", "not yet")) }
            }
            @if let Some(reason) = closed_reason(lang, lease, now) {
                p #lease-closed .warning { (reason) }
            } @else if may_hand_back {
                (hand_back_form(user))
            }
        }
    }
}

fn hand_back_form(user: &WebUser) -> Markup {
    let lang = user.lang;
    html! {
        form #hand-back method="post" action=(HAND_BACK_PATH) {
            (csrf_field(user))
            label { input type="checkbox" name="confirm" value="yes" required; " "
                (lang.t("确认交还：本机将停止办理本场选房", "Confirm: this server stops serving the event")) } " "
            button type="submit" { (lang.t("交还总部", "Hand back to headquarters")) }
        }
    }
}

/// `POST /console/venue/hand-back`: stops serving the event here and ships the rest.
pub async fn hand_back(
    State(state): State<AppState>,
    user: WebUser,
    Form(form): Form<ConfirmForm>,
) -> Result<Response, PageError> {
    user.check_csrf(&form.csrf)?;
    let lang = user.lang;
    let held = lease(&state).await.in_lang(lang)?.ok_or(ServerError::NotFound).in_lang(lang)?;
    admit(&state, &user, &held.event_id, Station::Desk).await?;
    form.confirmed(lang, "hand the desk back")?;
    hand_back_desk(&state, user.user_id.clone()).await.in_lang(lang)?;
    let done = lang.t("已交还，正在上传最后一批。", "Handed back; shipping the last batch.");
    Ok(Redirect::to(&format!("/console?done={}", url_encode(done))).into_response())
}

#[cfg(test)]
#[path = "venue_tests.rs"]
mod tests;

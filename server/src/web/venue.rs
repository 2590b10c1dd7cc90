//! Headquarters and the venue servers (ADR 0021) on `/hq/events` and the live board: the form
//! that lends an open desk to a venue server, what a lent desk shows instead (who serves it,
//! how far behind central is), the take-back form once the lease has run out, and the
//! history of returned generations.
//!
//! | Route | Who | What |
//! |---|---|---|
//! | `POST /hq/events/{id}/delegate` | headquarters deciders | `hq::events::delegate_desk` |
//! | `POST /hq/events/{id}/take-back` | headquarters deciders | `hq::events::take_back_desk` |

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::{Form, Router};
use chrono::{DateTime, Utc};
use kam_core::Policy;
use maud::{Markup, html};
use serde::Deserialize;

use super::error::{InLang, PageError};
use super::forms::{ConfirmForm, confirmed};
use super::i18n::Lang;
use super::layout::{csrf_field, local_when, url_encode};
use super::session::WebUser;
use crate::desk::delegation::lend::VenueLag;
use crate::error::ServerError;
use crate::hq::events::{
    MAX_LEASE_HOURS, VenueDevice, delegate_desk, may_take_back, take_back_desk,
};
use crate::http::AppState;

/// The lease the form proposes, in hours: a selection day and a half.
const DEFAULT_LEASE_HOURS: i64 = 36;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/hq/events/{event_id}/delegate", post(delegate))
        .route("/hq/events/{event_id}/take-back", post(take_back))
}

/// The delegation of `event_id` that is current (a venue serves the event), if any.
pub fn current<'a>(delegations: &'a [VenueLag], event_id: &str) -> Option<&'a VenueLag> {
    delegations.iter().rev().find(|d| d.event_id == event_id && d.state == "active")
}

/// How far behind central is: shipped seq, entries not shipped, the oldest of them, last heard.
pub fn lag_figures(lang: Lang, policy: &Policy, lag: &VenueLag) -> Markup {
    html! {
        span .lag data-unshipped=(lag.unshipped) data-shipped-seq=(lag.shipped_seq) {
            (lang.t("已上传至 #", "shipped up to #")) (lag.shipped_seq)
            " · " (lang.t("未上传 ", "not shipped: ")) b .unshipped { (lag.unshipped) } (lang.t(" 条", ""))
            @if let Some(oldest) = &lag.oldest_unshipped_at {
                " · " (lang.t("最早 ", "oldest ")) (local_when(policy, oldest))
            }
            " · "
            @match lag.last_heard_s {
                Some(s) => { (lang.t("上次联系 ", "last heard ")) span .last-heard { (s.max(0)) } (lang.t(" 秒前", " s ago")) }
                None => { (lang.t("尚未联系", "not heard from yet")) }
            }
        }
    }
}

/// Who serves a lent event: "由现场服务器「hall-1」办理（第 N 代，租约至 …）".
pub fn served_by(lang: Lang, policy: &Policy, lag: &VenueLag) -> Markup {
    let until = local_when(policy, &lag.lease_until);
    html! {
        span .served-by {
            @match lang {
                Lang::Zh => { "由现场服务器「" b .venue-name { (lag.venue_name) } "」办理（第 " (lag.generation) " 代，租约至 " (until) "）" }
                Lang::En => { "Served by the venue server " b .venue-name { (lag.venue_name) } " (generation " (lag.generation) ", lease until " (until) ")" }
            }
        }
    }
}

/// The lent event's cell on `/hq/events`: who serves it, its lag, and the take-back form once
/// the lease is over (plus the clock allowance).
pub fn lent_cell(user: &WebUser, policy: &Policy, lag: &VenueLag, now: DateTime<Utc>) -> Markup {
    let lang = user.lang;
    html! {
        div .lent data-generation=(lag.generation) {
            (served_by(lang, policy, lag)) br; (lag_figures(lang, policy, lag))
            @if user.may_decide() && may_take_back(lag, now) {
                form .take-back method="post" action={ "/hq/events/" (url_encode(&lag.event_id)) "/take-back" } {
                    (csrf_field(user))
                    p .warning { (lang.t("现场未上传的交易将不在总部：请先尝试导入现场的导出包。",
                        "What the venue did not ship will be missing at headquarters: try its export bundle first.")) }
                    label { input type="checkbox" name="confirm" value="yes" required; " " (lang.t("确认收回", "Confirm taking back")) } " "
                    button type="submit" { (lang.t("收回", "Take back")) }
                }
            }
        }
    }
}

/// The generations that came back: "已交还 …" / "已收回 …".
pub fn history(lang: Lang, delegations: &[VenueLag], event_id: &str) -> Markup {
    html! {
        @for d in delegations.iter().filter(|d| d.event_id == event_id && d.state != "active") {
            div .delegation-history data-generation=(d.generation) data-state=(d.state) {
                small {
                    @if d.state == "taken_back" { (lang.t("已收回", "Taken back")) } @else { (lang.t("已交还", "Handed back")) }
                    " · " (d.venue_name) " · " (lang.t("第 ", "generation ")) (d.generation) (lang.t(" 代", ""))
                    " · " (lang.t("已上传至 #", "shipped up to #")) (d.shipped_seq)
                }
            }
        }
    }
}

/// The delegation form for an open desk served here: the event's venue servers, the lease
/// and the confirmation; a note instead when no venue server is assigned to the event.
pub fn delegate_form(user: &WebUser, event_id: &str, venues: &[VenueDevice]) -> Markup {
    let lang = user.lang;
    html! {
        @if venues.is_empty() {
            small .no-venue { (lang.t("（无可移交的现场服务器）", "(no venue server assigned)")) }
        } @else {
            form .delegate method="post" action={ "/hq/events/" (url_encode(event_id)) "/delegate" } {
                (csrf_field(user))
                strong { (lang.t("移交现场服务器", "Delegate to a venue server")) } " "
                select name="venue_device" required {
                    @for v in venues { option value=(v.device_id) { (v.label) " (" (v.device_id) ")" } }
                }
                " " label { (lang.t("租约（小时）", "Lease (hours)")) " "
                    input type="number" name="lease_hours" min="1" max=(MAX_LEASE_HOURS) value=(DEFAULT_LEASE_HOURS) required; }
                " " label { input type="checkbox" name="confirm" value="yes" required; " " (lang.t("确认移交", "Confirm delegation")) }
                " " button type="submit" { (lang.t("移交", "Delegate")) }
            }
        }
    }
}

/// The delegation form as sent.
#[derive(Debug, Deserialize)]
pub struct DelegateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    venue_device: String,
    #[serde(default)]
    lease_hours: String,
    confirm: Option<String>,
}

fn back_with(done: &str) -> Response {
    Redirect::to(&format!("/hq/events?done={}", url_encode(done))).into_response()
}

/// `POST /hq/events/{id}/delegate`: lends the desk, back to the list with what was lent.
pub async fn delegate(
    State(state): State<AppState>,
    user: WebUser,
    Path(event_id): Path<String>,
    Form(form): Form<DelegateForm>,
) -> Result<Response, PageError> {
    user.check_csrf(&form.csrf)?;
    user.require_hq()?;
    let lang = user.lang;
    confirmed(form.confirm.as_deref(), lang, "delegate the desk")?;
    let Ok(hours) = form.lease_hours.trim().parse::<i64>() else {
        let reason = format!("not a number of hours: {}", form.lease_hours);
        return Err(PageError::Server(ServerError::Invalid { field: "lease_hours", reason }, lang));
    };
    let lent = delegate_desk(&state, user.decider(), event_id, form.venue_device, hours)
        .await
        .in_lang(lang)?;
    let until = local_when(state.policy(), &lent.lease_until);
    let done = match lang {
        Lang::Zh => format!(
            "已移交现场服务器「{}」：第 {} 代，租约至 {until}。",
            lent.venue_name, lent.generation
        ),
        Lang::En => format!(
            "Delegated to the venue server {}: generation {}, lease until {until}.",
            lent.venue_name, lent.generation
        ),
    };
    Ok(back_with(&done))
}

/// `POST /hq/events/{id}/take-back`: central serves the event again.
pub async fn take_back(
    State(state): State<AppState>,
    user: WebUser,
    Path(event_id): Path<String>,
    Form(form): Form<ConfirmForm>,
) -> Result<Response, PageError> {
    user.check_csrf(&form.csrf)?;
    user.require_hq()?;
    let lang = user.lang;
    form.confirmed(lang, "take the desk back")?;
    let generation = take_back_desk(&state, user.decider(), event_id).await.in_lang(lang)?;
    let done = match lang {
        Lang::Zh => format!("已收回：总部恢复办理（第 {generation} 代）。"),
        Lang::En => {
            format!("Taken back: headquarters serves the event again (generation {generation}).")
        }
    };
    Ok(back_with(&done))
}

#[cfg(test)]
#[path = "venue_tests.rs"]
mod tests;

//! The selection day's consoles (选房现场): pages for event staff and finance on the venue's
//! PCs and tablets, served by whichever server holds the event's desk.
//!
//! | Page | Who | Station |
//! |---|---|---|
//! | `/console` | event staff, finance, headquarters | the events they may run |
//! | `/console/events/{id}/desk` | event staff of the event, headquarters | 叫号, 身份核验, 选房, 工作票 |
//! | `/console/events/{id}/finance` | finance, headquarters | 复核, 收款, 凭证, 红字冲销, 对账 |
//! | `/console/events/{id}/papers/…` | the same | printed papers |
//! | `/screen/{id}?token=…` | a hall screen with its display token | 大屏 |
//! | `POST /console/venue/hand-back` | on a venue server: event staff of the event, headquarters | 交还总部 |
//!
//! Every action is one of the desk's commands, sent by `command` through the desk's writer
//! under the person's session: the consoles add no second path to the authority. Each form
//! carries an idempotency key made when it was drawn, so a double click or a resubmit after a
//! timeout is the same command, answered once.

pub mod command;
pub mod desk;
pub mod events;
pub mod finance;
pub mod finance_export;
pub mod finance_lists;
#[cfg(test)]
mod finance_tests;
#[cfg(test)]
pub(crate) mod fixture;
pub mod live;
pub mod papers;
mod papers_view;
pub mod screen;
pub mod table;
#[cfg(test)]
mod tests;
pub mod venue;

use axum::Router;
use axum::routing::get;
use maud::{Markup, html};

use super::error::{InLang, PageError};
use super::i18n::Lang;
use super::session::WebUser;
use crate::auth::Role;
use crate::error::ServerError;
use crate::http::AppState;

/// The consoles' routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console", get(events::events_page))
        .route("/console/events/{id}/desk", get(desk::desk_page))
        .route("/console/events/{id}/live", get(live::live_stream))
        .merge(finance::routes())
        .merge(papers::routes())
        .merge(screen::routes())
        .merge(venue::routes())
}

/// A station of the selection day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Station {
    /// 叫号, 身份核验, 选房, 工作票: event staff of the event.
    Desk,
    /// 复核, 收款, 凭证, 红字冲销, 对账: finance.
    Finance,
}

impl Station {
    /// Whether `role` works at this station (event staff still need the event's grant).
    pub fn admits(self, role: Role) -> bool {
        match self {
            Station::Desk => matches!(role, Role::EventStaff | Role::Hq | Role::Admin),
            Station::Finance => matches!(role, Role::Finance | Role::Hq | Role::Admin),
        }
    }

    /// Why `role` is refused a station it does not work at: a venue server's account is told
    /// it belongs to the venue server, everyone else that this is not their station.
    pub fn refusal(role: Role) -> super::error::Refusal {
        match role {
            Role::Venue => super::error::Refusal::VenueUsesServer,
            _ => super::error::Refusal::Station,
        }
    }
}

/// Whether `user` may open `station` of `event_id`: the role, and for event staff the
/// event's grant; the forbidden page (with why, in their language) if not, the not-found page
/// if no desk is open for the event here.
pub async fn admit(
    state: &AppState,
    user: &WebUser,
    event_id: &str,
    station: Station,
) -> Result<(), PageError> {
    if !station.admits(user.role) {
        return Err(user.refuse(Station::refusal(user.role)));
    }
    let (user_id, role, event) = (user.user_id.clone(), user.role, event_id.to_owned());
    let granted = state
        .readers()
        .read(move |c| {
            if c.desk().desk_event(&event)?.is_none() {
                return Err(ServerError::NotFound);
            }
            Ok::<_, ServerError>(
                role != Role::EventStaff
                    || c.db().has_grant(&user_id, &format!("event/{event}"))?,
            )
        })
        .await
        .in_lang(user.lang)?;
    if granted { Ok(()) } else { Err(user.refuse(super::error::Refusal::NotThisEvent)) }
}

/// A fresh idempotency key for a form being drawn.
pub fn new_key() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// The navigation between an event's stations.
pub fn station_nav(lang: Lang, user: &WebUser, event_id: &str) -> Markup {
    let id = super::layout::url_encode(event_id);
    html! {
        nav .stations {
            a href="/console" { (lang.t("选房活动", "Events")) }
            @if Station::Desk.admits(user.role) {
                a href={ "/console/events/" (id) "/desk" } { (lang.t("选房台", "Desk")) }
            }
            @if Station::Finance.admits(user.role) {
                a href={ "/console/events/" (id) "/finance" } { (lang.t("财务台", "Finance")) }
            }
        }
    }
}

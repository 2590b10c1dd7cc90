//! `GET /console`: the selection events the signed-in person may work at, with a link to each
//! of their stations. Event staff see the events they are assigned to; finance and
//! headquarters see every event whose desk is open on this server.

use axum::extract::{Query, State};
use maud::{Markup, html};

use super::venue::{lease, lease_banner};
use super::{Station, station_nav};
use crate::auth::Role;
use crate::error::ServerError;
use crate::http::AppState;
use crate::web::error::{InLang, PageError};
use crate::web::forms::Flash;
use crate::web::layout::{Here, flash, page, url_encode};
use crate::web::session::WebUser;

/// The handler.
pub async fn events_page(
    State(state): State<AppState>,
    user: WebUser,
    here: Here,
    Query(done): Query<Flash>,
) -> Result<Markup, PageError> {
    let lang = user.lang;
    if !Station::Desk.admits(user.role) && !Station::Finance.admits(user.role) {
        return Err(user.refuse(Station::refusal(user.role)));
    }
    let (user_id, role) = (user.user_id.clone(), user.role);
    let events: Vec<(String, String)> = state
        .readers()
        .read(move |c| {
            let mut open = c.desk().open_events()?;
            if role == Role::EventStaff {
                let mut mine = Vec::with_capacity(open.len());
                for event in open.drain(..) {
                    if c.db().has_grant(&user_id, &format!("event/{}", event.0))? {
                        mine.push(event);
                    }
                }
                open = mine;
            }
            Ok::<_, ServerError>(open)
        })
        .await
        .in_lang(lang)?;
    let held = lease(&state).await.in_lang(lang)?;
    let may_hand_back = match &held {
        Some(l) => super::admit(&state, &user, &l.event_id, Station::Desk).await.is_ok(),
        None => false,
    };
    Ok(page(
        &user,
        &here,
        lang.t("选房控制台", "Selection consoles"),
        html! {
            h1 { (lang.t("选房控制台", "Selection consoles")) }
            (flash(done.done.as_deref()))
            @if let Some(l) = &held { (lease_banner(&user, state.policy(), l, may_hand_back)) }
            @if events.is_empty() {
                p #no-events { (lang.t("您没有可进入的选房活动。", "There is no selection event for you here.")) }
            }
            ul #events {
                @for (event, name) in &events {
                    li .event data-event-id=(event) {
                        strong { (if name.is_empty() { event.as_str() } else { name.as_str() }) } " "
                        (station_nav(lang, &user, event))
                        @if Station::Finance.admits(user.role) {
                            " " a href={ "/hq/events/" (url_encode(event)) "/board" } { (lang.t("销控表", "Control table")) }
                        }
                    }
                }
            }
        },
    ))
}

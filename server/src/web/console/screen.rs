//! The buyers' big screen (大屏) in the hall: a kiosk page opened with the event's display
//! token (no sign-in), read-only, in large type. It shows the number being served with the
//! buyer's masked name, the next numbers, the units left per building and per layout, and the
//! latest sales, and follows the desk live over server-sent events.
//!
//! | Route | What |
//! |---|---|
//! | `GET /screen/{id}?token=…[&lang=en]` | the screen |
//! | `GET /screen/{id}/stream?token=…` | its stream: one `screen` message per change it shows |
//! | `GET /console/events/{id}/screen-link` | the link, for the event's staff, finance and HQ |
//! | `POST /console/events/{id}/screen-link` | rotates it: the old link and its screens stop |
//!
//! The stream follows the desk's one live reader per event (`Services::watch_desk`), so ten
//! screens cost no reads of their own; each sends only when what it shows changed.

pub mod link;
pub mod news;
pub mod token;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::Stream;
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;
use tokio::sync::watch;

use self::news::{Buildings, ScreenNews, news};
use crate::desk::live::LiveState;
use crate::desk::plan::read_plan;
use crate::error::ServerError;
use crate::http::AppState;
use crate::web::assets::{SCREEN_CSS, SCREEN_JS};
use crate::web::i18n::Lang;
use crate::web::layout::{self, url_encode};
use crate::web::session::lang_of;

/// How often an open screen checks its token again when nothing moved the auth epoch (a
/// rotation made by another process on the same desk file).
const RECHECK: Duration = Duration::from_secs(20);

/// This station's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/screen/{event_id}", get(screen_page))
        .route("/screen/{event_id}/stream", get(screen_stream))
        .route("/console/events/{event_id}/screen-link", get(link::link_page).post(link::rotate))
}

/// The screen's query: its token, and the language when the hall's PC has no cookie.
#[derive(Debug, Default, Deserialize)]
pub struct ScreenQuery {
    token: Option<String>,
    lang: Option<String>,
}

fn query(q: Result<Query<ScreenQuery>, QueryRejection>) -> ScreenQuery {
    q.map(|Query(q)| q).unwrap_or_default()
}

/// The screen's language: `?lang=` if given, else the cookie, Chinese by default.
fn screen_lang(headers: &HeaderMap, q: &ScreenQuery) -> Lang {
    match q.lang.as_deref() {
        Some(code) => Lang::from_code(Some(code)),
        None => lang_of(headers),
    }
}

/// The refusal for a wrong, missing or rotated token, or an event without a desk here: one
/// page for all, so it never tells which part was wrong.
fn refused(lang: Lang) -> Response {
    let title = lang.t("大屏链接无效", "Screen link not valid");
    let body = html! {
        div .error-page data-code="screen_token" {
            h1 #forbidden { (title) }
            p .error { (lang.t(
                "此大屏链接无效或已更换，请向现场工作人员索取新的链接。",
                "This screen link is not valid or was replaced; ask the event's staff for the new link."
            )) }
        }
    };
    (StatusCode::FORBIDDEN, layout::bare(lang, title, body)).into_response()
}

/// Whether `token` opens the screen of `event_id`; storage failures are the error page.
async fn admitted(
    state: &AppState,
    event_id: &str,
    token: Option<&str>,
) -> Result<bool, ServerError> {
    let Some(token) = token.filter(|t| !t.is_empty()) else { return Ok(false) };
    Ok(token::keys(state, event_id).await?.is_some_and(|k| k.admit(event_id, token)))
}

/// Each unit's building, from the plan.
async fn buildings(state: &AppState, event_id: &str) -> Result<Buildings, ServerError> {
    let event = event_id.to_owned();
    state.readers().read(move |c| Ok(Buildings::of(&read_plan(c.desk(), &event)?))).await
}

/// The event's name as the desk keeps it.
async fn event_name(state: &AppState, event_id: &str) -> Result<String, ServerError> {
    let event = event_id.to_owned();
    let events = state.readers().read(|c| Ok::<_, ServerError>(c.desk().open_events()?)).await?;
    Ok(events.into_iter().find(|(id, _)| *id == event).map(|(_, name)| name).unwrap_or(event))
}

/// `GET /screen/{event_id}?token=…`.
pub async fn screen_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(event_id): Path<String>,
    q: Result<Query<ScreenQuery>, QueryRejection>,
) -> Response {
    let q = query(q);
    let lang = screen_lang(&headers, &q);
    match render(&state, &event_id, &q, lang).await {
        Ok(Some(page)) => page.into_response(),
        Ok(None) => refused(lang),
        Err(error) => crate::web::error::PageError::Server(error, lang).into_response(),
    }
}

async fn render(
    state: &AppState,
    event_id: &str,
    q: &ScreenQuery,
    lang: Lang,
) -> Result<Option<Markup>, ServerError> {
    let token = q.token.as_deref();
    if !admitted(state, event_id, token).await? {
        return Ok(None);
    }
    let live: Arc<LiveState> = state.watch_desk(event_id).await?.borrow().clone();
    let shown = news(&live, &buildings(state, event_id).await?);
    let name = event_name(state, event_id).await?;
    let stream = format!(
        "/screen/{}/stream?token={}",
        url_encode(event_id),
        url_encode(token.unwrap_or_default())
    );
    Ok(Some(page(lang, &name, &stream, &shown)))
}

/// The whole screen.
fn page(lang: Lang, name: &str, stream: &str, n: &ScreenNews) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.html_lang()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (name) " · " (lang.t("选房大屏", "Selection screen")) }
                link rel="icon" href="data:,";
                link rel="stylesheet" href=(SCREEN_CSS.href());
            }
            body .screen data-connected="false" data-stream=(stream) data-locale=(lang.html_lang()) {
                header {
                    h1 { (name) " · " (lang.t("选房大屏", "Selection screen")) }
                    span #clock {}
                    span #screen-state data-live=(lang.t("实时", "Live"))
                        data-lost=(lang.t("连接中断，重连中…", "Disconnected, reconnecting…"))
                        data-closed=(lang.t("链接已失效", "This link no longer works")) {
                        (lang.t("连接中…", "Connecting…"))
                    }
                }
                main { (serving(lang, n)) (left(lang, n)) (recent(lang, n)) }
                script src=(SCREEN_JS.href()) defer {}
            }
        }
    }
}

fn serving(lang: Lang, n: &ScreenNews) -> Markup {
    html! {
        section #serving {
            h2 { (lang.t("正在选房", "Now serving")) }
            div #now-serving { @if let Some(s) = &n.now_serving { (s.number) } @else { "—" } }
            div #now-serving-name { @if let Some(s) = &n.now_serving { (s.name) } }
            h2 { (lang.t("请以下号码准备", "Next, please be ready")) }
            ol #next-numbers { @for number in &n.next { li { (number) } } }
        }
    }
}

fn left(lang: Lang, n: &ScreenNews) -> Markup {
    html! {
        section #left {
            h2 { (lang.t("剩余房源 · 按楼栋", "Units left · by building")) }
            ul #left-by-building {
                @for l in &n.by_building {
                    li data-building=(l.name) { span .name { (l.name) } " " b .n { (l.left) } }
                }
            }
            h2 { (lang.t("剩余房源 · 按户型", "Units left · by layout")) }
            ul #left-by-layout {
                @for l in &n.by_layout {
                    li data-layout=(l.name) { span .name { (l.name) } " " b .n { (l.left) } }
                }
            }
        }
    }
}

fn recent(lang: Lang, n: &ScreenNews) -> Markup {
    html! {
        section #recent {
            h2 { (lang.t("最新成交", "Recent sales")) }
            ol #recent-sales data-none=(lang.t("暂无成交", "No sales yet")) {
                @for s in &n.recent {
                    li {
                        span .code { (s.code) } " " span .layout { (s.layout) } " "
                        time datetime=(s.sold_at) { (short_time(&s.sold_at)) }
                    }
                }
            }
        }
    }
}

/// `HH:MM` of an RFC 3339 instant in China Standard Time, until the screen's script shows it
/// in the hall PC's own time zone.
fn short_time(text: &str) -> String {
    let cst = chrono::FixedOffset::east_opt(8 * 3600);
    match (chrono::DateTime::parse_from_rfc3339(text), cst) {
        (Ok(at), Some(zone)) => at.with_timezone(&zone).format("%H:%M").to_string(),
        _ => text.to_owned(),
    }
}

/// One open screen's stream.
struct Follow {
    state: AppState,
    event_id: String,
    token: String,
    live: watch::Receiver<Arc<LiveState>>,
    buildings: Buildings,
    last: Option<ScreenNews>,
    epoch: watch::Receiver<u64>,
    _slot: crate::http::edge::streams::StreamSlot,
}

impl Follow {
    /// The next message: at once for the first, then after each change of what the screen
    /// shows; `None` ends the stream (the token was rotated, or the desk's follower is gone).
    async fn next(mut self) -> Option<(Result<Event, Infallible>, Follow)> {
        loop {
            if self.last.is_some() {
                tokio::select! {
                    moved = self.live.changed() => if moved.is_err() { return None },
                    moved = self.epoch.changed() => {
                        if moved.is_err() || !self.still_admitted().await { return None }
                        continue;
                    }
                    () = tokio::time::sleep(RECHECK) => {
                        if !self.still_admitted().await { return None }
                        continue;
                    }
                }
            }
            let live = self.live.borrow_and_update().clone();
            let shown = news(&live, &self.buildings);
            if self.last.as_ref() == Some(&shown) {
                continue;
            }
            let data = serde_json::to_string(&shown).unwrap_or_else(|_| "{}".into());
            self.last = Some(shown);
            return Some((Ok(Event::default().event("screen").data(data)), self));
        }
    }

    async fn still_admitted(&self) -> bool {
        matches!(admitted(&self.state, &self.event_id, Some(&self.token)).await, Ok(true))
    }
}

/// `GET /screen/{event_id}/stream?token=…`.
pub async fn screen_stream(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(event_id): Path<String>,
    q: Result<Query<ScreenQuery>, QueryRejection>,
) -> Response {
    let q = query(q);
    let lang = screen_lang(&headers, &q);
    match open_stream(state, event_id, q.token.unwrap_or_default()).await {
        Ok(Some(sse)) => sse.into_response(),
        Ok(None) => refused(lang),
        Err(error) => crate::web::error::PageError::Server(error, lang).into_response(),
    }
}

async fn open_stream(
    state: AppState,
    event_id: String,
    token: String,
) -> Result<Option<Sse<impl Stream<Item = Result<Event, Infallible>>>>, ServerError> {
    if !admitted(&state, &event_id, Some(&token)).await? {
        return Ok(None);
    }
    let slot = state.edge().streams.take(crate::http::edge::caller::credential_id(&token))?;
    let live = state.watch_desk(&event_id).await?;
    let buildings = buildings(&state, &event_id).await?;
    let mut epoch = state.edge().epoch.subscribe();
    epoch.mark_unchanged();
    let follow = Follow { state, event_id, token, live, buildings, last: None, epoch, _slot: slot };
    let stream = futures_util::stream::unfold(follow, Follow::next);
    Ok(Some(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))))
}

#[cfg(test)]
mod tests;

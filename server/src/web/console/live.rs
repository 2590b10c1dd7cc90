//! `GET /console/events/{id}/live`: the event's desk as server-sent events, for the consoles
//! and headquarters' board.
//!
//! The stream follows the event's one live follower (`desk::live`): after each desk commit it
//! sends an `desk` event with the counts, the number served, the queue when it changed, and
//! only the cells that changed since what this stream last sent. The page passes the ledger
//! sequence it was drawn at (`?seq=`); the first message then carries every cell only if the
//! desk moved in between. The stream ends when the person's session ends.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::Station;
use crate::desk::live::LiveState;
use crate::desk::plan::{Cell, QueueBuyer};
use crate::error::ServerError;
use crate::http::AppState;
use crate::http::edge::streams::StreamSlot;
use crate::web::error::{InLang, PageError};
use crate::web::session::{SESSION_COOKIE, WebUser, cookie, session_user};

/// The numbers after the one served that the desk shows.
const NEXT_SHOWN: usize = 5;

/// The query: the ledger sequence the page was drawn at.
#[derive(Debug, Default, Deserialize)]
pub struct Since {
    seq: Option<i64>,
}

/// A cell as the stream sends it: only what changes.
#[derive(Debug, Serialize)]
struct CellNews<'a> {
    id: &'a str,
    status: &'a str,
    buyer: Option<&'a str>,
    buyer_id: Option<&'a str>,
    hold: Option<&'a str>,
    until: Option<&'a str>,
    price: Option<&'a str>,
    total: Option<&'a str>,
}

impl<'a> From<&'a Cell> for CellNews<'a> {
    fn from(c: &'a Cell) -> CellNews<'a> {
        CellNews {
            id: &c.unit_id,
            status: &c.status,
            buyer: c.buyer.as_deref(),
            buyer_id: c.buyer_id.as_deref(),
            hold: c.hold_id.as_deref(),
            until: c.held_until.as_deref(),
            price: c.unit_price.as_deref(),
            total: c.total.as_deref(),
        }
    }
}

/// The queue as the desk shows it: who is served, who is next, who was skipped.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct QueueView<'a> {
    /// The buyer being served.
    pub serving: Option<&'a QueueBuyer>,
    /// The next numbers.
    pub next: Vec<&'a QueueBuyer>,
    /// Buyers skipped and not yet recalled.
    pub skipped: Vec<&'a QueueBuyer>,
}

/// The queue of `state` around the number served.
pub fn queue_view(state: &LiveState) -> QueueView<'_> {
    let serving_no = state.now_serving;
    let serving = serving_no.and_then(|n| state.queue.iter().find(|b| b.lottery_no == Some(n)));
    let after = serving_no.unwrap_or(0);
    let next = state
        .queue
        .iter()
        .filter(|b| b.lottery_no.is_some_and(|n| n > after) && !b.skipped)
        .take(NEXT_SHOWN)
        .collect();
    let skipped = state.queue.iter().filter(|b| b.skipped).collect();
    QueueView { serving, next, skipped }
}

/// One message of the stream.
#[derive(Debug, Serialize)]
struct DeskNews<'a> {
    ledger_seq: i64,
    now_serving: Option<u32>,
    mode: &'a str,
    counts: BTreeMap<&'static str, usize>,
    cells: Vec<CellNews<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    queue: Option<QueueView<'a>>,
}

/// The message for `now`, given what was sent before (`None`: nothing yet; then every cell
/// is sent unless the page was drawn at `now`'s ledger sequence).
fn news(now: &LiveState, before: Option<&LiveState>, page_seq: Option<i64>) -> String {
    let (cells, queue_moved) = match before {
        Some(before) => (
            now.changed_since(before).into_iter().map(CellNews::from).collect(),
            now.queue != before.queue || now.now_serving != before.now_serving,
        ),
        None if page_seq == Some(now.ledger_seq) => (Vec::new(), true),
        None => (now.cells.iter().map(CellNews::from).collect(), true),
    };
    let message = DeskNews {
        ledger_seq: now.ledger_seq,
        now_serving: now.now_serving,
        mode: &now.mode,
        counts: now.counts.clone(),
        cells,
        queue: queue_moved.then(|| queue_view(now)),
    };
    serde_json::to_string(&message).unwrap_or_else(|_| "{}".into())
}

/// What a stream holds while it follows the desk.
struct Follow {
    state: AppState,
    desk: watch::Receiver<Arc<LiveState>>,
    sent: Option<Arc<LiveState>>,
    page_seq: Option<i64>,
    session: String,
    epoch: watch::Receiver<u64>,
    _slot: StreamSlot,
}

impl Follow {
    async fn next(mut self) -> Option<(Result<Event, Infallible>, Follow)> {
        if self.sent.is_some() {
            loop {
                tokio::select! {
                    moved = self.desk.changed() => {
                        if moved.is_err() {
                            return None;
                        }
                        break;
                    }
                    moved = self.epoch.changed() => {
                        if moved.is_err() || !self.session_still_live().await {
                            return None;
                        }
                    }
                }
            }
        }
        let now = Arc::clone(&self.desk.borrow_and_update());
        let data = news(&now, self.sent.as_deref(), self.page_seq);
        self.sent = Some(now);
        Some((Ok(Event::default().event("desk").data(data)), self))
    }

    async fn session_still_live(&self) -> bool {
        let token = self.session.clone();
        let found = self
            .state
            .readers()
            .read(move |c| session_user(c.db(), &token, chrono::Utc::now()))
            .await;
        matches!(found, Ok(Some(_)))
    }
}

/// Whether `user` may follow `event_id` live: anyone who works at one of its stations.
pub async fn admit_any(state: &AppState, user: &WebUser, event_id: &str) -> Result<(), PageError> {
    let station = if Station::Desk.admits(user.role) { Station::Desk } else { Station::Finance };
    super::admit(state, user, event_id, station).await
}

/// The handler.
pub async fn live_stream(
    State(state): State<AppState>,
    user: WebUser,
    headers: HeaderMap,
    Path(event_id): Path<String>,
    since: Result<Query<Since>, axum::extract::rejection::QueryRejection>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, PageError> {
    let lang = user.lang;
    admit_any(&state, &user, &event_id).await?;
    let session = cookie(&headers, SESSION_COOKIE)
        .ok_or(PageError::Server(ServerError::Unauthorized, lang))?;
    let slot = state
        .edge()
        .streams
        .take(crate::http::edge::caller::credential_id(&session))
        .in_lang(lang)?;
    let desk = state.watch_desk(&event_id).await.in_lang(lang)?;
    let mut epoch = state.edge().epoch.subscribe();
    epoch.mark_unchanged();
    let follow = Follow {
        state,
        desk,
        sent: None,
        page_seq: since.ok().and_then(|Query(s)| s.seq),
        session,
        epoch,
        _slot: slot,
    };
    let stream = futures_util::stream::unfold(follow, Follow::next);
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

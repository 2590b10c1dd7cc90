//! One device's push stream: the hub's notices it may see, as server-sent events, until its
//! credential ends.

use std::collections::HashMap;
use std::convert::Infallible;

use axum::response::sse::Event;
use futures_util::Stream;
use kam_core::doc::DocId;
use tokio::sync::{broadcast, watch};

use crate::auth::{self, Principal};
use crate::error::ServerError;
use crate::http::AppState;
use crate::http::edge::streams::StreamSlot;
use crate::sync::ChangedDoc;
use crate::sync::scope;

/// Scope keys a stream remembers the visibility of; past it, it starts over.
const MAX_REMEMBERED_SCOPES: usize = 4_096;

/// One device's stream: its notices, its credential and its place among the open streams.
struct Follow {
    state: AppState,
    who: Principal,
    token: String,
    notices: broadcast::Receiver<ChangedDoc>,
    epoch: watch::Receiver<u64>,
    /// Whether the device may see each scope key met so far; forgotten when the auth epoch
    /// moves (a grant may have been withdrawn).
    visible: HashMap<String, bool>,
    ended: bool,
    _slot: StreamSlot,
}

/// The events of `who`'s stream: `changed` with `{cursor, docs}` for each document it may see,
/// `lagged` when notices were missed (sync, which brings everything anyway), and `revoked`
/// just before the stream ends because its token no longer works.
pub fn device_stream(
    state: AppState,
    who: Principal,
    token: String,
    slot: StreamSlot,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let mut epoch = state.edge().epoch.subscribe();
    epoch.mark_unchanged();
    let follow = Follow {
        notices: state.push.subscribe(),
        state,
        who,
        token,
        epoch,
        visible: HashMap::new(),
        ended: false,
        _slot: slot,
    };
    futures_util::stream::unfold(follow, Follow::next)
}

impl Follow {
    async fn next(mut self) -> Option<(Result<Event, Infallible>, Follow)> {
        if self.ended {
            return None;
        }
        loop {
            tokio::select! {
                moved = self.epoch.changed() => {
                    if moved.is_err() || !self.credential_still_valid().await {
                        self.ended = true;
                        return Some((Ok(Event::default().event("revoked").data("{}")), self));
                    }
                    self.visible.clear();
                }
                notice = self.notices.recv() => match notice {
                    Ok(changed) => {
                        if self.may_see(&changed).await {
                            let data = serde_json::json!({ "cursor": changed.seq, "docs": [changed.doc_id] });
                            return Some((Ok(Event::default().event("changed").data(data.to_string())), self));
                        }
                    }
                    // Missed notices: tell the device to sync, which brings everything anyway.
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        return Some((Ok(Event::default().event("lagged").data("{}")), self));
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        }
    }

    async fn credential_still_valid(&self) -> bool {
        let token = self.token.clone();
        let found = self.state.readers().read(move |c| auth::authenticate(c.db(), &token)).await;
        // A changed role ends the stream too: what it may see was decided by the old one.
        matches!(found, Ok(Some(p)) if p.device_id == self.who.device_id && p.role == self.who.role)
    }

    async fn may_see(&mut self, changed: &ChangedDoc) -> bool {
        if self.who.role.sees_everything() {
            return true;
        }
        if let Some(known) = self.visible.get(&changed.scope_key) {
            return *known;
        }
        let Ok(id) = changed.doc_id.parse::<DocId>() else { return false };
        let (who, key) = (self.who.clone(), changed.scope_key.clone());
        let seen: Result<bool, ServerError> =
            self.state.readers().read(move |c| scope::can_see(c.db(), &who, id.kind(), &key)).await;
        let seen = seen.unwrap_or(false);
        if self.visible.len() >= MAX_REMEMBERED_SCOPES {
            self.visible.clear();
        }
        self.visible.insert(changed.scope_key.clone(), seen);
        seen
    }
}

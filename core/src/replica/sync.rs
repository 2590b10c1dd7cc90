//! Persisted Automerge sync state, per document and peer.
//!
//! A live sync session keeps the full `sync::State` in memory (it tracks in-flight messages).
//! What is persisted is its encoded form, which keeps only the heads both sides share: a new
//! session starts from there, so a device that synced yesterday does not pay a fresh handshake
//! with a Bloom filter of the whole history, and a lost message never leaves a session stuck.

use std::collections::HashMap;

use automerge::sync::State;
use rusqlite::{Connection, OptionalExtension, params};

use super::error::ReplicaError;
use crate::doc::{DocError, DocId};

/// Live sync sessions of this replica, keyed by document and peer.
#[derive(Debug, Default)]
pub(crate) struct SyncSessions {
    live: HashMap<(DocId, String), State>,
}

impl SyncSessions {
    /// The live state for (`doc`, `peer`), resumed from disk if no session is live.
    pub(crate) fn state(
        &mut self,
        conn: &Connection,
        doc: &DocId,
        peer: &str,
    ) -> Result<&mut State, ReplicaError> {
        let key = (doc.clone(), peer.to_owned());
        if !self.live.contains_key(&key) {
            let state = load(conn, doc, peer)?;
            self.live.insert(key.clone(), state);
        }
        self.live.get_mut(&key).ok_or_else(|| ReplicaError::Corrupt("sync state vanished".into()))
    }

    /// Ends every live session with `peer` (a reconnect starts from the persisted state).
    pub(crate) fn end(&mut self, peer: &str) {
        self.live.retain(|(_, p), _| p != peer);
    }

    /// Forgets every session of a purged document.
    pub(crate) fn forget_doc(&mut self, doc: &DocId) {
        self.live.retain(|(d, _), _| d != doc);
    }
}

fn load(conn: &Connection, doc: &DocId, peer: &str) -> Result<State, ReplicaError> {
    let bytes: Option<Vec<u8>> = conn
        .prepare_cached("SELECT state FROM sync_states WHERE doc_id = ?1 AND peer = ?2")?
        .query_row(params![doc.to_string(), peer], |r| r.get(0))
        .optional()?;
    match bytes {
        Some(b) => State::decode(&b).map_err(|e| DocError::SyncState(e.to_string()).into()),
        None => Ok(State::new()),
    }
}

/// Persists the durable part of a sync state.
pub(crate) fn save(
    conn: &Connection,
    doc: &DocId,
    peer: &str,
    state: &State,
) -> Result<(), ReplicaError> {
    conn.prepare_cached(
        "INSERT INTO sync_states(doc_id, peer, state) VALUES (?1, ?2, ?3)
         ON CONFLICT(doc_id, peer) DO UPDATE SET state = excluded.state",
    )?
    .execute(params![doc.to_string(), peer, state.encode()])?;
    Ok(())
}

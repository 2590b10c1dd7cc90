//! The device's half of a sync round with the server (DESIGN §4).
//!
//! A round sends the device's cursor and Automerge sync messages for the documents that may
//! hold changes the server lacks (`sync_dirty`) or whose conversation with the server is not
//! finished; the answer is applied in one transaction together with the new cursor, so a crash
//! mid-answer leaves the device exactly where it was before the round, and the retried round
//! brings the same news again. Nothing here does I/O beyond the replica file: the loop, the
//! transport and the retries live in [`crate::sync_client`].
//!
//! # One cursor per server
//!
//! A tablet at a selection venue syncs with the venue's server on the LAN and, when it roams
//! to 4G, with central. Each server numbers its change sequence on its own, so a cursor means
//! nothing to another server: position 57 at the venue sent to central would skip central's
//! news after 57 that the tablet never saw, or be refused if central is not that far yet. The
//! replica therefore keeps one cursor per server id (see
//! [`crate::sync_client::SyncTransport::server_id`]); a server seen for the first time starts
//! at 0 and sends everything in the device's scope, which is correct, only bigger.
//!
//! A replica from before this kept a single cursor (meta key `server_cursor`) for the one
//! server it knew. The first server id that stores a cursor adopts it and is recorded as the
//! home server, so an upgraded app does not download everything again from its usual server.
//!
//! The Automerge sync states with the servers stay shared under one peer, [`SERVER_PEER`]:
//! they hold only the heads last shared, and a server that does not know those heads answers
//! with Automerge's reset message, after which the two sides converge from scratch (the tests
//! of `crate::sync_client` check this with two servers).

use std::collections::{BTreeSet, HashSet};

use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::error::ReplicaError;
use super::store::{self, CompactionPolicy, StoredDoc, WriteOutcome};
use super::{Replica, index, meta_get, meta_set, sync};
use crate::doc::{DocId, Document, SyncState, prime_sync_state};
use crate::policy::Policy;
use crate::wire::{self, DocMessage, SyncRequest, SyncResponse};

/// The peer name under which the server's sync state is kept.
pub const SERVER_PEER: &str = "server";

/// The server id of a transport that does not name its server, and of sessions made without
/// one.
pub const DEFAULT_SERVER_ID: &str = "server";

/// The single cursor of a replica from before cursors were kept per server.
const LEGACY_CURSOR_KEY: &str = "server_cursor";
/// The prefix of each server's cursor key; the server id follows.
const CURSOR_KEY_PREFIX: &str = "server_cursor:";
/// The server that adopted the legacy cursor (or the first one synced with).
const HOME_SERVER_KEY: &str = "home_server";
/// The server whose cursor was stored last.
const LAST_SERVER_KEY: &str = "last_server";

/// At most this many documents speak in one request; the rest wait for the next round.
///
/// A round keeps the documents it speaks for loaded until their answers are applied, so each
/// is loaded once per round rather than once to ask and again to hear the answer; this bound
/// keeps that memory small on a tablet that made thousands of edits offline.
pub const MAX_DOCS_PER_REQUEST: usize = 256;

/// What one `sync_now` remembers between its rounds.
#[derive(Debug)]
pub struct SyncSession {
    /// The server this session talks to: whose cursor is sent and stored.
    server_id: String,
    /// Documents whose conversation with the server continues next round.
    active: BTreeSet<DocId>,
    /// Documents whose resumed sync state was already primed in this session.
    primed: HashSet<DocId>,
    /// Whether the next request carries the recovery manifest.
    send_manifest: bool,
}

impl Default for SyncSession {
    /// A session with the server named [`DEFAULT_SERVER_ID`].
    fn default() -> Self {
        SyncSession::for_server(DEFAULT_SERVER_ID)
    }
}

impl SyncSession {
    /// A session with the server known as `server_id` (see
    /// [`crate::sync_client::SyncTransport::server_id`]): its rounds send and store that
    /// server's cursor.
    pub fn for_server(server_id: &str) -> SyncSession {
        SyncSession {
            server_id: server_id.to_owned(),
            active: BTreeSet::new(),
            primed: HashSet::new(),
            send_manifest: false,
        }
    }

    /// A session whose first round sends the full manifest (document id -> heads), for a
    /// replica restored from a backup: the server then sends whatever the replica lacks,
    /// whatever it believed the device already had. It talks to [`DEFAULT_SERVER_ID`].
    pub fn recovering() -> SyncSession {
        SyncSession::recovering_for(DEFAULT_SERVER_ID)
    }

    /// Like [`SyncSession::recovering`], with the server known as `server_id`.
    pub fn recovering_for(server_id: &str) -> SyncSession {
        SyncSession { send_manifest: true, ..SyncSession::for_server(server_id) }
    }

    /// The server this session talks to.
    pub fn server_id(&self) -> &str {
        &self.server_id
    }

    /// Whether some document still expects another message.
    pub fn has_open_conversations(&self) -> bool {
        !self.active.is_empty()
    }
}

/// What applying one answer did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoundOutcome {
    /// Sync messages applied.
    pub messages: usize,
    /// Whole documents stored.
    pub snapshots: usize,
    /// Documents purged because they left this device's scope.
    pub removed: usize,
    /// The cursor now stored.
    pub cursor: u64,
    /// The documents this answer wrote or removed, for change notices.
    pub changed: Vec<DocId>,
}

/// Records that `id` may hold changes the server has not seen.
pub(crate) fn mark_dirty(conn: &Connection, id: &DocId) -> Result<(), ReplicaError> {
    conn.prepare_cached("INSERT OR IGNORE INTO sync_dirty(doc_id) VALUES (?1)")?
        .execute([id.to_string()])?;
    Ok(())
}

fn clear_dirty(conn: &Connection, id: &DocId) -> Result<(), ReplicaError> {
    conn.prepare_cached("DELETE FROM sync_dirty WHERE doc_id = ?1")?.execute([id.to_string()])?;
    Ok(())
}

/// How many documents hold changes the server may not have yet (the writer's and the
/// readers' count).
pub(crate) fn pending_push_count(conn: &Connection) -> Result<u64, ReplicaError> {
    Ok(conn.query_row("SELECT COUNT(*) FROM sync_dirty", [], |r| r.get(0))?)
}

fn dirty_ids(conn: &Connection) -> Result<BTreeSet<DocId>, ReplicaError> {
    let mut stmt = conn.prepare_cached("SELECT doc_id FROM sync_dirty")?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    let mut out = BTreeSet::new();
    for row in rows {
        let text = row?;
        out.insert(text.parse().map_err(|_| ReplicaError::Corrupt(format!("dirty id {text}")))?);
    }
    Ok(out)
}

/// The cursor stored for `server_id`: its own, else the legacy one while no server has adopted
/// it yet, else 0.
fn cursor_for(conn: &Connection, server_id: &str) -> Result<u64, ReplicaError> {
    let parse = |v: Option<String>| v.and_then(|v| v.parse().ok());
    if let Some(cursor) = parse(meta_get(conn, &cursor_key(server_id))?) {
        return Ok(cursor);
    }
    if meta_get(conn, HOME_SERVER_KEY)?.is_none() {
        return Ok(parse(meta_get(conn, LEGACY_CURSOR_KEY)?).unwrap_or(0));
    }
    Ok(0)
}

/// Stores `cursor` for `server_id`. The first server stored becomes the home server and takes
/// over the legacy cursor: the caller read it through [`cursor_for`] and now replaces it.
fn store_cursor(conn: &Connection, server_id: &str, cursor: u64) -> Result<(), ReplicaError> {
    if meta_get(conn, HOME_SERVER_KEY)?.is_none() {
        meta_set(conn, HOME_SERVER_KEY, server_id)?;
        conn.prepare_cached("DELETE FROM meta WHERE key = ?1")?.execute([LEGACY_CURSOR_KEY])?;
    }
    meta_set(conn, &cursor_key(server_id), &cursor.to_string())?;
    meta_set(conn, LAST_SERVER_KEY, server_id)
}

fn cursor_key(server_id: &str) -> String {
    format!("{CURSOR_KEY_PREFIX}{server_id}")
}

impl Replica {
    /// The last position in the change sequence of the server last synced with (else of the
    /// home server, else of [`DEFAULT_SERVER_ID`]) this replica has absorbed.
    pub fn server_cursor(&self) -> Result<u64, ReplicaError> {
        let server = match meta_get(&self.conn, LAST_SERVER_KEY)? {
            Some(id) => Some(id),
            None => meta_get(&self.conn, HOME_SERVER_KEY)?,
        };
        cursor_for(&self.conn, server.as_deref().unwrap_or(DEFAULT_SERVER_ID))
    }

    /// The last position in the change sequence of the server known as `server_id` this
    /// replica has absorbed: 0 for a server never synced with, except that while no server
    /// has stored a cursor yet, every server reads the cursor of a replica from before cursors
    /// were kept per server (the first one to store a cursor adopts it).
    pub fn server_cursor_for(&self, server_id: &str) -> Result<u64, ReplicaError> {
        cursor_for(&self.conn, server_id)
    }

    /// Starts the server known as `server_id` over at cursor 0, for a server that refused the
    /// stored cursor as ahead of its own sequence (one restored from an older copy).
    pub fn reset_server_cursor(&mut self, server_id: &str) -> Result<(), ReplicaError> {
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        store_cursor(&tx, server_id, 0)?;
        tx.commit()?;
        Ok(())
    }

    /// How many documents hold changes the server may not have yet.
    pub fn pending_push_count(&self) -> Result<u64, ReplicaError> {
        pending_push_count(&self.conn)
    }

    /// The next round's request: the cursor plus a sync message for every document that may
    /// hold changes the server lacks or is still converging with it.
    pub fn build_sync_request(
        &mut self,
        session: &mut SyncSession,
        max_response_bytes: u32,
    ) -> Result<SyncRequest, ReplicaError> {
        self.hold_round_in_cache();
        let dirty = dirty_ids(&self.conn)?;
        // Conversations already under way first, then documents in cache, so that a request
        // cut at the bound leaves the ones that would cost a load for the next round.
        let mut candidates: Vec<DocId> = session.active.iter().cloned().collect();
        let (cached, stored): (Vec<DocId>, Vec<DocId>) = dirty
            .iter()
            .filter(|id| !session.active.contains(*id))
            .cloned()
            .partition(|id| self.cache.contains(id));
        candidates.extend(cached);
        candidates.extend(stored);
        let mut messages = Vec::new();
        for id in candidates {
            if messages.len() >= MAX_DOCS_PER_REQUEST {
                break;
            }
            if !self.cache.contains(&id) && !store::exists(&self.conn, &id)? {
                // Purged since it was marked: nothing left to tell the server.
                clear_dirty(&self.conn, &id)?;
                session.active.remove(&id);
                continue;
            }
            self.ensure_cached(&id, false)?;
            let Replica { conn, cache, sessions, .. } = self;
            let stored =
                cache.get_mut(&id).ok_or_else(|| ReplicaError::NotFound(id.to_string()))?;
            let state = sessions.state(conn, &id, SERVER_PEER)?;
            if session.primed.insert(id.clone()) && dirty.contains(&id) {
                prime_sync_state(state);
            }
            if let Some(message) = stored.doc.generate_sync_message(state) {
                messages.push(DocMessage { doc_id: id.to_string(), message });
            }
        }
        let manifest = if session.send_manifest { Some(self.manifest()?) } else { None };
        let cursor = cursor_for(&self.conn, &session.server_id)?;
        Ok(SyncRequest { cursor, messages, manifest, max_response_bytes })
    }

    /// Grows the document cache by one request's worth for the length of a sync session, so
    /// the documents a request speaks for are still loaded when their answers arrive.
    /// [`Replica::abort_sync_session`] shrinks it back.
    fn hold_round_in_cache(&mut self) {
        let held = self.options.cache_capacity_docs.saturating_add(MAX_DOCS_PER_REQUEST);
        if self.cache.cap() < held {
            self.cache.resize(held);
        }
    }

    /// Every held document with its heads.
    fn manifest(&mut self) -> Result<Vec<wire::ManifestEntry>, ReplicaError> {
        let mut out = Vec::new();
        for id in store::ids(&self.conn)? {
            let heads = self.doc(&id)?.heads().into_iter().map(|h| h.0).collect();
            out.push(wire::ManifestEntry { doc_id: id.to_string(), heads });
        }
        Ok(out)
    }

    /// Applies the server's answer and stores its cursor as the session's server's, all in one
    /// transaction.
    pub fn apply_sync_response(
        &mut self,
        session: &mut SyncSession,
        response: &SyncResponse,
    ) -> Result<RoundOutcome, ReplicaError> {
        let compaction = self.compaction();
        let Replica { conn, cache, sessions, actor, options, .. } = self;
        let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
        let mut batch = AnswerBatch {
            tx: &tx,
            cache,
            sessions,
            actor,
            policy: &options.policy,
            compaction,
            session,
            written: Vec::new(),
            arrived: Vec::new(),
        };
        let applied = batch.apply(response);
        let written = std::mem::take(&mut batch.written);
        let applied = applied.and_then(|outcome| {
            store_cursor(&tx, &session.server_id, response.cursor)?;
            tx.commit()?;
            Ok(outcome)
        });
        match applied {
            Ok(outcome) => {
                session.send_manifest = false;
                for (id, write) in written {
                    if let (Some(stored), Some(write)) = (self.cache.peek_mut(&id), write) {
                        write.apply(stored);
                    }
                }
                Ok(RoundOutcome { cursor: response.cursor, ..outcome })
            }
            Err(e) => {
                // The transaction rolled back: memory may hold what the disk does not.
                for (id, _) in written {
                    self.cache.pop(&id);
                    self.sessions.forget_doc(&id);
                }
                session.active.clear();
                session.primed.clear();
                self.sessions.end(SERVER_PEER);
                Err(e)
            }
        }
    }

    /// Forgets the live conversation after a failed exchange: the next round resumes from the
    /// persisted state, so a message lost in either direction is simply sent again.
    pub fn abort_sync_session(&mut self, session: &mut SyncSession) {
        session.active.clear();
        session.primed.clear();
        self.sessions.end(SERVER_PEER);
        self.cache.resize(self.options.cache_capacity_docs);
    }
}

/// Applies one answer inside its transaction.
struct AnswerBatch<'a> {
    tx: &'a Transaction<'a>,
    cache: &'a mut lru::LruCache<DocId, StoredDoc>,
    sessions: &'a mut sync::SyncSessions,
    actor: &'a automerge::ActorId,
    policy: &'a Policy,
    compaction: CompactionPolicy,
    session: &'a mut SyncSession,
    /// Documents written, with what to record in memory once the transaction commits.
    written: Vec<(DocId, Option<WriteOutcome>)>,
    /// Documents that arrived whole or were removed, for change notices.
    arrived: Vec<DocId>,
}

impl AnswerBatch<'_> {
    fn apply(&mut self, response: &SyncResponse) -> Result<RoundOutcome, ReplicaError> {
        for snapshot in &response.snapshots {
            self.snapshot(&parse(&snapshot.doc_id)?, &snapshot.bytes)?;
        }
        for message in &response.messages {
            self.message(&parse(&message.doc_id)?, &message.message)?;
        }
        for id in &response.removed {
            self.remove(&parse(id)?)?;
        }
        let mut changed: Vec<DocId> = self
            .written
            .iter()
            .filter(|(_, write)| write.is_some())
            .map(|(id, _)| id.clone())
            .collect();
        changed.append(&mut self.arrived);
        Ok(RoundOutcome {
            messages: response.messages.len(),
            snapshots: response.snapshots.len(),
            removed: response.removed.len(),
            cursor: response.cursor,
            changed,
        })
    }

    fn cached(&mut self, id: &DocId) -> Result<&mut StoredDoc, ReplicaError> {
        if !self.cache.contains(id) {
            let stored = match store::load(self.tx, id, self.actor)? {
                Some(stored) => stored,
                None => StoredDoc::new_unsaved(Document::empty(id.clone(), self.actor.clone())),
            };
            self.cache.put(id.clone(), stored);
        }
        self.cache.get_mut(id).ok_or_else(|| ReplicaError::NotFound(id.to_string()))
    }

    fn message(&mut self, id: &DocId, message: &[u8]) -> Result<(), ReplicaError> {
        let (tx, policy, compaction) = (self.tx, self.policy, self.compaction);
        // Load first: the sync state below borrows the session table.
        self.cached(id)?;
        let state = self.sessions.state(tx, id, SERVER_PEER)?;
        let stored =
            self.cache.get_mut(id).ok_or_else(|| ReplicaError::NotFound(id.to_string()))?;
        stored.doc.receive_sync_message(state, message)?;
        let write = store::write(tx, stored, compaction)?;
        if write.is_some() {
            index::project(tx, &stored.doc, policy)?;
        }
        sync::save(tx, id, SERVER_PEER, state)?;
        let in_sync = state.their_heads.as_deref() == Some(stored.doc.heads().as_slice());
        if in_sync {
            clear_dirty(tx, id)?;
            self.session.active.remove(id);
        } else {
            self.session.active.insert(id.clone());
        }
        self.session.primed.insert(id.clone());
        self.written.push((id.clone(), write));
        Ok(())
    }

    fn snapshot(&mut self, id: &DocId, bytes: &[u8]) -> Result<(), ReplicaError> {
        let held = self.cache.contains(id) || store::exists(self.tx, id)?;
        if held {
            // Already here (a retried round, or a server this tablet had not synced with
            // before): merge, which ignores what is known. The server holds what it sent, not
            // necessarily what the replica holds: changes only the replica has (from another
            // server, say a venue that lost them restarting from an older copy) are pushed
            // on the next round instead of being taken as shared.
            let sent = Document::load(id.clone(), bytes, self.actor.clone())?.heads();
            let (tx, compaction, policy) = (self.tx, self.compaction, self.policy);
            let stored = self.cached(id)?;
            stored.doc.load_incremental(bytes)?;
            let write = store::write(tx, stored, compaction)?;
            if write.is_some() {
                index::project(tx, &stored.doc, policy)?;
            }
            let mut heads = stored.doc.heads();
            self.written.push((id.clone(), write));
            let mut shared = sent.clone();
            heads.sort();
            shared.sort();
            if heads != shared {
                mark_dirty(tx, id)?;
            }
            return self.save_shared(id, sent);
        }
        // A first download: keep the bytes as they came and do not crowd the cache.
        let mut stored =
            StoredDoc::new_unsaved(Document::load(id.clone(), bytes, self.actor.clone())?);
        store::write_received_snapshot(self.tx, &mut stored, bytes)?;
        index::project(self.tx, &stored.doc, self.policy)?;
        self.arrived.push(id.clone());
        self.save_shared(id, stored.doc.heads())
    }

    /// After a whole document arrived, the server is known to hold at least its heads.
    fn save_shared(
        &mut self,
        id: &DocId,
        heads: Vec<crate::doc::ChangeHash>,
    ) -> Result<(), ReplicaError> {
        self.sessions.forget_doc(id);
        let mut state = SyncState::new();
        state.shared_heads = heads;
        sync::save(self.tx, id, SERVER_PEER, &state)
    }

    fn remove(&mut self, id: &DocId) -> Result<(), ReplicaError> {
        index::remove(self.tx, id)?;
        store::delete(self.tx, id)?;
        clear_dirty(self.tx, id)?;
        self.cache.pop(id);
        self.sessions.forget_doc(id);
        self.session.active.remove(id);
        self.arrived.push(id.clone());
        Ok(())
    }
}

fn parse(text: &str) -> Result<DocId, ReplicaError> {
    wire::parse_doc_id(text).map_err(|e| ReplicaError::Corrupt(format!("server sent {e}")))
}

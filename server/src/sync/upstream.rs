//! The venue's document relay (ADR 0021): a venue server is a sync client of central for the
//! scope of the events it holds, and a sync server for the tablets on its LAN.
//!
//! The venue talks to central as one device (its own token, role `venue`) with the same
//! wire rounds a tablet speaks (`kam_core::wire`): it sends Automerge sync messages for the
//! event's and the project's documents that changed in its store — its desk mirror's
//! outcomes, anything its tablets merged — and applies central's answer to its own store,
//! where every change takes a number of the venue's own change sequence, so its tablets hear
//! of it on their next round (or at once, through the push channel). While the uplink is down
//! nothing waits on this: the tablets sync with the venue's store and the relay catches up
//! when the line is back.
//!
//! What the venue keeps of the conversation is what a tablet keeps: a cursor in central's
//! sequence and a shared-heads sync state per document, stored in the same transaction as
//! the answer they describe, so a lost answer is simply asked for again. The states live
//! beside the tablets' own under the reserved peer name [`UPSTREAM_PEER`], which no device
//! id can take (device ids are generated, never chosen).
//!
//! Central judges what the venue sends like any device's merge: the desk parts of the events
//! lent to this venue are its desk's to write (its mirror); anything else a staff member may
//! not write is compensated there and the compensation comes back down.

use std::collections::{BTreeMap, BTreeSet};

use automerge::sync::State;
use chrono::{DateTime, Utc};
use kam_core::doc::{DocKind, prime_sync_state};
use kam_core::wire::{self, DocMessage, SyncRequest, SyncResponse};

use crate::db::desk::DeskDb;
use crate::db::desk::delegation::LeaseSide;
use crate::db::{Db, DocumentStore};
use crate::error::ServerError;
use crate::store::{Store, commit_doc, meta_get, meta_set};
use crate::sync::ChangedDoc;
use crate::sync::docs::DocCache;
use crate::sync::scope;

/// The peer name under which the venue keeps its sync states with central.
pub const UPSTREAM_PEER: &str = "~upstream";
/// Central's change sequence: the last position the venue absorbed.
const CURSOR_KEY: &str = "upstream_cursor";
/// The venue's own change sequence: every document changed after this may hold changes
/// central has not heard of yet.
const OFFERED_KEY: &str = "upstream_offered_seq";
/// How many bytes one answer from central should carry at most.
const ANSWER_BUDGET_BYTES: u32 = 4 * 1024 * 1024;

/// What the relay remembers between the rounds of one conversation with central. Dropped
/// when an exchange fails: the next round resumes from the stored states.
#[derive(Debug, Default)]
pub struct RelaySession {
    /// Sync states in use, by document.
    states: BTreeMap<String, State>,
    /// Documents whose conversation continues next round.
    active: BTreeSet<String>,
}

/// One request to central and what applying its answer must record.
#[derive(Debug)]
pub struct RelayRequest {
    /// The request.
    pub request: SyncRequest,
    /// The venue's change sequence when the request was built: documents changed up to here
    /// have spoken.
    offered_to: i64,
}

/// What applying one answer did.
#[derive(Debug, Default)]
pub struct Relayed {
    /// Documents the answer changed in the venue's store, for the push channel.
    pub changed: Vec<ChangedDoc>,
    /// Whether the request and the answer both carried nothing: the two sides agree.
    pub quiet: bool,
}

/// The scope keys the venue relays: the events it holds or held, and their projects.
fn relayed_scopes(desk: &dyn DeskDb) -> Result<BTreeSet<String>, ServerError> {
    let mut scopes = BTreeSet::new();
    for row in desk.delegations()? {
        if row.side != LeaseSide::Held {
            continue;
        }
        if let Some(project) = desk.event_project(&row.event_id)? {
            scopes.insert(format!("project/{project}"));
        }
        scopes.insert(format!("event/{}", row.event_id));
    }
    Ok(scopes)
}

impl RelaySession {
    /// The sync state of `doc_id` with central: the one in use, else the stored one primed
    /// so that its first message carries what changed since the heads both sides share.
    fn state(&mut self, db: &dyn Db, doc_id: &str) -> Result<&mut State, ServerError> {
        if !self.states.contains_key(doc_id) {
            let mut state = match db.sync_state(UPSTREAM_PEER, doc_id)? {
                Some(bytes) => State::decode(&bytes)
                    .map_err(|e| ServerError::Corrupt(format!("upstream sync state: {e}")))?,
                None => State::new(),
            };
            if !state.shared_heads.is_empty() {
                prime_sync_state(&mut state);
            }
            self.states.insert(doc_id.to_owned(), state);
        }
        self.states
            .get_mut(doc_id)
            .ok_or_else(|| ServerError::Corrupt(format!("{doc_id}: no sync state")))
    }
}

/// Builds the next request to central: a sync message for every relayed document changed in
/// the venue's store since the last request, or still converging with central.
pub fn next_request(
    store: &mut Store,
    session: &mut RelaySession,
) -> Result<RelayRequest, ServerError> {
    store.write_reading_desk(|tx, docs, _, desk| {
        let offered = stored_number(tx, OFFERED_KEY)?;
        let offered_to = tx.current_seq()?;
        let scopes = relayed_scopes(desk)?;
        let mut speaking: BTreeSet<String> = std::mem::take(&mut session.active);
        for (doc_id, seq) in tx.document_seqs()? {
            if seq > offered {
                speaking.insert(doc_id);
            }
        }
        let mut messages = Vec::new();
        for doc_id in speaking {
            let id = scope::parse_id(&doc_id)?;
            let Some(row) = tx.document_row(&id)? else { continue };
            if !scopes.contains(&row.scope_key) {
                continue;
            }
            let state = session.state(tx, &doc_id)?;
            let doc = docs.get(tx, &id, false)?.ok_or(ServerError::NotFound)?;
            if let Some(message) = doc.generate_sync_message(state) {
                messages.push(DocMessage { doc_id, message });
            }
        }
        let request = SyncRequest {
            cursor: u64::try_from(stored_number(tx, CURSOR_KEY)?).unwrap_or(0),
            messages,
            manifest: None,
            max_response_bytes: ANSWER_BUDGET_BYTES,
        };
        Ok(RelayRequest { request, offered_to })
    })
}

/// Applies central's answer to `request` to the venue's store, in one transaction with the
/// new cursor and the sync states.
pub fn apply_answer(
    store: &mut Store,
    session: &mut RelaySession,
    request: &RelayRequest,
    answer: &SyncResponse,
    now: DateTime<Utc>,
) -> Result<Relayed, ServerError> {
    store.write_reading_desk(|tx, docs, _, desk| {
        let mut applied = Applied { tx, docs, desk, session, now, relayed: Relayed::default() };
        for snapshot in &answer.snapshots {
            applied.snapshot(&snapshot.doc_id, &snapshot.bytes)?;
        }
        for message in &answer.messages {
            applied.message(message)?;
        }
        if !answer.removed.is_empty() {
            // The venue is no authority over documents: it keeps what its tablets may still
            // read, and central keeps refusing what it may no longer write.
            tracing::info!(
                removed = answer.removed.len(),
                "central withdrew documents from the venue"
            );
        }
        let Applied { session, mut relayed, .. } = applied;
        for doc_id in session.active.iter().chain(answer.snapshots.iter().map(|s| &s.doc_id)) {
            if let Some(state) = session.states.get(doc_id) {
                tx.save_sync_state(UPSTREAM_PEER, doc_id, &state.encode())?;
            }
        }
        let cursor = i64::try_from(answer.cursor)
            .map_err(|_| ServerError::Invalid { field: "cursor", reason: "out of range".into() })?;
        // An idle round (every second while nothing moves) writes nothing.
        if stored_number(tx, CURSOR_KEY)? != cursor {
            meta_set(tx, CURSOR_KEY, &cursor.to_string())?;
        }
        let offered = offered_mark(tx, session, request.offered_to)?;
        if stored_number(tx, OFFERED_KEY)? != offered {
            meta_set(tx, OFFERED_KEY, &offered.to_string())?;
        }
        relayed.quiet = request.request.messages.is_empty() && answer.is_quiet();
        Ok(relayed)
    })
}

/// One answer being applied.
struct Applied<'a> {
    tx: &'a dyn Db,
    docs: &'a mut DocCache,
    desk: &'a dyn DeskDb,
    session: &'a mut RelaySession,
    now: DateTime<Utc>,
    relayed: Relayed,
}

impl Applied<'_> {
    /// A whole document central sent: stored (merged into the venue's copy, if it has one),
    /// and if it is an event or project the venue holds a desk of, the desk's state mirrored
    /// into it at once (entries the mirror met before the document arrived found nothing to
    /// write into).
    fn snapshot(&mut self, doc_id: &str, bytes: &[u8]) -> Result<(), ServerError> {
        let id = wire::parse_doc_id(doc_id)?;
        let doc = self.docs.get(self.tx, &id, true)?.ok_or(ServerError::NotFound)?;
        let before = doc.heads();
        doc.load_incremental(bytes)?;
        doc.check_header()?;
        // Central holds at least what it sent; the conversation settles the rest.
        self.session.states.insert(doc_id.to_owned(), State::new());
        self.session.active.insert(doc_id.to_owned());
        self.commit(&id, &before)?;
        if before.is_empty() && matches!(id.kind(), DocKind::Event | DocKind::Project) {
            for event_id in self.held_events_of(&id)? {
                let changed = crate::desk::mirror::mirror_whole_event(
                    self.tx, self.docs, self.desk, &event_id, self.now,
                )?;
                self.relayed.changed.extend(changed);
            }
        }
        Ok(())
    }

    /// A sync message from central about a document the venue holds (or held).
    fn message(&mut self, message: &DocMessage) -> Result<(), ServerError> {
        let id = wire::parse_doc_id(&message.doc_id)?;
        let state = self.session.state(self.tx, &message.doc_id)?;
        let doc = self.docs.get(self.tx, &id, true)?.ok_or(ServerError::NotFound)?;
        let before = doc.heads();
        doc.receive_sync_message(state, &message.message)?;
        self.session.active.insert(message.doc_id.clone());
        if !doc.is_empty() {
            doc.check_header()?;
            self.commit(&id, &before)?;
        }
        Ok(())
    }

    fn commit(
        &mut self,
        id: &kam_core::doc::DocId,
        before: &[kam_core::doc::ChangeHash],
    ) -> Result<(), ServerError> {
        if let Some((seq, scope_key)) = commit_doc(self.tx, self.docs, id, before, self.now)? {
            self.relayed.changed.push(ChangedDoc { seq, doc_id: id.to_string(), scope_key });
        }
        Ok(())
    }

    /// The events the venue holds a desk of whose event document, or project document, is `id`.
    fn held_events_of(&self, id: &kam_core::doc::DocId) -> Result<Vec<String>, ServerError> {
        let mut events = Vec::new();
        for row in self.desk.delegations()? {
            if row.side != LeaseSide::Held {
                continue;
            }
            let matches = match id.kind() {
                DocKind::Event => row.event_id == id.entity(),
                _ => self.desk.event_project(&row.event_id)?.as_deref() == Some(id.entity()),
            };
            if matches {
                events.push(row.event_id);
            }
        }
        Ok(events)
    }
}

/// How far the venue's changes have spoken: up to where the request was built, but short of
/// every document whose conversation is still open, so that one the session forgets (a lost
/// exchange, a restart) speaks again from its stored state instead of falling silent with
/// changes central lacks.
fn offered_mark(db: &dyn Db, session: &RelaySession, offered_to: i64) -> Result<i64, ServerError> {
    let mut mark = offered_to;
    for doc_id in &session.active {
        if let Some(row) = db.document_row(&scope::parse_id(doc_id)?)? {
            mark = mark.min(row.seq.saturating_sub(1));
        }
    }
    Ok(mark)
}

/// The setting that keeps the venue's installation id.
const VENUE_INSTALLATION: &str = "venue_installation";

/// The venue's installation id as central's device (ADR 0022), created the first time the
/// venue runs and kept in its settings: the second copy carries it, so a venue restarted
/// from its copy is the same installation and central keeps serving it.
pub fn venue_installation(store: &mut Store) -> Result<String, ServerError> {
    store.transaction(|db| {
        if let Some(id) = meta_get(db, VENUE_INSTALLATION)? {
            return Ok(id);
        }
        let id = uuid::Uuid::now_v7().to_string();
        meta_set(db, VENUE_INSTALLATION, &id)?;
        Ok(id)
    })
}

fn stored_number(db: &dyn DocumentStore, key: &str) -> Result<i64, ServerError> {
    Ok(meta_get(db, key)?.and_then(|v| v.parse().ok()).unwrap_or(0))
}

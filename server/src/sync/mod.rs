//! The server's half of a sync round (DESIGN §4).
//!
//! One round is one IMMEDIATE transaction: the device's messages are merged (and checked by
//! the authority), news since the device's cursor is gathered within its scope, and the
//! answer is built; the answer leaves only after the commit. Every part is idempotent: a
//! retried round merges nothing new, and the per-device sync state only advances past what
//! was sent once the device's next cursor shows it applied that answer, so a lost answer is
//! simply sent again.

use std::collections::BTreeSet;

use automerge::sync::State;
use chrono::{DateTime, Utc};
use kam_core::doc::{ChangeHash, DocId, DocKind, prime_sync_state};
use kam_core::wire::{self, DocMessage, DocSnapshot, SyncRequest, SyncResponse};
use serde_json::json;

use crate::audit;
use crate::auth::{Principal, Role};
use crate::db::Db;
use crate::error::ServerError;
use crate::store::{Store, commit_doc};
use authority::DeskView;
use docs::DocCache;
use scope::{NewsItem, Reason};

pub(crate) mod authority;
pub(crate) mod docs;
pub(crate) mod prefetch;
pub(crate) mod projection;
pub mod projector;
pub mod push;
pub mod scope;
pub mod upstream;

/// The smallest and largest answer budget a device may ask for, in bytes.
const MIN_BUDGET_BYTES: usize = 64 * 1024;
const MAX_BUDGET_BYTES: usize = 16 * 1024 * 1024;

/// A document changed by a round, for the push channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangedDoc {
    /// Its new position in the change sequence.
    pub seq: i64,
    /// The document.
    pub doc_id: String,
    /// Who may see it.
    pub scope_key: String,
}

/// What a round did, for metrics and the push channel.
#[derive(Clone, Debug, Default)]
pub struct RoundResult {
    /// The answer.
    pub response: SyncResponse,
    /// Documents the device's messages changed.
    pub changed: Vec<ChangedDoc>,
    /// Violations compensated in this round.
    pub violations: usize,
}

/// Runs one round for `who`.
pub fn sync_round(
    store: &mut Store,
    who: &Principal,
    request: &SyncRequest,
    now: DateTime<Utc>,
) -> Result<RoundResult, ServerError> {
    store.write_reading_desk(|tx, docs, _, desk| {
        let mut round = Round {
            tx,
            desk,
            docs,
            who,
            now,
            replied: BTreeSet::new(),
            result: RoundResult::default(),
            bytes: 0,
            pending: Vec::new(),
            oldest_upload: None,
        };
        round.run(request)?;
        let oldest_upload = round
            .oldest_upload
            .and_then(|s| DateTime::<Utc>::from_timestamp(s, 0))
            .map(|t| t.min(now));
        crate::auth::touch_device(
            tx,
            &who.device_id,
            round.result.response.cursor,
            oldest_upload,
            now,
        )?;
        Ok(round.result)
    })
}

/// The refusal of a merge whose result does not read as the document it claims to be.
fn invalid_document(doc_id: &str, error: &kam_core::doc::DocError) -> ServerError {
    ServerError::Refused { code: "invalid_document", message: format!("{doc_id}: {error}") }
}

struct Round<'a> {
    /// The round's transaction.
    tx: &'a dyn Db,
    /// The selection desk, asked which units it prices.
    desk: &'a dyn DeskView,
    docs: &'a mut DocCache,
    who: &'a Principal,
    now: DateTime<Utc>,
    /// Documents already answered through the device's own messages.
    replied: BTreeSet<String>,
    result: RoundResult,
    /// Bytes of messages and snapshots in the answer so far.
    bytes: usize,
    /// Sync states to hold once the device confirms this answer: (document, state).
    pending: Vec<(String, Vec<u8>)>,
    /// The commit time (epoch seconds) of the oldest edit the device delivered this round.
    oldest_upload: Option<i64>,
}

impl Round<'_> {
    fn run(&mut self, request: &SyncRequest) -> Result<(), ServerError> {
        let cursor = i64::try_from(request.cursor)
            .map_err(|_| ServerError::Invalid { field: "cursor", reason: "out of range".into() })?;
        if cursor > self.tx.current_seq()? {
            return Err(ServerError::Invalid {
                field: "cursor",
                reason: "ahead of the server".into(),
            });
        }
        if cursor == 0 {
            // A device at cursor 0 has never applied an answer, whatever the server recorded
            // for it before (a reinstalled app keeping its token, an answer lost on the first
            // round): it starts from nothing.
            self.tx.forget_sync_states(&self.who.device_id)?;
        }
        self.confirm_delivered(cursor)?;
        if let Some(manifest) = &request.manifest {
            self.recover(manifest)?;
        }
        let ids: Vec<DocId> =
            request.messages.iter().filter_map(|m| wire::parse_doc_id(&m.doc_id).ok()).collect();
        let unloaded = self.docs.read_unloaded(self.tx, &ids)?;
        let actor = self.docs.actor().clone();
        std::thread::scope(|scope| {
            let mut arrivals = prefetch::start(scope, &unloaded, &actor);
            for message in &request.messages {
                if let Ok(id) = wire::parse_doc_id(&message.doc_id) {
                    arrivals.wait_for(&id, self.docs)?;
                }
                self.merge_message(message)?;
            }
            arrivals.finish(self.docs)
        })?;
        let budget =
            (request.max_response_bytes as usize).clamp(MIN_BUDGET_BYTES, MAX_BUDGET_BYTES);
        let news = scope::news_since(
            self.tx,
            self.who,
            if request.manifest.is_some() { 0 } else { cursor },
        )?;
        let answered_to = self.send_news(&news, budget)?;
        let response = &mut self.result.response;
        response.cursor = match answered_to {
            Some(seq) => u64::try_from(seq).unwrap_or(0),
            None => u64::try_from(self.tx.current_seq()?).unwrap_or(0),
        };
        let cursor_now = i64::try_from(response.cursor).unwrap_or(i64::MAX);
        for (doc_id, state) in std::mem::take(&mut self.pending) {
            self.tx.set_pending_sync_state(&self.who.device_id, &doc_id, &state, cursor_now)?;
        }
        Ok(())
    }

    /// The device's cursor says it applied every answer up to it: what those answers carried
    /// is now known to be shared.
    fn confirm_delivered(&self, cursor: i64) -> Result<(), ServerError> {
        Ok(self.tx.confirm_sync_states(&self.who.device_id, cursor)?)
    }

    /// Recovery: the device lists what it holds; the server believes it and will answer with
    /// everything else the device should have (the caller then reads news from the start).
    fn recover(&mut self, manifest: &[wire::ManifestEntry]) -> Result<(), ServerError> {
        self.tx.forget_sync_states(&self.who.device_id)?;
        for entry in manifest {
            let id = wire::parse_doc_id(&entry.doc_id)?;
            let Some(row) = self.tx.document_row(&id)? else { continue };
            if !scope::can_see(self.tx, self.who, id.kind(), &row.scope_key)? {
                self.result.response.removed.push(entry.doc_id.clone());
                continue;
            }
            let heads: Vec<_> = entry.heads.iter().map(|h| automerge::ChangeHash(*h)).collect();
            let known = self.docs.get(self.tx, &id, false)?.is_some_and(|d| d.has_heads(&heads));
            let mut state = State::new();
            state.shared_heads = if known { heads } else { Vec::new() };
            self.save_state(&entry.doc_id, &state)?;
        }
        Ok(())
    }

    fn load_state(&self, doc_id: &str) -> Result<Option<State>, ServerError> {
        self.tx
            .sync_state(&self.who.device_id, doc_id)?
            .map(|b| {
                State::decode(&b).map_err(|e| ServerError::Corrupt(format!("sync state: {e}")))
            })
            .transpose()
    }

    fn save_state(&self, doc_id: &str, state: &State) -> Result<(), ServerError> {
        Ok(self.tx.save_sync_state(&self.who.device_id, doc_id, &state.encode())?)
    }

    /// Whether the device may talk about `id`, stored as `row` (or not yet); if not, it is
    /// told to drop it.
    fn admit(
        &mut self,
        id: &DocId,
        row: Option<&docs::DocRow>,
        wire_id: &str,
    ) -> Result<bool, ServerError> {
        let allowed = match row {
            Some(row) => scope::can_see(self.tx, self.who, id.kind(), &row.scope_key)?,
            None => scope::may_create(self.who.role, id.kind()),
        };
        if !allowed {
            self.refuse_out_of_scope(wire_id)?;
        }
        Ok(allowed)
    }

    /// Tells the device to drop a document outside its scope, and audits the attempt.
    fn refuse_out_of_scope(&mut self, wire_id: &str) -> Result<(), ServerError> {
        self.result.response.removed.push(wire_id.to_owned());
        audit::log(
            self.tx,
            self.now,
            &self.who.user_id,
            "sync.refused_out_of_scope",
            wire_id,
            &json!({ "device": self.who.device_id }),
        )
    }

    fn merge_message(&mut self, message: &DocMessage) -> Result<(), ServerError> {
        let id = wire::parse_doc_id(&message.doc_id)?;
        if !self.replied.insert(message.doc_id.clone()) {
            return Err(ServerError::Invalid {
                field: "messages",
                reason: format!("{} twice", message.doc_id),
            });
        }
        let row = self.tx.document_row(&id)?;
        if !self.admit(&id, row.as_ref(), &message.doc_id)? {
            return Ok(());
        }
        if row.as_ref().is_some_and(|r| r.stored_bytes > docs::MAX_DOC_BYTES) {
            return Err(ServerError::Refused {
                code: "document_too_large",
                message: format!(
                    "{} holds more than {} bytes; it takes no more edits",
                    message.doc_id,
                    docs::MAX_DOC_BYTES
                ),
            });
        }
        let is_new = row.is_none();
        let mut state = self.load_state(&message.doc_id)?.unwrap_or_default();
        let doc = self.docs.get(self.tx, &id, true)?.ok_or(ServerError::NotFound)?;
        let heads_before = doc.heads();
        // The authority check and the conflict scan after the merge (`commit_doc`) both ask what
        // the merge changed; the patches recorded while it applies spare them a walk through the
        // whole document.
        doc.start_patch_index();
        doc.receive_sync_message_limited(
            &mut state,
            &message.message,
            Some(kam_core::doc::MAX_CHANGES_PER_MESSAGE),
        )
        .map_err(|e| ServerError::Invalid { field: "message", reason: e.to_string() })?;
        if let Some(t) = doc.earliest_change_time_since(&heads_before) {
            self.oldest_upload = Some(self.oldest_upload.map_or(t, |o| o.min(t)));
        }
        if doc.heads() != heads_before
            && !doc.is_empty()
            && !self.accept_merged(&id, &message.doc_id, &heads_before, is_new)?
        {
            return Ok(());
        }
        let doc = self.docs.loaded(&id)?;
        doc.stop_patch_index();
        if let Some(reply) = doc.generate_sync_message(&mut state) {
            self.bytes += reply.len();
            self.result
                .response
                .messages
                .push(DocMessage { doc_id: message.doc_id.clone(), message: reply });
        }
        self.save_state(&message.doc_id, &state)
    }

    /// Checks and stores what a device's message merged into `id` since `heads_before`: the
    /// document's header and depth, a new document's admission, the authority's
    /// compensations, then the commit. `false` when a new document is not admitted (the
    /// message is ignored, nothing is stored).
    fn accept_merged(
        &mut self,
        id: &DocId,
        doc_id: &str,
        heads_before: &[ChangeHash],
        is_new: bool,
    ) -> Result<bool, ServerError> {
        let doc = self.docs.loaded(id)?;
        // At the door: what the device sent must read as the document it claims to be
        // (kind, schema and id in its header), and the authority must be able to read what
        // it guards. Anything else is refused with 422 and nothing of the round is stored.
        doc.check_header().map_err(|e| invalid_document(doc_id, &e))?;
        let depth = doc.depth_written_since(heads_before).unwrap_or(usize::MAX);
        if depth > kam_core::doc::MAX_WRITE_DEPTH {
            return Err(ServerError::Refused {
                code: "document_too_deep",
                message: format!(
                    "{} nests values {depth} levels deep, at most {}",
                    doc_id,
                    kam_core::doc::MAX_WRITE_DEPTH
                ),
            });
        }
        // A new document whose scope cannot be read from it (a record without the customer
        // it follows) is refused like any document the server cannot read.
        let admitted = !is_new
            || self.admit_new(id, doc_id).map_err(|e| match e {
                ServerError::Doc(e) => invalid_document(doc_id, &e),
                other => other,
            })?;
        if !admitted {
            return Ok(false);
        }
        let found = self.enforce_authority(id, heads_before).map_err(|e| match e {
            ServerError::Doc(e) => invalid_document(doc_id, &e),
            other => other,
        })?;
        authority::record(self.tx, self.who, doc_id, &found, self.now)?;
        self.result.violations += found.len();
        if let Some((seq, scope_key)) = commit_doc(self.tx, self.docs, id, heads_before, self.now)?
        {
            self.result.changed.push(ChangedDoc { seq, doc_id: doc_id.to_owned(), scope_key });
        }
        Ok(true)
    }

    /// Compensates what the merge since `heads_before` wrote without authority. The guarded
    /// values before the merge are read as of those heads, and only when the merge touched
    /// them.
    fn enforce_authority(
        &mut self,
        id: &DocId,
        heads_before: &[ChangeHash],
    ) -> Result<Vec<authority::Violation>, ServerError> {
        let doc = self.docs.loaded(id)?;
        authority::check_merge(doc, heads_before, self.desk, self.who, self.now)
    }

    /// A new document must land inside the author's scope: a rep's new customer becomes
    /// theirs, a ticket must belong to a customer they can see.
    fn admit_new(&mut self, id: &DocId, wire_id: &str) -> Result<bool, ServerError> {
        let doc = self.docs.get(self.tx, id, false)?.ok_or(ServerError::NotFound)?;
        let key = scope::scope_key_of(doc)?;
        if self.who.role == Role::Rep && id.kind() == DocKind::Customer {
            scope::grant(self.tx, &self.who.user_id, &key)?;
            return Ok(true);
        }
        if scope::can_see(self.tx, self.who, id.kind(), &key)? {
            return Ok(true);
        }
        self.docs.forget(id);
        self.refuse_out_of_scope(wire_id)?;
        Ok(false)
    }

    /// Adds news in sequence order until the budget is spent, never splitting one sequence
    /// number across answers. Returns the last position sent if the budget stopped it.
    fn send_news(&mut self, news: &[NewsItem], budget: usize) -> Result<Option<i64>, ServerError> {
        let mut at = 0;
        while at < news.len() {
            let seq = news[at].seq;
            if self.bytes >= budget && at > 0 {
                let response = &mut self.result.response;
                response.more = true;
                response.remaining_docs = (news.len() - at) as u64;
                return Ok(Some(news[at - 1].seq));
            }
            while at < news.len() && news[at].seq == seq {
                self.send_item(&news[at])?;
                at += 1;
            }
        }
        Ok(None)
    }

    fn send_item(&mut self, item: &NewsItem) -> Result<(), ServerError> {
        if self.replied.contains(&item.doc_id) {
            return Ok(());
        }
        if item.reason == Reason::Revoked {
            self.result.response.removed.push(item.doc_id.clone());
            return Ok(());
        }
        let id = scope::parse_id(&item.doc_id)?;
        let Some(row) = self.tx.document_row(&id)? else { return Ok(()) };
        let shared = State { shared_heads: row.heads.clone(), ..State::new() }.encode();
        match self.load_state(&item.doc_id)? {
            None => {
                let bytes = match self.tx.stored_snapshot(&id)? {
                    Some(bytes) => bytes,
                    None => {
                        self.docs.get(self.tx, &id, false)?.ok_or(ServerError::NotFound)?.save()
                    }
                };
                self.bytes += bytes.len();
                self.result
                    .response
                    .snapshots
                    .push(DocSnapshot { doc_id: item.doc_id.clone(), bytes });
                self.save_state(&item.doc_id, &State::new())?;
            }
            Some(mut state) => {
                if state.shared_heads == row.heads {
                    return Ok(());
                }
                prime_sync_state(&mut state);
                let doc = self.docs.get(self.tx, &id, false)?.ok_or(ServerError::NotFound)?;
                let Some(message) = doc.generate_sync_message(&mut state) else { return Ok(()) };
                self.bytes += message.len();
                self.result
                    .response
                    .messages
                    .push(DocMessage { doc_id: item.doc_id.clone(), message });
            }
        }
        self.pending.push((item.doc_id.clone(), shared));
        Ok(())
    }
}

//! One KAM document: an Automerge document with its id, schema version and commit metadata.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use automerge::sync::{self, SyncDoc};
use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, AutoCommit, ChangeHash, ObjType, PatchAction, Prop, ROOT, ReadDoc};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::codec::{MapReader, MapWriter};
use super::error::DocError;
use crate::model::UserId;

/// The newest document schema this build writes and reads. Readers accept every older one.
pub const SCHEMA_VERSION: i64 = 1;

/// The root keys every document starts with: its schema version, kind and entity id.
pub const HEADER_ROOT_KEYS: [&str; 3] = ["schema", "kind", "id"];

/// The kinds of document, one per aggregate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocKind {
    /// `customer/<id>`: profile, classification, contacts, visits.
    Customer,
    /// `ticket/<id>`: one service ticket.
    Ticket,
    /// `project/<id>`: buildings, units, approved prices, unit status mirror.
    Project,
    /// `event/<id>`: one selection event.
    Event,
    /// `lead/<id>`: one development lead, seen with its customer.
    Lead,
    /// `plan/<customer>-<year>`: a customer's yearly account plan, seen with its customer.
    Plan,
    /// `survey/<id>`: one satisfaction survey, seen with its customer.
    Survey,
    /// `scorecard/<user>-<period>`: one person's scorecard, seen by the person.
    Scorecard,
    /// `review/<YYYY-MM>`: one monthly leadership review (headquarters').
    Review,
    /// `organisation/<id>`: one commissioning organisation (the back office's).
    Organisation,
}
crate::model::vocabulary!(DocKind, "document kind", {
    Customer => "customer", Ticket => "ticket", Project => "project", Event => "event",
    Lead => "lead", Plan => "plan", Survey => "survey", Scorecard => "scorecard",
    Review => "review", Organisation => "organisation"
});

impl DocKind {
    /// Whether documents of this kind are records (ADR 0023): kept through the generic
    /// mapping of `doc::record` rather than a hand-written layout.
    pub fn is_record(self) -> bool {
        matches!(
            self,
            DocKind::Lead
                | DocKind::Plan
                | DocKind::Survey
                | DocKind::Scorecard
                | DocKind::Review
                | DocKind::Organisation
        )
    }
}

/// A document's stable address: `<kind>/<entity id>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DocId {
    kind: DocKind,
    entity: String,
}

impl DocId {
    /// The id of the document of `kind` holding entity `entity`.
    pub fn new(kind: DocKind, entity: impl Into<String>) -> DocId {
        DocId { kind, entity: entity.into() }
    }

    /// The document kind.
    pub fn kind(&self) -> DocKind {
        self.kind
    }

    /// The entity id part.
    pub fn entity(&self) -> &str {
        &self.entity
    }
}

impl fmt::Display for DocId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind, self.entity)
    }
}

impl FromStr for DocId {
    type Err = DocError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, entity) = s.split_once('/').ok_or_else(|| DocError::MalformedId(s.into()))?;
        let kind = kind.parse().map_err(|_| DocError::MalformedId(s.into()))?;
        if entity.is_empty() || entity.contains('/') {
            return Err(DocError::MalformedId(s.into()));
        }
        Ok(DocId::new(kind, entity))
    }
}

impl TryFrom<String> for DocId {
    type Error = DocError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<DocId> for String {
    fn from(value: DocId) -> Self {
        value.to_string()
    }
}

/// Who did a user action, when, and what it was: recorded on the action's one commit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditMeta {
    /// The user who acted.
    pub author: UserId,
    /// When, as the acting device saw it.
    pub at: DateTime<Utc>,
    /// A stable action name, e.g. `customer.update_profile`.
    pub action: String,
}

impl EditMeta {
    /// Metadata for `action` by `author` at `at`.
    pub fn new(author: &UserId, at: DateTime<Utc>, action: impl Into<String>) -> EditMeta {
        EditMeta { author: author.clone(), at, action: action.into() }
    }

    /// Decodes the metadata stored in a change's message, if it is one of ours.
    pub fn from_message(message: &str, time_s: i64) -> Option<EditMeta> {
        #[derive(Deserialize)]
        struct Stored {
            by: String,
            action: String,
        }
        let stored: Stored = serde_json::from_str(message).ok()?;
        Some(EditMeta {
            author: UserId(stored.by),
            at: DateTime::from_timestamp(time_s, 0)?,
            action: stored.action,
        })
    }

    fn message(&self) -> String {
        serde_json::json!({ "by": self.author.as_str(), "action": self.action }).to_string()
    }
}

/// One field that holds several concurrent values (Automerge keeps them all).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldConflict {
    /// Slash-separated path of the field, e.g. `/profile/name`.
    pub path: String,
    /// Every concurrent value in display form; the first is the one readers see.
    pub values: Vec<String>,
}

/// What a merge did to the fields holding concurrent values: see
/// [`Document::conflict_update_since`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConflictUpdate {
    /// Fields the merge wrote that now hold concurrent values.
    pub conflicted: Vec<FieldConflict>,
    /// Fields the merge wrote that now hold one value, and entries it deleted: a conflict
    /// recorded at or under one of these paths is settled.
    pub settled: Vec<String>,
}

/// A change in a document's history, for "who changed what" screens.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// The change hash (hex).
    pub hash: String,
    /// Author, time and action, when the change carries KAM metadata.
    pub meta: Option<EditMeta>,
}

/// The most changes one sync message may carry. A tablet's month offline on one customer is a
/// few hundred; the limit bounds the work one message can ask of a peer.
pub const MAX_CHANGES_PER_MESSAGE: usize = 20_000;

/// The deepest a peer may write into a document: KAM's documents hold values at most four
/// objects below the root (a visit's topic list), so eight leaves room for later schemas.
pub const MAX_WRITE_DEPTH: usize = 8;

/// How deep the walkers over a whole document (conflicts, history paths) descend. KAM's
/// documents nest four levels at most; a deeper object can only come from a hostile peer, and
/// a recursive walk must not follow it down until the stack runs out.
pub const MAX_WALK_DEPTH: usize = 12;

/// An Automerge document addressed by a [`DocId`].
///
/// The typed modules (`customer`, `ticket`, `project`, `event`) are the only code that
/// reads or writes paths inside it.
#[derive(Debug)]
pub struct Document {
    id: DocId,
    doc: AutoCommit,
    /// The changes last found added since some heads, kept for the next question about the
    /// same merge: the server asks when the merged edits were made and whether they form one
    /// line, and each answer would otherwise read the changes' metadata again.
    added: Option<AddedSince>,
    /// The change bytes received by sync since some heads, kept so that storing the merge can
    /// write them as they came instead of encoding the same changes again (`save_after`
    /// rebuilds each change from the op set, a seventh of a tablet's sync time).
    received: Option<ReceivedSince>,
}

/// Change bytes that took a document from `before` to `after`, as they arrived.
#[derive(Debug)]
struct ReceivedSince {
    before: Vec<ChangeHash>,
    after: Vec<ChangeHash>,
    bytes: Vec<u8>,
}

/// The changes added between `before` and `after`: hash, dependencies and commit time.
#[derive(Debug)]
struct AddedSince {
    before: Vec<ChangeHash>,
    after: Vec<ChangeHash>,
    changes: Vec<(ChangeHash, Vec<ChangeHash>, i64)>,
}

impl Document {
    /// A new document whose first change records kind, id and schema version.
    pub(crate) fn create(id: DocId, actor: ActorId) -> Result<Document, DocError> {
        let mut doc = AutoCommit::new().with_actor(actor);
        let mut w = MapWriter::new(&mut doc, ROOT);
        let [schema, kind, entity] = HEADER_ROOT_KEYS;
        w.int(schema, SCHEMA_VERSION)?;
        w.str(kind, id.kind.as_str())?;
        w.str(entity, &id.entity)?;
        Ok(Document { id, doc, added: None, received: None })
    }

    /// An empty replica of a document that exists elsewhere, to be filled by sync.
    pub fn empty(id: DocId, actor: ActorId) -> Document {
        Document { id, doc: AutoCommit::new().with_actor(actor), added: None, received: None }
    }

    /// Loads a document from saved bytes (a snapshot followed by any incremental chunks).
    pub fn load(id: DocId, bytes: &[u8], actor: ActorId) -> Result<Document, DocError> {
        let doc = AutoCommit::load(bytes)?.with_actor(actor);
        Ok(Document { id, doc, added: None, received: None })
    }

    /// This document's id.
    pub fn id(&self) -> &DocId {
        &self.id
    }

    /// The Automerge document, for the other typed modules' reads.
    pub(super) fn automerge(&self) -> &AutoCommit {
        &self.doc
    }

    /// Whether the creation change has arrived.
    pub fn is_empty(&mut self) -> bool {
        self.doc.get_heads().is_empty()
    }

    /// Checks kind and schema before a typed read.
    pub(crate) fn check(&self, expected: DocKind) -> Result<MapReader<'_>, DocError> {
        self.check_at(expected, None)
    }

    /// Checks kind and schema before a typed read of the document as it was at `heads` (as it
    /// is now for `None`).
    pub(crate) fn check_at<'a>(
        &'a self,
        expected: DocKind,
        heads: Option<&'a [ChangeHash]>,
    ) -> Result<MapReader<'a>, DocError> {
        let root = MapReader::at(&self.doc, ROOT, heads);
        let Some(schema) = root.opt_int("schema")? else {
            return Err(DocError::Empty(self.id.to_string()));
        };
        if schema > SCHEMA_VERSION {
            return Err(DocError::UnsupportedSchema { found: schema, supported: SCHEMA_VERSION });
        }
        let kind = root.str("kind")?;
        if kind != expected.as_str() {
            return Err(DocError::WrongKind {
                doc_id: self.id.to_string(),
                found: kind,
                expected: expected.as_str(),
            });
        }
        // The header must name this very document: bytes of one customer merged under
        // another's id would otherwise read as the first one (and project over its rows).
        let entity = root.str("id")?;
        if entity != self.id.entity {
            return Err(DocError::WrongId { doc_id: self.id.to_string(), found: entity });
        }
        Ok(root)
    }

    /// Checks the header (schema version, kind and id) against the id this document is held
    /// under: what a server checks at the door before it stores a device's merge.
    pub fn check_header(&self) -> Result<(), DocError> {
        self.check(self.id.kind).map(|_| ())
    }

    /// Runs `edit` and commits what it wrote as one change carrying `meta`. An edit that
    /// writes nothing produces no change. On error the partial edit is rolled back.
    pub(crate) fn commit_action<T>(
        &mut self,
        meta: &EditMeta,
        edit: impl FnOnce(&mut AutoCommit) -> Result<T, DocError>,
    ) -> Result<(T, Option<ChangeHash>), DocError> {
        match edit(&mut self.doc) {
            Ok(value) => {
                let options = CommitOptions::default()
                    .with_message(meta.message())
                    .with_time(meta.at.timestamp());
                Ok((value, self.doc.commit_with(options)))
            }
            Err(e) => {
                self.doc.rollback();
                Err(e)
            }
        }
    }

    /// The current heads.
    pub fn heads(&mut self) -> Vec<ChangeHash> {
        self.doc.get_heads()
    }

    /// The whole document, compacted.
    pub fn save(&mut self) -> Vec<u8> {
        self.doc.save()
    }

    /// The changes added since `heads`. Used instead of `save_incremental`, whose first call
    /// after `load` returns the whole history (automerge issue 592).
    pub fn save_after(&mut self, heads: &[ChangeHash]) -> Vec<u8> {
        self.doc.save_after(heads)
    }

    /// Applies saved bytes or changes from elsewhere; returns the number of new operations.
    pub fn load_incremental(&mut self, bytes: &[u8]) -> Result<usize, DocError> {
        Ok(self.doc.load_incremental(bytes)?)
    }

    /// Merges another replica of the same document into this one.
    pub fn merge(&mut self, other: &mut Document) -> Result<(), DocError> {
        self.doc.merge(&mut other.doc)?;
        Ok(())
    }

    /// The next sync message for the peer whose state is `state`, if there is anything to say.
    ///
    /// A peer that holds something of the document gets the changes it lacks, never the whole
    /// document: left to itself, Automerge sends a compacted document whenever those changes
    /// are more than a third of the history (the first edit of a document created in one or
    /// two commits, a tablet catching up on a customer its colleagues edited), and the peer
    /// then parses the whole document instead of applying a few changes (five times the bytes
    /// for a first edit; a tenth of the 1,000-device benchmark's time). The price is paid by a
    /// device far behind on a long document, which receives its missing changes uncompacted.
    /// A peer holding nothing still gets the compacted document in one message.
    pub fn generate_sync_message(&mut self, state: &mut sync::State) -> Option<Vec<u8>> {
        let peer_has_some = state.their_heads.as_ref().is_some_and(|h| !h.is_empty());
        let declared = if peer_has_some { state.their_capabilities.take() } else { None };
        let message = self.doc.sync().generate_sync_message(state).map(|m| m.encode());
        if declared.is_some() {
            state.their_capabilities = declared;
        }
        message
    }

    /// Receives an encoded sync message from the peer whose state is `state`.
    pub fn receive_sync_message(
        &mut self,
        state: &mut sync::State,
        message: &[u8],
    ) -> Result<(), DocError> {
        self.receive_sync_message_limited(state, message, None)
    }

    /// Like [`Document::receive_sync_message`], refusing a message that carries, or adds,
    /// more than `max_changes` changes: what a server asks of a device's message (a tablet
    /// far behind may receive far more from its server, and takes them). A whole compacted
    /// document in one chunk is counted by the changes it adds. When the message added too
    /// many, this copy holds them: the caller must drop it (the server's failed round drops
    /// every document it loaded).
    pub fn receive_sync_message_limited(
        &mut self,
        state: &mut sync::State,
        message: &[u8],
        max_changes: Option<usize>,
    ) -> Result<(), DocError> {
        let message =
            sync::Message::decode(message).map_err(|e| DocError::SyncMessage(e.to_string()))?;
        let too_many = |id: &DocId, changes: usize| DocError::TooManyChanges {
            doc_id: id.to_string(),
            changes,
            limit: max_changes.unwrap_or(usize::MAX),
        };
        if let Some(limit) = max_changes
            && message.changes.len() > limit
        {
            return Err(too_many(&self.id, message.changes.len()));
        }
        if message.changes.is_empty() {
            self.doc.sync().receive_sync_message(state, message)?;
            return Ok(());
        }
        let before = self.doc.get_heads();
        // Messages received one after another, with nothing else in between, add up.
        let (start, mut bytes) = match self.received.take() {
            Some(received) if received.after == before => (received.before, received.bytes),
            _ => (before, Vec::new()),
        };
        for chunk in message.changes.iter() {
            bytes.extend_from_slice(chunk);
        }
        let heads_before = self.doc.get_heads();
        self.doc.sync().receive_sync_message(state, message)?;
        self.received = Some(ReceivedSince { before: start, after: self.doc.get_heads(), bytes });
        if let Some(limit) = max_changes {
            let added = self.added_since(&heads_before).len();
            if added > limit {
                return Err(too_many(&self.id, added));
            }
        }
        Ok(())
    }

    /// The bytes of the changes that took this document from `saved` to its current heads, if
    /// they all arrived by sync since then and nothing else was added: loading them after what
    /// was saved at `saved` gives this document again. They may repeat changes already held,
    /// which a load ignores. Forgets the received bytes either way.
    pub fn take_received_since(&mut self, saved: &[ChangeHash]) -> Option<Vec<u8>> {
        let received = self.received.take()?;
        (received.before == saved && received.after == self.doc.get_heads())
            .then_some(received.bytes)
    }

    /// Whether every change in `heads` is part of this document.
    pub fn has_heads(&self, heads: &[ChangeHash]) -> bool {
        heads.iter().all(|h| self.doc.get_change_by_hash(h).is_some())
    }

    /// Whether the changes added since `before` form one straight line on top of it: the
    /// first depends on exactly the heads in `before`, each later one on the one before it.
    ///
    /// Every operation in such a merge has everything the document held before in its causal
    /// past, so it overwrites rather than competes: the merge cannot have created concurrent
    /// values, and a caller may skip looking for new conflicts. The answer is conservative;
    /// `false` only means "look".
    pub fn extends_linearly(&mut self, before: &[ChangeHash]) -> bool {
        let added: Vec<(ChangeHash, Vec<ChangeHash>)> =
            self.added_since(before).iter().map(|(hash, deps, _)| (*hash, deps.clone())).collect();
        is_one_line(before, &added)
    }

    /// The changes added since `before` (hash, dependencies, commit time), read from
    /// Automerge once per pair of `before` and current heads.
    fn added_since(&mut self, before: &[ChangeHash]) -> &[(ChangeHash, Vec<ChangeHash>, i64)] {
        let after = self.doc.get_heads();
        let known = self.added.as_ref().is_some_and(|a| a.before == before && a.after == after);
        if !known {
            let changes = self
                .doc
                .get_changes_meta(before)
                .into_iter()
                .map(|meta| (meta.hash, meta.deps, meta.timestamp))
                .collect();
            self.added = Some(AddedSince { before: before.to_vec(), after, changes });
        }
        self.added.as_ref().map_or(&[], |a| a.changes.as_slice())
    }

    /// The earliest commit time (seconds since the Unix epoch, by the authors' own clocks)
    /// among the changes added since `before`, or `None` if nothing was added. For a merge
    /// of what a device sent, it says how long the oldest of those edits waited on the device.
    pub fn earliest_change_time_since(&mut self, before: &[ChangeHash]) -> Option<i64> {
        self.added_since(before).iter().map(|(_, _, at)| *at).min()
    }

    /// Starts recording, from the current heads on, the patches every later change makes, so
    /// that [`Document::conflict_update_since`] these heads reads the record instead of
    /// walking every operation of the document (Automerge's diff is a scan of the whole op
    /// set otherwise: a fifth of the server's time in a round of concurrent edits). The record
    /// ends with that call or [`Document::stop_patch_index`]; until then every change pays a
    /// little to keep it.
    pub fn start_patch_index(&mut self) {
        self.doc.update_diff_cursor();
    }

    /// Stops the record [`Document::start_patch_index`] began, if any.
    pub fn stop_patch_index(&mut self) {
        if !self.doc.diff_cursor().is_empty() {
            self.doc.reset_diff_cursor();
        }
    }

    /// The conflicts a merge created or settled: only the fields the changes since `before`
    /// touched are looked at, so the cost follows the merge rather than the document.
    ///
    /// Where [`Document::conflicts`] walks every field, this asks Automerge for the patches
    /// between `before` and the current heads, each of which says whether its field is left
    /// with concurrent values. Started by [`Document::start_patch_index`] at `before`, this
    /// reads the patches recorded since; otherwise Automerge scans the document for them.
    pub fn conflict_update_since(
        &mut self,
        before: &[ChangeHash],
    ) -> Result<ConflictUpdate, DocError> {
        let after = self.doc.get_heads();
        let patches = self.doc.diff(before, &after);
        self.stop_patch_index();
        let mut update = ConflictUpdate::default();
        for patch in patches {
            let Ok(ObjType::Map) = self.doc.object_type(&patch.obj) else { continue };
            let (key, conflict) = match &patch.action {
                PatchAction::PutMap { key, conflict, .. } => (key.as_str(), *conflict),
                PatchAction::Conflict { prop: Prop::Map(key) } => (key.as_str(), true),
                PatchAction::DeleteMap { key } => (key.as_str(), false),
                _ => continue,
            };
            let path = field_path(&patch.path, key);
            if conflict {
                let values = field_values(&self.doc, &patch.obj, key)?;
                if values.len() > 1 {
                    update.conflicted.push(FieldConflict { path, values });
                    continue;
                }
            }
            update.settled.push(path);
        }
        Ok(update)
    }

    /// The keys of the root map under which the changes since `before` changed anything, or
    /// `None` when `before` is not part of this document (a reader must then assume every key).
    ///
    /// The server asks this after a merge: when no key holding a guarded field was touched,
    /// the guarded values are what they were, and there is nothing to check. Started by
    /// [`Document::start_patch_index`] at `before`, this reads the recorded patches.
    pub fn root_keys_touched_since(
        &mut self,
        before: &[ChangeHash],
    ) -> Option<std::collections::BTreeSet<String>> {
        let mut touched = std::collections::BTreeSet::new();
        for (first, _) in self.patch_keys_since(before)? {
            touched.insert(first?);
        }
        Some(touched)
    }

    /// The entries of the root map `container` that the changes since `before` touched, or
    /// `None` when they touched anything outside it (or `before` is not part of this
    /// document), in which case a reader must look at the whole document.
    ///
    /// This lets a reader of a large document (a project's 3,000 units) re-read only the
    /// entries a merge changed.
    pub fn entries_touched_since(
        &mut self,
        before: &[ChangeHash],
        container: &str,
    ) -> Option<std::collections::BTreeSet<String>> {
        let mut touched = std::collections::BTreeSet::new();
        for keys in self.patch_keys_since(before)? {
            match keys {
                (Some(c), Some(entry)) if c == container => {
                    touched.insert(entry);
                }
                _ => return None,
            }
        }
        Some(touched)
    }

    /// How deep the changes since `before` wrote: the most objects any changed value sits
    /// below the root (a root field is 1, a contact's phone 3). `None` when `before` is not
    /// part of this document. Started by [`Document::start_patch_index`] at `before`, this
    /// reads the recorded patches; a server asks it at the door, so that a peer cannot store a
    /// document nested deeper than [`MAX_WRITE_DEPTH`].
    pub fn depth_written_since(&mut self, before: &[ChangeHash]) -> Option<usize> {
        if before != self.doc.diff_cursor().as_slice() && !self.has_heads(before) {
            return None;
        }
        let after = self.doc.get_heads();
        let patches = self.doc.diff(before, &after);
        Some(patches.iter().map(|p| p.path.len().saturating_add(1)).max().unwrap_or(0))
    }

    /// For each patch since `before`: the root key it falls under and the key one level
    /// below, where the patch names them (a list position is no key). `None` when `before` is
    /// not part of this document.
    pub(super) fn patch_keys_since(
        &mut self,
        before: &[ChangeHash],
    ) -> Option<Vec<(Option<String>, Option<String>)>> {
        // Heads the patch index started at are this document's own; any others are looked up,
        // which rebuilds each change from the op set (expensive on a large document).
        if before != self.doc.diff_cursor().as_slice() && !self.has_heads(before) {
            return None;
        }
        let after = self.doc.get_heads();
        let keys = self
            .doc
            .diff(before, &after)
            .into_iter()
            .map(|patch| {
                let key = match &patch.action {
                    PatchAction::PutMap { key, .. } | PatchAction::DeleteMap { key } => {
                        Some(key.as_str())
                    }
                    PatchAction::Conflict { prop: Prop::Map(key) } => Some(key.as_str()),
                    _ => None,
                };
                let mut props = patch.path.iter().map(|(_, prop)| match prop {
                    Prop::Map(k) => Some(k.as_str()),
                    Prop::Seq(_) => None,
                });
                let first =
                    props.next().flatten().or(if patch.path.is_empty() { key } else { None });
                let second = match patch.path.len() {
                    0 => None,
                    1 => key,
                    _ => props.next().flatten(),
                };
                (first.map(str::to_owned), second.map(str::to_owned))
            })
            .collect();
        Some(keys)
    }

    /// Every field holding concurrent values, depth first.
    pub fn conflicts(&self) -> Result<Vec<FieldConflict>, DocError> {
        let mut out = Vec::new();
        collect_conflicts(&self.doc, &ROOT, String::new(), 0, &mut out)?;
        Ok(out)
    }

    /// Settles the conflict on the map field at `path` (as [`Document::conflicts`] names it,
    /// e.g. `/profile/name`) by writing `chosen`, one of its concurrent values in display
    /// form, over all of them, as one commit.
    ///
    /// The write is forced: the writers skip a value equal to the one readers already see,
    /// but a choice of the visible value must still be an operation that supersedes the
    /// others, or the field would stay in conflict. The value keeps its type, because it is
    /// the stored scalar itself that is written again. Fails with `EntityNotFound` when the
    /// field does not exist or holds no such value (the conflict changed meanwhile).
    pub fn resolve_conflict(
        &mut self,
        path: &str,
        chosen: &str,
        meta: &EditMeta,
    ) -> Result<(), DocError> {
        let doc_id = self.id.to_string();
        let not_found = || DocError::EntityNotFound {
            entity: "conflicting value",
            id: format!("{path} = {chosen}"),
            doc_id: doc_id.clone(),
        };
        let mut segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let key = segments.pop().ok_or_else(not_found)?;
        let mut obj = ROOT;
        for segment in segments {
            match self.doc.get(&obj, segment)? {
                Some((automerge::Value::Object(ObjType::Map), child)) => obj = child,
                _ => return Err(not_found()),
            }
        }
        let value = self
            .doc
            .get_all(&obj, key)?
            .into_iter()
            .find_map(|(value, _)| match value {
                automerge::Value::Scalar(s)
                    if display_value(&automerge::Value::Scalar(s.clone())) == chosen =>
                {
                    Some(s.into_owned())
                }
                _ => None,
            })
            .ok_or_else(not_found)?;
        self.commit_action(meta, |am| {
            am.put(&obj, key, value)?;
            Ok(())
        })?;
        Ok(())
    }

    /// The Automerge document itself, for the readers of its changes in this module tree.
    pub(super) fn automerge_mut(&mut self) -> &mut AutoCommit {
        &mut self.doc
    }

    /// The change history, oldest first, with KAM metadata where present.
    pub fn history(&mut self) -> Vec<HistoryEntry> {
        self.doc
            .get_changes(&[])
            .into_iter()
            .map(|c| HistoryEntry {
                hash: c.hash().to_string(),
                meta: c.message().and_then(|m| EditMeta::from_message(m, c.timestamp())),
            })
            .collect()
    }
}

fn collect_conflicts(
    doc: &AutoCommit,
    obj: &automerge::ObjId,
    path: String,
    depth: usize,
    out: &mut Vec<FieldConflict>,
) -> Result<(), DocError> {
    let Ok(ObjType::Map) = doc.object_type(obj) else { return Ok(()) };
    if depth > MAX_WALK_DEPTH {
        return Ok(());
    }
    for key in doc.keys(obj) {
        let field_path = format!("{path}/{key}");
        let values = field_values(doc, obj, &key)?;
        if values.len() > 1 {
            out.push(FieldConflict { path: field_path.clone(), values });
        }
        // `get` returns the winner, which is the value readers see; descend into it.
        if let Some((automerge::Value::Object(ObjType::Map), child)) = doc.get(obj, key.as_str())? {
            collect_conflicts(doc, &child, field_path, depth + 1, out)?;
        }
    }
    Ok(())
}

/// Whether `added` (hash and dependencies of each change) is a single chain whose first link
/// depends on exactly `before`.
fn is_one_line(before: &[ChangeHash], added: &[(ChangeHash, Vec<ChangeHash>)]) -> bool {
    let hashes: HashSet<&ChangeHash> = added.iter().map(|(hash, _)| hash).collect();
    let before: HashSet<&ChangeHash> = before.iter().collect();
    let mut roots = 0;
    let mut parents = HashSet::new();
    for (_, deps) in added {
        if deps.iter().any(|d| hashes.contains(d)) {
            // Inside the chain a link has exactly one parent, and no parent has two children.
            if deps.len() != 1 || !parents.insert(&deps[0]) {
                return false;
            }
        } else {
            roots += 1;
            let deps: HashSet<&ChangeHash> = deps.iter().collect();
            if deps != before {
                return false;
            }
        }
    }
    roots <= 1
}

/// Every value of one map field in display form, the winner (what `get` returns and every
/// reader sees) first.
fn field_values(
    doc: &AutoCommit,
    obj: &automerge::ObjId,
    key: &str,
) -> Result<Vec<String>, DocError> {
    let all = doc.get_all(obj, key)?;
    if all.len() < 2 {
        return Ok(all.iter().map(|(v, _)| display_value(v)).collect());
    }
    let winner = doc.get(obj, key)?.map(|(_, id)| id);
    let mut ordered: Vec<_> = all.iter().collect();
    ordered.sort_by_key(|(_, id)| Some(id) != winner.as_ref());
    Ok(ordered.iter().map(|(v, _)| display_value(v)).collect())
}

/// `/a/b/key` for a patch whose object sits at `path`.
fn field_path(path: &[(automerge::ObjId, Prop)], key: &str) -> String {
    let mut out = String::new();
    for (_, prop) in path {
        out.push('/');
        match prop {
            Prop::Map(k) => out.push_str(k),
            Prop::Seq(i) => out.push_str(&i.to_string()),
        }
    }
    out.push('/');
    out.push_str(key);
    out
}

pub(super) fn display_value(value: &automerge::Value<'_>) -> String {
    match value {
        automerge::Value::Object(kind) => format!("<{kind:?}>"),
        automerge::Value::Scalar(s) => match s.as_ref() {
            automerge::ScalarValue::Str(s) => s.to_string(),
            other => other.to_string(),
        },
    }
}

/// Primes a sync state resumed from disk so that the next generated message carries every
/// change made since the heads both sides last shared.
///
/// A resumed state knows only those shared heads; left alone, Automerge would spend a whole
/// round trip on a handshake before sending anything. Declaring that the peer has exactly the
/// shared heads and needs nothing else makes the first message carry the changes at once. If
/// the peer turns out to hold more (or less), the normal protocol corrects it on the next
/// message: changes it already has are ignored, and what it still lacks it asks for.
pub fn prime_sync_state(state: &mut sync::State) {
    let shared = state.shared_heads.clone();
    state.their_have =
        Some(vec![sync::Have { last_sync: shared.clone(), bloom: Default::default() }]);
    state.their_need = Some(Vec::new());
    state.their_heads = Some(shared);
    // Both ends of KAM speak the version-2 message that can carry a whole compacted document
    // (sent only to a peer holding nothing of it; see `Document::generate_sync_message`).
    state.their_capabilities = Some(vec![sync::Capability::MessageV2, sync::Capability::SyncReset]);
}

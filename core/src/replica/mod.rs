//! The local replica: one SQLite file per device holding its documents (compacted snapshot
//! plus incremental chunks), per-peer sync state, the outbox and the local index.
//!
//! Documents load lazily into a bounded LRU cache. Every user action is one Automerge commit
//! and one IMMEDIATE SQLite transaction that stores the new chunk *and* the index rows derived
//! from it, so the index never disagrees with the documents on disk. If a write fails, the
//! in-memory copy is dropped and the next read reloads what is on disk.

mod accounts_index;
mod accounts_queries;
mod encryption;
#[cfg(test)]
mod encryption_tests;
mod error;
mod index;
mod lend;
mod outbox;
mod queries;
mod reader;
mod schema;
mod server_sync;
pub mod store;
mod sync;

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use automerge::ActorId;
use chrono::{DateTime, Utc};
use lru::LruCache;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;

pub use accounts_queries::{LeadRow, PipelineStageRow, PlanDueRow, ScorecardRow, SurveyDueRow};
/// Keys every connection to a replica file (readers too); see [`encryption`].
pub(crate) use encryption::apply_key;
pub use encryption::{ENCRYPTION_AVAILABLE, ENCRYPTION_KEY_LEN, EncryptionKey, KeyLengthError};
pub use error::ReplicaError;
pub use index::IndexDump;
pub use lend::{Exclusive, LendReplica};
pub use outbox::{OutboxEntry, OutboxStatus};
pub use queries::{CustomerRow, TicketRow, VisitDueRow};
pub use reader::{ReaderPool, ReplicaReader};
pub use server_sync::{
    DEFAULT_SERVER_ID, MAX_DOCS_PER_REQUEST, RoundOutcome, SERVER_PEER, SyncSession,
};

use crate::doc::{
    self, ChangeHash, CustomerEdit, DocId, DocKind, Document, EditMeta, EventEdit, FieldConflict,
    HistoryEntry, ProjectEdit, TicketEdit,
};
use crate::model::{
    Customer, CustomerId, EventId, Project, ProjectId, SelectionEvent, ServiceTicket, TicketId,
    Unit, UnitId, UserId,
};
use crate::policy::Policy;
use crate::rules;
use store::{CompactionPolicy, StoredDoc};
use sync::SyncSessions;

/// How a replica behaves; the defaults suit a tablet.
#[derive(Clone, Debug)]
pub struct ReplicaOptions {
    /// The business policy the index and local checks use.
    pub policy: Policy,
    /// How many documents stay loaded in memory. The default (256) keeps a working day of
    /// offline edits (a rep touches tens of customers and tickets) loaded until the sync
    /// that sends them, so that sync does not load each again from storage (about 0.5 ms
    /// each); a loaded ticket takes about 17 KB, so the cache stays within a few megabytes.
    pub cache_capacity_docs: NonZeroUsize,
    /// Fold a document's chunks into a new snapshot once this many are stored.
    pub compact_after_chunks: u32,
    /// The key the file is encrypted with (SQLCipher), or `None` for a plain file. A key
    /// needs a build with the `encryption` feature; see [`EncryptionKey`].
    pub encryption_key: Option<EncryptionKey>,
}

impl Default for ReplicaOptions {
    fn default() -> Self {
        ReplicaOptions {
            policy: Policy::default(),
            cache_capacity_docs: NonZeroUsize::new(256).unwrap_or(NonZeroUsize::MIN),
            compact_after_chunks: 64,
            encryption_key: None,
        }
    }
}

/// Storage figures for diagnostics and benchmarks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StorageStats {
    /// Stored documents.
    pub documents: u64,
    /// Incremental chunks not yet compacted.
    pub chunks: u64,
    /// Bytes of snapshots.
    pub snapshot_bytes: u64,
    /// Bytes of chunks.
    pub chunk_bytes: u64,
    /// Documents currently loaded in memory.
    pub cached_documents: usize,
}

/// A device's local replica. See the module documentation.
pub struct Replica {
    conn: Connection,
    path: PathBuf,
    actor: ActorId,
    installation: String,
    options: ReplicaOptions,
    cache: LruCache<DocId, StoredDoc>,
    sessions: SyncSessions,
}

impl std::fmt::Debug for Replica {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replica").field("path", &self.path).field("actor", &self.actor).finish()
    }
}

impl Replica {
    /// Opens (creating or upgrading) the replica file at `path`. Cheap: no document is loaded
    /// unless the local index must be rebuilt after an upgrade or a policy change.
    ///
    /// With `options.encryption_key` the file is encrypted (a new file from its first page);
    /// a key that does not open an existing file, or no key for an encrypted one, is
    /// [`ReplicaError::WrongKey`].
    pub fn open(path: impl AsRef<Path>, options: ReplicaOptions) -> Result<Replica, ReplicaError> {
        let path = path.as_ref().to_path_buf();
        let mut conn = Connection::open(&path)?;
        // Before anything else touches the file: SQLCipher reads nothing without the key.
        apply_key(&conn, options.encryption_key.as_ref())?;
        schema::prepare(&conn)?;
        schema::migrate(&mut conn)?;
        let actor = load_or_create_actor(&conn)?;
        let installation = load_or_create_installation(&conn)?;
        let mut replica = Replica {
            conn,
            path,
            actor,
            installation,
            cache: LruCache::new(options.cache_capacity_docs),
            options,
            sessions: SyncSessions::default(),
        };
        if replica.index_needs_rebuild()? {
            replica.rebuild_index()?;
        }
        Ok(replica)
    }

    /// The Automerge actor id of this device, stable across restarts.
    pub fn actor_id(&self) -> &ActorId {
        &self.actor
    }

    /// This replica file's installation id (a UUID v7), created with the file and kept: the
    /// server binds the enrolled device to the first installation that syncs with its token,
    /// so a second replica or a second app install on the same token is refused instead of
    /// silently diverging (ADR 0022). A restored backup keeps it: it is the same installation.
    pub fn installation_id(&self) -> &str {
        &self.installation
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.options.policy
    }

    /// The key the file is open under, if it is encrypted.
    pub(crate) fn encryption_key(&self) -> Option<&EncryptionKey> {
        self.options.encryption_key.as_ref()
    }

    /// Sets up a read-only connection to this replica's file as the writer's was (the
    /// encryption key, when there is one).
    pub(crate) fn prepare_reader(&self, conn: &Connection) -> Result<(), ReplicaError> {
        apply_key(conn, self.options.encryption_key.as_ref())
    }

    /// The file this replica lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn index_needs_rebuild(&self) -> Result<bool, ReplicaError> {
        let stale = meta_get(&self.conn, "index_stale")?.as_deref() == Some("1");
        let policy = meta_get(&self.conn, "index_policy_version")?;
        Ok(stale || policy.as_deref() != Some(self.options.policy.version.as_str()))
    }

    /// Re-derives every index row from the stored documents, in one transaction.
    pub fn rebuild_index(&mut self) -> Result<(), ReplicaError> {
        let ids = store::ids(&self.conn)?;
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(
            "DELETE FROM idx_customers; DELETE FROM idx_customer_owners;
             DELETE FROM idx_visits_due; DELETE FROM idx_tickets;",
        )?;
        for table in accounts_index::TABLES {
            tx.execute(&format!("DELETE FROM {table}"), [])?;
        }
        // Projects and events have no index rows; loading them (a project is large) is waste.
        let indexed = |id: &&DocId| !matches!(id.kind(), DocKind::Project | DocKind::Event);
        for id in ids.iter().filter(indexed) {
            if let Some(stored) = store::load(&tx, id, &self.actor)? {
                index::project(&tx, &stored.doc, &self.options.policy)?;
            }
        }
        meta_set(&tx, "index_stale", "0")?;
        meta_set(&tx, "index_policy_version", &self.options.policy.version)?;
        tx.commit()?;
        tracing::info!(documents = ids.len(), "local index rebuilt");
        Ok(())
    }

    fn compaction(&self) -> CompactionPolicy {
        CompactionPolicy { max_chunks: i64::from(self.options.compact_after_chunks.max(2)) }
    }

    /// Loads `id` into the cache if needed. With `create_empty`, a document this replica does
    /// not hold yet starts empty (it is about to arrive by sync).
    fn ensure_cached(&mut self, id: &DocId, create_empty: bool) -> Result<(), ReplicaError> {
        if self.cache.contains(id) {
            return Ok(());
        }
        let stored = match store::load(&self.conn, id, &self.actor)? {
            Some(stored) => stored,
            None if create_empty => {
                StoredDoc::new_unsaved(Document::empty(id.clone(), self.actor.clone()))
            }
            None => return Err(ReplicaError::NotFound(id.to_string())),
        };
        self.cache.put(id.clone(), stored);
        Ok(())
    }

    /// A loaded document, for reading.
    fn doc(&mut self, id: &DocId) -> Result<&mut Document, ReplicaError> {
        self.ensure_cached(id, false)?;
        self.cache
            .get_mut(id)
            .map(|s| &mut s.doc)
            .ok_or_else(|| ReplicaError::NotFound(id.to_string()))
    }

    /// Runs `edit` on a loaded document and persists the result with its index rows (and the
    /// sync state for `peer`, if given) in one IMMEDIATE transaction.
    fn write_doc<T>(
        &mut self,
        id: &DocId,
        create_empty: bool,
        peer: Option<&str>,
        edit: impl FnOnce(&mut Document, &mut SyncSessions, &Connection) -> Result<T, ReplicaError>,
    ) -> Result<T, ReplicaError> {
        self.ensure_cached(id, create_empty)?;
        let compaction = self.compaction();
        let Replica { conn, cache, sessions, options, .. } = self;
        let Some(stored) = cache.get_mut(id) else {
            return Err(ReplicaError::NotFound(id.to_string()));
        };
        let result = edit(&mut stored.doc, sessions, conn).and_then(|value| {
            let state = match peer {
                Some(p) => Some((p, sessions.state(conn, id, p)?.clone())),
                None => None,
            };
            persist(conn, stored, &options.policy, compaction, state)?;
            Ok(value)
        });
        if result.is_err() {
            // Memory may now hold a change the disk does not: drop it and reload on demand.
            cache.pop(id);
            sessions.forget_doc(id);
        }
        result
    }

    fn create_doc(&mut self, doc: Document) -> Result<DocId, ReplicaError> {
        let id = doc.id().clone();
        if store::exists(&self.conn, &id)? {
            return Err(ReplicaError::AlreadyExists(id.to_string()));
        }
        self.cache.put(id.clone(), StoredDoc::new_unsaved(doc));
        self.write_doc(&id, false, None, |_, _, _| Ok(()))?;
        Ok(id)
    }

    /// Stores a new customer (one commit).
    pub fn create_customer(
        &mut self,
        customer: &Customer,
        meta: &EditMeta,
    ) -> Result<DocId, ReplicaError> {
        let doc = doc::create_customer(customer, self.actor.clone(), meta)?;
        self.create_doc(doc)
    }

    /// Applies one user action to a customer.
    pub fn edit_customer(
        &mut self,
        id: &CustomerId,
        edit: &CustomerEdit,
        meta: &EditMeta,
    ) -> Result<(), ReplicaError> {
        self.write_doc(&doc::customer_doc_id(id), false, None, |d, _, _| {
            Ok(doc::edit_customer(d, edit, meta)?)
        })
    }

    /// Reads a customer.
    pub fn customer(&mut self, id: &CustomerId) -> Result<Customer, ReplicaError> {
        Ok(doc::read_customer(self.doc(&doc::customer_doc_id(id))?)?)
    }

    /// Stores a new record document — a lead, plan, survey, scorecard, review or organisation
    /// (ADR 0023) — in one commit.
    pub fn create_record<R: doc::Record>(
        &mut self,
        record: &R,
        meta: &EditMeta,
    ) -> Result<DocId, ReplicaError> {
        let doc = doc::create_record(record, self.actor.clone(), meta)?;
        self.create_doc(doc)
    }

    /// Applies one user action to the record document of `entity`, and returns the record
    /// after it. The action's own rule (a lead's stage change, a plan's approval) is the
    /// caller's to check first (`accounts` does, for the tablet's actions).
    pub fn edit_record<E: doc::RecordEdit>(
        &mut self,
        entity: &str,
        edit: &E,
        meta: &EditMeta,
    ) -> Result<E::Target, ReplicaError> {
        let id = doc::record_doc_id::<E::Target>(entity);
        self.write_doc(&id, false, None, |d, _, _| Ok(doc::edit_record(d, edit, meta)?))
    }

    /// Reads the record document of `entity`.
    pub fn record<R: doc::Record>(&mut self, entity: &str) -> Result<R, ReplicaError> {
        Ok(doc::read_record(self.doc(&doc::record_doc_id::<R>(entity))?)?)
    }

    /// Stores a new ticket (one commit).
    pub fn create_ticket(
        &mut self,
        ticket: &ServiceTicket,
        meta: &EditMeta,
    ) -> Result<DocId, ReplicaError> {
        let doc = doc::create_ticket(ticket, self.actor.clone(), meta)?;
        self.create_doc(doc)
    }

    /// Applies one user action to a ticket. A status change is checked against the ticket
    /// state machine first, so the tablet refuses what the server would refuse.
    pub fn edit_ticket(
        &mut self,
        id: &TicketId,
        edit: &TicketEdit,
        meta: &EditMeta,
    ) -> Result<(), ReplicaError> {
        self.write_doc(&doc::ticket_doc_id(id), false, None, |d, _, _| {
            if let TicketEdit::ChangeStatus(change) = edit {
                let current = doc::read_ticket(d)?;
                rules::check_transition(&current, change.to)
                    .map_err(|e| ReplicaError::Rule(e.to_string()))?;
            }
            Ok(doc::edit_ticket(d, edit, meta)?)
        })
    }

    /// Reads a ticket.
    pub fn ticket(&mut self, id: &TicketId) -> Result<ServiceTicket, ReplicaError> {
        Ok(doc::read_ticket(self.doc(&doc::ticket_doc_id(id))?)?)
    }

    /// Stores a new project with its buildings and units (one commit).
    pub fn create_project(
        &mut self,
        project: &Project,
        meta: &EditMeta,
    ) -> Result<DocId, ReplicaError> {
        let doc = doc::create_project(project, self.actor.clone(), meta)?;
        self.create_doc(doc)
    }

    /// Applies one action to a project.
    pub fn edit_project(
        &mut self,
        id: &ProjectId,
        edit: &ProjectEdit,
        meta: &EditMeta,
    ) -> Result<(), ReplicaError> {
        self.write_doc(&doc::project_doc_id(id), false, None, |d, _, _| {
            Ok(doc::edit_project(d, edit, meta)?)
        })
    }

    /// Reads a project.
    pub fn project(&mut self, id: &ProjectId) -> Result<Project, ReplicaError> {
        Ok(doc::read_project(self.doc(&doc::project_doc_id(id))?)?)
    }

    /// Reads some units of a project; a unit the project does not hold reads as `None`.
    pub fn project_units(
        &mut self,
        id: &ProjectId,
        units: &[UnitId],
    ) -> Result<Vec<(UnitId, Option<Unit>)>, ReplicaError> {
        Ok(doc::read_units(self.doc(&doc::project_doc_id(id))?, units)?)
    }

    /// Stores a new selection event (one commit).
    pub fn create_event(
        &mut self,
        event: &SelectionEvent,
        meta: &EditMeta,
    ) -> Result<DocId, ReplicaError> {
        let doc = doc::create_event(event, self.actor.clone(), meta)?;
        self.create_doc(doc)
    }

    /// Applies one action to an event.
    pub fn edit_event(
        &mut self,
        id: &EventId,
        edit: &EventEdit,
        meta: &EditMeta,
    ) -> Result<(), ReplicaError> {
        self.write_doc(&doc::event_doc_id(id), false, None, |d, _, _| {
            Ok(doc::edit_event(d, edit, meta)?)
        })
    }

    /// Reads an event.
    pub fn event(&mut self, id: &EventId) -> Result<SelectionEvent, ReplicaError> {
        Ok(doc::read_event(self.doc(&doc::event_doc_id(id))?)?)
    }

    /// Every stored document id, sorted.
    pub fn document_ids(&self) -> Result<Vec<DocId>, ReplicaError> {
        store::ids(&self.conn)
    }

    /// Whether the replica holds `id` on disk. (A document being asked for by sync is held
    /// only once something of it has arrived.)
    pub fn has_document(&self, id: &DocId) -> Result<bool, ReplicaError> {
        store::exists(&self.conn, id)
    }

    /// The current heads of a document.
    pub fn heads(&mut self, id: &DocId) -> Result<Vec<ChangeHash>, ReplicaError> {
        Ok(self.doc(id)?.heads())
    }

    /// A compacted copy of a document, e.g. to hand to another replica.
    pub fn save_document(&mut self, id: &DocId) -> Result<Vec<u8>, ReplicaError> {
        Ok(self.doc(id)?.save())
    }

    /// Fields of a document that hold concurrent values.
    pub fn conflicts(&mut self, id: &DocId) -> Result<Vec<FieldConflict>, ReplicaError> {
        Ok(self.doc(id)?.conflicts()?)
    }

    /// A document's change history with authors.
    pub fn history(&mut self, id: &DocId) -> Result<Vec<HistoryEntry>, ReplicaError> {
        Ok(self.doc(id)?.history())
    }

    /// Merges saved bytes or changes of `id` from elsewhere (creating the document if new).
    pub fn merge_document(&mut self, id: &DocId, bytes: &[u8]) -> Result<(), ReplicaError> {
        self.write_doc(id, true, None, |d, _, _| {
            d.load_incremental(bytes)?;
            Ok(())
        })
    }

    /// Stores many documents at once, each given as saved bytes (a first download): one
    /// transaction for the batch, merged into any copy already held.
    pub fn import_documents(&mut self, batch: &[(DocId, Vec<u8>)]) -> Result<usize, ReplicaError> {
        let compaction = self.compaction();
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        for (id, bytes) in batch {
            let mut stored = match store::load(&tx, id, &self.actor)? {
                Some(mut existing) => {
                    existing.doc.load_incremental(bytes)?;
                    existing
                }
                None => {
                    StoredDoc::new_unsaved(Document::load(id.clone(), bytes, self.actor.clone())?)
                }
            };
            if store::write(&tx, &mut stored, compaction)?.is_some() {
                index::project(&tx, &stored.doc, &self.options.policy)?;
                server_sync::mark_dirty(&tx, id)?;
            }
        }
        tx.commit()?;
        for (id, _) in batch {
            self.cache.pop(id);
        }
        Ok(batch.len())
    }

    /// Removes a document and its index rows, e.g. when it leaves this device's scope.
    pub fn purge_document(&mut self, id: &DocId) -> Result<bool, ReplicaError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        index::remove(&tx, id)?;
        let existed = store::delete(&tx, id)?;
        tx.commit()?;
        self.cache.pop(id);
        self.sessions.forget_doc(id);
        Ok(existed)
    }

    /// The next Automerge sync message for `peer` about `id`, if there is anything to say.
    /// A document not held yet is asked for from scratch.
    pub fn generate_sync_message(
        &mut self,
        id: &DocId,
        peer: &str,
    ) -> Result<Option<Vec<u8>>, ReplicaError> {
        self.ensure_cached(id, true)?;
        let Replica { conn, cache, sessions, .. } = self;
        let stored = cache.get_mut(id).ok_or_else(|| ReplicaError::NotFound(id.to_string()))?;
        let state = sessions.state(conn, id, peer)?;
        Ok(stored.doc.generate_sync_message(state))
    }

    /// Receives an Automerge sync message from `peer` about `id` and persists what it brought,
    /// the index rows and the sync state in one transaction.
    pub fn receive_sync_message(
        &mut self,
        id: &DocId,
        peer: &str,
        message: &[u8],
    ) -> Result<(), ReplicaError> {
        self.write_doc(id, true, Some(peer), |d, sessions, conn| {
            let state = sessions.state(conn, id, peer)?;
            Ok(d.receive_sync_message(state, message)?)
        })
    }

    /// Ends every live sync session with `peer`; the next exchange resumes from the persisted
    /// state, as after a reconnect.
    pub fn end_sync_sessions(&mut self, peer: &str) {
        self.sessions.end(peer);
    }

    /// Queues a command for the server under `key`. See [`OutboxStatus`].
    pub fn outbox_enqueue(
        &mut self,
        key: &str,
        command: &str,
        payload: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<OutboxEntry, ReplicaError> {
        outbox::enqueue(&self.conn, key, command, payload, now)
    }

    /// The entry queued under `key`.
    pub fn outbox_entry(&self, key: &str) -> Result<Option<OutboxEntry>, ReplicaError> {
        outbox::get(&self.conn, key)
    }

    /// Entries with `status`, oldest first.
    pub fn outbox_with_status(
        &self,
        status: OutboxStatus,
    ) -> Result<Vec<OutboxEntry>, ReplicaError> {
        outbox::with_status(&self.conn, status)
    }

    /// Records that a pending command is being sent.
    pub fn outbox_record_attempt(
        &mut self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<OutboxEntry, ReplicaError> {
        outbox::record_attempt(&self.conn, key, now)
    }

    /// Records the server's answer; the first answer stands.
    pub fn outbox_record_answer(
        &mut self,
        key: &str,
        accepted: bool,
        answer: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<OutboxEntry, ReplicaError> {
        outbox::record_answer(&self.conn, key, accepted, answer, now)
    }

    /// A person acknowledges an answered command.
    pub fn outbox_dismiss(
        &mut self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<OutboxEntry, ReplicaError> {
        outbox::dismiss(&self.conn, key, now)
    }

    /// `owner`'s customers, strategic first, then by score and name.
    pub fn my_customers_by_tier(&self, owner: &UserId) -> Result<Vec<CustomerRow>, ReplicaError> {
        queries::my_customers_by_tier(&self.conn, owner)
    }

    /// Visits of `owner`'s customers overdue or due by the end of this business week.
    pub fn visits_due(
        &self,
        owner: &UserId,
        now: DateTime<Utc>,
    ) -> Result<Vec<VisitDueRow>, ReplicaError> {
        queries::visits_due(&self.conn, owner, now, &self.options.policy)
    }

    /// Open tickets (of `owner`'s customers, or all), most urgent reply first.
    pub fn open_tickets_by_urgency(
        &self,
        owner: Option<&UserId>,
        now: DateTime<Utc>,
    ) -> Result<Vec<TicketRow>, ReplicaError> {
        queries::open_tickets_by_urgency(&self.conn, owner, now, &self.options.policy)
    }

    /// Customers whose name contains `text`.
    pub fn search_customers(
        &self,
        text: &str,
        limit: u32,
    ) -> Result<Vec<CustomerRow>, ReplicaError> {
        queries::search_customers(&self.conn, text, limit)
    }

    /// Customers per tier, strategic first.
    pub fn customer_counts_by_tier(&self) -> Result<Vec<(crate::model::Tier, u32)>, ReplicaError> {
        queries::customer_counts_by_tier(&self.conn)
    }

    /// Stored documents per kind.
    pub fn document_counts_by_kind(&self) -> Result<Vec<(DocKind, u64)>, ReplicaError> {
        let mut stmt =
            self.conn.prepare_cached("SELECT kind, COUNT(*) FROM documents GROUP BY kind")?;
        let mut rows = stmt.query([])?;
        let mut counted = Vec::new();
        while let Some(row) = rows.next()? {
            let kind: String = row.get(0)?;
            let kind: DocKind =
                kind.parse().map_err(|_| ReplicaError::Corrupt(format!("document kind {kind}")))?;
            counted.push((kind, row.get::<_, u64>(1)?));
        }
        Ok(DocKind::ALL
            .iter()
            .map(|k| (*k, counted.iter().find(|(c, _)| c == k).map_or(0, |(_, n)| *n)))
            .collect())
    }

    /// Every index row in canonical order, to compare replicas.
    pub fn index_dump(&self) -> Result<IndexDump, ReplicaError> {
        index::dump(&self.conn)
    }

    /// Storage figures.
    pub fn storage_stats(&self) -> Result<StorageStats, ReplicaError> {
        let (documents, snapshot_bytes, chunks, chunk_bytes) = self.conn.query_row(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(snapshot)), 0), COALESCE(SUM(chunk_count), 0),
                    COALESCE(SUM(chunk_bytes), 0) FROM documents",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?;
        Ok(StorageStats {
            documents,
            chunks,
            snapshot_bytes,
            chunk_bytes,
            cached_documents: self.cache.len(),
        })
    }
}

/// Stores what changed in `stored`, its index rows and an optional sync state atomically.
fn persist(
    conn: &mut Connection,
    stored: &mut StoredDoc,
    policy: &Policy,
    compaction: CompactionPolicy,
    state: Option<(&str, automerge::sync::State)>,
) -> Result<(), ReplicaError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let outcome = store::write(&tx, stored, compaction)?;
    if outcome.is_some() {
        index::project(&tx, &stored.doc, policy)?;
        // Anything written here did not come from the server (server rounds take their own
        // path), so the server may lack it.
        server_sync::mark_dirty(&tx, stored.doc.id())?;
    }
    if let Some((peer, state)) = &state {
        sync::save(&tx, stored.doc.id(), peer, state)?;
    }
    tx.commit()?;
    if let Some(outcome) = outcome {
        outcome.apply(stored);
    }
    Ok(())
}

fn meta_get(conn: &Connection, key: &str) -> Result<Option<String>, ReplicaError> {
    Ok(conn
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?)
}

fn meta_set(conn: &Connection, key: &str, value: &str) -> Result<(), ReplicaError> {
    conn.prepare_cached(
        "INSERT INTO meta(key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    )?
    .execute([key, value])?;
    Ok(())
}

/// The device's actor id is created once and kept: reusing it across restarts keeps each
/// document's change sequence for this device contiguous.
fn load_or_create_actor(conn: &Connection) -> Result<ActorId, ReplicaError> {
    if let Some(hex) = meta_get(conn, "actor_id")? {
        return hex
            .parse::<ActorId>()
            .map_err(|_| ReplicaError::Corrupt(format!("actor id `{hex}`")));
    }
    let actor = ActorId::random();
    meta_set(conn, "actor_id", &actor.to_hex_string())?;
    Ok(actor)
}

/// The replica file's installation id, created once like the actor id (a file made before
/// installation ids existed gets one the first time it is opened).
fn load_or_create_installation(conn: &Connection) -> Result<String, ReplicaError> {
    if let Some(id) = meta_get(conn, "installation_id")? {
        return Ok(id);
    }
    let id = uuid::Uuid::now_v7().to_string();
    meta_set(conn, "installation_id", &id)?;
    Ok(id)
}

//! The server's documents: stored like a device's (compacted snapshot plus incremental chunks,
//! see `kam_core::replica::store`), loaded on demand into a bounded cache, and numbered in the
//! server's change sequence.
//!
//! Each stored change takes the next sequence number, and the document row keeps its latest
//! one together with its heads and scope key, so "what changed since cursor N within this
//! scope" is an indexed range query that never loads a document. The cached copy is checked
//! against the row's sequence number before use: an admin command run from another process
//! (a handover) may have written the document meanwhile, and a stale copy must never be
//! written back over it.

use std::num::NonZeroUsize;

use automerge::ActorId;
use kam_core::doc::{DocId, Document};
use kam_core::replica::store::{self, CompactionPolicy, StoredDoc};
use lru::LruCache;

use crate::db::DocumentStore;
use crate::error::ServerError;

pub(crate) use crate::db::documents::DocRow;

/// The largest document the server keeps growing: a device's merge into a document already
/// this large is refused (422 `document_too_large`). KAM's largest, a project of 30,000
/// units, is a few megabytes.
pub(crate) const MAX_DOC_BYTES: i64 = 64 * 1024 * 1024;

/// A loaded document with the sequence number it was loaded at.
#[derive(Debug)]
struct Cached {
    stored: StoredDoc,
    seq: i64,
}

/// The bounded cache of loaded documents and how they are written.
#[derive(Debug)]
pub(crate) struct DocCache {
    cache: LruCache<DocId, Cached>,
    actor: ActorId,
    compaction: CompactionPolicy,
}

impl DocCache {
    /// An empty cache holding at most `capacity` documents, writing as `actor`.
    pub(crate) fn new(capacity: usize, actor: ActorId, compact_after_chunks: i64) -> DocCache {
        DocCache {
            cache: LruCache::new(NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN)),
            actor,
            compaction: CompactionPolicy { max_chunks: compact_after_chunks.max(2) },
        }
    }

    /// The server's actor id, used for its own changes (compensations, handovers).
    pub(crate) fn actor(&self) -> &ActorId {
        &self.actor
    }

    /// The document `id`, loaded if needed; with `create_empty`, a document not stored yet
    /// starts empty (it is arriving from a device). `None` if absent and not created.
    pub(crate) fn get(
        &mut self,
        db: &dyn DocumentStore,
        id: &DocId,
        create_empty: bool,
    ) -> Result<Option<&mut Document>, ServerError> {
        let seq = db.document_row(id)?.map(|r| r.seq);
        let fresh = match (self.cache.peek(id), seq) {
            (Some(cached), Some(seq)) => cached.seq == seq && cached.stored.persisted,
            (Some(cached), None) => !cached.stored.persisted,
            (None, _) => false,
        };
        if !fresh {
            let stored = match db.load_document(id, &self.actor)? {
                Some(stored) => stored,
                None if create_empty => {
                    StoredDoc::new_unsaved(Document::empty(id.clone(), self.actor.clone()))
                }
                None => return Ok(None),
            };
            self.cache.put(id.clone(), Cached { stored, seq: seq.unwrap_or(0) });
        }
        Ok(self.cache.get_mut(id).map(|c| &mut c.stored.doc))
    }

    /// The loaded `id`, without checking it against its stored row: for another use inside
    /// the transaction that loaded or checked it with [`DocCache::get`], where no other
    /// writer can have touched the row since (a round looks a document up several times).
    pub(crate) fn loaded(&mut self, id: &DocId) -> Result<&mut Document, ServerError> {
        self.cache
            .get_mut(id)
            .map(|c| &mut c.stored.doc)
            .ok_or_else(|| ServerError::Corrupt(format!("{id} not loaded")))
    }

    /// Reads the stored bytes of the documents among `ids` that are not loaded (or are stale),
    /// for [`crate::sync::prefetch`] to load off the connection. At most half the cache is read, so
    /// a round never evicts what it prefetched.
    pub(crate) fn read_unloaded(
        &self,
        db: &dyn DocumentStore,
        ids: &[DocId],
    ) -> Result<Vec<Unloaded>, ServerError> {
        let limit = usize::from(self.cache.cap()) / 2;
        let mut wanted = Vec::new();
        for id in ids {
            if wanted.len() >= limit {
                break;
            }
            let Some(seq) = db.document_row(id)?.map(|r| r.seq) else { continue };
            if self.cache.peek(id).is_some_and(|c| c.seq == seq && c.stored.persisted) {
                continue;
            }
            if let Some(bytes) = db.read_document(id)? {
                wanted.push(Unloaded { id: id.clone(), seq, bytes });
            }
        }
        Ok(wanted)
    }

    /// Adds a document loaded from what [`DocCache::read_unloaded`] read at `seq`, unless the
    /// cache already holds it at `seq` or later: the round may have loaded it itself meanwhile,
    /// and perhaps changed it, which the copy from disk must not overwrite.
    pub(crate) fn put_loaded(&mut self, id: DocId, seq: i64, stored: StoredDoc) {
        if self.cache.peek(&id).is_some_and(|c| c.seq >= seq) {
            return;
        }
        self.cache.put(id, Cached { stored, seq });
    }

    /// Writes what changed in the cached `id` inside the caller's transaction and gives it the
    /// next sequence number. Returns the new number, or `None` if nothing changed. The caller
    /// must call [`DocCache::forget`] if the transaction does not commit.
    pub(crate) fn persist(
        &mut self,
        db: &dyn DocumentStore,
        id: &DocId,
        scope_key: &str,
    ) -> Result<Option<i64>, ServerError> {
        let compaction = self.compaction;
        let cached = self
            .cache
            .get_mut(id)
            .ok_or_else(|| ServerError::Corrupt(format!("{id} not loaded")))?;
        let Some(outcome) = db.write_document(&mut cached.stored, compaction)? else {
            return Ok(None);
        };
        outcome.apply(&mut cached.stored);
        let seq = db.next_seq()?;
        db.set_document_position(id, seq, scope_key, &cached.stored.doc.heads())?;
        cached.seq = seq;
        Ok(Some(seq))
    }

    /// Drops `id` from memory: the next use reloads what is on disk.
    pub(crate) fn forget(&mut self, id: &DocId) {
        self.cache.pop(id);
    }

    /// Drops every loaded document (after a failed transaction).
    pub(crate) fn clear(&mut self) {
        self.cache.clear();
    }

    /// Documents loaded now.
    pub(crate) fn len(&self) -> usize {
        self.cache.len()
    }
}

/// A stored document's bytes, read at sequence number `seq` but not loaded yet.
#[derive(Debug)]
pub(crate) struct Unloaded {
    /// The document.
    pub(crate) id: DocId,
    /// Its sequence number when read.
    pub(crate) seq: i64,
    /// Its snapshot and chunks.
    pub(crate) bytes: store::StoredBytes,
}

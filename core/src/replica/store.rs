//! Document persistence: one compacted snapshot per document plus the incremental chunks
//! written since, folded back into a new snapshot once they pile up.
//!
//! The server keeps its documents the same way: its schema has the same `documents` and
//! `document_chunks` tables (with more columns of its own), so these functions serve both.

use automerge::{ActorId, ChangeHash};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::error::ReplicaError;
use crate::doc::{DocId, Document};

/// A document in memory with what is already on disk.
#[derive(Debug)]
pub struct StoredDoc {
    /// The live document.
    pub doc: Document,
    /// Heads already persisted; the next write saves only what came after them.
    pub saved_heads: Vec<ChangeHash>,
    /// Chunks stored after the snapshot.
    pub chunk_count: i64,
    /// Bytes in those chunks.
    pub chunk_bytes: i64,
    /// Size of the snapshot.
    pub snapshot_bytes: i64,
    /// Whether a row exists in `documents` yet.
    pub persisted: bool,
}

impl StoredDoc {
    /// A document not yet on disk.
    pub fn new_unsaved(doc: Document) -> StoredDoc {
        StoredDoc {
            doc,
            saved_heads: Vec::new(),
            chunk_count: 0,
            chunk_bytes: 0,
            snapshot_bytes: 0,
            persisted: false,
        }
    }
}

/// When to fold chunks back into the snapshot.
#[derive(Clone, Copy, Debug)]
pub struct CompactionPolicy {
    /// Compact once this many chunks are stored.
    pub max_chunks: i64,
}

/// Loads a document from its snapshot and chunks, or `None` if it is not stored.
pub fn load(
    conn: &Connection,
    id: &DocId,
    actor: &ActorId,
) -> Result<Option<StoredDoc>, ReplicaError> {
    match read(conn, id)? {
        Some(stored) => Ok(Some(stored.load(id, actor)?)),
        None => Ok(None),
    }
}

/// A document's stored bytes, read but not yet loaded. Reading takes the connection; loading
/// is Automerge's work alone, so loads of several documents can run on several threads.
#[derive(Debug, PartialEq, Eq)]
pub struct StoredBytes {
    bytes: Vec<u8>,
    chunk_count: i64,
    chunk_bytes: i64,
    snapshot_bytes: i64,
}

/// Reads the snapshot and chunks of `id`, or `None` if it is not stored.
pub fn read(conn: &Connection, id: &DocId) -> Result<Option<StoredBytes>, ReplicaError> {
    let key = id.to_string();
    let row = conn
        .prepare_cached(
            "SELECT snapshot, chunk_count, chunk_bytes FROM documents WHERE doc_id = ?1",
        )?
        .query_row([&key], |r| {
            Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
        })
        .optional()?;
    let Some((snapshot, chunk_count, chunk_bytes)) = row else { return Ok(None) };
    let snapshot_bytes = i64::try_from(snapshot.len()).unwrap_or(i64::MAX);
    // Snapshot and chunks load as one buffer: Automerge applies the chunks' changes in one
    // batch, where a `load_incremental` per chunk would rebuild its indexes every time.
    let mut bytes = snapshot;
    let mut stmt =
        conn.prepare_cached("SELECT data FROM document_chunks WHERE doc_id = ?1 ORDER BY seq")?;
    let mut rows = stmt.query([&key])?;
    while let Some(row) = rows.next()? {
        let chunk: Vec<u8> = row.get(0)?;
        bytes.extend_from_slice(&chunk);
    }
    Ok(Some(StoredBytes { bytes, chunk_count, chunk_bytes, snapshot_bytes }))
}

impl StoredBytes {
    /// The stored bytes of a document as another backend read them: its snapshot followed by
    /// its chunks in order (as one buffer), with the row's chunk count and chunk bytes.
    pub fn from_parts(
        bytes: Vec<u8>,
        snapshot_bytes: i64,
        chunk_count: i64,
        chunk_bytes: i64,
    ) -> Self {
        StoredBytes { bytes, chunk_count, chunk_bytes, snapshot_bytes }
    }

    /// Loads the document these bytes hold.
    pub fn load(&self, id: &DocId, actor: &ActorId) -> Result<StoredDoc, ReplicaError> {
        let mut doc = if self.bytes.is_empty() {
            Document::empty(id.clone(), actor.clone())
        } else {
            Document::load(id.clone(), &self.bytes, actor.clone())?
        };
        let saved_heads = doc.heads();
        Ok(StoredDoc {
            doc,
            saved_heads,
            chunk_count: self.chunk_count,
            chunk_bytes: self.chunk_bytes,
            snapshot_bytes: self.snapshot_bytes,
            persisted: true,
        })
    }
}

/// What a write did, applied to the in-memory bookkeeping only after the commit succeeds.
#[derive(Debug)]
pub struct WriteOutcome {
    heads: Vec<ChangeHash>,
    chunk_count: i64,
    chunk_bytes: i64,
    snapshot_bytes: i64,
}

impl WriteOutcome {
    /// Records the committed write in the in-memory document.
    pub fn apply(self, stored: &mut StoredDoc) {
        stored.saved_heads = self.heads;
        stored.chunk_count = self.chunk_count;
        stored.chunk_bytes = self.chunk_bytes;
        stored.snapshot_bytes = self.snapshot_bytes;
        stored.persisted = true;
    }
}

/// What a write stores: the whole document as a new snapshot (the chunks are dropped), or
/// one incremental chunk after the last save. Each backend executes it in its own SQL.
#[derive(Debug)]
pub enum WriteStep {
    /// Replace the snapshot (a new document, or compaction is due) and drop the chunks.
    Snapshot(Vec<u8>),
    /// Append one chunk.
    Chunk(Vec<u8>),
}

/// Decides what to store of `stored` since its last save: a new snapshot for a new document
/// or when compaction is due, otherwise one incremental chunk, with the bookkeeping to apply
/// once the write commits. `None` if nothing changed.
pub fn plan_write(
    stored: &mut StoredDoc,
    compaction: CompactionPolicy,
) -> Option<(WriteStep, WriteOutcome)> {
    let heads = stored.doc.heads();
    // Taken first so that bytes never outlive the write they were kept for. They may hold
    // changes whose dependencies are missing, which Automerge keeps aside; a load accepts
    // those only after a snapshot, so an empty snapshot rules them out below.
    let received = stored.doc.take_received_since(&stored.saved_heads);
    if stored.persisted && heads == stored.saved_heads {
        return None;
    }
    if !stored.persisted || stored.chunk_count + 1 >= compaction.max_chunks {
        let snapshot = if heads.is_empty() { Vec::new() } else { stored.doc.save() };
        let snapshot_bytes = i64::try_from(snapshot.len()).unwrap_or(i64::MAX);
        let outcome = WriteOutcome { heads, chunk_count: 0, chunk_bytes: 0, snapshot_bytes };
        return Some((WriteStep::Snapshot(snapshot), outcome));
    }
    let chunk = match received {
        Some(bytes) if stored.snapshot_bytes > 0 => bytes,
        _ => stored.doc.save_after(&stored.saved_heads),
    };
    let chunk_len = i64::try_from(chunk.len()).unwrap_or(i64::MAX);
    let outcome = WriteOutcome {
        heads,
        chunk_count: stored.chunk_count.saturating_add(1),
        chunk_bytes: stored.chunk_bytes.saturating_add(chunk_len),
        snapshot_bytes: stored.snapshot_bytes,
    };
    Some((WriteStep::Chunk(chunk), outcome))
}

/// Writes what changed since the last save inside the caller's transaction (`tx` is its
/// connection): a new snapshot for a new document or when compaction is due, otherwise one
/// incremental chunk. Returns `None` if nothing changed.
pub fn write(
    tx: &Connection,
    stored: &mut StoredDoc,
    compaction: CompactionPolicy,
) -> Result<Option<WriteOutcome>, ReplicaError> {
    let Some((step, outcome)) = plan_write(stored, compaction) else { return Ok(None) };
    let key = stored.doc.id().to_string();
    let kind = stored.doc.id().kind().as_str();
    match step {
        WriteStep::Snapshot(snapshot) => {
            tx.prepare_cached(
                "INSERT INTO documents(doc_id, kind, snapshot, chunk_count, chunk_bytes)
                 VALUES (?1, ?2, ?3, 0, 0)
                 ON CONFLICT(doc_id) DO UPDATE SET snapshot = excluded.snapshot,
                     chunk_count = 0, chunk_bytes = 0",
            )?
            .execute(params![key, kind, snapshot])?;
            tx.prepare_cached("DELETE FROM document_chunks WHERE doc_id = ?1")?.execute([&key])?;
        }
        WriteStep::Chunk(chunk) => {
            let chunk_len = i64::try_from(chunk.len()).unwrap_or(i64::MAX);
            tx.prepare_cached(
                "INSERT INTO document_chunks(doc_id, seq, data)
                 VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM document_chunks WHERE doc_id = ?1), ?2)",
            )?
            .execute(params![key, chunk])?;
            tx.prepare_cached(
                "UPDATE documents SET chunk_count = chunk_count + 1, chunk_bytes = chunk_bytes + ?2
                 WHERE doc_id = ?1",
            )?
            .execute(params![key, chunk_len])?;
        }
    }
    Ok(Some(outcome))
}

/// Stores a document that arrived whole (a snapshot from the server) using the bytes as they
/// came, instead of saving the freshly loaded document again. The caller has checked that
/// nothing of the document is stored yet.
pub fn write_received_snapshot(
    tx: &Transaction<'_>,
    stored: &mut StoredDoc,
    snapshot: &[u8],
) -> Result<(), ReplicaError> {
    let key = stored.doc.id().to_string();
    let kind = stored.doc.id().kind().as_str();
    tx.prepare_cached(
        "INSERT INTO documents(doc_id, kind, snapshot, chunk_count, chunk_bytes)
         VALUES (?1, ?2, ?3, 0, 0)",
    )?
    .execute(params![key, kind, snapshot])?;
    stored.saved_heads = stored.doc.heads();
    stored.snapshot_bytes = i64::try_from(snapshot.len()).unwrap_or(i64::MAX);
    stored.persisted = true;
    Ok(())
}

/// Removes a document and everything derived from it (the caller removes index rows).
pub(crate) fn delete(tx: &Transaction<'_>, id: &DocId) -> Result<bool, ReplicaError> {
    let key = id.to_string();
    tx.prepare_cached("DELETE FROM sync_states WHERE doc_id = ?1")?.execute([&key])?;
    Ok(tx.prepare_cached("DELETE FROM documents WHERE doc_id = ?1")?.execute([&key])? > 0)
}

/// Every stored document id, sorted.
pub(crate) fn ids(conn: &Connection) -> Result<Vec<DocId>, ReplicaError> {
    let mut stmt = conn.prepare_cached("SELECT doc_id FROM documents ORDER BY doc_id")?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for row in rows {
        let text = row?;
        out.push(text.parse().map_err(|_| ReplicaError::Corrupt(format!("bad doc id {text}")))?);
    }
    Ok(out)
}

/// Whether a document is stored.
pub(crate) fn exists(conn: &Connection, id: &DocId) -> Result<bool, ReplicaError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM documents WHERE doc_id = ?1")?
        .query_row([id.to_string()], |_| Ok(()))
        .optional()?
        .is_some())
}

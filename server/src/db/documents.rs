//! Documents and the change sequence.
//!
//! Documents are stored like a device's (compacted snapshot plus incremental chunks, see
//! `kam_core::replica::store`); each stored change takes the next number of the change
//! sequence, and the document's row keeps its latest one with its heads and scope key, so
//! "what changed since cursor N within this scope" never loads a document.

use automerge::ActorId;
use kam_core::doc::{ChangeHash, DocId, DocKind};
use kam_core::replica::store::{CompactionPolicy, StoredBytes, StoredDoc, WriteOutcome};

use super::DbError;

/// What the `documents` row says about a document, without loading it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocRow {
    /// The document's latest position in the change sequence.
    pub seq: i64,
    /// Who may see it (see `scope`).
    pub scope_key: String,
    /// Its current heads.
    pub heads: Vec<ChangeHash>,
    /// Bytes stored for it (snapshot and chunks).
    pub stored_bytes: i64,
}

/// The stored documents, the change sequence every stored change takes a number from, and
/// the server's own settings (`meta`).
pub trait DocumentStore {
    /// Takes the next number of the change sequence.
    fn next_seq(&self) -> Result<i64, DbError>;
    /// The latest number of the change sequence.
    fn current_seq(&self) -> Result<i64, DbError>;
    /// How many documents of `kind` are stored.
    fn count_documents(&self, kind: DocKind) -> Result<u64, DbError>;
    /// The row of `id`, if stored.
    fn document_row(&self, id: &DocId) -> Result<Option<DocRow>, DbError>;
    /// Up to `limit` stored documents changed after `seq`, in sequence order.
    fn documents_after(&self, seq: i64, limit: usize) -> Result<Vec<(String, i64)>, DbError>;
    /// Up to `limit` documents changed after `seq`, in sequence order, each as
    /// `(doc_id, seq, scope_key)`: what a node tells its connected devices about changes
    /// another node committed.
    fn changes_after(&self, seq: i64, limit: usize) -> Result<Vec<(String, i64, String)>, DbError>;
    /// How many stored documents changed after `seq`.
    fn count_documents_after(&self, seq: i64) -> Result<u64, DbError>;
    /// Every stored document id with its sequence number, by id.
    fn document_seqs(&self) -> Result<Vec<(String, i64)>, DbError>;
    /// Loads `id` as `actor`, if stored.
    fn load_document(&self, id: &DocId, actor: &ActorId) -> Result<Option<StoredDoc>, DbError>;
    /// The stored bytes of `id` (snapshot and chunks), not loaded yet.
    fn read_document(&self, id: &DocId) -> Result<Option<StoredBytes>, DbError>;
    /// The compacted bytes of `id` if it has no chunks (the common case after compaction).
    fn stored_snapshot(&self, id: &DocId) -> Result<Option<Vec<u8>>, DbError>;
    /// Writes what changed in `stored` since its last save (a chunk, or a new snapshot when
    /// compaction is due); `None` when nothing changed.
    fn write_document(
        &self,
        stored: &mut StoredDoc,
        compaction: CompactionPolicy,
    ) -> Result<Option<WriteOutcome>, DbError>;
    /// Records the document's latest sequence number, scope key and heads.
    fn set_document_position(
        &self,
        id: &DocId,
        seq: i64,
        scope_key: &str,
        heads: &[ChangeHash],
    ) -> Result<(), DbError>;
    /// A server setting.
    fn meta(&self, key: &str) -> Result<Option<String>, DbError>;
    /// Sets a server setting.
    fn set_meta(&self, key: &str, value: &str) -> Result<(), DbError>;
}

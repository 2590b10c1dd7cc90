//! Documents, the change sequence and the server's settings on PostgreSQL.

use automerge::ActorId;
use kam_core::doc::{ChangeHash, DocId, DocKind};
use kam_core::replica::store::{
    CompactionPolicy, StoredBytes, StoredDoc, WriteOutcome, WriteStep, plan_write,
};

use super::{PgDb, count, limit};
use crate::db::DbError;
use crate::db::documents::{DocRow, DocumentStore};

/// The heads as stored: 32-byte hashes back to back.
fn encode_heads(heads: &[ChangeHash]) -> Vec<u8> {
    heads.iter().flat_map(|h| h.0).collect()
}

fn decode_heads(bytes: &[u8]) -> Result<Vec<ChangeHash>, DbError> {
    bytes
        .chunks(32)
        .map(|c| {
            <[u8; 32]>::try_from(c)
                .map(ChangeHash)
                .map_err(|_| DbError::Corrupt("stored heads".into()))
        })
        .collect()
}

impl PgDb {
    /// Takes the change sequence's row for the rest of the transaction, before the
    /// transaction reads any document: every document writer on every node takes it first,
    /// so a document read (or found fresh in a node's cache) cannot be changed by another
    /// node before this transaction commits. Document writes are serial across the nodes, as
    /// they are on SQLite; reads, downloads and the desk are not (ADR 0024).
    pub(crate) fn lock_documents(&self) -> Result<(), DbError> {
        self.one("SELECT value FROM change_seq WHERE id = 1 FOR UPDATE", &[])?;
        Ok(())
    }
}

impl DocumentStore for PgDb {
    fn next_seq(&self) -> Result<i64, DbError> {
        // The row stays locked until the caller commits: numbers commit in the order taken.
        let row =
            self.one("UPDATE change_seq SET value = value + 1 WHERE id = 1 RETURNING value", &[])?;
        Ok(row.try_get(0)?)
    }

    fn current_seq(&self) -> Result<i64, DbError> {
        Ok(self.one("SELECT value FROM change_seq WHERE id = 1", &[])?.try_get(0)?)
    }

    fn count_documents(&self, kind: DocKind) -> Result<u64, DbError> {
        let row = self.one("SELECT COUNT(*) FROM documents WHERE kind = $1", &[&kind.as_str()])?;
        count(&row, 0)
    }

    fn document_row(&self, id: &DocId) -> Result<Option<DocRow>, DbError> {
        let row = self.row(
            "SELECT seq, scope_key, heads, length(snapshot)::bigint + chunk_bytes FROM documents
             WHERE doc_id = $1",
            &[&id.to_string()],
        )?;
        let Some(row) = row else { return Ok(None) };
        let heads: Vec<u8> = row.try_get(2)?;
        Ok(Some(DocRow {
            seq: row.try_get(0)?,
            scope_key: row.try_get(1)?,
            heads: decode_heads(&heads)?,
            stored_bytes: row.try_get(3)?,
        }))
    }

    fn documents_after(&self, seq: i64, n: usize) -> Result<Vec<(String, i64)>, DbError> {
        let rows = self.rows(
            "SELECT doc_id, seq FROM documents WHERE seq > $1 ORDER BY seq LIMIT $2",
            &[&seq, &limit(n)],
        )?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
    }

    fn changes_after(&self, seq: i64, n: usize) -> Result<Vec<(String, i64, String)>, DbError> {
        let rows = self.rows(
            "SELECT doc_id, seq, scope_key FROM documents WHERE seq > $1 ORDER BY seq LIMIT $2",
            &[&seq, &limit(n)],
        )?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))).collect()
    }

    fn count_documents_after(&self, seq: i64) -> Result<u64, DbError> {
        count(&self.one("SELECT COUNT(*) FROM documents WHERE seq > $1", &[&seq])?, 0)
    }

    fn document_seqs(&self) -> Result<Vec<(String, i64)>, DbError> {
        let rows = self.rows("SELECT doc_id, seq FROM documents ORDER BY doc_id", &[])?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
    }

    fn load_document(&self, id: &DocId, actor: &ActorId) -> Result<Option<StoredDoc>, DbError> {
        match self.read_document(id)? {
            Some(bytes) => Ok(Some(bytes.load(id, actor)?)),
            None => Ok(None),
        }
    }

    fn read_document(&self, id: &DocId) -> Result<Option<StoredBytes>, DbError> {
        let key = id.to_string();
        let row = self.row(
            "SELECT snapshot, chunk_count, chunk_bytes FROM documents WHERE doc_id = $1",
            &[&key],
        )?;
        let Some(row) = row else { return Ok(None) };
        let mut bytes: Vec<u8> = row.try_get(0)?;
        let snapshot_bytes = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
        let (chunk_count, chunk_bytes): (i64, i64) = (row.try_get(1)?, row.try_get(2)?);
        if chunk_count > 0 {
            // Snapshot and chunks load as one buffer, as on SQLite (see `replica::store`).
            let chunks = self
                .rows("SELECT data FROM document_chunks WHERE doc_id = $1 ORDER BY seq", &[&key])?;
            for chunk in &chunks {
                bytes.extend_from_slice(chunk.try_get::<_, &[u8]>(0)?);
            }
        }
        Ok(Some(StoredBytes::from_parts(bytes, snapshot_bytes, chunk_count, chunk_bytes)))
    }

    fn stored_snapshot(&self, id: &DocId) -> Result<Option<Vec<u8>>, DbError> {
        let row = self.row(
            "SELECT snapshot FROM documents WHERE doc_id = $1 AND chunk_count = 0",
            &[&id.to_string()],
        )?;
        row.map(|r| r.try_get(0)).transpose().map_err(DbError::from)
    }

    fn write_document(
        &self,
        stored: &mut StoredDoc,
        compaction: CompactionPolicy,
    ) -> Result<Option<WriteOutcome>, DbError> {
        let Some((step, outcome)) = plan_write(stored, compaction) else { return Ok(None) };
        let key = stored.doc.id().to_string();
        let kind = stored.doc.id().kind().as_str();
        match step {
            WriteStep::Snapshot(snapshot) => {
                self.execute(
                    "INSERT INTO documents(doc_id, kind, snapshot, chunk_count, chunk_bytes)
                     VALUES ($1, $2, $3, 0, 0)
                     ON CONFLICT (doc_id) DO UPDATE SET snapshot = excluded.snapshot,
                         chunk_count = 0, chunk_bytes = 0",
                    &[&key, &kind, &snapshot],
                )?;
                self.execute("DELETE FROM document_chunks WHERE doc_id = $1", &[&key])?;
            }
            WriteStep::Chunk(chunk) => {
                let chunk_len = i64::try_from(chunk.len()).unwrap_or(i64::MAX);
                // The document's row is updated first: its lock orders two writers of one
                // document, so the chunk numbers they take never collide.
                self.execute(
                    "UPDATE documents SET chunk_count = chunk_count + 1,
                         chunk_bytes = chunk_bytes + $2
                     WHERE doc_id = $1",
                    &[&key, &chunk_len],
                )?;
                self.execute(
                    "INSERT INTO document_chunks(doc_id, seq, data)
                     VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM document_chunks
                                  WHERE doc_id = $1), $2)",
                    &[&key, &chunk],
                )?;
            }
        }
        Ok(Some(outcome))
    }

    fn set_document_position(
        &self,
        id: &DocId,
        seq: i64,
        scope_key: &str,
        heads: &[ChangeHash],
    ) -> Result<(), DbError> {
        self.execute(
            "UPDATE documents SET seq = $2, scope_key = $3, heads = $4 WHERE doc_id = $1",
            &[&id.to_string(), &seq, &scope_key, &encode_heads(heads)],
        )?;
        Ok(())
    }

    fn meta(&self, key: &str) -> Result<Option<String>, DbError> {
        let row = self.row("SELECT value FROM meta WHERE key = $1", &[&key])?;
        row.map(|r| r.try_get(0)).transpose().map_err(DbError::from)
    }

    fn set_meta(&self, key: &str, value: &str) -> Result<(), DbError> {
        self.execute(
            "INSERT INTO meta(key, value) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&key, &value],
        )?;
        Ok(())
    }
}

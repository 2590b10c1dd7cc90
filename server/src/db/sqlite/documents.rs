//! Documents, the change sequence and the server's settings on SQLite.

use automerge::ActorId;
use kam_core::doc::{ChangeHash, DocId, DocKind};
use kam_core::replica::store::{self, CompactionPolicy, StoredBytes, StoredDoc, WriteOutcome};
use rusqlite::{Connection, OptionalExtension, params};

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

impl DocumentStore for Connection {
    fn next_seq(&self) -> Result<i64, DbError> {
        Ok(self
            .prepare_cached("UPDATE change_seq SET value = value + 1 WHERE id = 1 RETURNING value")?
            .query_row([], |r| r.get(0))?)
    }

    fn current_seq(&self) -> Result<i64, DbError> {
        Ok(self
            .prepare_cached("SELECT value FROM change_seq WHERE id = 1")?
            .query_row([], |r| r.get(0))?)
    }

    fn count_documents(&self, kind: DocKind) -> Result<u64, DbError> {
        Ok(self
            .prepare_cached("SELECT COUNT(*) FROM documents WHERE kind = ?1")?
            .query_row([kind.as_str()], |r| r.get(0))?)
    }

    fn document_row(&self, id: &DocId) -> Result<Option<DocRow>, DbError> {
        let found = self
            .prepare_cached(
                "SELECT seq, scope_key, heads, length(snapshot) + chunk_bytes FROM documents
                 WHERE doc_id = ?1",
            )?
            .query_row([id.to_string()], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })
            .optional()?;
        match found {
            Some((seq, scope_key, heads, stored_bytes)) => {
                Ok(Some(DocRow { seq, scope_key, heads: decode_heads(&heads)?, stored_bytes }))
            }
            None => Ok(None),
        }
    }

    fn changes_after(&self, seq: i64, limit: usize) -> Result<Vec<(String, i64, String)>, DbError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .prepare_cached(
                "SELECT doc_id, seq, scope_key FROM documents WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )?
            .query_map(params![seq, limit], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    fn documents_after(&self, seq: i64, limit: usize) -> Result<Vec<(String, i64)>, DbError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .prepare_cached(
                "SELECT doc_id, seq FROM documents WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )?
            .query_map(params![seq, limit], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    fn count_documents_after(&self, seq: i64) -> Result<u64, DbError> {
        Ok(self
            .prepare_cached("SELECT COUNT(*) FROM documents WHERE seq > ?1")?
            .query_row([seq], |r| r.get(0))?)
    }

    fn document_seqs(&self) -> Result<Vec<(String, i64)>, DbError> {
        let mut stmt = self.prepare("SELECT doc_id, seq FROM documents ORDER BY doc_id")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn load_document(&self, id: &DocId, actor: &ActorId) -> Result<Option<StoredDoc>, DbError> {
        Ok(store::load(self, id, actor)?)
    }

    fn read_document(&self, id: &DocId) -> Result<Option<StoredBytes>, DbError> {
        Ok(store::read(self, id)?)
    }

    fn stored_snapshot(&self, id: &DocId) -> Result<Option<Vec<u8>>, DbError> {
        Ok(self
            .prepare_cached("SELECT snapshot FROM documents WHERE doc_id = ?1 AND chunk_count = 0")?
            .query_row([id.to_string()], |r| r.get(0))
            .optional()?)
    }

    fn write_document(
        &self,
        stored: &mut StoredDoc,
        compaction: CompactionPolicy,
    ) -> Result<Option<WriteOutcome>, DbError> {
        Ok(store::write(self, stored, compaction)?)
    }

    fn set_document_position(
        &self,
        id: &DocId,
        seq: i64,
        scope_key: &str,
        heads: &[ChangeHash],
    ) -> Result<(), DbError> {
        self.prepare_cached(
            "UPDATE documents SET seq = ?2, scope_key = ?3, heads = ?4 WHERE doc_id = ?1",
        )?
        .execute(params![id.to_string(), seq, scope_key, encode_heads(heads)])?;
        Ok(())
    }

    fn meta(&self, key: &str) -> Result<Option<String>, DbError> {
        Ok(self
            .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
            .query_row([key], |r| r.get(0))
            .optional()?)
    }

    fn set_meta(&self, key: &str, value: &str) -> Result<(), DbError> {
        self.prepare_cached(
            "INSERT INTO meta(key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        )?
        .execute([key, value])?;
        Ok(())
    }
}

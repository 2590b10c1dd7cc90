//! Documents and the change sequence on SQLite.

use kam_core::doc::DocKind;
use rusqlite::Connection;

use crate::db::DbError;
use crate::db::documents::DocumentStore;

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
}

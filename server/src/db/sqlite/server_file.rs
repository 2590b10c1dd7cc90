//! The server's own database file, open for writing: the one connection the store writes
//! through (readers have their pool, see `readers`).

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use super::schema;
use crate::db::{Db, DbError};

/// Name of the server database file inside the data directory.
pub const STORE_FILE: &str = "kam-server.sqlite3";

/// The server database, open for writing (created or upgraded on opening).
///
/// It derefs to its SQLite connection for tests and tools that inspect rows directly; the
/// server itself goes through [`ServerFile::db`] and [`ServerFile::write`].
#[derive(Debug)]
pub struct ServerFile {
    conn: Connection,
}

impl ServerFile {
    /// Opens (creating or upgrading) the server database at `path` with the server's pragmas.
    pub fn open(path: &Path) -> Result<ServerFile, DbError> {
        let mut conn = Connection::open(path)?;
        schema::prepare(&conn)?;
        schema::migrate(&mut conn)?;
        Ok(ServerFile { conn })
    }

    /// The storage traits, for reads outside a transaction.
    pub fn db(&self) -> &dyn Db {
        &self.conn
    }

    /// Runs `work` in one IMMEDIATE transaction (the write lock is taken at once, so the work
    /// never fails half-way on a lock upgrade) and commits it if `work` succeeds; if `work`
    /// fails or panics, the transaction rolls back as it is dropped.
    pub fn write<T, E: From<DbError>>(
        &mut self,
        work: impl FnOnce(&dyn Db) -> Result<T, E>,
    ) -> Result<T, E> {
        immediate(&mut self.conn, |tx| work(tx))
    }
}

/// Runs `work` on `conn` in one IMMEDIATE transaction and commits it if `work` succeeds; if
/// `work` fails or panics, the transaction rolls back as it is dropped. Both files' writes
/// (the server's, the desk's groups) go through here.
pub(super) fn immediate<T, E: From<DbError>>(
    conn: &mut Connection,
    work: impl FnOnce(&Connection) -> Result<T, E>,
) -> Result<T, E> {
    let tx =
        conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(DbError::from)?;
    let value = work(&tx)?;
    tx.commit().map_err(DbError::from)?;
    Ok(value)
}

impl std::ops::Deref for ServerFile {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        &self.conn
    }
}

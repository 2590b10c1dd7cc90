//! The SQLite implementation of the desk's storage traits, and the desk's file itself: opening
//! it, its transactions and the savepoint each command runs in.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::db::desk::{DeskDb, DeskGroup, DeskSavepoints};
use crate::db::{Db, DbError};

mod answers;
mod board;
mod books;
mod delegation;
mod display;
pub(in crate::db::sqlite) mod image;
mod ledger;
mod sales;
pub(crate) mod schema;
mod state;

pub use schema::{DESK_FILE, desk_path};

/// The selection desk's database file, open for writing (created or upgraded on opening).
///
/// It derefs to its SQLite connection for tests and tools that inspect the desk's rows
/// directly; the server itself goes through [`DeskFile::db`] and [`DeskFile::write`].
#[derive(Debug)]
pub struct DeskFile {
    conn: Connection,
}

impl DeskFile {
    /// Opens (creating or upgrading) the desk database at `path` with the server's pragmas,
    /// including `synchronous=FULL`: an answered command must survive power loss.
    pub fn open(path: &Path) -> Result<DeskFile, DbError> {
        Ok(DeskFile { conn: schema::open(path)? })
    }

    /// The desk's storage traits, for reads outside a transaction.
    pub fn db(&self) -> &dyn DeskDb {
        &self.conn
    }

    /// Runs `work` in one IMMEDIATE transaction (it takes the desk's write lock at once, so a
    /// group never fails half-way on a lock upgrade) and commits it if `work` succeeds. If
    /// `work` fails or panics, the transaction rolls back as it is dropped.
    ///
    /// The writer runs each group of commands in one such transaction, each command inside
    /// the savepoint of [`DeskSavepoints`]: one durable commit per group.
    pub fn write<T, E: From<DbError>>(
        &mut self,
        work: impl FnOnce(&dyn DeskGroup) -> Result<T, E>,
    ) -> Result<T, E> {
        super::server_file::immediate(&mut self.conn, |tx| work(tx))
    }
}

impl std::ops::Deref for DeskFile {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        &self.conn
    }
}

impl std::ops::DerefMut for DeskFile {
    fn deref_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }
}

/// The server's database, read-only, for the desk writer: devices, users and grants are read
/// through a connection of their own, since attaching the server's file would put it under
/// every desk transaction's write lock.
#[derive(Debug)]
pub struct ServerReadOnly {
    conn: Connection,
}

impl ServerReadOnly {
    /// Opens the server database at `path` read-only.
    pub fn open(path: &Path) -> Result<ServerReadOnly, DbError> {
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        Ok(ServerReadOnly { conn })
    }

    /// The server database's storage traits.
    pub fn db(&self) -> &dyn Db {
        &self.conn
    }

    /// The read-only connection itself, to hold as `dyn Db`.
    pub fn into_db(self) -> Connection {
        self.conn
    }
}

/// Runs a savepoint statement; cached, since every command runs two or three.
fn savepoint(conn: &Connection, sql: &str) -> Result<(), DbError> {
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

impl DeskSavepoints for Connection {
    fn begin_command(&self) -> Result<(), DbError> {
        savepoint(self, "SAVEPOINT desk_command")
    }

    fn release_command(&self) -> Result<(), DbError> {
        savepoint(self, "RELEASE desk_command")
    }

    fn undo_command(&self) -> Result<(), DbError> {
        savepoint(self, "ROLLBACK TO desk_command")
    }
}

/// A fresh, migrated desk database in memory, for the desk's store test suite and the use
/// cases' tests.
#[cfg(test)]
#[allow(clippy::unwrap_used)] // A test fixture.
pub(crate) fn fresh() -> Box<Connection> {
    let mut conn = Connection::open_in_memory().unwrap();
    crate::db::sqlite::schema::prepare(&conn).unwrap();
    schema::migrate(&mut conn).unwrap();
    Box::new(conn)
}

#[cfg(test)]
mod suite {
    crate::desk_suite!(super::fresh);
}

//! The server's own database, open for writing, on either backend (ADR 0024): the embedded
//! SQLite file, or PostgreSQL (a pool, and the one connection this node's store writes
//! through). The store holds one and asks it for `&dyn Db`, whichever it is.

use std::path::PathBuf;

use super::desk::{DeskDb, DeskGroup};
use super::postgres::{AsDbError, PgDb, PgPool};
use super::{Db, DbError, DeskFile, ServerFile, ServerReadOnly};

/// The server's database on one backend or the other.
#[derive(Debug)]
pub enum ServerDatabase {
    /// The embedded SQLite file in the data directory.
    Sqlite(ServerFile),
    /// PostgreSQL, shared with the other nodes.
    Postgres(Box<PostgresServer>),
}

/// The server's database on PostgreSQL, as one node holds it.
#[derive(Debug)]
pub struct PostgresServer {
    /// The node's pool (readers, leases, listeners).
    pub pool: PgPool,
    /// The connection the node's store writes through.
    pub writer: PgDb,
}

impl ServerDatabase {
    /// Connects to PostgreSQL through `pool`, brings the schema to this build's version, and
    /// takes the connection the store writes through.
    pub fn postgres(pool: PgPool) -> Result<ServerDatabase, DbError> {
        pool.migrate()?;
        let writer = pool.get()?;
        Ok(ServerDatabase::Postgres(Box::new(PostgresServer { pool, writer })))
    }

    /// The storage traits, for reads outside a transaction.
    pub fn db(&self) -> &dyn Db {
        match self {
            ServerDatabase::Sqlite(file) => file.db(),
            ServerDatabase::Postgres(server) => &server.writer,
        }
    }

    /// Runs `work` in one transaction and commits it if `work` succeeds. On SQLite the
    /// transaction is IMMEDIATE and runs once; on PostgreSQL a transaction aborted for a
    /// serialization failure or a deadlock runs again (`PgDb::transaction`), so `work` must
    /// start afresh each time it is called.
    pub fn write<T, E: From<DbError> + AsDbError>(
        &mut self,
        mut work: impl FnMut(&dyn Db) -> Result<T, E>,
    ) -> Result<T, E> {
        match self {
            ServerDatabase::Sqlite(file) => file.write(work),
            ServerDatabase::Postgres(server) => server.writer.transaction(|db| {
                // Document writers take the change sequence's row first, so that no node
                // reads a document another is about to write (see `PgDb::lock_documents`).
                db.lock_documents()?;
                work(db)
            }),
        }
    }

    /// Where the data lives, for the desk's writer and the read-only pool; `path` is the
    /// server's SQLite file (unused on PostgreSQL).
    pub fn location(&self, path: &std::path::Path) -> DataLocation {
        match self {
            ServerDatabase::Sqlite(_) => {
                DataLocation::Files { server: path.to_path_buf(), desk: super::desk_path(path) }
            }
            ServerDatabase::Postgres(server) => {
                DataLocation::Postgres(Box::new(server.pool.clone()))
            }
        }
    }

    /// The desk's database beside this one: the SQLite file beside `path`, or a connection
    /// of the PostgreSQL pool.
    pub fn open_desk(&self, path: &std::path::Path) -> Result<DeskDatabase, DbError> {
        self.location(path).open_desk()
    }
}

/// The selection desk's database, open for writing, on either backend: its own SQLite file
/// beside the server's, or its tables in the shared PostgreSQL database (a connection of the
/// node's pool).
#[derive(Debug)]
pub enum DeskDatabase {
    /// The desk's SQLite file (`kam-desk.sqlite3`).
    Sqlite(DeskFile),
    /// A connection to the shared PostgreSQL database.
    Postgres(Box<PgDb>),
}

impl DeskDatabase {
    /// The desk's storage traits, for reads outside a transaction.
    pub fn db(&self) -> &dyn DeskDb {
        match self {
            DeskDatabase::Sqlite(file) => file.db(),
            DeskDatabase::Postgres(db) => &**db,
        }
    }

    /// Runs `work` in one transaction and commits it if `work` succeeds (IMMEDIATE on
    /// SQLite; on PostgreSQL a transaction aborted for a deadlock runs again, so `work` must
    /// start afresh each time it is called).
    pub fn write<T, E: From<DbError> + AsDbError>(
        &mut self,
        mut work: impl FnMut(&dyn DeskGroup) -> Result<T, E>,
    ) -> Result<T, E> {
        match self {
            DeskDatabase::Sqlite(file) => file.write(work),
            DeskDatabase::Postgres(db) => db.transaction(|db| work(db)),
        }
    }
}

/// Where a server's data lives, for the parts that open connections of their own (the desk's
/// writer, the read-only pool): the two SQLite files, or the PostgreSQL database's pool.
#[derive(Clone, Debug)]
pub enum DataLocation {
    /// The embedded files.
    Files {
        /// The server's database file.
        server: PathBuf,
        /// The desk's file beside it.
        desk: PathBuf,
    },
    /// The shared PostgreSQL database (boxed: a pool's configuration is large).
    Postgres(Box<PgPool>),
}

impl DataLocation {
    /// Opens the desk's database for writing.
    pub fn open_desk(&self) -> Result<DeskDatabase, DbError> {
        Ok(match self {
            DataLocation::Files { desk, .. } => DeskDatabase::Sqlite(DeskFile::open(desk)?),
            DataLocation::Postgres(pool) => DeskDatabase::Postgres(Box::new(pool.get()?)),
        })
    }

    /// Opens the desk's database for its writer thread: on PostgreSQL a connection of its own
    /// whose round trips the writer drives itself ([`PgPool::dedicated`]).
    pub fn open_desk_writer(&self) -> Result<DeskDatabase, DbError> {
        Ok(match self {
            DataLocation::Files { .. } => self.open_desk()?,
            DataLocation::Postgres(pool) => DeskDatabase::Postgres(Box::new(pool.dedicated()?)),
        })
    }

    /// Opens a connection for reading the server's tables (devices, users, grants) beside
    /// the desk's writer.
    pub fn open_server_reader(&self) -> Result<Box<dyn Db + Send>, DbError> {
        Ok(match self {
            DataLocation::Files { server, .. } => Box::new(ServerReadOnly::open(server)?.into_db()),
            DataLocation::Postgres(pool) => Box::new(pool.get()?),
        })
    }

    /// The PostgreSQL pool, when the data lives there.
    pub fn postgres(&self) -> Option<&PgPool> {
        match self {
            DataLocation::Files { .. } => None,
            DataLocation::Postgres(pool) => Some(pool),
        }
    }
}

//! The server's own database, open for writing, on either backend (ADR 0024): the embedded
//! SQLite file, or PostgreSQL (a pool, and the one connection this node's store writes
//! through). The store holds one and asks it for `&dyn Db`, whichever it is.

use super::postgres::{AsDbError, PgDb, PgPool};
use super::{Db, DbError, ServerFile};

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
            ServerDatabase::Postgres(server) => server.writer.transaction(|db| work(db)),
        }
    }
}

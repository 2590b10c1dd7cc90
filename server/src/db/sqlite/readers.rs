//! Read-only connections for the questions every request asks before it does anything: who
//! is this token, is this session live, may this device see that document, what does the
//! desk's control table say.
//!
//! They used to take the store's turn like a sync round does, so a token check waited behind
//! every round and projection batch, and each waiting request parked a blocking thread on
//! the store's lock. In WAL mode a reader never waits for a writer, so these questions go to
//! a small pool of read-only connections instead. A request first waits (asynchronously, on a
//! semaphore) for a free connection and only then takes a blocking thread: the blocking pool
//! never holds more threads for reads than the pool has connections, however many clients
//! are waiting.

use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use tokio::sync::Semaphore;

use crate::db::desk::DeskDb;
use crate::db::postgres::PgDb;
use crate::db::{DataLocation, Db, DbError, panic_message};

/// Connections in the pool unless configured otherwise.
pub const DEFAULT_READERS: usize = 4;

/// One reader: the server database and the desk database, both read-only on SQLite; on
/// PostgreSQL one pooled connection, which reads both (the desk's tables are in the same
/// database) and takes no transaction of its own.
#[derive(Debug)]
pub enum ReadConns {
    /// The embedded files.
    Files {
        /// The server database (`kam.sqlite3`).
        server: Connection,
        /// The selection desk's database (`kam-desk.sqlite3`).
        desk: Connection,
    },
    /// A connection to the shared PostgreSQL database.
    Postgres(PgDb),
}

impl ReadConns {
    /// The server database's storage traits.
    pub fn db(&self) -> &dyn Db {
        match self {
            ReadConns::Files { server, .. } => server,
            ReadConns::Postgres(db) => db,
        }
    }

    /// The selection desk database's storage traits.
    pub fn desk(&self) -> &dyn DeskDb {
        match self {
            ReadConns::Files { desk, .. } => desk,
            ReadConns::Postgres(db) => db,
        }
    }
}

/// A bounded pool of read-only connections. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Readers {
    free: Arc<Mutex<Vec<ReadConns>>>,
    permits: Arc<Semaphore>,
}

fn open_read_only(path: &Path) -> Result<Connection, DbError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.pragma_update(None, "cache_size", -8_192)?;
    conn.pragma_update(None, "query_only", true)?;
    Ok(conn)
}

impl Readers {
    /// Opens `size` readers over the server database at `server_path` and the desk database
    /// at `desk_path` (both must exist and be in WAL mode: the store creates them).
    pub fn open(server_path: &Path, desk_path: &Path, size: usize) -> Result<Readers, DbError> {
        let files = DataLocation::Files {
            server: server_path.to_path_buf(),
            desk: desk_path.to_path_buf(),
        };
        Readers::open_at(&files, size)
    }

    /// Opens `size` readers where the data lives: read-only connections to both SQLite
    /// files, or `size` connections of the PostgreSQL pool (held for the server's life, so
    /// the pool must be larger than the readers: the store, the desk's writer, leases and
    /// listeners take theirs too).
    pub fn open_at(location: &DataLocation, size: usize) -> Result<Readers, DbError> {
        let size = size.max(1);
        let mut conns = Vec::with_capacity(size);
        for _ in 0..size {
            conns.push(match location {
                DataLocation::Files { server, desk } => ReadConns::Files {
                    server: open_read_only(server)?,
                    desk: open_read_only(desk)?,
                },
                DataLocation::Postgres(pool) => ReadConns::Postgres(pool.get()?),
            });
        }
        Ok(Readers { free: Arc::new(Mutex::new(conns)), permits: Arc::new(Semaphore::new(size)) })
    }

    fn take(&self) -> Option<ReadConns> {
        self.free.lock().unwrap_or_else(PoisonError::into_inner).pop()
    }

    fn give_back(&self, conns: ReadConns) {
        self.free.lock().unwrap_or_else(PoisonError::into_inner).push(conns);
    }

    /// Runs `work` on a free reader, on a blocking thread taken only once a reader is free.
    /// A panic in `work` is an error for this request; the reader goes back to the pool (a
    /// read-only connection holds no half-written state).
    pub async fn read<T, E, F>(&self, work: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
        F: FnOnce(&ReadConns) -> Result<T, E> + Send + 'static,
    {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| DbError::Unavailable("the read pool is closed".into()))?;
        let conns = self.take().ok_or_else(|| DbError::Corrupt("read pool empty".into()))?;
        let pool = self.clone();
        let result = tokio::task::spawn_blocking(move || {
            let result = std::panic::catch_unwind(AssertUnwindSafe(|| work(&conns)));
            pool.give_back(conns);
            result.unwrap_or_else(|panic| Err(DbError::Panicked(panic_message(&panic)).into()))
        })
        .await;
        // The permit goes back only now, when the blocking thread is idle again: released on
        // the thread, the next waiting read would start before it and find no idle thread,
        // and the pool would grow a thread for it.
        drop(permit);
        result.map_err(|e| DbError::Thread(format!("a read's thread failed: {e}")))?
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::error::ServerError;

    impl ReadConns {
        /// The two read-only files of an embedded server.
        fn files(&self) -> (&Connection, &Connection) {
            match self {
                ReadConns::Files { server, desk } => (server, desk),
                ReadConns::Postgres(_) => panic!("readers on PostgreSQL"),
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn readers_answer_in_parallel_bounded_and_survive_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::data::open_store(dir.path()).unwrap();
        let readers = Readers::open(store.path(), &store.desk_path(), 2).unwrap();
        let n: i64 = readers
            .read(|c| {
                Ok::<_, DbError>(
                    c.files().0.query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))?,
                )
            })
            .await
            .unwrap();
        assert_eq!(n, 0);
        let failed = readers.read(|_| -> Result<(), ServerError> { panic!("boom") }).await;
        assert!(matches!(failed, Err(ServerError::Panicked(ref m)) if m == "boom"), "{failed:?}");
        // Both readers are still there after the panic.
        let mut waits = Vec::new();
        for _ in 0..8 {
            let r = readers.clone();
            waits.push(tokio::spawn(async move {
                r.read(|c| {
                    Ok::<_, DbError>(c.files().1.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?)
                })
                .await
            }));
        }
        for w in waits {
            assert_eq!(w.await.unwrap().unwrap(), 1);
        }
        let written =
            readers.read(|c| Ok::<_, DbError>(c.files().0.execute("DELETE FROM users", [])?)).await;
        assert!(written.is_err(), "readers cannot write");
    }
}

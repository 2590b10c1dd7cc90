//! Read-only connections to a replica file, for list screens that must never wait for a
//! writer (ADR 0022).
//!
//! The replica runs in WAL mode, so a reader sees the last committed state while the writer
//! applies a sync answer: a list screen answers in milliseconds during a sync, and never sees
//! half of an answer. Readers query only the local index and the outbox; documents are read
//! through the writer's cache, which holds the ones in use.

use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags};

use super::{CustomerRow, OutboxEntry, OutboxStatus, ReplicaError, TicketRow, VisitDueRow};
use super::{outbox, queries};
use crate::model::{Tier, UserId};
use crate::policy::Policy;

/// How many read-only connections a replica keeps: one for the screen in front, one for the
/// watch queries refreshing behind it.
const READERS: usize = 2;

/// One read-only connection.
pub struct ReplicaReader {
    conn: Connection,
}

impl ReplicaReader {
    /// Opens a read-only connection to the replica file at `path`, which the writer has
    /// created and migrated.
    pub(crate) fn open(path: &Path) -> Result<ReplicaReader, ReplicaError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)?;
        // Read-write flags so the reader can map the WAL index; `query_only` keeps it a reader.
        conn.pragma_update(None, "query_only", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        Ok(ReplicaReader { conn })
    }

    /// The connection, for key setup by the caller.
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// `owner`'s customers, strategic first, then by score and name.
    pub fn my_customers_by_tier(&self, owner: &UserId) -> Result<Vec<CustomerRow>, ReplicaError> {
        queries::my_customers_by_tier(&self.conn, owner)
    }

    /// Visits of `owner`'s customers overdue or due by the end of this business week.
    pub fn visits_due(
        &self,
        owner: &UserId,
        now: DateTime<Utc>,
        policy: &Policy,
    ) -> Result<Vec<VisitDueRow>, ReplicaError> {
        queries::visits_due(&self.conn, owner, now, policy)
    }

    /// Open tickets (of `owner`'s customers, or all), most urgent reply first.
    pub fn open_tickets_by_urgency(
        &self,
        owner: Option<&UserId>,
        now: DateTime<Utc>,
        policy: &Policy,
    ) -> Result<Vec<TicketRow>, ReplicaError> {
        queries::open_tickets_by_urgency(&self.conn, owner, now, policy)
    }

    /// Customers whose name contains `text`, at most `limit`.
    pub fn search_customers(
        &self,
        text: &str,
        limit: u32,
    ) -> Result<Vec<CustomerRow>, ReplicaError> {
        queries::search_customers(&self.conn, text, limit)
    }

    /// Customers per tier, strategic first.
    pub fn customer_counts_by_tier(&self) -> Result<Vec<(Tier, u32)>, ReplicaError> {
        queries::customer_counts_by_tier(&self.conn)
    }

    /// Outbox entries with `status`, oldest first.
    pub fn outbox_with_status(
        &self,
        status: OutboxStatus,
    ) -> Result<Vec<OutboxEntry>, ReplicaError> {
        outbox::with_status(&self.conn, status)
    }

    /// The queued command under `key`, if any.
    pub fn outbox_entry(&self, key: &str) -> Result<Option<OutboxEntry>, ReplicaError> {
        outbox::get(&self.conn, key)
    }

    /// How many documents hold changes the server may not have yet.
    pub fn pending_push_count(&self) -> Result<u64, ReplicaError> {
        super::server_sync::pending_push_count(&self.conn)
    }

    /// How many desk commands wait for an answer.
    pub fn pending_command_count(&self) -> Result<u64, ReplicaError> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*) FROM outbox WHERE status = ?1",
            [OutboxStatus::Pending.as_str()],
            |r| r.get(0),
        )?)
    }
}

/// A few readers, each used by one caller at a time.
pub struct ReaderPool {
    /// The reader a caller waits for when all are busy (reads take milliseconds).
    first: Mutex<ReplicaReader>,
    others: Vec<Mutex<ReplicaReader>>,
}

impl ReaderPool {
    /// Opens the pool's connections to `path`, each set up by `prepare` (the encryption key).
    pub(crate) fn open(
        path: &Path,
        prepare: impl Fn(&Connection) -> Result<(), ReplicaError>,
    ) -> Result<ReaderPool, ReplicaError> {
        let open = || -> Result<Mutex<ReplicaReader>, ReplicaError> {
            let reader = ReplicaReader::open(path)?;
            prepare(reader.conn())?;
            Ok(Mutex::new(reader))
        };
        let first = open()?;
        let others = (1..READERS).map(|_| open()).collect::<Result<_, _>>()?;
        Ok(ReaderPool { first, others })
    }

    /// Runs `read` on a free reader, or waits for the first one.
    pub fn read<T>(
        &self,
        read: impl FnOnce(&ReplicaReader) -> Result<T, ReplicaError>,
    ) -> Result<T, ReplicaError> {
        let reader = self.take();
        read(&reader)
    }

    /// Runs `change` (a key rotation) with every reader taken and, if it succeeds, opens each
    /// again, set up by `prepare`: a connection keyed before the rotation cannot read after it.
    pub(crate) fn reopen_after(
        &self,
        path: &Path,
        change: impl FnOnce() -> Result<(), ReplicaError>,
        prepare: impl Fn(&Connection) -> Result<(), ReplicaError>,
    ) -> Result<(), ReplicaError> {
        let mut readers: Vec<MutexGuard<'_, ReplicaReader>> = std::iter::once(&self.first)
            .chain(&self.others)
            .map(|r| r.lock().unwrap_or_else(PoisonError::into_inner))
            .collect();
        // A change that failed left the file under the old key, which the readers hold.
        change()?;
        for reader in &mut readers {
            let fresh = ReplicaReader::open(path)?;
            prepare(fresh.conn())?;
            **reader = fresh;
        }
        Ok(())
    }

    fn take(&self) -> MutexGuard<'_, ReplicaReader> {
        for reader in std::iter::once(&self.first).chain(&self.others) {
            if let Ok(reader) = reader.try_lock() {
                return reader;
            }
        }
        // A read that panicked left its connection as it was: nothing to repair.
        self.first.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

//! Work that must run on one node at a time (the projector, hold expiry): a lease is a
//! session-level advisory lock held on a connection of its own (ADR 0024). PostgreSQL releases
//! it when the holder lets go or when its connection ends — a node killed with `kill -9`, a
//! network cut the server notices — so the work moves to whichever node asks next.

use sha2::{Digest, Sha256};

use super::{PgDb, PgPool};
use crate::db::DbError;

/// The advisory lock key of the lease `name`: the first eight bytes of a SHA-256 of it, so
/// that every node derives the same key and different leases do not collide.
fn lease_key(name: &str) -> i64 {
    let digest = Sha256::digest(format!("kam-lease:{name}").as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
}

/// A held lease. Dropping it lets go (and returns its connection to the pool).
#[derive(Debug)]
pub struct Lease {
    db: PgDb,
    key: i64,
    name: String,
}

impl PgPool {
    /// Takes the lease `name` if no node holds it; `None` if one does. Never waits.
    pub fn try_lease(&self, name: &str) -> Result<Option<Lease>, DbError> {
        let db = self.get()?;
        // Advisory locks are database-wide: a company in a schema of its own has leases of
        // its own.
        let schema: String = db.one("SELECT current_schema()::text", &[])?.try_get(0)?;
        let key = lease_key(&format!("{schema}/{name}"));
        let taken: bool = db.one("SELECT pg_try_advisory_lock($1)", &[&key])?.try_get(0)?;
        Ok(taken.then(|| Lease { db, key, name: name.to_owned() }))
    }
}

impl Lease {
    /// The lease's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether this holder still holds the lease: asked of the database over the lease's own
    /// connection, so a dead connection (and with it a lost lease) answers `false`. A holder
    /// asks before each round of its work and stops when the answer is no.
    pub fn still_held(&self) -> bool {
        let held = self.db.one(
            "SELECT EXISTS(SELECT 1 FROM pg_locks
                 WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted
                   AND ((classid::bigint << 32) | objid::bigint) = $1)",
            &[&self.key],
        );
        matches!(held.and_then(|row| Ok(row.try_get::<_, bool>(0)?)), Ok(true))
    }

    /// The database's process id of the lease's connection (for tests that end it).
    #[cfg(test)]
    pub(crate) fn backend_pid(&self) -> i32 {
        self.db.backend_pid()
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        // A connection that is gone has let go already.
        if let Err(error) = self.db.execute("SELECT pg_advisory_unlock($1)", &[&self.key]) {
            tracing::debug!(%error, lease = %self.name, "lease let go with its connection");
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests may panic.
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::db::postgres::testing::TestDatabase;

    #[test]
    fn one_node_holds_a_lease_until_it_lets_go() {
        let Some(database) = TestDatabase::create() else { return };
        let (node_a, node_b) = (database.node_pool(), database.node_pool());
        let (projector, expiry) =
            (format!("{}/projector", database.schema()), format!("{}/expiry", database.schema()));
        let held = node_a.try_lease(&projector).unwrap().expect("free at first");
        assert!(held.still_held());
        assert!(node_b.try_lease(&projector).unwrap().is_none(), "held by the other node");
        assert!(node_b.try_lease(&expiry).unwrap().is_some(), "another lease is free");
        drop(held);
        let moved = node_b.try_lease(&projector).unwrap().expect("let go");
        assert_eq!(moved.name(), projector);
        assert!(node_a.try_lease(&projector).unwrap().is_none());
    }

    #[test]
    fn a_lease_moves_when_its_holders_connection_dies() {
        let Some(database) = TestDatabase::create() else { return };
        let (node_a, node_b, admin) = (database.node_pool(), database.node_pool(), database.db());
        let projector = format!("{}/projector", database.schema());
        let held = node_a.try_lease(&projector).unwrap().expect("free at first");
        assert!(node_b.try_lease(&projector).unwrap().is_none());
        // The node dies as `kill -9` leaves it: its connection ends without a word.
        let pid = held.backend_pid();
        let ended: bool = admin.one("SELECT pg_terminate_backend($1)", &[&pid]).unwrap().get(0);
        assert!(ended);
        assert!(!held.still_held(), "the holder learns it lost the lease");
        let deadline = Instant::now() + Duration::from_secs(30);
        let moved = loop {
            if let Some(lease) = node_b.try_lease(&projector).unwrap() {
                break lease;
            }
            assert!(Instant::now() < deadline, "the lease never moved");
            std::thread::yield_now();
        };
        assert!(moved.still_held());
        drop(held);
        assert!(moved.still_held(), "a dead holder's drop does not release the new holder");
    }

    #[test]
    fn lease_keys_are_stable_and_distinct() {
        assert_eq!(lease_key("projector"), lease_key("projector"));
        assert_ne!(lease_key("projector"), lease_key("hold-expiry"));
    }
}

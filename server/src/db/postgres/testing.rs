//! A fresh PostgreSQL schema per test, in the throwaway server `scripts/postgres` starts.
//!
//! `KAM_TEST_POSTGRES_URL` names the server. Without it a PostgreSQL test says it was skipped
//! and returns, so `cargo test` works on a machine without PostgreSQL; `scripts/test` sets it,
//! and sets `KAM_TEST_POSTGRES_REQUIRED`, with which a missing server fails the test instead.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::arithmetic_side_effects)] // A test fixture.

use std::time::{Duration, Instant};

use super::{PgDb, PgPool};

/// A schema of its own in the test server, dropped with its contents when this is dropped.
pub(crate) struct TestDatabase {
    pool: PgPool,
    config: tokio_postgres::Config,
    admin: PgPool,
    schema: String,
    // Declared last: dropped after the pools, whose connections run on it.
    runtime: tokio::runtime::Runtime,
}

impl TestDatabase {
    /// A new empty schema, or `None` (with a note on stderr) when no test server is set.
    pub(crate) fn create() -> Option<TestDatabase> {
        let Ok(url) = std::env::var("KAM_TEST_POSTGRES_URL") else {
            assert!(
                std::env::var_os("KAM_TEST_POSTGRES_REQUIRED").is_none(),
                "KAM_TEST_POSTGRES_REQUIRED is set but KAM_TEST_POSTGRES_URL is not"
            );
            eprintln!("skipped: no PostgreSQL (KAM_TEST_POSTGRES_URL is not set)");
            return None;
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let schema = format!("t_{:016x}", rand::random::<u64>());
        let admin = PgPool::new(&url, 1, runtime.handle().clone()).unwrap();
        admin.get().unwrap().batch(&format!("CREATE SCHEMA {schema}")).unwrap();
        let mut config: tokio_postgres::Config = url.parse().unwrap();
        config.options(format!("-c search_path={schema}"));
        let pool = PgPool::with_config(config.clone(), 8, runtime.handle().clone()).unwrap();
        Some(TestDatabase { pool, config, admin, schema, runtime })
    }

    /// A fresh, migrated schema (as the store suite wants it), or `None` as for [`create`].
    pub(crate) fn migrated() -> Option<TestDatabase> {
        let database = TestDatabase::create()?;
        database.pool.migrate().unwrap();
        Some(database)
    }

    /// A pool of its own over this schema, as another server node has.
    pub(crate) fn node_pool(&self) -> PgPool {
        PgPool::with_config(self.config.clone(), 4, self.runtime.handle().clone()).unwrap()
    }

    /// The schema's name, unique to this test (advisory locks are database-wide, so a test
    /// names its leases with it).
    pub(crate) fn schema(&self) -> &str {
        &self.schema
    }

    /// A connection to this schema.
    pub(crate) fn db(&self) -> PgDb {
        self.pool.get().unwrap()
    }

    /// A connection of its own to this schema, driven by the thread that uses it.
    pub(crate) fn dedicated(&self) -> PgDb {
        self.pool.dedicated().unwrap()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Ok(db) = self.admin.get() {
            let _ = db.batch(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema));
        }
    }
}

impl PgDb {
    /// The database's process id of this connection.
    pub(crate) fn backend_pid(&self) -> i32 {
        self.one("SELECT pg_backend_pid()", &[]).unwrap().get(0)
    }
}

/// Waits (bounded) until the connection with process id `pid` waits for a lock another holds:
/// `what` says which wait the test expects, for the failure message.
pub(crate) fn wait_until_blocked(watcher: &PgDb, pid: i32, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let blocked: bool = watcher
            .one(
                "SELECT EXISTS(SELECT 1 FROM pg_stat_activity
                               WHERE pid = $1 AND wait_event_type = 'Lock')",
                &[&pid],
            )
            .unwrap()
            .get(0);
        if blocked {
            return;
        }
        assert!(Instant::now() < deadline, "{what} never waited");
        std::thread::sleep(Duration::from_millis(2));
    }
}

//! The PostgreSQL implementation of the storage traits (ADR 0024), for a company that
//! outgrows one machine: several server nodes over one database.
//!
//! The traits are synchronous, as the SQLite backend's connection is: the server runs storage
//! work on its blocking pool, one holder at a time per connection. Here a [`PgDb`] is one
//! pooled `tokio-postgres` connection whose I/O task runs on the server's runtime; a storage
//! thread waits on it through the runtime's handle, so no second runtime and no thread per
//! client. Statements are prepared once per connection (`prepare_cached`).
//!
//! Transactions are explicit (`BEGIN` … `COMMIT` on the connection a `PgDb` holds), and
//! [`PgDb::transaction`] is the one place that retries a transaction PostgreSQL aborted for a
//! serialization failure or a deadlock (SQLSTATE 40001, 40P01).

mod accounts;
mod accounts_schema;
mod charts;
pub(crate) mod deferred;
mod desk;
mod desk_schema;
mod documents;
mod grants;
mod hq;
mod image_rows;
pub mod import;
pub mod lease;
mod management;
pub mod notices;
mod people;
mod pipeline;
mod projections;
pub(crate) mod projections_schema;
mod reports;
mod review;
mod sales;
pub(crate) mod schema;
mod sessions;
mod sync_state;
#[cfg(test)]
pub(crate) mod testing;

use std::future::Future;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio::runtime::Handle;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};

use crate::db::DbError;

/// Statement parameters, as `tokio-postgres` takes them.
pub(crate) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// How many times [`PgDb::transaction`] runs work that PostgreSQL keeps aborting for a
/// serialization failure or a deadlock before it gives up.
const MAX_ATTEMPTS: u32 = 8;

/// A pool of connections to one PostgreSQL database, whose connection tasks run on `runtime`.
#[derive(Clone)]
pub struct PgPool {
    pool: Pool,
    runtime: Handle,
    /// How its connections are made, for connections of their own (a change listener).
    config: tokio_postgres::Config,
}

impl std::fmt::Debug for PgPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgPool").field("status", &self.pool.status()).finish()
    }
}

impl PgPool {
    /// A pool of at most `max_connections` connections to `url` (a `postgres://` URL or a
    /// key-value connection string). Connections open on first use.
    pub fn new(url: &str, max_connections: usize, runtime: Handle) -> Result<PgPool, DbError> {
        let config: tokio_postgres::Config =
            url.parse().map_err(|e| DbError::Unavailable(format!("database URL: {e}")))?;
        PgPool::with_config(config, max_connections, runtime)
    }

    /// A pool of at most `max_connections` connections made with `config`.
    pub fn with_config(
        config: tokio_postgres::Config,
        max_connections: usize,
        runtime: Handle,
    ) -> Result<PgPool, DbError> {
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig { recycling_method: RecyclingMethod::Fast },
        );
        let pool = Pool::builder(manager)
            .max_size(max_connections.max(1))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(30)))
            .create_timeout(Some(Duration::from_secs(10)))
            .build()
            .map_err(|e| DbError::Unavailable(format!("database pool: {e}")))?;
        Ok(PgPool { pool, runtime, config })
    }

    /// The database's name (for messages: no user, host or password).
    pub fn database_name(&self) -> String {
        self.config.get_dbname().unwrap_or("postgres").to_owned()
    }

    /// One connection of the pool, waited for on the calling (blocking) thread.
    pub fn get(&self) -> Result<PgDb, DbError> {
        let client = self
            .runtime
            .block_on(self.pool.get())
            .map_err(|e| DbError::Unavailable(format!("database connection: {e}")))?;
        Ok(PgDb {
            client,
            runtime: Waiter::Shared(self.runtime.clone()),
            own_savepoint: Mutex::new(None),
            pipeline: Mutex::default(),
        })
    }

    /// A connection of its own, outside the pool, whose I/O runs on the calling thread: for a
    /// thread that sends one statement after another all day (the desk's writer). Its waits
    /// then drive the connection themselves, with no hand-off to a runtime worker and back on
    /// each round trip. Use it from one thread that is not a runtime worker.
    pub fn dedicated(&self) -> Result<PgDb, DbError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| DbError::Thread(format!("a database connection's runtime: {e}")))?;
        let runtime = std::sync::Arc::new(runtime);
        // The pool's connection task is spawned on the runtime its first `get` runs on.
        let pool = PgPool::with_config(self.config.clone(), 1, runtime.handle().clone())?;
        let client = runtime
            .block_on(pool.pool.get())
            .map_err(|e| DbError::Unavailable(format!("database connection: {e}")))?;
        Ok(PgDb {
            client,
            runtime: Waiter::Own(runtime),
            own_savepoint: Mutex::new(None),
            pipeline: Mutex::default(),
        })
    }

    /// Opens a connection and brings the schema to this build's version (see [`schema`]).
    pub fn migrate(&self) -> Result<(), DbError> {
        schema::migrate(&self.get()?)
    }
}

/// One connection to the database. The storage traits are implemented for it; outside
/// [`PgDb::transaction`] each statement commits by itself.
///
/// Its methods wait on the runtime's handle, so they run on a blocking thread (the server's
/// blocking pool, a test's own thread), never on a runtime worker.
pub struct PgDb {
    client: deadpool_postgres::Object,
    runtime: Waiter,
    /// The savepoint that began a transaction of its own (opened outside one), which its
    /// release or undo ends (see [`crate::db::Savepoints`]).
    own_savepoint: Mutex<Option<&'static str>>,
    /// Writes queued inside a transaction, sent with the next statement (see [`deferred`]).
    pipeline: Mutex<deferred::Pipeline>,
}

/// How a [`PgDb`] waits for its connection: through the handle of the runtime its pooled
/// connection's task runs on, or on a runtime of its own ([`PgPool::dedicated`]), which its
/// waits drive (a current-thread runtime's handle cannot drive its I/O).
enum Waiter {
    Shared(Handle),
    Own(std::sync::Arc<tokio::runtime::Runtime>),
}

impl std::fmt::Debug for PgDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgDb").finish_non_exhaustive()
    }
}

impl PgDb {
    /// Waits for `work` on the calling thread.
    fn wait<T>(&self, work: impl Future<Output = T>) -> T {
        match &self.runtime {
            Waiter::Shared(handle) => handle.block_on(work),
            Waiter::Own(runtime) => runtime.block_on(work),
        }
    }

    /// The savepoint that began its own transaction, if one is open.
    fn own_savepoint(&self) -> Option<&'static str> {
        *self.own_savepoint.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records the savepoint that began its own transaction (`None`: it ended).
    fn set_own_savepoint(&self, name: Option<&'static str>) {
        *self.own_savepoint.lock().unwrap_or_else(PoisonError::into_inner) = name;
    }

    /// Runs `sql` (prepared once per connection) and returns its rows.
    pub(crate) fn rows(&self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, DbError> {
        self.after_queued(deferred::Access::Write, async {
            let statement = self.client.prepare_cached(sql).await?;
            self.client.query(&statement, params).await
        })
    }

    /// Runs `sql` and returns its one row, or `None`.
    pub(crate) fn row(&self, sql: &str, params: Params<'_>) -> Result<Option<Row>, DbError> {
        self.after_queued(deferred::Access::Write, async {
            let statement = self.client.prepare_cached(sql).await?;
            self.client.query_opt(&statement, params).await
        })
    }

    /// Runs `sql`, which only reads (so the running desk command needs no savepoint for it:
    /// see `deferred`), and returns its one row.
    pub(crate) fn read_one(&self, sql: &str, params: Params<'_>) -> Result<Row, DbError> {
        self.after_queued(deferred::Access::Read, async {
            let statement = self.client.prepare_cached(sql).await?;
            self.client.query_one(&statement, params).await
        })
    }

    /// Runs `sql`, which must return exactly one row.
    pub(crate) fn one(&self, sql: &str, params: Params<'_>) -> Result<Row, DbError> {
        self.after_queued(deferred::Access::Write, async {
            let statement = self.client.prepare_cached(sql).await?;
            self.client.query_one(&statement, params).await
        })
    }

    /// Runs `sql` and returns how many rows it changed.
    pub(crate) fn execute(&self, sql: &str, params: Params<'_>) -> Result<u64, DbError> {
        self.after_queued(deferred::Access::Write, async {
            let statement = self.client.prepare_cached(sql).await?;
            self.client.execute(&statement, params).await
        })
    }

    /// Runs statements without parameters (schema, transaction control).
    pub(crate) fn batch(&self, sql: &str) -> Result<(), DbError> {
        self.after_queued(deferred::Access::Write, self.client.batch_execute(sql))
    }

    /// Runs `work` in one transaction and commits it if `work` succeeds; if it fails, the
    /// transaction rolls back. When PostgreSQL aborts the transaction for a serialization
    /// failure or a deadlock, `work` runs again from the start (up to a bound), so it must
    /// not act outside the database before it returns.
    pub fn transaction<T, E: From<DbError> + AsDbError>(
        &self,
        mut work: impl FnMut(&PgDb) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut attempt = 1;
        loop {
            self.batch("BEGIN")?;
            self.set_transaction_open(true);
            let outcome = work(self).and_then(|value| {
                // Every queued write answers before the commit is sent (see `deferred`).
                self.flush()?;
                self.set_transaction_open(false);
                self.batch("COMMIT")?;
                Ok(value)
            });
            match outcome {
                Ok(value) => return Ok(value),
                Err(error) => {
                    // A failed COMMIT has ended the transaction already; ROLLBACK then only
                    // warns, and a broken connection fails it too, which the error says.
                    self.set_transaction_open(false);
                    let _ = self.batch("ROLLBACK");
                    let retry = error.as_db_error().is_some_and(DbError::is_retryable);
                    if !retry || attempt >= MAX_ATTEMPTS {
                        return Err(error);
                    }
                    tracing::debug!(attempt, "transaction retried after a serialization failure");
                    std::thread::sleep(retry_pause(attempt));
                    attempt += 1;
                }
            }
        }
    }
}

/// The pause before attempt `attempt + 1`: a few milliseconds, growing, with jitter so that
/// transactions that collided do not collide again in step.
fn retry_pause(attempt: u32) -> Duration {
    let base_ms = 2u64 << attempt.min(6);
    Duration::from_millis(rand::random_range(base_ms / 2..=base_ms))
}

/// An error that may carry a storage failure, so that [`PgDb::transaction`] can tell a
/// transaction worth retrying from a refusal.
pub trait AsDbError {
    /// The storage failure this error carries, if any.
    fn as_db_error(&self) -> Option<&DbError>;
}

impl AsDbError for DbError {
    fn as_db_error(&self) -> Option<&DbError> {
        Some(self)
    }
}

impl DbError {
    /// Whether PostgreSQL aborted the transaction for a serialization failure or a deadlock,
    /// so that running it again may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            DbError::Postgres(e) => matches!(
                e.code(),
                Some(code) if *code == SqlState::T_R_SERIALIZATION_FAILURE
                    || *code == SqlState::T_R_DEADLOCK_DETECTED
            ),
            _ => false,
        }
    }
}

/// Whether a PostgreSQL error met while processing one document is that document's fault:
/// an integrity constraint its rows break (SQLSTATE class 23) or a value PostgreSQL refuses
/// (class 22). Every other error is the store's.
pub(crate) fn is_content_fault(error: &tokio_postgres::Error) -> bool {
    error.code().is_some_and(|code| {
        let code = code.code();
        code.starts_with("23") || code.starts_with("22")
    })
}

/// A count from PostgreSQL (`bigint`) as the traits' `u64`.
pub(crate) fn count(row: &Row, index: usize) -> Result<u64, DbError> {
    let n: i64 = row.try_get(index)?;
    u64::try_from(n).map_err(|_| DbError::Corrupt(format!("negative count {n}")))
}

/// A limit from the traits' `usize` as PostgreSQL's `bigint`.
pub(crate) fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A migrated test schema and one connection to it, for the store test suite.
#[cfg(test)]
pub(crate) struct SuiteDb {
    db: PgDb,
    _database: testing::TestDatabase,
}

#[cfg(test)]
impl std::ops::Deref for SuiteDb {
    type Target = PgDb;

    fn deref(&self) -> &PgDb {
        &self.db
    }
}

/// A fresh, migrated schema for the store suite, or `None` without a test server.
#[cfg(test)]
fn fresh() -> Option<SuiteDb> {
    let database = testing::TestDatabase::migrated()?;
    Some(SuiteDb { db: database.db(), _database: database })
}

#[cfg(test)]
mod suite {
    crate::store_suite!(@optional super::fresh;
        the_change_sequence_counts_up,
        settings_are_kept_and_replaced,
        users_and_devices_authenticate_until_revoked,
        grants_revocations_and_news,
        documents_are_written_read_back_and_positioned,
        sync_states_wait_for_the_cursor,
        conflicts_violations_audit_and_quarantine,
        sessions_live_until_they_end_or_expire,
        surveys_keep_their_score_and_the_account_managers_rating,
        scorecards_are_listed_by_period_with_lines_and_ratings,
        open_measures_before_a_month_leave_out_closed_ones_and_that_month,
        scorecard_inputs_count_the_periods_surveys_and_closed_leads,
        organisations_keep_their_money_and_list_what_is_outstanding,
        active_reps_leave_out_other_roles,
        people_travel_with_their_grants_and_take_this_stores_numbers,
        leads_are_written_filtered_and_read_with_their_history,
        plans_come_back_whole_with_quarters_and_evaluations,
        scorecard_inputs_follow_the_customers_a_person_owns,
        scorecards_are_deleted_with_their_doc,
        devices_seen_are_counted_for_headquarters,
        projections_replace_rows_and_savepoints_undo,
        sales_months_are_replaced_and_read_by_range,
        headquarters_reads_the_projected_company,
        customer_files_and_lists_come_from_the_projections,
        reports_read_the_projected_company,
        charts_count_and_sum_where_the_rows_are,
    );
}

#[cfg(test)]
mod tests;

//! Writes sent with the next statement (ADR 0024): inside a transaction, a write whose answer
//! nothing waits for — a savepoint, a ledger entry, a hold's row — is queued on the connection
//! and written to the socket together with the next statement that needs an answer, so a
//! command of the desk costs one round trip to the database instead of one per statement.
//! PostgreSQL runs the queued statements in order before that statement, as if each had been
//! sent alone.
//!
//! Nothing is acknowledged on a queued write's account: `COMMIT` is sent only after every
//! queued write has answered. A queued write that fails, or changes another number of rows
//! than its caller expected, fails the transaction: every statement after it on the
//! connection is refused until `ROLLBACK`, so no commit can keep work that relied on it.
//! Outside a transaction nothing is queued: each write runs at once, as before.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::PoisonError;
use std::task::Poll;

use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Statement};

use super::PgDb;
use crate::db::DbError;

/// A parameter of a queued write, owned until it is sent.
pub(crate) type OwnedParam = Box<dyn ToSql + Sync + Send>;

/// A statement queued on the connection.
enum Queued {
    /// `SAVEPOINT` of that name.
    Savepoint(&'static str),
    /// `RELEASE SAVEPOINT` of that name.
    Release(&'static str),
    /// `ROLLBACK TO SAVEPOINT` of that name.
    RollbackTo(&'static str),
    /// A prepared write and its parameters; `expect_rows`, when given, is how many rows it
    /// must change.
    Write { statement: Statement, params: Vec<OwnedParam>, expect_rows: Option<u64> },
}

/// What a connection has queued, and whether it may queue.
#[derive(Default)]
pub(super) struct Pipeline {
    queued: Vec<Queued>,
    /// Whether a transaction block is open (between `BEGIN` and `COMMIT` or `ROLLBACK`):
    /// only then are writes queued.
    open: bool,
    /// Why a queued write failed; every statement is refused until `ROLLBACK`.
    failed: Option<String>,
    /// The savepoint of the command running now, which is sent only before its first
    /// statement that may write: a command that only reads (a hold refused by the rules)
    /// needs none, nor a release or a rollback to it.
    savepoint: Savepoint,
}

/// Where the running command's savepoint is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Savepoint {
    /// No command is running (or it began outside a transaction).
    #[default]
    None,
    /// A command began; its savepoint is sent before its first statement that may write.
    Wanted(&'static str),
    /// Its savepoint was queued or sent.
    Set(&'static str),
    /// The command said its writes from here are final (`final_writes_follow`) before it
    /// needed a savepoint: they go without one, and undoing the command after one of them
    /// (`wrote`) fails the transaction.
    Unprotected { wrote: bool },
}

/// Whether a statement only reads (it needs no savepoint before it) or may write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Access {
    /// A statement that only reads: marked where it is written, never assumed.
    Read,
    /// Any other statement.
    Write,
}

/// A boxed future of one queued statement's answer.
type Answer<'a> = Pin<Box<dyn Future<Output = Result<(), DbError>> + Send + 'a>>;

impl Pipeline {
    /// Before a statement that may write: queues the running command's savepoint if it is
    /// wanted and not yet set, or notes a write that goes without one.
    fn set_savepoint(&mut self) {
        match self.savepoint {
            Savepoint::Wanted(name) => {
                self.queued.push(Queued::Savepoint(name));
                self.savepoint = Savepoint::Set(name);
            }
            Savepoint::Unprotected { .. } => {
                self.savepoint = Savepoint::Unprotected { wrote: true }
            }
            Savepoint::None | Savepoint::Set(_) => {}
        }
    }
}

impl Queued {
    /// Sends the statement (on its first poll: `tokio-postgres` writes a request when its
    /// future is first polled) and checks its answer.
    fn send<'a>(&'a self, client: &'a Client) -> Answer<'a> {
        let control = |sql: String| -> Answer<'a> {
            Box::pin(async move { client.batch_execute(&sql).await.map_err(DbError::from) })
        };
        match self {
            Queued::Savepoint(name) => control(format!("SAVEPOINT {name}")),
            Queued::Release(name) => control(format!("RELEASE SAVEPOINT {name}")),
            Queued::RollbackTo(name) => control(format!("ROLLBACK TO SAVEPOINT {name}")),
            Queued::Write { statement, params, expect_rows } => Box::pin(async move {
                let refs: Vec<&(dyn ToSql + Sync)> =
                    params.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync)).collect();
                let changed = client.execute(statement, &refs).await?;
                match expect_rows {
                    Some(expected) if *expected != changed => Err(DbError::Corrupt(format!(
                        "a queued write changed {changed} rows where the transaction had read \
                         {expected}"
                    ))),
                    _ => Ok(()),
                }
            }),
        }
    }
}

/// Polls `queued` in order and then `current`, each first poll writing its request, until
/// all have answered: one round trip for all of them. The first queued failure, if any, and
/// `current`'s output.
async fn pipelined<T>(
    queued: Vec<Answer<'_>>,
    current: impl Future<Output = T>,
) -> (Result<(), DbError>, T) {
    let mut queued: Vec<Option<Answer<'_>>> = queued.into_iter().map(Some).collect();
    let mut current = std::pin::pin!(current);
    let mut first_failure: Option<DbError> = None;
    let mut output: Option<T> = None;
    let value = poll_fn(|cx| {
        for slot in &mut queued {
            if let Some(answer) = slot
                && let Poll::Ready(result) = answer.as_mut().poll(cx)
            {
                if let Err(error) = result {
                    first_failure.get_or_insert(error);
                }
                *slot = None;
            }
        }
        if output.is_none()
            && let Poll::Ready(value) = current.as_mut().poll(cx)
        {
            output = Some(value);
        }
        match output.take() {
            Some(value) if queued.iter().all(Option::is_none) => Poll::Ready(value),
            kept => {
                output = kept;
                Poll::Pending
            }
        }
    })
    .await;
    (first_failure.map_or(Ok(()), Err), value)
}

impl PgDb {
    fn pipeline(&self) -> std::sync::MutexGuard<'_, Pipeline> {
        self.pipeline.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether writes are queued now (a transaction block is open).
    pub(crate) fn queues_writes(&self) -> bool {
        self.pipeline().open
    }

    /// Marks the transaction block open (after `BEGIN`) or ended (after `COMMIT` or
    /// `ROLLBACK`, which drops whatever was queued and forgets a failure).
    pub(super) fn set_transaction_open(&self, open: bool) {
        let mut pipeline = self.pipeline();
        pipeline.open = open;
        pipeline.savepoint = Savepoint::None;
        if !open {
            pipeline.queued.clear();
            pipeline.failed = None;
        }
    }

    /// Begins a command in savepoint `name` (in a transaction): the savepoint is sent before
    /// the command's first statement that may write.
    pub(crate) fn begin_savepoint_soon(&self, name: &'static str) {
        self.pipeline().savepoint = Savepoint::Wanted(name);
    }

    /// Ends the running command's savepoint, keeping its work (nothing to send if it never
    /// wrote).
    pub(crate) fn release_savepoint_soon(&self) {
        let mut pipeline = self.pipeline();
        if let Savepoint::Set(name) = pipeline.savepoint {
            pipeline.queued.push(Queued::Release(name));
        }
        pipeline.savepoint = Savepoint::None;
    }

    /// Undoes the running command's work; its savepoint stays (nothing to send if it never
    /// wrote). A command that wrote without a savepoint cannot be undone alone: the
    /// transaction fails, and nothing of it commits.
    pub(crate) fn undo_savepoint_soon(&self) -> Result<(), DbError> {
        let mut pipeline = self.pipeline();
        match pipeline.savepoint {
            Savepoint::Set(name) => pipeline.queued.push(Queued::RollbackTo(name)),
            Savepoint::Unprotected { wrote: true } => {
                let why = "a command was undone after its final writes";
                pipeline.failed = Some(why.to_owned());
                return Err(DbError::Unavailable(why.to_owned()));
            }
            Savepoint::None | Savepoint::Wanted(_) | Savepoint::Unprotected { wrote: false } => {}
        }
        Ok(())
    }

    /// The running command's writes from here are final (see `DeskSavepoints`): if it has
    /// not needed its savepoint yet, it will not send one.
    pub(crate) fn final_writes_soon(&self) {
        let mut pipeline = self.pipeline();
        if pipeline.open && matches!(pipeline.savepoint, Savepoint::Wanted(_)) {
            pipeline.savepoint = Savepoint::Unprotected { wrote: false };
        }
    }

    /// Queues a write inside a transaction (it is sent with the next statement); runs it at
    /// once outside one. `expect_rows`: how many rows it must change, or the transaction
    /// fails (at once outside a transaction, with the next statement inside one).
    pub(crate) fn write_soon(
        &self,
        sql: &str,
        params: Vec<OwnedParam>,
        expect_rows: Option<u64>,
    ) -> Result<(), DbError> {
        let statement = self.wait(self.client.prepare_cached(sql))?;
        let write = Queued::Write { statement, params, expect_rows };
        {
            let mut pipeline = self.pipeline();
            if pipeline.open {
                pipeline.set_savepoint();
                pipeline.queued.push(write);
                return Ok(());
            }
        }
        self.wait(write.send(&self.client))
    }

    /// Sends everything queued and waits for its answers (before `COMMIT`).
    pub(crate) fn flush(&self) -> Result<(), DbError> {
        self.after_queued(Access::Read, async { Ok::<(), tokio_postgres::Error>(()) })
    }

    /// Runs `current` after everything queued, in one round trip with it; a queued failure
    /// is returned (and fails the transaction) before `current`'s own result. A statement
    /// that may write (`access`) is preceded by the running command's savepoint.
    pub(super) fn after_queued<T>(
        &self,
        access: Access,
        current: impl Future<Output = Result<T, tokio_postgres::Error>>,
    ) -> Result<T, DbError> {
        let queued = {
            let mut pipeline = self.pipeline();
            if let Some(why) = &pipeline.failed {
                return Err(DbError::Unavailable(format!(
                    "an earlier write of this transaction failed: {why}"
                )));
            }
            if access == Access::Write {
                pipeline.set_savepoint();
            }
            std::mem::take(&mut pipeline.queued)
        };
        if queued.is_empty() {
            return self.wait(current).map_err(DbError::from);
        }
        let answers = queued.iter().map(|q| q.send(&self.client)).collect();
        let (failure, result) = self.wait(pipelined(answers, current));
        if let Err(error) = failure {
            self.pipeline().failed = Some(error.to_string());
            return Err(error);
        }
        result.map_err(DbError::from)
    }
}

/// Boxes statement parameters for [`PgDb::write_soon`].
macro_rules! owned_params {
    ($($param:expr),* $(,)?) => {
        vec![$(Box::new($param) as $crate::db::postgres::deferred::OwnedParam),*]
    };
}
pub(crate) use owned_params;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::db::postgres::testing::TestDatabase;

    fn table(database: &TestDatabase) -> PgDb {
        let db = database.db();
        db.batch("CREATE TABLE t (id bigint PRIMARY KEY, v text NOT NULL)").unwrap();
        db
    }

    fn insert(db: &PgDb, id: i64, expect_rows: Option<u64>) -> Result<(), DbError> {
        db.write_soon(
            "INSERT INTO t(id, v) VALUES ($1, 'x') ON CONFLICT DO NOTHING",
            owned_params![id],
            expect_rows,
        )
    }

    fn count(db: &PgDb) -> i64 {
        db.one("SELECT COUNT(*) FROM t", &[]).unwrap().get(0)
    }

    #[test]
    fn queued_writes_run_in_order_before_the_next_statement_and_commit_with_it() {
        let Some(database) = TestDatabase::create() else { return };
        queued_in_order(&table(&database));
    }

    #[test]
    fn a_dedicated_connection_queues_and_commits_alike() {
        let Some(database) = TestDatabase::create() else { return };
        table(&database);
        let db = database.dedicated();
        queued_in_order(&db);
        // Its statements need no runtime worker: it drives its own connection.
        assert_eq!(db.one("SELECT 41 + 1", &[]).unwrap().get::<_, i32>(0), 42);
    }

    fn queued_in_order(db: &PgDb) {
        db.transaction(|db| {
            assert!(db.queues_writes());
            insert(db, 1, Some(1))?;
            db.begin_savepoint_soon("s");
            insert(db, 2, Some(1))?;
            db.undo_savepoint_soon()?;
            db.release_savepoint_soon();
            insert(db, 3, Some(1))?;
            // A command that only reads sends no savepoint, nor its rollback or release.
            db.begin_savepoint_soon("s");
            db.read_one("SELECT COUNT(*) FROM t", &[])?;
            db.undo_savepoint_soon()?;
            db.release_savepoint_soon();
            assert!(db.pipeline().queued.is_empty(), "nothing queued for a reading command");
            // One whose writes are final sends no savepoint for them, nor a release.
            db.begin_savepoint_soon("s");
            db.read_one("SELECT COUNT(*) FROM t", &[])?;
            db.final_writes_soon();
            insert(db, 5, Some(1))?;
            db.release_savepoint_soon();
            assert_eq!(db.pipeline().queued.len(), 1, "the write alone");
            // One that writes after reading has its savepoint before the write.
            db.begin_savepoint_soon("s");
            db.read_one("SELECT COUNT(*) FROM t", &[])?;
            insert(db, 9, Some(1))?;
            db.undo_savepoint_soon()?;
            db.release_savepoint_soon();
            // The read runs after every queued statement, in the order they were queued.
            let ids: Vec<i64> =
                db.rows("SELECT id FROM t ORDER BY id", &[])?.iter().map(|r| r.get(0)).collect();
            assert_eq!(ids, vec![1, 3, 5], "2 and 9 were rolled back to their savepoints");
            insert(db, 4, Some(1))
        })
        .unwrap();
        assert!(!db.queues_writes());
        assert_eq!(count(db), 4, "the write queued last was sent before the commit");
    }

    #[test]
    fn a_queued_write_that_fails_fails_its_transaction_and_nothing_commits() {
        let Some(database) = TestDatabase::create() else { return };
        let db = table(&database);
        let failed = db.transaction(|db| {
            insert(db, 1, Some(1))?;
            db.write_soon("INSERT INTO t(id, v) VALUES ($1, NULL)", owned_params![2i64], None)?;
            // The failure comes back with the next statement, and every one after it fails.
            let read = db.one("SELECT COUNT(*) FROM t", &[]);
            assert!(read.is_err());
            let again = db.one("SELECT 1", &[]).unwrap_err();
            assert!(again.to_string().contains("an earlier write"), "{again}");
            read.map(|_| ())
        });
        assert!(failed.is_err());
        assert_eq!(count(&db), 0);
        // The connection serves the next transaction.
        db.transaction(|db| insert(db, 5, Some(1))).unwrap();
        assert_eq!(count(&db), 1);
    }

    #[test]
    fn a_queued_write_that_changes_other_rows_than_read_fails_the_commit() {
        let Some(database) = TestDatabase::create() else { return };
        let db = table(&database);
        db.transaction(|db| insert(db, 1, Some(1))).unwrap();
        // Its work succeeds, but the second insert changes no row where one was expected:
        // the commit is refused, and the first insert of the transaction is not kept.
        let refused = db.transaction(|db| {
            insert(db, 2, Some(1))?;
            insert(db, 1, Some(1))
        });
        let error = refused.unwrap_err();
        assert!(error.to_string().contains("changed 0 rows"), "{error}");
        assert_eq!(count(&db), 1);
    }

    #[test]
    fn a_command_undone_after_its_final_writes_fails_its_transaction() {
        let Some(database) = TestDatabase::create() else { return };
        let db = table(&database);
        let failed = db.transaction(|db| {
            insert(db, 1, Some(1))?;
            db.begin_savepoint_soon("s");
            db.final_writes_soon();
            insert(db, 2, Some(1))?;
            let undone = db.undo_savepoint_soon();
            assert!(undone.is_err(), "its write has no savepoint to go back to");
            assert!(db.one("SELECT 1", &[]).is_err(), "the transaction has failed");
            undone
        });
        assert!(failed.is_err());
        assert_eq!(count(&db), 0, "neither the command's write nor the one before it");
        // A command undone before it wrote anything is undone alone.
        db.transaction(|db| {
            db.begin_savepoint_soon("s");
            db.final_writes_soon();
            db.undo_savepoint_soon()?;
            db.release_savepoint_soon();
            insert(db, 3, Some(1))
        })
        .unwrap();
        assert_eq!(count(&db), 1);
    }

    #[test]
    fn outside_a_transaction_a_write_runs_at_once_and_is_checked_at_once() {
        let Some(database) = TestDatabase::create() else { return };
        let db = table(&database);
        assert!(!db.queues_writes());
        insert(&db, 1, Some(1)).unwrap();
        assert_eq!(count(&db), 1);
        assert!(insert(&db, 1, Some(1)).is_err(), "an existing row: no change where one was due");
    }
}

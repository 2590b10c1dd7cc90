//! What the PostgreSQL backend promises beyond the store suite: the one retry of aborted
//! transactions, and change numbers committed in the order they are taken across connections
//! (as across nodes).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests may panic.

use super::testing::{TestDatabase, wait_until_blocked};
use super::{AsDbError, PgDb};
use crate::db::{DbError, DocumentStore};
use std::sync::atomic::{AtomicU32, Ordering};

/// Raises an error with SQLSTATE `code` from the server itself, as PostgreSQL would.
fn raise(db: &PgDb, code: &str) -> Result<(), DbError> {
    db.batch(&format!("DO $$ BEGIN RAISE EXCEPTION 'test' USING ERRCODE = '{code}'; END $$"))
}

#[test]
fn a_transaction_aborted_for_serialization_runs_again_and_commits_once() {
    let Some(database) = TestDatabase::migrated() else { return };
    let db = database.db();
    let attempts = AtomicU32::new(0);
    let value = db
        .transaction(|db| {
            db.set_meta("retried", "yes")?;
            if attempts.fetch_add(1, Ordering::SeqCst) < 2 {
                raise(db, "40001")?; // serialization_failure
            }
            if attempts.load(Ordering::SeqCst) == 3 {
                // The first two attempts' writes were rolled back with them.
                assert_eq!(db.current_seq()?, 0);
            }
            db.next_seq()
        })
        .unwrap();
    assert_eq!(attempts.load(Ordering::SeqCst), 3, "two aborted attempts, then the commit");
    assert_eq!(value, 1, "the aborted attempts' numbers were rolled back");
    assert_eq!(db.current_seq().unwrap(), 1);
    assert_eq!(db.meta("retried").unwrap().as_deref(), Some("yes"));
}

#[test]
fn a_deadlock_is_retried_and_a_refusal_is_not() {
    let Some(database) = TestDatabase::migrated() else { return };
    let db = database.db();
    let attempts = AtomicU32::new(0);
    db.transaction(|db| {
        if attempts.fetch_add(1, Ordering::SeqCst) == 0 {
            raise(db, "40P01")?; // deadlock_detected
        }
        Ok::<_, DbError>(())
    })
    .unwrap();
    assert_eq!(attempts.load(Ordering::SeqCst), 2);

    let attempts = AtomicU32::new(0);
    let refused = db
        .transaction(|db| {
            attempts.fetch_add(1, Ordering::SeqCst);
            db.set_meta("refused", "written")?;
            raise(db, "23505") // unique_violation: the work's own fault
        })
        .unwrap_err();
    assert_eq!(attempts.load(Ordering::SeqCst), 1, "a refusal runs once");
    assert!(refused.is_content_fault() && !refused.is_retryable(), "{refused}");
    assert_eq!(db.meta("refused").unwrap(), None, "rolled back");
    assert!(refused.as_db_error().is_some());
}

#[test]
fn work_that_keeps_being_aborted_gives_up() {
    let Some(database) = TestDatabase::migrated() else { return };
    let db = database.db();
    let attempts = AtomicU32::new(0);
    let error = db
        .transaction(|db| {
            attempts.fetch_add(1, Ordering::SeqCst);
            raise(db, "40001")
        })
        .unwrap_err();
    assert!(error.is_retryable());
    assert_eq!(attempts.load(Ordering::SeqCst), super::MAX_ATTEMPTS);
}

/// Two connections (as two nodes) take change numbers: the second waits for the first to
/// commit, so a reader never sees a later number committed before an earlier one.
#[test]
fn change_numbers_commit_in_the_order_they_are_taken() {
    let Some(database) = TestDatabase::migrated() else { return };
    let (first, second, watcher) = (database.db(), database.db(), database.db());
    first.batch("BEGIN").unwrap();
    let taken = first.next_seq().unwrap();
    let pid = second.backend_pid();
    let waiting = std::thread::spawn(move || second.transaction(|db| db.next_seq()).unwrap());
    wait_until_blocked(&watcher, pid, "the second taker");
    assert_eq!(watcher.current_seq().unwrap(), taken - 1, "nothing committed yet");
    first.batch("COMMIT").unwrap();
    assert_eq!(waiting.join().unwrap(), taken + 1);
    assert_eq!(watcher.current_seq().unwrap(), taken + 1);
}

/// Two nodes' store writes over one database: the second waits for the first to commit before
/// it reads anything, and then reads what the first committed — so a document a node finds
/// fresh in its cache (its stored position unchanged) cannot be written by another node before
/// the transaction ends (`PgDb::lock_documents`, ADR 0024).
#[test]
fn a_nodes_store_write_waits_for_another_nodes_and_then_sees_it() {
    use std::sync::mpsc;

    use crate::db::ServerDatabase;
    use crate::db::postgres::testing::wait_until_blocked;

    let Some(database) = TestDatabase::create() else { return };
    let mut first = ServerDatabase::postgres(database.node_pool()).unwrap();
    let mut second = ServerDatabase::postgres(database.node_pool()).unwrap();
    let second_pid = match &second {
        ServerDatabase::Postgres(node) => node.writer.backend_pid(),
        ServerDatabase::Sqlite(_) => unreachable!(),
    };
    let watcher = database.db();
    let ((inside, entered), (go_on, released)) = (mpsc::channel(), mpsc::channel::<()>());
    std::thread::scope(|scope| {
        let writing = scope.spawn(move || {
            first
                .write(|db| {
                    db.set_meta("written_by", "first")?;
                    inside.send(()).unwrap();
                    released.recv().unwrap();
                    Ok::<_, DbError>(())
                })
                .unwrap();
        });
        entered.recv().unwrap();
        let reading = scope.spawn(move || second.write(|db| db.meta("written_by")).unwrap());
        wait_until_blocked(&watcher, second_pid, "the second node's write");
        go_on.send(()).unwrap();
        writing.join().unwrap();
        assert_eq!(reading.join().unwrap().as_deref(), Some("first"));
    });
}

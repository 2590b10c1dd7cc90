use std::sync::atomic::AtomicBool;
use std::thread;

use super::*;
use crate::auth::Role;
use crate::store::Store;

/// Polls `done` every few milliseconds for at most 10 s.
fn wait_until(what: &str, done: impl Fn() -> bool) {
    let began = Instant::now();
    while !done() {
        assert!(began.elapsed() < Duration::from_secs(10), "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(5));
    }
}

/// One committed row in each file: a user in the server's, a meta row in the desk's (with a
/// large value, so the files span many pages).
fn write_pair(store: &mut Store, i: u64) {
    let id = format!("copy-user-{i:06}");
    crate::admin::add_user(store, crate::admin::ADMIN_ACTOR, &id, "Copy", Role::Rep, Utc::now())
        .unwrap();
    store
        .desk_conn()
        .execute(
            "INSERT INTO desk_meta (key, value) VALUES (?1, ?2)",
            rusqlite::params![format!("copy-test-{i:06}"), "x".repeat(2_000)],
        )
        .unwrap();
}

/// The rows `write_pair` left in the copy at `dir`, after checking both files' integrity.
fn rows_in_copy(dir: &Path) -> (u64, u64) {
    let count = |name: &str, sql: &str| -> u64 {
        let conn = Connection::open(dir.join(name)).unwrap();
        let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(check, "ok", "{name}");
        conn.query_row(sql, [], |r| r.get(0)).unwrap()
    };
    let users = count(STORE_FILE, "SELECT COUNT(*) FROM users WHERE user_id LIKE 'copy-user-%'");
    let meta = count(DESK_FILE, "SELECT COUNT(*) FROM desk_meta WHERE key LIKE 'copy-test-%'");
    (users, meta)
}

/// A data directory opened by the server's own code, with `rows` pairs written.
fn data_dir_with(rows: u64) -> (tempfile::TempDir, Store) {
    let data = tempfile::tempdir().unwrap();
    let mut store = crate::data::open_store(data.path()).unwrap();
    for i in 0..rows {
        write_pair(&mut store, i);
    }
    (data, store)
}

#[test]
fn a_copy_taken_while_both_files_are_written_is_whole_and_holds_what_was_committed_before() {
    let (data, mut store) = data_dir_with(100);
    let copy = tempfile::tempdir().unwrap();
    let committed = Arc::new(AtomicU64::new(100));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (committed, stop) = (Arc::clone(&committed), Arc::clone(&stop));
        thread::spawn(move || {
            let mut i = committed.load(Ordering::SeqCst);
            while !stop.load(Ordering::SeqCst) {
                write_pair(&mut store, i);
                i += 1;
                committed.store(i, Ordering::SeqCst);
            }
            store
        })
    };
    wait_until("the writer", || committed.load(Ordering::SeqCst) >= 110);
    // Small steps: the copy takes many of them while the writer goes on committing.
    let before = committed.load(Ordering::SeqCst);
    let steps = AtomicU64::new(0);
    let report = copy_with(data.path(), copy.path(), 8, &|| {
        steps.fetch_add(1, Ordering::SeqCst);
    })
    .unwrap();
    let after = committed.load(Ordering::SeqCst);
    // And once more through the public call, the writer still going.
    let public_before = committed.load(Ordering::SeqCst);
    let public_copy = tempfile::tempdir().unwrap();
    SecondCopy::copy_now(data.path(), public_copy.path()).unwrap();
    stop.store(true, Ordering::SeqCst);
    let store = writer.join().unwrap();
    eprintln!(
        "copy: {report:?}, {} steps, pairs committed before {before}, after {after}",
        steps.load(Ordering::SeqCst)
    );
    assert_eq!(report.files, 2);
    assert!(steps.load(Ordering::SeqCst) > 10, "the copy took many steps");
    let on_disk: u64 =
        FILES.iter().map(|name| std::fs::metadata(copy.path().join(name)).unwrap().len()).sum();
    assert_eq!(report.bytes, on_disk);
    let (users, meta) = rows_in_copy(copy.path());
    assert!(users >= before && meta >= before, "{users} users, {meta} meta, {before} before");
    // At most the pair the writer was in the middle of when it was read.
    assert!(users <= after + 1 && meta <= after + 1, "{users} users, {meta} meta, {after} after");
    // The server's file is read before the desk's, so the desk's copy is not older (the writer
    // commits a pair's user before its desk row: one user may be ahead).
    assert!(meta + 1 >= users, "{users} users, {meta} meta");
    let (users, meta) = rows_in_copy(public_copy.path());
    assert!(users >= public_before && meta >= public_before);
    drop(store);
}

#[test]
fn an_interrupted_copy_leaves_the_previous_copy_whole_and_the_next_one_replaces_it() {
    let (data, mut store) = data_dir_with(20);
    let copy = tempfile::tempdir().unwrap();
    SecondCopy::copy_now(data.path(), copy.path()).unwrap();
    for i in 20..30 {
        write_pair(&mut store, i);
    }
    // A round that died half-way: half-written temporary files and a journal beside them.
    for name in FILES {
        let temp = temp_path(copy.path(), name);
        std::fs::write(&temp, b"SQLite format 3\0 and then the power went out").unwrap();
        std::fs::write(with_suffix(&temp, "-journal"), b"torn").unwrap();
    }
    assert_eq!(rows_in_copy(copy.path()), (20, 20), "the previous copy is untouched");
    SecondCopy::copy_now(data.path(), copy.path()).unwrap();
    assert_eq!(rows_in_copy(copy.path()), (30, 30));
    for name in FILES {
        assert!(!temp_path(copy.path(), name).exists(), "{name}");
    }
    drop(store);
}

#[test]
fn the_server_opens_its_store_on_the_copy() {
    let (data, store) = data_dir_with(5);
    let copy = tempfile::tempdir().unwrap();
    SecondCopy::copy_now(data.path(), copy.path()).unwrap();
    drop(store);
    let restarted = crate::data::open_store(copy.path()).unwrap();
    let users: i64 = restarted
        .sql()
        .query_row("SELECT COUNT(*) FROM users WHERE user_id LIKE 'copy-user-%'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(users, 5);
    let ledger = crate::desk::ledger::verify(restarted.desk()).unwrap();
    assert_eq!(ledger.first_bad_seq, None);
    // It writes documents under an actor of its own, never the original's.
    let original = crate::data::open_store(data.path()).unwrap();
    assert_ne!(restarted.actor(), original.actor());
    // And numbers its changes beyond any cursor its original gave a device.
    let (copied, kept) =
        (restarted.conn().current_seq().unwrap(), original.conn().current_seq().unwrap());
    assert!(copied >= kept + 1_000_000_000, "{copied} {kept}");
}

#[test]
fn the_copy_dir_may_not_be_the_data_dir() {
    let (data, _store) = data_dir_with(1);
    let refused = SecondCopy::copy_now(data.path(), data.path());
    assert!(matches!(refused, Err(DbError::Corrupt(_))), "{refused:?}");
    let beat = crate::health::Health::new().beat("second_copy");
    assert!(SecondCopy::start(data.path(), data.path(), MIN_INTERVAL, beat).is_err());
}

#[test]
fn the_thread_counts_failed_rounds_goes_on_and_stops_with_its_handle() {
    let root = tempfile::tempdir().unwrap();
    let (data, copy) = (root.path().join("data"), root.path().join("copy"));
    let health = crate::health::Health::new();
    let beat = health.beat("second_copy");
    let copier = SecondCopy::start(&data, &copy, MIN_INTERVAL, beat.clone()).unwrap();
    // No data directory yet: every round fails, and the thread goes on.
    wait_until("failed rounds", || copier.failures() >= 3 && beat.report().failures >= 3);
    assert_eq!((copier.copies(), copier.last_copied_at()), (0, None));
    let mut store = crate::data::open_store(&data).unwrap();
    write_pair(&mut store, 0);
    let written = Utc::now();
    // The round under way may have begun before the write; the one after it did not.
    let copies = copier.copies();
    wait_until("good copies", || copier.copies() >= copies + 2);
    let last = copier.last_copied_at().unwrap();
    assert!(last.timestamp_millis() >= written.timestamp_millis(), "{last} {written}");
    copier.stop();
    assert_eq!(rows_in_copy(&copy), (1, 1));
    assert!(health.report().0, "{:?}", health.report().1);
}

//! The demo company moved from its data directory into PostgreSQL: every table, document and
//! the desk's ledger compared; a second move, a broken copy and a failing file refused.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests may panic.

use chrono::{TimeZone, Utc};
use kam_core::demo::DemoSpec;

use super::{MigrationError, SourceFiles, compare, migrate_to_postgres};
use crate::data::{load_demo, open_store};
use crate::db::postgres::testing::TestDatabase;
use crate::db::{DocumentStore, STORE_FILE};

/// A data directory holding a small demo company; returns its documents and ledger tip.
fn demo_dir(dir: &std::path::Path) -> (usize, crate::desk::ledger::Tip) {
    let mut store = open_store(dir).unwrap();
    let spec =
        DemoSpec { customers: 12, tickets: 20, units: 16, buyers: 4, ..DemoSpec::standard(2) };
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0).single().unwrap();
    let loaded = load_demo(&mut store, &spec, now).unwrap().unwrap();
    let documents = store.conn().document_seqs().unwrap().len();
    assert!(documents >= loaded.documents && documents > 0);
    (documents, crate::desk::ledger::tip(store.desk()).unwrap())
}

#[test]
fn the_demo_company_moves_into_postgresql_whole_and_a_second_move_is_refused() {
    let Some(database) = TestDatabase::create() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (documents, tip) = demo_dir(dir.path());
    let pool = database.node_pool();

    let report = migrate_to_postgres(dir.path(), &pool).unwrap();
    println!("migrate: {report}");
    assert!(!report.server_tables.is_empty() && !report.desk_tables.is_empty());
    for t in report.server_tables.iter().chain(&report.desk_tables) {
        assert_eq!(t.sqlite_rows, t.postgres_rows, "{}", t.table);
    }
    let rows = |tables: &[crate::db::postgres::import::TableCount]| -> u64 {
        tables.iter().map(|t| t.sqlite_rows).sum()
    };
    assert!(rows(&report.server_tables) > 0 && rows(&report.desk_tables) > 0, "{report}");
    assert_eq!(report.documents_compared, documents);
    assert!(report.current_seq > 0);
    assert!(report.ledger_verified && report.ledger_entries > 0, "{report}");
    assert_eq!(
        (report.ledger_tip_seq, report.ledger_tip_hash.clone()),
        (tip.seq, hex::encode(tip.hash))
    );
    let shown = report.to_string();
    assert!(shown.contains("verified") && shown.contains("documents"), "{shown}");

    // Again into the same database: refused, and nothing in it changed.
    let files = SourceFiles::open(&dir.path().join(STORE_FILE)).unwrap();
    let before = files.count_tables(&database.db()).unwrap().0;
    let refused = migrate_to_postgres(dir.path(), &pool).unwrap_err();
    assert!(matches!(refused, MigrationError::Storage(_)), "{refused:?}");
    assert!(refused.to_string().contains("not empty"), "{refused}");
    assert_eq!(files.count_tables(&database.db()).unwrap().0, before);
    assert_eq!(before, report.server_tables);
}

#[test]
fn a_copy_that_differs_from_the_files_is_named() {
    let Some(database) = TestDatabase::create() else { return };
    let dir = tempfile::tempdir().unwrap();
    demo_dir(dir.path());
    migrate_to_postgres(dir.path(), &database.node_pool()).unwrap();
    let files = SourceFiles::open(&dir.path().join(STORE_FILE)).unwrap();
    let pg = database.db();
    compare(&files, &pg).unwrap();

    // One byte of one document's snapshot, its length (and so its row) unchanged.
    let (id, _) = files.server().document_seqs().unwrap().into_iter().next().unwrap();
    pg.execute(
        "UPDATE documents SET snapshot = set_byte(snapshot, 20, (get_byte(snapshot, 20) + 1) % 256)
         WHERE doc_id = $1",
        &[&id],
    )
    .unwrap();
    let differs = compare(&files, &pg).unwrap_err();
    assert!(matches!(differs, MigrationError::Mismatch(_)), "{differs:?}");
    assert!(differs.to_string().contains(&format!("stored bytes of document {id}")), "{differs}");
    pg.execute(
        "UPDATE documents SET snapshot = set_byte(snapshot, 20, (get_byte(snapshot, 20) + 255) % 256)
         WHERE doc_id = $1",
        &[&id],
    )
    .unwrap();
    compare(&files, &pg).unwrap();

    // A row more in one table.
    pg.set_meta("only_in_postgresql", "1").unwrap();
    let differs = compare(&files, &pg).unwrap_err();
    assert!(differs.to_string().contains("table meta has"), "{differs}");
}

#[test]
fn a_desk_file_that_cannot_be_copied_leaves_the_database_empty() {
    let Some(database) = TestDatabase::create() else { return };
    let dir = tempfile::tempdir().unwrap();
    demo_dir(dir.path());
    // A table PostgreSQL has no counterpart for: the desk's copy fails after the server's.
    let desk =
        rusqlite::Connection::open(crate::db::desk_path(&dir.path().join(STORE_FILE))).unwrap();
    desk.execute_batch("CREATE TABLE stray (x INTEGER)").unwrap();
    drop(desk);
    let refused = migrate_to_postgres(dir.path(), &database.node_pool()).unwrap_err();
    assert!(refused.to_string().contains("stray"), "{refused}");
    let pg = database.db();
    assert_eq!(pg.document_seqs().unwrap(), vec![], "the server's file was not kept either");
    assert_eq!(pg.current_seq().unwrap(), 0);
}

#[test]
fn a_directory_without_a_store_is_refused_and_left_alone() {
    let Some(database) = TestDatabase::create() else { return };
    let dir = tempfile::tempdir().unwrap();
    let refused = migrate_to_postgres(dir.path(), &database.node_pool()).unwrap_err();
    assert!(matches!(refused, MigrationError::NoStore(_)), "{refused:?}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

//! `kam-server admin migrate-to-postgres` as an operator runs it: a data directory holding the
//! demo company moved into a PostgreSQL schema of its own by the real binary, which prints
//! every table's counts and what it verified; run again, it refuses and exits non-zero.
//!
//! Needs `KAM_TEST_POSTGRES_URL` (as the server's PostgreSQL tests do); without it the test
//! says it was skipped, unless `KAM_TEST_POSTGRES_REQUIRED` is set, which fails it. The
//! company goes into a schema of a database of its own, named in the URL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests may panic.

use std::process::{Command, Output};

use chrono::{TimeZone, Utc};
use kam_core::demo::DemoSpec;
use kam_server::data::{load_demo, open_store};
use kam_tests::cluster::TestDatabase;

/// The schema the test moves the company into, inside a database of its own.
const SCHEMA: &str = "company_a";

/// Runs `kam-server admin migrate-to-postgres --from DIR --to URL` in `cwd`.
fn migrate(cwd: &std::path::Path, from: &std::path::Path, to: &str) -> Output {
    Command::new(kam_tests::server_binary().unwrap())
        .current_dir(cwd)
        .args(["admin", "migrate-to-postgres", "--from"])
        .arg(from)
        .args(["--to", to])
        .output()
        .unwrap()
}

#[test]
fn a_data_directory_moves_into_postgresql_and_a_second_move_is_refused() {
    let Some(database) = TestDatabase::create("migrate").unwrap() else { return };
    database.query(&format!("CREATE SCHEMA {SCHEMA}")).unwrap();
    // A URL that selects the schema (libpq's `options`, as an operator would write it).
    let url = format!("{}?options=-csearch_path%3D{SCHEMA}", database.url);
    let count = || database.query(&format!("SELECT COUNT(*) FROM {SCHEMA}.documents")).unwrap();
    let data = tempfile::tempdir().unwrap();
    let documents = {
        let mut store = open_store(data.path()).unwrap();
        let spec =
            DemoSpec { customers: 10, tickets: 20, units: 12, buyers: 3, ..DemoSpec::standard(2) };
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0).single().unwrap();
        load_demo(&mut store, &spec, now).unwrap().unwrap();
        store.conn().document_seqs().unwrap().len()
    };
    assert!(documents > 0);
    let cwd = tempfile::tempdir().unwrap();

    let first = migrate(cwd.path(), data.path(), &url);
    let (out, err) =
        (String::from_utf8_lossy(&first.stdout), String::from_utf8_lossy(&first.stderr));
    assert!(first.status.success(), "{}\n{out}\n{err}", first.status);
    println!("{out}");
    assert!(out.contains(&format!("documents: {documents} compared")), "{out}");
    assert!(out.contains("verified on both") && out.contains("verified: "), "{out}");
    let customers = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("customers "))
        .map(|counts| counts.split_whitespace().collect::<Vec<_>>())
        .unwrap_or_else(|| panic!("no customers line: {out}"));
    assert_eq!(customers, ["10", "10"], "{out}");
    // The rows are in the schema the URL named.
    let stored = count();
    assert_eq!(stored.trim(), documents.to_string());
    assert_eq!(std::fs::read_dir(cwd.path()).unwrap().count(), 0, "no kam-data was created");

    let second = migrate(cwd.path(), data.path(), &url);
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success(), "a second move must fail");
    assert!(err.contains("not empty"), "{err}");
    assert_eq!(count(), stored, "the refused move changed nothing");
}

//! `kam-server admin migrate-to-postgres` as an operator runs it: a data directory holding the
//! demo company moved into a PostgreSQL schema of its own by the real binary, which prints
//! every table's counts and what it verified; run again, it refuses and exits non-zero.
//!
//! Needs `KAM_TEST_POSTGRES_URL` (as the server's PostgreSQL tests do); without it the test
//! says it was skipped, unless `KAM_TEST_POSTGRES_REQUIRED` is set, which fails it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests may panic.

use std::process::{Command, Output};

use chrono::{TimeZone, Utc};
use kam_core::demo::DemoSpec;
use kam_server::data::{load_demo, open_store};

/// Runs statements on the test server (one connection, its own small runtime).
fn run_sql(url: &str, sql: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let (client, connection) =
            tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
        let task = tokio::spawn(connection);
        client.batch_execute(sql).await.unwrap();
        drop(client);
        let _ = task.await;
    });
}

/// One query's first column of its one row, as text.
fn query_text(url: &str, sql: &str) -> String {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let (client, connection) =
            tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
        let task = tokio::spawn(connection);
        let row = client.query_one(sql, &[]).await.unwrap();
        let value: String = row.get(0);
        drop(client);
        let _ = task.await;
        value
    })
}

/// A schema of its own in the test server, dropped with its contents at the end.
struct TestSchema {
    server: String,
    name: String,
}

impl TestSchema {
    /// A new schema, or `None` (said on stderr) without a test server.
    fn create() -> Option<TestSchema> {
        let Ok(server) = std::env::var("KAM_TEST_POSTGRES_URL") else {
            assert!(
                std::env::var_os("KAM_TEST_POSTGRES_REQUIRED").is_none(),
                "KAM_TEST_POSTGRES_REQUIRED is set but KAM_TEST_POSTGRES_URL is not"
            );
            eprintln!("skipped: no PostgreSQL (KAM_TEST_POSTGRES_URL is not set)");
            return None;
        };
        let name = format!("m_{}", uuid::Uuid::new_v4().simple());
        run_sql(&server, &format!("CREATE SCHEMA {name}"));
        Some(TestSchema { server, name })
    }

    /// A URL that selects this schema (libpq's `options`, as an operator would write it).
    fn url(&self) -> String {
        let join = if self.server.contains('?') { '&' } else { '?' };
        format!("{}{join}options=-csearch_path%3D{}", self.server, self.name)
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        run_sql(&self.server, &format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
    }
}

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
    let Some(schema) = TestSchema::create() else { return };
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

    let first = migrate(cwd.path(), data.path(), &schema.url());
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
    let stored = query_text(
        &schema.server,
        &format!("SELECT COUNT(*)::text FROM {}.documents", schema.name),
    );
    assert_eq!(stored, documents.to_string());
    assert_eq!(std::fs::read_dir(cwd.path()).unwrap().count(), 0, "no kam-data was created");

    let second = migrate(cwd.path(), data.path(), &schema.url());
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success(), "a second move must fail");
    assert!(err.contains("not empty"), "{err}");
    let again = query_text(
        &schema.server,
        &format!("SELECT COUNT(*)::text FROM {}.documents", schema.name),
    );
    assert_eq!(again, stored, "the refused move changed nothing");
}

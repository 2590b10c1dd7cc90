//! Several real `kam-server` nodes over one PostgreSQL database (ADR 0024), for the
//! end-to-end tests and benchmarks of issue 24: a fresh database per test on the throwaway
//! server `scripts/test` starts (`KAM_TEST_POSTGRES_URL`), dropped afterwards; nodes started
//! on it; setup done in-process through the server's own library.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::{ServerProcess, TestResult};

/// The test server's URL, `None` when PostgreSQL tests are not run here; with
/// `KAM_TEST_POSTGRES_REQUIRED=1` (as `scripts/test` sets) a missing URL is an error instead.
pub fn server_url() -> TestResult<Option<String>> {
    match std::env::var("KAM_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Ok(Some(url)),
        _ if std::env::var("KAM_TEST_POSTGRES_REQUIRED").as_deref() == Ok("1") => {
            Err("KAM_TEST_POSTGRES_REQUIRED=1 but KAM_TEST_POSTGRES_URL is not set".into())
        }
        _ => {
            println!("skipped: no KAM_TEST_POSTGRES_URL (scripts/test starts PostgreSQL)");
            Ok(None)
        }
    }
}

/// `psql`, from Debian's versioned directory or the PATH.
fn psql() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin/psql"))
        .filter(|p| p.exists())
        .collect();
    versions.sort();
    versions.pop().unwrap_or_else(|| PathBuf::from("psql"))
}

/// Runs `sql` through `psql` on `url`; its output.
pub fn psql_run(url: &str, sql: &str) -> TestResult<String> {
    let out = Command::new(psql())
        .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql])
        .output()?;
    if !out.status.success() {
        return Err(format!("psql {sql}: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(String::from_utf8(out.stdout)?)
}

/// A database of its own on the test server, dropped (with its connections) when dropped.
#[derive(Debug)]
pub struct TestDatabase {
    /// Its URL.
    pub url: String,
    admin_url: String,
    name: String,
}

impl TestDatabase {
    /// A fresh database named after `tag`, or `None` when PostgreSQL tests are not run here.
    pub fn create(tag: &str) -> TestResult<Option<TestDatabase>> {
        let Some(admin_url) = server_url()? else { return Ok(None) };
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!("kam_{tag}_{}_{nanos}", std::process::id());
        psql_run(&admin_url, &format!("CREATE DATABASE {name}"))?;
        let base = admin_url.rsplit_once('/').map_or(admin_url.as_str(), |(base, _)| base);
        Ok(Some(TestDatabase { url: format!("{base}/{name}"), admin_url, name }))
    }

    /// Runs `sql` on this database; its output, one line per row.
    pub fn query(&self, sql: &str) -> TestResult<String> {
        psql_run(&self.url, sql)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        if let Err(error) = psql_run(&self.admin_url, &drop) {
            eprintln!("could not drop {}: {error}", self.name);
        }
    }
}

/// Nodes of one company over one database, each with a data directory of its own (for its
/// log; its data is in PostgreSQL).
pub struct Nodes {
    /// The nodes, in start order (`None` once killed).
    pub nodes: Vec<Option<ServerProcess>>,
    dirs: Vec<tempfile::TempDir>,
}

impl Nodes {
    /// Starts `count` nodes over `database` with `args`; the first with `first_args` too
    /// (`--demo …`), alone, before the others.
    pub fn start(
        binary: &Path,
        database: &str,
        count: usize,
        first_args: &[&str],
        args: &[&str],
    ) -> TestResult<Nodes> {
        let mut nodes = Nodes { nodes: Vec::new(), dirs: Vec::new() };
        for i in 0..count {
            let dir = tempfile::tempdir()?;
            let mut node_args: Vec<&str> = vec!["--database", database];
            if i == 0 {
                node_args.extend_from_slice(first_args);
            }
            node_args.extend_from_slice(args);
            let node = ServerProcess::start_binary(
                binary,
                dir.path(),
                &node_args,
                Duration::from_secs(180),
            )?;
            nodes.nodes.push(Some(node));
            nodes.dirs.push(dir);
        }
        Ok(nodes)
    }

    /// The URLs of the nodes still running.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().flatten().map(|n| n.url.clone()).collect()
    }

    /// What node `i` logged so far.
    pub fn log(&self, i: usize) -> String {
        self.dirs
            .get(i)
            .and_then(|d| std::fs::read_to_string(d.path().join("server.log")).ok())
            .unwrap_or_default()
    }

    /// The node that logged taking the lease `name` last, by index (the current holder when
    /// none has died since).
    pub fn lease_holder(&self, name: &str) -> Option<usize> {
        // The log's fields may be coloured: the name is matched in its quotes.
        let needle = format!("\"{name}\"");
        (0..self.nodes.len()).filter(|&i| self.nodes[i].is_some()).find(|&i| {
            self.log(i).lines().any(|l| l.contains("lease taken") && l.contains(&needle))
        })
    }

    /// Kills node `i` with SIGKILL (as `kill -9`).
    pub fn kill(&mut self, i: usize) -> TestResult<()> {
        let node = self.nodes.get_mut(i).and_then(Option::take).ok_or("no such node")?;
        node.kill()
    }

    /// Stops every running node gracefully.
    pub fn stop(self) -> TestResult<()> {
        for node in self.nodes.into_iter().flatten() {
            node.stop(Duration::from_secs(30))?;
        }
        Ok(())
    }
}

/// The company's store on `database`, opened in this process through the server's library
/// (for setup: enrolling devices; and for checks: the ledger's rows), with the runtime its
/// connections run on. Keep the runtime as long as the store.
pub fn open_store(
    database: &str,
) -> TestResult<(tokio::runtime::Runtime, kam_server::store::Store)> {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    let store = kam_server::data::open_store_on_postgres(
        database,
        4,
        runtime.handle().clone(),
        kam_core::Policy::default(),
    )?;
    Ok((runtime, store))
}

/// The open desk's event, its allotted units (by id) and its buyers in lottery order, read
/// through `store` (on PostgreSQL there is no desk file to open).
pub fn desk_setup(
    store: &kam_server::store::Store,
) -> TestResult<(String, Vec<String>, Vec<String>)> {
    let desk = store.desk();
    let event = desk.open_events()?.into_iter().next().ok_or("no open desk")?.0;
    let mut units: Vec<String> =
        desk.control_units(&event)?.into_iter().map(|u| u.unit_id).collect();
    units.sort();
    let buyers = desk.queue_lines(&event)?.into_iter().map(|l| l.buyer_id).collect();
    Ok((event, units, buyers))
}

/// [`desk_setup`] of the company in the database at `url`, opened for it and closed again.
pub fn desk_setup_of(url: &str) -> TestResult<(String, Vec<String>, Vec<String>)> {
    let (_runtime, store) = open_store(url)?;
    desk_setup(&store)
}

/// The desk's ledger as stored: sequence number → (kind, entry as JSON).
pub fn ledger(
    store: &kam_server::store::Store,
) -> TestResult<std::collections::BTreeMap<i64, (String, serde_json::Value)>> {
    let mut entries = std::collections::BTreeMap::new();
    let mut after = 0;
    loop {
        let rows = store.desk().ledger_after(after, 10_000)?;
        let Some(last) = rows.last().map(|r| r.seq) else { return Ok(entries) };
        for row in rows {
            entries.insert(row.seq, (row.kind, serde_json::from_str(&row.entry)?));
        }
        after = last;
    }
}

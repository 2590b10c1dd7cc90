//! Where a benchmark runs the release server, so one measuring routine serves every backend:
//! one node on the embedded SQLite files of a data directory, or nodes over one PostgreSQL
//! database of the test server (ADR 0024). Also the CPU meter of a phase: the nodes', the
//! database's and the load generator's (this process's) CPU seconds.

// A benchmark harness: CPU seconds and counts are figures for printing, never input.
#![allow(clippy::arithmetic_side_effects)]

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use kam_server::store::Store;

use crate::cluster::{Nodes, TestDatabase, psql_run};
use crate::{ServerProcess, TestResult, process_cpu_seconds};

/// A backend to run a benchmark on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// One node on the SQLite files of a data directory (the embedded default).
    Sqlite,
    /// `nodes` nodes over one PostgreSQL database.
    Postgres {
        /// How many nodes serve the company.
        nodes: usize,
    },
}

impl Backend {
    /// The three a comparison runs: SQLite, PostgreSQL with 1 node, with 3 nodes.
    pub const COMPARED: [Backend; 3] =
        [Backend::Sqlite, Backend::Postgres { nodes: 1 }, Backend::Postgres { nodes: 3 }];

    /// A short name for a column: `SQLite`, `PG 1 node`, `PG 3 nodes`.
    pub fn label(self) -> String {
        match self {
            Backend::Sqlite => "SQLite".to_owned(),
            Backend::Postgres { nodes: 1 } => "PG 1 node".to_owned(),
            Backend::Postgres { nodes } => format!("PG {nodes} nodes"),
        }
    }
}

/// The company's storage before its nodes start: a data directory or a database.
pub enum Storage {
    /// A data directory of SQLite files.
    Dir(tempfile::TempDir),
    /// A database of its own on the PostgreSQL test server.
    Database(TestDatabase),
}

impl Storage {
    /// Fresh storage for `backend`; `None` when PostgreSQL is not available here (printed).
    pub fn create(backend: Backend, tag: &str) -> TestResult<Option<Storage>> {
        Ok(match backend {
            Backend::Sqlite => Some(Storage::Dir(tempfile::tempdir()?)),
            Backend::Postgres { .. } => TestDatabase::create(tag)?.map(Storage::Database),
        })
    }

    /// Runs `work` on the company's store opened in this process (setup before the nodes
    /// start: loading a demo, enrolling devices), then closes it.
    pub fn with_store<T>(&self, work: impl FnOnce(&mut Store) -> TestResult<T>) -> TestResult<T> {
        match self {
            Storage::Dir(dir) => work(&mut kam_server::data::open_store(dir.path())?),
            Storage::Database(database) => {
                let (runtime, mut store) = crate::cluster::open_store(&database.url)?;
                let out = work(&mut store);
                drop(store);
                runtime.shutdown_timeout(Duration::from_secs(5));
                out
            }
        }
    }

    /// The open desk's event, its allotted units (by id) and its buyers in lottery order:
    /// from the desk file, or through the store on PostgreSQL (which has no desk file).
    pub fn desk_setup(&self) -> TestResult<(String, Vec<String>, Vec<String>)> {
        match self {
            Storage::Dir(dir) => crate::desk_setup(dir.path()),
            Storage::Database(database) => crate::cluster::desk_setup_of(&database.url),
        }
    }
}

/// The running release server of a benchmark: one SQLite node, or nodes over PostgreSQL.
pub struct Deployment {
    /// What it runs on.
    pub backend: Backend,
    servers: Servers,
    /// The storage, kept as long as the nodes run (dropped after them).
    pub storage: Storage,
}

enum Servers {
    One(ServerProcess),
    Nodes(Nodes),
}

impl Deployment {
    /// Starts `backend`'s nodes on `storage` with `args`; the first (alone, before the others)
    /// with `first_args` too (`--demo …`).
    pub fn start(
        binary: &Path,
        backend: Backend,
        storage: Storage,
        first_args: &[&str],
        args: &[&str],
    ) -> TestResult<Deployment> {
        let servers = match (&storage, backend) {
            (Storage::Dir(dir), _) => {
                let all: Vec<&str> = first_args.iter().chain(args).copied().collect();
                let timeout = Duration::from_secs(300);
                Servers::One(ServerProcess::start_binary(binary, dir.path(), &all, timeout)?)
            }
            (Storage::Database(database), Backend::Postgres { nodes }) => {
                Servers::Nodes(Nodes::start(binary, &database.url, nodes, first_args, args)?)
            }
            (Storage::Database(_), Backend::Sqlite) => {
                return Err("a SQLite node on a PostgreSQL database".into());
            }
        };
        Ok(Deployment { backend, servers, storage })
    }

    /// The nodes' URLs.
    pub fn urls(&self) -> Vec<String> {
        match &self.servers {
            Servers::One(server) => vec![server.url.clone()],
            Servers::Nodes(nodes) => nodes.urls(),
        }
    }

    /// The nodes' process ids.
    pub fn pids(&self) -> Vec<u32> {
        match &self.servers {
            Servers::One(server) => vec![server.pid()],
            Servers::Nodes(nodes) => nodes.nodes.iter().flatten().map(ServerProcess::pid).collect(),
        }
    }

    /// The PostgreSQL database's URL, when the nodes run on one.
    pub fn database_url(&self) -> Option<&str> {
        match &self.storage {
            Storage::Database(database) => Some(&database.url),
            Storage::Dir(_) => None,
        }
    }

    /// A meter of the CPU the nodes, the database and this process spend from now on.
    pub fn cpu_meter(&self) -> TestResult<CpuMeter> {
        CpuMeter::start(self.pids(), self.database_url())
    }

    /// Every line the nodes logged at level ERROR or WARN, by node (what a benchmark should
    /// report beside its figures).
    pub fn log_complaints(&self) -> Vec<(usize, String)> {
        let logs: Vec<String> = match (&self.servers, &self.storage) {
            (Servers::One(_), Storage::Dir(dir)) => {
                vec![std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default()]
            }
            (Servers::Nodes(nodes), _) => (0..nodes.nodes.len()).map(|i| nodes.log(i)).collect(),
            (Servers::One(_), Storage::Database(_)) => Vec::new(),
        };
        let mut complaints = Vec::new();
        for (i, log) in logs.iter().enumerate() {
            for line in log.lines().filter(|l| l.contains("ERROR") || l.contains("WARN")) {
                complaints.push((i, line.to_owned()));
            }
        }
        complaints
    }

    /// Stops every node gracefully, printing what they complained of in their logs (at most
    /// five lines per node), and returns the storage.
    pub fn stop(self) -> TestResult<Storage> {
        let complaints = self.log_complaints();
        for node in 0..self.pids().len() {
            let mine: Vec<&String> =
                complaints.iter().filter(|(i, _)| *i == node).map(|(_, l)| l).collect();
            if !mine.is_empty() {
                println!(
                    "  note: {} node {node} logged {} ERROR/WARN lines, first: {}",
                    self.backend.label(),
                    mine.len(),
                    mine.iter().take(5).map(|l| l.as_str()).collect::<Vec<_>>().join(" | ")
                );
            }
        }
        match self.servers {
            Servers::One(server) => {
                server.stop(Duration::from_secs(30))?;
            }
            Servers::Nodes(nodes) => nodes.stop()?,
        }
        Ok(self.storage)
    }
}

/// PostgreSQL's counters of a database (`pg_stat_database`): transactions committed and
/// rows read, inserted, updated and deleted. Backends report them at most once a second, so
/// a difference over a few seconds is approximate.
#[derive(Clone, Copy, Debug, Default)]
pub struct DatabaseWork {
    /// Transactions committed (read-only ones too).
    pub commits: f64,
    /// Rows read (returned by scans and fetched by index).
    pub rows_read: f64,
    /// Rows inserted.
    pub inserted: f64,
    /// Rows updated.
    pub updated: f64,
    /// Rows deleted.
    pub deleted: f64,
}

impl DatabaseWork {
    /// The counters of the database at `url` now.
    pub fn read(url: &str) -> TestResult<DatabaseWork> {
        let line = psql_run(
            url,
            "SELECT xact_commit, tup_returned + tup_fetched, tup_inserted, tup_updated,
                    tup_deleted
             FROM pg_stat_database WHERE datname = current_database()",
        )?;
        let values: Vec<f64> = line.trim().split('|').map(str::parse).collect::<Result<_, _>>()?;
        let [commits, rows_read, inserted, updated, deleted] = values[..] else {
            return Err(format!("pg_stat_database: {line}").into());
        };
        Ok(DatabaseWork { commits, rows_read, inserted, updated, deleted })
    }

    /// What was done since `before`, per operation of `ops`, as text.
    pub fn per_op_since(&self, before: &DatabaseWork, ops: f64) -> String {
        let per = |now: f64, then: f64| (now - then) / ops.max(1.0);
        format!(
            "{:.2} transactions (read-only ones included), {:.1} rows read, {:.1} inserted, \
             {:.1} updated, {:.1} deleted",
            per(self.commits, before.commits),
            per(self.rows_read, before.rows_read),
            per(self.inserted, before.inserted),
            per(self.updated, before.updated),
            per(self.deleted, before.deleted)
        )
    }
}

/// CPU seconds spent during a phase.
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuSpent {
    /// By the server's nodes, together.
    pub nodes: f64,
    /// By PostgreSQL for this database (its backends, and the server's shared processes:
    /// postmaster, WAL writer, checkpointer…); `None` on SQLite.
    pub database: Option<f64>,
    /// By this process: the load generator or the devices.
    pub load: f64,
}

impl CpuSpent {
    /// Microseconds per operation of the nodes and of the database (0 for none).
    pub fn per_op_us(&self, ops: f64) -> (f64, f64) {
        let per = |s: f64| s * 1e6 / ops.max(1.0);
        (per(self.nodes), per(self.database.unwrap_or(0.0)))
    }
}

/// CPU counters at the start of a phase. PostgreSQL's backends take their CPU with them when
/// they exit, so each process's counter is kept and only processes alive at both ends (or
/// started during the phase) count; the nodes keep their connections, so few are lost.
pub struct CpuMeter {
    pids: Vec<u32>,
    nodes: f64,
    database: Option<(String, BTreeMap<u32, f64>)>,
    load: f64,
}

impl CpuMeter {
    /// Starts metering the nodes `pids`, the database at `database` and this process.
    pub fn start(pids: Vec<u32>, database: Option<&str>) -> TestResult<CpuMeter> {
        let nodes = pids.iter().map(|p| process_cpu_seconds(*p)).sum::<TestResult<f64>>()?;
        let database = match database {
            Some(url) => Some((url.to_owned(), postgres_cpu(url)?)),
            None => None,
        };
        Ok(CpuMeter { pids, nodes, database, load: process_cpu_seconds(std::process::id())? })
    }

    /// What was spent since [`CpuMeter::start`].
    pub fn spent(&self) -> TestResult<CpuSpent> {
        let nodes = self.pids.iter().map(|p| process_cpu_seconds(*p)).sum::<TestResult<f64>>()?;
        let database = match &self.database {
            Some((url, before)) => {
                let after = postgres_cpu(url)?;
                let spent: f64 = after
                    .iter()
                    .map(|(pid, now)| now - before.get(pid).copied().unwrap_or(0.0))
                    .sum();
                Some(spent)
            }
            None => None,
        };
        Ok(CpuSpent {
            nodes: nodes - self.nodes,
            database,
            load: process_cpu_seconds(std::process::id())? - self.load,
        })
    }
}

/// CPU seconds so far of each PostgreSQL process that works for the database at `url`: its
/// backends and the server's own processes (postmaster, WAL writer, checkpointer, …), by
/// process id. Backends of other databases on the same server (other tests) are left out;
/// the shared processes may include a little of their work.
pub fn postgres_cpu(url: &str) -> TestResult<BTreeMap<u32, f64>> {
    let pids = psql_run(
        url,
        "SELECT pid FROM pg_stat_activity
         WHERE (datname = current_database() AND pid <> pg_backend_pid())
            OR backend_type <> 'client backend'",
    )?;
    let mut wanted: Vec<u32> = pids.lines().filter_map(|l| l.trim().parse().ok()).collect();
    // The postmaster is the parent of every one of them.
    if let Some(first) = wanted.first()
        && let Some(parent) = parent_pid(*first)
    {
        wanted.push(parent);
    }
    let mut cpu = BTreeMap::new();
    for pid in wanted {
        let is_postgres = std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .is_ok_and(|c| c.trim() == "postgres");
        // A backend that ended meanwhile is left out.
        if is_postgres && let Ok(seconds) = process_cpu_seconds(pid) {
            cpu.insert(pid, seconds);
        }
    }
    Ok(cpu)
}

fn parent_pid(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// A size of a benchmark: `KAM_BENCH_<name>` when set, else `ci` when `CI` is set (a short
/// run for the CI machine), else `full`. Returns the size and where it came from.
pub fn bench_size(name: &str, full: usize, ci: usize) -> (usize, String) {
    let var = format!("KAM_BENCH_{name}");
    if let Some(n) = std::env::var(&var).ok().and_then(|v| v.parse().ok()) {
        return (n, var);
    }
    if std::env::var_os("CI").is_some() {
        (ci, format!("CI is set; {var} sets another"))
    } else {
        (full, format!("full size; {var} sets another"))
    }
}

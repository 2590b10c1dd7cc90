//! Helpers for end-to-end tests: build and start the real `kam-server` binary on loopback,
//! find its port, and stop it gracefully. Every wait is bounded; nothing sleeps to wait.

// Test harness: instants and durations from the wall clock and fixed timeouts, never input.
#![allow(clippy::arithmetic_side_effects)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub mod browser;
pub mod cluster;
pub mod contested;
pub mod crash;
pub mod deploy;
pub mod desk_figures;
pub mod hostile;
pub mod load;
pub mod proxy;
pub mod push_stream;
pub mod sim;
pub mod sync_figures;

/// Result type of the helpers.
pub type TestResult<T> = Result<T, Box<dyn std::error::Error>>;

/// The workspace root (this crate lives in `tests/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

/// Builds the server binary once per test process (a no-op when up to date) and returns its
/// path.
pub fn server_binary() -> TestResult<PathBuf> {
    static BUILT: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| build_server(false).map_err(|e| e.to_string())).clone().map_err(Into::into)
}

/// Builds the optimised server binary once per process, for benchmarks; or, when
/// `KAM_BENCH_SERVER` names a binary, that one. On a machine whose speed drifts, two builds
/// are compared by running the same benchmark on each in turn, not an hour apart.
pub fn release_server_binary() -> TestResult<PathBuf> {
    if let Some(binary) = std::env::var_os("KAM_BENCH_SERVER") {
        return Ok(PathBuf::from(binary));
    }
    static BUILT: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| build_server(true).map_err(|e| e.to_string())).clone().map_err(Into::into)
}

fn build_server(release: bool) -> TestResult<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(cargo);
    build.args(["build", "--quiet", "-p", "kam-server", "--bin", "kam-server"]);
    if release {
        build.arg("--release");
    }
    // Cargo sets the test crate's package variables for this process. Passed on, they would
    // make the nested build see kam-server's `CARGO_PKG_*` inputs as changed and recompile
    // it on every run (and again on the next ordinary build).
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        if key.starts_with("CARGO_PKG_")
            || key.starts_with("CARGO_MANIFEST_")
            || key == "CARGO_CRATE_NAME"
            || key == "CARGO_PRIMARY_PACKAGE"
        {
            build.env_remove(key);
        }
    }
    let status = build.current_dir(workspace_root()).status()?;
    if !status.success() {
        return Err(format!("building kam-server failed: {status}").into());
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    Ok(target.join(if release { "release" } else { "debug" }).join("kam-server"))
}

/// A running server process, stopped when dropped.
pub struct ServerProcess {
    child: Child,
    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub url: String,
    /// Lines the server printed on stdout before it listened.
    pub banner: Vec<String>,
    log: PathBuf,
}

impl ServerProcess {
    /// Starts `kam-server serve` with `args` plus `--listen 127.0.0.1:0`, and waits (at most
    /// `timeout`) for the line announcing its address.
    pub fn start(data_dir: &Path, extra_args: &[&str], timeout: Duration) -> TestResult<Self> {
        Self::start_binary(&server_binary()?, data_dir, extra_args, timeout)
    }

    /// Like [`ServerProcess::start`], with a given server binary.
    pub fn start_binary(
        binary: &Path,
        data_dir: &Path,
        extra_args: &[&str],
        timeout: Duration,
    ) -> TestResult<Self> {
        let mut child = Command::new(binary)
            .arg("serve")
            .arg("--data")
            .arg(data_dir)
            .args(["--listen", "127.0.0.1:0"])
            .args(extra_args)
            .stdout(Stdio::piped())
            // Kept in the data directory, so a failing test can show what the server said.
            .stderr(std::fs::File::create(data_dir.join("server.log"))?)
            .spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            // Keep draining after the banner: a closed pipe would kill the server on its next
            // line of output.
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + timeout;
        let mut banner = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match rx.recv_timeout(left) {
                Ok(line) => line,
                Err(_) => {
                    let _ = child.kill();
                    return Err(format!("server did not announce its address: {banner:?}").into());
                }
            };
            if let Some(rest) = line.strip_prefix("KAM server listening on ") {
                let url = rest.trim().to_owned();
                banner.push(line);
                return Ok(ServerProcess { child, url, banner, log: data_dir.join("server.log") });
            }
            banner.push(line);
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// CPU seconds (user plus system, all threads) the server has used so far, from
    /// `/proc/<pid>/stat` (Linux).
    pub fn cpu_seconds(&self) -> TestResult<f64> {
        process_cpu_seconds(self.child.id())
    }

    /// Kills the server at once (SIGKILL), as a power cut or an OOM kill would, and reaps it.
    pub fn kill(mut self) -> TestResult<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }

    /// Asks the server to stop (SIGTERM) and waits at most `timeout` for a clean exit.
    pub fn stop(mut self, timeout: Duration) -> TestResult<std::process::ExitStatus> {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status()?;
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                return Err("server did not stop in time".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // A failing test shows the end of what the server logged.
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            eprintln!("--- server log (last lines) ---");
            for line in tail.iter().rev() {
                eprintln!("{line}");
            }
        }
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs `kam-server admin --data DIR <args>` and returns its standard output.
pub fn admin(data_dir: &Path, args: &[&str]) -> TestResult<String> {
    admin_with(&server_binary()?, data_dir, args)
}

/// [`admin`] with a given server binary (a benchmark's release build).
pub fn admin_with(binary: &Path, data_dir: &Path, args: &[&str]) -> TestResult<String> {
    let output = Command::new(binary)
        .arg("admin")
        .arg("--data")
        .arg(data_dir)
        .args(args)
        .stderr(Stdio::inherit())
        .output()?;
    if !output.status.success() {
        return Err(format!("admin {args:?} failed: {}", output.status).into());
    }
    Ok(String::from_utf8(output.stdout)?)
}

/// Runs `kam-server admin --data <dir> <args>` with `input` on its standard input (a password
/// is read from there, never from the command line).
pub fn admin_with_input(data_dir: &Path, args: &[&str], input: &str) -> TestResult<String> {
    use std::io::Write;
    let mut child = Command::new(server_binary()?)
        .arg("admin")
        .arg("--data")
        .arg(data_dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input.as_bytes())?;
    }
    let output = child.wait_with_output()?;
    if !output.status.success() {
        return Err(format!("admin {args:?} failed: {}", output.status).into());
    }
    Ok(String::from_utf8(output.stdout)?)
}

/// Enrols a new device for `user` and returns its token.
pub fn enroll(data_dir: &Path, user: &str) -> TestResult<(String, String)> {
    let out = admin(data_dir, &["enroll", user])?;
    let field = |name: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(name).map(str::trim).map(str::to_owned))
            .ok_or_else(|| format!("no {name} in {out}"))
    };
    Ok((field("device ")?, field("token ")?))
}

/// A tablet: a real kam-core replica in its own file, syncing over HTTP.
pub struct Tablet {
    /// The replica.
    pub replica: kam_core::replica::Replica,
    /// Its transport to the server.
    pub transport: kam_core::sync_client::http::HttpTransport,
    /// The identity under which the replica keeps the server's cursor, when it should not be
    /// the URL: a test's server restarted on the same data listens on a new port, where a
    /// real one keeps its address (and its tablets their cursors).
    pub server_id: Option<String>,
    token: String,
    _dir: tempfile::TempDir,
}

/// The server behind `inner` under the identity `id` (see [`Tablet::server_id`]).
pub struct NamedServer<'a> {
    /// The transport that reaches the server.
    pub inner: &'a dyn kam_core::sync_client::SyncTransport,
    /// The server's identity.
    pub id: String,
}

impl kam_core::sync_client::SyncTransport for NamedServer<'_> {
    fn exchange(&self, request: &[u8]) -> Result<Vec<u8>, kam_core::sync_client::TransportError> {
        self.inner.exchange(request)
    }

    fn server_id(&self) -> String {
        self.id.clone()
    }
}

impl Tablet {
    /// A fresh tablet for the device holding `token`. Its requests name its replica's
    /// installation, so the token's device is bound to this tablet at its first sync: a second
    /// tablet needs a device of its own ([`enroll`]).
    pub fn new(url: &str, token: &str) -> TestResult<Tablet> {
        let dir = tempfile::tempdir()?;
        let replica = kam_core::replica::Replica::open(
            dir.path().join("tablet.sqlite3"),
            kam_core::replica::ReplicaOptions::default(),
        )?;
        // As an app does: the transport names the replica's installation (ADR 0022), so two
        // tablets on one token are refused instead of silently diverging.
        let transport = kam_core::sync_client::http::HttpTransport::new(url, token)
            .with_installation(replica.installation_id());
        Ok(Tablet { replica, transport, server_id: None, token: token.to_owned(), _dir: dir })
    }

    /// Sends this tablet's next rounds to `url`: another node of the same company (several
    /// nodes over one database are one server, so the cursor stays under
    /// [`Tablet::server_id`], which the caller sets to one name for all of them).
    pub fn through(&mut self, url: &str) {
        self.transport = kam_core::sync_client::http::HttpTransport::new(url, &self.token)
            .with_installation(self.replica.installation_id());
    }

    /// A tablet whose replica lives in memory (for simulations of many devices).
    pub fn in_memory(url: &str, token: &str) -> TestResult<Tablet> {
        let dir = tempfile::tempdir()?;
        let replica = kam_core::replica::Replica::open(
            ":memory:",
            kam_core::replica::ReplicaOptions::default(),
        )?;
        // As an app does: the transport names the replica's installation (ADR 0022), so two
        // tablets on one token are refused instead of silently diverging.
        let transport = kam_core::sync_client::http::HttpTransport::new(url, token)
            .with_installation(replica.installation_id());
        Ok(Tablet { replica, transport, server_id: None, token: token.to_owned(), _dir: dir })
    }

    /// Syncs until quiet.
    pub fn sync(
        &mut self,
    ) -> Result<kam_core::sync_client::SyncReport, kam_core::sync_client::SyncError> {
        let options = kam_core::sync_client::SyncOptions {
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(100),
            max_attempts: 4,
            ..Default::default()
        };
        let named = self
            .server_id
            .as_ref()
            .map(|id| NamedServer { inner: &self.transport, id: id.clone() });
        let transport: &dyn kam_core::sync_client::SyncTransport = match &named {
            Some(named) => named,
            None => &self.transport,
        };
        kam_core::sync_client::sync_now(&mut self.replica, transport, &options, &mut |_| {})
    }
}

/// Polls `check` every 20 ms until it returns `Some`, for at most `limit`; panics naming
/// `what` when the limit passes (a bounded wait, never a sleep standing for one).
pub fn until<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// GETs `url` and returns the status and JSON body.
pub fn get_json(url: &str) -> TestResult<(u16, serde_json::Value)> {
    let agent: ureq::Agent =
        ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut response = agent.get(url).call()?;
    let status = response.status().as_u16();
    let body = response.body_mut().read_json().unwrap_or(serde_json::Value::Null);
    Ok((status, body))
}

/// GETs `url` with a bearer token and returns the status and JSON body.
pub fn get_json_with_token(url: &str, token: &str) -> TestResult<(u16, serde_json::Value)> {
    let agent: ureq::Agent =
        ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut response = agent.get(url).header("Authorization", &format!("Bearer {token}")).call()?;
    let status = response.status().as_u16();
    let body = response.body_mut().read_json().unwrap_or(serde_json::Value::Null);
    Ok((status, body))
}

/// Waits, polling the summary within a bound, until the server's projector has caught up
/// with every stored document, so its relational rows can be read.
pub fn wait_for_projections(url: &str) -> TestResult<()> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (status, summary) = get_json(&format!("{url}/api/v1/summary"))?;
        if status == 200 && summary["projection_pending"] == 0 {
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            return Err(format!("projections still pending after 30 s: {summary}").into());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Adds an account manager's visit record, dated today, to customer `customer` as `user`: the
/// everyday offline edit of a rep, used by the tests and the benchmark alike.
pub fn add_visit(
    replica: &mut kam_core::replica::Replica,
    user: &str,
    customer: &kam_core::model::CustomerId,
    topic: &str,
) -> Result<(), kam_core::replica::ReplicaError> {
    use kam_core::doc::{CustomerEdit, EditMeta};
    use kam_core::model::{UserId, VisitId, VisitLevel, VisitRecord};
    let now = chrono::Utc::now();
    let visit = VisitRecord {
        id: VisitId::new(),
        level: VisitLevel::AccountManager,
        date: now.date_naive(),
        visitor: UserId::from(user),
        topics: vec![topic.to_owned()],
        personnel_changes: String::new(),
        problems: String::new(),
        demand: String::new(),
        competitor_activity: String::new(),
    };
    let edit = CustomerEdit::UpsertVisit(visit);
    replica.edit_customer(customer, &edit, &EditMeta::new(&UserId::from(user), now, edit.action()))
}

/// `serve` arguments for a demo venue: 60 units allotted to the event, 200 buyers listed.
pub const VENUE_DEMO: &[&str] = &[
    "--demo",
    "--demo-customers",
    "10",
    "--demo-tickets",
    "10",
    "--demo-units",
    "60",
    "--demo-buyers",
    "200",
];

/// `serve` arguments that lift the per-caller rate limits, for the load benchmarks and the
/// crash harness. They drive one token (or one address) far past what one tablet or console
/// sends — hundreds of connections of `staff-01`, a thousand devices from 127.0.0.1 — to
/// measure the server's capacity, not its limiter. Every other test runs with the defaults.
pub const LOAD_LIMITS: &[&str] = &[
    "--rate-per-token",
    "10000000",
    "--rate-per-user",
    "10000000",
    "--rate-per-address",
    "10000000",
    "--failed-auth-per-address",
    "10000000",
];

/// `base` followed by [`LOAD_LIMITS`].
pub fn with_load_limits(base: &[&'static str]) -> Vec<&'static str> {
    base.iter().chain(LOAD_LIMITS).copied().collect()
}

/// The seed of a randomised test: `KAM_SEED` when set (to replay a failure), otherwise the
/// clock. Printed, so every run can be replayed.
pub fn seed_from_env() -> u64 {
    let seed = std::env::var("KAM_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    });
    println!("seed {seed} (replay with KAM_SEED={seed})");
    seed
}

/// `serve` arguments for a small demo company (5 reps, 30 customers, 60 tickets, 40 units):
/// enough for every scope rule, quick to load.
pub const SMALL_DEMO: &[&str] =
    &["--demo", "--demo-customers", "30", "--demo-tickets", "60", "--demo-units", "40"];

/// Starts the real server on a small demo company in `dir`.
pub fn start_small_demo(dir: &Path) -> TestResult<ServerProcess> {
    ServerProcess::start(dir, SMALL_DEMO, Duration::from_secs(120))
}

/// The token `serve --demo` publishes for a demo user's device.
pub fn demo_token(user: &str) -> String {
    format!("kam_demo_{user}")
}

/// The customers `rep` owns in `replica`, from its index.
pub fn customers_of(
    replica: &kam_core::replica::Replica,
    rep: &str,
) -> Result<Vec<kam_core::model::CustomerId>, kam_core::replica::ReplicaError> {
    let rows = replica.my_customers_by_tier(&kam_core::model::UserId::from(rep))?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// The customers `rep` owns alone (strategic customers have a second owner).
pub fn sole_customers_of(
    replica: &mut kam_core::replica::Replica,
    rep: &str,
) -> Result<Vec<kam_core::model::CustomerId>, kam_core::replica::ReplicaError> {
    let only_rep = vec![kam_core::model::UserId::from(rep)];
    let mut sole = Vec::new();
    for id in customers_of(replica, rep)? {
        if replica.customer(&id)?.owners == only_rep {
            sole.push(id);
        }
    }
    Ok(sole)
}

/// A control table as [`DeskClient::control_table`] reads it: unit id → (status, buyer, hold).
pub type ControlTable =
    std::collections::BTreeMap<String, (String, serde_json::Value, serde_json::Value)>;

/// A client of the selection desk's command API, as a tablet at the venue is.
pub struct DeskClient {
    agent: ureq::Agent,
    url: String,
    token: String,
}

impl DeskClient {
    /// A client for `url` with a device `token`, keeping its connection alive.
    pub fn new(url: &str, token: &str) -> DeskClient {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        DeskClient { agent, url: url.to_owned(), token: token.to_owned() }
    }

    /// Sends `command` for `event` under `key`; returns the status and JSON answer.
    pub fn send(
        &self,
        key: &str,
        event: &str,
        command: &serde_json::Value,
    ) -> TestResult<(u16, serde_json::Value)> {
        let body =
            serde_json::json!({ "idempotency_key": key, "event_id": event, "command": command });
        let mut response = self
            .agent
            .post(&format!("{}/api/v1/desk/commands", self.url))
            .header("Authorization", &format!("Bearer {}", self.token))
            .send_json(&body)?;
        let status = response.status().as_u16();
        Ok((status, response.body_mut().read_json().unwrap_or(serde_json::Value::Null)))
    }

    /// The event's control table from the desk's API: unit id → (status, buyer, hold id).
    pub fn control_table(&self, event: &str) -> TestResult<ControlTable> {
        let (status, body) = self.get(&format!("/api/v1/events/{event}/desk"))?;
        if status != 200 {
            return Err(format!("control table of {event}: {status} {body}").into());
        }
        let units = body["units"].as_array().ok_or("no units in the control table")?;
        let mut table = ControlTable::new();
        for u in units {
            let id = u["unit_id"].as_str().ok_or("a unit without an id")?.to_owned();
            let state = u["status"].as_str().ok_or("a unit without a status")?.to_owned();
            table.insert(id, (state, u["buyer_id"].clone(), u["hold_id"].clone()));
        }
        Ok(table)
    }

    /// GETs `path` (e.g. `/api/v1/events/<id>/desk`) with this client's token.
    pub fn get(&self, path: &str) -> TestResult<(u16, serde_json::Value)> {
        let mut response = self
            .agent
            .get(&format!("{}{path}", self.url))
            .header("Authorization", &format!("Bearer {}", self.token))
            .call()?;
        let status = response.status().as_u16();
        Ok((status, response.body_mut().read_json().unwrap_or(serde_json::Value::Null)))
    }
}

/// The desk database of a server's data directory, opened read-only for checks.
pub fn desk_db(data_dir: &Path) -> TestResult<rusqlite::Connection> {
    Ok(rusqlite::Connection::open_with_flags(
        data_dir.join(kam_server::db::DESK_FILE),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?)
}

/// The open desk's event, its allotted units (ordered by id) and its buyers in lottery order.
pub fn desk_setup(data_dir: &Path) -> TestResult<(String, Vec<String>, Vec<String>)> {
    let db = desk_db(data_dir)?;
    let event: String = db.query_row("SELECT event_id FROM desk_events", [], |r| r.get(0))?;
    let column = |sql: &str| -> TestResult<Vec<String>> {
        let mut stmt = db.prepare(sql)?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    };
    let units = column("SELECT unit_id FROM desk_allotments ORDER BY unit_id")?;
    let buyers = column("SELECT buyer_id FROM desk_buyers ORDER BY lottery_no")?;
    Ok((event, units, buyers))
}

/// CPU seconds (user + system) that process `pid` has used so far; `std::process::id()` gives
/// this process's own, which for a benchmark is what its in-process devices used.
pub fn process_cpu_seconds(pid: u32) -> TestResult<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).ok_or("bad stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11).ok_or("no utime")?.parse::<f64>()?
        + fields.get(12).ok_or("no stime")?.parse::<f64>()?;
    // The kernel reports clock ticks; USER_HZ is 100 on every Linux this runs on.
    Ok(ticks / 100.0)
}

/// What a process holds, read from `/proc/<pid>` (Linux): the figures that show whether a
/// server's threads and memory grow with its clients.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProcessFigures {
    /// `Threads:` of `/proc/<pid>/status`.
    pub threads: u64,
    /// Entries of `/proc/<pid>/task`: the same figure counted by the kernel's task list.
    pub tasks: u64,
    /// `VmRSS:` of `/proc/<pid>/status`, in KiB.
    pub rss_kib: u64,
    /// Entries of `/proc/<pid>/fd`: open files and sockets.
    pub open_files: u64,
}

impl ProcessFigures {
    /// The resident set in MiB.
    pub fn rss_mib(&self) -> f64 {
        self.rss_kib as f64 / 1024.0
    }

    /// Each figure the larger of the two (for a peak over samples).
    pub fn max(self, other: ProcessFigures) -> ProcessFigures {
        ProcessFigures {
            threads: self.threads.max(other.threads),
            tasks: self.tasks.max(other.tasks),
            rss_kib: self.rss_kib.max(other.rss_kib),
            open_files: self.open_files.max(other.open_files),
        }
    }
}

/// Threads, resident memory and open files of process `pid` now.
pub fn process_figures(pid: u32) -> TestResult<ProcessFigures> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> TestResult<u64> {
        let line = status.lines().find_map(|l| l.strip_prefix(name)).ok_or("no such field")?;
        // `VmRSS:   41234 kB`: the number is the first word.
        Ok(line.split_whitespace().next().ok_or("empty field")?.parse()?)
    };
    let entries = |dir: &str| -> TestResult<u64> {
        Ok(std::fs::read_dir(format!("/proc/{pid}/{dir}"))?.count() as u64)
    };
    Ok(ProcessFigures {
        threads: field("Threads:")?,
        tasks: entries("task")?,
        rss_kib: field("VmRSS:")?,
        open_files: entries("fd")?,
    })
}

/// The soft and hard limits on open files of process `pid`, from `/proc/<pid>/limits`
/// (`None` where unlimited).
pub fn open_files_limits(pid: u32) -> TestResult<(Option<u64>, Option<u64>)> {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits"))?;
    let line = limits
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))
        .ok_or("no open-files limit")?;
    let mut words = line.split_whitespace();
    let mut next = || -> TestResult<Option<u64>> {
        match words.next().ok_or("short limits line")? {
            "unlimited" => Ok(None),
            n => Ok(Some(n.parse()?)),
        }
    };
    Ok((next()?, next()?))
}

/// The threads of process `pid`, counted by name (`/proc/<pid>/task/*/comm`). The kernel
/// keeps the first 15 bytes of a name, so tokio's workers and its blocking threads are all
/// `tokio-runtime-w`. A thread that ends while it is being read is left out.
pub fn thread_names(pid: u32) -> TestResult<std::collections::BTreeMap<String, u64>> {
    let mut names = std::collections::BTreeMap::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        if let Ok(name) = std::fs::read_to_string(task?.path().join("comm")) {
            *names.entry(name.trim().to_owned()).or_default() += 1;
        }
    }
    Ok(names)
}

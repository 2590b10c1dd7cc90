//! The sync figures of the benchmarks (`benches/sync.rs`, `benches/cluster.rs`), measured
//! against the release server on any backend ([`crate::deploy`]), with real kam-core
//! replicas as devices. Each prints its figures and returns them; each asserts correctness
//! (every edit acknowledged, convergence), never time.
//!
//! 1. [`first_download_and_edits`]: a rep's first download of the demo company (time, and
//!    bytes on the wire against the raw Automerge `save()` size of the same documents), then
//!    100 offline edits and one `sync_now`, five times.
//! 2. [`many_devices`]: simulated devices (10 per rep) making edits, synced until every
//!    device of a rep holds the same documents as the server: wall time and CPU seconds.
//!
//! With several nodes a device sends each sync to a node of its own choosing (round robin for
//! the first downloads and the edits, at random for the many devices) under one server
//! identity, as behind a load balancer.

// A benchmark panics on a broken setup; its figures are arithmetic on measurements.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)]

use std::cell::Cell;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use kam_core::demo::DemoSpec;
use kam_core::doc::DocKind;
use kam_core::replica::Replica;
use kam_core::sync_client::transport::{SyncTransport, TransportError};
use kam_core::sync_client::{SyncOptions, SyncReport, sync_now};
use kam_server::store::Store;

use crate::deploy::{Backend, CpuSpent, Deployment, Storage};
use crate::{NamedServer, Tablet, TestResult, add_visit, customers_of};

/// The server identity every bench tablet keeps its cursor under: the nodes of one company
/// are one server.
const SERVER_ID: &str = "bench";

/// Device tokens per rep.
pub type Tokens = Vec<(String, Vec<String>)>;

/// Loads the demo company `spec` into `store` and enrols `devices_per_rep` extra devices for
/// each rep. Returns the tokens per rep.
pub fn prepare(store: &mut Store, spec: &DemoSpec, devices_per_rep: usize) -> TestResult<Tokens> {
    kam_server::data::load_demo(store, spec, Utc::now())?;
    let tokens = store.transaction(|db| {
        let mut tokens = Vec::new();
        for rep in (1..=spec.reps).map(|i| format!("rep-{i:02}")) {
            let mut mine = Vec::new();
            for n in 0..devices_per_rep {
                let label = format!("bench {n}");
                mine.push(kam_server::auth::enroll_device(db, &rep, &label, Utc::now())?.token);
            }
            tokens.push((rep, mine));
        }
        Ok(tokens)
    })?;
    Ok(tokens)
}

/// Fresh storage for `backend` with `spec` loaded and `devices_per_rep` devices enrolled per
/// rep, its nodes started; `None` when the backend is not available here.
fn deploy(
    binary: &Path,
    backend: Backend,
    tag: &str,
    spec: &DemoSpec,
    devices_per_rep: usize,
) -> TestResult<Option<(Deployment, Tokens)>> {
    let Some(storage) = Storage::create(backend, tag)? else { return Ok(None) };
    let tokens = storage.with_store(|store| prepare(store, spec, devices_per_rep))?;
    let deployment = Deployment::start(binary, backend, storage, &[], crate::LOAD_LIMITS)?;
    Ok(Some((deployment, tokens)))
}

fn quick_retries() -> SyncOptions {
    SyncOptions {
        initial_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(200),
        ..SyncOptions::default()
    }
}

/// A tablet for `token` at `url`, keeping its cursor under the bench's one server identity.
fn tablet(url: &str, token: &str, in_memory: bool) -> TestResult<Tablet> {
    let mut tablet =
        if in_memory { Tablet::in_memory(url, token)? } else { Tablet::new(url, token)? };
    tablet.server_id = Some(SERVER_ID.to_owned());
    Ok(tablet)
}

/// One `sync_now` of `replica` through `transport` (its tablet's, or one timing it) under
/// the bench's server identity, counting batches into `batches`.
fn sync_through(
    replica: &mut Replica,
    transport: &dyn SyncTransport,
    batches: &mut u32,
) -> TestResult<SyncReport> {
    let named = NamedServer { inner: transport, id: SERVER_ID.to_owned() };
    Ok(sync_now(replica, &named, &quick_retries(), &mut |_| *batches += 1)?)
}

fn sync(tablet: &mut Tablet) -> SyncReport {
    sync_through(&mut tablet.replica, &tablet.transport, &mut 0).unwrap()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// What [`first_download_and_edits`] measured.
#[derive(Clone, Debug, Default)]
pub struct FirstDownload {
    /// Documents a rep downloads.
    pub documents: usize,
    /// The median first download, in seconds.
    pub seconds: f64,
    /// Bytes received by the last first download.
    pub bytes: u64,
    /// The raw Automerge `save()` size of the same documents.
    pub raw_bytes: usize,
    /// 100 offline edits then one sync, server cache cold: median ms.
    pub edits_cold_ms: f64,
    /// The same, warm: median ms.
    pub edits_warm_ms: f64,
}

/// A rep's first download of `DemoSpec::standard(1)` (three devices, the median), then five
/// runs of 100 offline edits and one sync. `None` when `backend` is not available here.
pub fn first_download_and_edits(
    binary: &Path,
    backend: Backend,
) -> TestResult<Option<FirstDownload>> {
    let spec = DemoSpec::standard(1);
    let started = Instant::now();
    // Three devices of rep-01, one per first download: a token belongs to one installation.
    let Some((deployment, tokens)) = deploy(binary, backend, "first_download", &spec, 3)? else {
        return Ok(None);
    };
    let urls = deployment.urls();
    let devices = tokens.first().map(|(_, mine)| mine.clone()).ok_or("no rep")?;
    let label = backend.label();
    println!(
        "[{label}] setup: demo company for one rep loaded in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let mut times = Vec::new();
    let mut last = None;
    for (n, token) in devices.iter().enumerate() {
        let mut tablet = tablet(&urls[n % urls.len()], token, false)?;
        let mut batches = 0;
        let started = Instant::now();
        let report = sync_through(&mut tablet.replica, &tablet.transport, &mut batches)?;
        times.push(started.elapsed().as_secs_f64());
        last = Some((tablet, report, batches));
    }
    let (mut tablet, report, batches) = last.ok_or("no run")?;
    let ids = tablet.replica.document_ids()?;
    let mut raw_bytes = 0usize;
    for id in &ids {
        raw_bytes += tablet.replica.save_document(id)?.len();
    }
    let kinds = |k: DocKind| ids.iter().filter(|i| i.kind() == k).count();
    println!(
        "[{label}] first download: {} documents ({} customers, {} tickets, {} project) in {:.3} s \
         median of 3 [{}] (goal <= 1 s); {} rounds",
        ids.len(),
        kinds(DocKind::Customer),
        kinds(DocKind::Ticket),
        kinds(DocKind::Project),
        median(times.clone()),
        times.iter().map(|t| format!("{t:.3}")).collect::<Vec<_>>().join(", "),
        batches
    );
    println!(
        "[{label}] first download bytes: {} received vs {} raw automerge save() = {:.2}x \
         (goal <= 1.5x)",
        report.bytes_received,
        raw_bytes,
        report.bytes_received as f64 / raw_bytes as f64
    );
    let (cold, warm) = hundred_edits(&mut tablet, &urls, &label)?;
    deployment.stop()?;
    Ok(Some(FirstDownload {
        documents: ids.len(),
        seconds: median(times),
        bytes: report.bytes_received,
        raw_bytes,
        edits_cold_ms: median(cold.iter().map(|r| r.0).collect()),
        edits_warm_ms: median(warm.iter().map(|r| r.0).collect()),
    }))
}

/// Five runs of 100 offline edits and one sync (through the nodes in turn): three on
/// customers the server has not loaded since it started (its document cache is cold for
/// them), then two on customers it holds in memory. Returns (total ms, HTTP exchange ms) of
/// the cold runs and of the warm ones.
#[allow(clippy::type_complexity)]
fn hundred_edits(
    tablet: &mut Tablet,
    urls: &[String],
    label: &str,
) -> TestResult<(Vec<(f64, f64)>, Vec<(f64, f64)>)> {
    let customers = customers_of(&tablet.replica, "rep-01")?;
    let mut cold = Vec::new();
    let mut warm = Vec::new();
    let mut last_report = None;
    for run in 0..5 {
        for i in 0..100 {
            let at = if run < 3 { run * 100 + i } else { i };
            let customer = &customers[at % customers.len()];
            add_visit(&mut tablet.replica, "rep-01", customer, &format!("bench visit {i}"))?;
        }
        tablet.through(&urls[run % urls.len()]);
        let transport = TimedTransport::new(&tablet.transport);
        let started = Instant::now();
        let report = sync_through(&mut tablet.replica, &transport, &mut 0)?;
        let total_ms = started.elapsed().as_secs_f64() * 1000.0;
        assert_eq!(tablet.replica.pending_push_count()?, 0, "every edit acknowledged");
        assert!(report.quiet);
        let exchange_ms = transport.total_ms();
        (if run < 3 { &mut cold } else { &mut warm }).push((total_ms, exchange_ms));
        last_report = Some(report);
    }
    let report = last_report.ok_or("no run")?;
    let show = |runs: &[(f64, f64)]| {
        let totals: Vec<f64> = runs.iter().map(|r| r.0).collect();
        let exchanges: Vec<f64> = runs.iter().map(|r| r.1).collect();
        format!(
            "{:.1} ms median [{}], of which HTTP exchanges {:.1} ms",
            median(totals.clone()),
            totals.iter().map(|t| format!("{t:.1}")).collect::<Vec<_>>().join(", "),
            median(exchanges)
        )
    };
    println!(
        "[{label}] 100 offline edits on 100 customers, sync round trip (goal <= 50 ms): server \
         cache cold {}; warm {}; {} rounds, {} bytes sent, {} received",
        show(&cold),
        show(&warm),
        report.rounds,
        report.bytes_sent,
        report.bytes_received
    );
    Ok((cold, warm))
}

/// A transport, timing its exchanges: the rest of a sync is the device's own work.
struct TimedTransport<'a> {
    inner: &'a dyn SyncTransport,
    spent: Cell<Duration>,
}

impl<'a> TimedTransport<'a> {
    fn new(inner: &'a dyn SyncTransport) -> Self {
        TimedTransport { inner, spent: Cell::new(Duration::ZERO) }
    }

    fn total_ms(&self) -> f64 {
        self.spent.get().as_secs_f64() * 1000.0
    }
}

impl SyncTransport for TimedTransport<'_> {
    fn exchange(&self, request: &[u8]) -> Result<Vec<u8>, TransportError> {
        let started = Instant::now();
        let answer = self.inner.exchange(request);
        self.spent.set(self.spent.get() + started.elapsed());
        answer
    }
}

/// Runs `work` on every tablet (with its index), spread over `threads` threads.
fn on_all(
    tablets: &mut [(String, Tablet)],
    threads: usize,
    work: impl Fn(usize, &str, &mut Tablet) -> u64 + Sync,
) -> u64 {
    let chunk = tablets.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = tablets
            .chunks_mut(chunk)
            .enumerate()
            .map(|(c, part)| {
                let work = &work;
                scope.spawn(move || {
                    part.iter_mut()
                        .enumerate()
                        .map(|(i, (rep, t))| work(c * chunk + i, rep, t))
                        .sum::<u64>()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    })
}

/// What [`many_devices`] measured.
#[derive(Clone, Debug, Default)]
pub struct ManyDevices {
    /// Devices.
    pub devices: usize,
    /// Edits in all.
    pub edits: usize,
    /// Seconds until every device had heard everything.
    pub seconds: f64,
    /// Passes over all devices.
    pub passes: usize,
    /// Sync rounds (HTTP exchanges) in those passes.
    pub rounds: u64,
    /// CPU seconds spent while they synced.
    pub cpu: CpuSpent,
}

/// A small demo company for `reps` reps (3 customers and 3 tickets each).
fn company_of(reps: usize) -> DemoSpec {
    DemoSpec {
        reps,
        customers: reps * 3,
        contacts_per_customer: 2,
        visits_per_customer: 4,
        tickets: reps * 3,
        units: 20,
        ..DemoSpec::standard(reps)
    }
}

/// `reps × devices_per_rep` devices making `edits` edits each, synced (each sync through a
/// node at random) until converged: wall time, passes, rounds and CPU seconds. `None` when
/// `backend` is not available here.
pub fn many_devices(
    binary: &Path,
    backend: Backend,
    reps: usize,
    devices_per_rep: usize,
    edits: usize,
) -> TestResult<Option<ManyDevices>> {
    let started = Instant::now();
    let spec = company_of(reps);
    let Some((deployment, tokens)) =
        deploy(binary, backend, "many_devices", &spec, devices_per_rep)?
    else {
        return Ok(None);
    };
    let urls = deployment.urls();
    let label = backend.label();
    let mut tablets: Vec<(String, Tablet)> = Vec::new();
    for (rep, rep_tokens) in &tokens {
        for token in rep_tokens {
            let url = &urls[tablets.len() % urls.len()];
            tablets.push((rep.clone(), tablet(url, token, true)?));
        }
    }
    on_all(&mut tablets, 8, |_, _, t| sync(t).snapshots_received);
    let devices = tablets.len();
    println!(
        "[{label}] setup: {devices} devices of {reps} reps enrolled and first-downloaded in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let edit_started = Instant::now();
    on_all(&mut tablets, 2, |_, rep, t| {
        let mine = customers_of(&t.replica, rep).unwrap();
        assert!(!mine.is_empty(), "{rep} owns customers");
        for i in 0..edits {
            add_visit(&mut t.replica, rep, &mine[i % mine.len()], &format!("bench visit {i}"))
                .unwrap();
        }
        edits as u64
    });
    let edit_s = edit_started.elapsed().as_secs_f64();

    let meter = deployment.cpu_meter()?;
    let started = Instant::now();
    let (passes, rounds) = converge(&mut tablets, &urls);
    let seconds = started.elapsed().as_secs_f64();
    let cpu = meter.spent()?;
    let checked = check_converged(&mut tablets, &urls[0])?;
    let (node_us, db_us) = cpu.per_op_us(rounds as f64);
    println!(
        "[{label}] {devices} devices x {edits} edits ({} edits, {edit_s:.2} s local): converged in \
         {seconds:.2} s over {passes} passes and {rounds} rounds (goal <= 10 s on 2 cores); \
         nodes' CPU {:.2} s, database's {}, devices' {:.2} s; per round: nodes {node_us:.0} us, \
         database {db_us:.0} us; {checked} device documents identical to the server's",
        devices * edits,
        cpu.nodes,
        cpu.database.map_or("none".to_owned(), |s| format!("{s:.2} s")),
        cpu.load
    );
    deployment.stop()?;
    Ok(Some(ManyDevices { devices, edits: devices * edits, seconds, passes, rounds, cpu }))
}

/// Passes of syncs over every tablet (each through a node at random) until a pass moves
/// nothing (at most 10); the passes and the sync rounds they took.
fn converge(tablets: &mut [(String, Tablet)], urls: &[String]) -> (usize, u64) {
    let mut passes = 0;
    let rounds = AtomicU64::new(0);
    loop {
        passes += 1;
        let moved = on_all(tablets, 16, |n, _, t| {
            if urls.len() > 1 {
                t.through(&urls[random_node(n, passes, urls.len())]);
            }
            let r = sync(t);
            rounds.fetch_add(u64::from(r.rounds), Ordering::Relaxed);
            r.messages_sent + r.messages_received + r.snapshots_received
        });
        // A pass in which no device sent or received anything leaves the server unchanged,
        // so every device has heard everything.
        if moved == 0 || passes == 10 {
            return (passes, rounds.into_inner());
        }
    }
}

/// A node for device `n` in pass `pass`, at random (the same for a given device and pass).
fn random_node(n: usize, pass: usize, nodes: usize) -> usize {
    let mut x = ((n as u64) << 20 | pass as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    (x % nodes as u64) as usize
}

/// Asserts every device of a rep holds exactly what the server holds (read by HQ's device
/// through `url`); returns the documents compared.
fn check_converged(tablets: &mut [(String, Tablet)], url: &str) -> TestResult<usize> {
    let mut checked = 0;
    let mut hq = tablet(url, "kam_demo_hq-01", false)?;
    sync(&mut hq);
    for (rep, t) in tablets {
        for id in t.replica.document_ids()? {
            assert_eq!(t.replica.heads(&id)?, hq.replica.heads(&id)?, "{id} on a device of {rep}");
            checked += 1;
        }
    }
    Ok(checked)
}

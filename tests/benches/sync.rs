//! Sync benchmarks against the real, optimised `kam-server` binary on 127.0.0.1, with real
//! kam-core replicas as devices. Prints figures; asserts only correctness (convergence), never
//! time.
//!
//! 1. A rep's first download of 300 customers, 2,000 tickets and a 3,000-unit project: time,
//!    and bytes on the wire against the raw Automerge `save()` size of the same documents.
//! 2. 100 offline edits, then one `sync_now`: the round trip.
//! 3. 1,000 simulated devices (10 per rep) making 10 edits each, synced until every device of
//!    a rep holds the same documents as the server: wall time and the server's CPU seconds.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)] // A benchmark may panic on a broken setup.

use std::cell::Cell;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::Utc;
use kam_core::demo::DemoSpec;
use kam_core::doc::DocKind;
use kam_core::sync_client::http::HttpTransport;
use kam_core::sync_client::transport::{SyncTransport, TransportError};
use kam_core::sync_client::{SyncOptions, SyncReport, sync_now};
use kam_tests::{
    ServerProcess, Tablet, TestResult, add_visit, customers_of, process_cpu_seconds,
    release_server_binary,
};

fn main() -> TestResult<()> {
    // Like libtest's filter: `cargo bench --bench sync -- devices` runs only the parts whose
    // name contains one of the arguments (arguments starting with `-` are cargo's own).
    let filters: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let wanted =
        |name: &str| filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()));
    let binary = release_server_binary()?;
    if wanted("first_download_and_edits") {
        first_download_and_edits(&binary)?;
    }
    if wanted("many_devices") {
        many_devices(&binary, 100, 10, 10)?;
    }
    Ok(())
}

/// Loads a demo company into `dir` and enrols `devices_per_rep` extra devices for each rep,
/// in this process, before any server runs on it. Returns the tokens per rep.
fn prepare(
    dir: &Path,
    spec: &DemoSpec,
    devices_per_rep: usize,
) -> TestResult<Vec<(String, Vec<String>)>> {
    let mut store = kam_server::data::open_store(dir)?;
    kam_server::data::load_demo(&mut store, spec, Utc::now())?;
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

fn quick_retries() -> SyncOptions {
    SyncOptions {
        initial_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(200),
        ..SyncOptions::default()
    }
}

fn sync(tablet: &mut Tablet) -> SyncReport {
    sync_now(&mut tablet.replica, &tablet.transport, &quick_retries(), &mut |_| {}).unwrap()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn first_download_and_edits(binary: &Path) -> TestResult<()> {
    let dir = tempfile::tempdir()?;
    let spec = DemoSpec::standard(1);
    let started = Instant::now();
    // Three devices of rep-01, one per first download: a token belongs to one installation.
    let tokens = prepare(dir.path(), &spec, 3)?;
    let devices = tokens.first().map(|(_, mine)| mine.clone()).ok_or("no rep")?;
    println!("setup: demo company for one rep loaded in {:.1} s", started.elapsed().as_secs_f64());
    let server = ServerProcess::start_binary(
        binary,
        dir.path(),
        kam_tests::LOAD_LIMITS,
        Duration::from_secs(120),
    )?;
    let mut times = Vec::new();
    let mut last = None;
    for token in &devices {
        let mut tablet = Tablet::new(&server.url, token)?;
        let mut batches = 0;
        let started = Instant::now();
        let report =
            sync_now(&mut tablet.replica, &tablet.transport, &quick_retries(), &mut |_| {
                batches += 1
            })?;
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
        "first download: {} documents ({} customers, {} tickets, {} project) in {:.3} s median of 3 \
         [{}] (goal <= 1 s); {} rounds",
        ids.len(),
        kinds(DocKind::Customer),
        kinds(DocKind::Ticket),
        kinds(DocKind::Project),
        median(times.clone()),
        times.iter().map(|t| format!("{t:.3}")).collect::<Vec<_>>().join(", "),
        batches
    );
    println!(
        "first download bytes: {} received vs {} raw automerge save() = {:.2}x (goal <= 1.5x)",
        report.bytes_received,
        raw_bytes,
        report.bytes_received as f64 / raw_bytes as f64
    );

    let customers = customers_of(&tablet.replica, "rep-01")?;
    // Three runs on customers the server has not loaded since it started (its document cache
    // is cold for them), then two on customers it holds in memory.
    let mut cold = Vec::new();
    let mut warm = Vec::new();
    let mut last_report = None;
    for run in 0..5 {
        for i in 0..100 {
            let at = if run < 3 { run * 100 + i } else { i };
            add_visit(
                &mut tablet.replica,
                "rep-01",
                &customers[at % customers.len()],
                &format!("bench visit {i}"),
            )?;
        }
        let transport = TimedTransport::new(&tablet.transport);
        let started = Instant::now();
        let report = sync_now(&mut tablet.replica, &transport, &quick_retries(), &mut |_| {})?;
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
        "100 offline edits on 100 customers, sync round trip (goal <= 50 ms): server cache cold {}; \
         warm {}; {} rounds, {} bytes sent, {} received",
        show(&cold),
        show(&warm),
        report.rounds,
        report.bytes_sent,
        report.bytes_received
    );
    server.stop(Duration::from_secs(30))?;
    Ok(())
}

/// The HTTP transport, timing its exchanges: the rest of a sync is the device's own work.
struct TimedTransport<'a> {
    inner: &'a HttpTransport,
    spent: Cell<Duration>,
}

impl<'a> TimedTransport<'a> {
    fn new(inner: &'a HttpTransport) -> Self {
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

/// Runs `work` on every tablet, spread over `threads` threads.
fn on_all(
    tablets: &mut [(String, Tablet)],
    threads: usize,
    work: impl Fn(&str, &mut Tablet) -> u64 + Sync,
) -> u64 {
    let chunk = tablets.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = tablets
            .chunks_mut(chunk)
            .map(|part| scope.spawn(|| part.iter_mut().map(|(rep, t)| work(rep, t)).sum::<u64>()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    })
}

fn many_devices(
    binary: &Path,
    reps: usize,
    devices_per_rep: usize,
    edits: usize,
) -> TestResult<()> {
    let dir = tempfile::tempdir()?;
    let spec = DemoSpec {
        reps,
        customers: reps * 3,
        contacts_per_customer: 2,
        visits_per_customer: 4,
        tickets: reps * 3,
        units: 20,
        ..DemoSpec::standard(reps)
    };
    let started = Instant::now();
    let tokens = prepare(dir.path(), &spec, devices_per_rep)?;
    let server = ServerProcess::start_binary(
        binary,
        dir.path(),
        kam_tests::LOAD_LIMITS,
        Duration::from_secs(120),
    )?;
    let mut tablets: Vec<(String, Tablet)> = Vec::new();
    for (rep, rep_tokens) in &tokens {
        for token in rep_tokens {
            tablets.push((rep.clone(), Tablet::in_memory(&server.url, token)?));
        }
    }
    on_all(&mut tablets, 8, |_, t| sync(t).snapshots_received);
    let devices = tablets.len();
    println!(
        "setup: {devices} devices of {reps} reps enrolled and first-downloaded in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let edit_started = Instant::now();
    on_all(&mut tablets, 2, |rep, t| {
        let mine = customers_of(&t.replica, rep).unwrap();
        assert!(!mine.is_empty(), "{rep} owns customers");
        for i in 0..edits {
            add_visit(&mut t.replica, rep, &mine[i % mine.len()], &format!("bench visit {i}"))
                .unwrap();
        }
        edits as u64
    });
    let edit_s = edit_started.elapsed().as_secs_f64();

    let cpu_before = server.cpu_seconds()?;
    let devices_cpu_before = process_cpu_seconds(std::process::id())?;
    let started = Instant::now();
    let mut passes = 0;
    let rounds = std::sync::atomic::AtomicU64::new(0);
    loop {
        passes += 1;
        let moved = on_all(&mut tablets, 16, |_, t| {
            let r = sync(t);
            rounds.fetch_add(u64::from(r.rounds), std::sync::atomic::Ordering::Relaxed);
            r.messages_sent + r.messages_received + r.snapshots_received
        });
        // A pass in which no device sent or received anything leaves the server unchanged,
        // so every device has heard everything.
        if moved == 0 || passes == 10 {
            break;
        }
    }
    let rounds = rounds.into_inner();
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = server.cpu_seconds()? - cpu_before;
    let devices_cpu = process_cpu_seconds(std::process::id())? - devices_cpu_before;

    // Every device of a rep holds exactly what the server holds.
    let mut checked = 0;
    let mut hq = Tablet::new(&server.url, "kam_demo_hq-01")?;
    sync(&mut hq);
    for (rep, t) in &mut tablets {
        for id in t.replica.document_ids()? {
            assert_eq!(t.replica.heads(&id)?, hq.replica.heads(&id)?, "{id} on a device of {rep}");
            checked += 1;
        }
    }
    println!(
        "{devices} devices x {edits} edits ({} edits, {:.2} s local): converged in {elapsed:.2} s \
         over {passes} passes and {rounds} rounds (goal <= 10 s on 2 cores); server CPU {cpu:.2} s, devices' CPU {devices_cpu:.2} s; \
         {checked} device documents identical to the server's",
        devices * edits,
        edit_s
    );
    server.stop(Duration::from_secs(30))?;
    Ok(())
}

//! Sync benchmarks against the real, optimised `kam-server` binary on 127.0.0.1, with real
//! kam-core replicas as devices. Prints figures; asserts only correctness (convergence), never
//! time.
//!
//! 1. A rep's first download of 300 customers, 2,000 tickets and a 3,000-unit project: time,
//!    and bytes on the wire against the raw Automerge `save()` size of the same documents.
//! 2. 100 offline edits, then one `sync_now`: the round trip.
//! 3. 1,000 simulated devices (10 per rep) making 10 edits each, synced until every device of
//!    a rep holds the same documents as the server: wall time and the server's CPU seconds.

#![allow(clippy::unwrap_used, clippy::expect_used)] // A benchmark may panic on a broken setup.

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::Utc;
use kam_core::demo::DemoSpec;
use kam_core::doc::{CustomerEdit, DocKind, EditMeta};
use kam_core::model::{CustomerId, UserId, VisitId, VisitLevel, VisitRecord};
use kam_core::replica::Replica;
use kam_core::sync_client::{SyncOptions, SyncReport, sync_now};
use kam_tests::{ServerProcess, Tablet, TestResult, release_server_binary};

fn main() -> TestResult<()> {
    let binary = release_server_binary()?;
    first_download_and_edits(&binary)?;
    many_devices(&binary, 100, 10, 10)?;
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
    let conn = store.conn();
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let mut tokens = Vec::new();
    for rep in (1..=spec.reps).map(|i| format!("rep-{i:02}")) {
        let mut mine = Vec::new();
        for n in 0..devices_per_rep {
            mine.push(
                kam_server::auth::enroll_device(conn, &rep, &format!("bench {n}"), Utc::now())?
                    .token,
            );
        }
        tokens.push((rep, mine));
    }
    conn.execute_batch("COMMIT")?;
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
    prepare(dir.path(), &spec, 0)?;
    println!("setup: demo company for one rep loaded in {:.1} s", started.elapsed().as_secs_f64());
    let server = ServerProcess::start_binary(binary, dir.path(), &[], Duration::from_secs(120))?;
    let token = "kam_demo_rep-01";

    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..3 {
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

    let customers: Vec<CustomerId> = tablet
        .replica
        .my_customers_by_tier(&UserId::from("rep-01"))?
        .into_iter()
        .map(|r| r.id)
        .collect();
    let mut round_trips = Vec::new();
    for run in 0..5 {
        for i in 0..100 {
            add_visit(
                &mut tablet.replica,
                "rep-01",
                &customers[(run * 100 + i) % customers.len()],
                i,
            )?;
        }
        let started = Instant::now();
        let report = sync(&mut tablet);
        round_trips.push(started.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(tablet.replica.pending_push_count()?, 0, "every edit acknowledged");
        assert!(report.quiet);
    }
    println!(
        "100 offline edits on 100 customers, sync round trip: {:.1} ms median of 5 [{}] (goal <= 50 ms)",
        median(round_trips.clone()),
        round_trips.iter().map(|t| format!("{t:.1}")).collect::<Vec<_>>().join(", ")
    );
    server.stop(Duration::from_secs(30))?;
    Ok(())
}

fn add_visit(replica: &mut Replica, user: &str, customer: &CustomerId, n: usize) -> TestResult<()> {
    let visit = VisitRecord {
        id: VisitId::new(),
        level: VisitLevel::AccountManager,
        date: Utc::now().date_naive(),
        visitor: UserId::from(user),
        topics: vec![format!("bench visit {n}")],
        personnel_changes: String::new(),
        problems: String::new(),
        demand: String::new(),
        competitor_activity: String::new(),
    };
    let edit = CustomerEdit::UpsertVisit(visit);
    replica.edit_customer(
        customer,
        &edit,
        &EditMeta::new(&UserId::from(user), Utc::now(), edit.action()),
    )?;
    Ok(())
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
    let server = ServerProcess::start_binary(binary, dir.path(), &[], Duration::from_secs(120))?;
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
        let mine: Vec<CustomerId> = t
            .replica
            .my_customers_by_tier(&UserId::from(rep))
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .filter(|id| t.replica.customer(id).unwrap().owners == vec![UserId::from(rep)])
            .collect();
        for i in 0..edits {
            add_visit(&mut t.replica, rep, &mine[i % mine.len()], i).unwrap();
        }
        edits as u64
    });
    let edit_s = edit_started.elapsed().as_secs_f64();

    let cpu_before = server.cpu_seconds()?;
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
         over {passes} passes and {rounds} rounds (goal <= 10 s on 2 cores); server CPU {cpu:.2} s; \
         {checked} device documents identical to the server's",
        devices * edits,
        edit_s
    );
    server.stop(Duration::from_secs(30))?;
    Ok(())
}

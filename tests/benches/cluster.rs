//! The server past one machine (issue 24, ADR 0024): the sync and desk figures of
//! `benches/sync.rs` and `benches/desk.rs` — the same measuring code, `kam_tests::sync_figures`
//! and `kam_tests::desk_figures` — on the embedded SQLite files, on PostgreSQL with one node
//! and with three nodes (devices and desk clients spread over the nodes), side by side, in one
//! run against the release server binary. Prints figures; asserts only correctness
//! (convergence, no unit held twice), never time.
//!
//! 1. Sync: a rep's first download of the demo (time, bytes), 100 offline edits then one sync,
//!    N devices (10 per rep, 10 edits each) synced until converged (wall time, CPU).
//! 2. Desk: a burst of hold requests for the event's 500 units from 500 connections, then 500
//!    clients contesting the units (commands/s, p50/p99).
//! 3. The PostgreSQL ceiling: the same hold and release as raw statements from this process
//!    (tokio-postgres, one conditional `UPDATE` per command, autocommit,
//!    `synchronous_commit` on) at 64 and 500 clients, and the desk's rate as a share of it.
//! 4. CPU per command: the nodes' and the database's CPU (PostgreSQL's processes for this
//!    database, counted while the nodes run) per desk command and per sync round, so the
//!    figures can be projected to more cores.
//!
//! Sizes: N devices 1,000 and a burst of 10,000 requests; 200 and 2,000 when `CI` is set;
//! `KAM_BENCH_CLUSTER_DEVICES` and `KAM_BENCH_CLUSTER_BURST` set others. Without
//! `KAM_TEST_POSTGRES_URL` the PostgreSQL columns print "skipped" (with
//! `KAM_TEST_POSTGRES_REQUIRED=1` the run fails instead).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)] // A benchmark may panic on a broken setup.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kam_tests::cluster::{TestDatabase, server_url};
use kam_tests::deploy::{Backend, CpuMeter, DatabaseWork, bench_size};
use kam_tests::desk_figures::{self, Burst, ContestedFigures};
use kam_tests::load::{Contested, percentile, runtime, timed_run};
use kam_tests::sync_figures::{FirstDownload, ManyDevices, first_download_and_edits, many_devices};
use kam_tests::{TestResult, release_server_binary};

/// Desk clients in the contested run (and connections of the burst).
const CLIENTS: usize = 500;
/// How long each contested run lasts.
const RUN: Duration = Duration::from_secs(5);
/// Units of the raw table (as the demo event allots).
const RAW_UNITS: usize = 500;

/// Every figure of one backend; `None` where it did not run.
#[derive(Default)]
struct Column {
    first: Option<FirstDownload>,
    devices: Option<ManyDevices>,
    burst: Option<Burst>,
    contested: Option<ContestedFigures>,
}

fn main() -> TestResult<()> {
    let started = Instant::now();
    let binary = release_server_binary()?;
    let postgres = server_url()?;
    let (devices, devices_why) = bench_size("CLUSTER_DEVICES", 1_000, 200);
    let (burst_size, burst_why) = bench_size("CLUSTER_BURST", 10_000, 2_000);
    let reps = (devices / 10).max(1);
    println!(
        "sizes: {} devices ({devices_why}); burst of {burst_size} requests ({burst_why}); \
         contested {CLIENTS} clients for {} s; raw ceiling at 64 and {CLIENTS} clients",
        reps * 10,
        RUN.as_secs()
    );
    let mut columns: Vec<(Backend, Column)> = Vec::new();
    for backend in Backend::COMPARED {
        if backend != Backend::Sqlite && postgres.is_none() {
            columns.push((backend, Column::default()));
            continue;
        }
        let mut column = Column {
            first: first_download_and_edits(&binary, backend)?,
            devices: many_devices(&binary, backend, reps, 10, 10)?,
            ..Column::default()
        };
        if let Some(site) = desk_figures::start(&binary, backend, burst_size)? {
            column.burst = Some(desk_figures::burst(&site, burst_size, CLIENTS));
            desk_figures::release_all(&site);
            column.contested = Some(desk_figures::contested(&site, CLIENTS, RUN)?);
            site.deployment.stop()?;
        }
        columns.push((backend, column));
    }
    let raw = match postgres {
        Some(_) => Some((raw_ceiling(64)?, raw_ceiling(CLIENTS)?)),
        None => None,
    };
    print_table(&columns, reps * 10);
    print_ratios(&columns, raw.as_ref());
    println!("cluster bench: {:.0} s in all", started.elapsed().as_secs_f64());
    Ok(())
}

/// What the raw statements reached.
struct Raw {
    clients: usize,
    connections: usize,
    rate: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// Connections this process may still open on the test server, leaving a margin for the
/// other tests sharing it.
fn free_connections(database: &TestDatabase) -> TestResult<usize> {
    let free = database.query(
        "SELECT current_setting('max_connections')::int
                - (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')",
    )?;
    let free: usize = free.trim().parse()?;
    Ok(free.saturating_sub(20).max(1))
}

/// `clients` clients holding a random unit of a 500-unit table with a conditional `UPDATE`
/// and, when they win, releasing it again with another, one statement per command, each its
/// own transaction, on their own connections (or, past the connections the server has free,
/// sharing them: each statement still commits alone). Commands per second.
fn raw_ceiling(clients: usize) -> TestResult<Raw> {
    let database = TestDatabase::create("raw")?.ok_or("no PostgreSQL")?;
    database.query(
        "CREATE TABLE raw_units (unit_id text PRIMARY KEY, status text NOT NULL, buyer_id text);
         INSERT INTO raw_units SELECT 'u' || n, 'available', NULL
         FROM generate_series(0, 499) AS n",
    )?;
    let connections = clients.min(free_connections(&database)?);
    let rt = runtime();
    let links = rt.block_on(connect_all(&database.url, connections))?;
    let meter = CpuMeter::start(Vec::new(), Some(&database.url))?;
    let work_before = DatabaseWork::read(&database.url)?;
    let (results, elapsed) = rt.block_on(timed_run(clients, RUN, |client, run| {
        let link = Arc::clone(&links[client % links.len()]);
        async move {
            let (db, hold, release) = &*link;
            let buyer = format!("b{client}");
            let mut rng = kam_tests::load::client_rng(client);
            let (mut latencies, mut won, mut lost) = (Vec::new(), 0u64, 0u64);
            run.connected().await;
            while run.running() {
                let unit = format!("u{}", rng.below(RAW_UNITS as u64));
                let sent = Instant::now();
                let changed = db.execute(hold, &[&unit, &buyer]).await.unwrap();
                latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
                if changed == 1 {
                    won += 1;
                    run.claim(&unit);
                    run.unclaim(&unit);
                    let sent = Instant::now();
                    let changed = db.execute(release, &[&unit, &buyer]).await.unwrap();
                    assert_eq!(changed, 1, "{unit} released by its holder");
                    latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
                } else {
                    lost += 1;
                }
            }
            (latencies, won, lost)
        }
    }));
    let cpu = meter.spent()?;
    let work = DatabaseWork::read(&database.url)?;
    let run = Contested::gather(results, elapsed);
    let commands = run.latencies.len();
    let (_, db_us) = cpu.per_op_us(commands as f64);
    let load_us = cpu.load * 1e6 / commands.max(1) as f64;
    let raw = Raw {
        clients,
        connections,
        rate: run.rate(),
        p50_ms: percentile(&run.latencies, 0.5),
        p99_ms: percentile(&run.latencies, 0.99),
    };
    println!(
        "raw PostgreSQL: {clients} clients on {connections} connections for {:.1} s: {commands} \
         conditional UPDATEs (hold, then release when won), {:.0}/s ({} won, {} lost); \
         latency p50 {:.2} ms, p99 {:.2} ms; CPU per command: database {db_us:.1} us, this \
         process {load_us:.1} us",
        run.elapsed, raw.rate, run.won, run.lost, raw.p50_ms, raw.p99_ms
    );
    println!(
        "raw PostgreSQL work per command (pg_stat_database, approximate): {}",
        work.per_op_since(&work_before, commands as f64)
    );
    drop(links);
    drop(rt);
    Ok(raw)
}

type Link = Arc<(tokio_postgres::Client, tokio_postgres::Statement, tokio_postgres::Statement)>;

/// `count` connections to `url`, each with the hold and the release prepared.
async fn connect_all(url: &str, count: usize) -> TestResult<Vec<Link>> {
    let mut links = Vec::new();
    for _ in 0..count {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                eprintln!("raw connection ended: {error}");
            }
        });
        let hold = client
            .prepare(
                "UPDATE raw_units SET status = 'held', buyer_id = $2
                 WHERE unit_id = $1 AND status = 'available'",
            )
            .await?;
        let release = client
            .prepare(
                "UPDATE raw_units SET status = 'available', buyer_id = NULL
                 WHERE unit_id = $1 AND status = 'held' AND buyer_id = $2",
            )
            .await?;
        links.push(Arc::new((client, hold, release)));
    }
    Ok(links)
}

const NAME_WIDTH: usize = 44;
const CELL_WIDTH: usize = 16;

/// One row of the table: `name`, then `cell` of each column ("skipped" where it is `None`).
fn row(columns: &[(Backend, Column)], name: &str, cell: impl Fn(&Column) -> Option<String>) {
    let mut line = format!("{name:<NAME_WIDTH$}");
    for (_, column) in columns {
        let text = cell(column).unwrap_or_else(|| "skipped".to_owned());
        line.push_str(&format!("{text:>CELL_WIDTH$}"));
    }
    println!("{line}");
}

/// The cell of a database figure on SQLite, whose database is part of the node's process.
fn in_node() -> String {
    "in node".to_owned()
}

/// Microseconds per operation of `seconds` over `ops`.
fn us(seconds: Option<f64>, ops: f64) -> Option<String> {
    seconds.map(|s| format!("{:.0}", s * 1e6 / ops.max(1.0)))
}

/// The figures side by side, one column per backend.
fn print_table(columns: &[(Backend, Column)], devices: usize) {
    let mut head = format!("{:<NAME_WIDTH$}", "");
    for (backend, _) in columns {
        head.push_str(&format!("{:>CELL_WIDTH$}", backend.label()));
    }
    println!("\n{head}");
    print_sync_rows(columns, devices);
    print_desk_rows(columns);
}

fn print_sync_rows(columns: &[(Backend, Column)], devices: usize) {
    let first = |c: &Column| c.first.clone();
    let many = |c: &Column| c.devices.clone();
    row(columns, "first download (s, median of 3)", |c| {
        first(c).map(|f| format!("{:.3}", f.seconds))
    });
    row(columns, "first download (bytes, x raw save())", |c| {
        first(c).map(|f| format!("{} {:.2}x", f.bytes, f.bytes as f64 / f.raw_bytes as f64))
    });
    row(columns, "100 edits + sync, cache cold (ms)", |c| {
        first(c).map(|f| format!("{:.1}", f.edits_cold_ms))
    });
    row(columns, "100 edits + sync, cache warm (ms)", |c| {
        first(c).map(|f| format!("{:.1}", f.edits_warm_ms))
    });
    row(columns, &format!("{devices} devices x 10 edits: converged (s)"), |c| {
        many(c).map(|d| format!("{:.2}", d.seconds))
    });
    row(columns, "  sync rounds", |c| many(c).map(|d| d.rounds.to_string()));
    row(columns, "  nodes' CPU (s)", |c| many(c).map(|d| format!("{:.2}", d.cpu.nodes)));
    row(columns, "  database's CPU (s)", |c| {
        many(c).map(|d| d.cpu.database.map_or_else(in_node, |s| format!("{s:.2}")))
    });
    row(columns, "  nodes' CPU per round (us)", |c| {
        many(c).and_then(|d| us(Some(d.cpu.nodes), d.rounds as f64))
    });
    row(columns, "  database's CPU per round (us)", |c| {
        many(c).map(|d| us(d.cpu.database, d.rounds as f64).unwrap_or_else(in_node))
    });
    row(columns, "  nodes' + database's CPU per edit (us)", |c| {
        many(c).and_then(|d| us(Some(d.cpu.nodes + d.cpu.database.unwrap_or(0.0)), d.edits as f64))
    });
}

fn print_desk_rows(columns: &[(Backend, Column)]) {
    let burst = |c: &Column| c.burst.clone();
    let contested = |c: &Column| c.contested.clone();
    row(columns, "desk burst: last answer (ms)", |c| burst(c).map(|b| format!("{:.0}", b.last_ms)));
    row(columns, "desk burst: p50 / p99 (ms)", |c| {
        burst(c).map(|b| format!("{:.0} / {:.0}", b.p50_ms, b.p99_ms))
    });
    row(columns, "desk burst: units held (of 500)", |c| burst(c).map(|b| b.held.to_string()));
    row(columns, &format!("desk contested, {CLIENTS} clients: commands/s"), |c| {
        contested(c).map(|f| format!("{:.0}", f.rate))
    });
    row(columns, "  p50 / p99 (ms)", |c| {
        contested(c).map(|f| format!("{:.1} / {:.1}", f.p50_ms, f.p99_ms))
    });
    row(columns, "  commands per group commit", |c| {
        contested(c).map(|f| format!("{:.1}", f.group_size))
    });
    row(columns, "  nodes' CPU per command (us)", |c| {
        contested(c).and_then(|f| us(Some(f.cpu.nodes), f.commands as f64))
    });
    row(columns, "  database's CPU per command (us)", |c| {
        contested(c).map(|f| us(f.cpu.database, f.commands as f64).unwrap_or_else(in_node))
    });
    row(columns, "  load generator's CPU per command (us)", |c| {
        contested(c).and_then(|f| us(Some(f.cpu.load), f.commands as f64))
    });
}

/// The desk's contested rate as a share of the raw ceiling, and what the CPU figures project.
fn print_ratios(columns: &[(Backend, Column)], raw: Option<&(Raw, Raw)>) {
    let Some((raw_64, raw_all)) = raw else {
        println!("\nraw PostgreSQL ceiling: skipped (no KAM_TEST_POSTGRES_URL)");
        return;
    };
    println!(
        "\nraw PostgreSQL ceiling (hold/release as one conditional UPDATE each, autocommit, \
         synchronous_commit on): {:.0}/s at {} clients, {:.0}/s at {} clients on {} connections",
        raw_64.rate, raw_64.clients, raw_all.rate, raw_all.clients, raw_all.connections
    );
    for (backend, column) in columns {
        let Some(contested) = &column.contested else { continue };
        if *backend == Backend::Sqlite {
            continue;
        }
        println!(
            "ratio {} desk ({CLIENTS} clients) / raw at {} clients: {:.2} ({:.0} / {:.0} commands/s)",
            backend.label(),
            raw_all.clients,
            contested.rate / raw_all.rate,
            contested.rate,
            raw_all.rate
        );
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let (nodes_us, db_us) = contested.cpu.per_op_us(contested.commands as f64);
        if nodes_us > 0.0 && db_us > 0.0 {
            println!(
                "  {}: {nodes_us:.0} us of node CPU and {db_us:.0} us of database CPU per command \
                 (measured on {cores} shared cores): a database machine's core serves about \
                 {:.0} commands/s, a node's core about {:.0}/s",
                backend.label(),
                1e6 / db_us,
                1e6 / nodes_us
            );
        }
    }
}

//! Selection-desk benchmark against the real, optimised `kam-server` binary on 127.0.0.1.
//! Prints figures; asserts only correctness (exactly one holder per unit), never time. The
//! burst and the contested run are `kam_tests::desk_figures`, which `benches/cluster.rs`
//! runs on PostgreSQL too.
//!
//! 1. A burst: 10,000 hold requests for the event's 500 units, released at once from 500
//!    connections. Every request's answer time from the release, and how many units ended
//!    held (exactly 500 is correct: each unit is asked for 20 times).
//! 2. Durable contested desk commands per second through the HTTP API at 500 concurrent
//!    clients: each client holds a random unit and, when it wins, releases it again, so units
//!    stay contested for the whole run. p50 and p99 latency per command. Every command carries
//!    a new idempotency key made the way a tablet's outbox makes one (a UUIDv7).
//! 3. The raw rusqlite rate of the same commands on the same machine, in this process: the
//!    desk's own schema and ledger code, the conditional update plus the hash-chained ledger
//!    insert, `synchronous=FULL`, committed in groups of the size the server formed in (2).
//!    The ratio of (2) to (3) is the price of HTTP, JSON, authentication, the rules and the
//!    stored answers (goal >= 0.30, p99 <= 50 ms).
//! 4. For scale, the answers per second the same load generator gets for a command the server
//!    refuses before any work (no token): what HTTP alone costs on this machine.
//! 5. The contested run of (2) once more after the server stopped, on its files, with the
//!    desk's writer in this process and no HTTP: what the desk alone costs.
//!
//! (2) and (4) also print the CPU time the server and the load generator spent per answer,
//! which shows where the two shared cores went (on a slow pass of the machine it grows too).
//! `KAM_BENCH_SERVER=path` runs another build of the server (to compare two in turn).

#![allow(clippy::unwrap_used, clippy::expect_used)] // A benchmark may panic on a broken setup.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use chrono::Utc;
use kam_core::Policy;
use kam_server::desk::Desk;
use kam_server::desk::ledger::{self, Cause};
use kam_tests::deploy::{Backend, Deployment, Storage};
use kam_tests::desk_figures::{self, burst, release_all};
use kam_tests::load::{
    CommandSink, LoadConn, contest, hold, percentile, runtime, sorted, timed_run,
};
use kam_tests::{TestResult, demo_token, process_cpu_seconds, release_server_binary};
use rusqlite::{TransactionBehavior, params};
use serde_json::{Value, json};

const CLIENTS: usize = 500;
const UNITS: usize = 500;
const BURST_REQUESTS: usize = 10_000;
const RUN: Duration = Duration::from_secs(5);

fn main() -> TestResult<()> {
    let binary = release_server_binary()?;
    let site = desk_figures::start(&binary, Backend::Sqlite, BURST_REQUESTS)?
        .ok_or("SQLite is always there")?;
    assert_eq!((site.units.len(), site.buyers.len()), (UNITS, BURST_REQUESTS));
    burst(&site, BURST_REQUESTS, CLIENTS);
    release_all(&site);
    let contested = desk_figures::contested(&site, CLIENTS, RUN)?;
    let dir = match &site.deployment.storage {
        Storage::Dir(dir) => dir.path().to_path_buf(),
        Storage::Database(_) => return Err("the desk bench runs on SQLite".into()),
    };
    let raw_rate = raw_group_commit(&dir, contested.group_size)?;
    println!("ratio HTTP / raw rusqlite: {:.2} (goal >= 0.30)", contested.rate / raw_rate);
    http_ceiling(&site.deployment, &site.event, raw_rate)?;
    let (event, units, buyers) = (site.event, site.units, site.buyers);
    let _storage = site.deployment.stop()?;
    desk_alone(&dir, &event, &units, &buyers)?;
    Ok(())
}

/// The desk's writer in this process, without HTTP: what the desk alone costs.
struct InProcess {
    desk: Desk,
    token: String,
}

impl CommandSink for InProcess {
    async fn send(&mut self, key: &str, event: &str, command: &Value) -> (u16, Value) {
        let request = json!({ "idempotency_key": key, "event_id": event, "command": command });
        let reply = self
            .desk
            .submit(
                kam_server::desk::Caller::Device(self.token.clone()),
                serde_json::from_value(request).unwrap(),
            )
            .await;
        (reply.status().as_u16(), serde_json::from_str(&reply.body).unwrap())
    }
}

/// For scale: the contested run again on the server's own files, after it stopped, with the
/// desk's writer in this process and no HTTP between it and the clients.
fn desk_alone(dir: &Path, event: &str, units: &[String], buyers: &[String]) -> TestResult<()> {
    // As in the server: checkpoints on a thread of their own, not inside the writer's commits.
    kam_server::db::checkpoint::spawn(
        vec![dir.join("kam-desk.sqlite3")],
        kam_server::health::Health::new().beat("checkpoint"),
    )?;
    let desk = Desk::start(
        &dir.join("kam-desk.sqlite3"),
        &dir.join("kam-server.sqlite3"),
        Policy::default(),
    )?;
    let (groups_before, commands_before) = {
        let stats = desk.stats();
        (stats.groups.load(Ordering::Relaxed), stats.commands.load(Ordering::Relaxed))
    };
    let cpu_before = process_cpu_seconds(std::process::id())?;
    let (results, elapsed) = runtime().block_on(timed_run(CLIENTS, RUN, |client, run| {
        let sink = InProcess { desk: desk.clone(), token: demo_token("staff-01") };
        let (event, buyer, units) = (event.to_owned(), buyers[client].clone(), units.to_vec());
        async move { contest(sink, client, run, &event, &units, &buyer).await }
    }));
    let cpu_us = (process_cpu_seconds(std::process::id())? - cpu_before) * 1e6;
    let latencies = sorted(results.into_iter().flat_map(|(latencies, _, _)| latencies).collect());
    let stats = desk.stats();
    let groups = stats.groups.load(Ordering::Relaxed) - groups_before;
    let commands = stats.commands.load(Ordering::Relaxed) - commands_before;
    println!(
        "desk alone: the same {CLIENTS} clients in this process, no HTTP: {:.0}/s, latency p50 {:.1} ms, \
         p99 {:.1} ms; {:.1} commands per group commit; {:.1} us of CPU per command",
        latencies.len() as f64 / elapsed,
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        commands as f64 / groups.max(1) as f64,
        cpu_us / latencies.len().max(1) as f64
    );
    Ok(())
}

/// For scale: how many answers per second the same load generator gets from the server for a
/// command refused before any work (no token: 401 from the handler, nothing reaches the desk).
fn http_ceiling(deployment: &Deployment, event: &str, raw_rate: f64) -> TestResult<()> {
    let url = deployment.urls()[0].clone();
    let url = url.as_str();
    let meter = deployment.cpu_meter()?;
    let (results, elapsed) = runtime().block_on(timed_run(CLIENTS, RUN, |client, run| {
        let (url, event) = (url.to_owned(), event.to_owned());
        async move {
            let mut conn = LoadConn::connect_as(&url, None).await;
            let command = hold("u", "b");
            run.connected().await;
            let mut answers = 0u64;
            while run.running() {
                let (status, _) = conn.send(&format!("ceiling-{client}"), &event, &command).await;
                assert_eq!(status, 401);
                answers += 1;
            }
            answers
        }
    }));
    let answers: u64 = results.into_iter().sum();
    let spent = meter.spent()?;
    let (server_us, _) = spent.per_op_us(answers as f64);
    let load_us = spent.load * 1e6 / answers.max(1) as f64;
    let rate = answers as f64 / elapsed;
    println!(
        "HTTP alone: {rate:.0} answers/s from {CLIENTS} clients for a command refused before any work \
         (no token); the 0.30 goal is {:.0} commands/s, {:.0}% of this",
        raw_rate * 0.30,
        100.0 * raw_rate * 0.30 / rate
    );
    println!("HTTP alone CPU: server {server_us:.1} us per answer, load generator {load_us:.1} us");
    // The load generator shares the cores with the server. Even a desk whose own work (rules,
    // stored answers, hold rows, the mirror) cost nothing would spend per command what HTTP
    // alone costs plus what the raw command costs: that bounds the rate these cores allow.
    let cores = std::thread::available_parallelism().map_or(1, usize::from) as f64;
    let raw_us = 1e6 / raw_rate;
    let bound = cores * 1e6 / (server_us + load_us + raw_us);
    println!(
        "bound: {cores:.0} cores / ({server_us:.1} + {load_us:.1} + {raw_us:.1} us of raw command) \
         = {bound:.0} commands/s at most over HTTP here, a ratio of {:.2}, for a desk that did \
         nothing but the raw command",
        bound / raw_rate
    );
    Ok(())
}

/// The same commands on raw rusqlite: a conditional update, and for a change the ledger
/// entry, in groups of `group_size` per `synchronous=FULL` commit.
fn raw_group_commit(dir: &Path, group_size: f64) -> TestResult<f64> {
    let path = dir.join("raw-baseline.sqlite3");
    let mut conn = kam_server::db::DeskFile::open(&path)?;
    {
        let tx = conn.transaction()?;
        for u in 0..UNITS {
            tx.execute(
                "INSERT INTO desk_units(project_id, unit_id, code, area_m2, unit_price, status)
                 VALUES ('p', ?1, ?1, '100', '20000', 'available')",
                [format!("u{u}")],
            )?;
        }
        tx.commit()?;
    }
    let group = group_size.round().max(1.0) as usize;
    let mut tip = ledger::tip(&*conn)?;
    // Each virtual client holds one unit at a time, as in the HTTP run.
    let mut holding: Vec<Option<usize>> = vec![None; CLIENTS];
    let mut rng: u64 = 0x2545_F491_4F6C_DD1D;
    let (mut commands, mut client) = (0usize, 0usize);
    let started = Instant::now();
    while started.elapsed() < RUN {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        for _ in 0..group {
            let now = Utc::now();
            let cause = Cause { actor: "bench", key: None, at: now };
            match holding[client].take() {
                Some(unit) => {
                    let unit_id = format!("u{unit}");
                    let changed = tx
                        .prepare_cached(
                            "UPDATE desk_units SET status = 'available', buyer_id = NULL
                             WHERE project_id = 'p' AND unit_id = ?1 AND status = 'held'",
                        )?
                        .execute([&unit_id])?;
                    if changed == 1 {
                        ledger::append(
                            &*tx,
                            &mut tip,
                            cause,
                            "e",
                            "release",
                            &json!({ "unit_id": unit_id }),
                        )?;
                    }
                }
                None => {
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    let unit = (rng % UNITS as u64) as usize;
                    let unit_id = format!("u{unit}");
                    let changed = tx
                        .prepare_cached(
                            "UPDATE desk_units SET status = 'held', buyer_id = ?2
                             WHERE project_id = 'p' AND unit_id = ?1 AND status = 'available'",
                        )?
                        .execute(params![unit_id, client.to_string()])?;
                    if changed == 1 {
                        ledger::append(
                            &*tx,
                            &mut tip,
                            cause,
                            "e",
                            "hold",
                            &json!({ "unit_id": unit_id }),
                        )?;
                        holding[client] = Some(unit);
                    }
                }
            }
            commands += 1;
            client = (client + 1) % CLIENTS;
        }
        tx.commit()?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let rate = commands as f64 / elapsed;
    println!(
        "raw rusqlite: {commands} of the same commands (conditional update + hash-chained ledger insert) \
         in groups of {group}, synchronous=FULL, in {elapsed:.1} s: {rate:.0}/s"
    );
    Ok(rate)
}

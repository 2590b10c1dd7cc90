//! The selection desk's figures of the benchmarks (`benches/desk.rs`, `benches/cluster.rs`),
//! measured against the release server on any backend ([`crate::deploy`]) with the load
//! generator of [`crate::load`]. Each prints its figures and returns them; each asserts
//! correctness (no unit held twice), never time. With several nodes, client `n` speaks to
//! node `n mod nodes`.

// A benchmark panics on a broken setup; its figures are arithmetic on measurements.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kam_core::desk::new_idempotency_key;
use serde_json::json;

use crate::deploy::{Backend, CpuSpent, DatabaseWork, Deployment, Storage};
use crate::load::{LoadConn, contested_over, desk_groups, hold, percentile, runtime, sorted};
use crate::{DeskClient, TestResult, demo_token};

/// A deployment serving the demo's open event, in free mode.
pub struct DeskSite {
    /// The running nodes.
    pub deployment: Deployment,
    /// The event.
    pub event: String,
    /// Its allotted units, by id.
    pub units: Vec<String>,
    /// Its listed buyers, in lottery order.
    pub buyers: Vec<String>,
}

/// Starts `backend` on a fresh demo whose event lists `buyers` buyers (and allots 500 of its
/// 3,000 units), and opens the event in free mode. `None` when `backend` is not available.
pub fn start(binary: &Path, backend: Backend, buyers: usize) -> TestResult<Option<DeskSite>> {
    let started = Instant::now();
    let Some(storage) = Storage::create(backend, "desk")? else { return Ok(None) };
    let buyers = buyers.to_string();
    let demo = [
        "--demo",
        "--demo-customers",
        "10",
        "--demo-tickets",
        "10",
        "--demo-units",
        "3000",
        "--demo-buyers",
        &buyers,
    ];
    let deployment = Deployment::start(binary, backend, storage, &demo, crate::LOAD_LIMITS)?;
    let (event, units, buyers) = deployment.storage.desk_setup()?;
    println!(
        "[{}] setup: event with {} allotted units and {} listed buyers served in {:.1} s",
        backend.label(),
        units.len(),
        buyers.len(),
        started.elapsed().as_secs_f64()
    );
    let staff = DeskClient::new(&deployment.urls()[0], &demo_token("staff-01"));
    let (status, answer) =
        staff.send("bench-free", &event, &json!({ "kind": "set_mode", "mode": "free" }))?;
    assert_eq!(status, 200, "{answer}");
    Ok(Some(DeskSite { deployment, event, units, buyers }))
}

/// What [`burst`] measured.
#[derive(Clone, Debug, Default)]
pub struct Burst {
    /// Requests answered.
    pub requests: usize,
    /// Holds accepted (exactly one per unit is correct).
    pub held: usize,
    /// The last answer, ms after the release.
    pub last_ms: f64,
    /// The median answer, ms after the release.
    pub p50_ms: f64,
    /// The 99th percentile.
    pub p99_ms: f64,
}

/// `requests` hold requests for the event's units (each unit asked for equally often, every
/// request for a buyer of its own) from `clients` connections released together.
pub fn burst(site: &DeskSite, requests: usize, clients: usize) -> Burst {
    let (urls, units, event) = (site.deployment.urls(), &site.units, &site.event);
    assert!(site.buyers.len() >= requests, "a listed buyer per request");
    let per_client = requests / clients;
    let (answered_ms, accepted, by_unit) = runtime().block_on(async {
        let barrier = Arc::new(tokio::sync::Barrier::new(clients));
        let mut tasks = tokio::task::JoinSet::new();
        for client in 0..clients {
            let barrier = Arc::clone(&barrier);
            let (url, event) = (urls[client % urls.len()].clone(), event.clone());
            let requests: Vec<(String, String)> = (0..per_client)
                .map(|j| {
                    let n = client * per_client + j;
                    (units[(client + j * clients) % units.len()].clone(), site.buyers[n].clone())
                })
                .collect();
            tasks.spawn(async move {
                // Connected before the release, as a tablet at the venue is.
                let mut conn = LoadConn::connect(&url, &demo_token("staff-01")).await;
                barrier.wait().await;
                let released = Instant::now();
                let mut out = Vec::new();
                for (unit, buyer) in requests {
                    let (status, answer) =
                        conn.send(&new_idempotency_key(), &event, &hold(&unit, &buyer)).await;
                    assert!(status == 200 || status == 409, "{status} {answer}");
                    out.push((released.elapsed().as_secs_f64() * 1000.0, status == 200, unit));
                }
                out
            });
        }
        let mut times = Vec::new();
        let mut accepted = 0;
        let mut by_unit: BTreeMap<String, usize> = BTreeMap::new();
        while let Some(done) = tasks.join_next().await {
            for (ms, ok, unit) in done.unwrap() {
                times.push(ms);
                if ok {
                    accepted += 1;
                    *by_unit.entry(unit).or_default() += 1;
                }
            }
        }
        (sorted(times), accepted, by_unit)
    });
    assert!(by_unit.values().all(|n| *n == 1), "a unit was held twice");
    let figures = Burst {
        requests: answered_ms.len(),
        held: accepted,
        last_ms: answered_ms.last().copied().unwrap_or_default(),
        p50_ms: percentile(&answered_ms, 0.5),
        p99_ms: percentile(&answered_ms, 0.99),
    };
    println!(
        "[{}] burst: {} hold requests for {} units released at once from {clients} connections: \
         last answer {:.0} ms after the release (goal <= 1000 ms), p50 {:.0} ms, p99 {:.0} ms; \
         {accepted} held (goal exactly {}), {} refused",
        site.deployment.backend.label(),
        figures.requests,
        units.len(),
        figures.last_ms,
        figures.p50_ms,
        figures.p99_ms,
        units.len(),
        figures.requests - accepted
    );
    figures
}

/// Releases every held unit (the holds the control table shows) so a contested run starts
/// from an open table.
pub fn release_all(site: &DeskSite) {
    let (url, event) = (&site.deployment.urls()[0], &site.event);
    let staff = DeskClient::new(url, &demo_token("staff-01"));
    let (_, table) = staff.get(&format!("/api/v1/events/{event}/desk")).unwrap();
    let held: Vec<(String, String)> = table["units"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["status"] == "held")
        .map(|u| {
            (u["unit_id"].as_str().unwrap().to_owned(), u["hold_id"].as_str().unwrap().to_owned())
        })
        .collect();
    runtime().block_on(async {
        let mut conn = LoadConn::connect(url, &demo_token("staff-01")).await;
        for (unit, hold_id) in held {
            let release = json!({ "kind": "release", "unit_id": unit, "hold_id": hold_id,
                                  "reason": "bench reset" });
            let (status, answer) = conn.send(&format!("reset-{unit}"), event, &release).await;
            assert!(status == 200 || status == 409, "{status} {answer}");
        }
    });
}

/// What [`contested`] measured.
#[derive(Clone, Debug, Default)]
pub struct ContestedFigures {
    /// Commands answered.
    pub commands: usize,
    /// Commands answered per second.
    pub rate: f64,
    /// Median latency, ms.
    pub p50_ms: f64,
    /// 99th percentile latency, ms.
    pub p99_ms: f64,
    /// Commands per group commit, over the nodes.
    pub group_size: f64,
    /// CPU seconds spent during the run.
    pub cpu: CpuSpent,
}

/// The desk's group-commit counters summed over `urls`.
fn groups_over(urls: &[String]) -> (f64, f64) {
    urls.iter().map(|u| desk_groups(u)).fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1))
}

/// `clients` clients holding random units and releasing what they win, for `run_for`.
pub fn contested(
    site: &DeskSite,
    clients: usize,
    run_for: Duration,
) -> TestResult<ContestedFigures> {
    let urls = site.deployment.urls();
    let token = demo_token("staff-01");
    let (groups_before, commands_before) = groups_over(&urls);
    let meter = site.deployment.cpu_meter()?;
    let database = site.deployment.database_url();
    let work_before = database.map(DatabaseWork::read).transpose()?;
    let run =
        contested_over(&urls, &token, &site.event, &site.units, &site.buyers, clients, run_for);
    let cpu = meter.spent()?;
    let work_after = database.map(DatabaseWork::read).transpose()?;
    let (groups_after, commands_after) = groups_over(&urls);
    let group_size = (commands_after - commands_before) / (groups_after - groups_before).max(1.0);
    let latencies = &run.latencies;
    let label = site.deployment.backend.label();
    let figures = ContestedFigures {
        commands: latencies.len(),
        rate: run.rate(),
        p50_ms: percentile(latencies, 0.5),
        p99_ms: percentile(latencies, 0.99),
        group_size,
        cpu,
    };
    println!(
        "[{label}] contested: {clients} clients for {:.1} s over HTTP: {} durable desk commands, \
         {:.0}/s ({} holds won and released, {} holds refused as taken); latency p50 {:.1} ms, \
         p99 {:.1} ms (goal <= 50 ms), max {:.1} ms; {:.1} commands per group commit",
        run.elapsed,
        figures.commands,
        figures.rate,
        run.won,
        run.lost,
        figures.p50_ms,
        figures.p99_ms,
        latencies.last().copied().unwrap_or_default(),
        group_size
    );
    let (nodes_us, db_us) = cpu.per_op_us(figures.commands as f64);
    let load_us = cpu.load * 1e6 / figures.commands.max(1) as f64;
    let database = match cpu.database {
        Some(_) => format!(", database {db_us:.1} us"),
        None => String::new(),
    };
    println!(
        "[{label}] contested CPU: server {nodes_us:.1} us per desk command{database}, load \
         generator {load_us:.1} us"
    );
    if let (Some(before), Some(after)) = (work_before, work_after) {
        println!(
            "[{label}] contested database work per desk command (pg_stat_database, approximate): \
             {}",
            after.per_op_since(&before, figures.commands as f64)
        );
    }
    Ok(figures)
}

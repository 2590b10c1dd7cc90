//! The crash harness: load on the real server binary, `kill -9` at a random moment, restart,
//! and check that nothing acknowledged was lost and both database files are intact.
//!
//! Each cycle runs desk clients (holds and releases under fresh keys) and a rep's tablet
//! (visits, synced) against the server, kills it after a seeded random delay, restarts it on
//! the same data directory and then checks:
//!
//! * every desk command that was answered before the kill is answered again, identically,
//!   from the stored answer (a lost acknowledgement would get a fresh, different answer or
//!   none);
//! * every sync round the tablet completed before the kill is in the server's document (its
//!   heads are part of the document the server serves after the restart);
//! * the desk ledger's hash chain verifies, and `PRAGMA integrity_check` is `ok` on both files.
//!
//! On PostgreSQL (`run_on` with a database URL, ADR 0024) the server is a node over the
//! database: the kill is a node's, the restart a new node on the same database, and the checks
//! are the same less SQLite's `integrity_check` (PostgreSQL's own recovery is not under test).

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::{
    DeskClient, ServerProcess, Tablet, TestResult, VENUE_DEMO, add_visit, customers_of, demo_token,
    desk_setup, with_load_limits,
};

/// Desk clients per cycle.
const DESK_CLIENTS: usize = 6;

/// What a crash run found.
#[derive(Clone, Debug, Default)]
pub struct CrashReport {
    /// Kill/restart cycles run.
    pub cycles: u32,
    /// Desk commands answered before a kill.
    pub acked_commands: u64,
    /// Desk commands whose answer never arrived (the kill cut them off).
    pub unanswered_commands: u64,
    /// Answered commands answered differently (or not at all) after the restart.
    pub lost_acked_commands: u64,
    /// Sync rounds completed before a kill.
    pub acked_rounds: u64,
    /// Completed rounds whose changes the restarted server did not have.
    pub lost_acked_rounds: u64,
    /// Integrity checks and ledger verifications that failed.
    pub corrupt_checks: u64,
    /// Longest restart, from spawning the process to its listening line, in milliseconds.
    pub restart_ms_max: f64,
}

/// A small seeded generator, so a failing run replays from its printed seed.
#[derive(Clone, Copy, Debug)]
pub struct SplitMix(pub u64);

impl SplitMix {
    /// The next pseudo-random number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// One desk command that was sent, with its answer if one came back.
#[derive(Clone, Debug)]
struct Sent {
    key: String,
    command: Value,
    answer: Option<(u16, Value)>,
}

/// Runs `cycles` kill/restart cycles with `binary` in `dir`, seeded by `seed`.
pub fn run(binary: &Path, dir: &Path, cycles: u32, seed: u64) -> TestResult<CrashReport> {
    run_on(binary, dir, None, cycles, seed)
}

/// Like [`run`], with the server on the PostgreSQL database `postgres` when given (a fresh
/// one: the first start loads the demo into it).
pub fn run_on(
    binary: &Path,
    dir: &Path,
    postgres: Option<&str>,
    cycles: u32,
    seed: u64,
) -> TestResult<CrashReport> {
    let mut rng = SplitMix(seed);
    let mut report = CrashReport::default();
    let mut args: Vec<&str> = with_load_limits(VENUE_DEMO);
    if let Some(url) = postgres {
        args.extend(["--database", url]);
    }
    let server = ServerProcess::start_binary(binary, dir, &args, Duration::from_secs(120))?;
    let (event, units, buyers) = match postgres {
        None => desk_setup(dir)?,
        Some(url) => crate::cluster::desk_setup_of(url)?,
    };
    let staff = DeskClient::new(&server.url, &demo_token("staff-01"));
    let (status, _) = staff.send(
        &format!("{seed}-free"),
        &event,
        &json!({ "kind": "set_mode", "mode": "free" }),
    )?;
    if status != 200 {
        return Err(format!("set_mode answered {status}").into());
    }
    let mut tablet = Tablet::new(&server.url, &demo_token("rep-01"))?;
    // The restarted server listens on a new port but is the same server: one cursor.
    tablet.server_id = Some("http://kam.test".to_owned());
    tablet.sync()?;
    let customer = customers_of(&tablet.replica, "rep-01")?
        .into_iter()
        .next()
        .ok_or("rep-01 has no customer")?;
    let mut server = Some(server);

    for cycle in 0..cycles {
        let running = server.take().ok_or("no server")?;
        let url = running.url.clone();
        let kill_after = Duration::from_millis(20 + rng.below(180));
        let stop = AtomicBool::new(false);
        let sent: Mutex<Vec<Sent>> = Mutex::new(Vec::new());
        let (returned, acked_heads, rounds) = std::thread::scope(|scope| -> TestResult<_> {
            for client in 0..DESK_CLIENTS {
                let (url, event, units, buyers, stop, sent) =
                    (&url, &event, &units, &buyers, &stop, &sent);
                let mut rng = SplitMix(seed ^ (u64::from(cycle) << 20) ^ client as u64);
                scope.spawn(move || {
                    desk_client(
                        url,
                        event,
                        units,
                        &buyers[client],
                        stop,
                        sent,
                        &mut rng,
                        cycle,
                        client,
                    )
                });
            }
            // The rep's tablet records visits and syncs until the kill; a sync that completes
            // with nothing left to push is an acknowledgement of everything it sent.
            let (stop_ref, customer) = (&stop, &customer);
            let rep = scope.spawn(move || -> Result<_, String> {
                let (mut heads, mut rounds, mut n) = (Vec::new(), 0u64, 0);
                while !stop_ref.load(Ordering::Relaxed) {
                    add_visit(
                        &mut tablet.replica,
                        "rep-01",
                        customer,
                        &format!("crash cycle {cycle} visit {n}"),
                    )
                    .map_err(|e| e.to_string())?;
                    n += 1;
                    let pushed = tablet.sync().is_ok()
                        && tablet.replica.pending_push_count().map_err(|e| e.to_string())? == 0;
                    if pushed {
                        let id = kam_core::doc::customer_doc_id(customer);
                        heads = tablet.replica.heads(&id).map_err(|e| e.to_string())?;
                        rounds += 1;
                    }
                }
                Ok((tablet, heads, rounds))
            });
            std::thread::sleep(kill_after);
            running.kill()?;
            stop.store(true, Ordering::Relaxed);
            Ok(rep.join().map_err(|_| "the tablet thread panicked")??)
        })?;
        tablet = returned;
        report.acked_rounds += rounds;

        let started = Instant::now();
        let restarted = ServerProcess::start_binary(binary, dir, &args, Duration::from_secs(60))?;
        report.restart_ms_max = report.restart_ms_max.max(started.elapsed().as_secs_f64() * 1000.0);
        let desk = DeskClient::new(&restarted.url, &demo_token("staff-01"));
        for s in sent.into_inner().map_err(|_| "lock")? {
            let (status, answer) = desk.send(&s.key, &event, &s.command)?;
            match s.answer {
                Some(before) => {
                    report.acked_commands += 1;
                    if before != (status, answer) {
                        report.lost_acked_commands += 1;
                        eprintln!(
                            "seed {seed} cycle {cycle}: {} answered {before:?} before the kill",
                            s.key
                        );
                    }
                }
                None => report.unanswered_commands += 1,
            }
        }
        if !acked_heads.is_empty() && !server_has(&restarted.url, &customer, &acked_heads)? {
            report.lost_acked_rounds += 1;
            eprintln!("seed {seed} cycle {cycle}: the server lost a completed sync round");
        }
        report.corrupt_checks += checks(&restarted.url, postgres.is_none().then_some(dir))?;
        tablet.through(&restarted.url);
        report.cycles += 1;
        server = Some(restarted);
    }
    if let Some(server) = server {
        server.stop(Duration::from_secs(30))?;
    }
    Ok(report)
}

#[allow(clippy::too_many_arguments)] // One client's whole context, passed once per thread.
fn desk_client(
    url: &str,
    event: &str,
    units: &[String],
    buyer: &str,
    stop: &AtomicBool,
    sent: &Mutex<Vec<Sent>>,
    rng: &mut SplitMix,
    cycle: u32,
    client: usize,
) {
    let desk = DeskClient::new(url, &demo_token("staff-01"));
    let mut n = 0;
    // The holds this client won: a release names the hold it means.
    let mut won: Vec<(String, String)> = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let unit = &units[rng.below(units.len() as u64) as usize];
        let command = match won.pop() {
            Some((unit, hold_id)) if rng.below(2) == 0 => {
                json!({ "kind": "release", "unit_id": unit, "hold_id": hold_id, "reason": "crash test" })
            }
            earlier => {
                won.extend(earlier);
                json!({ "kind": "hold", "unit_id": unit, "buyer_id": buyer })
            }
        };
        let key = format!("crash-{}-{cycle}-{client}-{n}", rng.next_u64());
        n += 1;
        let answer = desk
            .send(&key, event, &command)
            .ok()
            .filter(|(status, _)| *status == 200 || *status == 409);
        let dead = answer.is_none();
        if let Some((200, body)) = &answer
            && let Some(hold_id) = body["result"]["hold_id"].as_str()
            && command["kind"] == "hold"
        {
            won.push((unit.clone(), hold_id.to_owned()));
        }
        if let Ok(mut all) = sent.lock() {
            all.push(Sent { key, command, answer });
        }
        if dead {
            // The server is gone; what was cut off is checked after the restart.
            return;
        }
    }
}

/// Whether the server's copy of `customer` contains the changes with `heads`.
fn server_has(
    url: &str,
    customer: &kam_core::model::CustomerId,
    heads: &[automerge::ChangeHash],
) -> TestResult<bool> {
    let id = kam_core::doc::customer_doc_id(customer);
    let agent: ureq::Agent =
        ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut response = agent
        .get(&format!("{url}/api/v1/documents/{}/{}", id.kind().as_str(), id.entity()))
        .header("Authorization", &format!("Bearer {}", demo_token("hq-01")))
        .call()?;
    if response.status() != 200 {
        return Ok(false);
    }
    let bytes = response.body_mut().read_to_vec()?;
    let doc = kam_core::doc::Document::load(id, &bytes, automerge::ActorId::random())?;
    Ok(doc.has_heads(heads))
}

/// The ledger verification, and `PRAGMA integrity_check` on both files of `dir` when the
/// server's data is in files; returns the failures.
fn checks(url: &str, dir: Option<&Path>) -> TestResult<u64> {
    let mut failures = 0;
    let hq = DeskClient::new(url, &demo_token("hq-01"));
    let (status, verified) = hq.get("/api/v1/desk/ledger/verify")?;
    if status != 200 || verified["first_bad_seq"] != Value::Null {
        failures += 1;
    }
    let Some(dir) = dir else { return Ok(failures) };
    for file in ["kam-server.sqlite3", kam_server::db::DESK_FILE] {
        let conn = rusqlite::Connection::open_with_flags(
            dir.join(file),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )?;
        let result: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        if result != "ok" {
            failures += 1;
        }
    }
    Ok(failures)
}

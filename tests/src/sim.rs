//! A seeded simulation of a selection event on flaky Wi-Fi.
//!
//! The real server (router, store, desk writer, mirror) runs in this process behind a
//! simulated network; every tablet runs the real kam-core replica, desk outbox and sync. One
//! seeded generator decides everything: which tablet acts, what it does, and for every request
//! whether the network loses it on the way out, loses the answer on the way back, or delivers
//! it twice. Every few steps the server "crashes": it is dropped and reopened from its files,
//! as after a power cut between two requests (the kill -9 harness in `crash` covers crashes in
//! the middle of one). Requests are delivered one at a time, so a seed replays exactly.
//!
//! Each desk command's history is recorded Jepsen-style: invoke, then ok (accepted), fail
//! (rejected) or info (no answer: the outcome is unknown to the tablet). At the end the
//! network heals, every tablet sends what is pending and syncs until quiet, and the run
//! checks: no unit ever held by two buyers (from the ledger), every acknowledged answer still
//! stored, every tablet told the outcome of each of its commands (no hold nobody heard of),
//! and every tablet's control table equal to the desk's.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use axum::body::Body;
use axum::http::Request;
use chrono::Utc;
use http_body_util::BodyExt;
use kam_core::demo::DemoSpec;
use kam_core::desk::{
    DeskCommand, DeskTransport, TableStatus, control_table, queue_command, send_pending,
};
use kam_core::model::{EventId, UnitStatus};
use kam_core::replica::{OutboxStatus, Replica, ReplicaOptions};
use kam_core::sync_client::transport::{SyncTransport, TransportError};
use kam_core::sync_client::{SyncOptions, sync_now};
use kam_server::desk::{Desk, mirror};
use kam_server::{
    admin, data,
    http::{AppState, routes},
};
use tower::ServiceExt;

use crate::TestResult;
use crate::crash::SplitMix;

/// What to simulate.
#[derive(Clone, Copy, Debug)]
pub struct SimConfig {
    /// The seed everything follows.
    pub seed: u64,
    /// Tablets at the venue.
    pub clients: usize,
    /// Chance that a request, or its answer, is lost (each way), in percent.
    pub loss_pct: u64,
    /// Chance that a delivered request is delivered twice, in percent.
    pub duplicate_pct: u64,
    /// Chance that a request is delayed: the tablet times out, and the request reaches the
    /// server 1 to 10 steps later, after the tablet may have retried it, in percent.
    pub delay_pct: u64,
    /// Chance per step that one tablet is cut off from the server for 5 to 20 steps.
    pub partition_pct: u64,
    /// The server crashes and restarts every this many steps (0: never).
    pub crash_every: u32,
    /// Steps (tablet actions) before the network heals.
    pub steps: u32,
}

/// What a run found; the line the issue asks every run to print.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SimReport {
    /// The seed.
    pub seed: u64,
    /// Tablets.
    pub clients: usize,
    /// Loss, percent.
    pub loss_pct: u64,
    /// Server crashes.
    pub crashes: u32,
    /// Requests delivered late, after their tablet gave up on them.
    pub delayed: u64,
    /// Times a tablet was cut off.
    pub partitions: u64,
    /// Desk requests sent (including retries and lost ones).
    pub attempts: u64,
    /// Commands answered accepted.
    pub ok: u64,
    /// Commands answered rejected.
    pub rejected: u64,
    /// Sends that got no answer (outcome unknown to the tablet at the time).
    pub info: u64,
    /// Holds accepted on a unit another buyer held (must be 0).
    pub double_sales: u64,
    /// Answers a tablet received that the desk no longer has (must be 0).
    pub lost_acked: u64,
    /// Units held by a command whose tablet never heard it was accepted (must be 0).
    pub ghost_sales: u64,
    /// Tablets whose control table differs from the desk's at the end (must be 0).
    pub diverged: u64,
    /// The history of every desk request, in order (not printed).
    pub history: Vec<Op>,
}

/// What happened to one desk request, Jepsen-style: `Invoke` when it leaves the tablet, then
/// `Ok` (accepted), `Fail` (refused) or `Info` (no answer: the tablet cannot know).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpKind {
    /// Sent.
    Invoke,
    /// Answered: accepted.
    Ok,
    /// Answered: refused by a rule.
    Fail,
    /// No answer reached the tablet.
    Info,
}

/// One entry of the history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Op {
    /// The tablet.
    pub tablet: usize,
    /// The command's idempotency key.
    pub key: String,
    /// The command's name.
    pub command: String,
    /// What happened.
    pub kind: OpKind,
}

impl std::fmt::Display for SimReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "seed={} clients={} loss={}% crashes={} delayed={} partitions={} attempts={} ok={} \
             rejected={} info={} double_sales={} lost_acked={} ghost_sales={} diverged={}",
            self.seed,
            self.clients,
            self.loss_pct,
            self.crashes,
            self.delayed,
            self.partitions,
            self.attempts,
            self.ok,
            self.rejected,
            self.info,
            self.double_sales,
            self.lost_acked,
            self.ghost_sales,
            self.diverged
        )
    }
}

impl SimReport {
    /// Whether every safety and liveness check held.
    pub fn clean(&self) -> bool {
        self.double_sales == 0
            && self.lost_acked == 0
            && self.ghost_sales == 0
            && self.diverged == 0
    }
}

/// The server in this process, restartable from its files.
struct SimServer {
    dir: PathBuf,
    rt: tokio::runtime::Runtime,
    state: Option<AppState>,
}

impl SimServer {
    fn open(dir: &Path) -> TestResult<AppState> {
        let store = data::open_store(dir)?;
        let desk = Desk::start(&store.desk_path(), store.path(), store.policy().clone())?;
        Ok(AppState::with_desk(store, desk)?)
    }

    /// Drops everything the server held in memory and opens it again from its files.
    fn crash_and_restart(&mut self) -> TestResult<()> {
        self.state = None;
        self.state = Some(Self::open(&self.dir)?);
        Ok(())
    }

    fn post(
        &self,
        path: &str,
        token: &str,
        body: Vec<u8>,
    ) -> Result<(u16, Vec<u8>), TransportError> {
        let state =
            self.state.as_ref().ok_or_else(|| TransportError::Network("server down".into()))?;
        let app = routes::app(state.clone());
        let request = Request::post(path)
            .header("Authorization", format!("Bearer {token}"))
            .header(
                "Content-Type",
                if path.contains("desk") {
                    "application/json"
                } else {
                    kam_core::wire::WIRE_CONTENT_TYPE
                },
            )
            .body(Body::from(body))
            .map_err(|e| TransportError::Network(e.to_string()))?;
        self.rt.block_on(async {
            let response =
                app.oneshot(request).await.map_err(|e| TransportError::Network(e.to_string()))?;
            let status = response.status().as_u16();
            let bytes = response
                .into_body()
                .collect()
                .await
                .map_err(|e| TransportError::Network(e.to_string()))?;
            Ok((status, bytes.to_bytes().to_vec()))
        })
    }

    /// Lets the mirror write the desk's outcomes into the documents, as its task would.
    fn mirror(&self) -> TestResult<()> {
        if let Some(state) = &self.state {
            self.rt
                .block_on(state.with_store(|store| mirror::mirror_pending(store, Utc::now())))?;
        }
        Ok(())
    }
}

/// The simulated network between one tablet and the server.
struct SimNet {
    server: Rc<RefCell<SimServer>>,
    token: String,
    rng: Rc<RefCell<SplitMix>>,
    faults: Rc<RefCell<Faults>>,
    counts: Rc<RefCell<SimReport>>,
    tablet: usize,
}

/// The network's behaviour now (the run heals it at the end) and what is in flight.
#[derive(Debug, Default)]
struct Faults {
    loss_pct: u64,
    duplicate_pct: u64,
    delay_pct: u64,
    /// The current step.
    step: u32,
    /// Requests on their way: (step due, path, token, body).
    in_flight: Vec<(u32, String, String, Vec<u8>)>,
    /// Per token, the step until which the tablet is cut off.
    cut_off_until: BTreeMap<String, u32>,
}

impl SimNet {
    fn chance(&self, pct: u64) -> bool {
        self.rng.borrow_mut().below(100) < pct
    }

    /// Sends `body` to `path` through the faulty network.
    fn deliver(
        &self,
        path: &str,
        body: &[u8],
        accept_409: bool,
    ) -> Result<Vec<u8>, TransportError> {
        let (loss_pct, duplicate_pct, delay_pct, step, cut_off) = {
            let f = self.faults.borrow();
            let cut_off = f.cut_off_until.get(&self.token).is_some_and(|until| *until > f.step);
            (f.loss_pct, f.duplicate_pct, f.delay_pct, f.step, cut_off)
        };
        if cut_off {
            return Err(TransportError::Network("no route to the server".into()));
        }
        if self.chance(loss_pct) {
            return Err(TransportError::Network("request lost".into()));
        }
        if self.chance(delay_pct) {
            let due = step + 1 + self.rng.borrow_mut().below(10) as u32;
            self.faults.borrow_mut().in_flight.push((
                due,
                path.to_owned(),
                self.token.clone(),
                body.to_vec(),
            ));
            return Err(TransportError::Network("timed out".into()));
        }
        let server = self.server.borrow();
        let mut answer = server.post(path, &self.token, body.to_vec())?;
        if self.chance(duplicate_pct) {
            answer = server.post(path, &self.token, body.to_vec())?;
        }
        if path.contains("desk") {
            server.mirror().map_err(|e| TransportError::Network(e.to_string()))?;
        }
        if self.chance(loss_pct) {
            return Err(TransportError::Network("answer lost".into()));
        }
        let (status, bytes) = answer;
        match status {
            200 => Ok(bytes),
            409 if accept_409 => Ok(bytes),
            401 => Err(TransportError::Unauthorized),
            403 => Err(TransportError::Forbidden(String::from_utf8_lossy(&bytes).into_owned())),
            500..=599 => Err(TransportError::Server { status }),
            _ => {
                let error: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
                Err(TransportError::Rejected {
                    status,
                    code: error["error"]["code"].as_str().unwrap_or("unknown").to_owned(),
                    message: error["error"]["message"].as_str().unwrap_or_default().to_owned(),
                })
            }
        }
    }
}

impl DeskTransport for SimNet {
    fn send_command(&self, request: &[u8]) -> Result<Vec<u8>, TransportError> {
        let sent: serde_json::Value = serde_json::from_slice(request).unwrap_or_default();
        let op = |kind| Op {
            tablet: self.tablet,
            key: sent["idempotency_key"].as_str().unwrap_or_default().to_owned(),
            command: sent["command"]["kind"].as_str().unwrap_or_default().to_owned(),
            kind,
        };
        self.counts.borrow_mut().attempts += 1;
        self.counts.borrow_mut().history.push(op(OpKind::Invoke));
        let answer = self.deliver("/api/v1/desk/commands", request, true);
        let kind = match &answer {
            Ok(bytes) => {
                let answer: serde_json::Value = serde_json::from_slice(bytes).unwrap_or_default();
                if answer["outcome"] == "accepted" { OpKind::Ok } else { OpKind::Fail }
            }
            Err(_) => {
                self.counts.borrow_mut().info += 1;
                OpKind::Info
            }
        };
        self.counts.borrow_mut().history.push(op(kind));
        answer
    }
}

impl SyncTransport for SimNet {
    fn exchange(&self, request: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.deliver("/api/v1/sync", request, false)
    }
}

struct SimTablet {
    replica: Replica,
    net: SimNet,
    buyers: Vec<String>,
}

fn quick() -> SyncOptions {
    SyncOptions { max_attempts: 1, ..SyncOptions::default() }
}

/// Runs one simulated event.
pub fn run(config: SimConfig) -> TestResult<SimReport> {
    let dir = tempfile::tempdir()?;
    let now = Utc::now();
    let mut store = data::open_store(dir.path())?;
    let spec = DemoSpec {
        customers: 4,
        tickets: 4,
        units: 12,
        buyers: 4 * config.clients,
        ..DemoSpec::standard(1)
    };
    data::load_demo(&mut store, &spec, now)?;
    let tokens: Vec<String> = (0..config.clients)
        .map(|i| {
            admin::enroll(&mut store, "staff-01", &format!("venue tablet {i}"), now)
                .map(|e| e.token)
        })
        .collect::<Result<_, _>>()?;
    let event: String =
        store.desk_conn().query_row("SELECT event_id FROM desk_events", [], |r| r.get(0))?;
    let units: Vec<String> = {
        let mut stmt =
            store.desk_conn().prepare("SELECT unit_id FROM desk_allotments ORDER BY unit_id")?;
        stmt.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?
    };
    let buyers: Vec<String> = {
        let mut stmt =
            store.desk_conn().prepare("SELECT buyer_id FROM desk_buyers ORDER BY lottery_no")?;
        stmt.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?
    };
    drop(store);

    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    let server = Rc::new(RefCell::new(SimServer {
        dir: dir.path().to_path_buf(),
        rt,
        state: Some(SimServer::open(dir.path())?),
    }));
    let rng = Rc::new(RefCell::new(SplitMix(config.seed)));
    let faults = Rc::new(RefCell::new(Faults {
        loss_pct: config.loss_pct,
        duplicate_pct: config.duplicate_pct,
        delay_pct: config.delay_pct,
        ..Faults::default()
    }));
    let counts = Rc::new(RefCell::new(SimReport {
        seed: config.seed,
        clients: config.clients,
        loss_pct: config.loss_pct,
        ..SimReport::default()
    }));
    let mut tablets: Vec<SimTablet> = tokens
        .iter()
        .enumerate()
        .map(|(i, token)| -> TestResult<SimTablet> {
            Ok(SimTablet {
                replica: Replica::open(":memory:", ReplicaOptions::default())?,
                net: SimNet {
                    server: Rc::clone(&server),
                    token: token.clone(),
                    rng: Rc::clone(&rng),
                    faults: Rc::clone(&faults),
                    counts: Rc::clone(&counts),
                    tablet: i,
                },
                buyers: buyers.iter().skip(i).step_by(config.clients).cloned().collect(),
            })
        })
        .collect::<Result<_, _>>()?;

    // The staff switch the desk to free selection before the run (this request is not lost).
    let setup = serde_json::json!({ "idempotency_key": format!("sim-{}-free", config.seed), "event_id": event,
                                     "command": { "kind": "set_mode", "mode": "free" } });
    server.borrow().post("/api/v1/desk/commands", &tokens[0], setup.to_string().into_bytes())?;

    for step in 0..config.steps {
        if config.crash_every > 0 && step > 0 && step % config.crash_every == 0 {
            server.borrow_mut().crash_and_restart()?;
            counts.borrow_mut().crashes += 1;
        }
        faults.borrow_mut().step = step;
        deliver_late(&server, &faults, &counts, Some(step))?;
        if rng.borrow_mut().below(100) < config.partition_pct {
            let (token, until) = {
                let mut r = rng.borrow_mut();
                (
                    tokens[r.below(tokens.len() as u64) as usize].clone(),
                    step + 5 + r.below(16) as u32,
                )
            };
            faults.borrow_mut().cut_off_until.insert(token, until);
            counts.borrow_mut().partitions += 1;
        }
        let (who, action) = {
            let mut r = rng.borrow_mut();
            (r.below(tablets.len() as u64) as usize, r.below(100))
        };
        let tablet = &mut tablets[who];
        match action {
            0..=44 => {
                let (unit, buyer) = {
                    let mut r = rng.borrow_mut();
                    (
                        units[r.below(units.len() as u64) as usize].clone(),
                        tablet.buyers[r.below(tablet.buyers.len() as u64) as usize].clone(),
                    )
                };
                queue_command(
                    &mut tablet.replica,
                    &event,
                    &DeskCommand::Hold { unit_id: unit, buyer_id: buyer },
                    Utc::now(),
                )?;
            }
            45..=59 => {
                // Release something this tablet was told it holds.
                // The hold id comes from the desk's answer: a release names the hold it means,
                // so one that arrives after the hold lapsed never frees a later buyer's hold.
                let held: Vec<(String, String)> = tablet
                    .replica
                    .outbox_with_status(OutboxStatus::Accepted)?
                    .iter()
                    .filter(|e| e.command == "hold")
                    .filter_map(|e| {
                        let unit = e.payload["command"]["unit_id"].as_str()?;
                        let hold = e.answer.as_ref()?["result"]["hold_id"].as_str()?;
                        Some((unit.to_owned(), hold.to_owned()))
                    })
                    .collect();
                if !held.is_empty() {
                    let (unit, hold) =
                        held[rng.borrow_mut().below(held.len() as u64) as usize].clone();
                    let release = DeskCommand::Release {
                        unit_id: unit,
                        hold_id: hold,
                        reason: "buyer changed their mind".into(),
                    };
                    queue_command(&mut tablet.replica, &event, &release, Utc::now())?;
                }
            }
            60..=84 => {
                send_pending(&mut tablet.replica, &tablet.net, Utc::now())?;
            }
            _ => {
                let _ = sync_now(&mut tablet.replica, &tablet.net, &quick(), &mut |_| {});
            }
        }
    }

    // The network heals: everyone sends what is pending and syncs until quiet.
    deliver_late(&server, &faults, &counts, None)?;
    *faults.borrow_mut() = Faults::default();
    for tablet in &mut tablets {
        let report = send_pending(&mut tablet.replica, &tablet.net, Utc::now())?;
        if let Some(error) = report.stopped_by {
            return Err(
                format!("seed {}: a healed network still failed: {error}", config.seed).into()
            );
        }
    }
    server.borrow().mirror()?;
    for tablet in &mut tablets {
        sync_now(&mut tablet.replica, &tablet.net, &SyncOptions::default(), &mut |_| {})?;
    }

    let mut report = counts.borrow().clone();
    check(&server.borrow(), &mut tablets, &event, &mut report)?;
    Ok(report)
}

/// Delivers the delayed requests due by `step` (all of them when `None`); their answers go
/// nowhere, because their tablets gave up on them long ago.
fn deliver_late(
    server: &Rc<RefCell<SimServer>>,
    faults: &Rc<RefCell<Faults>>,
    counts: &Rc<RefCell<SimReport>>,
    step: Option<u32>,
) -> TestResult<()> {
    let due: Vec<_> = {
        let mut f = faults.borrow_mut();
        let (due, later) = std::mem::take(&mut f.in_flight)
            .into_iter()
            .partition(|(at, ..)| step.is_none_or(|s| *at <= s));
        f.in_flight = later;
        due
    };
    let server = server.borrow();
    for (_, path, token, body) in due {
        counts.borrow_mut().delayed += 1;
        // A request that arrives while the server is down is simply lost.
        let _ = server.post(&path, &token, body);
        if path.contains("desk") {
            server.mirror()?;
        }
    }
    Ok(())
}

/// The end-of-run checks.
fn check(
    server: &SimServer,
    tablets: &mut [SimTablet],
    event: &str,
    report: &mut SimReport,
) -> TestResult<()> {
    let desk = rusqlite::Connection::open_with_flags(
        server.dir.join(kam_server::db::DESK_FILE),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?;
    // No double sale: per unit, the ledger alternates hold and release or expiry.
    let mut held: BTreeMap<String, bool> = BTreeMap::new();
    let mut stmt = desk.prepare("SELECT kind, entry FROM desk_ledger ORDER BY seq")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let (kind, entry): (String, String) = (row.get(0)?, row.get(1)?);
        let entry: serde_json::Value = serde_json::from_str(&entry)?;
        let Some(unit) = entry["unit_id"].as_str() else { continue };
        let was = held.insert(unit.to_owned(), kind == "hold").unwrap_or(false);
        if kind == "hold" && was {
            report.double_sales += 1;
        }
    }
    // Every answer a tablet holds is the desk's stored answer; every command was answered.
    let mut accepted_keys = std::collections::BTreeSet::new();
    for tablet in tablets.iter() {
        for status in [OutboxStatus::Accepted, OutboxStatus::Rejected, OutboxStatus::Pending] {
            for entry in tablet.replica.outbox_with_status(status)? {
                match status {
                    OutboxStatus::Pending => report.ghost_sales += 1,
                    _ => {
                        if status == OutboxStatus::Accepted {
                            report.ok += 1;
                            accepted_keys.insert(entry.key.clone());
                        } else {
                            report.rejected += 1;
                        }
                        let stored: Option<String> = desk
                            .query_row(
                                "SELECT answer FROM desk_requests WHERE idempotency_key = ?1",
                                [&entry.key],
                                |r| r.get(0),
                            )
                            .ok();
                        let same = stored
                            .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
                            .is_some_and(|s| Some(&s) == entry.answer.as_ref());
                        if !same {
                            report.lost_acked += 1;
                        }
                    }
                }
            }
        }
    }
    // Every result the history saw acknowledged is the desk's stored result at the end.
    for op in report.history.iter().filter(|op| matches!(op.kind, OpKind::Ok | OpKind::Fail)) {
        let stored: Option<String> = desk
            .query_row(
                "SELECT answer FROM desk_requests WHERE idempotency_key = ?1",
                [&op.key],
                |r| r.get(0),
            )
            .ok();
        let outcome = stored
            .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
            .map(|a| a["outcome"] == "accepted");
        if outcome != Some(op.kind == OpKind::Ok) {
            report.lost_acked += 1;
        }
    }
    // No ghost: every unit held now was held by a command its tablet heard accepted.
    let mut stmt = desk.prepare(
        "SELECT u.hold_id, l.idempotency_key FROM desk_units u
         JOIN desk_ledger l ON l.kind = 'hold' AND json_extract(l.entry, '$.hold_id') = u.hold_id
         WHERE u.status = 'held'",
    )?;
    let holders: Vec<(String, Option<String>)> =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
    for (_, key) in holders {
        if !key.is_some_and(|k| accepted_keys.contains(&k)) {
            report.ghost_sales += 1;
        }
    }
    // Every tablet's control table shows exactly the desk's statuses.
    let desk_status: BTreeMap<String, String> = {
        let mut stmt = desk.prepare(
            "SELECT a.unit_id, u.status FROM desk_allotments a JOIN desk_events e USING (event_id)
             JOIN desk_units u ON u.project_id = e.project_id AND u.unit_id = a.unit_id WHERE a.event_id = ?1",
        )?;
        stmt.query_map([event], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?
    };
    for tablet in tablets.iter_mut() {
        let table = control_table(&mut tablet.replica, &EventId::from(event))?;
        let same = table.len() == desk_status.len()
            && table.iter().all(|row| {
                let want = desk_status
                    .get(row.unit_id.as_str())
                    .and_then(|s| s.parse::<UnitStatus>().ok());
                row.shown == TableStatus::Synced(want.unwrap_or(UnitStatus::Withdrawn))
            });
        if !same {
            report.diverged += 1;
        }
    }
    Ok(())
}

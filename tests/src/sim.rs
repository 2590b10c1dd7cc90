//! A seeded simulation of a selection event on flaky Wi-Fi, with a venue server between the
//! tablets and central.
//!
//! The real servers (router, store, desk writer, mirror) run in this process behind a
//! simulated network: central, and — when the run has a venue — a venue server made from an
//! empty store that takes central's offer exactly as the venue's uplink does. Every tablet
//! runs the real kam-core replica, desk outbox and sync. One seeded generator decides
//! everything: which tablet acts, what it does, whether it is on the venue's LAN or on 4G to
//! central, and for every request (and every batch of the venue's uplink) whether the network
//! loses it on the way out, loses the answer on the way back, or delivers it twice. Servers
//! "crash" between requests: they are dropped and reopened from their files (the venue also
//! from its second copy), as after a power cut (the kill -9 harness in `crash` covers crashes
//! in the middle of one). Requests are delivered one at a time and the desks' clocks are the
//! simulation's, so a seed replays exactly and a run covers a whole simulated event day.
//!
//! Each desk command's history is recorded Jepsen-style: invoke, then ok (accepted), fail
//! (rejected), elsewhere (the desk does not serve the event now: not a decision, the command
//! stays pending) or info (no answer: the outcome is unknown to the tablet). At the end the
//! network heals, the venue hands the desk back, every tablet sends what is pending and syncs
//! with central until quiet, and the run checks: no unit ever held by two buyers (over
//! central's chain with each venue segment spliced in at its delegation), every acknowledged
//! answer still stored by the desk that gave it, every tablet told the outcome of each of its
//! commands (no hold nobody heard of), the chain verifying from central's genesis through each
//! venue segment and back, no key decided again after a desk accepted it (the answers travel
//! with the desk), and every tablet's control table equal to central's desk.
//!
//! Central may also run as several nodes over one PostgreSQL database (`Backend::Postgres`,
//! without a venue): each request, and each repeat of one, goes to a node the run's seed
//! picks; the mirror and the sweep run on a node that is up; a crash drops one node — its
//! caches, its desk writer, its pool — for 1 to 10 steps while the others serve, and opens it
//! again on the database. The checks read the desks through the storage traits, so they are
//! the same on both backends.
//!
//! What a restart from the venue's second copy may lose: commands the venue acknowledged after
//! the copy was taken and had not shipped. Those are counted (`lost_by_copy`), not hidden; a
//! command acknowledged before the copy, or shipped to central, must survive. A copy may be
//! older than what central already holds, or taken before a hand-back central has completed:
//! it is marked as a copy and serves nothing until its uplink has taken back from central
//! what it lacks and compared chains (`recovery_round`; a delegation that ended leaves it held
//! back). `VenueConfig::copy_behind` (on by default) restarts from such copies too; off, the
//! run uses only copies that are not behind (`copy_restarts_deferred` counts the others).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use chrono::Utc;
use kam_core::demo::DemoSpec;
use kam_core::desk::{
    DeskCommand, DeskTransport, SERVED_ELSEWHERE, queue_command, send_pending_exclusive,
};
use kam_core::replica::{OutboxStatus, Replica, ReplicaOptions};
use kam_core::sync_client::transport::{SyncTransport, TransportError};
use kam_core::sync_client::{SyncOptions, sync_now};
use kam_server::{admin, data};

use crate::TestResult;
use crate::crash::SplitMix;

mod check;
mod server;
mod venue;

pub use venue::VenueConfig;

use server::{SimClock, SimServer, Storage};
use venue::World;

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
    /// Central crashes and restarts every this many steps (0: never); with several nodes,
    /// one node crashes and comes back 1 to 10 steps later.
    pub crash_every: u32,
    /// Steps (tablet actions) before the network heals.
    pub steps: u32,
    /// Simulated hours the steps cover: the desks' clocks move on by this over the run.
    pub sim_hours: u32,
    /// The venue between the tablets and central, if the run has one.
    pub venue: Option<VenueConfig>,
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
    /// Central crashes.
    pub crashes: u32,
    /// Requests delivered late, after their tablet gave up on them.
    pub delayed: u64,
    /// Times a tablet was cut off.
    pub partitions: u64,
    /// Desk commands the tablets queued.
    pub commands: u64,
    /// Desk requests sent (including retries and lost ones).
    pub attempts: u64,
    /// Commands answered accepted.
    pub ok: u64,
    /// Commands answered rejected.
    pub rejected: u64,
    /// Sends that got no answer (outcome unknown to the tablet at the time).
    pub info: u64,
    /// Sends answered "served elsewhere" (event_delegated, lease_ended, event_returned): the
    /// command stayed pending and went where the event was served.
    pub redirects: u64,
    /// Simulated seconds the run covered.
    pub sim_seconds: i64,
    /// Delegations (lent, taken by a venue, handed back).
    pub delegations: u64,
    /// Batches the venue's uplink delivered to central (including repeats).
    pub batches: u64,
    /// Document sync rounds tablets on the venue's LAN had answered by the venue.
    pub venue_syncs: u64,
    /// Rounds of the venue's document relay that reached central.
    pub relay_rounds: u64,
    /// Times the uplink went down.
    pub uplink_outages: u64,
    /// The longest uplink outage, in simulated seconds.
    pub longest_outage_s: i64,
    /// Venue crashes (restarts from its own files or from its second copy).
    pub venue_crashes: u32,
    /// Venue restarts from its second copy.
    pub copy_restarts: u32,
    /// Restarts from the copy not done because central already held venue entries newer than
    /// the copy (the venue restarted from its own files instead; see `copy_behind`).
    pub copy_restarts_deferred: u32,
    /// Acknowledged commands lost because the venue restarted from a copy older than them
    /// and they had not been shipped (allowed: counted, not hidden).
    pub lost_by_copy: u64,
    /// Holds accepted on a unit another buyer held (must be 0).
    pub double_sales: u64,
    /// Answers a tablet received that no desk has any more (must be 0).
    pub lost_acked: u64,
    /// Units held by a command whose tablet never heard it was accepted (must be 0).
    pub ghost_sales: u64,
    /// Tablets whose control table differs from central's desk at the end (must be 0).
    pub diverged: u64,
    /// Chain faults: central's chain, a venue segment or a venue's own chain that does not
    /// verify, or a batch central refused as breaking the chain (must be 0).
    pub chain_breaks: u64,
    /// Idempotency keys a desk decided again after another desk had accepted them: a command
    /// carried out twice (must be 0; the answers travel with the desk).
    pub decided_twice: u64,
    /// Requests each of central's nodes answered (one node unless on PostgreSQL; not
    /// printed).
    pub node_requests: Vec<u64>,
    /// The history of every desk request, in order (not printed).
    pub history: Vec<Op>,
}

/// What happened to one desk request, Jepsen-style: `Invoke` when it leaves the tablet, then
/// `Ok` (accepted), `Fail` (refused), `Elsewhere` (not served there: nothing decided) or
/// `Info` (no answer: the tablet cannot know).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpKind {
    /// Sent.
    Invoke,
    /// Answered: accepted.
    Ok,
    /// Answered: refused by a rule.
    Fail,
    /// Answered: this desk does not serve the event now (nothing was decided).
    Elsewhere,
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
            "seed={} clients={} loss={}% hours={:.1} commands={} crashes={} venue_crashes={} \
             copy_restarts={} copy_deferred={} delegations={} batches={} venue_syncs={} \
             relay_rounds={} outages={} \
             longest_outage_h={:.1} delayed={} partitions={} attempts={} ok={} rejected={} \
             info={} redirects={} lost_by_copy={} decided_twice={} double_sales={} \
             lost_acked={} ghost_sales={} diverged={} chain_breaks={}",
            self.seed,
            self.clients,
            self.loss_pct,
            self.sim_seconds as f64 / 3600.0,
            self.commands,
            self.crashes,
            self.venue_crashes,
            self.copy_restarts,
            self.copy_restarts_deferred,
            self.delegations,
            self.batches,
            self.venue_syncs,
            self.relay_rounds,
            self.uplink_outages,
            self.longest_outage_s as f64 / 3600.0,
            self.delayed,
            self.partitions,
            self.attempts,
            self.ok,
            self.rejected,
            self.info,
            self.redirects,
            self.lost_by_copy,
            self.decided_twice,
            self.double_sales,
            self.lost_acked,
            self.ghost_sales,
            self.diverged,
            self.chain_breaks
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
            && self.chain_breaks == 0
            && self.decided_twice == 0
    }
}

/// Where a request goes: central, or the venue site with this number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    Central,
    Venue(u32),
}

/// The simulated network between one tablet and the servers.
struct SimNet {
    world: Rc<RefCell<World>>,
    token: String,
    rng: Rc<RefCell<SplitMix>>,
    faults: Rc<RefCell<Faults>>,
    counts: Rc<RefCell<SimReport>>,
    tablet: usize,
}

/// The network's behaviour now (the run heals it at the end) and what is in flight.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    pub loss_pct: u64,
    pub duplicate_pct: u64,
    pub delay_pct: u64,
    /// The current step.
    pub step: u32,
    /// Requests on their way: (step due, where, path, token, body).
    pub in_flight: Vec<(u32, Target, String, String, Vec<u8>)>,
    /// Per token, the step until which the tablet is cut off.
    pub cut_off_until: BTreeMap<String, u32>,
}

impl SimNet {
    /// Where the tablet is and which cursors it holds, for a failed check's report.
    pub(crate) fn describe(&self) -> String {
        format!("syncs with {}", SyncTransport::server_id(self))
    }

    fn chance(&self, pct: u64) -> bool {
        self.rng.borrow_mut().below(100) < pct
    }

    /// Sends `body` to `path` through the faulty network: to the venue while the tablet is on
    /// its LAN (desk commands and document sync), to central on 4G.
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
        let target = self.world.borrow().target(self.tablet)?;
        if self.chance(loss_pct) {
            return Err(TransportError::Network("request lost".into()));
        }
        if self.chance(delay_pct) {
            let due = step + 1 + self.rng.borrow_mut().below(10) as u32;
            self.faults.borrow_mut().in_flight.push((
                due,
                target,
                path.to_owned(),
                self.token.clone(),
                body.to_vec(),
            ));
            return Err(TransportError::Network("timed out".into()));
        }
        let world = self.world.borrow();
        let server = world.server(target).ok_or(TransportError::Network("no server".into()))?;
        let mut answer = server.post(path, &self.token, body.to_vec())?;
        if self.chance(duplicate_pct) {
            answer = server.post(path, &self.token, body.to_vec())?;
        }
        if path.contains("desk") && target == Target::Central {
            server.mirror().map_err(|e| TransportError::Network(e.to_string()))?;
        }
        if self.chance(loss_pct) {
            return Err(TransportError::Network("answer lost".into()));
        }
        let (status, bytes) = answer;
        if !path.contains("desk") && matches!(target, Target::Venue(_)) && status == 200 {
            self.counts.borrow_mut().venue_syncs += 1;
        }
        match status {
            200 => Ok(bytes),
            409 if accept_409 => Ok(bytes),
            401 => Err(TransportError::Unauthorized),
            403 => Err(TransportError::Forbidden(String::from_utf8_lossy(&bytes).into_owned())),
            // As the real transport maps them: busy or failed, retry later.
            429 | 500..=599 => Err(TransportError::Server { status }),
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
                let code = answer["error"]["code"].as_str().unwrap_or_default();
                if SERVED_ELSEWHERE.contains(&code) {
                    self.counts.borrow_mut().redirects += 1;
                    OpKind::Elsewhere
                } else if answer["outcome"] == "accepted" {
                    OpKind::Ok
                } else {
                    OpKind::Fail
                }
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

    /// Central and each venue server number their change sequences apart: the replica keeps
    /// a cursor for each, by where the tablet is now.
    fn server_id(&self) -> String {
        match self.world.borrow().target(self.tablet) {
            Ok(Target::Venue(no)) => format!("venue-{no}"),
            _ => "central".to_owned(),
        }
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

/// What the run set up at central before the first step.
pub(crate) struct Setup {
    pub event: String,
    pub units: Vec<String>,
    pub buyers: Vec<String>,
    pub tokens: Vec<String>,
    /// The tablets' devices, in the order of their tokens.
    pub devices: Vec<String>,
    /// The venue server's device id and token.
    pub venue_device: (String, String),
}

fn set_up(storage: &Storage, config: &SimConfig, now: chrono::DateTime<Utc>) -> TestResult<Setup> {
    // On PostgreSQL the store's connections run on a runtime of their own, kept while it is.
    let (runtime, mut store) = match storage {
        Storage::Files(dir) => (None, data::open_store(dir)?),
        Storage::Postgres(url) => {
            let (runtime, store) = crate::cluster::open_store(url)?;
            (Some(runtime), store)
        }
    };
    let spec = DemoSpec {
        customers: 4,
        tickets: 4,
        units: 12,
        buyers: 4 * config.clients,
        ..DemoSpec::standard(1)
    };
    data::load_demo(&mut store, &spec, now)?;
    let (tokens, devices): (Vec<String>, Vec<String>) = (0..config.clients)
        .map(|i| {
            admin::enroll(
                &mut store,
                admin::ADMIN_ACTOR,
                "staff-01",
                &format!("venue tablet {i}"),
                now,
            )
            .map(|e| (e.token, e.device_id))
        })
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .unzip();
    let (event, units, buyers) = crate::cluster::desk_setup(&store)?;
    let project = store.desk().event_project(&event)?.ok_or("the desk's event has no project")?;
    admin::add_user(
        &mut store,
        admin::ADMIN_ACTOR,
        venue::VENUE_USER,
        "一号厅",
        kam_core::model::Role::Venue,
        now,
    )?;
    admin::assign_event(&mut store, admin::ADMIN_ACTOR, &event, &project, venue::VENUE_USER, now)?;
    let device = admin::enroll(&mut store, admin::ADMIN_ACTOR, venue::VENUE_USER, "hall-1", now)?;
    drop(store);
    drop(runtime);
    Ok(Setup {
        event,
        units,
        buyers,
        tokens,
        devices,
        venue_device: (device.device_id, device.token),
    })
}

/// Where central keeps its data.
#[derive(Clone, Debug)]
pub enum Backend {
    /// One server over SQLite files in a temporary directory (with or without a venue).
    Files,
    /// `nodes` servers over the PostgreSQL database at `url` (fresh, for this run alone), each
    /// request to one the run picks, a crash one node's; central only (no venue).
    Postgres {
        /// The database.
        url: String,
        /// How many nodes serve it.
        nodes: usize,
    },
}

/// Runs one simulated event with central on SQLite files.
pub fn run(config: SimConfig) -> TestResult<SimReport> {
    run_on(config, &Backend::Files)
}

/// Where central keeps its data on `backend` (its files in `dir`), and how many nodes serve it.
fn central_storage(
    backend: &Backend,
    dir: &std::path::Path,
    config: &SimConfig,
) -> TestResult<(Storage, usize)> {
    Ok(match backend {
        Backend::Files => (Storage::Files(dir.to_path_buf()), 1),
        Backend::Postgres { .. } if config.venue.is_some() => {
            return Err("a venue runs with central on SQLite files only".into());
        }
        Backend::Postgres { url, nodes } => (Storage::Postgres(url.clone()), *nodes),
    })
}

/// Runs one simulated event with central on `backend`.
pub fn run_on(config: SimConfig, backend: &Backend) -> TestResult<SimReport> {
    let dir = tempfile::tempdir()?;
    let (storage, nodes) = central_storage(backend, dir.path(), &config)?;
    let clock = SimClock::new();
    let setup = set_up(&storage, &config, clock.now())?;
    let central = SimServer::start_on(storage, nodes, &clock, config.seed)?;
    let world = Rc::new(RefCell::new(World::new(central, &setup, config, &clock)));
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
    let mut tablets = tablets(&setup, &config, &world, &rng, &faults, &counts)?;

    // The staff switch the desk to free selection before the run (this request is not lost).
    let free = serde_json::json!({ "idempotency_key": format!("sim-{}-free", config.seed),
        "event_id": setup.event, "command": { "kind": "set_mode", "mode": "free" } });
    world.borrow().central.post(
        "/api/v1/desk/commands",
        &setup.tokens[0],
        free.to_string().into_bytes(),
    )?;

    let step_s = i64::from(config.sim_hours) * 3600 / i64::from(config.steps.max(1));
    for step in 0..config.steps {
        // Each step is a few minutes of the day (never less than the day spread over the steps).
        clock.advance(step_s + rng.borrow_mut().below(step_s as u64 / 4 + 1) as i64);
        // A node that crashed earlier comes back when its time is up (never with one node).
        world.borrow_mut().central.tick()?;
        if config.crash_every > 0 && step > 0 && step % config.crash_every == 0 {
            world.borrow_mut().central.crash_and_restart()?;
            counts.borrow_mut().crashes += 1;
        }
        faults.borrow_mut().step = step;
        if step % 5 == 0 {
            // The desks' sweeps expire lapsed holds on the simulated clock.
            world.borrow().sweep()?;
        }
        deliver_late(&world, &faults, &counts, Some(step))?;
        if rng.borrow_mut().below(100) < config.partition_pct {
            let (token, until) = {
                let mut r = rng.borrow_mut();
                (
                    setup.tokens[r.below(setup.tokens.len() as u64) as usize].clone(),
                    step + 5 + r.below(16) as u32,
                )
            };
            faults.borrow_mut().cut_off_until.insert(token, until);
            counts.borrow_mut().partitions += 1;
        }
        if let Some(venue) = config.venue {
            let net = (faults.borrow().loss_pct, faults.borrow().duplicate_pct);
            let mut w = world.borrow_mut();
            w.step(step, &venue, &mut rng.borrow_mut(), net, &mut counts.borrow_mut())?;
        }
        act(&mut tablets, &setup, &rng)?;
    }
    heal(&world, &faults, &counts, &mut tablets, &config)?;
    let mut report = counts.borrow().clone();
    report.sim_seconds = clock.elapsed_s();
    report.node_requests = world.borrow().central.served();
    check::check(&world.borrow(), &mut tablets, &setup.event, &setup.devices, &mut report)?;
    Ok(report)
}

/// The tablets, each with its replica, its buyers and its network.
fn tablets(
    setup: &Setup,
    config: &SimConfig,
    world: &Rc<RefCell<World>>,
    rng: &Rc<RefCell<SplitMix>>,
    faults: &Rc<RefCell<Faults>>,
    counts: &Rc<RefCell<SimReport>>,
) -> TestResult<Vec<SimTablet>> {
    setup
        .tokens
        .iter()
        .enumerate()
        .map(|(i, token)| -> TestResult<SimTablet> {
            Ok(SimTablet {
                replica: Replica::open(":memory:", ReplicaOptions::default())?,
                net: SimNet {
                    world: Rc::clone(world),
                    token: token.clone(),
                    rng: Rc::clone(rng),
                    faults: Rc::clone(faults),
                    counts: Rc::clone(counts),
                    tablet: i,
                },
                buyers: setup.buyers.iter().skip(i).step_by(config.clients).cloned().collect(),
            })
        })
        .collect()
}

/// One tablet does one thing: queues a hold or a release, sends what is pending, or syncs.
fn act(tablets: &mut [SimTablet], setup: &Setup, rng: &Rc<RefCell<SplitMix>>) -> TestResult<()> {
    let (who, action) = {
        let mut r = rng.borrow_mut();
        (r.below(tablets.len() as u64) as usize, r.below(100))
    };
    let tablet = &mut tablets[who];
    let event = &setup.event;
    match action {
        0..=44 => {
            let (unit, buyer) = {
                let mut r = rng.borrow_mut();
                (
                    setup.units[r.below(setup.units.len() as u64) as usize].clone(),
                    tablet.buyers[r.below(tablet.buyers.len() as u64) as usize].clone(),
                )
            };
            let hold = DeskCommand::Hold { unit_id: unit, buyer_id: buyer };
            queue_command(&mut tablet.replica, event, &hold, Utc::now())?;
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
                let (unit, hold) = held[rng.borrow_mut().below(held.len() as u64) as usize].clone();
                let release = DeskCommand::Release {
                    unit_id: unit,
                    hold_id: hold,
                    reason: "buyer changed their mind".into(),
                };
                queue_command(&mut tablet.replica, event, &release, Utc::now())?;
            }
        }
        60..=84 => {
            send_pending_exclusive(&mut tablet.replica, &tablet.net, Utc::now())?;
        }
        _ => {
            let _ = sync_now(&mut tablet.replica, &tablet.net, &quick(), &mut |_| {});
        }
    }
    Ok(())
}

/// The network heals: the venue hands the desk back and ships the rest, everyone sends what
/// is pending (where the event is served) and syncs with central until quiet.
fn heal(
    world: &Rc<RefCell<World>>,
    faults: &Rc<RefCell<Faults>>,
    counts: &Rc<RefCell<SimReport>>,
    tablets: &mut [SimTablet],
    config: &SimConfig,
) -> TestResult<()> {
    deliver_late(world, faults, counts, None)?;
    // Every node that crashed is back (a late request to a node that is down was lost).
    world.borrow_mut().central.restart_down()?;
    let step = faults.borrow().step;
    *faults.borrow_mut() = Faults { step, ..Faults::default() };
    world.borrow_mut().finish(&mut counts.borrow_mut())?;
    for (i, tablet) in tablets.iter_mut().enumerate() {
        // A tablet still on the venue's LAN is told the desk went home, and moves to 4G.
        for _ in 0..3 {
            let report = send_pending_exclusive(&mut tablet.replica, &tablet.net, Utc::now())?;
            match report.stopped_by {
                None => break,
                Some(TransportError::Rejected { status: 409, .. }) => {
                    world.borrow_mut().roam_to_central(i);
                }
                Some(error) => {
                    return Err(format!(
                        "seed {}: a healed network still failed: {error}",
                        config.seed
                    )
                    .into());
                }
            }
        }
        // A broken chain (`copy_behind`) keeps the desk at the venue: what is still pending
        // is counted by the checks instead.
        let stuck = !tablet.replica.outbox_with_status(OutboxStatus::Pending)?.is_empty();
        if stuck && !world.borrow().broken() {
            return Err(
                format!("seed {}: tablet {i} could not send its commands", config.seed).into()
            );
        }
    }
    world.borrow().central.mirror()?;
    // The venue relays what is left, so a tablet still on its LAN syncs central's documents.
    world.borrow_mut().relay_until_quiet(&mut counts.borrow_mut())?;
    // A tablet may hold changes central lacks: ones it got from a venue that restarted from an
    // older copy before relaying them. It hands them over as it syncs, after some colleagues
    // synced already: they sync again until a whole pass changes nothing at central.
    let central_seq =
        || world.borrow().central.with_store(|store| Ok(store.conn().current_seq()?));
    for _ in 0..5 {
        let before = central_seq()?;
        for tablet in tablets.iter_mut() {
            sync_now(&mut tablet.replica, &tablet.net, &SyncOptions::default(), &mut |_| {})?;
        }
        world.borrow_mut().relay_until_quiet(&mut counts.borrow_mut())?;
        if central_seq()? == before {
            return Ok(());
        }
    }
    Err(format!("seed {}: the tablets' documents did not settle in 5 passes", config.seed).into())
}

/// Delivers the delayed requests due by `step` (all of them when `None`); their answers go
/// nowhere, because their tablets gave up on them long ago.
fn deliver_late(
    world: &Rc<RefCell<World>>,
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
    let world = world.borrow();
    for (_, target, path, token, body) in due {
        counts.borrow_mut().delayed += 1;
        // A request to a server that is down (or gone) is simply lost.
        let Some(server) = world.server(target) else { continue };
        let _ = server.post(&path, &token, body);
        if path.contains("desk") && target == Target::Central {
            server.mirror()?;
        }
    }
    Ok(())
}

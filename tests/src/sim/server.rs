//! One in-process server of the simulation (central, or a venue), restartable from its files,
//! on a clock the simulation drives; on PostgreSQL, central is several nodes over one
//! database, and a crash is one node's.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use axum::body::Body;
use axum::http::Request;
use chrono::{DateTime, Duration, Utc};
use http_body_util::BodyExt;
use kam_core::Policy;
use kam_core::sync_client::transport::TransportError;
use kam_server::db::Db;
use kam_server::db::desk::DeskGroup;
use kam_server::desk::ledger::Tip;
use kam_server::desk::{Desk, mirror};
use kam_server::error::ServerError;
use kam_server::health::Health;
use kam_server::http::edge::limits::Limits;
use kam_server::store::Store;
use kam_server::{
    data,
    http::{AppState, routes},
};
use tower::ServiceExt;

use crate::TestResult;
use crate::crash::SplitMix;

/// How long a hold lasts in the simulation: a few steps of a simulated day.
pub(super) const HOLD_TTL_S: u64 = 2 * 3600;

/// The time every server of a run reads: it starts at the wall clock and moves only when the
/// simulation advances it, so a seed replays the same day.
#[derive(Clone, Debug)]
pub(super) struct SimClock {
    start: DateTime<Utc>,
    offset_s: Arc<AtomicI64>,
}

impl SimClock {
    /// A clock starting now.
    pub(super) fn new() -> SimClock {
        SimClock { start: Utc::now(), offset_s: Arc::new(AtomicI64::new(0)) }
    }

    /// The simulated time.
    pub(super) fn now(&self) -> DateTime<Utc> {
        self.start + Duration::seconds(self.offset_s.load(Ordering::SeqCst))
    }

    /// Moves the clock on by `seconds`.
    pub(super) fn advance(&self, seconds: i64) {
        self.offset_s.fetch_add(seconds, Ordering::SeqCst);
    }

    /// Simulated seconds since the start.
    pub(super) fn elapsed_s(&self) -> i64 {
        self.offset_s.load(Ordering::SeqCst)
    }
}

/// Where a server's data lives.
#[derive(Clone, Debug)]
pub(super) enum Storage {
    /// Its two SQLite files in this directory: one server.
    Files(PathBuf),
    /// This PostgreSQL database, shared by the server's nodes.
    Postgres(String),
}

/// One node: a process's worth of server (its runtime, store, caches, desk writer and, on
/// PostgreSQL, its pool).
struct Node {
    rt: tokio::runtime::Runtime,
    state: AppState,
}

/// A server in this process, restartable from its files: one node over SQLite files, or
/// several nodes over one PostgreSQL database, each request going to a node the server's own
/// seeded generator picks.
pub(super) struct SimServer {
    storage: Storage,
    nodes: Vec<Option<Node>>,
    /// Per node, the ticks (simulation steps) before a crashed node comes back.
    down_for: Vec<u32>,
    /// Picks the node of each request (never drawn from with one node).
    pick: RefCell<SplitMix>,
    /// Requests each node answered.
    served: RefCell<Vec<u64>>,
    clock: SimClock,
}

/// The pool of a node on PostgreSQL: its readers keep theirs, the store, the desk and the
/// leases take eight more (as `serve` requires).
fn pool_size(limits: &Limits) -> usize {
    limits.readers + 8
}

impl SimServer {
    /// Opens the server whose files are in `dir`.
    pub(super) fn start(dir: &Path, clock: &SimClock) -> TestResult<SimServer> {
        Self::start_on(Storage::Files(dir.to_path_buf()), 1, clock, 0)
    }

    /// Opens `count` nodes over `storage` (several only on PostgreSQL); `seed` picks the node
    /// of each request.
    pub(super) fn start_on(
        storage: Storage,
        count: usize,
        clock: &SimClock,
        seed: u64,
    ) -> TestResult<SimServer> {
        if count != 1 && matches!(storage, Storage::Files(_)) {
            return Err("several nodes share a PostgreSQL database, not files".into());
        }
        let nodes =
            (0..count).map(|_| Self::open(&storage, clock).map(Some)).collect::<TestResult<_>>()?;
        Ok(SimServer {
            storage,
            nodes,
            down_for: vec![0; count],
            pick: RefCell::new(SplitMix(seed ^ 0x6E6F_6465)),
            served: RefCell::new(vec![0; count]),
            clock: clock.clone(),
        })
    }

    fn open(storage: &Storage, clock: &SimClock) -> TestResult<Node> {
        let rt =
            tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
        // The edge's rate limits run on the wall clock, which the simulation compresses: a
        // day's requests arrive in seconds. They are lifted here; the hostile tests cover them.
        let limits =
            Limits { rate_per_token: 1_000_000, rate_per_user: 1_000_000, ..Limits::default() };
        // Opening waits on this thread (outside the runtime), as `serve` does on a blocking one.
        let store = match storage {
            Storage::Files(dir) => data::open_store(dir)?,
            Storage::Postgres(url) => data::open_store_on_postgres(
                url,
                pool_size(&limits),
                rt.handle().clone(),
                Policy::default(),
            )?,
        };
        let mut policy = store.policy().clone();
        policy.selection.hold_ttl_seconds = HOLD_TTL_S;
        let reading = clock.clone();
        let desk = Desk::start_at(
            &store.location(),
            policy,
            Health::new().beat("desk_writer"),
            Arc::new(move || reading.now()),
        )?;
        let state = AppState::with_limits(store, limits, Health::new())?.and_desk(desk);
        Ok(Node { rt, state })
    }

    /// The directory of a server on SQLite files.
    pub(super) fn dir(&self) -> TestResult<&Path> {
        match &self.storage {
            Storage::Files(dir) => Ok(dir),
            Storage::Postgres(_) => Err("the server is on PostgreSQL: it has no files".into()),
        }
    }

    /// Whether any node is up.
    pub(super) fn is_up(&self) -> bool {
        self.nodes.iter().any(Option::is_some)
    }

    /// Every node goes down (until a restart).
    pub(super) fn stop(&mut self) {
        self.nodes.iter_mut().for_each(|n| *n = None);
    }

    /// Drops everything the server held in memory and opens it again from its files. With
    /// several nodes, one node crashes instead (the generator picks it) and stays down for 1
    /// to 10 ticks while the others serve; a node still down from an earlier crash comes
    /// back first, so one node always serves.
    pub(super) fn crash_and_restart(&mut self) -> TestResult<()> {
        if self.nodes.len() == 1 {
            self.nodes[0] = None;
            self.nodes[0] = Some(Self::open(&self.storage, &self.clock)?);
            return Ok(());
        }
        self.restart_down()?;
        let (node, ticks) = {
            let mut pick = self.pick.borrow_mut();
            (pick.below(self.nodes.len() as u64) as usize, 1 + pick.below(10) as u32)
        };
        self.nodes[node] = None;
        self.down_for[node] = ticks;
        Ok(())
    }

    /// One step passes: a crashed node whose time is up comes back.
    pub(super) fn tick(&mut self) -> TestResult<()> {
        for i in 0..self.nodes.len() {
            if self.nodes[i].is_none() && self.down_for[i] > 0 {
                self.down_for[i] -= 1;
                if self.down_for[i] == 0 {
                    self.nodes[i] = Some(Self::open(&self.storage, &self.clock)?);
                }
            }
        }
        Ok(())
    }

    /// Every crashed node comes back now.
    pub(super) fn restart_down(&mut self) -> TestResult<()> {
        for i in 0..self.nodes.len() {
            if self.nodes[i].is_none() && self.down_for[i] > 0 {
                self.down_for[i] = 0;
                self.nodes[i] = Some(Self::open(&self.storage, &self.clock)?);
            }
        }
        Ok(())
    }

    /// Drops the server and opens the files in `dir` instead (a restart from the second copy).
    pub(super) fn restart_from(&mut self, dir: &Path) -> TestResult<()> {
        self.stop();
        self.storage = Storage::Files(dir.to_path_buf());
        self.nodes = vec![Some(Self::open(&self.storage, &self.clock)?)];
        self.down_for = vec![0];
        Ok(())
    }

    /// The node a request goes to: with one node, that one (up or down); with several, one
    /// the generator picks among all (a request to a node that is down fails).
    fn request_node(&self) -> Option<&Node> {
        let i = if self.nodes.len() == 1 {
            0
        } else {
            self.pick.borrow_mut().below(self.nodes.len() as u64) as usize
        };
        let node = self.nodes.get(i).and_then(Option::as_ref)?;
        if let Some(served) = self.served.borrow_mut().get_mut(i) {
            *served += 1;
        }
        Some(node)
    }

    /// Requests each node answered (counting those whose answer the network lost).
    pub(super) fn served(&self) -> Vec<u64> {
        self.served.borrow().clone()
    }

    /// A node that is up, for the work the simulation drives itself (the mirror, the sweep,
    /// reads): the generator picks it among those up.
    fn up_node(&self) -> TestResult<&Node> {
        let up: Vec<&Node> = self.nodes.iter().flatten().collect();
        let i = match up.len() {
            0 => return Err("server down".into()),
            1 => 0,
            n => self.pick.borrow_mut().below(n as u64) as usize,
        };
        Ok(up[i])
    }

    /// Posts `body` to `path` as the device with `token`, on the node the request reaches.
    pub(super) fn post(
        &self,
        path: &str,
        token: &str,
        body: Vec<u8>,
    ) -> Result<(u16, Vec<u8>), TransportError> {
        let node =
            self.request_node().ok_or_else(|| TransportError::Network("server down".into()))?;
        let app = routes::app(node.state.clone());
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
        node.rt.block_on(async {
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

    /// Lets the mirror write the desk's outcomes into the documents, as its task would (on a
    /// node that is up; nothing while every node is down).
    pub(super) fn mirror(&self) -> TestResult<()> {
        if self.is_up() {
            let node = self.up_node()?;
            let now = self.clock.now();
            node.rt
                .block_on(node.state.with_store(move |store| mirror::mirror_pending(store, now)))?;
        }
        Ok(())
    }

    /// Runs `work` as a job of the desk's writer, as the uplink and the admin commands do.
    pub(super) fn desk_run<T, E>(
        &self,
        work: impl FnOnce(&dyn DeskGroup, &dyn Db, &mut Tip, DateTime<Utc>) -> Result<T, E>
        + Send
        + 'static,
    ) -> TestResult<Result<T, E>>
    where
        T: Send + 'static,
        E: Send + 'static,
    {
        let (node, desk) = self.desk()?;
        node.rt.block_on(desk.run(work)).ok_or_else(|| "the desk did not run the job".into())
    }

    /// Expires lapsed holds now (the writer's sweep).
    pub(super) fn sweep(&self) -> TestResult<usize> {
        let (node, desk) = self.desk()?;
        Ok(node.rt.block_on(desk.sweep()))
    }

    /// Reads (or writes) the store outside the desk's writer.
    pub(super) fn with_store<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Store) -> Result<T, ServerError> + Send + 'static,
    ) -> TestResult<T> {
        let node = self.up_node()?;
        Ok(node.rt.block_on(node.state.with_store(work))?)
    }

    fn desk(&self) -> TestResult<(&Node, Desk)> {
        let node = self.up_node()?;
        let desk = node.state.services().desk.clone().ok_or("no desk")?;
        Ok((node, desk))
    }
}

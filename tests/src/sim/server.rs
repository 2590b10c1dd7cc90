//! One in-process server of the simulation (central, or a venue), restartable from its files,
//! on a clock the simulation drives.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use axum::body::Body;
use axum::http::Request;
use chrono::{DateTime, Duration, Utc};
use http_body_util::BodyExt;
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

/// A server in this process, restartable from its files.
pub(super) struct SimServer {
    pub(super) dir: PathBuf,
    rt: tokio::runtime::Runtime,
    pub(super) state: Option<AppState>,
    clock: SimClock,
}

impl SimServer {
    /// Opens the server whose files are in `dir`.
    pub(super) fn start(dir: &Path, clock: &SimClock) -> TestResult<SimServer> {
        let rt =
            tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
        let state = Some(Self::open(dir, clock)?);
        Ok(SimServer { dir: dir.to_path_buf(), rt, state, clock: clock.clone() })
    }

    fn open(dir: &Path, clock: &SimClock) -> TestResult<AppState> {
        let store = data::open_store(dir)?;
        let mut policy = store.policy().clone();
        policy.selection.hold_ttl_seconds = HOLD_TTL_S;
        let reading = clock.clone();
        let desk = Desk::start_with_clock(
            &store.desk_path(),
            store.path(),
            policy,
            Health::new().beat("desk_writer"),
            Arc::new(move || reading.now()),
        )?;
        // The edge's rate limits run on the wall clock, which the simulation compresses: a
        // day's requests arrive in seconds. They are lifted here; the hostile tests cover them.
        let limits =
            Limits { rate_per_token: 1_000_000, rate_per_user: 1_000_000, ..Limits::default() };
        Ok(AppState::with_limits(store, limits, Health::new())?.and_desk(desk))
    }

    /// Drops everything the server held in memory and opens it again from its files.
    pub(super) fn crash_and_restart(&mut self) -> TestResult<()> {
        self.state = None;
        self.state = Some(Self::open(&self.dir, &self.clock)?);
        Ok(())
    }

    /// Drops the server and opens the files in `dir` instead (a restart from the second copy).
    pub(super) fn restart_from(&mut self, dir: &Path) -> TestResult<()> {
        self.state = None;
        self.dir = dir.to_path_buf();
        self.state = Some(Self::open(dir, &self.clock)?);
        Ok(())
    }

    /// Posts `body` to `path` as the device with `token`.
    pub(super) fn post(
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
    pub(super) fn mirror(&self) -> TestResult<()> {
        if let Some(state) = &self.state {
            let now = self.clock.now();
            self.rt.block_on(state.with_store(move |store| mirror::mirror_pending(store, now)))?;
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
        let desk = self.desk()?;
        self.rt.block_on(desk.run(work)).ok_or_else(|| "the desk did not run the job".into())
    }

    /// Expires lapsed holds now (the writer's sweep).
    pub(super) fn sweep(&self) -> TestResult<usize> {
        let desk = self.desk()?;
        Ok(self.rt.block_on(desk.sweep()))
    }

    /// Reads (or writes) the store outside the desk's writer.
    pub(super) fn with_store<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Store) -> Result<T, ServerError> + Send + 'static,
    ) -> TestResult<T> {
        let state = self.state.as_ref().ok_or("server down")?;
        Ok(self.rt.block_on(state.with_store(work))?)
    }

    fn desk(&self) -> TestResult<Desk> {
        let state = self.state.as_ref().ok_or("server down")?;
        state.services().desk.clone().ok_or_else(|| "no desk".into())
    }
}

//! What the running server's requests and background tasks share, below the HTTP edge: the
//! store and the one way to touch it from async code, the read-only connections, the push
//! hub, the projector's wake, the selection desk's writer, health and metrics.
//!
//! The edge's own state (`http::AppState`: limits, limiters, dashboard settings) wraps this;
//! the background tasks (projector, desk mirror) take this alone, so nothing below the edge
//! needs the edge's types.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use crate::db::panic_message;
use crate::db::readers::Readers;
use crate::desk::Desk;
use crate::error::ServerError;
use crate::health::{Beat, Health};
use crate::metrics::Metrics;
use crate::store::Store;
use crate::sync::projector::ProjectorWake;
use crate::sync::push::PushHub;

/// Read-only connections in headquarters' pool: two lists read at once, a third waits.
pub const HQ_READERS: usize = 2;

/// What a read for headquarters sees: a read-only connection to each database, and the
/// policy in force.
pub struct ReadView<'a> {
    conns: &'a crate::db::readers::ReadConns,
    policy: &'a kam_core::Policy,
}

impl ReadView<'_> {
    /// The server database's storage traits, read-only.
    pub fn conn(&self) -> &dyn crate::db::Db {
        self.conns.db()
    }

    /// The selection desk database's storage traits, read-only.
    pub fn desk(&self) -> &dyn crate::db::desk::DeskDb {
        self.conns.desk()
    }

    /// The policy in force.
    pub fn policy(&self) -> &kam_core::Policy {
        self.policy
    }
}

/// The shared services; cheap to clone (every part is shared).
#[derive(Clone)]
pub struct Services {
    /// The store, taken in turn. An async lock: a request waiting for its turn parks no
    /// thread, and only the holder runs on the blocking pool.
    store: Arc<tokio::sync::Mutex<Store>>,
    /// Read-only connections for token checks, sessions and the desk's tables.
    readers: Readers,
    /// Read-only connections for headquarters' pages and lists, apart from `readers`: a list
    /// that reads 20,000 tickets neither waits for nor holds up a sync round (the store's
    /// turn) or a token check (`readers`).
    hq_readers: Readers,
    /// Whether the background tasks are moving.
    pub health: Health,
    store_beat: Beat,
    /// Notifies connected devices of changed documents.
    pub push: PushHub,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// Wakes the projector after documents changed.
    pub projector: ProjectorWake,
    /// The selection desk's writer, when this server runs one.
    pub desk: Option<Desk>,
    /// What the consoles and big screens of each event watch.
    live: crate::desk::live::LiveDesk,
    /// The company's policy, as the store was opened with it.
    policy: Arc<kam_core::Policy>,
}

impl Services {
    /// The services over an opened store, with `readers` read-only connections, reporting to
    /// `health`. On PostgreSQL it takes connections from the pool, waiting on the calling
    /// thread: call it from a blocking thread there.
    pub fn open(store: Store, readers: usize, health: Health) -> Result<Services, ServerError> {
        let location = store.location();
        let readers = Readers::open_at(&location, readers)?;
        let hq_readers = Readers::open_at(&location, HQ_READERS)?;
        // A node among several tells the others what it announces (see `cluster`).
        let push = match location.postgres() {
            Some(_) => PushHub::for_cluster(),
            None => PushHub::new(),
        };
        let live = crate::desk::live::LiveDesk::new(
            readers.clone(),
            store.policy().selection.max_units_per_buyer,
        );
        let policy = Arc::new(store.policy().clone());
        Ok(Services {
            live,
            policy,
            store: Arc::new(tokio::sync::Mutex::new(store)),
            readers,
            hq_readers,
            store_beat: health.beat("store"),
            health,
            push,
            metrics: Arc::new(Metrics::new()),
            projector: ProjectorWake::default(),
            desk: None,
        })
    }

    /// Watches the desk of `event_id` live (see `desk::live`); `NotFound` if none is open.
    pub async fn watch_desk(
        &self,
        event_id: &str,
    ) -> Result<
        tokio::sync::watch::Receiver<std::sync::Arc<crate::desk::live::LiveState>>,
        ServerError,
    > {
        self.live.watch(event_id, self.desk.as_ref().map(Desk::moves)).await
    }

    /// The company's policy.
    pub fn policy(&self) -> &kam_core::Policy {
        &self.policy
    }

    /// The read-only connections.
    pub fn readers(&self) -> &Readers {
        &self.readers
    }

    /// Runs `work` on a read-only connection of headquarters' own pool, on a blocking thread
    /// taken only once a connection is free (see `db::readers`). It sees every committed
    /// write (WAL) and takes no turn at the store.
    pub async fn hq_read<T, F>(&self, work: F) -> Result<T, ServerError>
    where
        T: Send + 'static,
        F: FnOnce(&ReadView<'_>) -> Result<T, ServerError> + Send + 'static,
    {
        let policy = Arc::clone(&self.policy);
        self.hq_readers.read(move |conns| work(&ReadView { conns, policy: &policy })).await
    }

    /// Runs `work` against the store on a blocking thread: SQLite must never block the async
    /// runtime. Requests take turns, which is what SQLite's single writer does anyway; a
    /// request waits for its turn without holding a thread, so the blocking pool holds one
    /// thread for the store however many requests wait.
    ///
    /// A panic in `work` is this request's error, never the next one's: its transaction is
    /// rolled back as it unwinds, and the documents it may have changed in memory are dropped
    /// so that memory never runs ahead of disk.
    pub async fn with_store<T, F>(&self, work: F) -> Result<T, ServerError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store) -> Result<T, ServerError> + Send + 'static,
    {
        let mut store = Arc::clone(&self.store).lock_owned().await;
        let beat = self.store_beat.clone();
        let (result, store) = tokio::task::spawn_blocking(move || {
            let _busy = beat.busy();
            let result = match std::panic::catch_unwind(AssertUnwindSafe(|| work(&mut store))) {
                Ok(result) => result,
                Err(panic) => {
                    beat.failed();
                    store.forget_loaded();
                    let message = panic_message(&panic);
                    tracing::error!(panic = %message, "store work panicked; its transaction was rolled back");
                    Err(ServerError::Panicked(message))
                }
            };
            (result, store)
        })
        .await?;
        // The store's turn passes only now, with the blocking thread idle again, so the next
        // holder reuses it instead of the pool starting another.
        drop(store);
        result
    }
}

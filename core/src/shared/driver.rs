//! Keeping a device in sync while its app is in the foreground.
//!
//! [`SharedReplica::start_sync`](super::SharedReplica::start_sync) runs a loop on a thread of its own: sync, send the queued desk
//! commands, then wait until there is a reason to sync again — the server's push channel
//! announced news, a local edit waits to be sent (after a short pause, so a burst of edits is
//! one sync), or the periodic interval passed — and after a failure, back off (doubling, with
//! jitter) without holding anything. [`SyncDriver::stop`] ends it at once. Apps call
//! `start_sync` when they come to the foreground and stop it when they leave; background
//! syncs are the platform's (WorkManager, BGTaskScheduler) calling `sync_now` (docs/mobile.md).

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant};

use super::SharedReplica;
use crate::desk::DeskTransport;
use crate::sync_client::{
    CancelToken, SyncOptions, SyncTransport, TransportError, jittered_backoff,
};

/// Opens the server's push channel and blocks while it is open, calling `notice` for each
/// change notice until `notice` returns `false` or the channel ends.
pub type PushChannel =
    Box<dyn Fn(&mut dyn FnMut() -> bool) -> Result<(), TransportError> + Send + Sync>;

/// The server as the foreground loop needs it: sync rounds and desk commands.
pub trait DriverTransport: Send + Sync {
    /// Where sync rounds go.
    fn sync(&self) -> &dyn SyncTransport;
    /// Where desk commands go.
    fn desk(&self) -> &dyn DeskTransport;
}

impl<T: SyncTransport + DeskTransport + Send + Sync> DriverTransport for T {
    fn sync(&self) -> &dyn SyncTransport {
        self
    }

    fn desk(&self) -> &dyn DeskTransport {
        self
    }
}

/// How the foreground loop paces itself.
#[derive(Clone, Debug)]
pub struct DriverSettings {
    /// Sync at least this often even without news (the push channel may be cut silently).
    pub interval: Duration,
    /// After a local edit, wait this long for more before syncing.
    pub debounce: Duration,
    /// The longest wait after failures in a row.
    pub max_backoff: Duration,
    /// The first wait after a failure; it doubles per failure in a row.
    pub initial_backoff: Duration,
}

impl Default for DriverSettings {
    fn default() -> Self {
        DriverSettings {
            interval: Duration::from_secs(60),
            debounce: Duration::from_millis(300),
            max_backoff: Duration::from_secs(60),
            initial_backoff: Duration::from_secs(1),
        }
    }
}

/// Why the loop should sync again.
#[derive(Default)]
struct Reasons {
    local_change: bool,
    server_news: bool,
    poked: bool,
}

/// What wakes the loop: edits, push notices, stopping.
#[derive(Default)]
pub(crate) struct Wake {
    reasons: Mutex<Reasons>,
    signal: Condvar,
}

impl Wake {
    fn lock(&self) -> MutexGuard<'_, Reasons> {
        // Three flags written whole: a poisoned lock still holds valid ones.
        self.reasons.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn raise(&self, set: impl FnOnce(&mut Reasons)) {
        set(&mut self.lock());
        self.signal.notify_all();
    }

    pub(crate) fn local_change(&self) {
        self.raise(|r| r.local_change = true);
    }

    fn server_news(&self) {
        self.raise(|r| r.server_news = true);
    }

    fn poke(&self) {
        self.raise(|r| r.poked = true);
    }

    /// Forgets reasons raised before a loop started: its first sync covers them.
    fn clear(&self) {
        *self.lock() = Reasons::default();
    }

    /// Waits up to `timeout` for a reason to sync; a local edit is given `debounce` more for
    /// the edits that follow it. Returns early when stopped.
    fn wait(&self, timeout: Duration, debounce: Duration, stop: &CancelToken) {
        let deadline = Instant::now().checked_add(timeout);
        let mut reasons = self.lock();
        loop {
            if stop.is_cancelled() || reasons.server_news || reasons.poked {
                break;
            }
            if reasons.local_change {
                drop(reasons);
                stop.sleep(debounce);
                reasons = self.lock();
                break;
            }
            let left =
                deadline.map_or(Duration::MAX, |d| d.saturating_duration_since(Instant::now()));
            if left.is_zero() {
                break;
            }
            reasons =
                self.signal.wait_timeout(reasons, left).unwrap_or_else(PoisonError::into_inner).0;
        }
        *reasons = Reasons::default();
    }
}

/// The running foreground loop; [`SyncDriver::stop`] ends it. Dropping the handle does not:
/// the replica keeps one loop at most, and starting another or closing the app stops it.
pub struct SyncDriver {
    stop: CancelToken,
    wake: Arc<Wake>,
}

impl SyncDriver {
    /// Stops the loop: a sync under way is cancelled and the loop's threads wind down.
    pub fn stop(&self) {
        self.stop.cancel();
        self.wake.poke();
    }

    /// Whether [`SyncDriver::stop`] was called (or another loop replaced this one).
    pub fn is_stopped(&self) -> bool {
        self.stop.is_cancelled()
    }
}

impl SharedReplica {
    /// Starts the foreground sync loop (see the module documentation), replacing one already
    /// running. `push`, when given, opens the server's push channel on a thread of its own.
    pub fn start_sync(
        self: &Arc<Self>,
        transport: Arc<dyn DriverTransport>,
        options: SyncOptions,
        settings: DriverSettings,
        push: Option<PushChannel>,
    ) -> Arc<SyncDriver> {
        let driver =
            Arc::new(SyncDriver { stop: CancelToken::new(), wake: Arc::clone(&self.wake) });
        let previous =
            self.driver.lock().unwrap_or_else(PoisonError::into_inner).replace(Arc::clone(&driver));
        if let Some(previous) = previous {
            previous.stop();
        }
        self.wake.clear();
        let replica = Arc::downgrade(self);
        if let Some(push) = push {
            let (alive, wake) = (replica.clone(), Arc::clone(&self.wake));
            let (stop, settings) = (driver.stop.clone(), settings.clone());
            let alive = move || alive.strong_count() > 0;
            spawn_push_listener(push, stop, settings, alive, move || wake.server_news());
        }
        let (wake, stop) = (Arc::clone(&self.wake), driver.stop.clone());
        spawn("kam-sync", move || {
            run(&replica, &wake, transport.as_ref(), &options, &settings, &stop)
        });
        driver
    }

    /// Stops the foreground sync loop, if one runs.
    pub fn stop_sync(&self) {
        let running = self.driver.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(running) = running {
            running.stop();
        }
    }
}

fn spawn(name: &str, work: impl FnOnce() + Send + 'static) {
    if let Err(error) = std::thread::Builder::new().name(name.into()).spawn(work) {
        tracing::error!(%error, thread = name, "could not start the sync loop");
    }
}

/// The loop: sync and send, then wait for a reason, until stopped or the replica is closed.
fn run(
    replica: &Weak<SharedReplica>,
    wake: &Wake,
    transport: &dyn DriverTransport,
    options: &SyncOptions,
    settings: &DriverSettings,
    stop: &CancelToken,
) {
    let mut failures: u32 = 0;
    while !stop.is_cancelled() {
        let Some(shared) = replica.upgrade() else { return };
        let synced = shared.sync(transport.sync(), options, stop);
        let ok = match synced {
            Ok(_) => send_desk_commands(&shared, transport),
            Err(crate::sync_client::SyncError::Cancelled) => return,
            Err(error) => {
                tracing::info!(%error, "foreground sync failed; backing off");
                false
            }
        };
        failures = if ok { 0 } else { failures.saturating_add(1) };
        let wait = if ok { settings.interval } else { backoff(settings, failures) };
        // The wait holds the wake alone: an app that closes the replica meanwhile closes it.
        drop(shared);
        wake.wait(wait, settings.debounce, stop);
    }
}

/// Sends the queued desk commands, if any; whether that went well.
fn send_desk_commands(shared: &SharedReplica, transport: &dyn DriverTransport) -> bool {
    match shared.pending_uploads() {
        Ok(pending) if pending.desk_commands == 0 => return true,
        Ok(_) => {}
        Err(error) => {
            tracing::warn!(%error, "could not count the queued desk commands");
            return false;
        }
    }
    match shared.send_desk_commands(transport.desk()) {
        Ok(report) => report.stopped_by.is_none(),
        Err(error) => {
            tracing::warn!(%error, "could not send the queued desk commands");
            false
        }
    }
}

/// Keeps `push` open on a thread of its own, reconnecting after a backoff when it drops, until
/// `stop` is cancelled or `alive` says the listener is gone. `on_notice` runs for every notice
/// and after every reconnect (notices sent while the channel was closed are not replayed).
/// The foreground loop listens this way, and so may an app (`KamServer.watchPushNotices`).
pub fn spawn_push_listener(
    push: PushChannel,
    stop: CancelToken,
    settings: DriverSettings,
    alive: impl Fn() -> bool + Send + 'static,
    on_notice: impl Fn() + Send + 'static,
) {
    spawn("kam-push", move || {
        let mut failures: u32 = 0;
        while !stop.is_cancelled() {
            let opened = Instant::now();
            let result = push(&mut || {
                on_notice();
                alive() && !stop.is_cancelled()
            });
            if let Err(error) = result {
                tracing::info!(%error, "push channel failed; reconnecting later");
            }
            // A channel that stayed open a while was healthy: start the backoff over.
            failures =
                if opened.elapsed() > settings.interval { 1 } else { failures.saturating_add(1) };
            if !alive() || stop.sleep(backoff(&settings, failures)) {
                return;
            }
            on_notice();
        }
    });
}

/// The wait after `failures` in a row (the sync loop's backoff, with the loop's own bounds).
fn backoff(settings: &DriverSettings, failures: u32) -> Duration {
    jittered_backoff(settings.initial_backoff, settings.max_backoff, failures)
}

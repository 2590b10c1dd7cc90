//! Change and status notices, delivered on a thread of the replica's own.
//!
//! Listeners run on the notice thread, never on the caller's (an app's main thread) and never
//! while the replica is held, so a listener may read or edit the replica from inside. A burst
//! of changes (a long download, a stream of edits) refreshes each watch query once.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use serde::Serialize;

use super::status::SyncStatus;
use crate::doc::{DocId, DocKind};
use crate::sync_client::SyncProgress;

/// Where a change came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeOrigin {
    /// An edit on this device.
    Local,
    /// A sync brought it.
    Sync,
    /// The selection desk answered this device's commands.
    Desk,
}

/// What changed in one step (an edit, a sync round, a desk send).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChangeSet {
    /// Where it came from.
    pub origin: ChangeOrigin,
    /// The documents written or removed.
    pub documents: Vec<DocId>,
    /// Whether the desk outbox changed (a command queued, answered or dismissed).
    pub outbox: bool,
}

impl ChangeSet {
    /// Whether a document of one of `kinds` changed.
    pub fn touches(&self, kinds: &[DocKind]) -> bool {
        self.documents.iter().any(|d| kinds.contains(&d.kind()))
    }
}

/// A watch query, refreshed on the notice thread.
pub(crate) trait Refresh: Send + Sync {
    /// Whether `changes` may change its rows.
    fn relevant(&self, changes: &ChangeSet) -> bool;
    /// Runs the query and emits its rows if they differ from the last ones emitted.
    fn refresh(&self);
}

type ChangeFn = dyn Fn(&ChangeSet) + Send + Sync;
type StatusFn = dyn Fn(&SyncStatus) + Send + Sync;
type ProgressFn = dyn Fn(&SyncProgress) + Send + Sync;

/// One kind of listener registered on a replica, each under its id.
struct List<L: ?Sized> {
    entries: Mutex<Vec<(u64, Arc<L>)>>,
}

impl<L: ?Sized> Default for List<L> {
    fn default() -> Self {
        List { entries: Mutex::new(Vec::new()) }
    }
}

impl<L: ?Sized> List<L> {
    /// The listeners now, called outside the list's lock so they may subscribe or cancel.
    fn snapshot(&self) -> Vec<Arc<L>> {
        lock(&self.entries).iter().map(|(_, l)| Arc::clone(l)).collect()
    }
}

/// Everyone listening to one replica.
#[derive(Default)]
pub(crate) struct Subscribers {
    next_id: AtomicU64,
    changes: List<ChangeFn>,
    status: List<StatusFn>,
    progress: List<ProgressFn>,
    watches: List<dyn Refresh>,
}

/// Locks a listener list; the lists are only pushed to and filtered, so a poisoned one is whole.
fn lock<T>(list: &Mutex<T>) -> MutexGuard<'_, T> {
    list.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Ends a subscription when cancelled. Dropping it does NOT end the subscription: when a
/// garbage collector drops a handle must not decide when a screen stops listening. The Kotlin
/// `Flow` and Swift `AsyncStream` wrappers cancel when their collector goes away.
pub struct Subscription {
    cancel: Mutex<Option<Box<dyn FnOnce() + Send>>>,
}

impl Subscription {
    fn new(cancel: impl FnOnce() + Send + 'static) -> Subscription {
        Subscription { cancel: Mutex::new(Some(Box::new(cancel))) }
    }

    /// A subscription of the caller's own, whose cancelling runs `cancel` once.
    pub fn on_cancel(cancel: impl FnOnce() + Send + 'static) -> Subscription {
        Subscription::new(cancel)
    }

    /// Stops the listener: it is not called again once this returns (a call already under
    /// way on the notice thread finishes). Cancelling twice is harmless.
    pub fn cancel(&self) {
        let cancel = lock(&self.cancel).take();
        if let Some(cancel) = cancel {
            cancel();
        }
    }

    /// Whether [`Subscription::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        lock(&self.cancel).is_none()
    }
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription").field("cancelled", &self.is_cancelled()).finish()
    }
}

/// What the notice thread is asked to do.
enum Notice {
    Changes(ChangeSet),
    Status(SyncStatus),
    Progress(SyncProgress),
    /// Work to run after everything announced before it (a new listener's first call).
    Run(Box<dyn FnOnce() + Send>),
}

/// The notice thread's mailbox.
pub(crate) struct Bus {
    sender: Mutex<Sender<Notice>>,
    subscribers: Arc<Subscribers>,
}

impl Bus {
    /// Starts the notice thread; it ends when the bus is dropped.
    pub(crate) fn start() -> Bus {
        let (sender, receiver) = mpsc::channel();
        let subscribers = Arc::new(Subscribers::default());
        let thread_subscribers = Arc::clone(&subscribers);
        let started = std::thread::Builder::new()
            .name("kam-notices".into())
            .spawn(move || run(&receiver, &thread_subscribers));
        if let Err(error) = started {
            // Without the thread, notices queue unread: screens do not refresh by themselves,
            // but every call still works.
            tracing::error!(%error, "could not start the notice thread");
        }
        Bus { sender: Mutex::new(sender), subscribers }
    }

    fn send(&self, notice: Notice) {
        // A closed channel means the thread is gone; there is no one left to tell.
        let _ = lock(&self.sender).send(notice);
    }

    pub(crate) fn changed(&self, changes: ChangeSet) {
        self.send(Notice::Changes(changes));
    }

    pub(crate) fn status(&self, status: SyncStatus) {
        self.send(Notice::Status(status));
    }

    pub(crate) fn progress(&self, progress: SyncProgress) {
        self.send(Notice::Progress(progress));
    }

    pub(crate) fn later(&self, work: Box<dyn FnOnce() + Send>) {
        self.send(Notice::Run(work));
    }

    /// Adds `listener` to the list `of` picks; the subscription removes it.
    fn subscribe<L: ?Sized + 'static>(
        &self,
        of: fn(&Subscribers) -> &List<L>,
        listener: Arc<L>,
    ) -> Subscription {
        let id = self.subscribers.next_id.fetch_add(1, Ordering::Relaxed);
        lock(&of(&self.subscribers).entries).push((id, listener));
        let subscribers: Weak<Subscribers> = Arc::downgrade(&self.subscribers);
        Subscription::new(move || {
            if let Some(subscribers) = subscribers.upgrade() {
                lock(&of(&subscribers).entries).retain(|(i, _)| *i != id);
            }
        })
    }

    pub(crate) fn on_changes(&self, listener: Arc<ChangeFn>) -> Subscription {
        self.subscribe(|s| &s.changes, listener)
    }

    pub(crate) fn on_progress(&self, listener: Arc<ProgressFn>) -> Subscription {
        self.subscribe(|s| &s.progress, listener)
    }

    pub(crate) fn on_status(&self, listener: Arc<StatusFn>, current: SyncStatus) -> Subscription {
        let subscription = self.subscribe(|s| &s.status, Arc::clone(&listener));
        self.later(Box::new(move || listener(&current)));
        subscription
    }

    pub(crate) fn watch(&self, watch: Arc<dyn Refresh>) -> Subscription {
        let subscription = self.subscribe(|s| &s.watches, Arc::clone(&watch));
        self.later(Box::new(move || watch.refresh()));
        subscription
    }
}

/// The notice thread: takes every notice waiting, tells the listeners in order, then
/// refreshes each watch the changes concern once.
fn run(receiver: &Receiver<Notice>, subscribers: &Subscribers) {
    while let Ok(first) = receiver.recv() {
        let mut batch = vec![first];
        batch.extend(receiver.try_iter());
        let mut changes = Vec::new();
        for notice in batch {
            match notice {
                Notice::Changes(set) => {
                    for listener in subscribers.changes.snapshot() {
                        guarded(|| listener(&set));
                    }
                    changes.push(set);
                }
                Notice::Status(status) => {
                    for listener in subscribers.status.snapshot() {
                        guarded(|| listener(&status));
                    }
                }
                Notice::Progress(progress) => {
                    for listener in subscribers.progress.snapshot() {
                        guarded(|| listener(&progress));
                    }
                }
                Notice::Run(work) => guarded(work),
            }
        }
        if changes.is_empty() {
            continue;
        }
        let watches = subscribers.watches.snapshot();
        for watch in watches.iter().filter(|w| changes.iter().any(|c| w.relevant(c))) {
            guarded(|| watch.refresh());
        }
    }
}

/// Runs a listener; one that panics (a bug in a screen) is skipped, not fatal.
fn guarded(call: impl FnOnce()) {
    if catch_unwind(AssertUnwindSafe(call)).is_err() {
        tracing::warn!("a listener panicked; skipped");
    }
}

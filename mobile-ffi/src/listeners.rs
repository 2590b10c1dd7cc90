//! Listeners the apps implement (foreign traits) and the handle that ends a subscription.
//!
//! A subscription lasts until its [`ListenerHandle`] is cancelled or dropped (closed in Kotlin,
//! released in Swift, garbage-collected in Python), so a screen that goes away stops listening
//! with it. Listeners are called on a background thread: post to the UI thread from there.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use kam_core::sync_client::SyncProgress;

use crate::records::ChangeSet;

/// Told after every sync round, e.g. to move a progress bar during a first download.
///
/// Called while the sync holds the replica: do not call the replica from inside, post the
/// progress to the UI thread instead.
#[uniffi::export(foreign)]
pub trait SyncProgressListener: Send + Sync {
    /// One more round is applied.
    fn on_progress(&self, progress: SyncProgress);
}

/// Told when the replica's data changed, so screens can refresh. Called after the change is
/// committed and the replica released, so it may read the replica.
#[uniffi::export(foreign)]
pub trait ChangeListener: Send + Sync {
    /// What changed.
    fn on_change(&self, changes: ChangeSet);
}

/// Ends a subscription: call `cancel`, or drop the handle.
#[derive(uniffi::Object)]
pub struct ListenerHandle {
    cancel: Mutex<Option<Box<dyn FnOnce() + Send>>>,
}

#[uniffi::export]
impl ListenerHandle {
    /// Stops the listener; it is not called again once this returns (a call already under way
    /// on another thread finishes). Cancelling twice is harmless.
    pub fn cancel(&self) {
        // A poisoned lock still holds the closure; cancelling must work regardless.
        let cancel = match self.cancel.lock() {
            Ok(mut slot) => slot.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        if let Some(cancel) = cancel {
            cancel();
        }
    }
}

impl Drop for ListenerHandle {
    fn drop(&mut self) {
        self.cancel();
    }
}

/// The listeners of one kind registered on a replica.
pub(crate) struct Registry<L: ?Sized> {
    next_id: AtomicU64,
    entries: Mutex<Vec<(u64, Arc<L>)>>,
}

impl<L: ?Sized + Send + Sync + 'static> Registry<L> {
    pub(crate) fn new() -> Arc<Registry<L>> {
        Arc::new(Registry { next_id: AtomicU64::new(1), entries: Mutex::new(Vec::new()) })
    }

    /// Adds `listener` and returns the handle that removes it.
    pub(crate) fn add(self: &Arc<Self>, listener: Arc<L>) -> Arc<ListenerHandle> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.with_entries(|entries| entries.push((id, listener)));
        // Weak: a handle outliving its replica must not keep the replica's registry alive.
        let registry: Weak<Registry<L>> = Arc::downgrade(self);
        let cancel = move || {
            if let Some(registry) = registry.upgrade() {
                registry.with_entries(|entries| entries.retain(|(i, _)| *i != id));
            }
        };
        Arc::new(ListenerHandle { cancel: Mutex::new(Some(Box::new(cancel))) })
    }

    /// Calls `notify` for every listener, outside the registry's lock so a listener may
    /// subscribe or cancel from inside. A listener that throws (a panic here) is skipped: a
    /// bug in a screen must not fail the sync or poison the replica.
    pub(crate) fn notify(&self, notify: impl Fn(&L)) {
        let listeners: Vec<Arc<L>> =
            self.with_entries(|entries| entries.iter().map(|(_, l)| Arc::clone(l)).collect());
        for listener in listeners {
            let _ = catch_unwind(AssertUnwindSafe(|| notify(&listener)));
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.with_entries(|entries| entries.len())
    }

    fn with_entries<T>(&self, f: impl FnOnce(&mut Vec<(u64, Arc<L>)>) -> T) -> T {
        // The list is only ever pushed to and filtered; a panic elsewhere cannot leave it
        // half-written, so a poisoned lock is safe to use.
        let mut entries = match self.entries.lock() {
            Ok(entries) => entries,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut entries)
    }
}

/// The listeners of one replica.
pub(crate) struct Listeners {
    pub(crate) progress: Arc<Registry<dyn SyncProgressListener>>,
    pub(crate) changes: Arc<Registry<dyn ChangeListener>>,
}

impl Listeners {
    pub(crate) fn new() -> Listeners {
        Listeners { progress: Registry::new(), changes: Registry::new() }
    }

    pub(crate) fn changed(&self, changes: ChangeSet) {
        self.changes.notify(|l| l.on_change(changes.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::ChangeOrigin;

    struct Counter(AtomicU64);

    impl ChangeListener for Counter {
        fn on_change(&self, _: ChangeSet) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    struct Throws;

    impl ChangeListener for Throws {
        fn on_change(&self, _: ChangeSet) {
            panic!("a screen's bug");
        }
    }

    #[test]
    fn a_cancelled_or_dropped_handle_stops_its_listener_and_a_throwing_one_is_skipped() {
        let listeners = Listeners::new();
        let counter = Arc::new(Counter(AtomicU64::new(0)));
        let kept = listeners.changes.add(counter.clone());
        let dropped = listeners.changes.add(counter.clone());
        let _throws = listeners.changes.add(Arc::new(Throws));
        let change = || ChangeSet { origin: ChangeOrigin::Local, documents: vec![] };
        listeners.changed(change());
        assert_eq!(counter.0.load(Ordering::Relaxed), 2);
        drop(dropped);
        listeners.changed(change());
        assert_eq!(counter.0.load(Ordering::Relaxed), 3);
        kept.cancel();
        kept.cancel();
        listeners.changed(change());
        assert_eq!(counter.0.load(Ordering::Relaxed), 3);
        assert_eq!(listeners.changes.len(), 1, "only the throwing listener is left");
    }
}

//! Listeners the apps implement (foreign traits) and the handle that ends a subscription or
//! a task.
//!
//! Every listener is called on the replica's notice thread — never on the caller's thread and
//! never while the replica is held — so it may read or edit the replica from inside; post to
//! the UI thread from there. A subscription lasts until its [`TaskHandle`] is cancelled:
//! dropping the handle (garbage collection in Kotlin and Python, release in Swift) does not
//! end it, so when a collector runs cannot decide when a screen stops listening. The Kotlin
//! `Flow` and Swift `AsyncStream` wrappers shipped beside the bindings cancel for you.

use std::sync::{Arc, Mutex, PoisonError};

use kam_core::desk::UnitOnTable;
use kam_core::replica::{CustomerRow, ReplicaError, TicketRow, VisitDueRow};
use kam_core::shared::{SharedReplica, Subscription, SyncDriver, SyncStatus};
use kam_core::sync_client::SyncProgress;

use crate::error::KamError;
use crate::records::ChangeSet;

/// Told after every sync round, e.g. to move a progress bar during a first download.
#[uniffi::export(foreign)]
pub trait SyncProgressListener: Send + Sync {
    /// One more round is applied.
    fn on_progress(&self, progress: SyncProgress);
}

/// Told when the replica's data changed: which documents, and whether the desk outbox did.
#[uniffi::export(foreign)]
pub trait ChangeListener: Send + Sync {
    /// What changed.
    fn on_change(&self, changes: ChangeSet);
}

/// Told the sync status: at once, then at every change of it.
#[uniffi::export(foreign)]
pub trait SyncStatusListener: Send + Sync {
    /// The status now.
    fn on_status(&self, status: SyncStatus);
}

/// Declares a listener for a watched list screen.
macro_rules! rows_listener {
    ($(#[$doc:meta])* $name:ident, $row:ty) => {
        $(#[$doc])*
        #[uniffi::export(foreign)]
        pub trait $name: Send + Sync {
            /// The rows now: first at once, then whenever they change.
            fn on_rows(&self, rows: Vec<$row>);
            /// The query failed (the rows last given stand).
            fn on_error(&self, error: KamError);
        }

        impl RowsSink<$row> for dyn $name {
            fn rows(&self, rows: Vec<$row>) {
                self.on_rows(rows);
            }

            fn error(&self, error: KamError) {
                self.on_error(error);
            }
        }
    };
}

/// What every rows listener is to a watch: where its rows or its error go.
pub(crate) trait RowsSink<T>: Send + Sync {
    fn rows(&self, rows: Vec<T>);
    fn error(&self, error: KamError);
}

/// Watches `query` on `replica` for `listener` (see `SharedReplica::watch`): the one way every
/// list screen's watch is made.
pub(crate) fn watch_rows<T, L>(
    replica: &Arc<SharedReplica>,
    relevant: fn(&kam_core::shared::ChangeSet) -> bool,
    query: impl Fn(&SharedReplica) -> Result<Vec<T>, ReplicaError> + Send + Sync + 'static,
    listener: Arc<L>,
) -> Arc<TaskHandle>
where
    T: Clone + PartialEq + Send + 'static,
    L: RowsSink<T> + ?Sized + 'static,
{
    let emit = move |rows: Result<Vec<T>, ReplicaError>| match rows {
        Ok(rows) => listener.rows(rows),
        Err(e) => listener.error(e.into()),
    };
    TaskHandle::subscription(replica.watch(relevant, query, emit))
}

rows_listener!(
    /// Watches a list of customers (`watch_my_customers`, `watch_search_customers`).
    CustomerRowsListener,
    CustomerRow
);
rows_listener!(
    /// Watches the visits due (`watch_visits_due`).
    VisitRowsListener,
    VisitDueRow
);
rows_listener!(
    /// Watches the open tickets by urgency (`watch_open_tickets`).
    TicketRowsListener,
    TicketRow
);
rows_listener!(
    /// Watches an event's control table (`watch_control_table`).
    ControlTableListener,
    UnitOnTable
);

/// What a handle stops.
enum Task {
    Subscription(Subscription),
    Sync(Arc<SyncDriver>),
}

/// Ends a subscription or a running task (the foreground sync): call `cancel`. Dropping the
/// handle does not end it (see the module documentation).
#[derive(uniffi::Object)]
pub struct TaskHandle {
    task: Mutex<Option<Task>>,
}

impl TaskHandle {
    pub(crate) fn subscription(subscription: Subscription) -> Arc<TaskHandle> {
        Arc::new(TaskHandle { task: Mutex::new(Some(Task::Subscription(subscription))) })
    }

    pub(crate) fn sync(driver: Arc<SyncDriver>) -> Arc<TaskHandle> {
        Arc::new(TaskHandle { task: Mutex::new(Some(Task::Sync(driver))) })
    }
}

#[uniffi::export]
impl TaskHandle {
    /// Stops it: a listener is not called again once this returns (a call already under way
    /// finishes); a foreground sync stops at once. Cancelling twice is harmless.
    pub fn cancel(&self) {
        let task = self.task.lock().unwrap_or_else(PoisonError::into_inner).take();
        match task {
            Some(Task::Subscription(subscription)) => subscription.cancel(),
            Some(Task::Sync(driver)) => driver.stop(),
            None => {}
        }
    }

    /// Whether `cancel` was called (or, for a foreground sync, another one replaced it).
    pub fn is_finished(&self) -> bool {
        match &*self.task.lock().unwrap_or_else(PoisonError::into_inner) {
            None => true,
            Some(Task::Subscription(subscription)) => subscription.is_cancelled(),
            Some(Task::Sync(driver)) => driver.is_stopped(),
        }
    }
}

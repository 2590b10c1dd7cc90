//! The replica as an app uses it: shared between threads, never waiting on the network,
//! observable (ADR 0022).
//!
//! A [`SharedReplica`] owns the device's replica file and everything around it:
//!
//! * **a writer and readers.** Edits and sync answers go through one writer connection, held
//!   only for the step (an edit, applying one answer); list screens read through their own
//!   read-only connections, so they answer while a sync waits on the network or applies an
//!   answer (WAL). A sync or desk send borrows the writer per step ([`LendReplica`]).
//! * **cancellable syncs**, one at a time per replica, each under a [`CancelToken`].
//! * **notices** on a thread of the replica's own ([`ChangeSet`] with the documents that
//!   changed, [`SyncStatus`]), so listeners never run on the caller's thread and may call
//!   back into the replica; **watch queries** re-run when their rows may have changed.
//! * **one handle per file**: opening a file this process has open returns the same replica;
//!   another process holding it open is refused (`registry`).
//!
//! The foreground sync loop that keeps a device in sync while its app is open is in `driver`.

mod bus;
mod driver;
mod registry;
mod status;
mod watch;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use chrono::Utc;
use serde::Serialize;

pub use bus::{ChangeOrigin, ChangeSet, Subscription};
pub use driver::{DriverSettings, DriverTransport, PushChannel, SyncDriver, spawn_push_listener};
pub use status::SyncStatus;

use crate::doc::DocId;
use crate::policy::Policy;
use crate::replica::ReplicaReader;
use crate::replica::{LendReplica, ReaderPool, Replica, ReplicaError, ReplicaOptions};
use crate::sync_client::{
    CancelToken, SyncError, SyncEvent, SyncOptions, SyncProgress, SyncReport, SyncTransport,
};
use bus::Bus;
use status::StatusBoard;
use watch::Watch;

/// What waits to be sent to the server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PendingUploads {
    /// Documents holding changes the server may not have yet.
    pub documents: u64,
    /// Desk commands waiting for an answer.
    pub desk_commands: u64,
}

/// A device's replica shared between threads. See the module documentation.
pub struct SharedReplica {
    writer: Mutex<Replica>,
    readers: ReaderPool,
    policy: Policy,
    path: PathBuf,
    installation: String,
    bus: Bus,
    status: StatusBoard,
    /// Held for the whole of a sync: one at a time per replica.
    sync_gate: Mutex<()>,
    /// Wakes the foreground sync loop when there is something to send.
    wake: Arc<driver::Wake>,
    /// The foreground sync loop that runs, if one does.
    driver: Mutex<Option<Arc<SyncDriver>>>,
    /// The advisory lock that keeps other processes out, held while the replica is open.
    _lock: File,
}

impl std::fmt::Debug for SharedReplica {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedReplica").field("path", &self.path).finish_non_exhaustive()
    }
}

impl SharedReplica {
    /// Opens (creating or upgrading) the replica file at `path`, or returns the replica this
    /// process already has open there. Another process holding it is [`ReplicaError::InUse`].
    pub fn open(
        path: impl AsRef<Path>,
        options: ReplicaOptions,
    ) -> Result<Arc<SharedReplica>, ReplicaError> {
        let identity = registry::identity(path.as_ref())?;
        let key = options.encryption_key.clone();
        let replica = registry::open_once(&identity, || {
            let lock = registry::lock_file(&identity)?;
            let replica = Replica::open(&identity, options.clone())?;
            let readers = ReaderPool::open(&identity, |conn| replica.prepare_reader(conn))?;
            let installation = replica.installation_id().to_owned();
            Ok(Arc::new(SharedReplica {
                writer: Mutex::new(replica),
                readers,
                policy: options.policy,
                path: identity.clone(),
                installation,
                bus: Bus::start(),
                status: StatusBoard::new(),
                sync_gate: Mutex::new(()),
                wake: Arc::default(),
                driver: Mutex::new(None),
                _lock: lock,
            }))
        })?;
        // The replica already open here must not be handed to a caller without its key.
        if !replica.with_replica(|r| Ok(r.encryption_key() == key.as_ref()))? {
            return Err(ReplicaError::WrongKey);
        }
        Ok(replica)
    }

    /// The replica file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// This replica file's installation id, which binds it to its enrolled device at its
    /// first sync (ADR 0022): sent with every request to the server.
    pub fn installation_id(&self) -> &str {
        &self.installation
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Runs `read` on a read-only connection: never waits for a sync or an edit.
    pub fn read<T>(
        &self,
        read: impl FnOnce(&ReplicaReader, &Policy) -> Result<T, ReplicaError>,
    ) -> Result<T, ReplicaError> {
        self.readers.read(|reader| read(reader, &self.policy))
    }

    /// Runs `step` on the replica itself (document reads use its cache), waiting at most for
    /// an edit or one sync answer being applied. Tells no one: use [`SharedReplica::edit`]
    /// for changes.
    pub fn with_replica<T>(
        &self,
        step: impl FnOnce(&mut Replica) -> Result<T, ReplicaError>,
    ) -> Result<T, ReplicaError> {
        self.writer.with_replica(step)
    }

    /// Runs one user action and then tells the listeners that `documents` changed (and the
    /// outbox, if `outbox`), on the notice thread.
    pub fn edit<T>(
        &self,
        documents: Vec<DocId>,
        outbox: bool,
        action: impl FnOnce(&mut Replica) -> Result<T, ReplicaError>,
    ) -> Result<T, ReplicaError> {
        let value = self.writer.with_replica(action)?;
        self.bus.changed(ChangeSet { origin: ChangeOrigin::Local, documents, outbox });
        self.wake.local_change();
        Ok(value)
    }

    /// Runs one user action that creates a document whose id the action itself makes (a new
    /// lead, a survey taken), then tells the listeners about that document, as
    /// [`SharedReplica::edit`] does.
    pub fn create<T>(
        &self,
        action: impl FnOnce(&mut Replica) -> Result<T, ReplicaError>,
        created: impl FnOnce(&T) -> DocId,
    ) -> Result<T, ReplicaError> {
        let value = self.writer.with_replica(action)?;
        let documents = vec![created(&value)];
        self.bus.changed(ChangeSet { origin: ChangeOrigin::Local, documents, outbox: false });
        self.wake.local_change();
        Ok(value)
    }

    /// Encrypts the replica under `new_key` instead of its current key (see
    /// [`Replica::rekey`]); the readers are closed meanwhile and reopened under the new key.
    pub fn rekey(&self, new_key: &crate::replica::EncryptionKey) -> Result<(), ReplicaError> {
        self.writer.with_replica(|replica| {
            let prepare =
                |conn: &rusqlite::Connection| crate::replica::apply_key(conn, Some(new_key));
            self.readers.reopen_after(&self.path, || replica.rekey(new_key), prepare)
        })
    }

    /// What waits to be sent.
    pub fn pending_uploads(&self) -> Result<PendingUploads, ReplicaError> {
        self.read(|reader, _| {
            Ok(PendingUploads {
                documents: reader.pending_push_count()?,
                desk_commands: reader.pending_command_count()?,
            })
        })
    }

    /// Where syncing stands now.
    pub fn sync_status(&self) -> SyncStatus {
        self.status.current()
    }

    fn set_status(&self, next: Option<SyncStatus>) {
        if let Some(next) = next {
            self.bus.status(next);
        }
    }

    /// Syncs with the server behind `transport` until both sides are quiet (see
    /// [`crate::sync_client::sync_with`]): the writer is held only while an answer is
    /// applied, each round's documents are announced as it lands, the status moves through
    /// connecting / downloading / uploading / offline, and `cancel` stops it at once. A
    /// second sync of the same replica waits for the first.
    pub fn sync(
        &self,
        transport: &dyn SyncTransport,
        options: &SyncOptions,
        cancel: &CancelToken,
    ) -> Result<SyncReport, SyncError> {
        let _one_at_a_time = self.sync_gate.lock().unwrap_or_else(PoisonError::into_inner);
        let result =
            crate::sync_client::sync_with(&self.writer, transport, options, cancel, &mut |event| {
                self.observe(event);
            });
        self.set_status(self.status.after(&result, Utc::now()));
        result
    }

    /// Moves the status with a sync's events and announces each applied round's documents.
    fn observe(&self, event: SyncEvent<'_>) {
        let next = match event {
            SyncEvent::Sending { attempt: 1 } => match self.status.current() {
                SyncStatus::Downloading { .. } | SyncStatus::Uploading { .. } => None,
                _ => Some(SyncStatus::Connecting),
            },
            SyncEvent::Sending { .. } => None,
            SyncEvent::AttemptFailed { error, .. } if error.is_retryable() => {
                Some(self.status.offline(error, Utc::now()))
            }
            SyncEvent::AttemptFailed { .. } => None,
            SyncEvent::Applied { progress: p, outcome, more, pending_push } => {
                self.bus.progress(p.clone());
                if !outcome.changed.is_empty() {
                    let documents = outcome.changed.clone();
                    self.bus.changed(ChangeSet {
                        origin: ChangeOrigin::Sync,
                        documents,
                        outbox: false,
                    });
                }
                Some(if more || p.documents_remaining > 0 {
                    SyncStatus::Downloading {
                        documents_received: p.documents_received,
                        documents_remaining: p.documents_remaining,
                    }
                } else if pending_push > 0 {
                    SyncStatus::Uploading { pending: pending_push }
                } else {
                    SyncStatus::Connecting
                })
            }
        };
        if let Some(next) = next {
            self.set_status(self.status.set(next));
        }
    }

    /// Sends the desk commands queued on this device (see [`crate::desk::send_pending`]),
    /// holding the writer only to record each attempt and answer, then announces the
    /// answers: the control table shows them at once.
    pub fn send_desk_commands(
        &self,
        transport: &dyn crate::desk::DeskTransport,
    ) -> Result<crate::desk::SendReport, ReplicaError> {
        let report = crate::desk::send_pending(&self.writer, transport, Utc::now())?;
        if !report.answered_events.is_empty() {
            let documents = report
                .answered_events
                .iter()
                .map(|event| DocId::new(crate::doc::DocKind::Event, event.as_str()))
                .collect();
            self.bus.changed(ChangeSet { origin: ChangeOrigin::Desk, documents, outbox: true });
        }
        Ok(report)
    }

    /// Runs `work` on the notice thread after every notice sent before it: for an app's
    /// callback that must not run on a sync's thread (a progress bar).
    pub fn later(&self, work: impl FnOnce() + Send + 'static) {
        self.bus.later(Box::new(work));
    }

    /// Calls `listener` on the notice thread after every change, until cancelled.
    pub fn on_changes(
        &self,
        listener: impl Fn(&ChangeSet) + Send + Sync + 'static,
    ) -> Subscription {
        self.bus.on_changes(Arc::new(listener))
    }

    /// Calls `listener` on the notice thread after every round of every sync, until cancelled.
    pub fn on_progress(
        &self,
        listener: impl Fn(&SyncProgress) + Send + Sync + 'static,
    ) -> Subscription {
        self.bus.on_progress(Arc::new(listener))
    }

    /// Calls `listener` with the current status, then with every change of it, on the
    /// notice thread, until cancelled.
    pub fn on_status(
        &self,
        listener: impl Fn(&SyncStatus) + Send + Sync + 'static,
    ) -> Subscription {
        self.bus.on_status(Arc::new(listener), self.status.current())
    }

    /// Runs `query` now and again after every change `relevant` says may alter its rows,
    /// calling `emit` with its rows whenever they differ from the last ones (and with an
    /// error if the query fails), on the notice thread, until cancelled.
    pub fn watch<T>(
        self: &Arc<Self>,
        relevant: fn(&ChangeSet) -> bool,
        query: impl Fn(&SharedReplica) -> Result<T, ReplicaError> + Send + Sync + 'static,
        emit: impl Fn(Result<T, ReplicaError>) + Send + Sync + 'static,
    ) -> Subscription
    where
        T: Clone + PartialEq + Send + 'static,
    {
        // Weak: a watch must not keep its replica open.
        let replica: Weak<SharedReplica> = Arc::downgrade(self);
        let query = move || replica.upgrade().map(|r| query(&r)).transpose();
        self.bus.watch(Arc::new(Watch::new(relevant, query, emit)))
    }
}

#[cfg(test)]
mod tests;

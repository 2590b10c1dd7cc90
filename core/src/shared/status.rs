//! The sync status a status line shows, as a stream of states.

use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::sync_client::{SyncError, TransportError};

/// Where syncing stands. Listeners hear every change of state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SyncStatus {
    /// Not syncing; `last_synced_at` is when the last sync finished, if any did.
    Idle {
        /// When the last sync ended quiet.
        last_synced_at: Option<DateTime<Utc>>,
    },
    /// A round is on its way to the server.
    Connecting,
    /// The server is sending what it has, in batches.
    Downloading {
        /// Documents received whole so far in this sync.
        documents_received: u64,
        /// Documents the server says are still waiting.
        documents_remaining: u64,
    },
    /// This device is sending its changes.
    Uploading {
        /// Documents and desk commands waiting to be sent.
        pending: u64,
    },
    /// The server cannot be reached; syncing resumes when it can.
    Offline {
        /// Since when.
        since: DateTime<Utc>,
        /// The last network error.
        last_error: String,
    },
    /// The last sync failed for a reason other than the network (refused, local storage).
    Error {
        /// What went wrong.
        message: String,
        /// When.
        at: DateTime<Utc>,
    },
}

/// The current status, and what moving to another one tells the listeners.
pub(crate) struct StatusBoard {
    state: Mutex<Board>,
}

struct Board {
    current: SyncStatus,
    last_synced_at: Option<DateTime<Utc>>,
}

impl StatusBoard {
    pub(crate) fn new() -> StatusBoard {
        StatusBoard {
            state: Mutex::new(Board {
                current: SyncStatus::Idle { last_synced_at: None },
                last_synced_at: None,
            }),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Board) -> T) -> T {
        // The board is written whole; a poisoned lock still holds a valid one.
        f(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner))
    }

    pub(crate) fn current(&self) -> SyncStatus {
        self.with(|b| b.current.clone())
    }

    /// Moves to `next`; returns it if that is a change the listeners must hear.
    pub(crate) fn set(&self, next: SyncStatus) -> Option<SyncStatus> {
        self.with(|board| {
            if board.current == next {
                return None;
            }
            board.current = next.clone();
            Some(next)
        })
    }

    /// The state after a sync ended with `result` at `now`.
    pub(crate) fn after<T>(
        &self,
        result: &Result<T, SyncError>,
        now: DateTime<Utc>,
    ) -> Option<SyncStatus> {
        let next = match result {
            Ok(_) => {
                self.with(|b| b.last_synced_at = Some(now));
                SyncStatus::Idle { last_synced_at: Some(now) }
            }
            Err(SyncError::Cancelled) => match self.current() {
                offline @ SyncStatus::Offline { .. } => offline,
                _ => SyncStatus::Idle { last_synced_at: self.with(|b| b.last_synced_at) },
            },
            Err(SyncError::Transport(error @ TransportError::Network(_))) => {
                self.offline(error, now)
            }
            Err(error) => SyncStatus::Error { message: error.to_string(), at: now },
        };
        self.set(next)
    }

    /// Offline since the first failure in a row, with the latest error.
    pub(crate) fn offline(&self, error: &TransportError, now: DateTime<Utc>) -> SyncStatus {
        let since = match self.current() {
            SyncStatus::Offline { since, .. } => since,
            _ => now,
        };
        SyncStatus::Offline { since, last_error: error.to_string() }
    }
}

//! Noticing that a credential ended, so the streams it opened end too.
//!
//! A device is revoked from the command line (`kam-server admin revoke`, another process) or
//! a session ends by signing out (this process). Either way an open event stream must stop
//! within a second. The watcher reads a fingerprint of everything that ends credentials or
//! narrows what one may see (revoked devices, disabled users, sessions, grants and their
//! revocations) a few times a second; when it changes, or when this process ends a session
//! itself, the *auth epoch* moves on. Every stream waits on the epoch and checks its own
//! credential again when it moves — one cheap query per stream per change, none otherwise.

use std::time::Duration;

use tokio::sync::watch;

use crate::http::AppState;

/// How often the watcher reads the fingerprint.
pub const WATCH_PERIOD: Duration = Duration::from_millis(250);

/// The fingerprint the watcher compares.
type Fingerprint = [i64; 6];

/// The auth epoch: a counter that moves whenever a credential may have ended.
#[derive(Debug)]
pub struct AuthEpoch {
    sender: watch::Sender<u64>,
}

impl Default for AuthEpoch {
    fn default() -> Self {
        AuthEpoch { sender: watch::channel(0).0 }
    }
}

impl AuthEpoch {
    /// Moves the epoch on: every stream checks its credential again.
    pub fn bump(&self) {
        self.sender.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A receiver that wakes when the epoch moves.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.sender.subscribe()
    }
}

/// Runs the watcher until the runtime stops. A failed read is logged and retried; it never
/// bumps the epoch by itself.
pub async fn watch_credentials(state: AppState) {
    let mut last: Option<Fingerprint> = None;
    let beat = state.health.beat("auth_watcher");
    let mut tick = tokio::time::interval(WATCH_PERIOD);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        beat.tick();
        let read = state
            .readers()
            .read(|conns| {
                conns.db().credentials_fingerprint().map_err(crate::error::ServerError::from)
            })
            .await;
        match read {
            Ok(now) => {
                if last.is_some_and(|before| before != now) {
                    state.edge().tokens.forget_all();
                    state.edge().epoch.bump();
                }
                last = Some(now);
            }
            Err(error) => tracing::warn!(%error, "credential watcher could not read"),
        }
    }
}

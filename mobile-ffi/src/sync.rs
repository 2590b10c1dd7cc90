//! Talking to the server: document sync and sending the desk commands queued offline. Both are
//! blocking HTTP in the core, so the async functions here run them on tokio's blocking pool
//! and the app's UI thread never waits on the network.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use kam_core::desk::{self, DeskCommand};
use kam_core::sync_client::http::HttpTransport;
use kam_core::sync_client::{self, SyncOptions, SyncReport};

use crate::error::KamError;
use crate::records::{ChangeOrigin, ChangeSet, DeskAnswer, DeskSendReport};
use crate::replica::KamReplica;

/// How hard a sync tries before giving up. The defaults suit a tablet on venue Wi-Fi.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncSettings {
    /// Attempts per round before a lost connection is reported as `KamError.Network`.
    #[uniffi(default = 8)]
    pub max_attempts: u32,
    /// The first wait before a retry; it doubles each time, with jitter.
    #[uniffi(default = 200)]
    pub initial_backoff_ms: u64,
    /// The longest wait between retries.
    #[uniffi(default = 10000)]
    pub max_backoff_ms: u64,
    /// How long one request may take end to end.
    #[uniffi(default = 30000)]
    pub request_timeout_ms: u64,
    /// Send the full manifest first: after restoring the replica from a backup.
    #[uniffi(default = false)]
    pub recover: bool,
}

/// The server a device syncs with, and the device's token.
#[derive(uniffi::Object)]
pub struct KamServer {
    transport: HttpTransport,
    options: SyncOptions,
}

#[uniffi::export]
impl KamServer {
    /// The server at `base_url` (e.g. `https://kam.example.com`), as the device enrolled with
    /// `device_token`. The token is only ever sent in the `Authorization` header. `settings`
    /// defaults to `SyncSettings()`.
    #[uniffi::constructor(default(settings))]
    pub fn new(base_url: String, device_token: String, settings: SyncSettings) -> Arc<KamServer> {
        let transport = HttpTransport::new(&base_url, &device_token)
            .with_timeout(Duration::from_millis(settings.request_timeout_ms));
        let options = SyncOptions {
            max_attempts: settings.max_attempts.max(1),
            initial_backoff: Duration::from_millis(settings.initial_backoff_ms),
            max_backoff: Duration::from_millis(settings.max_backoff_ms),
            recover: settings.recover,
            ..SyncOptions::default()
        };
        Arc::new(KamServer { transport, options })
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl KamServer {
    /// Sends one desk command straight to the desk and returns its answer: for commands that
    /// carry ID numbers (the identity check at the desk, list imports), which are never queued
    /// on a device. Fails with `KamError.Network` when offline; the person retries.
    pub async fn send_desk_command_online(
        self: Arc<Self>,
        event_id: String,
        command: DeskCommand,
    ) -> Result<DeskAnswer, KamError> {
        let answer = tokio::task::spawn_blocking(move || {
            desk::send_online(&self.transport, &event_id, &command).map_err(KamError::from)
        })
        .await??;
        Ok(answer.into())
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl KamReplica {
    /// Syncs with `server` until both sides are quiet, telling the progress listeners after
    /// every round and the change listeners at the end if anything arrived.
    ///
    /// The replica is busy for the whole sync: other calls wait for it to finish.
    pub async fn sync_now(self: Arc<Self>, server: Arc<KamServer>) -> Result<SyncReport, KamError> {
        let this = Arc::clone(&self);
        let report = tokio::task::spawn_blocking(move || {
            let mut replica = this.replica()?;
            let progress = &this.listeners.progress;
            sync_client::sync_now(&mut replica, &server.transport, &server.options, &mut |p| {
                progress.notify(|l| l.on_progress(p.clone()));
            })
            .map_err(KamError::from)
        })
        .await??;
        if report.messages_received + report.snapshots_received + report.removed > 0 {
            self.listeners.changed(ChangeSet { origin: ChangeOrigin::Sync, documents: vec![] });
        }
        Ok(report)
    }

    /// Sends every desk command queued on this device, oldest first, under the keys stored
    /// when they were queued, and records each answer (accepted, or refused with its reason).
    ///
    /// If the connection fails part way, the rest stay pending and the call fails with
    /// `KamError.Network` (or `Unauthorized`); the answers already received are kept.
    pub async fn send_desk_commands(
        self: Arc<Self>,
        server: Arc<KamServer>,
    ) -> Result<DeskSendReport, KamError> {
        let this = Arc::clone(&self);
        let report = tokio::task::spawn_blocking(move || {
            let mut replica = this.replica()?;
            desk::send_pending(&mut replica, &server.transport, Utc::now()).map_err(KamError::from)
        })
        .await??;
        if report.accepted + report.rejected > 0 {
            self.listeners.changed(ChangeSet { origin: ChangeOrigin::Desk, documents: vec![] });
        }
        match report.stopped_by {
            Some(error) => Err(error.into()),
            None => Ok(DeskSendReport {
                accepted: report.accepted,
                rejected: report.rejected,
                still_pending: report.still_pending,
            }),
        }
    }
}

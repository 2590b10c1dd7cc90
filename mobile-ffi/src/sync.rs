//! Talking to the server: document sync, the foreground sync loop, the push channel and
//! sending the desk commands queued offline. The core's network calls block, so the async
//! functions here run them on tokio's blocking pool; none holds the replica while it waits on
//! the network, and cancelling the calling coroutine or task cancels the sync at once.

use std::sync::Arc;
use std::time::Duration;

use kam_core::desk::{self, DeskCommand};
use kam_core::shared::{DriverSettings, PushChannel, Subscription, spawn_push_listener};
use kam_core::sync_client::http::{ChangeNotice, HttpTransport, WatchControl, watch_changes};
use kam_core::sync_client::{CancelToken, SyncOptions, SyncReport};

use crate::error::KamError;
use crate::listeners::TaskHandle;
use crate::records::{DeskAnswer, DeskSendReport};
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
    /// How long one request may take end to end (connecting alone: at most 2 seconds).
    #[uniffi(default = 30000)]
    pub request_timeout_ms: u64,
    /// Send the full manifest first: after restoring the replica from a backup.
    #[uniffi(default = false)]
    pub recover: bool,
    /// The foreground loop (`start_sync`) syncs at least this often without news.
    #[uniffi(default = 60000)]
    pub foreground_interval_ms: u64,
}

/// Told each change notice the server pushes (`KamServer.watch_push_notices`).
#[uniffi::export(foreign)]
pub trait PushNoticeListener: Send + Sync {
    /// The server's change cursor after the changes, and the changed documents as
    /// `kind/id` (only those this device may see).
    fn on_notice(&self, cursor: u64, documents: Vec<String>);
}

/// The server a device syncs with, and the device's token.
#[derive(uniffi::Object)]
pub struct KamServer {
    transport: HttpTransport,
    options: SyncOptions,
    driver: DriverSettings,
    base_url: String,
    device_token: String,
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
        let driver = DriverSettings {
            interval: Duration::from_millis(settings.foreground_interval_ms.max(1_000)),
            ..DriverSettings::default()
        };
        Arc::new(KamServer { transport, options, driver, base_url, device_token })
    }

    /// Calls `listener` for each change notice the server pushes, on a thread of its own,
    /// reconnecting after a backoff when the channel drops (the foreground loop's listener),
    /// until the handle is cancelled.
    pub fn watch_push_notices(&self, listener: Arc<dyn PushNoticeListener>) -> Arc<TaskHandle> {
        let stop = CancelToken::new();
        let channel = self.push_channel_with(
            None,
            Box::new(move |n: ChangeNotice| {
                listener.on_notice(n.cursor, n.docs);
            }),
        );
        spawn_push_listener(channel, stop.clone(), self.driver.clone(), || true, || {});
        TaskHandle::subscription(Subscription::on_cancel(move || stop.cancel()))
    }
}

impl KamServer {
    /// The transport as the replica whose installation is `installation`.
    fn transport_for(&self, installation: &str) -> HttpTransport {
        self.transport.clone().with_installation(installation)
    }

    /// The push channel (as `installation`, when given), telling `each` every notice; its
    /// caller's check stops it.
    fn push_channel_with(
        &self,
        installation: Option<String>,
        each: Box<dyn Fn(ChangeNotice) + Send + Sync>,
    ) -> PushChannel {
        let (base_url, token) = (self.base_url.clone(), self.device_token.clone());
        Box::new(move |keep_going: &mut dyn FnMut() -> bool| {
            watch_changes(&base_url, &token, installation.as_deref(), &mut |notice| {
                each(notice);
                if keep_going() { WatchControl::Continue } else { WatchControl::Stop }
            })
        })
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

/// Cancels a sync when the future running it is dropped: the app's coroutine or task was
/// cancelled.
struct CancelOnDrop(CancelToken);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

#[uniffi::export]
impl KamReplica {
    /// Keeps this device in sync with `server` while the app is in the foreground: syncs now,
    /// then whenever the server pushes news or a local edit waits to be sent (and at least
    /// every `foreground_interval_ms`), sending queued desk commands too; offline, it backs
    /// off without holding anything. Watch `watch_sync_status` for where it stands. Cancel
    /// the handle when the app leaves the foreground (starting again replaces the loop).
    pub fn start_sync(&self, server: Arc<KamServer>) -> Arc<TaskHandle> {
        let installation = self.shared.installation_id();
        let push = server.push_channel_with(Some(installation.to_owned()), Box::new(|_| {}));
        let transport = Arc::new(server.transport_for(installation));
        let driver = self.shared.start_sync(
            transport,
            server.options.clone(),
            server.driver.clone(),
            Some(push),
        );
        TaskHandle::sync(driver)
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl KamReplica {
    /// Syncs with `server` until both sides are quiet, telling the progress listeners after
    /// every round and the change listeners and watch queries as each round lands.
    ///
    /// Reads and edits go on meanwhile. Cancelling the calling coroutine (or Swift task)
    /// cancels the sync at once; what it already applied stays, the rest comes next time.
    pub async fn sync_now(self: Arc<Self>, server: Arc<KamServer>) -> Result<SyncReport, KamError> {
        let cancel = CancelToken::new();
        let _cancel_on_drop = CancelOnDrop(cancel.clone());
        let report = tokio::task::spawn_blocking(move || {
            let transport = server.transport_for(self.shared.installation_id());
            self.shared.sync(&transport, &server.options, &cancel)
        })
        .await??;
        Ok(report)
    }

    /// Sends every desk command queued on this device, oldest first, under the keys stored
    /// when they were queued, and records each answer (accepted, or refused with its reason);
    /// the control table shows them at once.
    ///
    /// If the connection fails part way, the rest stay pending and the call fails with
    /// `KamError.Network` (or `Unauthorized`); the answers already received are kept.
    pub async fn send_desk_commands(
        self: Arc<Self>,
        server: Arc<KamServer>,
    ) -> Result<DeskSendReport, KamError> {
        let report = tokio::task::spawn_blocking(move || {
            let transport = server.transport_for(self.shared.installation_id());
            self.shared.send_desk_commands(&transport).map_err(KamError::from)
        })
        .await??;
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

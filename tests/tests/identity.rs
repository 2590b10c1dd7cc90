//! One identity per device (ADR 0022), end to end: the real server binary on 127.0.0.1 and
//! real kam-core replicas. The first installation that syncs with a device token binds the
//! device; a second replica on the same token is refused with 409 `device_in_use` on sync
//! rounds, desk commands and the push channel alike, while the first carries on; a request
//! naming no installation is served as before; and after an administrator releases the
//! binding, the next installation binds it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic on a broken expectation.

use kam_core::desk::DeskTransport;
use kam_core::sync_client::http::{HttpTransport, WatchControl, watch_changes};
use kam_core::sync_client::{SyncError, SyncReport, TransportError};
use kam_tests::{Tablet, admin, enroll, start_small_demo};

/// The refusal `result` must be: 409 `device_in_use`.
fn in_use(result: Result<SyncReport, SyncError>) -> TransportError {
    match result {
        Err(SyncError::Transport(e)) if e.is_device_in_use() => e,
        other => panic!("expected device_in_use, got {other:?}"),
    }
}

#[test]
fn a_second_installation_on_one_token_is_refused_until_the_binding_is_released() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_small_demo(dir.path()).unwrap();
    let (device, token) = enroll(dir.path(), "rep-01").unwrap();

    let mut a = Tablet::new(&server.url, &token).unwrap();
    let mut b = Tablet::new(&server.url, &token).unwrap();
    assert_ne!(a.replica.installation_id(), b.replica.installation_id());
    let first = a.sync().unwrap();
    assert!(first.quiet && first.snapshots_received > 0, "{first:?}");

    // B, the same token from another replica: refused everywhere, never served.
    let TransportError::Rejected { message, .. } = in_use(b.sync()) else { unreachable!() };
    assert!(message.starts_with("此设备令牌已绑定"), "zh-CN first: {message}");
    assert!(message.contains("enrol this installation as a new device"), "{message}");
    let desk = b.transport.send_command(br#"{"idempotency_key":"k"}"#).unwrap_err();
    assert!(desk.is_device_in_use(), "desk commands: {desk:?}");
    let mut heard = false;
    let stream = watch_changes(&server.url, &token, Some(b.replica.installation_id()), &mut |_| {
        heard = true;
        WatchControl::Stop
    })
    .unwrap_err();
    assert!(stream.is_device_in_use() && !heard, "push channel: {stream:?}");
    assert_eq!(b.replica.pending_push_count().unwrap(), 0);

    // A carries on; a tool naming no installation is served as before.
    a.sync().unwrap();
    let mut tool = Tablet::new(&server.url, &token).unwrap();
    tool.transport = HttpTransport::new(&server.url, &token);
    tool.sync().unwrap();

    // The device was reinstalled without its data: an administrator releases the binding and
    // the next installation that syncs binds it; the old one is now the stranger.
    let out = admin(dir.path(), &["release-installation", &device]).unwrap();
    assert!(out.contains(a.replica.installation_id()), "{out}");
    let bound = b.sync().unwrap();
    assert!(bound.snapshots_received > 0, "B downloads the rep's documents: {bound:?}");
    in_use(a.sync());
    let again = admin(dir.path(), &["release-installation", &device]).unwrap();
    assert!(again.contains(b.replica.installation_id()), "{again}");
}

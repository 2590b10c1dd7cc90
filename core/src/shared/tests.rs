//! The shared replica under a sync that hangs, is cancelled, fails or brings news: readers
//! and editors carry on, cancelling frees it at once, watch queries and the status follow, and
//! listeners may call back in. The transports are in-process fakes: one that blocks until the
//! test lets it go (a black-hole network), one that answers from a script.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::*;
use crate::doc::{self, DocKind, EditMeta};
use crate::model::UserId;
use crate::sync_client::TransportError;
use crate::test_support::customers::{customer_named, fixed_now};
use crate::wire::{DocSnapshot, SyncResponse};

/// Long enough for anything here to happen many times over; a bound, not a timing.
const BOUND: Duration = Duration::from_secs(20);

fn open(dir: &tempfile::TempDir) -> Arc<SharedReplica> {
    SharedReplica::open(dir.path().join("tablet.kam"), ReplicaOptions::default()).unwrap()
}

fn meta() -> EditMeta {
    EditMeta::new(&UserId::from("rep-a"), fixed_now(), "test")
}

fn add_customer(replica: &SharedReplica, id: &str, name: &str) {
    let customer = customer_named(id, name, "rep-a");
    let doc_id = DocId::new(DocKind::Customer, id);
    replica.edit(vec![doc_id], false, |r| r.create_customer(&customer, &meta())).unwrap();
}

fn mine(replica: &SharedReplica) -> Vec<String> {
    replica
        .read(|r, _| r.my_customers_by_tier(&UserId::from("rep-a")))
        .unwrap()
        .into_iter()
        .map(|row| row.name)
        .collect()
}

/// A network that swallows requests until released: each exchange reports that it started
/// and blocks until the test sends on `release` (or forever).
#[derive(Clone)]
struct BlackHole {
    started: Arc<Mutex<Sender<()>>>,
    release: Arc<Mutex<Receiver<()>>>,
}

impl SyncTransport for BlackHole {
    fn exchange(&self, _request: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.started.lock().unwrap().send(()).unwrap();
        let _ = self.release.lock().unwrap().recv();
        Err(TransportError::Network("released".into()))
    }

    fn exchange_cancellable(
        &self,
        request: Vec<u8>,
        cancel: &CancelToken,
    ) -> Option<Result<Vec<u8>, TransportError>> {
        let this = self.clone();
        cancel.run_abandonable(move || this.exchange(&request))
    }
}

/// A server that answers from a script: each answer is popped in turn; an empty script
/// answers quiet; `Err` entries fail the exchange.
#[derive(Default)]
struct Scripted {
    answers: Mutex<VecDeque<Result<SyncResponse, TransportError>>>,
}

impl SyncTransport for Scripted {
    fn exchange(&self, _request: &[u8]) -> Result<Vec<u8>, TransportError> {
        let next = self.answers.lock().unwrap().pop_front();
        match next {
            Some(Ok(answer)) => Ok(answer.encode().unwrap()),
            Some(Err(e)) => Err(e),
            None => Ok(SyncResponse::default().encode().unwrap()),
        }
    }
}

/// The answer of a server sending a colleague's new customer for rep-a whole.
fn news_of(id: &str, name: &str) -> SyncResponse {
    let customer = customer_named(id, name, "rep-a");
    let colleague = EditMeta::new(&UserId::from("rep-b"), fixed_now(), "test");
    let mut doc =
        doc::create_customer(&customer, crate::doc::ActorId::random(), &colleague).unwrap();
    let snapshot = DocSnapshot { doc_id: doc.id().to_string(), bytes: doc.save() };
    SyncResponse { cursor: 1, snapshots: vec![snapshot], ..SyncResponse::default() }
}

/// Runs `work` on another thread and waits for it within the bound.
fn within_bound<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(work());
    });
    rx.recv_timeout(BOUND).expect("blocked: the call waited on the sync")
}

#[test]
fn reads_and_edits_go_on_while_a_sync_waits_on_the_network_and_cancelling_frees_it_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let replica = open(&dir);
    add_customer(&replica, "c-1", "华东精密");
    let (started_tx, started) = mpsc::channel();
    let (release, release_rx) = mpsc::channel::<()>();
    let network = BlackHole {
        started: Arc::new(Mutex::new(started_tx)),
        release: Arc::new(Mutex::new(release_rx)),
    };
    let cancel = CancelToken::new();
    let (done_tx, done) = mpsc::channel();
    {
        let (replica, cancel, network) = (Arc::clone(&replica), cancel.clone(), network.clone());
        std::thread::spawn(move || {
            let options = SyncOptions::default();
            let result = replica.sync(&network, &options, &cancel);
            done_tx.send(result).unwrap();
        });
    }
    started.recv_timeout(BOUND).unwrap();

    // The sync's request is on the (black-hole) network: screens read and edit meanwhile.
    let reading = Arc::clone(&replica);
    let started_read = Instant::now();
    let names = within_bound(move || mine(&reading));
    println!("list query during a hung sync: {} µs", started_read.elapsed().as_micros());
    assert_eq!(names, vec!["华东精密".to_owned()]);
    let editing = Arc::clone(&replica);
    within_bound(move || add_customer(&editing, "c-2", "西南建材"));
    assert_eq!(mine(&replica).len(), 2);

    // Cancelling ends the sync at once, although the request never returns.
    let cancelled_at = Instant::now();
    cancel.cancel();
    let result = done.recv_timeout(BOUND).unwrap();
    println!("sync cancelled in {} µs", cancelled_at.elapsed().as_micros());
    assert!(matches!(result, Err(SyncError::Cancelled)), "{result:?}");
    // ...and frees the replica: the next sync runs (the gate is open) and ends quiet.
    let quiet = Scripted::default();
    let options = SyncOptions { max_attempts: 1, ..SyncOptions::default() };
    let next = within_bound({
        let replica = Arc::clone(&replica);
        move || replica.sync(&quiet, &options, &CancelToken::new()).map(|r| r.quiet)
    });
    assert!(next.unwrap());
    drop(release);
}

#[test]
fn watch_queries_emit_after_local_edits_and_sync_and_listeners_may_call_back_in() {
    let dir = tempfile::tempdir().unwrap();
    let replica = open(&dir);
    let (rows_tx, rows) = mpsc::channel::<Vec<String>>();
    let rows_tx = Mutex::new(rows_tx);
    let watch = replica.watch(
        |c| c.touches(&[DocKind::Customer]),
        |s| s.read(|r, _| r.my_customers_by_tier(&UserId::from("rep-a"))),
        move |result| {
            let names = result.unwrap().into_iter().map(|r| r.name).collect();
            rows_tx.lock().unwrap().send(names).unwrap();
        },
    );
    assert_eq!(rows.recv_timeout(BOUND).unwrap(), Vec::<String>::new(), "first rows at once");

    // A change listener that reads and edits the replica from inside: no deadlock.
    let (called_back_tx, called_back) = mpsc::channel();
    let called_back_tx = Mutex::new(called_back_tx);
    let inside = Arc::downgrade(&replica);
    let listener = replica.on_changes(move |changes| {
        let replica = inside.upgrade().unwrap();
        if changes.origin == ChangeOrigin::Local && changes.documents.len() == 1 {
            let count = mine(&replica).len();
            let status = replica.sync_status();
            called_back_tx.lock().unwrap().send((count, status)).unwrap();
        }
    });

    add_customer(&replica, "c-1", "华东精密");
    assert_eq!(rows.recv_timeout(BOUND).unwrap(), vec!["华东精密".to_owned()]);
    let (count, _) = called_back.recv_timeout(BOUND).unwrap();
    assert_eq!(count, 1);

    // A sync brings a colleague's customer: the watch emits again, without a local edit.
    let (status_tx, statuses) = mpsc::channel();
    let status_tx = Mutex::new(status_tx);
    let status_watch =
        replica.on_status(move |s| status_tx.lock().unwrap().send(s.clone()).unwrap());
    let server = Scripted::default();
    server.answers.lock().unwrap().push_back(Err(TransportError::Network("no route".into())));
    server.answers.lock().unwrap().push_back(Ok(news_of("c-9", "东北重工")));
    let options = SyncOptions {
        max_attempts: 3,
        initial_backoff: Duration::from_millis(1),
        ..SyncOptions::default()
    };
    replica.sync(&server, &options, &CancelToken::new()).unwrap();
    let mut names = rows.recv_timeout(BOUND).unwrap();
    names.sort();
    assert_eq!(names, vec!["东北重工".to_owned(), "华东精密".to_owned()]);

    // The status went idle → connecting → offline (the failed attempt) → … → idle.
    let mut seen = Vec::new();
    while !matches!(seen.last(), Some(SyncStatus::Idle { last_synced_at: Some(_) })) {
        seen.push(statuses.recv_timeout(BOUND).unwrap());
    }
    println!("status stream: {seen:?}");
    assert!(matches!(seen[0], SyncStatus::Idle { last_synced_at: None }));
    assert_eq!(seen[1], SyncStatus::Connecting);
    assert!(matches!(seen[2], SyncStatus::Offline { .. }));

    // Cancelled watches stay quiet; the rows listener hears nothing more.
    watch.cancel();
    listener.cancel();
    status_watch.cancel();
    add_customer(&replica, "c-3", "华南电子");
    let fence = replica.on_changes(|_| {});
    let (flushed_tx, flushed) = mpsc::channel();
    replica.later(move || flushed_tx.send(()).unwrap());
    flushed.recv_timeout(BOUND).unwrap();
    assert!(rows.try_recv().is_err());
    fence.cancel();
}

#[test]
fn one_file_is_one_replica_in_a_process_and_refused_while_another_holds_it() {
    let dir = tempfile::tempdir().unwrap();
    let first = open(&dir);
    let again =
        SharedReplica::open(dir.path().join(".").join("tablet.kam"), ReplicaOptions::default())
            .unwrap();
    assert!(Arc::ptr_eq(&first, &again), "the same file opens as the same replica");
    add_customer(&again, "c-1", "华东精密");
    assert_eq!(mine(&first).len(), 1, "no handle goes stale");
    drop((first, again));

    // Another process's lock (the same advisory lock, taken through its own open file).
    let lock = std::fs::File::create(dir.path().join("tablet.kam.lock")).unwrap();
    lock.lock().unwrap();
    let refused = SharedReplica::open(dir.path().join("tablet.kam"), ReplicaOptions::default());
    assert!(matches!(refused, Err(ReplicaError::InUse(_))), "{refused:?}");
    drop(lock);
    let reopened = open(&dir);
    assert_eq!(mine(&reopened), vec!["华东精密".to_owned()]);
}

/// A server for the foreground loop: counts the requests that carried messages, answers
/// from a script, and has no desk commands to take.
#[derive(Default)]
struct LoopServer {
    script: Scripted,
    uploads: Mutex<u32>,
}

impl SyncTransport for LoopServer {
    fn exchange(&self, request: &[u8]) -> Result<Vec<u8>, TransportError> {
        let decoded = crate::wire::SyncRequest::decode(request).unwrap();
        if !decoded.messages.is_empty() {
            *self.uploads.lock().unwrap() += 1;
        }
        self.script.exchange(request)
    }
}

impl crate::desk::DeskTransport for LoopServer {
    fn send_command(&self, _request: &[u8]) -> Result<Vec<u8>, TransportError> {
        Err(TransportError::Network("no desk here".into()))
    }
}

/// Polls `done` within the bound.
fn until(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < BOUND, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn the_foreground_loop_uploads_edits_and_syncs_on_push_notices_until_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let replica = open(&dir);
    let server = Arc::new(LoopServer::default());
    // The push channel: announces one notice when the test says so, then stays open.
    let (notify, notices) = mpsc::channel::<()>();
    let notices = Mutex::new(notices);
    let push: PushChannel = Box::new(move |notice: &mut dyn FnMut() -> bool| {
        let notices = notices.lock().unwrap();
        while notices.recv().is_ok() {
            if !notice() {
                break;
            }
        }
        Ok(())
    });
    let settings = DriverSettings {
        interval: Duration::from_secs(3600),
        debounce: Duration::from_millis(5),
        ..DriverSettings::default()
    };
    let transport: Arc<dyn DriverTransport> = server.clone();
    let driver = replica.start_sync(transport, SyncOptions::default(), settings, Some(push));

    // An edit goes up without anyone calling sync.
    add_customer(&replica, "c-1", "华东精密");
    until("the edit to be uploaded", || *server.uploads.lock().unwrap() >= 1);

    // A push notice brings the server's news down.
    server.script.answers.lock().unwrap().push_back(Ok(news_of("c-9", "东北重工")));
    notify.send(()).unwrap();
    until("the news to arrive", || mine(&replica).contains(&"东北重工".to_owned()));

    driver.stop();
    assert!(driver.is_stopped());
    until("the loop to go idle", || matches!(replica.sync_status(), SyncStatus::Idle { .. }));
    drop(notify);
}

#[cfg(feature = "encryption")]
#[test]
fn an_encrypted_replica_reads_on_keyed_readers_refuses_a_wrong_key_and_rotates() {
    use crate::replica::EncryptionKey;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tablet.kam");
    let key = EncryptionKey::new([7; 32]);
    let with = |key: &EncryptionKey| ReplicaOptions {
        encryption_key: Some(key.clone()),
        ..ReplicaOptions::default()
    };
    let replica = SharedReplica::open(&path, with(&key)).unwrap();
    add_customer(&replica, "c-1", "华东精密");
    assert_eq!(mine(&replica), vec!["华东精密".to_owned()], "the readers hold the key");

    // The open replica is not handed to a caller with another key, or none.
    let wrong = SharedReplica::open(&path, with(&EncryptionKey::new([8; 32])));
    assert!(matches!(wrong, Err(ReplicaError::WrongKey)), "{wrong:?}");
    let none = SharedReplica::open(&path, ReplicaOptions::default());
    assert!(matches!(none, Err(ReplicaError::WrongKey)), "{none:?}");
    assert!(Arc::ptr_eq(&replica, &SharedReplica::open(&path, with(&key)).unwrap()));

    // Rotation: the readers reopen under the new key; the old key no longer opens the file.
    let rotated = EncryptionKey::new([9; 32]);
    replica.rekey(&rotated).unwrap();
    assert_eq!(mine(&replica).len(), 1);
    add_customer(&replica, "c-2", "西南建材");
    drop(replica);
    let old = SharedReplica::open(&path, with(&key));
    assert!(matches!(old, Err(ReplicaError::WrongKey)), "{old:?}");
    let reopened = SharedReplica::open(&path, with(&rotated)).unwrap();
    assert_eq!(mine(&reopened).len(), 2);
}

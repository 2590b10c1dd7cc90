//! The push channel, batched first downloads and graceful stops, end to end: the real server
//! binary on 127.0.0.1 and real kam-core tablets. A connected device hears which of *its*
//! documents changed (and nothing of another rep's); an HQ tablet's first download of the full
//! demo company arrives in several bounded batches with monotone progress; and an edit the
//! server acknowledged survives a graceful stop and restart.
//!
//! Every wait is bounded (`recv_timeout` on channels fed by watcher threads); nothing sleeps.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)] // Tests may panic on a broken expectation.

use std::path::Path;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use kam_core::doc::customer_doc_id;
use kam_core::model::{CustomerId, UserId, VisitId};
use kam_core::sync_client::http::{ChangeNotice, HttpTransport, WatchControl, watch_changes};
use kam_core::sync_client::{SyncOptions, SyncProgress, TransportError, sync_now};
use kam_tests::{ServerProcess, Tablet, enroll};

/// How long a notice may take to arrive once the round that caused it was answered.
const NOTICE_WAIT: Duration = Duration::from_secs(10);

fn start_small(dir: &Path) -> ServerProcess {
    kam_tests::start_small_demo(dir).unwrap()
}

fn token(user: &str) -> String {
    kam_tests::demo_token(user)
}

fn sole_customers_of(tablet: &mut Tablet, rep: &str) -> Vec<CustomerId> {
    kam_tests::sole_customers_of(&mut tablet.replica, rep).unwrap()
}

fn add_visit(tablet: &mut Tablet, user: &str, id: &CustomerId, topic: &str) {
    kam_tests::add_visit(&mut tablet.replica, user, id, topic).unwrap();
}

/// Edits `id` and syncs until the server has acknowledged the edit.
fn edit_and_sync(tablet: &mut Tablet, user: &str, id: &CustomerId, topic: &str) {
    add_visit(tablet, user, id, topic);
    let report = tablet.sync().unwrap();
    assert!(report.quiet && report.messages_sent > 0, "{report:?}");
    assert_eq!(tablet.replica.pending_push_count().unwrap(), 0);
}

/// A push-channel listener on its own thread, forwarding every notice through a channel.
struct Watcher {
    notices: Receiver<ChangeNotice>,
    thread: JoinHandle<Result<(), TransportError>>,
}

/// Opens the push channel for `token`; the watcher stops by itself after forwarding a notice
/// that names `stop_on`.
fn watch(url: &str, token: &str, stop_on: &str) -> Watcher {
    let (tx, notices) = mpsc::channel();
    let (url, token, stop_on) = (url.to_owned(), token.to_owned(), stop_on.to_owned());
    let thread = std::thread::spawn(move || {
        watch_changes(&url, &token, None, &mut |notice: ChangeNotice| {
            let stop = notice.docs.contains(&stop_on);
            // A receiver that hung up (a failed test) ends the watcher too.
            if tx.send(notice).is_err() || stop {
                WatchControl::Stop
            } else {
                WatchControl::Continue
            }
        })
    });
    Watcher { notices, thread }
}

impl Watcher {
    /// Waits at most `limit` for a notice naming `doc`; returns every notice received up to
    /// and including it, or panics with what did arrive.
    fn wait_for(&self, doc: &str, limit: Duration) -> Vec<ChangeNotice> {
        let deadline = Instant::now() + limit;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.notices.recv_timeout(left) {
                Ok(notice) => {
                    let found = notice.docs.iter().any(|d| d == doc);
                    seen.push(notice);
                    if found {
                        return seen;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!("no notice for {doc} within {limit:?}; received {seen:?}")
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("push channel closed before a notice for {doc}; received {seen:?}")
                }
            }
        }
    }

    /// Makes sure the channel is open: edits customer `id` of `user` on `tablet` and syncs,
    /// until a notice arrives (at most five attempts of 2 s each). Returns the notice.
    fn prime(&self, tablet: &mut Tablet, user: &str, id: &CustomerId) -> Vec<ChangeNotice> {
        for attempt in 0..5 {
            edit_and_sync(tablet, user, id, &format!("priming {attempt}"));
            match self.notices.recv_timeout(Duration::from_secs(2)) {
                Ok(first) => return vec![first],
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => panic!("push channel closed while priming"),
            }
        }
        panic!("the push channel of {user} never delivered a notice");
    }

    /// Joins the watcher thread (it has stopped on its own) and checks it ended cleanly.
    fn join(self) {
        self.thread.join().unwrap().unwrap();
    }
}

#[test]
fn push_channel_tells_a_connected_device_which_documents_changed() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_small(dir.path());
    let mut a = Tablet::new(&server.url, &token("rep-01")).unwrap();
    let mut rep2 = Tablet::new(&server.url, &token("rep-02")).unwrap();
    a.sync().unwrap();
    rep2.sync().unwrap();
    let mine = sole_customers_of(&mut a, "rep-01");
    let theirs = sole_customers_of(&mut rep2, "rep-02");
    assert!(mine.len() >= 2 && theirs.len() >= 2, "{mine:?} {theirs:?}");
    let (priming_1, target) = (&mine[0], &mine[1]);
    let (priming_2, later_2) = (&theirs[0], &theirs[1]);
    let target_doc = customer_doc_id(target).to_string();
    let later_doc = customer_doc_id(later_2).to_string();

    // A second rep-01 device listens; rep-02's demo device listens too.
    let (_, second) = enroll(dir.path(), "rep-01").unwrap();
    let watcher_1 = watch(&server.url, &second, &target_doc);
    let watcher_2 = watch(&server.url, &token("rep-02"), &later_doc);
    let mut early_1 = watcher_1.prime(&mut a, "rep-01", priming_1);
    let mut early_2 = watcher_2.prime(&mut rep2, "rep-02", priming_2);
    assert!(early_1[0].docs.contains(&customer_doc_id(priming_1).to_string()), "{early_1:?}");
    assert!(early_2[0].docs.contains(&customer_doc_id(priming_2).to_string()), "{early_2:?}");

    // Both channels are open. Tablet A edits one of rep-01's own customers.
    let sent = Instant::now();
    edit_and_sync(&mut a, "rep-01", target, "pushed visit");
    let mut heard_1 = watcher_1.wait_for(&target_doc, NOTICE_WAIT);
    let latency = sent.elapsed();
    early_1.append(&mut heard_1);
    let notice = early_1.last().unwrap();
    assert!(notice.cursor > 0 && notice.cursor <= a.replica.server_cursor().unwrap(), "{notice:?}");
    assert!(
        early_1.windows(2).all(|w| w[0].cursor < w[1].cursor),
        "cursors only grow: {early_1:?}"
    );
    assert!(
        early_1.iter().flat_map(|n| &n.docs).all(|d| d.starts_with("customer/")),
        "{early_1:?}"
    );
    watcher_1.join();

    // The notice is worth acting on: the listening device syncs and has the new visit.
    let mut b = Tablet::new(&server.url, &second).unwrap();
    b.sync().unwrap();
    let visits = b.replica.customer(target).unwrap().visits;
    assert!(visits.values().any(|v| v.topics == ["pushed visit"]), "{visits:?}");

    // rep-02 hears of its own customer's change, and of rep-01's customer never: notices on one
    // channel come in the order of the changes, so had rep-01's change been announced to rep-02,
    // it would have arrived before this one.
    edit_and_sync(&mut rep2, "rep-02", later_2, "later visit");
    let mut heard_2 = watcher_2.wait_for(&later_doc, NOTICE_WAIT);
    early_2.append(&mut heard_2);
    assert!(
        early_2.iter().all(|n| !n.docs.contains(&target_doc)),
        "rep-02 was told of rep-01's customer: {early_2:?}"
    );
    assert!(
        early_2.iter().flat_map(|n| &n.docs).all(|d| {
            let id = CustomerId::from(d.strip_prefix("customer/").unwrap());
            rep2.replica.customer(&id).unwrap().owners.contains(&UserId::from("rep-02"))
        }),
        "rep-02 heard only of its own customers: {early_2:?}"
    );
    watcher_2.join();
    println!(
        "push: rep-01's second device heard of {target_doc} {latency:?} after tablet A's edit \
         ({} notices); rep-02 heard {} notices, none of rep-01's",
        early_1.len(),
        early_2.len()
    );
}

#[test]
fn first_download_comes_in_batches_and_reports_progress() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), &["--demo"], Duration::from_secs(180)).unwrap();
    let mut hq = Tablet::new(&server.url, &token("hq-01")).unwrap();
    let options = SyncOptions { max_response_bytes: 256 * 1024, ..Default::default() };
    let mut steps: Vec<SyncProgress> = Vec::new();
    let started = Instant::now();
    let report =
        sync_now(&mut hq.replica, &hq.transport, &options, &mut |p| steps.push(p.clone())).unwrap();
    let elapsed = started.elapsed();
    let held = hq.replica.document_ids().unwrap().len() as u64;

    assert!(report.quiet, "{report:?}");
    let (status, summary) = kam_tests::get_json(&format!("{}/api/v1/summary", server.url)).unwrap();
    assert_eq!(status, 200, "{summary}");
    let stored: u64 =
        summary["documents"].as_array().unwrap().iter().map(|d| d["count"].as_u64().unwrap()).sum();
    assert!(stored > 2302, "the full demo: 2,302 documents and the account records: {summary}");
    assert_eq!(held, stored, "HQ sees every document of the full demo");
    assert_eq!(steps.len() as u32, report.rounds);
    assert!(report.rounds > 3, "a 256 KiB budget splits the download: {steps:#?}");
    for (i, p) in steps.iter().enumerate() {
        assert_eq!(p.rounds as usize, i + 1, "{p:?}");
    }
    let last = steps.last().unwrap();
    assert_eq!(last.documents_received, held, "{last:?}");
    assert_eq!(report.snapshots_received, held);
    assert_eq!(last.documents_remaining, 0, "{last:?}");
    for w in steps.windows(2) {
        assert!(w[0].documents_received <= w[1].documents_received, "{w:?}");
        assert!(w[0].documents_remaining >= w[1].documents_remaining, "{w:?}");
        assert!(w[0].bytes_received < w[1].bytes_received, "{w:?}");
        assert!(w[0].bytes_sent < w[1].bytes_sent, "{w:?}");
    }
    // Progress is consistent: what arrived plus what waits is the whole download.
    let first = &steps[0];
    assert!(first.documents_received > 0 && first.documents_remaining > 0, "{first:?}");
    assert!(first.documents_received < held, "the first batch is not everything: {first:?}");
    // A batch is about the budget: no answer should be far beyond it.
    let mut previous = 0;
    for p in &steps {
        let batch = p.bytes_received - previous;
        assert!(batch <= 2 * 256 * 1024, "a batch of {batch} bytes: {p:?}");
        previous = p.bytes_received;
    }
    for p in &steps {
        println!(
            "  round {:>3}: {:>5} documents received, {:>5} remaining, {:>9} bytes received",
            p.rounds, p.documents_received, p.documents_remaining, p.bytes_received
        );
    }
    println!(
        "first download: {} rounds, {} documents, {} bytes received ({} sent) in {elapsed:?}",
        report.rounds, held, report.bytes_received, report.bytes_sent
    );

    let again = hq.sync().unwrap();
    assert!(again.quiet, "{again:?}");
    assert_eq!((again.snapshots_received, again.messages_received), (0, 0), "{again:?}");
    println!(
        "second sync: {} rounds, {} bytes sent, {} bytes received",
        again.rounds, again.bytes_sent, again.bytes_received
    );
    server.stop(Duration::from_secs(30)).unwrap();
}

#[test]
fn a_graceful_stop_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_small(dir.path());
    let mut tablet = Tablet::new(&server.url, &token("rep-03")).unwrap();
    // The same server after the restart, on a new port: the tablet keeps its cursor for it.
    tablet.server_id = Some("http://kam.test".to_owned());
    tablet.sync().unwrap();
    let documents_before = tablet.replica.document_ids().unwrap().len();
    let id = sole_customers_of(&mut tablet, "rep-03")[0].clone();
    let topic = format!("acknowledged before the stop {}", VisitId::new());
    edit_and_sync(&mut tablet, "rep-03", &id, &topic);

    let exit = server.stop(Duration::from_secs(30)).unwrap();
    assert!(exit.success(), "graceful stop: {exit}");

    // Restarted on the same data with --demo again: the demo is not reloaded over it.
    let server = start_small(dir.path());
    assert!(server.banner.iter().any(|l| l.contains("already holds data")), "{:?}", server.banner);
    // A new device of the same user (a fresh replica needs a device the server has not yet
    // served: the demo device's server-side sync state already covers every document).
    let (_, new_device) = enroll(dir.path(), "rep-03").unwrap();
    let mut fresh = Tablet::new(&server.url, &new_device).unwrap();
    let report = fresh.sync().unwrap();
    assert!(report.quiet, "{report:?}");
    assert_eq!(report.snapshots_received as usize, documents_before, "{report:?}");
    assert_eq!(fresh.replica.document_ids().unwrap().len(), documents_before);
    let visits = fresh.replica.customer(&id).unwrap().visits;
    assert_eq!(visits.values().filter(|v| v.topics == [topic.as_str()]).count(), 1, "{visits:?}");
    assert_eq!(
        fresh.replica.heads(&customer_doc_id(&id)).unwrap(),
        tablet.replica.heads(&customer_doc_id(&id)).unwrap(),
        "the restarted server holds exactly what the tablet had acknowledged"
    );
    // The first tablet, still holding its old cursor, has nothing to fetch or send (the
    // restarted server listens on a new port).
    tablet.transport = HttpTransport::new(&server.url, &token("rep-03"));
    let again = tablet.sync().unwrap();
    assert!(again.quiet, "{again:?}");
    assert_eq!(
        (again.snapshots_received, again.messages_received, again.messages_sent),
        (0, 0, 0),
        "{again:?}"
    );
    server.stop(Duration::from_secs(30)).unwrap();
}

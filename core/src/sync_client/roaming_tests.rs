//! A tablet roaming between servers (a venue's and central): one cursor per server, the legacy
//! single cursor adopted by the first server only, a server restored from an older copy, and
//! documents converging through two servers that never saw each other's sync heads.
//!
//! The servers are in-process fakes speaking the wire format: they hold documents, answer the
//! device's Automerge messages as the real server does (sync state per document, kept encoded
//! between rounds) and refuse a cursor ahead of their sequence with the real server's error.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::Path;

use automerge::ActorId;
use automerge::sync::State;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::*;
use crate::doc::{self, CustomerEdit, Document, EditMeta};
use crate::model::{Customer, CustomerId, CustomerProfile, UserId};
use crate::replica::ReplicaOptions;
use crate::wire::{self, DocMessage, SyncRequest};

/// A server in process, known to the replica as `id`.
struct FakeServer {
    id: String,
    inner: RefCell<ServerState>,
}

#[derive(Default)]
struct ServerState {
    /// The end of this server's change sequence.
    seq: u64,
    docs: BTreeMap<String, Document>,
    /// The device's sync state per document, encoded as the real server stores it.
    states: BTreeMap<String, Vec<u8>>,
    /// The cursor of every request received, in order.
    cursors: Vec<u64>,
    /// Requests that carried a recovery manifest.
    manifests: usize,
    /// Refuse every cursor above 0 and always say more is waiting (a server that keeps
    /// refusing).
    refuse_always: bool,
    /// Documents the next answer carries whole, as news of a document the device is new to.
    snapshot_next: Vec<String>,
}

impl FakeServer {
    fn new(id: &str, seq: u64) -> FakeServer {
        let state = ServerState { seq, ..ServerState::default() };
        FakeServer { id: id.to_owned(), inner: RefCell::new(state) }
    }

    fn cursors(&self) -> Vec<u64> {
        self.inner.borrow().cursors.clone()
    }

    fn customer(&self, id: &str) -> Customer {
        let inner = self.inner.borrow();
        doc::read_customer(&inner.docs[&format!("customer/{id}")]).unwrap()
    }

    /// Another device's edit, made on this server only.
    fn edit_customer(&self, id: &str, edit: &CustomerEdit) {
        let mut inner = self.inner.borrow_mut();
        let doc = inner.docs.get_mut(&format!("customer/{id}")).unwrap();
        doc::edit_customer(doc, edit, &meta("colleague")).unwrap();
        inner.seq += 1;
    }

    /// Holds `doc` (a copy of it) and sends it whole in the next answer.
    fn send_whole(&self, doc: &mut Document) {
        let mut inner = self.inner.borrow_mut();
        let id = doc.id().to_string();
        let copy = Document::load(doc.id().clone(), &doc.save(), ActorId::random()).unwrap();
        inner.docs.insert(id.clone(), copy);
        inner.seq += 1;
        inner.snapshot_next.push(id);
    }

    fn answer(&self, request: &SyncRequest) -> Result<SyncResponse, TransportError> {
        let mut inner = self.inner.borrow_mut();
        inner.cursors.push(request.cursor);
        if request.cursor > inner.seq || (inner.refuse_always && request.cursor > 0) {
            // What the server's HTTP edge answers for `ServerError::Invalid { field: "cursor" }`.
            return Err(TransportError::Rejected {
                status: 422,
                code: "invalid_field".to_owned(),
                message: "invalid cursor: ahead of the server".to_owned(),
            });
        }
        if request.manifest.is_some() {
            inner.manifests += 1;
            inner.states.clear();
        }
        let mut response = SyncResponse::default();
        for message in &request.messages {
            if let Some(reply) = inner.merge(message) {
                response.messages.push(reply);
            }
        }
        for doc_id in std::mem::take(&mut inner.snapshot_next) {
            let bytes = inner.docs.get_mut(&doc_id).unwrap().save();
            inner.states.insert(doc_id.clone(), State::new().encode());
            response.snapshots.push(wire::DocSnapshot { doc_id, bytes });
        }
        response.cursor = inner.seq;
        response.more = inner.refuse_always;
        Ok(response)
    }
}

impl ServerState {
    /// Merges one of the device's messages and returns the reply, as the real server does.
    fn merge(&mut self, message: &DocMessage) -> Option<DocMessage> {
        let id = wire::parse_doc_id(&message.doc_id).unwrap();
        let ServerState { docs, states, seq, .. } = self;
        let doc = docs
            .entry(message.doc_id.clone())
            .or_insert_with(|| Document::empty(id, ActorId::random()));
        let mut state =
            states.get(&message.doc_id).map(|b| State::decode(b).unwrap()).unwrap_or_default();
        let before = doc.heads();
        doc.receive_sync_message(&mut state, &message.message).unwrap();
        if doc.heads() != before {
            *seq += 1;
        }
        let reply = doc.generate_sync_message(&mut state);
        states.insert(message.doc_id.clone(), state.encode());
        reply.map(|message_bytes| DocMessage {
            doc_id: message.doc_id.clone(),
            message: message_bytes,
        })
    }
}

impl SyncTransport for FakeServer {
    fn exchange(&self, request: &[u8]) -> Result<Vec<u8>, TransportError> {
        let request = SyncRequest::decode(request).unwrap();
        Ok(self.answer(&request)?.encode().unwrap())
    }

    fn server_id(&self) -> String {
        self.id.clone()
    }
}

fn now() -> DateTime<Utc> {
    crate::test_support::customers::fixed_now()
}

fn meta(who: &str) -> EditMeta {
    EditMeta::new(&UserId::from(who), now(), "test")
}

fn customer(id: &str) -> Customer {
    crate::test_support::customers::customer_named(id, "华东精密", "rep-a")
}

fn open(path: &Path) -> Replica {
    Replica::open(path, ReplicaOptions::default()).unwrap()
}

fn sync(replica: &mut Replica, server: &FakeServer) -> SyncReport {
    let options = SyncOptions { max_attempts: 1, ..SyncOptions::default() };
    let report = sync_now(replica, server, &options, &mut |_| {}).unwrap();
    assert!(report.quiet, "{report:?}");
    report
}

/// The replica file's meta value for `key`, read while the replica is closed.
fn meta_value(path: &Path, key: &str) -> Option<String> {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).ok()
}

#[test]
fn each_server_has_its_own_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let mut tablet = open(&dir.path().join("t.kam"));
    let venue = FakeServer::new("http://venue.local:8080", 57);
    let central = FakeServer::new("https://kam.example.com", 3);
    assert_eq!(sync(&mut tablet, &venue).cursor, 57);
    // Central is behind the venue's 57: with one cursor it would refuse the round, and one
    // further ahead would skip its news.
    assert_eq!(sync(&mut tablet, &central).cursor, 3);
    assert_eq!(central.cursors(), vec![0], "central is new to this replica");
    assert_eq!(tablet.server_cursor_for(&venue.id).unwrap(), 57);
    assert_eq!(tablet.server_cursor_for(&central.id).unwrap(), 3);
    assert_eq!(tablet.server_cursor().unwrap(), 3, "the server last synced with");
    venue.inner.borrow_mut().seq = 60;
    assert_eq!(sync(&mut tablet, &venue).cursor, 60);
    assert_eq!(venue.cursors(), vec![0, 57], "back at the venue, from where it left off");
    assert_eq!(tablet.server_cursor_for(&central.id).unwrap(), 3);
    assert_eq!(tablet.server_cursor().unwrap(), 60);
    assert_eq!(tablet.server_cursor_for("https://never.example").unwrap(), 0);
}

#[test]
fn the_legacy_cursor_is_adopted_by_the_first_server_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.kam");
    drop(open(&path));
    // A replica from before cursors were kept per server.
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute("INSERT INTO meta(key, value) VALUES ('server_cursor', '40')", [])
        .unwrap();
    let mut tablet = open(&path);
    assert_eq!(tablet.server_cursor().unwrap(), 40);
    let central = FakeServer::new("https://kam.example.com", 45);
    let venue = FakeServer::new("http://venue.local:8080", 10);
    assert_eq!(tablet.server_cursor_for(&central.id).unwrap(), 40, "not adopted yet");
    sync(&mut tablet, &central);
    assert_eq!(central.cursors(), vec![40], "the usual server carries on from the old cursor");
    assert_eq!(tablet.server_cursor_for(&venue.id).unwrap(), 0, "adopted by central only");
    sync(&mut tablet, &venue);
    assert_eq!(venue.cursors(), vec![0]);
    assert_eq!(tablet.server_cursor_for(&central.id).unwrap(), 45);
    drop(tablet);
    assert_eq!(meta_value(&path, "home_server").as_deref(), Some("https://kam.example.com"));
    assert_eq!(meta_value(&path, "server_cursor"), None, "the legacy cursor is gone");
    let tablet = open(&path);
    assert_eq!(tablet.server_cursor_for(&central.id).unwrap(), 45);
    assert_eq!(tablet.server_cursor_for(&venue.id).unwrap(), 10);
}

#[test]
fn a_server_behind_the_cursor_gets_one_recovery_round_from_zero() {
    let dir = tempfile::tempdir().unwrap();
    let mut tablet = open(&dir.path().join("t.kam"));
    let venue = FakeServer::new("http://venue.local:8080", 57);
    sync(&mut tablet, &venue);
    // The venue restarts from its second copy, an older backup: its sequence ends at 30.
    venue.inner.borrow_mut().seq = 30;
    tablet.create_customer(&customer("c1"), &meta("rep-a")).unwrap();
    let report = sync(&mut tablet, &venue);
    assert_eq!(report.cursor, 31, "30, and the new customer");
    assert_eq!(venue.cursors()[..3], [0, 57, 0], "refused, then from 0");
    assert_eq!(venue.inner.borrow().manifests, 1, "the round from 0 sent the manifest");
    assert_eq!(tablet.server_cursor_for(&venue.id).unwrap(), 31);
    assert_eq!(tablet.pending_push_count().unwrap(), 0, "the new customer reached the venue");
    assert_eq!(venue.customer("c1"), tablet.customer(&CustomerId::from("c1")).unwrap());
}

#[test]
fn a_server_that_keeps_refusing_the_cursor_ends_the_sync_after_one_recovery() {
    let dir = tempfile::tempdir().unwrap();
    let mut tablet = open(&dir.path().join("t.kam"));
    let venue = FakeServer::new("http://venue.local:8080", 57);
    sync(&mut tablet, &venue);
    venue.inner.borrow_mut().refuse_always = true;
    venue.inner.borrow_mut().seq = 70;
    tablet.create_customer(&customer("c1"), &meta("rep-a")).unwrap();
    let options = SyncOptions { max_attempts: 1, ..SyncOptions::default() };
    // Refused at 57; the recovery round from 0 goes through; the next round, at 71, is
    // refused again and ends the sync: one recovery per call.
    let error = sync_now(&mut tablet, &venue, &options, &mut |_| {}).unwrap_err();
    assert!(matches!(&error, SyncError::Transport(e) if e.is_cursor_refused()), "{error:?}");
    let cursors = venue.cursors();
    assert_eq!(cursors[1..3], [57, 0]);
    assert_eq!(cursors.iter().filter(|c| **c == 0).count(), 2, "one reset only: {cursors:?}");
}

/// A tablet holding one customer it created, and a venue and central that hold nothing yet.
struct Roaming {
    _dir: tempfile::TempDir,
    tablet: Replica,
    venue: FakeServer,
    central: FakeServer,
    id: CustomerId,
}

fn roaming() -> Roaming {
    let dir = tempfile::tempdir().unwrap();
    let mut tablet = open(&dir.path().join("t.kam"));
    tablet.create_customer(&customer("c1"), &meta("rep-a")).unwrap();
    Roaming {
        _dir: dir,
        tablet,
        venue: FakeServer::new("http://venue.local:8080", 0),
        central: FakeServer::new("https://kam.example.com", 0),
        id: CustomerId::from("c1"),
    }
}

#[test]
fn a_document_converges_through_two_servers_that_never_saw_each_others_heads() {
    let Roaming { _dir, mut tablet, venue, central, id } = roaming();
    sync(&mut tablet, &central);
    // A colleague's edit reaches central only.
    central.edit_customer("c1", &CustomerEdit::SetAnnualSales { year: 2025, amount: 9.into() });
    // At the venue, which never saw the document: the tablet's shared heads are central's.
    let profile =
        CustomerProfile { notes: "展位 A3".into(), ..tablet.customer(&id).unwrap().profile };
    tablet.edit_customer(&id, &CustomerEdit::UpdateProfile(profile), &meta("rep-a")).unwrap();
    let at_venue = sync(&mut tablet, &venue);
    // The venue answers heads it does not know with Automerge's reset; the tablet then sends
    // the whole history.
    assert_eq!(at_venue.rounds, 2, "{at_venue:?}");
    assert_eq!(tablet.pending_push_count().unwrap(), 0);
    assert_eq!(venue.customer("c1"), tablet.customer(&id).unwrap());
    // Back on 4G: central never saw the venue's heads, and holds an edit the tablet lacks.
    tablet
        .edit_customer(&id, &CustomerEdit::SetProfitContribution(5.into()), &meta("rep-a"))
        .unwrap();
    let at_central = sync(&mut tablet, &central);
    assert_eq!(at_central.rounds, 2, "the same reset: {at_central:?}");
    assert_eq!(tablet.pending_push_count().unwrap(), 0);
    let merged = tablet.customer(&id).unwrap();
    assert_eq!(central.customer("c1"), merged);
    assert_eq!(merged.profile.notes, "展位 A3");
    assert_eq!(merged.profit_contribution, Decimal::from(5));
    assert_eq!(merged.annual_sales.get(&2025), Some(&Decimal::from(9)), "central's edit arrived");
    let again = sync(&mut tablet, &central);
    assert_eq!(again.messages_sent + again.messages_received, 0, "nothing left to say");
}

/// A server sends a whole document the tablet already holds with changes that server lacks
/// (the tablet got them from a venue that lost them restarting from an older copy): the
/// tablet pushes them instead of taking its own heads as shared. Found by the simulation.
#[test]
fn a_whole_document_the_tablet_holds_more_of_makes_it_push_the_rest() {
    let Roaming { _dir, mut tablet, venue, central, id } = roaming();
    let mut as_created = Document::load(
        doc::customer_doc_id(&id),
        &tablet.save_document(&doc::customer_doc_id(&id)).unwrap(),
        ActorId::random(),
    )
    .unwrap();
    sync(&mut tablet, &venue);
    // A colleague's edit at the venue reaches the tablet in its next conversation there.
    venue.edit_customer("c1", &CustomerEdit::SetAnnualSales { year: 2025, amount: 7.into() });
    tablet
        .edit_customer(&id, &CustomerEdit::SetProfitContribution(3.into()), &meta("rep-a"))
        .unwrap();
    sync(&mut tablet, &venue);
    assert_eq!(tablet.pending_push_count().unwrap(), 0);
    // Central holds the document as created only, and sends it whole.
    central.send_whole(&mut as_created);
    sync(&mut tablet, &central);
    let merged = tablet.customer(&id).unwrap();
    assert_eq!(merged.annual_sales.get(&2025), Some(&Decimal::from(7)));
    assert_eq!(central.customer("c1"), merged, "central got what only the tablet held");
}

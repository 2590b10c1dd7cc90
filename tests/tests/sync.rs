//! Sync end to end: the real server binary on 127.0.0.1 and real kam-core tablets (each its own
//! SQLite replica) syncing over HTTP: convergence, conflicts, the authority's compensation,
//! scoping, handover, revocation, malformed bodies and lost answers.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic on a broken expectation.

use std::cell::Cell;
use std::path::Path;
use std::time::Duration;

use chrono::Utc;
use kam_core::doc::{CustomerEdit, DocId, DocKind, EditMeta, customer_doc_id};
use kam_core::model::{CustomerId, UserId};
use kam_core::sync_client::{SyncOptions, SyncTransport, TransportError, sync_now};
use kam_core::wire::{DocMessage, SyncRequest, SyncResponse};
use kam_tests::{ServerProcess, Tablet, admin, enroll};
use rust_decimal_macros::dec;

fn start(dir: &Path) -> ServerProcess {
    kam_tests::start_small_demo(dir).unwrap()
}

fn token(user: &str) -> String {
    kam_tests::demo_token(user)
}

fn meta(user: &str, action: &str) -> EditMeta {
    EditMeta::new(&UserId::from(user), Utc::now(), action)
}

fn server_db(dir: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(
        dir.join("kam-server.sqlite3"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap()
}

fn change_seq(dir: &Path) -> i64 {
    server_db(dir).query_row("SELECT value FROM change_seq", [], |r| r.get(0)).unwrap()
}

fn customers_of(tablet: &Tablet, rep: &str) -> Vec<CustomerId> {
    kam_tests::customers_of(&tablet.replica, rep).unwrap()
}

fn sole_customers_of(tablet: &mut Tablet, rep: &str) -> Vec<CustomerId> {
    kam_tests::sole_customers_of(&mut tablet.replica, rep).unwrap()
}

fn rename(tablet: &mut Tablet, user: &str, id: &CustomerId, name: &str) {
    let mut profile = tablet.replica.customer(id).unwrap().profile;
    profile.name = name.to_owned();
    let edit = CustomerEdit::UpdateProfile(profile);
    tablet.replica.edit_customer(id, &edit, &meta(user, edit.action())).unwrap();
}

fn add_visit(tablet: &mut Tablet, user: &str, id: &CustomerId, topic: &str) {
    kam_tests::add_visit(&mut tablet.replica, user, id, topic).unwrap();
}

/// Saved bytes of a document as the server holds it, fetched with `token`.
fn server_heads(url: &str, token: &str, id: &DocId) -> (u16, Vec<u8>) {
    let agent: ureq::Agent =
        ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut response = agent
        .get(&format!("{url}/api/v1/documents/{}/{}", id.kind().as_str(), id.entity()))
        .header("Authorization", &format!("Bearer {token}"))
        .call()
        .unwrap();
    let status = response.status().as_u16();
    (status, response.body_mut().read_to_vec().unwrap())
}

fn post_raw(url: &str, token: &str, body: &[u8]) -> (u16, serde_json::Value) {
    let agent: ureq::Agent =
        ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut response = agent
        .post(&format!("{url}/api/v1/sync"))
        .header("Authorization", &format!("Bearer {token}"))
        .content_type(kam_core::wire::WIRE_CONTENT_TYPE)
        .send(body)
        .unwrap();
    let status = response.status().as_u16();
    (status, response.body_mut().read_json().unwrap_or(serde_json::Value::Null))
}

/// Syncs every tablet in turn until a whole pass moves nothing.
fn sync_all_until_quiet(tablets: &mut [&mut Tablet]) {
    for pass in 0..5 {
        let mut moved = 0;
        for t in tablets.iter_mut() {
            let report = t.sync().unwrap();
            moved += report.messages_received + report.snapshots_received + report.messages_sent;
        }
        if moved == 0 {
            return;
        }
        assert!(pass < 4, "tablets did not go quiet");
    }
}

#[test]
fn three_tablets_converge_with_the_server_and_a_concurrent_edit_is_listed_as_a_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let (_, second) = enroll(dir.path(), "rep-01").unwrap();
    let mut a = Tablet::new(&server.url, &token("rep-01")).unwrap();
    let mut b = Tablet::new(&server.url, &second).unwrap();
    let mut hq = Tablet::new(&server.url, &token("hq-01")).unwrap();
    for t in [&mut a, &mut b, &mut hq] {
        let report = t.sync().unwrap();
        assert!(report.quiet && report.snapshots_received > 0);
    }
    let mine = customers_of(&a, "rep-01");
    assert_eq!(mine.len(), 6, "rep-01 owns every fifth of 30 customers");
    assert_eq!(customers_of(&b, "rep-01"), mine);
    let (x, y) = (&mine[0], &mine[1]);

    // Offline: A and B rename the same customer concurrently; B also records a visit; HQ edits
    // the credit terms of that customer and renames another.
    rename(&mut a, "rep-01", x, "Name from tablet A");
    rename(&mut b, "rep-01", x, "Name from tablet B");
    add_visit(&mut b, "rep-01", x, "quarterly review");
    let mut credit = hq.replica.customer(x).unwrap().credit;
    credit.credit_limit = dec!(777777.00);
    let edit = CustomerEdit::SetCredit(credit);
    hq.replica.edit_customer(x, &edit, &meta("hq-01", edit.action())).unwrap();
    rename(&mut hq, "hq-01", y, "Renamed by HQ");

    sync_all_until_quiet(&mut [&mut a, &mut b, &mut hq]);

    // Identical documents everywhere, and equal to the server's.
    for id in a.replica.document_ids().unwrap() {
        let heads = a.replica.heads(&id).unwrap();
        assert_eq!(b.replica.heads(&id).unwrap(), heads, "{id} on B");
        assert_eq!(hq.replica.heads(&id).unwrap(), heads, "{id} on HQ");
        let (status, bytes) = server_heads(&server.url, &token("hq-01"), &id);
        assert_eq!(status, 200);
        let mut on_server =
            kam_core::doc::Document::load(id.clone(), &bytes, automerge::ActorId::random())
                .unwrap();
        assert_eq!(on_server.heads(), heads, "{id} on the server");
    }
    let on_a = a.replica.customer(x).unwrap();
    assert_eq!(on_a, b.replica.customer(x).unwrap());
    assert_eq!(on_a, hq.replica.customer(x).unwrap());
    assert_eq!(on_a.credit.credit_limit, dec!(777777.00), "HQ may set credit terms");
    assert_eq!(on_a.visits.len(), hq.replica.customer(x).unwrap().visits.len());

    // The server's projection follows the merged document.
    kam_tests::wait_for_projections(&server.url).unwrap();
    let db = server_db(dir.path());
    let (name, limit): (String, String) = db
        .query_row(
            "SELECT name, credit_limit FROM customers WHERE customer_id = ?1",
            [x.as_str()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((name.as_str(), limit.as_str()), (on_a.profile.name.as_str(), "777777.00"));
    let renamed: String = db
        .query_row("SELECT name FROM customers WHERE customer_id = ?1", [y.as_str()], |r| r.get(0))
        .unwrap();
    assert_eq!(renamed, "Renamed by HQ");

    // The concurrent rename is in the conflicts table with both values.
    let values: String = db
        .query_row(
            "SELECT field_values FROM conflicts WHERE doc_id = ?1 AND path = '/profile/name' AND resolved_at IS NULL",
            [customer_doc_id(x).to_string()],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        values.contains("Name from tablet A") && values.contains("Name from tablet B"),
        "{values}"
    );
    let (status, listed) = kam_tests::get_json_with_token(
        &format!("{}/api/v1/conflicts", server.url),
        &token("hq-01"),
    )
    .unwrap();
    assert_eq!(status, 200);
    assert!(listed.as_array().unwrap().iter().any(|c| c["path"] == "/profile/name"));
    println!(
        "three tablets: {} documents identical on A, B, HQ and the server; conflict on /profile/name listed",
        a.replica.document_ids().unwrap().len()
    );
}

#[test]
fn a_rep_writing_a_credit_limit_is_compensated_and_the_violation_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let mut rep = Tablet::new(&server.url, &token("rep-01")).unwrap();
    rep.sync().unwrap();
    let id = customers_of(&rep, "rep-01")[0].clone();
    let original = rep.replica.customer(&id).unwrap().credit;
    let mut raised = original.clone();
    raised.credit_limit = dec!(99999999.00);
    let edit = CustomerEdit::SetCredit(raised);
    rep.replica.edit_customer(&id, &edit, &meta("rep-01", edit.action())).unwrap();
    assert_eq!(rep.replica.customer(&id).unwrap().credit.credit_limit, dec!(99999999.00));

    let report = rep.sync().unwrap();
    assert!(report.quiet);
    assert_eq!(
        rep.replica.customer(&id).unwrap().credit,
        original,
        "the tablet received the correction"
    );
    let db = server_db(dir.path());
    let (user, field, rule, new_value): (String, String, String, String) = db
        .query_row("SELECT user_id, field, rule, new_value FROM violations", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .unwrap();
    assert_eq!(
        (user.as_str(), field.as_str(), rule.as_str()),
        ("rep-01", "/credit", "credit_finance_hq_only")
    );
    assert!(new_value.contains("99999999"), "{new_value}");
    kam_tests::wait_for_projections(&server.url).unwrap();
    let projected: String = db
        .query_row(
            "SELECT credit_limit FROM customers WHERE customer_id = ?1",
            [id.as_str()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(projected.parse::<rust_decimal::Decimal>().unwrap(), original.credit_limit);
    // The history keeps the rep's change and the server's compensation, with their authors.
    let history = rep.replica.history(&customer_doc_id(&id)).unwrap();
    let authors: Vec<String> =
        history.iter().filter_map(|h| h.meta.as_ref()).map(|m| m.author.to_string()).collect();
    assert!(
        authors.contains(&"rep-01".to_owned()) && authors.contains(&"kam-server".to_owned()),
        "{authors:?}"
    );
}

#[test]
fn a_rep_never_receives_another_reps_customer_and_asking_by_id_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let mut rep1 = Tablet::new(&server.url, &token("rep-01")).unwrap();
    let mut hq = Tablet::new(&server.url, &token("hq-01")).unwrap();
    rep1.sync().unwrap();
    hq.sync().unwrap();
    let theirs = sole_customers_of(&mut hq, "rep-02");
    assert!(!theirs.is_empty());
    for id in rep1.replica.document_ids().unwrap() {
        match id.kind() {
            DocKind::Customer => {
                let c = rep1.replica.customer(&CustomerId::from(id.entity())).unwrap();
                assert!(c.owners.contains(&UserId::from("rep-01")), "{id} is not rep-01's");
            }
            DocKind::Ticket => {
                let t = rep1.replica.ticket(&kam_core::model::TicketId::from(id.entity())).unwrap();
                assert!(customers_of(&rep1, "rep-01").contains(&t.customer_id), "{id}");
            }
            DocKind::Project => {}
            DocKind::Lead | DocKind::Plan | DocKind::Survey => {
                use kam_core::model::{AccountPlan, Lead, Survey};
                let r = &mut rep1.replica;
                let customer = match id.kind() {
                    DocKind::Lead => r.record::<Lead>(id.entity()).unwrap().customer_id,
                    DocKind::Plan => r.record::<AccountPlan>(id.entity()).unwrap().customer_id,
                    _ => r.record::<Survey>(id.entity()).unwrap().customer_id,
                };
                assert!(customers_of(&rep1, "rep-01").contains(&customer), "{id}");
            }
            DocKind::Scorecard => {
                let card = rep1.replica.record::<kam_core::model::Scorecard>(id.entity()).unwrap();
                assert_eq!(card.person.as_str(), "rep-01", "{id} is not rep-01's scorecard");
            }
            DocKind::Event | DocKind::Review | DocKind::Organisation => {
                panic!("a rep received {id}")
            }
        }
    }
    let other = customer_doc_id(&theirs[0]);
    let (status, _) = server_heads(&server.url, &token("rep-01"), &other);
    assert_eq!(status, 404, "asking for another rep's customer by id");

    // A forged sync message naming that customer gets no data, only "drop it". The forger is
    // another replica, so another device of rep-01 (one token binds one installation).
    let (_, forger_token) = enroll(dir.path(), "rep-01").unwrap();
    let mut forger = Tablet::new(&server.url, &forger_token).unwrap();
    let message = forger.replica.generate_sync_message(&other, "server").unwrap().unwrap();
    let request = SyncRequest {
        cursor: 0,
        messages: vec![DocMessage { doc_id: other.to_string(), message }],
        manifest: None,
        max_response_bytes: 1 << 20,
    };
    let answer = forger.transport.exchange(&request.encode().unwrap()).unwrap();
    let answer = SyncResponse::decode(&answer).unwrap();
    assert!(answer.removed.contains(&other.to_string()));
    assert!(answer.messages.iter().all(|m| m.doc_id != other.to_string()));
    assert!(answer.snapshots.iter().all(|s| s.doc_id != other.to_string()));
}

#[test]
fn handover_purges_the_customer_from_the_old_reps_device_and_delivers_it_to_the_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let mut rep1 = Tablet::new(&server.url, &token("rep-01")).unwrap();
    let mut rep2 = Tablet::new(&server.url, &token("rep-02")).unwrap();
    rep1.sync().unwrap();
    rep2.sync().unwrap();
    let id = sole_customers_of(&mut rep1, "rep-01")[0].clone();
    let doc_id = customer_doc_id(&id);
    let tickets_before = rep1.replica.open_tickets_by_urgency(None, Utc::now()).unwrap();
    let its_tickets: Vec<_> =
        tickets_before.iter().filter(|t| t.customer_id == id).map(|t| t.id.clone()).collect();
    assert!(rep1.replica.has_document(&doc_id).unwrap());
    assert!(!rep2.replica.has_document(&doc_id).unwrap());

    let out = admin(dir.path(), &["handover", id.as_str(), "rep-02"]).unwrap();
    assert!(out.contains("handed over"), "{out}");

    let report = rep1.sync().unwrap();
    assert!(report.removed > its_tickets.len() as u64, "{report:?}");
    assert!(!rep1.replica.has_document(&doc_id).unwrap(), "purged from the old rep's device");
    for t in &its_tickets {
        assert!(!rep1.replica.has_document(&kam_core::doc::ticket_doc_id(t)).unwrap());
    }
    assert!(!customers_of(&rep1, "rep-01").contains(&id));
    rep2.sync().unwrap();
    assert!(rep2.replica.has_document(&doc_id).unwrap());
    assert_eq!(rep2.replica.customer(&id).unwrap().owners, vec![UserId::from("rep-02")]);
    assert!(customers_of(&rep2, "rep-02").contains(&id));
    for t in &its_tickets {
        assert!(rep2.replica.has_document(&kam_core::doc::ticket_doc_id(t)).unwrap());
    }
}

#[test]
fn a_revoked_devices_token_gets_401() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let (device, token) = enroll(dir.path(), "rep-03").unwrap();
    let mut tablet = Tablet::new(&server.url, &token).unwrap();
    tablet.sync().unwrap();
    admin(dir.path(), &["revoke", &device]).unwrap();
    let err = tablet.sync().unwrap_err();
    assert!(
        matches!(err, kam_core::sync_client::SyncError::Transport(TransportError::Unauthorized)),
        "{err}"
    );
    let (status, body) = post_raw(&server.url, &token, &SyncRequest::default().encode().unwrap());
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("unauthorized")));
    let (status, _) =
        post_raw(&server.url, "kam_not_a_token", &SyncRequest::default().encode().unwrap());
    assert_eq!(status, 401);
}

#[test]
fn oversized_and_malformed_sync_bodies_get_4xx_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let rep = token("rep-01");
    let before = change_seq(dir.path());
    let huge = vec![7u8; kam_core::wire::MAX_REQUEST_BYTES + 4096];
    let (status, body) = post_raw(&server.url, &rep, &huge);
    assert_eq!((status, body["error"]["code"].as_str()), (413, Some("body_too_large")));
    let (status, body) = post_raw(&server.url, &rep, b"{\"not\": \"a sync body\"}");
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("malformed_sync_body")));
    let mut truncated = SyncRequest::default().encode().unwrap();
    truncated.truncate(5);
    assert_eq!(post_raw(&server.url, &rep, &truncated).0, 400);
    // A well-formed body carrying a corrupt Automerge message for a new customer.
    let forged = SyncRequest {
        cursor: 0,
        messages: vec![DocMessage {
            doc_id: "customer/forged".into(),
            message: vec![0x42, 0xff, 0x00, 0x13],
        }],
        manifest: None,
        max_response_bytes: 1 << 20,
    };
    let (status, body) = post_raw(&server.url, &rep, &forged.encode().unwrap());
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("invalid_field")), "{body}");
    let (status, _) = post_raw(
        &server.url,
        &rep,
        &SyncRequest { cursor: u64::MAX, ..Default::default() }.encode().unwrap(),
    );
    assert_eq!(status, 422);
    assert_eq!(change_seq(dir.path()), before, "nothing changed");
    let db = server_db(dir.path());
    let forged_rows: i64 = db
        .query_row("SELECT COUNT(*) FROM documents WHERE doc_id = 'customer/forged'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(forged_rows, 0);
    let touched: i64 = db
        .query_row("SELECT COUNT(*) FROM devices WHERE last_seen_at IS NOT NULL", [], |r| r.get(0))
        .unwrap();
    assert_eq!(touched, 0, "no refused round counted as a sync");
}

/// Forwards to HTTP, but loses the answer of the first `lose` exchanges after the server has
/// processed them, like a connection cut on the way back.
struct LosingAnswers<'a> {
    inner: &'a dyn SyncTransport,
    lose: Cell<u32>,
}

impl SyncTransport for LosingAnswers<'_> {
    fn exchange(&self, request: &[u8]) -> Result<Vec<u8>, TransportError> {
        let answer = self.inner.exchange(request)?;
        if self.lose.get() > 0 {
            self.lose.set(self.lose.get() - 1);
            return Err(TransportError::Network("answer lost".into()));
        }
        Ok(answer)
    }
}

#[test]
fn a_round_whose_answer_is_lost_is_retried_without_duplicate_or_gap() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let mut rep = Tablet::new(&server.url, &token("rep-01")).unwrap();
    let mut hq = Tablet::new(&server.url, &token("hq-01")).unwrap();
    rep.sync().unwrap();
    hq.sync().unwrap();
    let mine = customers_of(&rep, "rep-01");
    // News the rep must not miss: HQ renames one of the rep's customers.
    rename(&mut hq, "hq-01", &mine[2], "News from HQ");
    hq.sync().unwrap();
    // The rep's own work: one visit each on two customers.
    add_visit(&mut rep, "rep-01", &mine[0], "lost answer 1");
    add_visit(&mut rep, "rep-01", &mine[1], "lost answer 2");
    let visits_before: Vec<usize> =
        mine[..2].iter().map(|id| hq.replica.customer(id).unwrap().visits.len()).collect();

    let lossy = LosingAnswers { inner: &rep.transport, lose: Cell::new(2) };
    let options = SyncOptions {
        initial_backoff: Duration::from_millis(5),
        max_attempts: 5,
        ..Default::default()
    };
    let report = sync_now(&mut rep.replica, &lossy, &options, &mut |_| {}).unwrap();
    assert_eq!(report.retries, 2);
    assert!(report.quiet);
    assert_eq!(rep.replica.customer(&mine[2]).unwrap().profile.name, "News from HQ", "no gap");
    assert_eq!(rep.replica.pending_push_count().unwrap(), 0);

    hq.sync().unwrap();
    for (i, id) in mine[..2].iter().enumerate() {
        let visits = hq.replica.customer(id).unwrap().visits;
        assert_eq!(visits.len(), visits_before[i] + 1, "exactly one new visit, no duplicate");
        assert_eq!(
            hq.replica.heads(&customer_doc_id(id)).unwrap(),
            rep.replica.heads(&customer_doc_id(id)).unwrap()
        );
    }
    kam_tests::wait_for_projections(&server.url).unwrap();
    let db = server_db(dir.path());
    let visits_projected: i64 = db
        .query_row("SELECT COUNT(*) FROM visits WHERE topics LIKE '%lost answer%'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(visits_projected, 2);
}

#[test]
fn a_fresh_replica_reusing_a_devices_token_gets_every_document() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let mut first = Tablet::new(&server.url, &token("rep-03")).unwrap();
    first.sync().unwrap();
    let held = first.replica.document_ids().unwrap();
    assert!(!held.is_empty());
    // The app was reinstalled without its data and kept its token: the token is bound to
    // the lost installation (ADR 0022) until an administrator releases it. Then the server's
    // records for the device are stale, and the new replica starts from cursor 0.
    let mut second = Tablet::new(&server.url, &token("rep-03")).unwrap();
    let refused = second.sync();
    assert!(
        matches!(&refused, Err(kam_core::sync_client::SyncError::Transport(e)) if e.is_device_in_use()),
        "{refused:?}"
    );
    let device: String = server_db(dir.path())
        .query_row("SELECT device_id FROM devices WHERE user_id = 'rep-03'", [], |r| r.get(0))
        .unwrap();
    admin(dir.path(), &["release-installation", &device]).unwrap();
    let report = second.sync().unwrap();
    assert_eq!(second.replica.document_ids().unwrap(), held, "{report:?}");
}

#[test]
fn a_replica_restored_from_a_backup_recovers_what_it_lost_with_the_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let files = tempfile::tempdir().unwrap();
    let (live, backup) = (files.path().join("tablet.sqlite3"), files.path().join("backup.sqlite3"));
    let transport = kam_core::sync_client::http::HttpTransport::new(&server.url, &token("rep-04"));
    let options = SyncOptions { initial_backoff: Duration::from_millis(5), ..Default::default() };
    let open = |path: &Path| {
        kam_core::replica::Replica::open(path, kam_core::replica::ReplicaOptions::default())
            .unwrap()
    };
    let mut replica = open(&live);
    sync_now(&mut replica, &transport, &options, &mut |_| {}).unwrap();
    let id = kam_tests::sole_customers_of(&mut replica, "rep-04").unwrap()[0].clone();
    drop(replica); // Closing checkpoints the WAL, so the file alone is a complete backup.
    std::fs::copy(&live, &backup).unwrap();

    // Life goes on: HQ renames the customer and the device receives it.
    let mut hq = Tablet::new(&server.url, &token("hq-01")).unwrap();
    hq.sync().unwrap();
    rename(&mut hq, "hq-01", &id, "Renamed after the backup");
    hq.sync().unwrap();
    let mut replica = open(&live);
    sync_now(&mut replica, &transport, &options, &mut |_| {}).unwrap();
    assert_eq!(replica.customer(&id).unwrap().profile.name, "Renamed after the backup");
    drop(replica);

    // The tablet is restored from the backup: the server believes it holds the rename.
    let mut restored = open(&backup);
    let recover = SyncOptions { recover: true, ..options };
    let report = sync_now(&mut restored, &transport, &recover, &mut |_| {}).unwrap();
    assert!(report.quiet, "{report:?}");
    assert_eq!(restored.customer(&id).unwrap().profile.name, "Renamed after the backup");
    assert_eq!(
        restored.heads(&customer_doc_id(&id)).unwrap(),
        hq.replica.heads(&customer_doc_id(&id)).unwrap()
    );
}

fn sync_with_venue(tablet: &mut Tablet) -> kam_core::sync_client::SyncReport {
    // The venue keeps its address across a restart; the test's server takes a new port.
    tablet.server_id = Some("http://venue.test".to_owned());
    let report = tablet.sync().unwrap();
    assert!(report.quiet, "{report:?}");
    report
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn a_server_restarted_from_an_older_copy_refuses_the_cursor_and_the_tablet_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let copy = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let mut tablet = Tablet::new(&server.url, &token("rep-04")).unwrap();
    sync_with_venue(&mut tablet);
    let id = sole_customers_of(&mut tablet, "rep-04")[0].clone();
    // The venue's second copy is taken here.
    server.stop(Duration::from_secs(30)).unwrap();
    copy_dir(dir.path(), copy.path());
    let server = start(dir.path());

    // Life goes on: HQ renames the customer and the tablet receives it.
    let mut hq = Tablet::new(&server.url, &token("hq-01")).unwrap();
    hq.sync().unwrap();
    rename(&mut hq, "hq-01", &id, "Renamed after the copy");
    hq.sync().unwrap();
    tablet.transport =
        kam_core::sync_client::http::HttpTransport::new(&server.url, &token("rep-04"));
    sync_with_venue(&mut tablet);
    let ahead = tablet.replica.server_cursor_for("http://venue.test").unwrap();
    assert!(ahead > u64::try_from(change_seq(copy.path())).unwrap());
    server.stop(Duration::from_secs(30)).unwrap();

    // The venue restarts from its second copy, which ends before the tablet's cursor: the
    // server refuses it, and the tablet starts over at 0 with its manifest.
    let old = start(copy.path());
    tablet.transport = kam_core::sync_client::http::HttpTransport::new(&old.url, &token("rep-04"));
    let report = sync_with_venue(&mut tablet);
    let sequence = u64::try_from(change_seq(copy.path())).unwrap();
    assert_eq!(report.cursor, sequence, "{report:?}");
    assert_eq!(tablet.replica.server_cursor_for("http://venue.test").unwrap(), sequence);
    assert_eq!(tablet.replica.customer(&id).unwrap().profile.name, "Renamed after the copy");
    // The tablet's next edit reaches the old copy, whose history lacks the rename.
    add_visit(&mut tablet, "rep-04", &id, "after the restart");
    sync_with_venue(&mut tablet);
    assert_eq!(tablet.replica.pending_push_count().unwrap(), 0);
    let doc = customer_doc_id(&id);
    let (status, bytes) = server_heads(&old.url, &token("rep-04"), &doc);
    assert_eq!(status, 200);
    let mut held =
        kam_core::doc::Document::load(doc.clone(), &bytes, automerge::ActorId::random()).unwrap();
    assert_eq!(held.heads(), tablet.replica.heads(&doc).unwrap(), "the copy caught up");
}

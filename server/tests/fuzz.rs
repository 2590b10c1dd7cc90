//! Malformed input at the HTTP surface: arbitrary and mutated sync bodies and desk command
//! bodies, sent through the real router with the desk's writer running. Every one must get a
//! 4xx (never a 5xx, never a panic) and change nothing: the change sequence, the stored desk
//! answers and the ledger stay as they were.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic on a broken expectation.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use kam_core::demo::DemoSpec;
use kam_core::wire::{DocMessage, SyncRequest};
use kam_server::desk::Desk;
use kam_server::{
    data,
    http::{AppState, routes},
};
use proptest::prelude::*;
use tower::ServiceExt;

struct Server {
    _dir: tempfile::TempDir,
    app: axum::Router,
    rt: tokio::runtime::Runtime,
    db: rusqlite::Connection,
    desk_db: rusqlite::Connection,
    event: String,
}

fn server() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let mut store = data::open_store(dir.path()).unwrap();
    let spec =
        DemoSpec { customers: 10, tickets: 10, units: 10, buyers: 10, ..DemoSpec::standard(2) };
    data::load_demo(&mut store, &spec, chrono::Utc::now()).unwrap();
    let desk = Desk::start(&store.desk_path(), store.path(), store.policy().clone()).unwrap();
    let db = rusqlite::Connection::open(store.path()).unwrap();
    let desk_db = rusqlite::Connection::open(store.desk_path()).unwrap();
    let event: String =
        desk_db.query_row("SELECT event_id FROM desk_events", [], |r| r.get(0)).unwrap();
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let app = routes::app(AppState::with_desk(store, desk).unwrap());
    Server { _dir: dir, app, rt, db, desk_db, event }
}

impl Server {
    fn post(&self, path: &str, token: &str, content_type: &str, body: Vec<u8>) -> StatusCode {
        let request = Request::post(path)
            .header("Authorization", format!("Bearer {token}"))
            .header("Content-Type", content_type)
            .body(Body::from(body))
            .unwrap();
        self.rt.block_on(async {
            let response = self.app.clone().oneshot(request).await.unwrap();
            let status = response.status();
            let _ = response.into_body().collect().await;
            status
        })
    }

    /// Everything a request could have changed.
    fn fingerprint(&self) -> (i64, i64, i64) {
        let seq: i64 = self.db.query_row("SELECT value FROM change_seq", [], |r| r.get(0)).unwrap();
        let answers: i64 =
            self.desk_db.query_row("SELECT COUNT(*) FROM desk_requests", [], |r| r.get(0)).unwrap();
        let ledger: i64 =
            self.desk_db.query_row("SELECT COUNT(*) FROM desk_ledger", [], |r| r.get(0)).unwrap();
        (seq, answers, ledger)
    }
}

thread_local! {
    /// One server per test thread, kept across that test's cases.
    static SERVER: Server = server();
}

fn with_server<T>(work: impl FnOnce(&Server) -> T) -> T {
    SERVER.with(work)
}

fn is_client_error(status: StatusCode) -> bool {
    status.is_client_error()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_sync_bodies_get_a_4xx_and_change_nothing(bytes in proptest::collection::vec(any::<u8>(), 0..4_096)) {
        with_server(|s| {
            let before = s.fingerprint();
            let status = s.post("/api/v1/sync", "kam_demo_rep-01", kam_core::wire::WIRE_CONTENT_TYPE, bytes);
            prop_assert!(is_client_error(status), "status {status}");
            prop_assert_eq!(s.fingerprint(), before);
            Ok(())
        })?;
    }

    #[test]
    fn garbage_automerge_messages_in_a_valid_envelope_get_a_4xx_and_change_nothing(
        message in proptest::collection::vec(any::<u8>(), 1..1_024),
    ) {
        with_server(|s| {
            let before = s.fingerprint();
            // Random bytes are almost never a well-formed sync message; one that is (carrying
            // no changes) is not malformed and may be answered normally.
            let well_formed = automerge::sync::Message::decode(&message).is_ok();
            let request = SyncRequest {
                cursor: 0,
                messages: vec![DocMessage { doc_id: "customer/no-such-customer".into(), message }],
                manifest: None,
                max_response_bytes: 1 << 20,
            };
            let status = s.post("/api/v1/sync", "kam_demo_hq-01", kam_core::wire::WIRE_CONTENT_TYPE, request.encode().unwrap());
            prop_assert!(is_client_error(status) || (well_formed && status == StatusCode::OK), "status {status}");
            prop_assert_eq!(s.fingerprint(), before);
            Ok(())
        })?;
    }

    #[test]
    fn arbitrary_desk_bodies_get_a_4xx_and_change_nothing(bytes in proptest::collection::vec(any::<u8>(), 0..2_048)) {
        with_server(|s| {
            let before = s.fingerprint();
            let status = s.post("/api/v1/desk/commands", "kam_demo_staff-01", "application/json", bytes);
            prop_assert!(is_client_error(status), "status {status}");
            prop_assert_eq!(s.fingerprint(), before);
            Ok(())
        })?;
    }

    #[test]
    fn commands_with_invalid_fields_get_a_4xx_and_change_nothing(
        key in prop_oneof![Just(String::new()), "[\\x00-\\x1f]{1,4}", ".{129,140}"],
        amount in prop_oneof![Just("-1".to_owned()), Just("abc".to_owned()), Just("1e400".to_owned())],
    ) {
        with_server(|s| {
            let before = s.fingerprint();
            // An invalid key, then a valid key with a field of the wrong type.
            let bad_key = serde_json::json!({ "idempotency_key": key, "event_id": s.event,
                "command": { "kind": "call_next", "now_serving": 0 } });
            let status = s.post("/api/v1/desk/commands", "kam_demo_staff-01", "application/json", bad_key.to_string().into_bytes());
            prop_assert!(is_client_error(status), "status {status}");
            let bad_field = serde_json::json!({ "idempotency_key": "k", "event_id": s.event,
                "command": { "kind": "record_receipt", "ticket_id": 5, "amount": amount, "method": [] } });
            let status = s.post("/api/v1/desk/commands", "kam_demo_staff-01", "application/json", bad_field.to_string().into_bytes());
            prop_assert!(is_client_error(status), "status {status}");
            prop_assert_eq!(s.fingerprint(), before);
            Ok(())
        })?;
    }
}

#[test]
fn a_valid_command_after_the_garbage_is_still_answered() {
    let s = server();
    let s = &s;
    let body = serde_json::json!({ "idempotency_key": "after-fuzz", "event_id": s.event,
        "command": { "kind": "call_next", "now_serving": 0 } });
    let status = s.post(
        "/api/v1/desk/commands",
        "kam_demo_staff-01",
        "application/json",
        body.to_string().into_bytes(),
    );
    assert_eq!(status, StatusCode::OK);
}

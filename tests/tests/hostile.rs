//! The hostile-client suite (issue 18): the real release server on 127.0.0.1, tried as an
//! outside tester would, one test per class of fault, each with several inputs of its own.
//! After each, every route still answers as it should, the server restarts on its own data
//! directory, and nothing it had acknowledged changed (`kam_tests::hostile::Site::check`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)] // Tests may panic on a broken expectation.

use std::time::{Duration, Instant};

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjType, ROOT, ReadDoc};
use kam_core::doc::{ActorId, DocId, Document, SyncState, prime_sync_state};
use kam_core::wire::{DocMessage, SyncRequest, WIRE_CONTENT_TYPE};
use kam_tests::hostile::{Answer, Site, raw_exchange};
use kam_tests::push_stream::{open_stream, until_the_stream_ends};
use kam_tests::{Tablet, admin, customers_of, demo_token, enroll};
use serde_json::{Value, json};

/// A sync round that sends `bytes` as the whole of document `doc_id`, as a hostile device
/// would: no local checks, a message primed to carry everything.
fn hostile_round(site: &Site, token: &str, doc_id: &str, bytes: &[u8]) -> Answer {
    let id: DocId = doc_id.parse().unwrap();
    let mut doc = Document::load(id, bytes, ActorId::random()).unwrap();
    let mut state = SyncState::new();
    prime_sync_state(&mut state);
    let message = doc.generate_sync_message(&mut state).unwrap();
    let request = SyncRequest {
        cursor: 0,
        messages: vec![DocMessage { doc_id: doc_id.to_owned(), message }],
        manifest: None,
        max_response_bytes: 1 << 20,
    };
    sync_body(site, token, &request.encode().unwrap())
}

fn sync_body(site: &Site, token: &str, body: &[u8]) -> Answer {
    let auth = format!("Bearer {token}");
    let headers = [("authorization", auth.as_str()), ("content-type", WIRE_CONTENT_TYPE)];
    site.call("POST", "/api/v1/sync", &headers, Some(body)).unwrap()
}

fn server_db(site: &Site) -> rusqlite::Connection {
    rusqlite::Connection::open(site.dir().join(kam_server::data::STORE_FILE)).unwrap()
}

fn stored_documents(site: &Site) -> i64 {
    server_db(site).query_row("SELECT COUNT(*) FROM documents", [], |r| r.get(0)).unwrap()
}

fn rep_customer_bytes(site: &Site) -> (String, Vec<u8>) {
    let mut tablet = Tablet::new(&site.url, &site.rep_device().unwrap()).unwrap();
    tablet.sync().unwrap();
    let id = customers_of(&tablet.replica, "rep-01").unwrap().into_iter().nth(1).unwrap();
    let doc = kam_core::doc::customer_doc_id(&id);
    (doc.to_string(), tablet.replica.save_document(&doc).unwrap())
}

/// `bytes` with `edit` applied as one more change.
fn tampered(bytes: &[u8], edit: impl FnOnce(&mut AutoCommit)) -> Vec<u8> {
    let mut am = AutoCommit::load(bytes).unwrap();
    edit(&mut am);
    am.commit();
    am.save()
}

fn assert_refused(answer: &Answer, status: u16, codes: &[&str], what: &str) {
    let code = answer.code().unwrap_or_default();
    assert!(
        answer.status == status && codes.contains(&code.as_str()),
        "{what}: expected {status} {codes:?}, got {} {}",
        answer.status,
        answer.text()
    );
}

#[test]
fn class_1_poison_values_and_documents_never_brick_or_stall_the_server() {
    let mut site = Site::start(&[]).unwrap();
    // Absurd money at the desk: refused at the door with 422, never stored.
    let unit = site.units[5].clone();
    let seen = site.get_as("staff-01", &format!("/api/v1/events/{}/desk", site.event)).unwrap();
    let price_seen = seen.json()["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["unit_id"] == unit.as_str())
        .map(|u| u["unit_price"].clone())
        .unwrap();
    for price in [
        "79228162514264337593543950335",
        "-79228162514264337593543950335",
        "10000000.01",
        "0.001",
        "-1",
        "1e30",
        "NaN",
    ] {
        let command = json!({ "kind": "approve_price", "unit_id": unit, "unit_price": price,
                              "approvers": ["sales-director", "finance-director", "project-head",
                                            "gm", "chairman"],
                              "price_seen": price_seen });
        let (status, answer) = site.command("hq-01", command).unwrap();
        let code = answer["error"]["code"].as_str().unwrap_or_default().to_owned();
        assert!(
            status == 422 && ["out_of_range", "invalid_field"].contains(&code.as_str()),
            "{price}: {status} {answer}"
        );
    }
    let (status, answer) = site
        .command(
            "staff-01",
            json!({ "kind": "prepare_work_ticket", "unit_id": site.units[0],
            "hold_id": "h", "payment_ratio_pct": "1000", "discounts": [], "sealing_fee": "-5" }),
        )
        .unwrap();
    assert_eq!(status, 422, "{answer}");

    // Documents that do not read as what they claim to be: refused with 422, nothing stored.
    let (_, device) = enroll(site.dir(), "rep-01").unwrap();
    let (own_id, own_bytes) = rep_customer_bytes(&site);
    let documents = stored_documents(&site);
    let impostor = format!("customer/{}", uuid::Uuid::now_v7());
    assert_refused(
        &hostile_round(&site, &device, &impostor, &own_bytes),
        422,
        &["invalid_document"],
        "a customer's bytes under a new id",
    );
    let wrong_kind = tampered(&own_bytes, |am| am.put(ROOT, "kind", "ticket").unwrap());
    assert_refused(
        &hostile_round(&site, &device, &own_id, &wrong_kind),
        422,
        &["invalid_document"],
        "a customer turned into a ticket",
    );
    let renamed = tampered(&own_bytes, |am| am.put(ROOT, "id", "someone-else").unwrap());
    assert_refused(
        &hostile_round(&site, &device, &own_id, &renamed),
        422,
        &["invalid_document"],
        "a customer whose header names another",
    );
    let future = tampered(&own_bytes, |am| am.put(ROOT, "schema", 99_i64).unwrap());
    assert_refused(
        &hostile_round(&site, &device, &own_id, &future),
        422,
        &["invalid_document"],
        "a schema from the future",
    );
    let poisoned_credit = tampered(&own_bytes, |am| {
        let credit = am.get(ROOT, "credit").unwrap().unwrap().1;
        am.put(&credit, "credit_limit", "79228162514264337593543950335").unwrap();
    });
    assert_refused(
        &hostile_round(&site, &device, &own_id, &poisoned_credit),
        422,
        &["invalid_document"],
        "a credit limit past Decimal's range",
    );
    assert_eq!(stored_documents(&site), documents, "no refused round stored a document");
    assert_eq!(
        server_db(&site)
            .query_row("SELECT COUNT(*) FROM documents WHERE doc_id = ?1", [&impostor], |r| {
                r.get::<_, i64>(0)
            })
            .unwrap(),
        0
    );
    site.check(true).unwrap();

    // Poison already on disk (a document that does not load; bytes of one customer under
    // another's id): the server starts, sets them aside and projects the rest.
    let db = server_db(&site);
    let victims: Vec<String> = db
        .prepare(
            "SELECT DISTINCT 'customer/' || customer_id FROM customer_owners
             WHERE customer_id NOT IN (SELECT customer_id FROM customer_owners WHERE owner_id = 'rep-01')
             ORDER BY 1 LIMIT 3",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    drop(db);
    site.stop().unwrap();
    server_db(&site)
        .execute_batch(&format!(
            "UPDATE change_seq SET value = value + 2;
             UPDATE documents SET snapshot = x'00ff', chunk_count = 0, chunk_bytes = 0,
                 seq = (SELECT value FROM change_seq) WHERE doc_id = '{broken}';
             DELETE FROM document_chunks WHERE doc_id = '{broken}';
             UPDATE documents SET snapshot = (SELECT snapshot FROM documents WHERE doc_id = '{model}'),
                 chunk_count = 0, chunk_bytes = 0, seq = (SELECT value - 1 FROM change_seq)
                 WHERE doc_id = '{impostor}';
             DELETE FROM document_chunks WHERE doc_id = '{impostor}';",
            broken = victims[2],
            model = victims[0],
            impostor = victims[1],
        ))
        .unwrap();
    site.resume().unwrap();
    kam_tests::wait_for_projections(&site.url).unwrap();
    let quarantine = site.get_as("hq-01", "/api/v1/hq/quarantine").unwrap().json();
    let set_aside: Vec<&str> =
        quarantine.as_array().unwrap().iter().filter_map(|q| q["doc_id"].as_str()).collect();
    assert!(set_aside.contains(&victims[2].as_str()), "{quarantine}");
    assert!(set_aside.contains(&victims[1].as_str()), "{quarantine}");
    let metrics = site.call("GET", "/metrics", &[], None).unwrap().text();
    assert!(metrics.contains("kam_quarantined_documents"), "{metrics}");
    site.restart().unwrap();
}

#[test]
fn class_2_idempotency_keys_belong_to_their_device_and_authorization_comes_first() {
    let mut site = Site::start(&[]).unwrap();
    let hold = json!({ "kind": "hold", "unit_id": site.units[1], "buyer_id": site.buyers[1] });
    let staff = site.desk("staff-01");
    let first = staff.send("mine", &site.event, &hold).unwrap();
    assert_eq!(first.0, 200, "{first:?}");
    // Another user's device re-sending the key and the body gets nothing of staff-01's.
    for user in ["rep-01", "rep-02"] {
        let (status, answer) = site.desk(user).send("mine", &site.event, &hold).unwrap();
        assert_eq!((status, answer["error"]["code"].as_str()), (403, Some("forbidden")), "{user}");
    }
    for user in ["hq-01", "finance-01"] {
        let (status, answer) = site.desk(user).send("mine", &site.event, &hold).unwrap();
        assert_ne!((status, &answer), (first.0, &first.1), "{user} got staff-01's answer");
    }
    // So does a second device of the same user, and a device sending another body.
    let (_, second) = enroll(site.dir(), "staff-01").unwrap();
    let other = kam_tests::DeskClient::new(&site.url, &second);
    let (status, answer) = other.send("mine", &site.event, &hold).unwrap();
    assert_eq!((status, answer["refusal"]["code"].as_str()), (409, Some("unit_not_available")));
    let (status, answer) =
        staff.send("mine", &site.event, &json!({ "kind": "skip", "lottery_no": 0 })).unwrap();
    assert_eq!((status, answer["error"]["code"].as_str()), (422, Some("idempotency_key_reused")));
    // The same device retrying gets its answer; once its grant is withdrawn, nothing.
    assert_eq!(staff.send("mine", &site.event, &hold).unwrap(), first);
    server_db(&site)
        .execute("DELETE FROM grants WHERE user_id = 'staff-01' AND scope_key LIKE 'event/%'", [])
        .unwrap();
    let (status, answer) = staff.send("mine", &site.event, &hold).unwrap();
    assert_eq!(status, 403, "no stored answer without the grant: {answer}");
    admin(site.dir(), &["assign-event", &site.event, &project_of(&site), "staff-01"]).unwrap();
    assert_eq!(staff.send("mine", &site.event, &hold).unwrap(), first, "granted again");
    site.check(true).unwrap();
    site.restart().unwrap();
    let staff = site.desk("staff-01");
    assert_eq!(staff.send("mine", &site.event, &hold).unwrap(), first, "kept across a restart");
}

fn project_of(site: &Site) -> String {
    kam_tests::desk_db(site.dir())
        .unwrap()
        .query_row("SELECT project_id FROM desk_events", [], |r| r.get(0))
        .unwrap()
}

fn control_table(site: &Site) -> Value {
    site.get_as("staff-01", &format!("/api/v1/events/{}/desk", site.event)).unwrap().json()
}

fn unit_line(site: &Site, unit: &str) -> Value {
    control_table(site)["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["unit_id"] == unit)
        .cloned()
        .unwrap()
}

#[test]
fn class_3_a_command_acts_only_on_what_its_sender_saw() {
    let mut site = Site::start(&[]).unwrap();
    let unit = site.units[2].clone();
    let hold = |buyer: &str| json!({ "kind": "hold", "unit_id": unit, "buyer_id": buyer });
    assert_eq!(site.command("staff-01", hold(&site.buyers[2])).unwrap().0, 200);
    let first_hold = unit_line(&site, &unit)["hold_id"].as_str().unwrap().to_owned();
    let release = |hold_id: &str| json!({ "kind": "release", "unit_id": unit, "hold_id": hold_id, "reason": "r" });
    // The first buyer's hold ends and another buyer's is placed; releases queued against the
    // first, or naming holds that never were, must not touch the second.
    assert_eq!(site.command("staff-01", release(&first_hold)).unwrap().0, 200);
    assert_eq!(site.command("staff-01", hold(&site.buyers[3])).unwrap().0, 200);
    let before = control_table(&site);
    let other_unit_hold = unit_line(&site, &site.units[0])["hold_id"].as_str().unwrap().to_owned();
    for stale in [first_hold.as_str(), "", "hold-that-never-was", other_unit_hold.as_str()] {
        let (status, answer) = site.command("staff-01", release(stale)).unwrap();
        assert_eq!(
            (status, answer["refusal"]["code"].as_str()),
            (409, Some("stale_state")),
            "{stale:?}"
        );
        let ticket = json!({ "kind": "prepare_work_ticket", "unit_id": unit, "hold_id": stale,
                             "payment_ratio_pct": "60", "discounts": [], "sealing_fee": "20000" });
        let (status, answer) = site.command("staff-01", ticket).unwrap();
        assert_eq!(
            (status, answer["refusal"]["code"].as_str()),
            (409, Some("stale_state")),
            "{stale:?}"
        );
    }
    // The queue, from screens showing older or invented numbers.
    let serving = control_table(&site)["now_serving"].as_u64().unwrap_or(0);
    let call = |n: u64| json!({ "kind": "call_next", "now_serving": n });
    assert_eq!(site.command("staff-01", call(serving)).unwrap().0, 200);
    for seen in [serving, serving + 5, 999_999] {
        let (status, answer) = site.command("staff-01", call(seen)).unwrap();
        assert_eq!((status, answer["refusal"]["code"].as_str()), (409, Some("stale_state")));
        let skip = json!({ "kind": "skip", "lottery_no": seen });
        let (status, answer) = site.command("staff-01", skip).unwrap();
        assert_eq!((status, answer["refusal"]["code"].as_str()), (409, Some("stale_state")));
    }
    // A price approved against a price replaced meanwhile.
    let priced = site.units[6].clone();
    let seen = unit_line(&site, &priced)["unit_price"].clone();
    let approve = |price: &str, seen: &Value| {
        json!({ "kind": "approve_price", "unit_id": priced, "unit_price": price,
                "approvers": ["sales-director", "finance-director", "project-head", "gm", "chairman"],
                "price_seen": seen })
    };
    assert_eq!(site.command("hq-01", approve("23456", &seen)).unwrap().0, 200);
    for stale in [seen.clone(), Value::Null, json!("1")] {
        let (status, answer) = site.command("hq-01", approve("34567", &stale)).unwrap();
        assert_eq!((status, answer["refusal"]["code"].as_str()), (409, Some("stale_state")));
    }
    let after = control_table(&site);
    assert_eq!(
        after["units"].as_array().unwrap().iter().filter(|u| u["status"] == "held").count(),
        before["units"].as_array().unwrap().iter().filter(|u| u["status"] == "held").count(),
        "no stale command freed or took a unit"
    );
    assert_eq!(unit_line(&site, &priced)["unit_price"], "23456");
    site.check(true).unwrap();
    site.restart().unwrap();
}

#[test]
fn class_4_limits_on_everything_answered_with_the_right_status() {
    let mut site = Site::start(&[
        "--header-timeout-s",
        "1",
        "--body-idle-timeout-s",
        "1",
        "--streams-per-caller",
        "2",
        "--max-streams",
        "5",
    ])
    .unwrap();
    // Bodies over every route's limit: 413 before the body is read past the limit.
    let staff = format!("Bearer {}", demo_token("staff-01"));
    let big = vec![b'x'; 17 * 1024 * 1024];
    for (method, path, size) in [
        // A client's whole body fits in the socket buffers once the server has read up to
        // the limit, so it hears the 413 (a body far larger may meet a closed connection).
        ("POST", "/api/v1/sync", 16 * 1024 * 1024 + 1024 + 64 * 1024),
        ("POST", "/api/v1/desk/commands", 1024 * 1024 + 64 * 1024),
        ("POST", "/login", 128 * 1024),
        ("POST", "/api/v1/hq/conflicts/resolve", 128 * 1024),
        ("GET", "/api/v1/summary", 128 * 1024),
    ] {
        let answer = site
            .call(
                method,
                path,
                &[("authorization", &staff), ("content-type", "application/json")],
                Some(&big[..size]),
            )
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        if path.starts_with("/api/") {
            assert_eq!(
                (answer.status, answer.code().as_deref()),
                (413, Some("body_too_large")),
                "{path}"
            );
        } else {
            // A page: the localized error page, not JSON.
            assert_eq!(answer.status, 413, "{path}");
            let html = answer.header("content-type").unwrap_or_default().starts_with("text/html");
            assert!(html && answer.text().contains("<nav"), "{path}: {}", answer.text());
        }
    }
    // The sync route refuses an unknown token before it reads a byte of the body.
    let head = "POST /api/v1/sync HTTP/1.1\r\nhost: x\r\nauthorization: Bearer nobody\r\ncontent-length: 8000000\r\n\r\n";
    let (status, _) = raw_exchange(&site.url, head, b"", Duration::from_secs(5)).unwrap();
    assert_eq!(status, 401, "answered without the body");
    // Slow headers and slow bodies are cut; an idle kept-alive connection is closed.
    let started = Instant::now();
    let (status, closed) =
        raw_exchange(&site.url, "GET /healthz HTTP/1.1\r\nho", b"", Duration::from_secs(10))
            .unwrap();
    assert!(closed && status != 200, "slow headers: {status} after {:?}", started.elapsed());
    let head =
        "POST /api/v1/desk/commands HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n";
    let head = format!("{head}authorization: {staff}\r\ncontent-length: 100\r\n\r\n");
    let (status, closed) =
        raw_exchange(&site.url, &head, b"{\"idem", Duration::from_secs(10)).unwrap();
    assert!(closed || status >= 400, "slow body: {status}");
    let (status, closed) = raw_exchange(
        &site.url,
        "GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n",
        b"",
        Duration::from_secs(10),
    )
    .unwrap();
    assert!(status == 200 && closed, "idle keep-alive: {status} {closed}");

    // Work per request: a document nested deeper than a document may be, and a message with
    // more changes than one message may carry, are refused at the door; nothing is stored.
    let (_, device) = enroll(site.dir(), "rep-01").unwrap();
    let (own_id, own_bytes) = rep_customer_bytes(&site);
    let change_seq = || -> i64 {
        server_db(&site).query_row("SELECT value FROM change_seq", [], |r| r.get(0)).unwrap()
    };
    let before = change_seq();
    for levels in [9, 64, 2_000] {
        let deep = tampered(&own_bytes, |am| {
            let mut at = am.get(ROOT, "profile").unwrap().unwrap().1;
            for _ in 0..levels {
                at = am.put_object(&at, "x", ObjType::Map).unwrap();
            }
            am.put(&at, "leaf", "deep").unwrap();
        });
        let answer = hostile_round(&site, &device, &own_id, &deep);
        assert_refused(&answer, 422, &["document_too_deep"], &format!("{levels} levels"));
    }
    let busy = tampered(&own_bytes, |am| {
        let profile = am.get(ROOT, "profile").unwrap().unwrap().1;
        for n in 0..(kam_core::doc::MAX_CHANGES_PER_MESSAGE as i64 + 1) {
            am.put(&profile, "notes", n).unwrap();
            am.commit();
        }
    });
    let answer = hostile_round(&site, &device, &own_id, &busy);
    assert_refused(&answer, 422, &["invalid_field"], "more changes than a message may carry");
    assert_eq!(change_seq(), before, "no refused round stored a change");

    // Sign-in floods: per user name (known or not) and per address, 429 with Retry-After;
    // and memory stays bounded however many unknown names are tried.
    let (rss_before, _) = site.rss_and_threads().unwrap();
    let mut statuses = Vec::new();
    for n in 0..200 {
        let form = format!("user=nobody-{n}&password=wrong");
        let answer = site
            .call(
                "POST",
                "/login",
                &[("content-type", "application/x-www-form-urlencoded")],
                Some(form.as_bytes()),
            )
            .unwrap();
        if answer.status == 429 {
            assert!(answer.header("retry-after").is_some(), "Retry-After on 429");
        }
        statuses.push(answer.status);
    }
    let (rss_after, _) = site.rss_and_threads().unwrap();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    println!(
        "200 sign-ins for unknown users: {refused} refused with 429; RSS {} -> {} KiB",
        rss_before, rss_after
    );
    assert!(refused >= 150, "{statuses:?}");
    assert!(rss_after < rss_before + 100 * 1024, "memory grew by {} KiB", rss_after - rss_before);
    // Tokens and users: a flood under one token meets 429 with Retry-After.
    let mut limited = 0;
    for _ in 0..1_000 {
        let answer = site.get_as("finance-01", "/api/v1/desk/ledger/verify").unwrap();
        if answer.status == 429 {
            assert_eq!(answer.code().as_deref(), Some("rate_limited"));
            assert!(answer.header("retry-after").is_some());
            limited += 1;
        }
    }
    assert!(limited > 0, "a thousand requests at once under one token were all served");
    // Failed credentials from one address: 429 once it has failed too often.
    let bad: Vec<u16> = (0..120)
        .map(|n| {
            site.call(
                "GET",
                "/api/v1/conflicts",
                &[("authorization", &format!("Bearer wrong-{n}"))],
                None,
            )
            .unwrap()
            .status
        })
        .collect();
    assert!(bad.iter().all(|s| *s == 401 || *s == 429) && bad.contains(&429), "{bad:?}");

    // Streams: a caller's share, then the server's total.
    let mut open = Vec::new();
    for user in ["rep-01", "rep-02", "rep-03"] {
        for n in 0..3 {
            let (stream, status) = open_stream(
                &site.url,
                "/api/v1/changes",
                &[("authorization", &format!("Bearer {}", demo_token(user)))],
            );
            let expected = if open.len() >= 5 {
                503
            } else if n == 2 {
                429
            } else {
                200
            };
            assert_eq!(status, expected, "{user} stream {n}");
            if status == 200 {
                open.push(stream);
            }
        }
    }
    drop(open);
    // Once the rate limiters have let go (a restart clears them), everything answers again.
    site.restart().unwrap();
}

#[test]
fn class_5_revocation_and_sign_out_end_what_they_authorised() {
    let mut site = Site::start(&[]).unwrap();
    // Devices: each revoked from the command line while its stream is open.
    for user in ["rep-01", "staff-01", "hq-01"] {
        let (device, token) = enroll(site.dir(), user).unwrap();
        let auth = format!("Bearer {token}");
        let (mut stream, status) =
            open_stream(&site.url, "/api/v1/changes", &[("authorization", &auth)]);
        assert_eq!(status, 200);
        admin(site.dir(), &["revoke", &device]).unwrap();
        let (ended, seen) = until_the_stream_ends(&mut stream, Duration::from_secs(5));
        let ended =
            ended.unwrap_or_else(|| panic!("{user}'s stream outlived its revocation: {seen}"));
        println!("{user}: the stream ended {} ms after the revocation", ended.as_millis());
        assert!(seen.contains("event: revoked"), "{seen}");
        let answer =
            site.call("GET", "/api/v1/conflicts", &[("authorization", &auth)], None).unwrap();
        assert_eq!(answer.status, 401, "the revoked token opens nothing");
    }
    // Sessions: the live board (the consoles' stream, which headquarters' board follows too) of
    // a session ends when it signs out.
    for user in ["hq-01", "finance-01"] {
        let cookie = site.sign_in(user).unwrap();
        let board = format!("/console/events/{}/live", site.event);
        let (mut stream, status) = open_stream(&site.url, &board, &[("cookie", &cookie)]);
        assert_eq!(status, 200);
        let page = site.call("GET", "/console", &[("cookie", &cookie)], None).unwrap().text();
        let csrf = page
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_owned();
        let form = format!("csrf={csrf}");
        let out = site
            .call(
                "POST",
                "/logout",
                &[("cookie", &cookie), ("content-type", "application/x-www-form-urlencoded")],
                Some(form.as_bytes()),
            )
            .unwrap();
        assert_eq!(out.status, 303);
        let (ended, seen) = until_the_stream_ends(&mut stream, Duration::from_secs(5));
        let ended = ended.unwrap_or_else(|| panic!("{user}'s board outlived the sign-out: {seen}"));
        println!("{user}: the board stream ended {} ms after signing out", ended.as_millis());
        let after = site.call("GET", "/console", &[("cookie", &cookie)], None).unwrap();
        assert_eq!(after.status, 303, "the ended session opens nothing");
    }
    site.check(true).unwrap();
    site.restart().unwrap();
}

#[test]
fn class_6_web_hygiene() {
    let mut site = Site::start(&["--tls-proxy"]).unwrap();
    for back in [
        "/%09/evil.example",
        "%0a",
        "/%0d%0aSet-Cookie:x=1",
        "//evil.example",
        "/\\evil.example",
        "https://evil.example",
        "javascript:alert(1)",
        "%2F%2Fevil.example",
        "/%E2%80%AE/evil",
        "",
    ] {
        let answer = site.call("GET", &format!("/lang/en?back={back}"), &[], None).unwrap();
        let location = answer.header("location").unwrap_or_default().to_owned();
        assert!(
            answer.status == 303 || answer.status == 302 || answer.status == 307,
            "{back}: {}",
            answer.status
        );
        assert!(
            location.starts_with('/')
                && !location.starts_with("//")
                && !location.contains('\\')
                && !location.chars().any(|c| c.is_control() || c.is_whitespace()),
            "{back} -> {location}"
        );
        let page = site.call("GET", &format!("/login?next={back}"), &[], None).unwrap();
        assert_eq!(page.status, 200, "{back}");
        assert!(!page.text().contains("evil.example\""), "{back}");
    }
    // Security headers everywhere: pages, the API, streams, errors.
    let cookie = site.sign_in("hq-01").unwrap();
    assert!(cookie.starts_with("kam_session="));
    for (path, headers) in [
        ("/login", vec![]),
        ("/hq", vec![("cookie", cookie.as_str())]),
        ("/api/v1/summary", vec![]),
        ("/api/v1/nothing-here", vec![]),
        ("/hq/nothing-here", vec![("cookie", cookie.as_str())]),
    ] {
        let answer = site.call("GET", path, &headers, None).unwrap();
        let csp = answer.header("content-security-policy").unwrap_or_default();
        assert!(
            csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"),
            "{path}: {csp}"
        );
        assert_eq!(answer.header("x-content-type-options"), Some("nosniff"), "{path}");
        assert_eq!(answer.header("x-frame-options"), Some("DENY"), "{path}");
        assert!(answer.header("referrer-policy").is_some(), "{path}");
        assert!(answer.header("strict-transport-security").is_some(), "{path}: HSTS behind TLS");
    }
    let signed_in = site.call("GET", "/hq", &[("cookie", &cookie)], None).unwrap();
    assert_eq!(signed_in.header("cache-control"), Some("no-store"));
    // The session cookie is Secure behind TLS; logout needs its CSRF token.
    let form = "user=hq-01&password=demo-hq-01&next=%2Fhq";
    let login = site
        .call(
            "POST",
            "/login",
            &[("content-type", "application/x-www-form-urlencoded")],
            Some(form.as_bytes()),
        )
        .unwrap();
    let set = login.header("set-cookie").unwrap();
    assert!(
        set.contains("Secure") && set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    for forged in ["", "csrf=", "csrf=0000"] {
        let out = site
            .call(
                "POST",
                "/logout",
                &[("cookie", &cookie), ("content-type", "application/x-www-form-urlencoded")],
                Some(forged.as_bytes()),
            )
            .unwrap();
        assert_eq!(out.status, 403, "{forged:?}");
    }
    assert_eq!(
        site.call("GET", "/hq", &[("cookie", &cookie)], None).unwrap().status,
        200,
        "still signed in"
    );
    // Bearer in any case.
    for scheme in ["bearer", "BEARER", "BeArEr"] {
        let auth = format!("{scheme} {}", demo_token("hq-01"));
        let answer =
            site.call("GET", "/api/v1/conflicts", &[("authorization", &auth)], None).unwrap();
        assert_eq!(answer.status, 200, "{scheme}");
    }
    site.check(true).unwrap();
    site.restart().unwrap();
}

#[test]
fn class_7_the_authority_covers_what_a_device_adds_and_removes() {
    let mut site = Site::start(&[]).unwrap();
    let (_, device) = enroll(site.dir(), "rep-01").unwrap();
    let (customer, bytes) = rep_customer_bytes(&site);
    // A rep adds a late payment (finance's), removes every visit (headquarters'), and adds a
    // unit to the project (headquarters'): each is compensated and recorded.
    let with_late_payment = tampered(&bytes, |am| {
        let late = am.get(ROOT, "late_payments").unwrap().unwrap().1;
        let entry = am.put_object(&late, "lp-forged", ObjType::Map).unwrap();
        am.put(&entry, "reference", "INV-FORGED").unwrap();
        am.put(&entry, "due_on", "2026-01-01").unwrap();
    });
    let answer = hostile_round(&site, &device, &customer, &with_late_payment);
    assert_eq!(answer.status, 200, "{}", answer.text());
    let without_visits = tampered(&with_late_payment, |am| {
        let visits = am.get(ROOT, "visits").unwrap().unwrap().1;
        for key in am.keys(&visits).collect::<Vec<_>>() {
            am.delete(&visits, key.as_str()).unwrap();
        }
    });
    assert_eq!(hostile_round(&site, &device, &customer, &without_visits).status, 200);
    let mut rep = Tablet::new(&site.url, &site.rep_device().unwrap()).unwrap();
    rep.sync().unwrap();
    let id = kam_core::model::CustomerId::from(customer.trim_start_matches("customer/"));
    let after = rep.replica.customer(&id).unwrap();
    assert!(
        after.late_payments.values().all(|l| l.reference != "INV-FORGED"),
        "late payment removed"
    );
    assert!(!after.visits.is_empty(), "visits restored");
    let violations = site.get_as("hq-01", "/api/v1/hq/violations").unwrap().json();
    let rules: Vec<&str> =
        violations.as_array().unwrap().iter().filter_map(|v| v["rule"].as_str()).collect();
    assert!(rules.contains(&"late_payments_finance_hq_only"), "{rules:?}");
    assert!(rules.contains(&"visits_removed_by_hq_only"), "{rules:?}");
    // Staff add a buyer to the event document (the desk's audited list): removed.
    let (_, staff_device) = enroll(site.dir(), "staff-01").unwrap();
    let (_, staff_tablet) = enroll(site.dir(), "staff-01").unwrap();
    let mut staff = Tablet::new(&site.url, &staff_tablet).unwrap();
    staff.sync().unwrap();
    let event_doc = format!("event/{}", site.event);
    let event_bytes = staff.replica.save_document(&event_doc.parse().unwrap()).unwrap();
    let forged_buyer = tampered(&event_bytes, |am| {
        let buyers = am.get(ROOT, "buyers").unwrap().unwrap().1;
        let entry = am.put_object(&buyers, "buyer-forged", ObjType::Map).unwrap();
        am.put(&entry, "name", "冒名").unwrap();
        am.put(&entry, "lottery_no", 1_i64).unwrap();
    });
    assert_eq!(hostile_round(&site, &staff_device, &event_doc, &forged_buyer).status, 200);
    staff.sync().unwrap();
    let event = staff.replica.event(&kam_core::model::EventId::from(site.event.as_str())).unwrap();
    assert!(!event.buyers.keys().any(|b| b.0 == "buyer-forged"), "forged buyer removed");
    site.check(true).unwrap();
    site.restart().unwrap();
}

/// Method, path, headers, body, the status and the code answered.
type ErrorCase<'a> = (&'a str, String, Vec<(&'a str, &'a str)>, Option<Vec<u8>>, u16, &'a str);

#[test]
fn class_8_one_error_format() {
    let mut site = Site::start(&[]).unwrap();
    let staff = format!("Bearer {}", demo_token("staff-01"));
    let json_type = ("content-type", "application/json");
    let cases: Vec<ErrorCase> = vec![
        ("GET", "/api/v1/no-such-route".into(), vec![], None, 404, "not_found"),
        ("DELETE", "/api/v1/summary".into(), vec![], None, 405, "method_not_allowed"),
        ("POST", "/api/v1/policy".into(), vec![], Some(b"{}".to_vec()), 405, "method_not_allowed"),
        (
            "GET",
            "/api/v1/documents/nokind/x".into(),
            vec![("authorization", &staff)],
            None,
            404,
            "not_found",
        ),
        (
            "POST",
            "/api/v1/desk/commands".into(),
            vec![("authorization", &staff), json_type],
            Some(b"{not json".to_vec()),
            400,
            "malformed_request",
        ),
        (
            "POST",
            "/api/v1/desk/commands".into(),
            vec![("authorization", &staff), json_type],
            Some(br#"{"idempotency_key":"k","event_id":"e","command":{"kind":"fly"}}"#.to_vec()),
            422,
            "invalid_field",
        ),
        (
            "POST",
            "/api/v1/desk/commands".into(),
            vec![json_type],
            Some(b"{}".to_vec()),
            401,
            "unauthorized",
        ),
        (
            "POST",
            "/api/v1/hq/conflicts/resolve".into(),
            vec![("authorization", &staff)],
            Some(b"doc_id=x".to_vec()),
            415,
            "unsupported_media_type",
        ),
        (
            "POST",
            "/api/v1/hq/conflicts/resolve".into(),
            vec![("authorization", &staff), json_type],
            Some(b"[".to_vec()),
            400,
            "malformed_request",
        ),
        (
            "POST",
            "/api/v1/hq/violations/abc/reviewed".into(),
            vec![("authorization", &staff)],
            None,
            400,
            "malformed_request",
        ),
        (
            "POST",
            "/api/v1/sync".into(),
            vec![("authorization", &staff)],
            Some(b"garbage".to_vec()),
            400,
            "malformed_sync_body",
        ),
        (
            "GET",
            "/api/v1/events/nope/desk".into(),
            vec![("authorization", &staff)],
            None,
            404,
            "not_found",
        ),
    ];
    for (method, path, headers, body, status, code) in &cases {
        let answer = site.call(method, path, headers, body.as_deref()).unwrap();
        assert_eq!(answer.status, *status, "{method} {path}: {}", answer.text());
        assert_eq!(answer.header("content-type"), Some("application/json"), "{method} {path}");
        assert_eq!(answer.code().as_deref(), Some(*code), "{method} {path}: {}", answer.text());
    }
    // Pages: a localized page with the navigation, never JSON, never English on a Chinese page.
    let cookie = site.sign_in("hq-01").unwrap();
    for (path, lang, word) in [
        ("/hq/no-such-page", None, "未找到"),
        ("/hq/customers/no-such-customer", None, "未找到"),
        ("/no-such-page", None, "未找到"),
        ("/hq/no-such-page", Some("kam_lang=en"), "Not found"),
    ] {
        let cookies = match lang {
            Some(l) => format!("{cookie}; {l}"),
            None => cookie.clone(),
        };
        let answer = site.call("GET", path, &[("cookie", &cookies)], None).unwrap();
        assert_eq!(answer.status, 404, "{path}");
        assert!(
            answer.header("content-type").unwrap_or_default().starts_with("text/html"),
            "{path}"
        );
        let text = answer.text();
        assert!(text.contains(word) && text.contains("<nav"), "{path}: {text}");
        if lang.is_none() {
            assert!(
                !text.contains("Not found") && !text.contains("not found"),
                "{path}: English on a Chinese page"
            );
        }
    }
    let wrong_method = site.call("DELETE", "/hq", &[("cookie", &cookie)], None).unwrap();
    assert_eq!(wrong_method.status, 405);
    assert!(wrong_method.header("content-type").unwrap_or_default().starts_with("text/html"));
    site.check(true).unwrap();
    site.restart().unwrap();
}

//! The selection desk over real HTTP against the real server binary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use kam_core::model::{ProjectId, UnitId, UnitStatus};
use kam_tests::{DeskClient, ServerProcess, Tablet, demo_token, desk_db, desk_setup};
use serde_json::{Value, json};

#[test]
fn two_hundred_clients_contesting_fifty_units_never_double_hold_and_every_ack_is_in_the_ledger() {
    let seed = kam_tests::seed_from_env();
    let dir = tempfile::tempdir().unwrap();
    // Two hundred clients on one staff token is a load on the desk, not one console's traffic:
    // the per-caller rate limits are lifted (`LOAD_LIMITS`) so that the desk is what is tested.
    let args = kam_tests::with_load_limits(kam_tests::VENUE_DEMO);
    let server = ServerProcess::start(dir.path(), &args, Duration::from_secs(120)).unwrap();
    let (event, units, buyers) = desk_setup(dir.path()).unwrap();
    let units: Vec<String> = units.into_iter().take(50).collect();
    assert_eq!((units.len(), buyers.len()), (50, 200));
    let staff = DeskClient::new(&server.url, &demo_token("staff-01"));
    let (status, _) =
        staff.send("set-free", &event, &json!({ "kind": "set_mode", "mode": "free" })).unwrap();
    assert_eq!(status, 200);

    // Each client is one buyer's tablet: up to four attempts at random units until one holds,
    // every request sent twice (the first answer "lost"), and both answers must agree.
    let started = Instant::now();
    let answers = kam_tests::contested::contest(
        seed,
        std::slice::from_ref(&server.url),
        &event,
        &units,
        &buyers,
    );
    let elapsed = started.elapsed();

    // Every key once more, all at once from fresh connections: still the stored answers.
    kam_tests::contested::replay(seed, &server.url, &event, &answers);

    let mut holds_per_unit: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut acked = Vec::new();
    let mut refusals: BTreeMap<String, usize> = BTreeMap::new();
    let mut requests = 0;
    for (_, _, answer) in answers.iter().flatten() {
        requests += 1;
        if answer["outcome"] == "accepted" {
            let unit = answer["result"]["unit_id"].as_str().unwrap().to_owned();
            let hold = answer["result"]["hold_id"].as_str().unwrap().to_owned();
            holds_per_unit.entry(unit.clone()).or_default().insert(hold.clone());
            acked.push((
                unit,
                hold,
                answer["result"]["buyer_id"].clone(),
                answer["ledger_seq"].as_i64().unwrap(),
            ));
        } else {
            *refusals.entry(answer["refusal"]["code"].as_str().unwrap().to_owned()).or_default() +=
                1;
        }
    }
    for (unit, holds) in &holds_per_unit {
        assert_eq!(
            holds.len(),
            1,
            "seed {seed}: unit {unit} acknowledged to {} holds",
            holds.len()
        );
    }

    // The desk's own table agrees with the acknowledgements, unit by unit.
    let (status, table) = staff.get(&format!("/api/v1/events/{event}/desk")).unwrap();
    assert_eq!(status, 200);
    let held: BTreeMap<String, Value> = table["units"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["status"] == "held")
        .map(|u| (u["unit_id"].as_str().unwrap().to_owned(), u["buyer_id"].clone()))
        .collect();
    assert_eq!(
        held.len(),
        acked.len(),
        "seed {seed}: every held unit was acknowledged and vice versa"
    );
    for (unit, _, buyer, _) in &acked {
        assert_eq!(held.get(unit), Some(buyer), "seed {seed}: {unit}");
    }

    // Every acknowledged hold is in the ledger at the position its answer named.
    let db = desk_db(dir.path()).unwrap();
    for (unit, hold, _, seq) in &acked {
        let (kind, entry): (String, String) = db
            .query_row("SELECT kind, entry FROM desk_ledger WHERE seq = ?1", [seq], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        let entry: Value = serde_json::from_str(&entry).unwrap();
        assert_eq!(
            (kind.as_str(), entry["hold_id"].as_str(), entry["unit_id"].as_str()),
            ("hold", Some(hold.as_str()), Some(unit.as_str()))
        );
    }
    let hq = DeskClient::new(&server.url, &demo_token("hq-01"));
    let (status, verified) = hq.get("/api/v1/desk/ledger/verify").unwrap();
    assert_eq!(status, 200, "{verified}");
    assert_eq!(verified["first_bad_seq"], Value::Null);

    // A key reused for another request is refused and changes nothing.
    let (key, _, _) = &answers[0][0];
    let other = json!({ "kind": "hold", "unit_id": units[0], "buyer_id": buyers[199] });
    let (status, reused) = staff.send(key, &event, &other).unwrap();
    assert_eq!((status, reused["error"]["code"].as_str()), (422, Some("idempotency_key_reused")));

    // The control table reaches the tablets: a staff tablet's project document follows.
    let mut tablet = Tablet::new(&server.url, &demo_token("staff-01")).unwrap();
    let project: String =
        db.query_row("SELECT project_id FROM desk_events", [], |r| r.get(0)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        tablet.sync().unwrap();
        let doc = tablet.replica.project(&ProjectId::from(project.as_str())).unwrap();
        let mirrored =
            held.keys().all(|u| doc.units[&UnitId::from(u.as_str())].status == UnitStatus::Held);
        if mirrored {
            break;
        }
        assert!(Instant::now() < deadline, "seed {seed}: the tablet never saw the holds");
        std::thread::sleep(Duration::from_millis(20));
    }
    println!(
        "seed {seed}: 200 clients, {requests} hold requests (each sent 3 times) in {:.2} s: {} units held, \
         one buyer each; refusals {refusals:?}; ledger of {} entries verified",
        elapsed.as_secs_f64(),
        acked.len(),
        verified["entries"]
    );
    server.stop(Duration::from_secs(30)).unwrap();
}

#[test]
fn a_tablet_queues_holds_offline_shows_them_pending_and_keeps_a_refusal_until_dismissed() {
    use kam_core::desk::{
        DeskCommand, TableStatus, control_table, queue_command, rejections, send_pending_exclusive,
    };
    use kam_core::model::EventId;
    use kam_core::sync_client::http::HttpTransport;

    let dir = tempfile::tempdir().unwrap();
    let server =
        ServerProcess::start(dir.path(), kam_tests::VENUE_DEMO, Duration::from_secs(120)).unwrap();
    let (event, units, buyers) = desk_setup(dir.path()).unwrap();
    let staff = DeskClient::new(&server.url, &demo_token("staff-01"));
    staff.send("free", &event, &json!({ "kind": "set_mode", "mode": "free" })).unwrap();
    let mut tablet = Tablet::new(&server.url, &demo_token("staff-01")).unwrap();
    tablet.sync().unwrap();
    let event_id = EventId::from(event.as_str());

    // Offline: the venue's Wi-Fi is down (nothing listens on this port).
    let offline = HttpTransport::new("http://127.0.0.1:9", &demo_token("staff-01"));
    let now = chrono::Utc::now();
    let hold = |unit: &str, buyer: &str| DeskCommand::Hold {
        unit_id: unit.into(),
        buyer_id: buyer.into(),
    };
    let mine =
        queue_command(&mut tablet.replica, &event, &hold(&units[0], &buyers[0]), now).unwrap();
    let report = send_pending_exclusive(&mut tablet.replica, &offline, now).unwrap();
    assert_eq!(report.still_pending, 1);
    let row = |t: &mut Tablet, unit: &str| {
        control_table(&mut t.replica, &event_id)
            .unwrap()
            .into_iter()
            .find(|r| r.unit_id.as_str() == unit)
            .unwrap()
    };
    assert_eq!(row(&mut tablet, &units[0]).shown, TableStatus::HoldPending, "pending, never sold");

    // Meanwhile another desk takes unit 1, which this tablet then asks for too.
    let (status, _) = staff
        .send(
            "other-desk",
            &event,
            &json!({ "kind": "hold", "unit_id": units[1], "buyer_id": buyers[1] }),
        )
        .unwrap();
    assert_eq!(status, 200);
    let theirs =
        queue_command(&mut tablet.replica, &event, &hold(&units[1], &buyers[2]), now).unwrap();

    // Back online: both are answered, under the keys stored before the first send.
    let report = send_pending_exclusive(&mut tablet.replica, &tablet.transport, now).unwrap();
    assert_eq!((report.accepted, report.rejected, report.still_pending), (1, 1, 0));
    // The answers show at once, before any sync: the hold with its id and expiry, the
    // refusal with its reason.
    let held = row(&mut tablet, &units[0]);
    assert_eq!(held.shown, TableStatus::HeldHere, "{held:?}");
    assert_eq!(held.synced, UnitStatus::Available, "not synced yet");
    assert!(held.hold_id.is_some() && held.hold_expires_at.is_some_and(|at| at > now), "{held:?}");
    let taken = row(&mut tablet, &units[1]);
    assert_eq!(taken.refusal.as_ref().map(|r| r.code.as_str()), Some("unit_not_available"));
    let refused = rejections(&tablet.replica).unwrap();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].key, theirs.key);
    assert_eq!(refused[0].answer.as_ref().unwrap()["refusal"]["code"], "unit_not_available");

    // After a sync the table has the server's statuses, mirrored into the project document,
    // and the tablet's own hold shows as it did before: the mirror changes nothing visible.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        tablet.sync().unwrap();
        let (a, b) = (row(&mut tablet, &units[0]), row(&mut tablet, &units[1]));
        if a.synced == UnitStatus::Held && b.shown == TableStatus::Synced(UnitStatus::Held) {
            assert_eq!(
                (a.shown, &a.hold_id, a.hold_expires_at),
                (held.shown, &held.hold_id, held.hold_expires_at)
            );
            break;
        }
        assert!(Instant::now() < deadline, "the holds never reached the tablet: {a:?} {b:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        tablet.replica.outbox_entry(&mine.key).unwrap().unwrap().answer.unwrap()["outcome"],
        "accepted"
    );
    assert_eq!(rejections(&tablet.replica).unwrap().len(), 1, "kept until a person dismisses it");
    tablet.replica.outbox_dismiss(&theirs.key, now).unwrap();
    assert!(rejections(&tablet.replica).unwrap().is_empty());
    server.stop(Duration::from_secs(30)).unwrap();
}

#[test]
fn an_identity_check_goes_online_only_and_no_id_number_is_kept() {
    use kam_core::desk::{DeskCommand, Outcome, queue_command, send_online};
    use kam_core::sync_client::http::HttpTransport;

    let dir = tempfile::tempdir().unwrap();
    let server =
        ServerProcess::start(dir.path(), kam_tests::VENUE_DEMO, Duration::from_secs(120)).unwrap();
    let (event, _, _) = desk_setup(dir.path()).unwrap();
    let desk = HttpTransport::new(&server.url, &demo_token("staff-01"));
    // A valid number: 17 digits and its GB 11643 check character.
    let id = "11010519491231002X";
    let import = DeskCommand::ImportBuyers { csv: format!("姓名,身份证号\n王五,{id}\n") };
    let imported = send_online(&desk, &event, &import).unwrap();
    assert_eq!(imported.outcome, Outcome::Accepted);
    let buyer = imported.result["added"][0].as_str().unwrap().to_owned();

    let check = |number: &str| DeskCommand::CheckIdentity {
        buyer_id: buyer.clone(),
        id_number: number.into(),
    };
    assert_eq!(send_online(&desk, &event, &check(id)).unwrap().outcome, Outcome::Accepted);
    let wrong = send_online(&desk, &event, &check("110105194912310038")).unwrap();
    assert_eq!(wrong.refusal.unwrap().code, "identity_mismatch");

    let mut tablet = Tablet::new(&server.url, &demo_token("staff-01")).unwrap();
    assert!(
        queue_command(&mut tablet.replica, &event, &check(id), chrono::Utc::now()).is_err(),
        "never queued"
    );
    // Nowhere on the server is the number kept in clear.
    let db = desk_db(dir.path()).unwrap();
    let found: i64 = db
        .query_row(
            "SELECT (SELECT COUNT(*) FROM desk_buyers WHERE id_number_hash LIKE ?1 OR id_number_masked = ?2)
                  + (SELECT COUNT(*) FROM desk_ledger WHERE entry LIKE ?1)
                  + (SELECT COUNT(*) FROM desk_requests WHERE answer LIKE ?1)",
            [format!("%{id}%"), id.to_owned()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(found, 0);
    server.stop(Duration::from_secs(30)).unwrap();
}

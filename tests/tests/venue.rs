//! The venue edge authority (ADR 0021) across three real processes: central, a venue server
//! reaching central through a proxy that cuts the uplink, and the venue's tablets and console.
//! Selling goes on at the venue while the uplink is down; once it is back, central's board,
//! reconciliation and ledger agree with the venue's; the hand-back returns the desk.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)]

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use kam_core::desk::control_table;
use kam_core::model::EventId;
use kam_core::sync_client::http::HttpTransport;
use kam_tests::hostile::{call, sign_in};
use kam_tests::proxy::CutProxy;
use kam_tests::{
    DeskClient, ServerProcess, Tablet, TestResult, admin, demo_token, desk_db, desk_setup, until,
};
use serde_json::{Value, json};

/// Sends a command that must be accepted; returns its result.
fn ok(desk: &DeskClient, key: &str, event: &str, command: Value) -> Value {
    let (status, answer) = desk.send(key, event, &command).unwrap();
    assert_eq!(status, 200, "{key}: {command} -> {answer}");
    answer["result"].clone()
}

/// A whole sale at `desk` (staff) and `finance`: hold, work ticket, review, receipt,
/// voucher. Returns the voucher number.
fn sell(staff: &DeskClient, finance: &DeskClient, event: &str, unit: &str, buyer: &str) -> u64 {
    let held = ok(
        staff,
        &format!("hold-{unit}"),
        event,
        json!({ "kind": "hold", "unit_id": unit, "buyer_id": buyer }),
    );
    let hold_id = held["hold_id"].as_str().unwrap();
    let ticket = ok(
        staff,
        &format!("ticket-{unit}"),
        event,
        json!({ "kind": "prepare_work_ticket", "unit_id": unit, "hold_id": hold_id,
                "payment_ratio_pct": "60", "discounts": [], "sealing_fee": "20000" }),
    );
    let id = ticket["ticket_id"].as_str().unwrap();
    let due = ticket["figures"]["amount_due"].clone();
    ok(
        finance,
        &format!("review-{unit}"),
        event,
        json!({ "kind": "review_work_ticket", "ticket_id": id }),
    );
    ok(
        finance,
        &format!("receipt-{unit}"),
        event,
        json!({ "kind": "record_receipt", "ticket_id": id, "amount": due, "method": "transfer" }),
    );
    let voucher = ok(
        finance,
        &format!("voucher-{unit}"),
        event,
        json!({ "kind": "issue_voucher", "ticket_id": id }),
    );
    voucher["voucher_no"].as_u64().unwrap()
}

/// The control table as (unit → status, buyer, hold) from a desk's API.
fn table(desk: &DeskClient, event: &str) -> BTreeMap<String, (String, Value, Value)> {
    let (status, body) = desk.get(&format!("/api/v1/events/{event}/desk")).unwrap();
    assert_eq!(status, 200, "{body}");
    body["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            let id = u["unit_id"].as_str().unwrap().to_owned();
            (
                id,
                (
                    u["status"].as_str().unwrap().to_owned(),
                    u["buyer_id"].clone(),
                    u["hold_id"].clone(),
                ),
            )
        })
        .collect()
}

/// The status a tablet's control table shows for `unit`, from its synced documents.
fn shown(tablet: &mut Tablet, event: &str, unit: &str) -> Option<String> {
    let table = control_table(&mut tablet.replica, &EventId::from(event)).ok()?;
    let row = table.into_iter().find(|row| row.unit_id.as_str() == unit)?;
    match row.shown.status() {
        Some(status) => Some(status.as_str().to_owned()),
        None => Some(format!("{:?}", row.shown)),
    }
}

/// Every (seq, hash) of a ledger table in a data directory's desk file.
fn chain(dir: &Path, sql: &str) -> Vec<(i64, Vec<u8>)> {
    let db = desk_db(dir).unwrap();
    let mut stmt = db.prepare(sql).unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
}

/// A console command at `base` under the person's session (cookie and CSRF token).
fn console_command(
    base: &str,
    cookie: &str,
    event: &str,
    key: &str,
    command: Value,
) -> TestResult<(u16, Value)> {
    let page =
        call(base, "GET", &format!("/console/events/{event}/desk"), &[("cookie", cookie)], None)?;
    let text = page.text();
    let csrf = text
        .split("data-csrf=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .ok_or("no CSRF token on the desk console")?
        .to_owned();
    let body = json!({ "idempotency_key": key, "command": command }).to_string();
    let answer = call(
        base,
        "POST",
        &format!("/console/api/events/{event}/commands"),
        &[("cookie", cookie), ("x-csrf-token", &csrf), ("content-type", "application/json")],
        Some(body.as_bytes()),
    )?;
    Ok((answer.status, answer.json()))
}

#[test]
fn a_venue_sells_through_an_uplink_cut_and_central_agrees_after_it() {
    let central_dir = tempfile::tempdir().unwrap();
    let args = kam_tests::with_load_limits(kam_tests::VENUE_DEMO);
    let central =
        ServerProcess::start(central_dir.path(), &args, Duration::from_secs(120)).unwrap();
    let (event, units, buyers) = desk_setup(central_dir.path()).unwrap();
    let project: String = desk_db(central_dir.path())
        .unwrap()
        .query_row("SELECT project_id FROM desk_events", [], |r| r.get(0))
        .unwrap();

    // The venue server: a device of a venue user with the event's grant.
    admin(central_dir.path(), &["add-user", "venue-hall1", "venue", "--name", "一号厅"]).unwrap();
    admin(central_dir.path(), &["assign-event", &event, &project, "venue-hall1"]).unwrap();
    let enrolled =
        admin(central_dir.path(), &["enroll", "venue-hall1", "--label", "hall-1"]).unwrap();
    let field =
        |name: &str| enrolled.lines().find_map(|l| l.strip_prefix(name)).unwrap().trim().to_owned();
    let (venue_device, venue_token) = (field("device "), field("token "));
    let central_addr = central.url.trim_start_matches("http://").parse().unwrap();
    let uplink = CutProxy::start(central_addr).unwrap();
    let venue_dir = tempfile::tempdir().unwrap();
    let token_file = venue_dir.path().join("venue.token");
    std::fs::write(&token_file, &venue_token).unwrap();
    let data = venue_dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let upstream = uplink.url();
    let token_path = token_file.to_str().unwrap();
    let mut venue_args =
        vec!["--venue", "--upstream", upstream.as_str(), "--token-file", token_path];
    venue_args.extend_from_slice(kam_tests::LOAD_LIMITS);
    // The second copy, on "another disk", every second.
    let second = venue_dir.path().join("second-copy");
    let third = venue_dir.path().join("third-copy");
    let mut first_args = venue_args.clone();
    first_args.extend(["--copy-dir", second.to_str().unwrap(), "--copy-interval-s", "1"]);
    let venue = ServerProcess::start(&data, &first_args, Duration::from_secs(60)).unwrap();

    let staff_central = DeskClient::new(&central.url, &demo_token("staff-01"));
    let hq_central = DeskClient::new(&central.url, &demo_token("hq-01"));
    ok(&staff_central, "free", &event, json!({ "kind": "set_mode", "mode": "free" }));
    ok(
        &staff_central,
        "before",
        &event,
        json!({ "kind": "hold", "unit_id": units[0], "buyer_id": buyers[0] }),
    );

    // Lending: from this commit central refuses the event's commands, naming the venue.
    let lent = admin(
        central_dir.path(),
        &["delegate", "--event", &event, "--venue-device", &venue_device, "--lease-hours", "12"],
    )
    .unwrap();
    println!("{}", lent.trim());
    let (status, refused) = staff_central
        .send(
            "after",
            &event,
            &json!({ "kind": "hold", "unit_id": units[1], "buyer_id": buyers[1] }),
        )
        .unwrap();
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["error"]["code"], "event_delegated", "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().contains("hall-1"), "{refused}");

    // The venue takes the desk: its staff and finance sign in with their own devices.
    let staff = DeskClient::new(&venue.url, &demo_token("staff-01"));
    let finance = DeskClient::new(&venue.url, &demo_token("finance-01"));
    let started = Instant::now();
    until("the venue to take the desk", Duration::from_secs(30), || {
        let (status, body) = staff.get("/api/v1/venue/status").ok()?;
        (status == 200 && body["lease"]["state"] == "active").then_some(())
    });
    println!("venue took the desk in {} ms", started.elapsed().as_millis());
    assert_eq!(
        table(&staff, &event)[&units[0]].0,
        "held",
        "the hold made before lending moved along"
    );
    // A staff tablet on the venue's LAN syncs its documents with the venue, which fetched
    // the event's and the project's from central and mirrors its desk into them.
    let mut tablet = Tablet::new(&venue.url, &demo_token("staff-01")).unwrap();
    let started = Instant::now();
    until("the tablet to see the event through the venue", Duration::from_secs(30), || {
        tablet.sync().ok()?;
        (shown(&mut tablet, &event, &units[0])? == "held").then_some(())
    });
    println!("tablet synced the event through the venue in {} ms", started.elapsed().as_millis());

    // Online: a hold at the venue reaches central's table.
    ok(
        &staff,
        "online-hold",
        &event,
        json!({ "kind": "hold", "unit_id": units[1], "buyer_id": buyers[1] }),
    );
    until("central to show the venue's hold", Duration::from_secs(30), || {
        (table(&hq_central, &event).get(&units[1])?.0 == "held").then_some(())
    });

    // The uplink fails: the venue goes on selling — tablets, finance and a console.
    uplink.cut();
    let cut_at = Instant::now();
    let voucher = sell(&staff, &finance, &event, &units[2], &buyers[2]);
    for i in 3..23 {
        ok(
            &staff,
            &format!("cut-hold-{i}"),
            &event,
            json!({ "kind": "hold", "unit_id": units[i], "buyer_id": buyers[i] }),
        );
    }
    let cookie = sign_in(&venue.url, "staff-01").unwrap();
    let (status, answer) = console_command(
        &venue.url,
        &cookie,
        &event,
        "console-hold",
        json!({ "kind": "hold", "unit_id": units[23], "buyer_id": buyers[23] }),
    )
    .unwrap();
    assert_eq!(status, 200, "the venue's console holds during the cut: {answer}");
    let (_, status) = staff.get("/api/v1/venue/status").unwrap();
    let during = status["lease"].clone();
    println!(
        "during the cut ({} ms): voucher {voucher} issued at the venue, {} entries not shipped",
        cut_at.elapsed().as_millis(),
        during["unshipped"]
    );
    assert!(during["unshipped"].as_i64().unwrap() >= 26, "{during}");
    // The venue's tablets follow its desk through their document sync while central is cut off.
    let synced = Instant::now();
    until("the tablet to see the sale during the cut", Duration::from_secs(30), || {
        tablet.sync().ok()?;
        let sold = shown(&mut tablet, &event, &units[2])? == "sold";
        (sold && shown(&mut tablet, &event, &units[22])? == "held").then_some(())
    });
    println!(
        "during the cut the tablet's table showed the venue's sale after {} ms",
        synced.elapsed().as_millis()
    );
    // A tablet on 4G reaching central directly gets the clear answer, never a second desk.
    let (status, refused) = staff_central
        .send(
            "4g",
            &event,
            &json!({ "kind": "hold", "unit_id": units[24], "buyer_id": buyers[24] }),
        )
        .unwrap();
    assert_eq!((status, refused["error"]["code"].as_str()), (409, Some("event_delegated")));

    // The uplink comes back: the venue ships what it did, central verifies and follows.
    uplink.restore();
    let restored = Instant::now();
    until("central to catch up", Duration::from_secs(60), || {
        let (_, lag) = hq_central.get("/api/v1/venue/delegations").ok()?;
        let row = lag.as_array()?.last()?.clone();
        (row["unshipped"] == 0 && row["shipped_seq"].as_i64()? >= during["unshipped"].as_i64()?)
            .then_some(())
    });
    until("central's table to match the venue's", Duration::from_secs(30), || {
        (table(&hq_central, &event) == table(&staff, &event)).then_some(())
    });
    println!("caught up {} ms after the uplink returned", restored.elapsed().as_millis());
    let books =
        |desk: &DeskClient| desk.get(&format!("/api/v1/events/{event}/reconciliation")).unwrap().1;
    assert_eq!(books(&hq_central), books(&staff), "reconciliation agrees");
    assert_eq!(books(&staff)["mismatches"], json!([]));
    let venue_chain = chain(&data, "SELECT seq, hash FROM desk_ledger ORDER BY seq");
    let central_copy =
        chain(central_dir.path(), "SELECT seq, hash FROM desk_venue_ledger ORDER BY seq");
    assert_eq!(central_copy, venue_chain, "central holds the venue's segment entry for entry");
    // The tablet goes out to 4G: central's documents, which the venue's relay and central's
    // own mirror brought up to date, show what the venue sold; central compensated nothing.
    tablet.transport = HttpTransport::new(&central.url, &demo_token("staff-01"));
    until("central's documents to show the venue's sales", Duration::from_secs(30), || {
        tablet.sync().ok()?;
        let sold = shown(&mut tablet, &event, &units[2])? == "sold";
        (sold && shown(&mut tablet, &event, &units[23])? == "held").then_some(())
    });
    let (status, violations) = hq_central.get("/api/v1/hq/violations").unwrap();
    assert_eq!(status, 200, "{violations}");
    assert!(!violations.to_string().contains("venue-hall1"), "{violations}");

    // The venue's disk dies right after three more holds reached central: it restarts from its
    // second copy, which may be behind them, and takes back from central what it lacks before
    // it serves again.
    for i in 26..29 {
        ok(
            &staff,
            &format!("late-hold-{i}"),
            &event,
            json!({ "kind": "hold", "unit_id": units[i], "buyer_id": buyers[i] }),
        );
    }
    until("central to hold the last three", Duration::from_secs(30), || {
        let (_, lag) = staff.get("/api/v1/venue/status").ok()?;
        (lag["lease"]["unshipped"] == 0).then_some(())
    });
    venue.kill().unwrap();
    let copy_tip = chain(&second, "SELECT seq, hash FROM desk_ledger ORDER BY seq").len();
    let mut copy_args = venue_args.clone();
    copy_args.extend(["--copy-dir", third.to_str().unwrap()]);
    let venue = ServerProcess::start(&second, &copy_args, Duration::from_secs(60)).unwrap();
    let staff = DeskClient::new(&venue.url, &demo_token("staff-01"));
    let restarted = Instant::now();
    let mut recovering = 0;
    until("the copy to serve again", Duration::from_secs(30), || {
        let hold = json!({ "kind": "hold", "unit_id": units[29], "buyer_id": buyers[29] });
        let (status, answer) = staff.send("from-the-copy", &event, &hold).ok()?;
        if answer["error"]["code"] == "venue_recovering" {
            recovering += 1;
        }
        (status == 200).then_some(())
    });
    println!(
        "restarted from the second copy ({} entries in the copy, {} of the venue's): serving again \
         after {} ms, {recovering} commands told to wait",
        copy_tip,
        venue_chain.len() + 3,
        restarted.elapsed().as_millis()
    );
    for unit in &units[26..29] {
        assert_eq!(table(&staff, &event)[unit].0, "held", "{unit} came back from central");
    }
    // The venue names its own installation to central, kept in its settings and so in its
    // copy: central bound the venue's device to it, and serves the copy as the same venue
    // (ADR 0022).
    let read = |dir: &Path, sql: &str, key: &str| -> Option<String> {
        rusqlite::Connection::open(dir.join(kam_server::data::STORE_FILE))
            .unwrap()
            .query_row(sql, [key], |r| r.get(0))
            .unwrap()
    };
    let kept = read(&second, "SELECT value FROM meta WHERE key = ?1", "venue_installation");
    let bound = read(
        central_dir.path(),
        "SELECT installation FROM devices WHERE device_id = ?1",
        &venue_device,
    );
    assert!(kept.is_some() && bound == kept, "central bound {bound:?}, the venue keeps {kept:?}");
    let data = second;

    // Hand-back: the venue stops, ships its last batch with every row; central resumes.
    admin(&data, &["hand-back"]).unwrap();
    until("central to resume the event", Duration::from_secs(30), || {
        let (_, lag) = hq_central.get("/api/v1/venue/delegations").ok()?;
        (lag.as_array()?.last()?["state"] == "returned").then_some(())
    });
    let (status, answer) = staff
        .send(
            "late",
            &event,
            &json!({ "kind": "hold", "unit_id": units[25], "buyer_id": buyers[25] }),
        )
        .unwrap();
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (409, Some("event_returned")),
        "{answer}"
    );
    ok(
        &staff_central,
        "back-home",
        &event,
        json!({ "kind": "hold", "unit_id": units[25], "buyer_id": buyers[25] }),
    );
    assert_eq!(table(&hq_central, &event)[&units[2]].0, "sold");
    let verified = admin(central_dir.path(), &["verify-ledger"]).unwrap();
    println!("{}", verified.trim());
    assert!(verified.contains("ledger intact"), "{verified}");
    assert!(
        verified.contains(&format!("venue segment of {event} generation 1 intact")),
        "{verified}"
    );
    drop(venue);
    drop(central);
}

//! The selection day in a real browser against the real server: two desk consoles, a finance
//! console, the hall's big screen and headquarters' board open at once in headless Chromium
//! (`tests/browser/console.mjs`), every action through the pages.
//!
//! The test starts `kam-server` on a small demo company whose policy lets a hold lapse after
//! 20 s, adds a second member of the event's staff, one of another event and passwords for
//! them, and imports the audited list and the notary's lottery for 12 buyers whose ID numbers
//! it knows. The scenario then calls the 12 buyers in lottery order from the two desks
//! (the big screen must follow every call), checks a buyer's ID (a wrong number, then the
//! right one), holds a unit, prepares its work ticket, has finance review it, take the money
//! and issue the voucher, prints the voucher; both desks try the same unit for different
//! buyers at the same moment (one wins, the other sees it taken in place within 1 s); a hold
//! lapses and the unit comes back on every screen; finance swaps a sale to another unit by
//! red-ink reversal and the new unit is sold again; a form sent twice (a double click, and a
//! resubmit with the same key) makes one command; staff of another event and a rep are
//! refused with a clear page. Screenshots of every station are left in
//! `target/screenshots/console/`.
//!
//! The test then asks the server whether what the browser claims is true: the reconciliation
//! lists no mismatch, the ledger verifies, the units are sold, held or free as the scenario
//! left them, and each call was one command.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)]

use std::time::Duration;

use kam_tests::browser::{self, target_dir};
use kam_tests::{DeskClient, ServerProcess, admin, admin_with_input, demo_token, desk_db};
use serde_json::{Value, json};

/// The whole scenario's bound: for a hung browser, not for a slow machine (it takes about a
/// minute, most of it waiting for a hold to lapse).
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(400);

/// The hold time the scenario's policy sets: long enough to sell a unit through the pages
/// before its hold lapses, short enough to watch one lapse.
const HOLD_TTL_S: u64 = 20;

/// The buyers called.
const BUYERS: usize = 12;

/// A valid resident ID number (GB 11643) for buyer `n`.
fn id_number(n: usize) -> String {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let body = format!("33010619850{:03}{:03}", 100 + n, 200 + n);
    let body = &body[..17];
    let sum: u32 = body.bytes().zip(WEIGHTS).map(|(b, w)| u32::from(b - b'0') * w).sum();
    format!("{body}{}", CHECK[(sum % 11) as usize] as char)
}

/// Buyer `n`'s name.
fn name(n: usize) -> String {
    const SURNAMES: [&str; 6] = ["赵", "钱", "孙", "李", "周", "吴"];
    format!("{}买受{}", SURNAMES[n % SURNAMES.len()], n)
}

fn desk_ok(desk: &DeskClient, key: &str, event: &str, command: Value) -> Value {
    let (status, answer) = desk.send(key, event, &command).unwrap();
    assert!(status == 200 && answer["outcome"] == "accepted", "{command} → {status} {answer}");
    answer["result"].clone()
}

/// The event, its project, and the audited list of 12 with the notary's order imported.
fn prepare_event(server: &ServerProcess, dir: &std::path::Path) -> (String, String) {
    let db = desk_db(dir).unwrap();
    let (event, project): (String, String) = db
        .query_row("SELECT event_id, project_id FROM desk_events", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    let staff = DeskClient::new(&server.url, &demo_token("staff-01"));
    let list: String = (1..=BUYERS).map(|n| format!("{},{}\n", name(n), id_number(n))).collect();
    desk_ok(&staff, "console-list", &event, json!({ "kind": "import_buyers", "csv": list }));
    let lottery: String =
        (1..=BUYERS).map(|n| format!("{n},{},{}\n", name(n), id_number(n))).collect();
    desk_ok(&staff, "console-lottery", &event, json!({ "kind": "import_lottery", "csv": lottery }));
    (event, project)
}

/// Users the demo does not have: a second member of the event's staff and one of another
/// event, with passwords, and passwords for everyone the scenario signs in as.
fn prepare_people(dir: &std::path::Path, event: &str, project: &str) {
    for user in ["staff-02", "staff-other"] {
        admin(dir, &["add-user", user, "event_staff"]).unwrap();
        admin_with_input(dir, &["set-password", user], &format!("demo-{user}\n")).unwrap();
    }
    admin(dir, &["assign-event", event, project, "staff-02"]).unwrap();
}

/// How many ledger entries of `kind` the desk holds.
fn ledger_count(dir: &std::path::Path, kind: &str) -> i64 {
    desk_db(dir)
        .unwrap()
        .query_row("SELECT COUNT(*) FROM desk_ledger WHERE kind = ?1", [kind], |r| r.get(0))
        .unwrap()
}

#[test]
fn the_selection_day_runs_in_the_browser() {
    let shots = target_dir().join("screenshots/console");
    if shots.exists() {
        std::fs::remove_dir_all(&shots).unwrap();
    }
    std::fs::create_dir_all(&shots).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, format!("[selection]\nhold_ttl_seconds = {HOLD_TTL_S}\n")).unwrap();
    let policy = policy.to_str().unwrap().to_owned();
    let args = [
        "--demo",
        "--demo-customers",
        "20",
        "--demo-tickets",
        "20",
        "--demo-units",
        "240",
        "--demo-buyers",
        "0",
        "--policy",
        &policy,
    ];
    let server = ServerProcess::start(dir.path(), &args, Duration::from_secs(120)).unwrap();
    let (event, project) = prepare_event(&server, dir.path());
    prepare_people(dir.path(), &event, &project);
    let ids: Vec<String> = (1..=BUYERS).map(|n| format!("{n}:{}", id_number(n))).collect();

    let work = tempfile::tempdir().unwrap();
    let mut command = browser::scenario("console.mjs");
    command
        .env("KAM_URL", &server.url)
        .env("KAM_EVENT", &event)
        .env("KAM_BUYERS", BUYERS.to_string())
        .env("KAM_IDS", ids.join(","))
        .env("KAM_HOLD_TTL_S", HOLD_TTL_S.to_string())
        .env("KAM_SCREENSHOTS", &shots);
    let run = browser::run_scenario(command, work.path(), SCENARIO_TIMEOUT, |_| Ok(()));
    let r = &run.result;

    // Every call was one command, in lottery order, whatever was clicked twice.
    assert_eq!(r["calls"], BUYERS.to_string());
    assert_eq!(ledger_count(dir.path(), "call"), BUYERS as i64, "one ledger entry per call");
    assert_eq!(r["double_submit"], "one_command");
    let receipts: i64 = desk_db(dir.path())
        .unwrap()
        .query_row(
            "SELECT COUNT(*) FROM receipts WHERE ticket_id = ?1 AND reverses IS NULL",
            [&r["double_ticket"]],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(receipts, 1, "a form sent twice and resent with its key made one receipt");
    assert_eq!(r["contest"], "one_won");
    assert_eq!(r["lapsed"], "back_everywhere");
    assert_eq!(r["refusals"], "clear");
    assert_eq!(r["csp_violations"], "0", "the pages broke the Content-Security-Policy");

    // The desk's own state agrees with what the pages showed.
    let finance = DeskClient::new(&server.url, &demo_token("finance-01"));
    let (status, table) = finance.get(&format!("/api/v1/events/{event}/desk")).unwrap();
    assert_eq!(status, 200, "{table}");
    let status_of = |unit: &str| -> Value {
        table["units"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["unit_id"] == unit)
            .map(|u| u["status"].clone())
            .unwrap_or_else(|| panic!("{unit} is not on the desk: {table}"))
    };
    assert_eq!(status_of(&r["swapped_from"]), json!("available"), "the swapped-from unit is free");
    assert_eq!(status_of(&r["swapped_to"]), json!("sold"), "the swapped-to unit is sold");
    assert_eq!(status_of(&r["lapsed_unit"]), json!("available"), "the lapsed unit is free");
    let (status, reconciliation) =
        finance.get(&format!("/api/v1/events/{event}/reconciliation")).unwrap();
    assert_eq!(status, 200, "{reconciliation}");
    assert_eq!(reconciliation["mismatches"], json!([]), "{reconciliation}");
    assert_eq!(reconciliation["vouchers_reversed"], json!(1), "{reconciliation}");
    let (status, verification) = finance.get("/api/v1/desk/ledger/verify").unwrap();
    assert_eq!(status, 200, "the ledger verifies: {verification}");

    let shots_taken: usize = r["screenshots"].parse().unwrap();
    assert_eq!(browser::screenshots_in(&shots), shots_taken, "every station left its screenshot");
    println!(
        "console: {BUYERS} buyers called; call seen on the other desk p50 {} ms max {} ms, on the big screen p50 {} ms max {} ms; contested unit seen taken {} ms after the loser's refusal; {} screenshots in {:.1} s in {}",
        r["call_seen_p50_ms"],
        r["call_seen_max_ms"],
        r["screen_seen_p50_ms"],
        r["screen_seen_max_ms"],
        r["contest_seen_ms"],
        shots_taken,
        run.elapsed.as_secs_f64(),
        shots.display()
    );
    server.stop(Duration::from_secs(30)).unwrap();
}

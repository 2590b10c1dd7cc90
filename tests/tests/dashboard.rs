//! Headquarters' dashboard in a real browser against the real server.
//!
//! The test starts `kam-server` on a small demo company and prepares, through real clients, what
//! headquarters must settle: two tablets of the same rep rename one customer offline to
//! different values, so the server lists a conflict. Then `tests/browser/dashboard.mjs` drives
//! Debian's headless Chromium through playwright-core, as a child process with a bounded wait:
//! it signs in as `hq-01` (a wrong password first), sees the demo data, switches the language
//! to English and back (a hostile `back` like `/%09/evil.example` stays on the site, and the
//! switch keeps a page's filters), opens unknown pages (a localized not-found page with the
//! navigation, in both languages), opens the customers (with a tier filter) and one customer's file,
//! approves a re-grade, settles the conflict by choosing the value the tablets do *not* show,
//! opens the visit, ticket and device pages, watches the live control table while this test
//! holds and then sells a unit through the desk's HTTP API (the page must repaint the cell
//! held, then sold, without reloading), checks the reconciliation, downloads the monthly Excel
//! report, signs out, and signs in as the rep `rep-01`, who gets 403 on headquarters' pages
//! and signs out from the forbidden page (its form carries the session's CSRF token). Every
//! page runs under the server's Content-Security-Policy (no inline script or style); any
//! violation the browser reports fails the test.
//!
//! The test then asks the server whether what the browser claims is true: the re-graded
//! customer has the proposed tier and grade, the conflict is gone and synced tablets read the
//! chosen name, the unit is sold to the called buyer; and it opens the downloaded `.xlsx` with
//! calamine: 附件一's title, its header with 客户名称, and a row for every strategic and key
//! customer the JSON API lists. Full-page screenshots of every step are left in
//! `target/screenshots/dashboard/`.
//!
//! The browser and its driver come from `scripts/test` (`ensure_tools`): Debian's `chromium`
//! and the npm package `playwright-core` in `target/tools/` (it downloads no browser; the
//! script launches the system's). A missing tool fails the test with what to install; nothing
//! is skipped.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)]

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use calamine::{Reader, Xlsx, open_workbook};
use chrono::Utc;
use kam_core::doc::{CustomerEdit, EditMeta, customer_doc_id};
use kam_core::model::{CustomerId, UserId};
use kam_tests::browser::{self, target_dir};
use kam_tests::{
    DeskClient, SMALL_DEMO, ServerProcess, Tablet, customers_of, demo_token, desk_db, desk_setup,
    enroll, get_json_with_token, wait_for_projections,
};
use serde_json::{Value, json};

/// How long the whole browser scenario may run before it is killed and the test fails. It
/// takes about half a minute; the bound is for a hung browser, not for a slow machine.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(300);

fn meta(user: &str, action: &str) -> EditMeta {
    EditMeta::new(&UserId::from(user), Utc::now(), action)
}

fn rename(tablet: &mut Tablet, user: &str, id: &CustomerId, name: &str) {
    let mut profile = tablet.replica.customer(id).unwrap().profile;
    profile.name = name.to_owned();
    let edit = CustomerEdit::UpdateProfile(profile);
    tablet.replica.edit_customer(id, &edit, &meta(user, edit.action())).unwrap();
}

/// GETs `path` as headquarters' device and expects 200.
fn hq_get(server: &ServerProcess, path: &str) -> Value {
    let (status, body) =
        get_json_with_token(&format!("{}{path}", server.url), &demo_token("hq-01")).unwrap();
    assert_eq!(status, 200, "GET {path}: {body}");
    body
}

/// The conflict the scenario settles, and the value it chooses.
struct Conflict {
    customer: CustomerId,
    doc_id: String,
    path: String,
    chosen: String,
}

/// Two tablets of `rep-01` rename the same customer offline to different values and sync;
/// the server lists the conflict. The value to choose is the one the tablets do not show.
fn make_conflict(server: &ServerProcess, dir: &Path) -> (Conflict, Tablet, Tablet) {
    let (_, second) = enroll(dir, "rep-01").unwrap();
    let mut a = Tablet::new(&server.url, &demo_token("rep-01")).unwrap();
    let mut b = Tablet::new(&server.url, &second).unwrap();
    a.sync().unwrap();
    b.sync().unwrap();
    let customer = customers_of(&a.replica, "rep-01").unwrap()[0].clone();
    rename(&mut a, "rep-01", &customer, "东方精密机械（平板甲）");
    rename(&mut b, "rep-01", &customer, "东方精密机械（平板乙）");
    a.sync().unwrap();
    b.sync().unwrap();
    a.sync().unwrap();
    let shown = a.replica.customer(&customer).unwrap().profile.name;
    assert_eq!(b.replica.customer(&customer).unwrap().profile.name, shown, "the tablets agree");

    let doc_id = customer_doc_id(&customer).to_string();
    let listed = hq_get(server, "/api/v1/conflicts");
    let row = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["doc_id"] == doc_id.as_str() && c["path"] == "/profile/name")
        .unwrap_or_else(|| panic!("the concurrent rename is not listed: {listed}"));
    let values: Vec<String> =
        row["values"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect();
    assert_eq!(values.len(), 2, "{row}");
    let chosen = values.iter().find(|v| **v != shown).unwrap().clone();
    println!("prepared: conflict on {doc_id} /profile/name {values:?}; tablets show {shown}");
    (Conflict { customer, doc_id, path: "/profile/name".into(), chosen }, a, b)
}

/// An edit made offline two and a half hours ago reaches the server now: the device list
/// shows how long it waited in the tablet's outbox.
fn check_outbox_age(server: &ServerProcess, tablet: &mut Tablet, customer: &CustomerId) {
    let mut profile = tablet.replica.customer(customer).unwrap().profile;
    profile.notes = "离线时记录的备注".into();
    let edit = CustomerEdit::UpdateProfile(profile);
    let at = Utc::now() - chrono::Duration::minutes(150);
    let meta = EditMeta::new(&UserId::from("rep-01"), at, edit.action());
    tablet.replica.edit_customer(customer, &edit, &meta).unwrap();
    tablet.sync().unwrap();
    let devices = hq_get(server, "/api/v1/hq/devices");
    let ages: Vec<i64> = devices
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["user_id"] == "rep-01")
        .filter_map(|d| d["outbox_age_minutes"].as_i64())
        .collect();
    assert!(ages.iter().any(|m| (149..=152).contains(m)), "outbox age of the upload: {devices}");
    println!(
        "prepared: an edit made 150 min ago arrived; outbox ages of rep-01's devices {ages:?} min"
    );
}

/// The first available unit of the event with an approved price.
fn free_unit(server: &ServerProcess, event: &str) -> String {
    let staff = DeskClient::new(&server.url, &demo_token("staff-01"));
    let (status, table) = staff.get(&format!("/api/v1/events/{event}/desk")).unwrap();
    assert_eq!(status, 200, "{table}");
    table["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["status"] == "available" && !u["unit_price"].is_null())
        .and_then(|u| u["unit_id"].as_str())
        .unwrap_or_else(|| panic!("no available priced unit: {table}"))
        .to_owned()
}

/// Sends one desk command and expects it accepted; returns the result.
fn desk_ok(desk: &DeskClient, key: &str, event: &str, command: Value) -> Result<Value, String> {
    let (status, answer) = desk.send(key, event, &command).map_err(|e| e.to_string())?;
    if status != 200 || answer["outcome"] != "accepted" {
        return Err(format!("{command} answered {status}: {answer}"));
    }
    Ok(answer["result"].clone())
}

/// The desk at the venue: calls the next number and holds `unit` for that buyer.
fn hold(server: &ServerProcess, dir: &Path, event: &str, unit: &str) -> Result<String, String> {
    let staff = DeskClient::new(&server.url, &demo_token("staff-01"));
    // The number on the desk's screen before the call: the command names it.
    let (_, table) =
        staff.get(&format!("/api/v1/events/{event}/desk")).map_err(|e| e.to_string())?;
    let serving = table["now_serving"].as_u64().unwrap_or(0);
    let call = json!({ "kind": "call_next", "now_serving": serving });
    let called = desk_ok(&staff, "dashboard-call", event, call)?;
    let number =
        called["now_serving"].as_i64().ok_or_else(|| format!("nobody called: {called}"))?;
    let buyer: String = desk_db(dir)
        .map_err(|e| e.to_string())?
        .query_row("SELECT buyer_id FROM desk_buyers WHERE lottery_no = ?1", [number], |r| r.get(0))
        .map_err(|e| format!("buyer number {number}: {e}"))?;
    desk_ok(
        &staff,
        "dashboard-hold",
        event,
        json!({ "kind": "hold", "unit_id": unit, "buyer_id": buyer }),
    )?;
    println!("desk: called number {number}, held {unit} for {buyer}");
    Ok(buyer)
}

/// The desk completes the sale: work ticket by the staff, review, receipt and voucher by
/// finance (a second person).
fn sell(server: &ServerProcess, event: &str, unit: &str) -> Result<u64, String> {
    let staff = DeskClient::new(&server.url, &demo_token("staff-01"));
    let finance = DeskClient::new(&server.url, &demo_token("finance-01"));
    // The ticket names the hold it is drawn up for, as the control table shows it.
    let (_, table) =
        staff.get(&format!("/api/v1/events/{event}/desk")).map_err(|e| e.to_string())?;
    let hold_id = table["units"]
        .as_array()
        .and_then(|units| units.iter().find(|u| u["unit_id"] == unit))
        .map(|u| u["hold_id"].clone())
        .ok_or_else(|| format!("{unit} is not on the control table"))?;
    let ticket = desk_ok(
        &staff,
        "dashboard-ticket",
        event,
        json!({ "kind": "prepare_work_ticket", "unit_id": unit, "hold_id": hold_id,
                "payment_ratio_pct": "60", "discounts": [], "sealing_fee": "20000" }),
    )?;
    let id = ticket["ticket_id"].as_str().ok_or_else(|| format!("no ticket: {ticket}"))?.to_owned();
    let due = ticket["figures"]["amount_due"].clone();
    desk_ok(
        &finance,
        "dashboard-review",
        event,
        json!({ "kind": "review_work_ticket", "ticket_id": id }),
    )?;
    desk_ok(
        &finance,
        "dashboard-receipt",
        event,
        json!({ "kind": "record_receipt", "ticket_id": id, "amount": due, "method": "transfer" }),
    )?;
    let voucher = desk_ok(
        &finance,
        "dashboard-voucher",
        event,
        json!({ "kind": "issue_voucher", "ticket_id": id }),
    )?;
    let number = voucher["voucher_no"].as_u64().ok_or_else(|| format!("no voucher: {voucher}"))?;
    println!("desk: work ticket {id} reviewed, {due} received, voucher {number} issued for {unit}");
    Ok(number)
}

/// Every cell of the first sheet of `path`, as text, row by row.
fn first_sheet(path: &Path) -> (String, Vec<Vec<String>>) {
    let mut workbook: Xlsx<_> =
        open_workbook(path).unwrap_or_else(|e| panic!("{} is no xlsx: {e}", path.display()));
    let name = workbook.sheet_names().first().cloned().expect("a workbook without sheets");
    let range = workbook.worksheet_range(&name).unwrap();
    let rows = range
        .rows()
        .map(|row| row.iter().map(|cell| cell.to_string().trim().to_owned()).collect())
        .collect();
    (name, rows)
}

/// Checks the downloaded 附件一: its title, its header, and a row for every strategic and key
/// customer headquarters' JSON lists.
fn check_monthly_xlsx(server: &ServerProcess, path: &Path) {
    let (sheet, rows) = first_sheet(path);
    let cells = || rows.iter().flatten();
    assert!(
        cells().any(|c| c.contains("附件一")),
        "no title with 附件一 in sheet {sheet}: {:?}",
        rows.iter().take(3).collect::<Vec<_>>()
    );
    let header =
        rows.iter().position(|row| row.iter().any(|c| c == "客户名称")).unwrap_or_else(|| {
            panic!("no header with 客户名称: {:?}", rows.iter().take(5).collect::<Vec<_>>())
        });
    let names: BTreeSet<&str> = rows[header + 1..].iter().flatten().map(String::as_str).collect();
    let customers = hq_get(server, "/api/v1/hq/customers");
    let expected: Vec<&str> = customers
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["tier"] == "strategic" || c["tier"] == "key" || c["strategic"] == true)
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(!expected.is_empty(), "the demo has no strategic or key customer: {customers}");
    let missing: Vec<&&str> = expected.iter().filter(|n| !names.contains(**n)).collect();
    assert!(missing.is_empty(), "附件一 lacks rows for {missing:?}");
    println!(
        "xlsx: sheet {sheet}, {} rows; title 附件一, header 客户名称 on row {}, all {} strategic and key customers listed",
        rows.len(),
        header + 1,
        expected.len()
    );
}

#[test]
fn headquarters_works_the_dashboard_in_a_real_browser() {
    let shots = target_dir().join("screenshots/dashboard");
    if shots.exists() {
        std::fs::remove_dir_all(&shots).unwrap();
    }
    let downloads = shots.join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), SMALL_DEMO, Duration::from_secs(120)).unwrap();
    let (conflict, mut a, mut b) = make_conflict(&server, dir.path());
    check_outbox_age(&server, &mut b, &conflict.customer);
    wait_for_projections(&server.url).unwrap();
    let proposals = hq_get(&server, "/api/v1/hq/regrades");
    let proposals = proposals.as_array().unwrap().clone();
    assert!(!proposals.is_empty(), "the demo has no re-grade proposal to approve");
    let (event, _, _) = desk_setup(dir.path()).unwrap();
    let unit = free_unit(&server, &event);
    // What the pages should count, read before the browser changes anything (an approved
    // re-grade may move a customer between tiers).
    let all = hq_get(&server, "/api/v1/hq/customers").as_array().unwrap().len();
    let strategic =
        hq_get(&server, "/api/v1/hq/customers?tier=strategic").as_array().unwrap().len();
    let leads = hq_get(&server, "/api/v1/hq/pipeline")["leads"].as_array().unwrap().len();
    let plans = hq_get(&server, "/api/v1/hq/plans").as_array().unwrap().len();

    let work = tempfile::tempdir().unwrap();
    let mut command = browser::scenario("dashboard.mjs");
    command
        .env("KAM_URL", &server.url)
        .env("KAM_EVENT", &event)
        .env("KAM_UNIT", &unit)
        .env("KAM_CONFLICT_DOC", &conflict.doc_id)
        .env("KAM_CONFLICT_PATH", &conflict.path)
        .env("KAM_CONFLICT_VALUE", &conflict.chosen)
        .env("KAM_SCREENSHOTS", &shots)
        .env("KAM_DOWNLOADS", &downloads);
    let mut buyer = None;
    let mut voucher = None;
    let run = browser::run_scenario(command, work.path(), SCENARIO_TIMEOUT, |line| {
        if line.starts_with("BOARD_OPEN") {
            buyer = Some(hold(&server, dir.path(), &event, &unit)?);
        } else if line.starts_with("BOARD_HELD") {
            voucher = Some(sell(&server, &event, &unit)?);
        }
        Ok(())
    });
    let r = &run.result;
    let buyer = buyer.expect("the board never opened");
    assert!(voucher.is_some(), "the board never showed the hold");

    // The overview and the customers page counted what the JSON API listed.
    assert_eq!(r["customers"], all.to_string());
    assert_eq!(r["strategic"], strategic.to_string());
    wait_for_projections(&server.url).unwrap();

    // The approved re-grade: it was proposed as the page showed, and is now the customer's.
    let id = &r["regrade_customer"];
    let proposed = proposals
        .iter()
        .find(|p| p["customer_id"] == id.as_str())
        .unwrap_or_else(|| panic!("{id} was not proposed: {proposals:?}"));
    assert_eq!(proposed["proposed_tier"], r["regrade_tier"].as_str(), "{proposed}");
    assert_eq!(proposed["proposed_grade"], r["regrade_grade"].as_str(), "{proposed}");
    let detail = hq_get(&server, &format!("/api/v1/hq/customers/{id}"));
    assert_eq!(detail["customer"]["tier"], r["regrade_tier"].as_str(), "{detail}");
    assert_eq!(detail["customer"]["grade"], r["regrade_grade"].as_str(), "{detail}");
    let still = hq_get(&server, "/api/v1/hq/regrades");
    assert!(
        !still.as_array().unwrap().iter().any(|p| p["customer_id"] == id.as_str()),
        "{id} is still proposed"
    );

    // The conflict is settled, and both tablets read the chosen value once synced.
    let open = hq_get(&server, "/api/v1/conflicts");
    assert!(
        !open.as_array().unwrap().iter().any(|c| c["doc_id"] == conflict.doc_id.as_str()
            && c["path"] == conflict.path.as_str()),
        "the conflict is still open: {open}"
    );
    for tablet in [&mut a, &mut b] {
        tablet.sync().unwrap();
        let name = tablet.replica.customer(&conflict.customer).unwrap().profile.name;
        assert_eq!(name, conflict.chosen, "a synced tablet reads the chosen name");
    }

    // The unit the board showed sold is sold, to the buyer called.
    let staff = DeskClient::new(&server.url, &demo_token("staff-01"));
    let (status, table) = staff.get(&format!("/api/v1/events/{event}/desk")).unwrap();
    assert_eq!(status, 200, "{table}");
    let line = table["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["unit_id"] == unit.as_str())
        .unwrap_or_else(|| panic!("{unit} is not on the desk: {table}"));
    assert_eq!((&line["status"], &line["buyer_id"]), (&json!("sold"), &json!(buyer)), "{line}");
    assert_eq!(r["unit"], unit);
    assert_eq!(r["unit_status"], "sold");
    assert_eq!(r["rep_status"], "403");
    assert_eq!(r["csp_violations"], "0", "the pages broke the Content-Security-Policy");
    assert_eq!(r["offsite_back"], "stayed");
    assert_eq!(r["unknown_page"], "404");

    // The pipeline and plans pages listed what the JSON API lists; the measure closed on the
    // review's page is closed, by headquarters, with the note typed.
    assert_eq!(r["leads"], leads.to_string());
    assert_eq!(r["plans"], plans.to_string());
    let (closed_by, note): (Option<String>, Option<String>) =
        rusqlite::Connection::open_with_flags(
            dir.path().join("kam-server.sqlite3"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap()
        .query_row(
            "SELECT closed_by, closing_note FROM review_measures
             WHERE review_id = ?1 AND entry_id = ?2",
            [&r["measure_month"], &r["measure_closed"]],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    assert_eq!(closed_by.as_deref(), Some("hq-01"), "measure {}", r["measure_closed"]);
    assert_eq!(note.as_deref(), Some("已完成整改并回访客户"));

    // The Excel report the browser downloaded.
    check_monthly_xlsx(&server, &downloads.join(&r["xlsx"]));

    let shots_taken: usize = r["screenshots"].parse().unwrap();
    let pngs = browser::screenshots_in(&shots);
    assert_eq!(pngs, shots_taken, "every step left its screenshot");
    println!(
        "dashboard: {} steps in Chromium {} in {:.1} s ({} output lines); screenshots in {}",
        shots_taken,
        r["chromium"],
        run.elapsed.as_secs_f64(),
        run.lines.len(),
        shots.display()
    );
    server.stop(Duration::from_secs(30)).unwrap();
}

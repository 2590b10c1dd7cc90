//! Venue benchmark (issue 21, ADR 0021) against the real, optimised `kam-server` on 127.0.0.1:
//! central, and a venue server reaching it through a proxy that can cut the uplink. Prints
//! figures; asserts only correctness (no double hold, the segment verified, the tables agree).
//!
//! 1. The venue's desk under the desk benchmark's contested load (`benches/desk.rs`: 500
//!    clients holding random units of the event's 500 and releasing what they win, for 5 s),
//!    with the uplink up and shipping while it runs: commands per second, p50/p99 latency,
//!    the double holds found in the venue's ledger and control table (none is correct), and
//!    the venue's lag (entries not shipped) when the load stops and how soon it reaches 0.
//! 2. The catch-up after an outage: the uplink is cut, the venue takes N desk commands
//!    (hold/release pairs, each of 500 clients on units of its own), then the uplink comes
//!    back; the time until central holds the venue's whole segment, the entries shipped, the
//!    bytes up and down through the proxy, entries per second and bytes per entry, and the CPU
//!    both servers spent on it. Then `admin verify-ledger` at central must find the venue's
//!    segment intact with every entry, and central's control table must equal the venue's.
//!
//! `KAM_BENCH_VENUE_COMMANDS` sets N (default 50,000: the whole benchmark takes about half a
//! minute on a 2-core machine, so CI runs the full size too); `KAM_BENCH_SERVER=path` runs
//! another build of the server.

// A benchmark may panic on a broken setup; its arithmetic is on counters, byte counts and
// wall-clock figures, never on input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kam_core::desk::new_idempotency_key;
use kam_tests::load::{Contested, LoadConn, contested_http, desk_groups, percentile, release};
use kam_tests::proxy::CutProxy;
use kam_tests::{
    DeskClient, ServerProcess, TestResult, admin_with, demo_token, desk_db, desk_setup,
    release_server_binary, until, with_load_limits,
};
use serde_json::{Value, json};

/// Concurrent clients, as in the desk benchmark's contested run.
const CLIENTS: usize = 500;
/// Allotted units of the demo event, as in the desk benchmark.
const UNITS: usize = 500;
/// The contested run's length.
const RUN: Duration = Duration::from_secs(5);
/// Desk commands the venue takes while its uplink is down, by default.
const OUTAGE_COMMANDS: usize = 50_000;
/// The bound on every wait but the catch-up's.
const WAIT: Duration = Duration::from_secs(60);
/// The bound on the catch-up.
const CATCH_UP_WAIT: Duration = Duration::from_secs(600);

/// Central, the venue and the uplink between them.
struct Site {
    binary: PathBuf,
    central: ServerProcess,
    central_dir: tempfile::TempDir,
    venue: ServerProcess,
    venue_data: PathBuf,
    _venue_dir: tempfile::TempDir,
    uplink: CutProxy,
    event: String,
    units: Vec<String>,
    buyers: Vec<String>,
}

fn main() -> TestResult<()> {
    let commands = outage_commands();
    let site = Site::start(release_server_binary()?)?;
    contested_at_venue(&site)?;
    catch_up(&site, commands)?;
    Ok(())
}

/// N for the outage, and a line saying which size runs.
fn outage_commands() -> usize {
    let (commands, why) = match std::env::var("KAM_BENCH_VENUE_COMMANDS") {
        Ok(n) => {
            (n.parse().expect("KAM_BENCH_VENUE_COMMANDS is a number"), "KAM_BENCH_VENUE_COMMANDS")
        }
        Err(_) => (OUTAGE_COMMANDS, "the full size; KAM_BENCH_VENUE_COMMANDS sets another"),
    };
    println!("venue bench: {commands} desk commands during the outage ({why})");
    commands
}

impl Site {
    /// Starts central with a demo event of 500 allotted units, lends its desk to a venue
    /// server started behind a cut proxy, and waits until the venue holds it.
    fn start(binary: PathBuf) -> TestResult<Site> {
        let started = Instant::now();
        let central_dir = tempfile::tempdir()?;
        let demo = ["--demo", "--demo-customers", "10", "--demo-tickets", "10"];
        let demo = [&demo[..], &["--demo-units", "3000", "--demo-buyers", "1000"]].concat();
        let args = with_load_limits(&demo);
        let central = ServerProcess::start_binary(
            &binary,
            central_dir.path(),
            &args,
            Duration::from_secs(300),
        )?;
        let (event, units, buyers) = desk_setup(central_dir.path())?;
        assert_eq!(units.len(), UNITS);
        let staff = DeskClient::new(&central.url, &demo_token("staff-01"));
        let (status, _) =
            staff.send("free", &event, &json!({ "kind": "set_mode", "mode": "free" }))?;
        assert_eq!(status, 200);
        let (venue_device, venue_token) = enrol_venue(&binary, central_dir.path(), &event)?;
        let uplink = CutProxy::start(central.url.trim_start_matches("http://").parse()?)?;
        let venue_dir = tempfile::tempdir()?;
        let token_file = venue_dir.path().join("venue.token");
        std::fs::write(&token_file, &venue_token)?;
        let venue_data = venue_dir.path().join("data");
        std::fs::create_dir_all(&venue_data)?;
        let upstream = uplink.url();
        let token_path = token_file.to_str().ok_or("a temporary path that is not UTF-8")?;
        let mut args = vec!["--venue", "--upstream", upstream.as_str(), "--token-file", token_path];
        args.extend_from_slice(kam_tests::LOAD_LIMITS);
        let venue = ServerProcess::start_binary(&binary, &venue_data, &args, WAIT)?;
        let lend =
            ["delegate", "--event", &event, "--venue-device", &venue_device, "--lease-hours", "12"];
        admin_with(&binary, central_dir.path(), &lend)?;
        let lent = Instant::now();
        let at_venue = DeskClient::new(&venue.url, &demo_token("staff-01"));
        until("the venue to take the desk", WAIT, || {
            let (status, body) = at_venue.get("/api/v1/venue/status").ok()?;
            (status == 200 && body["lease"]["state"] == "active").then_some(())
        });
        println!(
            "setup: central with {} allotted units and {} buyers, the desk lent to the venue, which \
             took it {} ms after the lending ({:.1} s in all)",
            units.len(),
            buyers.len(),
            lent.elapsed().as_millis(),
            started.elapsed().as_secs_f64()
        );
        Ok(Site {
            binary,
            central,
            central_dir,
            venue,
            venue_data,
            _venue_dir: venue_dir,
            uplink,
            event,
            units,
            buyers,
        })
    }

    /// The venue's lease status (`GET /api/v1/venue/status` at the venue).
    fn venue_status(&self) -> TestResult<Value> {
        let (status, body) = DeskClient::new(&self.venue.url, &demo_token("staff-01"))
            .get("/api/v1/venue/status")?;
        assert_eq!(status, 200, "{body}");
        Ok(body["lease"].clone())
    }

    /// Central's delegation row for the event (`GET /api/v1/venue/delegations`, as HQ).
    fn central_lag(&self) -> TestResult<Value> {
        let hq = DeskClient::new(&self.central.url, &demo_token("hq-01"));
        let (status, body) = hq.get("/api/v1/venue/delegations")?;
        assert_eq!(status, 200, "{body}");
        let row =
            body.as_array().and_then(|rows| rows.iter().rfind(|r| r["event_id"] == self.event));
        Ok(row.ok_or("no delegation of the event at central")?.clone())
    }

    /// The venue's ledger tip and its number of entries (its whole segment).
    fn venue_ledger(&self) -> TestResult<(i64, i64)> {
        let db = desk_db(&self.venue_data)?;
        Ok(db.query_row("SELECT MAX(seq), COUNT(*) FROM desk_ledger", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?)
    }
}

/// A venue user with the event's grant, and its venue server's device: (device id, token).
fn enrol_venue(binary: &Path, central: &Path, event: &str) -> TestResult<(String, String)> {
    let project: String =
        desk_db(central)?.query_row("SELECT project_id FROM desk_events", [], |r| r.get(0))?;
    admin_with(binary, central, &["add-user", "venue-hall1", "venue", "--name", "一号厅"])?;
    admin_with(binary, central, &["assign-event", event, &project, "venue-hall1"])?;
    let enrolled = admin_with(binary, central, &["enroll", "venue-hall1", "--label", "hall-1"])?;
    let field = |name: &str| -> TestResult<String> {
        let line = enrolled.lines().find_map(|l| l.strip_prefix(name));
        Ok(line.ok_or_else(|| format!("no {name} in {enrolled}"))?.trim().to_owned())
    };
    Ok((field("device ")?, field("token ")?))
}

/// (1) The desk benchmark's contested run against the venue, the uplink shipping meanwhile.
fn contested_at_venue(site: &Site) -> TestResult<()> {
    let url = site.venue.url.as_str();
    let (groups_before, commands_before) = desk_groups(url);
    let cpu = (site.venue.cpu_seconds()?, site.central.cpu_seconds()?);
    let token = demo_token("staff-01");
    let run = contested_http(url, &token, &site.event, &site.units, &site.buyers, CLIENTS, RUN);
    let stopped = Instant::now();
    let lag = site.venue_status()?;
    let oldest_ms = lag["oldest_unshipped_at"]
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| (chrono::Utc::now() - t.with_timezone(&chrono::Utc)).num_milliseconds());
    let cpu = (site.venue.cpu_seconds()? - cpu.0, site.central.cpu_seconds()? - cpu.1);
    let (groups_after, commands_after) = desk_groups(url);
    let group_size = (commands_after - commands_before) / (groups_after - groups_before).max(1.0);
    let Contested { latencies, won, lost, elapsed } = &run;
    println!(
        "venue contested: {CLIENTS} clients for {elapsed:.1} s over HTTP to the venue, uplink up: {} \
         durable desk commands, {:.0}/s ({won} holds won and released, {lost} refused as taken); \
         latency p50 {:.1} ms, p99 {:.1} ms (goal <= 50 ms), max {:.1} ms; {group_size:.1} commands \
         per group commit; CPU meanwhile: venue {:.1} s, central {:.1} s",
        latencies.len(),
        run.rate(),
        percentile(latencies, 0.5),
        percentile(latencies, 0.99),
        latencies.last().copied().unwrap_or_default(),
        cpu.0,
        cpu.1
    );
    let doubles = double_holds(&site.venue_data)?;
    println!(
        "venue contested: double holds {} (goal 0): the venue's ledger replayed ({} holds, {} \
         releases), {} units with two active holds in its control table",
        doubles.replayed, doubles.holds, doubles.releases, doubles.table
    );
    assert_eq!((doubles.replayed, doubles.table), (0, 0), "a unit was held twice");
    assert_eq!((doubles.holds, doubles.releases), (*won, *won), "the ledger has every hold won");
    until("the venue to ship everything", WAIT, || {
        (site.venue_status().ok()?["unshipped"] == 0).then_some(())
    });
    println!(
        "venue contested: lag when the load stopped: {} entries not shipped, the oldest written \
         {} ms before; all shipped {} ms after the load stopped",
        lag["unshipped"],
        oldest_ms.unwrap_or_default(),
        stopped.elapsed().as_millis()
    );
    Ok(())
}

/// What replaying the venue's ledger and reading its holds found.
struct Doubles {
    /// Holds recorded on a unit the ledger shows held already.
    replayed: u64,
    /// Hold entries.
    holds: u64,
    /// Release entries.
    releases: u64,
    /// Units with more than one active hold row.
    table: u64,
}

/// Replays the venue's ledger unit by unit (a hold on a held unit is a double hold; a release
/// or expiry frees it) and counts units with more than one active hold in `desk_holds`.
fn double_holds(venue: &Path) -> TestResult<Doubles> {
    let db = desk_db(venue)?;
    let mut stmt = db.prepare(
        "SELECT kind, json_extract(entry, '$.unit_id') FROM desk_ledger
         WHERE kind IN ('hold', 'release', 'hold_expired') ORDER BY seq",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut held = std::collections::HashSet::new();
    let mut found = Doubles { replayed: 0, holds: 0, releases: 0, table: 0 };
    for row in rows {
        let (kind, unit) = row?;
        if kind == "hold" {
            found.holds += 1;
            if !held.insert(unit) {
                found.replayed += 1;
            }
        } else {
            found.releases += u64::from(kind == "release");
            held.remove(&unit);
        }
    }
    found.table = db.query_row(
        "SELECT COUNT(*) FROM (SELECT unit_id FROM desk_holds WHERE state = 'active'
         GROUP BY project_id, unit_id HAVING COUNT(*) > 1)",
        [],
        |r| r.get(0),
    )?;
    Ok(found)
}

/// (2) The outage and the catch-up.
fn catch_up(site: &Site, commands: usize) -> TestResult<()> {
    site.uplink.cut();
    let (sent, seconds) = outage_load(site, commands);
    let during = site.venue_status()?;
    let (tip, segment) = site.venue_ledger()?;
    println!(
        "outage: the uplink cut, the venue took {sent} desk commands in {seconds:.1} s ({:.0}/s); \
         {} entries not shipped (venue tip {tip})",
        sent as f64 / seconds,
        during["unshipped"]
    );
    assert!(during["unshipped"].as_u64().unwrap() >= sent as u64, "{during}");
    let before = site.central_lag()?;
    let (up, down) = (site.uplink.bytes_up(), site.uplink.bytes_down());
    let cpu = (site.venue.cpu_seconds()?, site.central.cpu_seconds()?);
    site.uplink.restore();
    let restored = Instant::now();
    let mut first_bytes = None;
    let after = until("central to catch up", CATCH_UP_WAIT, || {
        if first_bytes.is_none() && site.uplink.bytes_up() > up {
            first_bytes = Some(restored.elapsed());
        }
        let row = site.central_lag().ok()?;
        (row["unshipped"] == 0 && row["shipped_seq"] == tip).then_some(row)
    });
    let took = restored.elapsed();
    let cpu = (site.venue.cpu_seconds()? - cpu.0, site.central.cpu_seconds()? - cpu.1);
    let entries = after["shipped_seq"].as_i64().unwrap() - before["shipped_seq"].as_i64().unwrap();
    let (up, down) = (site.uplink.bytes_up() - up, site.uplink.bytes_down() - down);
    let wire = first_bytes.map_or(took, |f| took.saturating_sub(f)).as_secs_f64();
    println!(
        "catch-up: {:.2} s after the uplink returned ({:.2} s of it the uplink's retry backoff \
         before its first byte, {wire:.2} s shipping): {entries} entries shipped, {:.0} entries/s \
         while shipping; {:.1} MiB up, {:.1} KiB down through the proxy, {:.0} bytes up per entry; \
         CPU: venue {:.1} s, central {:.1} s",
        took.as_secs_f64(),
        first_bytes.unwrap_or_default().as_secs_f64(),
        entries as f64 / wire,
        up as f64 / 1_048_576.0,
        down as f64 / 1024.0,
        up as f64 / entries.max(1) as f64,
        cpu.0,
        cpu.1
    );
    verify_at_central(site, segment)
}

/// `admin verify-ledger` at central finds the venue's segment intact with all `segment`
/// entries, and central's control table equals the venue's.
fn verify_at_central(site: &Site, segment: i64) -> TestResult<()> {
    let started = Instant::now();
    let verified = admin_with(&site.binary, site.central_dir.path(), &["verify-ledger"])?;
    let seconds = started.elapsed().as_secs_f64();
    println!("verify-ledger at central ({seconds:.2} s):\n{}", verified.trim());
    let intact = format!("venue segment of {} generation 1 intact: {segment} entries", site.event);
    assert!(verified.contains(&intact), "expected «{intact}» in {verified}");
    assert!(verified.contains("ledger intact"), "{verified}");
    let central =
        DeskClient::new(&site.central.url, &demo_token("hq-01")).control_table(&site.event)?;
    let venue =
        DeskClient::new(&site.venue.url, &demo_token("staff-01")).control_table(&site.event)?;
    assert_eq!(central, venue, "central's control table differs from the venue's");
    println!("catch-up: central's control table equals the venue's ({} units)", venue.len());
    Ok(())
}

/// Sends `commands` desk commands to the venue as hold/release pairs, each of [`CLIENTS`]
/// clients on units of its own (so every command is accepted); returns the commands sent and
/// the seconds they took.
fn outage_load(site: &Site, commands: usize) -> (usize, f64) {
    let pairs = commands / 2;
    let started = Instant::now();
    kam_tests::load::runtime().block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for client in 0..CLIENTS {
            let mine: Vec<String> =
                site.units.iter().skip(client).step_by(CLIENTS).cloned().collect();
            let count = pairs / CLIENTS + usize::from(client < pairs % CLIENTS);
            let (url, event, buyer) =
                (site.venue.url.clone(), site.event.clone(), site.buyers[client].clone());
            tasks.spawn(async move {
                let mut conn = LoadConn::connect(&url, &demo_token("staff-01")).await;
                for n in 0..count {
                    let unit = &mine[n % mine.len()];
                    let hold = kam_tests::load::hold(unit, &buyer);
                    let (status, held) = conn.send(&new_idempotency_key(), &event, &hold).await;
                    assert_eq!(status, 200, "{held}");
                    let release = release(unit, &held["result"]["hold_id"]);
                    let (status, answer) =
                        conn.send(&new_idempotency_key(), &event, &release).await;
                    assert_eq!(status, 200, "{answer}");
                }
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }
    });
    (pairs * 2, started.elapsed().as_secs_f64())
}

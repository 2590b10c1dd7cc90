//! Headquarters' dashboard at the size of a real company, in a real browser (issue 25): the
//! optimised server on `serve --demo --scale 10` (3,000 customers, 20,000 tickets), and
//! `tests/browser/dashboard_scale.mjs` in Debian's headless Chromium, as a child process with
//! a bounded wait. Headquarters searches the customers and sorts them by score both ways, pages
//! through all the tickets (five pages forwards, one back, no ticket twice), opens the rows
//! behind a bar of the tier and grade chart (the list counts what the bar said), and meets a
//! localized not-found page with the navigation; the administrator enrols a tablet from the
//! devices page, this test opens the tablet's push stream with the token the page showed, and
//! the administrator revokes it from the page: the stream ends at once and the token gets 401.
//!
//! `KAM_DASHBOARD_SCALE` sets the company's scale (default 10). Screenshots of every step are
//! left in `target/screenshots/dashboard-scale/`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)]

use std::net::TcpStream;
use std::time::Duration;

use kam_tests::browser::{self, target_dir};
use kam_tests::hostile::call;
use kam_tests::push_stream::{open_push_stream, until_the_stream_ends};
use kam_tests::{ServerProcess, demo_token, release_server_binary};

/// How long the browser scenario may run before it is killed and the test fails.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(300);
/// How long a revoked device's stream may stay open after the page answered.
const STREAM_END_BOUND: Duration = Duration::from_secs(5);

/// `X-Total-Count` of a list of the JSON API.
fn total(server: &ServerProcess, path: &str) -> usize {
    let auth = format!("Bearer {}", demo_token("hq-01"));
    let answer = call(&server.url, "GET", path, &[("authorization", &auth)], None).unwrap();
    assert_eq!(answer.status, 200, "{path}: {}", answer.text());
    answer.header("x-total-count").unwrap().parse().unwrap()
}

/// Percent-encodes a query value.
fn encode(text: &str) -> String {
    text.bytes()
        .map(
            |b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            },
        )
        .collect()
}

#[test]
fn headquarters_searches_sorts_and_pages_a_company_of_scale_10_in_a_real_browser() {
    let scale = std::env::var("KAM_DASHBOARD_SCALE").unwrap_or_else(|_| "10".into());
    let shots = target_dir().join("screenshots/dashboard-scale");
    if shots.exists() {
        std::fs::remove_dir_all(&shots).unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start_binary(
        &release_server_binary().unwrap(),
        dir.path(),
        &["--demo", "--scale", &scale],
        Duration::from_secs(900),
    )
    .unwrap();
    let customers = total(&server, "/api/v1/hq/customers?limit=1");
    let tickets = total(&server, "/api/v1/hq/tickets?show=all&limit=1");
    let scale_n: usize = scale.parse().unwrap();
    assert_eq!((customers, tickets), (300 * scale_n, 2_000 * scale_n), "the scaled company");

    let work = tempfile::tempdir().unwrap();
    let mut command = browser::scenario("dashboard_scale.mjs");
    command
        .env("KAM_URL", &server.url)
        .env("KAM_CUSTOMERS", customers.to_string())
        .env("KAM_TICKETS", tickets.to_string())
        .env("KAM_WORK", work.path())
        .env("KAM_SCREENSHOTS", &shots);
    let mut stream: Option<TcpStream> = None;
    let mut token = None;
    let mut ended = None;
    let run = browser::run_scenario(command, work.path(), SCENARIO_TIMEOUT, |line| {
        if let Some(rest) = line.strip_prefix("ENROLLED ") {
            let (_, t) = rest.split_once(' ').ok_or("ENROLLED without a token")?;
            let (opened, status) = open_push_stream(&server.url, t);
            assert_eq!(status, 200, "the enrolled tablet's push stream opens");
            stream = Some(opened);
            token = Some(t.to_owned());
            std::fs::write(work.path().join("stream-open"), b"open").map_err(|e| e.to_string())?;
        } else if line.starts_with("REVOKED") {
            let open = stream.as_mut().ok_or("REVOKED before the stream opened")?;
            ended = Some(until_the_stream_ends(open, STREAM_END_BOUND));
        }
        Ok(())
    });
    let r = &run.result;

    let (after, seen) = ended.expect("the page never revoked the device");
    let after = after.unwrap_or_else(|| panic!("the stream outlived its revocation: {seen}"));
    assert!(seen.contains("event: revoked"), "{seen}");
    let auth = format!("Bearer {}", token.unwrap());
    let refused =
        call(&server.url, "GET", "/api/v1/documents/customer/x", &[("authorization", &auth)], None)
            .unwrap();
    assert_eq!(refused.status, 401, "the revoked token is refused");

    assert_eq!(r["tickets_seen"], "300", "six pages of fifty, each ticket once");
    assert_eq!(r["tickets_total"], tickets.to_string());
    let found: usize = r["search_found"].parse().unwrap();
    let term = &r["search_term"];
    let query = encode(term);
    assert_eq!(found, total(&server, &format!("/api/v1/hq/customers?q={query}&limit=1")));
    let (tier, grade) = r["chart_bar"].split_once('/').unwrap();
    let bar = total(&server, &format!("/api/v1/hq/customers?tier={tier}&grade={grade}&limit=1"));
    assert_eq!(r["chart_count"], bar.to_string(), "the bar counts the rows behind it");
    assert_eq!(r["csp_violations"], "0", "the pages broke the Content-Security-Policy");

    let shots_taken: usize = r["screenshots"].parse().unwrap();
    assert_eq!(browser::screenshots_in(&shots), shots_taken, "every step left its screenshot");
    println!(
        "dashboard at scale {scale}: {customers} customers, {tickets} tickets; searched \
         {term:?} ({found} found), {} tickets paged without a repeat, the {tier}/{grade} bar's \
         {bar} rows, the revoked tablet's stream ended {} ms after the page answered; {} steps \
         in {:.1} s; screenshots in {}",
        r["tickets_seen"],
        after.as_millis(),
        shots_taken,
        run.elapsed.as_secs_f64(),
        shots.display()
    );
    server.stop(Duration::from_secs(30)).unwrap();
}

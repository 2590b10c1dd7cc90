//! Console benchmark against the real, optimised `kam-server` on 127.0.0.1 (issue 20): what
//! the selection day's pages cost the server. Prints figures; asserts only correctness.
//!
//! 1. The 销控表 for a project of 3,000 units (25 buildings of 30 floors × 4): the desk
//!    console's page as drawn (one building's tab), with every building at once
//!    (`?building=*`), and headquarters' board of all buildings — server time per page
//!    (p50/p99 of repeated GETs, the client on loopback) and page weight.
//! 2. 50 open desk consoles (`/console/events/{id}/live`) and 10 hall screens
//!    (`/screen/{id}/stream`) while the desk calls buyers and holds a unit for each: for every
//!    command, the time from its answer (as the client received it) to each stream's message
//!    showing it (a console: the number served, the unit's cell; a screen: the number served,
//!    one unit fewer left) — p50/p99/max over all streams and commands (goal: p99 ≤ 1 s) — and
//!    the server's CPU seconds for the phase, per command.
//!
//! `KAM_CONSOLE_BENCH_CALLS` sets the number of buyers called (default 200; each call is
//! followed by a hold); `KAM_BENCH_SERVER=path` runs another build of the server.

// A benchmark may panic on a broken setup; its arithmetic is on counters, byte counts and
// wall-clock figures, never on input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use kam_tests::hostile::{call, sign_in};
use kam_tests::{
    DeskClient, ServerProcess, demo_token, desk_db, process_cpu_seconds, release_server_binary,
    with_load_limits,
};
use serde_json::{Value, json};

/// Open consoles.
const CONSOLES: usize = 50;
/// Open hall screens.
const SCREENS: usize = 10;
/// Repeated GETs per page measured.
const PAGE_RUNS: usize = 20;
/// The bound on every wait.
const WAIT: Duration = Duration::from_secs(30);

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// GETs `path` `PAGE_RUNS` times with `cookie`; prints p50/p99 ms and the weight.
fn measure_page(url: &str, cookie: &str, label: &str, path: &str) {
    let mut times = Vec::new();
    let mut bytes = 0;
    for _ in 0..PAGE_RUNS + 2 {
        let started = Instant::now();
        let page = call(url, "GET", path, &[("cookie", cookie)], None).unwrap();
        assert_eq!(page.status, 200, "{path}: {}", page.text());
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        bytes = page.body.len();
    }
    let mut times: Vec<f64> = times.split_off(2);
    times.sort_by(f64::total_cmp);
    let cells =
        String::from_utf8_lossy(&call(url, "GET", path, &[("cookie", cookie)], None).unwrap().body)
            .matches("<td class=\"c ")
            .count();
    println!(
        "console bench: {label}: {cells} unit cells, {:.1} KiB; served in p50 {:.1} ms, p99 {:.1} ms ({PAGE_RUNS} GETs)",
        bytes as f64 / 1024.0,
        percentile(&times, 0.5),
        percentile(&times, 0.99)
    );
}

/// What a stream reported: which stream, when, and the message.
struct Heard {
    stream: usize,
    at: Instant,
    message: Value,
}

/// Opens a server-sent event stream at `path` and forwards each `data:` message.
fn follow(url: &str, path: &str, cookie: Option<&str>, stream: usize, out: mpsc::Sender<Heard>) {
    let address = url.trim_start_matches("http://").to_owned();
    let mut socket = TcpStream::connect(&address).unwrap();
    let cookie = cookie.map(|c| format!("Cookie: {c}\r\n")).unwrap_or_default();
    write!(
        socket,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nAccept: text/event-stream\r\n{cookie}\r\n"
    )
    .unwrap();
    let mut reader = BufReader::new(socket);
    let mut status = String::new();
    reader.read_line(&mut status).unwrap();
    assert!(status.contains(" 200 "), "{path}: {status}");
    std::thread::spawn(move || {
        for line in reader.lines().map_while(Result::ok) {
            // Chunk sizes and blank lines pass by; each event is one chunk.
            if let Some(data) = line.strip_prefix("data:")
                && let Ok(message) = serde_json::from_str(data.trim())
            {
                let heard = Heard { stream, at: Instant::now(), message };
                if out.send(heard).is_err() {
                    return;
                }
            }
        }
    });
}

/// The display token's screen URL, read from the staff's screen-link page.
fn screen_path(url: &str, cookie: &str, event: &str) -> String {
    let page = call(
        url,
        "GET",
        &format!("/console/events/{event}/screen-link"),
        &[("cookie", cookie)],
        None,
    )
    .unwrap();
    assert_eq!(page.status, 200, "{}", page.text());
    let text = page.text();
    let start = text.find("/screen/").expect("no screen link on the page");
    let end = text[start..].find(['<', '"', ' ']).map(|e| start + e).unwrap();
    text[start..end].replace("&amp;", "&")
}

/// Waits until every stream in `wanted` reported a message that `shows`; returns the delay
/// of each after `answered` (0 when the message came before the answer was read).
fn wait_for(
    heard: &mpsc::Receiver<Heard>,
    wanted: &[usize],
    answered: Instant,
    shows: impl Fn(usize, &Value) -> bool,
) -> Vec<f64> {
    let mut left: std::collections::BTreeSet<usize> = wanted.iter().copied().collect();
    let mut delays = Vec::new();
    let deadline = Instant::now() + WAIT;
    while !left.is_empty() {
        let h = heard
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("streams {left:?} never showed the change"));
        if left.contains(&h.stream) && shows(h.stream, &h.message) {
            left.remove(&h.stream);
            delays.push(h.at.saturating_duration_since(answered).as_secs_f64() * 1000.0);
        }
    }
    delays
}

/// The units left a screen's message counts over its buildings.
fn units_left(message: &Value) -> u64 {
    message["by_building"]
        .as_array()
        .map(|b| b.iter().filter_map(|b| b["left"].as_u64()).sum())
        .unwrap_or(0)
}

fn summary(label: &str, mut delays: Vec<f64>) {
    delays.sort_by(f64::total_cmp);
    println!(
        "console bench: {label}: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} samples; goal p99 ≤ 1,000 ms)",
        percentile(&delays, 0.5),
        percentile(&delays, 0.99),
        delays.last().copied().unwrap_or(0.0),
        delays.len()
    );
}

fn main() {
    let calls: usize =
        std::env::var("KAM_CONSOLE_BENCH_CALLS").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    let dir = tempfile::tempdir().unwrap();
    let base = [
        "--demo",
        "--demo-customers",
        "20",
        "--demo-tickets",
        "20",
        "--demo-units",
        "3000",
        "--demo-buyers",
        "500",
        "--streams-per-caller",
        "100",
    ];
    let args = with_load_limits(&base);
    let server =
        ServerProcess::start_binary(&release_server_binary().unwrap(), dir.path(), &args, WAIT * 4)
            .unwrap();
    let event: String = desk_db(dir.path())
        .unwrap()
        .query_row("SELECT event_id FROM desk_events", [], |r| r.get(0))
        .unwrap();
    let staff = sign_in(&server.url, "staff-01").unwrap();
    let hq = sign_in(&server.url, "hq-01").unwrap();

    // 1. The table for 3,000 units.
    let desk = format!("/console/events/{event}/desk");
    measure_page(&server.url, &staff, "desk console, one building's tab", &desk);
    measure_page(
        &server.url,
        &staff,
        "desk console, all 25 buildings",
        &format!("{desk}?building=*"),
    );
    let board = format!("/hq/events/{event}/board?building=*");
    measure_page(&server.url, &hq, "headquarters' board, all 25 buildings", &board);

    // 2. 50 consoles and 10 screens follow the desk.
    let (tx, heard) = mpsc::channel();
    let seq: i64 = desk_db(dir.path())
        .unwrap()
        .query_row("SELECT COALESCE(MAX(seq), 0) FROM desk_ledger", [], |r| r.get(0))
        .unwrap();
    for i in 0..CONSOLES {
        let path = format!("/console/events/{event}/live?seq={seq}");
        follow(&server.url, &path, Some(&staff), i, tx.clone());
    }
    let screen = screen_path(&server.url, &staff, &event);
    for i in 0..SCREENS {
        let stream = screen.replacen('?', "/stream?", 1);
        follow(&server.url, &stream, None, CONSOLES + i, tx.clone());
    }
    let everyone: Vec<usize> = (0..CONSOLES + SCREENS).collect();
    // Every stream's first message; the screens' count of units left.
    let left_at_start = std::sync::Mutex::new(None);
    wait_for(&heard, &everyone, Instant::now(), |stream, m| {
        if stream >= CONSOLES {
            *left_at_start.lock().unwrap() = Some(units_left(m));
        }
        true
    });
    let left_at_start = left_at_start.into_inner().unwrap().expect("no screen spoke");

    let client = DeskClient::new(&server.url, &demo_token("staff-01"));
    let (status, table) = client.get(&format!("/api/v1/events/{event}/desk")).unwrap();
    assert_eq!(status, 200, "{table}");
    let free: Vec<String> = table["units"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["status"] == "available" && !u["unit_price"].is_null())
        .map(|u| u["unit_id"].as_str().unwrap().to_owned())
        .collect();
    assert!(free.len() >= calls, "{} free units for {calls} calls", free.len());
    let cpu_before = process_cpu_seconds(server.pid()).unwrap();
    let started = Instant::now();
    let (mut call_delays, mut hold_delays) = (Vec::new(), Vec::new());
    for n in 1..=calls {
        let command = json!({ "kind": "call_next", "now_serving": n - 1 });
        let (status, answer) = client.send(&format!("bench-call-{n}"), &event, &command).unwrap();
        assert_eq!(status, 200, "{answer}");
        let answered = Instant::now();
        let buyer = answer["result"]["buyer_id"].as_str().unwrap().to_owned();
        // A console names the number; a screen shows it with the buyer's masked name.
        call_delays.extend(wait_for(&heard, &everyone, answered, |_, m| {
            m["now_serving"].as_u64() == Some(n as u64)
                || m["now_serving"]["number"].as_u64() == Some(n as u64)
        }));
        let unit = &free[n - 1];
        let hold = json!({ "kind": "hold", "unit_id": unit, "buyer_id": buyer });
        let (status, answer) = client.send(&format!("bench-hold-{n}"), &event, &hold).unwrap();
        assert_eq!(status, 200, "{answer}");
        let answered = Instant::now();
        // A console repaints the unit's cell; a screen counts one unit fewer left.
        hold_delays.extend(wait_for(&heard, &everyone, answered, |stream, m| {
            if stream >= CONSOLES {
                return units_left(m) == left_at_start - n as u64;
            }
            m["cells"].as_array().is_some_and(|cells| {
                cells.iter().any(|c| c["id"] == unit.as_str() && c["status"] == "held")
            })
        }));
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = process_cpu_seconds(server.pid()).unwrap() - cpu_before;
    summary(&format!("a call seen on {CONSOLES} consoles and {SCREENS} screens"), call_delays);
    summary(&format!("a hold seen on {CONSOLES} consoles and {SCREENS} screens"), hold_delays);
    println!(
        "console bench: {} commands in {elapsed:.1} s with {} streams open; server CPU {cpu:.2} s ({:.2} ms per command)",
        calls * 2,
        CONSOLES + SCREENS,
        cpu * 1000.0 / (calls * 2) as f64
    );
    server.stop(WAIT).unwrap();
}

//! Load generation for the desk benchmarks (`benches/desk.rs`, `benches/venue.rs`): keep-alive
//! HTTP connections driven as tasks on one thread, the contested hold/release client, a timed
//! run shared by many clients, and the percentiles they print.
//!
//! Many concurrent clients as OS threads would spend as much CPU switching between them as
//! the server spends answering; as tasks on one thread they leave the cores to the server, the
//! way a separate load-generating machine would.

// A load generator fails loudly on a broken connection or a malformed answer: the benchmark
// run stops there, which is what it should do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kam_core::desk::new_idempotency_key;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// The `p` quantile (0..=1) of `sorted` values, nearest rank; 0 when empty.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// `values` in ascending order.
pub fn sorted(mut values: Vec<f64>) -> Vec<f64> {
    values.sort_by(f64::total_cmp);
    values
}

/// A single-threaded runtime for the load generator's tasks.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// A hold command for `unit` and `buyer`.
pub fn hold(unit: &str, buyer: &str) -> Value {
    json!({ "kind": "hold", "unit_id": unit, "buyer_id": buyer })
}

/// A release command for the hold `hold_id` on `unit`.
pub fn release(unit: &str, hold_id: &Value) -> Value {
    json!({ "kind": "release", "unit_id": unit, "hold_id": hold_id, "reason": "bench" })
}

/// A minimal HTTP/1.1 keep-alive connection to the desk's command API, one request at a time.
pub struct LoadConn {
    stream: BufReader<TcpStream>,
    head: String,
}

impl LoadConn {
    /// A connection to `url` (`http://host:port`) sending `token`.
    pub async fn connect(url: &str, token: &str) -> LoadConn {
        LoadConn::connect_as(url, Some(token)).await
    }

    /// A connection sending `token`, or no token at all.
    pub async fn connect_as(url: &str, token: Option<&str>) -> LoadConn {
        let address = url.trim_start_matches("http://");
        let stream = TcpStream::connect(address).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let authorization =
            token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
        let head = format!(
            "POST /api/v1/desk/commands HTTP/1.1\r\nHost: {address}\r\n{authorization}\
             Content-Type: application/json\r\n"
        );
        LoadConn { stream: BufReader::new(stream), head }
    }

    /// Sends one command and returns the status and the answer.
    pub async fn send(&mut self, key: &str, event: &str, command: &Value) -> (u16, Value) {
        let body =
            json!({ "idempotency_key": key, "event_id": event, "command": command }).to_string();
        let request = format!("{}Content-Length: {}\r\n\r\n{body}", self.head, body.len());
        self.stream.get_mut().write_all(request.as_bytes()).await.unwrap();
        let mut line = String::new();
        self.stream.read_line(&mut line).await.unwrap();
        let status: u16 = line.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap();
        let mut length = 0;
        loop {
            line.clear();
            self.stream.read_line(&mut line).await.unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap();
            }
        }
        let mut answer = vec![0; length];
        self.stream.read_exact(&mut answer).await.unwrap();
        (status, serde_json::from_slice(&answer).unwrap())
    }
}

/// Where a contesting client sends its commands: the HTTP API, or a desk in the benchmark's
/// own process.
pub trait CommandSink {
    /// Sends one command under `key` and returns the status and the answer.
    fn send(
        &mut self,
        key: &str,
        event: &str,
        command: &Value,
    ) -> impl Future<Output = (u16, Value)> + Send;
}

impl CommandSink for LoadConn {
    async fn send(&mut self, key: &str, event: &str, command: &Value) -> (u16, Value) {
        LoadConn::send(self, key, event, command).await
    }
}

/// The start and end of a timed run, shared by its clients: each connects, waits for the
/// others, and works while the run lasts.
#[derive(Clone)]
pub struct Run {
    start: Arc<tokio::sync::Barrier>,
    stop: Arc<AtomicBool>,
    held: Arc<Mutex<HashSet<String>>>,
}

impl Run {
    /// Notes that a client's hold of `unit` was acknowledged; panics when another client's
    /// acknowledged hold of it was not released yet: a unit held twice.
    pub fn claim(&self, unit: &str) {
        let fresh = self.held.lock().unwrap().insert(unit.to_owned());
        assert!(fresh, "{unit} was held by two clients at once");
    }

    /// Notes that the holder of `unit` is about to release it (before the release is sent,
    /// so a hold acknowledged after the release committed is never taken for a double one).
    pub fn unclaim(&self, unit: &str) {
        self.held.lock().unwrap().remove(unit);
    }

    /// Waits until every client has connected.
    pub async fn connected(&self) {
        self.start.wait().await;
    }

    /// Whether the run is still on.
    pub fn running(&self) -> bool {
        !self.stop.load(Ordering::Relaxed)
    }
}

/// Runs `client` for each of `clients` clients, for `run_for` from the moment all are
/// connected; returns their results and how long the run lasted in seconds.
pub async fn timed_run<T, Fut>(
    clients: usize,
    run_for: Duration,
    client: impl Fn(usize, Run) -> Fut,
) -> (Vec<T>, f64)
where
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let run = Run {
        start: Arc::new(tokio::sync::Barrier::new(clients + 1)),
        stop: Arc::new(AtomicBool::new(false)),
        held: Arc::default(),
    };
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..clients {
        tasks.spawn(client(n, run.clone()));
    }
    run.connected().await;
    let started = Instant::now();
    tokio::time::sleep(run_for).await;
    run.stop.store(true, Ordering::Relaxed);
    let mut results = Vec::new();
    while let Some(done) = tasks.join_next().await {
        results.push(done.unwrap());
    }
    (results, started.elapsed().as_secs_f64())
}

/// The random units of contesting client `client`: its own sequence, the same at every run.
pub fn client_rng(client: usize) -> crate::crash::SplitMix {
    crate::crash::SplitMix((client as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// One contesting client for a run: holds a random unit of `units` and, when it wins,
/// releases it, so units stay contested. Every command carries a new idempotency key made
/// the way a tablet's outbox makes one (a UUIDv7). Returns each command's latency in ms, and
/// the holds won and lost.
pub async fn contest(
    mut sink: impl CommandSink,
    client: usize,
    run: Run,
    event: &str,
    units: &[String],
    buyer: &str,
) -> (Vec<f64>, u64, u64) {
    let mut rng = client_rng(client);
    let (mut latencies, mut won, mut lost) = (Vec::new(), 0u64, 0u64);
    run.connected().await;
    while run.running() {
        let unit = &units[rng.below(units.len() as u64) as usize];
        let sent = Instant::now();
        let (status, held) = sink.send(&new_idempotency_key(), event, &hold(unit, buyer)).await;
        latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
        if status == 200 {
            won += 1;
            run.claim(unit);
            let release = release(unit, &held["result"]["hold_id"]);
            run.unclaim(unit);
            let sent = Instant::now();
            let (status, answer) = sink.send(&new_idempotency_key(), event, &release).await;
            assert_eq!(status, 200, "{answer}");
            latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
        } else {
            assert_eq!(status, 409, "{held}");
            lost += 1;
        }
    }
    (latencies, won, lost)
}

/// What a contested run did.
#[derive(Debug, Default)]
pub struct Contested {
    /// Every command's latency in ms, ascending.
    pub latencies: Vec<f64>,
    /// Holds won (each released again).
    pub won: u64,
    /// Holds refused because the unit was taken.
    pub lost: u64,
    /// The run's length in seconds.
    pub elapsed: f64,
}

impl Contested {
    /// Gathers the clients' results.
    pub fn gather(results: Vec<(Vec<f64>, u64, u64)>, elapsed: f64) -> Contested {
        let mut all = Vec::new();
        let (mut won, mut lost) = (0, 0);
        for (latencies, w, l) in results {
            all.extend(latencies);
            won += w;
            lost += l;
        }
        Contested { latencies: sorted(all), won, lost, elapsed }
    }

    /// Commands answered per second.
    pub fn rate(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed
    }
}

/// `clients` clients (client `n` for `buyers[n]`) contesting `units` over HTTP at `url` with
/// `token` for `run_for`: each a keep-alive connection running [`contest`].
pub fn contested_http(
    url: &str,
    token: &str,
    event: &str,
    units: &[String],
    buyers: &[String],
    clients: usize,
    run_for: Duration,
) -> Contested {
    contested_over(&[url.to_owned()], token, event, units, buyers, clients, run_for)
}

/// [`contested_http`] over several nodes of one company: client `n` connects to
/// `urls[n % urls.len()]`.
pub fn contested_over(
    urls: &[String],
    token: &str,
    event: &str,
    units: &[String],
    buyers: &[String],
    clients: usize,
    run_for: Duration,
) -> Contested {
    let (results, elapsed) = runtime().block_on(timed_run(clients, run_for, |client, run| {
        let (url, token, event, buyer, units) = (
            urls[client % urls.len()].clone(),
            token.to_owned(),
            event.to_owned(),
            buyers[client].clone(),
            units.to_vec(),
        );
        async move {
            let conn = LoadConn::connect(&url, &token).await;
            contest(conn, client, run, &event, &units, &buyer).await
        }
    }));
    Contested::gather(results, elapsed)
}

/// The server's group-commit counters (groups, commands), from its metrics.
pub fn desk_groups(url: &str) -> (f64, f64) {
    let agent: ureq::Agent = ureq::Agent::config_builder().build().into();
    let text =
        agent.get(&format!("{url}/metrics")).call().unwrap().body_mut().read_to_string().unwrap();
    let value = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (value("kam_desk_groups"), value("kam_desk_group_commands"))
}

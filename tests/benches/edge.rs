//! Edge benchmark against the real, optimised `kam-server` binary on 127.0.0.1: whether the
//! server's threads and memory stay flat when many clients hold connections (issue 18).
//! Prints figures read from `/proc/<server pid>` (`Threads:`, `VmRSS:`, the `task` and `fd`
//! entries) before, during (the peak of samples taken every few milliseconds) and after each
//! phase; asserts only correctness, never time.
//!
//! 1. A baseline after start and a warm-up (a device's first download, a few requests).
//! 2. 1,000 idle `/api/v1/changes` streams, one per enrolled device of one rep, open at once:
//!    every one must answer 200 `text/event-stream`. Then one sync that changes a customer of
//!    that rep: how many streams hear of it within a bounded wait, and how soon. Then the
//!    clients close and the server's count of open streams must fall to zero.
//! 3. 1,000 concurrent unauthenticated `POST /api/v1/sync`, each declaring an 8 MiB body,
//!    sending 16 KiB of it and then a trickle, half with a wrong token and half with none:
//!    every one must be answered 401 (or 429) while the body is still incomplete, so the
//!    server answered without reading it. The clients hold their sockets until all are
//!    answered.
//! 4. The same bodies, sent again and again from 1,000 connections, while a legitimate device
//!    edits and syncs: its round latency before and during. The store is taken only after
//!    the token is checked, so the flood never holds it. Afterwards a fresh device downloads
//!    everything and must hold exactly the legitimate device's documents.
//!
//! The per-address and per-token rate limits are lifted (`kam_tests::LOAD_LIMITS`): this
//! measures threads and memory, not the limiter. `KAM_EDGE_BENCH_CONNECTIONS` sets the
//! number of clients per phase (default 1,000); the open-files soft limit of this process,
//! which the server inherits, is raised to fit them if the hard limit allows.

// A benchmark may panic on a broken setup; its arithmetic is on counters, byte counts and
// wall-clock figures, never on input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::Utc;
use kam_core::demo::DemoSpec;
use kam_core::model::CustomerId;
use kam_tests::{
    ProcessFigures, ServerProcess, Tablet, TestResult, add_visit, customers_of, demo_token,
    open_files_limits, process_cpu_seconds, process_figures, release_server_binary, thread_names,
};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::watch;

/// Clients per phase unless `KAM_EDGE_BENCH_CONNECTIONS` says otherwise.
const DEFAULT_CONNECTIONS: usize = 1_000;
/// The body length each unauthenticated request declares.
const DECLARED_BODY: usize = 8 * 1024 * 1024;
/// What it sends of it at once, with its headers.
const FIRST_CHUNK: usize = 16 * 1024;
/// Then a little more every [`TRICKLE_PERIOD`] until it is answered: a slow sender.
const TRICKLE: usize = 1024;
const TRICKLE_PERIOD: Duration = Duration::from_millis(50);
/// The bound on every wait of the benchmark.
const WAIT: Duration = Duration::from_secs(30);
/// The legitimate device's rounds before and during the flood.
const ROUNDS: usize = 10;
/// File descriptors this process and the server need besides the clients' sockets.
const SPARE_FILES: u64 = 512;
/// Threads above the baseline that still count as flat: the blocking work the server bounds
/// by default, the read pool (4), the store's turn (1) and the password checks (2), plus one.
const FLAT_THREADS: u64 = 8;

static ZEROS: [u8; FIRST_CHUNK] = [0; FIRST_CHUNK];

fn main() -> TestResult<()> {
    let asked = std::env::var("KAM_EDGE_BENCH_CONNECTIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_CONNECTIONS)
        .max(1);
    let n = raise_open_files(asked)?;
    let binary = release_server_binary()?;
    let dir = tempfile::tempdir()?;
    let started = Instant::now();
    let tokens = prepare(dir.path(), n)?;
    // Room for every client at once (the defaults are 1,024 streams and 4,096 connections).
    let max_streams = (n + 16).max(1_024).to_string();
    let max_connections = (n + 64).max(4_096).to_string();
    let mut args =
        vec!["--max-streams", max_streams.as_str(), "--max-connections", max_connections.as_str()];
    args.extend_from_slice(kam_tests::LOAD_LIMITS);
    let server = ServerProcess::start_binary(&binary, dir.path(), &args, Duration::from_secs(120))?;
    let (soft, _) = open_files_limits(server.pid())?;
    println!(
        "edge: setup: small demo, {n} devices of rep-01 enrolled, server up in {:.1} s with \
         --max-streams {max_streams} and the rate limits lifted (kam_tests::LOAD_LIMITS: this \
         measures threads and memory, not the limiter); server's open-files soft limit {}",
        started.elapsed().as_secs_f64(),
        soft.map_or("unlimited".to_owned(), |s| s.to_string())
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        // One core for the clients, the other for the server (and the legitimate device).
        .worker_threads(1)
        .enable_all()
        .build()?;
    let mut legit = Legit::warm_up(&server)?;
    let baseline = process_figures(server.pid())?;
    println!(
        "edge: baseline after start and warm-up: {}; threads by name {:?}",
        show(baseline),
        thread_names(server.pid())?
    );
    let mut peaks = vec![idle_streams(&rt, &server, &tokens, &mut legit, baseline)?];
    peaks.push(unauthenticated_bodies(&rt, &server, n, baseline)?);
    peaks.push(flood_while_syncing(&rt, &server, n, &mut legit, baseline)?);
    legit.check_nothing_lost(&server, &tokens[0])?;
    summary(n, baseline, &peaks, process_figures(server.pid())?);
    println!("edge: threads by name at the end {:?}", thread_names(server.pid())?);
    server.stop(Duration::from_secs(30))?;
    Ok(())
}

/// Raises this process's soft limit on open files so that `asked` clients fit (the server,
/// started from here, inherits it: `kam-server` does not raise its own). Where the hard limit
/// is too low, fewer clients are used, and the output says so.
fn raise_open_files(asked: usize) -> TestResult<usize> {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let Rlimit { current, maximum } = getrlimit(Resource::Nofile);
    // Twice the clients: the server's and this process's sockets of a phase, with room for
    // those still closing while the next ones open.
    let wanted = 2 * asked as u64 + SPARE_FILES;
    let granted = match (current, maximum) {
        (None, _) => return Ok(asked),
        (Some(soft), _) if soft >= wanted => return Ok(asked),
        (Some(_), hard) => hard.map_or(wanted, |h| h.min(wanted)),
    };
    let soft = current.unwrap_or_default();
    if granted > soft {
        setrlimit(Resource::Nofile, Rlimit { current: Some(granted), maximum })?;
        println!(
            "edge: open-files soft limit raised from {soft} to {granted} for this process and \
             the server it starts"
        );
    }
    let fits = (granted.saturating_sub(SPARE_FILES) as usize).min(asked).max(1);
    if fits < asked {
        println!(
            "edge: the open-files limit ({granted}) allows {fits} clients per phase, not {asked}"
        );
    }
    Ok(fits)
}

/// Loads the small demo company into `dir` and enrols `n` more devices of `rep-01`, before
/// any server runs on it, so each stream has a credential of its own (as real tablets do).
fn prepare(dir: &Path, n: usize) -> TestResult<Vec<String>> {
    let mut store = kam_server::data::open_store(dir)?;
    // `kam_tests::SMALL_DEMO`, as `serve` would build it.
    let spec = DemoSpec { customers: 30, tickets: 60, units: 40, ..DemoSpec::standard(5) };
    kam_server::data::load_demo(&mut store, &spec, Utc::now())?;
    let tokens = store.transaction(|db| {
        let mut tokens = Vec::with_capacity(n);
        for i in 0..n {
            let label = format!("edge bench {i}");
            tokens.push(kam_server::auth::enroll_device(db, "rep-01", &label, Utc::now())?.token);
        }
        Ok(tokens)
    })?;
    Ok(tokens)
}

/// `threads 9, RSS 41.2 MiB, open files 40`.
fn show(f: ProcessFigures) -> String {
    format!(
        "threads {} (tasks {}), RSS {:.1} MiB, open files {}",
        f.threads,
        f.tasks,
        f.rss_mib(),
        f.open_files
    )
}

/// `threads 9 -> 9 (+0), RSS 41.2 -> 58.9 MiB (+17.7), open files 40 -> 1040`.
fn change(from: ProcessFigures, to: ProcessFigures) -> String {
    format!(
        "threads {} -> {} ({:+}), RSS {:.1} -> {:.1} MiB ({:+.1}), open files {} -> {}",
        from.threads,
        to.threads,
        to.threads as i64 - from.threads as i64,
        from.rss_mib(),
        to.rss_mib(),
        to.rss_mib() - from.rss_mib(),
        from.open_files,
        to.open_files
    )
}

/// The largest figures of a process over a phase, sampled on a thread of its own.
struct Peak {
    stop: Arc<AtomicBool>,
    sampler: JoinHandle<ProcessFigures>,
}

impl Peak {
    /// Starts sampling process `pid`.
    fn start(pid: u32) -> Peak {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let sampler = std::thread::spawn(move || {
            let mut peak = ProcessFigures::default();
            while !stopped.load(Ordering::Relaxed) {
                peak = peak.max(process_figures(pid).unwrap_or_default());
                // The sampling period, not a wait for anything: a peak that lasts less than
                // this may go unseen, which the thread and memory figures do not.
                std::thread::sleep(Duration::from_millis(5));
            }
            peak
        });
        Peak { stop, sampler }
    }

    /// Stops sampling; the peak seen.
    fn stop(self) -> ProcessFigures {
        self.stop.store(true, Ordering::Relaxed);
        self.sampler.join().unwrap()
    }
}

/// `host:port` of a server URL.
fn address(url: &str) -> String {
    url.trim_start_matches("http://").to_owned()
}

/// Reads an HTTP/1.1 answer's head: the status and the headers (names lowercased).
async fn read_head<R: tokio::io::AsyncBufRead + Unpin>(
    reader: &mut R,
) -> std::io::Result<(u16, Vec<(String, String)>)> {
    let eof = || std::io::Error::from(std::io::ErrorKind::UnexpectedEof);
    let mut line = String::new();
    if reader.read_line(&mut line).await? == 0 {
        return Err(eof());
    }
    let status = line.split(' ').nth(1).and_then(|s| s.parse().ok()).ok_or_else(eof)?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).await? == 0 {
            return Err(eof());
        }
        if line == "\r\n" {
            return Ok((status, headers));
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
}

/// The value of metric `name` (a gauge, or a histogram's `_sum` or `_count`) on the server.
fn metric(url: &str, name: &str) -> TestResult<f64> {
    let agent: ureq::Agent = ureq::Agent::config_builder().build().into();
    let text = agent.get(&format!("{url}/metrics")).call()?.body_mut().read_to_string()?;
    let value = text
        .lines()
        .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
        .ok_or_else(|| format!("no metric {name}"))?;
    Ok(value.trim().parse()?)
}

/// The server's count of open event streams.
fn open_streams(url: &str) -> TestResult<u64> {
    Ok(metric(url, "kam_open_streams")? as u64)
}

/// The server's own time answering sync requests so far: seconds in all, and requests.
fn server_sync_time(url: &str) -> TestResult<(f64, f64)> {
    Ok((
        metric(url, "kam_sync_latency_seconds_sum")?,
        metric(url, "kam_sync_latency_seconds_count")?,
    ))
}

/// The mean server-side time per sync request between two readings of
/// [`server_sync_time`], in ms.
fn mean_ms(from: (f64, f64), to: (f64, f64)) -> f64 {
    (to.0 - from.0) * 1000.0 / (to.1 - from.1).max(1.0)
}

/// Receives up to `n` messages from `rx`, for at most [`WAIT`].
fn receive<T>(rx: &mpsc::Receiver<T>, n: usize) -> Vec<T> {
    let deadline = Instant::now() + WAIT;
    let mut got = Vec::with_capacity(n);
    while got.len() < n {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(message) => got.push(message),
            Err(_) => break,
        }
    }
    got
}

/// The legitimate device: a rep's tablet that edits and syncs through everything.
struct Legit {
    tablet: Tablet,
    customers: Vec<CustomerId>,
    edits: usize,
}

impl Legit {
    /// The rep's tablet after its first download, and a few other requests: the warm-up.
    fn warm_up(server: &ServerProcess) -> TestResult<Legit> {
        let mut tablet = Tablet::new(&server.url, &demo_token("rep-01"))?;
        tablet.sync()?;
        let customers = customers_of(&tablet.replica, "rep-01")?;
        assert!(!customers.is_empty(), "rep-01 owns customers");
        for path in ["/healthz", "/api/v1/summary", "/healthz"] {
            let (status, _) = kam_tests::get_json(&format!("{}{path}", server.url))?;
            assert_eq!(status, 200, "{path}");
        }
        let mut legit = Legit { tablet, customers, edits: 0 };
        legit.round()?;
        Ok(legit)
    }

    /// The customer the next edit goes to.
    fn next_customer(&self) -> &CustomerId {
        &self.customers[self.edits % self.customers.len()]
    }

    /// One visit recorded and synced until quiet; the time the sync took, in ms. Every edit
    /// must be acknowledged.
    fn round(&mut self) -> TestResult<f64> {
        let customer = self.next_customer().clone();
        add_visit(&mut self.tablet.replica, "rep-01", &customer, "edge bench")?;
        self.edits += 1;
        let started = Instant::now();
        self.tablet.sync()?;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        assert_eq!(self.tablet.replica.pending_push_count()?, 0, "every edit acknowledged");
        Ok(ms)
    }

    /// A fresh device of the same rep downloads everything: it must hold exactly the
    /// documents, at the same heads, that this one holds after its acknowledged edits.
    fn check_nothing_lost(&mut self, server: &ServerProcess, token: &str) -> TestResult<()> {
        self.tablet.sync()?;
        let mut fresh = Tablet::in_memory(&server.url, token)?;
        fresh.sync()?;
        let ids = self.tablet.replica.document_ids()?;
        assert_eq!(ids, fresh.replica.document_ids()?, "the same documents");
        for id in &ids {
            assert_eq!(self.tablet.replica.heads(id)?, fresh.replica.heads(id)?, "{id}");
        }
        println!(
            "edge: nothing lost: {} acknowledged edits of the legitimate device; a fresh device \
             of the same rep holds its {} documents at the same heads",
            self.edits,
            ids.len()
        );
        Ok(())
    }
}

/// What an idle stream reports.
enum StreamEvent {
    /// Its answer's head: the status and whether it is an event stream.
    Opened { status: u16, event_stream: bool },
    /// When it heard of the change it waits for.
    Woke(Instant),
}

/// One idle stream's life: open it, report its head, wait for a `changed` event naming
/// `needle`, and hold the connection until `close`.
async fn idle_stream(
    address: String,
    token: String,
    needle: Arc<str>,
    report: mpsc::Sender<StreamEvent>,
    mut close: watch::Receiver<bool>,
) {
    let opened = async {
        let stream = TcpStream::connect(&address).await?;
        let mut reader = BufReader::new(stream);
        let request = format!(
            "GET /api/v1/changes HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\
             Accept: text/event-stream\r\n\r\n"
        );
        reader.get_mut().write_all(request.as_bytes()).await?;
        let (status, headers) = read_head(&mut reader).await?;
        std::io::Result::Ok((reader, status, headers))
    };
    let (mut reader, status, headers) = match opened.await {
        Ok(opened) => opened,
        Err(_) => {
            let _ = report.send(StreamEvent::Opened { status: 0, event_stream: false });
            return;
        }
    };
    let event_stream = headers
        .iter()
        .any(|(name, value)| name == "content-type" && value.starts_with("text/event-stream"));
    let _ = report.send(StreamEvent::Opened { status, event_stream });
    let mut line = String::new();
    let mut woke = false;
    loop {
        line.clear();
        tokio::select! {
            _ = close.wait_for(|closed| *closed) => break,
            read = reader.read_line(&mut line), if !woke => match read {
                Ok(n) if n > 0 => {
                    // The event's data names the changed document.
                    if line.contains(&*needle) {
                        woke = true;
                        let _ = report.send(StreamEvent::Woke(Instant::now()));
                    }
                }
                // The server ended the stream: nothing more to hear, hold until told.
                _ => woke = true,
            },
        }
    }
}

/// Phase 2: one idle stream per token, a change announced to all of them, then closed.
/// Returns the peak figures of the phase.
fn idle_streams(
    rt: &tokio::runtime::Runtime,
    server: &ServerProcess,
    tokens: &[String],
    legit: &mut Legit,
    baseline: ProcessFigures,
) -> TestResult<ProcessFigures> {
    let n = tokens.len();
    let peak = Peak::start(server.pid());
    let needle: Arc<str> = format!("customer/{}", legit.next_customer()).into();
    let (report, events) = mpsc::channel();
    let (close, closed) = watch::channel(false);
    let started = Instant::now();
    let streams: Vec<_> = tokens
        .iter()
        .map(|token| {
            let task = idle_stream(
                address(&server.url),
                token.clone(),
                Arc::clone(&needle),
                report.clone(),
                closed.clone(),
            );
            rt.spawn(task)
        })
        .collect();
    let heads = receive(&events, n);
    let opened_s = started.elapsed().as_secs_f64();
    let good = heads
        .iter()
        .filter(|e| matches!(e, StreamEvent::Opened { status: 200, event_stream: true }))
        .count();
    let statuses: BTreeMap<u16, usize> = heads.iter().fold(BTreeMap::new(), |mut m, e| {
        if let StreamEvent::Opened { status, .. } = e {
            *m.entry(*status).or_default() += 1;
        }
        m
    });
    assert_eq!(good, n, "every stream answered 200 text/event-stream: {statuses:?}");
    let open = process_figures(server.pid())?;
    let counted = open_streams(&server.url)?;
    println!(
        "edge: {n} idle streams: {good}/{n} answered 200 text/event-stream in {opened_s:.2} s, the \
         server counts {counted} open; {}, {:.1} KiB of RSS per stream",
        change(baseline, open),
        (open.rss_kib as f64 - baseline.rss_kib as f64) / n as f64
    );
    wake_all(server, legit, &events, n, baseline)?;
    close.send(true)?;
    rt.block_on(async {
        for stream in streams {
            stream.await.unwrap();
        }
    });
    let closed_s = wait_for_no_streams(&server.url)?;
    let after = process_figures(server.pid())?;
    let peak = peak.stop();
    println!(
        "edge: {n} idle streams closed by their clients: the server counted none open {closed_s:.2} s \
         later; {}; peak over the phase {}",
        change(baseline, after),
        show(peak)
    );
    Ok(peak)
}

/// One sync that changes a customer every stream may see; counts the streams that hear of it
/// within [`WAIT`].
fn wake_all(
    server: &ServerProcess,
    legit: &mut Legit,
    events: &mpsc::Receiver<StreamEvent>,
    n: usize,
    baseline: ProcessFigures,
) -> TestResult<()> {
    let changed_at = Instant::now();
    let sync_ms = legit.round()?;
    let woke: Vec<f64> = receive(events, n)
        .into_iter()
        .filter_map(|e| match e {
            StreamEvent::Woke(at) => Some(at.duration_since(changed_at).as_secs_f64()),
            StreamEvent::Opened { .. } => None,
        })
        .collect();
    let last = woke.iter().copied().fold(0.0, f64::max);
    let woken = process_figures(server.pid())?;
    println!(
        "edge: {n} idle streams woken: {}/{n} streams received the change within {last:.2} s of the \
         sync that made it (the sync took {sync_ms:.0} ms); {}",
        woke.len(),
        change(baseline, woken)
    );
    Ok(())
}

/// Polls the server's count of open streams until it is zero, at most [`WAIT`]; the seconds
/// it took.
fn wait_for_no_streams(url: &str) -> TestResult<f64> {
    let started = Instant::now();
    loop {
        let open = open_streams(url)?;
        if open == 0 {
            return Ok(started.elapsed().as_secs_f64());
        }
        if started.elapsed() > WAIT {
            return Err(
                format!("{open} streams still open {WAIT:?} after their clients closed").into()
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// How an unauthenticated body ended: the status it was answered with (`None`: the
/// connection failed or closed without an answer) and the body bytes sent by then.
#[derive(Clone, Copy, Debug)]
struct BodyOutcome {
    status: Option<u16>,
    sent: usize,
    /// Why there was no answer: the connect's or the read's error, so a failure says which.
    failure: Option<std::io::ErrorKind>,
}

/// Declares an 8 MiB sync body under `token` (or none), sends 16 KiB of it and then a
/// trickle until answered. Returns the outcome and the connection, still open.
async fn unauthenticated_body(
    address: &str,
    token: Option<&str>,
) -> (BodyOutcome, Option<(OwnedReadHalf, OwnedWriteHalf)>) {
    let stream = match TcpStream::connect(address).await {
        Ok(stream) => stream,
        Err(error) => {
            let failure = Some(error.kind());
            return (BodyOutcome { status: None, sent: 0, failure }, None);
        }
    };
    let _ = stream.set_nodelay(true);
    let (read, mut write) = stream.into_split();
    let authorization = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let head = format!(
        "POST /api/v1/sync HTTP/1.1\r\nHost: {address}\r\n{authorization}Content-Type: {}\r\n\
         Content-Length: {DECLARED_BODY}\r\n\r\n",
        kam_core::wire::WIRE_CONTENT_TYPE
    );
    let mut sent = 0;
    if write.write_all(head.as_bytes()).await.is_ok() && write.write_all(&ZEROS).await.is_ok() {
        sent = FIRST_CHUNK;
    }
    let mut reader = BufReader::new(read);
    let answer = {
        let answer = read_head(&mut reader);
        let trickle = async {
            let mut tick = tokio::time::interval(TRICKLE_PERIOD);
            tick.tick().await;
            loop {
                tick.tick().await;
                // A server that closed the connection stops the trickle, not the wait for
                // the answer it may have sent first.
                if sent + TRICKLE > DECLARED_BODY
                    || write.write_all(&ZEROS[..TRICKLE]).await.is_err()
                {
                    std::future::pending::<()>().await;
                }
                sent += TRICKLE;
            }
        };
        tokio::select! {
            answer = answer => answer.map(|(status, _)| status),
            () = trickle => Err(std::io::ErrorKind::Other.into()),
        }
    };
    let (status, failure) = match answer {
        Ok(status) => (Some(status), None),
        Err(error) => (None, Some(error.kind())),
    };
    (BodyOutcome { status, sent, failure }, Some((reader.into_inner(), write)))
}

/// The token of the `i`th unauthenticated client: a wrong one for half, none for the rest.
fn wrong_token(i: usize) -> Option<String> {
    i.is_multiple_of(2).then(|| format!("kam_wrong_{i:08}"))
}

/// Counts of answers by status (`0`: no answer).
fn tally(outcomes: &[BodyOutcome]) -> BTreeMap<u16, usize> {
    outcomes.iter().fold(BTreeMap::new(), |mut m, o| {
        *m.entry(o.status.unwrap_or(0)).or_default() += 1;
        m
    })
}

/// Asserts that every outcome is a 401 or a 429.
fn assert_all_refused(outcomes: &[BodyOutcome], what: &str) {
    let statuses = tally(outcomes);
    let failures: Vec<_> = outcomes.iter().filter_map(|o| o.failure.map(|f| (f, o.sent))).collect();
    assert!(
        statuses.keys().all(|s| *s == 401 || *s == 429),
        "every {what} answered 401 or 429: {statuses:?}; unanswered (error, bytes sent): {failures:?}"
    );
}

/// Phase 3: `n` unauthenticated bodies at once, held until every one is answered. Returns
/// the peak figures of the phase.
fn unauthenticated_bodies(
    rt: &tokio::runtime::Runtime,
    server: &ServerProcess,
    n: usize,
    baseline: ProcessFigures,
) -> TestResult<ProcessFigures> {
    let peak = Peak::start(server.pid());
    let (report, outcomes) = mpsc::channel();
    let (release, released) = watch::channel(false);
    let started = Instant::now();
    let clients: Vec<_> = (0..n)
        .map(|i| {
            let (address, report, mut released) =
                (address(&server.url), report.clone(), released.clone());
            rt.spawn(async move {
                let (outcome, connection) =
                    unauthenticated_body(&address, wrong_token(i).as_deref()).await;
                let _ = report.send(outcome);
                // Held open until every client is answered, so all are connected at once.
                let _ = released.wait_for(|r| *r).await;
                drop(connection);
            })
        })
        .collect();
    let outcomes = receive(&outcomes, n);
    let answered_s = started.elapsed().as_secs_f64();
    let during = process_figures(server.pid())?;
    assert_eq!(outcomes.len(), n, "every unauthenticated client reported within {WAIT:?}");
    assert_all_refused(&outcomes, "unauthenticated body");
    let most_sent = outcomes.iter().map(|o| o.sent).max().unwrap_or_default();
    println!(
        "edge: {n} unauthenticated sync bodies ({} MiB declared, half a wrong token, half none): \
         answered {:?} (status: count) in {answered_s:.2} s, each after at most {} KiB of its body \
         was sent; while all {n} clients held their connections ({} of them still open on the \
         server's side): {}",
        DECLARED_BODY / (1024 * 1024),
        tally(&outcomes),
        most_sent / 1024,
        during.open_files.saturating_sub(baseline.open_files),
        change(baseline, during)
    );
    release.send(true)?;
    rt.block_on(async {
        for client in clients {
            client.await.unwrap();
        }
    });
    let after = process_figures(server.pid())?;
    let peak = peak.stop();
    println!(
        "edge: {n} unauthenticated sync bodies closed: {}; peak over the phase {}",
        change(baseline, after),
        show(peak)
    );
    Ok(peak)
}

/// The flood of phase 4: `n` clients each sending unauthenticated bodies one after another
/// until `stop`, every outcome kept in `outcomes`.
fn start_flood(
    rt: &tokio::runtime::Runtime,
    url: &str,
    n: usize,
    stop: &Arc<AtomicBool>,
    outcomes: &Arc<Mutex<Vec<BodyOutcome>>>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..n)
        .map(|i| {
            let (address, stop, outcomes) = (address(url), Arc::clone(stop), Arc::clone(outcomes));
            rt.spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let (outcome, _) =
                        unauthenticated_body(&address, wrong_token(i).as_deref()).await;
                    outcomes.lock().unwrap().push(outcome);
                }
            })
        })
        .collect()
}

/// Phase 4: `n` connections sending unauthenticated bodies again and again while the
/// legitimate device edits and syncs. Returns the peak figures of the phase.
fn flood_while_syncing(
    rt: &tokio::runtime::Runtime,
    server: &ServerProcess,
    n: usize,
    legit: &mut Legit,
    baseline: ProcessFigures,
) -> TestResult<ProcessFigures> {
    let quiet = server_sync_time(&server.url)?;
    let before: Vec<f64> = (0..ROUNDS).map(|_| legit.round()).collect::<TestResult<_>>()?;
    let flood_begins = server_sync_time(&server.url)?;
    let peak = Peak::start(server.pid());
    let (stop, outcomes) = (Arc::new(AtomicBool::new(false)), Arc::new(Mutex::new(Vec::new())));
    let flood_started = Instant::now();
    let clients = start_flood(rt, &server.url, n, &stop, &outcomes);
    // The rounds start once the flood is under way: as many answers as clients.
    let deadline = Instant::now() + WAIT;
    while outcomes.lock().unwrap().len() < n && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let cpu_before = (server.cpu_seconds()?, process_cpu_seconds(std::process::id())?);
    let rounds_started = Instant::now();
    let during: Vec<f64> = (0..ROUNDS).map(|_| legit.round()).collect::<TestResult<_>>()?;
    let rounds_s = rounds_started.elapsed().as_secs_f64();
    let cores = |now: f64, then: f64| (now - then) / rounds_s;
    let (server_cores, load_cores) = (
        cores(server.cpu_seconds()?, cpu_before.0),
        cores(process_cpu_seconds(std::process::id())?, cpu_before.1),
    );
    let flood_ends = server_sync_time(&server.url)?;
    stop.store(true, Ordering::Relaxed);
    rt.block_on(async {
        for client in clients {
            client.await.unwrap();
        }
    });
    let flood_s = flood_started.elapsed().as_secs_f64();
    let after = process_figures(server.pid())?;
    let peak = peak.stop();
    let outcomes = std::mem::take(&mut *outcomes.lock().unwrap());
    assert_all_refused(&outcomes, "flooding body");
    println!(
        "edge: legitimate sync rounds (one visit, sync until quiet): before the flood {} (server's \
         own time {:.1} ms per sync request); during {n} connections of unauthenticated sync \
         bodies {} (server's own time {:.1} ms; CPU cores busy meanwhile: server {server_cores:.2}, \
         clients {load_cores:.2}); {} bodies answered {:?} over the {flood_s:.1} s of the flood; \
         after: {}; peak over the phase {}",
        latencies(before),
        mean_ms(quiet, flood_begins),
        latencies(during),
        mean_ms(flood_begins, flood_ends),
        outcomes.len(),
        tally(&outcomes),
        change(baseline, after),
        show(peak)
    );
    Ok(peak)
}

/// `p50 12.3 ms, max 20.1 ms` of round times in ms.
fn latencies(mut ms: Vec<f64>) -> String {
    ms.sort_by(f64::total_cmp);
    format!("p50 {:.1} ms, max {:.1} ms", ms[ms.len() / 2], ms.last().copied().unwrap_or_default())
}

/// The final line: whether the threads stayed within [`FLAT_THREADS`] of the baseline.
fn summary(n: usize, baseline: ProcessFigures, peaks: &[ProcessFigures], end: ProcessFigures) {
    let peak = peaks.iter().fold(baseline, |p, q| p.max(*q));
    let grew = peak.threads as i64 - baseline.threads as i64;
    let flat = peak.threads <= baseline.threads + FLAT_THREADS;
    println!(
        "edge: summary: {n} connections per phase; threads baseline {}, peak {} ({grew:+}; a \
         thread per connection would be {:+}), at the end {}: {} (bound: baseline + \
         {FLAT_THREADS}); RSS baseline {:.1} MiB, peak {:.1} MiB, at the end {:.1} MiB",
        baseline.threads,
        peak.threads,
        n,
        end.threads,
        if flat { "within the bound" } else { "NOT within the bound" },
        baseline.rss_mib(),
        peak.rss_mib(),
        end.rss_mib()
    );
}

//! `kam-sim`: runs a whole selection event against a KAM server, the way a venue would.
//!
//! Staff call the lottery numbers in order; the called buyer's tablet picks an available
//! unit from the live control table and holds it through the real kam-core outbox; a work
//! ticket is drawn up, checked by finance, paid and vouchered. The Wi-Fi between the tablets
//! and the server loses requests and answers at the rate asked for, so every command is
//! retried under its stored key until it is answered. With `--spawn BINARY` the simulator
//! runs its own server on a demo company and kills it (`kill -9`) on a schedule.
//!
//! ```sh
//! cargo run --release -p kam-server -- serve --demo          # in one terminal
//! cargo run --release -p kam-tests --bin kam-sim -- --url http://127.0.0.1:8080 --buyers 30 --loss 20
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)] // A command-line tool reports and exits.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use kam_core::desk::{DeskCommand, DeskTransport, queue_command, send_pending_exclusive};
use kam_core::replica::{OutboxStatus, Replica, ReplicaOptions};
use kam_core::sync_client::http::HttpTransport;
use kam_core::sync_client::transport::TransportError;
use kam_tests::crash::SplitMix;
use kam_tests::{DeskClient, ServerProcess, TestResult, demo_token};
use rust_decimal::Decimal;
use serde_json::{Value, json};

struct Args {
    url: Option<String>,
    tablets: usize,
    spawn: Option<PathBuf>,
    crash_every: u32,
    buyers: u32,
    loss_pct: u64,
    seed: u64,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        url: None,
        tablets: 3,
        spawn: None,
        crash_every: 0,
        buyers: 20,
        loss_pct: 10,
        seed: 20_261_123,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => a.url = Some(value()?),
            "--spawn" => a.spawn = Some(PathBuf::from(value()?)),
            "--crash-every" => {
                a.crash_every = value()?.parse().map_err(|_| "--crash-every: a number")?
            }
            "--tablets" => a.tablets = value()?.parse().map_err(|_| "--tablets: a number")?,
            "--buyers" => a.buyers = value()?.parse().map_err(|_| "--buyers: a number")?,
            "--loss" => a.loss_pct = value()?.parse().map_err(|_| "--loss: percent")?,
            "--seed" => a.seed = value()?.parse().map_err(|_| "--seed: a number")?,
            "--help" | "-h" => {
                return Err(
                    "kam-sim (--url URL | --spawn SERVER_BINARY [--crash-every N]) [--tablets N] [--buyers N] \
                            [--loss PCT] [--seed N]"
                        .into(),
                );
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if a.url.is_none() && a.spawn.is_none() {
        return Err("give --url of a running server or --spawn a server binary".into());
    }
    Ok(a)
}

/// The venue's Wi-Fi: loses a request or its answer at the given rate.
struct Lossy {
    inner: RefCell<HttpTransport>,
    rng: RefCell<SplitMix>,
    loss_pct: u64,
    attempts: Cell<u64>,
    info: Cell<u64>,
}

impl Lossy {
    /// Points the tablet at the server's (possibly new) address.
    fn point_at(&self, url: &str) {
        *self.inner.borrow_mut() = HttpTransport::new(url, &demo_token("staff-01"));
    }
}

impl DeskTransport for Lossy {
    fn send_command(&self, request: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.attempts.set(self.attempts.get() + 1);
        let lost = |rng: &RefCell<SplitMix>| rng.borrow_mut().below(100) < self.loss_pct;
        if lost(&self.rng) {
            self.info.set(self.info.get() + 1);
            return Err(TransportError::Network("request lost".into()));
        }
        let answer = self.inner.borrow().send_command(request);
        if answer.is_err() || lost(&self.rng) {
            self.info.set(self.info.get() + 1);
            return Err(TransportError::Network("answer lost".into()));
        }
        answer
    }
}

/// A running server: one given by URL, or one this process spawned and may kill.
struct Venue {
    url: String,
    spawned: Option<(ServerProcess, PathBuf, tempfile::TempDir)>,
    crashes: u32,
}

impl Venue {
    fn crash_and_restart(&mut self) -> TestResult<()> {
        if let Some((server, binary, dir)) = self.spawned.take() {
            server.kill()?;
            let restarted = ServerProcess::start_binary(
                &binary,
                dir.path(),
                &["--demo"],
                Duration::from_secs(120),
            )?;
            self.url = restarted.url.clone();
            self.spawned = Some((restarted, binary, dir));
            self.crashes += 1;
        }
        Ok(())
    }
}

/// Sends every pending command until each is answered, riding out loss and restarts.
fn settle(replica: &mut Replica, venue: &Venue, lossy: &Lossy) -> TestResult<()> {
    lossy.point_at(&venue.url);
    let deadline = Instant::now() + Duration::from_secs(60);
    while send_pending_exclusive(replica, lossy, chrono::Utc::now())?.still_pending > 0 {
        if Instant::now() > deadline {
            return Err("commands still unanswered after 60 s".into());
        }
    }
    Ok(())
}

fn main() {
    match run() {
        Ok(()) => {}
        Err(error) => {
            eprintln!("kam-sim: {error}");
            std::process::exit(1);
        }
    }
}

fn run() -> TestResult<()> {
    let args = args()?;
    let mut venue = match (&args.url, &args.spawn) {
        (Some(url), _) => Venue { url: url.clone(), spawned: None, crashes: 0 },
        (None, Some(binary)) => {
            let dir = tempfile::tempdir()?;
            let server = ServerProcess::start_binary(
                binary,
                dir.path(),
                &["--demo"],
                Duration::from_secs(300),
            )?;
            Venue {
                url: server.url.clone(),
                spawned: Some((server, binary.clone(), dir)),
                crashes: 0,
            }
        }
        (None, None) => unreachable!("checked in args"),
    };
    // The event and its list, from a staff tablet's first sync.
    let mut replica = Replica::open(":memory:", ReplicaOptions::default())?;
    let transport = HttpTransport::new(&venue.url, &demo_token("staff-01"));
    kam_core::sync_client::sync_now(&mut replica, &transport, &Default::default(), &mut |_| {})?;
    let event_id = replica
        .document_ids()?
        .into_iter()
        .find(|id| id.kind() == kam_core::doc::DocKind::Event)
        .ok_or("the staff see no event")?;
    let event_id = kam_core::model::EventId::from(event_id.entity());
    let event = replica.event(&event_id)?;
    let by_number: BTreeMap<u32, String> =
        event.buyers.values().filter_map(|b| b.lottery_no.map(|n| (n, b.id.to_string()))).collect();
    let lossy = Lossy {
        inner: RefCell::new(transport),
        rng: RefCell::new(SplitMix(args.seed)),
        loss_pct: args.loss_pct,
        attempts: Cell::new(0),
        info: Cell::new(0),
    };
    // The venue's tablets: the one that read the list, and more that only send commands (the
    // control table they look at is the desk's, over HTTP).
    let mut tablets = vec![replica];
    for _ in 1..args.tablets.max(1) {
        tablets.push(Replica::open(":memory:", ReplicaOptions::default())?);
    }
    let started = Instant::now();
    let mut rng = SplitMix(args.seed ^ 0x5eed);
    let (mut sold, mut vouchers, mut served, mut taken_retries) = (0, 0, 0, 0);
    let finance = |url: &str| DeskClient::new(url, &demo_token("finance-01"));
    let ev = event_id.to_string();

    for turn in 0..args.buyers as usize {
        let replica = &mut tablets[turn % args.tablets.max(1)];
        if args.crash_every > 0 && served > 0 && served % args.crash_every == 0 {
            venue.crash_and_restart()?;
        }
        // 叫号: the next number after the one the desk's screen shows now.
        let (_, table) = DeskClient::new(&venue.url, &demo_token("staff-01"))
            .get(&format!("/api/v1/events/{ev}/desk"))?;
        let serving = u32::try_from(table["now_serving"].as_u64().unwrap_or(0))?;
        let call = DeskCommand::CallNext { now_serving: serving };
        queue_command(replica, &ev, &call, chrono::Utc::now())?;
        settle(replica, &venue, &lossy)?;
        let called = last_answer(replica, "call_next")?;
        let Some(number) = called["result"]["now_serving"].as_u64() else { break };
        let buyer = by_number.get(&(number as u32)).ok_or("called a number nobody has")?.clone();
        served += 1;
        // The buyer picks an available unit; a unit taken meanwhile sends them to another.
        let mut held = None;
        for _ in 0..10 {
            let (_, table) = DeskClient::new(&venue.url, &demo_token("staff-01"))
                .get(&format!("/api/v1/events/{ev}/desk"))?;
            let free: Vec<String> = table["units"]
                .as_array()
                .ok_or("no control table")?
                .iter()
                .filter(|u| u["status"] == "available" && !u["unit_price"].is_null())
                .filter_map(|u| u["unit_id"].as_str().map(str::to_owned))
                .collect();
            if free.is_empty() {
                break;
            }
            let unit = free[rng.below(free.len() as u64) as usize].clone();
            let hold = DeskCommand::Hold { unit_id: unit.clone(), buyer_id: buyer.clone() };
            queue_command(replica, &ev, &hold, chrono::Utc::now())?;
            settle(replica, &venue, &lossy)?;
            let answer = last_answer(replica, "hold")?;
            if answer["outcome"] == "accepted" {
                let hold_id = answer["result"]["hold_id"].as_str().ok_or("no hold id")?;
                held = Some((unit, hold_id.to_owned()));
                break;
            }
            taken_retries += 1;
        }
        let Some((unit, hold_id)) = held else { continue };
        sold += 1;
        let ticket = DeskCommand::PrepareWorkTicket {
            unit_id: unit,
            hold_id,
            payment_ratio_pct: Decimal::from(50 + rng.below(51)),
            discounts: Vec::new(),
            sealing_fee: Decimal::from(20_000),
        };
        queue_command(replica, &ev, &ticket, chrono::Utc::now())?;
        settle(replica, &venue, &lossy)?;
        let ticket = last_answer(replica, "prepare_work_ticket")?;
        let ticket_id = ticket["result"]["ticket_id"].as_str().ok_or("no ticket")?.to_owned();
        let due =
            ticket["result"]["figures"]["amount_due"].as_str().ok_or("no amount due")?.to_owned();
        // Finance checks and takes the money at its own desk (wired, no loss).
        let fin = finance(&venue.url);
        for (n, command) in [
            json!({ "kind": "review_work_ticket", "ticket_id": ticket_id }),
            json!({ "kind": "record_receipt", "ticket_id": ticket_id, "amount": due, "method": "transfer" }),
            json!({ "kind": "issue_voucher", "ticket_id": ticket_id }),
        ]
        .iter()
        .enumerate()
        {
            let key = format!("sim-{}-{ticket_id}-{n}", args.seed);
            let (status, answer) = retry(|| fin.send(&key, &ev, command))?;
            if status == 200 && n == 2 {
                vouchers += 1;
            } else if status != 200 {
                return Err(format!("finance step {n} refused: {answer}").into());
            }
        }
    }

    // Every answer a tablet received must still be the desk's stored answer.
    let mut lost_acked = 0;
    let (mut ok, mut rejected, mut ghost_sales) = (0, 0, 0);
    for (replica, status) in
        tablets.iter().flat_map(|t| [(t, OutboxStatus::Accepted), (t, OutboxStatus::Rejected)])
    {
        for entry in replica.outbox_with_status(status)? {
            if status == OutboxStatus::Accepted {
                ok += 1
            } else {
                rejected += 1
            }
            let command: Value = entry.payload["command"].clone();
            let (_, again) = DeskClient::new(&venue.url, &demo_token("staff-01"))
                .send(&entry.key, &ev, &command)?;
            if Some(&again) != entry.answer.as_ref() {
                lost_acked += 1;
            }
        }
    }
    for replica in &tablets {
        ghost_sales += replica.outbox_with_status(OutboxStatus::Pending)?.len();
    }
    let hq = DeskClient::new(&venue.url, &demo_token("hq-01"));
    let (_, report) = hq.get(&format!("/api/v1/events/{ev}/reconciliation"))?;
    let double_sales = report["mismatches"]
        .as_array()
        .map_or(0, |m| m.iter().filter(|m| m["code"] == "unit_sold_twice").count());
    let (_, ledger) = hq.get("/api/v1/desk/ledger/verify")?;
    println!(
        "seed={} clients={} loss={}% crashes={} attempts={} ok={ok} rejected={rejected} info={} double_sales={double_sales} \
         lost_acked={lost_acked} ghost_sales={ghost_sales}",
        args.seed,
        tablets.len(),
        args.loss_pct,
        venue.crashes,
        lossy.attempts.get(),
        lossy.info.get()
    );
    println!(
        "{served} buyers called in lottery order in {:.1} s; {sold} units held, {vouchers} vouchers issued; \
         {taken_retries} times a buyer's first choice was taken meanwhile; reconciliation: {} mismatches \
         (receipts {} CNY, vouchers {} CNY); ledger of {} entries {}",
        started.elapsed().as_secs_f64(),
        report["mismatches"].as_array().map_or(0, Vec::len),
        report["receipts_total"],
        report["vouchers_total"],
        ledger["entries"],
        if ledger["first_bad_seq"].is_null() { "verified" } else { "BROKEN" }
    );
    if let Some((server, _, _)) = venue.spawned.take() {
        server.stop(Duration::from_secs(30))?;
    }
    if double_sales + lost_acked + ghost_sales > 0 || !ledger["first_bad_seq"].is_null() {
        return Err("the event broke an invariant (see the figures above)".into());
    }
    Ok(())
}

/// The stored answer of this tablet's latest `command`.
fn last_answer(replica: &Replica, command: &str) -> TestResult<Value> {
    let mut answered: Vec<_> = [OutboxStatus::Accepted, OutboxStatus::Rejected]
        .into_iter()
        .map(|s| replica.outbox_with_status(s))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .flatten()
        .filter(|e| e.command == command)
        .collect();
    answered.sort_by_key(|e| e.answered_at);
    let last = answered.pop().ok_or("no answer")?;
    Ok(last.answer.unwrap_or_default())
}

/// Retries a wired request until the server answers (it may be restarting).
fn retry(mut send: impl FnMut() -> TestResult<(u16, Value)>) -> TestResult<(u16, Value)> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match send() {
            Ok(answer) => return Ok(answer),
            Err(error) if Instant::now() > deadline => return Err(error),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

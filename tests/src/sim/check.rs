//! The end-of-run checks, over central's desk and every venue store of the run. They read
//! the desks through the storage traits, so the same checks run over SQLite files and over a
//! PostgreSQL database (through any node that is up).

use std::collections::{BTreeMap, BTreeSet};

use kam_core::desk::{TableStatus, control_table};
use kam_core::doc::{DocId, Document, event_doc_id, project_doc_id};
use kam_core::model::{EventId, ProjectId, UnitStatus};
use kam_core::replica::OutboxStatus;
use kam_server::db::desk::ledger::ChainEntry;
use kam_server::db::desk::state::ControlUnit;
use kam_server::desk::delegation::lend;
use kam_server::desk::ledger;
use kam_server::error::ServerError;

use super::server::SimServer;
use super::venue::World;
use super::{OpKind, SimReport, SimTablet};
use crate::TestResult;

/// Entries read per page of a chain.
const PAGE: i64 = 10_000;

/// What the checks read of central's desk.
struct CentralDesk {
    /// Central's own chain, in order.
    own: Vec<ChainEntry>,
    /// The venue segment of each delegation of the event central's chain records, by
    /// generation.
    segments: BTreeMap<i64, Vec<ChainEntry>>,
    /// The event's allotted units as they stand.
    units: Vec<ControlUnit>,
}

/// Reads central's chain, the venue segments it holds and the event's units.
fn read_central(central: &SimServer, event: &str) -> TestResult<CentralDesk> {
    let event = event.to_owned();
    central.with_store(move |store| {
        let desk = store.desk();
        let mut own: Vec<ChainEntry> = Vec::new();
        loop {
            let after = own.last().map_or(0, |e| e.seq);
            let page = desk.own_entries(after, PAGE)?;
            if page.is_empty() {
                break;
            }
            own.extend(page);
        }
        let mut segments = BTreeMap::new();
        for entry in own.iter().filter(|e| e.kind == "desk_delegated") {
            let Some(generation) = serde_json::from_str::<serde_json::Value>(&entry.entry)
                .ok()
                .and_then(|e| e["generation"].as_i64())
            else {
                continue;
            };
            let mut segment: Vec<ChainEntry> = Vec::new();
            loop {
                let after = segment.last().map_or(0, |e| e.seq);
                let page = desk.venue_entries(&event, generation, after, PAGE)?;
                if page.is_empty() {
                    break;
                }
                segment.extend(page);
            }
            segments.insert(generation, segment);
        }
        let units = desk.control_units(&event)?;
        Ok(CentralDesk { own, segments, units })
    })
}

/// Every (device, key) a tablet queued or sent: the keys the desks may hold answers under.
fn sent_keys(
    tablets: &[SimTablet],
    devices: &[String],
    report: &SimReport,
) -> TestResult<BTreeSet<(String, String)>> {
    let mut keys = BTreeSet::new();
    for (tablet, device) in tablets.iter().zip(devices) {
        for status in [OutboxStatus::Accepted, OutboxStatus::Rejected, OutboxStatus::Pending] {
            for entry in tablet.replica.outbox_with_status(status)? {
                keys.insert((device.clone(), entry.key));
            }
        }
    }
    for op in &report.history {
        let device = devices.get(op.tablet).ok_or("an operation of an unknown tablet")?;
        keys.insert((device.clone(), op.key.clone()));
    }
    Ok(keys)
}

/// Runs every check and counts what failed into `report`; `devices` are the tablets'
/// devices, in order.
pub(super) fn check(
    world: &World,
    tablets: &mut [SimTablet],
    event: &str,
    devices: &[String],
    report: &mut SimReport,
) -> TestResult<()> {
    let central = read_central(&world.central, event)?;
    let keys = sent_keys(tablets, devices, report)?;
    report.chain_breaks += chains(world)?;
    report.double_sales += double_sales(&central)?;
    let stored = stored_answers(world, &keys)?;
    report.decided_twice += decided_twice(&stored);
    let mut counted = BTreeSet::new();
    let mut lost = |key: &str, report: &mut SimReport| {
        if world.lost_by_copy.contains(key) {
            // Each command lost with the copy is counted once (its tablet's answer and its
            // history both name it).
            if counted.insert(key.to_owned()) {
                report.lost_by_copy += 1;
            }
        } else {
            eprintln!("lost acknowledgement: key {key}");
            report.lost_acked += 1;
        }
    };
    // Every answer a tablet holds is a desk's stored answer; every command was answered.
    let mut accepted_keys = BTreeSet::new();
    for tablet in tablets.iter() {
        for status in [OutboxStatus::Accepted, OutboxStatus::Rejected, OutboxStatus::Pending] {
            for entry in tablet.replica.outbox_with_status(status)? {
                report.commands += 1;
                match status {
                    OutboxStatus::Pending => report.ghost_sales += 1,
                    _ => {
                        if status == OutboxStatus::Accepted {
                            report.ok += 1;
                            accepted_keys.insert(entry.key.clone());
                        } else {
                            report.rejected += 1;
                        }
                        let same = stored.get(&entry.key).is_some_and(|all| {
                            all.iter().any(|a| Some(a) == entry.answer.as_ref())
                        });
                        if !same {
                            eprintln!(
                                "tablet answer {:?} not stored; stored: {:?}",
                                entry.answer,
                                stored.get(&entry.key)
                            );
                            lost(&entry.key, report);
                        }
                    }
                }
            }
        }
    }
    // Every result the history saw acknowledged is a desk's stored result at the end.
    let acked: Vec<_> = report
        .history
        .iter()
        .filter(|op| matches!(op.kind, OpKind::Ok | OpKind::Fail))
        .map(|op| (op.key.clone(), op.kind == OpKind::Ok))
        .collect();
    for (key, ok) in acked {
        let found = stored
            .get(&key)
            .is_some_and(|all| all.iter().any(|a| (a["outcome"] == "accepted") == ok));
        if !found {
            lost(&key, report);
        }
    }
    report.ghost_sales += ghosts(&central, &accepted_keys);
    report.diverged += diverged(&central, tablets, event, &world.lost_by_copy)?;
    report.diverged += documents_apart(world, tablets, event)?;
    Ok(())
}

/// Tablets whose copy of the event's or the project's document is not central's (their
/// heads differ), after every tablet synced with central or with the venue that relayed
/// everything to central.
fn documents_apart(world: &World, tablets: &mut [SimTablet], event: &str) -> TestResult<u64> {
    let event_id = EventId::from(event);
    let ids = world.central.with_store(move |store| {
        let project = store.desk().event_project(event_id.as_str())?.unwrap_or_default();
        let ids = [project_doc_id(&ProjectId::from(project.as_str())), event_doc_id(&event_id)];
        let mut out = Vec::new();
        for id in ids {
            let heads = store.conn().document_row(&id)?.map(|r| r.heads).unwrap_or_default();
            out.push((id, heads));
        }
        Ok(out)
    })?;
    let mut apart = 0;
    for (i, tablet) in tablets.iter_mut().enumerate() {
        for (id, heads) in &ids {
            let mut mine = tablet.replica.heads(id)?;
            let mut theirs = heads.clone();
            mine.sort();
            theirs.sort();
            if mine != theirs {
                let (central_has, tablet_has) = who_lacks_what(world, tablet, id)?;
                eprintln!(
                    "tablet {i}: {id} differs from central's (central holds the tablet's \
                     changes: {central_has}; the tablet holds central's: {tablet_has}; {})",
                    tablet.net.describe()
                );
                apart += 1;
                break;
            }
        }
    }
    Ok(apart)
}

/// For a failed check's report: whether central holds every change of the tablet's copy of
/// `id`, and whether the tablet holds every change of central's.
fn who_lacks_what(world: &World, tablet: &mut SimTablet, id: &DocId) -> TestResult<(bool, bool)> {
    let bytes = tablet.replica.save_document(id)?;
    let id = id.clone();
    world.central.with_store(move |store| {
        let actor = automerge::ActorId::random();
        let stored = store.conn().load_document(&id, &actor)?.ok_or(ServerError::NotFound)?;
        let mut mine = Document::load(id, &bytes, actor).map_err(ServerError::from)?;
        let mut central = stored.doc;
        Ok((central.has_heads(&mine.heads()), mine.has_heads(&central.heads())))
    })
}

/// Chain faults: central's chain from genesis, each venue segment from its anchor to the tip
/// central recorded (which its `desk_returned` names), and each venue's own chain.
fn chains(world: &World) -> TestResult<u64> {
    let mut faults = world.central.with_store(|store| {
        let main = ledger::verify(store.desk())?;
        let segments = lend::verify_segments(store.desk()).map_err(ServerError::from)?;
        let bad = segments.iter().filter(|s| s.fault.is_some()).count() as u64;
        Ok(bad + u64::from(!main.ok()))
    })?;
    for site in world.venue.iter().chain(world.retired.iter()) {
        let ok = site.server.with_store(|store| Ok(ledger::verify(store.desk())?.ok()))?;
        faults += u64::from(!ok);
    }
    Ok(faults)
}

/// Holds accepted on a unit someone held, walking central's chain with each venue segment
/// spliced in where its delegation entry is (central serves nothing of the event meanwhile).
fn double_sales(central: &CentralDesk) -> TestResult<u64> {
    let mut history: Vec<&ChainEntry> = Vec::new();
    for entry in &central.own {
        history.push(entry);
        let generation = (entry.kind == "desk_delegated")
            .then(|| serde_json::from_str::<serde_json::Value>(&entry.entry).ok())
            .flatten()
            .and_then(|e| e["generation"].as_i64());
        if let Some(segment) = generation.and_then(|g| central.segments.get(&g)) {
            history.extend(segment);
        }
    }
    let mut held: BTreeMap<String, bool> = BTreeMap::new();
    let mut double = 0;
    for ChainEntry { kind, entry, .. } in history {
        let entry: serde_json::Value = serde_json::from_str(entry)?;
        let Some(unit) = entry["unit_id"].as_str() else { continue };
        let was = held.insert(unit.to_owned(), kind == "hold").unwrap_or(false);
        if kind == "hold" && was {
            double += 1;
        }
    }
    Ok(double)
}

/// Every answer stored under a key a tablet sent, by key, from central and from each venue
/// store (every key a desk holds is one a tablet sent).
fn stored_answers(
    world: &World,
    keys: &BTreeSet<(String, String)>,
) -> TestResult<BTreeMap<String, Vec<serde_json::Value>>> {
    let desks = std::iter::once(&world.central)
        .chain(world.venue.iter().chain(world.retired.iter()).map(|s| &s.server));
    let mut stored: BTreeMap<String, Vec<serde_json::Value>> = BTreeMap::new();
    for server in desks {
        let asked: Vec<(String, String)> = keys.iter().cloned().collect();
        let found = server.with_store(move |store| {
            let mut found = Vec::new();
            for (device, key) in asked {
                if let Some(row) = store.desk().stored_answer(&device, &key)? {
                    found.push((key, row.body));
                }
            }
            Ok(found)
        })?;
        for (key, body) in found {
            stored.entry(key).or_default().push(serde_json::from_str(&body)?);
        }
    }
    Ok(stored)
}

/// Keys a desk decided again after another desk had accepted them: an accepted answer
/// travels with the desk, so every later answer under its key must be that answer. (A refusal
/// a tablet never heard may be decided again where the event is served next: refusals change
/// nothing, and a central refusal does not travel with the lent desk.)
fn decided_twice(stored: &BTreeMap<String, Vec<serde_json::Value>>) -> u64 {
    let mut twice = 0;
    for (key, answers) in stored {
        let accepted = answers.iter().filter(|a| a["outcome"] == "accepted");
        let redecided = accepted.into_iter().any(|a| {
            answers.iter().any(|b| b != a && b["answered_at"].as_str() >= a["answered_at"].as_str())
        });
        if redecided {
            eprintln!("key {key} decided twice: {answers:?}");
            twice += 1;
        }
    }
    twice
}

/// Units held now at central by a command whose tablet never heard it was accepted.
fn ghosts(central: &CentralDesk, accepted: &BTreeSet<String>) -> u64 {
    let entries: Vec<&ChainEntry> =
        central.own.iter().chain(central.segments.values().flatten()).collect();
    let key_of = |hold: &str| {
        entries
            .iter()
            .find(|e| {
                e.kind == "hold"
                    && serde_json::from_str::<serde_json::Value>(&e.entry)
                        .is_ok_and(|v| v["hold_id"] == hold)
            })
            .and_then(|e| e.idempotency_key.clone())
    };
    let ghosts: Vec<(String, Option<String>)> = central
        .units
        .iter()
        .filter(|u| u.status == "held")
        .map(|u| {
            let hold = u.hold_id.clone().unwrap_or_default();
            let key = key_of(&hold);
            (hold, key)
        })
        .filter(|(_, key)| !key.as_ref().is_some_and(|k| accepted.contains(k)))
        .collect();
    for (hold, key) in &ghosts {
        eprintln!("ghost: hold {hold} by key {key:?}");
    }
    ghosts.len() as u64
}

/// Tablets whose control table shows other statuses than central's desk. A row shown from a
/// desk answer the venue lost with its copy (counted in `lost_by_copy`) is not a divergence:
/// the tablet was told the hold or release was done, no desk has it, and nothing it syncs
/// names it, so it shows the answer until the hold's expiry (see `kam_core::desk::table`).
fn diverged(
    central: &CentralDesk,
    tablets: &mut [SimTablet],
    event: &str,
    lost_by_copy: &BTreeSet<String>,
) -> TestResult<u64> {
    let desk_status: BTreeMap<String, String> =
        central.units.iter().map(|u| (u.unit_id.clone(), u.status.clone())).collect();
    let mut diverged = 0;
    for tablet in tablets.iter_mut() {
        let table = control_table(&mut tablet.replica, &EventId::from(event))?;
        let answered = newest_answers(tablet, event)?;
        let lost = |row: &kam_core::desk::UnitOnTable| {
            matches!(row.shown, TableStatus::HeldHere | TableStatus::Released)
                && answered.get(row.unit_id.as_str()).is_some_and(|key| lost_by_copy.contains(key))
        };
        let apart: Vec<String> = table
            .iter()
            .filter_map(|row| {
                let want = desk_status
                    .get(row.unit_id.as_str())
                    .and_then(|s| s.parse::<UnitStatus>().ok())
                    .unwrap_or(UnitStatus::Withdrawn);
                (row.shown.status() != Some(want) && !lost(row))
                    .then(|| format!("{} shows {:?}, the desk {want:?}", row.unit_id, row.shown))
            })
            .collect();
        if table.len() != desk_status.len() || !apart.is_empty() {
            eprintln!("a tablet's table differs from central's desk: {apart:?}");
            diverged += 1;
        }
    }
    Ok(diverged)
}

/// Per unit, the key of the tablet's newest accepted hold or release on it in `event`.
fn newest_answers(tablet: &SimTablet, event: &str) -> TestResult<BTreeMap<String, String>> {
    let mut accepted = tablet.replica.outbox_with_status(OutboxStatus::Accepted)?;
    accepted.sort_by(|a, b| (a.created_at, &a.key).cmp(&(b.created_at, &b.key)));
    let mut newest = BTreeMap::new();
    for entry in accepted {
        let command = &entry.payload["command"];
        if entry.payload["event_id"] == event
            && matches!(entry.command.as_str(), "hold" | "release")
            && let Some(unit) = command["unit_id"].as_str()
        {
            newest.insert(unit.to_owned(), entry.key.clone());
        }
    }
    Ok(newest)
}

//! The end-of-run checks, over central's desk and every venue store of the run.

use std::collections::{BTreeMap, BTreeSet};

use kam_core::desk::{TableStatus, control_table};
use kam_core::doc::{DocId, Document, event_doc_id, project_doc_id};
use kam_core::model::{EventId, ProjectId, UnitStatus};
use kam_core::replica::OutboxStatus;
use kam_server::desk::delegation::lend;
use kam_server::desk::ledger;
use kam_server::error::ServerError;
use rusqlite::Connection;

use super::venue::{World, open};
use super::{OpKind, SimReport, SimTablet};
use crate::TestResult;

/// Runs every check and counts what failed into `report`.
pub(super) fn check(
    world: &World,
    tablets: &mut [SimTablet],
    event: &str,
    report: &mut SimReport,
) -> TestResult<()> {
    let desk = open(&world.central.dir)?;
    let sites: Vec<_> = world.venue.iter().chain(world.retired.iter()).collect();
    let venues: Vec<Connection> =
        sites.iter().map(|s| open(&s.server.dir)).collect::<TestResult<_>>()?;
    report.chain_breaks += chains(world)?;
    report.double_sales += double_sales(&desk, event)?;
    let stored = stored_answers(&desk, &venues)?;
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
    report.ghost_sales += ghosts(&desk, &accepted_keys)?;
    report.diverged += diverged(&desk, tablets, event, &world.lost_by_copy)?;
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
fn double_sales(desk: &Connection, event: &str) -> TestResult<u64> {
    let mut history: Vec<(String, String)> = Vec::new();
    let mut stmt = desk.prepare("SELECT kind, entry FROM desk_ledger ORDER BY seq")?;
    let own: Vec<(String, String)> =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
    let mut segment = desk.prepare(
        "SELECT kind, entry FROM desk_venue_ledger WHERE event_id = ?1 AND generation = ?2
         ORDER BY seq",
    )?;
    for (kind, entry) in own {
        let generation = (kind == "desk_delegated")
            .then(|| serde_json::from_str::<serde_json::Value>(&entry).ok())
            .flatten()
            .and_then(|e| e["generation"].as_i64());
        history.push((kind, entry));
        if let Some(generation) = generation {
            let rows = segment
                .query_map(rusqlite::params![event, generation], |r| Ok((r.get(0)?, r.get(1)?)))?;
            history.extend(rows.collect::<Result<Vec<_>, _>>()?);
        }
    }
    let mut held: BTreeMap<String, bool> = BTreeMap::new();
    let mut double = 0;
    for (kind, entry) in history {
        let entry: serde_json::Value = serde_json::from_str(&entry)?;
        let Some(unit) = entry["unit_id"].as_str() else { continue };
        let was = held.insert(unit.to_owned(), kind == "hold").unwrap_or(false);
        if kind == "hold" && was {
            double += 1;
        }
    }
    Ok(double)
}

/// Every stored answer, by key, from central and from each venue store.
fn stored_answers(
    desk: &Connection,
    venues: &[Connection],
) -> TestResult<BTreeMap<String, Vec<serde_json::Value>>> {
    let mut stored: BTreeMap<String, Vec<serde_json::Value>> = BTreeMap::new();
    for conn in std::iter::once(desk).chain(venues) {
        let mut stmt = conn.prepare("SELECT idempotency_key, answer FROM desk_requests")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        for row in rows {
            let (key, answer) = row?;
            stored.entry(key).or_default().push(serde_json::from_str(&answer)?);
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
fn ghosts(desk: &Connection, accepted: &BTreeSet<String>) -> TestResult<u64> {
    let mut stmt = desk.prepare(
        "SELECT u.hold_id,
                (SELECT l.idempotency_key FROM desk_ledger l WHERE l.kind = 'hold'
                   AND json_extract(l.entry, '$.hold_id') = u.hold_id
                 UNION ALL
                 SELECT v.idempotency_key FROM desk_venue_ledger v WHERE v.kind = 'hold'
                   AND json_extract(v.entry, '$.hold_id') = u.hold_id
                 LIMIT 1)
         FROM desk_units u WHERE u.status = 'held'",
    )?;
    let holders: Vec<(String, Option<String>)> =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
    let ghosts: Vec<_> = holders
        .into_iter()
        .filter(|(_, key)| !key.as_ref().is_some_and(|k| accepted.contains(k)))
        .collect();
    for (hold, key) in &ghosts {
        eprintln!("ghost: hold {hold} by key {key:?}");
    }
    Ok(ghosts.len() as u64)
}

/// Tablets whose control table shows other statuses than central's desk. A row shown from a
/// desk answer the venue lost with its copy (counted in `lost_by_copy`) is not a divergence:
/// the tablet was told the hold or release was done, no desk has it, and nothing it syncs
/// names it, so it shows the answer until the hold's expiry (see `kam_core::desk::table`).
fn diverged(
    desk: &Connection,
    tablets: &mut [SimTablet],
    event: &str,
    lost_by_copy: &BTreeSet<String>,
) -> TestResult<u64> {
    let desk_status: BTreeMap<String, String> = {
        let mut stmt = desk.prepare(
            "SELECT a.unit_id, u.status FROM desk_allotments a JOIN desk_events e USING (event_id)
             JOIN desk_units u ON u.project_id = e.project_id AND u.unit_id = a.unit_id WHERE a.event_id = ?1",
        )?;
        stmt.query_map([event], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?
    };
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

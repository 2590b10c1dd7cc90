//! Mirrors the desk's outcomes into the project and event documents, so every tablet's
//! control table and queue display follow the desk on its next sync (or at once, through the
//! push channel).
//!
//! The mirror follows the ledger from a durable watermark (`meta` key `desk_mirrored_seq` in
//! the server database), the way the projector follows the change sequence. A burst of holds
//! becomes one commit per document: the tablets download one change, not one per unit. The
//! documents are a mirror only: the desk's rows stay the truth, and the authority compensates
//! any device that writes a unit status itself.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use kam_core::doc::{
    EditMeta, EventEdit, ProjectEdit, edit_event, edit_project, event_doc_id, project_doc_id,
};
use kam_core::model::{EventId, PriceApproval, ProjectId, UnitId, UnitStatus, UserId};

use crate::db::Db;
use crate::db::desk::DeskState;
use crate::db::desk::ledger::LedgerRow;
use crate::error::ServerError;
use crate::quarantine;
use crate::services::Services;
use crate::store::{Store, commit_doc, meta_get, meta_set};
use crate::sync::ChangedDoc;
use crate::sync::docs::DocCache;

/// Ledger entries mirrored per store turn.
const BATCH_ENTRIES: i64 = 4_096;

/// The author recorded on mirror commits.
const MIRROR_AUTHOR: &str = "desk";

/// What one event's entries ask the mirror to write.
#[derive(Debug, Default)]
struct EventWork {
    units: BTreeSet<String>,
    prices: BTreeSet<String>,
    queue: bool,
    mode: bool,
    buyers: bool,
    /// Everything the desk holds of the event (see [`EventWork::whole`]).
    whole: bool,
    /// Per unit, the latest hold the entries name (placed, released, lapsed, ticketed): the
    /// hold the unit's mirrored status is about, even when it ended within the batch.
    holds: BTreeMap<String, String>,
}

impl EventWork {
    /// Widens the work to every allotted unit, the queue, the mode and the buyer list.
    fn whole(&mut self, desk: &dyn DeskState, event_id: &str) -> Result<(), ServerError> {
        let units: BTreeSet<String> =
            desk.control_units(event_id)?.into_iter().map(|u| u.unit_id).collect();
        self.prices.extend(units.iter().cloned());
        self.units.extend(units);
        (self.queue, self.mode, self.buyers) = (true, true, true);
        Ok(())
    }
}

/// What one mirror batch did.
#[derive(Debug, Default)]
pub struct Mirrored {
    /// Ledger entries read.
    pub entries: usize,
    /// Documents changed, for the push channel.
    pub changed: Vec<ChangedDoc>,
}

/// Mirrors up to one batch of ledger entries.
pub fn mirror_pending(store: &mut Store, now: DateTime<Utc>) -> Result<Mirrored, ServerError> {
    store.write_reading_desk(|tx, docs, _, desk| {
        let from: i64 =
            meta_get(tx, "desk_mirrored_seq")?.and_then(|v| v.parse().ok()).unwrap_or(0);
        let entries = desk.ledger_after(from, BATCH_ENTRIES)?;
        let Some(last) = entries.last().map(|e| e.seq) else { return Ok(Mirrored::default()) };
        let mut work: BTreeMap<String, EventWork> = BTreeMap::new();
        for LedgerRow { seq, event_id, kind, entry } in &entries {
            // The ledger is append-only and written by the desk alone; an entry that does not
            // parse is logged and left out, never a reason to stop mirroring the others.
            let Ok(entry) = serde_json::from_str::<serde_json::Value>(entry) else {
                tracing::error!(seq, "desk ledger entry is not JSON; not mirrored");
                continue;
            };
            let w = work.entry(event_id.clone()).or_default();
            if kind == "venue_segment" {
                // A venue's batch (ADR 0021): its entries are in the venue's segment; this
                // entry names what they touched.
                note_segment(w, &entry["mirror"]);
            } else {
                note(w, kind, &entry);
            }
        }
        let mut changed = Vec::new();
        for (event_id, w) in &mut work {
            if w.whole {
                w.whole(desk, event_id)?;
            }
            changed.extend(mirror_guarded(tx, docs, desk, event_id, w, last, now)?);
        }
        meta_set(tx, "desk_mirrored_seq", &last.to_string())?;
        Ok(Mirrored { entries: entries.len(), changed })
    })
}

/// Notes what a venue's batch asks the mirror to write (`delegation::segment::mirror_summary`).
fn note_segment(w: &mut EventWork, summary: &serde_json::Value) {
    let ids = |key: &str| {
        summary[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect::<Vec<_>>()
    };
    w.units.extend(ids("units"));
    w.prices.extend(ids("prices"));
    w.queue |= summary["queue"].as_bool().unwrap_or(false);
    w.mode |= summary["mode"].as_bool().unwrap_or(false);
    w.buyers |= summary["buyers"].as_bool().unwrap_or(false);
    for (unit, hold) in summary["holds"].as_object().into_iter().flatten() {
        if let Some(hold) = hold.as_str() {
            note_hold(w, unit, hold);
        }
    }
}

/// Notes that an entry named `hold` on `unit`; the latest named is the one the unit's
/// mirrored status is about (hold ids sort in the order the holds were placed: `hold-` and
/// a UUIDv7).
fn note_hold(w: &mut EventWork, unit: &str, hold: &str) {
    let latest = w.holds.entry(unit.to_owned()).or_default();
    if hold > latest.as_str() {
        *latest = hold.to_owned();
    }
}

/// Notes what one entry asks the mirror to write.
fn note(w: &mut EventWork, kind: &str, entry: &serde_json::Value) {
    for key in ["unit_id", "new_unit_id"] {
        if let Some(unit) = entry[key].as_str() {
            w.units.insert(unit.to_owned());
        }
    }
    if let (Some(unit), Some(hold)) = (entry["unit_id"].as_str(), entry["hold_id"].as_str()) {
        note_hold(w, unit, hold);
    }
    match kind {
        "price_approved" => {
            if let Some(unit) = entry["unit_id"].as_str() {
                w.prices.insert(unit.to_owned());
            }
        }
        "call" | "recall" => w.queue = true,
        "set_mode" => w.mode = true,
        "buyers_imported" | "lottery_imported" => w.buyers = true,
        // The desk comes home (ADR 0021): its outcomes are written again over whatever the
        // venue's mirror wrote, so the documents end with central's desk even where the venue
        // wrote an outcome its second copy then lost.
        "desk_returned" | "desk_taken_back" => w.whole = true,
        _ => {}
    }
}

/// Mirrors one event inside a savepoint. When its documents are at fault (they do not read,
/// a write breaks a rule) the event's mirror writes are rolled back and it is set aside in
/// the quarantine (ADR 0013), so the other events' outcomes still reach the tablets; the desk's
/// rows stay the truth either way.
fn mirror_guarded(
    tx: &dyn Db,
    docs: &mut DocCache,
    desk: &dyn DeskState,
    event_id: &str,
    w: &EventWork,
    ledger_seq: i64,
    now: DateTime<Utc>,
) -> Result<Vec<ChangedDoc>, ServerError> {
    let quarantine_id = format!("event/{event_id}");
    tx.savepoint("mirror_event")?;
    let attempt = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        mirror_event(tx, docs, desk, event_id, w, now)
    }));
    let outcome = attempt
        .unwrap_or_else(|panic| Err(ServerError::Panicked(crate::db::panic_message(&panic))));
    match outcome {
        Ok(changed) => {
            tx.release_savepoint("mirror_event")?;
            quarantine::clear(tx, quarantine::Task::Mirror, &quarantine_id)?;
            Ok(changed)
        }
        Err(error) => {
            tx.undo_savepoint("mirror_event")?;
            docs.clear();
            if !quarantine::is_document_fault(&error) {
                return Err(error);
            }
            tracing::warn!(event = event_id, %error, "event set aside: its mirror failed");
            quarantine::record(
                tx,
                quarantine::Task::Mirror,
                &quarantine_id,
                ledger_seq,
                &error,
                now,
            )?;
            Ok(Vec::new())
        }
    }
}

/// Mirrors everything the desk holds of `event_id` — every allotted unit's status and
/// approved price, the queue, the mode and the buyer list — into its documents: for a venue
/// whose event and project documents arrived after its desk started (ADR 0021), when the
/// entries before them found nothing to write into.
pub(crate) fn mirror_whole_event(
    tx: &dyn Db,
    docs: &mut DocCache,
    desk: &dyn DeskState,
    event_id: &str,
    now: DateTime<Utc>,
) -> Result<Vec<ChangedDoc>, ServerError> {
    let mut work = EventWork::default();
    work.whole(desk, event_id)?;
    mirror_event(tx, docs, desk, event_id, &work, now)
}

fn meta(action: &str, now: DateTime<Utc>) -> EditMeta {
    EditMeta::new(&UserId::from(MIRROR_AUTHOR), now, action)
}

fn mirror_event(
    tx: &dyn Db,
    docs: &mut DocCache,
    desk: &dyn DeskState,
    event_id: &str,
    w: &EventWork,
    now: DateTime<Utc>,
) -> Result<Vec<ChangedDoc>, ServerError> {
    let Some(row) = desk.desk_event(event_id)? else { return Ok(Vec::new()) };
    let (project_id, mode, now_serving) = (row.project_id, row.mode, row.now_serving);
    let mut changed = Vec::new();

    let project_id = project_doc_id(&ProjectId::from(project_id.as_str()));
    if (!w.units.is_empty() || !w.prices.is_empty())
        && let Some(doc) = docs.get(tx, &project_id, false)?
    {
        let heads_before = doc.heads();
        for unit in &w.prices {
            if let Some(edit) = price_edit(desk, project_id.entity(), unit)? {
                edit_project(doc, &edit, &meta(edit.action(), now))?;
            }
        }
        let statuses = unit_statuses(desk, project_id.entity(), &w.units, &w.holds)?;
        if !statuses.is_empty() {
            let edit = ProjectEdit::MirrorUnitStatuses(statuses);
            edit_project(doc, &edit, &meta(edit.action(), now))?;
        }
        changed.extend(commit(tx, docs, &project_id, &heads_before, now)?);
    }

    let event_id_doc = event_doc_id(&EventId::from(event_id));
    if (w.queue || w.mode || w.buyers)
        && let Some(doc) = docs.get(tx, &event_id_doc, false)?
    {
        let heads_before = doc.heads();
        if w.queue {
            edit_event(
                doc,
                &EventEdit::SetNowServing(now_serving),
                &meta("event.set_now_serving", now),
            )?;
        }
        if w.mode {
            edit_event(doc, &EventEdit::SetMode(mode), &meta("event.set_mode", now))?;
        }
        if w.buyers {
            for buyer in desk.buyers(event_id)? {
                edit_event(doc, &EventEdit::UpsertBuyer(buyer), &meta("event.upsert_buyer", now))?;
            }
        }
        changed.extend(commit(tx, docs, &event_id_doc, &heads_before, now)?);
    }
    Ok(changed)
}

fn commit(
    tx: &dyn Db,
    docs: &mut DocCache,
    id: &kam_core::doc::DocId,
    heads_before: &[kam_core::doc::ChangeHash],
    now: DateTime<Utc>,
) -> Result<Option<ChangedDoc>, ServerError> {
    Ok(commit_doc(tx, docs, id, heads_before, now)?.map(|(seq, scope_key)| ChangedDoc {
        seq,
        doc_id: id.to_string(),
        scope_key,
    }))
}

/// Each unit's status with the hold it is about: the unit's hold now, or the latest hold the
/// batch's entries name (`named`), whichever was placed later. A unit with neither keeps the
/// hold its document already names: a status that changed without a hold (a hold ended in an
/// earlier batch, a sale) is still about the hold written with the status before it. A tablet
/// holding the desk's answer to a hold or a release tells by it whether the mirror has caught
/// up with that answer.
fn unit_statuses(
    desk: &dyn DeskState,
    project_id: &str,
    units: &BTreeSet<String>,
    named: &BTreeMap<String, String>,
) -> Result<Vec<(UnitId, UnitStatus, Option<String>)>, ServerError> {
    // One read for the batch's units (one round trip on PostgreSQL, not two per unit).
    let wanted: Vec<&str> = units.iter().map(String::as_str).collect();
    let found = desk.units_of(project_id, &wanted)?;
    Ok(found
        .into_iter()
        .map(|(unit, row)| {
            let hold = row.hold_id.max(named.get(&unit).cloned());
            (UnitId::from(unit), row.status, hold)
        })
        .collect())
}

fn price_edit(
    desk: &dyn DeskState,
    project_id: &str,
    unit: &str,
) -> Result<Option<ProjectEdit>, ServerError> {
    let Some(approval) = desk.approval(project_id, unit)? else { return Ok(None) };
    Ok(Some(ProjectEdit::ApprovePrice {
        unit_id: UnitId::from(unit),
        unit_price: approval.unit_price,
        approval: PriceApproval {
            approvers: approval.approvers.iter().map(|a| UserId::from(a.as_str())).collect(),
            approved_at: approval.approved_at,
        },
    }))
}

/// How long the mirror lets a burst of desk commits gather before writing the documents.
const SETTLE: Duration = Duration::from_millis(100);

/// After a full batch that took `t`, the mirror waits `PACE × t` before the next.
const PACE: u32 = 2;

/// How often the mirror looks for entries nobody told it about (an admin command).
const IDLE_POLL: Duration = Duration::from_secs(1);

/// Runs the mirror until the runtime stops: after each desk commit that wrote ledger entries,
/// mirror them and tell connected devices.
pub async fn run(state: Services) {
    let Some(desk) = state.desk.clone() else { return };
    let committed = desk.committed();
    let beat = state.health.beat("mirror");
    loop {
        let started = std::time::Instant::now();
        beat.tick();
        let done = {
            let _busy = beat.busy();
            state.with_store(|store| mirror_pending(store, Utc::now())).await
        };
        if done.is_err() {
            beat.failed();
        }
        match done {
            Ok(done) => {
                if !done.changed.is_empty() {
                    state.push.announce(&done.changed);
                    state.projector.wake();
                }
                if done.entries as i64 == BATCH_ENTRIES {
                    // A full batch: more is waiting. The pause keeps the mirror's share of
                    // the cores bounded, as the projector's is.
                    tokio::time::sleep(started.elapsed() * PACE).await;
                    continue;
                }
            }
            Err(error) => tracing::error!(%error, "desk mirror failed"),
        }
        if tokio::time::timeout(IDLE_POLL, committed.notified()).await.is_ok() {
            // Let a burst of commits land first: one mirror commit then carries them all.
            tokio::time::sleep(SETTLE).await;
        }
    }
}

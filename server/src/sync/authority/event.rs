//! A selection event: headquarters prepares it (name, start, project, allotted units, queue
//! mode); the desk's mirror writes its queue and buyer list; once its desk is open, the desk
//! owns its project, allotments and mode as well (it loaded them when it opened).

use std::collections::BTreeMap;

use kam_core::doc::{DocKind, Document, EventEdit, Touched, edit_event_batch, read_event};
use kam_core::model::{SelectionEvent, SelectionMode, UnitId};
use kam_core::rules::{DocPart, Write, WriteRule};

use super::compare::{Findings, check_entries};
use super::{Check, Violation};
use crate::error::ServerError;

/// Checks the parts of the event the merge touched against `before` (`None`: the merge
/// created it) and compensates what the author may not do, one server commit per part.
pub(super) fn enforce(
    doc: &mut Document,
    before: Option<&SelectionEvent>,
    desk_open: bool,
    touched: &Touched,
    check: &Check<'_>,
) -> Result<Vec<Violation>, ServerError> {
    let parts = touched.parts(DocKind::Event);
    if parts.iter().all(|p| *p == DocPart::Fixed) {
        return Ok(Vec::new());
    }
    let after = read_event(doc)?;
    let created;
    let before = match before {
        Some(b) => b,
        None => {
            created = as_created(&after);
            &created
        }
    };
    let judge = |part, write| check.judge(part, write, desk_open);
    let write = check.group_write();
    let mut mode = Findings::new();
    if before.mode != after.mode
        && let Err(rule) = judge(DocPart::Mode, write)
    {
        mode.refuse("/mode".into(), rule, &before.mode, &after.mode);
        mode.undo(EventEdit::SetMode(before.mode));
    }
    let mut queue = Findings::new();
    if before.now_serving != after.now_serving
        && let Err(rule) = judge(DocPart::Queue, write)
    {
        queue.refuse("/now_serving".into(), rule, &before.now_serving, &after.now_serving);
        queue.undo(EventEdit::SetNowServing(before.now_serving));
    }
    let buyers = check_entries(
        "/buyers",
        &before.buyers,
        &after.buyers,
        |write| judge(DocPart::Buyers, write),
        |id, authorised| match authorised {
            Some(buyer) => EventEdit::UpsertBuyer(buyer.clone()),
            None => EventEdit::RemoveBuyer(id.clone()),
        },
    );
    let mut found = Vec::new();
    for (findings, action) in [
        (check_details(before, &after, &judge, write), "authority.restore_event_details"),
        (check_allotments(before, &after, &judge), "authority.restore_allotments"),
        (mode, "authority.restore_mode"),
        (queue, "authority.restore_queue"),
        (buyers, "authority.restore_buyers"),
    ] {
        let meta = check.meta(action);
        findings.settle(&mut found, |edits| Ok(edit_event_batch(doc, edits, &meta)?))?;
    }
    Ok(found)
}

/// The event's project, name and start, restored together in one upsert of the details.
fn check_details(
    before: &SelectionEvent,
    after: &SelectionEvent,
    judge: &impl Fn(DocPart, Write) -> Result<(), WriteRule>,
    write: Write,
) -> Findings<EventEdit> {
    let mut details = Findings::new();
    let mut project_id = after.project_id.clone();
    if before.project_id != after.project_id
        && let Err(rule) = judge(DocPart::EventProject, write)
    {
        details.refuse("/project_id".into(), rule, &before.project_id, &after.project_id);
        project_id = before.project_id.clone();
    }
    let mut name = after.name.clone();
    if before.name != after.name
        && let Err(rule) = judge(DocPart::EventDetails, write)
    {
        details.refuse("/name".into(), rule, &before.name, &after.name);
        name = before.name.clone();
    }
    let mut starts_at = after.starts_at;
    if before.starts_at != after.starts_at
        && let Err(rule) = judge(DocPart::EventDetails, write)
    {
        details.refuse("/starts_at".into(), rule, &before.starts_at, &after.starts_at);
        starts_at = before.starts_at;
    }
    if (&project_id, &name, starts_at) != (&after.project_id, &after.name, after.starts_at) {
        details.undo(EventEdit::UpdateDetails { project_id, name, starts_at });
    }
    details
}

/// What an event the merge created is compared with: its own name, start and project (whoever
/// may create an event gives it those), the default queue mode, and nothing the desk writes.
fn as_created(after: &SelectionEvent) -> SelectionEvent {
    SelectionEvent {
        mode: SelectionMode::StrictOrder,
        allotted_units: Vec::new(),
        buyers: BTreeMap::new(),
        now_serving: None,
        ..after.clone()
    }
}

/// The allotted units, unit by unit.
fn check_allotments(
    before: &SelectionEvent,
    after: &SelectionEvent,
    judge: &impl Fn(DocPart, Write) -> Result<(), WriteRule>,
) -> Findings<EventEdit> {
    let allotted = |e: &SelectionEvent| -> BTreeMap<UnitId, bool> {
        e.allotted_units.iter().map(|u| (u.clone(), true)).collect()
    };
    check_entries(
        "/allotted_units",
        &allotted(before),
        &allotted(after),
        |write| judge(DocPart::Allotments, write),
        |id, authorised| match authorised {
            Some(_) => EventEdit::AllotUnits(vec![id.clone()]),
            None => EventEdit::WithdrawUnits(vec![id.clone()]),
        },
    )
}

#[cfg(test)]
#[path = "event_tests.rs"]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)]
mod tests;

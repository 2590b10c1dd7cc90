//! The `event/<id>` document: a selection event's allotted units and approved buyer list.
//!
//! Layout (schema 1):
//! ```text
//! { schema, kind: "event", id, project_id, name, starts_at, mode, now_serving,
//!   allotted_units: { "<unit id>": true },
//!   buyers: { "<buyer id>": { name, id_number_hash, id_number_masked, lottery_no } } }
//! ```
//! National ID numbers never enter the document in clear: only a salted hash and a masked
//! form. Queue, tickets and vouchers are added by the selection-event work.

use automerge::{ActorId, AutoCommit, ROOT};
use serde::{Deserialize, Serialize};

use super::codec::{MapReader, MapWriter, child_map, read_entries};
use super::document::{DocId, DocKind, Document, EditMeta};
use super::error::DocError;
use crate::bounds::LOTTERY_NO;
use crate::model::{Buyer, BuyerId, EventId, ProjectId, SelectionEvent, SelectionMode, UnitId};

/// One action on an event; each becomes exactly one commit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "edit", rename_all = "snake_case")]
pub enum EventEdit {
    /// Allot more units to the event.
    AllotUnits(Vec<UnitId>),
    /// Add a buyer to the approved list or change one.
    UpsertBuyer(Buyer),
    /// Change the queue mode.
    SetMode(SelectionMode),
    /// Mirror the number the desk has called (server only).
    SetNowServing(Option<u32>),
}

impl EventEdit {
    /// The stable action name recorded on the commit.
    pub fn action(&self) -> &'static str {
        match self {
            EventEdit::AllotUnits(_) => "event.allot_units",
            EventEdit::UpsertBuyer(_) => "event.upsert_buyer",
            EventEdit::SetMode(_) => "event.set_mode",
            EventEdit::SetNowServing(_) => "event.set_now_serving",
        }
    }
}

/// The document id of an event.
pub fn event_doc_id(id: &EventId) -> DocId {
    DocId::new(DocKind::Event, id.as_str())
}

/// Creates the document for `event` in one commit.
pub fn create_event(
    event: &SelectionEvent,
    actor: ActorId,
    meta: &EditMeta,
) -> Result<Document, DocError> {
    let mut doc = Document::create(event_doc_id(&event.id), actor)?;
    doc.commit_action(meta, |am| {
        child_map(am, &ROOT, "allotted_units")?;
        child_map(am, &ROOT, "buyers")?;
        let mut w = MapWriter::new(am, ROOT);
        w.str("project_id", event.project_id.as_str())?;
        w.str("name", &event.name)?;
        w.time("starts_at", event.starts_at)?;
        apply(am, &EventEdit::SetMode(event.mode))?;
        apply(am, &EventEdit::AllotUnits(event.allotted_units.clone()))?;
        for buyer in event.buyers.values() {
            apply(am, &EventEdit::UpsertBuyer(buyer.clone()))?;
        }
        Ok(())
    })?;
    Ok(doc)
}

/// Applies one action to an event document as one commit.
pub fn edit_event(doc: &mut Document, edit: &EventEdit, meta: &EditMeta) -> Result<(), DocError> {
    doc.check(DocKind::Event)?;
    doc.commit_action(meta, |am| apply(am, edit))?;
    Ok(())
}

fn apply(am: &mut AutoCommit, edit: &EventEdit) -> Result<(), DocError> {
    match edit {
        EventEdit::AllotUnits(units) => {
            let obj = child_map(am, &ROOT, "allotted_units")?;
            let mut w = MapWriter::new(am, obj);
            units.iter().try_for_each(|u| w.bool(u.as_str(), true))
        }
        EventEdit::UpsertBuyer(b) => {
            let parent = child_map(am, &ROOT, "buyers")?;
            let obj = child_map(am, &parent, b.id.as_str())?;
            let mut w = MapWriter::new(am, obj);
            w.str("name", &b.name)?;
            w.str("id_number_hash", &b.id_number_hash)?;
            w.str("id_number_masked", &b.id_number_masked)?;
            w.opt_bounded_int("lottery_no", b.lottery_no.map(i64::from), &LOTTERY_NO)
        }
        EventEdit::SetMode(mode) => MapWriter::new(am, ROOT).str("mode", mode.as_str()),
        EventEdit::SetNowServing(number) => MapWriter::new(am, ROOT).opt_bounded_int(
            "now_serving",
            number.map(i64::from),
            &LOTTERY_NO,
        ),
    }
}

/// Reads the whole event.
pub fn read_event(doc: &Document) -> Result<SelectionEvent, DocError> {
    let root = doc.check(DocKind::Event)?;
    Ok(SelectionEvent {
        id: EventId(root.str("id")?),
        project_id: ProjectId(root.str("project_id")?),
        name: root.str_or_empty("name")?,
        starts_at: root.time("starts_at")?,
        mode: root.opt_code("mode")?.unwrap_or(SelectionMode::StrictOrder),
        allotted_units: root
            .child("allotted_units")?
            .map(|m| m.keys().into_iter().map(UnitId).collect())
            .unwrap_or_default(),
        buyers: read_entries(&root, "buyers", read_buyer)?,
        now_serving: root
            .opt_bounded_int("now_serving", &LOTTERY_NO)?
            .and_then(|n| u32::try_from(n).ok()),
    })
}

fn read_buyer(id: &str, r: &MapReader<'_>) -> Result<Buyer, DocError> {
    Ok(Buyer {
        id: BuyerId(id.to_owned()),
        name: r.str_or_empty("name")?,
        id_number_hash: r.str_or_empty("id_number_hash")?,
        id_number_masked: r.str_or_empty("id_number_masked")?,
        lottery_no: r
            .opt_bounded_int("lottery_no", &LOTTERY_NO)?
            .and_then(|n| u32::try_from(n).ok()),
    })
}

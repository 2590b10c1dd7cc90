//! The `event/<id>` document: a selection event's allotted units and approved buyer list.
//!
//! Layout (schema 1):
//! ```text
//! { schema, kind: "event", id, project_id, name, starts_at, mode, now_serving,
//!   allotted_units: { "<unit id>": true },
//!   buyers: { "<buyer id>": { name, id_number_hash, id_number_masked, lottery_no } } }
//! ```
//! National ID numbers never enter the document in clear: only a salted hash and a masked
//! form. Queue, tickets and vouchers are added by the selection-event work. Headquarters
//! prepares the event; the queue and the buyer list are written by the selection desk's
//! mirror, and once the desk is open it owns the project, allotments and mode too
//! (`rules::write_permissions`).

use automerge::{ActorId, AutoCommit, ChangeHash, ROOT, ReadDoc};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::codec::{MapReader, MapWriter, child_map, read_entries};
use super::document::{DocId, DocKind, Document, EditMeta};
use super::error::DocError;
use crate::bounds::LOTTERY_NO;
use crate::model::{Buyer, BuyerId, EventId, ProjectId, SelectionEvent, SelectionMode, UnitId};
use crate::rules::DocPart;

/// The root keys of an event document and the part of the permission matrix each holds.
pub(super) const PARTS: [(&str, DocPart); 9] = [
    ("kind", DocPart::Fixed),
    ("id", DocPart::Fixed),
    ("name", DocPart::EventDetails),
    ("starts_at", DocPart::EventDetails),
    ("project_id", DocPart::EventProject),
    ("allotted_units", DocPart::Allotments),
    ("mode", DocPart::Mode),
    ("now_serving", DocPart::Queue),
    ("buyers", DocPart::Buyers),
];

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
    /// Change the event's project, name or start (only fields that differ are written).
    UpdateDetails {
        /// The project whose units are offered (fixed once the desk is open).
        project_id: ProjectId,
        /// Event name.
        name: String,
        /// When selection starts.
        starts_at: DateTime<Utc>,
    },
    /// Take units back out of the event (headquarters, before its desk opens).
    WithdrawUnits(Vec<UnitId>),
    /// Remove a buyer from the list (server only: the list is the desk's).
    RemoveBuyer(BuyerId),
}

impl EventEdit {
    /// The stable action name recorded on the commit.
    pub fn action(&self) -> &'static str {
        match self {
            EventEdit::AllotUnits(_) => "event.allot_units",
            EventEdit::UpsertBuyer(_) => "event.upsert_buyer",
            EventEdit::SetMode(_) => "event.set_mode",
            EventEdit::SetNowServing(_) => "event.set_now_serving",
            EventEdit::UpdateDetails { .. } => "event.update_details",
            EventEdit::WithdrawUnits(_) => "event.withdraw_units",
            EventEdit::RemoveBuyer(_) => "event.remove_buyer",
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
        apply(
            am,
            &EventEdit::UpdateDetails {
                project_id: event.project_id.clone(),
                name: event.name.clone(),
                starts_at: event.starts_at,
            },
        )?;
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
    edit_event_batch(doc, std::slice::from_ref(edit), meta)
}

/// Applies several edits as one commit (one action made of several writes, such as the
/// server restoring the buyer list a merge rewrote). If any edit fails, none is kept.
pub fn edit_event_batch(
    doc: &mut Document,
    edits: &[EventEdit],
    meta: &EditMeta,
) -> Result<(), DocError> {
    doc.check(DocKind::Event)?;
    let doc_id = doc.id().to_string();
    doc.commit_action(meta, |am| {
        edits.iter().try_for_each(|edit| match edit {
            EventEdit::RemoveBuyer(id) => remove_buyer(am, id, &doc_id),
            other => apply(am, other),
        })
    })?;
    Ok(())
}

fn remove_buyer(am: &mut AutoCommit, id: &BuyerId, doc_id: &str) -> Result<(), DocError> {
    let buyers = child_map(am, &ROOT, "buyers")?;
    if am.get(&buyers, id.as_str())?.is_none() {
        return Err(DocError::EntityNotFound {
            entity: "buyer",
            id: id.to_string(),
            doc_id: doc_id.to_owned(),
        });
    }
    MapWriter::new(am, buyers).delete(id.as_str())
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
        EventEdit::UpdateDetails { project_id, name, starts_at } => {
            let mut w = MapWriter::new(am, ROOT);
            w.str("project_id", project_id.as_str())?;
            w.str("name", name)?;
            w.time("starts_at", *starts_at)
        }
        EventEdit::WithdrawUnits(units) => {
            let obj = child_map(am, &ROOT, "allotted_units")?;
            let mut w = MapWriter::new(am, obj);
            units.iter().try_for_each(|u| w.delete(u.as_str()))
        }
        // Only in a batch, which removes the buyer itself (it must say which was missing).
        EventEdit::RemoveBuyer(_) => Ok(()),
    }
}

/// Reads the whole event.
pub fn read_event(doc: &Document) -> Result<SelectionEvent, DocError> {
    event(&doc.check(DocKind::Event)?)
}

/// Reads the whole event as it was at `heads`.
pub fn read_event_at(doc: &Document, heads: &[ChangeHash]) -> Result<SelectionEvent, DocError> {
    event(&doc.check_at(DocKind::Event, Some(heads))?)
}

fn event(root: &MapReader<'_>) -> Result<SelectionEvent, DocError> {
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
        buyers: read_entries(root, "buyers", read_buyer)?,
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic on a broken expectation.

    use chrono::TimeZone;

    use super::*;
    use crate::model::UserId;

    fn meta() -> EditMeta {
        EditMeta::new(
            &UserId::from("hq"),
            Utc.with_ymd_and_hms(2026, 11, 23, 1, 0, 0).unwrap(),
            "t",
        )
    }

    #[test]
    fn details_allotments_and_buyers_are_edited_and_read_as_of_earlier_heads() {
        let e = crate::demo::tiny_company(1, 4, 2).event;
        let mut doc = create_event(&e, ActorId::random(), &meta()).unwrap();
        let before = doc.heads();
        let buyer = e.buyers.keys().next().unwrap().clone();
        let edits = [
            EventEdit::UpdateDetails {
                project_id: ProjectId::from("p2"),
                name: "二期".into(),
                starts_at: e.starts_at,
            },
            EventEdit::WithdrawUnits(vec![e.allotted_units[0].clone()]),
            EventEdit::RemoveBuyer(buyer.clone()),
        ];
        let history = doc.history().len();
        edit_event_batch(&mut doc, &edits, &meta()).unwrap();
        assert_eq!(doc.history().len(), history + 1);
        let read = read_event(&doc).unwrap();
        assert_eq!((read.project_id.as_str(), read.name.as_str()), ("p2", "二期"));
        assert_eq!(read.allotted_units, e.allotted_units[1..].to_vec());
        assert!(!read.buyers.contains_key(&buyer));
        assert_eq!(read_event_at(&doc, &before).unwrap(), e);
        let missing = EventEdit::RemoveBuyer(buyer);
        assert!(edit_event(&mut doc, &missing, &meta()).is_err());
    }
}

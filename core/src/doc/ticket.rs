//! The `ticket/<id>` document: one service ticket with its status history and replies.
//!
//! Layout (schema 1):
//! ```text
//! { schema, kind: "ticket", id, customer_id, kind_of_request, priority, title, description,
//!   opened_at, opened_by, owner, status,
//!   history: { "<entry id>": { from, to, at, by, note } },
//!   replies: { "<entry id>": { at, by, body } },
//!   preventive_action: { description, verified_by, verified_at },
//!   follow_up: { at, by, satisfaction, notes } }
//! ```
//! `status` is a last-writer-wins field; `history` keeps every transition, so concurrent
//! transitions stay visible for the server's state-machine check. History entries and replies
//! are append-only (`rules::write_permissions`).

use automerge::{ActorId, AutoCommit, ChangeHash, ROOT, ReadDoc};
use serde::{Deserialize, Serialize};

use super::codec::{MapReader, MapWriter, child_map, read_entries};
use super::document::{DocId, DocKind, Document, EditMeta};
use super::error::DocError;
use crate::bounds::SATISFACTION;
use crate::model::{
    CustomerId, EntryId, FollowUp, PreventiveAction, Reply, ServiceTicket, StatusChange, TicketId,
    TicketPriority, TicketStatus, UserId,
};
use crate::rules::DocPart;

/// The root keys of a ticket document and the part of the permission matrix each holds.
pub(super) const PARTS: [(&str, DocPart); 15] = [
    ("kind", DocPart::Fixed),
    ("id", DocPart::Fixed),
    ("customer_id", DocPart::Fixed),
    ("kind_of_request", DocPart::Fixed),
    ("opened_at", DocPart::Fixed),
    ("opened_by", DocPart::Fixed),
    ("title", DocPart::TicketDetails),
    ("description", DocPart::TicketDetails),
    ("priority", DocPart::TicketDetails),
    ("owner", DocPart::TicketDetails),
    ("status", DocPart::StatusHistory),
    ("history", DocPart::StatusHistory),
    ("replies", DocPart::Replies),
    ("preventive_action", DocPart::ClosingEvidence),
    ("follow_up", DocPart::ClosingEvidence),
];

/// One user action on a ticket; each becomes exactly one commit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "edit", rename_all = "snake_case")]
pub enum TicketEdit {
    /// Change the summary, description, priority or owner.
    UpdateDetails {
        /// One-line summary.
        title: String,
        /// Description.
        description: String,
        /// Priority.
        priority: TicketPriority,
        /// Named service owner.
        owner: Option<UserId>,
    },
    /// Move to another status; the caller has checked the state machine.
    ChangeStatus(StatusChange),
    /// Add a reply to the customer.
    AddReply(Reply),
    /// Set or verify the preventive action.
    SetPreventiveAction(PreventiveAction),
    /// Record the follow-up call and satisfaction.
    RecordFollowUp(FollowUp),
    /// Put a recorded transition back as it was, leaving the status alone (server only: the
    /// history is append-only, and this restores an entry a device rewrote or removed).
    RestoreHistoryEntry(StatusChange),
    /// Take a reply back out (server only: for a reply added without authority).
    RemoveReply(EntryId),
}

impl TicketEdit {
    /// The stable action name recorded on the commit.
    pub fn action(&self) -> &'static str {
        match self {
            TicketEdit::UpdateDetails { .. } => "ticket.update_details",
            TicketEdit::ChangeStatus(_) => "ticket.change_status",
            TicketEdit::AddReply(_) => "ticket.add_reply",
            TicketEdit::SetPreventiveAction(_) => "ticket.set_preventive_action",
            TicketEdit::RecordFollowUp(_) => "ticket.record_follow_up",
            TicketEdit::RestoreHistoryEntry(_) => "ticket.restore_history_entry",
            TicketEdit::RemoveReply(_) => "ticket.remove_reply",
        }
    }
}

/// The document id of a ticket.
pub fn ticket_doc_id(id: &TicketId) -> DocId {
    DocId::new(DocKind::Ticket, id.as_str())
}

/// Creates the document for `ticket` in one commit.
pub fn create_ticket(
    ticket: &ServiceTicket,
    actor: ActorId,
    meta: &EditMeta,
) -> Result<Document, DocError> {
    let mut doc = Document::create(ticket_doc_id(&ticket.id), actor)?;
    doc.commit_action(meta, |am| {
        for name in ["history", "replies"] {
            child_map(am, &ROOT, name)?;
        }
        let mut w = MapWriter::new(am, ROOT);
        w.str("customer_id", ticket.customer_id.as_str())?;
        w.str("kind_of_request", ticket.kind.as_str())?;
        w.time("opened_at", ticket.opened_at)?;
        w.str("opened_by", ticket.opened_by.as_str())?;
        w.str("status", ticket.status.as_str())?;
        apply(
            am,
            &TicketEdit::UpdateDetails {
                title: ticket.title.clone(),
                description: ticket.description.clone(),
                priority: ticket.priority,
                owner: ticket.owner.clone(),
            },
        )?;
        for change in ticket.history.values() {
            apply(am, &TicketEdit::ChangeStatus(change.clone()))?;
        }
        for reply in ticket.replies.values() {
            apply(am, &TicketEdit::AddReply(reply.clone()))?;
        }
        if let Some(p) = &ticket.preventive_action {
            apply(am, &TicketEdit::SetPreventiveAction(p.clone()))?;
        }
        if let Some(f) = &ticket.follow_up {
            apply(am, &TicketEdit::RecordFollowUp(f.clone()))?;
        }
        Ok(())
    })?;
    Ok(doc)
}

/// Applies one user action to a ticket document as one commit.
pub fn edit_ticket(doc: &mut Document, edit: &TicketEdit, meta: &EditMeta) -> Result<(), DocError> {
    edit_ticket_batch(doc, std::slice::from_ref(edit), meta)
}

/// Applies several edits as one commit (one action made of several writes, such as the
/// server restoring the replies a merge rewrote). If any edit fails, none is kept.
pub fn edit_ticket_batch(
    doc: &mut Document,
    edits: &[TicketEdit],
    meta: &EditMeta,
) -> Result<(), DocError> {
    doc.check(DocKind::Ticket)?;
    let doc_id = doc.id().to_string();
    doc.commit_action(meta, |am| {
        edits.iter().try_for_each(|edit| match edit {
            TicketEdit::RemoveReply(id) => remove_reply(am, id, &doc_id),
            other => apply(am, other),
        })
    })?;
    Ok(())
}

fn remove_reply(am: &mut AutoCommit, id: &EntryId, doc_id: &str) -> Result<(), DocError> {
    let replies = child_map(am, &ROOT, "replies")?;
    if am.get(&replies, id.as_str())?.is_none() {
        return Err(DocError::EntityNotFound {
            entity: "reply",
            id: id.to_string(),
            doc_id: doc_id.to_owned(),
        });
    }
    MapWriter::new(am, replies).delete(id.as_str())
}

fn apply(am: &mut AutoCommit, edit: &TicketEdit) -> Result<(), DocError> {
    match edit {
        TicketEdit::UpdateDetails { title, description, priority, owner } => {
            let mut w = MapWriter::new(am, ROOT);
            w.str("title", title)?;
            w.str("description", description)?;
            w.str("priority", priority.as_str())?;
            w.opt_str("owner", owner.as_ref().map(UserId::as_str))
        }
        TicketEdit::ChangeStatus(change) => {
            MapWriter::new(am, ROOT).str("status", change.to.as_str())?;
            write_history_entry(am, change)
        }
        TicketEdit::RestoreHistoryEntry(change) => write_history_entry(am, change),
        TicketEdit::AddReply(reply) => {
            let entry = entry(am, "replies", reply.id.as_str())?;
            let mut w = MapWriter::new(am, entry);
            w.time("at", reply.at)?;
            w.str("by", reply.by.as_str())?;
            w.str("body", &reply.body)
        }
        TicketEdit::SetPreventiveAction(p) => {
            let obj = child_map(am, &ROOT, "preventive_action")?;
            let mut w = MapWriter::new(am, obj);
            w.str("description", &p.description)?;
            w.opt_str("verified_by", p.verified_by.as_ref().map(UserId::as_str))?;
            w.opt_time("verified_at", p.verified_at)
        }
        TicketEdit::RecordFollowUp(f) => {
            let obj = child_map(am, &ROOT, "follow_up")?;
            let mut w = MapWriter::new(am, obj);
            w.time("at", f.at)?;
            w.str("by", f.by.as_str())?;
            w.opt_bounded_int("satisfaction", Some(i64::from(f.satisfaction)), &SATISFACTION)?;
            w.str("notes", &f.notes)
        }
        // Only in a batch, which removes the reply itself (it must say which was missing).
        TicketEdit::RemoveReply(_) => Ok(()),
    }
}

fn write_history_entry(am: &mut AutoCommit, change: &StatusChange) -> Result<(), DocError> {
    let entry = entry(am, "history", change.id.as_str())?;
    let mut w = MapWriter::new(am, entry);
    w.str("from", change.from.as_str())?;
    w.str("to", change.to.as_str())?;
    w.time("at", change.at)?;
    w.str("by", change.by.as_str())?;
    w.str("note", &change.note)
}

fn entry(am: &mut AutoCommit, container: &str, id: &str) -> Result<automerge::ObjId, DocError> {
    let parent = child_map(am, &ROOT, container)?;
    child_map(am, &parent, id)
}

/// The root keys of a ticket document that hold its status and the transitions that led there.
pub const STATUS_ROOT_KEYS: [&str; 2] = ["status", "history"];

/// Reads the whole ticket.
pub fn read_ticket(doc: &Document) -> Result<ServiceTicket, DocError> {
    ticket(&doc.check(DocKind::Ticket)?)
}

/// Reads the whole ticket as it was at `heads`.
pub fn read_ticket_at(doc: &Document, heads: &[ChangeHash]) -> Result<ServiceTicket, DocError> {
    ticket(&doc.check_at(DocKind::Ticket, Some(heads))?)
}

fn ticket(root: &MapReader<'_>) -> Result<ServiceTicket, DocError> {
    Ok(ServiceTicket {
        id: TicketId(root.str("id")?),
        customer_id: CustomerId(root.str("customer_id")?),
        kind: root.code("kind_of_request")?,
        priority: root.opt_code("priority")?.unwrap_or(TicketPriority::Normal),
        title: root.str_or_empty("title")?,
        description: root.str_or_empty("description")?,
        opened_at: root.time("opened_at")?,
        opened_by: UserId(root.str_or_empty("opened_by")?),
        owner: root.opt_str("owner")?.map(UserId),
        status: root.opt_code("status")?.unwrap_or(TicketStatus::New),
        history: read_entries(root, "history", read_status_change)?,
        replies: read_entries(root, "replies", read_reply)?,
        preventive_action: root
            .child("preventive_action")?
            .map(|p| read_preventive(&p))
            .transpose()?,
        follow_up: root.child("follow_up")?.map(|f| read_follow_up(&f)).transpose()?,
    })
}

fn read_status_change(id: &str, r: &MapReader<'_>) -> Result<StatusChange, DocError> {
    Ok(StatusChange {
        id: EntryId(id.to_owned()),
        from: r.code("from")?,
        to: r.code("to")?,
        at: r.time("at")?,
        by: UserId(r.str_or_empty("by")?),
        note: r.str_or_empty("note")?,
    })
}

fn read_reply(id: &str, r: &MapReader<'_>) -> Result<Reply, DocError> {
    Ok(Reply {
        id: EntryId(id.to_owned()),
        at: r.time("at")?,
        by: UserId(r.str_or_empty("by")?),
        body: r.str_or_empty("body")?,
    })
}

fn read_preventive(r: &MapReader<'_>) -> Result<PreventiveAction, DocError> {
    Ok(PreventiveAction {
        description: r.str_or_empty("description")?,
        verified_by: r.opt_str("verified_by")?.map(UserId),
        verified_at: r.opt_time("verified_at")?,
    })
}

fn read_follow_up(r: &MapReader<'_>) -> Result<FollowUp, DocError> {
    Ok(FollowUp {
        at: r.time("at")?,
        by: UserId(r.str_or_empty("by")?),
        satisfaction: r
            .opt_bounded_int("satisfaction", &SATISFACTION)?
            .and_then(|s| u8::try_from(s).ok())
            .unwrap_or(0),
        notes: r.str_or_empty("notes")?,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic on a broken expectation.

    use automerge::ActorId;
    use chrono::{TimeZone, Utc};

    use super::*;

    fn meta() -> EditMeta {
        EditMeta::new(
            &UserId::from("rep"),
            Utc.with_ymd_and_hms(2026, 11, 23, 1, 0, 0).unwrap(),
            "t",
        )
    }

    #[test]
    fn a_history_entry_is_restored_without_moving_the_status_and_a_reply_removed() {
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0).unwrap();
        let mut t = crate::demo::tiny_company(3, 2, 1).tickets.remove(0);
        let entry = StatusChange {
            id: EntryId::new(),
            from: TicketStatus::New,
            to: TicketStatus::Closed,
            at: now,
            by: UserId::from("rep"),
            note: String::new(),
        };
        let reply =
            Reply { id: EntryId::new(), at: now, by: UserId::from("rep"), body: "x".into() };
        t.status = TicketStatus::InProgress;
        t.history.clear();
        t.replies.insert(reply.id.clone(), reply.clone());
        let mut doc = create_ticket(&t, ActorId::random(), &meta()).unwrap();
        let edits = [
            TicketEdit::RestoreHistoryEntry(entry.clone()),
            TicketEdit::RemoveReply(reply.id.clone()),
        ];
        edit_ticket_batch(&mut doc, &edits, &meta()).unwrap();
        let read = read_ticket(&doc).unwrap();
        assert_eq!(read.status, TicketStatus::InProgress, "the status is left alone");
        assert_eq!(read.history.get(&entry.id), Some(&entry));
        assert!(!read.replies.contains_key(&reply.id));
        let again = TicketEdit::RemoveReply(EntryId::from("no-such-reply"));
        assert!(matches!(
            edit_ticket(&mut doc, &again, &meta()),
            Err(DocError::EntityNotFound { entity: "reply", .. })
        ));
    }
}

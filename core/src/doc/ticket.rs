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
//! transitions stay visible for the server's state-machine check.

use automerge::{ActorId, AutoCommit, ChangeHash, ROOT};
use serde::{Deserialize, Serialize};

use super::codec::{MapReader, MapWriter, child_map, read_entries};
use super::document::{DocId, DocKind, Document, EditMeta};
use super::error::DocError;
use crate::bounds::SATISFACTION;
use crate::model::{
    CustomerId, EntryId, FollowUp, PreventiveAction, Reply, ServiceTicket, StatusChange, TicketId,
    TicketPriority, TicketStatus, UserId,
};

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
    doc.check(DocKind::Ticket)?;
    doc.commit_action(meta, |am| apply(am, edit))?;
    Ok(())
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
            let entry = entry(am, "history", change.id.as_str())?;
            let mut w = MapWriter::new(am, entry);
            w.str("from", change.from.as_str())?;
            w.str("to", change.to.as_str())?;
            w.time("at", change.at)?;
            w.str("by", change.by.as_str())?;
            w.str("note", &change.note)
        }
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
    }
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

//! A ticket: its status and the history of transitions (the state machine; entries are
//! append-only), its replies (append-only) and its closing evidence (never removed).
//!
//! Its details (title, description, priority, owner) are open to everyone who sees the ticket
//! (`rules::open_to_everyone`), so nothing about them is compared.

use std::collections::{BTreeMap, BTreeSet};

use kam_core::doc::{DocKind, Document, TicketEdit, Touched, edit_ticket_batch, read_ticket};
use kam_core::model::{EntryId, ServiceTicket, StatusChange, TicketStatus, UserId};
use kam_core::rules::{DocPart, Write, allowed_transitions};

use super::compare::{Findings, check_entries};
use super::{Check, SERVER_AUTHOR, Violation, violation};
use crate::error::ServerError;

/// The rule of a transition that is no edge of the state machine, or starts from a status
/// the ticket never had.
const TRANSITION_NOT_ALLOWED: &str = "ticket_transition_not_allowed";

/// The rule of a status no accepted transition leads to.
const STATUS_WITHOUT_TRANSITION: &str = "ticket_status_without_transition";

/// Checks the parts of the ticket the merge touched against `before` (`None`: the merge
/// opened the ticket, which must then start as a new ticket does) and compensates what the
/// author may not do, one server commit per part.
pub(super) fn enforce(
    doc: &mut Document,
    before: Option<&ServiceTicket>,
    touched: &Touched,
    check: &Check<'_>,
) -> Result<Vec<Violation>, ServerError> {
    let parts = touched.parts(DocKind::Ticket);
    let checked = [DocPart::StatusHistory, DocPart::Replies, DocPart::ClosingEvidence];
    if !checked.iter().any(|p| parts.contains(p)) {
        return Ok(Vec::new());
    }
    let after = read_ticket(doc)?;
    let opened;
    let before = match before {
        Some(b) => b,
        None => {
            opened = as_opened(&after);
            &opened
        }
    };
    let mut found = Vec::new();
    if parts.contains(&DocPart::StatusHistory) {
        enforce_status(doc, before, &after, check, &mut found)?;
    }
    if parts.contains(&DocPart::Replies) {
        let replies = check_entries(
            "/replies",
            &before.replies,
            &after.replies,
            |write| check.judge(DocPart::Replies, write, false),
            |id, authorised| match authorised {
                Some(reply) => TicketEdit::AddReply(reply.clone()),
                None => TicketEdit::RemoveReply(id.clone()),
            },
        );
        let meta = check.meta("authority.restore_replies");
        replies.settle(&mut found, |edits| Ok(edit_ticket_batch(doc, edits, &meta)?))?;
    }
    if parts.contains(&DocPart::ClosingEvidence) {
        enforce_evidence(doc, before, &after, check, &mut found)?;
    }
    Ok(found)
}

/// What a ticket opened by the merge is compared with: itself as just opened, status new,
/// with no transitions, replies or closing evidence yet.
fn as_opened(after: &ServiceTicket) -> ServiceTicket {
    ServiceTicket {
        status: TicketStatus::New,
        history: BTreeMap::new(),
        replies: BTreeMap::new(),
        preventive_action: None,
        follow_up: None,
        ..after.clone()
    }
}

/// The status and its history, one field group with one compensating commit.
///
/// Every transition the merge added must be an edge of the state machine starting from a
/// status the ticket really had, and the status must be where an accepted transition left
/// it; otherwise the status is restored by a server transition. Accepted entries are never
/// rewritten or removed: such an entry is put back. When the status itself had to be restored
/// without any added transition to blame, the rewritten entry is how it was forged, and that
/// one finding (`ticket_status_without_transition`) names it; otherwise each rewritten or
/// removed entry is a finding of its own.
fn enforce_status(
    doc: &mut Document,
    before: &ServiceTicket,
    after: &ServiceTicket,
    check: &Check<'_>,
    found: &mut Vec<Violation>,
) -> Result<(), ServerError> {
    let tampered: Vec<&StatusChange> = before
        .history
        .iter()
        .filter(|(id, entry)| after.history.get(*id) != Some(*entry))
        .map(|(_, entry)| entry)
        .collect();
    // The history as it stands once those entries are back.
    let mut history = after.history.clone();
    history.extend(tampered.iter().map(|e| (e.id.clone(), (*e).clone())));
    let known: BTreeSet<&EntryId> = before.history.keys().collect();
    let (mut findings, restore) = judge_transitions(before.status, after.status, &history, &known);
    let forged = findings.iter().any(|v| v.rule == STATUS_WITHOUT_TRANSITION);
    let mut edits: Vec<TicketEdit> = Vec::new();
    for entry in &tampered {
        let write =
            if after.history.contains_key(&entry.id) { Write::Change } else { Write::Remove };
        let Err(rule) = check.judge(DocPart::StatusHistory, write, false) else { continue };
        if !forged {
            let field = format!("/history/{}", entry.id);
            findings.push(violation(
                &field,
                rule.code(),
                &Some(*entry),
                &after.history.get(&entry.id),
            ));
        }
        edits.push(TicketEdit::RestoreHistoryEntry((*entry).clone()));
    }
    let action = if restore { "authority.restore_status" } else { "authority.restore_history" };
    let meta = check.meta(action);
    if restore {
        edits.push(TicketEdit::ChangeStatus(StatusChange {
            id: EntryId::new(),
            from: after.status,
            to: before.status,
            at: meta.at,
            by: UserId::from(SERVER_AUTHOR),
            note: "restored by the server: the previous transition is not allowed".into(),
        }));
    }
    if !edits.is_empty() {
        edit_ticket_batch(doc, &edits, &meta)?;
    }
    found.append(&mut findings);
    Ok(())
}

/// Judges the transitions in `history` that are not `known`, and whether the status `after`
/// must go back to `before`. Returns the findings and that verdict.
fn judge_transitions(
    before: TicketStatus,
    after: TicketStatus,
    history: &BTreeMap<EntryId, StatusChange>,
    known: &BTreeSet<&EntryId>,
) -> (Vec<Violation>, bool) {
    let added: Vec<&StatusChange> =
        history.iter().filter(|(id, _)| !known.contains(id)).map(|(_, c)| c).collect();
    // A transition may only start from a status the ticket really had: the status before the
    // merge, or one some recorded transition led to (concurrent offline devices may each start
    // from an older status). This refuses a forged `from`, e.g. "reopened -> in progress" on a
    // closed ticket that was never reopened.
    let had: Vec<TicketStatus> = std::iter::once(before)
        .chain(std::iter::once(TicketStatus::New))
        .chain(history.values().map(|c| c.to))
        .collect();
    let invalid: Vec<&StatusChange> = added
        .iter()
        .copied()
        .filter(|c| {
            c.by.as_str() != SERVER_AUTHOR
                && (!allowed_transitions(c.from).contains(&c.to) || !had.contains(&c.from))
        })
        .collect();
    let reachable = added.iter().any(|c| c.to == after && !invalid.contains(c));
    let mut found: Vec<Violation> = invalid
        .iter()
        .map(|c| violation("/status", TRANSITION_NOT_ALLOWED, &c.from, &c.to))
        .collect();
    if after == before {
        return (found, false);
    }
    if !reachable && found.is_empty() {
        found.push(violation("/status", STATUS_WITHOUT_TRANSITION, &before, &after));
    }
    let restore = !reachable || !invalid.is_empty();
    (found, restore)
}

/// A verified preventive action and the follow-up call, once recorded, stay: closing a
/// ticket rests on them. Recording or changing them is open to everyone who sees the ticket.
fn enforce_evidence(
    doc: &mut Document,
    before: &ServiceTicket,
    after: &ServiceTicket,
    check: &Check<'_>,
    found: &mut Vec<Violation>,
) -> Result<(), ServerError> {
    let mut evidence = Findings::new();
    let removed = check.judge(DocPart::ClosingEvidence, Write::Remove, false).err();
    if let (Some(authorised), None, Some(rule)) =
        (&before.preventive_action, &after.preventive_action, removed)
    {
        evidence.refuse("/preventive_action".into(), rule, &before.preventive_action, &None);
        evidence.undo(TicketEdit::SetPreventiveAction(authorised.clone()));
    }
    if let (Some(authorised), None, Some(rule)) = (&before.follow_up, &after.follow_up, removed) {
        evidence.refuse("/follow_up".into(), rule, &before.follow_up, &None);
        evidence.undo(TicketEdit::RecordFollowUp(authorised.clone()));
    }
    let meta = check.meta("authority.restore_closing_evidence");
    evidence.settle(found, |edits| Ok(edit_ticket_batch(doc, edits, &meta)?))
}

#[cfg(test)]
#[path = "ticket_tests.rs"]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)]
mod tests;

//! A ticket's status along its state machine, and its append-only replies, history and
//! closing evidence.

use automerge::transaction::Transactable;
use chrono::Duration;
use kam_core::doc::{ActorId, Document, TicketEdit, create_ticket, read_ticket};
use kam_core::model::{Reply, ServiceTicket, StatusChange, TicketStatus};
use serde_json::{Value, json};

use crate::auth::Role;
use crate::sync::authority::test_support::{
    Case, Expect, created, data, held, json, later, meta, now, reply, root_map, run, server_ticket,
    tamper, ticket, ticket_with_evidence, writes,
};
use crate::sync::authority::{SERVER_AUTHOR, Violation};

use TicketStatus::{Closed, InProgress, New, Reopened, Resolved};

const REP: (&str, Role) = ("rep-01", Role::Rep);

/// The device changes the ticket's status, as `rep-01`'s tablet.
fn status_change(change: StatusChange) -> TicketEdit {
    TicketEdit::ChangeStatus(change)
}

fn change(from: TicketStatus, to: TicketStatus) -> TicketEdit {
    status_change(crate::sync::authority::test_support::change(from, to, "rep-01"))
}

/// Checks the server's restoring entry: from `from` back to `to`, by the server, now.
fn assert_restored(server: &Document, known: &ServiceTicket, from: TicketStatus, to: TicketStatus) {
    let after = read_ticket(server).unwrap();
    assert_eq!(after.status, to, "status restored");
    let restores: Vec<&StatusChange> =
        after.history.values().filter(|c| c.by.as_str() == SERVER_AUTHOR).collect();
    assert_eq!(restores.len(), 1, "one server-authored history entry: {:?}", after.history);
    assert_eq!((restores[0].from, restores[0].to, restores[0].at), (from, to, later()));
    assert!(!known.history.contains_key(&restores[0].id));
}

#[test]
fn a_tickets_status_moves_only_along_the_state_machine() {
    let data = data();
    let tickets = [New, InProgress, Closed].map(|s| ticket(&data, s));
    let [new, in_progress, closed] = &tickets;
    let start = crate::sync::authority::test_support::change(New, InProgress, "rep-01");
    // A tampered tablet rewrites the accepted New → InProgress entry to claim New → Closed.
    let accepted = in_progress.history.values().next().unwrap().clone();
    let not_allowed = "ticket_transition_not_allowed";
    let cases = vec![
        Case::new(
            "a valid ticket transition is accepted",
            REP,
            writes(vec![status_change(start.clone())]),
            Expect::Kept,
        )
        .then(move |o| {
            let after = read_ticket(&o.server).unwrap();
            assert_eq!(after.status, InProgress);
            assert_eq!(after.history.get(&start.id), Some(&start));
        }),
        Case::new(
            "two valid transitions in one offline batch are accepted",
            REP,
            writes(vec![change(New, InProgress), change(InProgress, Resolved)]),
            Expect::Kept,
        )
        .actions(&[])
        .then(|o| {
            let after = read_ticket(&o.server).unwrap();
            assert_eq!(after.status, Resolved);
            assert_eq!(after.history.len(), 2);
        }),
        Case::new(
            "reopening a closed ticket without reopen is restored",
            REP,
            writes(vec![change(Closed, InProgress)]),
            Expect::Exactly(vec![Violation {
                field: "/status".into(),
                rule: not_allowed,
                old_value: json!("closed"),
                new_value: json!("in_progress"),
            }]),
        )
        .on(held(|| server_ticket(closed)))
        .actions(&["authority.restore_status"])
        .then(|o| {
            assert_restored(&o.server, closed, InProgress, Closed);
            assert_eq!(read_ticket(&o.device).unwrap().status, Closed);
        }),
        // "Reopened -> InProgress" is an edge of the state machine, but this ticket was never
        // reopened: the entry lies about where it started.
        Case::new(
            "a transition forging its starting status is restored",
            REP,
            writes(vec![change(Reopened, InProgress)]),
            Expect::Rules(vec![not_allowed]),
        )
        .on(held(|| server_ticket(closed)))
        .then(|o| assert_restored(&o.server, closed, InProgress, Closed)),
        Case::new(
            "closing a new ticket directly is restored",
            REP,
            writes(vec![change(New, Closed)]),
            Expect::Rules(vec![not_allowed]),
        )
        .then(|o| {
            let values = (&o.found[0].old_value, &o.found[0].new_value);
            assert_eq!(values, (&json!("new"), &json!("closed")));
            assert_restored(&o.server, new, Closed, New);
        }),
        Case::new(
            "a batch passing through a forbidden edge is restored even if it ends on a valid one",
            REP,
            writes(vec![change(New, Closed), change(Closed, Reopened)]),
            Expect::Rules(vec![not_allowed]),
        )
        .then(|o| {
            let rules: Vec<(&str, &Value, &Value)> =
                o.found.iter().map(|v| (v.rule, &v.old_value, &v.new_value)).collect();
            assert_eq!(rules, vec![(not_allowed, &json!("new"), &json!("closed"))]);
            assert_restored(&o.server, new, Reopened, New);
        }),
        Case::new(
            "a status written over an accepted history entry is restored",
            REP,
            writes(vec![status_change(StatusChange { to: Closed, ..accepted })]),
            Expect::Exactly(vec![Violation {
                field: "/status".into(),
                rule: "ticket_status_without_transition",
                old_value: json!("in_progress"),
                new_value: json!("closed"),
            }]),
        )
        .on(held(|| server_ticket(in_progress)))
        .then(|o| assert_restored(&o.server, in_progress, Closed, InProgress)),
    ];
    run(cases, &held(|| server_ticket(new)));
}

#[test]
fn a_ticket_opened_on_a_device_starts_as_a_new_ticket() {
    let data = data();
    let mut t = data.tickets[0].clone();
    t.status = New;
    t.history.clear();
    let t = &t;
    let cases = vec![
        // A tampered tablet opens the ticket and closes it in the same breath.
        Case::new(
            "a ticket opened and closed at once",
            REP,
            writes(vec![change(New, Closed)]),
            Expect::Rules(vec!["ticket_transition_not_allowed"]),
        )
        .then(|o| assert_eq!(read_ticket(&o.server).unwrap().status, New)),
        Case::new(
            "a valid new ticket: no compensating commit",
            REP,
            writes(vec![change(New, InProgress)]),
            Expect::Kept,
        ),
    ];
    run(cases, &created(|user| create_ticket(t, ActorId::random(), &meta(user, "open")).unwrap()));
}

#[test]
fn replies_are_added_by_anyone_and_never_changed_or_removed() {
    let data = data();
    let (t, first) = ticket_with_evidence(&data);
    let rewritten =
        Reply { body: "今天已解决".into(), at: now() - Duration::hours(30), ..first.clone() };
    let first = &first;
    let mut cases = Vec::new();
    for (user, role) in [("rep-01", Role::Rep), ("hq", Role::Hq), ("admin", Role::Admin)] {
        for (what, edit, new_value) in [
            ("rewrites", TicketEdit::AddReply(rewritten.clone()), json(&rewritten)),
            ("removes", TicketEdit::RemoveReply(first.id.clone()), Value::Null),
        ] {
            let added = reply(user, "跟进中");
            let restored = Violation {
                field: format!("/replies/{}", first.id),
                rule: "reply_append_only",
                old_value: json(first),
                new_value,
            };
            let edits = writes(vec![TicketEdit::AddReply(added.clone()), edit]);
            let name = format!("{user} adds a reply and {what} one");
            cases.push(
                Case::new(name, (user, role), edits, Expect::Exactly(vec![restored]))
                    .actions(&["authority.restore_replies"])
                    .then(move |o| {
                        let replies = read_ticket(&o.server).unwrap().replies;
                        assert_eq!(&replies[&first.id], first, "the SLA evidence is back");
                        assert_eq!(replies[&added.id], added, "the new reply stays");
                    }),
            );
        }
    }
    run(cases, &held(|| server_ticket(&t)));
}

#[test]
fn the_status_history_and_closing_evidence_are_never_removed() {
    let data = data();
    let resolved = ticket(&data, Resolved);
    let entry = resolved.history.values().next().unwrap().clone();
    let rewritten =
        StatusChange { note: "客户撤回投诉".into(), at: later(), ..entry.clone() };
    let (with_evidence, _) = ticket_with_evidence(&data);
    let (resolved, entry, with_evidence) = (&resolved, &entry, &with_evidence);
    let history_restored = |new_value: Value| {
        Expect::Exactly(vec![Violation {
            field: format!("/history/{}", entry.id),
            rule: "status_history_append_only",
            old_value: json(entry),
            new_value,
        }])
    };
    let history_back = move |o: &mut crate::sync::authority::test_support::Outcome| {
        let after = read_ticket(&o.server).unwrap();
        assert_eq!((after.status, &after.history), (Resolved, &resolved.history));
    };
    let cases = vec![
        Case::new(
            "a status history entry rewritten is put back",
            REP,
            writes(vec![TicketEdit::RestoreHistoryEntry(rewritten.clone())]),
            history_restored(json(&rewritten)),
        )
        .actions(&["authority.restore_history"])
        .then(history_back),
        Case::new(
            "a status history entry deleted is put back",
            REP,
            move |device: &mut Document, _: &str| {
                tamper(device, |am| {
                    let history = root_map(am, "history");
                    am.delete(&history, entry.id.as_str()).unwrap();
                });
            },
            history_restored(Value::Null),
        )
        .actions(&["authority.restore_history"])
        .then(history_back),
        Case::new(
            "closing evidence once recorded is never removed",
            ("hq", Role::Hq),
            |device: &mut Document, _: &str| {
                tamper(device, |am| {
                    am.delete(automerge::ROOT, "follow_up").unwrap();
                    am.delete(automerge::ROOT, "preventive_action").unwrap();
                });
            },
            Expect::Fields(vec![
                ("/preventive_action".into(), "closing_evidence_kept"),
                ("/follow_up".into(), "closing_evidence_kept"),
            ]),
        )
        .on(held(|| server_ticket(with_evidence)))
        .then(move |o| {
            let after = read_ticket(&o.server).unwrap();
            assert_eq!(
                (&after.preventive_action, &after.follow_up),
                (&with_evidence.preventive_action, &with_evidence.follow_up)
            );
        }),
    ];
    run(cases, &held(|| server_ticket(resolved)));
}

//! What the authority does for every kind of document: which merges it checks at all, the
//! fields fixed at a document's creation, a second round, and recording what it found.

use automerge::transaction::Transactable;
use kam_core::doc::{
    ActorId, ChangeHash, CustomerEdit, Document, TicketEdit, create_customer, customer_doc_id,
    read_customer, read_ticket,
};
use kam_core::model::{CreditTerms, CustomerId, CustomerProfile, FollowUp, TicketStatus};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::test_support::{
    Case, CaseName, Edit, Expect, assert_settled, change, created, customer, data, device_copy,
    held, later, merge_and_enforce, merge_touches_guarded, meta, no_edit, reply, run,
    server_customer, server_ticket, tamper, ticket, ticket_with_evidence, touches_guarded, who,
    writes,
};
use super::{Violation, record, violation};
use crate::auth::Role;

/// One row of the table of what needs checking: `rep-01`'s device (or `user`'s) edits a
/// copy of `server`, and the merge is `checked` or not.
struct Touch {
    name: String,
    server: Document,
    user: &'static str,
    edit: Edit<'static>,
    checked: bool,
    then: Box<dyn Fn(&Document)>,
}

fn touch(
    name: impl Into<String>,
    server: Document,
    edit: impl Fn(&mut Document, &str) + 'static,
    checked: bool,
) -> Touch {
    let then = Box::new(|_: &Document| {});
    Touch { name: name.into(), server, user: "rep-01", edit: Box::new(edit), checked, then }
}

/// Only a merge that wrote something the matrix does not leave open to everyone is checked;
/// the common case (a profile edit, a new reply) is not read twice.
#[test]
fn only_a_merge_touching_a_guarded_key_is_checked() {
    let data = data();
    let c = customer(&data);
    let notes = CustomerProfile { notes: "复核账期".into(), ..c.profile.clone() };
    let raised = CreditTerms { credit_limit: Decimal::from(900_000), ..c.credit.clone() };
    let t = ticket(&data, TicketStatus::New);
    let started = change(TicketStatus::New, TicketStatus::InProgress, "rep-01");
    let (evidenced, _) = ticket_with_evidence(&data);
    let follow_up = FollowUp { satisfaction: 60, ..evidenced.follow_up.clone().unwrap() };
    let recorded = follow_up.clone();
    let visit = c.visits.keys().next().unwrap().clone();
    let mut rows = vec![
        touch(
            "a profile edit",
            server_customer(&c),
            writes(vec![CustomerEdit::UpdateProfile(notes)]),
            false,
        ),
        touch(
            "a credit edit",
            server_customer(&c),
            writes(vec![CustomerEdit::SetCredit(raised)]),
            true,
        ),
        touch(
            "a reply",
            server_ticket(&t),
            writes(vec![TicketEdit::AddReply(reply("rep-01", "已收到"))]),
            false,
        ),
        touch(
            "a transition",
            server_ticket(&t),
            writes(vec![TicketEdit::ChangeStatus(started)]),
            true,
        ),
        Touch {
            then: Box::new(move |server: &Document| {
                assert_eq!(read_ticket(server).unwrap().follow_up, Some(recorded.clone()));
            }),
            ..touch(
                "a changed follow-up: closing evidence is open to everyone but its removal",
                server_ticket(&evidenced),
                writes(vec![TicketEdit::RecordFollowUp(follow_up)]),
                false,
            )
        },
    ];
    for user in ["rep-01", "fin", "hq", "admin"] {
        let remove = writes(vec![CustomerEdit::RemoveVisit(visit.clone())]);
        let name = format!("a visit removed by {user}");
        rows.push(Touch { user, ..touch(name, server_customer(&c), remove, true) });
    }
    for mut row in rows {
        let _name = CaseName(&row.name);
        let mut device = device_copy(&mut row.server);
        (row.edit)(&mut device, row.user);
        assert_eq!(merge_touches_guarded(&mut row.server, &mut device), row.checked);
        (row.then)(&row.server);
    }
}

#[test]
fn unknown_heads_check_everything() {
    let data = data();
    let mut server = server_customer(&customer(&data));
    let unknown = [ChangeHash([9; 32])];
    assert!(touches_guarded(&mut server, &unknown), "unknown heads: check everything");
}

#[test]
fn the_fields_a_document_fixed_at_its_creation_are_restored() {
    let data = data();
    let c = customer(&data);
    let t = ticket(&data, TicketStatus::New);
    let elsewhere = CustomerId::from("another-customer");
    let (c, t, elsewhere_) = (&c, &t, &elsewhere);
    let fixed = "fixed_at_creation";
    let cases = vec![
        Case::new(
            "a customer's id and creation time",
            ("rep-01", Role::Rep),
            |device: &mut Document, _: &str| {
                tamper(device, |am| {
                    am.put(automerge::ROOT, "id", "someone-else").unwrap();
                    am.put(automerge::ROOT, "created_at", "2026-11-22T00:00:00Z").unwrap();
                });
            },
            Expect::Fields(vec![("/id".into(), fixed), ("/created_at".into(), fixed)]),
        )
        .actions(&["authority.restore_fixed"])
        .then(move |o| {
            let written: Vec<&Value> = o.found.iter().map(|v| &v.new_value).collect();
            assert_eq!(written, [&json!("someone-else"), &json!("2026-11-22T00:00:00Z")]);
            let after = read_customer(&o.server).unwrap();
            assert_eq!((after.id, after.created_at), (c.id.clone(), c.created_at));
        }),
        Case::new(
            "a new document whose content names another id is put at its address",
            ("hq", Role::Hq),
            no_edit,
            Expect::Exactly(vec![Violation {
                field: "/id".into(),
                rule: fixed,
                old_value: json!("another-customer"),
                new_value: json!(c.id.as_str()),
            }]),
        )
        .on(created(move |user| {
            let made = create_customer(c, ActorId::random(), &meta(user, "create")).unwrap().save();
            Document::load(customer_doc_id(elsewhere_), &made, ActorId::random()).unwrap()
        }))
        .then(move |o| assert_eq!(&read_customer(&o.server).unwrap().id, elsewhere_)),
        Case::new(
            "a ticket's customer and opening",
            ("rep-01", Role::Rep),
            |device: &mut Document, _: &str| {
                tamper(device, |am| {
                    am.put(automerge::ROOT, "customer_id", "a-customer-of-rep-02").unwrap();
                    am.put(automerge::ROOT, "opened_at", "2026-11-23T00:59:00Z").unwrap();
                });
            },
            Expect::Fields(vec![("/customer_id".into(), fixed), ("/opened_at".into(), fixed)]),
        )
        .on(held(move || server_ticket(t)))
        .then(move |o| {
            let after = read_ticket(&o.server).unwrap();
            assert_eq!((&after.customer_id, after.opened_at), (&t.customer_id, t.opened_at));
        }),
    ];
    run(cases, &held(move || server_customer(c)));
}

#[test]
fn enforcing_twice_is_idempotent() {
    let data = data();
    let c = customer(&data);
    let mut server = server_customer(&c);
    let mut device = device_copy(&mut server);
    let raised = CreditTerms { credit_limit: Decimal::from(1), ..c.credit.clone() };
    writes(vec![CustomerEdit::SetCredit(raised)])(&mut device, "rep-01");
    let rep = who("rep-01", Role::Rep);
    assert_eq!(merge_and_enforce(&mut server, &mut device, &rep).len(), 1);
    let heads = server.heads();
    let history = server.history().len();
    // The same device syncs again with nothing new.
    assert_eq!(merge_and_enforce(&mut server, &mut device, &rep), Vec::new());
    assert_eq!(server.heads(), heads);
    assert_eq!(server.history().len(), history);
    assert_eq!(read_customer(&server).unwrap().credit, c.credit);
    assert_settled(&mut server, &rep);
}

#[test]
fn recorded_violations_are_stored_and_audited() {
    let mut conn = rusqlite::Connection::open_in_memory().unwrap();
    crate::db::sqlite::schema::prepare(&conn).unwrap();
    crate::db::sqlite::schema::migrate(&mut conn).unwrap();
    let rep = who("rep-01", Role::Rep);
    let found = vec![violation("/credit", "credit_finance_hq_only", &json!(1), &json!(2))];
    record(&conn, &rep, "customer/c1", &found, later()).unwrap();
    let row: (String, String, String, String, String, String) = conn
        .query_row(
            "SELECT user_id, device_id, doc_id, rule, old_value, new_value FROM violations",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
        )
        .unwrap();
    assert_eq!(
        row,
        (
            "rep-01".into(),
            "dev-rep-01".into(),
            "customer/c1".into(),
            "credit_finance_hq_only".into(),
            "1".into(),
            "2".into()
        )
    );
    let audited: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'authority.compensate'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(audited, 1);
}

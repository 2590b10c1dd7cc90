//! What a device adds to and removes from a customer's and a ticket's collections, and the
//! fields fixed at a document's creation.

use automerge::transaction::Transactable;
use chrono::NaiveDate;
use kam_core::doc::{CustomerEdit, TicketEdit, edit_customer, edit_ticket, read_ticket};
use kam_core::model::{
    Contact, ContactId, FollowUp, LatePayment, LatePaymentId, PreventiveAction, Reply, VisitId,
    VisitLevel, VisitRecord,
};

use super::*;

fn late_payment(reference: &str) -> LatePayment {
    LatePayment {
        id: LatePaymentId::new(),
        reference: reference.into(),
        due_on: NaiveDate::from_ymd_opt(2026, 9, 30).unwrap(),
        paid_on: None,
    }
}

fn visit(by: &str) -> VisitRecord {
    VisitRecord {
        id: VisitId::new(),
        level: VisitLevel::AccountManager,
        date: NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
        visitor: UserId::from(by),
        topics: vec!["年度框架协议".into()],
        personnel_changes: String::new(),
        problems: String::new(),
        demand: "二季度扩产".into(),
        competitor_activity: String::new(),
    }
}

/// The fixture customer with one late payment recorded by finance.
fn customer_with_late_payment(data: &DemoData) -> (Customer, LatePayment) {
    let mut c = customer(data);
    let late = late_payment("INV-2026-0917");
    c.late_payments.insert(late.id.clone(), late.clone());
    (c, late)
}

fn first_visit(c: &Customer) -> VisitRecord {
    c.visits.values().next().unwrap().clone()
}

fn first_contact(c: &Customer) -> Contact {
    c.contacts.values().next().unwrap().clone()
}

// --- late payments and annual sales -------------------------------------------------------

#[test]
fn a_late_payment_a_rep_records_is_taken_back_and_one_finance_records_is_kept() {
    let data = data();
    let c = customer(&data);
    let late = late_payment("INV-2026-1001");

    let mut server = server_customer(&c);
    let mut device = device_copy(&mut server);
    edit_as(&mut device, "rep-01", &CustomerEdit::UpsertLatePayment(late.clone()));
    let rep = who("rep-01", Role::Rep);
    let found = merge_and_enforce(&mut server, &mut device, &rep);
    assert_eq!(
        found,
        vec![Violation {
            field: format!("/late_payments/{}", late.id),
            rule: "late_payments_finance_hq_only",
            old_value: Value::Null,
            new_value: json(&late),
        }]
    );
    assert!(read_customer(&server).unwrap().late_payments.is_empty());
    assert_eq!(server_actions(&mut server), vec!["authority.restore_late_payments".to_owned()]);
    assert_settled(&mut server, &rep);
    device.merge(&mut server).unwrap();
    assert!(read_customer(&device).unwrap().late_payments.is_empty(), "the device learns");

    let mut server = server_customer(&c);
    let mut device = device_copy(&mut server);
    edit_as(&mut device, "fin", &CustomerEdit::UpsertLatePayment(late.clone()));
    let found = merge_and_enforce(&mut server, &mut device, &who("fin", Role::Finance));
    assert_eq!(found, Vec::new());
    assert_eq!(read_customer(&server).unwrap().late_payments[&late.id], late);
    assert_eq!(server.heads(), device.heads(), "no compensating commit");
}

#[test]
fn a_late_payment_a_rep_settles_or_removes_is_restored_and_finance_may_remove_it() {
    let data = data();
    let (c, late) = customer_with_late_payment(&data);
    let paid = LatePayment { paid_on: NaiveDate::from_ymd_opt(2026, 10, 8), ..late.clone() };
    for edit in [
        CustomerEdit::UpsertLatePayment(paid.clone()),
        CustomerEdit::RemoveLatePayment(late.id.clone()),
    ] {
        let mut server = server_customer(&c);
        let mut device = device_copy(&mut server);
        edit_as(&mut device, "rep-01", &edit);
        let rep = who("rep-01", Role::Rep);
        let found = merge_and_enforce(&mut server, &mut device, &rep);
        assert_eq!(found.len(), 1, "{edit:?}: {found:?}");
        assert_eq!(found[0].rule, "late_payments_finance_hq_only");
        assert_eq!(found[0].old_value, json(&late));
        assert_eq!(read_customer(&server).unwrap().late_payments, c.late_payments, "{edit:?}");
        assert_settled(&mut server, &rep);
    }

    let mut server = server_customer(&c);
    let mut device = device_copy(&mut server);
    edit_as(&mut device, "fin", &CustomerEdit::RemoveLatePayment(late.id.clone()));
    let found = merge_and_enforce(&mut server, &mut device, &who("fin", Role::Finance));
    assert_eq!(found, Vec::new());
    assert!(read_customer(&server).unwrap().late_payments.is_empty());
}

#[test]
fn annual_sales_a_rep_adds_changes_or_removes_are_restored_in_one_commit() {
    let data = data();
    let c = customer(&data);
    let years: Vec<i32> = c.annual_sales.keys().copied().collect();
    assert_eq!(years.len(), 2, "the fixture has two years of sales");
    let mut server = server_customer(&c);
    let mut device = device_copy(&mut server);
    let rep_meta = meta("rep-01", "edit");
    for edit in [
        CustomerEdit::RemoveAnnualSales { year: years[0] },
        CustomerEdit::SetAnnualSales { year: years[1], amount: Decimal::from(99_000_000) },
        CustomerEdit::SetAnnualSales { year: years[1] + 1, amount: Decimal::from(1) },
    ] {
        edit_customer(&mut device, &edit, &rep_meta).unwrap();
    }
    let rep = who("rep-01", Role::Rep);
    let found = merge_and_enforce(&mut server, &mut device, &rep);
    let fields: Vec<(String, &str)> = found.iter().map(|v| (v.field.clone(), v.rule)).collect();
    let rule = "annual_sales_finance_hq_only";
    assert_eq!(
        fields,
        vec![
            (format!("/annual_sales/{}", years[0]), rule),
            (format!("/annual_sales/{}", years[1]), rule),
            (format!("/annual_sales/{}", years[1] + 1), rule),
        ]
    );
    assert_eq!(found[1].new_value, json!("99000000"));
    assert_eq!(read_customer(&server).unwrap().annual_sales, c.annual_sales);
    assert_eq!(server_actions(&mut server), vec!["authority.restore_annual_sales".to_owned()]);
    assert_settled(&mut server, &rep);

    let mut server = server_customer(&c);
    let mut device = device_copy(&mut server);
    let sales = CustomerEdit::SetAnnualSales { year: years[1], amount: Decimal::from(7) };
    edit_as(&mut device, "fin", &sales);
    assert_eq!(merge_and_enforce(&mut server, &mut device, &who("fin", Role::Finance)), vec![]);
    assert_eq!(read_customer(&server).unwrap().annual_sales[&years[1]], Decimal::from(7));
}

// --- contacts and visits ------------------------------------------------------------------

#[test]
fn anyone_who_sees_a_customer_adds_and_changes_contacts_and_visits_unchecked() {
    let data = data();
    let c = customer(&data);
    let mut server = server_customer(&c);
    let mut device = device_copy(&mut server);
    let new_visit = visit("rep-01");
    let changed_visit = VisitRecord { demand: "需求下调".into(), ..first_visit(&c) };
    let new_contact = Contact {
        id: ContactId::new(),
        name: "王经理".into(),
        title: "采购".into(),
        phone: "13800000000".into(),
        email: String::new(),
        primary: false,
    };
    let changed_contact = Contact { phone: "13900000000".into(), ..first_contact(&c) };
    for edit in [
        CustomerEdit::UpsertVisit(new_visit.clone()),
        CustomerEdit::UpsertVisit(changed_visit.clone()),
        CustomerEdit::UpsertContact(new_contact.clone()),
        CustomerEdit::UpsertContact(changed_contact.clone()),
    ] {
        edit_as(&mut device, "rep-01", &edit);
    }
    assert!(!merge_touches_guarded(&mut server, &mut device), "nothing to check");
    let after = read_customer(&server).unwrap();
    assert_eq!(after.visits[&new_visit.id], new_visit);
    assert_eq!(after.visits[&changed_visit.id], changed_visit);
    assert_eq!(after.contacts[&new_contact.id], new_contact);
    assert_eq!(after.contacts[&changed_contact.id], changed_contact);
    assert_settled(&mut server, &who("rep-01", Role::Rep));
}

#[test]
fn only_headquarters_removes_a_visit_record() {
    let data = data();
    let c = customer(&data);
    let gone = first_visit(&c);
    for (user, role, kept) in [
        ("rep-01", Role::Rep, false),
        ("fin", Role::Finance, false),
        ("hq", Role::Hq, true),
        ("admin", Role::Admin, true),
    ] {
        let mut server = server_customer(&c);
        let mut device = device_copy(&mut server);
        edit_as(&mut device, user, &CustomerEdit::RemoveVisit(gone.id.clone()));
        let mut probe = device_copy(&mut server);
        assert!(merge_touches_guarded(&mut probe, &mut device), "a removal is checked");
        let author = who(user, role);
        let found = merge_and_enforce(&mut server, &mut device, &author);
        let visits = read_customer(&server).unwrap().visits;
        if kept {
            assert_eq!(found, Vec::new(), "{user}");
            assert!(!visits.contains_key(&gone.id));
        } else {
            assert_eq!(
                found,
                vec![Violation {
                    field: format!("/visits/{}", gone.id),
                    rule: "visits_removed_by_hq_only",
                    old_value: json(&gone),
                    new_value: Value::Null,
                }],
                "{user}"
            );
            assert_eq!(visits, c.visits, "{user}: the evidence is back, unchanged");
            assert_eq!(server_actions(&mut server), vec!["authority.restore_visits".to_owned()]);
        }
        assert_settled(&mut server, &author);
    }
}

#[test]
fn only_the_customers_owners_and_headquarters_remove_a_contact() {
    let data = data();
    let c = customer(&data);
    let gone = first_contact(&c);
    for (user, role, kept) in [
        ("rep-01", Role::Rep, true),
        ("rep-02", Role::Rep, false),
        ("fin", Role::Finance, false),
        ("hq", Role::Hq, true),
    ] {
        let mut server = server_customer(&c);
        let mut device = device_copy(&mut server);
        edit_as(&mut device, user, &CustomerEdit::RemoveContact(gone.id.clone()));
        let author = who(user, role);
        let found = merge_and_enforce(&mut server, &mut device, &author);
        let contacts = read_customer(&server).unwrap().contacts;
        if kept {
            assert_eq!(found, Vec::new(), "{user}");
            assert!(!contacts.contains_key(&gone.id), "{user}");
        } else {
            let rules: Vec<&str> = found.iter().map(|v| v.rule).collect();
            assert_eq!(rules, vec!["contacts_removed_by_owners"], "{user}");
            assert_eq!(contacts, c.contacts, "{user}");
        }
        assert_settled(&mut server, &author);
    }
}

#[test]
fn a_rep_removing_visits_while_recording_one_keeps_the_new_one() {
    let data = data();
    let c = customer(&data);
    let mut server = server_customer(&c);
    let mut device = device_copy(&mut server);
    let new_visit = visit("rep-01");
    edit_as(&mut device, "rep-01", &CustomerEdit::UpsertVisit(new_visit.clone()));
    for id in c.visits.keys() {
        edit_as(&mut device, "rep-01", &CustomerEdit::RemoveVisit(id.clone()));
    }
    let rep = who("rep-01", Role::Rep);
    let found = merge_and_enforce(&mut server, &mut device, &rep);
    assert_eq!(found.len(), c.visits.len(), "one finding per removed visit");
    assert_eq!(server_actions(&mut server), vec!["authority.restore_visits".to_owned()]);
    let mut expected = c.visits.clone();
    expected.insert(new_visit.id.clone(), new_visit);
    assert_eq!(read_customer(&server).unwrap().visits, expected);
    assert_settled(&mut server, &rep);
}

// --- new customers --------------------------------------------------------------------------

#[test]
fn a_reps_new_customer_keeps_its_sales_contacts_and_visits_but_not_late_payments() {
    let data = data();
    let (mut c, late) = customer_with_late_payment(&data);
    c.classification = Classification::default();
    c.credit = CreditTerms::default();
    assert!(!c.annual_sales.is_empty() && !c.visits.is_empty() && !c.contacts.is_empty());
    let mut server = new_on_server(&c);
    let mut device = create_customer(&c, ActorId::random(), &meta("rep-01", "create")).unwrap();
    let rep = who("rep-01", Role::Rep);
    let found = merge_and_enforce(&mut server, &mut device, &rep);
    assert_eq!(
        found,
        vec![Violation {
            field: format!("/late_payments/{}", late.id),
            rule: "late_payments_finance_hq_only",
            old_value: Value::Null,
            new_value: json(&late),
        }]
    );
    let after = read_customer(&server).unwrap();
    assert!(after.late_payments.is_empty());
    assert_eq!(
        (&after.annual_sales, &after.visits, &after.contacts),
        (&c.annual_sales, &c.visits, &c.contacts)
    );
    assert_settled(&mut server, &rep);

    let mut server = new_on_server(&c);
    let mut device = create_customer(&c, ActorId::random(), &meta("fin", "create")).unwrap();
    let found = merge_and_enforce(&mut server, &mut device, &who("fin", Role::Finance));
    assert_eq!(found, Vec::new(), "finance creates a customer with its late payments");
}

// --- fixed fields ---------------------------------------------------------------------------

#[test]
fn a_customers_id_and_creation_time_are_fixed() {
    let data = data();
    let c = customer(&data);
    let mut server = server_customer(&c);
    let mut device = device_copy(&mut server);
    tamper(&mut device, |am| {
        am.put(automerge::ROOT, "id", "someone-else").unwrap();
        am.put(automerge::ROOT, "created_at", "2026-11-22T00:00:00Z").unwrap();
    });
    let rep = who("rep-01", Role::Rep);
    let found = merge_and_enforce(&mut server, &mut device, &rep);
    let rules: Vec<(&str, &str, &Value)> =
        found.iter().map(|v| (v.field.as_str(), v.rule, &v.new_value)).collect();
    assert_eq!(
        rules,
        vec![
            ("/id", "fixed_at_creation", &json!("someone-else")),
            ("/created_at", "fixed_at_creation", &json!("2026-11-22T00:00:00Z")),
        ]
    );
    let after = read_customer(&server).unwrap();
    assert_eq!((after.id, after.created_at), (c.id.clone(), c.created_at));
    assert_eq!(server_actions(&mut server), vec!["authority.restore_fixed".to_owned()]);
    assert_settled(&mut server, &rep);
}

#[test]
fn a_new_document_whose_content_names_another_id_is_put_at_its_address() {
    let data = data();
    let c = customer(&data);
    let elsewhere = kam_core::model::CustomerId::from("another-customer");
    let mut server = Document::empty(customer_doc_id(&elsewhere), ActorId::random());
    let made = create_customer(&c, ActorId::random(), &meta("hq", "create")).unwrap().save();
    let mut device = Document::load(customer_doc_id(&elsewhere), &made, ActorId::random()).unwrap();
    let hq = who("hq", Role::Hq);
    let found = merge_and_enforce(&mut server, &mut device, &hq);
    assert_eq!(
        found,
        vec![Violation {
            field: "/id".into(),
            rule: "fixed_at_creation",
            old_value: json!("another-customer"),
            new_value: json!(c.id.as_str()),
        }]
    );
    assert_eq!(read_customer(&server).unwrap().id, elsewhere);
    assert_settled(&mut server, &hq);
}

// --- tickets ----------------------------------------------------------------------------------

fn reply(by: &str, body: &str) -> Reply {
    Reply { id: EntryId::new(), at: now(), by: UserId::from(by), body: body.into() }
}

/// A ticket in progress with one reply, a preventive action and a follow-up recorded.
fn ticket_with_evidence(data: &DemoData) -> (ServiceTicket, Reply) {
    let mut t = ticket(data, TicketStatus::InProgress);
    let first = reply("rep-01", "已收到，明天上门");
    t.replies = [(first.id.clone(), first.clone())].into();
    t.preventive_action = Some(PreventiveAction {
        description: "更换轴承供应商".into(),
        verified_by: Some(UserId::from("qa-01")),
        verified_at: Some(now()),
    });
    t.follow_up = Some(FollowUp {
        at: now(),
        by: UserId::from("rep-01"),
        satisfaction: 90,
        notes: "满意".into(),
    });
    (t, first)
}

fn edit_ticket_as(device: &mut Document, user: &str, edit: &TicketEdit) {
    edit_ticket(device, edit, &meta(user, edit.action())).unwrap();
}

#[test]
fn replies_are_added_by_anyone_and_never_changed_or_removed() {
    let data = data();
    let (t, first) = ticket_with_evidence(&data);
    let rewritten =
        Reply { body: "今天已解决".into(), at: now() - Duration::hours(30), ..first.clone() };
    for (user, role) in [("rep-01", Role::Rep), ("hq", Role::Hq), ("admin", Role::Admin)] {
        for edit in
            [TicketEdit::AddReply(rewritten.clone()), TicketEdit::RemoveReply(first.id.clone())]
        {
            let mut server = server_ticket(&t);
            let mut device = device_copy(&mut server);
            let added = reply(user, "跟进中");
            edit_ticket_as(&mut device, user, &TicketEdit::AddReply(added.clone()));
            edit_ticket_as(&mut device, user, &edit);
            let author = who(user, role);
            let found = merge_and_enforce(&mut server, &mut device, &author);
            let new_value = match &edit {
                TicketEdit::AddReply(r) => json(r),
                _ => Value::Null,
            };
            assert_eq!(
                found,
                vec![Violation {
                    field: format!("/replies/{}", first.id),
                    rule: "reply_append_only",
                    old_value: json(&first),
                    new_value,
                }],
                "{user} {edit:?}"
            );
            let replies = read_ticket(&server).unwrap().replies;
            assert_eq!(replies[&first.id], first, "the SLA evidence is back");
            assert_eq!(replies[&added.id], added, "the new reply stays");
            assert_eq!(server_actions(&mut server), vec!["authority.restore_replies".to_owned()]);
            assert_settled(&mut server, &author);
        }
    }
}

#[test]
fn a_status_history_entry_rewritten_or_deleted_is_put_back() {
    let data = data();
    let t = ticket(&data, TicketStatus::Resolved);
    let entry = t.history.values().next().unwrap().clone();
    let rewritten =
        StatusChange { note: "客户撤回投诉".into(), at: later(), ..entry.clone() };
    for deleted in [false, true] {
        let mut server = server_ticket(&t);
        let mut device = device_copy(&mut server);
        if deleted {
            tamper(&mut device, |am| {
                let history = root_map(am, "history");
                am.delete(&history, entry.id.as_str()).unwrap();
            });
        } else {
            let rewrite = TicketEdit::RestoreHistoryEntry(rewritten.clone());
            edit_ticket_as(&mut device, "rep-01", &rewrite);
        }
        let rep = who("rep-01", Role::Rep);
        let found = merge_and_enforce(&mut server, &mut device, &rep);
        let new_value = if deleted { Value::Null } else { json(&rewritten) };
        assert_eq!(
            found,
            vec![Violation {
                field: format!("/history/{}", entry.id),
                rule: "status_history_append_only",
                old_value: json(&entry),
                new_value,
            }]
        );
        let after = read_ticket(&server).unwrap();
        assert_eq!((after.status, &after.history), (TicketStatus::Resolved, &t.history));
        assert_eq!(server_actions(&mut server), vec!["authority.restore_history".to_owned()]);
        assert_settled(&mut server, &rep);
    }
}

#[test]
fn closing_evidence_once_recorded_is_never_removed_but_may_be_changed() {
    let data = data();
    let (t, _) = ticket_with_evidence(&data);
    let mut server = server_ticket(&t);
    let mut device = device_copy(&mut server);
    tamper(&mut device, |am| {
        am.delete(automerge::ROOT, "follow_up").unwrap();
        am.delete(automerge::ROOT, "preventive_action").unwrap();
    });
    let hq = who("hq", Role::Hq);
    let found = merge_and_enforce(&mut server, &mut device, &hq);
    let rules: Vec<(&str, &str)> = found.iter().map(|v| (v.field.as_str(), v.rule)).collect();
    assert_eq!(
        rules,
        vec![
            ("/preventive_action", "closing_evidence_kept"),
            ("/follow_up", "closing_evidence_kept")
        ]
    );
    let after = read_ticket(&server).unwrap();
    assert_eq!((&after.preventive_action, &after.follow_up), (&t.preventive_action, &t.follow_up));
    assert_settled(&mut server, &hq);

    let mut device = device_copy(&mut server);
    let follow_up = FollowUp { satisfaction: 60, ..t.follow_up.clone().unwrap() };
    edit_ticket_as(&mut device, "rep-01", &TicketEdit::RecordFollowUp(follow_up.clone()));
    assert!(!merge_touches_guarded(&mut server, &mut device), "a change is open to everyone");
    assert_eq!(read_ticket(&server).unwrap().follow_up, Some(follow_up));
}

#[test]
fn a_ticket_opened_on_a_device_starts_as_a_new_ticket() {
    let data = data();
    let mut t = data.tickets[0].clone();
    t.status = TicketStatus::New;
    t.history.clear();
    let mut server = Document::empty(kam_core::doc::ticket_doc_id(&t.id), ActorId::random());
    let mut device = create_ticket(&t, ActorId::random(), &meta("rep-01", "open")).unwrap();
    let rep = who("rep-01", Role::Rep);
    // A tampered tablet opens the ticket and closes it in the same breath.
    change_status(&mut device, change(TicketStatus::New, TicketStatus::Closed, "rep-01"));
    let found = merge_and_enforce(&mut server, &mut device, &rep);
    let rules: Vec<&str> = found.iter().map(|v| v.rule).collect();
    assert_eq!(rules, vec!["ticket_transition_not_allowed"]);
    assert_eq!(read_ticket(&server).unwrap().status, TicketStatus::New);
    assert_settled(&mut server, &rep);

    let mut server = Document::empty(kam_core::doc::ticket_doc_id(&t.id), ActorId::random());
    let mut device = create_ticket(&t, ActorId::random(), &meta("rep-01", "open")).unwrap();
    change_status(&mut device, change(TicketStatus::New, TicketStatus::InProgress, "rep-01"));
    assert_eq!(merge_and_enforce(&mut server, &mut device, &rep), Vec::new());
    assert_eq!(server.heads(), device.heads(), "a valid new ticket: no compensating commit");
}

#[test]
fn a_tickets_customer_and_opening_are_fixed() {
    let data = data();
    let t = ticket(&data, TicketStatus::New);
    let mut server = server_ticket(&t);
    let mut device = device_copy(&mut server);
    tamper(&mut device, |am| {
        am.put(automerge::ROOT, "customer_id", "a-customer-of-rep-02").unwrap();
        am.put(automerge::ROOT, "opened_at", "2026-11-23T00:59:00Z").unwrap();
    });
    let rep = who("rep-01", Role::Rep);
    let found = merge_and_enforce(&mut server, &mut device, &rep);
    let fields: Vec<(&str, &str)> = found.iter().map(|v| (v.field.as_str(), v.rule)).collect();
    assert_eq!(
        fields,
        vec![("/customer_id", "fixed_at_creation"), ("/opened_at", "fixed_at_creation")]
    );
    let after = read_ticket(&server).unwrap();
    assert_eq!((&after.customer_id, after.opened_at), (&t.customer_id, t.opened_at));
    assert_settled(&mut server, &rep);
}

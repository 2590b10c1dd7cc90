//! The authority against the matrix as a whole: what it relies on the matrix for, and a
//! property over random edits by reps.

use chrono::NaiveDate;
use kam_core::doc::{
    CustomerEdit, TicketEdit, edit_customer, edit_ticket, read_customer, read_ticket,
};
use kam_core::model::{
    Classification, Contact, ContactId, CreditTerms, Customer, EntryId, LatePayment, LatePaymentId,
    Reply, StatusChange, TicketStatus, UserId, VisitId, VisitLevel, VisitRecord,
};
use kam_core::rules::{self, DocPart, Write, open_to_everyone};
use proptest::prelude::*;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;

use super::enforce;
use super::test_support::{
    capture, change, customer, data, device_copy, later, merge_and_enforce, meta, now,
    server_customer, server_ticket, ticket, who,
};
use crate::auth::Role;

#[test]
fn the_parts_the_authority_never_compares_are_open_to_everyone() {
    // The authority reads nothing of these; were the matrix to close one, it would have to.
    for part in [DocPart::Profile, DocPart::ProfitContribution, DocPart::TicketDetails] {
        for write in Write::ALL {
            assert!(open_to_everyone(part, write), "{part:?} {write:?}");
        }
    }
    // Closing evidence is compared for removal only.
    assert!(open_to_everyone(DocPart::ClosingEvidence, Write::Add));
    assert!(open_to_everyone(DocPart::ClosingEvidence, Write::Change));
    assert!(!open_to_everyone(DocPart::ClosingEvidence, Write::Remove));
}

#[test]
fn the_servers_role_maps_onto_the_matrix() {
    let mapped: Vec<rules::Role> =
        [Role::Rep, Role::EventStaff, Role::Venue, Role::Finance, Role::Hq, Role::Admin]
            .map(Into::into)
            .into();
    assert_eq!(mapped, rules::Role::ALL.to_vec());
}

/// One random edit a rep's (possibly tampered) tablet makes to a customer.
fn customer_edit(rng: &mut SmallRng, c: &Customer) -> CustomerEdit {
    let pick = |rng: &mut SmallRng, n: usize| rng.random_range(0..n.max(1));
    let visit = c.visits.keys().nth(pick(rng, c.visits.len()));
    let contact = c.contacts.keys().nth(pick(rng, c.contacts.len()));
    let year = 2024 + rng.random_range(0..3);
    let amount = Decimal::from(rng.random_range(1..100_000_000_i64));
    match rng.random_range(0..12) {
        0 => CustomerEdit::SetAnnualSales { year, amount },
        1 if !c.annual_sales.is_empty() => {
            CustomerEdit::RemoveAnnualSales { year: *c.annual_sales.keys().next().unwrap() }
        }
        2 => CustomerEdit::UpsertLatePayment(LatePayment {
            id: LatePaymentId::new(),
            reference: "INV".into(),
            due_on: NaiveDate::from_ymd_opt(2026, 6, 30).unwrap(),
            paid_on: None,
        }),
        3 => CustomerEdit::SetOwners(vec![UserId::from("rep-02")]),
        4 => CustomerEdit::SetClassification(Classification {
            score: Some(99),
            ..c.classification.clone()
        }),
        5 => CustomerEdit::SetCredit(CreditTerms { credit_limit: amount, ..c.credit.clone() }),
        6 if visit.is_some() => CustomerEdit::RemoveVisit(visit.unwrap().clone()),
        7 => CustomerEdit::UpsertVisit(VisitRecord {
            id: VisitId::new(),
            level: VisitLevel::Technical,
            date: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
            visitor: UserId::from("rep-01"),
            topics: Vec::new(),
            personnel_changes: String::new(),
            problems: String::new(),
            demand: String::new(),
            competitor_activity: String::new(),
        }),
        8 if visit.is_some() => {
            let id = visit.unwrap();
            CustomerEdit::UpsertVisit(VisitRecord {
                problems: "交期".into(),
                ..c.visits[id].clone()
            })
        }
        9 if contact.is_some() => CustomerEdit::RemoveContact(contact.unwrap().clone()),
        10 => CustomerEdit::UpsertContact(Contact {
            id: ContactId::new(),
            name: "李工".into(),
            title: String::new(),
            phone: String::new(),
            email: String::new(),
            primary: false,
        }),
        _ => CustomerEdit::SetProfitContribution(amount),
    }
}

/// Runs `edits` random customer edits by `user` (a rep), merges and enforces, and checks that
/// the server ends with the pre-merge value of everything the rep may not write.
fn customer_case(seed: u64, edits: usize, user: &str) -> Result<(), TestCaseError> {
    let data = data();
    let c = customer(&data);
    let mut server = server_customer(&c);
    let mut device = device_copy(&mut server);
    let mut rng = SmallRng::seed_from_u64(seed);
    for _ in 0..edits {
        let edit = customer_edit(&mut rng, &read_customer(&device).unwrap());
        // An edit of something the tablet already removed fails, as it would on the tablet.
        let _ = edit_customer(&mut device, &edit, &meta(user, edit.action()));
    }
    let rep = who(user, Role::Rep);
    merge_and_enforce(&mut server, &mut device, &rep);
    let after = read_customer(&server).unwrap();
    let at = format!("seed {seed}, {edits} edits by {user}");
    prop_assert_eq!(&after.owners, &c.owners, "{}", at);
    prop_assert_eq!(&after.classification, &c.classification, "{}", at);
    prop_assert_eq!(&after.credit, &c.credit, "{}", at);
    prop_assert_eq!(&after.annual_sales, &c.annual_sales, "{}", at);
    prop_assert_eq!(&after.late_payments, &c.late_payments, "{}", at);
    prop_assert!(c.visits.keys().all(|id| after.visits.contains_key(id)), "{}", at);
    if !c.owners.iter().any(|o| o.as_str() == user) {
        prop_assert!(c.contacts.keys().all(|id| after.contacts.contains_key(id)), "{}", at);
    }
    let heads = server.heads();
    let again = capture(&server, &heads).unwrap();
    prop_assert_eq!(enforce(&mut server, again.as_ref(), &rep, later()).unwrap(), vec![], "{}", at);
    Ok(())
}

/// Runs random ticket edits by a rep and checks that every reply and transition the server
/// held is still there, unchanged.
fn ticket_case(seed: u64, edits: usize) -> Result<(), TestCaseError> {
    let data = data();
    let mut t = ticket(&data, TicketStatus::Resolved);
    let first =
        Reply { id: EntryId::new(), at: now(), by: UserId::from("rep-01"), body: "收到".into() };
    t.replies = [(first.id.clone(), first)].into();
    let mut server = server_ticket(&t);
    let mut device = device_copy(&mut server);
    let mut rng = SmallRng::seed_from_u64(seed);
    let statuses = [TicketStatus::New, TicketStatus::InProgress, TicketStatus::Closed];
    for _ in 0..edits {
        let now_held = read_ticket(&device).unwrap();
        let reply = now_held.replies.values().next().cloned();
        let entry = now_held.history.values().next().cloned();
        let edit = match (rng.random_range(0..5), reply, entry) {
            (0, Some(r), _) => TicketEdit::RemoveReply(r.id),
            (1, Some(r), _) => TicketEdit::AddReply(Reply { body: "改写".into(), ..r }),
            (2, _, Some(e)) => {
                TicketEdit::RestoreHistoryEntry(StatusChange { note: "改".into(), ..e })
            }
            (3, _, _) => {
                let to = statuses[rng.random_range(0..statuses.len())];
                TicketEdit::ChangeStatus(change(now_held.status, to, "rep-01"))
            }
            _ => TicketEdit::AddReply(Reply {
                id: EntryId::new(),
                at: now(),
                by: UserId::from("rep-01"),
                body: "跟进".into(),
            }),
        };
        edit_ticket(&mut device, &edit, &meta("rep-01", edit.action())).unwrap();
    }
    let rep = who("rep-01", Role::Rep);
    merge_and_enforce(&mut server, &mut device, &rep);
    let after = read_ticket(&server).unwrap();
    let at = format!("seed {seed}, {edits} edits");
    for (id, reply) in &t.replies {
        prop_assert_eq!(after.replies.get(id), Some(reply), "{}", at);
    }
    for (id, entry) in &t.history {
        prop_assert_eq!(after.history.get(id), Some(entry), "{}", at);
    }
    let heads = server.heads();
    let again = capture(&server, &heads).unwrap();
    prop_assert_eq!(enforce(&mut server, again.as_ref(), &rep, later()).unwrap(), vec![], "{}", at);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Whatever a rep's tablet writes, the server ends with the authorised value of every
    /// part the rep may not write, and nothing left to compensate. A failure names its seed.
    #[test]
    fn a_reps_random_edits_never_leave_an_unauthorised_value(
        seed in any::<u64>(),
        edits in 1..10usize,
        owner in any::<bool>(),
    ) {
        customer_case(seed, edits, if owner { "rep-01" } else { "rep-02" })?;
        ticket_case(seed, edits)?;
    }
}

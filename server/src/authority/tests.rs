//! Each test plays what the server does on a merge: it holds a document, a device loads a
//! copy of it and edits it (sometimes as a tampered or buggy tablet would, bypassing the
//! local checks), and the server captures, merges, enforces and reads the typed values.

use chrono::{Duration, TimeZone};
use kam_core::Policy;
use kam_core::demo::{self, DemoData, DemoSpec};
use kam_core::doc::{
    ActorId, create_customer, create_project, create_ticket, customer_doc_id, read_customer,
};
use kam_core::model::{
    Customer, CustomerProfile, Grade, PaymentTerms, PriceApproval, Project, Reply, ServiceTicket,
    Tier, UnitStatus,
};
use rust_decimal::Decimal;

use super::*;
use crate::auth::Role;
use kam_core::doc::{
    CustomerEdit, ProjectEdit, TicketEdit, edit_customer, edit_project, edit_ticket, read_project,
    read_ticket,
};
use kam_core::model::{Classification, CreditTerms, EntryId, StatusChange, TicketStatus};

mod collections;
mod events;
mod matrix;
mod projects;

/// A selection desk as the tests want it: these units on it, this event's desk open or not.
#[derive(Default)]
pub(super) struct FakeDesk {
    pub(super) units: Vec<UnitId>,
    pub(super) event_open: bool,
}

impl DeskView for FakeDesk {
    fn units_on_desk(&self, _project_id: &str) -> Result<BTreeSet<UnitId>, ServerError> {
        Ok(self.units.iter().cloned().collect())
    }

    fn event_desk_open(&self, _event_id: &str) -> Result<bool, ServerError> {
        Ok(self.event_open)
    }
}

/// When the fixtures were made.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 1, 0, 0).unwrap()
}

/// When the server enforces: after the device's edits.
fn later() -> DateTime<Utc> {
    now() + Duration::hours(2)
}

/// A small seeded demo company with two reps (`rep-01`, `rep-02`).
fn data() -> DemoData {
    let spec = DemoSpec { customers: 6, tickets: 6, units: 6, buyers: 2, ..DemoSpec::standard(2) };
    demo::generate(&spec, now(), &Policy::default())
}

fn who(user: &str, role: Role) -> Principal {
    Principal { device_id: format!("dev-{user}"), user_id: user.to_owned(), role }
}

fn meta(user: &str, action: &str) -> EditMeta {
    EditMeta::new(&UserId::from(user), now() + Duration::minutes(30), action)
}

/// A customer owned by `rep-01` alone, graded B with credit terms.
fn customer(data: &DemoData) -> Customer {
    let mut c = data.customers[0].clone();
    c.owners = vec![UserId::from("rep-01")];
    c.classification = Classification {
        strategic: false,
        tier: Tier::Main,
        grade: Some(Grade::B),
        score: Some(72),
    };
    c.credit = CreditTerms {
        credit_grade: Some(Grade::B),
        credit_limit: Decimal::from(500_000),
        payment_terms: PaymentTerms::NetDays { days: 30 },
    };
    c
}

/// The server's copy of a document created by HQ.
fn server_customer(c: &Customer) -> Document {
    create_customer(c, ActorId::random(), &meta("hq", "customer.create")).unwrap()
}

/// A device's copy of what the server holds.
fn device_copy(server: &mut Document) -> Document {
    device_copy_as(server, ActorId::random())
}

fn device_copy_as(server: &mut Document, actor: ActorId) -> Document {
    Document::load(server.id().clone(), &server.save(), actor).unwrap()
}

/// What the server does when a device's changes arrive, with `desk_owned` the units on
/// an open selection desk.
fn merge_and_check(
    server: &mut Document,
    device: &mut Document,
    author: &Principal,
    desk_owned: &[UnitId],
) -> Vec<Violation> {
    let desk = FakeDesk { units: desk_owned.to_vec(), event_open: false };
    merge_at_desk(server, device, author, &desk)
}

/// What the server does when a device's changes arrive, with `desk` what the selection desk
/// holds.
fn merge_at_desk(
    server: &mut Document,
    device: &mut Document,
    author: &Principal,
    desk: &FakeDesk,
) -> Vec<Violation> {
    let heads_before = server.heads();
    server.start_patch_index();
    server.merge(device).unwrap();
    let found = check_merge(server, &heads_before, desk, author, later()).unwrap();
    server.stop_patch_index();
    found
}

fn merge_and_enforce(
    server: &mut Document,
    device: &mut Document,
    author: &Principal,
) -> Vec<Violation> {
    merge_and_check(server, device, author, &[])
}

/// A second round with nothing new: no violations and no new commit, even when every
/// guarded value is read and compared again.
fn assert_settled(server: &mut Document, author: &Principal) {
    let heads = server.heads();
    let before = capture(server, &heads).unwrap();
    let found = enforce(server, before.as_ref(), author, later()).unwrap();
    assert_eq!(found, Vec::new(), "a settled document has nothing left to compensate");
    assert_eq!(server.heads(), heads, "enforcing a settled document commits nothing");
}

/// Writes into `device` with plain Automerge calls, as a tampered tablet would: what no typed
/// edit writes (a rewritten id, a deleted history entry).
fn tamper(device: &mut Document, write: impl FnOnce(&mut automerge::AutoCommit)) {
    let mut am = automerge::AutoCommit::load(&device.save()).unwrap();
    let heads = am.get_heads();
    write(&mut am);
    am.commit();
    device.load_incremental(&am.save_after(&heads)).unwrap();
}

/// The map under root key `key` of a document being tampered with.
fn root_map(am: &automerge::AutoCommit, key: &str) -> automerge::ObjId {
    use automerge::ReadDoc;
    am.get(automerge::ROOT, key).unwrap().unwrap().1
}

/// `user`'s device makes `edit`, as one commit named by its action.
fn edit_as(device: &mut Document, user: &str, edit: &CustomerEdit) {
    edit_customer(device, edit, &meta(user, edit.action())).unwrap();
}

/// The actions of the server's own commits, oldest first.
fn server_actions(doc: &mut Document) -> Vec<String> {
    doc.history()
        .into_iter()
        .filter_map(|h| h.meta)
        .filter(|m| m.author.as_str() == SERVER_AUTHOR)
        .map(|m| m.action)
        .collect()
}

fn json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap()
}

// --- customers ---------------------------------------------------------------------------

#[test]
fn a_rep_raising_a_credit_limit_is_restored_and_other_edits_kept() {
    let data = data();
    let c = customer(&data);
    let mut server = server_customer(&c);
    let mut device = device_copy(&mut server);
    let renamed =
        CustomerProfile { name: "上海新名字有限公司".into(), ..c.profile.clone() };
    edit_as(&mut device, "rep-01", &CustomerEdit::UpdateProfile(renamed.clone()));
    let raised = CreditTerms { credit_limit: Decimal::from(5_000_000), ..c.credit.clone() };
    edit_as(&mut device, "rep-01", &CustomerEdit::SetCredit(raised.clone()));

    let rep = who("rep-01", Role::Rep);
    let found = merge_and_enforce(&mut server, &mut device, &rep);

    assert_eq!(
        found,
        vec![Violation {
            field: "/credit".into(),
            rule: "credit_finance_hq_only",
            old_value: json(&c.credit),
            new_value: json(&raised),
        }]
    );
    assert_eq!(found[0].old_value["credit_limit"], json!("500000"));
    assert_eq!(found[0].new_value["credit_limit"], json!("5000000"));
    let after = read_customer(&server).unwrap();
    assert_eq!(after.credit, c.credit, "credit terms restored");
    assert_eq!(after.profile, renamed, "the rename in the same merge is kept");
    assert_eq!(after.classification, c.classification);
    assert_eq!(after.owners, c.owners);
    assert_eq!(server_actions(&mut server), vec!["authority.restore_credit".to_owned()]);
    assert!(server.conflicts().unwrap().is_empty(), "the restore supersedes the rep's write");

    // The device receives the correction with the server's answer.
    device.merge(&mut server).unwrap();
    assert_eq!(read_customer(&device).unwrap().credit, c.credit);
    assert_eq!(read_customer(&device).unwrap().profile, renamed);
    assert_settled(&mut server, &rep);
}

#[test]
fn finance_sets_credit_and_classification() {
    let data = data();
    let c = customer(&data);
    let mut server = server_customer(&c);
    let mut device = device_copy(&mut server);
    let credit = CreditTerms {
        credit_grade: Some(Grade::A),
        credit_limit: Decimal::new(123_456_789, 2),
        payment_terms: PaymentTerms::NetDays { days: 90 },
    };
    let classification = Classification {
        strategic: true,
        tier: Tier::Strategic,
        grade: Some(Grade::A),
        score: Some(91),
    };
    edit_as(&mut device, "fin", &CustomerEdit::SetCredit(credit.clone()));
    edit_as(&mut device, "fin", &CustomerEdit::SetClassification(classification.clone()));
    let heads = device.heads();

    let finance = who("fin", Role::Finance);
    let found = merge_and_enforce(&mut server, &mut device, &finance);

    assert_eq!(found, Vec::new());
    let after = read_customer(&server).unwrap();
    assert_eq!(after.credit, credit);
    assert_eq!(after.classification, classification);
    assert_eq!(server.heads(), heads, "no compensating commit");
    assert!(server_actions(&mut server).is_empty());
}

#[test]
fn finance_may_not_hand_a_customer_over() {
    let data = data();
    let c = customer(&data);
    let mut server = server_customer(&c);
    let mut device = device_copy(&mut server);
    let owners = vec![UserId::from("rep-02")];
    edit_as(&mut device, "fin", &CustomerEdit::SetOwners(owners.clone()));
    let found = merge_and_enforce(&mut server, &mut device, &who("fin", Role::Finance));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].rule, "owners_hq_only");
    assert_eq!(read_customer(&server).unwrap().owners, c.owners);
}

#[test]
fn hq_hands_a_customer_over_and_a_rep_may_not() {
    let data = data();
    let c = customer(&data);

    // HQ: kept.
    let mut server = server_customer(&c);
    let mut device = device_copy(&mut server);
    let handed = vec![UserId::from("rep-02")];
    edit_as(&mut device, "hq", &CustomerEdit::SetOwners(handed.clone()));
    let found = merge_and_enforce(&mut server, &mut device, &who("hq", Role::Hq));
    assert_eq!(found, Vec::new());
    assert_eq!(read_customer(&server).unwrap().owners, handed);

    // A rep adding a colleague (or taking the customer): restored.
    let mut server = server_customer(&c);
    let mut device = device_copy(&mut server);
    let grabbed = vec![UserId::from("rep-01"), UserId::from("rep-02")];
    edit_as(&mut device, "rep-01", &CustomerEdit::SetOwners(grabbed.clone()));
    let rep = who("rep-01", Role::Rep);
    let found = merge_and_enforce(&mut server, &mut device, &rep);
    assert_eq!(
        found,
        vec![Violation {
            field: "/owners".into(),
            rule: "owners_hq_only",
            old_value: json!(["rep-01"]),
            new_value: json!(["rep-01", "rep-02"]),
        }]
    );
    assert_eq!(read_customer(&server).unwrap().owners, vec![UserId::from("rep-01")]);
    assert_eq!(server_actions(&mut server), vec!["authority.restore_owners".to_owned()]);
    assert_settled(&mut server, &rep);
}

#[test]
fn a_rep_setting_tier_and_grade_is_restored() {
    let data = data();
    let c = customer(&data);
    let mut server = server_customer(&c);
    let mut device = device_copy(&mut server);
    let promoted =
        Classification { tier: Tier::Key, grade: Some(Grade::A), ..c.classification.clone() };
    edit_as(&mut device, "rep-01", &CustomerEdit::SetClassification(promoted.clone()));
    let rep = who("rep-01", Role::Rep);
    let found = merge_and_enforce(&mut server, &mut device, &rep);
    assert_eq!(
        found,
        vec![Violation {
            field: "/classification".into(),
            rule: "classification_finance_hq_only",
            old_value: json(&c.classification),
            new_value: json(&promoted),
        }]
    );
    assert_eq!(found[0].new_value["tier"], json!("key"));
    let after = read_customer(&server).unwrap();
    assert_eq!(after.classification, c.classification);
    assert_eq!(after.classification.tier, Tier::Main);
    assert_eq!(after.classification.grade, Some(Grade::B));
    assert_settled(&mut server, &rep);
}

#[test]
fn every_guarded_group_a_rep_wrote_is_restored_in_its_own_commit() {
    let data = data();
    let c = customer(&data);
    let mut server = server_customer(&c);
    let mut device = device_copy(&mut server);
    let rep_meta = meta("rep-01", "edit");
    let classification = Classification { grade: Some(Grade::A), ..c.classification.clone() };
    let credit =
        CreditTerms { payment_terms: PaymentTerms::NetDays { days: 120 }, ..c.credit.clone() };
    for edit in [
        CustomerEdit::SetOwners(vec![UserId::from("rep-02")]),
        CustomerEdit::SetClassification(classification),
        CustomerEdit::SetCredit(credit),
        CustomerEdit::SetProfitContribution(Decimal::from(777)),
    ] {
        edit_customer(&mut device, &edit, &rep_meta).unwrap();
    }
    let rep = who("rep-01", Role::Rep);
    let found = merge_and_enforce(&mut server, &mut device, &rep);
    let rules: Vec<&str> = found.iter().map(|v| v.rule).collect();
    assert_eq!(
        rules,
        vec!["owners_hq_only", "classification_finance_hq_only", "credit_finance_hq_only"]
    );
    let after = read_customer(&server).unwrap();
    assert_eq!(
        (after.owners, after.classification, after.credit),
        (c.owners.clone(), c.classification.clone(), c.credit.clone())
    );
    assert_eq!(after.profit_contribution, Decimal::from(777), "unguarded field kept");
    assert_eq!(
        server_actions(&mut server),
        vec![
            "authority.restore_owners".to_owned(),
            "authority.restore_classification".to_owned(),
            "authority.restore_credit".to_owned(),
        ]
    );
    assert_settled(&mut server, &rep);
}

#[test]
fn a_concurrent_rep_credit_change_yields_to_the_authorised_value_already_held() {
    let data = data();
    let c = customer(&data);
    let hq_credit = CreditTerms { credit_limit: Decimal::from(800_000), ..c.credit.clone() };
    let rep_credit = CreditTerms { credit_limit: Decimal::from(9_000_000), ..c.credit.clone() };
    let mut compensated = Vec::new();
    // Both orders of actor ids, so the rep's concurrent write wins the last-writer-wins
    // tie once and loses it once; either way the server ends with HQ's value.
    for (hq_actor, rep_actor) in [([0x01_u8; 16], [0xfe_u8; 16]), ([0xfe; 16], [0x01; 16])] {
        let mut server = server_customer(&c);
        let mut hq_device = device_copy_as(&mut server, ActorId::from(hq_actor));
        let mut rep_device = device_copy_as(&mut server, ActorId::from(rep_actor));

        edit_customer(
            &mut hq_device,
            &CustomerEdit::SetCredit(hq_credit.clone()),
            &meta("hq", "c"),
        )
        .unwrap();
        let found = merge_and_enforce(&mut server, &mut hq_device, &who("hq", Role::Hq));
        assert_eq!(found, Vec::new());
        assert_eq!(read_customer(&server).unwrap().credit, hq_credit);

        // The rep, offline, never saw HQ's change.
        edit_customer(
            &mut rep_device,
            &CustomerEdit::SetCredit(rep_credit.clone()),
            &meta("rep-01", "c"),
        )
        .unwrap();
        let rep = who("rep-01", Role::Rep);
        let found = merge_and_enforce(&mut server, &mut rep_device, &rep);
        assert_eq!(read_customer(&server).unwrap().credit, hq_credit, "HQ's value stands");
        for v in &found {
            assert_eq!(
                (v.field.as_str(), v.rule, &v.old_value, &v.new_value),
                ("/credit", "credit_finance_hq_only", &json(&hq_credit), &json(&rep_credit))
            );
        }
        compensated.push(found.len());
        assert_settled(&mut server, &rep);
        rep_device.merge(&mut server).unwrap();
        assert_eq!(read_customer(&rep_device).unwrap().credit, hq_credit);
    }
    compensated.sort_unstable();
    assert_eq!(compensated, vec![0, 1], "compensated exactly when the rep's write won");
}

// --- new customers -----------------------------------------------------------------------

/// The server's empty replica of a customer a device created.
fn new_on_server(c: &Customer) -> Document {
    Document::empty(customer_doc_id(&c.id), ActorId::random())
}

/// A customer as a rep's tablet creates it: unclassified, without credit terms.
fn fresh_customer(data: &DemoData) -> Customer {
    Customer {
        classification: Classification::default(),
        credit: CreditTerms::default(),
        ..customer(data)
    }
}

#[test]
fn a_new_customer_created_by_a_rep_is_owned_by_its_creator() {
    let data = data();
    let mut c = fresh_customer(&data);
    c.owners = vec![UserId::from("rep-02"), UserId::from("rep-03")];
    let mut server = new_on_server(&c);
    let mut device = create_customer(&c, ActorId::random(), &meta("rep-01", "create")).unwrap();
    let rep = who("rep-01", Role::Rep);
    let found = merge_and_enforce(&mut server, &mut device, &rep);
    assert_eq!(
        found,
        vec![Violation {
            field: "/owners".into(),
            rule: "new_customer_owned_by_creator",
            old_value: json!(["rep-01"]),
            new_value: json!(["rep-02", "rep-03"]),
        }]
    );
    let after = read_customer(&server).unwrap();
    assert_eq!(after.owners, vec![UserId::from("rep-01")]);
    assert_eq!(after.profile, c.profile, "the rest of the customer is kept");
    assert_eq!(server_actions(&mut server), vec!["authority.set_creator_owner".to_owned()]);
    assert_settled(&mut server, &rep);
}

#[test]
fn a_new_customer_already_owned_by_its_creator_or_created_by_hq_is_left_alone() {
    let data = data();
    let mut c = fresh_customer(&data);
    c.owners = vec![UserId::from("rep-01")];
    let mut server = new_on_server(&c);
    let mut device = create_customer(&c, ActorId::random(), &meta("rep-01", "create")).unwrap();
    let found = merge_and_enforce(&mut server, &mut device, &who("rep-01", Role::Rep));
    assert_eq!(found, Vec::new());
    assert_eq!(server.heads(), device.heads(), "no compensating commit");

    c.owners = vec![UserId::from("rep-02")];
    let mut server = new_on_server(&c);
    let mut device = create_customer(&c, ActorId::random(), &meta("hq", "create")).unwrap();
    let found = merge_and_enforce(&mut server, &mut device, &who("hq", Role::Hq));
    assert_eq!(found, Vec::new());
    assert_eq!(read_customer(&server).unwrap().owners, vec![UserId::from("rep-02")]);
    assert_eq!(server.heads(), device.heads(), "no compensating commit");
}

#[test]
fn a_reps_new_customer_arrives_unclassified_and_without_credit() {
    let data = data();
    let mut c = customer(&data);
    c.owners = vec![UserId::from("rep-01")];
    assert_ne!(c.classification, Classification::default(), "the fixture is classified");
    assert_ne!(c.credit, CreditTerms::default(), "the fixture has credit terms");
    let mut server = new_on_server(&c);
    let mut device = create_customer(&c, ActorId::random(), &meta("rep-01", "create")).unwrap();
    let rep = who("rep-01", Role::Rep);
    let found = merge_and_enforce(&mut server, &mut device, &rep);
    let rules: Vec<(&str, &str)> = found.iter().map(|v| (v.field.as_str(), v.rule)).collect();
    assert_eq!(
        rules,
        vec![
            ("/classification", "classification_finance_hq_only"),
            ("/credit", "credit_finance_hq_only"),
        ]
    );
    let after = read_customer(&server).unwrap();
    assert_eq!(after.classification, Classification::default());
    assert_eq!(after.credit, CreditTerms::default());
    assert_eq!(after.profile, c.profile, "the rest of the customer is kept");
    assert_settled(&mut server, &rep);

    // Finance may create a classified customer with credit terms.
    let mut server = new_on_server(&c);
    let mut device = create_customer(&c, ActorId::random(), &meta("finance-01", "create")).unwrap();
    let found = merge_and_enforce(&mut server, &mut device, &who("finance-01", Role::Finance));
    assert_eq!(found, Vec::new());
    assert_eq!(read_customer(&server).unwrap().credit, c.credit);
}

// --- tickets -----------------------------------------------------------------------------

fn change(from: TicketStatus, to: TicketStatus, by: &str) -> StatusChange {
    StatusChange {
        id: EntryId::new(),
        from,
        to,
        at: now() + Duration::minutes(20),
        by: UserId::from(by),
        note: String::new(),
    }
}

/// A ticket whose history walks the state machine from New to `status`.
fn ticket(data: &DemoData, status: TicketStatus) -> ServiceTicket {
    use TicketStatus::{Closed, InProgress, New, Resolved};
    let mut t = data.tickets[0].clone();
    let path: &[TicketStatus] = match status {
        New => &[New],
        InProgress => &[New, InProgress],
        Resolved => &[New, InProgress, Resolved],
        Closed => &[New, InProgress, Resolved, Closed],
        other => panic!("no fixture path to {other:?}"),
    };
    t.status = status;
    t.history =
        path.windows(2).map(|w| change(w[0], w[1], "rep-01")).map(|c| (c.id.clone(), c)).collect();
    t
}

fn server_ticket(t: &ServiceTicket) -> Document {
    create_ticket(t, ActorId::random(), &meta("rep-01", "ticket.open")).unwrap()
}

fn change_status(device: &mut Document, c: StatusChange) {
    edit_ticket(device, &TicketEdit::ChangeStatus(c), &meta("rep-01", "ticket.change_status"))
        .unwrap();
}

/// Merges `device` into `server` with the patch index on, and says whether the merge
/// touched a guarded key.
fn merge_touches_guarded(server: &mut Document, device: &mut Document) -> bool {
    let heads_before = server.heads();
    server.start_patch_index();
    server.merge(device).unwrap();
    let touched = touches_guarded(server, &heads_before);
    server.stop_patch_index();
    touched
}

#[test]
fn only_a_merge_touching_a_guarded_key_is_checked() {
    let data = data();
    let c = customer(&data);
    let mut server = server_customer(&c);
    let mut device = device_copy(&mut server);
    let notes = CustomerProfile { notes: "复核账期".into(), ..c.profile.clone() };
    edit_as(&mut device, "rep-01", &CustomerEdit::UpdateProfile(notes));
    assert!(!merge_touches_guarded(&mut server, &mut device), "a profile edit is not");
    let raised = CreditTerms { credit_limit: Decimal::from(900_000), ..c.credit.clone() };
    edit_as(&mut device, "rep-01", &CustomerEdit::SetCredit(raised));
    assert!(merge_touches_guarded(&mut server, &mut device), "a credit edit is");
    let unknown = [ChangeHash([9; 32])];
    assert!(touches_guarded(&mut server, &unknown), "unknown heads: check everything");

    let t = ticket(&data, TicketStatus::New);
    let mut server = server_ticket(&t);
    let mut device = device_copy(&mut server);
    let reply =
        Reply {
            id: EntryId::new(), at: now(), by: UserId::from("rep-01"), body: "已收到".into()
        };
    edit_ticket(&mut device, &TicketEdit::AddReply(reply), &meta("rep-01", "reply")).unwrap();
    assert!(!merge_touches_guarded(&mut server, &mut device), "a reply is not");
    change_status(&mut device, change(TicketStatus::New, TicketStatus::InProgress, "rep-01"));
    assert!(merge_touches_guarded(&mut server, &mut device), "a transition is");
}

#[test]
fn a_valid_ticket_transition_is_accepted() {
    let data = data();
    let t = ticket(&data, TicketStatus::New);
    let mut server = server_ticket(&t);
    let mut device = device_copy(&mut server);
    let start = change(TicketStatus::New, TicketStatus::InProgress, "rep-01");
    change_status(&mut device, start.clone());
    let rep = who("rep-01", Role::Rep);
    let found = merge_and_enforce(&mut server, &mut device, &rep);
    assert_eq!(found, Vec::new());
    let after = read_ticket(&server).unwrap();
    assert_eq!(after.status, TicketStatus::InProgress);
    assert_eq!(after.history.get(&start.id), Some(&start));
    assert_eq!(server.heads(), device.heads(), "no compensating commit");
    assert_settled(&mut server, &rep);
}

#[test]
fn two_valid_transitions_in_one_offline_batch_are_accepted() {
    let data = data();
    let t = ticket(&data, TicketStatus::New);
    let mut server = server_ticket(&t);
    let mut device = device_copy(&mut server);
    change_status(&mut device, change(TicketStatus::New, TicketStatus::InProgress, "rep-01"));
    change_status(&mut device, change(TicketStatus::InProgress, TicketStatus::Resolved, "rep-01"));
    let rep = who("rep-01", Role::Rep);
    let found = merge_and_enforce(&mut server, &mut device, &rep);
    assert_eq!(found, Vec::new());
    let after = read_ticket(&server).unwrap();
    assert_eq!(after.status, TicketStatus::Resolved);
    assert_eq!(after.history.len(), 2);
    assert!(server_actions(&mut server).is_empty());
    assert_settled(&mut server, &rep);
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
fn reopening_a_closed_ticket_without_reopen_is_restored() {
    let data = data();
    let t = ticket(&data, TicketStatus::Closed);
    let mut server = server_ticket(&t);
    let mut device = device_copy(&mut server);
    change_status(&mut device, change(TicketStatus::Closed, TicketStatus::InProgress, "rep-01"));
    let rep = who("rep-01", Role::Rep);
    let found = merge_and_enforce(&mut server, &mut device, &rep);
    assert_eq!(
        found,
        vec![Violation {
            field: "/status".into(),
            rule: "ticket_transition_not_allowed",
            old_value: json!("closed"),
            new_value: json!("in_progress"),
        }]
    );
    assert_restored(&server, &t, TicketStatus::InProgress, TicketStatus::Closed);
    assert_eq!(server_actions(&mut server), vec!["authority.restore_status".to_owned()]);
    assert_settled(&mut server, &rep);
    device.merge(&mut server).unwrap();
    assert_eq!(read_ticket(&device).unwrap().status, TicketStatus::Closed);
}

#[test]
fn a_transition_forging_its_starting_status_is_restored() {
    let data = data();
    let t = ticket(&data, TicketStatus::Closed);
    let mut server = server_ticket(&t);
    let mut device = device_copy(&mut server);
    // "Reopened -> InProgress" is an edge of the state machine, but this ticket was never
    // reopened: the entry lies about where it started.
    change_status(&mut device, change(TicketStatus::Reopened, TicketStatus::InProgress, "rep-01"));
    let rep = who("rep-01", Role::Rep);
    let found = merge_and_enforce(&mut server, &mut device, &rep);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].rule, "ticket_transition_not_allowed");
    assert_restored(&server, &t, TicketStatus::InProgress, TicketStatus::Closed);
    assert_settled(&mut server, &rep);
}

#[test]
fn closing_a_new_ticket_directly_is_restored() {
    let data = data();
    let t = ticket(&data, TicketStatus::New);
    let mut server = server_ticket(&t);
    let mut device = device_copy(&mut server);
    change_status(&mut device, change(TicketStatus::New, TicketStatus::Closed, "rep-01"));
    let rep = who("rep-01", Role::Rep);
    let found = merge_and_enforce(&mut server, &mut device, &rep);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].rule, "ticket_transition_not_allowed");
    assert_eq!((&found[0].old_value, &found[0].new_value), (&json!("new"), &json!("closed")));
    assert_restored(&server, &t, TicketStatus::Closed, TicketStatus::New);
    assert_settled(&mut server, &rep);
}

#[test]
fn a_batch_passing_through_a_forbidden_edge_is_restored_even_if_it_ends_on_a_valid_one() {
    let data = data();
    let t = ticket(&data, TicketStatus::New);
    let mut server = server_ticket(&t);
    let mut device = device_copy(&mut server);
    change_status(&mut device, change(TicketStatus::New, TicketStatus::Closed, "rep-01"));
    change_status(&mut device, change(TicketStatus::Closed, TicketStatus::Reopened, "rep-01"));
    let rep = who("rep-01", Role::Rep);
    let found = merge_and_enforce(&mut server, &mut device, &rep);
    let rules: Vec<(&str, &Value, &Value)> =
        found.iter().map(|v| (v.rule, &v.old_value, &v.new_value)).collect();
    assert_eq!(rules, vec![("ticket_transition_not_allowed", &json!("new"), &json!("closed"))]);
    assert_restored(&server, &t, TicketStatus::Reopened, TicketStatus::New);
    assert_settled(&mut server, &rep);
}

#[test]
fn a_status_written_over_an_accepted_history_entry_is_restored() {
    let data = data();
    let t = ticket(&data, TicketStatus::InProgress);
    let mut server = server_ticket(&t);
    let mut device = device_copy(&mut server);
    // A tampered tablet rewrites the accepted New → InProgress entry to claim New → Closed.
    let known = t.history.values().next().unwrap().clone();
    change_status(&mut device, StatusChange { to: TicketStatus::Closed, ..known });
    let rep = who("rep-01", Role::Rep);
    let found = merge_and_enforce(&mut server, &mut device, &rep);
    assert_eq!(
        found,
        vec![Violation {
            field: "/status".into(),
            rule: "ticket_status_without_transition",
            old_value: json!("in_progress"),
            new_value: json!("closed"),
        }]
    );
    assert_restored(&server, &t, TicketStatus::Closed, TicketStatus::InProgress);
    assert_settled(&mut server, &rep);
}

// --- projects ----------------------------------------------------------------------------

/// The demo project with its first unit priced and its second unpriced.
fn project(data: &DemoData) -> (Project, UnitId, UnitId) {
    let mut p = data.project.clone();
    let mut ids = p.units.keys().cloned();
    let (priced, unpriced) = (ids.next().unwrap(), ids.next().unwrap());
    let u = p.units.get_mut(&unpriced).unwrap();
    u.unit_price = None;
    u.approval = None;
    assert!(p.units[&priced].unit_price.is_some());
    (p, priced, unpriced)
}

fn server_project(p: &Project) -> Document {
    create_project(p, ActorId::random(), &meta("hq", "project.create")).unwrap()
}

fn approval(by: &str) -> PriceApproval {
    PriceApproval { approvers: vec![UserId::from(by)], approved_at: now() }
}

fn approve(device: &mut Document, unit: &UnitId, price: i64, by: &str) {
    let edit = ProjectEdit::ApprovePrice {
        unit_id: unit.clone(),
        unit_price: Decimal::from(price),
        approval: approval(by),
    };
    edit_project(device, &edit, &meta(by, "project.approve_price")).unwrap();
}

fn set_status(device: &mut Document, unit: &UnitId, status: UnitStatus, by: &str) {
    let edit = ProjectEdit::SetUnitStatus { unit_id: unit.clone(), status };
    edit_project(device, &edit, &meta(by, "project.set_unit_status")).unwrap();
}

#[test]
fn a_rep_changing_an_approved_price_is_restored() {
    let data = data();
    let (p, priced, _) = project(&data);
    let mut server = server_project(&p);
    let mut device = device_copy(&mut server);
    approve(&mut device, &priced, 9_999, "rep-01");
    let rep = who("rep-01", Role::Rep);
    let found = merge_and_enforce(&mut server, &mut device, &rep);
    let old = p.units[&priced].unit_price.unwrap();
    assert_eq!(
        found,
        vec![Violation {
            field: format!("/units/{priced}/unit_price"),
            rule: "price_hq_only",
            old_value: json!(old.to_string()),
            new_value: json!("9999"),
        }]
    );
    assert_eq!(read_project(&server).unwrap().units[&priced], p.units[&priced]);
    assert_eq!(server_actions(&mut server), vec!["authority.restore_unit".to_owned()]);
    assert_settled(&mut server, &rep);
}

#[test]
fn a_price_written_into_the_document_for_a_unit_on_an_open_desk_is_restored() {
    let data = data();
    let (p, priced, unpriced) = project(&data);
    let mut server = server_project(&p);
    let mut device = device_copy(&mut server);
    approve(&mut device, &priced, 21_000, "hq");
    approve(&mut device, &unpriced, 19_500, "hq");
    let hq = who("hq", Role::Hq);
    let found = merge_and_check(&mut server, &mut device, &hq, std::slice::from_ref(&priced));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].rule, "price_through_the_desk");
    let units = read_project(&server).unwrap().units;
    assert_eq!(units[&priced], p.units[&priced], "the desk's unit keeps the desk's price");
    assert_eq!(units[&unpriced].unit_price, Some(Decimal::from(19_500)), "others stay HQ's");
}

#[test]
fn hq_approving_a_price_is_kept() {
    let data = data();
    let (p, priced, unpriced) = project(&data);
    let mut server = server_project(&p);
    let mut device = device_copy(&mut server);
    approve(&mut device, &priced, 21_000, "hq");
    approve(&mut device, &unpriced, 19_500, "hq");
    let found = merge_and_enforce(&mut server, &mut device, &who("hq", Role::Hq));
    assert_eq!(found, Vec::new());
    let units = read_project(&server).unwrap().units;
    assert_eq!(units[&priced].unit_price, Some(Decimal::from(21_000)));
    assert_eq!(units[&unpriced].unit_price, Some(Decimal::from(19_500)));
    assert_eq!(units[&unpriced].approval, Some(approval("hq")));
    assert_eq!(server.heads(), device.heads(), "no compensating commit");
}

#[test]
fn a_price_a_rep_puts_on_an_unpriced_unit_is_removed() {
    let data = data();
    let (p, _, unpriced) = project(&data);
    let mut server = server_project(&p);
    let mut device = device_copy(&mut server);
    approve(&mut device, &unpriced, 15_000, "rep-01");
    let rep = who("rep-01", Role::Rep);
    let found = merge_and_enforce(&mut server, &mut device, &rep);
    assert_eq!(
        found,
        vec![Violation {
            field: format!("/units/{unpriced}/unit_price"),
            rule: "price_hq_only",
            old_value: Value::Null,
            new_value: json!("15000"),
        }]
    );
    let unit = &read_project(&server).unwrap().units[&unpriced];
    assert_eq!((unit.unit_price, &unit.approval), (None, &None));
    assert_eq!(unit, &p.units[&unpriced]);
    assert_settled(&mut server, &rep);
    device.merge(&mut server).unwrap();
    assert_eq!(read_project(&device).unwrap().units[&unpriced].unit_price, None);
}

#[test]
fn only_the_server_changes_a_unit_status() {
    let data = data();
    let (p, priced, _) = project(&data);
    for (user, role) in [("rep-01", Role::Rep), ("hq", Role::Hq), ("admin", Role::Admin)] {
        let mut server = server_project(&p);
        let mut device = device_copy(&mut server);
        set_status(&mut device, &priced, UnitStatus::Sold, user);
        let author = who(user, role);
        let found = merge_and_enforce(&mut server, &mut device, &author);
        assert_eq!(
            found,
            vec![Violation {
                field: format!("/units/{priced}/status"),
                rule: "unit_status_server_only",
                old_value: json!("available"),
                new_value: json!("sold"),
            }],
            "{user}"
        );
        assert_eq!(read_project(&server).unwrap().units[&priced].status, UnitStatus::Available);
        assert_eq!(read_project(&server).unwrap().units, p.units);
        assert_settled(&mut server, &author);
    }
}

#[test]
fn the_servers_own_status_change_before_the_merge_is_the_authorised_value() {
    let data = data();
    let (p, priced, _) = project(&data);
    let mut server = server_project(&p);
    let mut device = device_copy(&mut server);
    // The reservation authority holds the unit; the tablet, offline, marks it sold.
    set_status(&mut server, &priced, UnitStatus::Held, SERVER_AUTHOR);
    set_status(&mut device, &priced, UnitStatus::Sold, "rep-01");
    let found = merge_and_enforce(&mut server, &mut device, &who("rep-01", Role::Rep));
    // Whichever concurrent write won, the server ends with its own value.
    assert!(found.len() <= 1, "{found:?}");
    for v in &found {
        assert_eq!((v.rule, &v.old_value), ("unit_status_server_only", &json!("held")));
    }
    assert_eq!(read_project(&server).unwrap().units[&priced].status, UnitStatus::Held);
}

#[test]
fn hq_pricing_and_tampering_with_status_in_one_merge_keeps_the_price() {
    let data = data();
    let (p, priced, _) = project(&data);
    let mut server = server_project(&p);
    let mut device = device_copy(&mut server);
    approve(&mut device, &priced, 21_000, "hq");
    set_status(&mut device, &priced, UnitStatus::Sold, "hq");
    let hq = who("hq", Role::Hq);
    let found = merge_and_enforce(&mut server, &mut device, &hq);
    let rules: Vec<&str> = found.iter().map(|v| v.rule).collect();
    assert_eq!(rules, vec!["unit_status_server_only"]);
    let unit = &read_project(&server).unwrap().units[&priced];
    assert_eq!(unit.status, UnitStatus::Available, "status restored");
    assert_eq!(unit.unit_price, Some(Decimal::from(21_000)), "the authorised price is kept");
    assert_eq!(unit.approval, Some(approval("hq")));
    assert_settled(&mut server, &hq);
}

// --- idempotence and recording -----------------------------------------------------------

#[test]
fn enforcing_twice_is_idempotent() {
    let data = data();
    let c = customer(&data);
    let mut server = server_customer(&c);
    let mut device = device_copy(&mut server);
    let raised = CreditTerms { credit_limit: Decimal::from(1), ..c.credit.clone() };
    edit_as(&mut device, "rep-01", &CustomerEdit::SetCredit(raised));
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
fn an_event_merge_that_writes_nothing_finds_nothing() {
    let data = data();
    let mut server =
        kam_core::doc::create_event(&data.event, ActorId::random(), &meta("hq", "create")).unwrap();
    let heads = server.heads();
    let captured = capture(&server, &heads).unwrap().unwrap();
    assert!(matches!(&captured.values, Authorised::Event { event, .. } if **event == data.event));
    let mut device = device_copy(&mut server);
    let found = merge_and_enforce(&mut server, &mut device, &who("rep-01", Role::Rep));
    assert_eq!(found, Vec::new());
}

#[test]
fn recorded_violations_are_stored_and_audited() {
    let mut conn = rusqlite::Connection::open_in_memory().unwrap();
    crate::schema::prepare(&conn).unwrap();
    crate::schema::migrate(&mut conn).unwrap();
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

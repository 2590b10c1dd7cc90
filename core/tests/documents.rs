//! The typed document API: round trips, one commit per action, unchanged writes, conflicts,
//! history and schema versions.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)] // Tests may panic on a broken expectation.

use chrono::{TimeZone, Utc};
use kam_core::Policy;
use kam_core::demo::{self, DemoSpec};
use kam_core::doc::{self, ActorId, CustomerEdit, DocId, DocKind, EditMeta};
use kam_core::model::{CreditTerms, CustomerProfile, EntryId, StatusChange, UnitStatus, UserId};
use rust_decimal::Decimal;

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 1, 0, 0).unwrap()
}

fn small() -> demo::DemoData {
    let spec = DemoSpec { customers: 4, tickets: 6, units: 40, buyers: 5, ..DemoSpec::standard(2) };
    demo::generate(&spec, now(), &Policy::default())
}

fn meta(action: &str) -> EditMeta {
    EditMeta::new(&UserId::from("rep-01"), now(), action)
}

/// A customer created once and loaded by two peers: its id, its saved bytes, then a tablet's
/// and a server's copy.
fn tablet_and_server(
    customer: &kam_core::model::Customer,
) -> (DocId, Vec<u8>, doc::Document, doc::Document) {
    let mut created = doc::create_customer(customer, ActorId::random(), &meta("create")).unwrap();
    let (id, bytes) = (created.id().clone(), created.save());
    let tablet = doc::Document::load(id.clone(), &bytes, ActorId::random()).unwrap();
    let server = doc::Document::load(id.clone(), &bytes, ActorId::random()).unwrap();
    (id, bytes, tablet, server)
}

/// An edit of the customer's notes, everything else as it was.
fn notes_edit(customer: &kam_core::model::Customer, notes: &str) -> CustomerEdit {
    CustomerEdit::UpdateProfile(CustomerProfile { notes: notes.into(), ..customer.profile.clone() })
}

#[test]
fn every_aggregate_round_trips_through_its_document() {
    let data = small();
    for c in &data.customers {
        let d = doc::create_customer(c, ActorId::random(), &meta("create")).unwrap();
        assert_eq!(&doc::read_customer(&d).unwrap(), c);
    }
    for t in &data.tickets {
        let d = doc::create_ticket(t, ActorId::random(), &meta("create")).unwrap();
        assert_eq!(&doc::read_ticket(&d).unwrap(), t);
    }
    let d = doc::create_project(&data.project, ActorId::random(), &meta("create")).unwrap();
    assert_eq!(doc::read_project(&d).unwrap(), data.project);
    let d = doc::create_event(&data.event, ActorId::random(), &meta("create")).unwrap();
    let mut event = doc::read_event(&d).unwrap();
    event.allotted_units.sort();
    let mut expected = data.event.clone();
    expected.allotted_units.sort();
    assert_eq!(event, expected);
}

#[test]
fn a_customer_outline_is_the_full_record_cut_down_and_gives_the_same_visit_cadence() {
    let policy = Policy::default();
    let data = small();
    assert!(data.customers.iter().any(|c| !c.visits.is_empty()), "the demo has visits");
    for c in &data.customers {
        let d = doc::create_customer(c, ActorId::random(), &meta("create")).unwrap();
        let outline = doc::read_customer_outline(&d).unwrap();
        assert_eq!(outline.id, c.id);
        assert_eq!(outline.created_at, c.created_at);
        assert_eq!(outline.profile, c.profile);
        assert_eq!(outline.owners, c.owners);
        assert_eq!(outline.classification, c.classification);
        let visits: Vec<_> = c.visits.values().map(|v| (v.level, v.date)).collect();
        assert_eq!(outline.visits, visits);
        assert_eq!(
            kam_core::rules::visits_due_for(
                &outline.classification,
                outline.created_at,
                &outline.visits,
                &policy
            ),
            kam_core::rules::visits_due(c, &policy)
        );
    }
}

#[test]
fn a_peer_holding_the_document_gets_the_new_change_and_a_peer_holding_nothing_the_whole_document() {
    let data = small();
    let customer = &data.customers[0];
    let (id, _, mut tablet, mut server) = tablet_and_server(customer);
    let shared = tablet.heads();
    let edit = notes_edit(customer, "met the new purchasing head");
    doc::edit_customer(&mut tablet, &edit, &meta(edit.action())).unwrap();

    // The tablet knows the server holds the document as created: one small change travels,
    // although it is more than a third of the document's one-commit history.
    let mut state = doc::SyncState::new();
    state.shared_heads = shared;
    doc::prime_sync_state(&mut state);
    let message = tablet.generate_sync_message(&mut state).unwrap();
    let whole = tablet.save().len();
    assert!(message.len() * 2 < whole, "{} bytes sent for a {whole}-byte document", message.len());
    let mut at_server = doc::SyncState::new();
    server.receive_sync_message(&mut at_server, &message).unwrap();
    assert_eq!(server.heads(), tablet.heads());

    // A peer holding nothing gets the compacted document in one message.
    let mut fresh = doc::SyncState::new();
    doc::prime_sync_state(&mut fresh);
    let message = tablet.generate_sync_message(&mut fresh).unwrap();
    assert!(message.len() >= whole, "{} bytes for a {whole}-byte document", message.len());
    let mut empty = doc::Document::empty(id, ActorId::random());
    empty.receive_sync_message(&mut doc::SyncState::new(), &message).unwrap();
    assert_eq!(empty.heads(), tablet.heads());
}

#[test]
fn a_limited_receive_counts_the_changes_a_compacted_document_adds_not_its_chunks() {
    let data = small();
    let customer = &data.customers[0];
    let (id, _, mut tablet, _) = tablet_and_server(customer);
    for notes in ["one", "two", "three"] {
        let edit = notes_edit(customer, notes);
        doc::edit_customer(&mut tablet, &edit, &meta(edit.action())).unwrap();
    }
    let history = tablet.history().len();
    assert_eq!(history, 4, "created, then three edits");
    let mut fresh = doc::SyncState::new();
    doc::prime_sync_state(&mut fresh);
    let message = tablet.generate_sync_message(&mut fresh).unwrap();

    // The whole document travels as one chunk, yet adds four changes: a limit of three refuses it.
    let mut empty = doc::Document::empty(id.clone(), ActorId::random());
    let refused = empty.receive_sync_message_limited(&mut doc::SyncState::new(), &message, Some(3));
    match refused {
        Err(doc::DocError::TooManyChanges { changes, limit, .. }) => {
            assert_eq!((changes, limit), (4, 3));
        }
        other => panic!("expected too_many_changes, got {other:?}"),
    }
    // At the limit it is taken; without one (a tablet receiving from its server) as well.
    let mut at_limit = doc::Document::empty(id.clone(), ActorId::random());
    at_limit.receive_sync_message_limited(&mut doc::SyncState::new(), &message, Some(4)).unwrap();
    assert_eq!(at_limit.heads(), tablet.heads());
    let mut unlimited = doc::Document::empty(id, ActorId::random());
    unlimited.receive_sync_message(&mut doc::SyncState::new(), &message).unwrap();
    assert_eq!(unlimited.heads(), tablet.heads());
}

#[test]
fn received_change_bytes_stored_after_the_saved_state_load_back_to_the_same_document() {
    let data = small();
    let customer = &data.customers[0];
    let (id, saved_bytes, mut tablet, mut server) = tablet_and_server(customer);
    let saved = server.heads();
    let mut at_tablet = doc::SyncState::new();
    let mut at_server = doc::SyncState::new();
    // Two edits travelling in two messages add up to one stored chunk.
    for notes in ["first visit planned", "purchasing head replaced"] {
        let edit = notes_edit(customer, notes);
        doc::edit_customer(&mut tablet, &edit, &meta(edit.action())).unwrap();
        while let Some(message) = tablet.generate_sync_message(&mut at_tablet) {
            server.receive_sync_message(&mut at_server, &message).unwrap();
            if let Some(answer) = server.generate_sync_message(&mut at_server) {
                tablet.receive_sync_message(&mut at_tablet, &answer).unwrap();
            }
        }
    }
    assert_eq!(server.heads(), tablet.heads());
    let chunk = server.take_received_since(&saved).expect("both edits arrived by sync");
    assert!(server.take_received_since(&saved).is_none(), "taken once");
    let mut stored = saved_bytes.clone();
    stored.extend_from_slice(&chunk);
    let mut reloaded = doc::Document::load(id.clone(), &stored, ActorId::random()).unwrap();
    assert_eq!(reloaded.heads(), server.heads());
    assert_eq!(doc::read_customer(&reloaded).unwrap(), doc::read_customer(&server).unwrap());

    // A local edit after the received ones means the bytes no longer describe the document.
    let edit = notes_edit(customer, "edited at the tablet");
    doc::edit_customer(&mut tablet, &edit, &meta(edit.action())).unwrap();
    let message = tablet.generate_sync_message(&mut at_tablet).unwrap();
    let before = server.heads();
    server.receive_sync_message(&mut at_server, &message).unwrap();
    let edit = notes_edit(customer, "edited at the server");
    doc::edit_customer(&mut server, &edit, &meta(edit.action())).unwrap();
    assert!(server.take_received_since(&before).is_none());
}

#[test]
fn one_commit_per_action_and_none_for_an_unchanged_write() {
    let data = small();
    let c = &data.customers[0];
    let mut d = doc::create_customer(c, ActorId::random(), &meta("customer.create")).unwrap();
    assert_eq!(d.history().len(), 1, "creation is one change");
    let heads = d.heads();
    doc::edit_customer(&mut d, &CustomerEdit::UpdateProfile(c.profile.clone()), &meta("same"))
        .unwrap();
    assert_eq!(d.heads(), heads, "writing the same values records nothing");
    let renamed = CustomerProfile { name: "新名字有限公司".into(), ..c.profile.clone() };
    doc::edit_customer(
        &mut d,
        &CustomerEdit::UpdateProfile(renamed),
        &meta("customer.update_profile"),
    )
    .unwrap();
    let history = d.history();
    assert_eq!(history.len(), 2);
    let last = history.last().unwrap().meta.clone().unwrap();
    assert_eq!(last.author, UserId::from("rep-01"));
    assert_eq!(last.action, "customer.update_profile");
    assert_eq!(last.at, now());
}

#[test]
fn concurrent_edits_of_one_field_are_readable_and_of_different_fields_are_not_conflicts() {
    let data = small();
    let c = &data.customers[0];
    let mut a = doc::create_customer(c, ActorId::random(), &meta("create")).unwrap();
    let bytes = a.save();
    let mut b = doc::Document::load(a.id().clone(), &bytes, ActorId::random()).unwrap();
    let name_a = CustomerProfile { name: "甲公司".into(), ..c.profile.clone() };
    let name_b =
        CustomerProfile { name: "乙公司".into(), region: "西南".into(), ..c.profile.clone() };
    doc::edit_customer(&mut a, &CustomerEdit::UpdateProfile(name_a), &meta("a")).unwrap();
    doc::edit_customer(&mut b, &CustomerEdit::UpdateProfile(name_b), &meta("b")).unwrap();
    a.merge(&mut b).unwrap();
    b.merge(&mut a).unwrap();
    let conflicts = a.conflicts().unwrap();
    assert_eq!(conflicts.len(), 1, "only the name was edited on both sides: {conflicts:?}");
    assert_eq!(conflicts[0].path, "/profile/name");
    let mut values = conflicts[0].values.clone();
    values.sort();
    assert_eq!(values, vec!["乙公司".to_owned(), "甲公司".to_owned()]);
    let read = doc::read_customer(&a).unwrap();
    assert_eq!(read.profile.name, conflicts[0].values[0], "the first value is the one readers see");
    assert_eq!(read.profile.region, "西南", "the other side's region edit survives");
    assert_eq!(doc::read_customer(&b).unwrap(), read, "both sides read the same winner");
}

#[test]
fn resolving_a_conflict_with_the_visible_value_settles_it_everywhere() {
    let data = small();
    let c = &data.customers[0];
    let mut a = doc::create_customer(c, ActorId::random(), &meta("create")).unwrap();
    let bytes = a.save();
    let mut b = doc::Document::load(a.id().clone(), &bytes, ActorId::random()).unwrap();
    let mut hq = doc::Document::load(a.id().clone(), &bytes, ActorId::random()).unwrap();
    for (d, name) in [(&mut a, "甲公司"), (&mut b, "乙公司")] {
        let profile = CustomerProfile { name: name.into(), ..c.profile.clone() };
        doc::edit_customer(d, &CustomerEdit::UpdateProfile(profile), &meta(name)).unwrap();
    }
    hq.merge(&mut a).unwrap();
    hq.merge(&mut b).unwrap();
    let visible = hq.conflicts().unwrap()[0].values[0].clone();
    let before = hq.heads();

    // Choosing the value readers already see must still be a write, or nothing settles.
    hq.resolve_conflict("/profile/name", &visible, &meta("resolve")).unwrap();
    assert_ne!(hq.heads(), before, "one commit");
    assert_eq!(hq.conflicts().unwrap(), vec![]);
    assert!(hq.conflict_update_since(&before).unwrap().settled.contains(&"/profile/name".into()));
    a.merge(&mut hq).unwrap();
    assert_eq!(a.conflicts().unwrap(), vec![], "the choice supersedes both values on merge");
    assert_eq!(doc::read_customer(&a).unwrap().profile.name, visible);

    // A value that is not (or no longer) among the concurrent ones changes nothing.
    let heads = hq.heads();
    let error = hq.resolve_conflict("/profile/name", "丙公司", &meta("resolve")).unwrap_err();
    assert!(matches!(error, doc::DocError::EntityNotFound { .. }), "{error}");
    assert!(hq.resolve_conflict("/profile/nope/name", &visible, &meta("x")).is_err());
    assert_eq!(hq.heads(), heads);
}

#[test]
fn a_merge_is_linear_only_when_it_builds_on_everything_the_receiver_held() {
    let data = small();
    let c = &data.customers[0];
    let mut server = doc::create_customer(c, ActorId::random(), &meta("create")).unwrap();
    let bytes = server.save();
    let mut tablet = doc::Document::load(server.id().clone(), &bytes, ActorId::random()).unwrap();
    let profile = |name: &str| CustomerProfile { name: name.into(), ..c.profile.clone() };
    let edit = |d: &mut doc::Document, name: &str| {
        doc::edit_customer(d, &CustomerEdit::UpdateProfile(profile(name)), &meta(name)).unwrap()
    };

    // Two edits in a row on top of what the server holds: one straight line.
    edit(&mut tablet, "一");
    edit(&mut tablet, "二");
    let before = server.heads();
    server.merge(&mut tablet).unwrap();
    assert!(server.extends_linearly(&before));
    let now_heads = server.heads();
    assert!(server.extends_linearly(&now_heads), "nothing added is trivially linear");

    // An edit made without the server's latest change is concurrent with it.
    let mut stale = doc::Document::load(server.id().clone(), &bytes, ActorId::random()).unwrap();
    edit(&mut server, "三");
    edit(&mut stale, "四");
    let before = server.heads();
    server.merge(&mut stale).unwrap();
    assert!(!server.extends_linearly(&before));
    assert_eq!(server.conflicts().unwrap().len(), 1);

    // A tablet that merged the concurrent branch itself still brings a fork, even though the
    // server ends with a single head.
    let mut a =
        doc::Document::load(server.id().clone(), &server.save(), ActorId::random()).unwrap();
    let mut b =
        doc::Document::load(server.id().clone(), &server.save(), ActorId::random()).unwrap();
    let before = server.heads();
    edit(&mut a, "五");
    edit(&mut b, "六");
    a.merge(&mut b).unwrap();
    doc::edit_customer(
        &mut a,
        &CustomerEdit::UpdateProfile(CustomerProfile { region: "华东".into(), ..profile("五") }),
        &meta("region"),
    )
    .unwrap();
    server.merge(&mut a).unwrap();
    assert_eq!(server.heads().len(), 1);
    assert!(!server.extends_linearly(&before));
}

#[test]
fn a_merge_reports_the_conflicts_it_created_and_the_ones_it_settled() {
    // Once scanning the document, once reading the patches recorded during the merge.
    for indexed in [false, true] {
        conflicts_created_and_settled(indexed);
    }
}

fn conflicts_created_and_settled(indexed: bool) {
    let data = small();
    let c = &data.customers[0];
    let mut server = doc::create_customer(c, ActorId::random(), &meta("create")).unwrap();
    let bytes = server.save();
    let mut a = doc::Document::load(server.id().clone(), &bytes, ActorId::random()).unwrap();
    let mut b = doc::Document::load(server.id().clone(), &bytes, ActorId::random()).unwrap();
    let profile = |name: &str, region: &str| CustomerProfile {
        name: name.into(),
        region: region.into(),
        ..c.profile.clone()
    };
    let set = |d: &mut doc::Document, p: CustomerProfile| {
        doc::edit_customer(d, &CustomerEdit::UpdateProfile(p), &meta("edit")).unwrap()
    };
    set(&mut a, profile("甲公司", &c.profile.region));
    set(&mut b, profile("乙公司", "西南"));

    let before = server.heads();
    if indexed {
        server.start_patch_index();
    }
    server.merge(&mut a).unwrap();
    let update = server.conflict_update_since(&before).unwrap();
    assert!(update.conflicted.is_empty(), "one side alone conflicts with nothing: {update:?}");

    let before = server.heads();
    if indexed {
        server.start_patch_index();
    }
    server.merge(&mut b).unwrap();
    let update = server.conflict_update_since(&before).unwrap();
    assert_eq!(update.conflicted, server.conflicts().unwrap(), "the same as a full walk");
    assert_eq!(update.conflicted.len(), 1, "indexed: {indexed}");
    assert_eq!(update.conflicted[0].path, "/profile/name");

    // Someone who has seen both names writes the right one: the conflict is settled.
    let mut hq =
        doc::Document::load(server.id().clone(), &server.save(), ActorId::random()).unwrap();
    set(&mut hq, profile("甲乙联合公司", "西南"));
    let before = server.heads();
    if indexed {
        server.start_patch_index();
    }
    server.merge(&mut hq).unwrap();
    let update = server.conflict_update_since(&before).unwrap();
    assert!(update.conflicted.is_empty());
    assert!(update.settled.contains(&"/profile/name".to_owned()), "{update:?}");
    assert!(server.conflicts().unwrap().is_empty());
}

#[test]
fn a_merge_names_the_root_keys_it_touched_and_earlier_heads_read_as_they_were() {
    for indexed in [false, true] {
        touched_root_keys_and_reads_at_heads(indexed);
    }
}

fn touched_root_keys_and_reads_at_heads(indexed: bool) {
    let data = small();
    let c = &data.customers[0];
    let (_, _, mut tablet, mut server) = tablet_and_server(c);
    doc::edit_customer(&mut tablet, &notes_edit(c, "新备注"), &meta("edit")).unwrap();
    let before = server.heads();
    if indexed {
        server.start_patch_index();
    }
    server.merge(&mut tablet).unwrap();
    let touched = server.root_keys_touched_since(&before).unwrap();
    assert_eq!(touched.into_iter().collect::<Vec<_>>(), ["profile"], "indexed: {indexed}");
    server.stop_patch_index();

    let raised = CreditTerms {
        credit_limit: c.credit.credit_limit + Decimal::from(50_000),
        ..c.credit.clone()
    };
    doc::edit_customer(&mut tablet, &CustomerEdit::SetCredit(raised.clone()), &meta("credit"))
        .unwrap();
    doc::edit_customer(&mut tablet, &notes_edit(c, "再改备注"), &meta("edit")).unwrap();
    let before = server.heads();
    if indexed {
        server.start_patch_index();
    }
    server.merge(&mut tablet).unwrap();
    let touched = server.root_keys_touched_since(&before).unwrap();
    assert_eq!(touched.into_iter().collect::<Vec<_>>(), ["credit", "profile"]);
    assert_eq!(doc::read_protected_fields(&server).unwrap().credit, raised);
    let then = doc::read_protected_fields_at(&server, &before).unwrap();
    assert_eq!(
        (then.owners, then.classification, then.credit),
        (c.owners.clone(), c.classification.clone(), c.credit.clone()),
        "read as of the heads before the merge"
    );
    let unknown = [doc::ChangeHash([7; 32])];
    assert_eq!(server.root_keys_touched_since(&unknown), None, "unknown heads: assume all");
}

#[test]
fn tickets_and_projects_read_as_of_earlier_heads() {
    let data = small();
    let t = &data.tickets[0];
    let mut ticket = doc::create_ticket(t, ActorId::random(), &meta("create")).unwrap();
    let created = ticket.heads();
    let to = *kam_core::rules::allowed_transitions(t.status).first().unwrap();
    let change = StatusChange {
        id: EntryId::new(),
        from: t.status,
        to,
        at: now(),
        by: UserId::from("rep-01"),
        note: String::new(),
    };
    doc::edit_ticket(&mut ticket, &doc::TicketEdit::ChangeStatus(change), &meta("status")).unwrap();
    assert_eq!(doc::read_ticket(&ticket).unwrap().status, to);
    assert_eq!(&doc::read_ticket_at(&ticket, &created).unwrap(), t);

    let mut project =
        doc::create_project(&data.project, ActorId::random(), &meta("create")).unwrap();
    let created = project.heads();
    let unit = data.project.units.keys().next().unwrap().clone();
    let edit = doc::ProjectEdit::SetUnitStatus { unit_id: unit.clone(), status: UnitStatus::Held };
    doc::edit_project(&mut project, &edit, &meta("server")).unwrap();
    assert_eq!(doc::read_project(&project).unwrap().units[&unit].status, UnitStatus::Held);
    assert_eq!(doc::read_project_at(&project, &created).unwrap(), data.project);
}

#[test]
fn server_status_mirror_and_price_approval_are_typed_edits() {
    let data = small();
    let mut d = doc::create_project(&data.project, ActorId::random(), &meta("create")).unwrap();
    let unit = data.project.units.keys().next().unwrap().clone();
    let edit = doc::ProjectEdit::SetUnitStatus { unit_id: unit.clone(), status: UnitStatus::Held };
    doc::edit_project(&mut d, &edit, &meta("server")).unwrap();
    assert_eq!(doc::read_project(&d).unwrap().units[&unit].status, UnitStatus::Held);
    let missing =
        doc::ProjectEdit::SetUnitStatus { unit_id: "nope".into(), status: UnitStatus::Sold };
    assert!(matches!(
        doc::edit_project(&mut d, &missing, &meta("server")),
        Err(doc::DocError::EntityNotFound { .. })
    ));
}

#[test]
fn wrong_kind_empty_and_newer_schema_are_refused() {
    let data = small();
    let d = doc::create_ticket(&data.tickets[0], ActorId::random(), &meta("create")).unwrap();
    assert!(matches!(doc::read_customer(&d), Err(doc::DocError::WrongKind { .. })));
    let empty = doc::Document::empty(DocId::new(DocKind::Customer, "x"), ActorId::random());
    assert!(matches!(doc::read_customer(&empty), Err(doc::DocError::Empty(_))));
    // A document written by a newer app version is refused rather than misread.
    let mut newer = automerge::AutoCommit::new();
    use automerge::transaction::Transactable;
    newer.put(automerge::ROOT, "schema", doc::SCHEMA_VERSION + 1).unwrap();
    newer.put(automerge::ROOT, "kind", "customer").unwrap();
    let newer =
        doc::Document::load(DocId::new(DocKind::Customer, "n"), &newer.save(), ActorId::random())
            .unwrap();
    assert!(matches!(doc::read_customer(&newer), Err(doc::DocError::UnsupportedSchema { .. })));
    assert!("customer/a/b".parse::<DocId>().is_err());
    assert!("planet/a".parse::<DocId>().is_err());
    assert_eq!("ticket/t1".parse::<DocId>().unwrap(), DocId::new(DocKind::Ticket, "t1"));
}

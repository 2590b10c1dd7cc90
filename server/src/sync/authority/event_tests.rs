//! What a device writes into an event document: headquarters prepares the event, the desk
//! runs it.

use chrono::Duration;
use kam_core::doc::{ActorId, Document, EventEdit, create_event, read_event};
use kam_core::model::{Buyer, BuyerId, ProjectId, SelectionEvent, SelectionMode, UnitId};

use crate::auth::Role;
use crate::sync::authority::Authorised;
use crate::sync::authority::test_support::{
    Case, Expect, FakeDesk, capture, created, data, device_copy, held, merge_and_enforce,
    merge_at_desk, meta, run, who, writes,
};

const HQ: (&str, Role) = ("hq", Role::Hq);

fn server_event(e: &SelectionEvent) -> Document {
    create_event(e, ActorId::random(), &meta("hq", "event.create")).unwrap()
}

fn buyer(name: &str) -> Buyer {
    Buyer {
        id: BuyerId::new(),
        name: name.into(),
        id_number_hash: "ab".repeat(32),
        id_number_masked: "1101********1234".into(),
        lottery_no: Some(99),
    }
}

/// What headquarters prepares: another project, name and start, one unit withdrawn and one
/// allotted, the free mode.
fn preparation(e: &SelectionEvent) -> Vec<EventEdit> {
    vec![
        EventEdit::UpdateDetails {
            project_id: ProjectId::from("another-project"),
            name: "二期选房".into(),
            starts_at: e.starts_at + Duration::days(7),
        },
        EventEdit::WithdrawUnits(vec![e.allotted_units[0].clone()]),
        EventEdit::AllotUnits(vec![UnitId::from("unit-from-elsewhere")]),
        EventEdit::SetMode(SelectionMode::Free),
    ]
}

#[test]
fn no_device_writes_the_queue_or_the_buyer_list() {
    let data = data();
    let e = data.event.clone();
    let mut listed = e.buyers.values().cloned();
    let (first, second) = (listed.next().unwrap(), listed.next().unwrap());
    let reordered = Buyer { lottery_no: Some(1_000), ..first.clone() };
    let added = buyer("张三");
    let edits = vec![
        EventEdit::SetNowServing(Some(1)),
        EventEdit::UpsertBuyer(reordered),
        EventEdit::UpsertBuyer(added.clone()),
        EventEdit::RemoveBuyer(second.id.clone()),
    ];
    let by_desk = "event_written_by_desk";
    let e = &e;
    let staff = ("staff-01", Role::EventStaff);
    let cases = [HQ, ("admin", Role::Admin), staff, ("venue-01", Role::Venue)].map(|user| {
        let expect = Expect::FieldsAnyOrder(vec![
            ("/now_serving".to_owned(), by_desk),
            (format!("/buyers/{}", first.id), by_desk),
            (format!("/buyers/{}", second.id), by_desk),
            (format!("/buyers/{}", added.id), by_desk),
        ]);
        let name = format!("{} writes the queue and the buyers", user.0);
        Case::new(name, user, writes(edits.clone()), expect)
            .actions(&["authority.restore_queue", "authority.restore_buyers"])
            .then(move |o| assert_eq!(&read_event(&o.server).unwrap(), e, "as the desk left it"))
    });
    run(cases.into(), &held(|| server_event(e)));
}

#[test]
fn headquarters_prepares_an_event_before_its_desk_opens_and_no_one_else_does() {
    let data = data();
    let e = data.event.clone();
    let e = &e;
    let prepares = || writes(preparation(e));
    let not_hq = |user: (&'static str, Role)| {
        let expect = Expect::Each { rules: &["event_hq_only"], count: 6 };
        Case::new(format!("{} prepares an event", user.0), user, prepares(), expect).then(
            move |o| {
                let fields: Vec<&str> = o.found.iter().map(|v| v.field.as_str()).collect();
                assert_eq!(fields[..3], ["/project_id", "/name", "/starts_at"]);
                assert_eq!(&read_event(&o.server).unwrap(), e);
            },
        )
    };
    let withdrawn = format!("/allotted_units/{}", e.allotted_units[0]);
    let fixed = "event_fixed_once_desk_open";
    let mut once_open = vec![
        ("/project_id".to_owned(), fixed),
        (withdrawn, fixed),
        ("/allotted_units/unit-from-elsewhere".to_owned(), fixed),
        ("/mode".to_owned(), "event_written_by_desk"),
    ];
    once_open[1..3].sort();
    let cases = vec![
        Case::new("hq prepares an event", HQ, prepares(), Expect::Kept).then(move |o| {
            let after = read_event(&o.server).unwrap();
            assert_eq!(after.mode, SelectionMode::Free);
            assert_eq!(after.project_id, ProjectId::from("another-project"));
            assert!(!after.allotted_units.contains(&e.allotted_units[0]));
        }),
        not_hq(("staff-01", Role::EventStaff)),
        not_hq(("venue-01", Role::Venue)),
        not_hq(("fin", Role::Finance)),
        // Once its desk is open, an event's project, allotments and mode are the desk's.
        Case::new(
            "hq prepares an event on an open desk",
            HQ,
            prepares(),
            Expect::Fields(once_open),
        )
        .desk(FakeDesk { units: Vec::new(), event_open: true, lent: Vec::new() })
        .then(move |o| {
            let after = read_event(&o.server).unwrap();
            assert_eq!(
                (&after.project_id, &after.allotted_units, after.mode),
                (&e.project_id, &e.allotted_units, e.mode)
            );
            assert_eq!(
                (after.name.as_str(), after.starts_at),
                ("二期选房", e.starts_at + Duration::days(7))
            );
        }),
    ];
    run(cases, &held(|| server_event(e)));
}

#[test]
fn an_event_created_on_a_device_arrives_without_buyers_or_a_called_number() {
    let data = data();
    let mut e = data.event.clone();
    e.mode = SelectionMode::Free;
    assert!(!e.buyers.is_empty());
    let e = &e;
    let expect = Expect::Each { rules: &["event_written_by_desk"], count: 1 + e.buyers.len() };
    let edits = writes(vec![EventEdit::SetNowServing(Some(3))]);
    let case = Case::new("hq creates an event with buyers and a called number", HQ, edits, expect)
        .then(move |o| {
            let after = read_event(&o.server).unwrap();
            assert!(after.buyers.is_empty());
            assert_eq!(after.now_serving, None);
            assert_eq!(
                (&after.allotted_units, after.mode),
                (&e.allotted_units, SelectionMode::Free)
            );
        });
    run(vec![case], &created(|_| server_event(e)));
}

#[test]
fn an_event_merge_that_writes_nothing_finds_nothing() {
    let data = data();
    let mut server = server_event(&data.event);
    let heads = server.heads();
    let captured = capture(&server, &heads).unwrap().unwrap();
    assert!(matches!(&captured.values, Authorised::Event { event, .. } if **event == data.event));
    let mut device = device_copy(&mut server);
    let found = merge_and_enforce(&mut server, &mut device, &who("rep-01", Role::Rep));
    assert_eq!(found, Vec::new());
}

/// The venue holding an event's lease writes its queue, mode and buyer list as the desk
/// (ADR 0021); its details stay headquarters'.
#[test]
fn a_venue_holding_the_lease_writes_the_events_desk_parts_only() {
    let data = data();
    let e = data.event.clone();
    let lent = crate::db::desk::state::LentDesk {
        event_id: e.id.as_str().to_owned(),
        project_id: e.project_id.as_str().to_owned(),
        units: Vec::new(),
    };
    let desk = FakeDesk { units: Vec::new(), event_open: true, lent: vec![lent] };
    let mut server = server_event(&e);
    let mut device = device_copy(&mut server);
    let edits = vec![
        EventEdit::SetNowServing(Some(4)),
        EventEdit::SetMode(SelectionMode::Free),
        EventEdit::UpsertBuyer(buyer("王五")),
    ];
    writes(edits)(&mut device, "desk");
    let venue = who("venue-01", Role::Venue);
    let found = merge_at_desk(&mut server, &mut device, &venue, &desk);
    assert_eq!(found, Vec::new());
    let after = read_event(&server).unwrap();
    assert_eq!((after.now_serving, after.mode), (Some(4), SelectionMode::Free));
    assert_eq!(after.buyers.len(), e.buyers.len() + 1);

    let mut device = device_copy(&mut server);
    writes(vec![EventEdit::SetNowServing(Some(5))])(&mut device, "desk");
    let ended = FakeDesk { lent: Vec::new(), ..desk };
    let found = merge_at_desk(&mut server, &mut device, &venue, &ended);
    assert_eq!(found.iter().map(|v| v.rule).collect::<Vec<_>>(), vec!["event_written_by_desk"]);
    assert_eq!(read_event(&server).unwrap().now_serving, Some(4));
}

//! What a device writes into an event document: headquarters prepares the event, the desk
//! runs it.

use kam_core::doc::{EventEdit, create_event, edit_event, event_doc_id, read_event};
use kam_core::model::{Buyer, BuyerId, ProjectId, SelectionEvent, SelectionMode};

use super::*;

fn server_event(e: &SelectionEvent) -> Document {
    create_event(e, ActorId::random(), &meta("hq", "event.create")).unwrap()
}

fn edit_event_as(device: &mut Document, user: &str, edit: &EventEdit) {
    edit_event(device, edit, &meta(user, edit.action())).unwrap();
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
    let edits = [
        EventEdit::SetNowServing(Some(1)),
        EventEdit::UpsertBuyer(reordered),
        EventEdit::UpsertBuyer(added.clone()),
        EventEdit::RemoveBuyer(second.id.clone()),
    ];
    for (user, role) in [("hq", Role::Hq), ("admin", Role::Admin), ("staff-01", Role::EventStaff)] {
        let mut server = server_event(&e);
        let mut device = device_copy(&mut server);
        for edit in &edits {
            edit_event_as(&mut device, user, edit);
        }
        let author = who(user, role);
        let found = merge_and_enforce(&mut server, &mut device, &author);
        let mut fields: Vec<String> = found.iter().map(|v| v.field.clone()).collect();
        fields.sort();
        let mut expected = vec![
            "/now_serving".to_owned(),
            format!("/buyers/{}", first.id),
            format!("/buyers/{}", second.id),
            format!("/buyers/{}", added.id),
        ];
        expected.sort();
        assert_eq!(fields, expected, "{user}");
        assert!(found.iter().all(|v| v.rule == "event_written_by_desk"), "{found:?}");
        assert_eq!(read_event(&server).unwrap(), e, "{user}: as the desk left it");
        assert_eq!(
            server_actions(&mut server),
            vec!["authority.restore_queue", "authority.restore_buyers"]
        );
        assert_settled(&mut server, &author);
    }
}

#[test]
fn headquarters_prepares_an_event_before_its_desk_opens_and_no_one_else_does() {
    let data = data();
    let e = data.event.clone();
    for (user, role, kept) in [
        ("hq", Role::Hq, true),
        ("staff-01", Role::EventStaff, false),
        ("fin", Role::Finance, false),
    ] {
        let mut server = server_event(&e);
        let mut device = device_copy(&mut server);
        for edit in preparation(&e) {
            edit_event_as(&mut device, user, &edit);
        }
        let author = who(user, role);
        let found = merge_and_enforce(&mut server, &mut device, &author);
        let after = read_event(&server).unwrap();
        if kept {
            assert_eq!(found, Vec::new());
            assert_eq!(after.mode, SelectionMode::Free);
            assert_eq!(after.project_id, ProjectId::from("another-project"));
            assert!(!after.allotted_units.contains(&e.allotted_units[0]));
        } else {
            let fields: Vec<&str> = found.iter().map(|v| v.field.as_str()).collect();
            assert_eq!(fields[..3], ["/project_id", "/name", "/starts_at"]);
            assert_eq!(fields.len(), 6, "{fields:?}");
            assert!(found.iter().all(|v| v.rule == "event_hq_only"), "{found:?}");
            assert_eq!(after, e, "{user}");
        }
        assert_settled(&mut server, &author);
    }
}

#[test]
fn once_its_desk_is_open_an_events_project_allotments_and_mode_are_the_desks() {
    let data = data();
    let e = data.event.clone();
    let mut server = server_event(&e);
    let mut device = device_copy(&mut server);
    for edit in preparation(&e) {
        edit_event_as(&mut device, "hq", &edit);
    }
    let hq = who("hq", Role::Hq);
    let open = FakeDesk { units: Vec::new(), event_open: true };
    let found = merge_at_desk(&mut server, &mut device, &hq, &open);
    let rules: Vec<(&str, &str)> = found.iter().map(|v| (v.field.as_str(), v.rule)).collect();
    let fixed = "event_fixed_once_desk_open";
    let withdrawn = format!("/allotted_units/{}", e.allotted_units[0]);
    let mut expected = vec![
        ("/project_id", fixed),
        (withdrawn.as_str(), fixed),
        ("/allotted_units/unit-from-elsewhere", fixed),
        ("/mode", "event_written_by_desk"),
    ];
    expected[1..3].sort();
    assert_eq!(rules, expected);
    let after = read_event(&server).unwrap();
    assert_eq!(
        (&after.project_id, &after.allotted_units, after.mode),
        (&e.project_id, &e.allotted_units, e.mode)
    );
    assert_eq!(
        (after.name.as_str(), after.starts_at),
        ("二期选房", e.starts_at + Duration::days(7))
    );
    assert_settled(&mut server, &hq);
}

#[test]
fn an_event_created_on_a_device_arrives_without_buyers_or_a_called_number() {
    let data = data();
    let mut e = data.event.clone();
    e.mode = SelectionMode::Free;
    assert!(!e.buyers.is_empty());
    let mut server = Document::empty(event_doc_id(&e.id), ActorId::random());
    let mut device = server_event(&e);
    edit_event_as(&mut device, "hq", &EventEdit::SetNowServing(Some(3)));
    let hq = who("hq", Role::Hq);
    let found = merge_and_enforce(&mut server, &mut device, &hq);
    assert_eq!(found.len(), 1 + e.buyers.len(), "{found:?}");
    assert!(found.iter().all(|v| v.rule == "event_written_by_desk"));
    let after = read_event(&server).unwrap();
    assert!(after.buyers.is_empty());
    assert_eq!(after.now_serving, None);
    assert_eq!((&after.allotted_units, after.mode), (&e.allotted_units, SelectionMode::Free));
    assert_settled(&mut server, &hq);
}

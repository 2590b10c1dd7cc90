//! A project's prices, unit statuses, units, buildings and name, and the units an open
//! selection desk owns.

use kam_core::demo::DemoData;
use kam_core::doc::{ActorId, Document, ProjectEdit, create_project, read_project};
use kam_core::model::{
    Building, BuildingId, PriceApproval, Project, Unit, UnitId, UnitStatus, UserId,
};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::auth::Role;
use crate::sync::authority::test_support::{
    Case, Expect, FakeDesk, created, data, device_copy, held, json, merge_and_enforce,
    merge_at_desk, meta, now, run, who,
};
use crate::sync::authority::{SERVER_AUTHOR, Violation};

const REP: (&str, Role) = ("rep-01", Role::Rep);
const HQ: (&str, Role) = ("hq", Role::Hq);

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

/// The device approves `price` for `unit`, `by` approving.
fn approve(unit: &UnitId, price: i64, by: &str) -> ProjectEdit {
    ProjectEdit::ApprovePrice {
        unit_id: unit.clone(),
        unit_price: Decimal::from(price),
        approval: approval(by),
    }
}

fn set_status(unit: &UnitId, status: UnitStatus) -> ProjectEdit {
    ProjectEdit::SetUnitStatus { unit_id: unit.clone(), status }
}

/// The case's user writes `edits` into the project.
fn writes(edits: Vec<ProjectEdit>) -> impl Fn(&mut Document, &str) {
    crate::sync::authority::test_support::writes(edits)
}

/// A new unit in the fixture project's first building, available and unpriced.
fn new_unit(p: &Project) -> Unit {
    let template = p.units.values().next().unwrap();
    Unit {
        id: UnitId::new(),
        code: "9-2801".into(),
        unit_price: None,
        approval: None,
        status: UnitStatus::Available,
        ..template.clone()
    }
}

#[test]
fn prices_are_headquarters_and_unit_statuses_the_servers() {
    let data = data();
    let (p, priced, unpriced) = project(&data);
    let (p, priced, unpriced) = (&p, &priced, &unpriced);
    let old = p.units[priced].unit_price.unwrap();
    let mut cases = vec![
        Case::new(
            "a rep changing an approved price is restored",
            REP,
            writes(vec![approve(priced, 9_999, "rep-01")]),
            Expect::Exactly(vec![Violation {
                field: format!("/units/{priced}/unit_price"),
                rule: "price_hq_only",
                old_value: json!(old.to_string()),
                new_value: json!("9999"),
            }]),
        )
        .actions(&["authority.restore_unit"])
        .then(|o| assert_eq!(read_project(&o.server).unwrap().units[priced], p.units[priced])),
        Case::new(
            "a price written into the document for a unit on an open desk is restored",
            HQ,
            writes(vec![approve(priced, 21_000, "hq"), approve(unpriced, 19_500, "hq")]),
            Expect::Rules(vec!["price_through_the_desk"]),
        )
        .desk(FakeDesk { units: vec![priced.clone()], event_open: false, lent: Vec::new() })
        .then(|o| {
            let units = read_project(&o.server).unwrap().units;
            assert_eq!(units[priced], p.units[priced], "the desk's unit keeps the desk's price");
            assert_eq!(units[unpriced].unit_price, Some(Decimal::from(19_500)), "others: HQ's");
        }),
        Case::new(
            "hq approving a price is kept",
            HQ,
            writes(vec![approve(priced, 21_000, "hq"), approve(unpriced, 19_500, "hq")]),
            Expect::Kept,
        )
        .then(|o| {
            let units = read_project(&o.server).unwrap().units;
            assert_eq!(units[priced].unit_price, Some(Decimal::from(21_000)));
            assert_eq!(units[unpriced].unit_price, Some(Decimal::from(19_500)));
            assert_eq!(units[unpriced].approval, Some(approval("hq")));
        }),
        Case::new(
            "a price a rep puts on an unpriced unit is removed",
            REP,
            writes(vec![approve(unpriced, 15_000, "rep-01")]),
            Expect::Exactly(vec![Violation {
                field: format!("/units/{unpriced}/unit_price"),
                rule: "price_hq_only",
                old_value: Value::Null,
                new_value: json!("15000"),
            }]),
        )
        .then(|o| {
            let unit = &read_project(&o.server).unwrap().units[unpriced];
            assert_eq!((unit.unit_price, &unit.approval), (None, &None));
            assert_eq!(unit, &p.units[unpriced]);
            assert_eq!(read_project(&o.device).unwrap().units[unpriced].unit_price, None);
        }),
        Case::new(
            "hq pricing and tampering with status in one merge keeps the price",
            HQ,
            writes(vec![approve(priced, 21_000, "hq"), set_status(priced, UnitStatus::Sold)]),
            Expect::Rules(vec!["unit_status_server_only"]),
        )
        .then(|o| {
            let unit = &read_project(&o.server).unwrap().units[priced];
            assert_eq!(unit.status, UnitStatus::Available, "status restored");
            assert_eq!(unit.unit_price, Some(Decimal::from(21_000)), "the authorised price kept");
            assert_eq!(unit.approval, Some(approval("hq")));
        }),
    ];
    // Only the server changes a unit's status.
    for user in [("rep-01", Role::Rep), HQ, ("admin", Role::Admin)] {
        let sold = Violation {
            field: format!("/units/{priced}/status"),
            rule: "unit_status_server_only",
            old_value: json!("available"),
            new_value: json!("sold"),
        };
        let name = format!("{} marking a unit sold is restored", user.0);
        let edits = writes(vec![set_status(priced, UnitStatus::Sold)]);
        cases.push(Case::new(name, user, edits, Expect::Exactly(vec![sold])).then(|o| {
            let units = read_project(&o.server).unwrap().units;
            assert_eq!(units[priced].status, UnitStatus::Available);
            assert_eq!(&units, &p.units);
        }));
    }
    run(cases, &held(|| server_project(p)));
}

#[test]
fn the_servers_own_status_change_before_the_merge_is_the_authorised_value() {
    let data = data();
    let (p, priced, _) = project(&data);
    let mut server = server_project(&p);
    let mut device = device_copy(&mut server);
    // The reservation authority holds the unit; the tablet, offline, marks it sold.
    writes(vec![set_status(&priced, UnitStatus::Held)])(&mut server, SERVER_AUTHOR);
    writes(vec![set_status(&priced, UnitStatus::Sold)])(&mut device, "rep-01");
    let found = merge_and_enforce(&mut server, &mut device, &who("rep-01", Role::Rep));
    // Whichever concurrent write won, the server ends with its own value.
    assert!(found.len() <= 1, "{found:?}");
    for v in &found {
        assert_eq!((v.rule, &v.old_value), ("unit_status_server_only", &json!("held")));
    }
    assert_eq!(read_project(&server).unwrap().units[&priced].status, UnitStatus::Held);
}

#[test]
fn only_headquarters_adds_and_removes_units() {
    let data = data();
    let (p, priced, _) = project(&data);
    let added = new_unit(&p);
    let (p, priced, added) = (&p, &priced, &added);
    let mut cases = Vec::new();
    for (user, role, kept) in [
        ("rep-01", Role::Rep, false),
        ("staff-01", Role::EventStaff, false),
        ("venue-01", Role::Venue, false),
        ("fin", Role::Finance, false),
        ("hq", Role::Hq, true),
    ] {
        let edits = writes(vec![
            ProjectEdit::UpsertUnit(added.clone()),
            ProjectEdit::RemoveUnit(priced.clone()),
        ]);
        let name = format!("{user} adds a unit and removes one");
        cases.push(if kept {
            Case::new(name, (user, role), edits, Expect::Kept).then(|o| {
                let units = read_project(&o.server).unwrap().units;
                assert!(units.contains_key(&added.id) && !units.contains_key(priced));
            })
        } else {
            let mut expected = vec![
                Violation {
                    field: format!("/units/{priced}"),
                    rule: "units_hq_only",
                    old_value: json(&p.units[priced]),
                    new_value: Value::Null,
                },
                Violation {
                    field: format!("/units/{}", added.id),
                    rule: "units_hq_only",
                    old_value: Value::Null,
                    new_value: json(added),
                },
            ];
            expected.sort_by(|a, b| a.field.cmp(&b.field));
            Case::new(name, (user, role), edits, Expect::Exactly(expected))
                .actions(&["authority.restore_unit"])
                .then(|o| assert_eq!(read_project(&o.server).unwrap().units, p.units))
        });
    }
    run(cases, &held(|| server_project(p)));
}

#[test]
fn a_units_code_floor_area_and_status_are_not_a_reps_or_a_desks() {
    let data = data();
    let (p, priced, unpriced) = project(&data);
    let old = &p.units[&priced];
    let remeasured =
        Unit { area_m2: old.area_m2 + Decimal::ONE, layout: "4室2厅2卫".into(), ..old.clone() };
    let moved = Unit { floor: old.floor + 10, layout: "1室1厅1卫".into(), ..old.clone() };
    let sold = Unit {
        status: UnitStatus::Sold,
        unit_price: Some(Decimal::from(21_000)),
        approval: Some(approval("hq")),
        ..new_unit(&p)
    };
    let (p, priced, unpriced, sold_, layout) = (&p, &priced, &unpriced, &sold, &remeasured.layout);
    let cases = vec![
        Case::new(
            "a unit on an open desk stays with its code and area but its layout may change",
            HQ,
            writes(vec![
                ProjectEdit::UpsertUnit(remeasured.clone()),
                ProjectEdit::RemoveUnit(unpriced.clone()),
            ]),
            Expect::FieldsAnyOrder(vec![
                (format!("/units/{priced}/area_m2"), "unit_on_open_desk"),
                (format!("/units/{unpriced}"), "unit_on_open_desk"),
            ]),
        )
        .desk(FakeDesk {
            units: vec![priced.clone(), unpriced.clone()],
            event_open: false,
            lent: Vec::new(),
        })
        .then(move |o| {
            let units = read_project(&o.server).unwrap().units;
            assert_eq!(units[priced], Unit { layout: layout.clone(), ..p.units[priced].clone() });
            assert_eq!(units[unpriced], p.units[unpriced], "the desk's unit is back");
        }),
        Case::new(
            "a unit headquarters adds sold arrives available with its price",
            HQ,
            writes(vec![ProjectEdit::UpsertUnit(sold.clone())]),
            Expect::Exactly(vec![Violation {
                field: format!("/units/{}/status", sold.id),
                rule: "unit_status_server_only",
                old_value: json!("available"),
                new_value: json!("sold"),
            }]),
        )
        .then(move |o| {
            let unit = &read_project(&o.server).unwrap().units[&sold_.id];
            assert_eq!(unit, &Unit { status: UnitStatus::Available, ..sold_.clone() });
        }),
        Case::new(
            "a rep moving a unit to another floor or layout is restored",
            REP,
            writes(vec![ProjectEdit::UpsertUnit(moved)]),
            Expect::Fields(vec![
                (format!("/units/{priced}/floor"), "units_hq_only"),
                (format!("/units/{priced}/layout"), "units_hq_only"),
            ]),
        )
        .then(|o| assert_eq!(read_project(&o.server).unwrap().units, p.units)),
    ];
    run(cases, &held(|| server_project(p)));
}

#[test]
fn buildings_and_the_name_of_a_project_are_headquarters() {
    let data = data();
    let (p, _, _) = project(&data);
    let existing = p.buildings.values().next().unwrap().clone();
    let added = Building { id: BuildingId::new(), name: "9号楼".into(), floors: 28 };
    let renamed = Building { floors: existing.floors + 1, ..existing.clone() };
    let edits = || {
        writes(vec![
            ProjectEdit::Rename("别人的项目".into()),
            ProjectEdit::UpsertBuilding(added.clone()),
            ProjectEdit::UpsertBuilding(renamed.clone()),
        ])
    };
    let p = &p;
    let cases = vec![
        Case::new(
            "a rep renaming the project and writing buildings is restored",
            REP,
            edits(),
            Expect::Rules(vec!["project_hq_only", "buildings_hq_only", "buildings_hq_only"]),
        )
        .actions(&["authority.restore_project_name", "authority.restore_buildings"])
        .then(|o| {
            let after = read_project(&o.server).unwrap();
            assert_eq!((&after.name, &after.buildings), (&p.name, &p.buildings));
        }),
        Case::new(
            "an admin renames the project and writes buildings",
            ("admin", Role::Admin),
            edits(),
            Expect::Kept,
        )
        .then(|o| assert_eq!(read_project(&o.server).unwrap().name, "别人的项目")),
        Case::new(
            "finance removing a building is restored",
            ("fin", Role::Finance),
            writes(vec![ProjectEdit::RemoveBuilding(existing.id.clone())]),
            Expect::Rules(vec!["buildings_hq_only"]),
        )
        .then(|o| {
            assert_eq!(o.found[0].new_value, Value::Null);
            assert_eq!(read_project(&o.server).unwrap().buildings, p.buildings);
        }),
    ];
    run(cases, &held(|| server_project(p)));
}

#[test]
fn a_project_created_on_a_device_keeps_what_its_creator_may_write() {
    let data = data();
    let (mut p, priced, _) = project(&data);
    p.units.get_mut(&priced).unwrap().status = UnitStatus::Held;
    let (p, priced) = (&p, &priced);
    let nothing = |_: &mut Document, _: &str| {};
    let cases = vec![
        Case::new(
            "hq creates a project with a held unit",
            HQ,
            nothing,
            Expect::Fields(vec![(format!("/units/{priced}/status"), "unit_status_server_only")]),
        )
        .then(|o| {
            let after = read_project(&o.server).unwrap();
            assert_eq!(after.units[priced].status, UnitStatus::Available);
            assert_eq!(after.units.len(), p.units.len());
        }),
        // Finance may create a project (`scope::may_create`) and name it, nothing more.
        Case::new(
            "finance creates a project",
            ("fin", Role::Finance),
            nothing,
            Expect::Each {
                rules: &["buildings_hq_only", "units_hq_only"],
                count: p.units.len() + p.buildings.len(),
            },
        )
        .then(|o| {
            let after = read_project(&o.server).unwrap();
            assert_eq!(
                (after.name.as_str(), after.units.len(), after.buildings.len()),
                (p.name.as_str(), 0, 0)
            );
        }),
    ];
    run(
        cases,
        &created(|user| create_project(p, ActorId::random(), &meta(user, "create")).unwrap()),
    );
}

/// A venue server holding an event's lease is that event's desk (ADR 0021): the unit statuses
/// and prices its mirror writes into the event's allotted units are kept, as central's own
/// mirror's are; a unit of another event, and what only headquarters writes, are restored.
#[test]
fn a_venue_holding_the_lease_mirrors_its_units_and_nothing_else() {
    let data = data();
    let (p, priced, unpriced) = project(&data);
    let lent = crate::db::desk::state::LentDesk {
        event_id: "ev-1".into(),
        project_id: p.id.as_str().to_owned(),
        units: vec![priced.as_str().to_owned()],
    };
    let desk = FakeDesk {
        units: vec![priced.clone(), unpriced.clone()],
        event_open: false,
        lent: vec![lent],
    };
    let venue = who("venue-01", Role::Venue);
    let mut server = server_project(&p);
    let mut device = device_copy(&mut server);
    let edits = vec![
        set_status(&priced, UnitStatus::Sold),
        approve(&priced, 23_000, "hq"),
        set_status(&unpriced, UnitStatus::Held),
    ];
    writes(edits)(&mut device, "desk");
    let found = merge_at_desk(&mut server, &mut device, &venue, &desk);
    let rules: Vec<_> = found.iter().map(|v| (v.field.as_str(), v.rule)).collect();
    let unpriced_status = format!("/units/{unpriced}/status");
    assert_eq!(rules, vec![(unpriced_status.as_str(), "unit_status_server_only")]);
    let units = read_project(&server).unwrap().units;
    assert_eq!(units[&priced].status, UnitStatus::Sold, "the lent unit: the venue's desk's");
    assert_eq!(units[&priced].unit_price, Some(Decimal::from(23_000)));
    assert_eq!(units[&unpriced].status, UnitStatus::Available, "another unit: restored");

    // The same writes from a venue whose lease is over are a staff member's: all restored.
    let mut server = server_project(&p);
    let mut device = device_copy(&mut server);
    writes(vec![set_status(&priced, UnitStatus::Sold)])(&mut device, "desk");
    let ended = FakeDesk { lent: Vec::new(), ..desk };
    let found = merge_at_desk(&mut server, &mut device, &venue, &ended);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(read_project(&server).unwrap().units[&priced].status, UnitStatus::Available);
}

//! What a device adds to and removes from a project: units, buildings, the name.

use kam_core::doc::{ProjectEdit, edit_project, project_doc_id, read_project};
use kam_core::model::{Building, BuildingId, Unit};

use super::*;

fn edit_project_as(device: &mut Document, user: &str, edit: &ProjectEdit) {
    edit_project(device, edit, &meta(user, edit.action())).unwrap();
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
fn only_headquarters_adds_and_removes_units() {
    let data = data();
    let (p, priced, _) = project(&data);
    let added = new_unit(&p);
    let edits = [ProjectEdit::UpsertUnit(added.clone()), ProjectEdit::RemoveUnit(priced.clone())];
    for (user, role, kept) in [
        ("rep-01", Role::Rep, false),
        ("staff-01", Role::EventStaff, false),
        ("fin", Role::Finance, false),
        ("hq", Role::Hq, true),
    ] {
        let mut server = server_project(&p);
        let mut device = device_copy(&mut server);
        for edit in &edits {
            edit_project_as(&mut device, user, edit);
        }
        let author = who(user, role);
        let found = merge_and_enforce(&mut server, &mut device, &author);
        let units = read_project(&server).unwrap().units;
        if kept {
            assert_eq!(found, Vec::new());
            assert!(units.contains_key(&added.id) && !units.contains_key(&priced));
        } else {
            let mut expected = vec![
                Violation {
                    field: format!("/units/{priced}"),
                    rule: "units_hq_only",
                    old_value: json(&p.units[&priced]),
                    new_value: Value::Null,
                },
                Violation {
                    field: format!("/units/{}", added.id),
                    rule: "units_hq_only",
                    old_value: Value::Null,
                    new_value: json(&added),
                },
            ];
            expected.sort_by(|a, b| a.field.cmp(&b.field));
            assert_eq!(found, expected, "{user}");
            assert_eq!(units, p.units, "{user}");
            assert_eq!(server_actions(&mut server), vec!["authority.restore_unit".to_owned()]);
        }
        assert_settled(&mut server, &author);
    }
}

#[test]
fn a_unit_on_an_open_desk_stays_with_its_code_and_area_but_its_layout_may_change() {
    let data = data();
    let (p, priced, unpriced) = project(&data);
    let mut server = server_project(&p);
    let mut device = device_copy(&mut server);
    let old = &p.units[&priced];
    let remeasured =
        Unit { area_m2: old.area_m2 + Decimal::ONE, layout: "4室2厅2卫".into(), ..old.clone() };
    edit_project_as(&mut device, "hq", &ProjectEdit::UpsertUnit(remeasured.clone()));
    edit_project_as(&mut device, "hq", &ProjectEdit::RemoveUnit(unpriced.clone()));
    let hq = who("hq", Role::Hq);
    let on_desk = [priced.clone(), unpriced.clone()];
    let found = merge_and_check(&mut server, &mut device, &hq, &on_desk);
    let mut fields: Vec<(String, &str)> = found.iter().map(|v| (v.field.clone(), v.rule)).collect();
    fields.sort();
    let mut expected = vec![
        (format!("/units/{priced}/area_m2"), "unit_on_open_desk"),
        (format!("/units/{unpriced}"), "unit_on_open_desk"),
    ];
    expected.sort();
    assert_eq!(fields, expected);
    let units = read_project(&server).unwrap().units;
    assert_eq!(units[&priced], Unit { layout: remeasured.layout, ..old.clone() });
    assert_eq!(units[&unpriced], p.units[&unpriced], "the desk's unit is back");
    assert_settled(&mut server, &hq);
}

#[test]
fn a_unit_headquarters_adds_sold_arrives_available_with_its_price() {
    let data = data();
    let (p, _, _) = project(&data);
    let mut server = server_project(&p);
    let mut device = device_copy(&mut server);
    let added = Unit {
        status: UnitStatus::Sold,
        unit_price: Some(Decimal::from(21_000)),
        approval: Some(approval("hq")),
        ..new_unit(&p)
    };
    edit_project_as(&mut device, "hq", &ProjectEdit::UpsertUnit(added.clone()));
    let hq = who("hq", Role::Hq);
    let found = merge_and_enforce(&mut server, &mut device, &hq);
    assert_eq!(
        found,
        vec![Violation {
            field: format!("/units/{}/status", added.id),
            rule: "unit_status_server_only",
            old_value: json!("available"),
            new_value: json!("sold"),
        }]
    );
    let unit = &read_project(&server).unwrap().units[&added.id];
    assert_eq!(unit, &Unit { status: UnitStatus::Available, ..added.clone() });
    assert_settled(&mut server, &hq);
}

#[test]
fn a_rep_moving_a_unit_to_another_floor_or_layout_is_restored() {
    let data = data();
    let (p, priced, _) = project(&data);
    let mut server = server_project(&p);
    let mut device = device_copy(&mut server);
    let old = &p.units[&priced];
    let moved = Unit { floor: old.floor + 10, layout: "1室1厅1卫".into(), ..old.clone() };
    edit_project_as(&mut device, "rep-01", &ProjectEdit::UpsertUnit(moved));
    let rep = who("rep-01", Role::Rep);
    let found = merge_and_enforce(&mut server, &mut device, &rep);
    let fields: Vec<(String, &str)> = found.iter().map(|v| (v.field.clone(), v.rule)).collect();
    assert_eq!(
        fields,
        vec![
            (format!("/units/{priced}/floor"), "units_hq_only"),
            (format!("/units/{priced}/layout"), "units_hq_only"),
        ]
    );
    assert_eq!(read_project(&server).unwrap().units, p.units);
    assert_settled(&mut server, &rep);
}

#[test]
fn buildings_and_the_name_of_a_project_are_headquarters() {
    let data = data();
    let (p, _, _) = project(&data);
    let existing = p.buildings.values().next().unwrap().clone();
    let added = Building { id: BuildingId::new(), name: "9号楼".into(), floors: 28 };
    let renamed = Building { floors: existing.floors + 1, ..existing.clone() };
    let edits = [
        ProjectEdit::Rename("别人的项目".into()),
        ProjectEdit::UpsertBuilding(added.clone()),
        ProjectEdit::UpsertBuilding(renamed),
    ];
    for (user, role, kept) in [("rep-01", Role::Rep, false), ("admin", Role::Admin, true)] {
        let mut server = server_project(&p);
        let mut device = device_copy(&mut server);
        for edit in &edits {
            edit_project_as(&mut device, user, edit);
        }
        let author = who(user, role);
        let found = merge_and_enforce(&mut server, &mut device, &author);
        if kept {
            assert_eq!(found, Vec::new());
            assert_eq!(read_project(&server).unwrap().name, "别人的项目");
        } else {
            let rules: Vec<&str> = found.iter().map(|v| v.rule).collect();
            assert_eq!(rules, vec!["project_hq_only", "buildings_hq_only", "buildings_hq_only"]);
            let after = read_project(&server).unwrap();
            assert_eq!((&after.name, &after.buildings), (&p.name, &p.buildings));
            assert_eq!(
                server_actions(&mut server),
                vec!["authority.restore_project_name", "authority.restore_buildings"]
            );
        }
        assert_settled(&mut server, &author);
    }

    // Removing a building.
    let mut server = server_project(&p);
    let mut device = device_copy(&mut server);
    edit_project_as(&mut device, "fin", &ProjectEdit::RemoveBuilding(existing.id.clone()));
    let fin = who("fin", Role::Finance);
    let found = merge_and_enforce(&mut server, &mut device, &fin);
    assert_eq!(found.len(), 1);
    assert_eq!((found[0].rule, &found[0].new_value), ("buildings_hq_only", &Value::Null));
    assert_eq!(read_project(&server).unwrap().buildings, p.buildings);
}

#[test]
fn a_project_created_on_a_device_keeps_what_its_creator_may_write() {
    let data = data();
    let (mut p, priced, _) = project(&data);
    p.units.get_mut(&priced).unwrap().status = UnitStatus::Held;

    let mut server = Document::empty(project_doc_id(&p.id), ActorId::random());
    let mut device = create_project(&p, ActorId::random(), &meta("hq", "create")).unwrap();
    let hq = who("hq", Role::Hq);
    let found = merge_and_enforce(&mut server, &mut device, &hq);
    let rules: Vec<(String, &str)> = found.iter().map(|v| (v.field.clone(), v.rule)).collect();
    assert_eq!(rules, vec![(format!("/units/{priced}/status"), "unit_status_server_only")]);
    let after = read_project(&server).unwrap();
    assert_eq!(after.units[&priced].status, UnitStatus::Available);
    assert_eq!(after.units.len(), p.units.len());
    assert_settled(&mut server, &hq);

    // Finance may create a project (`scope::may_create`) and name it, nothing more.
    let mut server = Document::empty(project_doc_id(&p.id), ActorId::random());
    let mut device = create_project(&p, ActorId::random(), &meta("fin", "create")).unwrap();
    let fin = who("fin", Role::Finance);
    let found = merge_and_enforce(&mut server, &mut device, &fin);
    assert!(found.iter().all(|v| ["buildings_hq_only", "units_hq_only"].contains(&v.rule)));
    assert_eq!(found.len(), p.units.len() + p.buildings.len());
    let after = read_project(&server).unwrap();
    assert_eq!(
        (after.name.as_str(), after.units.len(), after.buildings.len()),
        (p.name.as_str(), 0, 0)
    );
    assert_settled(&mut server, &fin);
}

//! A project: its name, buildings and units are headquarters'; a unit's status is the
//! server's alone (the reservation authority); a unit on an open selection desk is priced
//! through the desk and keeps its code and area, which the desk charges by, and its place in
//! the project.

use std::collections::{BTreeMap, BTreeSet};

use kam_core::doc::{
    DocKind, Document, ProjectEdit, Touched, edit_project_batch, read_project_entries,
};
use kam_core::model::{Project, Unit, UnitId, UnitStatus};
use kam_core::rules::{DocPart, Write, WriteRule};
use serde::Serialize;

use super::compare::{Findings, check_entries};
use super::{Check, Violation};
use crate::error::ServerError;

/// Checks the parts of the project the merge touched against `before` (`None`: the merge
/// created it) and compensates what the author may not do, one server commit per part.
/// `desk_owned` names the units an open selection desk holds.
pub(super) fn enforce(
    doc: &mut Document,
    before: Option<&Project>,
    desk_owned: &BTreeSet<UnitId>,
    touched: &Touched,
    check: &Check<'_>,
) -> Result<Vec<Violation>, ServerError> {
    let parts = touched.parts(DocKind::Project);
    let checked = [DocPart::ProjectName, DocPart::Buildings, DocPart::Units];
    if !checked.iter().any(|p| parts.contains(p)) {
        return Ok(Vec::new());
    }
    let after = read_project_entries(doc, None, touched)?;
    let empty;
    let before = match before {
        Some(b) => b,
        None => {
            let (name, buildings, units) = (String::new(), BTreeMap::new(), BTreeMap::new());
            empty = Project { id: after.id.clone(), name, buildings, units };
            &empty
        }
    };
    let mut found = Vec::new();
    let mut name = Findings::new();
    if before.name != after.name
        && let Err(rule) = check.judge(DocPart::ProjectName, check.group_write(), false)
    {
        name.refuse("/name".into(), rule, &before.name, &after.name);
        name.undo(ProjectEdit::Rename(before.name.clone()));
    }
    let buildings = check_entries(
        "/buildings",
        &before.buildings,
        &after.buildings,
        |write| check.judge(DocPart::Buildings, write, false),
        |id, authorised| match authorised {
            Some(b) => ProjectEdit::UpsertBuilding(b.clone()),
            None => ProjectEdit::RemoveBuilding(id.clone()),
        },
    );
    let units = check_units(&before.units, &after.units, desk_owned, check);
    for (findings, action) in [
        (name, "authority.restore_project_name"),
        (buildings, "authority.restore_buildings"),
        (units, "authority.restore_unit"),
    ] {
        let meta = check.meta(action);
        findings.settle(&mut found, |edits| Ok(edit_project_batch(doc, edits, &meta)?))?;
    }
    Ok(found)
}

/// Judges every unit that differs: added or removed as an entity, changed field by field.
/// Only the broken fields of a unit are restored: the rest of it as merged (say, a price
/// headquarters approved in the same merge) stays.
fn check_units(
    before: &BTreeMap<UnitId, Unit>,
    after: &BTreeMap<UnitId, Unit>,
    desk_owned: &BTreeSet<UnitId>,
    check: &Check<'_>,
) -> Findings<ProjectEdit> {
    let mut units = Findings::new();
    let ids: BTreeSet<&UnitId> = before.keys().chain(after.keys()).collect();
    for id in ids {
        let on_desk = desk_owned.contains(id);
        let path = format!("/units/{id}");
        match (before.get(id), after.get(id)) {
            (Some(old), None) => {
                if let Err(rule) = check.judge(DocPart::Units, Write::Remove, on_desk) {
                    units.refuse(path, rule, &Some(old), &None);
                    units.undo(ProjectEdit::UpsertUnit(old.clone()));
                }
            }
            (None, Some(new)) => match check.judge(DocPart::Units, Write::Add, on_desk) {
                Err(rule) => {
                    units.refuse(path, rule, &None, &Some(new));
                    units.undo(ProjectEdit::RemoveUnit(id.clone()));
                }
                Ok(()) => check_unit(&mut units, &as_added(new), new, Write::Add, on_desk, check),
            },
            (Some(old), Some(new)) => {
                check_unit(&mut units, old, new, Write::Change, on_desk, check);
            }
            (None, None) => {}
        }
    }
    units
}

/// What a unit added by someone who may add units is compared with: itself, available and
/// unpriced. Its status is the server's and its price needs the right to price.
fn as_added(unit: &Unit) -> Unit {
    Unit { unit_price: None, approval: None, status: UnitStatus::Available, ..unit.clone() }
}

/// Judges the fields of one unit that `write` took from `old` to `new`, restoring each
/// refused one in a single upsert of the unit.
fn check_unit(
    units: &mut Findings<ProjectEdit>,
    old: &Unit,
    new: &Unit,
    write: Write,
    on_desk: bool,
    check: &Check<'_>,
) {
    if old == new {
        return;
    }
    let mut restored = new.clone();
    let path = format!("/units/{}", new.id);
    let judge = |part| check.judge_unit(&new.id, part, write, on_desk);
    let sale = judge(DocPart::UnitSaleFacts);
    field(units, &path, "code", &old.code, sale, &mut restored.code);
    field(units, &path, "area_m2", &old.area_m2, sale, &mut restored.area_m2);
    let facts = judge(DocPart::UnitFacts);
    field(units, &path, "building_id", &old.building_id, facts, &mut restored.building_id);
    field(units, &path, "floor", &old.floor, facts, &mut restored.floor);
    field(units, &path, "layout", &old.layout, facts, &mut restored.layout);
    if (old.unit_price, &old.approval) != (new.unit_price, &new.approval)
        && let Err(rule) = judge(DocPart::UnitPrice)
    {
        let field = format!("{path}/unit_price");
        units.refuse(field, rule, &old.unit_price, &new.unit_price);
        restored.unit_price = old.unit_price;
        restored.approval = old.approval.clone();
    }
    field(units, &path, "status", &old.status, judge(DocPart::UnitStatus), &mut restored.status);
    if restored != *new {
        units.undo(ProjectEdit::UpsertUnit(restored));
    }
}

/// Puts `authorised` back into `slot` (a field of the unit being restored) when the merge
/// wrote something else there and `verdict` refuses it.
fn field<T: PartialEq + Clone + Serialize>(
    units: &mut Findings<ProjectEdit>,
    path: &str,
    name: &str,
    authorised: &T,
    verdict: Result<(), WriteRule>,
    slot: &mut T,
) {
    if let (true, Err(rule)) = (authorised != slot, verdict) {
        units.refuse(format!("{path}/{name}"), rule, authorised, &*slot);
        *slot = authorised.clone();
    }
}

#[cfg(test)]
#[path = "project_tests.rs"]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)]
mod tests;

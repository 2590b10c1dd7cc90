//! The `project/<id>` document: buildings, units, approved prices and the unit status mirror.
//!
//! Layout (schema 1):
//! ```text
//! { schema, kind: "project", id, name,
//!   buildings: { "<building id>": { name, floors } },
//!   units: { "<unit id>": { code, building_id, floor, layout, area_m2, unit_price,
//!                           approval: { approvers[], approved_at }, status, desk_hold } } }
//! ```
//! Units are a map keyed by id, never a list, so concurrent edits of different units never
//! touch each other. `status` is a mirror written only by the server's reservation authority;
//! `desk_hold` (absent in documents mirrored before it existed) names the desk hold the status
//! is about, written with it by the desk's mirror and never by `UpsertUnit`.

use automerge::{ActorId, AutoCommit, ChangeHash, ROOT, ReadDoc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::codec::{MapReader, MapWriter, child_map, read_entries, read_selected};
use super::document::{DocId, DocKind, Document, EditMeta};
use super::error::DocError;
use super::parts::Touched;
use crate::bounds::{AREA_M2, UNIT_PRICE};
use crate::model::{
    Building, BuildingId, PriceApproval, Project, ProjectId, Unit, UnitId, UnitStatus, UserId,
};
use crate::rules::DocPart;

/// The root keys of a project document and the part of the permission matrix each holds (a
/// unit's facts, price and status live inside its entry under `units`).
pub(super) const PARTS: [(&str, DocPart); 5] = [
    ("kind", DocPart::Fixed),
    ("id", DocPart::Fixed),
    ("name", DocPart::ProjectName),
    ("buildings", DocPart::Buildings),
    ("units", DocPart::Units),
];

/// One action on a project; each becomes exactly one commit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "edit", rename_all = "snake_case")]
pub enum ProjectEdit {
    /// Add or change a building (HQ).
    UpsertBuilding(Building),
    /// Add or change a unit's physical data (HQ).
    UpsertUnit(Unit),
    /// Record an approved per-unit price and its approvers (HQ only).
    ApprovePrice {
        /// The unit.
        unit_id: UnitId,
        /// Approved price per square metre, CNY.
        unit_price: Decimal,
        /// Who approved it and when.
        approval: PriceApproval,
    },
    /// Mirror a unit status decided by the server's authority (server only).
    SetUnitStatus {
        /// The unit.
        unit_id: UnitId,
        /// The new status.
        status: UnitStatus,
    },
    /// Mirror many unit statuses from the selection desk in one commit (server only): a
    /// burst of holds becomes one change for the tablets, not one per unit. Each status comes
    /// with the desk hold it is about ([`Unit::desk_hold`]), if the desk ever held the unit.
    MirrorUnitStatuses(Vec<(UnitId, UnitStatus, Option<String>)>),
    /// Rename the project (HQ).
    Rename(String),
    /// Remove a building (HQ).
    RemoveBuilding(BuildingId),
    /// Remove a unit from the project (HQ; never one on an open selection desk).
    RemoveUnit(UnitId),
}

impl ProjectEdit {
    /// The stable action name recorded on the commit.
    pub fn action(&self) -> &'static str {
        match self {
            ProjectEdit::UpsertBuilding(_) => "project.upsert_building",
            ProjectEdit::UpsertUnit(_) => "project.upsert_unit",
            ProjectEdit::ApprovePrice { .. } => "project.approve_price",
            ProjectEdit::SetUnitStatus { .. } => "project.set_unit_status",
            ProjectEdit::MirrorUnitStatuses(_) => "project.mirror_unit_statuses",
            ProjectEdit::Rename(_) => "project.rename",
            ProjectEdit::RemoveBuilding(_) => "project.remove_building",
            ProjectEdit::RemoveUnit(_) => "project.remove_unit",
        }
    }
}

/// The document id of a project.
pub fn project_doc_id(id: &ProjectId) -> DocId {
    DocId::new(DocKind::Project, id.as_str())
}

/// Creates the document for `project`, with all its buildings and units, in one commit.
pub fn create_project(
    project: &Project,
    actor: ActorId,
    meta: &EditMeta,
) -> Result<Document, DocError> {
    let mut doc = Document::create(project_doc_id(&project.id), actor)?;
    doc.commit_action(meta, |am| {
        let mut root = MapWriter::new(am, ROOT);
        root.str("name", &project.name)?;
        // Both containers are new, so each is built whole in memory and created in one batch
        // (see `MapWriter::upsert_child`): the same operations as upserting the entries one by
        // one, without one op-set search per field.
        root.upsert_child("buildings", |buildings| {
            for b in project.buildings.values() {
                buildings.upsert_child(b.id.as_str(), |w| write_building(w, b))?;
            }
            Ok(())
        })?;
        root.upsert_child("units", |units| {
            for u in project.units.values() {
                units.upsert_child(u.id.as_str(), |w| write_unit(w, u))?;
            }
            Ok(())
        })
    })?;
    Ok(doc)
}

/// Applies one action to a project document as one commit.
pub fn edit_project(
    doc: &mut Document,
    edit: &ProjectEdit,
    meta: &EditMeta,
) -> Result<(), DocError> {
    edit_project_batch(doc, std::slice::from_ref(edit), meta)
}

/// Applies several edits as one commit (one action made of several writes, such as the
/// server restoring every unit a merge wrote without authority). If any edit fails, none is
/// kept.
pub fn edit_project_batch(
    doc: &mut Document,
    edits: &[ProjectEdit],
    meta: &EditMeta,
) -> Result<(), DocError> {
    doc.check(DocKind::Project)?;
    let doc_id = doc.id().to_string();
    doc.commit_action(meta, |am| {
        edits.iter().try_for_each(|edit| {
            let needs = match edit {
                ProjectEdit::ApprovePrice { unit_id, .. }
                | ProjectEdit::SetUnitStatus { unit_id, .. }
                | ProjectEdit::RemoveUnit(unit_id) => Some(("units", "unit", unit_id.as_str())),
                ProjectEdit::RemoveBuilding(id) => Some(("buildings", "building", id.as_str())),
                _ => None,
            };
            if let Some((container, entity, id)) = needs {
                let parent = child_map(am, &ROOT, container)?;
                if MapReader::new(am, parent).child(id)?.is_none() {
                    let (id, doc_id) = (id.to_owned(), doc_id.clone());
                    return Err(DocError::EntityNotFound { entity, id, doc_id });
                }
            }
            apply(am, edit)
        })
    })?;
    Ok(())
}

/// The writer of an entry of a container that must exist, e.g. a unit being priced.
fn entry<'a>(am: &'a mut AutoCommit, container: &str, id: &str) -> Result<MapWriter<'a>, DocError> {
    MapWriter::new(am, ROOT).into_child(container)?.into_child(id)
}

fn apply(am: &mut AutoCommit, edit: &ProjectEdit) -> Result<(), DocError> {
    match edit {
        ProjectEdit::UpsertBuilding(b) => MapWriter::new(am, ROOT)
            .into_child("buildings")?
            .upsert_child(b.id.as_str(), |w| write_building(w, b)),
        ProjectEdit::UpsertUnit(u) => MapWriter::new(am, ROOT)
            .into_child("units")?
            .upsert_child(u.id.as_str(), |w| write_unit(w, u)),
        ProjectEdit::ApprovePrice { unit_id, unit_price, approval } => {
            write_price(&mut entry(am, "units", unit_id.as_str())?, *unit_price, approval)
        }
        ProjectEdit::SetUnitStatus { unit_id, status } => {
            entry(am, "units", unit_id.as_str())?.str("status", status.as_str())
        }
        ProjectEdit::MirrorUnitStatuses(statuses) => {
            let units = child_map(am, &ROOT, "units")?;
            for (unit_id, status, hold) in statuses {
                // A unit the document does not have yet is skipped, not created half-empty.
                let existing = match am.get(&units, unit_id.as_str())? {
                    Some((automerge::Value::Object(automerge::ObjType::Map), id)) => Some(id),
                    _ => None,
                };
                if let Some(unit) = existing {
                    let mut w = MapWriter::new(am, unit);
                    w.str("status", status.as_str())?;
                    if let Some(hold) = hold {
                        w.str("desk_hold", hold)?;
                    }
                }
            }
            Ok(())
        }
        ProjectEdit::Rename(name) => MapWriter::new(am, ROOT).str("name", name),
        ProjectEdit::RemoveBuilding(id) => {
            MapWriter::new(am, ROOT).into_child("buildings")?.delete(id.as_str())
        }
        ProjectEdit::RemoveUnit(id) => {
            MapWriter::new(am, ROOT).into_child("units")?.delete(id.as_str())
        }
    }
}

fn write_building(w: &mut MapWriter<'_>, b: &Building) -> Result<(), DocError> {
    w.str("name", &b.name)?;
    w.int("floors", i64::from(b.floors))
}

fn write_unit(w: &mut MapWriter<'_>, u: &Unit) -> Result<(), DocError> {
    w.str("code", &u.code)?;
    w.str("building_id", u.building_id.as_str())?;
    w.int("floor", i64::from(u.floor))?;
    w.str("layout", &u.layout)?;
    w.bounded_decimal("area_m2", u.area_m2, &AREA_M2)?;
    w.str("status", u.status.as_str())?;
    if let (Some(price), Some(approval)) = (u.unit_price, &u.approval) {
        write_price(w, price, approval)?;
    } else {
        // An unpriced unit carries no price at all, so restoring a unit to its unpriced
        // state (the server's compensation) removes a price written without authority.
        w.delete("unit_price")?;
        w.delete("approval")?;
    }
    Ok(())
}

fn write_price(
    w: &mut MapWriter<'_>,
    price: Decimal,
    approval: &PriceApproval,
) -> Result<(), DocError> {
    w.bounded_decimal("unit_price", price, &UNIT_PRICE)?;
    let approvers: Vec<String> = approval.approvers.iter().map(|a| a.to_string()).collect();
    let mut aw = w.child("approval")?;
    aw.str_list("approvers", &approvers)?;
    aw.time("approved_at", approval.approved_at)
}

/// The root key of a project document under which its units, their prices and statuses are.
pub const UNITS_ROOT_KEY: &str = "units";

/// Reads the whole project.
pub fn read_project(doc: &Document) -> Result<Project, DocError> {
    project(&doc.check(DocKind::Project)?)
}

/// Reads the whole project as it was at `heads`.
pub fn read_project_at(doc: &Document, heads: &[ChangeHash]) -> Result<Project, DocError> {
    project(&doc.check_at(DocKind::Project, Some(heads))?)
}

fn project(root: &MapReader<'_>) -> Result<Project, DocError> {
    Ok(Project {
        id: ProjectId(root.str("id")?),
        name: root.str_or_empty("name")?,
        buildings: read_entries(root, "buildings", read_building)?,
        units: read_entries(root, "units", read_unit)?,
    })
}

/// Reads a project's name and those of its buildings and units that `touched` names, as they
/// are now or (for `Some(heads)`) as they were at `heads`: a merge that priced two units of
/// 3,000 is compared on those two. Untouched collections read as empty.
pub fn read_project_entries(
    doc: &Document,
    heads: Option<&[ChangeHash]>,
    touched: &Touched,
) -> Result<Project, DocError> {
    let root = doc.check_at(DocKind::Project, heads)?;
    Ok(Project {
        id: ProjectId(root.str("id")?),
        name: root.str_or_empty("name")?,
        buildings: read_selected(&root, "buildings", touched.entries("buildings"), read_building)?,
        units: read_selected(&root, "units", touched.entries("units"), read_unit)?,
    })
}

/// Reads the units `ids` of a project; a unit the document does not hold reads as `None`.
pub fn read_units(doc: &Document, ids: &[UnitId]) -> Result<Vec<(UnitId, Option<Unit>)>, DocError> {
    let root = doc.check(DocKind::Project)?;
    let Some(units) = root.sparse_child("units")? else {
        return Ok(ids.iter().map(|id| (id.clone(), None)).collect());
    };
    ids.iter()
        .map(|id| {
            let unit = match units.sparse_child(id.as_str())? {
                Some(r) => Some(read_unit(id.as_str(), &r)?),
                None => None,
            };
            Ok((id.clone(), unit))
        })
        .collect()
}

fn read_building(id: &str, r: &MapReader<'_>) -> Result<Building, DocError> {
    Ok(Building {
        id: BuildingId(id.to_owned()),
        name: r.str_or_empty("name")?,
        floors: r.opt_int("floors")?.and_then(|f| u32::try_from(f).ok()).unwrap_or(0),
    })
}

fn read_unit(id: &str, r: &MapReader<'_>) -> Result<Unit, DocError> {
    let approval = match r.child("approval")? {
        Some(a) => Some(PriceApproval {
            approvers: a
                .str_list("approvers")?
                .unwrap_or_default()
                .into_iter()
                .map(UserId)
                .collect(),
            approved_at: a.time("approved_at")?,
        }),
        None => None,
    };
    Ok(Unit {
        id: UnitId(id.to_owned()),
        code: r.str_or_empty("code")?,
        building_id: BuildingId(r.str_or_empty("building_id")?),
        floor: r.opt_int("floor")?.and_then(|f| i32::try_from(f).ok()).unwrap_or(0),
        layout: r.str_or_empty("layout")?,
        area_m2: r.bounded_decimal_or_zero("area_m2", &AREA_M2)?,
        unit_price: r.opt_bounded_decimal("unit_price", &UNIT_PRICE)?,
        approval,
        status: r.opt_code("status")?.unwrap_or(UnitStatus::Available),
        desk_hold: r.opt_str("desk_hold")?,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic on a broken expectation.

    use automerge::transaction::Transactable;
    use automerge::{ObjType, ReadDoc, ScalarValue};
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::test_support::units::{two_unit_project as project, unit};

    fn meta() -> EditMeta {
        let at = Utc.with_ymd_and_hms(2026, 11, 23, 1, 0, 0).unwrap();
        EditMeta::new(&UserId::from("hq"), at, "test")
    }

    /// The documented layout written op by op with plain Automerge calls, as other replicas
    /// (and earlier builds of this one) write it.
    fn layout_by_hand() -> AutoCommit {
        let mut am = AutoCommit::new();
        am.put(ROOT, "schema", 1_i64).unwrap();
        am.put(ROOT, "kind", "project").unwrap();
        am.put(ROOT, "id", "p1").unwrap();
        am.put(ROOT, "name", "滨江花园").unwrap();
        let buildings = am.put_object(ROOT, "buildings", ObjType::Map).unwrap();
        let b1 = am.put_object(&buildings, "b1", ObjType::Map).unwrap();
        am.put(&b1, "name", "1号楼").unwrap();
        am.put(&b1, "floors", 30_i64).unwrap();
        let units = am.put_object(ROOT, "units", ObjType::Map).unwrap();
        for (id, priced) in [("u1", true), ("u2", false)] {
            let u = am.put_object(&units, id, ObjType::Map).unwrap();
            am.put(&u, "code", format!("1-{id}")).unwrap();
            am.put(&u, "building_id", "b1").unwrap();
            am.put(&u, "floor", 3_i64).unwrap();
            am.put(&u, "layout", "3室2厅2卫").unwrap();
            am.put(&u, "area_m2", "123.45").unwrap();
            am.put(&u, "status", "available").unwrap();
            if priced {
                am.put(&u, "unit_price", "18500").unwrap();
                let a = am.put_object(&u, "approval", ObjType::Map).unwrap();
                let list = am.put_object(&a, "approvers", ObjType::List).unwrap();
                am.insert(&list, 0, "gm").unwrap();
                am.insert(&list, 1, "chairman").unwrap();
                am.put(&a, "approved_at", "2026-11-16T02:00:00Z").unwrap();
            }
        }
        am
    }

    #[test]
    fn batch_creation_writes_the_documented_layout() {
        let mut d = create_project(&project(), ActorId::random(), &meta()).unwrap();
        assert_eq!(d.history().len(), 1, "creation is one change");
        let saved = AutoCommit::load(&d.save()).unwrap();
        let expected = layout_by_hand();
        assert_eq!(saved.hydrate(ROOT, None).unwrap(), expected.hydrate(ROOT, None).unwrap());
        // Scalar types, not just display forms: floors and floor are integers.
        let (_, units) = saved.get(ROOT, "units").unwrap().unwrap();
        let (_, u1) = saved.get(&units, "u1").unwrap().unwrap();
        let (floor, _) = saved.get(&u1, "floor").unwrap().unwrap();
        assert!(matches!(floor, automerge::Value::Scalar(v) if v.as_ref() == &ScalarValue::Int(3)));
        assert_eq!(
            read_project(&Document::load(d.id().clone(), &d.save(), ActorId::random()).unwrap())
                .unwrap(),
            project()
        );
    }

    #[test]
    fn upserts_of_new_and_unchanged_units_on_an_existing_document() {
        let mut d = create_project(&project(), ActorId::random(), &meta()).unwrap();
        let heads = d.heads();
        edit_project(&mut d, &ProjectEdit::UpsertUnit(unit("u1", true)), &meta()).unwrap();
        let b = project().buildings.into_values().next().unwrap();
        edit_project(&mut d, &ProjectEdit::UpsertBuilding(b), &meta()).unwrap();
        assert_eq!(d.heads(), heads, "writing the same values records nothing");

        let mut expected = project();
        for u in [unit("u3", true), unit("u4", false)] {
            edit_project(&mut d, &ProjectEdit::UpsertUnit(u.clone()), &meta()).unwrap();
            expected.units.insert(u.id.clone(), u);
        }
        let mut changed = unit("u3", true);
        changed.layout = "2室1厅1卫".into();
        edit_project(&mut d, &ProjectEdit::UpsertUnit(changed.clone()), &meta()).unwrap();
        expected.units.insert(changed.id.clone(), changed);
        assert_eq!(d.history().len(), 4);
        assert_eq!(read_project(&d).unwrap(), expected);
        let reloaded = Document::load(d.id().clone(), &d.save(), ActorId::random()).unwrap();
        assert_eq!(read_project(&reloaded).unwrap(), expected);
    }

    #[test]
    fn concurrent_edits_merge_and_reads_see_the_same_winner_as_conflicts() {
        let mut a = create_project(&project(), ActorId::random(), &meta()).unwrap();
        let mut b = Document::load(a.id().clone(), &a.save(), ActorId::random()).unwrap();
        let held = ProjectEdit::SetUnitStatus { unit_id: "u1".into(), status: UnitStatus::Held };
        let sold = ProjectEdit::SetUnitStatus { unit_id: "u1".into(), status: UnitStatus::Sold };
        edit_project(&mut a, &held, &meta()).unwrap();
        edit_project(&mut b, &sold, &meta()).unwrap();
        edit_project(&mut b, &ProjectEdit::UpsertUnit(unit("u9", true)), &meta()).unwrap();
        a.merge(&mut b).unwrap();
        b.merge(&mut a).unwrap();
        let (pa, pb) = (read_project(&a).unwrap(), read_project(&b).unwrap());
        assert_eq!(pa, pb);
        assert!(pa.units.contains_key(&UnitId::from("u9")));
        let conflict = a.conflicts().unwrap().into_iter().find(|c| c.path == "/units/u1/status");
        let winner = conflict.expect("concurrent statuses conflict").values[0].clone();
        assert_eq!(pa.units[&UnitId::from("u1")].status.as_str(), winner);
    }

    #[test]
    fn units_and_buildings_are_removed_and_a_project_renamed_in_one_batch() {
        let mut d = create_project(&project(), ActorId::random(), &meta()).unwrap();
        let before = d.heads();
        let edits = [
            ProjectEdit::Rename("江畔花园".into()),
            ProjectEdit::RemoveUnit(UnitId::from("u2")),
            ProjectEdit::RemoveBuilding(BuildingId::from("b1")),
        ];
        edit_project_batch(&mut d, &edits, &meta()).unwrap();
        let read = read_project(&d).unwrap();
        assert_eq!(read.name, "江畔花园");
        assert_eq!(read.units.keys().collect::<Vec<_>>(), vec![&UnitId::from("u1")]);
        assert!(read.buildings.is_empty());
        assert_eq!(d.history().len(), 2, "creation and the one batch");
        let missing = ProjectEdit::RemoveUnit(UnitId::from("u2"));
        assert!(matches!(
            edit_project(&mut d, &missing, &meta()),
            Err(DocError::EntityNotFound { entity: "unit", .. })
        ));

        // As of the earlier heads, the touched unit only.
        let touched = Touched::from_patch_keys([(Some("units".into()), Some("u2".into()))]);
        let then = read_project_entries(&d, Some(&before), &touched).unwrap();
        assert_eq!((then.name.as_str(), then.units.len()), ("滨江花园", 1));
        assert_eq!(then.units[&UnitId::from("u2")], unit("u2", false));
        assert!(then.buildings.is_empty(), "buildings were not asked for");
    }

    #[test]
    fn a_merge_names_the_units_it_touched_and_only_those_are_reread() {
        let p = project();
        let mut doc = create_project(&p, ActorId::random(), &meta()).unwrap();
        let before = doc.heads();
        let statuses = vec![(UnitId::from("u2"), UnitStatus::Held, Some("hold-1".to_owned()))];
        edit_project(&mut doc, &ProjectEdit::MirrorUnitStatuses(statuses), &meta()).unwrap();
        let touched = doc.entries_touched_since(&before, "units").unwrap();
        assert_eq!(touched.into_iter().collect::<Vec<_>>(), vec!["u2".to_string()]);
        let read = read_units(&doc, &[UnitId::from("u2"), UnitId::from("u9")]).unwrap();
        assert_eq!(read[0].1.as_ref().unwrap().status, UnitStatus::Held);
        assert_eq!(read[0].1.as_ref().unwrap().desk_hold.as_deref(), Some("hold-1"));
        assert_eq!(read[0].1.as_ref().unwrap().code, "1-u2");
        assert!(read[1].1.is_none(), "an unknown unit reads as none");

        let approval =
            PriceApproval { approvers: vec![UserId::from("gm")], approved_at: meta().at };
        let before = doc.heads();
        let edit = ProjectEdit::ApprovePrice {
            unit_id: UnitId::from("u2"),
            unit_price: Decimal::from(19_000),
            approval,
        };
        edit_project(&mut doc, &edit, &meta()).unwrap();
        let touched = doc.entries_touched_since(&before, "units").unwrap();
        assert_eq!(touched.len(), 1, "a nested list and map inside the unit count as the unit");

        let before = doc.heads();
        let b = Building { id: BuildingId::from("b2"), name: "2号楼".into(), floors: 20 };
        edit_project(&mut doc, &ProjectEdit::UpsertBuilding(b), &meta()).unwrap();
        assert_eq!(
            doc.entries_touched_since(&before, "units"),
            None,
            "outside the units: read all"
        );
        let unknown = vec![automerge::ChangeHash([7; 32])];
        assert_eq!(doc.entries_touched_since(&unknown, "units"), None);
    }
}

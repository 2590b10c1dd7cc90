//! The `project/<id>` document: buildings, units, approved prices and the unit status mirror.
//!
//! Layout (schema 1):
//! ```text
//! { schema, kind: "project", id, name,
//!   buildings: { "<building id>": { name, floors } },
//!   units: { "<unit id>": { code, building_id, floor, layout, area_m2, unit_price,
//!                           approval: { approvers[], approved_at }, status } } }
//! ```
//! Units are a map keyed by id, never a list, so concurrent edits of different units never
//! touch each other. `status` is a mirror written only by the server's reservation authority.

use automerge::{ActorId, AutoCommit, ObjId, ROOT};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::codec::{MapReader, MapWriter};
use super::customer::read_entries;
use super::document::{DocId, DocKind, Document, EditMeta};
use super::error::DocError;
use crate::model::{
    Building, BuildingId, PriceApproval, Project, ProjectId, Unit, UnitId, UnitStatus, UserId,
};

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
}

impl ProjectEdit {
    /// The stable action name recorded on the commit.
    pub fn action(&self) -> &'static str {
        match self {
            ProjectEdit::UpsertBuilding(_) => "project.upsert_building",
            ProjectEdit::UpsertUnit(_) => "project.upsert_unit",
            ProjectEdit::ApprovePrice { .. } => "project.approve_price",
            ProjectEdit::SetUnitStatus { .. } => "project.set_unit_status",
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
        MapWriter::new(am, ROOT).str("name", &project.name)?;
        MapWriter::new(am, ROOT).child_map("buildings")?;
        MapWriter::new(am, ROOT).child_map("units")?;
        for building in project.buildings.values() {
            apply(am, &ProjectEdit::UpsertBuilding(building.clone()))?;
        }
        for unit in project.units.values() {
            apply(am, &ProjectEdit::UpsertUnit(unit.clone()))?;
        }
        Ok(())
    })?;
    Ok(doc)
}

/// Applies one action to a project document as one commit.
pub fn edit_project(
    doc: &mut Document,
    edit: &ProjectEdit,
    meta: &EditMeta,
) -> Result<(), DocError> {
    doc.check(DocKind::Project)?;
    let doc_id = doc.id().to_string();
    doc.commit_action(meta, |am| {
        if let ProjectEdit::ApprovePrice { unit_id, .. }
        | ProjectEdit::SetUnitStatus { unit_id, .. } = edit
        {
            let units = MapWriter::new(am, ROOT).child_map("units")?;
            if MapReader::new(am, units).child(unit_id.as_str())?.is_none() {
                return Err(DocError::EntityNotFound {
                    entity: "unit",
                    id: unit_id.to_string(),
                    doc_id,
                });
            }
        }
        apply(am, edit)
    })?;
    Ok(())
}

fn entry(am: &mut AutoCommit, container: &str, id: &str) -> Result<ObjId, DocError> {
    let parent = MapWriter::new(am, ROOT).child_map(container)?;
    MapWriter::new(am, parent).child_map(id)
}

fn apply(am: &mut AutoCommit, edit: &ProjectEdit) -> Result<(), DocError> {
    match edit {
        ProjectEdit::UpsertBuilding(b) => {
            let obj = entry(am, "buildings", b.id.as_str())?;
            let mut w = MapWriter::new(am, obj);
            w.str("name", &b.name)?;
            w.int("floors", i64::from(b.floors))
        }
        ProjectEdit::UpsertUnit(u) => {
            let obj = entry(am, "units", u.id.as_str())?;
            let mut w = MapWriter::new(am, obj);
            w.str("code", &u.code)?;
            w.str("building_id", u.building_id.as_str())?;
            w.int("floor", i64::from(u.floor))?;
            w.str("layout", &u.layout)?;
            w.decimal("area_m2", u.area_m2)?;
            w.str("status", u.status.as_str())?;
            if let (Some(price), Some(approval)) = (u.unit_price, &u.approval) {
                write_price(&mut w, price, approval)?;
            }
            Ok(())
        }
        ProjectEdit::ApprovePrice { unit_id, unit_price, approval } => {
            let obj = entry(am, "units", unit_id.as_str())?;
            write_price(&mut MapWriter::new(am, obj), *unit_price, approval)
        }
        ProjectEdit::SetUnitStatus { unit_id, status } => {
            let obj = entry(am, "units", unit_id.as_str())?;
            MapWriter::new(am, obj).str("status", status.as_str())
        }
    }
}

fn write_price(
    w: &mut MapWriter<'_>,
    price: Decimal,
    approval: &PriceApproval,
) -> Result<(), DocError> {
    w.decimal("unit_price", price)?;
    let obj = w.child_map("approval")?;
    let approvers: Vec<String> = approval.approvers.iter().map(|a| a.to_string()).collect();
    let mut aw = MapWriter::new(w.doc(), obj);
    aw.str_list("approvers", &approvers)?;
    aw.time("approved_at", approval.approved_at)
}

/// Reads the whole project.
pub fn read_project(doc: &Document) -> Result<Project, DocError> {
    let root = doc.check(DocKind::Project)?;
    Ok(Project {
        id: ProjectId(root.str("id")?),
        name: root.str_or_empty("name")?,
        buildings: read_entries(&root, "buildings", read_building)?,
        units: read_entries(&root, "units", read_unit)?,
    })
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
        area_m2: r.decimal_or_zero("area_m2")?,
        unit_price: r.opt_decimal("unit_price")?,
        approval,
        status: r.opt_code("status")?.unwrap_or(UnitStatus::Available),
    })
}

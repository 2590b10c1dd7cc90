//! Housing units and a small project for tests that need priced and unpriced units.

#![allow(clippy::unwrap_used)] // A fixture: a failure here is the calling test's failure.

use chrono::{TimeZone, Utc};
use rust_decimal::Decimal;

use crate::model::{
    Building, BuildingId, PriceApproval, Project, ProjectId, Unit, UnitId, UnitStatus, UserId,
};

/// A unit of building `b1`, floor 3, 123.45 m²; priced at 18,500 per m² and approved by the
/// general manager and the chairman when `priced`, without a price otherwise.
pub fn unit(id: &str, priced: bool) -> Unit {
    unit_priced(id, Decimal::new(12_345, 2), priced.then(|| Decimal::from(18_500)))
}

/// A unit of building `b1`, floor 3, with the given area and, when there is one, an approved
/// price per m².
pub fn unit_priced(id: &str, area_m2: Decimal, unit_price: Option<Decimal>) -> Unit {
    Unit {
        id: UnitId::from(id),
        code: format!("1-{id}"),
        building_id: BuildingId::from("b1"),
        floor: 3,
        layout: "3室2厅2卫".into(),
        area_m2,
        unit_price,
        approval: unit_price.map(|_| PriceApproval {
            approvers: vec![UserId::from("gm"), UserId::from("chairman")],
            approved_at: Utc.with_ymd_and_hms(2026, 11, 16, 2, 0, 0).unwrap(),
        }),
        status: UnitStatus::Available,
        desk_hold: None,
    }
}

/// Project `p1` (滨江花园) with building `b1` (1号楼, 30 floors) and `units`.
pub fn project_of(units: impl IntoIterator<Item = Unit>) -> Project {
    let b = Building { id: BuildingId::from("b1"), name: "1号楼".into(), floors: 30 };
    Project {
        id: ProjectId::from("p1"),
        name: "滨江花园".into(),
        buildings: [(b.id.clone(), b)].into(),
        units: units.into_iter().map(|u| (u.id.clone(), u)).collect(),
    }
}

/// Project `p1` with one priced and approved unit `u1` (18,500 × 123.45 m² = 2,283,825.00)
/// and one unpriced unit `u2`.
pub fn two_unit_project() -> Project {
    project_of([unit("u1", true), unit("u2", false)])
}

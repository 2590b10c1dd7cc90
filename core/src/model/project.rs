//! Real-estate projects, buildings and housing units (房源).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::common::{BuildingId, ProjectId, UnitId, UserId, vocabulary};
use crate::bounds::{self, Overflow};

/// Status of a unit on the control table (销控表). Only the server changes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitStatus {
    /// Free to be offered.
    Available,
    /// Held for a buyer until the hold expires or becomes a sale.
    Held,
    /// Sold.
    Sold,
    /// Withdrawn from sale.
    Withdrawn,
}
vocabulary!(UnitStatus, "unit status", {
    Available => "available", Held => "held", Sold => "sold", Withdrawn => "withdrawn"
});

/// A building of a project.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Building {
    /// Stable id.
    pub id: BuildingId,
    /// Name shown on the control table, e.g. "3号楼".
    pub name: String,
    /// Number of floors above ground.
    pub floors: u32,
}

/// The approval of a unit price (价格审批): who approved it and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceApproval {
    /// The approvers (sales director, finance director, project head, GM, chairman).
    pub approvers: Vec<UserId>,
    /// When the approval was complete.
    pub approved_at: DateTime<Utc>,
}

/// A housing unit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    /// Stable id.
    pub id: UnitId,
    /// Unit code shown to buyers, e.g. "3-1502".
    pub code: String,
    /// The building it is in.
    pub building_id: BuildingId,
    /// Floor number.
    pub floor: i32,
    /// Layout, e.g. "3室2厅2卫".
    pub layout: String,
    /// Saleable area in square metres.
    pub area_m2: Decimal,
    /// Approved price per square metre (CNY), if approved.
    pub unit_price: Option<Decimal>,
    /// The approval behind `unit_price`.
    pub approval: Option<PriceApproval>,
    /// Status mirror written by the server.
    pub status: UnitStatus,
    /// The desk hold the mirrored `status` is about, written with it by the server's desk
    /// mirror: the unit's hold while held, the hold that ended when it became available again
    /// or was sold; `None` if the desk never held it (or a server before this field mirrored
    /// it). A tablet tells by it whether the mirror has caught up with a desk answer it has.
    #[serde(default)]
    pub desk_hold: Option<String>,
}

impl Unit {
    /// Total price = approved unit price × area, rounded to the fen half away from zero, the
    /// same rounding the work ticket states (`rules::price_work_ticket`); `Ok(None)` for an
    /// unpriced unit. A product beyond `Decimal` is an [`Overflow`], never a panic: only a
    /// price or area outside its documented range (ADR 0017) can get there.
    pub fn total_price(&self) -> Result<Option<Decimal>, Overflow> {
        self.unit_price
            .map(|p| {
                bounds::mul("unit total price", p, self.area_m2).map(|total| {
                    total.round_dp_with_strategy(
                        2,
                        rust_decimal::RoundingStrategy::MidpointAwayFromZero,
                    )
                })
            })
            .transpose()
    }
}

/// A whole project aggregate as read from its document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Project {
    /// Stable id.
    pub id: ProjectId,
    /// Project name.
    pub name: String,
    /// Buildings by id.
    pub buildings: BTreeMap<BuildingId, Building>,
    /// Units by id.
    pub units: BTreeMap<UnitId, Unit>,
}

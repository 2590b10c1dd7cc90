//! The unit control table (销控表) as sales staff know it: per building, floors as rows (top
//! floor first) and unit positions (01, 02, …) as aligned columns; each cell with its code,
//! layout, area, approved unit price, total, status, masked buyer and hold. Drawn from the
//! desk's own rows, so the same table is served by whichever server holds the event's desk.
//!
//! Names leave the server masked (`张*丰`); ID numbers never appear.

use std::collections::BTreeMap;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;

use crate::db::desk::DeskDb;
use crate::db::desk::board::{BoardUnit, QueueLine};
use crate::error::ServerError;

/// The statuses in the order the table counts them.
pub const STATUSES: [&str; 4] = ["available", "held", "sold", "withdrawn"];

/// One cell of the table: a unit as it may be shown to staff.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Cell {
    /// The unit.
    pub unit_id: String,
    /// Its code, e.g. `1-1001`.
    pub code: String,
    /// Its position on the floor, e.g. `01`.
    pub position: String,
    /// Its layout.
    pub layout: String,
    /// Area in m² (decimal text).
    pub area_m2: String,
    /// Approved unit price per m² (decimal text), if approved.
    pub unit_price: Option<String>,
    /// Approved price × area, to the fen (decimal text), if approved.
    pub total: Option<String>,
    /// `available`, `held`, `sold` or `withdrawn`.
    pub status: String,
    /// Whether the event may sell it.
    pub allotted: bool,
    /// The buyer holding or owning it.
    pub buyer_id: Option<String>,
    /// That buyer's name, masked.
    pub buyer: Option<String>,
    /// The hold on it, if held.
    pub hold_id: Option<String>,
    /// When the hold lapses (RFC 3339, UTC).
    pub held_until: Option<String>,
}

/// One floor of a building: a cell (or a gap) per position of the building.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FloorRow {
    /// The floor.
    pub floor: i32,
    /// Cells aligned with the building's positions.
    pub cells: Vec<Option<Cell>>,
}

/// One building's table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BuildingTable {
    /// The building's name.
    pub name: String,
    /// Its unit positions, in order: the columns.
    pub positions: Vec<String>,
    /// Its floors, top floor first.
    pub floors: Vec<FloorRow>,
    /// Units of the building allotted to the event, by status.
    pub counts: BTreeMap<String, usize>,
}

/// The whole plan of an event's project.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// The buildings, in plan order.
    pub buildings: Vec<BuildingTable>,
    /// Units allotted to the event, by status (the counts pinned at the top).
    pub counts: BTreeMap<String, usize>,
}

/// A name as it may be shown: its first character, and its last when it has three or more,
/// with a star for each one hidden (`张*`, `张*丰`, `欧**娜`).
pub fn mask_name(name: &str) -> String {
    let chars: Vec<char> = name.trim().chars().collect();
    match chars.len() {
        0 => String::new(),
        1 => "*".into(),
        2 => format!("{}*", chars[0]),
        n => format!("{}{}{}", chars[0], "*".repeat(n - 2), chars[n - 1]),
    }
}

/// Price × area to the fen, half away from zero (the work ticket's rounding); `None` when a
/// figure does not parse or the product overflows.
pub fn total_price(unit_price: &str, area_m2: &str) -> Option<Decimal> {
    let price: Decimal = unit_price.parse().ok()?;
    let area: Decimal = area_m2.parse().ok()?;
    price
        .checked_mul(area)
        .map(|t| t.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero))
}

/// A unit's position on its floor: what its code has after the building and the floor
/// (`1-1001` on floor 10 is `01`), or the code's last two characters.
fn position_of(code: &str, floor: i32) -> String {
    let number = code.rsplit_once('-').map_or(code, |(_, n)| n);
    let floor_text = floor.to_string();
    match number.strip_prefix(floor_text.as_str()) {
        Some(rest) if floor > 0 && !rest.is_empty() => rest.to_owned(),
        _ => {
            let chars: Vec<char> = number.chars().collect();
            chars[chars.len().saturating_sub(2)..].iter().collect()
        }
    }
}

/// Building and floor of a unit the desk has no plan for (loaded before it kept one): read
/// from a code like `1-1001` (building 1, floor 10).
fn place_from_code(code: &str) -> (String, i32) {
    match code.split_once('-') {
        Some((building, unit)) if unit.len() > 2 => {
            (building.to_owned(), unit[..unit.len() - 2].parse().unwrap_or(0))
        }
        _ => (String::new(), 0),
    }
}

/// The cell of `unit`.
pub fn cell(unit: BoardUnit) -> Cell {
    let floor = if unit.floor > 0 { unit.floor } else { place_from_code(&unit.code).1 };
    let total = unit
        .unit_price
        .as_deref()
        .and_then(|p| total_price(p, &unit.area_m2))
        .map(|t| t.to_string());
    Cell {
        position: position_of(&unit.code, floor),
        total,
        buyer: unit.buyer_name.as_deref().map(mask_name),
        unit_id: unit.unit_id,
        code: unit.code,
        layout: unit.layout,
        area_m2: unit.area_m2,
        unit_price: unit.unit_price,
        status: unit.status,
        allotted: unit.allotted,
        buyer_id: unit.buyer_id,
        hold_id: unit.hold_id,
        held_until: unit.held_until,
    }
}

/// Orders building names as people read them: `2号楼` before `10号楼`.
fn building_key(name: &str) -> (u64, String) {
    let digits: String = name.chars().take_while(char::is_ascii_digit).collect();
    (digits.parse().unwrap_or(u64::MAX), name.to_owned())
}

/// Position columns in order: numeric ones by number, others after them.
fn position_key(position: &str) -> (u64, String) {
    (position.parse().unwrap_or(u64::MAX), position.to_owned())
}

/// Every status counted zero times.
fn zero_counts() -> BTreeMap<String, usize> {
    STATUSES.iter().map(|s| (s.to_string(), 0)).collect()
}

fn count(counts: &mut BTreeMap<String, usize>, cell: &Cell) {
    if cell.allotted {
        *counts.entry(cell.status.clone()).or_default() += 1;
    }
}

/// The building a unit is drawn in: the desk's, or for a unit loaded before the desk kept
/// one, the one its code names.
fn building_of(building: &str, code: &str) -> String {
    if building.is_empty() { place_from_code(code).0 } else { building.to_owned() }
}

/// Lays `units` out as the control table.
pub fn lay_out(units: Vec<BoardUnit>) -> Plan {
    let mut by_building: BTreeMap<(u64, String), BTreeMap<i32, Vec<Cell>>> = BTreeMap::new();
    let mut counts = zero_counts();
    for unit in units {
        let building = building_of(&unit.building, &unit.code);
        let floor = if unit.floor > 0 { unit.floor } else { place_from_code(&unit.code).1 };
        let cell = cell(unit);
        count(&mut counts, &cell);
        by_building
            .entry(building_key(&building))
            .or_default()
            .entry(floor)
            .or_default()
            .push(cell);
    }
    let buildings =
        by_building.into_iter().map(|((_, name), floors)| building_table(name, floors)).collect();
    Plan { buildings, counts }
}

fn building_table(name: String, floors: BTreeMap<i32, Vec<Cell>>) -> BuildingTable {
    let mut positions: Vec<String> =
        floors.values().flatten().map(|c| c.position.clone()).collect();
    positions.sort_by_key(|p| position_key(p));
    positions.dedup();
    let mut counts = zero_counts();
    let floors = floors
        .into_iter()
        .rev()
        .map(|(floor, cells)| {
            cells.iter().for_each(|c| count(&mut counts, c));
            let mut row: Vec<Option<Cell>> = vec![None; positions.len()];
            for cell in cells {
                if let Ok(i) = positions
                    .binary_search_by_key(&position_key(&cell.position), |p| position_key(p))
                {
                    row[i] = Some(cell);
                }
            }
            FloorRow { floor, cells: row }
        })
        .collect();
    BuildingTable { name, positions, floors, counts }
}

/// The control table of `event_id` from the desk; `NotFound` if no desk is open for it.
pub fn read_plan(desk: &dyn DeskDb, event_id: &str) -> Result<Plan, ServerError> {
    read_plan_showing(desk, event_id, Some("*"))
}

/// The control table of `event_id` as a page shows it, one building at a time: every building
/// named and counted, but only the `shown` one laid out (`None` or a name the project does not
/// have: the first; `Some("*")`: every one). A project of 30,000 units is read as counts
/// and one building's rows rather than every unit in full. `NotFound` if no desk is open for
/// the event.
pub fn read_plan_showing(
    desk: &dyn DeskDb,
    event_id: &str,
    shown: Option<&str>,
) -> Result<Plan, ServerError> {
    if desk.desk_event(event_id)?.is_none() {
        return Err(ServerError::NotFound);
    }
    if shown == Some("*") {
        return Ok(lay_out(desk.board_units(event_id, None)?));
    }
    let mut counts = zero_counts();
    let mut outline: BTreeMap<(u64, String), BTreeMap<String, usize>> = BTreeMap::new();
    for t in desk.board_tally(event_id)? {
        let name = building_of(&t.building, t.code.as_deref().unwrap_or_default());
        let of_building = outline.entry(building_key(&name)).or_insert_with(zero_counts);
        if t.allotted {
            let units = usize::try_from(t.units).unwrap_or(usize::MAX);
            for tally in [&mut counts, of_building] {
                let slot = tally.entry(t.status.clone()).or_default();
                *slot = slot.saturating_add(units);
            }
        }
    }
    let chosen = match shown {
        Some(name) if outline.keys().any(|(_, b)| b == name) => name.to_owned(),
        _ => outline.keys().next().map(|(_, b)| b.clone()).unwrap_or_default(),
    };
    let units = desk.board_units(event_id, Some(&chosen))?;
    // One building's units (the others were filtered out): at most one table.
    let mut table = lay_out(
        units.into_iter().filter(|u| building_of(&u.building, &u.code) == chosen).collect(),
    )
    .buildings
    .pop();
    let buildings = outline
        .into_iter()
        .map(|((_, name), counts)| match table.take_if(|t| t.name == name) {
            Some(laid_out) => laid_out,
            None => BuildingTable { name, positions: Vec::new(), floors: Vec::new(), counts },
        })
        .collect();
    Ok(Plan { buildings, counts })
}

/// One buyer of the queue as the desk console shows them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QueueBuyer {
    /// Their lottery number.
    pub lottery_no: Option<u32>,
    /// The buyer.
    pub buyer_id: String,
    /// Their name, masked.
    pub name: String,
    /// Their ID number, masked.
    pub id_number_masked: String,
    /// Skipped and not yet recalled.
    pub skipped: bool,
    /// Units they may still take at this event.
    pub quota_left: u32,
}

/// The queue of `event_id` with each buyer's remaining quota under `max_units_per_buyer`.
pub fn read_queue(
    desk: &dyn DeskDb,
    event_id: &str,
    max_units_per_buyer: u32,
) -> Result<Vec<QueueBuyer>, ServerError> {
    Ok(desk
        .queue_lines(event_id)?
        .into_iter()
        .map(|line: QueueLine| QueueBuyer {
            lottery_no: line.lottery_no,
            name: mask_name(&line.name),
            buyer_id: line.buyer_id,
            id_number_masked: line.id_number_masked,
            skipped: line.skipped,
            quota_left: max_units_per_buyer.saturating_sub(line.units_taken),
        })
        .collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn unit(code: &str, building: &str, floor: i32, status: &str, allotted: bool) -> BoardUnit {
        BoardUnit {
            unit_id: format!("u{code}"),
            code: code.into(),
            building: building.into(),
            floor,
            layout: "3室2厅2卫".into(),
            area_m2: "89.50".into(),
            unit_price: Some("18500".into()),
            status: status.into(),
            allotted,
            buyer_id: None,
            buyer_name: Some("欧阳娜娜".into()),
            hold_id: None,
            held_until: None,
        }
    }

    #[test]
    fn names_keep_only_their_ends() {
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("张三丰"), "张*丰");
        assert_eq!(mask_name("欧阳娜娜"), "欧**娜");
        assert_eq!(mask_name("李"), "*");
        assert_eq!(mask_name(""), "");
    }

    #[test]
    fn floors_are_rows_top_first_and_positions_are_aligned_columns() {
        let plan = lay_out(vec![
            unit("1-101", "1号楼", 1, "available", true),
            unit("1-104", "1号楼", 1, "sold", true),
            unit("1-1002", "1号楼", 10, "held", true),
            unit("10-201", "10号楼", 2, "available", false),
            unit("2-201", "2号楼", 2, "available", true),
        ]);
        let names: Vec<&str> = plan.buildings.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names, ["1号楼", "2号楼", "10号楼"]);
        let one = &plan.buildings[0];
        assert_eq!(one.positions, ["01", "02", "04"]);
        assert_eq!(one.floors.iter().map(|f| f.floor).collect::<Vec<_>>(), [10, 1]);
        let top: Vec<Option<&str>> =
            one.floors[0].cells.iter().map(|c| c.as_ref().map(|c| c.code.as_str())).collect();
        assert_eq!(top, [None, Some("1-1002"), None]);
        let ground: Vec<Option<&str>> =
            one.floors[1].cells.iter().map(|c| c.as_ref().map(|c| c.code.as_str())).collect();
        assert_eq!(ground, [Some("1-101"), None, Some("1-104")]);
        // Counts are of the event's allotment only.
        assert_eq!(plan.counts["available"], 2);
        assert_eq!(plan.counts["held"], 1);
        assert_eq!(plan.counts["sold"], 1);
        let cell = one.floors[1].cells[0].as_ref().unwrap();
        assert_eq!(cell.total.as_deref(), Some("1655750.00"));
        assert_eq!(cell.buyer.as_deref(), Some("欧**娜"));
    }

    #[test]
    fn a_unit_without_a_plan_is_placed_by_its_code() {
        let plan = lay_out(vec![unit("3-1502", "", 0, "available", true)]);
        assert_eq!(plan.buildings[0].name, "3");
        assert_eq!(plan.buildings[0].floors[0].floor, 15);
        assert_eq!(plan.buildings[0].positions, ["02"]);
    }

    /// A desk with an open event over a project of four buildings, two of whose units the
    /// desk knows only by their codes.
    fn desk_of_four_buildings() -> Box<rusqlite::Connection> {
        use crate::db::desk::DeskState;
        use crate::db::desk::state::{NewDeskEvent, NewDeskUnit};
        use kam_core::model::{SelectionMode, UnitStatus};
        let desk = crate::db::sqlite::desk::fresh();
        let event = NewDeskEvent {
            name: "第一批",
            event_id: "e1",
            project_id: "p1",
            mode: SelectionMode::Free,
            voucher_prefix: "V-",
            voucher_last: 0,
            opened_at: "2026-11-24T01:00:00.000000Z",
        };
        assert!(desk.insert_desk_event(&event).unwrap());
        let units = [
            ("1-101", "1号楼", 1, UnitStatus::Available, true),
            ("1-1002", "1号楼", 10, UnitStatus::Sold, true),
            ("2-201", "2号楼", 2, UnitStatus::Held, true),
            ("2-202", "2号楼", 2, UnitStatus::Available, false),
            ("10-301", "10号楼", 3, UnitStatus::Withdrawn, true),
            ("3-1502", "", 0, UnitStatus::Available, true),
            ("3-1601", "", 0, UnitStatus::Sold, false),
        ];
        for (code, building, floor, status, allotted) in units {
            let unit = NewDeskUnit {
                unit_id: code,
                building,
                floor,
                layout: "2室",
                code,
                area_m2: Decimal::from(80),
                unit_price: None,
                approval: None,
                status,
            };
            assert_eq!(desk.insert_desk_unit("p1", &unit).unwrap(), 1);
            if allotted {
                desk.allot_unit("e1", code).unwrap();
            }
        }
        desk
    }

    #[test]
    fn a_page_lays_out_one_building_and_counts_them_all_as_the_whole_plan_does() {
        let desk = desk_of_four_buildings();
        let whole = read_plan(&*desk, "e1").unwrap();
        let names: Vec<&str> = whole.buildings.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names, ["1号楼", "2号楼", "3", "10号楼"]);
        for (shown, chosen) in [
            (None, "1号楼"),
            (Some("2号楼"), "2号楼"),
            (Some("3"), "3"),
            (Some("10号楼"), "10号楼"),
            (Some("no such building"), "1号楼"),
        ] {
            let mut expected = whole.clone();
            for b in expected.buildings.iter_mut().filter(|b| b.name != chosen) {
                (b.positions, b.floors) = (Vec::new(), Vec::new());
            }
            assert_eq!(read_plan_showing(&*desk, "e1", shown).unwrap(), expected, "{shown:?}");
        }
        assert_eq!(read_plan_showing(&*desk, "e1", Some("*")).unwrap(), whole);
        assert_eq!(whole.counts["available"], 2, "allotted only: {:?}", whole.counts);
        assert!(matches!(read_plan_showing(&*desk, "e9", None), Err(ServerError::NotFound)));
    }

    #[test]
    fn a_total_that_cannot_be_computed_is_absent_not_a_panic() {
        assert_eq!(total_price("x", "1"), None);
        assert_eq!(total_price("79228162514264337593543950335", "2"), None);
        assert_eq!(total_price("18000.005", "1").unwrap().to_string(), "18000.01");
    }
}

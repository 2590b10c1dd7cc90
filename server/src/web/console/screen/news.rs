//! What the hall's big screen shows, built from the desk's live state by a pure function: the
//! number being served with the buyer's masked name, the next numbers, the units left per
//! building and per layout, and the latest sales. Nothing personal beyond the masked name of
//! the buyer being served; no ID number, no buyer id, no price.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::desk::live::LiveState;
use crate::desk::plan::Plan;

/// How many numbers after the one being served the screen lists.
pub const NEXT_NUMBERS: usize = 5;

/// The buyer being served.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Serving {
    /// Their lottery number.
    pub number: u32,
    /// Their name, masked (`张*丰`); empty when the number is nobody's on the list.
    pub name: String,
}

/// Units still available of one building or layout.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Left {
    /// The building's or layout's name.
    pub name: String,
    /// Allotted units still available.
    pub left: usize,
}

/// One recent sale.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Sale {
    /// The unit's code.
    pub code: String,
    /// Its layout.
    pub layout: String,
    /// When its voucher was issued (RFC 3339, UTC); the screen shows it in its own time zone.
    pub sold_at: String,
}

/// One message of the screen's stream: everything the screen shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScreenNews {
    /// The number being served, if any.
    pub now_serving: Option<Serving>,
    /// The next numbers to be called, in order.
    pub next: Vec<u32>,
    /// Units left per building, in plan order.
    pub by_building: Vec<Left>,
    /// Units left per layout, by name.
    pub by_layout: Vec<Left>,
    /// The latest sales, newest first.
    pub recent: Vec<Sale>,
}

/// Each unit's building, from the plan (the live cells do not carry it); a screen reads it
/// once when it opens, since the plan does not change during the day.
#[derive(Clone, Debug, Default)]
pub struct Buildings {
    /// Building names in plan order.
    order: Vec<String>,
    /// Unit id → index in `order`.
    of_unit: HashMap<String, usize>,
}

impl Buildings {
    /// The buildings of `plan`.
    pub fn of(plan: &Plan) -> Buildings {
        let mut b = Buildings::default();
        for (i, building) in plan.buildings.iter().enumerate() {
            b.order.push(building.name.clone());
            for cell in building.floors.iter().flat_map(|f| f.cells.iter().flatten()) {
                b.of_unit.insert(cell.unit_id.clone(), i);
            }
        }
        b
    }
}

/// The screen's message for `live`.
pub fn news(live: &LiveState, buildings: &Buildings) -> ScreenNews {
    let now_serving = live.now_serving.map(|number| Serving {
        number,
        name: live
            .queue
            .iter()
            .find(|b| b.lottery_no == Some(number))
            .map(|b| b.name.clone())
            .unwrap_or_default(),
    });
    let after = live.now_serving.unwrap_or(0);
    let next = live
        .queue
        .iter()
        .filter(|b| !b.skipped)
        .filter_map(|b| b.lottery_no)
        .filter(|n| *n > after)
        .take(NEXT_NUMBERS)
        .collect();
    let mut per_building = vec![0usize; buildings.order.len()];
    let mut shown_building = vec![false; buildings.order.len()];
    let mut per_layout: BTreeMap<&str, usize> = BTreeMap::new();
    for cell in live.cells.iter().filter(|c| c.allotted) {
        let available = usize::from(cell.status == "available");
        if let Some(&i) = buildings.of_unit.get(&cell.unit_id) {
            shown_building[i] = true;
            per_building[i] += available;
        }
        *per_layout.entry(cell.layout.as_str()).or_default() += available;
    }
    let by_building = buildings
        .order
        .iter()
        .zip(per_building)
        .zip(shown_building)
        .filter(|(_, shown)| *shown)
        .map(|((name, left), _)| Left { name: name.clone(), left })
        .collect();
    let by_layout =
        per_layout.into_iter().map(|(name, left)| Left { name: name.to_owned(), left }).collect();
    let recent = live
        .recent
        .iter()
        .map(|s| Sale {
            code: s.code.clone(),
            layout: s.layout.clone(),
            sold_at: s.sold_at.clone(),
        })
        .collect();
    ScreenNews { now_serving, next, by_building, by_layout, recent }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::db::desk::board::{BoardUnit, RecentSale};
    use crate::desk::plan::{QueueBuyer, cell, lay_out};

    fn unit(code: &str, building: &str, layout: &str, status: &str, allotted: bool) -> BoardUnit {
        BoardUnit {
            unit_id: format!("u{code}"),
            code: code.into(),
            building: building.into(),
            floor: 1,
            layout: layout.into(),
            area_m2: "90".into(),
            unit_price: Some("18000".into()),
            status: status.into(),
            allotted,
            buyer_id: Some("b-secret".into()),
            buyer_name: Some("欧阳娜娜".into()),
            hold_id: None,
            held_until: None,
        }
    }

    fn buyer(no: u32, name: &str, skipped: bool) -> QueueBuyer {
        QueueBuyer {
            lottery_no: Some(no),
            buyer_id: format!("b{no}"),
            name: crate::desk::plan::mask_name(name),
            id_number_masked: "1101**********1234".into(),
            skipped,
            quota_left: 1,
        }
    }

    fn live(now_serving: Option<u32>, units: Vec<BoardUnit>) -> LiveState {
        let queue = (1..=9).map(|n| buyer(n, "张三丰", n == 4)).collect();
        LiveState {
            version: 0,
            moved: Arc::default(),
            mode: "strict_order".into(),
            now_serving,
            ledger_seq: 7,
            counts: Default::default(),
            cells: Arc::new(units.into_iter().map(cell).collect()),
            queue: Arc::new(queue),
            recent: Arc::new(vec![RecentSale {
                code: "1-101".into(),
                building: "1号楼".into(),
                layout: "3室".into(),
                sold_at: "2026-12-04T02:03:04Z".into(),
            }]),
        }
    }

    fn units() -> Vec<BoardUnit> {
        vec![
            unit("1-101", "1号楼", "3室", "sold", true),
            unit("1-102", "1号楼", "3室", "available", true),
            unit("1-103", "1号楼", "2室", "held", true),
            unit("2-101", "2号楼", "2室", "available", true),
            unit("2-102", "2号楼", "4室", "available", false),
            unit("3-101", "3号楼", "4室", "available", false),
        ]
    }

    #[test]
    fn the_screen_shows_the_called_number_the_next_ones_and_what_is_left() {
        let buildings = Buildings::of(&lay_out(units()));
        let n = news(&live(Some(2), units()), &buildings);
        assert_eq!(n.now_serving, Some(Serving { number: 2, name: "张*丰".into() }));
        assert_eq!(n.next, [3, 5, 6, 7, 8], "the skipped number 4 is not listed");
        let left = |v: &[Left]| v.iter().map(|l| (l.name.clone(), l.left)).collect::<Vec<_>>();
        // Only allotted units count; a building with none allotted is not shown.
        assert_eq!(left(&n.by_building), [("1号楼".into(), 1), ("2号楼".into(), 1)]);
        assert_eq!(left(&n.by_layout), [("2室".into(), 1), ("3室".into(), 1)]);
        assert_eq!(n.recent[0].code, "1-101");
        let json = serde_json::to_string(&n).unwrap();
        for private in ["b-secret", "欧阳娜娜", "1101", "18000", "b2"] {
            assert!(!json.contains(private), "{private} leaked: {json}");
        }
    }

    #[test]
    fn before_the_first_call_the_first_numbers_are_next_and_an_unchanged_state_is_equal() {
        let buildings = Buildings::of(&lay_out(units()));
        let n = news(&live(None, units()), &buildings);
        assert_eq!(n.now_serving, None);
        assert_eq!(n.next, [1, 2, 3, 5, 6]);
        // A change the screen does not show (a hold) leaves the message equal: nothing is sent.
        let mut held = units();
        held[1].hold_id = Some("h1".into());
        assert_eq!(news(&live(None, held), &buildings), n);
        let mut sold = units();
        sold[1].status = "held".into();
        assert_ne!(news(&live(None, sold), &buildings), n);
    }
}

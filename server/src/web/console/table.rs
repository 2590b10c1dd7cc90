//! The unit control table (销控表) as HTML, shared by the desk console (where allotted units
//! are chosen) and headquarters' board (read-only, the whole project with the event's
//! allotment marked): building tabs, the counts per status pinned at the top, and per
//! building a grid of floors (rows, top floor first) by unit positions (aligned columns).
//!
//! Every cell carries what the live stream updates (`data-status`, the buyer, the hold's
//! end) so `console.js` repaints a cell in place; the countdown is computed in the browser
//! from `data-until`.

use maud::{Markup, html};

use crate::desk::plan::{BuildingTable, Cell, Plan, STATUSES};
use crate::web::i18n::Lang;
use crate::web::layout::{money, url_encode};

/// How a table is drawn.
#[derive(Clone, Debug)]
pub struct TableView<'a> {
    /// The page's path, for the building tabs' links.
    pub base: &'a str,
    /// The building shown (`None`: the first; `Some("*")`: all).
    pub building: Option<&'a str>,
    /// Whether allotted units can be chosen (the desk console).
    pub selectable: bool,
}

/// The word for a status.
pub fn status_word(lang: Lang, status: &str) -> &'static str {
    match status {
        "available" => lang.t("可售", "Available"),
        "held" => lang.t("锁定", "Held"),
        "sold" => lang.t("已售", "Sold"),
        "withdrawn" => lang.t("不售", "Withdrawn"),
        _ => lang.t("未知", "Unknown"),
    }
}

/// The buildings drawn for `view`.
fn shown<'p>(plan: &'p Plan, view: &TableView<'_>) -> Vec<&'p BuildingTable> {
    match view.building {
        Some("*") => plan.buildings.iter().collect(),
        Some(name) => match plan.buildings.iter().find(|b| b.name == name) {
            Some(found) => vec![found],
            None => plan.buildings.first().into_iter().collect(),
        },
        None => plan.buildings.first().into_iter().collect(),
    }
}

/// The counts per status of the event's allotted units, pinned at the top.
pub fn counts(lang: Lang, plan: &Plan) -> Markup {
    html! {
        div #ctl-counts .ctl-counts {
            @for status in STATUSES {
                span .count .{ "st-" (status) } data-status=(status) data-word=(status_word(lang, status)) {
                    (status_word(lang, status)) " " b { (plan.counts.get(status).copied().unwrap_or(0)) }
                }
            }
        }
    }
}

/// The building tabs.
fn tabs(lang: Lang, plan: &Plan, view: &TableView<'_>, active: &[&BuildingTable]) -> Markup {
    let all = view.building == Some("*");
    html! {
        nav #ctl-tabs .ctl-tabs {
            @for b in &plan.buildings {
                @let on = !all && active.iter().any(|a| a.name == b.name);
                a .tab .active[on] href={ (view.base) "?building=" (url_encode(&b.name)) } data-building=(b.name) {
                    (b.name) " "
                    small { (status_word(lang, "available")) " " (b.counts.get("available").copied().unwrap_or(0)) }
                }
            }
            a .tab .active[all] href={ (view.base) "?building=*" } { (lang.t("全部楼栋", "All buildings")) }
        }
    }
}

/// The whole table: counts, tabs and the buildings shown.
pub fn control_table(lang: Lang, plan: &Plan, view: &TableView<'_>) -> Markup {
    let active = shown(plan, view);
    html! {
        div #ctl .ctl .selectable[view.selectable] {
            (counts(lang, plan))
            (tabs(lang, plan, view, &active))
            @if plan.buildings.is_empty() {
                p .empty { (lang.t("此项目没有房源。", "This project has no units.")) }
            }
            @for b in active {
                (building(lang, b, view.selectable))
            }
        }
    }
}

fn building(lang: Lang, b: &BuildingTable, selectable: bool) -> Markup {
    html! {
        section .ctl-building data-building=(b.name) {
            h2 { (b.name) }
            table .ctl-table {
                thead {
                    tr {
                        th { (lang.t("楼层", "Floor")) }
                        @for p in &b.positions { th { (p) } }
                    }
                }
                tbody {
                    @for row in &b.floors {
                        tr {
                            th .floor { (row.floor) (lang.t("层", "F")) }
                            @for slot in &row.cells {
                                @match slot {
                                    Some(c) => (cell(lang, c, selectable)),
                                    None => td .gap {},
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// One unit's cell.
pub fn cell(lang: Lang, c: &Cell, selectable: bool) -> Markup {
    let choosable = selectable && c.allotted;
    html! {
        td .c .{ "st-" (c.status) } .na[!c.allotted] .pick[choosable]
            id={ "u-" (c.unit_id) } data-unit=(c.unit_id) data-code=(c.code) data-status=(c.status)
            data-hold=[c.hold_id.as_deref()] data-until=[c.held_until.as_deref()]
            data-total=[c.total.as_deref()] data-price=[c.unit_price.as_deref()] data-area=(c.area_m2)
            data-layout=(c.layout)
            tabindex=[choosable.then_some("0")] {
            div { b .code { (c.code) } " " span .st { (status_word(lang, &c.status)) } }
            div { span .lay { (c.layout) } " " span .area { (c.area_m2) "㎡" } }
            div .price { (c.unit_price.as_deref().map(money).unwrap_or_else(|| lang.t("未审批", "no price").into())) }
            div .total { (c.total.as_deref().map(money).unwrap_or_default()) }
            div { span .buyer { (c.buyer.as_deref().unwrap_or("")) } " " span .cd {} }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::db::desk::board::BoardUnit;
    use crate::desk::plan::lay_out;

    fn unit(code: &str, building: &str, floor: i32, allotted: bool) -> BoardUnit {
        BoardUnit {
            unit_id: format!("id{code}"),
            code: code.into(),
            building: building.into(),
            floor,
            layout: "2室".into(),
            area_m2: "90".into(),
            unit_price: Some("20000".into()),
            status: "available".into(),
            allotted,
            buyer_id: None,
            buyer_name: None,
            hold_id: None,
            held_until: None,
        }
    }

    #[test]
    fn only_allotted_units_can_be_chosen_and_only_on_the_desk() {
        let plan = lay_out(vec![unit("1-101", "1号楼", 1, true), unit("1-102", "1号楼", 1, false)]);
        let view = TableView { base: "/x", building: None, selectable: true };
        let html = control_table(Lang::Zh, &plan, &view).into_string();
        assert!(html.contains(r#"id="u-id1-101""#), "{html}");
        assert_eq!(html.matches(r#"tabindex="0""#).count(), 1, "{html}");
        assert!(html.contains("1,800,000.00"), "total shown: {html}");
        let read_only = TableView { selectable: false, ..view };
        let html = control_table(Lang::Zh, &plan, &read_only).into_string();
        assert!(!html.contains("tabindex"), "{html}");
    }

    #[test]
    fn a_tab_shows_one_building_and_the_star_shows_all() {
        let plan = lay_out(vec![unit("1-101", "1号楼", 1, true), unit("2-101", "2号楼", 1, true)]);
        let one = TableView { base: "/x", building: Some("2号楼"), selectable: false };
        let html = control_table(Lang::En, &plan, &one).into_string();
        assert!(html.contains("id2-101") && !html.contains("id1-101"), "{html}");
        let all = TableView { building: Some("*"), ..one };
        let html = control_table(Lang::En, &plan, &all).into_string();
        assert!(html.contains("id2-101") && html.contains("id1-101"), "{html}");
        let unknown = TableView { building: Some("nope"), ..all };
        let html = control_table(Lang::En, &plan, &unknown).into_string();
        assert!(html.contains("id1-101") && !html.contains("id2-101"), "the first: {html}");
    }
}

//! `GET /hq/events/{id}/prices`: headquarters approves unit prices (RULES.md §7) from a page,
//! one building at a time (`?building=`), so a 3,000-unit project stays light. Each available
//! unit has a command form for the desk's `approve_price`, sent through the consoles' command
//! path under the signed-in person's session (the forms contract of `console.js`): the desk
//! checks the approvers the policy requires and the price the approver saw.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use maud::{Markup, html};
use serde::Deserialize;

use super::assets::{CONSOLE_CSS, CONSOLE_JS};
use super::console::{command::commands_path, new_key};
use super::error::PageError;
use super::layout::{Here, money, page, url_encode};
use super::session::WebUser;
use crate::db::desk::state::StoredApproval;
use crate::desk::plan::{BuildingTable, Cell, read_plan_showing};
use crate::error::ServerError;
use crate::http::AppState;
use crate::services::ReadView;

/// The page's route.
pub fn routes() -> Router<AppState> {
    Router::new().route("/hq/events/{event_id}/prices", get(prices_page))
}

/// The page's query: the building shown (the first when absent or unknown).
#[derive(Debug, Default, Deserialize)]
pub struct PricesQuery {
    building: Option<String>,
}

/// What the page shows: every building's name, the chosen building's units with their
/// approvals, and the approvers the policy requires.
struct Prices {
    buildings: Vec<String>,
    shown: Option<BuildingTable>,
    approvals: Vec<Option<StoredApproval>>,
    required: Vec<String>,
}

fn cells(table: &BuildingTable) -> impl Iterator<Item = &Cell> {
    table.floors.iter().flat_map(|f| f.cells.iter().flatten())
}

fn read_prices(
    store: &ReadView<'_>,
    event_id: &str,
    building: Option<&str>,
) -> Result<Prices, ServerError> {
    let desk = store.desk();
    let project_id = desk.desk_event(event_id)?.ok_or(ServerError::NotFound)?.project_id;
    // One building laid out ("*" is not a building here: the first is shown instead).
    let plan = read_plan_showing(desk, event_id, building.filter(|b| *b != "*"))?;
    let buildings: Vec<String> = plan.buildings.iter().map(|b| b.name.clone()).collect();
    let mut tables = plan.buildings.into_iter();
    let shown = match building {
        Some(name) if buildings.iter().any(|b| b == name) => tables.find(|b| b.name == name),
        _ => tables.next(),
    };
    let mut approvals = Vec::new();
    if let Some(table) = &shown {
        for cell in cells(table) {
            approvals.push(desk.approval(&project_id, &cell.unit_id)?);
        }
    }
    let required = store.policy().selection.price_approvers.clone();
    Ok(Prices { buildings, shown, approvals, required })
}

/// `GET /hq/events/{id}/prices`.
pub async fn prices_page(
    State(state): State<AppState>,
    user: WebUser,
    here: Here,
    Path(event_id): Path<String>,
    Query(q): Query<PricesQuery>,
) -> Result<Markup, PageError> {
    let lang = user.lang;
    let (id, building) = (event_id.clone(), q.building.clone());
    let p = user.hq_read(&state, move |store| read_prices(store, &id, building.as_deref())).await?;
    let base = format!("/hq/events/{}/prices", url_encode(&event_id));
    let live = format!("/console/events/{}/live", url_encode(&event_id));
    let current = p.shown.as_ref().map(|b| b.name.clone()).unwrap_or_default();
    Ok(page(
        &user,
        &here,
        lang.t("房价审批", "Unit prices"),
        html! {
            link rel="stylesheet" href=(CONSOLE_CSS.href());
            h1 { (lang.t("房价审批", "Unit price approval")) }
            p #required-approvers {
                (lang.t("须经以下全部审批人审批：", "Every one of these must approve: "))
                (p.required.join(", "))
            }
            nav #buildings {
                @for b in &p.buildings {
                    a href={ (base) "?building=" (url_encode(b)) } class=[(*b == current).then_some("active")] data-building=(b) { (b) } " "
                }
            }
            div #console data-csrf=(user.csrf) data-commands=(commands_path(&event_id)) data-live=(live) {
                @if let Some(table) = &p.shown {
                    (units_table(&user, table, &p.approvals, &p.required))
                }
            }
            script src=(CONSOLE_JS.href()) defer {}
        },
    ))
}

fn units_table(
    user: &WebUser,
    table: &BuildingTable,
    approvals: &[Option<StoredApproval>],
    required: &[String],
) -> Markup {
    let lang = user.lang;
    html! {
        table #prices data-building=(table.name) {
            tr {
                th { (lang.t("房号", "Unit")) } th { (lang.t("户型", "Layout")) }
                th { (lang.t("面积 m²", "Area m²")) } th { (lang.t("状态", "Status")) }
                th { (lang.t("审批单价", "Approved price")) } th { (lang.t("审批人", "Approvers")) }
                th { (lang.t("审批时间", "Approved")) } th { (lang.t("新单价", "New price")) }
            }
            @for (cell, approval) in cells(table).zip(approvals) {
                tr .unit data-unit-id=(cell.unit_id) data-status=(cell.status) {
                    td { (cell.code) } td { (cell.layout) } td .num { (cell.area_m2) }
                    td { (lang.label(&cell.status)) }
                    td .num .price { (cell.unit_price.as_deref().map(money).unwrap_or_default()) }
                    td .approvers { @if let Some(a) = approval { (a.approvers.join(", ")) } }
                    td { @if let Some(a) = approval { (user.clock.local(&a.approved_at.to_rfc3339())) } }
                    td { @if user.may_decide() && cell.status == "available" { (price_form(user, cell, required)) } }
                }
            }
        }
    }
}

/// The `approve_price` command form of one unit.
fn price_form(user: &WebUser, cell: &Cell, required: &[String]) -> Markup {
    let lang = user.lang;
    html! {
        form .cmd data-command="approve_price" data-key=(new_key()) data-then="reload" {
            input type="hidden" name="unit_id" value=(cell.unit_id);
            @match &cell.unit_price {
                Some(price) => { input type="hidden" name="price_seen" value=(price); },
                None => { input type="hidden" name="price_seen" value="" data-skip; },
            }
            input name="unit_price" data-type="decimal" inputmode="decimal" required
                value=(cell.unit_price.as_deref().unwrap_or_default()) aria-label=(lang.t("单价（元/m²）", "Price (CNY/m²)"));
            " "
            input name="approvers" data-type="list" value=(required.join(","))
                aria-label=(lang.t("审批人（逗号分隔）", "Approvers (comma-separated)"));
            " "
            button type="submit" { (lang.t("审批", "Approve")) }
            output .answer {}
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use axum::http::StatusCode;
    use serde_json::json;

    use crate::web::demo_site_tests::demo_site;

    #[tokio::test]
    async fn prices_are_approved_building_by_building_with_the_required_approvers() {
        let site = demo_site(true);
        let hq = site.sign_in("hq-01").await;
        let path = format!("/hq/events/{}/prices", site.event);
        let (status, _, body) = site.get(&path, Some(&hq.0)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.contains(r#"<div id="console" data-csrf=""#), "{body}");
        assert!(
            body.contains(r#"data-command="approve_price""#)
                && body.contains(r#"data-then="reload""#)
        );
        assert!(body.contains(r#"name="unit_price" data-type="decimal""#), "{body}");
        assert!(body.contains(
            r#"name="approvers" data-type="list" value="sales-director,finance-director,project-head,gm,chairman""#
        ), "{body}");
        assert!(body.contains(r#"type="hidden" name="price_seen""#), "{body}");
        assert!(body.contains("/assets/console.js?v="), "{body}");
        // One building per page: its tabs link to the others.
        let first = body.split(r#"<table id="prices" data-building=""#).nth(1).unwrap();
        let first = &first[..first.find('"').unwrap()];
        let tabs = body.matches(r#"?building="#).count();
        assert!(tabs >= 1, "{body}");
        let (status, _, unknown) = site.get(&format!("{path}?building=nowhere"), Some(&hq.0)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(unknown.contains(&format!(r#"data-building="{first}""#)), "the first building");
        // An approval through the consoles' command path shows its approvers on the page.
        let unit = body.split(r#"name="unit_id" value=""#).nth(1).unwrap();
        let unit = &unit[..unit.find('"').unwrap()];
        let seen = body.split(r#"name="price_seen" value=""#).nth(1).unwrap();
        let seen = &seen[..seen.find('"').unwrap()];
        let all = ["sales-director", "finance-director", "project-head", "gm", "chairman"];
        let mut approve = json!({ "kind": "approve_price", "unit_id": unit, "unit_price": "23456",
                                  "approvers": all });
        if !seen.is_empty() {
            approve["price_seen"] = json!(seen);
        }
        site.command(&hq, approve).await;
        let (_, _, after) = site.get(&path, Some(&hq.0)).await;
        assert!(after.contains("23,456.00"), "{after}");
        assert!(after.contains("sales-director, finance-director, project-head, gm, chairman"));
        // Finance reads the prices but gets no forms; a rep gets nothing.
        let (finance, _) = site.sign_in("finance-01").await;
        let (status, _, read_only) = site.get(&path, Some(&finance)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(!read_only.contains(r#"data-command="approve_price""#));
        let (rep, _) = site.sign_in("rep-01").await;
        assert_eq!(site.get(&path, Some(&rep)).await.0, StatusCode::FORBIDDEN);
        let none = "/hq/events/no-such-event/prices";
        assert_eq!(site.get(none, Some(&hq.0)).await.0, StatusCode::NOT_FOUND);
    }
}

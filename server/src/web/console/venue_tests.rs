//! A venue server's consoles: the lease banner, the hand-back and what the consoles say
//! after it, on a site that took an offer from headquarters in-process (as
//! `desk::delegation::tests` does: a second store and desk).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::http::StatusCode;
use serde_json::json;

use crate::auth::Role;
use crate::data;
use crate::desk::Desk;
use crate::desk::delegation::{edge, lend};
use crate::hq::decisions::Decider;
use crate::hq::events::delegate_desk;
use crate::http::AppState;
use crate::web::demo_site_tests::{DemoSite, demo_site, site_over};

/// Central with its event lent to `hall-1`, and the venue server that took the offer.
async fn central_and_venue() -> (DemoSite, DemoSite, String) {
    central_and_venue_with(|_| {}).await
}

/// The same, with the offer changed by `edit` before the venue takes it.
async fn central_and_venue_with(
    edit: impl FnOnce(&mut crate::desk::delegation::wire::Offer),
) -> (DemoSite, DemoSite, String) {
    let central = demo_site(true);
    let device = central.add_venue().await;
    let hq = Decider { user_id: "hq-01", role: Role::Hq };
    delegate_desk(&central.state, hq, central.event.clone(), device.clone(), 12).await.unwrap();
    let taken = device.clone();
    let mut offer = central
        .state
        .with_store(move |store| Ok(lend::offer(store.desk(), store.conn(), &taken, "venue-1")?))
        .await
        .unwrap()
        .unwrap();
    edit(&mut offer);
    let dir = tempfile::tempdir().unwrap();
    let mut store = data::open_store(dir.path()).unwrap();
    store.transaction(|db| Ok(db.apply_people(&offer.people)?)).unwrap();
    let desk = Desk::start(&store.desk_path(), store.path(), store.policy().clone()).unwrap();
    let took = desk.run(move |tx, _, tip, now| edge::accept(tx, tip, &offer, now)).await;
    assert!(took.unwrap().unwrap(), "the venue takes the desk");
    let state = AppState::with_desk(store, desk).unwrap();
    let venue = site_over(dir, state, central.event.clone());
    (central, venue, device)
}

/// Ships the venue's batches to central and records central's answers at the venue.
async fn ship_everything(central: &DemoSite, venue: &DemoSite, device: &str) {
    for _ in 0..100 {
        let next = venue
            .state
            .readers()
            .read(|c| Ok::<_, crate::error::ServerError>(edge::next_shipment(c.desk())?));
        let Some(shipment) = next.await.unwrap() else { return };
        let (device, event) = (device.to_owned(), venue.event.clone());
        let central_desk = central.state.desk.as_ref().unwrap();
        let ack = central_desk
            .run(move |tx, _, tip, now| lend::receive(tx, tip, &device, &shipment, now))
            .await
            .unwrap()
            .unwrap();
        let venue_desk = venue.state.desk.as_ref().unwrap();
        venue_desk
            .run(move |tx, _, _, now| edge::acknowledged(tx, &event, &ack, now))
            .await
            .unwrap()
            .unwrap();
    }
    panic!("the venue kept shipping");
}

#[tokio::test]
async fn the_venue_console_shows_its_lease_and_hands_the_desk_back() {
    let (central, venue, device) = central_and_venue().await;
    let staff = venue.sign_in("staff-01").await;
    let (status, _, list) = venue.get("/console", Some(&staff.0)).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert!(list.contains(r#"id="lease""#) && list.contains(r#"data-state="active""#), "{list}");
    assert!(list.contains("本地授权 第1代，租约至") && list.contains("上次联系总部"), "{list}");
    assert!(list.contains(r#"id="hand-back""#) && list.contains("交还总部"), "{list}");
    let desk_page = format!("/console/events/{}/desk", venue.event);
    let (status, _, desk) = venue.get(&desk_page, Some(&staff.0)).await;
    assert_eq!(status, StatusCode::OK, "{desk}");
    assert!(desk.contains(r#"id="lease""#) && !desk.contains("commands-closed"), "{desk}");
    let (status, _) =
        venue.try_command(&staff, json!({ "kind": "set_mode", "mode": "free" })).await;
    assert_eq!(status, StatusCode::OK, "the venue serves the event");

    let path = super::HAND_BACK_PATH;
    assert_eq!(
        venue.post_form(path, &staff.0, "csrf=forged&confirm=yes").await.0,
        StatusCode::FORBIDDEN
    );
    let unconfirmed = format!("csrf={}", staff.1);
    assert_eq!(
        venue.post_form(path, &staff.0, &unconfirmed).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let confirmed = format!("csrf={}&confirm=yes", staff.1);
    let (status, headers, _) = venue.post_form(path, &staff.0, &confirmed).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let back = headers["location"].to_str().unwrap().to_owned();
    let (_, _, list) = venue.get(&back, Some(&staff.0)).await;
    assert!(
        list.contains(r#"data-state="returning""#) && list.contains("已交还，正在上传最后一批"),
        "{list}"
    );
    assert!(!list.contains(r#"id="hand-back""#), "{list}");
    let (_, _, desk) = venue.get(&desk_page, Some(&staff.0)).await;
    assert!(desk.contains(r#"id="commands-closed""#) && desk.contains("disabled"), "{desk}");
    let (status, answer) =
        venue.try_command(&staff, json!({ "kind": "set_mode", "mode": "strict_order" })).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(answer.contains("event_returned"), "{answer}");
    let audited = venue
        .state
        .with_store(|store| {
            let sql = "SELECT COUNT(*) FROM audit_log WHERE action = 'event.hand_back' AND actor = 'staff-01'";
            Ok(store.sql().query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap())
        })
        .await
        .unwrap();
    assert_eq!(audited, 1);

    ship_everything(&central, &venue, &device).await;
    let (_, _, list) = venue.get("/console", Some(&staff.0)).await;
    assert!(list.contains(r#"data-state="returned""#) && list.contains("已交还总部"), "{list}");
    let (hq, _) = central.sign_in("hq-01").await;
    let (_, _, events) = central.get("/hq/events", Some(&hq)).await;
    assert!(
        events.contains(r#"data-lent="false""#) && events.contains("delegation-history"),
        "{events}"
    );
    assert!(events.contains("已交还 · hall-1"), "{events}");
    assert!(events.contains(r#"class="delegate""#), "central may lend the desk again: {events}");
}

#[tokio::test]
async fn a_server_without_a_lease_shows_none() {
    let site = demo_site(true);
    let staff = site.sign_in("staff-01").await;
    let (status, _, list) = site.get("/console", Some(&staff.0)).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert!(!list.contains(r#"id="lease""#) && !list.contains("hand-back"), "{list}");
    let (status, _, _) = site
        .post_form(super::HAND_BACK_PATH, &staff.0, &format!("csrf={}&confirm=yes", staff.1))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nothing to hand back");
}

#[tokio::test]
async fn a_lapsed_lease_disables_the_desk_console_s_commands_with_its_reason() {
    let lapsed = chrono::Utc::now().checked_sub_signed(chrono::Duration::minutes(5)).unwrap();
    let (_central, venue, _) =
        central_and_venue_with(|offer| offer.lease_until = lapsed.to_rfc3339()).await;
    let staff = venue.sign_in("staff-01").await;
    let (_, _, desk) =
        venue.get(&format!("/console/events/{}/desk", venue.event), Some(&staff.0)).await;
    assert!(desk.contains(r#"id="commands-closed""#) && desk.contains("现场授权已到期"), "{desk}");
    assert!(!desk.contains(r#"id="hand-back""#), "{desk}");
    let (status, answer) =
        venue.try_command(&staff, json!({ "kind": "set_mode", "mode": "free" })).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(answer.contains("lease_ended"), "{answer}");
}

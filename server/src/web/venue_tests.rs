//! Headquarters lends a desk to a venue server from `/hq/events`, and sees it lent there and
//! on the live board.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::http::StatusCode;
use chrono::{Duration, Utc};
use serde_json::json;

use crate::desk::delegation::lend::VenueLag;
use crate::hq::events::may_take_back;
use crate::web::demo_site_tests::{DemoSite, demo_site};

async fn audited(site: &DemoSite, action: &'static str) -> i64 {
    site.state
        .with_store(move |store| {
            let sql = "SELECT COUNT(*) FROM audit_log WHERE action = ?1 AND actor = 'hq-01'";
            Ok(store.sql().query_row(sql, [action], |r| r.get::<_, i64>(0)).unwrap())
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn the_delegate_form_is_for_deciders_and_needs_a_venue_server_of_the_event() {
    let site = demo_site(true);
    let (hq, _) = site.sign_in("hq-01").await;
    let (status, _, body) = site.get("/hq/events", Some(&hq)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(!body.contains(r#"class="delegate""#), "no venue server yet: {body}");
    assert!(body.contains(r#"class="no-venue""#), "{body}");
    let device = site.add_venue().await;
    let (_, _, body) = site.get("/hq/events", Some(&hq)).await;
    assert!(body.contains(r#"class="delegate""#) && body.contains(&device), "{body}");
    assert!(body.contains("移交现场服务器") && body.contains(r#"name="lease_hours""#), "{body}");
    assert!(body.contains(r#"value="36""#) && body.contains(r#"max="336""#), "{body}");
    let (finance, _) = site.sign_in("finance-01").await;
    let (_, _, list) = site.get("/hq/events", Some(&finance)).await;
    assert!(!list.contains(r#"class="delegate""#), "finance decides nothing: {list}");
}

#[tokio::test]
async fn a_confirmed_delegation_lends_the_desk_and_the_desk_refuses_its_commands() {
    let site = demo_site(true);
    let device = site.add_venue().await;
    let (hq, csrf) = site.sign_in("hq-01").await;
    let path = format!("/hq/events/{}/delegate", site.event);
    let form = |csrf: &str, rest: &str| format!("csrf={csrf}&venue_device={device}&{rest}");
    let (status, _, _) =
        site.post_form(&path, &hq, &form("forged", "lease_hours=36&confirm=yes")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the CSRF token is checked");
    let (status, _, _) = site.post_form(&path, &hq, &form(&csrf, "lease_hours=36")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "not confirmed");
    let (status, _, _) =
        site.post_form(&path, &hq, &form(&csrf, "lease_hours=0&confirm=yes")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a lease of 1 to 336 hours");
    let (finance, finance_csrf) = site.sign_in("finance-01").await;
    let by_finance = form(&finance_csrf, "lease_hours=36&confirm=yes");
    assert_eq!(site.post_form(&path, &finance, &by_finance).await.0, StatusCode::FORBIDDEN);
    assert_eq!(audited(&site, "event.delegate").await, 0, "nothing lent yet");

    let (status, headers, _) =
        site.post_form(&path, &hq, &form(&csrf, "lease_hours=36&confirm=yes")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let back = headers["location"].to_str().unwrap().to_owned();
    assert!(back.starts_with("/hq/events?done="), "{back}");
    let (_, _, body) = site.get(&back, Some(&hq)).await;
    assert!(body.contains("已移交现场服务器「hall-1」"), "the flash: {body}");
    assert!(body.contains(r#"data-lent="true""#) && body.contains("由现场服务器「"), "{body}");
    assert!(body.contains("第 1 代") && body.contains("未上传"), "{body}");
    assert!(!body.contains(r#"class="delegate""#), "a lent desk is not lent again: {body}");
    assert!(!body.contains(r#"class="take-back""#), "the lease has not ended: {body}");
    assert_eq!(audited(&site, "event.delegate").await, 1);

    let staff = site.sign_in("staff-01").await;
    let (status, answer) =
        site.try_command(&staff, json!({ "kind": "set_mode", "mode": "free" })).await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert!(answer.contains("event_delegated") && answer.contains("hall-1"), "{answer}");

    let (status, _, again) =
        site.post_form(&path, &hq, &form(&csrf, "lease_hours=36&confirm=yes")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        again.contains(r#"data-code="already_delegated""#) && again.contains("已经移交"),
        "{again}"
    );
    let take_back = format!("/hq/events/{}/take-back", site.event);
    let (status, _, early) =
        site.post_form(&take_back, &hq, &format!("csrf={csrf}&confirm=yes")).await;
    assert_eq!(status, StatusCode::CONFLICT, "the lease runs 36 hours");
    assert!(early.contains(r#"data-code="lease_not_ended""#), "{early}");
    assert_eq!(audited(&site, "event.take_back").await, 0);

    let (status, _, board) = site.get(&format!("/hq/events/{}/board", site.event), Some(&hq)).await;
    assert_eq!(status, StatusCode::OK, "{board}");
    assert!(board.contains(r#"id="venue-banner""#) && board.contains("hall-1"), "{board}");
    assert!(board.contains("未上传") && board.contains("已上传至 #"), "{board}");
}

#[test]
fn the_desk_may_be_taken_back_only_after_the_lease_and_the_clock_allowance() {
    let now = Utc::now();
    let lag = VenueLag {
        event_id: "e".into(),
        generation: 1,
        venue_name: "hall-1".into(),
        state: "active",
        lease_until: (now - Duration::seconds(100)).to_rfc3339(),
        shipped_seq: 3,
        unshipped: 0,
        oldest_unshipped_at: None,
        last_heard_at: None,
        last_heard_s: None,
    };
    assert!(!may_take_back(&lag, now), "within the clock allowance");
    assert!(may_take_back(&lag, now + Duration::seconds(300)));
    assert!(!may_take_back(
        &VenueLag { state: "returned", ..lag.clone() },
        now + Duration::hours(1)
    ));
}

#[tokio::test]
async fn a_lapsed_lease_is_taken_back_from_the_page_and_shows_as_history() {
    let site = demo_site(true);
    let device = site.add_venue().await;
    let lapsed = Utc::now().checked_sub_signed(Duration::hours(1)).unwrap();
    let request = crate::desk::delegation::lend::LendRequest {
        event_id: site.event.clone(),
        venue_device_id: device,
        lease_until: lapsed,
        actor: "hq-01".into(),
    };
    let desk = site.state.desk.as_ref().unwrap();
    let lend = crate::desk::delegation::lend::lend;
    desk.run(move |tx, server, tip, now| lend(tx, server, tip, &request, now))
        .await
        .unwrap()
        .unwrap();
    let (hq, csrf) = site.sign_in("hq-01").await;
    let (_, _, body) = site.get("/hq/events", Some(&hq)).await;
    assert!(body.contains(r#"class="take-back""#) && body.contains("收回"), "{body}");
    let (finance, _) = site.sign_in("finance-01").await;
    let (_, _, list) = site.get("/hq/events", Some(&finance)).await;
    assert!(!list.contains(r#"class="take-back""#), "finance decides nothing: {list}");
    let path = format!("/hq/events/{}/take-back", site.event);
    assert_eq!(
        site.post_form(&path, &hq, "csrf=forged&confirm=yes").await.0,
        StatusCode::FORBIDDEN
    );
    let unconfirmed = format!("csrf={csrf}");
    assert_eq!(site.post_form(&path, &hq, &unconfirmed).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, headers, _) =
        site.post_form(&path, &hq, &format!("csrf={csrf}&confirm=yes")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let back = headers["location"].to_str().unwrap().to_owned();
    let (_, _, body) = site.get(&back, Some(&hq)).await;
    assert!(body.contains("已收回：总部恢复办理（第 2 代）"), "the flash: {body}");
    assert!(
        body.contains(r#"data-lent="false""#) && body.contains(r#"data-state="taken_back""#),
        "{body}"
    );
    assert_eq!(audited(&site, "event.take_back").await, 1);
    let staff = site.sign_in("staff-01").await;
    let (status, answer) =
        site.try_command(&staff, json!({ "kind": "set_mode", "mode": "free" })).await;
    assert_eq!(status, StatusCode::OK, "central serves the event again: {answer}");
}

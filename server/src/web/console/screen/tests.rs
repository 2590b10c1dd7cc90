//! The big screen through the router: its token (right, wrong, missing, rotated), the page,
//! its stream following a call within a second and ending on rotation, and the link page.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use axum::http::StatusCode;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use super::link::screen_url;
use crate::web::demo_site_tests::{DemoSite, demo_site, get};

/// The screen's path with its token, read from the link page as `who` sees it.
async fn screen_path(site: &DemoSite, who: &str) -> String {
    let (cookie, _) = site.sign_in(who).await;
    let (status, _, body) =
        site.get(&format!("/console/events/{}/screen-link", site.event), Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let start = body.find(r#"<code id="screen-url">"#).unwrap() + r#"<code id="screen-url">"#.len();
    let url = &body[start..start + body[start..].find('<').unwrap()];
    let url = url.replace("&amp;", "&");
    url.find("/screen/").map(|i| url[i..].to_owned()).unwrap()
}

/// The next `screen` message of an open stream's body.
async fn next_message(body: &mut axum::body::Body) -> Option<Value> {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(5), body.frame()).await.ok()??;
        let data = frame.ok()?.into_data().ok()?;
        let text = String::from_utf8_lossy(&data).into_owned();
        if let Some(line) = text.lines().find_map(|l| l.strip_prefix("data: ")) {
            return serde_json::from_str(line).ok();
        }
    }
}

#[tokio::test]
async fn the_screen_opens_only_with_its_events_current_token() {
    let site = demo_site(true);
    let path = screen_path(&site, "staff-01").await;
    let (status, headers, body) = site.get(&path, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(headers["content-security-policy"].to_str().unwrap().contains("script-src 'self'"));
    for id in [
        r#"id="now-serving""#,
        r#"id="next-numbers""#,
        r#"id="left-by-building""#,
        r#"id="left-by-layout""#,
        r#"id="recent-sales""#,
        r#"data-connected="false""#,
    ] {
        assert!(body.contains(id), "{id} missing: {body}");
    }
    assert!(body.contains("正在选房") && body.contains("/assets/screen.js?v="), "{body}");
    assert!(body.contains(r#"<li data-building="#), "units left per building: {body}");
    assert!(!body.contains("<script>") && !body.contains(" style="));
    let (_, _, english) = site.get(&format!("{path}&lang=en"), None).await;
    assert!(english.contains("Now serving"), "{english}");
    // Wrong, missing, another event's: one refusal, which never says which part was wrong.
    let token = path.split_once("token=").unwrap().1.to_owned();
    let mut wrong = token.clone().into_bytes();
    wrong[3] = if wrong[3] == b'a' { b'b' } else { b'a' };
    let wrong = String::from_utf8(wrong).unwrap();
    for bad in [
        format!("/screen/{}?token={wrong}", site.event),
        format!("/screen/{}", site.event),
        format!("/screen/{}?token=", site.event),
        format!("/screen/no-such-event?token={token}"),
        format!("/screen/{}/stream?token={wrong}", site.event),
    ] {
        let (status, _, body) = site.get(&bad, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{bad}");
        assert!(body.contains("此大屏链接无效或已更换"), "{bad}: {body}");
    }
    // Rotating makes a new link; the old one is refused.
    let (cookie, csrf) = site.sign_in("hq-01").await;
    let link = format!("/console/events/{}/screen-link", site.event);
    let (status, _, _) = site.post_form(&link, &cookie, "csrf=forged").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the CSRF token is checked");
    assert_eq!(site.get(&path, None).await.0, StatusCode::OK, "a forged post rotated nothing");
    let (status, headers, _) = site.post_form(&link, &cookie, &format!("csrf={csrf}")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(headers["location"].to_str().unwrap().starts_with(&link));
    assert_eq!(site.get(&path, None).await.0, StatusCode::FORBIDDEN, "rotated");
    let new_path = screen_path(&site, "finance-01").await;
    assert_ne!(new_path, path);
    assert_eq!(site.get(&new_path, None).await.0, StatusCode::OK);
}

#[tokio::test]
async fn the_stream_advances_within_a_second_of_a_call_and_ends_when_the_link_is_rotated() {
    let site = demo_site(true);
    let path = screen_path(&site, "staff-01").await;
    let (base, query) = path.split_once('?').unwrap();
    let response =
        site.app.clone().oneshot(get(&format!("{base}/stream?{query}"), None)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let mut body = response.into_body();
    let first = next_message(&mut body).await.unwrap();
    assert_eq!(first["now_serving"], Value::Null);
    assert_eq!(first["next"][0], 1);
    let staff = site.sign_in("staff-01").await;
    let called = std::time::Instant::now();
    site.command(&staff, json!({ "kind": "call_next", "now_serving": 0 })).await;
    let moved = next_message(&mut body).await.unwrap();
    assert!(called.elapsed() < Duration::from_secs(1), "{:?}", called.elapsed());
    assert_eq!(moved["now_serving"]["number"], 1, "{moved}");
    assert!(moved["now_serving"]["name"].as_str().unwrap().contains('*'), "masked: {moved}");
    assert_eq!(moved["next"][0], 2);
    // Rotating the link ends the open stream.
    let (cookie, csrf) = site.sign_in("hq-01").await;
    let link = format!("/console/events/{}/screen-link", site.event);
    site.post_form(&link, &cookie, &format!("csrf={csrf}")).await;
    let end = tokio::time::timeout(Duration::from_secs(5), body.frame()).await.unwrap();
    assert!(end.is_none(), "the stream ended");
}

#[tokio::test]
async fn the_link_page_is_for_the_events_staff_finance_and_headquarters() {
    let site = demo_site(true);
    let link = format!("/console/events/{}/screen-link", site.event);
    for who in ["staff-01", "finance-01", "hq-01", "admin"] {
        let (cookie, _) = site.sign_in(who).await;
        let (status, _, body) = site.get(&link, Some(&cookie)).await;
        assert_eq!(status, StatusCode::OK, "{who}");
        assert!(body.contains(r#"id="screen-url""#) && body.contains(r#"name="csrf""#), "{who}");
    }
    let (rep, _) = site.sign_in("rep-01").await;
    assert_eq!(site.get(&link, Some(&rep)).await.0, StatusCode::FORBIDDEN);
    assert_eq!(site.get(&link, None).await.0, StatusCode::SEE_OTHER, "sign in first");
}

#[test]
fn the_screen_url_is_absolute_when_the_host_is_known() {
    assert_eq!(
        screen_url(false, Some("venue:8080"), "ev 1", "ab"),
        "http://venue:8080/screen/ev%201?token=ab"
    );
    assert_eq!(
        screen_url(true, Some("kam.example"), "e", "ab"),
        "https://kam.example/screen/e?token=ab"
    );
    assert_eq!(screen_url(false, None, "e", "ab"), "/screen/e?token=ab");
    assert_eq!(screen_url(false, Some("a b"), "e", "ab"), "/screen/e?token=ab");
}

//! The administrator's device pages against the real server process: `admin` signs in over
//! HTTP with the demo password, enrols a tablet of `rep-01` from `/hq/devices` (the token is
//! read off the answer, which is never cached, beside its QR code), the tablet opens its push
//! stream with the token, and `admin` revokes the device from the same page: from then on the
//! token gets 401, and the open stream says `revoked` and ends within a bounded wait — at
//! once, not at the token's next request.
//!
//! Every wait is bounded (a read timeout polled against a deadline); nothing sleeps.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)] // Tests may panic on a broken expectation.

use std::time::Duration;

use kam_tests::hostile::{Answer, call, sign_in};
use kam_tests::push_stream::{open_push_stream, until_the_stream_ends};
use kam_tests::{ServerProcess, start_small_demo};

/// How long the revoked device's stream may stay open after the revocation was answered.
const STREAM_END_BOUND: Duration = Duration::from_secs(5);

/// The text between `start` and the next `end` in `page`.
fn between(page: &str, start: &str, end: &str) -> String {
    let from = page.find(start).unwrap_or_else(|| panic!("no {start} in {page}")) + start.len();
    let to = page[from..].find(end).unwrap() + from;
    page[from..to].to_owned()
}

/// `GET path` with the session `cookie`.
fn get_page(server: &ServerProcess, cookie: &str, path: &str) -> Answer {
    call(&server.url, "GET", path, &[("cookie", cookie)], None).unwrap()
}

/// `POST path` with the session `cookie` and a form body.
fn post_form(server: &ServerProcess, cookie: &str, path: &str, form: &str) -> Answer {
    let headers = [("cookie", cookie), ("content-type", "application/x-www-form-urlencoded")];
    call(&server.url, "POST", path, &headers, Some(form.as_bytes())).unwrap()
}

/// `GET path` with the device `token`; the status.
fn status_with_token(server: &ServerProcess, path: &str, token: &str) -> u16 {
    let auth = format!("Bearer {token}");
    call(&server.url, "GET", path, &[("authorization", &auth)], None).unwrap().status
}

#[test]
fn a_device_enrolled_and_revoked_from_the_page_loses_its_token_and_its_open_stream() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_small_demo(dir.path()).unwrap();
    let cookie = sign_in(&server.url, "admin").unwrap();

    let devices = get_page(&server, &cookie, "/hq/devices");
    assert_eq!(devices.status, 200, "{}", devices.text());
    let page = devices.text();
    assert!(page.contains(r#"id="enrol""#), "the administrator sees the enrol form: {page}");
    let csrf = between(&page, r#"name="csrf" value=""#, r#"""#);

    let form = format!("csrf={csrf}&confirm=yes&user_id=rep-01&label=e2e-tablet");
    let enrolled = post_form(&server, &cookie, "/hq/devices/enrol", &form);
    let page = enrolled.text();
    assert_eq!(enrolled.status, 200, "{page}");
    assert_eq!(enrolled.header("cache-control"), Some("no-store"), "the token is never cached");
    let token = between(&page, r#"<code id="enrol-token">"#, "</code>");
    let device = between(&page, r#"<section id="enrolled" data-device-id=""#, r#"""#);
    assert!(token.starts_with("kam_") && token.len() > 60, "{token}");
    assert!(page.contains("<svg") && page.contains("kam://enrol?server="), "the QR code: {page}");
    assert!(page.contains(&server.url), "the QR's server is this one: {page}");

    // Authenticated, the token reaches the document route (nothing there: 404), never 401.
    let nothing = "/api/v1/documents/customer/no-such-customer";
    assert_eq!(status_with_token(&server, nothing, &token), 404, "the new token works");
    let (mut stream, status) = open_push_stream(&server.url, &token);
    assert_eq!(status, 200, "the tablet's push stream opens");

    let revoke = format!("/hq/devices/{device}/revoke");
    let untick = post_form(&server, &cookie, &revoke, &format!("csrf={csrf}"));
    assert_eq!(untick.status, 422, "no revocation without the confirmation");
    let revoked = post_form(&server, &cookie, &revoke, &format!("csrf={csrf}&confirm=yes"));
    assert_eq!(revoked.status, 303, "{}", revoked.text());

    let (ended, seen) = until_the_stream_ends(&mut stream, STREAM_END_BOUND);
    let ended = ended.unwrap_or_else(|| panic!("the stream outlived its revocation: {seen}"));
    println!("the stream ended {} ms after the revocation was answered", ended.as_millis());
    assert!(seen.contains("event: revoked"), "{seen}");
    assert_eq!(status_with_token(&server, nothing, &token), 401, "the token is dead");

    let after = get_page(&server, &cookie, "/hq/devices").text();
    let row = between(&after, &format!(r#"<tr data-device-id="{device}">"#), "</tr>");
    assert!(row.contains("已吊销") && !row.contains("/revoke"), "{row}");
    assert!(!after.contains(&token), "the token is shown only once");
}

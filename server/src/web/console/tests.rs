//! The desk console and the consoles' command path through the whole router (`routes::app`,
//! driven with `oneshot`) over a small demo company with its desk open.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use kam_core::demo::DemoSpec;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::auth::Role;
use crate::desk::Desk;
use crate::http::{AppState, routes};
use crate::web::session::{self, SESSION_COOKIE};
use crate::{admin, data};

/// A signed-in person: cookie and CSRF token.
struct Person {
    cookie: String,
    csrf: String,
}

struct Venue {
    app: axum::Router,
    event: String,
    staff: Person,
    finance: Person,
    outsider: Person,
    rep: Person,
    _dir: tempfile::TempDir,
}

fn venue() -> Venue {
    let dir = tempfile::tempdir().unwrap();
    let mut store = data::open_store(dir.path()).unwrap();
    let now = chrono::Utc::now();
    let spec = DemoSpec { customers: 4, tickets: 2, units: 24, buyers: 6, ..DemoSpec::standard(2) };
    data::load_demo(&mut store, &spec, now).unwrap();
    admin::add_user(&mut store, admin::ADMIN_ACTOR, "staff-x", "staff-x", Role::EventStaff, now)
        .unwrap();
    let person = |user: &str| {
        let token = session::create_session(store.conn(), user, now).unwrap();
        let (_, _, csrf) = session::session_user(store.conn(), &token, now).unwrap().unwrap();
        Person { cookie: format!("{SESSION_COOKIE}={token}"), csrf }
    };
    let (staff, finance, outsider, rep) =
        (person("staff-01"), person("finance-01"), person("staff-x"), person("rep-01"));
    let event: String =
        store.desk_conn().query_row("SELECT event_id FROM desk_events", [], |r| r.get(0)).unwrap();
    let desk = Desk::start(&store.desk_path(), store.path(), store.policy().clone()).unwrap();
    let state = AppState::with_desk(store, desk).unwrap();
    Venue { app: routes::app(state), event, staff, finance, outsider, rep, _dir: dir }
}

async fn send(app: &axum::Router, request: Request<Body>) -> (StatusCode, HeaderMap, String) {
    let response = app.clone().oneshot(request).await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8_lossy(&bytes).into_owned())
}

fn get(path: &str, who: &Person) -> Request<Body> {
    Request::get(path).header(header::COOKIE, &who.cookie).body(Body::empty()).unwrap()
}

fn command(event: &str, who: Option<&Person>, csrf: Option<&str>, body: &Value) -> Request<Body> {
    let mut request = Request::post(format!("/console/api/events/{event}/commands"))
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(who) = who {
        request = request.header(header::COOKIE, &who.cookie);
    }
    if let Some(csrf) = csrf {
        request = request.header("x-csrf-token", csrf);
    }
    request.body(Body::from(body.to_string())).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desk_console_draws_the_table_for_the_events_staff_only() {
    let v = venue();
    let path = format!("/console/events/{}/desk", v.event);
    let (status, headers, body) = send(&v.app, get(&path, &v.staff)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    assert!(body.contains(r#"id="ctl""#) && body.contains(r#"id="call-next""#), "{body}");
    assert!(body.contains(&format!(r#"data-csrf="{}""#, v.staff.csrf)));
    assert_eq!(body.matches(r#"<td class="c "#).count(), 24, "every unit of the building");
    assert!(!body.contains("<script>") && !body.contains(" style="), "nothing inline");
    // Finance works at another station; staff of no event here are told so; a rep too.
    for (who, code) in
        [(&v.finance, "wrong_station"), (&v.outsider, "not_this_event"), (&v.rep, "wrong_station")]
    {
        let (status, _, body) = send(&v.app, get(&path, who)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert!(body.contains(&format!(r#"data-code="{code}""#)), "{code}: {body}");
    }
    let (status, _, _) = send(&v.app, get("/console/events/no-such-event/desk", &v.staff)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The consoles' list shows the event to its staff and nothing to the outsider.
    let (_, _, list) = send(&v.app, get("/console", &v.staff)).await;
    assert!(list.contains(&format!(r#"data-event-id="{}""#, v.event)), "{list}");
    let (_, _, list) = send(&v.app, get("/console", &v.outsider)).await;
    assert!(list.contains(r#"id="no-events""#), "{list}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_command_is_the_desks_own_under_the_persons_key() {
    let v = venue();
    let call =
        json!({ "idempotency_key": "k-1", "command": { "kind": "call_next", "now_serving": 0 } });
    // No session: 401 in the JSON envelope, not a page.
    let (status, headers, body) = send(&v.app, command(&v.event, None, None, &call)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("application/json"));
    // A missing or wrong CSRF token: 403.
    for csrf in [None, Some("not-the-token")] {
        let (status, _, body) = send(&v.app, command(&v.event, Some(&v.staff), csrf, &call)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    }
    let staff = Some(v.staff.csrf.as_str());
    let (status, _, first) = send(&v.app, command(&v.event, Some(&v.staff), staff, &call)).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let answer: Value = serde_json::from_str(&first).unwrap();
    assert_eq!(answer["outcome"], "accepted");
    assert_eq!(answer["result"]["now_serving"], 1);
    // The same key again (a double click, a resubmit after a timeout): the first answer.
    let (status, _, again) = send(&v.app, command(&v.event, Some(&v.staff), staff, &call)).await;
    assert_eq!((status, again.as_str()), (StatusCode::OK, first.as_str()));
    // The same key for another request: 422; a new key for the stale call: 409 refused.
    let other = json!({ "idempotency_key": "k-1", "command": { "kind": "skip", "lottery_no": 1 } });
    let (status, _, body) = send(&v.app, command(&v.event, Some(&v.staff), staff, &other)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let stale =
        json!({ "idempotency_key": "k-2", "command": { "kind": "call_next", "now_serving": 0 } });
    let (status, _, body) = send(&v.app, command(&v.event, Some(&v.staff), staff, &stale)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["refusal"]["code"], "stale_state");
    // The desk's own rules on who sends what: a rep never, staff of another event neither.
    let rep = Some(v.rep.csrf.as_str());
    let (status, _, body) = send(&v.app, command(&v.event, Some(&v.rep), rep, &stale)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let outsider = Some(v.outsider.csrf.as_str());
    let fresh =
        json!({ "idempotency_key": "k-3", "command": { "kind": "call_next", "now_serving": 1 } });
    let (status, _, body) =
        send(&v.app, command(&v.event, Some(&v.outsider), outsider, &fresh)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // Malformed and mistyped bodies are refused before the desk sees them.
    let (status, _, _) = send(
        &v.app,
        Request::post(format!("/console/api/events/{}/commands", v.event))
            .header(header::COOKIE, &v.staff.cookie)
            .header("x-csrf-token", &v.staff.csrf)
            .body(Body::from("{not json"))
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let unknown = json!({ "idempotency_key": "k-4", "command": { "kind": "sell_twice" } });
    let (status, _, _) = send(&v.app, command(&v.event, Some(&v.staff), staff, &unknown)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_stream_opens_with_the_counts_and_the_queue() {
    let v = venue();
    let path = format!("/console/events/{}/live?seq=0", v.event);
    let response = v.app.clone().oneshot(get(&path, &v.staff)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/event-stream")
    );
    let mut body = response.into_body();
    let frame = tokio::time::timeout(std::time::Duration::from_secs(10), body.frame())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let text = String::from_utf8(frame.into_data().unwrap().to_vec()).unwrap();
    let data = text.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
    let message: Value = serde_json::from_str(data).unwrap();
    assert_eq!(message["counts"]["available"], 24, "{message}");
    assert_eq!(message["cells"].as_array().unwrap().len(), 24, "every cell: the page is older");
    assert_eq!(message["queue"]["next"].as_array().unwrap().len(), 5, "{message}");
    let (status, _, _) = send(&v.app, get(&path, &v.rep)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

//! A small demo company behind the whole router, for the pages' tests: sessions for its
//! users, requests driven with `oneshot`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use kam_core::Policy;
use kam_core::demo::DemoSpec;
use tower::ServiceExt;

use crate::desk::writer::Desk;
use crate::http::{AppState, routes};
use crate::web::session;
use crate::{data, db};

/// The demo behind the router.
pub(crate) struct DemoSite {
    pub(crate) app: axum::Router,
    pub(crate) state: AppState,
    pub(crate) event: String,
    _dir: tempfile::TempDir,
}

/// A demo company; with `desk_open` false its event's desk is not open (the desk's file is
/// made anew after the demo was loaded).
pub(crate) fn demo_site(desk_open: bool) -> DemoSite {
    demo_site_with(desk_open, true)
}

/// A demo company without the demo's account-management records, for the tests of those
/// pages, which make their own and count them.
pub(crate) fn demo_site_without_account_records() -> DemoSite {
    demo_site_with(true, false)
}

/// A demo company with `customers` customers and `tickets` tickets, for the lists' tests.
pub(crate) fn demo_site_sized(customers: usize, tickets: usize) -> DemoSite {
    let spec = DemoSpec { customers, tickets, units: 12, buyers: 8, ..DemoSpec::standard(3) };
    demo_site_of(true, &spec)
}

fn demo_site_with(desk_open: bool, account_records: bool) -> DemoSite {
    let spec = DemoSpec {
        customers: 3,
        tickets: 3,
        units: 12,
        buyers: 8,
        account_records,
        ..DemoSpec::standard(1)
    };
    demo_site_of(desk_open, &spec)
}

fn demo_site_of(desk_open: bool, spec: &DemoSpec) -> DemoSite {
    let dir = tempfile::tempdir().unwrap();
    let mut store = data::open_store(dir.path()).unwrap();
    data::load_demo(&mut store, spec, chrono::Utc::now()).unwrap();
    if !desk_open {
        let desk = store.desk_path();
        drop(store);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", desk.display()));
        }
        store = data::open_store(dir.path()).unwrap();
    }
    let event = crate::hq::events::selection_events(store.conn(), store.desk()).unwrap()[0]
        .event_id
        .clone();
    let desk = Desk::start(&db::desk_path(store.path()), store.path(), Policy::default()).unwrap();
    let state = AppState::with_desk(store, desk).unwrap();
    DemoSite { app: routes::app(state.clone()), state, event, _dir: dir }
}

/// A site over an already built `state` (a venue server's, in the venue tests), keeping its
/// data directory alive.
pub(crate) fn site_over(dir: tempfile::TempDir, state: AppState, event: String) -> DemoSite {
    DemoSite { app: routes::app(state.clone()), state, event, _dir: dir }
}

impl DemoSite {
    /// Enrols a venue server for the site's event: the user `venue-1` (role `venue`) with the
    /// event's grant and its device `hall-1`; answers the device.
    pub(crate) async fn add_venue(&self) -> String {
        let event = self.event.clone();
        self.state
            .with_store(move |store| {
                let now = chrono::Utc::now();
                let project = crate::hq::events::selection_events(store.conn(), store.desk())?
                    .into_iter()
                    .find(|e| e.event_id == event)
                    .unwrap()
                    .project_id;
                let venue = kam_core::model::Role::Venue;
                crate::admin::add_user(
                    store,
                    crate::admin::ADMIN_ACTOR,
                    "venue-1",
                    "一号厅",
                    venue,
                    now,
                )?;
                crate::admin::assign_event(
                    store,
                    crate::admin::ADMIN_ACTOR,
                    &event,
                    &project,
                    "venue-1",
                    now,
                )?;
                Ok(crate::admin::enroll(
                    store,
                    crate::admin::ADMIN_ACTOR,
                    "venue-1",
                    "hall-1",
                    now,
                )?
                .device_id)
            })
            .await
            .unwrap()
    }

    /// Sends a desk command through the consoles' command path as the session `who`, and
    /// answers its status and body whatever they are.
    pub(crate) async fn try_command(
        &self,
        who: &(String, String),
        command: serde_json::Value,
    ) -> (StatusCode, String) {
        let body = serde_json::json!({
            "idempotency_key": uuid::Uuid::new_v4().simple().to_string(),
            "command": command,
        });
        let request = Request::post(crate::web::console::command::commands_path(&self.event))
            .header(header::COOKIE, &who.0)
            .header("x-csrf-token", &who.1)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let (status, _, answer) = self.send(request).await;
        (status, answer)
    }

    /// A live session of `user`: its cookie header and CSRF token.
    pub(crate) async fn sign_in(&self, user: &str) -> (String, String) {
        let user = user.to_owned();
        self.state
            .with_store(move |store| {
                let now = chrono::Utc::now();
                let token = session::create_session(store.conn(), &user, now)?;
                let (_, _, csrf) = session::session_user(store.conn(), &token, now)?.unwrap();
                Ok((format!("{}={token}", session::SESSION_COOKIE), csrf))
            })
            .await
            .unwrap()
    }

    /// Sends `request` and reads the whole answer.
    pub(crate) async fn send(&self, request: Request<Body>) -> (StatusCode, HeaderMap, String) {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, headers, String::from_utf8_lossy(&bytes).into_owned())
    }

    /// The audit log's actors of `action`, with their targets, oldest first.
    pub(crate) async fn audited(&self, action: &'static str) -> Vec<(String, String)> {
        self.state
            .with_store(move |store| {
                let sql = "SELECT actor, target FROM audit_log WHERE action = ?1 ORDER BY rowid";
                let mut stmt = store.sql().prepare(sql).unwrap();
                let rows = stmt.query_map([action], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
                Ok(rows.collect::<Result<Vec<_>, _>>().unwrap())
            })
            .await
            .unwrap()
    }

    /// Sends `request` and reads the whole answer as bytes (a download).
    pub(crate) async fn send_bytes(&self, request: Request<Body>) -> (StatusCode, Vec<u8>) {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        (status, response.into_body().collect().await.unwrap().to_bytes().to_vec())
    }

    /// `GET path` with `cookie`, if any.
    pub(crate) async fn get(
        &self,
        path: &str,
        cookie: Option<&str>,
    ) -> (StatusCode, HeaderMap, String) {
        self.send(get(path, cookie)).await
    }

    /// `POST path` with a form body.
    pub(crate) async fn post_form(
        &self,
        path: &str,
        cookie: &str,
        form: &str,
    ) -> (StatusCode, HeaderMap, String) {
        let request = Request::post(path)
            .header(header::COOKIE, cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form.to_owned()))
            .unwrap();
        self.send(request).await
    }

    /// Sends a desk command through the consoles' command path as the session `who`.
    pub(crate) async fn command(
        &self,
        who: &(String, String),
        command: serde_json::Value,
    ) -> StatusCode {
        let (status, answer) = self.try_command(who, command).await;
        assert!(status.is_success(), "{status} {answer}");
        status
    }
}

/// A GET request.
pub(crate) fn get(path: &str, cookie: Option<&str>) -> Request<Body> {
    let mut request = Request::get(path);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    request.body(Body::empty()).unwrap()
}

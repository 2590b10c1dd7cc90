//! A venue for the consoles' tests: the demo company on a real store and desk file, the
//! desk's writer running, the whole router, and signed-in sessions of the demo's event staff,
//! finance and a rep. Commands run through the real writer, as the demo devices' own.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use kam_core::Policy;
use kam_core::demo::DemoSpec;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::data;
use crate::desk::Caller;
use crate::desk::command::CommandRequest;
use crate::desk::writer::Desk;
use crate::http::{AppState, routes};
use crate::web::session::{self, SESSION_COOKIE};

/// The demo's event staff device token.
pub(crate) const STAFF: &str = "kam_demo_staff-01";
/// The demo's finance device token.
pub(crate) const FINANCE: &str = "kam_demo_finance-01";

/// The venue.
pub(crate) struct Venue {
    pub(crate) app: axum::Router,
    pub(crate) state: AppState,
    pub(crate) desk: Desk,
    pub(crate) event: String,
    /// Allotted units: (id, code).
    pub(crate) units: Vec<(String, String)>,
    /// Buyers in lottery order.
    pub(crate) buyers: Vec<String>,
    /// Session cookies.
    pub(crate) staff: String,
    pub(crate) finance: String,
    pub(crate) rep: String,
    _dir: tempfile::TempDir,
}

/// What [`Venue::trade`] did.
pub(crate) struct Trades {
    /// The hold, ticket and voucher of a sale in force (unit 0).
    pub(crate) hold: String,
    pub(crate) ticket: String,
    pub(crate) voucher: u32,
    /// The red voucher of a cancelled sale (unit 1), and the voucher it reverses.
    pub(crate) red: u32,
    pub(crate) cancelled: u32,
    /// A ticket waiting for review (unit 2).
    pub(crate) waiting: String,
    /// A reviewed ticket paid in part (unit 3).
    pub(crate) paying: String,
}

/// Opens the venue.
pub(crate) fn venue() -> Venue {
    let dir = tempfile::tempdir().unwrap();
    let mut store = data::open_store(dir.path()).unwrap();
    let spec = DemoSpec { customers: 5, tickets: 5, units: 12, buyers: 8, ..DemoSpec::standard(2) };
    let now = chrono::Utc::now();
    data::load_demo(&mut store, &spec, now).unwrap();
    let desk = Desk::start(&store.desk_path(), store.path(), Policy::default()).unwrap();
    let event = store.desk().open_events().unwrap().remove(0).0;
    let units = store
        .desk()
        .board_units(&event, None)
        .unwrap()
        .into_iter()
        .filter(|u| u.allotted)
        .map(|u| (u.unit_id, u.code))
        .collect();
    let buyers =
        store.desk().queue_lines(&event).unwrap().into_iter().map(|l| l.buyer_id).collect();
    let login = |user: &str| {
        let token = session::create_session(store.conn(), user, now).unwrap();
        format!("{SESSION_COOKIE}={token}")
    };
    let (staff, finance, rep) = (login("staff-01"), login("finance-01"), login("rep-01"));
    let state = AppState::with_desk(store, desk.clone()).unwrap();
    Venue {
        app: routes::app(state.clone()),
        state,
        desk,
        event,
        units,
        buyers,
        staff,
        finance,
        rep,
        _dir: dir,
    }
}

impl Venue {
    /// Sends `command` from the device `token`; the desk must accept it. Returns its result.
    pub(crate) async fn ok(&self, token: &str, command: Value) -> Value {
        let request: CommandRequest = serde_json::from_value(json!({
            "idempotency_key": uuid::Uuid::now_v7().to_string(),
            "event_id": self.event,
            "command": command,
        }))
        .unwrap();
        let reply = self.desk.submit(Caller::Device(token.to_owned()), request).await;
        let answer: Value = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(reply.status().as_u16(), 200, "{command} -> {answer}");
        answer["result"].clone()
    }

    /// Holds unit `i` for buyer `i` and draws up its ticket; returns (hold, ticket, due).
    async fn ticket(&self, i: usize) -> (String, String, String) {
        let (unit, buyer) = (&self.units[i].0, &self.buyers[i]);
        let held =
            self.ok(STAFF, json!({ "kind": "hold", "unit_id": unit, "buyer_id": buyer })).await;
        let hold = held["hold_id"].as_str().unwrap().to_owned();
        let t = self
            .ok(STAFF, json!({ "kind": "prepare_work_ticket", "unit_id": unit, "hold_id": hold,
                "payment_ratio_pct": "60",
                "discounts": [{ "code": "opening", "label": "开盘优惠", "pct": "1", "taken": true },
                              { "code": "full", "label": "一次性付款优惠", "pct": "2", "taken": false }],
                "sealing_fee": "20000" }))
            .await;
        let due = t["figures"]["amount_due"].as_str().unwrap().to_owned();
        (hold, t["ticket_id"].as_str().unwrap().to_owned(), due)
    }

    /// Reviews, pays in full and vouchers `ticket`; returns the voucher number.
    async fn pay(&self, ticket: &str, due: &str) -> u32 {
        self.ok(FINANCE, json!({ "kind": "review_work_ticket", "ticket_id": ticket })).await;
        self.ok(
            FINANCE,
            json!({ "kind": "record_receipt", "ticket_id": ticket, "amount": due,
                                 "method": "transfer" }),
        )
        .await;
        let v = self.ok(FINANCE, json!({ "kind": "issue_voucher", "ticket_id": ticket })).await;
        u32::try_from(v["voucher_no"].as_u64().unwrap()).unwrap()
    }

    /// A sale in force, a cancelled sale, a ticket waiting for review and one paid in part.
    pub(crate) async fn trade(&self) -> Trades {
        self.ok(STAFF, json!({ "kind": "set_mode", "mode": "free" })).await;
        let (hold, ticket, due) = self.ticket(0).await;
        let voucher = self.pay(&ticket, &due).await;
        let (_, second, due) = self.ticket(1).await;
        let cancelled = self.pay(&second, &due).await;
        let red = self
            .ok(
                FINANCE,
                json!({ "kind": "cancel_sale", "voucher_no": cancelled,
                                 "reason": "买受人放弃" }),
            )
            .await;
        let red = u32::try_from(red["red_voucher_no"].as_u64().unwrap()).unwrap();
        let (_, waiting, _) = self.ticket(2).await;
        let (_, paying, _) = self.ticket(3).await;
        self.ok(FINANCE, json!({ "kind": "review_work_ticket", "ticket_id": paying })).await;
        self.ok(
            FINANCE,
            json!({ "kind": "record_receipt", "ticket_id": paying,
                                 "amount": "1000.00", "method": "card" }),
        )
        .await;
        Trades { hold, ticket, voucher, red, cancelled, waiting, paying }
    }

    /// `GET path` with the session `cookie`: status and body.
    pub(crate) async fn get(&self, path: &str, cookie: &str) -> (StatusCode, String) {
        let request =
            Request::get(path).header(header::COOKIE, cookie).body(Body::empty()).unwrap();
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    /// `GET path` as finance, expecting 200.
    pub(crate) async fn page(&self, path: &str) -> String {
        let (status, body) = self.get(path, &self.finance).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        body
    }
}

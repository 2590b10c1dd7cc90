//! The desk's controls, each shown through the real writer on a real database file.

use chrono::{Duration, Utc};
use kam_core::Policy;
use kam_core::demo::DemoSpec;
use kam_core::doc::{event_doc_id, project_doc_id, read_event, read_project};
use kam_core::model::{EventId, ProjectId, UnitId, UnitStatus};
use serde_json::{Value, json};

use super::command::CommandRequest;
use super::writer::Desk;
use super::{ledger, mirror, reconcile};
use crate::data;
use crate::store::Store;

struct Venue {
    _dir: tempfile::TempDir,
    store: Store,
    desk: Desk,
    rt: tokio::runtime::Runtime,
    event: String,
    units: Vec<String>,
    /// Buyer ids in lottery order.
    buyers: Vec<String>,
}

const STAFF: &str = "kam_demo_staff-01";
const FINANCE: &str = "kam_demo_finance-01";
const HQ: &str = "kam_demo_hq-01";
/// Every approver the default policy requires for a price (RULES.md §7).
const APPROVERS: [&str; 5] =
    ["sales-director", "finance-director", "project-head", "gm", "chairman"];

fn venue() -> Venue {
    venue_with(Policy::default())
}

/// A venue whose desk runs under `policy`.
fn venue_with(policy: Policy) -> Venue {
    let dir = tempfile::tempdir().unwrap();
    let mut store = data::open_store(dir.path()).unwrap();
    let spec = DemoSpec { customers: 5, tickets: 5, units: 12, buyers: 8, ..DemoSpec::standard(2) };
    data::load_demo(&mut store, &spec, Utc::now()).unwrap();
    let desk = Desk::start(&store.desk_path(), store.path(), policy).unwrap();
    let conn = store.desk_conn();
    let event: String =
        conn.query_row("SELECT event_id FROM desk_events", [], |r| r.get(0)).unwrap();
    let units = column(conn, "SELECT unit_id FROM desk_allotments ORDER BY unit_id");
    let buyers = column(conn, "SELECT buyer_id FROM desk_buyers ORDER BY lottery_no");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    Venue { _dir: dir, store, desk, rt, event, units, buyers }
}

fn column(conn: &rusqlite::Connection, sql: &str) -> Vec<String> {
    let mut stmt = conn.prepare(sql).unwrap();
    stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

impl Venue {
    /// Sends `command` under a fresh key and returns the status and answer.
    fn send(&self, token: &str, command: Value) -> (u16, Value) {
        self.send_keyed(token, &uuid::Uuid::now_v7().to_string(), command)
    }

    fn send_keyed(&self, token: &str, key: &str, command: Value) -> (u16, Value) {
        let request: CommandRequest = serde_json::from_value(
            json!({ "idempotency_key": key, "event_id": self.event, "command": command }),
        )
        .unwrap();
        let reply =
            self.rt.block_on(self.desk.submit(super::Caller::Device(token.to_owned()), request));
        (reply.status().as_u16(), serde_json::from_str(&reply.body).unwrap())
    }

    fn ok(&self, token: &str, command: Value) -> Value {
        let (status, answer) = self.send(token, command.clone());
        assert_eq!(status, 200, "{command} -> {answer}");
        answer["result"].clone()
    }

    fn refused(&self, token: &str, command: Value) -> String {
        let (status, answer) = self.send(token, command.clone());
        assert_eq!(status, 409, "{command} -> {answer}");
        assert_eq!(answer["outcome"], "rejected");
        answer["refusal"]["code"].as_str().unwrap().to_owned()
    }

    fn status(&self, unit: &str) -> String {
        self.store
            .desk_conn()
            .query_row("SELECT status FROM desk_units WHERE unit_id = ?1", [unit], |r| r.get(0))
            .unwrap()
    }

    fn sql(&self, sql: &str) {
        self.store.desk_conn().execute_batch(sql).unwrap();
    }

    /// Holds, prices, confirms and pays for `unit`, returning the voucher number.
    fn sell(&self, unit: &str, buyer: &str) -> u64 {
        self.ok(STAFF, json!({ "kind": "hold", "unit_id": unit, "buyer_id": buyer }));
        self.pay_and_voucher(unit)
    }

    /// The hold on `unit` now, as the control table shows it.
    fn hold_id(&self, unit: &str) -> String {
        self.store
            .desk_conn()
            .query_row("SELECT hold_id FROM desk_units WHERE unit_id = ?1", [unit], |r| r.get(0))
            .unwrap()
    }

    /// The number served now, as the screen shows it (0 before anyone was called).
    fn serving(&self) -> u64 {
        self.store
            .desk_conn()
            .query_row("SELECT COALESCE(now_serving, 0) FROM desk_events", [], |r| r.get(0))
            .unwrap()
    }

    /// `call_next` as sent from a screen showing the queue as it is now.
    fn call_next(&self) -> Value {
        json!({ "kind": "call_next", "now_serving": self.serving() })
    }

    /// `skip` of the number being served now.
    fn skip(&self) -> Value {
        json!({ "kind": "skip", "lottery_no": self.serving() })
    }

    /// The approved price of `unit` as the approver's screen shows it (null if none).
    fn price_seen(&self, unit: &str) -> Value {
        let price: Option<String> = self
            .store
            .desk_conn()
            .query_row("SELECT unit_price FROM desk_units WHERE unit_id = ?1", [unit], |r| r.get(0))
            .unwrap();
        json!(price)
    }

    /// The work ticket for the hold on `unit` now.
    fn ticket_for(&self, unit: &str, ratio: &str) -> Value {
        json!({ "kind": "prepare_work_ticket", "unit_id": unit, "hold_id": self.hold_id(unit),
                "payment_ratio_pct": ratio,
                "discounts": [{ "code": "opening", "label": "开盘优惠", "pct": "1", "taken": true }],
                "sealing_fee": "20000" })
    }

    fn pay_and_voucher(&self, unit: &str) -> u64 {
        let ticket = self.ok(STAFF, self.ticket_for(unit, "60"));
        let id = ticket["ticket_id"].as_str().unwrap().to_owned();
        self.ok(FINANCE, json!({ "kind": "review_work_ticket", "ticket_id": id }));
        let due = ticket["figures"]["amount_due"].as_str().unwrap().to_owned();
        self.ok(FINANCE, json!({ "kind": "record_receipt", "ticket_id": id, "amount": due, "method": "transfer" }));
        self.ok(FINANCE, json!({ "kind": "issue_voucher", "ticket_id": id }))["voucher_no"]
            .as_u64()
            .unwrap()
    }
}

fn free(v: &Venue) {
    v.ok(STAFF, json!({ "kind": "set_mode", "mode": "free" }));
}

#[test]
fn in_strict_order_only_the_called_buyer_may_hold() {
    let v = venue();
    let (unit, first, second) = (&v.units[0], &v.buyers[0], &v.buyers[1]);
    let hold =
        |buyer: &str, unit: &str| json!({ "kind": "hold", "unit_id": unit, "buyer_id": buyer });
    assert_eq!(v.refused(STAFF, hold(first, unit)), "not_their_turn", "nobody called yet");
    assert_eq!(v.ok(STAFF, v.call_next())["now_serving"], 1);
    assert_eq!(v.refused(STAFF, hold(second, unit)), "not_their_turn");
    v.ok(STAFF, hold(first, unit));
    assert_eq!(v.status(unit), "held");
    // Number 2 is called; the unit number 1 holds is taken, and a stranger is refused.
    v.ok(STAFF, v.call_next());
    assert_eq!(v.refused(STAFF, hold(second, unit)), "unit_not_available");
    assert_eq!(v.refused(STAFF, hold("buyer-nobody", &v.units[1])), "not_on_list");
    // Skipping number 2 calls 3; recalling 2 brings them back without re-serving 1.
    assert_eq!(v.ok(STAFF, v.skip())["now_serving"], 3);
    assert_eq!(v.ok(STAFF, json!({ "kind": "recall", "lottery_no": 2 }))["now_serving"], 2);
    v.ok(STAFF, hold(second, &v.units[1]));
    assert_eq!(v.ok(STAFF, v.call_next())["now_serving"], 4, "3 was called before");
}

#[test]
fn unapproved_units_unallotted_units_and_a_second_unit_are_refused() {
    let v = venue();
    free(&v);
    let (buyer, other) = (&v.buyers[0], &v.buyers[1]);
    v.sql(&format!("UPDATE desk_units SET unit_price = NULL WHERE unit_id = '{}'", v.units[2]));
    let hold =
        |buyer: &str, unit: &str| json!({ "kind": "hold", "unit_id": unit, "buyer_id": buyer });
    assert_eq!(v.refused(STAFF, hold(buyer, &v.units[2])), "price_not_approved");
    assert_eq!(v.refused(STAFF, hold(buyer, "unit-not-in-event")), "unit_not_allotted");
    v.ok(STAFF, hold(buyer, &v.units[0]));
    assert_eq!(
        v.refused(STAFF, hold(buyer, &v.units[1])),
        "over_buyer_limit",
        "one unit per buyer"
    );
    v.ok(STAFF, hold(other, &v.units[1]));
}

#[test]
fn a_retry_gets_the_stored_answer_and_a_reused_key_gets_422() {
    let v = venue();
    free(&v);
    let hold = json!({ "kind": "hold", "unit_id": v.units[0], "buyer_id": v.buyers[0] });
    let (status, first) = v.send_keyed(STAFF, "key-1", hold.clone());
    assert_eq!(status, 200);
    let (status, again) = v.send_keyed(STAFF, "key-1", hold.clone());
    assert_eq!((status, &again), (200, &first), "the same answer, not a second hold");
    let (status, refused) = v.send_keyed(STAFF, "key-2", hold);
    assert_eq!((status, refused["refusal"]["code"].as_str()), (409, Some("unit_not_available")));
    let other = json!({ "kind": "hold", "unit_id": v.units[1], "buyer_id": v.buyers[1] });
    let (status, reused) = v.send_keyed(STAFF, "key-1", other);
    assert_eq!((status, reused["error"]["code"].as_str()), (422, Some("idempotency_key_reused")));
    assert_eq!(v.status(&v.units[1]), "available", "a refused key changed nothing");
    let holds: i64 =
        v.store.desk_conn().query_row("SELECT COUNT(*) FROM desk_holds", [], |r| r.get(0)).unwrap();
    assert_eq!(holds, 1);
}

#[test]
fn a_key_sent_twice_in_one_group_is_answered_once_and_stored_once() {
    let v = venue();
    free(&v);
    let hold = |unit: &str| json!({ "kind": "hold", "unit_id": unit, "buyer_id": v.buyers[0] });
    let request = |key: &str, unit: &str| -> CommandRequest {
        let body = json!({ "idempotency_key": key, "event_id": v.event, "command": hold(unit) });
        serde_json::from_value(body).unwrap()
    };
    let mut conn = v.store.location().open_desk().unwrap();
    let server = rusqlite::Connection::open(v.store.path()).unwrap();
    let group = vec![
        (STAFF.to_owned(), request("key-1", &v.units[0])),
        (STAFF.to_owned(), request("key-1", &v.units[0])),
        (STAFF.to_owned(), request("key-1", &v.units[1])),
    ];
    let replies =
        super::writer::run_as_one_group(&mut conn, &server, &Policy::default(), group).unwrap();
    assert_eq!(replies[0].status(), 200);
    assert_eq!((replies[1].replayed, &replies[1].body), (true, &replies[0].body), "a retry");
    assert_eq!(replies[2].status().as_u16(), 422, "the same key, another request");
    let stored: i64 = v
        .store
        .desk_conn()
        .query_row("SELECT COUNT(*) FROM desk_requests WHERE idempotency_key = 'key-1'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(stored, 1, "one stored answer, written with the group");
    let (status, again) = v.send_keyed(STAFF, "key-1", hold(&v.units[0]));
    let first: Value = serde_json::from_str(&replies[0].body).unwrap();
    assert_eq!((status, again), (200, first), "a later group finds the stored answer");
}

#[test]
fn a_call_in_the_middle_of_a_group_is_seen_by_the_holds_after_it() {
    let v = venue();
    let request = |command: Value| -> (String, CommandRequest) {
        let key = uuid::Uuid::now_v7().to_string();
        let body = json!({ "idempotency_key": key, "event_id": v.event, "command": command });
        (STAFF.to_owned(), serde_json::from_value(body).unwrap())
    };
    let hold = json!({ "kind": "hold", "unit_id": v.units[0], "buyer_id": v.buyers[0] });
    let group = vec![
        request(hold.clone()),
        request(json!({ "kind": "call_next", "now_serving": 0 })),
        request(hold),
    ];
    let mut conn = v.store.location().open_desk().unwrap();
    let server = rusqlite::Connection::open(v.store.path()).unwrap();
    let replies =
        super::writer::run_as_one_group(&mut conn, &server, &Policy::default(), group).unwrap();
    let codes: Vec<u16> = replies.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(codes, [409, 200, 200], "nobody called, then number 1 called and served");
}

#[test]
fn a_sale_refuses_every_shortcut_and_voucher_rows_cannot_be_edited() {
    let v = venue();
    free(&v);
    let (unit, buyer) = (&v.units[0], &v.buyers[0]);
    v.ok(STAFF, json!({ "kind": "hold", "unit_id": unit, "buyer_id": buyer }));
    assert_eq!(v.refused(STAFF, v.ticket_for(unit, "49.99")), "ratio_below_minimum");
    let ticket = v.ok(STAFF, v.ticket_for(unit, "50"));
    let id = ticket["ticket_id"].as_str().unwrap().to_owned();
    let due: rust_decimal::Decimal =
        ticket["figures"]["amount_due"].as_str().unwrap().parse().unwrap();
    let net: rust_decimal::Decimal =
        ticket["figures"]["net_price"].as_str().unwrap().parse().unwrap();
    assert_eq!(due, (net / rust_decimal::Decimal::from(2)).round_dp(2));
    assert_eq!(
        v.refused(STAFF, v.ticket_for(unit, "60")),
        "ticket_exists",
        "corrections go through red"
    );

    let issue = json!({ "kind": "issue_voucher", "ticket_id": id });
    assert_eq!(v.refused(FINANCE, issue.clone()), "not_confirmed", "no voucher before the review");
    assert_eq!(
        v.refused(STAFF, json!({ "kind": "review_work_ticket", "ticket_id": id })),
        "same_person"
    );
    v.ok(FINANCE, json!({ "kind": "review_work_ticket", "ticket_id": id }));
    assert_eq!(v.refused(FINANCE, issue.clone()), "not_paid", "no voucher before payment");
    let half = (due / rust_decimal::Decimal::from(2)).round_dp(2);
    let receipt = |amount: rust_decimal::Decimal| json!({ "kind": "record_receipt", "ticket_id": id, "amount": amount.to_string(), "method": "card" });
    v.ok(FINANCE, receipt(half));
    assert_eq!(v.refused(FINANCE, issue.clone()), "not_paid", "part payment is not payment");
    v.ok(FINANCE, receipt(due - half));
    let voucher = v.ok(FINANCE, issue.clone());
    assert_eq!(voucher["voucher_no"], 1);
    assert_eq!(v.status(unit), "sold");
    assert_eq!(v.refused(FINANCE, issue), "already_vouchered");

    // A voucher is never edited in place: the database itself refuses.
    let edit =
        v.store.desk_conn().execute("UPDATE vouchers SET amount = '1' WHERE voucher_no = 1", []);
    assert!(edit.unwrap_err().to_string().contains("append-only"));
    let delete = v.store.desk_conn().execute("DELETE FROM vouchers WHERE voucher_no = 1", []);
    assert!(delete.is_err());

    let report = reconcile::reconcile(v.store.desk(), &v.event).unwrap();
    assert!(report.mismatches.is_empty(), "{:?}", report.mismatches);
    assert_eq!((report.units_sold, report.vouchers_live), (1, 1));
    assert_eq!(report.receipts_total, due);
    assert!(ledger::verify(v.store.desk()).unwrap().ok());
}

#[test]
fn a_swap_and_a_cancellation_reverse_in_red_and_keep_the_series_gapless() {
    let v = venue();
    free(&v);
    let (first_unit, second_unit, buyer) = (&v.units[0], &v.units[1], &v.buyers[0]);
    assert_eq!(v.sell(first_unit, buyer), 1);
    let swap = json!({ "kind": "swap_unit", "voucher_no": 1, "new_unit_id": second_unit, "reason": "换房" });
    assert_eq!(v.send(STAFF, swap.clone()).0, 403, "reversal is finance's narrow permission");
    let swapped = v.ok(FINANCE, swap);
    assert_eq!(swapped["cancelled"]["red_voucher_no"], 2);
    assert_eq!(swapped["cancelled"]["receipts_reversed"], 1);
    assert_eq!(v.status(first_unit), "available");
    assert_eq!(v.status(second_unit), "held");
    assert_eq!(v.pay_and_voucher(second_unit), 3);

    let cancel = |no: u32| json!({ "kind": "cancel_sale", "voucher_no": no, "reason": "退房" });
    assert_eq!(v.refused(FINANCE, cancel(1)), "voucher_reversed", "a voucher is reversed once");
    assert_eq!(v.refused(FINANCE, cancel(2)), "voucher_is_reversal", "red is not reversed again");
    assert_eq!(v.ok(FINANCE, cancel(3))["red_voucher_no"], 4);
    assert_eq!(v.status(second_unit), "available");

    // The chain: 1 reversed by 2, 3 reversed by 4; every number used once, none skipped.
    let links = column(
        v.store.desk_conn(),
        "SELECT voucher_no || '>' || COALESCE(reverses, '') || ':' || amount FROM vouchers ORDER BY voucher_no",
    );
    assert_eq!(links.len(), 4);
    assert!(links[1].starts_with("2>1:-") && links[3].starts_with("4>3:-"), "{links:?}");
    let red_tickets: i64 = v
        .store
        .desk_conn()
        .query_row("SELECT COUNT(*) FROM work_tickets WHERE reverses IS NOT NULL", [], |r| r.get(0))
        .unwrap();
    assert_eq!(red_tickets, 2);
    let report = reconcile::reconcile(v.store.desk(), &v.event).unwrap();
    assert!(report.mismatches.is_empty(), "{:?}", report.mismatches);
    assert_eq!((report.vouchers_live, report.vouchers_reversed), (0, 2));
    assert_eq!(report.receipts_total, rust_decimal::Decimal::ZERO, "all money reversed");
    assert!(ledger::verify(v.store.desk()).unwrap().ok());
}

#[test]
fn reconciliation_lists_a_sold_unit_without_a_voucher() {
    let v = venue();
    free(&v);
    v.sell(&v.units[0], &v.buyers[0]);
    // Someone with the file marks a unit sold behind the desk's back.
    v.sql(&format!("UPDATE desk_units SET status = 'sold' WHERE unit_id = '{}'", v.units[5]));
    let report = reconcile::reconcile(v.store.desk(), &v.event).unwrap();
    let codes: Vec<&str> = report.mismatches.iter().map(|m| m.code).collect();
    assert_eq!(codes, vec!["sold_without_voucher"]);
    assert_eq!(report.mismatches[0].unit_id.as_deref(), Some(v.units[5].as_str()));
}

#[test]
fn a_lapsed_hold_expires_into_the_ledger_and_the_unit_is_offered_again() {
    let v = venue();
    free(&v);
    let unit = &v.units[0];
    v.ok(STAFF, json!({ "kind": "hold", "unit_id": unit, "buyer_id": v.buyers[0] }));
    let past = crate::db::desk::state::instant(Utc::now() - Duration::seconds(1));
    v.sql(&format!("UPDATE desk_units SET held_until = '{past}' WHERE unit_id = '{unit}'"));
    assert_eq!(v.rt.block_on(v.desk.sweep()), 1);
    assert_eq!(v.status(unit), "available");
    let kinds = column(v.store.desk_conn(), "SELECT kind FROM desk_ledger ORDER BY seq");
    assert_eq!(kinds.last().map(String::as_str), Some("hold_expired"));
    // Another buyer may take it now; the first buyer's limit is free again too.
    v.ok(STAFF, json!({ "kind": "hold", "unit_id": unit, "buyer_id": v.buyers[1] }));
    v.ok(STAFF, json!({ "kind": "hold", "unit_id": v.units[1], "buyer_id": v.buyers[0] }));
}

#[test]
fn a_reviewed_ticket_seals_its_hold_against_expiry() {
    let v = venue();
    free(&v);
    let unit = &v.units[0];
    v.ok(STAFF, json!({ "kind": "hold", "unit_id": unit, "buyer_id": v.buyers[0] }));
    let id = v.ok(STAFF, v.ticket_for(unit, "60"))["ticket_id"].as_str().unwrap().to_owned();
    v.ok(FINANCE, json!({ "kind": "review_work_ticket", "ticket_id": id }));
    assert_eq!(v.rt.block_on(v.desk.sweep()), 0);
    let until: Option<String> = v
        .store
        .desk_conn()
        .query_row("SELECT held_until FROM desk_units WHERE unit_id = ?1", [unit], |r| r.get(0))
        .unwrap();
    assert_eq!(until, None);
}

/// An 18-character ID number with its correct check character.
fn id_number(first17: &str) -> String {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17.bytes().zip(WEIGHTS).map(|(b, w)| u32::from(b - b'0') * w).sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{first17}{check}")
}

#[test]
fn the_lottery_order_numbers_only_listed_buyers() {
    let v = venue();
    v.sql("DELETE FROM desk_buyers");
    let (a, b, stranger) = (
        id_number("33010219900101123"),
        id_number("33010219900202234"),
        id_number("33010219900303345"),
    );
    let list = format!("姓名,身份证号\n张三,{a}\n李四,{b}\n");
    let imported = v.ok(STAFF, json!({ "kind": "import_buyers", "csv": list }));
    assert_eq!(imported["added"].as_array().unwrap().len(), 2);
    assert_eq!(v.ok(STAFF, json!({ "kind": "import_buyers", "csv": list }))["already_listed"], 2);
    let masked: String = v
        .store
        .desk_conn()
        .query_row("SELECT id_number_masked FROM desk_buyers LIMIT 1", [], |r| r.get(0))
        .unwrap();
    assert!(masked.starts_with("3301") && masked.contains("**********"), "{masked}");
    let clear: i64 = v
        .store
        .desk_conn()
        .query_row(
            "SELECT COUNT(*) FROM desk_buyers WHERE id_number_hash IN (?1, ?2)",
            [&a, &b],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(clear, 0, "ID numbers are never stored in clear");

    let wrong_name = format!("1,张三,{a}\n2,王五,{b}\n");
    assert_eq!(
        v.refused(STAFF, json!({ "kind": "import_lottery", "csv": wrong_name })),
        "lottery_mismatch"
    );
    let not_listed = format!("1,张三,{a}\n2,赵六,{stranger}\n");
    assert_eq!(
        v.refused(STAFF, json!({ "kind": "import_lottery", "csv": not_listed })),
        "lottery_mismatch"
    );
    let bad_id = "1,张三,330102199001011230\n";
    assert_eq!(v.refused(STAFF, json!({ "kind": "import_lottery", "csv": bad_id })), "invalid_csv");
    let order = format!("序号,姓名,身份证号\n2,张三,{a}\n1,李四,{b}\n");
    assert_eq!(v.ok(STAFF, json!({ "kind": "import_lottery", "csv": order }))["numbered"], 2);
    assert_eq!(
        v.refused(STAFF, json!({ "kind": "import_lottery", "csv": order })),
        "lottery_already_drawn"
    );
    let first = column(v.store.desk_conn(), "SELECT name FROM desk_buyers ORDER BY lottery_no");
    assert_eq!(first, vec!["李四".to_string(), "张三".to_string()]);

    // At the desk, the ID card presented is checked against the list; the number is not kept.
    let zhang: String = v
        .store
        .desk_conn()
        .query_row("SELECT buyer_id FROM desk_buyers WHERE name = '张三'", [], |r| r.get(0))
        .unwrap();
    let check = |id: &str| json!({ "kind": "check_identity", "buyer_id": zhang, "id_number": id });
    assert_eq!(v.ok(STAFF, check(&a))["matches"], true);
    assert_eq!(v.refused(STAFF, check(&b)), "identity_mismatch");
    assert_eq!(v.refused(STAFF, check("123")), "invalid_id_number");
    let kept: i64 = v
        .store
        .desk_conn()
        .query_row(
            "SELECT COUNT(*) FROM desk_requests WHERE answer LIKE ?1",
            [format!("%{a}%")],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(kept, 0, "the stored answers do not hold the ID number");
}

#[test]
fn the_wrong_people_are_turned_away_before_anything_changes() {
    let v = venue();
    let hold = json!({ "kind": "hold", "unit_id": v.units[0], "buyer_id": v.buyers[0] });
    assert_eq!(v.send("kam_demo_rep-01", hold.clone()).0, 403);
    assert_eq!(v.send("not-a-token", hold.clone()).0, 401);
    let price = json!({ "kind": "approve_price", "unit_id": v.units[3], "unit_price": "20000",
                        "approvers": APPROVERS, "price_seen": v.price_seen(&v.units[3]) });
    assert_eq!(v.send(STAFF, price.clone()).0, 403, "prices are headquarters'");
    assert_eq!(v.ok(HQ, price)["unit_price"], "20000");
    let requests: i64 = v
        .store
        .desk_conn()
        .query_row("SELECT COUNT(*) FROM desk_requests", [], |r| r.get(0))
        .unwrap();
    assert_eq!(requests, 1, "only the accepted approval is stored");
}

#[test]
fn outcomes_are_mirrored_into_the_project_and_event_documents() {
    // A company whose policy asks two approvers.
    let mut policy = Policy::default();
    policy.selection.price_approvers = vec!["gm".into(), "cfo".into()];
    let mut v = venue_with(policy);
    let unit = v.units[0].clone();
    v.ok(STAFF, v.call_next());
    v.ok(STAFF, json!({ "kind": "hold", "unit_id": unit, "buyer_id": v.buyers[0] }));
    v.ok(
        HQ,
        json!({ "kind": "approve_price", "unit_id": v.units[4], "unit_price": "21000",
                     "approvers": ["gm", "cfo"], "price_seen": v.price_seen(&v.units[4]) }),
    );
    let done = mirror::mirror_pending(&mut v.store, Utc::now()).unwrap();
    assert_eq!(done.changed.len(), 2, "the project and the event document");
    let project_id: String = v
        .store
        .desk_conn()
        .query_row("SELECT project_id FROM desk_events", [], |r| r.get(0))
        .unwrap();
    let doc =
        v.store.document(&project_doc_id(&ProjectId::from(project_id.as_str()))).unwrap().unwrap();
    let project = read_project(doc).unwrap();
    assert_eq!(project.units[&UnitId::from(unit.as_str())].status, UnitStatus::Held);
    let priced = &project.units[&UnitId::from(v.units[4].as_str())];
    assert_eq!(priced.unit_price, Some(rust_decimal::Decimal::from(21_000)));
    assert_eq!(priced.approval.as_ref().unwrap().approvers.len(), 2);
    let event = v.store.document(&event_doc_id(&EventId::from(v.event.as_str()))).unwrap().unwrap();
    assert_eq!(read_event(event).unwrap().now_serving, Some(1));
    assert_eq!(mirror::mirror_pending(&mut v.store, Utc::now()).unwrap().entries, 0, "caught up");
}

#[test]
fn the_mirror_names_the_hold_each_unit_status_is_about() {
    let mut v = venue();
    free(&v);
    let (held_on, released_at_once) = (v.units[0].clone(), v.units[1].clone());
    let hold =
        |unit: &str, buyer: &str| json!({ "kind": "hold", "unit_id": unit, "buyer_id": buyer });
    let first = v.ok(STAFF, hold(&held_on, &v.buyers[0]))["hold_id"].as_str().unwrap().to_owned();
    // Held and released before the mirror runs: the status is still about that hold.
    let gone =
        v.ok(STAFF, hold(&released_at_once, &v.buyers[1]))["hold_id"].as_str().unwrap().to_owned();
    v.ok(
        STAFF,
        json!({ "kind": "release", "unit_id": released_at_once, "hold_id": gone,
                        "reason": "改主意" }),
    );
    mirror::mirror_pending(&mut v.store, Utc::now()).unwrap();
    let project_id: String = v
        .store
        .desk_conn()
        .query_row("SELECT project_id FROM desk_events", [], |r| r.get(0))
        .unwrap();
    let project_doc = project_doc_id(&ProjectId::from(project_id.as_str()));
    let unit = |v: &mut Venue, id: &str| {
        let doc = v.store.document(&project_doc).unwrap().unwrap();
        read_project(doc).unwrap().units[&UnitId::from(id)].clone()
    };
    let u = unit(&mut v, &held_on);
    assert_eq!((u.status, u.desk_hold.as_deref()), (UnitStatus::Held, Some(first.as_str())));
    let u = unit(&mut v, &released_at_once);
    assert_eq!((u.status, u.desk_hold.as_deref()), (UnitStatus::Available, Some(gone.as_str())));
    // Released in a later batch: the document keeps naming the hold the status is about.
    v.ok(
        STAFF,
        json!({ "kind": "release", "unit_id": held_on, "hold_id": first,
                        "reason": "改主意" }),
    );
    mirror::mirror_pending(&mut v.store, Utc::now()).unwrap();
    let u = unit(&mut v, &held_on);
    assert_eq!((u.status, u.desk_hold.as_deref()), (UnitStatus::Available, Some(first.as_str())));
}

#[test]
fn a_key_belongs_to_its_device_and_the_role_is_checked_before_a_stored_answer() {
    let v = venue();
    free(&v);
    let hold = json!({ "kind": "hold", "unit_id": v.units[0], "buyer_id": v.buyers[0] });
    let (status, first) = v.send_keyed(STAFF, "shared-key", hold.clone());
    assert_eq!(status, 200, "{first}");
    // Another user re-sending the same key and body gets nothing of staff-01's answer: a rep
    // is refused by role before any replay, and HQ's device sends a command of its own.
    let (status, rep) = v.send_keyed("kam_demo_rep-01", "shared-key", hold.clone());
    assert_eq!((status, rep["error"]["code"].as_str()), (403, Some("forbidden")), "{rep}");
    let (status, hq) = v.send_keyed(HQ, "shared-key", hold.clone());
    assert_eq!(status, 409, "HQ's own hold of a held unit is refused, not replayed: {hq}");
    assert_eq!(hq["refusal"]["code"], "unit_not_available");
    // A second device of the same user has keys of its own too.
    let other = crate::auth::enroll_device(v.store.conn(), "staff-01", "tablet 2", Utc::now())
        .unwrap()
        .token;
    let (status, again) = v.send_keyed(&other, "shared-key", hold.clone());
    assert_eq!(status, 409, "{again}");
    // The same device retrying gets its stored answer — until its grant is withdrawn.
    assert_eq!(v.send_keyed(STAFF, "shared-key", hold.clone()), (200, first));
    crate::sync::scope::revoke(v.store.conn(), "staff-01", &format!("event/{}", v.event)).unwrap();
    let (status, after) = v.send_keyed(STAFF, "shared-key", hold);
    assert_eq!(status, 403, "no answer, stored or fresh, without the grant: {after}");
}

#[test]
fn a_venue_servers_device_sends_no_commands_even_with_the_events_grant() {
    let v = venue();
    free(&v);
    let conn = v.store.conn();
    crate::auth::create_user(conn, "venue-hall", "Hall", crate::auth::Role::Venue, Utc::now())
        .unwrap();
    crate::sync::scope::grant(conn, "venue-hall", &format!("event/{}", v.event)).unwrap();
    let token = crate::auth::enroll_device(conn, "venue-hall", "venue", Utc::now()).unwrap().token;
    for command in
        [v.call_next(), json!({ "kind": "hold", "unit_id": v.units[0], "buyer_id": v.buyers[0] })]
    {
        let (status, answer) = v.send(&token, command);
        assert_eq!((status, answer["error"]["code"].as_str()), (403, Some("forbidden")));
        assert_eq!(answer["error"]["message"], super::access::VENUE_SENDS_NO_COMMANDS);
    }
    assert_eq!(v.status(&v.units[0]), "available", "nothing ran");
}

#[test]
fn every_command_made_against_a_state_that_moved_on_is_refused_not_applied() {
    let v = venue();
    free(&v);
    let (unit, first, second) = (v.units[0].clone(), v.buyers[0].clone(), v.buyers[1].clone());
    // A release queued against the first buyer's hold arrives after that hold was released
    // and the second buyer's was placed: it must not free the second buyer's hold.
    v.ok(STAFF, json!({ "kind": "hold", "unit_id": unit, "buyer_id": first }));
    let old_hold = v.hold_id(&unit);
    let release = json!({ "kind": "release", "unit_id": unit, "hold_id": old_hold, "reason": "r" });
    v.ok(STAFF, release.clone());
    v.ok(STAFF, json!({ "kind": "hold", "unit_id": unit, "buyer_id": second }));
    assert_eq!(v.refused(STAFF, release), "stale_state");
    assert_eq!(v.status(&unit), "held", "the second buyer's hold stands");
    // A work ticket drawn up against the old hold is refused the same way.
    let mut ticket = v.ticket_for(&unit, "60");
    ticket["hold_id"] = json!(old_hold);
    assert_eq!(v.refused(STAFF, ticket), "stale_state");
    // The queue: a call or a skip made from a screen that still shows an older number.
    let seen = v.serving();
    v.ok(STAFF, v.call_next());
    let late_call = json!({ "kind": "call_next", "now_serving": seen });
    assert_eq!(v.refused(STAFF, late_call), "stale_state", "the next number is not called twice");
    let late_skip = json!({ "kind": "skip", "lottery_no": v.serving() + 1 });
    assert_eq!(v.refused(STAFF, late_skip), "stale_state");
    // A price approved against a price that was replaced meanwhile.
    let priced = v.units[5].clone();
    let before = v.price_seen(&priced);
    let approve = |price: &str, seen: &Value| {
        json!({ "kind": "approve_price", "unit_id": priced, "unit_price": price,
                "approvers": APPROVERS, "price_seen": seen })
    };
    v.ok(HQ, approve("30000", &before));
    assert_eq!(v.refused(HQ, approve("31000", &before)), "stale_state");
    assert_eq!(v.price_seen(&priced), json!("30000"));
}

#[test]
fn a_price_approved_without_every_required_approver_is_refused_naming_who_is_missing() {
    let v = venue();
    let unit = v.units[3].clone();
    let seen = v.price_seen(&unit);
    let price = |approvers: Value| {
        json!({ "kind": "approve_price", "unit_id": unit, "unit_price": "20000",
                "approvers": approvers, "price_seen": seen })
    };
    let (status, answer) = v.send(HQ, price(json!(["gm", "chairman"])));
    assert_eq!(status, 409, "{answer}");
    assert_eq!(answer["refusal"]["code"], "approvers_missing");
    let message = answer["refusal"]["message"].as_str().unwrap();
    assert!(message.starts_with("房价须经全部审批人审批"), "{message}");
    for missing in ["sales-director", "finance-director", "project-head"] {
        assert!(message.contains(missing), "{message}");
    }
    assert!(!message.contains("gm,") && !message.contains("chairman"), "{message}");
    assert_eq!(v.price_seen(&unit), seen, "nothing was approved");
    assert_eq!(v.ok(HQ, price(json!(APPROVERS)))["unit_price"], "20000");
}

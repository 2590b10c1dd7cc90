//! The desk's store test suite, written once against the desk's storage traits and run
//! against every backend (as [`store_suite!`](crate::store_suite) is for the server's
//! database): a backend invokes [`desk_suite!`](crate::desk_suite) with a function that opens
//! a fresh, migrated desk database and gets one test per case.
//!
//! Each case states what every backend must do, in the traits' own words: no SQL here.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::arithmetic_side_effects)] // Tests may panic on a broken expectation.

use std::ops::ControlFlow;

use kam_core::model::{
    Buyer, BuyerId, SelectionMode, UnitId, UnitStatus, UserId, WorkTicketFigures, WorkTicketTerms,
};
use rust_decimal::Decimal;

use super::answers::NewAnswer;
use super::board::{BoardTally, BoardUnit, QueueLine};
use super::ledger::{LedgerTip, NewLedgerEntry, StoredLedgerEntry};
use super::sales::{NewReceipt, NewVoucher, NewWorkTicket, PriceApproval};
use super::state::{HoldEnd, NewBuyer, NewDeskEvent, NewDeskUnit, NewHold};
// The cases of `suite_records`, so that `desk_suite!` names them all here.
pub(crate) use super::suite_records::*;
use super::{
    DeskAnswers, DeskBoard, DeskDisplay, DeskLedger, DeskSales, DeskSavepoints, DeskState,
};

/// Generates one test per case of the desk suite for the backend `open` makes (a function
/// returning something that derefs to a fresh, migrated desk database).
#[macro_export]
macro_rules! desk_suite {
    ($open:path) => {
        $crate::desk_suite!(@cases $open;
            an_event_opens_once_with_its_units_allotments_and_buyers,
            a_hold_takes_an_available_unit_once_and_ends_with_its_state,
            a_hold_and_a_release_are_decided_on_facts_read_together,
            the_queue_calls_skips_recalls_and_numbers_buyers,
            the_books_list_tickets_receipts_vouchers_and_papers,
            delegations_keep_their_generations_and_the_venue_segment,
            a_venue_chain_continues_from_its_anchor,
            central_takes_only_its_event_s_progress_from_a_venue,
            an_image_written_again_changes_no_append_only_row,
            the_ledger_appends_and_reads_its_tip_back,
            a_sale_is_recorded_and_reversed_in_red,
            answers_are_found_under_their_device_and_key,
            display_links_are_made_once_and_rotate_per_event,
            the_board_shows_the_plan_the_queue_and_recent_sales,
            a_command_undone_leaves_nothing_and_a_released_one_stays,
        );
    };
    (@cases $open:path; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                let desk = $open();
                $crate::db::desk::suite::$case(&*desk);
            }
        )*
    };
    // A backend whose database may be absent on this machine (`None`: the case says so and
    // returns), and which runs the cases it lists.
    (@optional $open:path; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                let Some(desk) = $open() else { return };
                $crate::db::desk::suite::$case(&*desk);
            }
        )*
    };
}

const EVENT: &str = "e1";
const PROJECT: &str = "p1";

/// Opens the desk of [`EVENT`] on [`PROJECT`] with two priced units, both allotted.
fn open_event(desk: &(impl DeskState + ?Sized)) {
    let event = NewDeskEvent {
        name: "第一批选房",
        event_id: EVENT,
        project_id: PROJECT,
        mode: SelectionMode::StrictOrder,
        voucher_prefix: "XFE1-",
        voucher_last: 99,
        opened_at: "2026-11-24T01:00:00.000000Z",
    };
    assert!(desk.insert_desk_event(&event).unwrap());
    assert!(!desk.insert_desk_event(&event).unwrap(), "a desk opens once");
    let approvers = [UserId::from("gm")];
    let approved_at = chrono::DateTime::UNIX_EPOCH;
    for (unit_id, code) in [("u1", "1-101"), ("u2", "1-102")] {
        let unit = NewDeskUnit {
            unit_id,
            building: "1号楼",
            floor: 1,
            layout: "3室2厅2卫",
            code,
            area_m2: Decimal::from(90),
            unit_price: Some(Decimal::from(20_000)),
            approval: Some((&approvers, approved_at)),
            status: UnitStatus::Available,
        };
        assert_eq!(desk.insert_desk_unit(PROJECT, &unit).unwrap(), 1);
        assert_eq!(desk.insert_desk_unit(PROJECT, &unit).unwrap(), 0, "a unit is taken once");
        desk.allot_unit(EVENT, unit_id).unwrap();
        desk.allot_unit(EVENT, unit_id).unwrap();
    }
}

pub(crate) fn an_event_opens_once_with_its_units_allotments_and_buyers(
    desk: &(impl DeskState + DeskLedger + ?Sized),
) {
    assert_eq!(desk.desk_event(EVENT).unwrap(), None);
    assert!(!desk.event_desk_open(EVENT).unwrap());
    open_event(desk);
    let row = desk.desk_event(EVENT).unwrap().unwrap();
    assert_eq!(
        (row.project_id.as_str(), row.mode, row.now_serving),
        (PROJECT, SelectionMode::StrictOrder, None)
    );
    assert_eq!(desk.event_project(EVENT).unwrap().as_deref(), Some(PROJECT));
    assert!(desk.event_desk_open(EVENT).unwrap());
    let on_desk: Vec<UnitId> = desk.units_on_desk(PROJECT).unwrap().into_iter().collect();
    assert_eq!(on_desk, [UnitId::from("u1"), UnitId::from("u2")]);
    assert!(desk.allotted(EVENT, "u1").unwrap());
    assert!(!desk.allotted(EVENT, "u9").unwrap());
    let table = desk.control_units(EVENT).unwrap();
    let codes: Vec<(&str, &str)> =
        table.iter().map(|u| (u.code.as_str(), u.status.as_str())).collect();
    assert_eq!(codes, [("1-101", "available"), ("1-102", "available")]);
    let approval = desk.approval(PROJECT, "u1").unwrap().unwrap();
    assert_eq!(
        (approval.unit_price, approval.approvers),
        (Decimal::from(20_000), vec!["gm".into()])
    );
    let buyer = Buyer {
        id: BuyerId("b1".into()),
        name: "张三".into(),
        id_number_hash: "h1".into(),
        id_number_masked: "1101**********002X".into(),
        lottery_no: Some(1),
    };
    desk.list_buyer(EVENT, &buyer).unwrap();
    desk.list_buyer(EVENT, &buyer).unwrap();
    assert_eq!(desk.buyers(EVENT).unwrap(), vec![buyer]);
    let books = desk.event_books(EVENT).unwrap();
    assert_eq!((books.units.len(), books.buyers.len(), books.vouchers.len()), (2, 1, 0));
    assert_eq!(desk.ledger_seq().unwrap(), 0, "nothing in the ledger yet");
    assert!(desk.ledger_after(0, 10).unwrap().is_empty());
}

pub(crate) fn a_hold_takes_an_available_unit_once_and_ends_with_its_state(
    desk: &(impl DeskState + DeskSales + ?Sized),
) {
    open_event(desk);
    let hold = NewHold {
        hold_id: "h1",
        event_id: EVENT,
        project_id: PROJECT,
        unit_id: "u1",
        buyer_id: "b1",
        held_by: "staff-01",
        held_at: "2026-11-24T01:00:00.000000Z",
        expires_at: "2026-11-24T01:15:00.000000Z",
    };
    assert!(desk.take_unit(&hold).unwrap());
    assert!(!desk.take_unit(&NewHold { hold_id: "h2", ..hold }).unwrap(), "held already");
    desk.insert_hold(&hold).unwrap();
    let unit = desk.unit(PROJECT, "u1").unwrap().unwrap();
    assert_eq!(unit.status, UnitStatus::Held);
    assert!(unit.price_approved);
    assert_eq!(unit.hold_id.as_deref(), Some("h1"));
    assert_eq!(unit.held_until.as_deref(), Some(hold.expires_at));
    assert_eq!(desk.unit(PROJECT, "u1").unwrap().map(|u| u.status), Some(UnitStatus::Held));
    assert_eq!(desk.unit(PROJECT, "u9").unwrap(), None);
    assert_eq!(desk.units_taken(EVENT, "b1").unwrap(), 1);
    assert_eq!(desk.receipts_for_hold("h1").unwrap(), 0);
    assert!(desk.holds_due("2026-11-24T01:14:59.000000Z").unwrap().is_empty());
    let due = desk.holds_due("2026-11-24T01:15:00.000000Z").unwrap();
    assert_eq!(due.iter().map(|d| d.unit_id.as_str()).collect::<Vec<_>>(), ["u1"]);
    assert_eq!(desk.unit_hold_id(PROJECT, "u1").unwrap().as_deref(), Some("h1"));
    desk.end_hold(PROJECT, "u1", "h1", HoldEnd::Expired, "2026-11-24T01:15:00.000000Z").unwrap();
    let unit = desk.unit(PROJECT, "u1").unwrap().unwrap();
    assert_eq!((unit.status, unit.hold_id), (UnitStatus::Available, None));
    assert_eq!(desk.units_taken(EVENT, "b1").unwrap(), 0);
    assert!(desk.holds_due("2026-11-25T00:00:00.000000Z").unwrap().is_empty());
    assert!(desk.take_unit(&NewHold { hold_id: "h3", ..hold }).unwrap(), "available again");
}

pub(crate) fn a_hold_and_a_release_are_decided_on_facts_read_together(
    desk: &(impl DeskState + DeskSales + ?Sized),
) {
    open_event(desk);
    let facts = |unit: &str, buyer: &str| desk.hold_facts(EVENT, PROJECT, unit, buyer).unwrap();
    // The facts read together are the reads one by one, whatever is there or missing.
    let agree = |unit: &str, buyer: &str| {
        let together = facts(unit, buyer);
        assert_eq!(together.unit, desk.unit(PROJECT, unit).unwrap(), "{unit}");
        assert_eq!(together.allotted, desk.allotted(EVENT, unit).unwrap(), "{unit}");
        assert_eq!(together.lottery_no, desk.buyer_lottery_no(EVENT, buyer).unwrap(), "{buyer}");
        assert_eq!(together.units_taken, desk.units_taken(EVENT, buyer).unwrap(), "{buyer}");
        together
    };
    let nobody = agree("u9", "b1");
    assert_eq!((nobody.unit, nobody.allotted, nobody.lottery_no), (None, false, None));
    let buyer = NewBuyer {
        event_id: EVENT,
        buyer_id: "b1",
        name: "b1",
        id_number_hash: "hash-b1",
        id_number_masked: "masked",
    };
    assert!(desk.add_buyer(&buyer).unwrap());
    assert_eq!(agree("u1", "b1").lottery_no, Some(None), "listed, before the lottery");
    desk.number_buyer(EVENT, "b1", 7).unwrap();
    let before = agree("u1", "b1");
    assert_eq!((before.allotted, before.lottery_no, before.units_taken), (true, Some(Some(7)), 0));
    let hold = NewHold {
        hold_id: "h1",
        event_id: EVENT,
        project_id: PROJECT,
        unit_id: "u1",
        buyer_id: "b1",
        held_by: "staff-01",
        held_at: "2026-11-24T01:00:00.000000Z",
        expires_at: "2026-11-24T01:15:00.000000Z",
    };
    assert!(desk.hold_unit(&hold).unwrap());
    assert!(!desk.hold_unit(&NewHold { hold_id: "h2", ..hold }).unwrap(), "held already");
    let after = agree("u1", "b1");
    assert_eq!(after.unit.as_ref().map(|u| u.status), Some(UnitStatus::Held));
    assert_eq!(after.units_taken, 1);
    assert_eq!(desk.holds_due(hold.expires_at).unwrap().len(), 1, "the hold's row was written");
    let both = desk.units_of(PROJECT, &["u1", "u2", "u9"]).unwrap();
    assert_eq!(
        both.keys().map(String::as_str).collect::<Vec<_>>(),
        ["u1", "u2"],
        "u9 is not on it"
    );
    assert_eq!(Some(&both["u1"]), desk.unit(PROJECT, "u1").unwrap().as_ref());
    assert_eq!(Some(&both["u2"]), desk.unit(PROJECT, "u2").unwrap().as_ref());
    assert!(desk.units_of(PROJECT, &[]).unwrap().is_empty());
    let (unit, paid) = desk.release_facts(PROJECT, "u1", "h1").unwrap();
    assert_eq!((unit, paid), (desk.unit(PROJECT, "u1").unwrap(), 0));
    assert_eq!(desk.release_facts(PROJECT, "u9", "h1").unwrap(), (None, 0));
}

pub(crate) fn the_queue_calls_skips_recalls_and_numbers_buyers(desk: &(impl DeskState + ?Sized)) {
    open_event(desk);
    for (buyer_id, hash) in [("b1", "h1"), ("b2", "h2"), ("b3", "h3")] {
        let buyer = NewBuyer {
            event_id: EVENT,
            buyer_id,
            name: buyer_id,
            id_number_hash: hash,
            id_number_masked: "masked",
        };
        assert!(desk.add_buyer(&buyer).unwrap());
    }
    let twin = NewBuyer {
        event_id: EVENT,
        buyer_id: "b4",
        name: "b4",
        id_number_hash: "h1",
        id_number_masked: "masked",
    };
    assert!(!desk.add_buyer(&twin).unwrap(), "the same ID number is listed once");
    assert_eq!(desk.buyer_lottery_no(EVENT, "b1").unwrap(), Some(None));
    assert_eq!(desk.buyer_lottery_no(EVENT, "b9").unwrap(), None);
    assert_eq!(desk.numbered_buyers(EVENT).unwrap(), 0);
    assert_eq!(desk.buyer_by_id_hash(EVENT, "h2").unwrap(), Some(("b2".into(), "b2".into())));
    for (number, buyer_id) in [(1, "b1"), (2, "b2"), (3, "b3")] {
        desk.number_buyer(EVENT, buyer_id, number).unwrap();
    }
    assert_eq!(desk.numbered_buyers(EVENT).unwrap(), 3);
    assert_eq!(desk.buyer_identity(EVENT, "b3").unwrap().unwrap().lottery_no, Some(3));
    assert_eq!(desk.next_to_call(EVENT).unwrap(), Some((1, "b1".into())));
    desk.set_now_serving(EVENT, 1, true).unwrap();
    desk.skip_buyer(EVENT, 1).unwrap();
    assert_eq!(desk.next_to_call(EVENT).unwrap(), Some((2, "b2".into())));
    desk.set_now_serving(EVENT, 2, true).unwrap();
    assert_eq!(desk.buyer_by_number(EVENT, 1).unwrap(), Some(("b1".into(), true)));
    desk.unskip_buyer(EVENT, "b1").unwrap();
    desk.set_now_serving(EVENT, 1, false).unwrap();
    assert_eq!(desk.buyer_by_number(EVENT, 1).unwrap(), Some(("b1".into(), false)));
    assert_eq!(desk.desk_event(EVENT).unwrap().unwrap().now_serving, Some(1));
    assert_eq!(
        desk.next_to_call(EVENT).unwrap(),
        Some((3, "b3".into())),
        "a recall keeps the high water"
    );
    desk.set_mode(EVENT, SelectionMode::Free).unwrap();
    assert_eq!(desk.desk_event(EVENT).unwrap().unwrap().mode, SelectionMode::Free);
    assert_eq!(desk.id_number_salt().unwrap(), None);
    desk.set_id_number_salt("salt").unwrap();
    assert_eq!(desk.id_number_salt().unwrap().as_deref(), Some("salt"));
}

const AT: &str = "2026-11-24T01:00:00.000000Z";

/// The sales cases' fixture, written through [`DeskState`](super::DeskState): event `e1` of
/// project `p1` (voucher series `V`, numbers 1 to 999) and its unit `u1` (100 m², no approved
/// price) held for buyer `b1` under the active hold `h1`.
fn held_unit(db: &(impl DeskState + ?Sized)) {
    let event = NewDeskEvent {
        name: "第一批选房",
        event_id: "e1",
        project_id: "p1",
        mode: SelectionMode::Free,
        voucher_prefix: "V",
        voucher_last: 999,
        opened_at: AT,
    };
    assert!(db.insert_desk_event(&event).unwrap());
    let unit = NewDeskUnit {
        unit_id: "u1",
        building: "1号楼",
        floor: 1,
        layout: "2室2厅1卫",
        code: "1-101",
        area_m2: Decimal::from(100),
        unit_price: None,
        approval: None,
        status: UnitStatus::Available,
    };
    assert_eq!(db.insert_desk_unit("p1", &unit).unwrap(), 1);
    db.allot_unit("e1", "u1").unwrap();
    let hold = NewHold {
        hold_id: "h1",
        event_id: "e1",
        project_id: "p1",
        unit_id: "u1",
        buyer_id: "b1",
        held_by: "staff",
        held_at: AT,
        expires_at: "2026-11-24T01:15:00.000000Z",
    };
    assert!(db.take_unit(&hold).unwrap());
    db.insert_hold(&hold).unwrap();
}

fn money(text: &str) -> Decimal {
    text.parse().unwrap()
}

pub(crate) fn the_ledger_appends_and_reads_its_tip_back(
    db: &(impl DeskState + DeskLedger + ?Sized),
) {
    held_unit(db);
    assert_eq!(db.ledger_tip().unwrap(), None, "a fresh ledger is empty");
    let hashes = [[1; 32], [2; 32], [3; 32]];
    let mut prev = [0; 32];
    for (seq, hash) in (1..).zip(&hashes) {
        let key = (seq == 2).then_some("k2");
        db.append_ledger_entry(&NewLedgerEntry {
            seq,
            at: AT,
            event_id: "e1",
            actor: "staff-01",
            idempotency_key: key,
            kind: "hold",
            entry: r#"{"i":1}"#,
            prev_hash: &prev,
            hash,
        })
        .unwrap();
        prev = *hash;
    }
    assert_eq!(db.ledger_tip().unwrap(), Some(LedgerTip { seq: 3, hash: [3; 32] }));
    let mut seen: Vec<StoredLedgerEntry> = Vec::new();
    db.visit_ledger(&mut |entry| {
        seen.push(entry);
        ControlFlow::Continue(())
    })
    .unwrap();
    let seqs: Vec<i64> = seen.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, vec![1, 2, 3], "in sequence order");
    assert_eq!(
        (seen[1].at.as_str(), seen[1].event_id.as_str(), seen[1].kind.as_str()),
        (AT, "e1", "hold")
    );
    assert_eq!(seen[1].entry, r#"{"i":1}"#);
    assert_eq!(
        (seen[1].prev_hash.as_slice(), seen[1].hash.as_slice()),
        (&[1; 32][..], &[2; 32][..])
    );
    let mut visited = 0;
    db.visit_ledger(&mut |_| {
        visited += 1;
        ControlFlow::Break(())
    })
    .unwrap();
    assert_eq!(visited, 1, "a visit stops when asked");
}

fn terms() -> WorkTicketTerms {
    WorkTicketTerms {
        approved_unit_price: money("20000"),
        area_m2: money("100"),
        payment_ratio_pct: money("50"),
        discounts: Vec::new(),
        sealing_fee: Decimal::ZERO,
    }
}

fn figures() -> WorkTicketFigures {
    WorkTicketFigures {
        total_price: money("2000000"),
        discount_amount: Decimal::ZERO,
        net_price: money("2000000"),
        amount_due: money("1000000.00"),
        sealing_fee: Decimal::ZERO,
    }
}

/// Prices the fixture's unit and draws up, reviews and pays ticket `t1` for it.
fn a_paid_ticket(db: &(impl DeskState + DeskSales + ?Sized)) {
    held_unit(db);
    assert_eq!(db.approved_unit_price("p1", "u1").unwrap(), None);
    let approvers = ["hq-01".to_owned(), "hq-02".to_owned()];
    db.set_unit_price(&PriceApproval {
        project_id: "p1",
        unit_id: "u1",
        unit_price: money("20000"),
        approvers: &approvers,
        approved_at: AT,
    })
    .unwrap();
    assert_eq!(db.approved_unit_price("p1", "u1").unwrap(), Some(money("20000")));
    let unit = db.unit_for_ticket("p1", "u1").unwrap().expect("the fixture's unit");
    assert_eq!(
        (unit.status, unit.area_m2, unit.event_id.as_str()),
        (UnitStatus::Held, money("100"), "e1")
    );
    assert_eq!((unit.buyer_id.as_deref(), unit.hold_id.as_deref()), (Some("b1"), Some("h1")));
    assert!(db.unit_for_ticket("p1", "nope").unwrap().is_none());
    assert_eq!(db.live_ticket_of_hold("h1").unwrap(), None);
    let (terms, figures) = (terms(), figures());
    db.insert_work_ticket(&NewWorkTicket {
        ticket_id: "t1",
        event_id: "e1",
        hold_id: "h1",
        unit_id: "u1",
        buyer_id: "b1",
        terms: &terms,
        figures: &figures,
        prepared_by: "staff-01",
        prepared_at: AT,
    })
    .unwrap();
    assert_eq!(db.live_ticket_of_hold("h1").unwrap().as_deref(), Some("t1"));
    let ticket = db.work_ticket("t1", "e1").unwrap().expect("written");
    assert_eq!((ticket.amount_due, ticket.prepared_by.as_str()), (money("1000000.00"), "staff-01"));
    assert_eq!((ticket.reverses, ticket.reversed), (None, false));
    assert!(db.work_ticket("t1", "other-event").unwrap().is_none());
    assert!(!db.ticket_reviewed("t1").unwrap());
    assert!(db.insert_ticket_review("t1", "staff-02", AT).unwrap());
    assert!(!db.insert_ticket_review("t1", "staff-03", AT).unwrap(), "reviewed once");
    assert!(db.ticket_reviewed("t1").unwrap());
    db.seal_hold("h1").unwrap();
    for (id, amount) in [("r1", "600000.00"), ("r2", "400000.00")] {
        db.insert_receipt(&NewReceipt {
            receipt_id: id,
            event_id: "e1",
            ticket_id: "t1",
            amount: money(amount),
            method: "transfer",
            received_at: AT,
            recorded_by: "staff-01",
        })
        .unwrap();
    }
    let total: Decimal = db.receipt_amounts("t1").unwrap().into_iter().sum();
    assert_eq!(total, money("1000000.00"));
}

fn voucher(no: u32, code: &str, amount: Decimal) -> NewVoucher<'_> {
    NewVoucher {
        event_id: "e1",
        voucher_no: no,
        voucher_code: code,
        ticket_id: "t1",
        buyer_id: "b1",
        unit_id: "u1",
        amount,
        issued_at: AT,
        issued_by: "staff-01",
    }
}

pub(crate) fn a_sale_is_recorded_and_reversed_in_red(db: &(impl DeskState + DeskSales + ?Sized)) {
    a_paid_ticket(db);
    let series = db.voucher_series("e1").unwrap();
    assert_eq!((series.next, series.last, series.prefix.as_str()), (1, 999, "V"));
    db.advance_voucher_series("e1").unwrap();
    assert_eq!(db.voucher_series("e1").unwrap().next, 2);
    assert!(!db.ticket_vouchered("t1").unwrap());
    assert_eq!(db.mark_unit_sold("p1", "u1", "other-hold").unwrap(), 0, "not under that hold");
    assert_eq!(db.mark_unit_sold("p1", "u1", "h1").unwrap(), 1);
    db.end_hold_sold("h1", AT).unwrap();
    db.insert_voucher(&voucher(1, "V000001", money("1000000.00"))).unwrap();
    assert!(db.ticket_vouchered("t1").unwrap());
    let issued = db.voucher("e1", 1).unwrap().expect("issued");
    assert_eq!(
        (issued.amount, issued.reverses, issued.reversed),
        (money("1000000.00"), None, false)
    );
    assert_eq!((issued.ticket_id.as_str(), issued.unit_id.as_str()), ("t1", "u1"));
    assert!(db.voucher("e1", 7).unwrap().is_none());

    // The reversal: a red voucher, a red ticket and red receipts, and the unit is free.
    db.advance_voucher_series("e1").unwrap();
    db.insert_red_voucher(&voucher(2, "V000002", money("-1000000.00")), 1, "buyer withdrew")
        .unwrap();
    db.insert_red_ticket("t1", "t1-red", "staff-02", AT, "buyer withdrew").unwrap();
    assert_eq!(db.insert_red_receipts("t1", AT, "staff-02").unwrap(), 2);
    assert_eq!(db.free_sold_unit("p1", "u1").unwrap(), 1);
    assert_eq!(db.free_sold_unit("p1", "u1").unwrap(), 0, "no longer sold");
    assert!(db.voucher("e1", 1).unwrap().expect("kept").reversed);
    let red = db.voucher("e1", 2).unwrap().expect("written");
    assert_eq!((red.amount, red.reverses, red.reversed), (money("-1000000.00"), Some(1), false));
    assert!(db.work_ticket("t1", "e1").unwrap().expect("kept").reversed);
    let red_ticket = db.work_ticket("t1-red", "e1").unwrap().expect("written");
    assert_eq!(
        (red_ticket.reverses.as_deref(), red_ticket.amount_due),
        (Some("t1"), money("-1000000.00"))
    );
    assert_eq!(db.live_ticket_of_hold("h1").unwrap(), None, "the ticket is reversed");
    let total: Decimal = db.receipt_amounts("t1").unwrap().into_iter().sum();
    assert_eq!(total, Decimal::ZERO, "every receipt has its red twin");
    let unit = db.unit_for_ticket("p1", "u1").unwrap().expect("kept");
    assert_eq!(
        (unit.status, unit.event_id.as_str(), unit.hold_id),
        (UnitStatus::Available, "", None)
    );
}

pub(crate) fn answers_are_found_under_their_device_and_key(
    db: &(impl DeskState + DeskAnswers + ?Sized),
) {
    held_unit(db);
    assert_eq!(db.stored_answer("d1", "k1").unwrap(), None);
    let answers = [
        NewAnswer { key: "k1", device_id: "d1", fingerprint: &[1; 32], code: 200, body: "{}" },
        NewAnswer {
            key: "k2",
            device_id: "d1",
            fingerprint: &[2; 32],
            code: 409,
            body: r#"{"n":2}"#,
        },
        NewAnswer { key: "k1", device_id: "d2", fingerprint: &[3; 32], code: 200, body: "[]" },
    ];
    db.insert_answers(AT, &mut answers.iter().copied()).unwrap();
    let found = db.stored_answer("d1", "k2").unwrap().expect("stored");
    assert_eq!((found.fingerprint, found.code, found.body.as_str()), ([2; 32], 409, r#"{"n":2}"#));
    let other = db.stored_answer("d2", "k1").unwrap().expect("stored");
    assert_eq!(
        (other.fingerprint, other.body.as_str()),
        ([3; 32], "[]"),
        "keys belong to their device"
    );
    assert_eq!(db.stored_answer("d2", "k2").unwrap(), None);
    // A group's keys looked up together: only those with an answer come back, each under
    // its own device.
    let mut together = db.stored_answers(&[("d1", "k2"), ("d2", "k2"), ("d2", "k1")]).unwrap();
    together.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    let keys: Vec<(&str, &str, u16)> =
        together.iter().map(|(d, k, row)| (d.as_str(), k.as_str(), row.code)).collect();
    assert_eq!(keys, [("d1", "k2", 409), ("d2", "k1", 200)]);
    assert_eq!(together[1].2, other);
    assert!(db.stored_answers(&[]).unwrap().is_empty());
    assert!(
        db.insert_answers(AT, &mut answers[..1].iter().copied()).is_err(),
        "a key is answered once"
    );
}

pub(crate) fn display_links_are_made_once_and_rotate_per_event(db: &(impl DeskDisplay + ?Sized)) {
    assert_eq!(db.display_secret().unwrap(), None);
    assert_eq!(db.ensure_display_secret("aa").unwrap(), "aa");
    assert_eq!(db.ensure_display_secret("bb").unwrap(), "aa", "kept, not replaced");
    assert_eq!(db.display_secret().unwrap().as_deref(), Some("aa"));
    assert_eq!(db.display_generation("e1").unwrap(), 0);
    assert_eq!(db.rotate_display("e1").unwrap(), 1);
    assert_eq!(db.rotate_display("e1").unwrap(), 2);
    assert_eq!(db.display_generation("e1").unwrap(), 2);
    assert_eq!(db.display_generation("e2").unwrap(), 0);
}

/// The board cases' fixture: [`open_event`], a withdrawn unit `u0` in building 0 that is not
/// allotted, buyers `b1` (乙), `b2` (甲, holding `u2` under `h1`) and `b3` (丙, number 1,
/// skipped).
fn board_fixture(db: &(impl DeskState + ?Sized)) {
    open_event(db);
    let spare = NewDeskUnit {
        unit_id: "u0",
        building: "0号楼",
        floor: 3,
        layout: "1室1厅1卫",
        code: "0-301",
        area_m2: Decimal::from(60),
        unit_price: None,
        approval: None,
        status: UnitStatus::Withdrawn,
    };
    assert_eq!(db.insert_desk_unit(PROJECT, &spare).unwrap(), 1);
    for (buyer_id, name, hash) in [("b1", "乙", "h1"), ("b2", "甲", "h2"), ("b3", "丙", "h3")] {
        let buyer = NewBuyer {
            event_id: EVENT,
            buyer_id,
            name,
            id_number_hash: hash,
            id_number_masked: "m",
        };
        assert!(db.add_buyer(&buyer).unwrap());
    }
    db.number_buyer(EVENT, "b3", 1).unwrap();
    db.skip_buyer(EVENT, 1).unwrap();
    let hold = NewHold {
        hold_id: "h1",
        event_id: EVENT,
        project_id: PROJECT,
        unit_id: "u2",
        buyer_id: "b2",
        held_by: "staff",
        held_at: AT,
        expires_at: "2026-11-24T01:15:00.000000Z",
    };
    assert!(db.take_unit(&hold).unwrap());
    db.insert_hold(&hold).unwrap();
}

pub(crate) fn the_board_shows_the_plan_the_queue_and_recent_sales(
    db: &(impl DeskState + DeskBoard + ?Sized),
) {
    assert!(db.open_events().unwrap().is_empty());
    board_fixture(db);
    assert_eq!(db.open_events().unwrap(), vec![(EVENT.to_owned(), "第一批选房".to_owned())]);
    let board = db.board_units(EVENT, None).unwrap();
    let codes: Vec<&str> = board.iter().map(|u| u.code.as_str()).collect();
    assert_eq!(codes, ["0-301", "1-101", "1-102"], "by building, floor and code");
    let spare = &board[0];
    assert_eq!((spare.floor, spare.allotted, spare.status.as_str()), (3, false, "withdrawn"));
    assert_eq!((spare.unit_price.as_deref(), spare.area_m2.as_str()), (None, "60"));
    let held = &board[2];
    assert!(held.allotted);
    assert_eq!(
        (held.status.as_str(), held.buyer_id.as_deref(), held.buyer_name.as_deref()),
        ("held", Some("b2"), Some("甲"))
    );
    assert_eq!(
        (held.hold_id.as_deref(), held.held_until.as_deref()),
        (Some("h1"), Some("2026-11-24T01:15:00.000000Z"))
    );
    assert_eq!((board[1].buyer_id.as_deref(), board[1].buyer_name.as_deref()), (None, None));
    assert!(db.board_units("e9", None).unwrap().is_empty());

    // A unit loaded before the desk kept buildings: one building's read brings it along (the
    // use case places it by its code), and the tally counts it alone, with its code.
    let legacy = NewDeskUnit {
        unit_id: "u9",
        building: "",
        floor: 0,
        layout: "",
        code: "2-201",
        area_m2: Decimal::from(70),
        unit_price: None,
        approval: None,
        status: UnitStatus::Available,
    };
    assert_eq!(db.insert_desk_unit(PROJECT, &legacy).unwrap(), 1);
    let codes = |units: Vec<BoardUnit>| units.into_iter().map(|u| u.code).collect::<Vec<_>>();
    assert_eq!(codes(db.board_units(EVENT, Some("1号楼")).unwrap()), ["2-201", "1-101", "1-102"]);
    assert_eq!(codes(db.board_units(EVENT, Some("0号楼")).unwrap()), ["2-201", "0-301"]);
    assert_eq!(codes(db.board_units(EVENT, Some("9号楼")).unwrap()), ["2-201"]);
    let mut tally = db.board_tally(EVENT).unwrap();
    tally.sort_by(|a, b| (&a.building, &a.status).cmp(&(&b.building, &b.status)));
    let row = |building: &str, code: Option<&str>, status: &str, allotted| BoardTally {
        building: building.into(),
        code: code.map(Into::into),
        status: status.into(),
        allotted,
        units: 1,
    };
    assert_eq!(
        tally,
        vec![
            row("", Some("2-201"), "available", false),
            row("0号楼", None, "withdrawn", false),
            row("1号楼", None, "available", true),
            row("1号楼", None, "held", true),
        ]
    );
    assert!(db.board_tally("e9").unwrap().is_empty());

    let line = |lottery_no, buyer_id: &str, name: &str, skipped, units_taken| QueueLine {
        lottery_no,
        buyer_id: buyer_id.into(),
        name: name.into(),
        id_number_masked: "m".into(),
        skipped,
        units_taken,
    };
    assert_eq!(
        db.queue_lines(EVENT).unwrap(),
        vec![
            line(Some(1), "b3", "丙", true, 0),
            line(None, "b1", "乙", false, 0),
            line(None, "b2", "甲", false, 1),
        ],
        "numbered first, then by name"
    );
    assert!(db.recent_sales(EVENT, 10).unwrap().is_empty(), "nothing sold yet");
}

pub(crate) fn a_command_undone_leaves_nothing_and_a_released_one_stays(
    db: &(impl DeskState + DeskSavepoints + ?Sized),
) {
    db.begin_command().unwrap();
    open_event(db);
    db.undo_command().unwrap();
    assert_eq!(db.desk_event(EVENT).unwrap(), None, "undone");
    db.release_command().unwrap();
    assert_eq!(db.desk_event(EVENT).unwrap(), None, "still undone once released");

    db.begin_command().unwrap();
    open_event(db);
    db.release_command().unwrap();
    assert!(db.event_desk_open(EVENT).unwrap(), "kept");
    db.begin_command().unwrap();
    db.set_mode(EVENT, SelectionMode::Free).unwrap();
    db.undo_command().unwrap();
    db.set_id_number_salt("salt").unwrap();
    db.release_command().unwrap();
    let event = db.desk_event(EVENT).unwrap().unwrap();
    assert_eq!(event.mode, SelectionMode::StrictOrder, "the undone change is gone");
    assert_eq!(
        db.id_number_salt().unwrap().as_deref(),
        Some("salt"),
        "what the command wrote after its undo is kept"
    );
}

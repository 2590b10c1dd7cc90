//! The desk's store test suite, written once against the desk's storage traits and run
//! against every backend (as [`store_suite!`](crate::store_suite) is for the server's
//! database): a backend invokes [`desk_suite!`](crate::desk_suite) with a function that opens
//! a fresh, migrated desk database and gets one test per case.
//!
//! Each case states what every backend must do, in the traits' own words: no SQL here.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests may panic on a broken expectation.

use kam_core::model::{Buyer, BuyerId, SelectionMode, UnitId, UnitStatus, UserId};
use rust_decimal::Decimal;

use super::DeskDb;
use super::state::{HoldEnd, NewBuyer, NewDeskEvent, NewDeskUnit, NewHold};

/// Generates one test per case of the desk suite for the backend `open` makes (a function
/// returning something that derefs to a fresh, migrated desk database).
#[macro_export]
macro_rules! desk_suite {
    ($open:path) => {
        $crate::desk_suite!(@cases $open;
            an_event_opens_once_with_its_units_allotments_and_buyers,
            a_hold_takes_an_available_unit_once_and_ends_with_its_state,
            the_queue_calls_skips_recalls_and_numbers_buyers,
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
}

const EVENT: &str = "e1";
const PROJECT: &str = "p1";

/// Opens the desk of [`EVENT`] on [`PROJECT`] with two priced units, both allotted.
fn open_event(desk: &dyn DeskDb) {
    let event = NewDeskEvent {
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

pub(crate) fn an_event_opens_once_with_its_units_allotments_and_buyers(desk: &dyn DeskDb) {
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

pub(crate) fn a_hold_takes_an_available_unit_once_and_ends_with_its_state(desk: &dyn DeskDb) {
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
    assert_eq!(desk.unit_status(PROJECT, "u1").unwrap(), Some(UnitStatus::Held));
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

pub(crate) fn the_queue_calls_skips_recalls_and_numbers_buyers(desk: &dyn DeskDb) {
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

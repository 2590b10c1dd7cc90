//! The desk suite's cases for the records a sale leaves and the rows that travel with a lent
//! desk: the books and papers, the delegations with a venue's ledger segment, and event
//! images. Each case asks for the concerns it uses; no SQL here.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::arithmetic_side_effects)] // Tests may panic on a broken expectation.

use kam_core::model::{
    Buyer, BuyerId, SelectionMode, UnitStatus, UserId, WorkTicketFigures, WorkTicketTerms,
};
use rust_decimal::Decimal;
use serde_json::Value;

use super::books::PaperOf;
use super::delegation::{DelegationRow, LeaseSide, LeaseState, ShippedReport};
use super::image::{TableRows, UnitScope};
use super::ledger::{ChainEntry, LedgerTip, NewLedgerEntry};
use super::sales::{NewReceipt, NewVoucher, NewWorkTicket};
use super::state::{NewDeskEvent, NewDeskUnit, NewHold};
use super::{DeskBooks, DeskDelegations, DeskImages, DeskLedger, DeskSales, DeskState};

const AT: &str = "2026-11-24T01:00:00.000000Z";
const LATER: &str = "2026-11-24T02:00:00.000000Z";
const LAST: &str = "2026-11-24T03:00:00.000000Z";

fn money(text: &str) -> Decimal {
    text.parse().unwrap()
}

/// Opens `event_id` on project `p1` with voucher series `prefix`.
fn open(db: &(impl DeskState + ?Sized), event_id: &str, prefix: &str) {
    let event = NewDeskEvent {
        name: "第一批选房",
        event_id,
        project_id: "p1",
        mode: SelectionMode::Free,
        voucher_prefix: prefix,
        voucher_last: 999,
        opened_at: AT,
    };
    assert!(db.insert_desk_event(&event).unwrap());
}

/// Puts unit `unit_id` (code `code`, 100 m² at 20,000) of `p1` on the desk, allotted to
/// `event_id`.
fn unit(db: &(impl DeskState + ?Sized), event_id: &str, unit_id: &str, code: &str) {
    let approvers = [UserId::from("gm")];
    let unit = NewDeskUnit {
        unit_id,
        building: "1号楼",
        floor: 3,
        layout: "2室2厅1卫",
        code,
        area_m2: Decimal::from(100),
        unit_price: Some(Decimal::from(20_000)),
        approval: Some((&approvers, chrono::DateTime::UNIX_EPOCH)),
        status: UnitStatus::Available,
    };
    assert_eq!(db.insert_desk_unit("p1", &unit).unwrap(), 1);
    db.allot_unit(event_id, unit_id).unwrap();
}

/// Holds `unit_id` of `p1` for `buyer_id` at `event_id` under `hold_id`.
fn hold(db: &(impl DeskState + ?Sized), event_id: &str, hold_id: &str, unit_id: &str, buyer: &str) {
    let hold = NewHold {
        hold_id,
        event_id,
        project_id: "p1",
        unit_id,
        buyer_id: buyer,
        held_by: "staff-01",
        held_at: AT,
        expires_at: "2026-11-24T01:15:00.000000Z",
    };
    assert!(db.take_unit(&hold).unwrap());
    db.insert_hold(&hold).unwrap();
}

/// Draws up ticket `ticket_id` under `hold_id` for half of 2,000,000.
fn ticket(
    db: &(impl DeskSales + ?Sized),
    event_id: &str,
    ticket_id: &str,
    hold_id: &str,
    unit_id: &str,
    prepared_at: &str,
) {
    let terms = WorkTicketTerms {
        approved_unit_price: money("20000"),
        area_m2: money("100"),
        payment_ratio_pct: money("50"),
        discounts: Vec::new(),
        sealing_fee: Decimal::ZERO,
    };
    let figures = WorkTicketFigures {
        total_price: money("2000000"),
        discount_amount: Decimal::ZERO,
        net_price: money("2000000"),
        amount_due: money("1000000.00"),
        sealing_fee: Decimal::ZERO,
    };
    db.insert_work_ticket(&NewWorkTicket {
        ticket_id,
        event_id,
        hold_id,
        unit_id,
        buyer_id: "b1",
        terms: &terms,
        figures: &figures,
        prepared_by: "staff-01",
        prepared_at,
    })
    .unwrap();
}

fn receipt(db: &(impl DeskSales + ?Sized), id: &str, ticket_id: &str, amount: &str, at: &str) {
    db.insert_receipt(&NewReceipt {
        receipt_id: id,
        event_id: "e1",
        ticket_id,
        amount: money(amount),
        method: "transfer",
        received_at: at,
        recorded_by: "finance-01",
    })
    .unwrap();
}

fn voucher<'a>(no: u32, code: &'a str, ticket_id: &'a str, unit_id: &'a str) -> NewVoucher<'a> {
    NewVoucher {
        event_id: "e1",
        voucher_no: no,
        voucher_code: code,
        ticket_id,
        buyer_id: "b1",
        unit_id,
        amount: money("1000000.00"),
        issued_at: LATER,
        issued_by: "finance-01",
    }
}

/// Appends ledger entry `seq` (chained to nothing in particular: the books only find it).
fn entry(db: &(impl DeskLedger + ?Sized), seq: i64, kind: &str, entry: &str) {
    let hash = [u8::try_from(seq).unwrap(); 32];
    db.append_ledger_entry(&NewLedgerEntry {
        seq,
        at: AT,
        event_id: "e1",
        actor: "staff-01",
        idempotency_key: None,
        kind,
        entry,
        prev_hash: &[0; 32],
        hash: &hash,
    })
    .unwrap();
}

/// Event `e1` with buyer `b1`: ticket `t1` (unit u1, hold h1) sold on voucher 1 and cancelled
/// in red (voucher 2), ticket `t2` (unit u2, hold h2) reviewed and sold on voucher 3, with
/// the ledger entries of their papers.
pub(crate) fn books(db: &(impl DeskState + DeskSales + DeskLedger + ?Sized)) {
    open(db, "e1", "V");
    unit(db, "e1", "u1", "1-301");
    unit(db, "e1", "u2", "1-302");
    let buyer = Buyer {
        id: BuyerId("b1".into()),
        name: "张三".into(),
        id_number_hash: "hash-b1".into(),
        id_number_masked: "1101**********002X".into(),
        lottery_no: Some(1),
    };
    db.list_buyer("e1", &buyer).unwrap();
    hold(db, "e1", "h1", "u1", "b1");
    hold(db, "e1", "h2", "u2", "b1");
    ticket(db, "e1", "t1", "h1", "u1", AT);
    ticket(db, "e1", "t2", "h2", "u2", LATER);
    assert!(db.insert_ticket_review("t1", "finance-01", AT).unwrap());
    assert!(db.insert_ticket_review("t2", "finance-02", LATER).unwrap());
    receipt(db, "r1", "t1", "600000.00", AT);
    receipt(db, "r2", "t1", "400000.00", AT);
    receipt(db, "r3", "t2", "1000000.00", LATER);
    assert_eq!(db.mark_unit_sold("p1", "u1", "h1").unwrap(), 1);
    db.end_hold_sold("h1", LATER).unwrap();
    db.insert_voucher(&voucher(1, "V000001", "t1", "u1")).unwrap();
    let red = NewVoucher { amount: money("-1000000.00"), ..voucher(2, "V000002", "t1", "u1") };
    db.insert_red_voucher(&red, 1, "买受人放弃").unwrap();
    db.insert_red_ticket("t1", "t1-red", "finance-01", LAST, "买受人放弃").unwrap();
    assert_eq!(db.insert_red_receipts("t1", LAST, "finance-01").unwrap(), 2);
    assert_eq!(db.free_sold_unit("p1", "u1").unwrap(), 1);
    assert_eq!(db.mark_unit_sold("p1", "u2", "h2").unwrap(), 1);
    db.end_hold_sold("h2", LATER).unwrap();
    db.insert_voucher(&voucher(3, "V000003", "t2", "u2")).unwrap();
    entry(db, 1, "hold", r#"{"hold_id":"h1","unit_id":"u1"}"#);
    entry(db, 2, "work_ticket_prepared", r#"{"ticket_id":"t1"}"#);
    entry(db, 3, "voucher_issued", r#"{"voucher_no":1}"#);
    entry(db, 4, "voucher_issued", r#"{"voucher_no":"3"}"#);
    entry(db, 5, "sale_cancelled", r#"{"red_voucher_no":2,"voucher_no":1}"#);
    entry(db, 6, "voucher_issued", r#"{"voucher_no":3}"#);
}

pub(crate) fn the_books_list_tickets_receipts_vouchers_and_papers(
    db: &(impl DeskState + DeskSales + DeskLedger + DeskBooks + ?Sized),
) {
    books(db);
    assert_eq!(db.event_name("e1").unwrap().as_deref(), Some("第一批选房"));
    assert_eq!(db.event_name("no-such-event").unwrap(), None);
    // The cancelled ticket and its red copy are not live; the other keeps its state.
    let tickets = db.event_tickets("e1").unwrap();
    assert_eq!(tickets.len(), 1);
    let t = &tickets[0];
    assert_eq!(
        (t.ticket_id.as_str(), t.hold_id.as_str(), t.unit_code.as_str()),
        ("t2", "h2", "1-302")
    );
    assert_eq!((t.buyer_name.as_str(), t.payment_ratio_pct), ("张三", money("50")));
    assert_eq!((t.amount_due, t.total_price), (money("1000000.00"), money("2000000")));
    assert_eq!(
        (t.reviewed_by.as_deref(), t.reviewed_at.as_deref()),
        (Some("finance-02"), Some(LATER))
    );
    assert_eq!(t.voucher_no, Some(3));
    // Receipts in the order they were recorded, red ones after the ones they reverse.
    let receipts = db.event_receipts("e1").unwrap();
    let ids: Vec<&str> = receipts.iter().map(|r| r.receipt_id.as_str()).collect();
    assert_eq!(ids, ["r1", "r2", "r3", "rc-red-r1", "rc-red-r2"]);
    assert_eq!(receipts[3].reverses.as_deref(), Some("r1"));
    assert_eq!(
        (receipts[3].amount, receipts[3].unit_code.as_str()),
        (money("-600000.00"), "1-301")
    );
    assert_eq!(
        (receipts[0].method.as_str(), receipts[0].recorded_by.as_str()),
        ("transfer", "finance-01")
    );
    // Vouchers, black and red, each pointing at the other.
    let vouchers = db.event_vouchers("e1").unwrap();
    let nos: Vec<u32> = vouchers.iter().map(|v| v.voucher_no).collect();
    assert_eq!(nos, [1, 2, 3]);
    assert_eq!((vouchers[0].reversed_by, vouchers[0].reverses), (Some(2), None));
    assert_eq!(
        (vouchers[1].reverses, vouchers[1].reason.as_deref()),
        (Some(1), Some("买受人放弃"))
    );
    assert_eq!(
        (vouchers[1].amount, vouchers[1].buyer_name.as_str()),
        (money("-1000000.00"), "张三")
    );
    assert_eq!((vouchers[2].unit_code.as_str(), vouchers[2].reversed_by), ("1-302", None));
    assert_eq!(db.event_voucher("e1", 2).unwrap(), Some(vouchers[1].clone()));
    assert_eq!(db.event_voucher("e1", 99).unwrap(), None);
    assert_eq!(db.event_voucher("no-such-event", 1).unwrap(), None);
    papers(db);
}

/// The papers of [`books`]: a hold, a ticket and its red copy, and the entries that made them.
fn papers(db: &(impl DeskBooks + ?Sized)) {
    let h = db.paper_hold("e1", "h1").unwrap().expect("the hold");
    assert_eq!(
        (h.state.as_str(), h.held_by.as_str(), h.held_at.as_str()),
        ("sold", "staff-01", AT)
    );
    assert_eq!(
        (h.unit.code.as_str(), h.unit.floor, h.unit.building.as_str()),
        ("1-301", 3, "1号楼")
    );
    assert_eq!((h.unit.area_m2, h.unit.unit_price), (money("100"), Some(money("20000"))));
    assert_eq!((h.buyer.name.as_str(), h.buyer.lottery_no), ("张三", Some(1)));
    assert!(h.buyer.id_number_masked.contains('*'));
    assert_eq!(db.paper_hold("e1", "hold-none").unwrap(), None);
    let p = db.paper_ticket("e1", "t1").unwrap().expect("the ticket");
    assert_eq!(
        (p.hold_id.as_str(), p.reviewed_by.as_deref(), p.reverses),
        ("h1", Some("finance-01"), None)
    );
    let ids: Vec<&str> = p.receipts.iter().map(|r| r.receipt_id.as_str()).collect();
    assert_eq!(ids, ["r1", "r2", "rc-red-r1", "rc-red-r2"]);
    assert_eq!((p.terms.payment_ratio_pct, p.figures.net_price), (money("50"), money("2000000")));
    assert_eq!(p.unit, h.unit);
    let red = db.paper_ticket("e1", "t1-red").unwrap().expect("the red ticket");
    assert_eq!(
        (red.reverses.as_deref(), red.figures.amount_due),
        (Some("t1"), money("-1000000.00"))
    );
    assert_eq!((red.prepared_at.as_str(), red.reviewed_by), (LAST, None));
    assert_eq!(db.paper_ticket("no-such-event", "t1").unwrap(), None);
    // The first entry naming each paper, a number matching only a number.
    for (of, seq) in [
        (PaperOf::Confirmation("h1"), 1),
        (PaperOf::WorkTicket("t1"), 2),
        (PaperOf::Voucher(1), 3),
        (PaperOf::Voucher(3), 6),
        (PaperOf::Red(2), 5),
    ] {
        let e = db.paper_entry("e1", of).unwrap().unwrap_or_else(|| panic!("{of:?}"));
        assert_eq!((e.seq, e.hash.len(), e.at.as_str()), (seq, 32, AT), "{of:?}");
    }
    assert_eq!(db.paper_entry("e1", PaperOf::Voucher(3)).unwrap().unwrap().kind, "voucher_issued");
    assert_eq!(db.paper_entry("e1", PaperOf::Voucher(99)).unwrap(), None);
    assert_eq!(db.paper_entry("e1", PaperOf::Red(1)).unwrap(), None);
    assert_eq!(db.paper_entry("e1", PaperOf::WorkTicket("t2")).unwrap(), None);
    assert_eq!(db.paper_entry("e2", PaperOf::Confirmation("h1")).unwrap(), None);
}

fn lease(generation: i64, side: LeaseSide, delegated_at: &str) -> DelegationRow {
    DelegationRow {
        event_id: "e1".into(),
        generation,
        side,
        venue_device_id: "venue-device".into(),
        venue_name: "售楼处".into(),
        lease_until: "2026-11-24T09:00:00.000000Z".into(),
        anchor: LedgerTip { seq: 3, hash: [3; 32] },
        bundle_key: "ab".repeat(32),
        state: LeaseState::Active,
        shipped: LedgerTip { seq: 3, hash: [3; 32] },
        venue_tip_seq: 3,
        oldest_unshipped_at: None,
        last_heard_at: None,
        delegated_at: delegated_at.into(),
        ended_at: None,
    }
}

fn venue_entry(seq: i64) -> ChainEntry {
    let byte = u8::try_from(seq).unwrap();
    ChainEntry {
        seq,
        at: AT.into(),
        event_id: "e1".into(),
        actor: "staff-01".into(),
        idempotency_key: (seq == 4).then(|| "k4".into()),
        kind: "hold".into(),
        entry: format!(r#"{{"seq":{seq}}}"#),
        prev_hash: vec![byte - 1; 32],
        hash: vec![byte; 32],
    }
}

pub(crate) fn delegations_keep_their_generations_and_the_venue_segment(
    db: &(impl DeskState + DeskLedger + DeskDelegations + ?Sized),
) {
    assert_eq!(db.delegation("e1").unwrap(), None);
    let first = lease(1, LeaseSide::Lent, AT);
    db.insert_delegation(&first).unwrap();
    assert_eq!(db.delegation("e1").unwrap(), Some(first.clone()));
    assert!(db.insert_delegation(&first).is_err(), "a generation is recorded once");
    let report = ShippedReport {
        event_id: "e1",
        generation: 1,
        shipped: LedgerTip { seq: 5, hash: [5; 32] },
        venue_tip_seq: 6,
        oldest_unshipped_at: Some(LATER),
        heard_at: LATER,
    };
    db.set_shipped(&report).unwrap();
    let shipped = db.delegation("e1").unwrap().unwrap();
    assert_eq!((shipped.shipped, shipped.venue_tip_seq), (report.shipped, 6));
    assert_eq!(
        (shipped.oldest_unshipped_at.as_deref(), shipped.last_heard_at.as_deref()),
        (Some(LATER), Some(LATER))
    );
    // Central keeps the venue's segment beside its own chain.
    for seq in [4, 5] {
        db.append_venue_entry(1, &venue_entry(seq)).unwrap();
    }
    assert!(db.append_venue_entry(1, &venue_entry(5)).is_err(), "an entry is stored once");
    assert_eq!(db.venue_entry_hash("e1", 1, 4).unwrap(), Some(vec![4; 32]));
    assert_eq!(db.venue_entry_hash("e1", 1, 6).unwrap(), None);
    assert_eq!(db.venue_entry_hash("e1", 2, 4).unwrap(), None);
    assert_eq!(db.venue_entries("e1", 1, 3, 10).unwrap(), vec![venue_entry(4), venue_entry(5)]);
    assert_eq!(db.venue_entries("e1", 1, 4, 10).unwrap(), vec![venue_entry(5)]);
    assert_eq!(db.venue_entries("e1", 1, 3, 1).unwrap(), vec![venue_entry(4)]);
    assert!(db.venue_entries("e1", 2, 0, 10).unwrap().is_empty());
    // The generation ends; the next is the event's delegation now, and both are listed.
    db.end_delegation("e1", 1, LeaseState::Returned, LAST).unwrap();
    let ended = db.delegation("e1").unwrap().unwrap();
    assert_eq!((ended.state, ended.ended_at.as_deref()), (LeaseState::Returned, Some(LAST)));
    let second = lease(3, LeaseSide::Held, LAST);
    db.insert_delegation(&second).unwrap();
    assert_eq!(db.delegation("e1").unwrap(), Some(second.clone()));
    let all = db.delegations().unwrap();
    assert_eq!(all.iter().map(|d| d.generation).collect::<Vec<_>>(), [1, 3], "oldest first");
    assert_eq!(all[0], ended);
    // Events sharing an allotted unit.
    open(db, "e1", "V");
    open(db, "e2", "W");
    open(db, "e3", "X");
    unit(db, "e1", "u1", "1-301");
    db.allot_unit("e2", "u1").unwrap();
    unit(db, "e3", "u3", "1-303");
    assert_eq!(db.event_sharing_units("e1").unwrap().as_deref(), Some("e2"));
    assert_eq!(db.event_sharing_units("e2").unwrap().as_deref(), Some("e1"));
    assert_eq!(db.event_sharing_units("e3").unwrap(), None);
    // The copy's mark.
    assert_eq!(db.copy_mark().unwrap(), None);
    db.set_copy_mark(AT).unwrap();
    db.set_copy_mark(LATER).unwrap();
    assert_eq!(db.copy_mark().unwrap().as_deref(), Some(LATER));
    db.clear_copy_mark().unwrap();
    assert_eq!(db.copy_mark().unwrap(), None);
}

pub(crate) fn a_venue_chain_continues_from_its_anchor(db: &(impl DeskLedger + ?Sized)) {
    assert_eq!(db.chain_anchor().unwrap(), None);
    assert_eq!(db.ledger_seq().unwrap(), 0);
    let anchor = LedgerTip { seq: 41, hash: [9; 32] };
    db.set_chain_anchor(LedgerTip { seq: 40, hash: [8; 32] }).unwrap();
    db.set_chain_anchor(anchor).unwrap();
    assert_eq!(db.chain_anchor().unwrap(), Some(anchor));
    assert_eq!(db.ledger_seq().unwrap(), 41, "an empty venue ledger stands at its anchor");
    assert_eq!(db.ledger_tip().unwrap(), None);
    db.append_ledger_entry(&NewLedgerEntry {
        seq: 42,
        at: AT,
        event_id: "e1",
        actor: "staff-01",
        idempotency_key: Some("k42"),
        kind: "hold",
        entry: "{}",
        prev_hash: &anchor.hash,
        hash: &[42; 32],
    })
    .unwrap();
    assert_eq!(db.ledger_seq().unwrap(), 42);
    assert!(db.set_chain_anchor(anchor).is_err(), "only an empty ledger takes an anchor");
    let own = db.own_entries(41, 10).unwrap();
    assert_eq!(own.len(), 1);
    assert_eq!((own[0].seq, own[0].idempotency_key.as_deref()), (42, Some("k42")));
    assert_eq!(
        (own[0].prev_hash.as_slice(), own[0].hash.as_slice()),
        (&[9; 32][..], &[42; 32][..])
    );
    assert!(db.own_entries(42, 10).unwrap().is_empty());
    let rows = db.ledger_after(0, 10).unwrap();
    assert_eq!((rows.len(), rows[0].seq, rows[0].kind.as_str()), (1, 42, "hold"));
    assert!(db.ledger_after(0, 0).unwrap().is_empty());
}

/// Events `e1` (unit u1) and `e2` (unit u2, held under h2 with ticket t2) of project `p1`.
fn two_events(db: &(impl DeskState + DeskSales + ?Sized)) {
    open(db, "e1", "V");
    open(db, "e2", "W");
    unit(db, "e1", "u1", "1-301");
    unit(db, "e2", "u2", "1-302");
    hold(db, "e2", "h2", "u2", "b9");
    ticket(db, "e2", "t2", "h2", "u2", AT);
}

fn at(table: &TableRows, column: &str) -> usize {
    table.columns.iter().position(|c| c == column).unwrap()
}

pub(crate) fn central_takes_only_its_event_s_progress_from_a_venue(
    db: &(impl DeskState + DeskSales + DeskImages + ?Sized),
) {
    two_events(db);
    let mut image = db.event_image("e1", None).unwrap().unwrap();
    // A venue that writes beyond its event: another event's unit allotted and sold, a
    // review of another event's ticket, its event moved to another project and series.
    let text = |s: &str| Value::String(s.into());
    for t in &mut image.tables {
        match t.table.as_str() {
            "desk_allotments" => t.rows.push(vec![text("e1"), text("u2")]),
            "desk_units" => {
                let unit = at(t, "unit_id");
                let mut other = t.rows.iter().find(|r| r[unit] == text("u2")).unwrap().clone();
                other[at(t, "status")] = text("sold");
                t.rows.push(other);
            }
            "desk_events" => {
                let (project, serving) = (at(t, "project_id"), at(t, "now_serving"));
                t.rows[0][project] = text("p-other");
                t.rows[0][serving] = Value::from(7);
            }
            _ => {}
        }
    }
    image.tables.push(TableRows {
        table: "work_ticket_reviews".into(),
        columns: vec!["ticket_id".into(), "reviewed_by".into(), "reviewed_at".into()],
        rows: vec![vec![text("t2"), text("venue"), text(LATER)]],
    });
    db.apply_image(&image, UnitScope::Allotted).unwrap();
    let status = db.unit("p1", "u2").unwrap().map(|u| u.status);
    assert_eq!(status, Some(UnitStatus::Held), "not the venue's");
    assert!(!db.allotted("e1", "u2").unwrap());
    assert_eq!(db.event_project("e1").unwrap().as_deref(), Some("p1"));
    let event = db.desk_event("e1").unwrap().unwrap();
    assert_eq!(event.now_serving, Some(7), "the queue's progress is the venue's");
    assert!(!db.ticket_reviewed("t2").unwrap(), "another event's ticket is not reviewed");
}

pub(crate) fn an_image_written_again_changes_no_append_only_row(
    db: &(impl DeskState + DeskSales + DeskImages + ?Sized),
) {
    two_events(db);
    assert_eq!(db.event_image("no-such-event", None).unwrap(), None);
    let image = db.event_image("e2", None).unwrap().unwrap();
    assert!(image.full);
    let tables: Vec<&str> = image.tables.iter().map(|t| t.table.as_str()).collect();
    assert_eq!(
        tables,
        ["desk_events", "desk_units", "desk_allotments", "desk_holds", "work_tickets"]
    );
    assert_eq!(image.row_count(), 6, "the event, the project's two units, one of each other");
    db.apply_image(&image, UnitScope::Project).unwrap();
    assert_eq!(db.event_image("e2", None).unwrap().unwrap(), image, "nothing changed");
    // An append-only row that differs from the stored one is refused.
    let mut altered = image.clone();
    let tickets = altered.tables.iter_mut().find(|t| t.table == "work_tickets").unwrap();
    let due = at(tickets, "amount_due");
    tickets.rows[0][due] = Value::String("1".into());
    assert!(db.apply_image(&altered, UnitScope::Project).is_err());
    // A batch's image: the event and the rows it names.
    let touched = super::image::Touched { tickets: ["t2".to_owned()].into(), ..Default::default() };
    let batch = db.event_image("e2", Some(&touched)).unwrap().unwrap();
    assert!(!batch.full);
    let tables: Vec<&str> = batch.tables.iter().map(|t| t.table.as_str()).collect();
    assert_eq!(tables, ["desk_events", "desk_holds", "work_tickets"]);
    // A table or column this desk does not know refuses the image.
    let mut unknown = batch.clone();
    unknown.tables[0].columns[0] = "no_such_column".into();
    assert!(db.apply_image(&unknown, UnitScope::Project).is_err());
    let mut foreign = batch;
    foreign.tables[0].table = "users".into();
    assert!(db.apply_image(&foreign, UnitScope::Project).is_err());
}

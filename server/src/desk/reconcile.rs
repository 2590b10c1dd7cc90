//! The per-event reconciliation: receipts against vouchers against unit status, with every
//! mismatch listed. Finance runs it at the end of an event day; a clean report has none.
//!
//! It is two steps: [`load`] reads the rows an event's check needs into [`EventBooks`], plain
//! values; [`check`] compares them without touching a database, so every rule is tested on
//! books written out by hand.

use std::collections::{BTreeMap, BTreeSet};

use kam_core::bounds;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::db::desk::DeskState;
pub(crate) use crate::db::desk::state::{BookUnit as UnitRow, EventBooks, VoucherRow};
use crate::error::ServerError;

/// One thing that does not add up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    /// Stable code, e.g. `sold_without_voucher`.
    pub code: &'static str,
    /// The unit concerned, if any.
    pub unit_id: Option<String>,
    /// The voucher concerned, if any.
    pub voucher_no: Option<u32>,
    /// The work ticket concerned, if any.
    pub ticket_id: Option<String>,
    /// What was found.
    pub detail: String,
}

/// The reconciliation of one event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Reconciliation {
    /// The event.
    pub event_id: String,
    /// Units allotted to the event.
    pub units_allotted: u32,
    /// Allotted units sold.
    pub units_sold: u32,
    /// Allotted units held.
    pub units_held: u32,
    /// Vouchers in force (issued and not reversed).
    pub vouchers_live: u32,
    /// Red vouchers.
    pub vouchers_reversed: u32,
    /// Net money received (receipts less red receipts), CNY.
    pub receipts_total: Decimal,
    /// Total of the vouchers in force, CNY.
    pub vouchers_total: Decimal,
    /// Every mismatch found; empty when everything agrees.
    pub mismatches: Vec<Mismatch>,
}

/// Reconciles `event_id` from the desk's books.
pub fn reconcile(desk: &dyn DeskState, event_id: &str) -> Result<Reconciliation, ServerError> {
    check(event_id, &load(desk, event_id)?)
}

/// Reads the books of `event_id`.
pub(crate) fn load(desk: &dyn DeskState, event_id: &str) -> Result<EventBooks, ServerError> {
    Ok(desk.event_books(event_id)?)
}

/// A mismatch about voucher `v`.
fn about(v: &VoucherRow, code: &'static str, detail: String) -> Mismatch {
    Mismatch {
        code,
        unit_id: Some(v.unit_id.clone()),
        voucher_no: Some(v.no),
        ticket_id: Some(v.ticket_id.clone()),
        detail,
    }
}

/// Compares the books of `event_id`: receipts against vouchers against unit status. The
/// mismatches come in a fixed order: a gap in the numbers, each voucher in force by number,
/// units sold twice, units sold without a voucher, receipts without one.
pub(crate) fn check(event_id: &str, books: &EventBooks) -> Result<Reconciliation, ServerError> {
    let mut mismatches: Vec<Mismatch> = number_gap(&books.vouchers).into_iter().collect();
    let live: Vec<&VoucherRow> =
        books.vouchers.iter().filter(|v| v.reverses.is_none() && !v.reversed).collect();
    let received = net_receipts(&books.receipts)?;
    let mut by_unit: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
    for v in &live {
        by_unit.entry(v.unit_id.as_str()).or_default().push(v.no);
        let net = received.get(&v.ticket_id).copied().unwrap_or_default();
        mismatches.extend(check_voucher(v, net, books));
    }
    mismatches.extend(sold_twice(&by_unit));
    mismatches.extend(sold_without_voucher(&books.units, &by_unit));
    let vouchered: BTreeSet<&str> = live.iter().map(|v| v.ticket_id.as_str()).collect();
    mismatches.extend(receipts_without_voucher(&received, &vouchered));
    let count = |status: &str| books.units.values().filter(|u| u.status == status).count();
    let reversed = books.vouchers.iter().filter(|v| v.reverses.is_some()).count();
    Ok(Reconciliation {
        event_id: event_id.to_owned(),
        units_allotted: u32::try_from(books.units.len()).unwrap_or(u32::MAX),
        units_sold: u32::try_from(count("sold")).unwrap_or(u32::MAX),
        units_held: u32::try_from(count("held")).unwrap_or(u32::MAX),
        vouchers_live: u32::try_from(live.len()).unwrap_or(u32::MAX),
        vouchers_reversed: u32::try_from(reversed).unwrap_or(u32::MAX),
        receipts_total: bounds::sum("the event's receipts", received.values().copied())?,
        vouchers_total: bounds::sum("the event's vouchers", live.iter().map(|v| v.amount))?,
        mismatches,
    })
}

/// The first place the voucher numbers, red and black, stop counting 1, 2, 3…
fn number_gap(vouchers: &[VoucherRow]) -> Option<Mismatch> {
    let expected = |i: usize| u32::try_from(i + 1).unwrap_or(u32::MAX);
    let (i, v) = vouchers.iter().enumerate().find(|(i, v)| v.no != expected(*i))?;
    let (no, expected) = (v.no, expected(i));
    Some(Mismatch {
        code: "voucher_number_gap",
        unit_id: None,
        voucher_no: Some(no),
        ticket_id: None,
        detail: format!("voucher {no} follows {}; number {expected} is missing", expected - 1),
    })
}

/// Net money received per ticket (receipts less red receipts).
fn net_receipts(receipts: &[(String, Decimal)]) -> Result<BTreeMap<String, Decimal>, ServerError> {
    let mut received: BTreeMap<String, Decimal> = BTreeMap::new();
    for (ticket, amount) in receipts {
        let slot = received.entry(ticket.clone()).or_default();
        *slot = bounds::add("a ticket's net receipts", *slot, *amount)?;
    }
    Ok(received)
}

/// What does not add up about one voucher in force, `net` having been received for its
/// ticket: its money, its unit, its buyer.
fn check_voucher(v: &VoucherRow, net: Decimal, books: &EventBooks) -> Vec<Mismatch> {
    let mut found = Vec::new();
    if net != v.amount {
        let detail = format!("voucher states {} but receipts total {net}", v.amount);
        found.push(about(v, "voucher_receipts_mismatch", detail));
    }
    match books.units.get(&v.unit_id) {
        Some(u) if u.status == "sold" && u.buyer_id.as_deref() == Some(v.buyer_id.as_str()) => {}
        Some(u) => found.push(about(
            v,
            "voucher_unit_not_sold",
            format!("the unit is {}, not sold to the voucher's buyer", u.status),
        )),
        None => found.push(about(
            v,
            "voucher_unit_not_allotted",
            "the unit is not allotted to this event".into(),
        )),
    }
    if !books.buyers.contains(&v.buyer_id) {
        found.push(about(
            v,
            "voucher_buyer_not_listed",
            "the voucher's buyer is not on the approved list: the voucher is void".into(),
        ));
    }
    found
}

/// Units with more than one voucher in force.
fn sold_twice(by_unit: &BTreeMap<&str, Vec<u32>>) -> Vec<Mismatch> {
    by_unit
        .iter()
        .filter(|(_, nos)| nos.len() > 1)
        .map(|(unit, nos)| Mismatch {
            code: "unit_sold_twice",
            unit_id: Some((*unit).to_owned()),
            voucher_no: nos.first().copied(),
            ticket_id: None,
            detail: format!("vouchers {nos:?} are all in force for this unit"),
        })
        .collect()
}

/// Units the desk marks sold with no voucher in force.
fn sold_without_voucher(
    units: &BTreeMap<String, UnitRow>,
    by_unit: &BTreeMap<&str, Vec<u32>>,
) -> Vec<Mismatch> {
    units
        .iter()
        .filter(|(unit, u)| u.status == "sold" && !by_unit.contains_key(unit.as_str()))
        .map(|(unit, _)| Mismatch {
            code: "sold_without_voucher",
            unit_id: Some(unit.clone()),
            voucher_no: None,
            ticket_id: None,
            detail: "the unit is sold but no voucher is in force".into(),
        })
        .collect()
}

/// Tickets with money received and no voucher in force.
fn receipts_without_voucher(
    received: &BTreeMap<String, Decimal>,
    vouchered: &BTreeSet<&str>,
) -> Vec<Mismatch> {
    received
        .iter()
        .filter(|(ticket, net)| **net != Decimal::ZERO && !vouchered.contains(ticket.as_str()))
        .map(|(ticket, net)| Mismatch {
            code: "receipts_without_voucher",
            unit_id: None,
            voucher_no: None,
            ticket_id: Some(ticket.clone()),
            detail: format!("{net} received and no voucher in force"),
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn cny(yuan: i64) -> Decimal {
        Decimal::from(yuan)
    }

    fn voucher(no: u32, unit: &str, amount: Decimal) -> VoucherRow {
        VoucherRow {
            no,
            ticket_id: format!("t-{unit}"),
            unit_id: unit.to_owned(),
            buyer_id: format!("b-{unit}"),
            amount,
            reverses: None,
            reversed: false,
        }
    }

    fn unit(status: &str, buyer: Option<&str>) -> UnitRow {
        UnitRow { status: status.to_owned(), buyer_id: buyer.map(str::to_owned) }
    }

    /// Two units sold with their vouchers paid in full, one held, one available.
    fn clean() -> EventBooks {
        EventBooks {
            vouchers: vec![voucher(1, "u1", cny(100)), voucher(2, "u2", cny(250))],
            receipts: vec![
                ("t-u1".into(), cny(60)),
                ("t-u1".into(), cny(40)),
                ("t-u2".into(), cny(250)),
            ],
            units: [
                ("u1".to_owned(), unit("sold", Some("b-u1"))),
                ("u2".to_owned(), unit("sold", Some("b-u2"))),
                ("u3".to_owned(), unit("held", Some("b-u3"))),
                ("u4".to_owned(), unit("available", None)),
            ]
            .into(),
            buyers: ["b-u1", "b-u2", "b-u3"].map(str::to_owned).into(),
        }
    }

    fn codes(books: &EventBooks) -> Vec<&'static str> {
        check("e1", books).unwrap().mismatches.iter().map(|m| m.code).collect()
    }

    #[test]
    fn clean_books_add_up() {
        let report = check("e1", &clean()).unwrap();
        assert_eq!(report.mismatches, vec![]);
        assert_eq!(
            (report.units_allotted, report.units_sold, report.units_held),
            (4, 2, 1),
            "allotted, sold, held"
        );
        assert_eq!((report.vouchers_live, report.vouchers_reversed), (2, 0));
        assert_eq!((report.receipts_total, report.vouchers_total), (cny(350), cny(350)));
    }

    #[test]
    fn a_reversed_sale_counts_neither_voucher_and_its_refund_nets_to_nothing() {
        let mut books = clean();
        books.vouchers[1].reversed = true;
        books.vouchers.push(VoucherRow { reverses: Some(2), ..voucher(3, "u2", cny(-250)) });
        books.receipts.push(("t-u2".into(), cny(-250)));
        books.units.insert("u2".into(), unit("available", None));
        let report = check("e1", &books).unwrap();
        assert_eq!(report.mismatches, vec![]);
        assert_eq!((report.vouchers_live, report.vouchers_reversed), (1, 1));
        assert_eq!((report.receipts_total, report.vouchers_total), (cny(100), cny(100)));
    }

    #[test]
    fn a_missing_voucher_number_is_reported_once_at_the_first_gap() {
        let mut books = clean();
        books.vouchers[1].no = 3;
        books.vouchers.push(voucher(5, "u3", cny(0)));
        books.units.insert("u3".into(), unit("sold", Some("b-u3")));
        let report = check("e1", &books).unwrap();
        let gap = &report.mismatches[0];
        assert_eq!((gap.code, gap.voucher_no), ("voucher_number_gap", Some(3)));
        assert_eq!(gap.detail, "voucher 3 follows 1; number 2 is missing");
        assert_eq!(codes(&books), ["voucher_number_gap"]);
    }

    #[test]
    fn receipts_short_of_a_voucher_and_receipts_without_one_are_both_found() {
        let mut books = clean();
        books.receipts[1].1 = cny(30);
        books.receipts.push(("t-u3".into(), cny(10)));
        let report = check("e1", &books).unwrap();
        assert_eq!(
            report.mismatches.iter().map(|m| m.code).collect::<Vec<_>>(),
            ["voucher_receipts_mismatch", "receipts_without_voucher"]
        );
        assert_eq!(report.mismatches[0].detail, "voucher states 100 but receipts total 90");
        assert_eq!(report.mismatches[1].ticket_id.as_deref(), Some("t-u3"));
        assert_eq!(report.receipts_total, cny(350));
    }

    #[test]
    fn a_voucher_must_sell_an_allotted_unit_to_its_listed_buyer() {
        let mut books = clean();
        books.units.insert("u1".into(), unit("sold", Some("someone-else")));
        books.units.remove("u2");
        books.buyers.remove("b-u2");
        assert_eq!(
            codes(&books),
            ["voucher_unit_not_sold", "voucher_unit_not_allotted", "voucher_buyer_not_listed"]
        );
    }

    #[test]
    fn a_unit_sold_twice_or_sold_without_a_voucher_is_found_in_unit_order() {
        let mut books = clean();
        books.vouchers.push(VoucherRow { ticket_id: "t-u1".into(), ..voucher(3, "u1", cny(0)) });
        books.units.insert("u0".into(), unit("sold", Some("b-u0")));
        let report = check("e1", &books).unwrap();
        let found: Vec<_> = report.mismatches.iter().map(|m| (m.code, m.unit_id.clone())).collect();
        assert_eq!(
            found,
            [
                ("voucher_receipts_mismatch", Some("u1".to_owned())),
                ("unit_sold_twice", Some("u1".to_owned())),
                ("sold_without_voucher", Some("u0".to_owned())),
            ]
        );
        assert_eq!(report.mismatches[1].detail, "vouchers [1, 3] are all in force for this unit");
    }
}

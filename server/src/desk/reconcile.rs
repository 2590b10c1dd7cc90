//! The per-event reconciliation: receipts against vouchers against unit status, with every
//! mismatch listed. Finance runs it at the end of an event day; a clean report has none.

use std::collections::BTreeMap;
use std::str::FromStr;

use kam_core::bounds;
use rusqlite::Connection;
use rust_decimal::Decimal;
use serde::Serialize;

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

fn money(text: &str) -> Result<Decimal, ServerError> {
    Decimal::from_str(text).map_err(|_| ServerError::Corrupt(format!("amount {text}")))
}

struct Voucher {
    no: u32,
    ticket_id: String,
    unit_id: String,
    buyer_id: String,
    amount: Decimal,
}

/// Reconciles `event_id`. `conn` must reach the desk's tables.
pub fn reconcile(conn: &Connection, event_id: &str) -> Result<Reconciliation, ServerError> {
    let mut mismatches = Vec::new();
    let mut live = Vec::new();
    let mut numbers = Vec::new();
    let mut reversed = 0;
    {
        let mut stmt = conn.prepare(
            "SELECT voucher_no, ticket_id, unit_id, buyer_id, amount, reverses,
                 EXISTS (SELECT 1 FROM vouchers r WHERE r.event_id = v.event_id AND r.reverses = v.voucher_no)
             FROM vouchers v WHERE event_id = ?1 ORDER BY voucher_no",
        )?;
        let mut rows = stmt.query([event_id])?;
        while let Some(r) = rows.next()? {
            let no: u32 = r.get(0)?;
            numbers.push(no);
            let reverses: Option<u32> = r.get(5)?;
            let is_reversed: bool = r.get(6)?;
            if reverses.is_some() {
                reversed += 1;
            } else if !is_reversed {
                live.push(Voucher {
                    no,
                    ticket_id: r.get(1)?,
                    unit_id: r.get(2)?,
                    buyer_id: r.get(3)?,
                    amount: money(&r.get::<_, String>(4)?)?,
                });
            }
        }
    }
    for (i, no) in numbers.iter().enumerate() {
        let expected = u32::try_from(i + 1).unwrap_or(u32::MAX);
        if *no != expected {
            mismatches.push(Mismatch {
                code: "voucher_number_gap",
                unit_id: None,
                voucher_no: Some(*no),
                ticket_id: None,
                detail: format!(
                    "voucher {no} follows {}; number {expected} is missing",
                    expected - 1
                ),
            });
            break;
        }
    }

    // Net receipts per ticket of this event.
    let mut received: BTreeMap<String, Decimal> = BTreeMap::new();
    {
        let mut stmt =
            conn.prepare("SELECT ticket_id, amount FROM receipts WHERE event_id = ?1")?;
        let mut rows = stmt.query([event_id])?;
        while let Some(r) = rows.next()? {
            let slot = received.entry(r.get(0)?).or_default();
            *slot = bounds::add("a ticket's net receipts", *slot, money(&r.get::<_, String>(1)?)?)?;
        }
    }

    // Allotted units and their desk status.
    let mut units: BTreeMap<String, (String, Option<String>)> = BTreeMap::new();
    {
        let mut stmt = conn.prepare(
            "SELECT a.unit_id, u.status, u.buyer_id FROM desk_allotments a
             JOIN desk_events e USING (event_id)
             JOIN desk_units u ON u.project_id = e.project_id AND u.unit_id = a.unit_id
             WHERE a.event_id = ?1",
        )?;
        let mut rows = stmt.query([event_id])?;
        while let Some(r) = rows.next()? {
            units.insert(r.get(0)?, (r.get(1)?, r.get(2)?));
        }
    }

    let mut by_unit: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
    for v in &live {
        by_unit.entry(v.unit_id.as_str()).or_default().push(v.no);
        let net = received.get(&v.ticket_id).copied().unwrap_or_default();
        if net != v.amount {
            mismatches.push(Mismatch {
                code: "voucher_receipts_mismatch",
                unit_id: Some(v.unit_id.clone()),
                voucher_no: Some(v.no),
                ticket_id: Some(v.ticket_id.clone()),
                detail: format!("voucher states {} but receipts total {net}", v.amount),
            });
        }
        match units.get(&v.unit_id) {
            Some((status, buyer))
                if status == "sold" && buyer.as_deref() == Some(v.buyer_id.as_str()) => {}
            Some((status, _)) => mismatches.push(Mismatch {
                code: "voucher_unit_not_sold",
                unit_id: Some(v.unit_id.clone()),
                voucher_no: Some(v.no),
                ticket_id: Some(v.ticket_id.clone()),
                detail: format!("the unit is {status}, not sold to the voucher's buyer"),
            }),
            None => mismatches.push(Mismatch {
                code: "voucher_unit_not_allotted",
                unit_id: Some(v.unit_id.clone()),
                voucher_no: Some(v.no),
                ticket_id: Some(v.ticket_id.clone()),
                detail: "the unit is not allotted to this event".into(),
            }),
        }
        let listed: bool = conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM desk_buyers WHERE event_id = ?1 AND buyer_id = ?2)",
            )?
            .query_row([event_id, v.buyer_id.as_str()], |r| r.get(0))?;
        if !listed {
            mismatches.push(Mismatch {
                code: "voucher_buyer_not_listed",
                unit_id: Some(v.unit_id.clone()),
                voucher_no: Some(v.no),
                ticket_id: Some(v.ticket_id.clone()),
                detail: "the voucher's buyer is not on the approved list: the voucher is void"
                    .into(),
            });
        }
    }
    for (unit, nos) in &by_unit {
        if nos.len() > 1 {
            mismatches.push(Mismatch {
                code: "unit_sold_twice",
                unit_id: Some((*unit).to_owned()),
                voucher_no: nos.first().copied(),
                ticket_id: None,
                detail: format!("vouchers {nos:?} are all in force for this unit"),
            });
        }
    }
    let (mut sold, mut held) = (0, 0);
    for (unit, (status, _)) in &units {
        match status.as_str() {
            "sold" => {
                sold += 1;
                if !by_unit.contains_key(unit.as_str()) {
                    mismatches.push(Mismatch {
                        code: "sold_without_voucher",
                        unit_id: Some(unit.clone()),
                        voucher_no: None,
                        ticket_id: None,
                        detail: "the unit is sold but no voucher is in force".into(),
                    });
                }
            }
            "held" => held += 1,
            _ => {}
        }
    }
    let vouchered: std::collections::BTreeSet<&str> =
        live.iter().map(|v| v.ticket_id.as_str()).collect();
    for (ticket, net) in &received {
        if *net != Decimal::ZERO && !vouchered.contains(ticket.as_str()) {
            mismatches.push(Mismatch {
                code: "receipts_without_voucher",
                unit_id: None,
                voucher_no: None,
                ticket_id: Some(ticket.clone()),
                detail: format!("{net} received and no voucher in force"),
            });
        }
    }
    Ok(Reconciliation {
        event_id: event_id.to_owned(),
        units_allotted: u32::try_from(units.len()).unwrap_or(u32::MAX),
        units_sold: sold,
        units_held: held,
        vouchers_live: u32::try_from(live.len()).unwrap_or(u32::MAX),
        vouchers_reversed: reversed,
        receipts_total: bounds::sum("the event's receipts", received.values().copied())?,
        vouchers_total: bounds::sum("the event's vouchers", live.iter().map(|v| v.amount))?,
        mismatches,
    })
}

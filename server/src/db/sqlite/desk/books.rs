//! `DeskBooks` over SQLite. Amounts are decimal text and terms JSON; one that does not parse
//! is corrupt.

use kam_core::model::{WorkTicketFigures, WorkTicketTerms};
use rusqlite::{Connection, OptionalExtension, Row, params};
use rust_decimal::Decimal;

use crate::db::DbError;
use crate::db::desk::DeskBooks;
use crate::db::desk::books::{
    BookReceipt, BookTicket, BookVoucher, PaperBuyer, PaperEntry, PaperHold, PaperOf, PaperTicket,
    PaperUnit,
};
use crate::db::parse::decimal;

/// A stored amount read from column `i`.
fn amount(r: &Row<'_>, i: usize) -> Result<Decimal, DbError> {
    decimal(&r.get::<_, String>(i)?)
}

/// A work ticket's stored terms.
fn terms(text: &str) -> Result<WorkTicketTerms, DbError> {
    serde_json::from_str(text).map_err(|e| DbError::Corrupt(format!("work ticket terms: {e}")))
}

/// The unit's columns, in the order [`unit_at`] reads them.
const UNIT_COLUMNS: &str =
    "u.unit_id, u.code, u.building, u.floor, u.layout, u.area_m2, u.unit_price";
/// The buyer's columns, in the order [`buyer_at`] reads them.
const BUYER_COLUMNS: &str = "b.buyer_id, b.name, b.id_number_masked, b.lottery_no";

/// The unit whose [`UNIT_COLUMNS`] start at column `i`.
fn unit_at(r: &Row<'_>, i: usize) -> Result<PaperUnit, DbError> {
    Ok(PaperUnit {
        unit_id: r.get(i)?,
        code: r.get(i + 1)?,
        building: r.get(i + 2)?,
        floor: r.get(i + 3)?,
        layout: r.get(i + 4)?,
        area_m2: amount(r, i + 5)?,
        unit_price: r.get::<_, Option<String>>(i + 6)?.as_deref().map(decimal).transpose()?,
    })
}

/// The buyer whose [`BUYER_COLUMNS`] start at column `i`.
fn buyer_at(r: &Row<'_>, i: usize) -> Result<PaperBuyer, DbError> {
    Ok(PaperBuyer {
        buyer_id: r.get(i)?,
        name: r.get(i + 1)?,
        id_number_masked: r.get(i + 2)?,
        lottery_no: r.get(i + 3)?,
    })
}

/// Runs `sql` with `args` and reads every row with `read`.
fn rows<T>(
    conn: &Connection,
    sql: &str,
    args: impl rusqlite::Params,
    read: impl Fn(&Row<'_>) -> Result<T, DbError>,
) -> Result<Vec<T>, DbError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut found = stmt.query(args)?;
    let mut out = Vec::new();
    while let Some(r) = found.next()? {
        out.push(read(r)?);
    }
    Ok(out)
}

/// The vouchers' query, with a condition and its parameters appended.
const VOUCHERS: &str = "
    SELECT v.voucher_no, v.voucher_code, v.ticket_id, v.unit_id, COALESCE(u.code, v.unit_id),
           v.buyer_id, COALESCE(b.name, ''), v.amount, v.issued_at, v.issued_by, v.reverses,
           v.reason,
           (SELECT r.voucher_no FROM vouchers r
            WHERE r.event_id = v.event_id AND r.reverses = v.voucher_no)
    FROM vouchers v JOIN desk_events e USING (event_id)
    LEFT JOIN desk_units u ON u.project_id = e.project_id AND u.unit_id = v.unit_id
    LEFT JOIN desk_buyers b ON b.event_id = v.event_id AND b.buyer_id = v.buyer_id
    WHERE v.event_id = ?1";

fn voucher(r: &Row<'_>) -> Result<BookVoucher, DbError> {
    Ok(BookVoucher {
        voucher_no: r.get(0)?,
        voucher_code: r.get(1)?,
        ticket_id: r.get(2)?,
        unit_id: r.get(3)?,
        unit_code: r.get(4)?,
        buyer_id: r.get(5)?,
        buyer_name: r.get(6)?,
        amount: amount(r, 7)?,
        issued_at: r.get(8)?,
        issued_by: r.get(9)?,
        reverses: r.get(10)?,
        reason: r.get(11)?,
        reversed_by: r.get(12)?,
    })
}

/// The receipts' query, with a condition and its parameters appended.
const RECEIPTS: &str = "
    SELECT r.receipt_id, r.ticket_id, COALESCE(u.code, t.unit_id), r.amount, r.method,
           r.received_at, r.recorded_by, r.reverses
    FROM receipts r JOIN work_tickets t USING (ticket_id)
    JOIN desk_events e ON e.event_id = t.event_id
    LEFT JOIN desk_units u ON u.project_id = e.project_id AND u.unit_id = t.unit_id";

fn receipt(r: &Row<'_>) -> Result<BookReceipt, DbError> {
    Ok(BookReceipt {
        receipt_id: r.get(0)?,
        ticket_id: r.get(1)?,
        unit_code: r.get(2)?,
        amount: amount(r, 3)?,
        method: r.get(4)?,
        received_at: r.get(5)?,
        recorded_by: r.get(6)?,
        reverses: r.get(7)?,
    })
}

fn book_ticket(r: &Row<'_>) -> Result<BookTicket, DbError> {
    Ok(BookTicket {
        ticket_id: r.get(0)?,
        hold_id: r.get(1)?,
        unit_id: r.get(2)?,
        unit_code: r.get(3)?,
        buyer_id: r.get(4)?,
        buyer_name: r.get(5)?,
        payment_ratio_pct: terms(&r.get::<_, String>(6)?)?.payment_ratio_pct,
        total_price: amount(r, 7)?,
        discount_amount: amount(r, 8)?,
        net_price: amount(r, 9)?,
        amount_due: amount(r, 10)?,
        sealing_fee: amount(r, 11)?,
        prepared_by: r.get(12)?,
        prepared_at: r.get(13)?,
        reviewed_by: r.get(14)?,
        reviewed_at: r.get(15)?,
        voucher_no: r.get(16)?,
    })
}

/// The ledger kind and the JSON path of the id of the entry that made a paper.
fn entry_key(of: PaperOf<'_>) -> (&'static str, &'static str, rusqlite::types::Value) {
    use rusqlite::types::Value;
    match of {
        PaperOf::Confirmation(hold) => ("hold", "$.hold_id", Value::Text(hold.to_owned())),
        PaperOf::WorkTicket(t) => {
            ("work_ticket_prepared", "$.ticket_id", Value::Text(t.to_owned()))
        }
        PaperOf::Voucher(no) => ("voucher_issued", "$.voucher_no", Value::Integer(no.into())),
        PaperOf::Red(no) => ("sale_cancelled", "$.red_voucher_no", Value::Integer(no.into())),
    }
}

impl DeskBooks for Connection {
    fn event_name(&self, event_id: &str) -> Result<Option<String>, DbError> {
        Ok(self
            .prepare_cached("SELECT name FROM desk_events WHERE event_id = ?1")?
            .query_row([event_id], |r| r.get(0))
            .optional()?)
    }

    fn event_tickets(&self, event_id: &str) -> Result<Vec<BookTicket>, DbError> {
        rows(
            self,
            "SELECT t.ticket_id, t.hold_id, t.unit_id, COALESCE(u.code, t.unit_id), t.buyer_id,
                    COALESCE(b.name, ''), t.terms, t.total_price, t.discount_amount, t.net_price,
                    t.amount_due, t.sealing_fee, t.prepared_by, t.prepared_at,
                    w.reviewed_by, w.reviewed_at,
                    (SELECT v.voucher_no FROM vouchers v
                     WHERE v.ticket_id = t.ticket_id AND v.reverses IS NULL
                       AND NOT EXISTS (SELECT 1 FROM vouchers r
                                       WHERE r.event_id = v.event_id AND r.reverses = v.voucher_no))
             FROM work_tickets t JOIN desk_events e USING (event_id)
             LEFT JOIN desk_units u ON u.project_id = e.project_id AND u.unit_id = t.unit_id
             LEFT JOIN desk_buyers b ON b.event_id = t.event_id AND b.buyer_id = t.buyer_id
             LEFT JOIN work_ticket_reviews w ON w.ticket_id = t.ticket_id
             WHERE t.event_id = ?1 AND t.reverses IS NULL
               AND NOT EXISTS (SELECT 1 FROM work_tickets r WHERE r.reverses = t.ticket_id)
             ORDER BY t.prepared_at, t.ticket_id",
            [event_id],
            book_ticket,
        )
    }

    fn event_receipts(&self, event_id: &str) -> Result<Vec<BookReceipt>, DbError> {
        let sql = format!("{RECEIPTS} WHERE r.event_id = ?1 ORDER BY r.received_at, r.rowid");
        rows(self, &sql, [event_id], receipt)
    }

    fn event_vouchers(&self, event_id: &str) -> Result<Vec<BookVoucher>, DbError> {
        rows(self, &format!("{VOUCHERS} ORDER BY v.voucher_no"), [event_id], voucher)
    }

    fn event_voucher(
        &self,
        event_id: &str,
        voucher_no: u32,
    ) -> Result<Option<BookVoucher>, DbError> {
        let sql = format!("{VOUCHERS} AND v.voucher_no = ?2");
        Ok(rows(self, &sql, params![event_id, voucher_no], voucher)?.into_iter().next())
    }

    fn paper_hold(&self, event_id: &str, hold_id: &str) -> Result<Option<PaperHold>, DbError> {
        let sql = format!(
            "SELECT h.hold_id, h.state, h.held_by, h.held_at, h.expires_at, {UNIT_COLUMNS},
                    {BUYER_COLUMNS}
             FROM desk_holds h
             JOIN desk_units u ON u.project_id = h.project_id AND u.unit_id = h.unit_id
             JOIN desk_buyers b ON b.event_id = h.event_id AND b.buyer_id = h.buyer_id
             WHERE h.event_id = ?1 AND h.hold_id = ?2"
        );
        let found = rows(self, &sql, [event_id, hold_id], |r| {
            Ok(PaperHold {
                hold_id: r.get(0)?,
                state: r.get(1)?,
                held_by: r.get(2)?,
                held_at: r.get(3)?,
                expires_at: r.get(4)?,
                unit: unit_at(r, 5)?,
                buyer: buyer_at(r, 12)?,
            })
        })?;
        Ok(found.into_iter().next())
    }

    fn paper_ticket(
        &self,
        event_id: &str,
        ticket_id: &str,
    ) -> Result<Option<PaperTicket>, DbError> {
        let sql = format!(
            "SELECT t.ticket_id, t.hold_id, t.terms, t.total_price, t.discount_amount,
                    t.net_price, t.amount_due, t.sealing_fee, t.prepared_by, t.prepared_at,
                    w.reviewed_by, t.reverses, {UNIT_COLUMNS}, {BUYER_COLUMNS}
             FROM work_tickets t JOIN desk_events e USING (event_id)
             JOIN desk_units u ON u.project_id = e.project_id AND u.unit_id = t.unit_id
             JOIN desk_buyers b ON b.event_id = t.event_id AND b.buyer_id = t.buyer_id
             LEFT JOIN work_ticket_reviews w ON w.ticket_id = t.ticket_id
             WHERE t.event_id = ?1 AND t.ticket_id = ?2"
        );
        let found = rows(self, &sql, [event_id, ticket_id], |r| {
            Ok(PaperTicket {
                ticket_id: r.get(0)?,
                hold_id: r.get(1)?,
                terms: terms(&r.get::<_, String>(2)?)?,
                figures: WorkTicketFigures {
                    total_price: amount(r, 3)?,
                    discount_amount: amount(r, 4)?,
                    net_price: amount(r, 5)?,
                    amount_due: amount(r, 6)?,
                    sealing_fee: amount(r, 7)?,
                },
                prepared_by: r.get(8)?,
                prepared_at: r.get(9)?,
                reviewed_by: r.get(10)?,
                reverses: r.get(11)?,
                unit: unit_at(r, 12)?,
                buyer: buyer_at(r, 19)?,
                receipts: Vec::new(),
            })
        })?;
        let Some(mut ticket) = found.into_iter().next() else { return Ok(None) };
        let sql = format!("{RECEIPTS} WHERE r.ticket_id = ?1 ORDER BY r.received_at, r.rowid");
        ticket.receipts = rows(self, &sql, [ticket_id], receipt)?;
        Ok(Some(ticket))
    }

    fn paper_entry(&self, event_id: &str, of: PaperOf<'_>) -> Result<Option<PaperEntry>, DbError> {
        let (kind, path, id) = entry_key(of);
        let found = rows(
            self,
            "SELECT seq, at, kind, hash FROM desk_ledger
             WHERE event_id = ?1 AND kind = ?2 AND json_extract(entry, ?3) = ?4
             ORDER BY seq LIMIT 1",
            params![event_id, kind, path, id],
            |r| Ok(PaperEntry { seq: r.get(0)?, at: r.get(1)?, kind: r.get(2)?, hash: r.get(3)? }),
        )?;
        Ok(found.into_iter().next())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use rust_decimal::Decimal;

    use crate::db::DbError;
    use crate::db::desk::books::PaperOf;
    use crate::web::console::fixture::venue;

    /// The books of a temp desk file after real commands: a sale in force, a sale cancelled
    /// in red, a ticket waiting for review and one paid in part.
    #[tokio::test]
    async fn the_books_read_tickets_receipts_vouchers_papers_and_their_ledger_entries() {
        let v = venue();
        let t = v.trade().await;
        let event = v.event.clone();
        let tt = (t.ticket.clone(), t.waiting.clone(), t.paying.clone(), t.hold.clone());
        let (voucher, red, cancelled) = (t.voucher, t.red, t.cancelled);
        v.state
            .readers()
            .read(move |c| {
                let desk = c.desk();
                let (ticket, waiting, paying, hold) = tt;
                assert!(desk.event_name(&event)?.is_some());
                assert_eq!(desk.event_name("no-such-event")?, None);
                // The reversed ticket is gone from the live ones; the others keep their state.
                let tickets = desk.event_tickets(&event)?;
                let ids: Vec<&str> = tickets.iter().map(|t| t.ticket_id.as_str()).collect();
                assert_eq!(ids, [ticket.as_str(), waiting.as_str(), paying.as_str()]);
                assert_eq!(tickets[0].voucher_no, Some(voucher));
                assert_eq!(tickets[0].reviewed_by.as_deref(), Some("finance-01"));
                assert_eq!(
                    (tickets[1].reviewed_by.as_deref(), tickets[1].voucher_no),
                    (None, None)
                );
                assert_eq!(tickets[1].prepared_by, "staff-01");
                assert_eq!(tickets[2].payment_ratio_pct, Decimal::from(60));
                assert!(!tickets[0].unit_code.is_empty() && !tickets[0].buyer_name.is_empty());
                // Receipts: the sale's, the cancelled sale's and its red one, the part payment.
                let receipts = desk.event_receipts(&event)?;
                assert_eq!(receipts.len(), 4);
                let reds: Vec<_> = receipts.iter().filter(|r| r.reverses.is_some()).collect();
                assert_eq!(reds.len(), 1);
                assert!(reds[0].amount < Decimal::ZERO);
                let part = receipts.iter().find(|r| r.ticket_id == paying).unwrap();
                assert_eq!((part.amount, part.method.as_str()), (Decimal::from(1000), "card"));
                // Vouchers, black and red, each pointing at the other.
                let vouchers = desk.event_vouchers(&event)?;
                let nos: Vec<u32> = vouchers.iter().map(|v| v.voucher_no).collect();
                assert_eq!(nos, [voucher, cancelled, red]);
                assert_eq!(vouchers[1].reversed_by, Some(red));
                assert_eq!(vouchers[2].reverses, Some(cancelled));
                assert_eq!(vouchers[2].reason.as_deref(), Some("买受人放弃"));
                assert_eq!(desk.event_voucher(&event, red)?, Some(vouchers[2].clone()));
                assert_eq!(desk.event_voucher(&event, 999)?, None);
                // One paper's unit, buyer and ticket, its receipts included.
                let h = desk.paper_hold(&event, &hold)?.unwrap();
                assert_eq!((h.state.as_str(), h.held_by.as_str()), ("sold", "staff-01"));
                assert!(h.buyer.id_number_masked.contains('*'));
                assert_eq!(desk.paper_hold(&event, "hold-none")?, None);
                let p = desk.paper_ticket(&event, &ticket)?.unwrap();
                assert_eq!((p.hold_id.as_str(), p.receipts.len()), (hold.as_str(), 1));
                assert_eq!(p.terms.discounts.len(), 2);
                assert_eq!(p.unit, h.unit);
                assert_eq!(desk.paper_ticket("no-such-event", &ticket)?, None);
                // The ledger entry of each paper; none for a paper that does not exist.
                for of in [
                    PaperOf::Confirmation(&hold),
                    PaperOf::WorkTicket(&ticket),
                    PaperOf::Voucher(voucher),
                    PaperOf::Red(red),
                ] {
                    let e = desk.paper_entry(&event, of)?.unwrap();
                    assert_eq!(e.hash.len(), 32, "{of:?}");
                    assert!(e.seq > 0);
                }
                let voucher_entry = desk.paper_entry(&event, PaperOf::Voucher(voucher))?.unwrap();
                assert_eq!(voucher_entry.kind, "voucher_issued");
                assert_eq!(desk.paper_entry(&event, PaperOf::Voucher(999))?, None);
                assert_eq!(desk.paper_entry(&event, PaperOf::Red(voucher))?, None);
                Ok::<_, DbError>(())
            })
            .await
            .unwrap();
    }
}

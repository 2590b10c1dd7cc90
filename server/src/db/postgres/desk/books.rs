//! `DeskBooks` over PostgreSQL. Amounts are decimal text and terms JSON; one that does not
//! parse is corrupt.
//!
//! SQLite lists receipts recorded at the same instant in the order they were inserted (its row
//! id); PostgreSQL keeps no such order, so those come black before red, then by receipt id.

use kam_core::model::{WorkTicketFigures, WorkTicketTerms};
use rust_decimal::Decimal;
use tokio_postgres::Row;

use super::super::PgDb;
use super::{small, small_opt};
use crate::db::DbError;
use crate::db::desk::DeskBooks;
use crate::db::desk::books::{
    BookReceipt, BookTicket, BookVoucher, PaperBuyer, PaperEntry, PaperHold, PaperOf, PaperTicket,
    PaperUnit,
};
use crate::db::parse::decimal;

/// A stored amount read from column `i`.
fn amount(r: &Row, i: usize) -> Result<Decimal, DbError> {
    decimal(r.try_get(i)?)
}

/// A stored voucher number read from column `i`, if any.
fn voucher_no(r: &Row, i: usize) -> Result<Option<u32>, DbError> {
    small_opt(r.try_get(i)?, "voucher number")
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
fn unit_at(r: &Row, i: usize) -> Result<PaperUnit, DbError> {
    let floor: i64 = r.try_get(i + 3)?;
    Ok(PaperUnit {
        unit_id: r.try_get(i)?,
        code: r.try_get(i + 1)?,
        building: r.try_get(i + 2)?,
        floor: i32::try_from(floor).map_err(|_| DbError::Corrupt(format!("floor {floor}")))?,
        layout: r.try_get(i + 4)?,
        area_m2: amount(r, i + 5)?,
        unit_price: r.try_get::<_, Option<&str>>(i + 6)?.map(decimal).transpose()?,
    })
}

/// The buyer whose [`BUYER_COLUMNS`] start at column `i`.
fn buyer_at(r: &Row, i: usize) -> Result<PaperBuyer, DbError> {
    let lottery_no: Option<i64> = r.try_get(i + 3)?;
    Ok(PaperBuyer {
        buyer_id: r.try_get(i)?,
        name: r.try_get(i + 1)?,
        id_number_masked: r.try_get(i + 2)?,
        lottery_no: small_opt(lottery_no, "lottery number")?,
    })
}

/// The vouchers' query, with a condition appended.
const VOUCHERS: &str = "
    SELECT v.voucher_no, v.voucher_code, v.ticket_id, v.unit_id, COALESCE(u.code, v.unit_id),
           v.buyer_id, COALESCE(b.name, ''), v.amount, v.issued_at, v.issued_by, v.reverses,
           v.reason,
           (SELECT r.voucher_no FROM vouchers r
            WHERE r.event_id = v.event_id AND r.reverses = v.voucher_no)
    FROM vouchers v JOIN desk_events e USING (event_id)
    LEFT JOIN desk_units u ON u.project_id = e.project_id AND u.unit_id = v.unit_id
    LEFT JOIN desk_buyers b ON b.event_id = v.event_id AND b.buyer_id = v.buyer_id
    WHERE v.event_id = $1";

fn voucher(r: &Row) -> Result<BookVoucher, DbError> {
    Ok(BookVoucher {
        voucher_no: small(r.try_get(0)?, "voucher number")?,
        voucher_code: r.try_get(1)?,
        ticket_id: r.try_get(2)?,
        unit_id: r.try_get(3)?,
        unit_code: r.try_get(4)?,
        buyer_id: r.try_get(5)?,
        buyer_name: r.try_get(6)?,
        amount: amount(r, 7)?,
        issued_at: r.try_get(8)?,
        issued_by: r.try_get(9)?,
        reverses: voucher_no(r, 10)?,
        reason: r.try_get(11)?,
        reversed_by: voucher_no(r, 12)?,
    })
}

/// The receipts' query, with a condition appended.
const RECEIPTS: &str = "
    SELECT r.receipt_id, r.ticket_id, COALESCE(u.code, t.unit_id), r.amount, r.method,
           r.received_at, r.recorded_by, r.reverses
    FROM receipts r JOIN work_tickets t USING (ticket_id)
    JOIN desk_events e ON e.event_id = t.event_id
    LEFT JOIN desk_units u ON u.project_id = e.project_id AND u.unit_id = t.unit_id";

/// The receipts' order: as recorded (see the module's note on ties).
const RECEIPT_ORDER: &str = "ORDER BY r.received_at, r.reverses IS NOT NULL, r.receipt_id";

fn receipt(r: &Row) -> Result<BookReceipt, DbError> {
    Ok(BookReceipt {
        receipt_id: r.try_get(0)?,
        ticket_id: r.try_get(1)?,
        unit_code: r.try_get(2)?,
        amount: amount(r, 3)?,
        method: r.try_get(4)?,
        received_at: r.try_get(5)?,
        recorded_by: r.try_get(6)?,
        reverses: r.try_get(7)?,
    })
}

fn book_ticket(r: &Row) -> Result<BookTicket, DbError> {
    Ok(BookTicket {
        ticket_id: r.try_get(0)?,
        hold_id: r.try_get(1)?,
        unit_id: r.try_get(2)?,
        unit_code: r.try_get(3)?,
        buyer_id: r.try_get(4)?,
        buyer_name: r.try_get(5)?,
        payment_ratio_pct: terms(r.try_get(6)?)?.payment_ratio_pct,
        total_price: amount(r, 7)?,
        discount_amount: amount(r, 8)?,
        net_price: amount(r, 9)?,
        amount_due: amount(r, 10)?,
        sealing_fee: amount(r, 11)?,
        prepared_by: r.try_get(12)?,
        prepared_at: r.try_get(13)?,
        reviewed_by: r.try_get(14)?,
        reviewed_at: r.try_get(15)?,
        voucher_no: voucher_no(r, 16)?,
    })
}

fn paper_entry(r: &Row) -> Result<PaperEntry, DbError> {
    Ok(PaperEntry {
        seq: r.try_get(0)?,
        at: r.try_get(1)?,
        kind: r.try_get(2)?,
        hash: r.try_get(3)?,
    })
}

impl DeskBooks for PgDb {
    fn event_name(&self, event_id: &str) -> Result<Option<String>, DbError> {
        let row = self.row("SELECT name FROM desk_events WHERE event_id = $1", &[&event_id])?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    fn event_tickets(&self, event_id: &str) -> Result<Vec<BookTicket>, DbError> {
        let rows = self.rows(
            "SELECT t.ticket_id, t.hold_id, t.unit_id, COALESCE(u.code, t.unit_id), t.buyer_id,
                    COALESCE(b.name, ''), t.terms, t.total_price, t.discount_amount, t.net_price,
                    t.amount_due, t.sealing_fee, t.prepared_by, t.prepared_at,
                    w.reviewed_by, w.reviewed_at,
                    (SELECT v.voucher_no FROM vouchers v
                     WHERE v.ticket_id = t.ticket_id AND v.reverses IS NULL
                       AND NOT EXISTS (SELECT 1 FROM vouchers r
                                       WHERE r.event_id = v.event_id AND r.reverses = v.voucher_no)
                     ORDER BY v.voucher_no LIMIT 1)
             FROM work_tickets t JOIN desk_events e USING (event_id)
             LEFT JOIN desk_units u ON u.project_id = e.project_id AND u.unit_id = t.unit_id
             LEFT JOIN desk_buyers b ON b.event_id = t.event_id AND b.buyer_id = t.buyer_id
             LEFT JOIN work_ticket_reviews w ON w.ticket_id = t.ticket_id
             WHERE t.event_id = $1 AND t.reverses IS NULL
               AND NOT EXISTS (SELECT 1 FROM work_tickets r WHERE r.reverses = t.ticket_id)
             ORDER BY t.prepared_at, t.ticket_id",
            &[&event_id],
        )?;
        rows.iter().map(book_ticket).collect()
    }

    fn event_receipts(&self, event_id: &str) -> Result<Vec<BookReceipt>, DbError> {
        let sql = format!("{RECEIPTS} WHERE r.event_id = $1 {RECEIPT_ORDER}");
        self.rows(&sql, &[&event_id])?.iter().map(receipt).collect()
    }

    fn event_vouchers(&self, event_id: &str) -> Result<Vec<BookVoucher>, DbError> {
        let sql = format!("{VOUCHERS} ORDER BY v.voucher_no");
        self.rows(&sql, &[&event_id])?.iter().map(voucher).collect()
    }

    fn event_voucher(
        &self,
        event_id: &str,
        voucher_no: u32,
    ) -> Result<Option<BookVoucher>, DbError> {
        let sql = format!("{VOUCHERS} AND v.voucher_no = $2");
        self.row(&sql, &[&event_id, &i64::from(voucher_no)])?.as_ref().map(voucher).transpose()
    }

    fn paper_hold(&self, event_id: &str, hold_id: &str) -> Result<Option<PaperHold>, DbError> {
        let sql = format!(
            "SELECT h.hold_id, h.state, h.held_by, h.held_at, h.expires_at, {UNIT_COLUMNS},
                    {BUYER_COLUMNS}
             FROM desk_holds h
             JOIN desk_units u ON u.project_id = h.project_id AND u.unit_id = h.unit_id
             JOIN desk_buyers b ON b.event_id = h.event_id AND b.buyer_id = h.buyer_id
             WHERE h.event_id = $1 AND h.hold_id = $2"
        );
        let Some(r) = self.row(&sql, &[&event_id, &hold_id])? else { return Ok(None) };
        Ok(Some(PaperHold {
            hold_id: r.try_get(0)?,
            state: r.try_get(1)?,
            held_by: r.try_get(2)?,
            held_at: r.try_get(3)?,
            expires_at: r.try_get(4)?,
            unit: unit_at(&r, 5)?,
            buyer: buyer_at(&r, 12)?,
        }))
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
             WHERE t.event_id = $1 AND t.ticket_id = $2"
        );
        let Some(r) = self.row(&sql, &[&event_id, &ticket_id])? else { return Ok(None) };
        let sql = format!("{RECEIPTS} WHERE r.ticket_id = $1 {RECEIPT_ORDER}");
        let receipts =
            self.rows(&sql, &[&ticket_id])?.iter().map(receipt).collect::<Result<_, _>>()?;
        Ok(Some(PaperTicket {
            ticket_id: r.try_get(0)?,
            hold_id: r.try_get(1)?,
            terms: terms(r.try_get(2)?)?,
            figures: WorkTicketFigures {
                total_price: amount(&r, 3)?,
                discount_amount: amount(&r, 4)?,
                net_price: amount(&r, 5)?,
                amount_due: amount(&r, 6)?,
                sealing_fee: amount(&r, 7)?,
            },
            prepared_by: r.try_get(8)?,
            prepared_at: r.try_get(9)?,
            reviewed_by: r.try_get(10)?,
            reverses: r.try_get(11)?,
            unit: unit_at(&r, 12)?,
            buyer: buyer_at(&r, 19)?,
            receipts,
        }))
    }

    fn paper_entry(&self, event_id: &str, of: PaperOf<'_>) -> Result<Option<PaperEntry>, DbError> {
        // The entry's id field compared as JSON, so a number matches only a number and a
        // string only a string, as SQLite's json_extract compares them.
        const TEXT: &str = "SELECT seq, at, kind, hash FROM desk_ledger
             WHERE event_id = $1 AND kind = $2 AND entry::jsonb -> $3::text = to_jsonb($4::text)
             ORDER BY seq LIMIT 1";
        const NUMBER: &str = "SELECT seq, at, kind, hash FROM desk_ledger
             WHERE event_id = $1 AND kind = $2 AND entry::jsonb -> $3::text = to_jsonb($4::bigint)
             ORDER BY seq LIMIT 1";
        let row = match of {
            PaperOf::Confirmation(hold) => {
                self.row(TEXT, &[&event_id, &"hold", &"hold_id", &hold])?
            }
            PaperOf::WorkTicket(ticket) => {
                self.row(TEXT, &[&event_id, &"work_ticket_prepared", &"ticket_id", &ticket])?
            }
            PaperOf::Voucher(no) => {
                self.row(NUMBER, &[&event_id, &"voucher_issued", &"voucher_no", &i64::from(no)])?
            }
            PaperOf::Red(no) => self
                .row(NUMBER, &[&event_id, &"sale_cancelled", &"red_voucher_no", &i64::from(no)])?,
        };
        row.as_ref().map(paper_entry).transpose()
    }
}

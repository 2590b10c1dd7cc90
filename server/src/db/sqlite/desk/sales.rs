//! `DeskSales` over SQLite. Amounts are stored as decimal text; one that does not parse is
//! corrupt.

use std::str::FromStr;

use kam_core::model::UnitStatus;
use rusqlite::{Connection, OptionalExtension, params};
use rust_decimal::Decimal;

use crate::db::DbError;
use crate::db::desk::DeskSales;
use crate::db::desk::sales::{
    NewReceipt, NewVoucher, NewWorkTicket, PriceApproval, TicketRow, UnitForTicket, VoucherRow,
    VoucherSeries,
};

/// A stored amount.
fn decimal(text: &str) -> Result<Decimal, DbError> {
    Decimal::from_str(text).map_err(|_| DbError::Corrupt(format!("amount {text}")))
}

/// A value as JSON text, for a JSON column.
fn json(value: &impl serde::Serialize) -> Result<String, DbError> {
    serde_json::to_string(value).map_err(|e| DbError::Corrupt(e.to_string()))
}

impl DeskSales for Connection {
    fn receipts_for_hold(&self, hold_id: &str) -> Result<i64, DbError> {
        Ok(self
            .prepare_cached(
                "SELECT COUNT(*) FROM receipts r JOIN work_tickets t USING (ticket_id)
             WHERE t.hold_id = ?1",
            )?
            .query_row([hold_id], |r| r.get(0))?)
    }

    fn approved_unit_price(
        &self,
        project_id: &str,
        unit_id: &str,
    ) -> Result<Option<Decimal>, DbError> {
        let price: Option<String> = self
            .prepare_cached(
                "SELECT unit_price FROM desk_units WHERE project_id = ?1 AND unit_id = ?2",
            )?
            .query_row([project_id, unit_id], |r| r.get(0))?;
        price.as_deref().map(decimal).transpose()
    }

    fn set_unit_price(&self, a: &PriceApproval<'_>) -> Result<(), DbError> {
        let approvers = json(&a.approvers)?;
        self.prepare_cached(
            "UPDATE desk_units SET unit_price = ?3, approvers = ?4, approved_at = ?5
             WHERE project_id = ?1 AND unit_id = ?2",
        )?
        .execute(params![
            a.project_id,
            a.unit_id,
            a.unit_price.to_string(),
            approvers,
            a.approved_at
        ])?;
        Ok(())
    }

    fn unit_for_ticket(
        &self,
        project_id: &str,
        unit_id: &str,
    ) -> Result<Option<UnitForTicket>, DbError> {
        type Row = (String, String, Option<String>, String, Option<String>, Option<String>);
        let row: Option<Row> = self
            .prepare_cached(
                "SELECT status, area_m2, unit_price, COALESCE(event_id, ''), buyer_id, hold_id
             FROM desk_units WHERE project_id = ?1 AND unit_id = ?2",
            )?
            .query_row([project_id, unit_id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
            })
            .optional()?;
        let Some((status, area, price, event_id, buyer_id, hold_id)) = row else {
            return Ok(None);
        };
        let status = status
            .parse::<UnitStatus>()
            .map_err(|_| DbError::Corrupt(format!("unit status {status}")))?;
        Ok(Some(UnitForTicket {
            status,
            area_m2: decimal(&area)?,
            unit_price: price.as_deref().map(decimal).transpose()?,
            event_id,
            buyer_id,
            hold_id,
        }))
    }

    fn live_ticket_of_hold(&self, hold_id: &str) -> Result<Option<String>, DbError> {
        Ok(self
            .prepare_cached(
                "SELECT t.ticket_id FROM work_tickets t WHERE t.hold_id = ?1 AND t.reverses IS NULL
             AND NOT EXISTS (SELECT 1 FROM work_tickets r WHERE r.reverses = t.ticket_id)",
            )?
            .query_row([hold_id], |r| r.get(0))
            .optional()?)
    }

    fn insert_work_ticket(&self, t: &NewWorkTicket<'_>) -> Result<(), DbError> {
        let terms = json(t.terms)?;
        let f = t.figures;
        self.prepare_cached(
            "INSERT INTO work_tickets(ticket_id, event_id, hold_id, unit_id, buyer_id, terms,
                 total_price, discount_amount, net_price, amount_due, sealing_fee, prepared_by,
                 prepared_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        )?
        .execute(params![
            t.ticket_id,
            t.event_id,
            t.hold_id,
            t.unit_id,
            t.buyer_id,
            terms,
            f.total_price.to_string(),
            f.discount_amount.to_string(),
            f.net_price.to_string(),
            f.amount_due.to_string(),
            f.sealing_fee.to_string(),
            t.prepared_by,
            t.prepared_at,
        ])?;
        Ok(())
    }

    fn work_ticket(&self, ticket_id: &str, event_id: &str) -> Result<Option<TicketRow>, DbError> {
        type Row = (String, String, String, String, String, Option<String>, bool);
        let row: Option<Row> = self
            .prepare_cached(
                "SELECT hold_id, unit_id, buyer_id, amount_due, prepared_by, reverses,
                 EXISTS (SELECT 1 FROM work_tickets r WHERE r.reverses = t.ticket_id)
             FROM work_tickets t WHERE ticket_id = ?1 AND event_id = ?2",
            )?
            .query_row([ticket_id, event_id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?))
            })
            .optional()?;
        let Some((hold_id, unit_id, buyer_id, due, prepared_by, reverses, reversed)) = row else {
            return Ok(None);
        };
        let amount_due = decimal(&due)?;
        Ok(Some(TicketRow {
            hold_id,
            unit_id,
            buyer_id,
            amount_due,
            prepared_by,
            reverses,
            reversed,
        }))
    }

    fn insert_ticket_review(
        &self,
        ticket_id: &str,
        reviewed_by: &str,
        reviewed_at: &str,
    ) -> Result<bool, DbError> {
        let inserted = self
            .prepare_cached(
                "INSERT OR IGNORE INTO work_ticket_reviews(ticket_id, reviewed_by, reviewed_at) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![ticket_id, reviewed_by, reviewed_at])?;
        Ok(inserted != 0)
    }

    fn ticket_reviewed(&self, ticket_id: &str) -> Result<bool, DbError> {
        Ok(self
            .prepare_cached("SELECT 1 FROM work_ticket_reviews WHERE ticket_id = ?1")?
            .query_row([ticket_id], |_| Ok(()))
            .optional()?
            .is_some())
    }

    fn seal_hold(&self, hold_id: &str) -> Result<(), DbError> {
        self.prepare_cached(
            "UPDATE desk_units SET held_until = NULL WHERE hold_id = ?1 AND status = 'held'",
        )?
        .execute([hold_id])?;
        Ok(())
    }

    fn receipt_amounts(&self, ticket_id: &str) -> Result<Vec<Decimal>, DbError> {
        let amounts: Vec<String> = self
            .prepare_cached("SELECT amount FROM receipts WHERE ticket_id = ?1")?
            .query_map([ticket_id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        amounts.iter().map(|amount| decimal(amount)).collect()
    }

    fn insert_receipt(&self, r: &NewReceipt<'_>) -> Result<(), DbError> {
        self.prepare_cached(
            "INSERT INTO receipts(receipt_id, event_id, ticket_id, amount, method, received_at, recorded_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            r.receipt_id,
            r.event_id,
            r.ticket_id,
            r.amount.to_string(),
            r.method,
            r.received_at,
            r.recorded_by
        ])?;
        Ok(())
    }

    fn voucher_series(&self, event_id: &str) -> Result<VoucherSeries, DbError> {
        Ok(self
            .prepare_cached("SELECT voucher_next, voucher_last, voucher_prefix FROM desk_events WHERE event_id = ?1")?
            .query_row([event_id], |r| {
                Ok(VoucherSeries { next: r.get(0)?, last: r.get(1)?, prefix: r.get(2)? })
            })?)
    }

    fn advance_voucher_series(&self, event_id: &str) -> Result<(), DbError> {
        self.prepare_cached(
            "UPDATE desk_events SET voucher_next = voucher_next + 1 WHERE event_id = ?1",
        )?
        .execute([event_id])?;
        Ok(())
    }

    fn ticket_vouchered(&self, ticket_id: &str) -> Result<bool, DbError> {
        Ok(self
            .prepare_cached("SELECT 1 FROM vouchers WHERE ticket_id = ?1 AND reverses IS NULL")?
            .query_row([ticket_id], |_| Ok(()))
            .optional()?
            .is_some())
    }

    fn mark_unit_sold(
        &self,
        project_id: &str,
        unit_id: &str,
        hold_id: &str,
    ) -> Result<usize, DbError> {
        Ok(self
            .prepare_cached(
                "UPDATE desk_units SET status = 'sold', held_until = NULL
             WHERE project_id = ?1 AND unit_id = ?2 AND status = 'held' AND hold_id = ?3",
            )?
            .execute(params![project_id, unit_id, hold_id])?)
    }

    fn end_hold_sold(&self, hold_id: &str, ended_at: &str) -> Result<(), DbError> {
        self.prepare_cached(
            "UPDATE desk_holds SET state = 'sold', ended_at = ?2 WHERE hold_id = ?1",
        )?
        .execute(params![hold_id, ended_at])?;
        Ok(())
    }

    fn insert_voucher(&self, v: &NewVoucher<'_>) -> Result<(), DbError> {
        insert_voucher_row(self, v, None, None)
    }

    fn voucher(&self, event_id: &str, voucher_no: u32) -> Result<Option<VoucherRow>, DbError> {
        type Row = (String, String, String, String, Option<u32>, bool);
        let row: Option<Row> = self
            .prepare_cached(
                "SELECT ticket_id, buyer_id, unit_id, amount, reverses,
                 EXISTS (SELECT 1 FROM vouchers r WHERE r.event_id = v.event_id AND r.reverses = v.voucher_no)
             FROM vouchers v WHERE event_id = ?1 AND voucher_no = ?2",
            )?
            .query_row(params![event_id, voucher_no], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
            })
            .optional()?;
        let Some((ticket_id, buyer_id, unit_id, amount, reverses, reversed)) = row else {
            return Ok(None);
        };
        let amount = decimal(&amount)?;
        Ok(Some(VoucherRow { ticket_id, buyer_id, unit_id, amount, reverses, reversed }))
    }

    fn insert_red_voucher(
        &self,
        v: &NewVoucher<'_>,
        reverses: u32,
        reason: &str,
    ) -> Result<(), DbError> {
        insert_voucher_row(self, v, Some(reverses), Some(reason))
    }

    fn insert_red_ticket(
        &self,
        ticket_id: &str,
        red_ticket_id: &str,
        prepared_by: &str,
        prepared_at: &str,
        reason: &str,
    ) -> Result<(), DbError> {
        self.prepare_cached(
            "INSERT INTO work_tickets(ticket_id, event_id, hold_id, unit_id, buyer_id, terms,
                 total_price, discount_amount, net_price, amount_due, sealing_fee, prepared_by,
                 prepared_at, reverses, reason)
             SELECT ?2, event_id, hold_id, unit_id, buyer_id, terms,
                 '-' || total_price, '-' || discount_amount, '-' || net_price, '-' || amount_due,
                 '-' || sealing_fee, ?3, ?4, ticket_id, ?5
             FROM work_tickets WHERE ticket_id = ?1",
        )?
        .execute(params![ticket_id, red_ticket_id, prepared_by, prepared_at, reason])?;
        Ok(())
    }

    fn insert_red_receipts(
        &self,
        ticket_id: &str,
        received_at: &str,
        recorded_by: &str,
    ) -> Result<usize, DbError> {
        Ok(self
            .prepare_cached(
                "INSERT INTO receipts(receipt_id, event_id, ticket_id, amount, method, received_at,
                 recorded_by, reverses)
             SELECT 'rc-red-' || receipt_id, event_id, ticket_id, '-' || amount, method, ?2, ?3, receipt_id
             FROM receipts WHERE ticket_id = ?1 AND reverses IS NULL",
            )?
            .execute(params![ticket_id, received_at, recorded_by])?)
    }

    fn free_sold_unit(&self, project_id: &str, unit_id: &str) -> Result<usize, DbError> {
        Ok(self
            .prepare_cached(
                "UPDATE desk_units SET status = 'available', event_id = NULL, buyer_id = NULL,
                 hold_id = NULL, held_until = NULL
             WHERE project_id = ?1 AND unit_id = ?2 AND status = 'sold'",
            )?
            .execute(params![project_id, unit_id])?)
    }
}

/// Writes voucher `v`; a red one names the voucher it reverses and why.
fn insert_voucher_row(
    conn: &Connection,
    v: &NewVoucher<'_>,
    reverses: Option<u32>,
    reason: Option<&str>,
) -> Result<(), DbError> {
    conn.prepare_cached(
        "INSERT INTO vouchers(event_id, voucher_no, voucher_code, ticket_id, buyer_id, unit_id,
             amount, issued_at, issued_by, reverses, reason)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        v.event_id,
        v.voucher_no,
        v.voucher_code,
        v.ticket_id,
        v.buyer_id,
        v.unit_id,
        v.amount.to_string(),
        v.issued_at,
        v.issued_by,
        reverses,
        reason
    ])?;
    Ok(())
}

//! `DeskSales` over PostgreSQL. Amounts are stored as decimal text; one that does not parse is
//! corrupt.

use kam_core::model::UnitStatus;
use rust_decimal::Decimal;

use super::super::PgDb;
use super::{small, small_opt};
use crate::db::DbError;
use crate::db::desk::DeskSales;
use crate::db::desk::sales::{
    NewReceipt, NewVoucher, NewWorkTicket, PriceApproval, TicketRow, UnitForTicket, VoucherRow,
    VoucherSeries,
};
use crate::db::parse::decimal;

/// A value as JSON text, for a JSON column.
fn json(value: &impl serde::Serialize) -> Result<String, DbError> {
    serde_json::to_string(value).map_err(|e| DbError::Corrupt(e.to_string()))
}

/// How many rows a statement changed, as the traits count them.
fn changed(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

impl DeskSales for PgDb {
    fn receipts_for_hold(&self, hold_id: &str) -> Result<i64, DbError> {
        Ok(self
            .one(
                "SELECT COUNT(*) FROM receipts r JOIN work_tickets t USING (ticket_id)
                 WHERE t.hold_id = $1",
                &[&hold_id],
            )?
            .try_get(0)?)
    }

    fn approved_unit_price(
        &self,
        project_id: &str,
        unit_id: &str,
    ) -> Result<Option<Decimal>, DbError> {
        // The unit must exist: no row is an error, as on SQLite.
        let price: Option<String> = self
            .one(
                "SELECT unit_price FROM desk_units WHERE project_id = $1 AND unit_id = $2",
                &[&project_id, &unit_id],
            )?
            .try_get(0)?;
        price.as_deref().map(decimal).transpose()
    }

    fn set_unit_price(&self, a: &PriceApproval<'_>) -> Result<(), DbError> {
        let approvers = json(&a.approvers)?;
        self.execute(
            "UPDATE desk_units SET unit_price = $3, approvers = $4, approved_at = $5
             WHERE project_id = $1 AND unit_id = $2",
            &[&a.project_id, &a.unit_id, &a.unit_price.to_string(), &approvers, &a.approved_at],
        )?;
        Ok(())
    }

    fn unit_for_ticket(
        &self,
        project_id: &str,
        unit_id: &str,
    ) -> Result<Option<UnitForTicket>, DbError> {
        let Some(r) = self.row(
            "SELECT status, area_m2, unit_price, COALESCE(event_id, ''), buyer_id, hold_id
             FROM desk_units WHERE project_id = $1 AND unit_id = $2",
            &[&project_id, &unit_id],
        )?
        else {
            return Ok(None);
        };
        let status: String = r.try_get(0)?;
        let status = status
            .parse::<UnitStatus>()
            .map_err(|_| DbError::Corrupt(format!("unit status {status}")))?;
        Ok(Some(UnitForTicket {
            status,
            area_m2: decimal(r.try_get(1)?)?,
            unit_price: r.try_get::<_, Option<&str>>(2)?.map(decimal).transpose()?,
            event_id: r.try_get(3)?,
            buyer_id: r.try_get(4)?,
            hold_id: r.try_get(5)?,
        }))
    }

    fn live_ticket_of_hold(&self, hold_id: &str) -> Result<Option<String>, DbError> {
        // The first, as SQLite's one-row read returns the first of several.
        let row = self.row(
            "SELECT t.ticket_id FROM work_tickets t WHERE t.hold_id = $1 AND t.reverses IS NULL
               AND NOT EXISTS (SELECT 1 FROM work_tickets r WHERE r.reverses = t.ticket_id)
             ORDER BY t.ticket_id LIMIT 1",
            &[&hold_id],
        )?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    fn insert_work_ticket(&self, t: &NewWorkTicket<'_>) -> Result<(), DbError> {
        let terms = json(t.terms)?;
        let f = t.figures;
        self.execute(
            "INSERT INTO work_tickets(ticket_id, event_id, hold_id, unit_id, buyer_id, terms,
                 total_price, discount_amount, net_price, amount_due, sealing_fee, prepared_by,
                 prepared_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            &[
                &t.ticket_id,
                &t.event_id,
                &t.hold_id,
                &t.unit_id,
                &t.buyer_id,
                &terms,
                &f.total_price.to_string(),
                &f.discount_amount.to_string(),
                &f.net_price.to_string(),
                &f.amount_due.to_string(),
                &f.sealing_fee.to_string(),
                &t.prepared_by,
                &t.prepared_at,
            ],
        )?;
        Ok(())
    }

    fn work_ticket(&self, ticket_id: &str, event_id: &str) -> Result<Option<TicketRow>, DbError> {
        let Some(r) = self.row(
            "SELECT hold_id, unit_id, buyer_id, amount_due, prepared_by, reverses,
                 EXISTS (SELECT 1 FROM work_tickets r WHERE r.reverses = t.ticket_id)
             FROM work_tickets t WHERE ticket_id = $1 AND event_id = $2",
            &[&ticket_id, &event_id],
        )?
        else {
            return Ok(None);
        };
        Ok(Some(TicketRow {
            hold_id: r.try_get(0)?,
            unit_id: r.try_get(1)?,
            buyer_id: r.try_get(2)?,
            amount_due: decimal(r.try_get(3)?)?,
            prepared_by: r.try_get(4)?,
            reverses: r.try_get(5)?,
            reversed: r.try_get(6)?,
        }))
    }

    fn insert_ticket_review(
        &self,
        ticket_id: &str,
        reviewed_by: &str,
        reviewed_at: &str,
    ) -> Result<bool, DbError> {
        let inserted = self.execute(
            "INSERT INTO work_ticket_reviews(ticket_id, reviewed_by, reviewed_at)
             VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &[&ticket_id, &reviewed_by, &reviewed_at],
        )?;
        Ok(inserted != 0)
    }

    fn ticket_reviewed(&self, ticket_id: &str) -> Result<bool, DbError> {
        Ok(self
            .one(
                "SELECT EXISTS (SELECT 1 FROM work_ticket_reviews WHERE ticket_id = $1)",
                &[&ticket_id],
            )?
            .try_get(0)?)
    }

    fn seal_hold(&self, hold_id: &str) -> Result<(), DbError> {
        self.execute(
            "UPDATE desk_units SET held_until = NULL WHERE hold_id = $1 AND status = 'held'",
            &[&hold_id],
        )?;
        Ok(())
    }

    fn receipt_amounts(&self, ticket_id: &str) -> Result<Vec<Decimal>, DbError> {
        let rows = self.rows("SELECT amount FROM receipts WHERE ticket_id = $1", &[&ticket_id])?;
        rows.iter().map(|r| decimal(r.try_get(0)?)).collect()
    }

    fn insert_receipt(&self, r: &NewReceipt<'_>) -> Result<(), DbError> {
        self.execute(
            "INSERT INTO receipts(receipt_id, event_id, ticket_id, amount, method, received_at,
                 recorded_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &r.receipt_id,
                &r.event_id,
                &r.ticket_id,
                &r.amount.to_string(),
                &r.method,
                &r.received_at,
                &r.recorded_by,
            ],
        )?;
        Ok(())
    }

    fn voucher_series(&self, event_id: &str) -> Result<VoucherSeries, DbError> {
        let r = self.one(
            "SELECT voucher_next, voucher_last, voucher_prefix FROM desk_events
             WHERE event_id = $1",
            &[&event_id],
        )?;
        Ok(VoucherSeries {
            next: small(r.try_get(0)?, "voucher number")?,
            last: small(r.try_get(1)?, "voucher number")?,
            prefix: r.try_get(2)?,
        })
    }

    fn advance_voucher_series(&self, event_id: &str) -> Result<(), DbError> {
        self.execute(
            "UPDATE desk_events SET voucher_next = voucher_next + 1 WHERE event_id = $1",
            &[&event_id],
        )?;
        Ok(())
    }

    fn ticket_vouchered(&self, ticket_id: &str) -> Result<bool, DbError> {
        Ok(self
            .one(
                "SELECT EXISTS (SELECT 1 FROM vouchers WHERE ticket_id = $1 AND reverses IS NULL)",
                &[&ticket_id],
            )?
            .try_get(0)?)
    }

    fn mark_unit_sold(
        &self,
        project_id: &str,
        unit_id: &str,
        hold_id: &str,
    ) -> Result<usize, DbError> {
        Ok(changed(self.execute(
            "UPDATE desk_units SET status = 'sold', held_until = NULL
             WHERE project_id = $1 AND unit_id = $2 AND status = 'held' AND hold_id = $3",
            &[&project_id, &unit_id, &hold_id],
        )?))
    }

    fn end_hold_sold(&self, hold_id: &str, ended_at: &str) -> Result<(), DbError> {
        self.execute(
            "UPDATE desk_holds SET state = 'sold', ended_at = $2 WHERE hold_id = $1",
            &[&hold_id, &ended_at],
        )?;
        Ok(())
    }

    fn insert_voucher(&self, v: &NewVoucher<'_>) -> Result<(), DbError> {
        insert_voucher_row(self, v, None, None)
    }

    fn voucher(&self, event_id: &str, voucher_no: u32) -> Result<Option<VoucherRow>, DbError> {
        let Some(r) = self.row(
            "SELECT ticket_id, buyer_id, unit_id, amount, reverses,
                 EXISTS (SELECT 1 FROM vouchers r
                         WHERE r.event_id = v.event_id AND r.reverses = v.voucher_no)
             FROM vouchers v WHERE event_id = $1 AND voucher_no = $2",
            &[&event_id, &i64::from(voucher_no)],
        )?
        else {
            return Ok(None);
        };
        let reverses: Option<i64> = r.try_get(4)?;
        Ok(Some(VoucherRow {
            ticket_id: r.try_get(0)?,
            buyer_id: r.try_get(1)?,
            unit_id: r.try_get(2)?,
            amount: decimal(r.try_get(3)?)?,
            reverses: small_opt(reverses, "voucher number")?,
            reversed: r.try_get(5)?,
        }))
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
        self.execute(
            "INSERT INTO work_tickets(ticket_id, event_id, hold_id, unit_id, buyer_id, terms,
                 total_price, discount_amount, net_price, amount_due, sealing_fee, prepared_by,
                 prepared_at, reverses, reason)
             SELECT $2, event_id, hold_id, unit_id, buyer_id, terms,
                 '-' || total_price, '-' || discount_amount, '-' || net_price,
                 '-' || amount_due, '-' || sealing_fee, $3, $4, ticket_id, $5
             FROM work_tickets WHERE ticket_id = $1",
            &[&ticket_id, &red_ticket_id, &prepared_by, &prepared_at, &reason],
        )?;
        Ok(())
    }

    fn insert_red_receipts(
        &self,
        ticket_id: &str,
        received_at: &str,
        recorded_by: &str,
    ) -> Result<usize, DbError> {
        Ok(changed(self.execute(
            "INSERT INTO receipts(receipt_id, event_id, ticket_id, amount, method, received_at,
                 recorded_by, reverses)
             SELECT 'rc-red-' || receipt_id, event_id, ticket_id, '-' || amount, method, $2, $3,
                 receipt_id
             FROM receipts WHERE ticket_id = $1 AND reverses IS NULL",
            &[&ticket_id, &received_at, &recorded_by],
        )?))
    }

    fn free_sold_unit(&self, project_id: &str, unit_id: &str) -> Result<usize, DbError> {
        Ok(changed(self.execute(
            "UPDATE desk_units SET status = 'available', event_id = NULL, buyer_id = NULL,
                 hold_id = NULL, held_until = NULL
             WHERE project_id = $1 AND unit_id = $2 AND status = 'sold'",
            &[&project_id, &unit_id],
        )?))
    }
}

/// Writes voucher `v`; a red one names the voucher it reverses and why.
fn insert_voucher_row(
    db: &PgDb,
    v: &NewVoucher<'_>,
    reverses: Option<u32>,
    reason: Option<&str>,
) -> Result<(), DbError> {
    db.execute(
        "INSERT INTO vouchers(event_id, voucher_no, voucher_code, ticket_id, buyer_id, unit_id,
             amount, issued_at, issued_by, reverses, reason)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        &[
            &v.event_id,
            &i64::from(v.voucher_no),
            &v.voucher_code,
            &v.ticket_id,
            &v.buyer_id,
            &v.unit_id,
            &v.amount.to_string(),
            &v.issued_at,
            &v.issued_by,
            &reverses.map(i64::from),
            &reason,
        ],
    )?;
    Ok(())
}

//! The reports' queries of the projections, on SQLite.

use std::str::FromStr;

use chrono::NaiveDate;
use kam_core::model::{LatePayment, LatePaymentId, Tier};
use rusqlite::Connection;

use crate::db::DbError;
use crate::db::parse::{decimal, instant};
use crate::db::reports::{CreditRecord, MonthVisit, MonthlyAccount, MonthlyTicket, ReportQueries};
use crate::db::sales::YearMonth;

/// The customers 附件一 covers: strategic and key customers, and any customer management
/// designated strategic whatever its computed tier.
const IN_MONTHLY_REPORT: &str = "(tier IN ('strategic', 'key') OR strategic = 1)";

/// Parses a stored tier code.
fn tier(code: &str) -> Result<Tier, DbError> {
    Tier::from_str(code).map_err(|e| DbError::Corrupt(e.to_string()))
}

impl ReportQueries for Connection {
    fn monthly_accounts(&self) -> Result<Vec<MonthlyAccount>, DbError> {
        let sql = format!(
            "SELECT customer_id, name, tier, strategic FROM customers WHERE {IN_MONTHLY_REPORT}"
        );
        let mut stmt = self.prepare(&sql)?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get(3)?))
        })?;
        let mut accounts = Vec::new();
        for row in rows {
            let (customer_id, name, tier_code, flag): (String, String, String, i64) = row?;
            accounts.push(MonthlyAccount {
                customer_id,
                name,
                tier: tier(&tier_code)?,
                designated_strategic: flag != 0,
            });
        }
        Ok(accounts)
    }

    fn monthly_account_tickets(&self) -> Result<Vec<MonthlyTicket>, DbError> {
        let sql = format!(
            "SELECT customer_id, kind, priority, opened_at, first_reply_at FROM tickets
             WHERE customer_id IN (SELECT customer_id FROM customers WHERE {IN_MONTHLY_REPORT})
             ORDER BY customer_id, opened_at, ticket_id"
        );
        let mut stmt = self.prepare(&sql)?;
        let rows = stmt.query_map([], |r| {
            let texts: [String; 4] = [r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?];
            Ok((texts, r.get::<_, Option<String>>(4)?))
        })?;
        let mut tickets = Vec::new();
        for row in rows {
            let ([customer_id, kind, priority, opened_at], first_reply_at) = row?;
            tickets.push(MonthlyTicket {
                customer_id,
                kind,
                priority,
                opened_at: instant(&opened_at)?,
                first_reply_at: first_reply_at.as_deref().map(instant).transpose()?,
            });
        }
        Ok(tickets)
    }

    fn visits_in_month(&self, month: YearMonth) -> Result<Vec<MonthVisit>, DbError> {
        let mut stmt = self.prepare(
            "SELECT customer_id, visit_date, demand, competitor_activity, personnel_changes
             FROM visits WHERE substr(visit_date, 1, 7) = ?1 ORDER BY visit_date, visit_id",
        )?;
        let rows = stmt.query_map([month.to_string()], |r| {
            Ok(MonthVisit {
                customer_id: r.get(0)?,
                visit_date: r.get(1)?,
                demand: r.get(2)?,
                competitor_activity: r.get(3)?,
                personnel_changes: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn credit_records(&self) -> Result<Vec<CreditRecord>, DbError> {
        let mut stmt = self.prepare(
            "SELECT customer_id, name, tier, grade, credit_grade, credit_limit, payment_terms
             FROM customers",
        )?;
        let rows = stmt.query_map([], |r| {
            let texts: [String; 3] = [r.get(0)?, r.get(1)?, r.get(2)?];
            let grades: [Option<String>; 2] = [r.get(3)?, r.get(4)?];
            Ok((texts, grades, r.get::<_, String>(5)?, r.get::<_, String>(6)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let ([customer_id, name, tier_code], [grade, credit_grade], limit, payment_terms) =
                row?;
            out.push(CreditRecord {
                customer_id,
                name,
                tier: tier(&tier_code)?,
                grade,
                credit_grade,
                credit_limit: decimal(&limit)?,
                payment_terms,
            });
        }
        Ok(out)
    }

    fn late_payments_due(
        &self,
        from: NaiveDate,
        until: NaiveDate,
    ) -> Result<Vec<(String, LatePayment)>, DbError> {
        let mut stmt = self.prepare_cached(
            "SELECT customer_id, late_payment_id, reference, due_on, paid_on
             FROM customer_late_payments WHERE due_on >= ?1 AND due_on < ?2",
        )?;
        let rows = stmt.query_map([from.to_string(), until.to_string()], |r| {
            let texts: [String; 4] = [r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?];
            Ok((texts, r.get::<_, Option<String>>(4)?))
        })?;
        let date = |text: &str| {
            text.parse::<NaiveDate>()
                .map_err(|e| DbError::Corrupt(format!("late payment date `{text}`: {e}")))
        };
        let mut out = Vec::new();
        for row in rows {
            let ([customer_id, id, reference, due_on], paid_on) = row?;
            let late = LatePayment {
                id: LatePaymentId::from(id.as_str()),
                reference,
                due_on: date(&due_on)?,
                paid_on: paid_on.as_deref().map(date).transpose()?,
            };
            out.push((customer_id, late));
        }
        Ok(out)
    }
}

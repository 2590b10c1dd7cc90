//! The reports' queries of the projections, on PostgreSQL.

use std::str::FromStr;

use chrono::NaiveDate;
use kam_core::model::{LatePayment, LatePaymentId, Tier};

use super::PgDb;
use crate::db::DbError;
use crate::db::parse::{decimal, instant};
use crate::db::reports::{CreditRecord, MonthVisit, MonthlyAccount, MonthlyTicket, ReportQueries};
use crate::db::sales::YearMonth;

/// The customers 附件一 covers: strategic and key customers, and any customer management
/// designated strategic whatever its computed tier.
const IN_MONTHLY_REPORT: &str = "(tier IN ('strategic', 'key') OR strategic)";

/// Parses a stored tier code.
fn tier(code: &str) -> Result<Tier, DbError> {
    Tier::from_str(code).map_err(|e| DbError::Corrupt(e.to_string()))
}

/// Parses a stored date.
fn date(text: &str) -> Result<NaiveDate, DbError> {
    text.parse::<NaiveDate>()
        .map_err(|e| DbError::Corrupt(format!("late payment date `{text}`: {e}")))
}

impl ReportQueries for PgDb {
    fn monthly_accounts(&self) -> Result<Vec<MonthlyAccount>, DbError> {
        let sql = format!(
            "SELECT customer_id, name, tier, strategic FROM customers WHERE {IN_MONTHLY_REPORT}"
        );
        self.rows(&sql, &[])?
            .iter()
            .map(|r| {
                Ok(MonthlyAccount {
                    customer_id: r.try_get(0)?,
                    name: r.try_get(1)?,
                    tier: tier(r.try_get(2)?)?,
                    designated_strategic: r.try_get(3)?,
                })
            })
            .collect()
    }

    fn monthly_account_tickets(&self) -> Result<Vec<MonthlyTicket>, DbError> {
        let sql = format!(
            "SELECT customer_id, kind, priority, opened_at, first_reply_at FROM tickets
             WHERE customer_id IN (SELECT customer_id FROM customers WHERE {IN_MONTHLY_REPORT})
             ORDER BY customer_id, opened_at, ticket_id"
        );
        self.rows(&sql, &[])?
            .iter()
            .map(|r| {
                let first_reply_at: Option<&str> = r.try_get(4)?;
                Ok(MonthlyTicket {
                    customer_id: r.try_get(0)?,
                    kind: r.try_get(1)?,
                    priority: r.try_get(2)?,
                    opened_at: instant(r.try_get(3)?)?,
                    first_reply_at: first_reply_at.map(instant).transpose()?,
                })
            })
            .collect()
    }

    fn visits_in_month(&self, month: YearMonth) -> Result<Vec<MonthVisit>, DbError> {
        let rows = self.rows(
            "SELECT customer_id, visit_date, demand, competitor_activity, personnel_changes
             FROM visits WHERE left(visit_date, 7) = $1 ORDER BY visit_date, visit_id",
            &[&month.to_string()],
        )?;
        rows.iter()
            .map(|r| {
                Ok(MonthVisit {
                    customer_id: r.try_get(0)?,
                    visit_date: r.try_get(1)?,
                    demand: r.try_get(2)?,
                    competitor_activity: r.try_get(3)?,
                    personnel_changes: r.try_get(4)?,
                })
            })
            .collect()
    }

    fn credit_records(&self) -> Result<Vec<CreditRecord>, DbError> {
        let rows = self.rows(
            "SELECT customer_id, name, tier, grade, credit_grade, credit_limit, payment_terms
             FROM customers",
            &[],
        )?;
        rows.iter()
            .map(|r| {
                Ok(CreditRecord {
                    customer_id: r.try_get(0)?,
                    name: r.try_get(1)?,
                    tier: tier(r.try_get(2)?)?,
                    grade: r.try_get(3)?,
                    credit_grade: r.try_get(4)?,
                    credit_limit: decimal(r.try_get(5)?)?,
                    payment_terms: r.try_get(6)?,
                })
            })
            .collect()
    }

    fn late_payments_due(
        &self,
        from: NaiveDate,
        until: NaiveDate,
    ) -> Result<Vec<(String, LatePayment)>, DbError> {
        let rows = self.rows(
            "SELECT customer_id, late_payment_id, reference, due_on, paid_on
             FROM customer_late_payments WHERE due_on >= $1 AND due_on < $2",
            &[&from.to_string(), &until.to_string()],
        )?;
        rows.iter()
            .map(|r| {
                let (id, paid_on): (&str, Option<&str>) = (r.try_get(1)?, r.try_get(4)?);
                let late = LatePayment {
                    id: LatePaymentId::from(id),
                    reference: r.try_get(2)?,
                    due_on: date(r.try_get(3)?)?,
                    paid_on: paid_on.map(date).transpose()?,
                };
                Ok((r.try_get(0)?, late))
            })
            .collect()
    }
}

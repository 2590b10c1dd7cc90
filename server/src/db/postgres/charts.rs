//! The charts' reads on PostgreSQL.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::{PgDb, count};
use crate::db::DbError;
use crate::db::charts::{
    CadenceCustomer, ChartQueries, MonthTarget, TicketTimes, TierGradeCount, add_to_month,
    classification, sum_targets, visit,
};
use crate::db::parse::{decimal, instant, stored_instant};
use crate::db::sales::YearMonth;

/// The customers the visit cadence may apply to.
const CADENCE: &str = "(strategic OR tier = 'strategic' OR grade = 'A')";

impl ChartQueries for PgDb {
    fn customers_by_tier_and_grade(&self) -> Result<Vec<TierGradeCount>, DbError> {
        self.rows("SELECT tier, grade, COUNT(*) FROM customers GROUP BY tier, grade", &[])?
            .iter()
            .map(|r| {
                Ok(TierGradeCount {
                    tier: r.try_get(0)?,
                    grade: r.try_get(1)?,
                    customers: count(r, 2)?,
                })
            })
            .collect()
    }

    fn tickets_opened_since(&self, since: DateTime<Utc>) -> Result<Vec<TicketTimes>, DbError> {
        let rows = self.rows(
            "SELECT opened_at, first_reply_at FROM tickets WHERE opened_at >= $1",
            &[&stored_instant(since)],
        )?;
        rows.iter()
            .map(|r| {
                let replied: Option<&str> = r.try_get(1)?;
                Ok(TicketTimes {
                    opened_at: instant(r.try_get(0)?)?,
                    first_reply_at: replied.map(instant).transpose()?,
                })
            })
            .collect()
    }

    fn sales_by_month(
        &self,
        first: YearMonth,
        last: YearMonth,
    ) -> Result<BTreeMap<YearMonth, Decimal>, DbError> {
        // numeric sums exactly; the text goes back to Decimal as the ledger wrote it.
        let rows = self.rows(
            "SELECT month, SUM(amount::numeric)::text FROM sales_monthly
             WHERE month BETWEEN $1 AND $2 GROUP BY month",
            &[&first.to_string(), &last.to_string()],
        )?;
        let mut sums = BTreeMap::new();
        for r in &rows {
            let month: &str = r.try_get(0)?;
            add_to_month(&mut sums, month, decimal(r.try_get(1)?)?)?;
        }
        Ok(sums)
    }

    fn scorecard_targets_by_month(
        &self,
        first: YearMonth,
        last: YearMonth,
    ) -> Result<BTreeMap<YearMonth, MonthTarget>, DbError> {
        let rows = self.rows(
            "SELECT period, sales_target FROM scorecards
             WHERE length(period) = 7 AND period BETWEEN $1 AND $2",
            &[&first.to_string(), &last.to_string()],
        )?;
        sum_targets(rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))))
    }

    fn cadence_visits(&self) -> Result<Vec<CadenceCustomer>, DbError> {
        let rows = self.rows(
            &format!(
                "SELECT customer_id, name, tier, strategic, grade, created_at FROM customers
                 WHERE {CADENCE} ORDER BY customer_id"
            ),
            &[],
        )?;
        let mut out = Vec::with_capacity(rows.len());
        let mut index = HashMap::new();
        for r in &rows {
            let id: String = r.try_get(0)?;
            let tier: &str = r.try_get(2)?;
            let grade: Option<&str> = r.try_get(4)?;
            let classification = classification(&id, tier, r.try_get(3)?, grade)?;
            index.insert(id.clone(), out.len());
            out.push(CadenceCustomer {
                customer_id: id,
                name: r.try_get(1)?,
                classification,
                created_at: instant(r.try_get(5)?)?,
                visits: Vec::new(),
            });
        }
        let visits = self.rows(
            &format!(
                "SELECT customer_id, level, visit_date FROM visits WHERE customer_id IN
                 (SELECT customer_id FROM customers WHERE {CADENCE}) ORDER BY visit_date"
            ),
            &[],
        )?;
        for r in &visits {
            let id: &str = r.try_get(0)?;
            if let Some(customer) = index.get(id).and_then(|&i| out.get_mut(i)) {
                customer.visits.push(visit(id, r.try_get(1)?, r.try_get(2)?)?);
            }
        }
        Ok(out)
    }
}

//! The charts' reads on SQLite.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};
use rust_decimal::Decimal;

use crate::db::DbError;
use crate::db::charts::{
    CadenceCustomer, ChartQueries, MonthTarget, TicketTimes, TierGradeCount, add_to_month,
    classification, sum_targets, visit,
};
use crate::db::parse::{decimal, instant, stored_instant};
use crate::db::sales::YearMonth;

/// The customers the visit cadence may apply to.
const CADENCE: &str = "(strategic = 1 OR tier = 'strategic' OR grade = 'A')";

/// An amount written with exactly two places. Every amount is a `Decimal`'s text (written
/// by `upsert_sales_month`: digits, an optional sign and point, no exponent, two places or
/// more), so the point third from the end means two places, and the digits without it are
/// exact integer cents, which SQLite sums exactly (to 9.2·10¹⁶ CNY). Any other amount is
/// summed as a decimal after reading. A pattern check of every row would cost more than the
/// sum itself at 36,000 rows a year.
const TWO_PLACES: &str = "substr(amount, -3, 1) = '.'";

impl ChartQueries for Connection {
    fn customers_by_tier_and_grade(&self) -> Result<Vec<TierGradeCount>, DbError> {
        let mut stmt = self
            .prepare_cached("SELECT tier, grade, COUNT(*) FROM customers GROUP BY tier, grade")?;
        let rows = stmt.query_map([], |r| {
            Ok(TierGradeCount { tier: r.get(0)?, grade: r.get(1)?, customers: r.get(2)? })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn tickets_opened_since(&self, since: DateTime<Utc>) -> Result<Vec<TicketTimes>, DbError> {
        let mut stmt = self.prepare_cached(
            "SELECT opened_at, first_reply_at FROM tickets WHERE opened_at >= ?1",
        )?;
        let rows = stmt.query_map([stored_instant(since)], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (opened, replied) = row?;
            out.push(TicketTimes {
                opened_at: instant(&opened)?,
                first_reply_at: replied.as_deref().map(instant).transpose()?,
            });
        }
        Ok(out)
    }

    fn sales_by_month(
        &self,
        first: YearMonth,
        last: YearMonth,
    ) -> Result<BTreeMap<YearMonth, Decimal>, DbError> {
        let range = params![first.to_string(), last.to_string()];
        let mut sums = BTreeMap::new();
        // One pass sums the cents and counts the rows written otherwise; those are read again
        // only when there are any.
        let mut cents = self.prepare_cached(&format!(
            "SELECT month, SUM(CASE WHEN {TWO_PLACES} THEN CAST(replace(amount, '.', '') AS INTEGER)
                                     ELSE 0 END),
                    SUM(NOT ({TWO_PLACES}))
             FROM sales_monthly WHERE month BETWEEN ?1 AND ?2 GROUP BY month"
        ))?;
        let rows = cents.query_map(range, |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
        })?;
        let mut others = 0i64;
        for row in rows {
            let (month, cents, other) = row?;
            add_to_month(&mut sums, &month, Decimal::new(cents, 2))?;
            others = others.saturating_add(other);
        }
        if others == 0 {
            return Ok(sums);
        }
        let mut rest = self.prepare_cached(&format!(
            "SELECT month, amount FROM sales_monthly
             WHERE month BETWEEN ?1 AND ?2 AND NOT ({TWO_PLACES})"
        ))?;
        let rows =
            rest.query_map(range, |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        for row in rows {
            let (month, amount) = row?;
            add_to_month(&mut sums, &month, decimal(&amount)?)?;
        }
        Ok(sums)
    }

    fn scorecard_targets_by_month(
        &self,
        first: YearMonth,
        last: YearMonth,
    ) -> Result<BTreeMap<YearMonth, MonthTarget>, DbError> {
        let mut stmt = self.prepare_cached(
            "SELECT period, sales_target FROM scorecards
             WHERE length(period) = 7 AND period BETWEEN ?1 AND ?2",
        )?;
        let rows = stmt.query_map(params![first.to_string(), last.to_string()], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        sum_targets(rows.map(|row| row.map_err(DbError::from)))
    }

    fn cadence_visits(&self) -> Result<Vec<CadenceCustomer>, DbError> {
        let mut stmt = self.prepare_cached(&format!(
            "SELECT customer_id, name, tier, strategic, grade, created_at FROM customers
             WHERE {CADENCE} ORDER BY customer_id"
        ))?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, bool>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, String>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        let mut index = HashMap::new();
        for row in rows {
            let (id, name, tier, strategic, grade, created_at) = row?;
            let classification = classification(&id, &tier, strategic, grade.as_deref())?;
            index.insert(id.clone(), out.len());
            let created_at = instant(&created_at)?;
            out.push(CadenceCustomer {
                customer_id: id,
                name,
                classification,
                created_at,
                visits: Vec::new(),
            });
        }
        let mut visits = self.prepare_cached(&format!(
            "SELECT customer_id, level, visit_date FROM visits WHERE customer_id IN
             (SELECT customer_id FROM customers WHERE {CADENCE}) ORDER BY visit_date"
        ))?;
        let rows = visits.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
        })?;
        for row in rows {
            let (id, level, date) = row?;
            if let Some(customer) = index.get(&id).and_then(|&i| out.get_mut(i)) {
                customer.visits.push(visit(&id, &level, &date)?);
            }
        }
        Ok(out)
    }
}

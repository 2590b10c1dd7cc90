//! The sales ledger on PostgreSQL.

use std::collections::{BTreeMap, HashMap};

use rust_decimal::Decimal;

use super::PgDb;
use crate::db::DbError;
use crate::db::parse::decimal;
use crate::db::sales::{SalesLedgerStore, SalesMonthRecord, YearMonth};

impl SalesLedgerStore for PgDb {
    fn upsert_sales_month(&self, record: &SalesMonthRecord<'_>) -> Result<bool, DbError> {
        // `xmax = 0` only on a row this statement inserted, not on one it updated.
        let row = self.one(
            "INSERT INTO sales_monthly (customer_id, month, amount, source, imported_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (customer_id, month) DO UPDATE
             SET amount = excluded.amount, source = excluded.source,
                 imported_at = excluded.imported_at
             RETURNING xmax = 0",
            &[
                &record.customer_id,
                &record.month.to_string(),
                &record.amount.to_string(),
                &record.source,
                &record.imported_at.to_rfc3339(),
            ],
        )?;
        Ok(row.try_get(0)?)
    }

    fn customer_ids(&self) -> Result<Vec<String>, DbError> {
        let rows = self.rows("SELECT customer_id FROM customers ORDER BY customer_id", &[])?;
        rows.iter().map(|r| r.try_get(0).map_err(DbError::from)).collect()
    }

    fn sales_month(&self, customer_id: &str, month: YearMonth) -> Result<Option<Decimal>, DbError> {
        let row = self.row(
            "SELECT amount FROM sales_monthly WHERE customer_id = $1 AND month = $2",
            &[&customer_id, &month.to_string()],
        )?;
        row.map(|r| decimal(r.try_get(0)?)).transpose()
    }

    fn sales_between(
        &self,
        first: YearMonth,
        last: YearMonth,
        customers: Option<&[String]>,
    ) -> Result<HashMap<(String, YearMonth), Decimal>, DbError> {
        let rows = self.rows(
            "SELECT customer_id, month, amount FROM sales_monthly
             WHERE month BETWEEN $1 AND $2
               AND ($3::text[] IS NULL OR customer_id = ANY($3::text[]))",
            &[&first.to_string(), &last.to_string(), &customers],
        )?;
        let mut amounts = HashMap::new();
        for row in &rows {
            let (customer, month): (String, &str) = (row.try_get(0)?, row.try_get(1)?);
            let month = YearMonth::parse(month)
                .ok_or_else(|| DbError::Corrupt(format!("sales_monthly month {month:?}")))?;
            amounts.insert((customer, month), decimal(row.try_get(2)?)?);
        }
        Ok(amounts)
    }

    fn yearly_sales(&self, customer_id: &str) -> Result<BTreeMap<i32, Decimal>, DbError> {
        let rows = self.rows(
            "SELECT year, amount FROM customer_sales_years WHERE customer_id = $1",
            &[&customer_id],
        )?;
        let mut years = BTreeMap::new();
        for row in &rows {
            let year: i64 = row.try_get(0)?;
            let year = i32::try_from(year)
                .map_err(|_| DbError::Corrupt(format!("sales year {year} of {customer_id}")))?;
            years.insert(year, decimal(row.try_get(1)?)?);
        }
        Ok(years)
    }
}

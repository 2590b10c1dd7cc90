//! The sales ledger on SQLite.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use rusqlite::{Connection, OptionalExtension, params};
use rust_decimal::Decimal;

use crate::db::DbError;
use crate::db::sales::{SalesLedgerStore, SalesMonthRecord, YearMonth};

/// Parses a stored amount; one that is not a decimal is corrupt data.
fn amount(text: &str) -> Result<Decimal, DbError> {
    Decimal::from_str(text).map_err(|_| DbError::Corrupt(format!("sales amount {text:?}")))
}

impl SalesLedgerStore for Connection {
    fn upsert_sales_month(&self, record: &SalesMonthRecord<'_>) -> Result<bool, DbError> {
        let month = record.month.to_string();
        let existed = self
            .prepare_cached("SELECT 1 FROM sales_monthly WHERE customer_id = ?1 AND month = ?2")?
            .query_row(params![record.customer_id, month], |_| Ok(()))
            .optional()?
            .is_some();
        self.prepare_cached(
            "INSERT INTO sales_monthly (customer_id, month, amount, source, imported_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (customer_id, month) DO UPDATE
             SET amount = excluded.amount, source = excluded.source,
                 imported_at = excluded.imported_at",
        )?
        .execute(params![
            record.customer_id,
            month,
            record.amount.to_string(),
            record.source,
            record.imported_at.to_rfc3339()
        ])?;
        Ok(!existed)
    }

    fn customer_ids(&self) -> Result<Vec<String>, DbError> {
        let mut stmt = self.prepare("SELECT customer_id FROM customers ORDER BY customer_id")?;
        let ids = stmt.query_map([], |r| r.get::<_, String>(0))?;
        Ok(ids.collect::<Result<_, _>>()?)
    }

    fn sales_month(&self, customer_id: &str, month: YearMonth) -> Result<Option<Decimal>, DbError> {
        let text: Option<String> = self
            .prepare_cached(
                "SELECT amount FROM sales_monthly WHERE customer_id = ?1 AND month = ?2",
            )?
            .query_row(params![customer_id, month.to_string()], |r| r.get(0))
            .optional()?;
        text.as_deref().map(amount).transpose()
    }

    fn sales_between(
        &self,
        first: YearMonth,
        last: YearMonth,
        customers: Option<&[String]>,
    ) -> Result<HashMap<(String, YearMonth), Decimal>, DbError> {
        let mut stmt = self.prepare_cached(
            "SELECT customer_id, month, amount FROM sales_monthly
             WHERE month BETWEEN ?1 AND ?2
               AND (?3 IS NULL OR customer_id IN (SELECT value FROM json_each(?3)))",
        )?;
        let customers = customers.map(super::management::ids_json).transpose()?;
        let rows = stmt
            .query_map(params![first.to_string(), last.to_string(), customers], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
            })?;
        let mut amounts = HashMap::new();
        for row in rows {
            let (customer, month, text) = row?;
            let month = YearMonth::parse(&month)
                .ok_or_else(|| DbError::Corrupt(format!("sales_monthly month {month:?}")))?;
            amounts.insert((customer, month), amount(&text)?);
        }
        Ok(amounts)
    }

    fn yearly_sales(&self, customer_id: &str) -> Result<BTreeMap<i32, Decimal>, DbError> {
        let mut stmt = self.prepare_cached(
            "SELECT year, amount FROM customer_sales_years WHERE customer_id = ?1",
        )?;
        let rows =
            stmt.query_map([customer_id], |r| Ok((r.get::<_, i32>(0)?, r.get::<_, String>(1)?)))?;
        let mut years = BTreeMap::new();
        for row in rows {
            let (year, text) = row?;
            years.insert(year, amount(&text)?);
        }
        Ok(years)
    }
}

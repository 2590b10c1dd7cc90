//! The monthly sales ledger imported from the ERP (`sales_monthly`), and the yearly figures
//! the demo ledger is spread from. Parsing the ERP's file, checking its lines and spreading
//! years into months stay with `sales_ledger`; this is what it reads and writes.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use super::DbError;

/// A calendar month, written `YYYY-MM` as in the `sales_monthly` table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct YearMonth {
    /// Calendar year.
    pub year: i32,
    /// Month of the year, 1 to 12.
    pub month: u32,
}

impl YearMonth {
    /// Parses exactly `YYYY-MM` with a month from 01 to 12; anything else is `None`.
    pub fn parse(text: &str) -> Option<YearMonth> {
        let (year, month) = text.split_once('-')?;
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(year, 4) || !digits(month, 2) {
            return None;
        }
        let ym = YearMonth { year: year.parse().ok()?, month: month.parse().ok()? };
        (1..=12).contains(&ym.month).then_some(ym)
    }

    /// The month a date falls in.
    pub fn of(date: NaiveDate) -> YearMonth {
        YearMonth { year: date.year(), month: date.month() }
    }

    /// This month moved by `months` (negative: back in time).
    pub fn add_months(self, months: i32) -> YearMonth {
        // Month indices stay far inside i32 for any year a ledger can hold.
        let index = self.year * 12 + self.month.cast_signed() - 1 + months;
        YearMonth { year: index.div_euclid(12), month: index.rem_euclid(12).cast_unsigned() + 1 }
    }

    /// The month before this one.
    pub fn prev(self) -> YearMonth {
        self.add_months(-1)
    }

    /// The same month one year earlier.
    pub fn year_before(self) -> YearMonth {
        YearMonth { year: self.year - 1, month: self.month }
    }

    /// The first day of the month, or `None` for a year chrono cannot represent.
    pub fn first_day(self) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(self.year, self.month, 1)
    }
}

impl fmt::Display for YearMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// One ledger row to write.
#[derive(Clone, Copy, Debug)]
pub struct SalesMonthRecord<'a> {
    /// The customer.
    pub customer_id: &'a str,
    /// The month.
    pub month: YearMonth,
    /// The amount booked (CNY), stored as exact decimal text.
    pub amount: Decimal,
    /// Where it came from (`erp`, `demo`, …).
    pub source: &'a str,
    /// When it was written.
    pub imported_at: DateTime<Utc>,
}

/// The sales ledger's reads and writes. Amounts come back as stored: a value that is not a
/// decimal is [`DbError::Corrupt`]; whether it lies in its documented range is the caller's
/// check.
pub trait SalesLedgerStore {
    /// Writes one ledger row, replacing the amount of that customer and month if there was
    /// one; returns whether the row is new.
    fn upsert_sales_month(&self, record: &SalesMonthRecord<'_>) -> Result<bool, DbError>;
    /// Every customer id in the projection, in id order.
    fn customer_ids(&self) -> Result<Vec<String>, DbError>;
    /// The ledger amount of one customer in one month, if the ERP booked one.
    fn sales_month(&self, customer_id: &str, month: YearMonth) -> Result<Option<Decimal>, DbError>;
    /// Every ledger amount from `first` to `last` inclusive, keyed by customer and month: of
    /// the `customers` given, or of every customer.
    fn sales_between(
        &self,
        first: YearMonth,
        last: YearMonth,
        customers: Option<&[String]>,
    ) -> Result<HashMap<(String, YearMonth), Decimal>, DbError>;
    /// A customer's projected sales per year (`customer_sales_years`).
    fn yearly_sales(&self, customer_id: &str) -> Result<BTreeMap<i32, Decimal>, DbError>;
}

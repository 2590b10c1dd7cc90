//! The monthly sales ledger imported from the ERP: sales per customer per calendar month.
//!
//! The ERP is the record of what was sold; this table is a copy that the monthly (附件一) and
//! quarterly reports read, because those reports compare months and quarters that the yearly
//! figures in the customer documents cannot tell apart. Amounts are exact `Decimal` text in
//! CNY, never floats. An import is all or nothing: one bad line refuses the whole file, so a
//! half-imported month can never show up in a report as a drop in business.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use kam_core::bounds::{self, ANNUAL_SALES, Bound, LEDGER_MONTH_AMOUNT};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use serde::Serialize;

pub use crate::db::sales::YearMonth;
use crate::db::sales::{SalesLedgerStore, SalesMonthRecord};
use crate::error::ServerError;

/// The field named in every import refusal.
const CSV_FIELD: &str = "sales_csv";

/// What an import did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// Data rows in the file.
    pub rows: usize,
    /// Rows for a customer and month the ledger did not have.
    pub inserted: usize,
    /// Rows that replaced an amount already in the ledger.
    pub updated: usize,
    /// Distinct customers in the file.
    pub customers: usize,
    /// The earliest month in the file.
    pub first_month: Option<String>,
    /// The latest month in the file.
    pub last_month: Option<String>,
}

/// One validated data row of an import.
struct LedgerRow {
    customer_id: String,
    month: YearMonth,
    amount: Decimal,
}

/// Imports the ERP's CSV export (`customer_id,month,amount` or `客户编号,月份,金额`, UTF-8 with
/// an optional BOM), replacing the amount of any customer and month already present.
///
/// Every line is checked before anything is written — month `YYYY-MM` from 2000 to the
/// current month, amount a decimal ≥ 0 with at most two places and within its documented
/// range (`bounds::LEDGER_MONTH_AMOUNT`, at most 10¹³ CNY), the customer known, no customer
/// and month twice — and the first bad line refuses the whole file with
/// [`ServerError::Invalid`] naming the line. The caller runs this inside one transaction.
pub fn import_csv(
    db: &dyn SalesLedgerStore,
    csv: &str,
    source: &str,
    now: DateTime<Utc>,
) -> Result<ImportReport, ServerError> {
    let rows = parse_ledger(db, csv, now)?;
    let mut report = ImportReport {
        rows: rows.len(),
        inserted: 0,
        updated: 0,
        customers: rows.iter().map(|r| r.customer_id.as_str()).collect::<HashSet<_>>().len(),
        first_month: rows.iter().map(|r| r.month).min().map(|m| m.to_string()),
        last_month: rows.iter().map(|r| r.month).max().map(|m| m.to_string()),
    };
    for row in &rows {
        if upsert(db, &row.customer_id, row.month, row.amount, source, now)? {
            report.inserted += 1;
        } else {
            report.updated += 1;
        }
    }
    Ok(report)
}

/// Writes one ledger row; returns whether it was new.
fn upsert(
    db: &dyn SalesLedgerStore,
    customer_id: &str,
    month: YearMonth,
    amount: Decimal,
    source: &str,
    now: DateTime<Utc>,
) -> Result<bool, ServerError> {
    let record = SalesMonthRecord { customer_id, month, amount, source, imported_at: now };
    Ok(db.upsert_sales_month(&record)?)
}

/// A line of an import file that refuses the import, and why (`line` is `None` for the
/// whole file: empty, or without data rows).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RefusedLine {
    /// The line of the file (1-based), if the refusal is about one line.
    pub line: Option<usize>,
    /// Why.
    pub reason: String,
}

impl RefusedLine {
    fn at(line: usize, reason: impl fmt::Display) -> RefusedLine {
        RefusedLine { line: Some(line), reason: reason.to_string() }
    }

    fn whole(reason: &str) -> RefusedLine {
        RefusedLine { line: None, reason: reason.to_owned() }
    }

    /// The refusal of the import as [`import_csv`] answers it.
    fn into_error(self) -> ServerError {
        let reason = match self.line {
            Some(line) => format!("line {line}: {}", self.reason),
            None => self.reason,
        };
        ServerError::Invalid { field: CSV_FIELD, reason }
    }
}

/// Every line of `csv` that would refuse its import, each with its reason (empty when
/// [`import_csv`] would import it): the same checks, run over the whole file instead of
/// stopping at the first bad line, so a person can mend them all at once. Writes nothing.
pub fn refused_lines(
    db: &dyn SalesLedgerStore,
    csv: &str,
    now: DateTime<Utc>,
) -> Result<Vec<RefusedLine>, ServerError> {
    Ok(check_ledger(db, csv, now)?.1)
}

/// Parses and validates the whole file into rows, or refuses it with its first bad line.
fn parse_ledger(
    db: &dyn SalesLedgerStore,
    csv: &str,
    now: DateTime<Utc>,
) -> Result<Vec<LedgerRow>, ServerError> {
    let (rows, refused) = check_ledger(db, csv, now)?;
    match refused.into_iter().next() {
        Some(first) => Err(first.into_error()),
        None => Ok(rows),
    }
}

/// The file's valid rows and every refusal, in file order.
fn check_ledger(
    db: &dyn SalesLedgerStore,
    csv: &str,
    now: DateTime<Utc>,
) -> Result<(Vec<LedgerRow>, Vec<RefusedLine>), ServerError> {
    let text = csv.strip_prefix('\u{feff}').unwrap_or(csv);
    let records = match parse_csv(text) {
        Ok(records) => records,
        Err((line, reason)) => return Ok((Vec::new(), vec![RefusedLine::at(line, reason)])),
    };
    let mut records =
        records.into_iter().filter(|(_, fields)| fields.iter().any(|f| !f.trim().is_empty()));
    let Some((header_line, header)) = records.next() else {
        return Ok((Vec::new(), vec![RefusedLine::whole("the file is empty")]));
    };
    let columns = match header_columns(&header) {
        Ok(columns) => columns,
        Err(reason) => return Ok((Vec::new(), vec![RefusedLine::at(header_line, reason)])),
    };
    let known: HashSet<String> = db.customer_ids()?.into_iter().collect();
    // Sales cannot be booked in a month that has not begun anywhere on Earth yet; fourteen
    // hours ahead of UTC covers every time zone, so the policy's zone is not needed here.
    let ahead = now.checked_add_signed(Duration::hours(14)).unwrap_or(DateTime::<Utc>::MAX_UTC);
    let latest = YearMonth::of(ahead.date_naive());
    let mut seen = HashSet::new();
    let (mut rows, mut refused) = (Vec::new(), Vec::new());
    for (line, fields) in records {
        let row = match validate_row(&fields, columns, &known, latest) {
            Ok(row) => row,
            Err(reason) => {
                refused.push(RefusedLine::at(line, reason));
                continue;
            }
        };
        if !seen.insert((row.customer_id.clone(), row.month)) {
            let reason =
                format!("customer {} and month {} appear twice", row.customer_id, row.month);
            refused.push(RefusedLine::at(line, reason));
            continue;
        }
        rows.push(row);
    }
    if rows.is_empty() && refused.is_empty() {
        refused.push(RefusedLine::whole("the file has no data rows"));
    }
    Ok((rows, refused))
}

/// The positions of the customer, month and amount columns in the header.
fn header_columns(header: &[String]) -> Result<[usize; 3], String> {
    let names = [["customer_id", "客户编号"], ["month", "月份"], ["amount", "金额"]];
    let mut columns = [0; 3];
    for (slot, accepted) in columns.iter_mut().zip(names) {
        *slot = header
            .iter()
            .position(|h| accepted.iter().any(|a| h.trim().eq_ignore_ascii_case(a)))
            .ok_or_else(|| {
                format!("the header needs a column {} ({})", accepted[0], accepted[1])
            })?;
    }
    Ok(columns)
}

/// Checks one data record.
fn validate_row(
    fields: &[String],
    [customer_col, month_col, amount_col]: [usize; 3],
    known: &HashSet<String>,
    latest: YearMonth,
) -> Result<LedgerRow, String> {
    let field = |i: usize| fields.get(i).map_or("", |f| f.trim());
    let customer_id = field(customer_col);
    if !known.contains(customer_id) {
        return Err(format!("unknown customer {customer_id:?}"));
    }
    let month_text = field(month_col);
    let month = YearMonth::parse(month_text)
        .ok_or_else(|| format!("month {month_text:?} is not a calendar month YYYY-MM"))?;
    if month.year < 2000 || month > latest {
        return Err(format!("month {month} is outside 2000-01 to {latest}"));
    }
    let amount_text = field(amount_col);
    let amount = Decimal::from_str(amount_text)
        .map_err(|_| format!("amount {amount_text:?} is not a decimal number"))?;
    if amount.is_sign_negative() && !amount.is_zero() {
        return Err(format!("amount {amount_text} is negative"));
    }
    if amount.normalize().scale() > 2 {
        return Err(format!("amount {amount_text} has more than two decimal places"));
    }
    LEDGER_MONTH_AMOUNT.check(amount).map_err(|e| e.to_string())?;
    Ok(LedgerRow { customer_id: customer_id.to_owned(), month, amount: amount.round_dp(2) })
}

/// One CSV record: the line it starts on (1-based) and its fields.
type Record = (usize, Vec<String>);

/// Splits RFC 4180 text into records, each with the line it starts on (1-based).
///
/// Quoted fields may hold commas, doubled quotes and line breaks; both CRLF and LF end a
/// record. An unterminated quote is an error naming the line the field started on.
fn parse_csv(text: &str) -> Result<Vec<Record>, (usize, String)> {
    let mut records = Vec::new();
    let (mut fields, mut field) = (Vec::new(), String::new());
    let (mut line, mut record_line, mut quote_line) = (1, 1, None);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quote_line.is_some()) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            ('"', true) => quote_line = None,
            ('"', false) if field.is_empty() => quote_line = Some(line),
            (',', false) => fields.push(std::mem::take(&mut field)),
            ('\r', false) if chars.peek() == Some(&'\n') => {}
            ('\n', false) => {
                fields.push(std::mem::take(&mut field));
                records.push((record_line, std::mem::take(&mut fields)));
                line += 1;
                record_line = line;
            }
            (c, _) => {
                if c == '\n' {
                    line += 1;
                }
                field.push(c);
            }
        }
    }
    if let Some(start) = quote_line {
        return Err((start, "a quoted field is never closed".to_owned()));
    }
    if !field.is_empty() || !fields.is_empty() {
        fields.push(field);
        records.push((record_line, fields));
    }
    Ok(records)
}

/// The ledger amount of one customer in one month; zero when the ERP booked nothing.
pub fn month_total(
    db: &(impl SalesLedgerStore + ?Sized),
    customer_id: &str,
    month: YearMonth,
) -> Result<Decimal, ServerError> {
    db.sales_month(customer_id, month)?
        .map_or(Ok(Decimal::ZERO), |amount| checked_amount(amount, &LEDGER_MONTH_AMOUNT))
}

/// Every ledger amount from `first` to `last` inclusive, keyed by customer and month.
///
/// Reports load their months once with this and sum in Rust, because the amounts are
/// decimal text that SQLite would sum as floats.
pub fn amounts_between(
    db: &(impl SalesLedgerStore + ?Sized),
    first: YearMonth,
    last: YearMonth,
    customers: Option<&[String]>,
) -> Result<HashMap<(String, YearMonth), Decimal>, ServerError> {
    let mut amounts = db.sales_between(first, last, customers)?;
    for amount in amounts.values_mut() {
        *amount = checked_amount(*amount, &LEDGER_MONTH_AMOUNT)?;
    }
    Ok(amounts)
}

/// A stored amount outside the range `bound` documents (the range its writer checked) is
/// corrupt data, not bad input, and never reaches a report's sums.
fn checked_amount(amount: Decimal, bound: &Bound) -> Result<Decimal, ServerError> {
    if bound.contains(amount) {
        Ok(amount)
    } else {
        Err(ServerError::Corrupt(format!("sales amount {:?}", amount.to_string())))
    }
}

/// Seasonal weights per calendar month (the Spring Festival dip, the year-end rush), in
/// hundredths; each is jittered per customer so the demo does not look stamped out.
const SEASON: [u32; 12] = [80, 70, 95, 100, 100, 105, 95, 95, 105, 100, 115, 140];

/// Writes 24 months of demo sales for every customer, ending with the month before `now`,
/// deterministic from `seed`, replacing ledger rows of those months. Returns rows written.
///
/// Where `customer_sales_years` has a year's amount, that year's twelve months are the
/// amount spread with seasonal weights, rounded to the fen, with the rounding remainder in
/// December, so a whole year in the window sums exactly to the yearly figure. Customers
/// without yearly figures get small random amounts.
pub fn generate_demo(
    db: &dyn SalesLedgerStore,
    now: DateTime<Utc>,
    seed: u64,
) -> Result<usize, ServerError> {
    let last = YearMonth::of(now.date_naive()).prev();
    let first = last.add_months(-23);
    let customers = db.customer_ids()?;
    let mut written = 0;
    for customer in &customers {
        // Each customer has its own stream, so adding a customer leaves the others' figures.
        let mut rng = SmallRng::seed_from_u64(seed ^ fnv1a(customer.as_bytes()));
        let years = yearly_amounts(db, customer)?;
        for year in first.year..=last.year {
            // A year without a recorded figure (the current one) runs at last year's pace, so
            // this year's months agree with the plans' goals and the scorecards' targets.
            let annual = years.get(&year).or_else(|| years.get(&year.saturating_sub(1)));
            let months = match annual {
                Some(annual) => spread_year(*annual, &mut rng)?,
                None => small_year(&mut rng),
            };
            for (month, amount) in (1..=12).zip(months) {
                let ym = YearMonth { year, month };
                if ym >= first && ym <= last {
                    upsert(db, customer, ym, amount, "demo", now)?;
                    written += 1;
                }
            }
        }
    }
    Ok(written)
}

/// A customer's projected sales per year.
fn yearly_amounts(
    db: &dyn SalesLedgerStore,
    customer_id: &str,
) -> Result<BTreeMap<i32, Decimal>, ServerError> {
    let mut years = db.yearly_sales(customer_id)?;
    for amount in years.values_mut() {
        *amount = checked_amount(*amount, &ANNUAL_SALES)?;
    }
    Ok(years)
}

/// Spreads `annual` over twelve months with jittered seasonal weights; the months sum to
/// `annual` rounded to the fen exactly, December taking the rounding remainder.
fn spread_year(annual: Decimal, rng: &mut SmallRng) -> Result<[Decimal; 12], ServerError> {
    // Negative yearly sales are not a figure the ERP produces; they are spread as zero.
    let annual = annual.round_dp(2).max(Decimal::ZERO);
    let weights = SEASON.map(|w| w * rng.random_range(85..=115));
    let total = Decimal::from(weights.iter().sum::<u32>());
    let mut months = [Decimal::ZERO; 12];
    let mut so_far = Decimal::ZERO;
    for (slot, weight) in months.iter_mut().zip(weights).take(11) {
        *slot = annual
            .checked_mul(Decimal::from(weight))
            .and_then(|x| x.checked_div(total))
            .ok_or_else(|| ServerError::Corrupt(format!("yearly sales {annual} out of range")))?
            .round_dp(2);
        so_far = bounds::add("monthly sales so far", so_far, *slot)?;
    }
    months[11] = bounds::sub("December sales", annual, so_far)?;
    // Rounding eleven months up can overshoot a yearly figure of a few jiao; such a year is
    // booked in December alone rather than with a negative month.
    if months[11].is_sign_negative() {
        months = [Decimal::ZERO; 12];
        months[11] = annual;
    }
    Ok(months)
}

/// Twelve small random monthly amounts (5,000 to 80,000 CNY) for a customer without figures.
fn small_year(rng: &mut SmallRng) -> [Decimal; 12] {
    std::array::from_fn(|_| Decimal::new(rng.random_range(500_000..=8_000_000), 2))
}

/// FNV-1a, a stable hash (unlike `std`'s, which may change between releases) so demo data
/// stays the same for the same seed across builds.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use chrono::TimeZone;
    use rusqlite::Connection;

    use super::*;
    use crate::reports::fixtures::{customer, sale, store};

    fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).unwrap()
    }

    fn ledger(conn: &Connection) -> Vec<(String, String, String, String)> {
        let mut stmt = conn
            .prepare("SELECT customer_id, month, amount, source FROM sales_monthly ORDER BY 1, 2")
            .unwrap();
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)));
        rows.unwrap().collect::<Result<_, _>>().unwrap()
    }

    #[test]
    fn months_parse_strictly_and_move_across_years() {
        let m = YearMonth::parse("2026-01").unwrap();
        assert_eq!(m.prev().to_string(), "2025-12");
        assert_eq!(m.add_months(-13).to_string(), "2024-12");
        assert_eq!(m.add_months(23).to_string(), "2027-12");
        assert_eq!(m.year_before().to_string(), "2025-01");
        for bad in ["2026-13", "2026-00", "2026-1", "26-01", "2026/01", "2026-01-01", ""] {
            assert_eq!(YearMonth::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn csv_records_keep_quoted_commas_quotes_and_line_breaks() {
        let text = "a,\"b, \"\"c\"\"\"\r\n\"multi\nline\",x\n\nlast";
        let records = parse_csv(text).unwrap();
        assert_eq!(records[0], (1, vec!["a".to_owned(), "b, \"c\"".to_owned()]));
        assert_eq!(records[1], (2, vec!["multi\nline".to_owned(), "x".to_owned()]));
        assert_eq!(records[2], (4, vec![String::new()]));
        assert_eq!(records[3], (5, vec!["last".to_owned()]));
        assert_eq!(parse_csv("a,\"open\nb").unwrap_err().0, 1);
    }

    #[test]
    fn import_upserts_rows_with_a_chinese_header_and_a_bom() {
        let (_dir, store) = store();
        let conn: &rusqlite::Connection = store.sql();
        customer(conn, "C1", "甲", "key");
        customer(conn, "C2", "乙", "main");
        sale(conn, "C1", "2026-01", "1.00");
        let csv = "\u{feff}客户编号,月份,金额\r\nC1,2026-01,\"1234567.89\"\r\n\r\nC2,2026-02,0\r\n";
        let report = import_csv(conn, csv, "erp", at(2026, 3, 2)).unwrap();
        assert_eq!((report.rows, report.inserted, report.updated, report.customers), (2, 1, 1, 2));
        assert_eq!(report.first_month.as_deref(), Some("2026-01"));
        assert_eq!(report.last_month.as_deref(), Some("2026-02"));
        assert_eq!(
            month_total(conn, "C1", YearMonth { year: 2026, month: 1 }).unwrap().to_string(),
            "1234567.89"
        );
        assert_eq!(
            month_total(conn, "C2", YearMonth { year: 2026, month: 3 }).unwrap(),
            Decimal::ZERO
        );
        assert_eq!(ledger(conn)[0].3, "erp");
    }

    #[test]
    fn import_refuses_the_whole_file_for_one_bad_line() {
        let (_dir, store) = store();
        let conn: &rusqlite::Connection = store.sql();
        customer(conn, "C1", "甲", "key");
        sale(conn, "C1", "2026-01", "1.00");
        let before = ledger(conn);
        let now = at(2026, 3, 2);
        let cases = [
            ("C1,2026-13,5", "line 3: month \"2026-13\""),
            ("C1,2026-04,5", "line 3: month 2026-04 is outside"),
            ("C1,1999-12,5", "line 3: month 1999-12 is outside"),
            ("C1,2026-02,-5", "line 3: amount -5 is negative"),
            ("C1,2026-02,5.001", "line 3: amount 5.001 has more than two"),
            ("C1,2026-02,abc", "line 3: amount \"abc\""),
            ("C9,2026-02,5", "line 3: unknown customer \"C9\""),
            ("C1,2026-01,5", "line 3: customer C1 and month 2026-01 appear twice"),
        ];
        for (bad, expected) in cases {
            let csv = format!("customer_id,month,amount\nC1,2026-01,99.00\n{bad}\n");
            let err = import_csv(conn, &csv, "erp", now).unwrap_err();
            match &err {
                ServerError::Invalid { field, reason } => {
                    assert_eq!(*field, "sales_csv");
                    assert!(reason.starts_with(expected), "{bad}: {reason}");
                }
                other => panic!("{bad}: {other:?}"),
            }
            assert_eq!(ledger(conn), before, "{bad} changed the ledger");
        }
        let no_header = import_csv(conn, "id,month,amount\nC1,2026-01,1\n", "erp", now);
        assert!(matches!(no_header, Err(ServerError::Invalid { .. })));
        assert!(matches!(
            import_csv(conn, "\u{feff}", "erp", now),
            Err(ServerError::Invalid { .. })
        ));
    }

    #[test]
    fn every_refused_line_is_listed_with_its_reason_and_a_good_file_has_none() {
        let (_dir, store) = store();
        let conn: &rusqlite::Connection = store.sql();
        customer(conn, "C1", "甲", "key");
        let now = at(2026, 3, 2);
        let csv =
            "customer_id,month,amount\nC9,2026-01,1\nC1,2026-01,2\nC1,2026-02,x\nC1,2026-01,3\n";
        let refused = refused_lines(conn, csv, now).unwrap();
        let lines: Vec<_> = refused.iter().map(|r| r.line).collect();
        assert_eq!(lines, [Some(2), Some(4), Some(5)], "{refused:?}");
        assert!(refused[0].reason.starts_with("unknown customer"), "{refused:?}");
        assert!(refused[2].reason.contains("appear twice"), "{refused:?}");
        let first = import_csv(conn, csv, "erp", now).unwrap_err();
        assert!(
            matches!(first, ServerError::Invalid { reason, .. } if reason.starts_with("line 2:"))
        );
        assert!(
            refused_lines(conn, "customer_id,month,amount\nC1,2026-01,2\n", now)
                .unwrap()
                .is_empty()
        );
        let empty = refused_lines(conn, "", now).unwrap();
        assert_eq!(empty, [RefusedLine { line: None, reason: "the file is empty".into() }]);
    }

    #[test]
    fn demo_years_sum_exactly_to_the_yearly_figures_and_repeat_with_the_seed() {
        let (_dir, store) = store();
        let conn: &rusqlite::Connection = store.sql();
        customer(conn, "C1", "甲", "key");
        customer(conn, "C2", "乙", "general");
        conn.execute(
            "INSERT INTO customer_sales_years (customer_id, year, amount) VALUES ('C1', 2025, '12345678.91')",
            [],
        )
        .unwrap();
        let now = at(2026, 3, 15);
        assert_eq!(generate_demo(conn, now, 7).unwrap(), 48);
        let first = ledger(conn);
        let months: Vec<&str> =
            first.iter().filter(|r| r.0 == "C1").map(|r| r.1.as_str()).collect();
        assert_eq!((months[0], months[23]), ("2024-03", "2026-02"));
        let year_2025: Decimal = first
            .iter()
            .filter(|r| r.0 == "C1" && r.1.starts_with("2025-"))
            .map(|r| Decimal::from_str(&r.2).unwrap())
            .sum();
        assert_eq!(year_2025.to_string(), "12345678.91");
        for (_, _, amount, source) in &first {
            let amount = Decimal::from_str(amount).unwrap();
            assert!(amount >= Decimal::ZERO && amount.scale() <= 2, "{amount}");
            assert_eq!(source, "demo");
        }
        let small = first.iter().filter(|r| r.0 == "C2").map(|r| Decimal::from_str(&r.2).unwrap());
        assert!(small.clone().all(|a| a >= Decimal::new(5_000, 0) && a <= Decimal::new(80_000, 0)));
        generate_demo(conn, now, 7).unwrap();
        assert_eq!(ledger(conn), first);
        generate_demo(conn, now, 8).unwrap();
        assert_ne!(ledger(conn), first);
    }
}

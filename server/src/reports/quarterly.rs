//! 客户信用及销售分析: the quarterly credit and sales analysis headquarters asks for (seed 002
//! 集团公司客户管理制度), one row per customer with sales or credit: tier and grades, credit
//! limit and payment terms, the quarter's sales against the same quarter last year, and the
//! late payments due in the quarter with what the late-payment rule makes of them (two or
//! more in one quarter drop the payment terms one step, seed 001 客户分级管理制度).

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use kam_core::Policy;
use kam_core::bounds;
use kam_core::model::{LatePayment, PaymentTerms, Tier};
use kam_core::rules::{Quarter, TermsDowngrade, terms_after_late_payments};
use rust_decimal::Decimal;
use serde::Serialize;

use super::{Change, ReportLang, terms_label};
use crate::db::reports::CreditRecord;
use crate::db::{ReportQueries, SalesLedgerStore};
use crate::error::ServerError;
use crate::sales_ledger::{YearMonth, amounts_between};

/// One customer's line of the quarterly analysis.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QuarterlyRow {
    /// Customer id.
    pub customer_id: String,
    /// Customer name.
    pub name: String,
    /// Tier code.
    pub tier: Tier,
    /// Tier in Chinese.
    pub tier_zh: &'static str,
    /// Grade A–D, when graded.
    pub grade: Option<String>,
    /// Credit grade, when rated.
    pub credit_grade: Option<String>,
    /// Credit limit (CNY).
    pub credit_limit: Decimal,
    /// Payment terms code (`net:90`, `cod`, `prepay`).
    pub payment_terms: String,
    /// Payment terms in Chinese (远期90天, 货到付款, 款到发货).
    pub payment_terms_zh: String,
    /// Sales booked in the quarter (CNY).
    pub sales: Decimal,
    /// Sales booked in the same quarter last year.
    pub last_year: Decimal,
    /// Change against the same quarter last year (同比).
    pub yoy: Change,
    /// Late payments due in the quarter: paid after their due date, or unpaid and past it.
    pub late_payments: usize,
    /// Of those, the ones still unpaid.
    pub late_unpaid: usize,
    /// The quarter reached the late-payment threshold, so the terms must drop one step.
    pub terms_must_drop: bool,
    /// The terms they drop to (code); `None` when they need not drop or are already the
    /// strictest.
    pub terms_after: Option<String>,
    /// The same in Chinese.
    pub terms_after_zh: Option<String>,
    /// The threshold was reached but the terms are already the strictest (款到发货).
    pub already_strictest: bool,
}

/// Sums over a group of rows.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct QuarterTotals {
    /// Customers in the group.
    pub customers: usize,
    /// Credit limits.
    pub credit_limit: Decimal,
    /// Sales in the quarter.
    pub sales: Decimal,
    /// Sales in the same quarter last year.
    pub last_year: Decimal,
    /// Change against last year.
    pub yoy: Change,
    /// Late payments due in the quarter.
    pub late_payments: usize,
    /// Late payments still unpaid.
    pub late_unpaid: usize,
    /// Customers whose terms must drop.
    pub terms_drops: usize,
}

/// The totals of one tier.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TierTotals {
    /// The tier.
    pub tier: Tier,
    /// The tier in Chinese.
    pub tier_zh: &'static str,
    /// Its sums.
    #[serde(flatten)]
    pub totals: QuarterTotals,
}

/// 客户信用及销售分析 for one quarter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QuarterlyReport {
    /// The quarter, `YYYY-Qn`.
    pub quarter: String,
    /// Its calendar year.
    pub year: i32,
    /// Its number, 1 to 4.
    pub quarter_no: u8,
    /// Its first month, `YYYY-MM`.
    pub first_month: String,
    /// Its last month, `YYYY-MM`.
    pub last_month: String,
    /// When the report was computed.
    pub generated_at: DateTime<Utc>,
    /// One row per customer with sales (this quarter or last year's), credit or late
    /// payments: by tier, strategic first, then by sales, largest first.
    pub rows: Vec<QuarterlyRow>,
    /// Totals per tier present, in tier order.
    pub by_tier: Vec<TierTotals>,
    /// Totals over every row.
    pub totals: QuarterTotals,
}

/// Parses `YYYY-Qn` (the `Q` in either case) with `n` from 1 to 4.
pub fn parse_quarter(text: &str) -> Option<Quarter> {
    let (year, q) = text.trim().split_once('-')?;
    let q = q.strip_prefix('Q').or_else(|| q.strip_prefix('q'))?;
    if year.len() != 4 || !year.bytes().all(|b| b.is_ascii_digit()) || q.len() != 1 {
        return None;
    }
    let quarter: u8 = q.parse().ok()?;
    (1..=4).contains(&quarter).then_some(Quarter { year: year.parse().ok()?, quarter })
}

/// Computes the analysis for `quarter` (`YYYY-Qn`) at `now`.
///
/// Late payments are the projected records due in the quarter. A malformed quarter is
/// [`ServerError::Invalid`].
pub fn quarterly_report(
    db: &(impl ReportQueries + SalesLedgerStore + ?Sized),
    quarter: &str,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<QuarterlyReport, ServerError> {
    let q = parse_quarter(quarter).ok_or_else(|| ServerError::Invalid {
        field: "quarter",
        reason: format!("{quarter:?} is not a quarter YYYY-Qn (n = 1 to 4)"),
    })?;
    let first = YearMonth { year: q.year, month: u32::from(q.quarter) * 3 - 2 };
    let last = first.add_months(2);
    let sales = amounts_between(db, first.year_before(), last, None)?;
    let sum = |customer: &str, from: YearMonth| -> Result<Decimal, ServerError> {
        let months = (0..3).filter_map(|i| sales.get(&(customer.to_owned(), from.add_months(i))));
        Ok(bounds::sum("a quarter's sales", months.copied())?)
    };
    let late_payments = late_payments_due_in(db, first)?;
    let today = policy.business_date(now);
    let mut rows = Vec::new();
    for c in db.credit_records()? {
        let (this, before) =
            (sum(&c.customer_id, first)?, sum(&c.customer_id, first.year_before())?);
        let late = late_payments.get(&c.customer_id).map_or(&[][..], Vec::as_slice);
        let row = build_row(c, this, before, late, q, today, policy)?;
        let has_any = !row.sales.is_zero() || !row.last_year.is_zero() || row.late_payments > 0;
        if has_any || row.credit_limit > Decimal::ZERO {
            rows.push(row);
        }
    }
    rows.sort_by(|a, b| {
        (a.tier.rank(), std::cmp::Reverse(a.sales), &a.customer_id).cmp(&(
            b.tier.rank(),
            std::cmp::Reverse(b.sales),
            &b.customer_id,
        ))
    });
    Ok(QuarterlyReport {
        quarter: q.to_string(),
        year: q.year,
        quarter_no: q.quarter,
        first_month: first.to_string(),
        last_month: last.to_string(),
        generated_at: now,
        by_tier: by_tier(&rows)?,
        totals: sum_rows(rows.iter())?,
        rows,
    })
}

/// Each customer's late-payment records due in the quarter whose first month is `first`, by
/// customer id.
fn late_payments_due_in(
    db: &(impl ReportQueries + ?Sized),
    first: YearMonth,
) -> Result<HashMap<String, Vec<LatePayment>>, ServerError> {
    let first_day = |month: YearMonth| {
        month.first_day().ok_or_else(|| ServerError::Invalid {
            field: "quarter",
            reason: format!("year {} is out of the calendar's range", month.year),
        })
    };
    let (from, until) = (first_day(first)?, first_day(first.add_months(3))?);
    let mut out: HashMap<String, Vec<LatePayment>> = HashMap::new();
    for (customer, late) in db.late_payments_due(from, until)? {
        out.entry(customer).or_default().push(late);
    }
    Ok(out)
}

/// Whether a record is a late payment as of `today`: paid after its due date, or unpaid
/// and past it. A record not yet due is not late, whatever was entered.
fn is_late(p: &LatePayment, today: NaiveDate) -> bool {
    match p.paid_on {
        Some(paid) => paid > p.due_on,
        None => p.due_on < today,
    }
}

/// One customer's row: sales figures, late payments due in `q` and the rule's verdict.
fn build_row(
    c: CreditRecord,
    sales: Decimal,
    last_year: Decimal,
    late: &[LatePayment],
    q: Quarter,
    today: NaiveDate,
    policy: &Policy,
) -> Result<QuarterlyRow, ServerError> {
    let in_quarter: Vec<&LatePayment> =
        late.iter().filter(|p| Quarter::of(p.due_on) == q && is_late(p, today)).collect();
    let current = PaymentTerms::from_code(&c.payment_terms)
        .ok_or_else(|| ServerError::Corrupt(format!("payment terms `{}`", c.payment_terms)))?;
    // Only this quarter's due dates go to the rule, so a downgrade here is this quarter's.
    let due: Vec<NaiveDate> = in_quarter.iter().map(|p| p.due_on).collect();
    let (must_drop, after, strictest) = match terms_after_late_payments(current, &due, policy) {
        TermsDowngrade::NoChange => (false, None, false),
        TermsDowngrade::Downgrade { to, .. } => (true, Some(to.code()), false),
        TermsDowngrade::AlreadyStrictest { .. } => (true, None, true),
    };
    Ok(QuarterlyRow {
        tier_zh: c.tier.label_zh(),
        payment_terms_zh: terms_label(&c.payment_terms, ReportLang::Zh),
        terms_after_zh: after.as_deref().map(|t| terms_label(t, ReportLang::Zh)),
        customer_id: c.customer_id,
        name: c.name,
        tier: c.tier,
        grade: c.grade,
        credit_grade: c.credit_grade,
        credit_limit: c.credit_limit,
        payment_terms: c.payment_terms,
        sales,
        last_year,
        yoy: Change::between(sales, last_year)?,
        late_payments: in_quarter.len(),
        late_unpaid: in_quarter.iter().filter(|p| p.paid_on.is_none()).count(),
        terms_must_drop: must_drop,
        terms_after: after,
        already_strictest: strictest,
    })
}

/// Sums a group of rows.
fn sum_rows<'a>(
    rows: impl Iterator<Item = &'a QuarterlyRow>,
) -> Result<QuarterTotals, ServerError> {
    let mut t = QuarterTotals::default();
    for r in rows {
        t.customers += 1;
        t.credit_limit = bounds::add("total credit limit", t.credit_limit, r.credit_limit)?;
        t.sales = bounds::add("total sales", t.sales, r.sales)?;
        t.last_year = bounds::add("total of last year", t.last_year, r.last_year)?;
        t.late_payments += r.late_payments;
        t.late_unpaid += r.late_unpaid;
        t.terms_drops += usize::from(r.terms_must_drop);
    }
    t.yoy = Change::between(t.sales, t.last_year)?;
    Ok(t)
}

/// Totals per tier present, in tier order.
fn by_tier(rows: &[QuarterlyRow]) -> Result<Vec<TierTotals>, ServerError> {
    let mut groups: HashMap<Tier, Vec<&QuarterlyRow>> = HashMap::new();
    for r in rows {
        groups.entry(r.tier).or_default().push(r);
    }
    Tier::ALL
        .iter()
        .filter_map(|tier| {
            let group = groups.get(tier)?;
            let totals = sum_rows(group.iter().copied());
            Some(totals.map(|totals| TierTotals { tier: *tier, tier_zh: tier.label_zh(), totals }))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use chrono::TimeZone;
    use kam_core::rules::next_stricter_terms;

    use super::*;
    use crate::reports::fixtures::{customer_with, late_payment, sale, store};

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 4, 3, 0, 0, 0).unwrap()
    }

    #[test]
    fn quarters_parse_strictly() {
        assert_eq!(parse_quarter("2026-Q1"), Some(Quarter { year: 2026, quarter: 1 }));
        assert_eq!(parse_quarter(" 2026-q4 "), Some(Quarter { year: 2026, quarter: 4 }));
        for bad in ["2026-Q0", "2026-Q5", "2026Q1", "26-Q1", "2026-Q12", "2026-1", ""] {
            assert_eq!(parse_quarter(bad), None, "{bad}");
        }
        let (_dir, store) = store();
        let p = Policy::default();
        let err = quarterly_report(store.conn(), "2026-Q5", &p, now());
        assert!(matches!(err, Err(ServerError::Invalid { field: "quarter", .. })), "{err:?}");
    }

    #[test]
    fn terms_drop_for_two_late_payments_in_the_quarter_not_across_quarters() {
        let (_dir, store) = store();
        let conn: &rusqlite::Connection = store.sql();
        customer_with(conn, "IN", "Two in Q1", "key", "500000.00", "net:90");
        customer_with(conn, "ACROSS", "One in Q4, one in Q1", "key", "500000.00", "net:90");
        customer_with(conn, "STRICT", "Already prepay", "main", "0.00", "prepay");
        for (customer, due, paid) in [
            ("IN", "2026-01-10", Some("2026-02-01")),
            ("IN", "2026-03-31", None),
            ("ACROSS", "2025-12-20", Some("2026-01-05")),
            ("ACROSS", "2026-02-01", None),
            ("STRICT", "2026-02-01", None),
            ("STRICT", "2026-02-02", None),
            // Due next quarter: neither counted nor late yet.
            ("IN", "2026-04-01", None),
        ] {
            late_payment(conn, customer, due, paid);
        }
        let p = Policy::default();
        let r = quarterly_report(conn, "2026-Q1", &p, now()).unwrap();
        let row = |id: &str| r.rows.iter().find(|r| r.customer_id == id).unwrap();
        let expected = next_stricter_terms(PaymentTerms::NetDays { days: 90 }, &p).unwrap().code();
        let inq = row("IN");
        assert_eq!((inq.late_payments, inq.late_unpaid, inq.terms_must_drop), (2, 1, true));
        assert_eq!(inq.terms_after.as_deref(), Some(expected.as_str()));
        assert_eq!(inq.payment_terms_zh, "远期90天");
        let across = row("ACROSS");
        assert_eq!(
            (across.late_payments, across.terms_must_drop, across.terms_after.clone()),
            (1, false, None)
        );
        let strict = row("STRICT");
        assert_eq!(
            (strict.terms_must_drop, strict.already_strictest, strict.terms_after.clone()),
            (true, true, None)
        );
        assert_eq!(r.totals.terms_drops, 2);
    }

    #[test]
    fn quarter_sales_against_last_year_with_tier_totals() {
        let (_dir, store) = store();
        let conn: &rusqlite::Connection = store.sql();
        customer_with(conn, "S", "Strategic", "strategic", "1000000.00", "net:90");
        customer_with(conn, "G", "General", "general", "0.00", "cod");
        customer_with(conn, "IDLE", "Nothing at all", "general", "0.00", "cod");
        for (month, amount) in
            [("2026-01", "100.10"), ("2026-02", "200.20"), ("2026-03", "300.30"), ("2026-04", "9")]
        {
            sale(conn, "S", month, amount);
        }
        sale(conn, "S", "2025-02", "500.00");
        sale(conn, "G", "2026-02", "1000.00");
        let r = quarterly_report(conn, "2026-Q1", &Policy::default(), now()).unwrap();
        let ids: Vec<&str> = r.rows.iter().map(|r| r.customer_id.as_str()).collect();
        assert_eq!(ids, ["S", "G"], "tier first; a customer without sales or credit is left out");
        let s = &r.rows[0];
        assert_eq!((s.sales, s.last_year), (d("600.60"), d("500.00")));
        assert_eq!(s.yoy, Change { amount: d("100.60"), pct: Some(d("20.1")) });
        assert_eq!((r.first_month.as_str(), r.last_month.as_str()), ("2026-01", "2026-03"));
        let tiers: Vec<(Tier, Decimal)> =
            r.by_tier.iter().map(|t| (t.tier, t.totals.sales)).collect();
        assert_eq!(tiers, [(Tier::Strategic, d("600.60")), (Tier::General, d("1000.00"))]);
        assert_eq!((r.totals.sales, r.totals.credit_limit), (d("1600.60"), d("1000000.00")));
        assert_eq!(r.rows[1].payment_terms_zh, "货到付款");
    }
}

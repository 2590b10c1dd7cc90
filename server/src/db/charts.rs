//! What headquarters' charts (`hq::charts`) read: counts and sums taken where the rows are,
//! so a chart of a company of thousands of customers and tens of thousands of tickets reads
//! a few hundred values, not every row. Which rows make a bar, and every rule applied to them
//! (the reply SLA, the visit cadence), stay with the use cases.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use kam_core::model::{Classification, VisitLevel};
use rust_decimal::Decimal;

use super::DbError;
use super::parse::decimal;
use super::sales::YearMonth;

/// How many customers have one tier and grade, as stored (`customers.tier`, `.grade`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TierGradeCount {
    /// Tier code, as stored.
    pub tier: String,
    /// Grade `A`–`D`, or `None` for an ungraded customer.
    pub grade: Option<String>,
    /// Customers.
    pub customers: u64,
}

/// When a ticket was opened and first answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TicketTimes {
    /// Opened at.
    pub opened_at: DateTime<Utc>,
    /// The first reply, if any.
    pub first_reply_at: Option<DateTime<Utc>>,
}

/// A customer the visit cadence may apply to (strategic, or graded A), with what the cadence
/// rule reads: its classification, creation and every visit's level and date.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CadenceCustomer {
    /// Customer id.
    pub customer_id: String,
    /// Registered name.
    pub name: String,
    /// Its classification now (the projection keeps no earlier one).
    pub classification: Classification,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Every visit's level and business-local date, oldest first.
    pub visits: Vec<(VisitLevel, NaiveDate)>,
}

/// The sum of a month's scorecard targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MonthTarget {
    /// The targets' sum, CNY.
    pub target: Decimal,
    /// How many monthly scorecards it sums.
    pub scorecards: u64,
}

/// The charts' reads.
pub trait ChartQueries {
    /// Customers per stored tier and grade; combinations without customers are absent.
    fn customers_by_tier_and_grade(&self) -> Result<Vec<TierGradeCount>, DbError>;
    /// Every ticket opened at or after `since`, in no particular order.
    fn tickets_opened_since(&self, since: DateTime<Utc>) -> Result<Vec<TicketTimes>, DbError>;
    /// The sales ledger's amounts from `first` to `last` inclusive, summed over customers per
    /// month, exactly; months without a ledger row are absent.
    fn sales_by_month(
        &self,
        first: YearMonth,
        last: YearMonth,
    ) -> Result<BTreeMap<YearMonth, Decimal>, DbError>;
    /// The monthly scorecards' (period `YYYY-MM`) sales targets from `first` to `last`
    /// inclusive, summed over people per month; months without a scorecard are absent.
    fn scorecard_targets_by_month(
        &self,
        first: YearMonth,
        last: YearMonth,
    ) -> Result<BTreeMap<YearMonth, MonthTarget>, DbError>;
    /// The customers the cadence may apply to (tier `strategic`, designated strategic, or
    /// graded A), in id order, each with its visits.
    fn cadence_visits(&self) -> Result<Vec<CadenceCustomer>, DbError>;
}

/// Parses the stored classification columns of a cadence customer.
pub(crate) fn classification(
    customer_id: &str,
    tier: &str,
    strategic: bool,
    grade: Option<&str>,
) -> Result<Classification, DbError> {
    let corrupt = |what: &str| DbError::Corrupt(format!("customer {customer_id}: {what}"));
    Ok(Classification {
        strategic,
        tier: tier.parse().map_err(|_| corrupt("tier"))?,
        grade: grade.map(str::parse).transpose().map_err(|_| corrupt("grade"))?,
        score: None,
    })
}

/// Parses one stored visit's level and date.
pub(crate) fn visit(
    customer_id: &str,
    level: &str,
    date: &str,
) -> Result<(VisitLevel, NaiveDate), DbError> {
    let corrupt = || DbError::Corrupt(format!("a visit of {customer_id}: {level} {date}"));
    Ok((level.parse().map_err(|_| corrupt())?, date.parse().map_err(|_| corrupt())?))
}

/// Adds `amount` to `month`'s sum; an overflow is a corrupt ledger (10¹³ per row at most).
pub(crate) fn add_to_month(
    sums: &mut BTreeMap<YearMonth, Decimal>,
    month: &str,
    amount: Decimal,
) -> Result<(), DbError> {
    let month =
        YearMonth::parse(month).ok_or_else(|| DbError::Corrupt(format!("month {month:?}")))?;
    let sum = sums.entry(month).or_insert(Decimal::ZERO);
    *sum = sum
        .checked_add(amount)
        .ok_or_else(|| DbError::Corrupt(format!("the sum of {month} overflows")))?;
    Ok(())
}

/// Sums `(period, target)` rows per month.
pub(crate) fn sum_targets(
    rows: impl Iterator<Item = Result<(String, String), DbError>>,
) -> Result<BTreeMap<YearMonth, MonthTarget>, DbError> {
    let mut sums: BTreeMap<YearMonth, Decimal> = BTreeMap::new();
    let mut counts: BTreeMap<YearMonth, u64> = BTreeMap::new();
    for row in rows {
        let (period, target) = row?;
        add_to_month(&mut sums, &period, decimal(&target)?)?;
        if let Some(month) = YearMonth::parse(&period) {
            *counts.entry(month).or_default() += 1;
        }
    }
    Ok(sums
        .into_iter()
        .map(|(month, target)| {
            let scorecards = counts.get(&month).copied().unwrap_or_default();
            (month, MonthTarget { target, scorecards })
        })
        .collect())
}

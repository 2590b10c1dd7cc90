//! Headquarters' charts (图表): the series behind each chart of `/hq/charts` and
//! `/api/v1/hq/charts`, computed at the moment of asking with `now` passed in. Each series
//! says which rows make it, so every bar can link to the list of exactly those rows.
//!
//! Counts and sums are taken by storage (`db::ChartQueries`); the rules (the visit cadence,
//! the reply SLA) are applied here, as the lists they link to apply them.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use kam_core::Policy;
use kam_core::model::Tier;
use kam_core::rules::{self, SlaState};
use rust_decimal::Decimal;
use serde::Serialize;

use super::compliance::{month_entries, month_window, owners_of, percent_tenths};
use super::people::Names;
use crate::db::Db;
use crate::db::charts::CadenceCustomer;
use crate::db::sales::YearMonth;
use crate::error::ServerError;

/// Months in the monthly series, the current one included.
pub const MONTHS: u32 = 12;
/// Weeks in the weekly series, the current one included.
pub const WEEKS: u32 = 12;

/// The grade codes of the distribution, `none` for an ungraded customer (the customer
/// list's `grade` filter takes the same codes).
pub const GRADES: [&str; 5] = ["A", "B", "C", "D", "none"];

/// Customers of one tier, per grade.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TierRow {
    /// Tier code (the customer list's `tier` filter).
    pub tier: String,
    /// Customers of the tier.
    pub total: u64,
    /// Customers per grade code, in [`GRADES`] order, each present (0 when none).
    pub grades: Vec<(String, u64)>,
}

/// One month of visit compliance — the visit measure of the staff scorecards, over the whole
/// company (each customer once, whoever owns it): see `compliance::month_entries`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VisitMonth {
    /// The month (`YYYY-MM`).
    #[serde(serialize_with = "month_text")]
    pub month: YearMonth,
    /// The last day counted: the month's last, or today in the current month.
    pub through: NaiveDate,
    /// Cadence entries due by `through` (including those still owed from earlier months).
    pub due: u64,
    /// Of those, made by a visit within the month.
    pub made: u64,
    /// `made / due` in percent with one decimal; `None` when nothing was due.
    pub percent: Option<String>,
}

/// One rep's visit compliance today: the cadence entries of the customers they own (one per
/// customer and level, as on the visits page), and how many are past due.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VisitRep {
    /// The rep's user id (the visits page's `rep` filter).
    pub rep: String,
    /// Their name.
    pub name: String,
    /// Entries the cadence asks for.
    pub required: u64,
    /// Of those, past due today.
    pub overdue: u64,
    /// On schedule in percent with one decimal.
    pub on_schedule_percent: Option<String>,
}

/// The reply SLA of the tickets opened in one week (Monday to Sunday, business time zone),
/// each ticket's state taken now by `rules::reply_sla`, as the ticket list shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SlaWeek {
    /// The week's Monday.
    pub from: NaiveDate,
    /// Its Sunday.
    pub to: NaiveDate,
    /// Tickets opened in the week.
    pub opened: u64,
    /// Breached: the first reply came after its due time (`sla=breached`).
    pub breached: u64,
    /// Overdue: no reply yet and its due time has passed (`sla=overdue`), a breach too.
    pub overdue: u64,
    /// Answered on time (`sla=met`).
    pub met: u64,
    /// No reply yet and not yet due (`pending` and `due_soon`).
    pub waiting: u64,
}

/// One month's sales against the company's target.
///
/// Sales are every amount of the ERP's sales ledger booked in the month (all customers).
/// The target is the sum of the month's staff scorecard targets (绩效考核, RULES.md §10: each
/// person's target for the month, set by headquarters; the company's monthly target broken
/// down by person, summed back up) — `None` when no one has a scorecard for the month.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SalesMonth {
    /// The month (`YYYY-MM`).
    #[serde(serialize_with = "month_text")]
    pub month: YearMonth,
    /// Sales booked (CNY).
    pub sales: Decimal,
    /// The summed target (CNY), if any scorecard of the month has one.
    pub target: Option<Decimal>,
    /// Scorecards whose targets were summed.
    pub scorecards: u64,
    /// `sales / target` in percent with one decimal, when there is a target above zero.
    pub attainment_percent: Option<String>,
}

/// A month as `YYYY-MM` in JSON, as the pages' filters write it.
pub(crate) fn month_text<S: serde::Serializer>(month: &YearMonth, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(month)
}

/// Every chart's series.
#[derive(Clone, Debug, Serialize)]
pub struct Charts {
    /// The business date they were computed for.
    pub today: NaiveDate,
    /// Customers by tier and grade, strategic first.
    pub tier_grade: Vec<TierRow>,
    /// Visit compliance of the last [`MONTHS`] months, oldest first.
    pub visits_by_month: Vec<VisitMonth>,
    /// Visit compliance by rep today, by name.
    pub visits_by_rep: Vec<VisitRep>,
    /// Reply SLA of the tickets opened in each of the last [`WEEKS`] weeks, oldest first.
    pub sla_by_week: Vec<SlaWeek>,
    /// Sales against target in the last [`MONTHS`] months, oldest first.
    pub sales_by_month: Vec<SalesMonth>,
}

/// Every chart at `now`.
pub fn charts(db: &dyn Db, policy: &Policy, now: DateTime<Utc>) -> Result<Charts, ServerError> {
    let today = policy.business_date(now);
    let cadence = db.cadence_visits()?;
    let owners = db.owners_by_customer()?;
    let names = Names::load(db)?;
    Ok(Charts {
        today,
        tier_grade: tier_grade(db)?,
        visits_by_month: visits_by_month(&cadence, policy, today),
        visits_by_rep: visits_by_rep(&cadence, &owners, &names, policy, today),
        sla_by_week: sla_by_week(db, policy, now)?,
        sales_by_month: sales_by_month(db, today)?,
    })
}

/// Customers per tier (every tier, strategic first) and grade, as stored: the counts the
/// customer list shows for `tier=..&grade=..`.
pub fn tier_grade(db: &dyn Db) -> Result<Vec<TierRow>, ServerError> {
    let counts = db.customers_by_tier_and_grade()?;
    let mut tiers: Vec<String> = [Tier::Strategic, Tier::Key, Tier::Main, Tier::General]
        .iter()
        .map(|t| t.as_str().to_owned())
        .collect();
    // A tier code this build does not know is still counted, after the known ones.
    for c in &counts {
        if !tiers.contains(&c.tier) {
            tiers.push(c.tier.clone());
        }
    }
    Ok(tiers
        .into_iter()
        .map(|tier| {
            let of = |grade: &str| -> u64 {
                counts
                    .iter()
                    .filter(|c| c.tier == tier && c.grade.as_deref().unwrap_or("none") == grade)
                    .map(|c| c.customers)
                    .sum()
            };
            let grades: Vec<(String, u64)> =
                GRADES.iter().map(|g| ((*g).to_owned(), of(g))).collect();
            let total = counts.iter().filter(|c| c.tier == tier).map(|c| c.customers).sum();
            TierRow { tier, total, grades }
        })
        .collect())
}

/// The last [`MONTHS`] months, oldest first, ending with `today`'s.
pub fn last_months(today: NaiveDate) -> Vec<YearMonth> {
    let this = YearMonth::of(today);
    (0..MONTHS).rev().map(|back| this.add_months(-i32::try_from(back).unwrap_or(0))).collect()
}

/// Visit compliance of each of the last [`MONTHS`] months over `customers`.
pub fn visits_by_month(
    customers: &[CadenceCustomer],
    policy: &Policy,
    today: NaiveDate,
) -> Vec<VisitMonth> {
    last_months(today)
        .into_iter()
        .filter_map(|month| {
            let window = month_window(month, today)?;
            let (mut due, mut made) = (0u64, 0u64);
            for customer in customers {
                for entry in month_entries(customer, window, policy) {
                    due = due.saturating_add(1);
                    made = made.saturating_add(u64::from(entry.visited_on.is_some()));
                }
            }
            Some(VisitMonth {
                month,
                through: window.1,
                due,
                made,
                percent: percent_tenths(made, due),
            })
        })
        .collect()
}

/// The monthly visit compliance of the customers `rep` owns (the rep page's chart).
pub fn rep_visits_by_month(
    db: &dyn Db,
    policy: &Policy,
    now: DateTime<Utc>,
    rep: &str,
) -> Result<Vec<VisitMonth>, ServerError> {
    let owned: Vec<String> = db.customers_owned_by(rep)?;
    let customers: Vec<CadenceCustomer> =
        db.cadence_visits()?.into_iter().filter(|c| owned.contains(&c.customer_id)).collect();
    Ok(visits_by_month(&customers, policy, policy.business_date(now)))
}

/// Each owning rep's cadence entries today over `customers` (see [`VisitRep`]), by name.
fn visits_by_rep(
    customers: &[CadenceCustomer],
    owners: &HashMap<String, Vec<String>>,
    names: &Names,
    policy: &Policy,
    today: NaiveDate,
) -> Vec<VisitRep> {
    let mut counts: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for customer in customers {
        let due = rules::visits_due_for(
            &customer.classification,
            customer.created_at,
            &customer.visits,
            policy,
        );
        let late = u64::try_from(due.iter().filter(|d| rules::is_overdue(d, today)).count())
            .unwrap_or(u64::MAX);
        let required = u64::try_from(due.len()).unwrap_or(u64::MAX);
        for rep in owners_of(owners, &customer.customer_id) {
            let c = counts.entry(rep).or_default();
            *c = (c.0.saturating_add(required), c.1.saturating_add(late));
        }
    }
    let mut reps: Vec<VisitRep> = counts
        .into_iter()
        .map(|(rep, (required, overdue))| VisitRep {
            name: names.of(&rep).to_owned(),
            on_schedule_percent: percent_tenths(required.saturating_sub(overdue), required),
            rep,
            required,
            overdue,
        })
        .collect();
    reps.sort_by(|a, b| (&a.name, &a.rep).cmp(&(&b.name, &b.rep)));
    reps
}

/// The business time zone's midnight starting `day`, as an instant.
fn local_midnight(day: NaiveDate, policy: &Policy) -> Option<DateTime<Utc>> {
    let zone =
        chrono::FixedOffset::east_opt(policy.business_utc_offset_minutes.saturating_mul(60))?;
    let local = zone.from_local_datetime(&day.and_time(NaiveTime::MIN)).single()?;
    Some(local.with_timezone(&Utc))
}

/// The Monday of `day`'s week.
fn monday_of(day: NaiveDate) -> NaiveDate {
    let back = i64::from(day.weekday().num_days_from_monday());
    day.checked_sub_signed(Duration::days(back)).unwrap_or(day)
}

/// The reply SLA of the tickets opened in each of the last [`WEEKS`] weeks (see [`SlaWeek`]).
pub fn sla_by_week(
    db: &dyn Db,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<Vec<SlaWeek>, ServerError> {
    let this_monday = monday_of(policy.business_date(now));
    let weeks_back = Duration::weeks(i64::from(WEEKS.saturating_sub(1)));
    let first = this_monday.checked_sub_signed(weeks_back).unwrap_or(this_monday);
    let mut weeks: Vec<SlaWeek> = (0..WEEKS)
        .filter_map(|n| {
            let from = first.checked_add_signed(Duration::weeks(i64::from(n)))?;
            let to = from.checked_add_signed(Duration::days(6))?;
            Some(SlaWeek { from, to, opened: 0, breached: 0, overdue: 0, met: 0, waiting: 0 })
        })
        .collect();
    let Some(since) = local_midnight(first, policy) else { return Ok(weeks) };
    for ticket in db.tickets_opened_since(since)? {
        let opened_on = policy.business_date(ticket.opened_at);
        let Some(week) = weeks.iter_mut().find(|w| w.from <= opened_on && opened_on <= w.to) else {
            continue;
        };
        week.opened = week.opened.saturating_add(1);
        let count = match rules::reply_sla(ticket.opened_at, ticket.first_reply_at, now, policy) {
            SlaState::Breached { .. } => &mut week.breached,
            SlaState::Overdue { .. } => &mut week.overdue,
            SlaState::Met { .. } => &mut week.met,
            SlaState::Pending { .. } | SlaState::DueSoon { .. } => &mut week.waiting,
        };
        *count = count.saturating_add(1);
    }
    Ok(weeks)
}

/// Sales against target in each of the last [`MONTHS`] months (see [`SalesMonth`]).
pub fn sales_by_month(db: &dyn Db, today: NaiveDate) -> Result<Vec<SalesMonth>, ServerError> {
    let months = last_months(today);
    let (Some(&first), Some(&last)) = (months.first(), months.last()) else {
        return Ok(Vec::new());
    };
    let sales = db.sales_by_month(first, last)?;
    let targets = db.scorecard_targets_by_month(first, last)?;
    Ok(months
        .into_iter()
        .map(|month| {
            let amount = sales.get(&month).copied().unwrap_or(Decimal::ZERO);
            let target = targets.get(&month);
            SalesMonth {
                month,
                sales: amount,
                target: target.map(|t| t.target),
                scorecards: target.map_or(0, |t| t.scorecards),
                attainment_percent: target.and_then(|t| attainment(amount, t.target)),
            }
        })
        .collect())
}

/// `sales / target` in percent with one decimal, rounded toward zero; `None` without a
/// target above zero.
fn attainment(sales: Decimal, target: Decimal) -> Option<String> {
    use rust_decimal::prelude::ToPrimitive;
    if target <= Decimal::ZERO {
        return None;
    }
    let tenths = sales.checked_mul(Decimal::from(1000))?.checked_div(target)?.trunc();
    let sign = if tenths.is_sign_negative() { "-" } else { "" };
    let tenths = tenths.abs().to_u128()?;
    Some(format!("{sign}{}.{}", tenths / 10, tenths % 10))
}

#[cfg(test)]
#[path = "charts_tests.rs"]
mod tests;

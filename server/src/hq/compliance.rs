//! Visit compliance (拜访机制): for every customer the cadence applies to, each level's due
//! date against today, counted by rep and by level; and a month's cadence entries, each due in
//! the month and made or missed.
//!
//! The due dates come from the same pure rule the tablets use (`rules::visits_due_for`), fed
//! from the projection rows, so headquarters and the rep see the same dates.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use kam_core::Policy;
use kam_core::model::VisitLevel;
use kam_core::rules;
use serde::Serialize;

use crate::db::Db;
use crate::db::charts::CadenceCustomer;
use crate::db::sales::YearMonth;
use crate::error::ServerError;

/// One customer's visit at one level that is due.
#[derive(Clone, Debug, Serialize)]
pub struct DueVisit {
    /// Customer id.
    pub customer_id: String,
    /// Customer name.
    pub customer_name: String,
    /// Owning reps.
    pub owners: Vec<String>,
    /// Level code.
    pub level: String,
    /// The last visit at this level.
    pub last_visit_on: Option<NaiveDate>,
    /// When the next one is due.
    pub next_due_on: NaiveDate,
    /// Whether it is past due today.
    pub overdue: bool,
}

/// Counts for one rep or one level.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ComplianceCount {
    /// Visits the cadence asks for (one per customer and level).
    pub required: u64,
    /// Of those, past due today.
    pub overdue: u64,
    /// Share on schedule, in percent with one decimal.
    pub on_schedule_percent: String,
}

/// The compliance page.
#[derive(Clone, Debug, Serialize)]
pub struct Compliance {
    /// The business date it was computed for.
    pub today: NaiveDate,
    /// By rep.
    pub by_rep: BTreeMap<String, ComplianceCount>,
    /// By level code.
    pub by_level: BTreeMap<String, ComplianceCount>,
    /// Every overdue visit, most overdue first.
    pub overdue: Vec<DueVisit>,
}

/// The rep a request names, checked: none when absent or empty, refused when no user.
pub fn rep_asked(db: &dyn Db, rep: Option<&str>) -> Result<Option<String>, ServerError> {
    let Some(rep) = rep.map(str::trim).filter(|r| !r.is_empty()) else { return Ok(None) };
    if super::people::Names::load(db)?.knows(rep) {
        Ok(Some(rep.to_owned()))
    } else {
        Err(ServerError::Invalid { field: "rep", reason: format!("no user {rep:?}") })
    }
}

/// Visit compliance at `now`.
pub fn compliance(
    db: &dyn Db,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<Compliance, ServerError> {
    compliance_of(db, policy, now, None)
}

/// Visit compliance at `now`, of the customers `rep` owns when one is named (`by_rep` then
/// holds that rep alone).
pub fn compliance_of(
    db: &dyn Db,
    policy: &Policy,
    now: DateTime<Utc>,
    rep: Option<&str>,
) -> Result<Compliance, ServerError> {
    let today = policy.business_date(now);
    let owners = db.owners_by_customer()?;
    let mut by_rep: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut by_level: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut overdue = Vec::new();
    for customer in db.cadence_visits()? {
        let reps = owners.get(customer.customer_id.as_str()).cloned().unwrap_or_default();
        if rep.is_some_and(|rep| !reps.iter().any(|r| r == rep)) {
            continue;
        }
        let due_now = rules::visits_due_for(
            &customer.classification,
            customer.created_at,
            &customer.visits,
            policy,
        );
        for due in due_now {
            let late = rules::is_overdue(&due, today);
            for owner in reps.iter().filter(|r| rep.is_none_or(|rep| rep == r.as_str())) {
                tally(by_rep.entry(owner.clone()).or_default(), late);
            }
            tally(by_level.entry(due.level.as_str().to_owned()).or_default(), late);
            if late {
                overdue.push(DueVisit {
                    customer_id: customer.customer_id.clone(),
                    customer_name: customer.name.clone(),
                    owners: reps.clone(),
                    level: due.level.as_str().to_owned(),
                    last_visit_on: due.last_visit_on,
                    next_due_on: due.next_due_on,
                    overdue: true,
                });
            }
        }
    }
    overdue
        .sort_by(|a, b| a.next_due_on.cmp(&b.next_due_on).then(a.customer_id.cmp(&b.customer_id)));
    Ok(Compliance { today, by_rep: finish(by_rep), by_level: finish(by_level), overdue })
}

fn tally(counts: &mut (u64, u64), late: bool) {
    counts.0 = counts.0.saturating_add(1);
    counts.1 = counts.1.saturating_add(u64::from(late));
}

fn finish(counts: BTreeMap<String, (u64, u64)>) -> BTreeMap<String, ComplianceCount> {
    counts
        .into_iter()
        .map(|(key, (required, overdue))| {
            let on_time = required.saturating_sub(overdue);
            let on_schedule_percent =
                percent_tenths(on_time, required).unwrap_or_else(|| "100.0".into());
            (key, ComplianceCount { required, overdue, on_schedule_percent })
        })
        .collect()
}

/// `part / whole` in percent with one decimal (`"83.3"`), rounded down; `None` when `whole`
/// is 0. Tenths of a percent in integers: a ratio of counts needs no float.
pub fn percent_tenths(part: u64, whole: u64) -> Option<String> {
    let tenths = part.saturating_mul(1000).checked_div(whole)?;
    Some(format!("{}.{}", tenths / 10, tenths % 10))
}

/// The days of a month that count: from its first day to its last, or to `today` in the
/// current month (a visit due later this month is not missed yet). `None` for a month
/// that has not begun or that chrono cannot represent.
pub fn month_window(month: YearMonth, today: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
    let first = month.first_day()?;
    let last = month.add_months(1).first_day()?.pred_opt()?;
    (first <= today).then(|| (first, last.min(today)))
}

/// One cadence entry of a month: a visit the cadence asked for by a day of the month.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct MonthEntry {
    /// Its level.
    pub level: VisitLevel,
    /// The day it was due: in the month, or before it when it was already late then.
    pub due_on: NaiveDate,
    /// The visit in the month that made it, if any.
    pub visited_on: Option<NaiveDate>,
}

/// The cadence entries of `customer` in the window `first..=last` — the visit measure of the
/// staff scorecards (`hq::scorecards`), for one customer:
///
/// * the entries are the cadence (`rules::visits_due_for`) as it stood at the window's start,
///   counting the visits made before it, whose due date falls on or before `last` (an entry
///   already late at the start counts too: it is still owed);
/// * one is made when a visit that counts for it (its level for a strategic customer, any
///   level for a grade-A one) was made within the window.
///
/// The classification is the customer's current one: the projection keeps no earlier one.
/// `customer.visits` must be oldest first, as `ChartQueries::cadence_visits` gives them.
pub fn month_entries(
    customer: &CadenceCustomer,
    (first, last): (NaiveDate, NaiveDate),
    policy: &Policy,
) -> Vec<MonthEntry> {
    let class = &customer.classification;
    let before = customer.visits.partition_point(|(_, day)| *day < first);
    let until = customer.visits.partition_point(|(_, day)| *day <= last);
    let (earlier, through) = (customer.visits.get(..before), customer.visits.get(..until));
    let (Some(earlier), Some(through)) = (earlier, through) else { return Vec::new() };
    let at_start = rules::visits_due_for(class, customer.created_at, earlier, policy);
    let at_end = rules::visits_due_for(class, customer.created_at, through, policy);
    at_start
        .iter()
        .filter(|entry| entry.next_due_on <= last)
        .map(|entry| MonthEntry {
            level: entry.level,
            due_on: entry.next_due_on,
            visited_on: at_end
                .iter()
                .find(|e| e.level == entry.level)
                .and_then(|e| e.last_visit_on)
                .filter(|day| *day >= first && *day <= last),
        })
        .collect()
}

/// One line of a month's list: a customer's entry with its name and reps.
#[derive(Clone, Debug, Serialize)]
pub struct MonthLine {
    /// Customer id.
    pub customer_id: String,
    /// Customer name.
    pub customer_name: String,
    /// Owning reps.
    pub owners: Vec<String>,
    /// The entry.
    #[serde(flatten)]
    pub entry: MonthEntry,
}

/// A month's visit compliance: the rows behind a month of the compliance chart.
#[derive(Clone, Debug, Serialize)]
pub struct MonthCompliance {
    /// The month (`YYYY-MM`).
    #[serde(serialize_with = "super::charts::month_text")]
    pub month: YearMonth,
    /// The window's first and last day (the last is today in the current month).
    pub first: NaiveDate,
    /// See `first`.
    pub last: NaiveDate,
    /// Entries due.
    pub due: u64,
    /// Of those, made in the window.
    pub made: u64,
    /// `made / due` in percent with one decimal; `None` when nothing was due.
    pub percent: Option<String>,
    /// Every entry, missed ones first, then by due date.
    pub lines: Vec<MonthLine>,
}

/// The cadence entries of `month` (see [`month_entries`]) of every cadence customer, or of
/// those `rep` owns; `None` for a month that has not begun.
pub fn month(
    db: &dyn Db,
    policy: &Policy,
    now: DateTime<Utc>,
    month: YearMonth,
    rep: Option<&str>,
) -> Result<Option<MonthCompliance>, ServerError> {
    let today = policy.business_date(now);
    let Some(window) = month_window(month, today) else { return Ok(None) };
    let owners = db.owners_by_customer()?;
    let mut lines = Vec::new();
    for customer in db.cadence_visits()? {
        let reps = owners_of(&owners, &customer.customer_id);
        if rep.is_some_and(|rep| !reps.iter().any(|r| r == rep)) {
            continue;
        }
        for entry in month_entries(&customer, window, policy) {
            lines.push(MonthLine {
                customer_id: customer.customer_id.clone(),
                customer_name: customer.name.clone(),
                owners: reps.clone(),
                entry,
            });
        }
    }
    lines.sort_by(|a, b| {
        (a.entry.visited_on.is_some(), a.entry.due_on, &a.customer_id).cmp(&(
            b.entry.visited_on.is_some(),
            b.entry.due_on,
            &b.customer_id,
        ))
    });
    let due = u64::try_from(lines.len()).unwrap_or(u64::MAX);
    let made = u64::try_from(lines.iter().filter(|l| l.entry.visited_on.is_some()).count())
        .unwrap_or(u64::MAX);
    let (first, last) = window;
    Ok(Some(MonthCompliance {
        month,
        first,
        last,
        due,
        made,
        percent: percent_tenths(made, due),
        lines,
    }))
}

/// The reps owning `customer_id`.
pub(crate) fn owners_of(owners: &HashMap<String, Vec<String>>, customer_id: &str) -> Vec<String> {
    owners.get(customer_id).cloned().unwrap_or_default()
}

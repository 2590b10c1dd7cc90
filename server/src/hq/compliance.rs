//! Visit compliance (拜访机制): for every customer the cadence applies to, each level's due
//! date against today, counted by rep and by level.
//!
//! The due dates come from the same pure rule the tablets use (`rules::visits_due`), fed
//! from the projection rows, so headquarters and the rep see the same dates.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use kam_core::Policy;
use kam_core::rules;
use serde::Serialize;

use crate::db::HqQueries;
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

/// Visit compliance at `now`.
pub fn compliance(
    db: &dyn HqQueries,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<Compliance, ServerError> {
    let today = policy.business_date(now);
    let owners = db.owners_by_customer()?;
    let mut by_rep: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut by_level: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut overdue = Vec::new();
    for (customer, name) in db.cadence_customers()? {
        let reps = owners.get(customer.id.as_str()).cloned().unwrap_or_default();
        for due in rules::visits_due(&customer, policy) {
            let late = rules::is_overdue(&due, today);
            for rep in &reps {
                tally(by_rep.entry(rep.clone()).or_default(), late);
            }
            tally(by_level.entry(due.level.as_str().to_owned()).or_default(), late);
            if late {
                overdue.push(DueVisit {
                    customer_id: customer.id.to_string(),
                    customer_name: name.clone(),
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
    counts.0 += 1;
    counts.1 += u64::from(late);
}

fn finish(counts: BTreeMap<String, (u64, u64)>) -> BTreeMap<String, ComplianceCount> {
    counts
        .into_iter()
        .map(|(key, (required, overdue))| {
            // Tenths of a percent in integers: a ratio of counts needs no float.
            let tenths = ((required - overdue) * 1000).checked_div(required).unwrap_or(1000);
            let on_schedule_percent = format!("{}.{}", tenths / 10, tenths % 10);
            (key, ComplianceCount { required, overdue, on_schedule_percent })
        })
        .collect()
}

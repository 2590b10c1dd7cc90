//! Visit cadence (拜访机制, seed 000 §4.2) and the A-grade quarterly contact (seed 001).

use chrono::{DateTime, Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{Classification, Customer, Grade, VisitLevel};
use crate::policy::Policy;

use super::is_strategic;

/// When the next visit of one level is due.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitDue {
    /// The level of visit that is due.
    pub level: VisitLevel,
    /// The last visit that counts for this entry, if any.
    pub last_visit_on: Option<NaiveDate>,
    /// The last day on which the next visit is still on time.
    pub next_due_on: NaiveDate,
}

/// `date` plus `months` calendar months; a day past the end of the target month clamps to
/// its last day (Jan 31 + 1 month = Feb 28 or 29). Saturates at the end of time.
pub(super) fn add_months(date: NaiveDate, months: u32) -> NaiveDate {
    date.checked_add_months(Months::new(months)).unwrap_or(NaiveDate::MAX)
}

/// The interval in months for a strategic customer's visit level.
fn strategic_interval(level: VisitLevel, policy: &Policy) -> u32 {
    let v = &policy.visits;
    match level {
        VisitLevel::Leadership => v.leadership_months,
        VisitLevel::AccountManager => v.account_manager_months,
        VisitLevel::Technical => v.technical_months,
        VisitLevel::Quality => v.quality_months,
    }
}

/// One entry: due `months` after the latest counted visit, or after the customer was created.
fn due_entry(
    level: VisitLevel,
    last: Option<NaiveDate>,
    created_on: NaiveDate,
    months: u32,
) -> VisitDue {
    VisitDue {
        level,
        last_visit_on: last,
        next_due_on: add_months(last.unwrap_or(created_on), months),
    }
}

/// The visits a customer's cadence calls for, sorted by level.
///
/// * Strategic customers (designated, or tier strategic): one entry per level, counting only
///   visits of that level — leadership every 6 months, account manager monthly, technical
///   every 6 months, quality quarterly (defaults).
/// * Grade-A customers that are not strategic: one account-manager entry, every 3 months,
///   counting a visit or call of *any* level (the seed asks for "电话或现场随访" by anyone).
/// * Everyone else: no cadence.
///
/// A customer never visited is due counted from its creation (business-local date).
pub fn visits_due(customer: &Customer, policy: &Policy) -> Vec<VisitDue> {
    let visits: Vec<(VisitLevel, NaiveDate)> =
        customer.visits.values().map(|v| (v.level, v.date)).collect();
    visits_due_for(&customer.classification, customer.created_at, &visits, policy)
}

/// [`visits_due`] from the parts it depends on: the classification, when the customer was
/// created, and the level and date of every visit (in any order). A device's list index
/// reads only these from the document.
pub fn visits_due_for(
    class: &Classification,
    created_at: DateTime<Utc>,
    visits: &[(VisitLevel, NaiveDate)],
    policy: &Policy,
) -> Vec<VisitDue> {
    let created_on = policy.business_date(created_at);
    let last_of = |level: Option<VisitLevel>| {
        visits.iter().filter(|(l, _)| level.is_none_or(|want| *l == want)).map(|(_, d)| *d).max()
    };
    if is_strategic(class) {
        VisitLevel::ALL
            .iter()
            .map(|&level| {
                let months = strategic_interval(level, policy);
                due_entry(level, last_of(Some(level)), created_on, months)
            })
            .collect()
    } else if class.grade == Some(Grade::A) {
        let months = policy.visits.grade_a_contact_months;
        vec![due_entry(VisitLevel::AccountManager, last_of(None), created_on, months)]
    } else {
        Vec::new()
    }
}

/// Overdue when `today` is after the due date; the due date itself is still on time.
pub fn is_overdue(due: &VisitDue, today: NaiveDate) -> bool {
    today > due.next_due_on
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn month_arithmetic_clamps_to_month_end() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(add_months(d(2026, 1, 31), 1), d(2026, 2, 28));
        assert_eq!(add_months(d(2028, 1, 31), 1), d(2028, 2, 29));
        assert_eq!(add_months(d(2026, 8, 31), 6), d(2027, 2, 28));
        assert_eq!(add_months(NaiveDate::MAX, 1), NaiveDate::MAX);
    }
}

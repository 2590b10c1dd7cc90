//! Satisfaction surveys (客户满意度调查, 002, 003 七.4, 000 §4.2.5.3; RULES.md §10): a
//! survey's score, when the next periodic survey is due, and a customer's satisfaction.

use std::collections::BTreeMap;

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::model::{Survey, SurveyItem, Tier};
use crate::policy::Policy;

/// Why a survey cannot be scored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SurveyRefusal {
    /// No item was scored.
    #[error("调查未打分 (the survey scores no item)")]
    NoItems,
    /// An item's score is above 100.
    #[error("{}得分 {score} 超过 100 ({item} scored {score}, above 100)", item.label_zh())]
    ItemOutOfRange {
        /// The item.
        item: SurveyItem,
        /// The score given.
        score: u8,
    },
}

impl SurveyRefusal {
    /// Stable machine code, the same as the serde `kind`.
    pub fn code(&self) -> &'static str {
        match self {
            SurveyRefusal::NoItems => "no_items",
            SurveyRefusal::ItemOutOfRange { .. } => "item_out_of_range",
        }
    }
}

/// `round_half_up(total / count)` in integers; `None` for no values.
fn mean_half_up(total: u64, count: u64) -> Option<u64> {
    // (2·total + count) / (2·count) = floor(total/count + 1/2).
    total.checked_mul(2)?.checked_add(count)?.checked_div(count.checked_mul(2)?)
}

/// A survey's score: the mean of its items, rounded half up (84.5 → 85). Every item weighs
/// the same: the seeds name the items but no weights.
pub fn survey_score(items: &BTreeMap<SurveyItem, u8>) -> Result<u8, SurveyRefusal> {
    if let Some((item, score)) = items.iter().find(|(_, s)| **s > 100) {
        return Err(SurveyRefusal::ItemOutOfRange { item: *item, score: *score });
    }
    let total: u64 = items.values().map(|s| u64::from(*s)).fold(0, u64::saturating_add);
    let count = u64::try_from(items.len()).unwrap_or(u64::MAX);
    mean_half_up(total, count).and_then(|m| u8::try_from(m).ok()).ok_or(SurveyRefusal::NoItems)
}

/// Months between periodic surveys: `surveys.key_interval_months` for strategic and key
/// customers, `surveys.other_interval_months` for the others.
pub fn survey_interval_months(tier: Tier, policy: &Policy) -> u32 {
    match tier {
        Tier::Strategic | Tier::Key => policy.surveys.key_interval_months,
        Tier::Main | Tier::General => policy.surveys.other_interval_months,
    }
}

/// When the next periodic survey is due.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SurveyDue {
    /// The last day on which the survey is on time.
    pub due_on: NaiveDate,
    /// Whether `today` is past `due_on`.
    pub overdue: bool,
}

/// `date` plus `months` calendar months, clamped to the month's end and saturating at the
/// end of time — the same arithmetic as the visit cadence (`rules::cadence`).
fn add_months(date: NaiveDate, months: u32) -> NaiveDate {
    date.checked_add_months(Months::new(months)).unwrap_or(NaiveDate::MAX)
}

/// The next periodic survey: due the interval after the last periodic survey (or after the
/// customer was created, if never surveyed), read like the visit cadence — an interval after
/// the last one, not a calendar quarter or half — so that a survey taken late does not leave
/// the next one due almost at once. `due_on` itself is on time; the day after is overdue.
/// After-service calls (回访) do not reset the cadence: pass the last *periodic* survey.
pub fn survey_due(
    tier: Tier,
    last_periodic_on: Option<NaiveDate>,
    created_on: NaiveDate,
    today: NaiveDate,
    policy: &Policy,
) -> SurveyDue {
    let months = survey_interval_months(tier, policy);
    let due_on = add_months(last_periodic_on.unwrap_or(created_on), months);
    SurveyDue { due_on, overdue: today > due_on }
}

/// A customer's satisfaction from its recent surveys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SatisfactionFactor {
    /// Mean of the counted surveys' scores, rounded half up.
    pub score: u8,
    /// How many surveys were counted.
    pub surveys_counted: u32,
    /// The first day of the window (surveys taken on or after it count).
    pub since: NaiveDate,
}

/// The mean score of the surveys (periodic and after-service alike) taken in the
/// `surveys.satisfaction_window_months` up to `today` (business dates; the window's first
/// day and `today` count, later dates do not). Surveys that cannot be scored are skipped.
/// `None` when no survey counts.
pub fn satisfaction_factor(
    surveys: &[Survey],
    today: NaiveDate,
    policy: &Policy,
) -> Option<SatisfactionFactor> {
    let window = Months::new(policy.surveys.satisfaction_window_months);
    let since = today.checked_sub_months(window).unwrap_or(NaiveDate::MIN);
    let scores: Vec<u64> = surveys
        .iter()
        .filter(|s| (since..=today).contains(&policy.business_date(s.taken_at)))
        .filter_map(|s| survey_score(&s.items).ok())
        .map(u64::from)
        .collect();
    let counted = u64::try_from(scores.len()).ok()?;
    let total = scores.iter().fold(0u64, |acc, s| acc.saturating_add(*s));
    let score = u8::try_from(mean_half_up(total, counted)?).ok()?;
    Some(SatisfactionFactor { score, surveys_counted: u32::try_from(counted).ok()?, since })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::model::{CustomerId, SurveyId, SurveyKind, UserId};

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn items(scores: &[(SurveyItem, u8)]) -> BTreeMap<SurveyItem, u8> {
        scores.iter().copied().collect()
    }

    fn survey(on: NaiveDate, score: u8) -> Survey {
        // Noon in China is 04:00 UTC the same day.
        let taken_at = Utc.from_utc_datetime(&on.and_hms_opt(4, 0, 0).unwrap());
        Survey {
            id: SurveyId::from("s"),
            customer_id: CustomerId::from("c1"),
            kind: SurveyKind::Periodic,
            ticket_id: None,
            taken_at,
            taken_by: UserId::from("u1"),
            respondent: "王经理".to_owned(),
            items: items(&[(SurveyItem::Overall, score)]),
            comments: String::new(),
        }
    }

    #[test]
    fn score_is_the_mean_rounded_half_up() {
        use SurveyItem::*;
        assert_eq!(survey_score(&items(&[(Product, 84), (Service, 85)])), Ok(85)); // 84.5
        assert_eq!(survey_score(&items(&[(Product, 84), (Service, 84), (Delivery, 85)])), Ok(84));
        assert_eq!(survey_score(&items(&[(Overall, 100)])), Ok(100));
        assert_eq!(survey_score(&items(&[(Overall, 0)])), Ok(0));
        assert_eq!(survey_score(&BTreeMap::new()), Err(SurveyRefusal::NoItems));
        let err = survey_score(&items(&[(Product, 90), (Delivery, 101)])).unwrap_err();
        assert_eq!(err, SurveyRefusal::ItemOutOfRange { item: Delivery, score: 101 });
        assert!(err.to_string().contains("交付"), "{err}");
    }

    #[test]
    fn interval_by_tier() {
        let p = Policy::default();
        assert_eq!(survey_interval_months(Tier::Strategic, &p), 3);
        assert_eq!(survey_interval_months(Tier::Key, &p), 3);
        assert_eq!(survey_interval_months(Tier::Main, &p), 6);
        assert_eq!(survey_interval_months(Tier::General, &p), 6);
    }

    #[test]
    fn due_on_the_cadences_last_day_overdue_the_day_after() {
        let p = Policy::default();
        let last = Some(d(2026, 1, 15));
        let created = d(2025, 1, 1);
        let on_last_day = survey_due(Tier::Key, last, created, d(2026, 4, 15), &p);
        assert_eq!(on_last_day, SurveyDue { due_on: d(2026, 4, 15), overdue: false });
        assert!(survey_due(Tier::Key, last, created, d(2026, 4, 16), &p).overdue);
        let general = survey_due(Tier::General, last, created, d(2026, 4, 16), &p);
        assert_eq!(general, SurveyDue { due_on: d(2026, 7, 15), overdue: false });
        let never = survey_due(Tier::Strategic, None, d(2025, 11, 30), d(2026, 3, 1), &p);
        assert_eq!(never, SurveyDue { due_on: d(2026, 2, 28), overdue: true });
    }

    #[test]
    fn satisfaction_counts_the_window_only() {
        let p = Policy::default();
        let today = d(2026, 6, 30);
        assert_eq!(satisfaction_factor(&[], today, &p), None);
        let surveys = [
            survey(d(2025, 6, 29), 10), // before the window
            survey(d(2025, 6, 30), 80), // the window's first day
            survey(d(2026, 6, 30), 85), // today
            survey(d(2026, 7, 1), 0),   // future
        ];
        let f = satisfaction_factor(&surveys, today, &p).unwrap();
        assert_eq!(f, SatisfactionFactor { score: 83, surveys_counted: 2, since: d(2025, 6, 30) });
        let mut unscorable = survey(d(2026, 1, 1), 0);
        unscorable.items.clear();
        assert_eq!(satisfaction_factor(&[unscorable], today, &p), None);
    }
}

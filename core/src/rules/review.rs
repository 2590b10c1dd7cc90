//! The monthly leadership review (000 §4.3.3; RULES.md §11): measures stay open until closed
//! and open ones are carried onto the next month's report.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::model::{LeadershipReview, Measure};

/// Why a measure cannot be closed, or a month not read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReviewRefusal {
    /// The measure is already closed.
    #[error("措施已关闭 (the measure is already closed)")]
    AlreadyClosed,
    /// Closing needs a note of what was done.
    #[error("关闭措施须说明完成情况 (closing a measure needs a note of what was done)")]
    NoteMissing,
    /// A month that is not `YYYY-MM`.
    #[error("月份 {month} 格式应为 YYYY-MM (month {month} is not YYYY-MM)")]
    BadMonth {
        /// The text given.
        month: String,
    },
}

impl ReviewRefusal {
    /// Stable machine code, the same as the serde `kind`.
    pub fn code(&self) -> &'static str {
        match self {
            ReviewRefusal::AlreadyClosed => "already_closed",
            ReviewRefusal::NoteMissing => "note_missing",
            ReviewRefusal::BadMonth { .. } => "bad_month",
        }
    }
}

/// The review month (`YYYY-MM`) of a business date.
pub fn month_of(today: NaiveDate) -> String {
    format!("{:04}-{:02}", today.year(), today.month())
}

/// Whether `month` is a real `YYYY-MM` month.
fn is_month(month: &str) -> bool {
    let Some((y, m)) = month.split_once('-') else { return false };
    y.len() == 4
        && m.len() == 2
        && y.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit())
        && m.parse::<u32>().is_ok_and(|m| (1..=12).contains(&m))
}

/// An open measure decided at an earlier review, as the next report shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CarriedMeasure {
    /// The month of the review that decided it.
    pub review_month: String,
    /// The measure.
    pub measure: Measure,
    /// Whether it is past its due date on `today`.
    pub overdue: bool,
}

/// Open means not closed.
fn is_open(measure: &Measure) -> bool {
    measure.closed.is_none()
}

/// Overdue: still open and `today` is after its due date (the due date itself is on time).
pub fn measure_overdue(measure: &Measure, today: NaiveDate) -> bool {
    is_open(measure) && today > measure.due_on
}

/// The measures of reviews held for months before `month` that are still open, for
/// `month`'s report: oldest review first, then by due date, then by id. Overdue is judged on
/// `today` (the report's date), so a report printed late says what is late then.
pub fn open_measures_before(
    reviews: &[LeadershipReview],
    month: &str,
    today: NaiveDate,
) -> Result<Vec<CarriedMeasure>, ReviewRefusal> {
    if !is_month(month) {
        return Err(ReviewRefusal::BadMonth { month: month.to_owned() });
    }
    // `YYYY-MM` strings order like the months they name.
    let mut out: Vec<CarriedMeasure> = reviews
        .iter()
        .filter(|r| is_month(&r.id.to_string()) && r.id.to_string().as_str() < month)
        .flat_map(|r| {
            r.measures.values().filter(|m| is_open(m)).map(|m| CarriedMeasure {
                review_month: r.id.to_string(),
                measure: m.clone(),
                overdue: measure_overdue(m, today),
            })
        })
        .collect();
    out.sort_by(|a, b| {
        (&a.review_month, a.measure.due_on, &a.measure.id).cmp(&(
            &b.review_month,
            b.measure.due_on,
            &b.measure.id,
        ))
    });
    Ok(out)
}

/// Whether the measure may be closed with `note`: it must be open and the note must say what
/// was done.
pub fn check_close_measure(measure: &Measure, note: &str) -> Result<(), ReviewRefusal> {
    if !is_open(measure) {
        return Err(ReviewRefusal::AlreadyClosed);
    }
    if note.trim().is_empty() {
        return Err(ReviewRefusal::NoteMissing);
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::Utc;

    use super::*;
    use crate::model::{EntryId, MeasureClosing, ReviewId, UserId};

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn measure(id: &str, due_on: NaiveDate, closed: bool) -> Measure {
        Measure {
            id: EntryId::from(id),
            customer_id: None,
            text: "整改".to_owned(),
            owner: UserId::from("u1"),
            due_on,
            closed: closed.then(|| MeasureClosing {
                by: UserId::from("u1"),
                at: Utc::now(),
                note: "done".to_owned(),
            }),
        }
    }

    fn review(month: &str, measures: Vec<Measure>) -> LeadershipReview {
        LeadershipReview {
            id: ReviewId::from(month),
            held_on: d(2026, 1, 5),
            attendees: BTreeMap::new(),
            findings: BTreeMap::new(),
            measures: measures.into_iter().map(|m| (m.id.clone(), m)).collect(),
        }
    }

    #[test]
    fn months() {
        assert_eq!(month_of(d(2026, 3, 9)), "2026-03");
        assert!(is_month("2026-12") && !is_month("2026-13") && !is_month("2026-1"));
        assert!(!is_month("2026") && !is_month("２０２６-01") && !is_month("2026-00"));
    }

    #[test]
    fn open_measures_of_earlier_months_are_carried() {
        let reviews = [
            review("2026-02", vec![measure("b", d(2026, 3, 10), false)]),
            review(
                "2026-01",
                vec![
                    measure("z", d(2026, 2, 1), false),
                    measure("a", d(2026, 3, 31), false),
                    measure("c", d(2026, 1, 20), true),
                ],
            ),
            review("2026-03", vec![measure("x", d(2026, 3, 1), false)]),
        ];
        let carried = open_measures_before(&reviews, "2026-03", d(2026, 3, 10)).unwrap();
        let ids: Vec<(String, String, bool)> = carried
            .iter()
            .map(|c| (c.review_month.clone(), c.measure.id.to_string(), c.overdue))
            .collect();
        assert_eq!(
            ids,
            [
                ("2026-01".to_owned(), "z".to_owned(), true),
                ("2026-01".to_owned(), "a".to_owned(), false),
                ("2026-02".to_owned(), "b".to_owned(), false), // due today: on time
            ]
        );
        let err = open_measures_before(&reviews, "2026-3", d(2026, 3, 10)).unwrap_err();
        assert_eq!(err.code(), "bad_month");
    }

    #[test]
    fn overdue_and_closing() {
        let open = measure("m", d(2026, 3, 10), false);
        assert!(!measure_overdue(&open, d(2026, 3, 10)));
        assert!(measure_overdue(&open, d(2026, 3, 11)));
        let closed = measure("m", d(2026, 3, 10), true);
        assert!(!measure_overdue(&closed, d(2027, 1, 1)));
        assert_eq!(check_close_measure(&open, "已完成整改"), Ok(()));
        assert_eq!(check_close_measure(&open, "  "), Err(ReviewRefusal::NoteMissing));
        assert_eq!(check_close_measure(&closed, "again"), Err(ReviewRefusal::AlreadyClosed));
    }
}

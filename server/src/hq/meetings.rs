//! The strategic-account leadership group's monthly review (RULES.md §11): the months held,
//! one month's attendees, findings and measures, and the measures of earlier months still
//! open (overdue first) — plus headquarters' actions on the month's record.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use kam_core::Policy;
use kam_core::doc::ReviewEdit;
use kam_core::model::{
    CustomerId, EntryId, Finding, FindingKind, LeadershipReview, Measure, MeasureClosing, ReviewId,
    Role, UserId,
};
use serde::{Deserialize, Serialize};

use super::decisions::{Decider, write_and_announce};
use super::listing::{self, Dir, ListSpec, SortColumn, SortValue};
use super::records;
use crate::db::ManagementQueries;
use crate::db::management::{MeasureRow, ReviewDetail, ReviewRow};
use crate::error::ServerError;
use crate::services::Services;

/// A measure with what today makes of it.
#[derive(Clone, Debug, Serialize)]
pub struct MeasureLine {
    /// The measure.
    #[serde(flatten)]
    pub measure: MeasureRow,
    /// Open and past its due date.
    pub overdue: bool,
}

/// One month's page.
#[derive(Clone, Debug, Serialize)]
pub struct MeetingView {
    /// The month, `YYYY-MM`.
    pub month: String,
    /// The month's record, once created.
    pub review: Option<ReviewDetail>,
    /// The month's measures with their state today.
    pub measures: Vec<MeasureLine>,
    /// Measures of earlier months still open, overdue first, then by due date.
    pub open_before: Vec<MeasureLine>,
}

/// Whether `month` is `YYYY-MM`.
pub fn valid_month(month: &str) -> bool {
    NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").is_ok() && month.len() == 7
}

fn line(measure: MeasureRow, today: NaiveDate) -> MeasureLine {
    let due = measure.due_on.parse::<NaiveDate>().ok();
    let overdue = measure.closed_at.is_none() && due.is_some_and(|d| d < today);
    MeasureLine { measure, overdue }
}

/// The month list's filters, as the query string spells them.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct MonthQuery {
    /// `YYYY`: the months of one year.
    pub year: Option<String>,
    /// `yes`: months with measures still open; `no`: months with none.
    pub open: Option<String>,
    /// Part of the month or of an attendee's name.
    pub q: Option<String>,
}

impl MonthQuery {
    /// The filters as query-string pairs.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let v = |o: &Option<String>| o.clone().unwrap_or_default();
        vec![("year", v(&self.year)), ("open", v(&self.open)), ("q", v(&self.q))]
    }
}

fn count(n: u64) -> Option<SortValue> {
    i64::try_from(n).ok().map(SortValue::Int)
}

/// The month list: the newest first by default.
pub const MONTHS: ListSpec<ReviewRow> = ListSpec {
    columns: &[
        SortColumn { key: "month", value: |r| Some(SortValue::Text(r.review_id.clone())) },
        SortColumn { key: "held", value: |r| Some(SortValue::Text(r.held_on.clone())) },
        SortColumn { key: "findings", value: |r| count(r.findings) },
        SortColumn { key: "open", value: |r| count(r.open_measures) },
    ],
    default: ("month", Dir::Desc),
    id: |r| &r.review_id,
};

/// The months held matching `query`; a year or `open` that cannot be is refused by name.
pub fn months(
    db: &dyn ManagementQueries,
    query: &MonthQuery,
) -> Result<Vec<ReviewRow>, ServerError> {
    let year = listing::given(&query.year);
    if let Some(y) = year
        && !(y.len() == 4 && y.parse::<u16>().is_ok_and(|y| (1970..=9999).contains(&y)))
    {
        return Err(ServerError::Invalid { field: "year", reason: format!("{y:?} is not a year") });
    }
    let open = listing::either(&query.open, "open", ("yes", "no"))?;
    let q = listing::search_text(query.q.as_deref())?;
    let mut months = db.reviews()?;
    months.retain(|m| {
        year.is_none_or(|y| m.review_id.starts_with(y))
            && open.is_none_or(|o| (m.open_measures > 0) == o)
            && q.as_deref().is_none_or(|q| {
                m.review_id.contains(q)
                    || m.attendees.iter().any(|a| listing::contains_folded(a, q))
            })
    });
    Ok(months)
}

/// Open measures decided before `month`, overdue first, at `now`.
pub fn open_before(
    db: &dyn ManagementQueries,
    policy: &Policy,
    now: DateTime<Utc>,
    month: &str,
) -> Result<Vec<MeasureLine>, ServerError> {
    let today = policy.business_date(now);
    let mut lines: Vec<MeasureLine> =
        db.open_measures_before(month)?.into_iter().map(|m| line(m, today)).collect();
    // Stable: the query's due-date order is kept within each group.
    lines.sort_by_key(|l| !l.overdue);
    Ok(lines)
}

/// One month's page at `now`.
pub fn meeting(
    db: &dyn ManagementQueries,
    policy: &Policy,
    now: DateTime<Utc>,
    month: &str,
) -> Result<MeetingView, ServerError> {
    if !valid_month(month) {
        return Err(ServerError::NotFound);
    }
    let today = policy.business_date(now);
    let review = db.review(month)?;
    let measures = review
        .as_ref()
        .map(|r| r.measures.iter().cloned().map(|m| line(m, today)).collect())
        .unwrap_or_default();
    let open_before = open_before(db, policy, now, month)?;
    Ok(MeetingView { month: month.to_owned(), review, measures, open_before })
}

/// Headquarters' action on a month's record.
#[derive(Clone, Debug)]
pub enum ReviewAction {
    /// Create the month's record (or set the day it was held).
    Hold {
        /// The day the group met.
        held_on: NaiveDate,
    },
    /// Add an attendee.
    Attendee {
        /// The attendee's user id.
        user_id: String,
        /// Their name as recorded.
        name: String,
    },
    /// Record a finding about a customer.
    Finding {
        /// The customer.
        customer_id: String,
        /// What about.
        kind: FindingKind,
        /// What was found.
        text: String,
    },
    /// Record a decided measure.
    Measure {
        /// The customer it concerns, if one.
        customer_id: Option<String>,
        /// What is to be done.
        text: String,
        /// Who owns it.
        owner: String,
        /// By when.
        due_on: NaiveDate,
    },
    /// Close an open measure with what was done.
    Close {
        /// The measure.
        measure_id: String,
        /// What was done.
        note: String,
    },
}

fn empty_review(month: &str, held_on: NaiveDate) -> LeadershipReview {
    LeadershipReview {
        id: ReviewId::from(month),
        held_on,
        attendees: BTreeMap::new(),
        findings: BTreeMap::new(),
        measures: BTreeMap::new(),
    }
}

fn required(field: &'static str, text: &str) -> Result<(), ServerError> {
    if text.trim().is_empty() {
        return Err(ServerError::Invalid { field, reason: "is required".into() });
    }
    Ok(())
}

/// The document's edit for `action` on `current` (the month's record, if it exists).
fn edit_for(
    action: ReviewAction,
    current: Option<&LeadershipReview>,
    user: &str,
    now: DateTime<Utc>,
) -> Result<ReviewEdit, ServerError> {
    let review = || current.ok_or(ServerError::NotFound);
    Ok(match action {
        ReviewAction::Hold { held_on } => ReviewEdit::SetMeeting {
            held_on,
            attendees: current.map(|r| r.attendees.clone()).unwrap_or_default(),
        },
        ReviewAction::Attendee { user_id, name } => {
            required("user_id", &user_id)?;
            let r = review()?;
            let mut attendees = r.attendees.clone();
            attendees.insert(UserId(user_id), name);
            ReviewEdit::SetMeeting { held_on: r.held_on, attendees }
        }
        ReviewAction::Finding { customer_id, kind, text } => {
            review()?;
            required("customer_id", &customer_id)?;
            required("text", &text)?;
            ReviewEdit::AddFinding(Finding {
                id: EntryId::new(),
                customer_id: CustomerId(customer_id),
                kind,
                text,
            })
        }
        ReviewAction::Measure { customer_id, text, owner, due_on } => {
            review()?;
            required("text", &text)?;
            required("owner", &owner)?;
            ReviewEdit::AddMeasure(Measure {
                id: EntryId::new(),
                customer_id: customer_id.filter(|c| !c.trim().is_empty()).map(CustomerId),
                text,
                owner: UserId(owner),
                due_on,
                closed: None,
            })
        }
        ReviewAction::Close { measure_id, note } => {
            required("note", &note)?;
            let id = EntryId(measure_id);
            let measure = review()?.measures.get(&id).ok_or(ServerError::NotFound)?;
            kam_core::rules::check_close_measure(measure, &note)
                .map_err(|e| ServerError::Conflict(e.to_string()))?;
            ReviewEdit::CloseMeasure {
                id,
                closing: MeasureClosing { by: UserId::from(user), at: now, note },
            }
        }
    })
}

/// Records `action` on the review of `month` (headquarters or an administrator), then tells
/// devices and the projector. Only `Hold` creates the month's record.
pub async fn act(
    services: &Services,
    by: Decider<'_>,
    month: String,
    action: ReviewAction,
) -> Result<(), ServerError> {
    let user = records::allowed(
        by,
        &[Role::Hq, Role::Admin],
        "the monthly review is kept by headquarters",
    )?;
    if !valid_month(&month) {
        return Err(ServerError::Invalid { field: "month", reason: "is not YYYY-MM".into() });
    }
    write_and_announce(services, move |tx, docs, _| {
        let now = Utc::now();
        let initial = match &action {
            ReviewAction::Hold { held_on } => Some(empty_review(&month, *held_on)),
            _ => None,
        };
        let current: Option<LeadershipReview> = records::read(tx, docs, &month)?;
        let edit = edit_for(action.clone(), current.as_ref(), &user, now)?;
        let (changed, _) = records::apply(tx, docs, &month, initial, &edit, &user, now)?;
        Ok(Some(changed))
    })
    .await
}

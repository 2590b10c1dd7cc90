//! A person's scorecard (绩效考核, 002; 003 六.1) for a month or a year: the sales target and
//! the ratings people give (supervisor, peers, customers) live in the document; the figures
//! from the system's own records are computed by `rules::scorecard` and published into it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::common::{EntryId, ScorecardId, UserId, vocabulary};

/// Who gives a rating (上级/同事/客户评价).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RaterKind {
    /// The person's supervisor.
    Supervisor,
    /// A colleague.
    Peer,
    /// A customer (entered by HQ from what the customer said).
    Customer,
}
vocabulary!(RaterKind, "rater kind", {
    Supervisor => "supervisor", Peer => "peer", Customer => "customer"
});

/// One rating, 0–100.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rating {
    /// Stable id.
    pub id: EntryId,
    /// Who kind of rater.
    pub rater: RaterKind,
    /// The user who entered it.
    pub by: UserId,
    /// Score 0–100.
    pub score: u8,
    /// When.
    pub at: DateTime<Utc>,
    /// Why.
    pub note: String,
}

/// One measure of a scorecard as published: its value, points and how it was computed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScorecardLine {
    /// Measure code (`rules::ScoreMeasure`).
    pub measure: String,
    /// Attainment 0–100 (percent of the measure's goal reached, capped).
    pub attainment: Decimal,
    /// Weight in percent.
    pub weight_pct: u32,
    /// Points: attainment × weight / 100.
    pub points: Decimal,
    /// How the figure was computed from the records, in words.
    pub basis: String,
}

/// The figures published into a scorecard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedScorecard {
    /// When they were computed.
    pub computed_at: DateTime<Utc>,
    /// The lines, in policy order.
    pub lines: BTreeMap<String, ScorecardLine>,
    /// Total points 0–100.
    pub total: Decimal,
}

/// One person's scorecard for one period: one `scorecard/<user>-<period>` document, seen by
/// the person and the back office.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scorecard {
    /// Stable id (`<user>-<period>`).
    pub id: ScorecardId,
    /// Whose scorecard.
    pub person: UserId,
    /// `YYYY-MM` for a month, `YYYY` for a year.
    pub period: String,
    /// Sales target for the period in CNY.
    pub sales_target: Decimal,
    /// Ratings given.
    pub ratings: BTreeMap<EntryId, Rating>,
    /// The last published figures.
    pub published: Option<PublishedScorecard>,
}

/// The id of `person`'s scorecard for `period`.
pub fn scorecard_id(person: &UserId, period: &str) -> ScorecardId {
    ScorecardId(format!("{person}-{period}"))
}

//! The staff scorecards as a list (ADR 0025): searched by person, filtered by period and
//! person, sorted, paged, people by name.

use serde::{Deserialize, Serialize};

use super::listing::{self, Dir, ListParams, ListSpec, Page, SortColumn, SortValue};
use super::people::Names;
use crate::db::Db;
use crate::db::management::ScorecardRow;
use crate::error::ServerError;

/// The scorecard list's filters, as the query string spells them.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct ScorecardQuery {
    /// `YYYY-MM` or `YYYY`.
    pub period: Option<String>,
    /// The person's user id.
    pub person: Option<String>,
    /// Part of the person's id or name.
    pub q: Option<String>,
}

impl ScorecardQuery {
    /// The filters as query-string pairs.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let v = |o: &Option<String>| o.clone().unwrap_or_default();
        vec![("period", v(&self.period)), ("person", v(&self.person)), ("q", v(&self.q))]
    }
}

/// A scorecard as listed: its row and its person's name.
#[derive(Clone, Debug, Serialize)]
pub struct ScorecardLine {
    /// The scorecard.
    #[serde(flatten)]
    pub card: ScorecardRow,
    /// The person's name.
    pub person_name: String,
}

/// The columns the list sorts by (`sort=`); `period`, the latest first, by default.
pub const SORT_COLUMNS: &[SortColumn<ScorecardLine>] = &[
    SortColumn { key: "period", value: |c| Some(SortValue::Text(c.card.period.clone())) },
    SortColumn { key: "person", value: |c| Some(SortValue::Text(c.person_name.clone())) },
    SortColumn {
        key: "target",
        value: |c| listing::money_value(c.card.sales_target.parse().ok()?),
    },
    SortColumn {
        key: "total",
        value: |c| listing::money_value(c.card.total.as_deref()?.parse().ok()?),
    },
];

/// The list: its columns, its order when none is asked, its rows' ids.
pub const SCORECARDS: ListSpec<ScorecardLine> = ListSpec {
    columns: SORT_COLUMNS,
    default: ("period", Dir::Desc),
    id: |c| &c.card.scorecard_id,
};

/// One page of the scorecards matching `query`.
pub fn page(
    db: &dyn Db,
    query: &ScorecardQuery,
    params: &ListParams,
) -> Result<Page<ScorecardLine>, ServerError> {
    SCORECARDS.page(params, || matching(db, query))
}

/// Every scorecard matching `query` in the order `params` asks (for the list's file).
pub fn sorted(
    db: &dyn Db,
    query: &ScorecardQuery,
    params: &ListParams,
) -> Result<Vec<ScorecardLine>, ServerError> {
    SCORECARDS.sorted(params, || matching(db, query))
}

/// The scorecards matching `query`; a period or person that cannot be is refused by name.
fn matching(db: &dyn Db, query: &ScorecardQuery) -> Result<Vec<ScorecardLine>, ServerError> {
    let period = listing::given(&query.period);
    if let Some(p) = period {
        kam_core::rules::period_bounds(p)
            .map_err(|e| ServerError::Invalid { field: "period", reason: format!("{p:?}: {e}") })?;
    }
    let names = Names::load(db)?;
    let person = listing::given(&query.person);
    if let Some(p) = person
        && !names.knows(p)
    {
        return Err(ServerError::Invalid { field: "person", reason: format!("no user {p:?}") });
    }
    let q = listing::search_text(query.q.as_deref())?;
    let cards = db.scorecards(period)?;
    Ok(cards
        .into_iter()
        .filter(|c| person.is_none_or(|p| c.person == p))
        .map(|card| ScorecardLine { person_name: names.of(&card.person).to_owned(), card })
        .filter(|c| {
            q.as_deref().is_none_or(|q| {
                listing::contains_folded(&c.card.person, q)
                    || listing::contains_folded(&c.person_name, q)
            })
        })
        .collect())
}

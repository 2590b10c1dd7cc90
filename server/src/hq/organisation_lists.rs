//! The commissioning organisations as lists (ADR 0025): the candidates of every project, each
//! with its place in its project's ranking, and the outstanding instalments with what today
//! makes of them — searched, filtered, sorted and paged.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use kam_core::Policy;
use kam_core::model::OrganisationStatus;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::listing::{self, Dir, ListSpec, SortColumn, SortValue};
use super::organisations::{DueLine, RankedCandidate, due_line, ranked};
use crate::db::ManagementQueries;
use crate::db::management::OrganisationRow;
use crate::error::ServerError;

fn text(value: &str) -> Option<SortValue> {
    Some(SortValue::Text(value.to_owned()))
}

fn amount(value: &str) -> Option<SortValue> {
    listing::money_value(value.parse::<Decimal>().ok()?)
}

/// The candidate list's filters, as the query string spells them.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct CandidateQuery {
    /// The project.
    pub project: Option<String>,
    /// `candidate`, `negotiating`, `chosen` or `rejected`.
    pub status: Option<String>,
    /// Part of the organisation's name or id.
    pub q: Option<String>,
}

impl CandidateQuery {
    /// The filters as query-string pairs.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let v = |o: &Option<String>| o.clone().unwrap_or_default();
        vec![("project", v(&self.project)), ("status", v(&self.status)), ("q", v(&self.q))]
    }
}

/// A candidate as listed: its rank in its project and whether the project has enough
/// candidates for the negotiation group.
#[derive(Clone, Debug, Serialize)]
pub struct CandidateLine {
    /// The organisation and its rank.
    #[serde(flatten)]
    pub candidate: RankedCandidate,
    /// Whether its project has the policy's minimum of candidates.
    pub enough_for_negotiation: bool,
}

/// The candidate list: by project, then by rank, by default.
pub const CANDIDATES: ListSpec<CandidateLine> = ListSpec {
    columns: &[
        SortColumn {
            key: "rank",
            value: |c| {
                let o = &c.candidate.organisation;
                Some(SortValue::Text(format!("{}\n{:09}", o.project_id, c.candidate.rank)))
            },
        },
        SortColumn { key: "name", value: |c| text(&c.candidate.organisation.name) },
        SortColumn {
            key: "price",
            value: |c| amount(&c.candidate.organisation.accepted_price_per_m2),
        },
        SortColumn {
            key: "payment",
            value: |c| amount(&c.candidate.organisation.payment_ratio_pct),
        },
        SortColumn { key: "status", value: |c| text(&c.candidate.organisation.status) },
        SortColumn {
            key: "approved",
            value: |c| amount(c.candidate.organisation.price_per_m2.as_deref()?),
        },
    ],
    default: ("rank", Dir::Asc),
    id: |c| &c.candidate.organisation.organisation_id,
};

/// Every project with candidates, and how many it has.
pub fn projects(db: &dyn ManagementQueries) -> Result<BTreeMap<String, usize>, ServerError> {
    let mut counts = BTreeMap::new();
    for row in db.organisations()? {
        *counts.entry(row.project_id).or_insert(0usize) += 1;
    }
    Ok(counts)
}

/// The candidates matching `query`, ranked within their projects; a project without
/// candidates or a status that cannot be is refused by name.
pub fn candidates(
    db: &dyn ManagementQueries,
    policy: &Policy,
    query: &CandidateQuery,
) -> Result<Vec<CandidateLine>, ServerError> {
    let statuses: Vec<&'static str> = OrganisationStatus::ALL.iter().map(|s| s.as_str()).collect();
    let status = listing::code(&query.status, "status", &statuses)?;
    let q = listing::search_text(query.q.as_deref())?;
    let project = listing::given(&query.project);
    let mut by_project: BTreeMap<String, Vec<OrganisationRow>> = BTreeMap::new();
    for row in db.organisations()? {
        by_project.entry(row.project_id.clone()).or_default().push(row);
    }
    if let Some(p) = project
        && !by_project.contains_key(p)
    {
        let reason = format!("no organisation is a candidate for project {p:?}");
        return Err(ServerError::Invalid { field: "project", reason });
    }
    let min = usize::try_from(policy.commissioning.min_candidates).unwrap_or(usize::MAX);
    let mut lines = Vec::new();
    for (project_id, rows) in by_project {
        if project.is_some_and(|p| p != project_id) {
            continue;
        }
        let enough = rows.len() >= min;
        // Ranked among the whole project, then filtered: a filter does not change a rank.
        lines.extend(
            ranked(rows)
                .into_iter()
                .map(|candidate| CandidateLine { candidate, enough_for_negotiation: enough }),
        );
    }
    lines.retain(|l| {
        let o = &l.candidate.organisation;
        status.is_none_or(|s| o.status == s)
            && q.as_deref().is_none_or(|q| {
                listing::contains_folded(&o.name, q)
                    || listing::contains_folded(&o.organisation_id, q)
            })
    });
    Ok(lines)
}

/// The instalment list's filters, as the query string spells them.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct CollectionQuery {
    /// `overdue` (past due and unpaid) or `reminder` (a reminder is due today).
    pub show: Option<String>,
    /// The organisation's id.
    pub organisation: Option<String>,
    /// Part of the organisation's name or id.
    pub q: Option<String>,
}

impl CollectionQuery {
    /// The filters as query-string pairs.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let v = |o: &Option<String>| o.clone().unwrap_or_default();
        vec![("show", v(&self.show)), ("organisation", v(&self.organisation)), ("q", v(&self.q))]
    }
}

/// The "most overdue" order's key: days overdue first, then the earlier due date (one key,
/// so the default sort keeps the policy's order: overdue first, most days first, then by due
/// date).
fn overdue_key(line: &DueLine) -> Option<SortValue> {
    let due = line.instalment.due_on.parse::<NaiveDate>().ok()?;
    let earlier_first = 1_000_000_i64.checked_sub(i64::from(due.num_days_from_ce()))?;
    line.days_overdue.checked_mul(1_000_000)?.checked_add(earlier_first).map(SortValue::Int)
}

/// The instalment list: overdue first (most days first), then by due date, by default.
pub const COLLECTIONS: ListSpec<DueLine> = ListSpec {
    columns: &[
        SortColumn { key: "overdue", value: overdue_key },
        SortColumn { key: "due", value: |l| text(&l.instalment.due_on) },
        SortColumn { key: "organisation", value: |l| text(&l.name) },
        SortColumn { key: "amount", value: |l| amount(&l.instalment.amount) },
        SortColumn { key: "outstanding", value: |l| amount(&l.instalment.outstanding) },
    ],
    default: ("overdue", Dir::Desc),
    id: |l| &l.instalment.entry_id,
};

/// The outstanding instalments matching `query` at `now`; a `show` or an organisation that
/// cannot be is refused by name.
pub fn collections(
    db: &dyn ManagementQueries,
    policy: &Policy,
    now: DateTime<Utc>,
    query: &CollectionQuery,
) -> Result<Vec<DueLine>, ServerError> {
    let show = listing::code(&query.show, "show", &["overdue", "reminder"])?;
    let q = listing::search_text(query.q.as_deref())?;
    let names: BTreeMap<String, String> =
        db.organisations()?.into_iter().map(|r| (r.organisation_id, r.name)).collect();
    let organisation = listing::given(&query.organisation);
    if let Some(o) = organisation
        && !names.contains_key(o)
    {
        let reason = format!("no organisation {o:?}");
        return Err(ServerError::Invalid { field: "organisation", reason });
    }
    let today = policy.business_date(now);
    Ok(db
        .outstanding_instalments()?
        .into_iter()
        .filter(|row| organisation.is_none_or(|o| row.organisation_id == o))
        .map(|row| {
            let name = names.get(&row.organisation_id).cloned().unwrap_or_default();
            due_line(row, name, policy, today)
        })
        .filter(|l| match show {
            Some("overdue") => l.days_overdue > 0,
            Some(_) => l.reminder_due,
            None => true,
        })
        .filter(|l| {
            q.as_deref().is_none_or(|q| {
                listing::contains_folded(&l.name, q)
                    || listing::contains_folded(&l.instalment.organisation_id, q)
            })
        })
        .collect())
}

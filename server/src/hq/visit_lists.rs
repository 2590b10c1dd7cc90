//! The visit-compliance lists on the listing engine (ADR 0025): today's overdue visits and a
//! month's cadence entries, each searched (customer, id, a rep's name), filtered by level and
//! by made or missed, sorted and paged; the counts above them stay every entry's.

use chrono::{DateTime, Utc};
use kam_core::Policy;
use kam_core::model::VisitLevel;
use serde::{Deserialize, Serialize};

use super::compliance::{self, Compliance, DueVisit, MonthCompliance, MonthLine};
use super::listing::{self, Dir, ListParams, Page, PageRequest, SortColumn, SortValue};
use super::people::Names;
use crate::db::Db;
use crate::db::sales::YearMonth;
use crate::error::ServerError;

/// A visit list's filters, as the query string spells them.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct VisitListQuery {
    /// Part of the customer's name or id, or of one of its reps' names.
    pub q: Option<String>,
    /// A visit level code.
    pub level: Option<String>,
    /// `made` or `missed` (today's overdue visits are all missed).
    pub made: Option<String>,
}

impl VisitListQuery {
    /// The filters as query-string pairs.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let v = |o: &Option<String>| o.clone().unwrap_or_default();
        vec![("q", v(&self.q)), ("level", v(&self.level)), ("made", v(&self.made))]
    }
}

/// What the filters read of a row of either list.
trait VisitRow {
    fn customer(&self) -> (&str, &str);
    fn owners(&self) -> &[String];
    fn level(&self) -> &str;
    fn made(&self) -> bool;
}

impl VisitRow for DueVisit {
    fn customer(&self) -> (&str, &str) {
        (&self.customer_id, &self.customer_name)
    }
    fn owners(&self) -> &[String] {
        &self.owners
    }
    fn level(&self) -> &str {
        &self.level
    }
    fn made(&self) -> bool {
        false
    }
}

impl VisitRow for MonthLine {
    fn customer(&self) -> (&str, &str) {
        (&self.customer_id, &self.customer_name)
    }
    fn owners(&self) -> &[String] {
        &self.owners
    }
    fn level(&self) -> &str {
        self.entry.level.as_str()
    }
    fn made(&self) -> bool {
        self.entry.visited_on.is_some()
    }
}

fn level_rank(level: &str) -> Option<SortValue> {
    let rank = VisitLevel::ALL.iter().zip(0i64..).find(|(l, _)| l.as_str() == level);
    Some(SortValue::Int(rank.map_or(9, |(_, i)| i)))
}

/// The columns today's overdue visits sort by (`sort=`); `due`, the longest overdue first,
/// by default.
pub const OVERDUE_COLUMNS: &[SortColumn<DueVisit>] = &[
    SortColumn { key: "due", value: |v| Some(SortValue::Text(v.next_due_on.to_string())) },
    SortColumn { key: "customer", value: |v| Some(SortValue::Text(v.customer_name.clone())) },
    SortColumn { key: "level", value: |v| level_rank(&v.level) },
    SortColumn { key: "last", value: |v| v.last_visit_on.map(|d| SortValue::Text(d.to_string())) },
];

/// The columns a month's entries sort by (`sort=`); `due`, the missed ones first and then by
/// due date, by default.
pub const MONTH_COLUMNS: &[SortColumn<MonthLine>] = &[
    SortColumn {
        key: "due",
        value: |l| {
            let made = u8::from(l.entry.visited_on.is_some());
            Some(SortValue::Text(format!("{made}{}", l.entry.due_on)))
        },
    },
    SortColumn { key: "customer", value: |l| Some(SortValue::Text(l.customer_name.clone())) },
    SortColumn { key: "level", value: |l| level_rank(l.entry.level.as_str()) },
    SortColumn {
        key: "visited",
        value: |l| l.entry.visited_on.map(|d| SortValue::Text(d.to_string())),
    },
];

/// Visit compliance at `now` (of `rep`'s customers when one is named) with one page of its
/// overdue visits matching `query`; the counts are every visit's.
pub fn compliance_page(
    db: &dyn Db,
    (policy, now): (&Policy, DateTime<Utc>),
    rep: Option<&str>,
    (query, params): (&VisitListQuery, &ListParams),
) -> Result<(Compliance, Page<DueVisit>), ServerError> {
    let request = PageRequest::parse(params, OVERDUE_COLUMNS, ("due", Dir::Asc))?;
    let mut today = compliance::compliance_of(db, policy, now, rep)?;
    let overdue = keep(db, std::mem::take(&mut today.overdue), query)?;
    Ok((today, request.page(overdue, OVERDUE_COLUMNS, |v| &v.customer_id)))
}

/// Every overdue visit matching `query` in the order `params` asks (for the list's file).
pub fn overdue_sorted(
    db: &dyn Db,
    (policy, now): (&Policy, DateTime<Utc>),
    rep: Option<&str>,
    (query, params): (&VisitListQuery, &ListParams),
) -> Result<Vec<DueVisit>, ServerError> {
    let request = PageRequest::parse(params, OVERDUE_COLUMNS, ("due", Dir::Asc))?;
    let overdue = keep(db, compliance::compliance_of(db, policy, now, rep)?.overdue, query)?;
    Ok(request.all(overdue, OVERDUE_COLUMNS, |v| &v.customer_id))
}

/// A month's compliance (of `rep`'s customers when one is named) with one page of its
/// entries matching `query`; `None` for a month that has not begun. The counts are every
/// entry's.
pub fn month_page(
    db: &dyn Db,
    (policy, now): (&Policy, DateTime<Utc>),
    (month, rep): (YearMonth, Option<&str>),
    (query, params): (&VisitListQuery, &ListParams),
) -> Result<Option<(MonthCompliance, Page<MonthLine>)>, ServerError> {
    let request = PageRequest::parse(params, MONTH_COLUMNS, ("due", Dir::Asc))?;
    let Some(mut found) = compliance::month(db, policy, now, month, rep)? else { return Ok(None) };
    let lines = keep(db, std::mem::take(&mut found.lines), query)?;
    Ok(Some((found, request.page(lines, MONTH_COLUMNS, |l| &l.customer_id))))
}

/// Every entry of a month matching `query` in the order `params` asks (for the list's file);
/// `None` for a month that has not begun.
pub fn month_sorted(
    db: &dyn Db,
    (policy, now): (&Policy, DateTime<Utc>),
    (month, rep): (YearMonth, Option<&str>),
    (query, params): (&VisitListQuery, &ListParams),
) -> Result<Option<Vec<MonthLine>>, ServerError> {
    let request = PageRequest::parse(params, MONTH_COLUMNS, ("due", Dir::Asc))?;
    let Some(found) = compliance::month(db, policy, now, month, rep)? else { return Ok(None) };
    let lines = keep(db, found.lines, query)?;
    Ok(Some(request.all(lines, MONTH_COLUMNS, |l| &l.customer_id)))
}

/// The rows `query` keeps; a level or state that cannot be is refused by name.
fn keep<T: VisitRow>(
    db: &dyn Db,
    mut rows: Vec<T>,
    query: &VisitListQuery,
) -> Result<Vec<T>, ServerError> {
    let level = listing::given(&query.level);
    if let Some(l) = level
        && l.parse::<VisitLevel>().is_err()
    {
        let reason = format!("{l:?} is not a visit level");
        return Err(ServerError::Invalid { field: "level", reason });
    }
    let made = listing::either(&query.made, "made", ("made", "missed"))?;
    let q = listing::search_text(query.q.as_deref())?;
    let names = if q.is_some() { Some(Names::load(db)?) } else { None };
    rows.retain(|r| {
        let (id, name) = r.customer();
        level.is_none_or(|l| r.level() == l)
            && made.is_none_or(|m| r.made() == m)
            && q.as_deref().is_none_or(|q| {
                listing::contains_folded(name, q)
                    || listing::contains_folded(id, q)
                    || names.as_ref().is_some_and(|n| {
                        r.owners().iter().any(|o| listing::contains_folded(n.of(o), q))
                    })
            })
    });
    Ok(rows)
}

//! Customers by tier and grade (searched, filtered, sorted, paged), and one customer's whole
//! file (档案).

use kam_core::model::{Grade, Tier};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};

use super::listing::{self, Dir, ListParams, Page, PageRequest, SortColumn, SortValue};
use super::people::Names;
use crate::db::{Db, HqQueries};
use crate::error::ServerError;

pub use crate::db::hq::{
    ContactLine, CustomerDetail, CustomerFilter, CustomerLine, HistoryField, HistoryLine,
    TicketLine, VisitLine,
};

/// The customer list's filters as the query string spells them. Every value is read as text
/// and checked here, so a bad one is answered with a message naming it.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct CustomerQuery {
    /// A tier code (`strategic`, `key`, `main`, `general`).
    pub tier: Option<String>,
    /// A grade (`A`–`D`), or `none` for ungraded customers.
    pub grade: Option<String>,
    /// An owning rep's user id.
    pub rep: Option<String>,
    /// A region, exactly.
    pub region: Option<String>,
    /// An industry, exactly.
    pub industry: Option<String>,
    /// `1`: only customers with a visit overdue.
    pub overdue: Option<String>,
    /// Part of the name, id, region, industry or a rep's name.
    pub q: Option<String>,
}

impl CustomerQuery {
    /// The filters as query-string pairs, in the form's order.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let v = |o: &Option<String>| o.clone().unwrap_or_default();
        vec![
            ("q", v(&self.q)),
            ("tier", v(&self.tier)),
            ("grade", v(&self.grade)),
            ("rep", v(&self.rep)),
            ("region", v(&self.region)),
            ("industry", v(&self.industry)),
            ("overdue", v(&self.overdue)),
        ]
    }
}

/// The columns the customer list sorts by (`sort=`).
pub const SORT_COLUMNS: &[SortColumn<CustomerLine>] = &[
    SortColumn { key: "tier", value: |c| Some(SortValue::Text(tier_order(c))) },
    SortColumn { key: "name", value: |c| Some(SortValue::Text(c.name.clone())) },
    SortColumn { key: "grade", value: |c| c.grade.clone().map(SortValue::Text) },
    SortColumn { key: "score", value: |c| c.score.map(SortValue::Int) },
    SortColumn { key: "region", value: |c| Some(SortValue::Text(c.region.clone())) },
    SortColumn { key: "industry", value: |c| Some(SortValue::Text(c.industry.clone())) },
    SortColumn { key: "sales", value: |c| c.latest_annual_sales.as_deref().and_then(cents) },
    SortColumn { key: "credit", value: |c| cents(&c.credit_limit) },
    SortColumn { key: "reps", value: |c| Some(SortValue::Text(c.owner_names.join("、"))) },
    SortColumn { key: "overdue", value: |c| Some(SortValue::Int(c.overdue_visits)) },
];

/// The default order: strategic first, then by tier, grade and score (highest first).
pub const DEFAULT_SORT: (&str, Dir) = ("tier", Dir::Asc);

fn tier_order(c: &CustomerLine) -> String {
    let rank = if c.strategic {
        0
    } else {
        Tier::ALL.iter().position(|t| t.as_str() == c.tier).map_or(9, |i| i + 1)
    };
    let score = 1000i64.saturating_sub(c.score.unwrap_or(0));
    format!("{rank}{}{score:05}", c.grade.as_deref().unwrap_or("Z"))
}

/// An amount in cents as a sort value (amounts are bounded where they enter, so they fit).
fn cents(text: &str) -> Option<SortValue> {
    let amount: Decimal = text.parse().ok()?;
    amount.checked_mul(Decimal::ONE_HUNDRED)?.to_i64().map(SortValue::Int)
}

fn invalid(field: &'static str, reason: String) -> ServerError {
    ServerError::Invalid { field, reason }
}

/// The filters checked: codes known, the rep a user.
struct Checked {
    tier: Option<String>,
    grade: Option<String>,
    rep: Option<String>,
    region: Option<String>,
    industry: Option<String>,
    overdue: bool,
    q: Option<String>,
}

fn check(query: &CustomerQuery, names: &Names) -> Result<Checked, ServerError> {
    let tier = listing::given(&query.tier).map(str::to_owned);
    if let Some(t) = &tier
        && t.parse::<Tier>().is_err()
    {
        let known: Vec<&str> = Tier::ALL.iter().map(|t| t.as_str()).collect();
        return Err(invalid("tier", format!("{t:?} is not one of {}", known.join(", "))));
    }
    let grade = listing::given(&query.grade).map(str::to_owned);
    if let Some(g) = &grade
        && g != "none"
        && g.parse::<Grade>().is_err()
    {
        return Err(invalid("grade", format!("{g:?} is not A, B, C, D or none")));
    }
    let rep = listing::given(&query.rep).map(str::to_owned);
    if let Some(r) = &rep
        && !names.knows(r)
    {
        return Err(invalid("rep", format!("no user {r:?}")));
    }
    let overdue = match listing::given(&query.overdue) {
        None | Some("0") => false,
        Some("1") => true,
        Some(other) => return Err(invalid("overdue", format!("{other:?} is not 0 or 1"))),
    };
    Ok(Checked {
        tier,
        grade,
        rep,
        region: listing::given(&query.region).map(str::to_owned),
        industry: listing::given(&query.industry).map(str::to_owned),
        overdue,
        q: listing::search_text(query.q.as_deref())?,
    })
}

impl Checked {
    fn keeps(&self, c: &CustomerLine) -> bool {
        self.tier.as_ref().is_none_or(|t| &c.tier == t)
            && self.grade.as_deref().is_none_or(|g| match g {
                "none" => c.grade.is_none(),
                g => c.grade.as_deref() == Some(g),
            })
            && self.rep.as_ref().is_none_or(|r| c.owners.contains(r))
            && self.region.as_ref().is_none_or(|r| &c.region == r)
            && self.industry.as_ref().is_none_or(|i| &c.industry == i)
            && (!self.overdue || c.overdue_visits > 0)
            && self.q.as_deref().is_none_or(|q| {
                [&c.name, &c.customer_id, &c.region, &c.industry]
                    .into_iter()
                    .chain(&c.owner_names)
                    .any(|field| listing::contains_folded(field, q))
            })
    }
}

/// What the list's filters can choose from: the reps who own customers, the regions and the
/// industries, each once, in order.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Choices {
    /// (user id, name) of every owning rep, by name.
    pub reps: Vec<(String, String)>,
    /// Regions.
    pub regions: Vec<String>,
    /// Industries.
    pub industries: Vec<String>,
}

/// The customers matching `query` (in the store's order, the reps' names filled in) and the
/// filters' choices, from one read of the list.
pub fn matching(
    db: &dyn Db,
    query: &CustomerQuery,
) -> Result<(Vec<CustomerLine>, Choices), ServerError> {
    let names = Names::load(db)?;
    let checked = check(query, &names)?;
    let mut lines = db.customers(&CustomerFilter::default())?;
    let mut reps = std::collections::BTreeSet::new();
    let mut regions = std::collections::BTreeSet::new();
    let mut industries = std::collections::BTreeSet::new();
    for line in &mut lines {
        line.owner_names = line.owners.iter().map(|o| names.of(o).to_owned()).collect();
        reps.extend(line.owners.iter().map(|o| (names.of(o).to_owned(), o.clone())));
        regions.insert(line.region.clone());
        industries.insert(line.industry.clone());
    }
    lines.retain(|c| checked.keeps(c));
    let choices = Choices {
        reps: reps.into_iter().map(|(name, id)| (id, name)).collect(),
        regions: regions.into_iter().collect(),
        industries: industries.into_iter().collect(),
    };
    Ok((lines, choices))
}

/// One page of the customers matching `query`, sorted as `params` asks.
pub fn page(
    db: &dyn Db,
    query: &CustomerQuery,
    params: &ListParams,
) -> Result<Page<CustomerLine>, ServerError> {
    Ok(page_with_choices(db, query, params)?.0)
}

/// One page of the customers matching `query` and the filters' choices.
pub fn page_with_choices(
    db: &dyn Db,
    query: &CustomerQuery,
    params: &ListParams,
) -> Result<(Page<CustomerLine>, Choices), ServerError> {
    let request = PageRequest::parse(params, SORT_COLUMNS, DEFAULT_SORT)?;
    let (lines, choices) = matching(db, query)?;
    Ok((request.page(lines, SORT_COLUMNS, |c| &c.customer_id), choices))
}

/// Every customer matching `query` in the order `params` asks (for an export: no paging).
pub fn sorted(
    db: &dyn Db,
    query: &CustomerQuery,
    params: &ListParams,
) -> Result<Vec<CustomerLine>, ServerError> {
    let request = PageRequest::parse(params, SORT_COLUMNS, DEFAULT_SORT)?;
    let (lines, _) = matching(db, query)?;
    Ok(request.all(lines, SORT_COLUMNS, |c| &c.customer_id))
}

/// One customer's file from the projections; `history` is left empty for the caller, who
/// reads it from the document.
pub fn detail(db: &dyn HqQueries, customer_id: &str) -> Result<CustomerDetail, ServerError> {
    db.customer_file(customer_id)?.ok_or(ServerError::NotFound)
}

/// The document's history as lines, newest first: who (by name), when, what, and the values
/// each change set.
pub fn history_lines(doc: &mut kam_core::doc::Document, names: &Names) -> Vec<HistoryLine> {
    let mut lines: Vec<HistoryLine> = doc
        .history_detail()
        .into_iter()
        .filter_map(|h| {
            let m = h.meta?;
            let author = m.author.to_string();
            Some(HistoryLine {
                at: m.at.to_rfc3339(),
                author_name: names.of(&author).to_owned(),
                author,
                action: m.action.clone(),
                changes: h
                    .fields
                    .into_iter()
                    .map(|f| HistoryField { field: f.path.join("/"), old: f.old, new: f.new })
                    .collect(),
                more_changes: h.more_fields,
            })
        })
        .collect();
    lines.reverse();
    lines
}

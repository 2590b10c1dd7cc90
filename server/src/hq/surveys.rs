//! Satisfaction surveys (客户满意度调查, RULES.md §10): results by customer, each customer's
//! satisfaction factor and when its next periodic survey is due for its tier — all by the
//! shared rules (`rules::{satisfaction_factor, survey_due}`), as of the day asked.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use kam_core::Policy;
use kam_core::model::{CustomerId, Survey, SurveyId, SurveyItem, SurveyKind, Tier, UserId};
use kam_core::rules::{self, SatisfactionFactor, SurveyDue};
use serde::{Deserialize, Serialize};

use super::listing::{Dir, ListParams, Page, PageRequest, SortColumn, SortValue};
use crate::db::AccountWorkStore;
use crate::db::parse::instant;
use crate::error::ServerError;

pub use crate::db::pipeline::SurveyLine;

/// Filters of the survey page.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct SurveyFilter {
    /// A tier code; empty means all.
    pub tier: Option<String>,
    /// Part of the customer's name or id.
    pub q: Option<String>,
}

impl SurveyFilter {
    /// The filters as query-string pairs.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let v = |o: &Option<String>| o.clone().unwrap_or_default();
        vec![("tier", v(&self.tier)), ("q", v(&self.q))]
    }
}

/// One customer's surveys at a glance.
#[derive(Clone, Debug, Serialize)]
pub struct CustomerSurveys {
    /// Customer id.
    pub customer_id: String,
    /// Name.
    pub name: String,
    /// Tier code.
    pub tier: String,
    /// Surveys taken, ever.
    pub surveys: usize,
    /// The latest survey's score and when it was taken.
    pub latest: Option<(i64, String)>,
    /// The satisfaction factor over the policy's window, if any survey counts.
    pub satisfaction: Option<SatisfactionFactor>,
    /// The next periodic survey.
    pub due: SurveyDue,
}

/// What `/hq/surveys` shows.
#[derive(Clone, Debug, Serialize)]
pub struct SurveysView {
    /// Customers of the tier filtered on, overdue first, then by due date.
    pub customers: Vec<CustomerSurveys>,
    /// Every survey of those customers, newest first.
    pub surveys: Vec<SurveyLine>,
}

/// The surveys view as of `today`.
pub fn surveys(
    db: &dyn AccountWorkStore,
    policy: &Policy,
    filter: &SurveyFilter,
    today: NaiveDate,
) -> Result<SurveysView, ServerError> {
    let mut by_customer: HashMap<String, Vec<SurveyLine>> = HashMap::new();
    for s in db.surveys(None)? {
        by_customer.entry(s.customer_id.clone()).or_default().push(s);
    }
    let mut customers = Vec::new();
    let mut shown = Vec::new();
    let q = super::listing::search_text(filter.q.as_deref())?;
    for c in db.surveyed_customers()? {
        if filter.tier.as_ref().is_some_and(|t| !t.is_empty() && *t != c.tier)
            || q.as_deref().is_some_and(|q| {
                !super::listing::contains_folded(&c.name, q)
                    && !super::listing::contains_folded(&c.customer_id, q)
            })
        {
            continue;
        }
        let tier: Tier = c.tier.parse().map_err(|_| corrupt(&c.customer_id, "tier"))?;
        let created_on = policy.business_date(instant(&c.created_at)?);
        let lines = by_customer.remove(&c.customer_id).unwrap_or_default();
        let last_periodic = lines.iter().find(|s| s.kind == SurveyKind::Periodic.as_str());
        let last_periodic_on = last_periodic
            .map(|s| instant(&s.taken_at).map(|t| policy.business_date(t)))
            .transpose()?;
        customers.push(CustomerSurveys {
            surveys: lines.len(),
            latest: lines.first().map(|s| (s.score, s.taken_at.clone())),
            satisfaction: factor(&lines, policy, today)?,
            due: rules::survey_due(tier, last_periodic_on, created_on, today, policy),
            customer_id: c.customer_id,
            name: c.name,
            tier: c.tier,
        });
        shown.extend(lines);
    }
    customers
        .sort_by(|a, b| b.due.overdue.cmp(&a.due.overdue).then(a.due.due_on.cmp(&b.due.due_on)));
    shown.sort_by(|a, b| b.taken_at.cmp(&a.taken_at));
    Ok(SurveysView { customers, surveys: shown })
}

/// The columns the surveyed customers sort by (`sort=`).
pub const SORT_COLUMNS: &[SortColumn<CustomerSurveys>] = &[
    SortColumn {
        key: "due",
        value: |c| Some(SortValue::Text(format!("{}{}", u8::from(!c.due.overdue), c.due.due_on))),
    },
    SortColumn { key: "name", value: |c| Some(SortValue::Text(c.name.clone())) },
    SortColumn {
        key: "tier",
        value: |c| {
            Some(SortValue::Int(
                Tier::ALL.iter().position(|t| t.as_str() == c.tier).map_or(9, |i| i as i64),
            ))
        },
    },
    SortColumn { key: "surveys", value: |c| i64::try_from(c.surveys).ok().map(SortValue::Int) },
    SortColumn {
        key: "latest",
        value: |c| c.latest.as_ref().map(|(score, _)| SortValue::Int(*score)),
    },
];

/// One page of the surveyed customers and the surveys of the customers on it, newest first.
#[derive(Clone, Debug, Serialize)]
pub struct SurveysPage {
    /// The customers of the page (overdue first, then by due date, unless sorted otherwise).
    pub customers: Page<CustomerSurveys>,
    /// The surveys of those customers, newest first.
    pub surveys: Vec<SurveyLine>,
}

/// The page of the surveys view that `params` asks for.
pub fn surveys_page(
    db: &dyn AccountWorkStore,
    policy: &Policy,
    filter: &SurveyFilter,
    today: NaiveDate,
    params: &ListParams,
) -> Result<SurveysPage, ServerError> {
    let request = PageRequest::parse(params, SORT_COLUMNS, ("due", Dir::Asc))?;
    let view = checked_view(db, policy, filter, today)?;
    let customers = request.page(view.customers, SORT_COLUMNS, |c| &c.customer_id);
    let on_page: std::collections::HashSet<&str> =
        customers.rows.iter().map(|c| c.customer_id.as_str()).collect();
    let surveys =
        view.surveys.into_iter().filter(|s| on_page.contains(s.customer_id.as_str())).collect();
    Ok(SurveysPage { customers, surveys })
}

/// Every surveyed customer matching `filter` in the order `params` sorts them (for a list's
/// file).
pub fn surveyed_sorted(
    db: &dyn AccountWorkStore,
    policy: &Policy,
    filter: &SurveyFilter,
    today: NaiveDate,
    params: &ListParams,
) -> Result<Vec<CustomerSurveys>, ServerError> {
    let request = PageRequest::parse(params, SORT_COLUMNS, ("due", Dir::Asc))?;
    let view = checked_view(db, policy, filter, today)?;
    Ok(request.all(view.customers, SORT_COLUMNS, |c| &c.customer_id))
}

/// The surveys view for `filter`, whose tier must be a tier code.
fn checked_view(
    db: &dyn AccountWorkStore,
    policy: &Policy,
    filter: &SurveyFilter,
    today: NaiveDate,
) -> Result<SurveysView, ServerError> {
    if let Some(tier) = filter.tier.as_deref().filter(|t| !t.is_empty())
        && tier.parse::<Tier>().is_err()
    {
        let reason = format!("{tier:?} is not a tier code");
        return Err(ServerError::Invalid { field: "tier", reason });
    }
    surveys(db, policy, filter, today)
}

/// One customer's satisfaction factor as of `today` (for the customer's page).
pub fn satisfaction_of(
    db: &dyn AccountWorkStore,
    policy: &Policy,
    customer_id: &str,
    today: NaiveDate,
) -> Result<Option<SatisfactionFactor>, ServerError> {
    factor(&db.surveys(Some(customer_id))?, policy, today)
}

/// The rule's factor over projected surveys. A row keeps the survey's score, not its items:
/// each is handed to the rule as one item carrying that score, which the rule scores as
/// exactly that score, so the mean is the same.
fn factor(
    lines: &[SurveyLine],
    policy: &Policy,
    today: NaiveDate,
) -> Result<Option<SatisfactionFactor>, ServerError> {
    let mut surveys = Vec::with_capacity(lines.len());
    for s in lines {
        let score = u8::try_from(s.score).map_err(|_| corrupt(&s.survey_id, "score"))?;
        surveys.push(Survey {
            id: SurveyId::from(s.survey_id.as_str()),
            customer_id: CustomerId::from(s.customer_id.as_str()),
            kind: s.kind.parse().map_err(|_| corrupt(&s.survey_id, "kind"))?,
            ticket_id: None,
            taken_at: instant(&s.taken_at)?,
            taken_by: UserId::from(s.taken_by.as_str()),
            respondent: String::new(),
            items: BTreeMap::from([(SurveyItem::Overall, score)]),
            comments: String::new(),
        });
    }
    Ok(rules::satisfaction_factor(&surveys, today, policy))
}

fn corrupt(id: &str, what: &str) -> ServerError {
    ServerError::Corrupt(format!("{id} {what}"))
}

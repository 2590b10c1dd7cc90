//! Account plans (大客户管理计划, RULES.md §9): plans by year with their status, the owners
//! they still lack, the quarterly evaluations due, one plan's quarters with their attainment,
//! and headquarters' two decisions — approving a plan and evaluating a quarter.
//!
//! Every judgement is the shared rule's (`rules::{missing_owners, plan_status,
//! check_approval, evaluations_due, evaluate_quarter}`) applied to the plan rebuilt from its
//! projected rows, so the page, the JSON twin and the decision agree.

use super::listing::{Dir, ListParams, ListSpec, Page, SortColumn, SortValue};
use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use kam_core::Policy;
use kam_core::doc::read_record;
use kam_core::doc::{EditMeta, PlanEdit, customer_doc_id, edit_record, plan_doc_id, read_customer};
use kam_core::model::{
    AccountPlan, CustomerId, PlanActuals, PlanApproval, PlanEvaluation, PlanFunction, PlanGoals,
    PlanId, UserId,
};
use kam_core::rules::{self, EvaluationDue, QuarterAttainment};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::json;

use super::plan_actuals;
use crate::audit;
use crate::db::parse::{decimal, instant};
use crate::db::{AccountWorkStore, Db};
use crate::error::ServerError;
use crate::store::commit_doc;
use crate::sync::ChangedDoc;
use crate::sync::docs::DocCache;

pub use crate::db::pipeline::{EvaluationLine, GoalsLine, PlanLine, PlanRows};

/// A plan as listed: its row, the owners it still lacks and the evaluations due.
#[derive(Clone, Debug, Serialize)]
pub struct PlanSummary {
    /// The plan.
    #[serde(flatten)]
    pub plan: PlanLine,
    /// Functions required but not named (the resident representative above the policy's
    /// yearly sales).
    pub missing_owners: Vec<PlanFunction>,
    /// Quarters ended and not evaluated yet.
    pub evaluations_due: Vec<EvaluationDue>,
}

/// One quarter of a plan: its goals, evaluation and attainment.
#[derive(Clone, Debug, Serialize)]
pub struct QuarterLine {
    /// Quarter 1–4.
    pub quarter: u8,
    /// Its goals, when set.
    pub goals: Option<GoalsLine>,
    /// Its evaluation, when made.
    pub evaluation: Option<EvaluationLine>,
    /// The attainment of the evaluation against the goals (`rules::evaluate_quarter`).
    pub attainment: Option<QuarterAttainment>,
}

/// One plan in full.
#[derive(Clone, Debug, Serialize)]
pub struct PlanDetail {
    /// The plan, owners lacking and evaluations due.
    #[serde(flatten)]
    pub summary: PlanSummary,
    /// Quarters 1–4.
    pub quarters: Vec<QuarterLine>,
    /// Why it cannot be approved now (`rules::check_approval`), if it cannot.
    pub approval_refused: Option<String>,
}

/// The year a plan list asks for: absent is `today`'s year, `all` every year (`None`).
pub fn year_asked(text: Option<&str>, today: NaiveDate) -> Result<Option<i32>, ServerError> {
    match text.map(str::trim) {
        None | Some("") => Ok(Some(chrono::Datelike::year(&today))),
        Some("all") => Ok(None),
        Some(y) => y.parse().map(Some).map_err(|_| ServerError::Invalid {
            field: "year",
            reason: "a year such as 2026, or `all`".into(),
        }),
    }
}

/// Plans of `year` (every year when `None`) as of `today`.
pub fn plans(
    db: &dyn AccountWorkStore,
    policy: &Policy,
    year: Option<i32>,
    today: NaiveDate,
) -> Result<Vec<PlanSummary>, ServerError> {
    db.plans(year)?.iter().map(|rows| summary(rows, policy, today)).collect()
}

/// The columns the plan list sorts by (`sort=`).
pub const SORT_COLUMNS: &[SortColumn<PlanSummary>] = &[
    SortColumn { key: "customer", value: |p| Some(SortValue::Text(p.plan.customer_name.clone())) },
    SortColumn { key: "year", value: |p| Some(SortValue::Int(i64::from(p.plan.year))) },
    SortColumn { key: "status", value: |p| Some(SortValue::Text(p.plan.status.clone())) },
    SortColumn { key: "revision", value: |p| Some(SortValue::Int(p.plan.revision)) },
    SortColumn {
        key: "due",
        value: |p| i64::try_from(p.evaluations_due.len()).ok().map(SortValue::Int),
    },
];

/// The list: its columns, its order when none is asked, its rows' ids.
pub const PLANS: ListSpec<PlanSummary> =
    ListSpec { columns: SORT_COLUMNS, default: ("customer", Dir::Asc), id: |p| &p.plan.plan_id };

/// The plan list's filters: the year, a status and part of the customer's name or id.
#[derive(Clone, Debug, Default, serde::Deserialize, Serialize)]
pub struct PlanQuery {
    /// A year; absent means the current business year, `all` every year.
    pub year: Option<String>,
    /// A status code (`draft`, `approved`, `revised_since_approval`).
    pub status: Option<String>,
    /// Part of the customer's name or id, or of the plan's id.
    pub q: Option<String>,
}

/// The status codes a plan has.
pub const STATUS_CODES: [&str; 3] = ["draft", "approved", "revised_since_approval"];

impl PlanQuery {
    /// The filters as query-string pairs.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let v = |o: &Option<String>| o.clone().unwrap_or_default();
        vec![("year", v(&self.year)), ("status", v(&self.status)), ("q", v(&self.q))]
    }
}

/// One page of the plans matching `query` as of `today`, by customer unless sorted otherwise.
pub fn plans_page(
    db: &dyn AccountWorkStore,
    policy: &Policy,
    query: &PlanQuery,
    today: NaiveDate,
    params: &ListParams,
) -> Result<Page<PlanSummary>, ServerError> {
    PLANS.page(params, || matching(db, policy, query, today))
}

/// Every plan matching `query` in the order `params` sorts them (for a list's file).
pub fn plans_sorted(
    db: &dyn AccountWorkStore,
    policy: &Policy,
    query: &PlanQuery,
    today: NaiveDate,
    params: &ListParams,
) -> Result<Vec<PlanSummary>, ServerError> {
    PLANS.sorted(params, || matching(db, policy, query, today))
}

/// The plans matching `query`; a year or status that cannot be is refused by name.
fn matching(
    db: &dyn AccountWorkStore,
    policy: &Policy,
    query: &PlanQuery,
    today: NaiveDate,
) -> Result<Vec<PlanSummary>, ServerError> {
    let year = year_asked(query.year.as_deref(), today)?;
    let status = query.status.as_deref().map(str::trim).filter(|s| !s.is_empty());
    if let Some(status) = status
        && !STATUS_CODES.contains(&status)
    {
        let reason = format!("{status:?} is not a plan status");
        return Err(ServerError::Invalid { field: "status", reason });
    }
    let q = super::listing::search_text(query.q.as_deref())?;
    let mut lines = plans(db, policy, year, today)?;
    lines.retain(|p| {
        status.is_none_or(|s| p.plan.status == s)
            && q.as_deref().is_none_or(|q| {
                super::listing::contains_folded(&p.plan.customer_name, q)
                    || super::listing::contains_folded(&p.plan.customer_id, q)
                    || super::listing::contains_folded(&p.plan.plan_id, q)
            })
    });
    Ok(lines)
}

/// One plan as of `today`, or `NotFound`.
pub fn plan(
    db: &dyn AccountWorkStore,
    policy: &Policy,
    plan_id: &str,
    today: NaiveDate,
) -> Result<PlanDetail, ServerError> {
    let rows = db.plan(plan_id)?.ok_or(ServerError::NotFound)?;
    let plan = plan_of(&rows)?;
    let quarters = (1..=4u8)
        .map(|quarter| {
            let goals = rows.quarters.iter().find(|g| g.quarter == quarter).cloned();
            let evaluation = rows.evaluations.iter().find(|e| e.quarter == quarter).cloned();
            let attainment =
                match (plan.quarter_goals.get(&quarter), plan.evaluations.get(&quarter)) {
                    (Some(g), Some(e)) => Some(rules::evaluate_quarter(g, &e.actuals)),
                    _ => None,
                };
            QuarterLine { quarter, goals, evaluation, attainment }
        })
        .collect();
    let approval_refused = rules::check_approval(&plan, annual_sales(&rows.plan)?, policy)
        .err()
        .map(|r| r.to_string());
    Ok(PlanDetail { summary: summary(&rows, policy, today)?, quarters, approval_refused })
}

fn summary(rows: &PlanRows, policy: &Policy, today: NaiveDate) -> Result<PlanSummary, ServerError> {
    let plan = plan_of(rows)?;
    Ok(PlanSummary {
        plan: rows.plan.clone(),
        missing_owners: rules::missing_owners(&plan, annual_sales(&rows.plan)?, policy),
        evaluations_due: rules::evaluations_due(&plan, today, policy),
    })
}

/// The yearly sales that decide the resident representative: the customer's latest recorded
/// year (none recorded: zero).
fn annual_sales(plan: &PlanLine) -> Result<Decimal, ServerError> {
    Ok(plan.annual_sales.as_deref().map(decimal).transpose()?.unwrap_or_default())
}

fn corrupt(plan: &PlanLine, what: &str) -> ServerError {
    ServerError::Corrupt(format!("plan {} {what}", plan.plan_id))
}

fn goals(g: &GoalsLine, plan: &PlanLine) -> Result<PlanGoals, ServerError> {
    Ok(PlanGoals {
        sales: decimal(&g.sales)?,
        profit_contribution: decimal(&g.profit)?,
        satisfaction: u8::try_from(g.satisfaction).map_err(|_| corrupt(plan, "satisfaction"))?,
    })
}

/// The plan its projected rows stand for, whole.
fn plan_of(rows: &PlanRows) -> Result<AccountPlan, ServerError> {
    let p = &rows.plan;
    let mut owners = BTreeMap::new();
    for (code, user) in &p.owners {
        let function: PlanFunction = code.parse().map_err(|_| corrupt(p, "owner function"))?;
        owners.insert(function, UserId::from(user.as_str()));
    }
    let approval = match (&p.approved_by, &p.approved_at, p.approved_revision) {
        (Some(by), Some(at), Some(revision)) => Some(PlanApproval {
            by: UserId::from(by.as_str()),
            at: instant(at)?,
            revision: u32::try_from(revision).map_err(|_| corrupt(p, "approved revision"))?,
        }),
        _ => None,
    };
    let mut evaluations = BTreeMap::new();
    for e in &rows.evaluations {
        let satisfaction = e
            .satisfaction_actual
            .map(|s| u8::try_from(s).map_err(|_| corrupt(p, "satisfaction")))
            .transpose()?;
        let actuals = PlanActuals {
            sales: decimal(&e.sales_actual)?,
            profit_contribution: decimal(&e.profit_actual)?,
            satisfaction,
        };
        let evaluation = PlanEvaluation {
            quarter: e.quarter,
            actuals,
            adjustment: e.adjustment.clone(),
            by: UserId::from(e.by_user.as_str()),
            at: instant(&e.at)?,
        };
        evaluations.insert(e.quarter, evaluation);
    }
    let quarter_goals = rows
        .quarters
        .iter()
        .map(|g| Ok((g.quarter, goals(g, p)?)))
        .collect::<Result<_, ServerError>>()?;
    Ok(AccountPlan {
        id: PlanId::from(p.plan_id.as_str()),
        customer_id: CustomerId::from(p.customer_id.as_str()),
        year: p.year,
        year_goals: goals(&p.year_goals, p)?,
        quarter_goals,
        owners,
        sales_strategy: p.sales_strategy.clone(),
        service_plan: p.service_plan.clone(),
        revision: u32::try_from(p.revision).map_err(|_| corrupt(p, "revision"))?,
        approval,
        evaluations,
    })
}

/// Approves the plan's current revision, refused (422) with the rule's reason when
/// `rules::check_approval` refuses it. The plan and the customer's sales are read inside
/// the transaction, so the approval covers exactly the revision checked.
pub(crate) fn approve(
    tx: &dyn Db,
    docs: &mut DocCache,
    policy: &Policy,
    plan_id: &str,
    by: &str,
    now: DateTime<Utc>,
) -> Result<ChangedDoc, ServerError> {
    let id = plan_doc_id(&PlanId::from(plan_id));
    let doc = docs.get(tx, &id, false)?.ok_or(ServerError::NotFound)?;
    let plan: AccountPlan = read_record(doc)?;
    let sales = tx.yearly_sales(plan.customer_id.as_str())?;
    let annual = sales.last_key_value().map(|(_, amount)| *amount).unwrap_or_default();
    rules::check_approval(&plan, annual, policy)
        .map_err(|r| ServerError::Invalid { field: "plan", reason: r.to_string() })?;
    let approval = PlanApproval { by: UserId::from(by), at: now, revision: plan.revision };
    let heads_before = doc.heads();
    let meta = EditMeta::new(&UserId::from(by), now, "plan.approve");
    edit_record(doc, &PlanEdit::Approve(approval), &meta)?;
    let changed = committed(tx, docs, &id, &heads_before, now)?;
    let detail = json!({ "revision": plan.revision });
    audit::log(tx, now, by, "plan.approve", &id.to_string(), &detail)?;
    Ok(changed)
}

/// What headquarters decides when it evaluates a quarter.
#[derive(Clone, Debug)]
pub struct QuarterEvaluation {
    /// Quarter 1–4 of the plan's year.
    pub quarter: u8,
    /// The adjustment of the plan decided (调整措施).
    pub adjustment: String,
}

/// Records the evaluation of one quarter: the actuals are the server's (`plan_actuals`), the
/// adjustment headquarters'. Only a quarter that has ended can be evaluated; evaluating it
/// again replaces the earlier evaluation (the document keeps it in its history).
pub(crate) fn evaluate(
    tx: &dyn Db,
    docs: &mut DocCache,
    policy: &Policy,
    plan_id: &str,
    decided: &QuarterEvaluation,
    by: &str,
    now: DateTime<Utc>,
) -> Result<ChangedDoc, ServerError> {
    let quarter = decided.quarter;
    let invalid = |reason: &str| ServerError::Invalid { field: "quarter", reason: reason.into() };
    if !(1..=4).contains(&quarter) {
        return Err(invalid("a quarter is 1 to 4"));
    }
    let id = plan_doc_id(&PlanId::from(plan_id));
    let plan: AccountPlan = read_record(docs.get(tx, &id, false)?.ok_or(ServerError::NotFound)?)?;
    let today = policy.business_date(now);
    let (first, last) =
        plan_actuals::quarter_days(plan.year, quarter).ok_or_else(|| invalid("no such quarter"))?;
    if today <= last {
        return Err(invalid("the quarter has not ended yet"));
    }
    let customer = match docs.get(tx, &customer_doc_id(&plan.customer_id), false)? {
        Some(doc) => Some(read_customer(doc)?),
        None => None,
    };
    let actuals = plan_actuals::actuals(tx, policy, &plan, customer.as_ref(), (first, last))?;
    let evaluation = PlanEvaluation {
        quarter,
        actuals: actuals.clone(),
        adjustment: decided.adjustment.trim().to_owned(),
        by: UserId::from(by),
        at: now,
    };
    let doc = docs.get(tx, &id, false)?.ok_or(ServerError::NotFound)?;
    let heads_before = doc.heads();
    let meta = EditMeta::new(&UserId::from(by), now, "plan.evaluate");
    edit_record(doc, &PlanEdit::Evaluate(evaluation), &meta)?;
    let changed = committed(tx, docs, &id, &heads_before, now)?;
    let detail = json!({ "quarter": quarter, "actuals": actuals });
    audit::log(tx, now, by, "plan.evaluate", &id.to_string(), &detail)?;
    Ok(changed)
}

fn committed(
    tx: &dyn Db,
    docs: &mut DocCache,
    id: &kam_core::doc::DocId,
    heads_before: &[kam_core::doc::ChangeHash],
    now: DateTime<Utc>,
) -> Result<ChangedDoc, ServerError> {
    let (seq, scope_key) = commit_doc(tx, docs, id, heads_before, now)?
        .ok_or_else(|| ServerError::Corrupt(format!("{id}: the decision changed nothing")))?;
    Ok(ChangedDoc { seq, doc_id: id.to_string(), scope_key })
}

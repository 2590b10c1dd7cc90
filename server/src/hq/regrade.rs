//! The yearly re-grade: proposals computed by the pure rule from last year's sales and the
//! scores, shown to the general manager, and approved or rejected one by one.
//!
//! A proposal is data until approved (客户分类…每年汇总申报公司总经理批准). Approval writes
//! the new tier and grade into the customer's document as one commit by the approver, which
//! every device receives like any other edit; the decision is recorded, so a decided
//! proposal is not shown again that year.

use chrono::{DateTime, Datelike, Utc};
use kam_core::Policy;
use kam_core::doc::{CustomerEdit, EditMeta, customer_doc_id, edit_customer, read_customer};
use kam_core::model::{Tier, UserId};
use kam_core::rules::{RegradeProposal, propose_regrades};
use serde::Serialize;
use serde_json::json;

use super::listing::{self, Dir, ListParams, Page, PageRequest, SortColumn, SortValue};
use crate::audit;
use crate::db::hq::RegradeDecisionRecord;
use crate::db::{Db, HqQueries};
use crate::error::ServerError;
use crate::store::commit_doc;
use crate::sync::ChangedDoc;
use crate::sync::docs::DocCache;

/// A proposal as listed: the rule's proposal plus the customer's name.
#[derive(Clone, Debug, Serialize)]
pub struct ProposalLine {
    /// Customer name.
    pub name: String,
    /// The proposal.
    #[serde(flatten)]
    pub proposal: RegradeProposal,
}

/// Undecided proposals for the year of `now`, in ranking order.
pub fn proposals(
    db: &dyn HqQueries,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<Vec<ProposalLine>, ServerError> {
    let year = policy.business_date(now).year();
    let mut inputs = Vec::new();
    let mut names = std::collections::HashMap::new();
    for (input, name) in db.regrade_inputs(year - 1)? {
        names.insert(input.customer_id.as_str().to_owned(), name);
        inputs.push(input);
    }
    let decided = db.regrade_decided(year)?;
    Ok(propose_regrades(&inputs, year, policy)
        .into_iter()
        .filter(|p| !decided.contains(p.customer_id.as_str()))
        .map(|proposal| ProposalLine {
            name: names.get(proposal.customer_id.as_str()).cloned().unwrap_or_default(),
            proposal,
        })
        .collect())
}

/// The re-grade list's filters: part of the customer's name or id, and a proposed tier.
#[derive(Clone, Debug, Default, serde::Deserialize, Serialize)]
pub struct ProposalQuery {
    /// Part of the customer's name or id.
    pub q: Option<String>,
    /// A proposed tier code.
    pub proposed: Option<String>,
}

impl ProposalQuery {
    /// The filters as query-string pairs.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let v = |o: &Option<String>| o.clone().unwrap_or_default();
        vec![("q", v(&self.q)), ("proposed", v(&self.proposed))]
    }
}

/// The columns the re-grade list sorts by (`sort=`).
pub const SORT_COLUMNS: &[SortColumn<ProposalLine>] = &[
    SortColumn { key: "score", value: |p| Some(SortValue::Int(i64::from(p.proposal.score))) },
    SortColumn { key: "name", value: |p| Some(SortValue::Text(p.name.clone())) },
    SortColumn { key: "tier", value: |p| Some(SortValue::Int(tier_rank(p.proposal.current_tier))) },
    SortColumn {
        key: "proposed",
        value: |p| Some(SortValue::Int(tier_rank(p.proposal.proposed_tier))),
    },
    SortColumn {
        key: "grade",
        value: |p| p.proposal.current_grade.map(|g| SortValue::Text(g.as_str().to_owned())),
    },
    SortColumn {
        key: "proposed_grade",
        value: |p| Some(SortValue::Text(p.proposal.proposed_grade.as_str().to_owned())),
    },
];

fn tier_rank(tier: Tier) -> i64 {
    Tier::ALL.iter().zip(0i64..).find(|(t, _)| **t == tier).map_or(9, |(_, i)| i)
}

/// One page of this year's undecided proposals matching `query`, highest score first unless
/// `params` sorts otherwise.
pub fn page(
    db: &dyn HqQueries,
    policy: &Policy,
    now: DateTime<Utc>,
    query: &ProposalQuery,
    params: &ListParams,
) -> Result<Page<ProposalLine>, ServerError> {
    let request = PageRequest::parse(params, SORT_COLUMNS, ("score", Dir::Desc))?;
    let lines = matching(db, policy, now, query)?;
    Ok(request.page(lines, SORT_COLUMNS, |p| p.proposal.customer_id.as_str()))
}

/// Every proposal matching `query` in the order `params` sorts them (for a list's file).
pub fn sorted(
    db: &dyn HqQueries,
    policy: &Policy,
    now: DateTime<Utc>,
    query: &ProposalQuery,
    params: &ListParams,
) -> Result<Vec<ProposalLine>, ServerError> {
    let request = PageRequest::parse(params, SORT_COLUMNS, ("score", Dir::Desc))?;
    let lines = matching(db, policy, now, query)?;
    Ok(request.all(lines, SORT_COLUMNS, |p| p.proposal.customer_id.as_str()))
}

/// This year's undecided proposals matching `query`; an unknown proposed tier is refused.
fn matching(
    db: &dyn HqQueries,
    policy: &Policy,
    now: DateTime<Utc>,
    query: &ProposalQuery,
) -> Result<Vec<ProposalLine>, ServerError> {
    let proposed = query.proposed.as_deref().map(str::trim).filter(|t| !t.is_empty());
    let proposed = proposed
        .map(|t| {
            t.parse::<Tier>().map_err(|_| ServerError::Invalid {
                field: "proposed",
                reason: format!("{t:?} is not a tier code"),
            })
        })
        .transpose()?;
    let q = listing::search_text(query.q.as_deref())?;
    let mut lines = proposals(db, policy, now)?;
    lines.retain(|p| {
        proposed.is_none_or(|t| p.proposal.proposed_tier == t)
            && q.as_deref().is_none_or(|q| {
                listing::contains_folded(&p.name, q)
                    || listing::contains_folded(p.proposal.customer_id.as_str(), q)
            })
    });
    Ok(lines)
}

/// The general manager's decision on one proposal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Write the proposed tier and grade.
    Approve,
    /// Keep the classification as it is.
    Reject,
}

/// Decides the current proposal for `customer_id`. The proposal is recomputed inside the
/// transaction, so a decision always applies to what the rule proposes now; if there is no
/// such proposal (already decided, or the figures changed so nothing would change) it fails
/// with `NotFound` and writes nothing. Returns the changed document, if any.
pub(crate) fn decide(
    tx: &dyn Db,
    docs: &mut DocCache,
    policy: &Policy,
    customer_id: &str,
    decision: Decision,
    by: &str,
    now: DateTime<Utc>,
) -> Result<Option<ChangedDoc>, ServerError> {
    let proposal = proposals(tx, policy, now)?
        .into_iter()
        .map(|line| line.proposal)
        .find(|p| p.customer_id.as_str() == customer_id)
        .ok_or(ServerError::NotFound)?;
    let changed = match decision {
        Decision::Approve => Some(apply(tx, docs, &proposal, by, now)?),
        Decision::Reject => None,
    };
    let code = if decision == Decision::Approve { "approved" } else { "rejected" };
    tx.record_regrade_decision(&RegradeDecisionRecord {
        proposal: &proposal,
        decision: code,
        decided_by: by,
        decided_at: now,
    })?;
    audit::log(
        tx,
        now,
        by,
        &format!("regrade.{code}"),
        &format!("customer/{customer_id}"),
        &json!({
            "year": proposal.year,
            "tier": [proposal.current_tier, proposal.proposed_tier],
            "grade": [proposal.current_grade, proposal.proposed_grade],
            "score": proposal.score,
        }),
    )?;
    Ok(changed)
}

/// Writes the proposed tier and grade into the customer's document, keeping the rest of
/// the classification.
fn apply(
    tx: &dyn Db,
    docs: &mut DocCache,
    proposal: &RegradeProposal,
    by: &str,
    now: DateTime<Utc>,
) -> Result<ChangedDoc, ServerError> {
    let id = customer_doc_id(&proposal.customer_id);
    let doc = docs.get(tx, &id, false)?.ok_or(ServerError::NotFound)?;
    let mut classification = read_customer(doc)?.classification;
    classification.tier = proposal.proposed_tier;
    classification.grade = Some(proposal.proposed_grade);
    classification.score = Some(proposal.score);
    let heads_before = doc.heads();
    let meta = EditMeta::new(&UserId::from(by), now, "customer.regrade");
    edit_customer(doc, &CustomerEdit::SetClassification(classification), &meta)?;
    let (seq, scope_key) = commit_doc(tx, docs, &id, &heads_before, now)?
        .ok_or_else(|| ServerError::Corrupt(format!("re-grade of {id} changed nothing")))?;
    Ok(ChangedDoc { seq, doc_id: id.to_string(), scope_key })
}

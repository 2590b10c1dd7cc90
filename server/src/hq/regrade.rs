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
use kam_core::model::UserId;
use kam_core::rules::{RegradeProposal, propose_regrades};
use serde::Serialize;
use serde_json::json;

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

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
use kam_core::model::{CustomerId, UserId};
use kam_core::rules::{RegradeInput, RegradeProposal, propose_regrades};
use rusqlite::{Connection, Transaction, params};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::json;

use crate::audit;
use crate::docs::DocCache;
use crate::error::ServerError;
use crate::store::commit_doc;
use crate::sync::ChangedDoc;

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
    conn: &Connection,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<Vec<ProposalLine>, ServerError> {
    let year = policy.business_date(now).year();
    let mut stmt = conn.prepare_cached(
        "SELECT c.customer_id, c.name, c.strategic, c.leading_brand, c.tier, c.grade, c.score,
                s.amount
         FROM customers c
         LEFT JOIN customer_sales_years s ON s.customer_id = c.customer_id AND s.year = ?1
         WHERE c.score IS NOT NULL ORDER BY c.customer_id",
    )?;
    let rows = stmt.query_map([year - 1], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, bool>(2)?,
            r.get::<_, bool>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, Option<String>>(5)?,
            r.get::<_, u32>(6)?,
            r.get::<_, Option<String>>(7)?,
        ))
    })?;
    let mut inputs = Vec::new();
    let mut names = std::collections::HashMap::new();
    for row in rows {
        let (id, name, strategic, leading_brand, tier, grade, score, sales) = row?;
        let corrupt = |what: &str| ServerError::Corrupt(format!("customer {id}: {what}"));
        inputs.push(RegradeInput {
            customer_id: CustomerId::from(id.as_str()),
            strategic,
            leading_brand,
            last_year_sales: sales
                .as_deref()
                .map(super::decimal)
                .transpose()?
                .unwrap_or(Decimal::ZERO),
            current_tier: tier.parse().map_err(|_| corrupt("tier"))?,
            current_grade: grade.map(|g| g.parse()).transpose().map_err(|_| corrupt("grade"))?,
            score,
        });
        names.insert(id, name);
    }
    let decided = decided_in(conn, year)?;
    Ok(propose_regrades(&inputs, year, policy)
        .into_iter()
        .filter(|p| !decided.contains(p.customer_id.as_str()))
        .map(|proposal| ProposalLine {
            name: names.get(proposal.customer_id.as_str()).cloned().unwrap_or_default(),
            proposal,
        })
        .collect())
}

fn decided_in(
    conn: &Connection,
    year: i32,
) -> Result<std::collections::HashSet<String>, ServerError> {
    let mut stmt =
        conn.prepare_cached("SELECT customer_id FROM regrade_decisions WHERE year = ?1")?;
    let ids = stmt.query_map([year], |r| r.get(0))?.collect::<Result<_, _>>()?;
    Ok(ids)
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
    tx: &Transaction<'_>,
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
    tx.prepare_cached(
        "INSERT INTO regrade_decisions(customer_id, year, proposed_tier, proposed_grade, decision,
             decided_by, decided_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        customer_id,
        proposal.year,
        proposal.proposed_tier.as_str(),
        proposal.proposed_grade.as_str(),
        code,
        by,
        now.to_rfc3339()
    ])?;
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
    tx: &Transaction<'_>,
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

//! The local index rows of the account-management records (issue 23): leads, plans and the
//! quarters they still have to evaluate, surveys and scorecards.
//!
//! Like every index row, each is a pure function of one document and the policy. What depends
//! on today (an evaluation or a survey due, overdue) is not stored: the queries compute it from
//! the dates stored here.

use chrono::NaiveDate;
use rusqlite::{Transaction, params};

use super::error::ReplicaError;
use super::index::format_instant;
use super::index::skip_unreadable;
use crate::doc::{DocId, DocKind, Document, Record, read_record};
use crate::model::{AccountPlan, Lead, LeadStage, Scorecard, Survey};
use crate::policy::Policy;
use crate::rules::{self, PlanStatus};

/// The index tables of the record kinds, for a rebuild.
pub(crate) const TABLES: [&str; 5] =
    ["idx_leads", "idx_plans", "idx_plan_evaluations_due", "idx_surveys", "idx_scorecards"];

/// Inserts the rows of a record document (the caller removed the old ones first).
pub(crate) fn project(
    tx: &Transaction<'_>,
    doc: &Document,
    policy: &Policy,
) -> Result<(), ReplicaError> {
    match doc.id().kind() {
        DocKind::Lead => with_record(doc, |lead| insert_lead(tx, lead)),
        DocKind::Plan => with_record(doc, |plan| insert_plan(tx, plan, policy)),
        DocKind::Survey => with_record(doc, |survey| insert_survey(tx, survey, policy)),
        DocKind::Scorecard => with_record(doc, |card| insert_scorecard(tx, card)),
        // Leadership reviews and organisations are HQ's; the tablet lists neither.
        _ => Ok(()),
    }
}

fn with_record<R: Record>(
    doc: &Document,
    insert: impl FnOnce(&R) -> Result<(), ReplicaError>,
) -> Result<(), ReplicaError> {
    match read_record::<R>(doc) {
        Ok(record) => insert(&record),
        Err(e) => skip_unreadable(doc.id(), e),
    }
}

/// Removes the rows derived from record document `id`.
pub(crate) fn remove(tx: &Transaction<'_>, id: &DocId) -> Result<(), ReplicaError> {
    let entity = id.entity();
    let statements: &[&str] = match id.kind() {
        DocKind::Lead => &["DELETE FROM idx_leads WHERE lead_id = ?1"],
        DocKind::Plan => &[
            "DELETE FROM idx_plans WHERE plan_id = ?1",
            "DELETE FROM idx_plan_evaluations_due WHERE plan_id = ?1",
        ],
        DocKind::Survey => &["DELETE FROM idx_surveys WHERE survey_id = ?1"],
        DocKind::Scorecard => &["DELETE FROM idx_scorecards WHERE scorecard_id = ?1"],
        _ => &[],
    };
    for sql in statements {
        tx.prepare_cached(sql)?.execute([entity])?;
    }
    Ok(())
}

/// Sorts a lead's stages in pipeline order: the open stages in the order a lead moves through
/// them, then won, then lost.
pub(crate) fn stage_rank(stage: LeadStage) -> u8 {
    match stage {
        LeadStage::MarketResearch => 0,
        LeadStage::FirstContact => 1,
        LeadStage::NeedsAnalysis => 2,
        LeadStage::Solution => 3,
        LeadStage::Negotiation => 4,
        LeadStage::Won => 5,
        LeadStage::Lost => 6,
    }
}

fn insert_lead(tx: &Transaction<'_>, lead: &Lead) -> Result<(), ReplicaError> {
    // The last stage change, else the identification: what "recently moved" sorts by.
    let updated_at = lead.history.values().map(|c| c.at).max().unwrap_or(lead.identified_at);
    tx.prepare_cached(
        "INSERT INTO idx_leads(lead_id, customer_id, owner_id, title, stage, stage_rank,
             expected_value, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        lead.id.as_str(),
        lead.customer_id.as_str(),
        lead.owner.as_str(),
        lead.title,
        lead.stage.as_str(),
        stage_rank(lead.stage),
        lead.expected_value.to_string(),
        format_instant(updated_at),
    ])?;
    Ok(())
}

/// The stored code of a plan's status.
pub(crate) fn status_code(status: PlanStatus) -> &'static str {
    match status {
        PlanStatus::Draft => "draft",
        PlanStatus::Approved => "approved",
        PlanStatus::RevisedSinceApproval => "revised_since_approval",
    }
}

fn insert_plan(
    tx: &Transaction<'_>,
    plan: &AccountPlan,
    policy: &Policy,
) -> Result<(), ReplicaError> {
    tx.prepare_cached(
        "INSERT INTO idx_plans(plan_id, customer_id, year, revision, status)
             VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        plan.id.as_str(),
        plan.customer_id.as_str(),
        plan.year,
        plan.revision,
        status_code(rules::plan_status(plan)),
    ])?;
    // Every quarter not evaluated yet, with the dates it becomes due and overdue: as of
    // the end of time, so the row does not depend on today.
    let mut due = tx.prepare_cached(
        "INSERT INTO idx_plan_evaluations_due(plan_id, quarter, due_from, overdue_after)
             VALUES (?1, ?2, ?3, ?4)",
    )?;
    for d in rules::evaluations_due(plan, NaiveDate::MAX, policy) {
        due.execute(params![
            plan.id.as_str(),
            d.quarter,
            d.due_from.to_string(),
            d.overdue_after.to_string(),
        ])?;
    }
    Ok(())
}

fn insert_survey(
    tx: &Transaction<'_>,
    survey: &Survey,
    policy: &Policy,
) -> Result<(), ReplicaError> {
    tx.prepare_cached(
        "INSERT INTO idx_surveys(survey_id, customer_id, kind, taken_at, taken_on, score)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        survey.id.as_str(),
        survey.customer_id.as_str(),
        survey.kind.as_str(),
        format_instant(survey.taken_at),
        policy.business_date(survey.taken_at).to_string(),
        // A survey that cannot be scored (amended to nothing) counts for no score.
        rules::survey_score(&survey.items).ok(),
    ])?;
    Ok(())
}

fn insert_scorecard(tx: &Transaction<'_>, card: &Scorecard) -> Result<(), ReplicaError> {
    let published = card.published.as_ref();
    let lines = published
        .map(|p| serde_json::to_string(&p.lines.values().collect::<Vec<_>>()))
        .transpose()?;
    tx.prepare_cached(
        "INSERT INTO idx_scorecards(scorecard_id, person_id, period, sales_target, computed_at,
             total, lines)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        card.id.as_str(),
        card.person.as_str(),
        card.period,
        card.sales_target.to_string(),
        published.map(|p| format_instant(p.computed_at)),
        published.map(|p| p.total.to_string()),
        lines,
    ])?;
    Ok(())
}

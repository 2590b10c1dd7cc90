//! The development pipeline (客户开发, RULES.md §8): leads by stage with their expected
//! value, by rep, the win rate, and one lead's stage history. Totals come from the shared
//! rule (`rules::pipeline_summary`), so headquarters and the tablets count alike.

use std::collections::BTreeMap;

use kam_core::model::{CustomerId, Lead, LeadId, LeadStage, UserId};
use kam_core::rules::{self, PipelineSummary};
use serde::Serialize;

use crate::db::AccountWorkStore;
use crate::db::parse::{decimal, instant};
use crate::error::ServerError;

pub use crate::db::pipeline::{LeadFilter, LeadLine, StageChangeLine};

/// One rep's leads.
#[derive(Clone, Debug, Serialize)]
pub struct RepLine {
    /// The rep.
    pub owner: String,
    /// Their pipeline (open stages, won, lost, win rate).
    pub summary: PipelineSummary,
}

/// What `/hq/pipeline` shows.
#[derive(Clone, Debug, Serialize)]
pub struct PipelineView {
    /// Totals of the leads of the rep filtered on (all reps when none), every stage.
    pub summary: PipelineSummary,
    /// Every rep's totals, by rep id.
    pub by_rep: Vec<RepLine>,
    /// The leads matching the whole filter, the latest stage change first.
    pub leads: Vec<LeadLine>,
}

/// The pipeline for `filter`: totals for its rep (the stage filter narrows the list only,
/// so the win rate always counts won against lost), every rep's totals, and the leads.
pub fn pipeline(
    db: &dyn AccountWorkStore,
    filter: &LeadFilter,
) -> Result<PipelineView, ServerError> {
    let all = db.leads(&LeadFilter::default())?;
    let mut per_rep: BTreeMap<String, Vec<Lead>> = BTreeMap::new();
    let mut mine = Vec::new();
    for line in &all {
        let lead = lead_of(line)?;
        if filter.owner.as_ref().is_none_or(|o| *o == line.owner) {
            mine.push(lead.clone());
        }
        per_rep.entry(line.owner.clone()).or_default().push(lead);
    }
    let by_rep = per_rep
        .into_iter()
        .map(|(owner, leads)| Ok(RepLine { owner, summary: summary(&leads)? }))
        .collect::<Result<_, ServerError>>()?;
    let leads = all
        .into_iter()
        .filter(|l| filter.owner.as_ref().is_none_or(|o| *o == l.owner))
        .filter(|l| filter.stage.as_ref().is_none_or(|s| *s == l.stage))
        .collect();
    Ok(PipelineView { summary: summary(&mine)?, by_rep, leads })
}

/// One lead and its stage history, oldest first.
#[derive(Clone, Debug, Serialize)]
pub struct LeadDetail {
    /// The lead.
    pub lead: LeadLine,
    /// Its stage changes.
    pub history: Vec<StageChangeLine>,
}

/// One lead, or `NotFound`.
pub fn lead(db: &dyn AccountWorkStore, lead_id: &str) -> Result<LeadDetail, ServerError> {
    let (lead, history) = db.lead(lead_id)?.ok_or(ServerError::NotFound)?;
    Ok(LeadDetail { lead, history })
}

fn summary(leads: &[Lead]) -> Result<PipelineSummary, ServerError> {
    rules::pipeline_summary(leads).map_err(|e| ServerError::Corrupt(e.to_string()))
}

/// The lead a row stands for, as far as the pipeline's totals read it (stage and value);
/// criteria and history are not needed there and left empty.
fn lead_of(line: &LeadLine) -> Result<Lead, ServerError> {
    let stage: LeadStage = line.stage.parse().map_err(|_| {
        ServerError::Corrupt(format!("lead {} stage {:?}", line.lead_id, line.stage))
    })?;
    Ok(Lead {
        id: LeadId::from(line.lead_id.as_str()),
        customer_id: CustomerId::from(line.customer_id.as_str()),
        title: line.title.clone(),
        identified_by: UserId::from(line.identified_by.as_str()),
        identified_at: instant(&line.identified_at)?,
        owner: UserId::from(line.owner.as_str()),
        criteria: Default::default(),
        expected_value: decimal(&line.expected_value)?,
        stage,
        history: BTreeMap::new(),
    })
}

//! The development pipeline (客户开发, RULES.md §8): leads by stage with their expected
//! value, by rep, the win rate, and one lead's stage history. Totals come from the shared
//! rule (`rules::pipeline_summary`), so headquarters and the tablets count alike.

use std::collections::BTreeMap;

use kam_core::model::{CustomerId, Lead, LeadId, LeadStage, UserId};
use kam_core::rules::{self, PipelineSummary};
use serde::Serialize;

use super::listing::{Dir, ListParams, Page, PageRequest, SortColumn, SortValue};
use super::people::Names;
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

/// What `/hq/pipeline` shows at a company's size: the totals, every rep's totals with their
/// names, and one page of the leads.
#[derive(Clone, Debug, Serialize)]
pub struct PipelinePage {
    /// Totals of the leads of the rep filtered on (all reps when none).
    pub summary: PipelineSummary,
    /// Every rep's totals, by rep id.
    pub by_rep: Vec<RepLine>,
    /// The reps' names, by id.
    pub rep_names: BTreeMap<String, String>,
    /// The leads matching the filter, the latest stage change first unless sorted otherwise.
    pub leads: Page<LeadLine>,
}

/// The columns the leads sort by (`sort=`).
pub const SORT_COLUMNS: &[SortColumn<LeadLine>] = &[
    SortColumn { key: "changed", value: |l| Some(SortValue::Text(l.stage_changed_at.clone())) },
    SortColumn { key: "title", value: |l| Some(SortValue::Text(l.title.clone())) },
    SortColumn { key: "customer", value: |l| Some(SortValue::Text(l.customer_name.clone())) },
    SortColumn {
        key: "stage",
        value: |l| {
            let rank = LeadStage::ALL.iter().zip(0i64..).find(|(s, _)| s.as_str() == l.stage);
            Some(SortValue::Int(rank.map_or(99, |(_, i)| i)))
        },
    },
    SortColumn {
        key: "value",
        value: |l| super::listing::money_value(l.expected_value.parse().ok()?),
    },
    SortColumn { key: "rep", value: |l| Some(SortValue::Text(l.owner.clone())) },
];

/// The lead list's filters: the rep, a stage and part of the lead's title or id or of its
/// customer's name.
#[derive(Clone, Debug, Default, serde::Deserialize, Serialize)]
pub struct LeadQuery {
    /// The rep working the lead.
    pub owner: Option<String>,
    /// A stage code (`negotiation`, `won`, …).
    pub stage: Option<String>,
    /// Part of the lead's title or id or of its customer's name.
    pub q: Option<String>,
}

impl LeadQuery {
    /// The filters as query-string pairs.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let v = |o: &Option<String>| o.clone().unwrap_or_default();
        vec![("owner", v(&self.owner)), ("stage", v(&self.stage)), ("q", v(&self.q))]
    }

    /// The rep and stage given (an empty value is no filter).
    pub fn filter(&self) -> LeadFilter {
        let given = |o: &Option<String>| o.clone().filter(|v| !v.trim().is_empty());
        LeadFilter { owner: given(&self.owner), stage: given(&self.stage) }
    }
}

/// The pipeline for `query` with one page of its leads; a stage or rep that does not exist
/// is refused by name.
pub fn pipeline_page(
    db: &dyn crate::db::Db,
    query: &LeadQuery,
    params: &ListParams,
) -> Result<PipelinePage, ServerError> {
    let request = PageRequest::parse(params, SORT_COLUMNS, ("changed", Dir::Desc))?;
    let names = Names::load(db)?;
    let view = matching(db, &names, query)?;
    let rep_names =
        view.by_rep.iter().map(|r| (r.owner.clone(), names.of(&r.owner).to_owned())).collect();
    Ok(PipelinePage {
        summary: view.summary,
        by_rep: view.by_rep,
        rep_names,
        leads: request.page(view.leads, SORT_COLUMNS, |l| &l.lead_id),
    })
}

/// Every lead matching `query` in the order `params` sorts them (for a list's file), with the
/// reps' names.
pub fn leads_sorted(
    db: &dyn crate::db::Db,
    query: &LeadQuery,
    params: &ListParams,
) -> Result<(Vec<LeadLine>, Names), ServerError> {
    let request = PageRequest::parse(params, SORT_COLUMNS, ("changed", Dir::Desc))?;
    let names = Names::load(db)?;
    let view = matching(db, &names, query)?;
    Ok((request.all(view.leads, SORT_COLUMNS, |l| &l.lead_id), names))
}

/// The pipeline for `query`: the search narrows the list of leads, not the totals.
fn matching(
    db: &dyn crate::db::Db,
    names: &Names,
    query: &LeadQuery,
) -> Result<PipelineView, ServerError> {
    let filter = query.filter();
    if let Some(stage) = &filter.stage
        && stage.parse::<LeadStage>().is_err()
    {
        let reason = format!("{stage:?} is not a lead stage");
        return Err(ServerError::Invalid { field: "stage", reason });
    }
    if let Some(owner) = &filter.owner
        && !names.knows(owner)
    {
        return Err(ServerError::Invalid { field: "owner", reason: format!("no user {owner:?}") });
    }
    let q = super::listing::search_text(query.q.as_deref())?;
    let mut view = pipeline(db, &filter)?;
    if let Some(q) = q.as_deref() {
        view.leads.retain(|l| {
            super::listing::contains_folded(&l.title, q)
                || super::listing::contains_folded(&l.customer_name, q)
                || super::listing::contains_folded(&l.lead_id, q)
        });
    }
    Ok(view)
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

//! The tablet's account-management screens (issue 23), answered from the local index: my
//! pipeline by stage, plans due for evaluation, surveys due, my scorecard. Due and overdue are
//! computed here from the stored dates and `today`, with the same rules the server uses.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};
use rust_decimal::Decimal;
use serde::Serialize;

use super::accounts_index::stage_rank;
use super::error::ReplicaError;
use super::{Replica, ReplicaReader};
use crate::model::{
    CustomerId, LeadId, LeadStage, PlanId, ScorecardId, ScorecardLine, Survey, SurveyId, Tier,
    UserId,
};
use crate::policy::Policy;
use crate::rules::{self, PlanStatus, SatisfactionFactor};

/// One lead on the pipeline screen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LeadRow {
    /// Lead id.
    pub id: LeadId,
    /// The customer being developed.
    pub customer_id: CustomerId,
    /// Its name (empty while the customer has not reached this device).
    pub customer_name: String,
    /// One-line description.
    pub title: String,
    /// Current stage.
    pub stage: LeadStage,
    /// Expected contract value in CNY.
    pub expected_value: Decimal,
    /// The last stage change, else when it was identified.
    pub updated_at: DateTime<Utc>,
}

/// One stage of the pipeline with its leads, most recently moved first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PipelineStageRow {
    /// The stage.
    pub stage: LeadStage,
    /// Its leads.
    pub leads: Vec<LeadRow>,
    /// How many.
    pub count: u32,
    /// Their expected value together, CNY.
    pub expected_value: Decimal,
}

/// A quarter of an account plan that has ended without an evaluation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlanDueRow {
    /// The plan.
    pub plan_id: PlanId,
    /// Its customer.
    pub customer_id: CustomerId,
    /// The customer's name.
    pub customer_name: String,
    /// The plan's year.
    pub year: i32,
    /// The quarter to evaluate, 1–4.
    pub quarter: u8,
    /// The plan's approval status.
    pub status: PlanStatus,
    /// The first day the evaluation is due (the day after the quarter).
    pub due_from: NaiveDate,
    /// The last day it is on time.
    pub overdue_after: NaiveDate,
    /// Already late today.
    pub overdue: bool,
}

/// The next periodic survey of one of my customers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SurveyDueRow {
    /// The customer.
    pub customer_id: CustomerId,
    /// Its name.
    pub customer_name: String,
    /// Its tier (the cadence depends on it).
    pub tier: Tier,
    /// The last periodic survey's business date, if any.
    pub last_periodic_on: Option<NaiveDate>,
    /// The last day the next one is on time.
    pub due_on: NaiveDate,
    /// Already late today.
    pub overdue: bool,
}

/// A person's scorecard as the index holds it: the published figures with how each was
/// computed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScorecardRow {
    /// Scorecard id.
    pub id: ScorecardId,
    /// Whose.
    pub person: UserId,
    /// `YYYY-MM` or `YYYY`.
    pub period: String,
    /// Sales target for the period, CNY.
    pub sales_target: Decimal,
    /// When the figures were computed (`None`: not published yet).
    pub computed_at: Option<DateTime<Utc>>,
    /// Total points 0–100, once published.
    pub total: Option<Decimal>,
    /// The published lines in policy order, each with its basis in words.
    pub lines: Vec<ScorecardLine>,
}

fn corrupt(what: &str, value: &str) -> ReplicaError {
    ReplicaError::Corrupt(format!("index holds invalid {what} `{value}`"))
}

fn parse<T: std::str::FromStr>(what: &str, value: String) -> Result<T, ReplicaError> {
    value.parse().map_err(|_| corrupt(what, &value))
}

fn date(value: String) -> Result<NaiveDate, ReplicaError> {
    NaiveDate::parse_from_str(&value, "%Y-%m-%d").map_err(|_| corrupt("date", &value))
}

fn instant(value: String) -> Result<DateTime<Utc>, ReplicaError> {
    DateTime::parse_from_rfc3339(&value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| corrupt("instant", &value))
}

fn plan_status(code: String) -> Result<PlanStatus, ReplicaError> {
    match code.as_str() {
        "draft" => Ok(PlanStatus::Draft),
        "approved" => Ok(PlanStatus::Approved),
        "revised_since_approval" => Ok(PlanStatus::RevisedSinceApproval),
        _ => Err(corrupt("plan status", &code)),
    }
}

fn collect<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    map: impl Fn(&Row<'_>) -> Result<T, ReplicaError>,
) -> Result<Vec<T>, ReplicaError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(map(row)?);
    }
    Ok(out)
}

/// `owner`'s leads grouped by stage, every stage listed (open stages in order, then won and
/// lost) so the screen's columns never move.
pub(crate) fn my_pipeline_by_stage(
    conn: &Connection,
    owner: &UserId,
) -> Result<Vec<PipelineStageRow>, ReplicaError> {
    let leads = collect(
        conn,
        "SELECT l.lead_id, l.customer_id, COALESCE(c.name, ''), l.title, l.stage,
                l.expected_value, l.updated_at
         FROM idx_leads l LEFT JOIN idx_customers c ON c.customer_id = l.customer_id
         WHERE l.owner_id = ?1
         ORDER BY l.stage_rank, l.updated_at DESC, l.lead_id",
        [owner.as_str()],
        |row| {
            Ok(LeadRow {
                id: LeadId(row.get(0)?),
                customer_id: CustomerId(row.get(1)?),
                customer_name: row.get(2)?,
                title: row.get(3)?,
                stage: parse("lead stage", row.get(4)?)?,
                expected_value: parse("amount", row.get(5)?)?,
                updated_at: instant(row.get(6)?)?,
            })
        },
    )?;
    let mut stages: Vec<LeadStage> = LeadStage::OPEN.to_vec();
    stages.extend([LeadStage::Won, LeadStage::Lost]);
    stages.sort_by_key(|s| stage_rank(*s));
    stages
        .into_iter()
        .map(|stage| {
            let leads: Vec<LeadRow> = leads.iter().filter(|l| l.stage == stage).cloned().collect();
            let expected_value =
                crate::bounds::sum("pipeline value", leads.iter().map(|l| l.expected_value))
                    .map_err(|e| ReplicaError::Corrupt(e.to_string()))?;
            let count = u32::try_from(leads.len()).unwrap_or(u32::MAX);
            Ok(PipelineStageRow { stage, leads, count, expected_value })
        })
        .collect()
}

/// Quarters of plans of `owner`'s customers that have ended without an evaluation
/// (`rules::evaluations_due`), the longest waiting first.
pub(crate) fn plans_due_for_evaluation(
    conn: &Connection,
    owner: &UserId,
    today: NaiveDate,
) -> Result<Vec<PlanDueRow>, ReplicaError> {
    collect(
        conn,
        "SELECT p.plan_id, p.customer_id, COALESCE(c.name, ''), p.year, d.quarter, p.status,
                d.due_from, d.overdue_after
         FROM idx_customer_owners o
         JOIN idx_plans p ON p.customer_id = o.customer_id
         JOIN idx_plan_evaluations_due d ON d.plan_id = p.plan_id
         LEFT JOIN idx_customers c ON c.customer_id = p.customer_id
         WHERE o.owner_id = ?1 AND d.due_from <= ?2
         ORDER BY d.due_from, c.name, p.plan_id",
        params![owner.as_str(), today.to_string()],
        |row| {
            let overdue_after = date(row.get(7)?)?;
            Ok(PlanDueRow {
                plan_id: PlanId(row.get(0)?),
                customer_id: CustomerId(row.get(1)?),
                customer_name: row.get(2)?,
                year: row.get(3)?,
                quarter: row.get(4)?,
                status: plan_status(row.get(5)?)?,
                due_from: date(row.get(6)?)?,
                overdue_after,
                overdue: today > overdue_after,
            })
        },
    )
}

/// The last day of `today`'s month: surveys due by then are listed.
fn end_of_month(today: NaiveDate) -> NaiveDate {
    today
        .with_day(1)
        .and_then(|first| first.checked_add_months(chrono::Months::new(1)))
        .and_then(|next| next.pred_opt())
        .unwrap_or(today)
}

/// The periodic surveys of `owner`'s customers overdue or due by the end of this month
/// (`rules::survey_due`: an interval by tier after the last periodic survey, or after the
/// customer was created), most overdue first.
pub(crate) fn surveys_due(
    conn: &Connection,
    owner: &UserId,
    today: NaiveDate,
    policy: &Policy,
) -> Result<Vec<SurveyDueRow>, ReplicaError> {
    let horizon = end_of_month(today);
    let mut rows = collect(
        conn,
        "SELECT c.customer_id, c.name, c.tier, c.created_on,
                (SELECT MAX(s.taken_on) FROM idx_surveys s
                 WHERE s.customer_id = c.customer_id AND s.kind = 'periodic')
         FROM idx_customer_owners o JOIN idx_customers c ON c.customer_id = o.customer_id
         WHERE o.owner_id = ?1
         ORDER BY c.tier_rank, c.name, c.customer_id",
        [owner.as_str()],
        |row| {
            let tier: Tier = parse("tier", row.get(2)?)?;
            let created_on = row
                .get::<_, Option<String>>(3)?
                .ok_or_else(|| ReplicaError::Corrupt("customer without a creation date".into()))
                .and_then(date)?;
            let last_periodic_on = row.get::<_, Option<String>>(4)?.map(date).transpose()?;
            let due = rules::survey_due(tier, last_periodic_on, created_on, today, policy);
            Ok(SurveyDueRow {
                customer_id: CustomerId(row.get(0)?),
                customer_name: row.get(1)?,
                tier,
                last_periodic_on,
                due_on: due.due_on,
                overdue: due.overdue,
            })
        },
    )?;
    rows.retain(|r| r.due_on <= horizon);
    // Stable: within a day, the SQL order (tier, name) stands.
    rows.sort_by_key(|r| r.due_on);
    Ok(rows)
}

/// `person`'s scorecard for `period`, if this replica holds it.
pub(crate) fn my_scorecard(
    conn: &Connection,
    person: &UserId,
    period: &str,
) -> Result<Option<ScorecardRow>, ReplicaError> {
    type Raw = (String, String, Option<String>, Option<String>, Option<String>);
    let raw: Option<Raw> = conn
        .prepare_cached(
            "SELECT scorecard_id, sales_target, computed_at, total, lines FROM idx_scorecards
             WHERE person_id = ?1 AND period = ?2",
        )?
        .query_row(params![person.as_str(), period], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .optional()?;
    let Some((id, target, computed_at, total, lines)) = raw else {
        return Ok(None);
    };
    Ok(Some(ScorecardRow {
        id: ScorecardId(id),
        person: person.clone(),
        period: period.to_owned(),
        sales_target: parse("amount", target)?,
        computed_at: computed_at.map(instant).transpose()?,
        total: total.map(|t| parse("total", t)).transpose()?,
        lines: lines.map(|l| serde_json::from_str(&l)).transpose()?.unwrap_or_default(),
    }))
}

fn survey_ids(conn: &Connection, customer: &CustomerId) -> Result<Vec<SurveyId>, ReplicaError> {
    collect(
        conn,
        "SELECT survey_id FROM idx_surveys WHERE customer_id = ?1 ORDER BY survey_id",
        [customer.as_str()],
        |row| Ok(SurveyId(row.get(0)?)),
    )
}

impl Replica {
    /// `owner`'s leads by stage, every stage listed.
    pub fn my_pipeline_by_stage(
        &self,
        owner: &UserId,
    ) -> Result<Vec<PipelineStageRow>, ReplicaError> {
        my_pipeline_by_stage(&self.conn, owner)
    }

    /// Ended quarters of `owner`'s customers' plans still to evaluate.
    pub fn plans_due_for_evaluation(
        &self,
        owner: &UserId,
        today: NaiveDate,
    ) -> Result<Vec<PlanDueRow>, ReplicaError> {
        plans_due_for_evaluation(&self.conn, owner, today)
    }

    /// Periodic surveys of `owner`'s customers overdue or due by the end of this month.
    pub fn surveys_due(
        &self,
        owner: &UserId,
        today: NaiveDate,
    ) -> Result<Vec<SurveyDueRow>, ReplicaError> {
        surveys_due(&self.conn, owner, today, &self.options.policy)
    }

    /// `person`'s scorecard for `period` with its lines.
    pub fn my_scorecard(
        &self,
        person: &UserId,
        period: &str,
    ) -> Result<Option<ScorecardRow>, ReplicaError> {
        my_scorecard(&self.conn, person, period)
    }

    /// A customer's satisfaction from the surveys this replica holds
    /// (`rules::satisfaction_factor`: the mean score of the window up to `today`); `None`
    /// when no survey counts. Reads the survey documents: a customer has a few a year.
    pub fn satisfaction_factor(
        &mut self,
        customer: &CustomerId,
        today: NaiveDate,
    ) -> Result<Option<SatisfactionFactor>, ReplicaError> {
        let mut surveys = Vec::new();
        for id in survey_ids(&self.conn, customer)? {
            surveys.push(self.record::<Survey>(id.as_str())?);
        }
        Ok(rules::satisfaction_factor(&surveys, today, &self.options.policy))
    }
}

impl ReplicaReader {
    /// `owner`'s leads by stage, every stage listed.
    pub fn my_pipeline_by_stage(
        &self,
        owner: &UserId,
    ) -> Result<Vec<PipelineStageRow>, ReplicaError> {
        my_pipeline_by_stage(self.conn(), owner)
    }

    /// Ended quarters of `owner`'s customers' plans still to evaluate.
    pub fn plans_due_for_evaluation(
        &self,
        owner: &UserId,
        today: NaiveDate,
    ) -> Result<Vec<PlanDueRow>, ReplicaError> {
        plans_due_for_evaluation(self.conn(), owner, today)
    }

    /// Periodic surveys of `owner`'s customers overdue or due by the end of this month.
    pub fn surveys_due(
        &self,
        owner: &UserId,
        today: NaiveDate,
        policy: &Policy,
    ) -> Result<Vec<SurveyDueRow>, ReplicaError> {
        surveys_due(self.conn(), owner, today, policy)
    }

    /// `person`'s scorecard for `period` with its lines.
    pub fn my_scorecard(
        &self,
        person: &UserId,
        period: &str,
    ) -> Result<Option<ScorecardRow>, ReplicaError> {
        my_scorecard(self.conn(), person, period)
    }
}

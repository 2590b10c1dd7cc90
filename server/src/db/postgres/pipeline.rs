//! Leads, plans and surveys on PostgreSQL (the tables of `accounts_schema`).
//!
//! The reads that name a customer (leads, plans, surveyed customers) join the projection
//! tables, as on SQLite; a lead or plan whose customer is not projected reads back with an
//! empty name.

use std::collections::BTreeMap;

use kam_core::model::{AccountPlan, Lead, PlanGoals, Survey, SurveyItem};
use tokio_postgres::Row;

use super::PgDb;
use crate::db::DbError;
use crate::db::parse::{stored_instant as instant, stored_money as money};
use crate::db::pipeline::{
    AccountWorkStore, EvaluationLine, GoalsLine, LeadFacts, LeadFilter, LeadLine, PlanLine,
    PlanRows, StageChangeLine, SurveyLine, SurveyedCustomer,
};

/// A `bigint` column read as the narrower integer the traits carry.
pub(super) fn narrow<T: TryFrom<i64>>(row: &Row, index: usize) -> Result<T, DbError> {
    let n: i64 = row.try_get(index)?;
    T::try_from(n).map_err(|_| DbError::Corrupt(format!("integer {n} out of range")))
}

impl AccountWorkStore for PgDb {
    fn insert_lead(&self, lead: &Lead, facts: &LeadFacts) -> Result<(), DbError> {
        self.execute(
            "INSERT INTO leads(lead_id, customer_id, title, owner, identified_by, identified_at,
                 stage, expected_value, candidate, stage_changed_at, closed_at, lost_reason)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            &[
                &lead.id.as_str(),
                &lead.customer_id.as_str(),
                &lead.title,
                &lead.owner.as_str(),
                &lead.identified_by.as_str(),
                &instant(lead.identified_at),
                &lead.stage.as_str(),
                &money(lead.expected_value),
                &i64::from(facts.candidate),
                &instant(facts.stage_changed_at),
                &facts.closed_at.map(instant),
                &facts.lost_reason,
            ],
        )?;
        for (id, c) in &lead.history {
            self.execute(
                "INSERT INTO lead_stage_changes(lead_id, entry_id, from_stage, to_stage, at,
                     by_user, learned, lost_reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    &lead.id.as_str(),
                    &id.as_str(),
                    &c.from.as_str(),
                    &c.to.as_str(),
                    &instant(c.at),
                    &c.by.as_str(),
                    &c.learned,
                    &c.lost_reason,
                ],
            )?;
        }
        Ok(())
    }

    fn insert_plan(&self, plan: &AccountPlan, status: &str) -> Result<(), DbError> {
        let owners: BTreeMap<&str, &str> =
            plan.owners.iter().map(|(f, u)| (f.as_str(), u.as_str())).collect();
        let owners = serde_json::to_string(&owners)
            .map_err(|e| DbError::Corrupt(format!("plan owners: {e}")))?;
        let approval = plan.approval.as_ref();
        let g = &plan.year_goals;
        self.execute(
            "INSERT INTO plans(plan_id, customer_id, year, revision, status, approved_by,
                 approved_at, approved_revision, sales_goal, profit_goal, satisfaction_goal,
                 owners, sales_strategy, service_plan)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            &[
                &plan.id.as_str(),
                &plan.customer_id.as_str(),
                &i64::from(plan.year),
                &i64::from(plan.revision),
                &status,
                &approval.map(|a| a.by.as_str()),
                &approval.map(|a| instant(a.at)),
                &approval.map(|a| i64::from(a.revision)),
                &money(g.sales),
                &money(g.profit_contribution),
                &i64::from(g.satisfaction),
                &owners,
                &plan.sales_strategy,
                &plan.service_plan,
            ],
        )?;
        insert_quarters(self, plan)
    }

    fn insert_survey(&self, s: &Survey, score: u8) -> Result<(), DbError> {
        self.execute(
            "INSERT INTO surveys(survey_id, customer_id, kind, ticket_id, taken_at, taken_by,
                 respondent, score, account_manager_score, comments)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &[
                &s.id.as_str(),
                &s.customer_id.as_str(),
                &s.kind.as_str(),
                &s.ticket_id.as_ref().map(|t| t.as_str()),
                &instant(s.taken_at),
                &s.taken_by.as_str(),
                &s.respondent,
                &i64::from(score),
                &s.items.get(&SurveyItem::AccountManager).map(|v| i64::from(*v)),
                &s.comments,
            ],
        )?;
        Ok(())
    }

    fn leads(&self, filter: &LeadFilter) -> Result<Vec<LeadLine>, DbError> {
        let sql = format!(
            "{LEAD_SELECT} WHERE ($1::text IS NULL OR l.owner = $1)
                 AND ($2::text IS NULL OR l.stage = $2)
             ORDER BY l.stage_changed_at DESC, l.lead_id"
        );
        let rows = self.rows(&sql, &[&filter.owner, &filter.stage])?;
        rows.iter().map(lead_line).collect()
    }

    fn lead(&self, lead_id: &str) -> Result<Option<(LeadLine, Vec<StageChangeLine>)>, DbError> {
        let sql = format!("{LEAD_SELECT} WHERE l.lead_id = $1");
        let Some(row) = self.row(&sql, &[&lead_id])? else { return Ok(None) };
        let line = lead_line(&row)?;
        let rows = self.rows(
            "SELECT from_stage, to_stage, at, by_user, learned, lost_reason
             FROM lead_stage_changes WHERE lead_id = $1 ORDER BY at, entry_id",
            &[&lead_id],
        )?;
        let changes = rows
            .iter()
            .map(|r| {
                Ok(StageChangeLine {
                    from_stage: r.try_get(0)?,
                    to_stage: r.try_get(1)?,
                    at: r.try_get(2)?,
                    by_user: r.try_get(3)?,
                    learned: r.try_get(4)?,
                    lost_reason: r.try_get(5)?,
                })
            })
            .collect::<Result<_, DbError>>()?;
        Ok(Some((line, changes)))
    }

    fn plans(&self, year: Option<i32>) -> Result<Vec<PlanRows>, DbError> {
        let sql = format!(
            "{PLAN_SELECT} WHERE $1::bigint IS NULL OR p.year = $1
             ORDER BY p.year DESC, COALESCE(c.name, ''), p.plan_id"
        );
        let rows = self.rows(&sql, &[&year.map(i64::from)])?;
        rows.iter().map(|row| plan_rows(self, plan_row(row)?)).collect()
    }

    fn plan(&self, plan_id: &str) -> Result<Option<PlanRows>, DbError> {
        let sql = format!("{PLAN_SELECT} WHERE p.plan_id = $1");
        let row = self.row(&sql, &[&plan_id])?;
        row.map(|row| plan_rows(self, plan_row(&row)?)).transpose()
    }

    fn surveys(&self, customer_id: Option<&str>) -> Result<Vec<SurveyLine>, DbError> {
        let rows = self.rows(
            "SELECT survey_id, customer_id, kind, ticket_id, taken_at, taken_by, respondent, score,
                    account_manager_score, comments
             FROM surveys WHERE $1::text IS NULL OR customer_id = $1
             ORDER BY taken_at DESC, survey_id",
            &[&customer_id],
        )?;
        rows.iter()
            .map(|r| {
                Ok(SurveyLine {
                    survey_id: r.try_get(0)?,
                    customer_id: r.try_get(1)?,
                    kind: r.try_get(2)?,
                    ticket_id: r.try_get(3)?,
                    taken_at: r.try_get(4)?,
                    taken_by: r.try_get(5)?,
                    respondent: r.try_get(6)?,
                    score: r.try_get(7)?,
                    account_manager_score: r.try_get(8)?,
                    comments: r.try_get(9)?,
                })
            })
            .collect()
    }

    fn surveyed_customers(&self) -> Result<Vec<SurveyedCustomer>, DbError> {
        let rows = self.rows(
            "SELECT customer_id, name, tier, created_at, profit_contribution FROM customers
             ORDER BY name, customer_id",
            &[],
        )?;
        rows.iter()
            .map(|r| {
                Ok(SurveyedCustomer {
                    customer_id: r.try_get(0)?,
                    name: r.try_get(1)?,
                    tier: r.try_get(2)?,
                    created_at: r.try_get(3)?,
                    profit_contribution: r.try_get(4)?,
                })
            })
            .collect()
    }
}

/// The quarter goals and evaluations of `plan`.
fn insert_quarters(db: &PgDb, plan: &AccountPlan) -> Result<(), DbError> {
    for (quarter, g) in &plan.quarter_goals {
        let PlanGoals { sales, profit_contribution, satisfaction } = g;
        db.execute(
            "INSERT INTO plan_quarter_goals(plan_id, quarter, sales_goal, profit_goal,
                 satisfaction_goal) VALUES ($1, $2, $3, $4, $5)",
            &[
                &plan.id.as_str(),
                &i64::from(*quarter),
                &money(*sales),
                &money(*profit_contribution),
                &i64::from(*satisfaction),
            ],
        )?;
    }
    for (quarter, e) in &plan.evaluations {
        db.execute(
            "INSERT INTO plan_evaluations(plan_id, quarter, sales_actual, profit_actual,
                 satisfaction_actual, adjustment, by_user, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &plan.id.as_str(),
                &i64::from(*quarter),
                &money(e.actuals.sales),
                &money(e.actuals.profit_contribution),
                &e.actuals.satisfaction.map(i64::from),
                &e.adjustment,
                &e.by.as_str(),
                &instant(e.at),
            ],
        )?;
    }
    Ok(())
}

const LEAD_SELECT: &str = "SELECT l.lead_id, l.customer_id, COALESCE(c.name, ''), l.title, l.owner,
        l.identified_by, l.identified_at, l.stage, l.expected_value, l.candidate,
        l.stage_changed_at, l.closed_at, l.lost_reason
    FROM leads l LEFT JOIN customers c USING (customer_id)";

fn lead_line(r: &Row) -> Result<LeadLine, DbError> {
    Ok(LeadLine {
        lead_id: r.try_get(0)?,
        customer_id: r.try_get(1)?,
        customer_name: r.try_get(2)?,
        title: r.try_get(3)?,
        owner: r.try_get(4)?,
        identified_by: r.try_get(5)?,
        identified_at: r.try_get(6)?,
        stage: r.try_get(7)?,
        expected_value: r.try_get(8)?,
        candidate: r.try_get::<_, i64>(9)? != 0,
        stage_changed_at: r.try_get(10)?,
        closed_at: r.try_get(11)?,
        lost_reason: r.try_get(12)?,
    })
}

const PLAN_SELECT: &str = "SELECT p.plan_id, p.customer_id, COALESCE(c.name, ''),
        COALESCE(c.tier, ''), c.latest_annual_sales, p.year, p.revision, p.status, p.approved_by,
        p.approved_at, p.approved_revision, p.sales_goal, p.profit_goal, p.satisfaction_goal,
        p.owners, p.sales_strategy, p.service_plan
    FROM plans p LEFT JOIN customers c USING (customer_id)";

/// A plan row with its owners still JSON text.
type PlanRow = (PlanLine, String);

fn plan_row(r: &Row) -> Result<PlanRow, DbError> {
    let line = PlanLine {
        plan_id: r.try_get(0)?,
        customer_id: r.try_get(1)?,
        customer_name: r.try_get(2)?,
        tier: r.try_get(3)?,
        annual_sales: r.try_get(4)?,
        year: narrow(r, 5)?,
        revision: r.try_get(6)?,
        status: r.try_get(7)?,
        approved_by: r.try_get(8)?,
        approved_at: r.try_get(9)?,
        approved_revision: r.try_get(10)?,
        year_goals: GoalsLine {
            quarter: 0,
            sales: r.try_get(11)?,
            profit: r.try_get(12)?,
            satisfaction: r.try_get(13)?,
        },
        owners: BTreeMap::new(),
        sales_strategy: r.try_get(15)?,
        service_plan: r.try_get(16)?,
        evaluated: Vec::new(),
    };
    Ok((line, r.try_get(14)?))
}

/// Completes a plan row: its owners parsed, its quarter goals and evaluations read.
fn plan_rows(db: &PgDb, (mut plan, owners): PlanRow) -> Result<PlanRows, DbError> {
    plan.owners = serde_json::from_str(&owners)
        .map_err(|_| DbError::Corrupt(format!("plan {} owners {owners:?}", plan.plan_id)))?;
    let evaluations = evaluations(db, &plan.plan_id)?;
    plan.evaluated = evaluations.iter().map(|e| e.quarter).collect();
    let rows = db.rows(
        "SELECT quarter, sales_goal, profit_goal, satisfaction_goal FROM plan_quarter_goals
         WHERE plan_id = $1 ORDER BY quarter",
        &[&plan.plan_id],
    )?;
    let quarters = rows
        .iter()
        .map(|r| {
            Ok(GoalsLine {
                quarter: narrow(r, 0)?,
                sales: r.try_get(1)?,
                profit: r.try_get(2)?,
                satisfaction: r.try_get(3)?,
            })
        })
        .collect::<Result<_, DbError>>()?;
    Ok(PlanRows { plan, quarters, evaluations })
}

fn evaluations(db: &PgDb, plan_id: &str) -> Result<Vec<EvaluationLine>, DbError> {
    let rows = db.rows(
        "SELECT quarter, sales_actual, profit_actual, satisfaction_actual, adjustment, by_user, at
         FROM plan_evaluations WHERE plan_id = $1 ORDER BY quarter",
        &[&plan_id],
    )?;
    rows.iter()
        .map(|r| {
            Ok(EvaluationLine {
                quarter: narrow(r, 0)?,
                sales_actual: r.try_get(1)?,
                profit_actual: r.try_get(2)?,
                satisfaction_actual: r.try_get(3)?,
                adjustment: r.try_get(4)?,
                by_user: r.try_get(5)?,
                at: r.try_get(6)?,
            })
        })
        .collect()
}

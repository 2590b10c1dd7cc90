//! Leads, plans and surveys on SQLite (the tables of `accounts_schema`).

use std::collections::BTreeMap;

use kam_core::model::{AccountPlan, Lead, PlanGoals, Survey, SurveyItem};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::db::DbError;
use crate::db::parse::{stored_instant as instant, stored_money as money};
use crate::db::pipeline::{
    AccountWorkStore, EvaluationLine, GoalsLine, LeadFacts, LeadFilter, LeadLine, PlanLine,
    PlanRows, StageChangeLine, SurveyLine, SurveyedCustomer,
};

impl AccountWorkStore for Connection {
    fn insert_lead(&self, lead: &Lead, facts: &LeadFacts) -> Result<(), DbError> {
        self.prepare_cached(
            "INSERT INTO leads(lead_id, customer_id, title, owner, identified_by, identified_at,
                 stage, expected_value, candidate, stage_changed_at, closed_at, lost_reason)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )?
        .execute(params![
            lead.id.as_str(),
            lead.customer_id.as_str(),
            lead.title,
            lead.owner.as_str(),
            lead.identified_by.as_str(),
            instant(lead.identified_at),
            lead.stage.as_str(),
            money(lead.expected_value),
            facts.candidate,
            instant(facts.stage_changed_at),
            facts.closed_at.map(instant),
            facts.lost_reason,
        ])?;
        let mut stmt = self.prepare_cached(
            "INSERT INTO lead_stage_changes(lead_id, entry_id, from_stage, to_stage, at, by_user,
                 learned, lost_reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        for (id, c) in &lead.history {
            stmt.execute(params![
                lead.id.as_str(),
                id.as_str(),
                c.from.as_str(),
                c.to.as_str(),
                instant(c.at),
                c.by.as_str(),
                c.learned,
                c.lost_reason,
            ])?;
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
        self.prepare_cached(
            "INSERT INTO plans(plan_id, customer_id, year, revision, status, approved_by,
                 approved_at, approved_revision, sales_goal, profit_goal, satisfaction_goal,
                 owners, sales_strategy, service_plan)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        )?
        .execute(params![
            plan.id.as_str(),
            plan.customer_id.as_str(),
            plan.year,
            plan.revision,
            status,
            approval.map(|a| a.by.as_str()),
            approval.map(|a| instant(a.at)),
            approval.map(|a| a.revision),
            money(g.sales),
            money(g.profit_contribution),
            g.satisfaction,
            owners,
            plan.sales_strategy,
            plan.service_plan,
        ])?;
        insert_quarters(self, plan)
    }

    fn insert_survey(&self, s: &Survey, score: u8) -> Result<(), DbError> {
        self.prepare_cached(
            "INSERT INTO surveys(survey_id, customer_id, kind, ticket_id, taken_at, taken_by,
                 respondent, score, account_manager_score, comments)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?
        .execute(params![
            s.id.as_str(),
            s.customer_id.as_str(),
            s.kind.as_str(),
            s.ticket_id.as_ref().map(|t| t.as_str()),
            instant(s.taken_at),
            s.taken_by.as_str(),
            s.respondent,
            score,
            s.items.get(&SurveyItem::AccountManager),
            s.comments,
        ])?;
        Ok(())
    }

    fn leads(&self, filter: &LeadFilter) -> Result<Vec<LeadLine>, DbError> {
        let sql = format!(
            "{LEAD_SELECT} WHERE (?1 IS NULL OR l.owner = ?1) AND (?2 IS NULL OR l.stage = ?2)
             ORDER BY l.stage_changed_at DESC, l.lead_id"
        );
        let mut stmt = self.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![filter.owner, filter.stage], lead_line)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn lead(&self, lead_id: &str) -> Result<Option<(LeadLine, Vec<StageChangeLine>)>, DbError> {
        let sql = format!("{LEAD_SELECT} WHERE l.lead_id = ?1");
        let Some(line) = self.prepare_cached(&sql)?.query_row([lead_id], lead_line).optional()?
        else {
            return Ok(None);
        };
        let mut stmt = self.prepare_cached(
            "SELECT from_stage, to_stage, at, by_user, learned, lost_reason
             FROM lead_stage_changes WHERE lead_id = ?1 ORDER BY at, entry_id",
        )?;
        let changes = stmt.query_map([lead_id], |r| {
            Ok(StageChangeLine {
                from_stage: r.get(0)?,
                to_stage: r.get(1)?,
                at: r.get(2)?,
                by_user: r.get(3)?,
                learned: r.get(4)?,
                lost_reason: r.get(5)?,
            })
        })?;
        Ok(Some((line, changes.collect::<Result<_, _>>()?)))
    }

    fn plans(&self, year: Option<i32>) -> Result<Vec<PlanRows>, DbError> {
        let sql = format!(
            "{PLAN_SELECT} WHERE ?1 IS NULL OR p.year = ?1
             ORDER BY p.year DESC, COALESCE(c.name, ''), p.plan_id"
        );
        let mut stmt = self.prepare_cached(&sql)?;
        let rows = stmt.query_map([year], plan_row)?.collect::<Result<Vec<_>, _>>()?;
        rows.into_iter().map(|row| plan_rows(self, row)).collect()
    }

    fn plan(&self, plan_id: &str) -> Result<Option<PlanRows>, DbError> {
        let sql = format!("{PLAN_SELECT} WHERE p.plan_id = ?1");
        let row = self.prepare_cached(&sql)?.query_row([plan_id], plan_row).optional()?;
        row.map(|row| plan_rows(self, row)).transpose()
    }

    fn surveys(&self, customer_id: Option<&str>) -> Result<Vec<SurveyLine>, DbError> {
        let mut stmt = self.prepare_cached(
            "SELECT survey_id, customer_id, kind, ticket_id, taken_at, taken_by, respondent, score,
                    account_manager_score, comments
             FROM surveys WHERE ?1 IS NULL OR customer_id = ?1 ORDER BY taken_at DESC, survey_id",
        )?;
        let rows = stmt.query_map([customer_id], |r| {
            Ok(SurveyLine {
                survey_id: r.get(0)?,
                customer_id: r.get(1)?,
                kind: r.get(2)?,
                ticket_id: r.get(3)?,
                taken_at: r.get(4)?,
                taken_by: r.get(5)?,
                respondent: r.get(6)?,
                score: r.get(7)?,
                account_manager_score: r.get(8)?,
                comments: r.get(9)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn surveyed_customers(&self) -> Result<Vec<SurveyedCustomer>, DbError> {
        let mut stmt = self.prepare_cached(
            "SELECT customer_id, name, tier, created_at, profit_contribution FROM customers
             ORDER BY name, customer_id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(SurveyedCustomer {
                customer_id: r.get(0)?,
                name: r.get(1)?,
                tier: r.get(2)?,
                created_at: r.get(3)?,
                profit_contribution: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// The quarter goals and evaluations of `plan`.
fn insert_quarters(conn: &Connection, plan: &AccountPlan) -> Result<(), DbError> {
    let mut goals = conn.prepare_cached(
        "INSERT INTO plan_quarter_goals(plan_id, quarter, sales_goal, profit_goal,
             satisfaction_goal) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for (quarter, g) in &plan.quarter_goals {
        let PlanGoals { sales, profit_contribution, satisfaction } = g;
        goals.execute(params![
            plan.id.as_str(),
            quarter,
            money(*sales),
            money(*profit_contribution),
            satisfaction
        ])?;
    }
    let mut evals = conn.prepare_cached(
        "INSERT INTO plan_evaluations(plan_id, quarter, sales_actual, profit_actual,
             satisfaction_actual, adjustment, by_user, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for (quarter, e) in &plan.evaluations {
        evals.execute(params![
            plan.id.as_str(),
            quarter,
            money(e.actuals.sales),
            money(e.actuals.profit_contribution),
            e.actuals.satisfaction,
            e.adjustment,
            e.by.as_str(),
            instant(e.at),
        ])?;
    }
    Ok(())
}

const LEAD_SELECT: &str = "SELECT l.lead_id, l.customer_id, COALESCE(c.name, ''), l.title, l.owner,
        l.identified_by, l.identified_at, l.stage, l.expected_value, l.candidate,
        l.stage_changed_at, l.closed_at, l.lost_reason
    FROM leads l LEFT JOIN customers c USING (customer_id)";

fn lead_line(r: &Row<'_>) -> rusqlite::Result<LeadLine> {
    Ok(LeadLine {
        lead_id: r.get(0)?,
        customer_id: r.get(1)?,
        customer_name: r.get(2)?,
        title: r.get(3)?,
        owner: r.get(4)?,
        identified_by: r.get(5)?,
        identified_at: r.get(6)?,
        stage: r.get(7)?,
        expected_value: r.get(8)?,
        candidate: r.get(9)?,
        stage_changed_at: r.get(10)?,
        closed_at: r.get(11)?,
        lost_reason: r.get(12)?,
    })
}

const PLAN_SELECT: &str = "SELECT p.plan_id, p.customer_id, COALESCE(c.name, ''),
        COALESCE(c.tier, ''), c.latest_annual_sales, p.year, p.revision, p.status, p.approved_by,
        p.approved_at, p.approved_revision, p.sales_goal, p.profit_goal, p.satisfaction_goal,
        p.owners, p.sales_strategy, p.service_plan
    FROM plans p LEFT JOIN customers c USING (customer_id)";

/// A plan row with its owners still JSON text.
type PlanRow = (PlanLine, String);

fn plan_row(r: &Row<'_>) -> rusqlite::Result<PlanRow> {
    let line = PlanLine {
        plan_id: r.get(0)?,
        customer_id: r.get(1)?,
        customer_name: r.get(2)?,
        tier: r.get(3)?,
        annual_sales: r.get(4)?,
        year: r.get(5)?,
        revision: r.get(6)?,
        status: r.get(7)?,
        approved_by: r.get(8)?,
        approved_at: r.get(9)?,
        approved_revision: r.get(10)?,
        year_goals: GoalsLine {
            quarter: 0,
            sales: r.get(11)?,
            profit: r.get(12)?,
            satisfaction: r.get(13)?,
        },
        owners: BTreeMap::new(),
        sales_strategy: r.get(15)?,
        service_plan: r.get(16)?,
        evaluated: Vec::new(),
    };
    Ok((line, r.get(14)?))
}

/// Completes a plan row: its owners parsed, its quarter goals and evaluations read.
fn plan_rows(conn: &Connection, (mut plan, owners): PlanRow) -> Result<PlanRows, DbError> {
    plan.owners = serde_json::from_str(&owners)
        .map_err(|_| DbError::Corrupt(format!("plan {} owners {owners:?}", plan.plan_id)))?;
    let evaluations = evaluations(conn, &plan.plan_id)?;
    plan.evaluated = evaluations.iter().map(|e| e.quarter).collect();
    let mut stmt = conn.prepare_cached(
        "SELECT quarter, sales_goal, profit_goal, satisfaction_goal FROM plan_quarter_goals
         WHERE plan_id = ?1 ORDER BY quarter",
    )?;
    let quarters = stmt.query_map([&plan.plan_id], |r| {
        Ok(GoalsLine {
            quarter: r.get(0)?,
            sales: r.get(1)?,
            profit: r.get(2)?,
            satisfaction: r.get(3)?,
        })
    })?;
    let quarters = quarters.collect::<Result<_, _>>()?;
    Ok(PlanRows { plan, quarters, evaluations })
}

fn evaluations(conn: &Connection, plan_id: &str) -> Result<Vec<EvaluationLine>, DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT quarter, sales_actual, profit_actual, satisfaction_actual, adjustment, by_user, at
         FROM plan_evaluations WHERE plan_id = ?1 ORDER BY quarter",
    )?;
    let rows = stmt.query_map([plan_id], |r| {
        Ok(EvaluationLine {
            quarter: r.get(0)?,
            sales_actual: r.get(1)?,
            profit_actual: r.get(2)?,
            satisfaction_actual: r.get(3)?,
            adjustment: r.get(4)?,
            by_user: r.get(5)?,
            at: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

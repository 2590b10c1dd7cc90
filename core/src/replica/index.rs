//! The local index: small SQL tables projected from documents so that list screens and
//! searches never load every document.
//!
//! Every row is a pure function of one document (and the policy), written in the same
//! transaction as the document's change. Two replicas holding the same documents therefore
//! hold the same rows, whatever order the changes arrived in.

use rusqlite::{Transaction, params};
use serde::Serialize;

use super::accounts_index;
use super::error::ReplicaError;
use crate::doc::{
    CustomerOutline, DocError, DocId, DocKind, Document, read_customer_outline, read_ticket,
};
use crate::model::ServiceTicket;
use crate::policy::Policy;
use crate::rules;

/// Replaces the index rows derived from `doc`.
pub(crate) fn project(
    tx: &Transaction<'_>,
    doc: &Document,
    policy: &Policy,
) -> Result<(), ReplicaError> {
    remove(tx, doc.id())?;
    match doc.id().kind() {
        DocKind::Customer => match read_customer_outline(doc) {
            Ok(customer) => insert_customer(tx, &customer, policy),
            Err(e) => skip_unreadable(doc.id(), e),
        },
        DocKind::Ticket => match read_ticket(doc) {
            Ok(ticket) => insert_ticket(tx, &ticket, policy),
            Err(e) => skip_unreadable(doc.id(), e),
        },
        // Projects and events are few and opened whole; they need no list index yet.
        DocKind::Project | DocKind::Event => Ok(()),
        DocKind::Lead
        | DocKind::Plan
        | DocKind::Survey
        | DocKind::Scorecard
        | DocKind::Review
        | DocKind::Organisation => accounts_index::project(tx, doc, policy),
    }
}

/// A document that has not received its creation change yet (mid-sync) simply has no rows;
/// anything else unreadable is reported, because a row would be a lie.
pub(super) fn skip_unreadable(id: &DocId, error: DocError) -> Result<(), ReplicaError> {
    match error {
        DocError::Empty(_) => Ok(()),
        other => {
            tracing::warn!(doc = %id, error = %other, "document left out of the local index");
            Ok(())
        }
    }
}

/// Removes the index rows derived from document `id`.
pub(crate) fn remove(tx: &Transaction<'_>, id: &DocId) -> Result<(), ReplicaError> {
    let entity = id.entity();
    match id.kind() {
        DocKind::Customer => {
            tx.prepare_cached("DELETE FROM idx_customers WHERE customer_id = ?1")?
                .execute([entity])?;
            tx.prepare_cached("DELETE FROM idx_customer_owners WHERE customer_id = ?1")?
                .execute([entity])?;
            tx.prepare_cached("DELETE FROM idx_visits_due WHERE customer_id = ?1")?
                .execute([entity])?;
        }
        DocKind::Ticket => {
            tx.prepare_cached("DELETE FROM idx_tickets WHERE ticket_id = ?1")?.execute([entity])?;
        }
        DocKind::Project | DocKind::Event => {}
        DocKind::Lead
        | DocKind::Plan
        | DocKind::Survey
        | DocKind::Scorecard
        | DocKind::Review
        | DocKind::Organisation => accounts_index::remove(tx, id)?,
    }
    Ok(())
}

fn insert_customer(
    tx: &Transaction<'_>,
    customer: &CustomerOutline,
    policy: &Policy,
) -> Result<(), ReplicaError> {
    let due = rules::visits_due_for(
        &customer.classification,
        customer.created_at,
        &customer.visits,
        policy,
    );
    let next_visit_due = due.iter().map(|d| d.next_due_on).min().map(|d| d.to_string());
    let c = &customer.classification;
    tx.prepare_cached(
        "INSERT INTO idx_customers(customer_id, name, name_folded, industry, region, tier,
             tier_rank, grade, score, strategic, next_visit_due, created_on)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?
    .execute(params![
        customer.id.as_str(),
        customer.profile.name,
        fold(&customer.profile.name),
        customer.profile.industry,
        customer.profile.region,
        c.tier.as_str(),
        c.tier.rank(),
        c.grade.map(|g| g.as_str()),
        c.score,
        c.strategic,
        next_visit_due,
        policy.business_date(customer.created_at).to_string(),
    ])?;
    let mut owner_stmt = tx.prepare_cached(
        "INSERT OR IGNORE INTO idx_customer_owners(owner_id, customer_id) VALUES (?1, ?2)",
    )?;
    for owner in &customer.owners {
        owner_stmt.execute(params![owner.as_str(), customer.id.as_str()])?;
    }
    let mut due_stmt = tx.prepare_cached(
        "INSERT INTO idx_visits_due(customer_id, level, last_visit_on, next_due_on)
         VALUES (?1, ?2, ?3, ?4)",
    )?;
    for d in &due {
        due_stmt.execute(params![
            customer.id.as_str(),
            d.level.as_str(),
            d.last_visit_on.map(|x| x.to_string()),
            d.next_due_on.to_string(),
        ])?;
    }
    Ok(())
}

fn insert_ticket(
    tx: &Transaction<'_>,
    ticket: &ServiceTicket,
    policy: &Policy,
) -> Result<(), ReplicaError> {
    tx.prepare_cached(
        "INSERT INTO idx_tickets(ticket_id, customer_id, kind, priority, priority_rank, status,
             is_open, title, opened_at, reply_due_at, first_reply_at, owner_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?
    .execute(params![
        ticket.id.as_str(),
        ticket.customer_id.as_str(),
        ticket.kind.as_str(),
        ticket.priority.as_str(),
        ticket.priority as u8,
        ticket.status.as_str(),
        ticket.status.is_open(),
        ticket.title,
        format_instant(ticket.opened_at),
        format_instant(rules::reply_due_at(ticket.opened_at, policy)),
        ticket.first_reply_at().map(format_instant),
        ticket.owner.as_ref().map(|o| o.as_str()),
    ])?;
    Ok(())
}

/// Instants in the index sort as text: fixed-width RFC 3339 in UTC.
pub(crate) fn format_instant(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Case-folded text for search; CJK text is unchanged, Latin text is lower-cased.
pub(crate) fn fold(text: &str) -> String {
    text.to_lowercase()
}

/// All index rows in a canonical order, to compare two replicas.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IndexDump {
    /// `idx_customers` rows, one string each.
    pub customers: Vec<String>,
    /// `idx_customer_owners` rows.
    pub owners: Vec<String>,
    /// `idx_visits_due` rows.
    pub visits_due: Vec<String>,
    /// `idx_tickets` rows.
    pub tickets: Vec<String>,
    /// `idx_leads` rows.
    pub leads: Vec<String>,
    /// `idx_plans` rows.
    pub plans: Vec<String>,
    /// `idx_plan_evaluations_due` rows.
    pub plan_evaluations_due: Vec<String>,
    /// `idx_surveys` rows.
    pub surveys: Vec<String>,
    /// `idx_scorecards` rows.
    pub scorecards: Vec<String>,
}

/// Reads every index row in a canonical order.
pub(crate) fn dump(conn: &rusqlite::Connection) -> Result<IndexDump, ReplicaError> {
    let rows = |sql: &str| -> Result<Vec<String>, ReplicaError> {
        let mut stmt = conn.prepare(sql)?;
        let columns = stmt.column_count();
        let mut out = Vec::new();
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let mut cells = Vec::with_capacity(columns);
            for i in 0..columns {
                let cell: rusqlite::types::Value = row.get(i)?;
                cells.push(format!("{cell:?}"));
            }
            out.push(cells.join("|"));
        }
        Ok(out)
    };
    Ok(IndexDump {
        customers: rows("SELECT * FROM idx_customers ORDER BY customer_id")?,
        owners: rows("SELECT * FROM idx_customer_owners ORDER BY owner_id, customer_id")?,
        visits_due: rows("SELECT * FROM idx_visits_due ORDER BY customer_id, level")?,
        tickets: rows("SELECT * FROM idx_tickets ORDER BY ticket_id")?,
        leads: rows("SELECT * FROM idx_leads ORDER BY lead_id")?,
        plans: rows("SELECT * FROM idx_plans ORDER BY plan_id")?,
        plan_evaluations_due: rows(
            "SELECT * FROM idx_plan_evaluations_due ORDER BY plan_id, quarter",
        )?,
        surveys: rows("SELECT * FROM idx_surveys ORDER BY survey_id")?,
        scorecards: rows("SELECT * FROM idx_scorecards ORDER BY scorecard_id")?,
    })
}

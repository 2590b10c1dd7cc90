//! The projection tables on SQLite.

use kam_core::doc::{DocId, DocKind};
use kam_core::model::{Customer, SelectionEvent, ServiceTicket, Unit, UserId};
use rusqlite::{Connection, params};
use rust_decimal::Decimal;

use crate::db::DbError;
use crate::db::parse::{stored_instant as instant, stored_money as money};
use crate::db::projections::{
    CustomerFacts, ProjectionStore, Savepoints, TicketFacts, projected_tables,
};

/// SQLite DDL for the projection tables; run once, inside a versioned migration.
///
/// Time-dependent columns (`sla_state`, `overdue_visits`) hold their value at `projected_at`;
/// live queries should compare `reply_due_at` or `next_visit_due` with the current time.
pub(crate) const PROJECTION_SCHEMA: &str = "
CREATE TABLE customers (
    customer_id         TEXT PRIMARY KEY,
    name                TEXT NOT NULL,
    industry            TEXT NOT NULL,
    region              TEXT NOT NULL,
    tier                TEXT NOT NULL,
    strategic           INTEGER NOT NULL,
    grade               TEXT,
    score               INTEGER,
    credit_grade        TEXT,
    credit_limit        TEXT NOT NULL,
    payment_terms       TEXT NOT NULL,
    profit_contribution TEXT NOT NULL,
    latest_sales_year   INTEGER,
    latest_annual_sales TEXT,
    created_at          TEXT NOT NULL,
    next_visit_due      TEXT,
    overdue_visits      INTEGER NOT NULL,
    projected_at        TEXT NOT NULL
) STRICT;

CREATE TABLE customer_owners (
    customer_id TEXT NOT NULL,
    owner_id    TEXT NOT NULL,
    PRIMARY KEY (customer_id, owner_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX customer_owners_by_owner ON customer_owners(owner_id, customer_id);

CREATE TABLE contacts (
    customer_id TEXT NOT NULL,
    contact_id  TEXT NOT NULL,
    name        TEXT NOT NULL,
    title       TEXT NOT NULL,
    phone       TEXT NOT NULL,
    email       TEXT NOT NULL,
    is_primary  INTEGER NOT NULL,
    PRIMARY KEY (customer_id, contact_id)
) STRICT;

CREATE TABLE visits (
    customer_id         TEXT NOT NULL,
    visit_id            TEXT NOT NULL,
    level               TEXT NOT NULL,
    visit_date          TEXT NOT NULL,
    visitor             TEXT NOT NULL,
    topics              TEXT NOT NULL CHECK (json_valid(topics)),
    problems            TEXT NOT NULL,
    demand              TEXT NOT NULL,
    competitor_activity TEXT NOT NULL,
    personnel_changes   TEXT NOT NULL,
    PRIMARY KEY (customer_id, visit_id)
) STRICT;
CREATE INDEX visits_by_visitor ON visits(visitor, visit_date);

CREATE TABLE tickets (
    ticket_id      TEXT PRIMARY KEY,
    customer_id    TEXT NOT NULL,
    kind           TEXT NOT NULL,
    priority       TEXT NOT NULL,
    status         TEXT NOT NULL,
    title          TEXT NOT NULL,
    opened_at      TEXT NOT NULL,
    opened_by      TEXT NOT NULL,
    owner          TEXT,
    first_reply_at TEXT,
    reply_due_at   TEXT NOT NULL,
    sla_state      TEXT NOT NULL,
    replies        INTEGER NOT NULL,
    satisfaction   INTEGER,
    projected_at   TEXT NOT NULL
) STRICT;
CREATE INDEX tickets_by_customer ON tickets(customer_id);
CREATE INDEX tickets_by_status ON tickets(status);

CREATE TABLE units (
    project_id  TEXT NOT NULL,
    unit_id     TEXT NOT NULL,
    code        TEXT NOT NULL,
    building_id TEXT NOT NULL,
    floor       INTEGER NOT NULL,
    layout      TEXT NOT NULL,
    area_m2     TEXT NOT NULL,
    unit_price  TEXT,
    total_price TEXT,
    approved    INTEGER NOT NULL,
    approvers   TEXT CHECK (approvers IS NULL OR json_valid(approvers)),
    approved_at TEXT,
    status      TEXT NOT NULL,
    PRIMARY KEY (project_id, unit_id)
) STRICT;
CREATE INDEX units_by_status ON units(status);

CREATE TABLE events (
    event_id       TEXT PRIMARY KEY,
    project_id     TEXT NOT NULL,
    name           TEXT NOT NULL,
    starts_at      TEXT NOT NULL,
    mode           TEXT NOT NULL,
    allotted_units INTEGER NOT NULL,
    buyers         INTEGER NOT NULL
) STRICT;
";

impl ProjectionStore for Connection {
    fn delete_projected(&self, doc_id: &DocId) -> Result<(), DbError> {
        let (key, tables) = projected_tables(doc_id.kind());
        for table in tables {
            self.prepare_cached(&format!("DELETE FROM {table} WHERE {key} = ?1"))?
                .execute([doc_id.entity()])?;
        }
        Ok(())
    }

    fn clear_projections(&self) -> Result<(), DbError> {
        for kind in DocKind::ALL {
            for table in projected_tables(*kind).1 {
                self.execute(&format!("DELETE FROM {table}"), [])?;
            }
        }
        Ok(())
    }

    fn insert_customer(&self, customer: &Customer, facts: &CustomerFacts) -> Result<(), DbError> {
        insert_customer_row(self, customer, facts)?;
        insert_owners_and_contacts(self, customer)?;
        insert_visits(self, customer)?;
        insert_late_payments(self, customer)
    }

    fn insert_ticket(&self, t: &ServiceTicket, facts: &TicketFacts) -> Result<(), DbError> {
        self.prepare_cached(
            "INSERT INTO tickets(ticket_id, customer_id, kind, priority, status, title, opened_at,
                 opened_by, owner, first_reply_at, reply_due_at, sla_state, replies, satisfaction,
                 projected_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        )?
        .execute(params![
            t.id.as_str(),
            t.customer_id.as_str(),
            t.kind.as_str(),
            t.priority.as_str(),
            t.status.as_str(),
            t.title,
            instant(t.opened_at),
            t.opened_by.as_str(),
            t.owner.as_ref().map(UserId::as_str),
            t.first_reply_at().map(instant),
            instant(facts.reply_due_at),
            facts.sla_code,
            t.replies.len(),
            t.follow_up.as_ref().map(|f| f.satisfaction),
            instant(facts.projected_at),
        ])?;
        Ok(())
    }

    fn insert_unit(
        &self,
        project_id: &str,
        u: &Unit,
        total_price: Option<Decimal>,
    ) -> Result<(), DbError> {
        self.prepare_cached(
            "INSERT INTO units(project_id, unit_id, code, building_id, floor, layout, area_m2,
                 unit_price, total_price, approved, approvers, approved_at, status)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        )?
        .execute(params![
            project_id,
            u.id.as_str(),
            u.code,
            u.building_id.as_str(),
            u.floor,
            u.layout,
            u.area_m2.to_string(),
            u.unit_price.map(money),
            total_price.map(money),
            u.approval.is_some(),
            approvers_json(u),
            u.approval.as_ref().map(|a| instant(a.approved_at)),
            u.status.as_str(),
        ])?;
        Ok(())
    }

    fn delete_unit(&self, project_id: &str, unit_id: &str) -> Result<(), DbError> {
        self.prepare_cached("DELETE FROM units WHERE project_id = ?1 AND unit_id = ?2")?
            .execute([project_id, unit_id])?;
        Ok(())
    }

    fn insert_event(&self, e: &SelectionEvent) -> Result<(), DbError> {
        self.prepare_cached(
            "INSERT INTO events(event_id, project_id, name, starts_at, mode, allotted_units,
                 buyers)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            e.id.as_str(),
            e.project_id.as_str(),
            e.name,
            instant(e.starts_at),
            e.mode.as_str(),
            e.allotted_units.len(),
            e.buyers.len(),
        ])?;
        Ok(())
    }
}

impl Savepoints for Connection {
    fn savepoint(&self, name: &'static str) -> Result<(), DbError> {
        Ok(self.execute_batch(&format!("SAVEPOINT {name}"))?)
    }

    fn release_savepoint(&self, name: &'static str) -> Result<(), DbError> {
        Ok(self.execute_batch(&format!("RELEASE {name}"))?)
    }

    fn undo_savepoint(&self, name: &'static str) -> Result<(), DbError> {
        Ok(self.execute_batch(&format!("ROLLBACK TO {name}; RELEASE {name}"))?)
    }
}

/// The customer's own row and its yearly sales.
fn insert_customer_row(
    conn: &Connection,
    c: &Customer,
    facts: &CustomerFacts,
) -> Result<(), DbError> {
    let latest_sales = c.annual_sales.last_key_value();
    let (class, credit) = (&c.classification, &c.credit);
    conn.prepare_cached(
        "INSERT INTO customers(customer_id, name, industry, region, tier, strategic, grade, score,
             credit_grade, credit_limit, payment_terms, profit_contribution, latest_sales_year,
             latest_annual_sales, created_at, next_visit_due, overdue_visits, projected_at,
             leading_brand)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
             ?19)",
    )?
    .execute(params![
        c.id.as_str(),
        c.profile.name,
        c.profile.industry,
        c.profile.region,
        class.tier.as_str(),
        class.strategic,
        class.grade.map(|g| g.as_str()),
        class.score,
        credit.credit_grade.map(|g| g.as_str()),
        money(credit.credit_limit),
        credit.payment_terms.code(),
        money(c.profit_contribution),
        latest_sales.map(|(year, _)| *year),
        latest_sales.map(|(_, amount)| money(*amount)),
        instant(c.created_at),
        facts.next_visit_due.map(|d| d.to_string()),
        facts.overdue_visits,
        instant(facts.projected_at),
        c.profile.leading_brand,
    ])?;
    let mut year = conn.prepare_cached(
        "INSERT INTO customer_sales_years(customer_id, year, amount) VALUES (?1, ?2, ?3)",
    )?;
    for (y, amount) in &c.annual_sales {
        year.execute(params![c.id.as_str(), y, money(*amount)])?;
    }
    Ok(())
}

/// The customer's owners and contacts.
fn insert_owners_and_contacts(conn: &Connection, c: &Customer) -> Result<(), DbError> {
    let id = c.id.as_str();
    let mut owner = conn.prepare_cached(
        "INSERT OR IGNORE INTO customer_owners(customer_id, owner_id) VALUES (?1, ?2)",
    )?;
    for o in &c.owners {
        owner.execute(params![id, o.as_str()])?;
    }
    let mut contact = conn.prepare_cached(
        "INSERT INTO contacts(customer_id, contact_id, name, title, phone, email, is_primary)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for k in c.contacts.values() {
        contact.execute(params![
            id,
            k.id.as_str(),
            k.name,
            k.title,
            k.phone,
            k.email,
            k.primary
        ])?;
    }
    Ok(())
}

/// The customer's late-payment records, which the quarterly analysis counts per quarter.
fn insert_late_payments(conn: &Connection, c: &Customer) -> Result<(), DbError> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO customer_late_payments(customer_id, late_payment_id, reference, due_on,
             paid_on)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for late in c.late_payments.values() {
        stmt.execute(params![
            c.id.as_str(),
            late.id.as_str(),
            late.reference,
            late.due_on.to_string(),
            late.paid_on.map(|d| d.to_string()),
        ])?;
    }
    Ok(())
}

/// The customer's visit records; topics as a JSON array so SQL can search them (`json_each`).
fn insert_visits(conn: &Connection, c: &Customer) -> Result<(), DbError> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO visits(customer_id, visit_id, level, visit_date, visitor, topics, problems,
             demand, competitor_activity, personnel_changes)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    for v in c.visits.values() {
        let topics: serde_json::Value = v.topics.iter().map(String::as_str).collect();
        stmt.execute(params![
            c.id.as_str(),
            v.id.as_str(),
            v.level.as_str(),
            v.date.to_string(),
            v.visitor.as_str(),
            topics.to_string(),
            v.problems,
            v.demand,
            v.competitor_activity,
            v.personnel_changes,
        ])?;
    }
    Ok(())
}

/// The approvers as a JSON array, or NULL when the price is not approved.
fn approvers_json(unit: &Unit) -> Option<String> {
    unit.approval.as_ref().map(|a| {
        let list: serde_json::Value = a.approvers.iter().map(UserId::as_str).collect();
        list.to_string()
    })
}

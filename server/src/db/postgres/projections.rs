//! The projection tables on PostgreSQL, and savepoints.

use kam_core::doc::{DocId, DocKind};
use kam_core::model::{Customer, SelectionEvent, ServiceTicket, Unit, UserId};
use rust_decimal::Decimal;
use tokio_postgres::error::SqlState;

use super::PgDb;
use crate::db::DbError;
use crate::db::parse::{stored_instant as instant, stored_money as money};
use crate::db::projections::{
    CustomerFacts, ProjectionStore, Savepoints, TicketFacts, projected_tables,
};

/// A count or small number from the model as PostgreSQL's `bigint`.
fn big(n: impl TryInto<i64>) -> Result<i64, DbError> {
    n.try_into().map_err(|_| DbError::Corrupt("a number past bigint".to_owned()))
}

impl ProjectionStore for PgDb {
    fn delete_projected(&self, doc_id: &DocId) -> Result<(), DbError> {
        let (key, tables) = projected_tables(doc_id.kind());
        let entity = doc_id.entity();
        for table in tables {
            self.execute(&format!("DELETE FROM {table} WHERE {key} = $1"), &[&entity])?;
        }
        Ok(())
    }

    fn clear_projections(&self) -> Result<(), DbError> {
        for kind in DocKind::ALL {
            for table in projected_tables(*kind).1 {
                self.execute(&format!("DELETE FROM {table}"), &[])?;
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
        let satisfaction = t.follow_up.as_ref().map(|f| i64::from(f.satisfaction));
        self.execute(
            "INSERT INTO tickets(ticket_id, customer_id, kind, priority, status, title, opened_at,
                 opened_by, owner, first_reply_at, reply_due_at, sla_state, replies, satisfaction,
                 projected_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
            &[
                &t.id.as_str(),
                &t.customer_id.as_str(),
                &t.kind.as_str(),
                &t.priority.as_str(),
                &t.status.as_str(),
                &t.title,
                &instant(t.opened_at),
                &t.opened_by.as_str(),
                &t.owner.as_ref().map(UserId::as_str),
                &t.first_reply_at().map(instant),
                &instant(facts.reply_due_at),
                &facts.sla_code,
                &big(t.replies.len())?,
                &satisfaction,
                &instant(facts.projected_at),
            ],
        )?;
        Ok(())
    }

    fn insert_unit(
        &self,
        project_id: &str,
        u: &Unit,
        total_price: Option<Decimal>,
    ) -> Result<(), DbError> {
        self.execute(
            "INSERT INTO units(project_id, unit_id, code, building_id, floor, layout, area_m2,
                 unit_price, total_price, approved, approvers, approved_at, status)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            &[
                &project_id,
                &u.id.as_str(),
                &u.code,
                &u.building_id.as_str(),
                &i64::from(u.floor),
                &u.layout,
                &u.area_m2.to_string(),
                &u.unit_price.map(money),
                &total_price.map(money),
                &u.approval.is_some(),
                &approvers_json(u),
                &u.approval.as_ref().map(|a| instant(a.approved_at)),
                &u.status.as_str(),
            ],
        )?;
        Ok(())
    }

    fn delete_unit(&self, project_id: &str, unit_id: &str) -> Result<(), DbError> {
        self.execute(
            "DELETE FROM units WHERE project_id = $1 AND unit_id = $2",
            &[&project_id, &unit_id],
        )?;
        Ok(())
    }

    fn insert_event(&self, e: &SelectionEvent) -> Result<(), DbError> {
        self.execute(
            "INSERT INTO events(event_id, project_id, name, starts_at, mode, allotted_units,
                 buyers)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &e.id.as_str(),
                &e.project_id.as_str(),
                &e.name,
                &instant(e.starts_at),
                &e.mode.as_str(),
                &big(e.allotted_units.len())?,
                &big(e.buyers.len())?,
            ],
        )?;
        Ok(())
    }
}

/// PostgreSQL refuses a savepoint outside a transaction block, where SQLite opens a
/// transaction for it; so a savepoint opened outside one begins a transaction here, and
/// releasing or undoing that savepoint ends it (as on SQLite).
impl Savepoints for PgDb {
    fn savepoint(&self, name: &'static str) -> Result<(), DbError> {
        match self.batch(&format!("SAVEPOINT {name}")) {
            Err(DbError::Postgres(e)) if e.code() == Some(&SqlState::NO_ACTIVE_SQL_TRANSACTION) => {
                self.batch(&format!("BEGIN; SAVEPOINT {name}"))?;
                self.set_own_savepoint(Some(name));
                Ok(())
            }
            other => other,
        }
    }

    fn release_savepoint(&self, name: &'static str) -> Result<(), DbError> {
        if self.own_savepoint() == Some(name) {
            self.set_own_savepoint(None);
            return self.batch(&format!("RELEASE SAVEPOINT {name}; COMMIT"));
        }
        self.batch(&format!("RELEASE SAVEPOINT {name}"))
    }

    fn undo_savepoint(&self, name: &'static str) -> Result<(), DbError> {
        if self.own_savepoint() == Some(name) {
            self.set_own_savepoint(None);
            return self.batch("ROLLBACK");
        }
        self.batch(&format!("ROLLBACK TO SAVEPOINT {name}; RELEASE SAVEPOINT {name}"))
    }
}

/// The customer's own row and its yearly sales.
fn insert_customer_row(db: &PgDb, c: &Customer, facts: &CustomerFacts) -> Result<(), DbError> {
    let latest_sales = c.annual_sales.last_key_value();
    let (class, credit) = (&c.classification, &c.credit);
    db.execute(
        "INSERT INTO customers(customer_id, name, industry, region, tier, strategic, grade, score,
             credit_grade, credit_limit, payment_terms, profit_contribution, latest_sales_year,
             latest_annual_sales, created_at, next_visit_due, overdue_visits, projected_at,
             leading_brand)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
             $19)",
        &[
            &c.id.as_str(),
            &c.profile.name,
            &c.profile.industry,
            &c.profile.region,
            &class.tier.as_str(),
            &class.strategic,
            &class.grade.map(|g| g.as_str()),
            &class.score.map(i64::from),
            &credit.credit_grade.map(|g| g.as_str()),
            &money(credit.credit_limit),
            &credit.payment_terms.code(),
            &money(c.profit_contribution),
            &latest_sales.map(|(year, _)| i64::from(*year)),
            &latest_sales.map(|(_, amount)| money(*amount)),
            &instant(c.created_at),
            &facts.next_visit_due.map(|d| d.to_string()),
            &big(facts.overdue_visits)?,
            &instant(facts.projected_at),
            &c.profile.leading_brand,
        ],
    )?;
    for (year, amount) in &c.annual_sales {
        db.execute(
            "INSERT INTO customer_sales_years(customer_id, year, amount) VALUES ($1, $2, $3)",
            &[&c.id.as_str(), &i64::from(*year), &money(*amount)],
        )?;
    }
    Ok(())
}

/// The customer's owners and contacts.
fn insert_owners_and_contacts(db: &PgDb, c: &Customer) -> Result<(), DbError> {
    let id = c.id.as_str();
    for o in &c.owners {
        db.execute(
            "INSERT INTO customer_owners(customer_id, owner_id) VALUES ($1, $2)
             ON CONFLICT DO NOTHING",
            &[&id, &o.as_str()],
        )?;
    }
    for k in c.contacts.values() {
        db.execute(
            "INSERT INTO contacts(customer_id, contact_id, name, title, phone, email, is_primary)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[&id, &k.id.as_str(), &k.name, &k.title, &k.phone, &k.email, &k.primary],
        )?;
    }
    Ok(())
}

/// The customer's late-payment records, which the quarterly analysis counts per quarter.
fn insert_late_payments(db: &PgDb, c: &Customer) -> Result<(), DbError> {
    for late in c.late_payments.values() {
        db.execute(
            "INSERT INTO customer_late_payments(customer_id, late_payment_id, reference, due_on,
                 paid_on)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &c.id.as_str(),
                &late.id.as_str(),
                &late.reference,
                &late.due_on.to_string(),
                &late.paid_on.map(|d| d.to_string()),
            ],
        )?;
    }
    Ok(())
}

/// The customer's visit records; topics as a JSON array, as on SQLite.
fn insert_visits(db: &PgDb, c: &Customer) -> Result<(), DbError> {
    for v in c.visits.values() {
        let topics: serde_json::Value = v.topics.iter().map(String::as_str).collect();
        db.execute(
            "INSERT INTO visits(customer_id, visit_id, level, visit_date, visitor, topics,
                 problems, demand, competitor_activity, personnel_changes)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &[
                &c.id.as_str(),
                &v.id.as_str(),
                &v.level.as_str(),
                &v.date.to_string(),
                &v.visitor.as_str(),
                &topics.to_string(),
                &v.problems,
                &v.demand,
                &v.competitor_activity,
                &v.personnel_changes,
            ],
        )?;
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic on a broken expectation.
mod tests {
    use super::*;
    use crate::db::DocumentStore;
    use crate::db::postgres::testing::TestDatabase;

    #[test]
    fn a_savepoint_inside_a_transaction_undoes_its_part_only() {
        let Some(database) = TestDatabase::migrated() else { return };
        let db = database.db();
        db.transaction(|db| {
            db.set_meta("kept", "yes")?;
            db.savepoint("part")?;
            db.set_meta("undone", "yes")?;
            db.undo_savepoint("part")?;
            db.savepoint("part")?;
            db.set_meta("released", "yes")?;
            db.release_savepoint("part")
        })
        .unwrap();
        assert_eq!(db.meta("kept").unwrap().as_deref(), Some("yes"));
        assert_eq!(db.meta("undone").unwrap(), None);
        assert_eq!(db.meta("released").unwrap().as_deref(), Some("yes"));
    }

    #[test]
    fn a_savepoint_outside_a_transaction_is_one_with_its_nested_savepoints() {
        let Some(database) = TestDatabase::migrated() else { return };
        let db = database.db();
        db.savepoint("whole").unwrap();
        db.set_meta("whole", "yes").unwrap();
        db.savepoint("nested").unwrap();
        db.set_meta("nested", "yes").unwrap();
        db.undo_savepoint("nested").unwrap();
        db.release_savepoint("whole").unwrap();
        assert_eq!(db.meta("whole").unwrap().as_deref(), Some("yes"), "committed on release");
        assert_eq!(db.meta("nested").unwrap(), None);
        db.batch("SAVEPOINT none_open").unwrap_err();
        db.savepoint("whole").unwrap();
        db.set_meta("whole", "no").unwrap();
        db.undo_savepoint("whole").unwrap();
        assert_eq!(db.meta("whole").unwrap().as_deref(), Some("yes"), "rolled back on undo");
        db.batch("SAVEPOINT none_open").unwrap_err();
    }
}

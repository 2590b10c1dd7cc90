//! Headquarters' queries of the projections, on PostgreSQL.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use kam_core::model::{
    Classification, CreditTerms, Customer, CustomerId, CustomerProfile, Grade, Tier, UserId,
    VisitId, VisitLevel, VisitRecord,
};
use kam_core::rules::RegradeInput;
use rust_decimal::Decimal;
use tokio_postgres::Row;

use super::{PgDb, count};
use crate::db::DbError;
use crate::db::hq::{
    ContactLine, CustomerDetail, CustomerFilter, CustomerLine, DeviceRecord, EventLine, HqQueries,
    Overview, RegradeDecisionRecord, TicketFilter, TicketLine, TicketRecord, VisitLine,
};
use crate::db::parse::{decimal, instant};

impl HqQueries for PgDb {
    fn customers_by_tier(&self) -> Result<Vec<(String, u64)>, DbError> {
        customers_by_tier(self)
    }

    fn overview(&self, now: DateTime<Utc>, seen_since: DateTime<Utc>) -> Result<Overview, DbError> {
        overview(self, now, seen_since)
    }

    fn projected_events(&self) -> Result<Vec<EventLine>, DbError> {
        self.rows(
            "SELECT event_id, project_id, name, starts_at, allotted_units, buyers FROM events
                 ORDER BY starts_at, event_id",
            &[],
        )?
        .iter()
        .map(|r| {
            Ok(EventLine {
                event_id: r.try_get(0)?,
                project_id: r.try_get(1)?,
                name: r.try_get(2)?,
                starts_at: r.try_get(3)?,
                allotted_units: count(r, 4)?,
                buyers: count(r, 5)?,
            })
        })
        .collect::<Result<_, DbError>>()
    }

    fn devices_seen_since(&self, since: DateTime<Utc>) -> Result<u64, DbError> {
        count(
            &self.one(
                "SELECT COUNT(*) FROM devices WHERE revoked_at IS NULL AND last_seen_at >= $1",
                &[&since.to_rfc3339()],
            )?,
            0,
        )
    }

    fn devices(&self) -> Result<Vec<DeviceRecord>, DbError> {
        devices(self)
    }

    fn customers(&self, filter: &CustomerFilter) -> Result<Vec<CustomerLine>, DbError> {
        list(self, filter)
    }

    fn customer_file(&self, customer_id: &str) -> Result<Option<CustomerDetail>, DbError> {
        detail(self, customer_id)
    }

    fn owners_by_customer(&self) -> Result<HashMap<String, Vec<String>>, DbError> {
        owners_by_customer(self)
    }

    fn tickets(&self, filter: &TicketFilter) -> Result<Vec<TicketRecord>, DbError> {
        tickets(self, filter)
    }

    fn tickets_by_id(&self, ids: &[String]) -> Result<Vec<TicketRecord>, DbError> {
        let rows = self.rows(
            "SELECT t.ticket_id, t.customer_id, COALESCE(c.name, ''), t.kind, t.priority, t.status,
                    t.title, t.owner, t.opened_at, t.first_reply_at
             FROM tickets t LEFT JOIN customers c USING (customer_id)
             WHERE t.ticket_id = ANY($1::text[])",
            &[&ids],
        )?;
        rows.iter().map(ticket_record).collect()
    }

    fn cadence_customers(&self) -> Result<Vec<(Customer, String)>, DbError> {
        customers_with_visits(self)
    }

    fn regrade_inputs(&self, sales_year: i32) -> Result<Vec<(RegradeInput, String)>, DbError> {
        regrade_inputs(self, sales_year)
    }

    fn regrade_decided(&self, year: i32) -> Result<HashSet<String>, DbError> {
        let rows = self.rows(
            "SELECT customer_id FROM regrade_decisions WHERE year = $1",
            &[&i64::from(year)],
        )?;
        rows.iter().map(|r| r.try_get(0).map_err(DbError::from)).collect()
    }

    fn record_regrade_decision(&self, d: &RegradeDecisionRecord<'_>) -> Result<(), DbError> {
        self.execute(
            "INSERT INTO regrade_decisions(customer_id, year, proposed_tier, proposed_grade,
                 decision, decided_by, decided_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &d.proposal.customer_id.as_str(),
                &i64::from(d.proposal.year),
                &d.proposal.proposed_tier.as_str(),
                &d.proposal.proposed_grade.as_str(),
                &d.decision,
                &d.decided_by,
                &d.decided_at.to_rfc3339(),
            ],
        )?;
        Ok(())
    }
}

fn devices(db: &PgDb) -> Result<Vec<DeviceRecord>, DbError> {
    let rows = db.rows(
        "SELECT d.device_id, d.user_id, u.role, d.label, d.last_seen_at, d.last_cursor,
                d.revoked_at, d.last_upload_at, d.last_upload_oldest_change_at
         FROM devices d JOIN users u USING (user_id)
         ORDER BY d.revoked_at IS NOT NULL, d.last_seen_at IS NOT NULL, d.last_seen_at,
                  d.device_id",
        &[],
    )?;
    rows.iter()
        .map(|r| {
            Ok(DeviceRecord {
                device_id: r.try_get(0)?,
                user_id: r.try_get(1)?,
                role: r.try_get(2)?,
                label: r.try_get(3)?,
                last_seen_at: r.try_get(4)?,
                last_cursor: r.try_get(5)?,
                revoked_at: r.try_get(6)?,
                last_upload_at: r.try_get(7)?,
                last_upload_oldest_change_at: r.try_get(8)?,
            })
        })
        .collect()
}

/// A projected ticket read by the ticket statements.
fn ticket_record(r: &Row) -> Result<TicketRecord, DbError> {
    Ok(TicketRecord {
        ticket_id: r.try_get(0)?,
        customer_id: r.try_get(1)?,
        customer_name: r.try_get(2)?,
        kind: r.try_get(3)?,
        priority: r.try_get(4)?,
        status: r.try_get(5)?,
        title: r.try_get(6)?,
        owner: r.try_get(7)?,
        opened_at: r.try_get(8)?,
        first_reply_at: r.try_get(9)?,
    })
}

fn tickets(db: &PgDb, filter: &TicketFilter) -> Result<Vec<TicketRecord>, DbError> {
    // Without the text, no join and no long strings (as on SQLite).
    let (text, join) = if filter.without_text {
        ("'', t.kind, t.priority, t.status, ''", "")
    } else {
        (
            "COALESCE(c.name, ''), t.kind, t.priority, t.status, t.title",
            "LEFT JOIN customers c USING (customer_id)",
        )
    };
    let sql = format!(
        "SELECT t.ticket_id, t.customer_id, {text}, t.owner, t.opened_at, t.first_reply_at
         FROM tickets t {join}
         WHERE ({open} OR NOT $1::boolean)
           AND ($2::text IS NULL OR t.status = $2) AND ($3::text IS NULL OR t.kind = $3)
           AND ($4::text IS NULL OR t.priority = $4) AND ($5::text IS NULL OR t.owner = $5)
           AND ($6::text IS NULL OR t.customer_id = $6)",
        open = open_ticket("t.status")
    );
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 6] = [
        &filter.open_only,
        &filter.status,
        &filter.kind,
        &filter.priority,
        &filter.owner,
        &filter.customer,
    ];
    db.rows(&sql, &params)?.iter().map(ticket_record).collect()
}

/// A stored score as the rules' `u32`.
fn score(id: &str, stored: Option<i64>) -> Result<Option<u32>, DbError> {
    stored
        .map(u32::try_from)
        .transpose()
        .map_err(|_| DbError::Corrupt(format!("customer {id}: score")))
}

fn regrade_inputs(db: &PgDb, sales_year: i32) -> Result<Vec<(RegradeInput, String)>, DbError> {
    let rows = db.rows(
        "SELECT c.customer_id, c.name, c.strategic, c.leading_brand, c.tier, c.grade, c.score,
                s.amount
         FROM customers c
         LEFT JOIN customer_sales_years s ON s.customer_id = c.customer_id AND s.year = $1
         WHERE c.score IS NOT NULL ORDER BY c.customer_id",
        &[&i64::from(sales_year)],
    )?;
    let mut out = Vec::new();
    for r in &rows {
        let (id, name): (String, String) = (r.try_get(0)?, r.try_get(1)?);
        let (tier, grade): (String, Option<String>) = (r.try_get(4)?, r.try_get(5)?);
        let sales: Option<&str> = r.try_get(7)?;
        let corrupt = |what: &str| DbError::Corrupt(format!("customer {id}: {what}"));
        let input = RegradeInput {
            customer_id: CustomerId::from(id.as_str()),
            strategic: r.try_get(2)?,
            leading_brand: r.try_get(3)?,
            last_year_sales: sales.map(decimal).transpose()?.unwrap_or(Decimal::ZERO),
            current_tier: tier.parse().map_err(|_| corrupt("tier"))?,
            current_grade: grade.map(|g| g.parse()).transpose().map_err(|_| corrupt("grade"))?,
            score: score(&id, r.try_get(6)?)?.ok_or_else(|| corrupt("score"))?,
        };
        out.push((input, name));
    }
    Ok(out)
}

/// SQL ordering of the `tier` column: strategic first, as every list shows tiers.
const TIER_ORDER: &str =
    "CASE tier WHEN 'strategic' THEN 0 WHEN 'key' THEN 1 WHEN 'main' THEN 2 ELSE 3 END";

/// SQL condition on `column` for a ticket that still needs work, from the statuses kam-core
/// counts as open (`TicketStatus::is_open`), so screens and SQL never disagree.
fn open_ticket(column: &str) -> String {
    let codes: Vec<String> = kam_core::model::TicketStatus::ALL
        .iter()
        .filter(|s| s.is_open())
        .map(|s| format!("'{}'", s.as_str()))
        .collect();
    format!("{column} IN ({})", codes.join(", "))
}

/// Owners of every customer, as `customer_id -> [rep]`, for list pages.
fn owners_by_customer(db: &PgDb) -> Result<HashMap<String, Vec<String>>, DbError> {
    let rows = db.rows(
        "SELECT customer_id, owner_id FROM customer_owners ORDER BY customer_id, owner_id",
        &[],
    )?;
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for row in &rows {
        out.entry(row.try_get(0)?).or_default().push(row.try_get(1)?);
    }
    Ok(out)
}

fn customers_by_tier(db: &PgDb) -> Result<Vec<(String, u64)>, DbError> {
    let rows = db.rows(
        &format!("SELECT tier, COUNT(*) FROM customers GROUP BY tier ORDER BY {TIER_ORDER}"),
        &[],
    )?;
    rows.iter().map(|r| Ok((r.try_get(0)?, count(r, 1)?))).collect()
}

/// The overview at `now`: every count in one statement.
fn overview(db: &PgDb, now: DateTime<Utc>, seen_since: DateTime<Utc>) -> Result<Overview, DbError> {
    let open = open_ticket("status");
    let counts = db.one(
        &format!(
            "SELECT (SELECT COUNT(*) FROM customers),
                    (SELECT COUNT(*) FROM tickets WHERE {open}),
                    (SELECT COUNT(*) FROM tickets WHERE {open}
                         AND first_reply_at IS NULL AND reply_due_at < $1),
                    (SELECT COUNT(*) FROM customers WHERE overdue_visits > 0),
                    (SELECT COUNT(*) FROM conflicts WHERE resolved_at IS NULL),
                    (SELECT COUNT(*) FROM violations WHERE reviewed_at IS NULL)"
        ),
        &[&now.to_rfc3339()],
    )?;
    let events = db.projected_events()?;
    Ok(Overview {
        customers: count(&counts, 0)?,
        customers_by_tier: customers_by_tier(db)?,
        open_tickets: count(&counts, 1)?,
        overdue_tickets: count(&counts, 2)?,
        customers_with_overdue_visits: count(&counts, 3)?,
        open_conflicts: count(&counts, 4)?,
        unreviewed_violations: count(&counts, 5)?,
        devices_seen_24h: db.devices_seen_since(seen_since)?,
        events,
    })
}

const SELECT: &str = "SELECT customer_id, name, industry, region, tier, strategic, grade, score,
    credit_limit, payment_terms, latest_sales_year, latest_annual_sales, overdue_visits,
    next_visit_due, leading_brand FROM customers";

fn line(r: &Row) -> Result<CustomerLine, DbError> {
    Ok(CustomerLine {
        customer_id: r.try_get(0)?,
        name: r.try_get(1)?,
        industry: r.try_get(2)?,
        region: r.try_get(3)?,
        tier: r.try_get(4)?,
        strategic: r.try_get(5)?,
        grade: r.try_get(6)?,
        score: r.try_get(7)?,
        credit_limit: r.try_get(8)?,
        payment_terms: r.try_get(9)?,
        latest_sales_year: r.try_get(10)?,
        latest_annual_sales: r.try_get(11)?,
        owners: Vec::new(),
        owner_names: Vec::new(),
        overdue_visits: r.try_get(12)?,
        next_visit_due: r.try_get(13)?,
    })
}

/// Customers matching `filter`, strategic first, then by grade and score. A part of the
/// name matches as SQLite's `LIKE` does: ASCII letters in either case (`ILIKE` under the
/// "C" collation folds ASCII only), no escape character.
fn list(db: &PgDb, filter: &CustomerFilter) -> Result<Vec<CustomerLine>, DbError> {
    let tier = filter.tier.clone().filter(|t| !t.is_empty());
    let grade = filter.grade.clone().filter(|g| !g.is_empty());
    let q = filter.q.clone().filter(|q| !q.is_empty()).map(|q| format!("%{q}%"));
    let sql = format!(
        "{SELECT} WHERE ($1::text IS NULL OR tier = $1::text)
           AND ($2::text IS NULL OR ($2::text = 'none' AND grade IS NULL) OR grade = $2::text)
           AND ($3::text IS NULL OR name ILIKE $3::text ESCAPE '')
         ORDER BY {TIER_ORDER}, grade IS NULL, grade, score DESC NULLS LAST, customer_id"
    );
    let mut lines: Vec<CustomerLine> =
        db.rows(&sql, &[&tier, &grade, &q])?.iter().map(line).collect::<Result<_, _>>()?;
    let owners = owners_by_customer(db)?;
    for l in &mut lines {
        l.owners = owners.get(&l.customer_id).cloned().unwrap_or_default();
    }
    Ok(lines)
}

/// One customer's file from the projections; `history` is left empty for the caller, who
/// reads it from the document.
fn detail(db: &PgDb, customer_id: &str) -> Result<Option<CustomerDetail>, DbError> {
    let Some(row) = db.row(&format!("{SELECT} WHERE customer_id = $1"), &[&customer_id])? else {
        return Ok(None);
    };
    let leading_brand: bool = row.try_get(14)?;
    let customer = line(&row)?;
    let annual_sales = db
        .rows(
            "SELECT year, amount FROM customer_sales_years WHERE customer_id = $1 ORDER BY year",
            &[&customer_id],
        )?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<Result<_, DbError>>()?;
    let contacts = db
        .rows(
            "SELECT name, title, phone, email, is_primary FROM contacts WHERE customer_id = $1
             ORDER BY is_primary DESC, name",
            &[&customer_id],
        )?
        .iter()
        .map(|r| {
            Ok(ContactLine {
                name: r.try_get(0)?,
                title: r.try_get(1)?,
                phone: r.try_get(2)?,
                email: r.try_get(3)?,
                primary: r.try_get(4)?,
            })
        })
        .collect::<Result<_, DbError>>()?;
    let tickets = db
        .rows(
            "SELECT ticket_id, kind, priority, status, title, opened_at FROM tickets
             WHERE customer_id = $1 ORDER BY opened_at DESC",
            &[&customer_id],
        )?
        .iter()
        .map(|r| {
            Ok(TicketLine {
                ticket_id: r.try_get(0)?,
                kind: r.try_get(1)?,
                priority: r.try_get(2)?,
                status: r.try_get(3)?,
                title: r.try_get(4)?,
                opened_at: r.try_get(5)?,
            })
        })
        .collect::<Result<_, DbError>>()?;
    let owners = owners_by_customer(db)?;
    let customer =
        CustomerLine { owners: owners.get(customer_id).cloned().unwrap_or_default(), ..customer };
    Ok(Some(CustomerDetail {
        customer,
        leading_brand,
        annual_sales,
        contacts,
        visits: visits_of(db, customer_id)?,
        tickets,
        history: Vec::new(),
    }))
}

fn visits_of(db: &PgDb, customer_id: &str) -> Result<Vec<VisitLine>, DbError> {
    let rows = db.rows(
        "SELECT visit_id, level, visit_date, visitor, topics, problems, demand, competitor_activity
         FROM visits WHERE customer_id = $1 ORDER BY visit_date DESC, visit_id",
        &[&customer_id],
    )?;
    rows.iter()
        .map(|r| {
            let topics: &str = r.try_get(4)?;
            Ok(VisitLine {
                visit_id: r.try_get(0)?,
                level: r.try_get(1)?,
                visit_date: r.try_get(2)?,
                visitor: r.try_get(3)?,
                topics: serde_json::from_str(topics).unwrap_or_default(),
                problems: r.try_get(5)?,
                demand: r.try_get(6)?,
                competitor_activity: r.try_get(7)?,
            })
        })
        .collect()
}

/// The customers the cadence may apply to (strategic, or graded A), with their visits, as
/// the `Customer` values the rule reads. Fields the rule does not read are left empty.
fn customers_with_visits(db: &PgDb) -> Result<Vec<(Customer, String)>, DbError> {
    let rows = db.rows(
        "SELECT customer_id, name, tier, strategic, grade, score, created_at FROM customers
         WHERE strategic OR tier = 'strategic' OR grade = 'A' ORDER BY customer_id",
        &[],
    )?;
    let mut visits = visits_by_customer(db)?;
    let mut out = Vec::new();
    for r in &rows {
        let (id, name, tier): (String, String, &str) =
            (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
        let grade: Option<&str> = r.try_get(4)?;
        let corrupt = |what: &str| DbError::Corrupt(format!("customer {id}: {what}"));
        let tier: Tier = tier.parse().map_err(|_| corrupt("tier"))?;
        let grade: Option<Grade> =
            grade.map(str::parse).transpose().map_err(|_| corrupt("grade"))?;
        let classification = Classification {
            strategic: r.try_get(3)?,
            tier,
            grade,
            score: score(&id, r.try_get(5)?)?,
        };
        let customer = Customer {
            id: CustomerId::from(id.as_str()),
            created_at: instant(r.try_get(6)?)?,
            profile: CustomerProfile::default(),
            annual_sales: BTreeMap::new(),
            profit_contribution: Decimal::ZERO,
            owners: Vec::new(),
            classification,
            credit: CreditTerms::default(),
            contacts: BTreeMap::new(),
            visits: visits.remove(&id).unwrap_or_default(),
            late_payments: BTreeMap::new(),
        };
        out.push((customer, name));
    }
    Ok(out)
}

fn visits_by_customer(
    db: &PgDb,
) -> Result<HashMap<String, BTreeMap<VisitId, VisitRecord>>, DbError> {
    let rows =
        db.rows("SELECT customer_id, visit_id, level, visit_date, visitor FROM visits", &[])?;
    let mut out: HashMap<String, BTreeMap<VisitId, VisitRecord>> = HashMap::new();
    for r in &rows {
        let (customer, visit): (String, &str) = (r.try_get(0)?, r.try_get(1)?);
        let (level, date, visitor): (&str, &str, &str) =
            (r.try_get(2)?, r.try_get(3)?, r.try_get(4)?);
        let corrupt = || DbError::Corrupt(format!("visit {visit} of {customer}"));
        let level: VisitLevel = level.parse().map_err(|_| corrupt())?;
        let date: NaiveDate = date.parse().map_err(|_| corrupt())?;
        let record = VisitRecord {
            id: VisitId::from(visit),
            level,
            date,
            visitor: UserId::from(visitor),
            topics: Vec::new(),
            personnel_changes: String::new(),
            problems: String::new(),
            demand: String::new(),
            competitor_activity: String::new(),
        };
        out.entry(customer).or_default().insert(record.id.clone(), record);
    }
    Ok(out)
}

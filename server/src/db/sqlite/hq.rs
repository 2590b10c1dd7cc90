//! Headquarters' queries of the projections, on SQLite.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use kam_core::model::{
    Classification, CreditTerms, Customer, CustomerId, CustomerProfile, Grade, Tier, UserId,
    VisitId, VisitLevel, VisitRecord,
};
use kam_core::rules::RegradeInput;
use rusqlite::{Connection, OptionalExtension, params};
use rust_decimal::Decimal;

use crate::db::DbError;
use crate::db::hq::{
    ContactLine, CustomerDetail, CustomerFilter, CustomerLine, DeviceRecord, EventLine, HqQueries,
    Overview, RegradeDecisionRecord, TicketFilter, TicketLine, TicketRecord, VisitLine,
};
use crate::db::parse::{decimal, instant};

impl HqQueries for Connection {
    fn customers_by_tier(&self) -> Result<Vec<(String, u64)>, DbError> {
        customers_by_tier(self)
    }

    fn overview(&self, now: DateTime<Utc>, seen_since: DateTime<Utc>) -> Result<Overview, DbError> {
        overview(self, now, seen_since)
    }

    fn projected_events(&self) -> Result<Vec<EventLine>, DbError> {
        let mut events = self.prepare_cached(
            "SELECT event_id, project_id, name, starts_at, allotted_units, buyers FROM events
                 ORDER BY starts_at, event_id",
        )?;
        Ok(events
            .query_map([], |r| {
                Ok(EventLine {
                    event_id: r.get(0)?,
                    project_id: r.get(1)?,
                    name: r.get(2)?,
                    starts_at: r.get(3)?,
                    allotted_units: r.get(4)?,
                    buyers: r.get(5)?,
                })
            })?
            .collect::<Result<_, _>>()?)
    }

    fn devices_seen_since(&self, since: DateTime<Utc>) -> Result<u64, DbError> {
        devices_seen_since(self, since)
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
        tickets_by_id(self, ids)
    }

    fn cadence_customers(&self) -> Result<Vec<(Customer, String)>, DbError> {
        customers_with_visits(self)
    }

    fn regrade_inputs(&self, sales_year: i32) -> Result<Vec<(RegradeInput, String)>, DbError> {
        regrade_inputs(self, sales_year)
    }

    fn regrade_decided(&self, year: i32) -> Result<HashSet<String>, DbError> {
        let mut stmt =
            self.prepare_cached("SELECT customer_id FROM regrade_decisions WHERE year = ?1")?;
        let ids = stmt.query_map([year], |r| r.get(0))?.collect::<Result<_, _>>()?;
        Ok(ids)
    }

    fn record_regrade_decision(&self, d: &RegradeDecisionRecord<'_>) -> Result<(), DbError> {
        self.prepare_cached(
            "INSERT INTO regrade_decisions(customer_id, year, proposed_tier, proposed_grade,
                 decision, decided_by, decided_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            d.proposal.customer_id.as_str(),
            d.proposal.year,
            d.proposal.proposed_tier.as_str(),
            d.proposal.proposed_grade.as_str(),
            d.decision,
            d.decided_by,
            d.decided_at.to_rfc3339()
        ])?;
        Ok(())
    }
}

fn devices_seen_since(conn: &Connection, since: DateTime<Utc>) -> Result<u64, DbError> {
    Ok(conn
        .prepare_cached(
            "SELECT COUNT(*) FROM devices WHERE revoked_at IS NULL AND last_seen_at >= ?1",
        )?
        .query_row([since.to_rfc3339()], |r| r.get(0))?)
}

fn devices(conn: &Connection) -> Result<Vec<DeviceRecord>, DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT d.device_id, d.user_id, u.role, d.label, d.last_seen_at, d.last_cursor, d.revoked_at,
                d.last_upload_at, d.last_upload_oldest_change_at
         FROM devices d JOIN users u USING (user_id)
         ORDER BY d.revoked_at IS NOT NULL, d.last_seen_at IS NOT NULL, d.last_seen_at, d.device_id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(DeviceRecord {
            device_id: r.get(0)?,
            user_id: r.get(1)?,
            role: r.get(2)?,
            label: r.get(3)?,
            last_seen_at: r.get(4)?,
            last_cursor: r.get(5)?,
            revoked_at: r.get(6)?,
            last_upload_at: r.get(7)?,
            last_upload_oldest_change_at: r.get(8)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A projected ticket read by [`tickets`] and [`tickets_by_id`]'s statements.
fn ticket_record(r: &rusqlite::Row<'_>) -> rusqlite::Result<TicketRecord> {
    Ok(TicketRecord {
        ticket_id: r.get(0)?,
        customer_id: r.get(1)?,
        customer_name: r.get(2)?,
        kind: r.get(3)?,
        priority: r.get(4)?,
        status: r.get(5)?,
        title: r.get(6)?,
        owner: r.get(7)?,
        opened_at: r.get(8)?,
        first_reply_at: r.get(9)?,
    })
}

fn tickets(conn: &Connection, filter: &TicketFilter) -> Result<Vec<TicketRecord>, DbError> {
    // Without the text, no join and no long strings: a fifth of the work for every ticket.
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
         WHERE ({open} OR ?1 = 0)
           AND (?2 IS NULL OR t.status = ?2) AND (?3 IS NULL OR t.kind = ?3)
           AND (?4 IS NULL OR t.priority = ?4) AND (?5 IS NULL OR t.owner = ?5)
           AND (?6 IS NULL OR t.customer_id = ?6)",
        open = open_ticket("t.status")
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(
        params![
            filter.open_only,
            filter.status,
            filter.kind,
            filter.priority,
            filter.owner,
            filter.customer
        ],
        ticket_record,
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn tickets_by_id(conn: &Connection, ids: &[String]) -> Result<Vec<TicketRecord>, DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT t.ticket_id, t.customer_id, COALESCE(c.name, ''), t.kind, t.priority, t.status,
                t.title, t.owner, t.opened_at, t.first_reply_at
         FROM tickets t LEFT JOIN customers c USING (customer_id)
         WHERE t.ticket_id IN (SELECT value FROM json_each(?1))",
    )?;
    let rows = stmt.query_map([super::management::ids_json(ids)?], ticket_record)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn regrade_inputs(
    conn: &Connection,
    sales_year: i32,
) -> Result<Vec<(RegradeInput, String)>, DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT c.customer_id, c.name, c.strategic, c.leading_brand, c.tier, c.grade, c.score,
                s.amount
         FROM customers c
         LEFT JOIN customer_sales_years s ON s.customer_id = c.customer_id AND s.year = ?1
         WHERE c.score IS NOT NULL ORDER BY c.customer_id",
    )?;
    let rows = stmt.query_map([sales_year], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, bool>(2)?,
            r.get::<_, bool>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, Option<String>>(5)?,
            r.get::<_, u32>(6)?,
            r.get::<_, Option<String>>(7)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, name, strategic, leading_brand, tier, grade, score, sales) = row?;
        let corrupt = |what: &str| DbError::Corrupt(format!("customer {id}: {what}"));
        let input = RegradeInput {
            customer_id: CustomerId::from(id.as_str()),
            strategic,
            leading_brand,
            last_year_sales: sales.as_deref().map(decimal).transpose()?.unwrap_or(Decimal::ZERO),
            current_tier: tier.parse().map_err(|_| corrupt("tier"))?,
            current_grade: grade.map(|g| g.parse()).transpose().map_err(|_| corrupt("grade"))?,
            score,
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
fn owners_by_customer(
    conn: &rusqlite::Connection,
) -> Result<std::collections::HashMap<String, Vec<String>>, DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT customer_id, owner_id FROM customer_owners ORDER BY customer_id, owner_id",
    )?;
    let mut out: std::collections::HashMap<String, Vec<String>> = Default::default();
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    for row in rows {
        let (customer, owner) = row?;
        out.entry(customer).or_default().push(owner);
    }
    Ok(out)
}

fn customers_by_tier(conn: &Connection) -> Result<Vec<(String, u64)>, DbError> {
    let mut by_tier = conn.prepare_cached(&format!(
        "SELECT tier, COUNT(*) FROM customers GROUP BY tier ORDER BY {TIER_ORDER}"
    ))?;
    let rows = by_tier.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn count(conn: &Connection, sql: &str, arg: &str) -> Result<u64, DbError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let n = if sql.contains("?1") {
        stmt.query_row([arg], |r| r.get(0))?
    } else {
        stmt.query_row([], |r| r.get(0))?
    };
    Ok(n)
}

/// The overview at `now`.
fn overview(
    conn: &Connection,
    now: DateTime<Utc>,
    seen_since: DateTime<Utc>,
) -> Result<Overview, DbError> {
    let now_text = now.to_rfc3339();
    let open = open_ticket("status");
    let customers_by_tier = customers_by_tier(conn)?;
    let events = conn.projected_events()?;
    Ok(Overview {
        customers: count(conn, "SELECT COUNT(*) FROM customers", "")?,
        customers_by_tier,
        open_tickets: count(conn, &format!("SELECT COUNT(*) FROM tickets WHERE {open}"), "")?,
        overdue_tickets: count(
            conn,
            &format!(
                "SELECT COUNT(*) FROM tickets WHERE {open}
                 AND first_reply_at IS NULL AND reply_due_at < ?1"
            ),
            &now_text,
        )?,
        customers_with_overdue_visits: count(
            conn,
            "SELECT COUNT(*) FROM customers WHERE overdue_visits > 0",
            "",
        )?,
        open_conflicts: count(
            conn,
            "SELECT COUNT(*) FROM conflicts WHERE resolved_at IS NULL",
            "",
        )?,
        unreviewed_violations: count(
            conn,
            "SELECT COUNT(*) FROM violations WHERE reviewed_at IS NULL",
            "",
        )?,
        devices_seen_24h: devices_seen_since(conn, seen_since)?,
        events,
    })
}

const SELECT: &str = "SELECT customer_id, name, industry, region, tier, strategic, grade, score,
    credit_limit, payment_terms, latest_sales_year, latest_annual_sales, overdue_visits,
    next_visit_due FROM customers";
fn line(r: &rusqlite::Row<'_>) -> rusqlite::Result<CustomerLine> {
    Ok(CustomerLine {
        customer_id: r.get(0)?,
        name: r.get(1)?,
        industry: r.get(2)?,
        region: r.get(3)?,
        tier: r.get(4)?,
        strategic: r.get(5)?,
        grade: r.get(6)?,
        score: r.get(7)?,
        credit_limit: r.get(8)?,
        payment_terms: r.get(9)?,
        latest_sales_year: r.get(10)?,
        latest_annual_sales: r.get(11)?,
        owners: Vec::new(),
        owner_names: Vec::new(),
        overdue_visits: r.get(12)?,
        next_visit_due: r.get(13)?,
    })
}

/// Customers matching `filter`, strategic first, then by grade and score.
fn list(conn: &Connection, filter: &CustomerFilter) -> Result<Vec<CustomerLine>, DbError> {
    let tier = filter.tier.clone().filter(|t| !t.is_empty());
    let grade = filter.grade.clone().filter(|g| !g.is_empty());
    let q = filter.q.clone().filter(|q| !q.is_empty()).map(|q| format!("%{q}%"));
    let sql = format!(
        "{SELECT} WHERE (?1 IS NULL OR tier = ?1)
           AND (?2 IS NULL OR (?2 = 'none' AND grade IS NULL) OR grade = ?2)
           AND (?3 IS NULL OR name LIKE ?3)
         ORDER BY {order}, grade IS NULL, grade, score DESC, customer_id",
        order = TIER_ORDER
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut lines: Vec<CustomerLine> =
        stmt.query_map(params![tier, grade, q], line)?.collect::<Result<_, _>>()?;
    let owners = owners_by_customer(conn)?;
    for l in &mut lines {
        l.owners = owners.get(&l.customer_id).cloned().unwrap_or_default();
    }
    Ok(lines)
}

/// One customer's file from the projections; `history` is left empty for the caller, who
/// reads it from the document.
fn detail(conn: &Connection, customer_id: &str) -> Result<Option<CustomerDetail>, DbError> {
    let customer = conn
        .prepare_cached(&format!("{SELECT} WHERE customer_id = ?1"))?
        .query_row([customer_id], line)
        .optional()?;
    let Some(customer) = customer else { return Ok(None) };
    let leading_brand = conn
        .prepare_cached("SELECT leading_brand FROM customers WHERE customer_id = ?1")?
        .query_row([customer_id], |r| r.get(0))?;
    let annual_sales = conn
        .prepare_cached(
            "SELECT year, amount FROM customer_sales_years WHERE customer_id = ?1 ORDER BY year",
        )?
        .query_map([customer_id], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let contacts = conn
        .prepare_cached(
            "SELECT name, title, phone, email, is_primary FROM contacts WHERE customer_id = ?1
             ORDER BY is_primary DESC, name",
        )?
        .query_map([customer_id], |r| {
            Ok(ContactLine {
                name: r.get(0)?,
                title: r.get(1)?,
                phone: r.get(2)?,
                email: r.get(3)?,
                primary: r.get(4)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    let visits = visits_of(conn, customer_id)?;
    let tickets = conn
        .prepare_cached(
            "SELECT ticket_id, kind, priority, status, title, opened_at FROM tickets
             WHERE customer_id = ?1 ORDER BY opened_at DESC",
        )?
        .query_map([customer_id], |r| {
            Ok(TicketLine {
                ticket_id: r.get(0)?,
                kind: r.get(1)?,
                priority: r.get(2)?,
                status: r.get(3)?,
                title: r.get(4)?,
                opened_at: r.get(5)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    let owners = owners_by_customer(conn)?;
    let customer =
        CustomerLine { owners: owners.get(customer_id).cloned().unwrap_or_default(), ..customer };
    Ok(Some(CustomerDetail {
        customer,
        leading_brand,
        annual_sales,
        contacts,
        visits,
        tickets,
        history: Vec::new(),
    }))
}

fn visits_of(conn: &Connection, customer_id: &str) -> Result<Vec<VisitLine>, DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT visit_id, level, visit_date, visitor, topics, problems, demand, competitor_activity
         FROM visits WHERE customer_id = ?1 ORDER BY visit_date DESC, visit_id",
    )?;
    let rows = stmt.query_map([customer_id], |r| {
        let topics: String = r.get(4)?;
        Ok(VisitLine {
            visit_id: r.get(0)?,
            level: r.get(1)?,
            visit_date: r.get(2)?,
            visitor: r.get(3)?,
            topics: serde_json::from_str(&topics).unwrap_or_default(),
            problems: r.get(5)?,
            demand: r.get(6)?,
            competitor_activity: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The customers the cadence may apply to (strategic, or graded A), with their visits, as
/// the `Customer` values the rule reads. Fields the rule does not read are left empty.
fn customers_with_visits(conn: &Connection) -> Result<Vec<(Customer, String)>, DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT customer_id, name, tier, strategic, grade, score, created_at FROM customers
         WHERE strategic = 1 OR tier = 'strategic' OR grade = 'A' ORDER BY customer_id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, bool>(3)?,
            r.get::<_, Option<String>>(4)?,
            r.get::<_, Option<u32>>(5)?,
            r.get::<_, String>(6)?,
        ))
    })?;
    let mut visits = visits_by_customer(conn)?;
    let mut out = Vec::new();
    for row in rows {
        let (id, name, tier, strategic, grade, score, created_at) = row?;
        let corrupt = |what: &str| DbError::Corrupt(format!("customer {id}: {what}"));
        let tier: Tier = tier.parse().map_err(|_| corrupt("tier"))?;
        let grade: Option<Grade> =
            grade.map(|g| g.parse()).transpose().map_err(|_| corrupt("grade"))?;
        let created_at = instant(&created_at)?;
        let customer = Customer {
            id: CustomerId::from(id.as_str()),
            created_at,
            profile: CustomerProfile::default(),
            annual_sales: BTreeMap::new(),
            profit_contribution: rust_decimal::Decimal::ZERO,
            owners: Vec::new(),
            classification: Classification { strategic, tier, grade, score },
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
    conn: &Connection,
) -> Result<HashMap<String, BTreeMap<VisitId, VisitRecord>>, DbError> {
    let mut stmt = conn
        .prepare_cached("SELECT customer_id, visit_id, level, visit_date, visitor FROM visits")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
        ))
    })?;
    let mut out: HashMap<String, BTreeMap<VisitId, VisitRecord>> = HashMap::new();
    for row in rows {
        let (customer, visit, level, date, visitor) = row?;
        let corrupt = || DbError::Corrupt(format!("visit {visit} of {customer}"));
        let level: VisitLevel = level.parse().map_err(|_| corrupt())?;
        let date: NaiveDate = date.parse().map_err(|_| corrupt())?;
        let record = VisitRecord {
            id: VisitId::from(visit.as_str()),
            level,
            date,
            visitor: UserId::from(visitor.as_str()),
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

//! Customers by tier and grade, and one customer's whole file (档案).

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::error::ServerError;

/// Filters of the customer list; empty means all.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct CustomerFilter {
    /// A tier code (`strategic`, `key`, `main`, `general`).
    pub tier: Option<String>,
    /// A grade (`A`–`D`), or `none` for ungraded customers.
    pub grade: Option<String>,
    /// Part of the name.
    pub q: Option<String>,
}

/// One line of the customer list.
#[derive(Clone, Debug, Serialize)]
pub struct CustomerLine {
    /// Customer id.
    pub customer_id: String,
    /// Registered name.
    pub name: String,
    /// Industry.
    pub industry: String,
    /// Region.
    pub region: String,
    /// Approved tier code.
    pub tier: String,
    /// Designated strategic.
    pub strategic: bool,
    /// Approved grade.
    pub grade: Option<String>,
    /// Last score.
    pub score: Option<i64>,
    /// Credit limit (CNY, decimal text).
    pub credit_limit: String,
    /// Payment terms code.
    pub payment_terms: String,
    /// The latest year with recorded sales.
    pub latest_sales_year: Option<i64>,
    /// That year's sales (CNY, decimal text).
    pub latest_annual_sales: Option<String>,
    /// Owning reps.
    pub owners: Vec<String>,
    /// Visits overdue at the last projection.
    pub overdue_visits: i64,
    /// When the next visit is due.
    pub next_visit_due: Option<String>,
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
        overdue_visits: r.get(12)?,
        next_visit_due: r.get(13)?,
    })
}

/// Customers matching `filter`, strategic first, then by grade and score.
pub fn list(conn: &Connection, filter: &CustomerFilter) -> Result<Vec<CustomerLine>, ServerError> {
    let tier = filter.tier.clone().filter(|t| !t.is_empty());
    let grade = filter.grade.clone().filter(|g| !g.is_empty());
    let q = filter.q.clone().filter(|q| !q.is_empty()).map(|q| format!("%{q}%"));
    let sql = format!(
        "{SELECT} WHERE (?1 IS NULL OR tier = ?1)
           AND (?2 IS NULL OR (?2 = 'none' AND grade IS NULL) OR grade = ?2)
           AND (?3 IS NULL OR name LIKE ?3)
         ORDER BY {order}, grade IS NULL, grade, score DESC, customer_id",
        order = super::TIER_ORDER
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut lines: Vec<CustomerLine> =
        stmt.query_map(params![tier, grade, q], line)?.collect::<Result<_, _>>()?;
    let owners = super::owners_by_customer(conn)?;
    for l in &mut lines {
        l.owners = owners.get(&l.customer_id).cloned().unwrap_or_default();
    }
    Ok(lines)
}

/// A contact person.
#[derive(Clone, Debug, Serialize)]
pub struct ContactLine {
    /// Name.
    pub name: String,
    /// Job title.
    pub title: String,
    /// Phone.
    pub phone: String,
    /// E-mail.
    pub email: String,
    /// The main contact.
    pub primary: bool,
}

/// A contact record (客户接触记录).
#[derive(Clone, Debug, Serialize)]
pub struct VisitLine {
    /// Visit id.
    pub visit_id: String,
    /// Level code.
    pub level: String,
    /// Date.
    pub visit_date: String,
    /// Who made it.
    pub visitor: String,
    /// Topics.
    pub topics: Vec<String>,
    /// Problems raised.
    pub problems: String,
    /// Demand heard.
    pub demand: String,
    /// Competitor activity.
    pub competitor_activity: String,
}

/// A ticket of the customer.
#[derive(Clone, Debug, Serialize)]
pub struct TicketLine {
    /// Ticket id.
    pub ticket_id: String,
    /// Kind code.
    pub kind: String,
    /// Priority code.
    pub priority: String,
    /// Status code.
    pub status: String,
    /// Title.
    pub title: String,
    /// When it was opened.
    pub opened_at: String,
}

/// One change of the customer's document: who did what, when.
#[derive(Clone, Debug, Serialize)]
pub struct HistoryLine {
    /// When (RFC 3339).
    pub at: String,
    /// Who.
    pub author: String,
    /// The action (`customer.update_profile`, …).
    pub action: String,
}

/// A customer's whole file.
#[derive(Clone, Debug, Serialize)]
pub struct CustomerDetail {
    /// The list line (classification, credit, owners).
    pub customer: CustomerLine,
    /// Leading brand in its industry.
    pub leading_brand: bool,
    /// Sales per year (CNY, decimal text), oldest first.
    pub annual_sales: Vec<(i64, String)>,
    /// Contacts.
    pub contacts: Vec<ContactLine>,
    /// Visits, newest first.
    pub visits: Vec<VisitLine>,
    /// Tickets, newest first.
    pub tickets: Vec<TicketLine>,
    /// Changes to the document, newest first.
    pub history: Vec<HistoryLine>,
}

/// One customer's file from the projections; `history` is left empty for the caller, who
/// reads it from the document.
pub fn detail(conn: &Connection, customer_id: &str) -> Result<CustomerDetail, ServerError> {
    let customer = conn
        .prepare_cached(&format!("{SELECT} WHERE customer_id = ?1"))?
        .query_row([customer_id], line)
        .optional()?
        .ok_or(ServerError::NotFound)?;
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
    let owners = super::owners_by_customer(conn)?;
    let customer =
        CustomerLine { owners: owners.get(customer_id).cloned().unwrap_or_default(), ..customer };
    Ok(CustomerDetail {
        customer,
        leading_brand,
        annual_sales,
        contacts,
        visits,
        tickets,
        history: Vec::new(),
    })
}

fn visits_of(conn: &Connection, customer_id: &str) -> Result<Vec<VisitLine>, ServerError> {
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

/// The document's history as lines, newest first.
pub fn history_lines(doc: &mut kam_core::doc::Document) -> Vec<HistoryLine> {
    let mut lines: Vec<HistoryLine> = doc
        .history()
        .into_iter()
        .filter_map(|h| h.meta)
        .map(|m| HistoryLine {
            at: m.at.to_rfc3339(),
            author: m.author.to_string(),
            action: m.action.clone(),
        })
        .collect();
    lines.reverse();
    lines
}

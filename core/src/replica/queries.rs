//! The queries behind a tablet's screens, answered from the local index alone.

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use rusqlite::{Connection, Row, params};
use serde::Serialize;

use super::error::ReplicaError;
use super::index::fold;
use crate::model::{
    CustomerId, Grade, TicketId, TicketKind, TicketPriority, TicketStatus, Tier, UserId, VisitLevel,
};
use crate::policy::Policy;
use crate::rules::{self, SlaState};

/// One line of the customer list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CustomerRow {
    /// Customer id.
    pub id: CustomerId,
    /// Name.
    pub name: String,
    /// Industry.
    pub industry: String,
    /// Region.
    pub region: String,
    /// Approved tier.
    pub tier: Tier,
    /// Approved grade.
    pub grade: Option<Grade>,
    /// Last score.
    pub score: Option<u32>,
    /// Designated strategic.
    pub strategic: bool,
    /// Earliest next visit due under the cadence, if the customer has one.
    pub next_visit_due: Option<NaiveDate>,
    /// Tickets still open.
    pub open_tickets: u32,
}

/// One line of the "visits due" screen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VisitDueRow {
    /// Customer id.
    pub customer_id: CustomerId,
    /// Customer name.
    pub customer_name: String,
    /// Customer tier.
    pub tier: Tier,
    /// Which level of visit is due.
    pub level: VisitLevel,
    /// Last visit at that level.
    pub last_visit_on: Option<NaiveDate>,
    /// When the next one is due.
    pub next_due_on: NaiveDate,
    /// Already past due today.
    pub overdue: bool,
}

/// One line of the open-tickets screen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicketRow {
    /// Ticket id.
    pub id: TicketId,
    /// Customer id.
    pub customer_id: CustomerId,
    /// Customer name.
    pub customer_name: String,
    /// Kind of request.
    pub kind: TicketKind,
    /// Priority.
    pub priority: TicketPriority,
    /// Status.
    pub status: TicketStatus,
    /// Summary.
    pub title: String,
    /// When it was received.
    pub opened_at: DateTime<Utc>,
    /// The 24-hour reply state at the time of the query.
    pub sla: SlaState,
}

const CUSTOMER_COLUMNS: &str = "c.customer_id, c.name, c.industry, c.region, c.tier, c.grade,
    c.score, c.strategic, c.next_visit_due,
    (SELECT COUNT(*) FROM idx_tickets t WHERE t.customer_id = c.customer_id AND t.is_open = 1)";

fn corrupt(what: &str, value: &str) -> ReplicaError {
    ReplicaError::Corrupt(format!("index holds invalid {what} `{value}`"))
}

fn parse_code<T: std::str::FromStr>(what: &str, value: String) -> Result<T, ReplicaError> {
    value.parse().map_err(|_| corrupt(what, &value))
}

fn parse_date(value: Option<String>) -> Result<Option<NaiveDate>, ReplicaError> {
    value
        .map(|v| NaiveDate::parse_from_str(&v, "%Y-%m-%d").map_err(|_| corrupt("date", &v)))
        .transpose()
}

fn parse_instant(value: String) -> Result<DateTime<Utc>, ReplicaError> {
    DateTime::parse_from_rfc3339(&value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| corrupt("instant", &value))
}

fn customer_row(row: &Row<'_>) -> Result<CustomerRow, ReplicaError> {
    Ok(CustomerRow {
        id: CustomerId(row.get(0)?),
        name: row.get(1)?,
        industry: row.get(2)?,
        region: row.get(3)?,
        tier: parse_code("tier", row.get(4)?)?,
        grade: row.get::<_, Option<String>>(5)?.map(|g| parse_code("grade", g)).transpose()?,
        score: row.get(6)?,
        strategic: row.get(7)?,
        next_visit_due: parse_date(row.get(8)?)?,
        open_tickets: row.get(9)?,
    })
}

fn collect<T>(
    stmt: &mut rusqlite::CachedStatement<'_>,
    params: impl rusqlite::Params,
    map: impl Fn(&Row<'_>) -> Result<T, ReplicaError>,
) -> Result<Vec<T>, ReplicaError> {
    let mut rows = stmt.query(params)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(map(row)?);
    }
    Ok(out)
}

/// The customers `owner` owns, strategic first, then by score and name.
pub(crate) fn my_customers_by_tier(
    conn: &Connection,
    owner: &UserId,
) -> Result<Vec<CustomerRow>, ReplicaError> {
    let sql = format!(
        "SELECT {CUSTOMER_COLUMNS} FROM idx_customer_owners o
         JOIN idx_customers c ON c.customer_id = o.customer_id
         WHERE o.owner_id = ?1
         ORDER BY c.tier_rank, c.score DESC, c.name, c.customer_id"
    );
    collect(&mut conn.prepare_cached(&sql)?, [owner.as_str()], customer_row)
}

/// Customers whose name contains `text` (case-insensitive for Latin letters), best tier first.
pub(crate) fn search_customers(
    conn: &Connection,
    text: &str,
    limit: u32,
) -> Result<Vec<CustomerRow>, ReplicaError> {
    let escaped = fold(text).replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    let sql = format!(
        "SELECT {CUSTOMER_COLUMNS} FROM idx_customers c
         WHERE c.name_folded LIKE '%' || ?1 || '%' ESCAPE '\\'
         ORDER BY c.tier_rank, c.score DESC, c.name, c.customer_id LIMIT ?2"
    );
    collect(&mut conn.prepare_cached(&sql)?, params![escaped, limit], customer_row)
}

/// The last day of the business week (Sunday) containing `today`.
pub(crate) fn end_of_week(today: NaiveDate) -> NaiveDate {
    let days_left = 6 - u64::from(today.weekday().num_days_from_monday());
    today.checked_add_days(Days::new(days_left)).unwrap_or(today)
}

/// Visits of `owner`'s customers that are overdue or due by the end of this business week,
/// most overdue first.
pub(crate) fn visits_due(
    conn: &Connection,
    owner: &UserId,
    now: DateTime<Utc>,
    policy: &Policy,
) -> Result<Vec<VisitDueRow>, ReplicaError> {
    let today = policy.business_date(now);
    let horizon = end_of_week(today).to_string();
    let mut stmt = conn.prepare_cached(
        "SELECT v.customer_id, c.name, c.tier, v.level, v.last_visit_on, v.next_due_on
         FROM idx_customer_owners o
         JOIN idx_visits_due v ON v.customer_id = o.customer_id
         JOIN idx_customers c ON c.customer_id = v.customer_id
         WHERE o.owner_id = ?1 AND v.next_due_on <= ?2
         ORDER BY v.next_due_on, c.tier_rank, c.name, v.level",
    )?;
    collect(&mut stmt, params![owner.as_str(), horizon], |row| {
        let next_due_on = parse_date(row.get(5)?)?
            .ok_or_else(|| ReplicaError::Corrupt("visit due without a date".into()))?;
        Ok(VisitDueRow {
            customer_id: CustomerId(row.get(0)?),
            customer_name: row.get(1)?,
            tier: parse_code("tier", row.get(2)?)?,
            level: parse_code("visit level", row.get(3)?)?,
            last_visit_on: parse_date(row.get(4)?)?,
            next_due_on,
            overdue: today > next_due_on,
        })
    })
}

/// Open tickets (of `owner`'s customers, or all when `None`), most urgent first: overdue
/// replies, then replies due soon, then by due time and priority.
pub(crate) fn open_tickets_by_urgency(
    conn: &Connection,
    owner: Option<&UserId>,
    now: DateTime<Utc>,
    policy: &Policy,
) -> Result<Vec<TicketRow>, ReplicaError> {
    let mut stmt = conn.prepare_cached(
        "SELECT t.ticket_id, t.customer_id, COALESCE(c.name, ''), t.kind, t.priority, t.status,
                t.title, t.opened_at, t.first_reply_at
         FROM idx_tickets t
         LEFT JOIN idx_customers c ON c.customer_id = t.customer_id
         WHERE t.is_open = 1 AND (?1 IS NULL OR EXISTS (
             SELECT 1 FROM idx_customer_owners o
             WHERE o.customer_id = t.customer_id AND o.owner_id = ?1))
         ORDER BY t.reply_due_at, t.priority_rank, t.ticket_id",
    )?;
    let mut rows = collect(&mut stmt, [owner.map(UserId::as_str)], |row| {
        let opened_at = parse_instant(row.get(7)?)?;
        let first_reply_at = row.get::<_, Option<String>>(8)?.map(parse_instant).transpose()?;
        Ok(TicketRow {
            id: TicketId(row.get(0)?),
            customer_id: CustomerId(row.get(1)?),
            customer_name: row.get(2)?,
            kind: parse_code("ticket kind", row.get(3)?)?,
            priority: parse_code("priority", row.get(4)?)?,
            status: parse_code("ticket status", row.get(5)?)?,
            title: row.get(6)?,
            opened_at,
            sla: rules::reply_sla(opened_at, first_reply_at, now, policy),
        })
    })?;
    // SQL already ordered by due time and priority; a stable sort by urgency keeps that.
    rows.sort_by_key(|r| r.sla.urgency_rank());
    Ok(rows)
}

/// How many customers the index holds per tier, strategic first; tiers with none are listed
/// with zero so that a summary always shows all four.
pub(crate) fn customer_counts_by_tier(conn: &Connection) -> Result<Vec<(Tier, u32)>, ReplicaError> {
    let mut stmt = conn.prepare_cached("SELECT tier, COUNT(*) FROM idx_customers GROUP BY tier")?;
    let counted = collect(&mut stmt, [], |row| {
        Ok((parse_code::<Tier>("tier", row.get(0)?)?, row.get::<_, u32>(1)?))
    })?;
    Ok(Tier::ALL
        .iter()
        .map(|t| (*t, counted.iter().find(|(c, _)| c == t).map_or(0, |(_, n)| *n)))
        .collect())
}

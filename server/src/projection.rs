//! Relational projections of the server's documents, for headquarters' queries.
//!
//! Documents are the record, but headquarters asks questions across all of them ("open
//! complaints per region", "units priced but unsold", "strategic customers whose visits are
//! overdue"). Loading every Automerge document for each such question would be slow and would
//! put Automerge paths outside `kam_core::doc`, so every time the server merges a document it
//! calls [`project`] to replace that entity's rows in plain SQL tables.
//!
//! The tables are derived: every row is a function of one document, the policy and the time of
//! projection, and nothing else writes them. They can therefore be dropped and rebuilt from the
//! documents at any time (after a migration, a policy change, or a bug fix here), and they
//! are never a source of truth — edits go to documents, never to these rows.
//!
//! Storage conventions follow ARCHITECTURE.md: money is `Decimal` text (never REAL, which
//! would round fen away), instants are RFC 3339 UTC text, calendar dates are `YYYY-MM-DD` in
//! the policy's business time zone, and vocabulary values are their stable `as_str` codes.
//! Money text does not sort or sum numerically; exact totals belong in Rust with `Decimal`.

use chrono::{DateTime, SecondsFormat, Utc};
use kam_core::Policy;
use kam_core::doc::{
    ChangeHash, DocId, DocKind, Document, read_customer, read_event, read_project, read_ticket,
    read_units,
};
use kam_core::model::{Customer, Project, SelectionEvent, ServiceTicket, Unit, UnitId, UserId};
use kam_core::rules::{self, SlaState};
use rusqlite::{Connection, params};
use rust_decimal::Decimal;

use crate::error::ServerError;

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

/// Replaces every row derived from `doc` with rows for its current state, at `now`.
///
/// `doc` is `&mut` only because asking Automerge for its heads (is it empty?) needs it. A
/// document whose creation change has not arrived yet has no rows; any other unreadable
/// document is an error, because silently dropping it would hide it from headquarters.
/// All writes happen inside one savepoint, so a failure leaves the previous rows intact.
pub(crate) fn project(
    conn: &Connection,
    doc: &mut Document,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<(), ServerError> {
    let empty = doc.is_empty();
    let doc: &Document = doc;
    atomically(conn, || {
        delete_rows(conn, doc.id())?;
        if empty {
            return Ok(());
        }
        match doc.id().kind() {
            DocKind::Customer => insert_customer(conn, &read_customer(doc)?, policy, now)?,
            DocKind::Ticket => insert_ticket(conn, &read_ticket(doc)?, policy, now)?,
            DocKind::Project => insert_units(conn, &read_project(doc)?)?,
            DocKind::Event => insert_event(conn, &read_event(doc)?)?,
        }
        Ok(())
    })
}

/// Re-projects only the units that changed since the document's heads were `since` (its
/// state at its last projection), when only units changed. Returns `false` when the whole
/// document must be projected instead. A desk burst changes a few units of a 3,000-unit
/// project at a time; reading the whole project back for each would cost more than the burst.
pub(crate) fn project_units_since(
    conn: &Connection,
    doc: &mut Document,
    since: &[ChangeHash],
) -> Result<bool, ServerError> {
    if doc.id().kind() != DocKind::Project {
        return Ok(false);
    }
    let Some(touched) = doc.entries_touched_since(since, "units") else { return Ok(false) };
    let ids: Vec<UnitId> = touched.into_iter().map(UnitId).collect();
    let project_id = doc.id().entity().to_owned();
    let doc: &Document = doc;
    atomically(conn, || {
        for (id, unit) in read_units(doc, &ids)? {
            conn.prepare_cached("DELETE FROM units WHERE project_id = ?1 AND unit_id = ?2")?
                .execute([project_id.as_str(), id.as_str()])?;
            if let Some(unit) = unit {
                insert_unit(conn, &project_id, &unit)?;
            }
        }
        Ok(())
    })?;
    Ok(true)
}

/// Runs `work` inside a savepoint. A savepoint nests in the caller's transaction when there is
/// one and is its own transaction when there is not, so either way no half-replaced entity is
/// ever visible.
fn atomically(
    conn: &Connection,
    work: impl FnOnce() -> Result<(), ServerError>,
) -> Result<(), ServerError> {
    conn.execute_batch("SAVEPOINT kam_projection")?;
    match work() {
        Ok(()) => Ok(conn.execute_batch("RELEASE kam_projection")?),
        Err(error) => {
            // The original error is the one worth reporting; a failed rollback here would only
            // mean the connection itself is gone, which the caller learns on its next call.
            let _ = conn.execute_batch("ROLLBACK TO kam_projection; RELEASE kam_projection");
            Err(error)
        }
    }
}

/// The tables projected from one document kind, and the column that names the entity in
/// each. Deleting an entity and clearing every projection both read this one list.
fn projected_tables(kind: DocKind) -> (&'static str, &'static [&'static str]) {
    match kind {
        DocKind::Customer => (
            "customer_id",
            &[
                "customers",
                "customer_owners",
                "contacts",
                "visits",
                "customer_sales_years",
                "customer_late_payments",
            ],
        ),
        DocKind::Ticket => ("ticket_id", &["tickets"]),
        DocKind::Project => ("project_id", &["units"]),
        DocKind::Event => ("event_id", &["events"]),
    }
}

/// Deletes every projected row, before the projections are derived again from the documents.
pub(crate) fn clear_all(conn: &Connection) -> Result<(), rusqlite::Error> {
    for kind in DocKind::ALL {
        for table in projected_tables(*kind).1 {
            conn.execute(&format!("DELETE FROM {table}"), [])?;
        }
    }
    Ok(())
}

/// Deletes the rows of one entity; child rows go too, so removed contacts or units vanish.
fn delete_rows(conn: &Connection, doc_id: &DocId) -> Result<(), rusqlite::Error> {
    let (key, tables) = projected_tables(doc_id.kind());
    for table in tables {
        conn.prepare_cached(&format!("DELETE FROM {table} WHERE {key} = ?1"))?
            .execute([doc_id.entity()])?;
    }
    Ok(())
}

/// The customer row and its owners, contacts and visits.
fn insert_customer(
    conn: &Connection,
    c: &Customer,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<(), rusqlite::Error> {
    insert_customer_row(conn, c, policy, now)?;
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
    insert_visits(conn, c)?;
    insert_late_payments(conn, c)
}

/// The customer's late-payment records, which the quarterly analysis counts per quarter.
fn insert_late_payments(conn: &Connection, c: &Customer) -> Result<(), rusqlite::Error> {
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

/// The customer's own row. Visit cadence is computed with the same pure rules the tablets
/// use, so headquarters and the rep see the same due dates.
fn insert_customer_row(
    conn: &Connection,
    c: &Customer,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<(), rusqlite::Error> {
    let due = rules::visits_due(c, policy);
    let today = policy.business_date(now);
    let next_visit_due = due.iter().map(|d| d.next_due_on).min().map(|d| d.to_string());
    let overdue_visits = due.iter().filter(|d| rules::is_overdue(d, today)).count();
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
        next_visit_due,
        overdue_visits,
        instant(now),
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

/// The customer's visit records; topics as a JSON array so SQL can search them (`json_each`).
fn insert_visits(conn: &Connection, c: &Customer) -> Result<(), rusqlite::Error> {
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

/// The ticket row, with its reply SLA as the shared rule judges it at `now`.
fn insert_ticket(
    conn: &Connection,
    t: &ServiceTicket,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<(), rusqlite::Error> {
    let first_reply_at = t.first_reply_at();
    let sla = rules::reply_sla(t.opened_at, first_reply_at, now, policy);
    conn.prepare_cached(
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
        first_reply_at.map(instant),
        instant(rules::reply_due_at(t.opened_at, policy)),
        sla_code(&sla),
        t.replies.len(),
        t.follow_up.as_ref().map(|f| f.satisfaction),
        instant(now),
    ])?;
    Ok(())
}

/// The stable code of an SLA state; `SlaState` carries durations, so it has no `as_str`.
fn sla_code(state: &SlaState) -> &'static str {
    match state {
        SlaState::Met { .. } => "met",
        SlaState::Breached { .. } => "breached",
        SlaState::Pending { .. } => "pending",
        SlaState::DueSoon { .. } => "due_soon",
        SlaState::Overdue { .. } => "overdue",
    }
}

/// One row per unit: the control table (销控表) headquarters reads.
fn insert_units(conn: &Connection, p: &Project) -> Result<(), ServerError> {
    for u in p.units.values() {
        insert_unit(conn, p.id.as_str(), u)?;
    }
    Ok(())
}

/// The row of one unit. A total price beyond `Decimal` (only a price or area outside its
/// documented range can get there) is an error for this document, never a panic.
fn insert_unit(conn: &Connection, project_id: &str, u: &Unit) -> Result<(), ServerError> {
    let total_price = u.total_price()?;
    conn.prepare_cached(
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

/// The approvers as a JSON array, or NULL when the price is not approved.
fn approvers_json(unit: &Unit) -> Option<String> {
    unit.approval.as_ref().map(|a| {
        let list: serde_json::Value = a.approvers.iter().map(UserId::as_str).collect();
        list.to_string()
    })
}

/// The event row. Buyers are counted, not listed: the list holds personal data that
/// headquarters' reports do not need.
fn insert_event(conn: &Connection, e: &SelectionEvent) -> Result<(), rusqlite::Error> {
    conn.prepare_cached(
        "INSERT INTO events(event_id, project_id, name, starts_at, mode, allotted_units, buyers)
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

/// Money as text with at least two places (`"1500000.00"`), the way RULES.md §1 writes CNY;
/// documents store the normalised form (`"1500000"`). Never rounds: more places are kept.
fn money(amount: Decimal) -> String {
    let mut padded = amount;
    if padded.scale() < 2 {
        padded.rescale(2);
    }
    padded.to_string()
}

/// Instants as fixed-width RFC 3339 UTC text, so they sort and compare correctly as text.
fn instant(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)]
mod tests {
    use super::*;

    /// Deletes every row derived from a document, as a purge would.
    fn remove(conn: &Connection, doc_id: &DocId) -> Result<(), ServerError> {
        atomically(conn, || Ok(delete_rows(conn, doc_id)?))
    }
    use chrono::{Duration, NaiveDate, TimeZone};
    use kam_core::demo::{self, DemoSpec};
    use kam_core::doc::DocError;
    use kam_core::doc::{
        ActorId, CustomerEdit, EditMeta, ProjectEdit, create_customer, create_event,
        create_project, create_ticket, edit_customer, edit_project,
    };
    use kam_core::model::{
        BuildingId, LatePayment, LatePaymentId, PriceApproval, ProjectId, TicketStatus, UnitId,
        UnitStatus,
    };

    /// The fixed "now" of every fixture.
    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 1, 0, 0).unwrap()
    }

    /// Commit metadata for fixture edits.
    fn meta() -> EditMeta {
        EditMeta::new(&UserId::from("hq"), now(), "test")
    }

    /// An in-memory database at the current schema, which holds the projection tables.
    fn db() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::schema::migrate(&mut conn).unwrap();
        conn
    }

    /// A small seeded demo company.
    fn data() -> demo::DemoData {
        let spec =
            DemoSpec { customers: 4, tickets: 4, units: 10, buyers: 3, ..DemoSpec::standard(2) };
        demo::generate(&spec, now(), &Policy::default())
    }

    /// A strategic customer not visited for over a year: every cadence level is overdue.
    fn customer(data: &demo::DemoData) -> Customer {
        let mut c = data.customers[0].clone();
        c.created_at = now() - Duration::days(800);
        c.classification.strategic = true;
        c.visits.values_mut().for_each(|v| v.date -= Duration::days(400));
        c.credit.credit_limit = Decimal::new(150_000_000, 2);
        c.owners = vec![UserId::from("rep-01"), UserId::from("rep-02")];
        c
    }

    /// One priced and approved unit (123.45 m² at 18,500 per m²) and one unpriced.
    fn project_fixture() -> Project {
        let unit = |id: &str, priced: bool| Unit {
            id: UnitId::from(id),
            code: format!("1-{id}"),
            building_id: BuildingId::from("b1"),
            floor: 3,
            layout: "3室2厅2卫".into(),
            area_m2: Decimal::new(12_345, 2),
            unit_price: priced.then(|| Decimal::from(18_500)),
            approval: priced.then(|| PriceApproval {
                approvers: vec![UserId::from("gm"), UserId::from("chairman")],
                approved_at: now(),
            }),
            status: UnitStatus::Available,
        };
        let units = [unit("u1", true), unit("u2", false)];
        Project {
            id: ProjectId::from("p1"),
            name: "滨江花园".into(),
            buildings: Default::default(),
            units: units.into_iter().map(|u| (u.id.clone(), u)).collect(),
        }
    }

    /// The single text cell `sql` selects.
    fn text(conn: &Connection, sql: &str) -> Option<String> {
        conn.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    /// The single integer cell `sql` selects.
    fn count(conn: &Connection, sql: &str) -> i64 {
        conn.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn customer_rows_follow_the_document() {
        let (conn, data, policy) = (db(), data(), Policy::default());
        let c = customer(&data);
        let mut doc = create_customer(&c, ActorId::random(), &meta()).unwrap();
        project(&conn, &mut doc, &policy, now()).unwrap();
        let limit = text(&conn, "SELECT credit_limit FROM customers");
        assert_eq!(limit.as_deref(), Some("1500000.00"));
        assert_eq!(count(&conn, "SELECT strategic FROM customers"), 1);
        assert_eq!(count(&conn, "SELECT overdue_visits FROM customers"), 4, "4 levels overdue");
        let owners = text(&conn, "SELECT group_concat(owner_id, ',') FROM customer_owners");
        assert_eq!(owners.as_deref(), Some("rep-01,rep-02"));
        let contacts = i64::try_from(c.contacts.len()).unwrap();
        assert!(contacts >= 2, "the fixture needs a contact to remove");
        assert_eq!(count(&conn, "SELECT count(*) FROM contacts"), contacts);
        let topics: usize = c.visits.values().map(|v| v.topics.len()).sum();
        let sql = "SELECT count(*) FROM visits, json_each(visits.topics)";
        assert_eq!(count(&conn, sql), i64::try_from(topics).unwrap(), "topics are JSON arrays");

        let gone = c.contacts.keys().next().unwrap().clone();
        edit_customer(&mut doc, &CustomerEdit::RemoveContact(gone.clone()), &meta()).unwrap();
        project(&conn, &mut doc, &policy, now()).unwrap();
        assert_eq!(count(&conn, "SELECT count(*) FROM contacts"), contacts - 1);
        let sql = format!("SELECT count(*) FROM contacts WHERE contact_id = '{gone}'");
        assert_eq!(count(&conn, &sql), 0, "the removed contact's row is gone");
        assert_eq!(count(&conn, "SELECT count(*) FROM customers"), 1, "still one customer row");

        let late = LatePayment {
            id: LatePaymentId::new(),
            reference: "INV-2026-031".into(),
            due_on: NaiveDate::from_ymd_opt(2026, 3, 31).unwrap(),
            paid_on: None,
        };
        edit_customer(&mut doc, &CustomerEdit::UpsertLatePayment(late.clone()), &meta()).unwrap();
        project(&conn, &mut doc, &policy, now()).unwrap();
        let sql = "SELECT reference || ' ' || due_on || ' ' || coalesce(paid_on, 'unpaid')
                   FROM customer_late_payments";
        assert_eq!(text(&conn, sql).as_deref(), Some("INV-2026-031 2026-03-31 unpaid"));
        let paid = LatePayment { paid_on: NaiveDate::from_ymd_opt(2026, 4, 2), ..late };
        edit_customer(&mut doc, &CustomerEdit::UpsertLatePayment(paid), &meta()).unwrap();
        project(&conn, &mut doc, &policy, now()).unwrap();
        assert_eq!(text(&conn, sql).as_deref(), Some("INV-2026-031 2026-03-31 2026-04-02"));

        remove(&conn, doc.id()).unwrap();
        for table in
            ["customers", "customer_owners", "contacts", "visits", "customer_late_payments"]
        {
            assert_eq!(count(&conn, &format!("SELECT count(*) FROM {table}")), 0, "{table}");
        }
    }

    #[test]
    fn ticket_sla_state_crosses_the_24_hour_boundary() {
        let (conn, data, policy) = (db(), data(), Policy::default());
        let opened = now();
        let mut t = data.tickets[0].clone();
        (t.opened_at, t.status, t.follow_up) = (opened, TicketStatus::New, None);
        t.replies.clear();
        t.history.clear();
        let mut doc = create_ticket(&t, ActorId::random(), &meta()).unwrap();
        let state = |conn: &Connection| text(conn, "SELECT sla_state FROM tickets");

        project(&conn, &mut doc, &policy, opened + Duration::hours(23)).unwrap();
        assert_eq!(state(&conn).as_deref(), Some("due_soon"));
        let due = text(&conn, "SELECT reply_due_at FROM tickets");
        assert_eq!(due.as_deref(), Some("2026-11-24T01:00:00Z"));
        assert_eq!(text(&conn, "SELECT first_reply_at FROM tickets"), None);

        project(&conn, &mut doc, &policy, opened + Duration::hours(25)).unwrap();
        assert_eq!(state(&conn).as_deref(), Some("overdue"));
        assert_eq!(count(&conn, "SELECT count(*) FROM tickets"), 1, "replaced, not added");
        assert_eq!(text(&conn, "SELECT status FROM tickets").as_deref(), Some("new"));

        remove(&conn, doc.id()).unwrap();
        assert_eq!(count(&conn, "SELECT count(*) FROM tickets"), 0);
    }

    #[test]
    fn unit_total_is_price_times_area_and_null_when_unpriced() {
        let conn = db();
        let mut doc = create_project(&project_fixture(), ActorId::random(), &meta()).unwrap();
        project(&conn, &mut doc, &Policy::default(), now()).unwrap();
        let row = |id: &str| {
            let sql = format!(
                "SELECT quote(unit_price) || ' ' || quote(total_price) || ' ' || approved || ' '
                     || quote(approvers) || ' ' || status FROM units WHERE unit_id = '{id}'"
            );
            text(&conn, &sql).unwrap()
        };
        // 18500 × 123.45 = 2283825.00; an unpriced unit has no total rather than zero.
        assert_eq!(row("u1"), r#"'18500.00' '2283825.00' 1 '["gm","chairman"]' available"#);
        assert_eq!(row("u2"), "NULL NULL 0 NULL available");
        assert_eq!(money(Decimal::new(123_456, 3)), "123.456", "padding never rounds");

        remove(&conn, doc.id()).unwrap();
        assert_eq!(count(&conn, "SELECT count(*) FROM units"), 0);
    }

    #[test]
    fn a_desk_burst_reprojects_only_the_units_it_touched() {
        let conn = db();
        let mut doc = create_project(&project_fixture(), ActorId::random(), &meta()).unwrap();
        project(&conn, &mut doc, &Policy::default(), now()).unwrap();
        let since = doc.heads();
        let held = vec![(UnitId::from("u1"), UnitStatus::Held)];
        edit_project(&mut doc, &ProjectEdit::MirrorUnitStatuses(held), &meta()).unwrap();
        assert!(project_units_since(&conn, &mut doc, &since).unwrap());
        let status =
            |id: &str| text(&conn, &format!("SELECT status FROM units WHERE unit_id = '{id}'"));
        assert_eq!(status("u1").as_deref(), Some("held"));
        assert_eq!(status("u2").as_deref(), Some("available"));
        assert_eq!(count(&conn, "SELECT count(*) FROM units"), 2);
        let total = text(&conn, "SELECT total_price FROM units WHERE unit_id = 'u1'");
        assert_eq!(total.as_deref(), Some("2283825.00"), "the re-read row is whole");

        let since = doc.heads();
        let renamed = ProjectEdit::UpsertBuilding(kam_core::model::Building {
            id: BuildingId::from("b2"),
            name: "2号楼".into(),
            floors: 9,
        });
        edit_project(&mut doc, &renamed, &meta()).unwrap();
        assert!(
            !project_units_since(&conn, &mut doc, &since).unwrap(),
            "not only units: project all"
        );
    }

    #[test]
    fn events_count_units_and_buyers() {
        let (conn, data) = (db(), data());
        let mut doc = create_event(&data.event, ActorId::random(), &meta()).unwrap();
        project(&conn, &mut doc, &Policy::default(), now()).unwrap();
        let buyers = i64::try_from(data.event.buyers.len()).unwrap();
        assert_eq!(count(&conn, "SELECT buyers FROM events"), buyers);
        let units = i64::try_from(data.event.allotted_units.len()).unwrap();
        assert_eq!(count(&conn, "SELECT allotted_units FROM events"), units);
        remove(&conn, doc.id()).unwrap();
        assert_eq!(count(&conn, "SELECT count(*) FROM events"), 0);
    }

    #[test]
    fn a_failed_projection_leaves_the_previous_rows() {
        let (conn, data) = (db(), data());
        let c = &data.customers[1];
        let mut doc = create_customer(c, ActorId::random(), &meta()).unwrap();
        project(&conn, &mut doc, &Policy::default(), now()).unwrap();
        let contacts = count(&conn, "SELECT count(*) FROM contacts");
        // The customer's rows are deleted before visits, so this fails half way through.
        conn.execute_batch("DROP TABLE visits").unwrap();
        let result = project(&conn, &mut doc, &Policy::default(), now());
        assert!(matches!(result, Err(ServerError::Sql(_))), "{result:?}");
        assert_eq!(count(&conn, "SELECT count(*) FROM customers"), 1);
        assert_eq!(count(&conn, "SELECT count(*) FROM contacts"), contacts);
        assert!(conn.is_autocommit(), "no savepoint is left open");
    }

    #[test]
    fn empty_documents_are_skipped_and_unreadable_ones_refused() {
        let (conn, data) = (db(), data());
        let id = DocId::new(DocKind::Customer, "c-empty");
        let mut empty = Document::empty(id, ActorId::random());
        project(&conn, &mut empty, &Policy::default(), now()).unwrap();
        assert_eq!(count(&conn, "SELECT count(*) FROM customers"), 0);

        // A ticket's bytes under a customer id: not empty, so the read error must surface.
        let mut ticket = create_ticket(&data.tickets[0], ActorId::random(), &meta()).unwrap();
        let bytes = ticket.save();
        let id = DocId::new(DocKind::Customer, "c-wrong");
        let mut wrong = Document::load(id, &bytes, ActorId::random()).unwrap();
        let result = project(&conn, &mut wrong, &Policy::default(), now());
        assert!(matches!(result, Err(ServerError::Doc(DocError::WrongKind { .. }))), "{result:?}");
    }
}

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

use chrono::{DateTime, Utc};
use kam_core::Policy;
use kam_core::doc::read_record;
use kam_core::doc::{
    ChangeHash, DocKind, Document, read_customer, read_event, read_project, read_ticket, read_units,
};
use kam_core::model::{
    AccountPlan, Customer, Lead, LeadStage, Project, ServiceTicket, Survey, UnitId,
};
use kam_core::rules::{self, PlanStatus, SlaState};

use crate::db::pipeline::LeadFacts;
use crate::db::projections::{CustomerFacts, ProjectionStore, Savepoints, TicketFacts};
use crate::db::{AccountWorkStore, ManagementProjection};
use crate::error::ServerError;

/// What projecting asks of storage: the tables and savepoints.
pub(crate) trait ProjectionDb:
    ProjectionStore + Savepoints + AccountWorkStore + ManagementProjection
{
}

impl<T: ProjectionStore + Savepoints + AccountWorkStore + ManagementProjection + ?Sized>
    ProjectionDb for T
{
}

/// Replaces every row derived from `doc` with rows for its current state, at `now`.
///
/// `doc` is `&mut` only because asking Automerge for its heads (is it empty?) needs it. A
/// document whose creation change has not arrived yet has no rows; any other unreadable
/// document is an error, because silently dropping it would hide it from headquarters.
/// All writes happen inside one savepoint, so a failure leaves the previous rows intact.
pub(crate) fn project(
    db: &(impl ProjectionDb + ?Sized),
    doc: &mut Document,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<(), ServerError> {
    let empty = doc.is_empty();
    let doc: &Document = doc;
    atomically(db, || {
        db.delete_projected(doc.id())?;
        if empty {
            return Ok(());
        }
        match doc.id().kind() {
            DocKind::Customer => {
                let customer = read_customer(doc)?;
                db.insert_customer(&customer, &customer_facts(&customer, policy, now))?;
            }
            DocKind::Ticket => {
                let ticket = read_ticket(doc)?;
                db.insert_ticket(&ticket, &ticket_facts(&ticket, policy, now))?;
            }
            DocKind::Project => insert_units(db, &read_project(doc)?)?,
            DocKind::Event => db.insert_event(&read_event(doc)?)?,
            DocKind::Lead => {
                let lead: Lead = read_record(doc)?;
                db.insert_lead(&lead, &lead_facts(&lead, policy))?;
            }
            DocKind::Plan => {
                let plan: AccountPlan = read_record(doc)?;
                db.insert_plan(&plan, plan_status_code(rules::plan_status(&plan)))?;
            }
            DocKind::Survey => {
                let survey: Survey = read_record(doc)?;
                db.insert_survey(&survey, survey_score(&survey)?)?;
            }
            DocKind::Scorecard | DocKind::Review | DocKind::Organisation => {
                crate::sync::projection_management::project_management(db, doc, policy, now)?
            }
        }
        Ok(())
    })
}

/// Re-projects only the units that changed since the document's heads were `since` (its
/// state at its last projection), when only units changed. Returns `false` when the whole
/// document must be projected instead. A desk burst changes a few units of a 3,000-unit
/// project at a time; reading the whole project back for each would cost more than the burst.
pub(crate) fn project_units_since(
    db: &(impl ProjectionDb + ?Sized),
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
    atomically(db, || {
        for (id, unit) in read_units(doc, &ids)? {
            db.delete_unit(&project_id, id.as_str())?;
            if let Some(unit) = unit {
                db.insert_unit(&project_id, &unit, unit.total_price()?)?;
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
    db: &(impl ProjectionDb + ?Sized),
    work: impl FnOnce() -> Result<(), ServerError>,
) -> Result<(), ServerError> {
    db.savepoint("kam_projection")?;
    match work() {
        Ok(()) => Ok(db.release_savepoint("kam_projection")?),
        Err(error) => {
            // The original error is the one worth reporting; a failed rollback here would only
            // mean the connection itself is gone, which the caller learns on its next call.
            let _ = db.undo_savepoint("kam_projection");
            Err(error)
        }
    }
}

/// Deletes every projected row, before the projections are derived again from the documents.
pub(crate) fn clear_all(db: &dyn ProjectionStore) -> Result<(), ServerError> {
    Ok(db.clear_projections()?)
}

/// Visit cadence from the same pure rules the tablets use, so headquarters and the rep see
/// the same due dates.
fn customer_facts(c: &Customer, policy: &Policy, now: DateTime<Utc>) -> CustomerFacts {
    let due = rules::visits_due(c, policy);
    let today = policy.business_date(now);
    CustomerFacts {
        next_visit_due: due.iter().map(|d| d.next_due_on).min(),
        overdue_visits: due.iter().filter(|d| rules::is_overdue(d, today)).count(),
        projected_at: now,
    }
}

/// The reply SLA as the shared rule judges it at `now`.
fn ticket_facts(t: &ServiceTicket, policy: &Policy, now: DateTime<Utc>) -> TicketFacts {
    let sla = rules::reply_sla(t.opened_at, t.first_reply_at(), now, policy);
    TicketFacts {
        reply_due_at: rules::reply_due_at(t.opened_at, policy),
        sla_code: sla_code(&sla),
        projected_at: now,
    }
}

/// Whether a lead is a key-account candidate, and when its stage began and, if closed, ended:
/// the latest stage change (by time) into the current stage, else its identification.
fn lead_facts(lead: &Lead, policy: &Policy) -> LeadFacts {
    let last = lead.history.values().filter(|c| c.to == lead.stage).max_by_key(|c| c.at);
    let stage_changed_at = last.map_or(lead.identified_at, |c| c.at);
    LeadFacts {
        candidate: rules::key_account_candidate(&lead.criteria, policy).is_candidate(),
        stage_changed_at,
        closed_at: lead.stage.is_closed().then_some(stage_changed_at),
        lost_reason: if lead.stage == LeadStage::Lost {
            last.and_then(|c| c.lost_reason.clone())
        } else {
            None
        },
    }
}

/// The stable code of a plan's status.
pub(crate) fn plan_status_code(status: PlanStatus) -> &'static str {
    match status {
        PlanStatus::Draft => "draft",
        PlanStatus::Approved => "approved",
        PlanStatus::RevisedSinceApproval => "revised_since_approval",
    }
}

/// A survey's score by the shared rule. One the rule cannot score (no items, an item above
/// 100 — the tablet refuses both) is this document's fault: it is set aside for review
/// (ADR 0013) rather than shown with a made-up score.
fn survey_score(survey: &Survey) -> Result<u8, ServerError> {
    rules::survey_score(&survey.items)
        .map_err(|e| ServerError::Invalid { field: "items", reason: e.to_string() })
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

/// One row per unit: the control table (销控表) headquarters reads. A total price beyond
/// `Decimal` (only a price or area outside its documented range can get there) is an error
/// for this document, never a panic.
fn insert_units(db: &(impl ProjectionDb + ?Sized), p: &Project) -> Result<(), ServerError> {
    for u in p.units.values() {
        db.insert_unit(p.id.as_str(), u, u.total_price()?)?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)]
mod tests {
    use super::*;

    use kam_core::doc::DocId;
    use kam_core::model::UserId;
    use rusqlite::Connection;
    use rust_decimal::Decimal;

    /// Deletes every row derived from a document, as a purge would.
    fn remove(conn: &Connection, doc_id: &DocId) -> Result<(), ServerError> {
        atomically(conn, || Ok(conn.delete_projected(doc_id)?))
    }
    use chrono::{Duration, NaiveDate, TimeZone};
    use kam_core::demo::{self, DemoSpec};
    use kam_core::doc::DocError;
    use kam_core::doc::{
        ActorId, CustomerEdit, EditMeta, ProjectEdit, create_customer, create_event,
        create_project, create_ticket, edit_customer, edit_project,
    };
    use kam_core::model::{
        BuildingId, LatePayment, LatePaymentId, TicketStatus, UnitId, UnitStatus,
    };
    use kam_core::test_support::units::two_unit_project;

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
        crate::db::sqlite::schema::migrate(&mut conn).unwrap();
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
        let mut doc = create_project(&two_unit_project(), ActorId::random(), &meta()).unwrap();
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

        remove(&conn, doc.id()).unwrap();
        assert_eq!(count(&conn, "SELECT count(*) FROM units"), 0);
    }

    #[test]
    fn a_desk_burst_reprojects_only_the_units_it_touched() {
        let conn = db();
        let mut doc = create_project(&two_unit_project(), ActorId::random(), &meta()).unwrap();
        project(&conn, &mut doc, &Policy::default(), now()).unwrap();
        let since = doc.heads();
        let held = vec![(UnitId::from("u1"), UnitStatus::Held, None)];
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
        assert!(
            matches!(result, Err(ServerError::Storage(crate::db::DbError::Sqlite(_)))),
            "{result:?}"
        );
        assert_eq!(count(&conn, "SELECT count(*) FROM customers"), 1);
        assert_eq!(count(&conn, "SELECT count(*) FROM contacts"), contacts);
        assert!(conn.is_autocommit(), "no savepoint is left open");
    }

    #[test]
    fn leads_plans_and_surveys_carry_what_the_rules_compute() {
        use kam_core::doc::create_record;
        use kam_core::model::{
            AccountPlan, CustomerId, LeadCriteria, LeadId, PlanApproval, PlanId, SurveyId,
            SurveyItem, SurveyKind,
        };
        use std::collections::BTreeMap;

        let conn = db();
        let policy = Policy::default();
        let big = policy.pipeline.candidate_min_annual_purchase + Decimal::ONE;
        let lead = Lead {
            id: LeadId::from("l-1"),
            customer_id: CustomerId::from("c-1"),
            title: "new line".into(),
            identified_by: UserId::from("rep-01"),
            identified_at: now(),
            owner: UserId::from("rep-01"),
            criteria: LeadCriteria { expected_annual_purchase: Some(big), ..Default::default() },
            expected_value: Decimal::new(1_000, 0),
            stage: LeadStage::FirstContact,
            history: BTreeMap::new(),
        };
        let mut doc = create_record(&lead, ActorId::random(), &meta()).unwrap();
        project(&conn, &mut doc, &policy, now()).unwrap();
        assert_eq!(count(&conn, "SELECT candidate FROM leads"), 1, "above the purchase limit");
        let since = text(&conn, "SELECT stage_changed_at FROM leads");
        assert_eq!(since.as_deref(), Some("2026-11-23T01:00:00Z"), "no change: identified");

        let plan = AccountPlan {
            id: PlanId::from("c-1-2026"),
            customer_id: CustomerId::from("c-1"),
            year: 2026,
            year_goals: Default::default(),
            quarter_goals: BTreeMap::new(),
            owners: BTreeMap::new(),
            sales_strategy: String::new(),
            service_plan: String::new(),
            revision: 3,
            approval: Some(PlanApproval { by: UserId::from("hq"), at: now(), revision: 2 }),
            evaluations: BTreeMap::new(),
        };
        let mut doc = create_record(&plan, ActorId::random(), &meta()).unwrap();
        project(&conn, &mut doc, &policy, now()).unwrap();
        let status = text(&conn, "SELECT status FROM plans");
        assert_eq!(status.as_deref(), Some("revised_since_approval"));

        let mut survey = Survey {
            id: SurveyId::from("s-1"),
            customer_id: CustomerId::from("c-1"),
            kind: SurveyKind::Periodic,
            ticket_id: None,
            taken_at: now(),
            taken_by: UserId::from("rep-01"),
            respondent: "Li".into(),
            items: BTreeMap::from([(SurveyItem::Product, 84), (SurveyItem::Service, 85)]),
            comments: String::new(),
        };
        let mut doc = create_record(&survey, ActorId::random(), &meta()).unwrap();
        project(&conn, &mut doc, &policy, now()).unwrap();
        assert_eq!(count(&conn, "SELECT score FROM surveys"), 85, "84.5 rounds half up");
        survey.id = SurveyId::from("s-2");
        survey.items.clear();
        let mut doc = create_record(&survey, ActorId::random(), &meta()).unwrap();
        let result = project(&conn, &mut doc, &policy, now());
        assert!(matches!(result, Err(ServerError::Invalid { field: "items", .. })), "{result:?}");
        assert_eq!(
            count(&conn, "SELECT count(*) FROM surveys"),
            1,
            "the unscorable one is refused"
        );
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

//! Who sees the account-management records: a rep their customers' leads, plans and surveys
//! and their own scorecards; nobody but the back office another person's scorecard, a
//! leadership review or a commissioning organisation.

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use kam_core::doc::{ActorId, Document, EditMeta, Record, create_record};
use kam_core::model::{
    AccountPlan, CustomerId, Lead, LeadCriteria, LeadId, LeadStage, LeadershipReview, Organisation,
    OrganisationId, OrganisationStatus, ProjectId, ReviewId, Scorecard, Survey, SurveyId,
    SurveyKind, UserId, plan_id, scorecard_id,
};
use kam_core::replica::store::{CompactionPolicy, StoredDoc};
use rusqlite::Connection;
use rust_decimal::Decimal;

use super::{can_see, grant, may_create, news_since, scope_key_of};
use crate::auth::{Principal, Role};
use crate::db::sqlite::schema;
use crate::db::{AccountStore, DocumentStore};

fn at() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 1, 0, 0).unwrap()
}

/// A fresh server database with the people of these tests.
fn db() -> Connection {
    let mut conn = Connection::open_in_memory().unwrap();
    schema::prepare(&conn).unwrap();
    schema::migrate(&mut conn).unwrap();
    for (user, role) in [
        ("rep-01", Role::Rep),
        ("rep-02", Role::Rep),
        ("staff-01", Role::EventStaff),
        ("fin-01", Role::Finance),
    ] {
        conn.insert_user(user, user, role, at()).unwrap();
    }
    conn
}

fn who(user: &str, role: Role) -> Principal {
    Principal { device_id: format!("dev-{user}"), user_id: user.to_owned(), role }
}

/// Stores `record` as a new document under the scope key its content gives; returns its id.
fn store<R: Record>(db: &Connection, record: &R) -> String {
    let meta = EditMeta::new(&UserId::from("hq-01"), at(), "record.create");
    let doc: Document = create_record(record, ActorId::random(), &meta).unwrap();
    let id = doc.id().clone();
    let key = scope_key_of(&doc).unwrap();
    let mut stored = StoredDoc::new_unsaved(doc);
    let outcome = db.write_document(&mut stored, CompactionPolicy { max_chunks: 64 }).unwrap();
    outcome.expect("a new document is written").apply(&mut stored);
    let seq = db.next_seq().unwrap();
    db.set_document_position(&id, seq, &key, &stored.doc.heads()).unwrap();
    id.to_string()
}

fn customer(n: u8) -> CustomerId {
    CustomerId(format!("cust-{n}"))
}

fn lead(customer: CustomerId) -> Lead {
    Lead {
        id: LeadId::new(),
        customer_id: customer,
        title: "扩产".into(),
        identified_by: UserId::from("rep-01"),
        identified_at: at(),
        owner: UserId::from("rep-01"),
        criteria: LeadCriteria::default(),
        expected_value: Decimal::from(1000),
        stage: LeadStage::MarketResearch,
        history: BTreeMap::new(),
    }
}

fn plan(customer: CustomerId) -> AccountPlan {
    AccountPlan {
        id: plan_id(&customer, 2026),
        customer_id: customer,
        year: 2026,
        year_goals: Default::default(),
        quarter_goals: BTreeMap::new(),
        owners: BTreeMap::new(),
        sales_strategy: String::new(),
        service_plan: String::new(),
        revision: 1,
        approval: None,
        evaluations: BTreeMap::new(),
    }
}

fn survey(customer: CustomerId) -> Survey {
    Survey {
        id: SurveyId::new(),
        customer_id: customer,
        kind: SurveyKind::Periodic,
        ticket_id: None,
        taken_at: at(),
        taken_by: UserId::from("rep-01"),
        respondent: "王经理".into(),
        items: BTreeMap::new(),
        comments: String::new(),
    }
}

fn scorecard(person: &str) -> Scorecard {
    let person = UserId::from(person);
    Scorecard {
        id: scorecard_id(&person, "2026-11"),
        person,
        period: "2026-11".into(),
        sales_target: Decimal::from(1000),
        ratings: BTreeMap::new(),
        published: None,
    }
}

fn review() -> LeadershipReview {
    LeadershipReview {
        id: ReviewId("2026-11".into()),
        held_on: at().date_naive(),
        attendees: BTreeMap::new(),
        findings: BTreeMap::new(),
        measures: BTreeMap::new(),
    }
}

fn organisation() -> Organisation {
    Organisation {
        id: OrganisationId("org-1".into()),
        project_id: ProjectId("proj-1".into()),
        name: "市教育局".into(),
        analysis: Default::default(),
        offer: Default::default(),
        status: OrganisationStatus::Candidate,
        approved_by_gm: None,
        approved_by_chairman: None,
        price: None,
        agreement: Default::default(),
        instalments: BTreeMap::new(),
        collections: BTreeMap::new(),
        reconciliations: BTreeMap::new(),
        reminders: BTreeMap::new(),
        loan_switches: BTreeMap::new(),
    }
}

/// What `who`'s round after `cursor` sends, by document id.
fn news(db: &Connection, who: &Principal, cursor: i64) -> Vec<String> {
    news_since(db, who, cursor).unwrap().into_iter().map(|n| n.doc_id).collect()
}

/// The scope key of `record`'s document.
fn key_of<R: Record>(record: &R) -> String {
    let meta = EditMeta::new(&UserId::from("hq-01"), at(), "record.create");
    scope_key_of(&create_record(record, ActorId::random(), &meta).unwrap()).unwrap()
}

#[test]
fn records_take_the_scope_of_their_customer_or_person() {
    assert_eq!(key_of(&lead(customer(1))), "customer/cust-1");
    assert_eq!(key_of(&plan(customer(2))), "customer/cust-2");
    assert_eq!(key_of(&survey(customer(3))), "customer/cust-3");
    assert_eq!(key_of(&scorecard("rep-01")), "staff/rep-01");
    assert_eq!(key_of(&review()), "review/2026-11");
    assert_eq!(key_of(&organisation()), "organisation/org-1");
}

#[test]
fn a_reps_round_carries_their_customers_records_and_their_own_scorecard_only() {
    let db = db();
    let rep = who("rep-01", Role::Rep);
    grant(&db, "rep-01", "customer/cust-1").unwrap();
    let cursor = db.current_seq().unwrap();
    let mine = [
        store(&db, &lead(customer(1))),
        store(&db, &plan(customer(1))),
        store(&db, &survey(customer(1))),
        store(&db, &scorecard("rep-01")),
    ];
    let not_mine = [
        store(&db, &lead(customer(2))),
        store(&db, &plan(customer(2))),
        store(&db, &scorecard("rep-02")),
        store(&db, &review()),
        store(&db, &organisation()),
    ];
    let got = news(&db, &rep, cursor);
    for id in &mine {
        assert!(got.contains(id), "{id} reaches its rep: {got:?}");
    }
    for id in &not_mine {
        assert!(!got.contains(id), "{id} does not reach rep-01");
    }
    let everything = news(&db, &who("fin-01", Role::Finance), cursor);
    assert!(mine.iter().chain(&not_mine).all(|id| everything.contains(id)), "finance sees all");
    let staff = news(&db, &who("staff-01", Role::EventStaff), cursor);
    assert!(mine.iter().chain(&not_mine).all(|id| !staff.contains(id)), "{staff:?}");
}

#[test]
fn a_granted_customer_brings_its_records_along() {
    let db = db();
    let lead_id = store(&db, &lead(customer(5)));
    let cursor = db.current_seq().unwrap();
    let rep = who("rep-02", Role::Rep);
    assert!(!news(&db, &rep, cursor).contains(&lead_id));
    grant(&db, "rep-02", "customer/cust-5").unwrap();
    assert!(news(&db, &rep, cursor).contains(&lead_id), "sent with the grant");
}

#[test]
fn visibility_agrees_with_the_news() {
    let db = db();
    grant(&db, "rep-01", "customer/cust-1").unwrap();
    // Even a grant of a management key made by mistake shows a rep nothing of it.
    grant(&db, "rep-01", "review/2026-11").unwrap();
    grant(&db, "rep-01", "staff/rep-02").unwrap();
    let rep = who("rep-01", Role::Rep);
    let sees = |p: &Principal, kind, key: &str| can_see(&db, p, kind, key).unwrap();
    use kam_core::doc::DocKind::{Lead, Organisation, Plan, Review, Scorecard, Survey};
    for kind in [Lead, Plan, Survey] {
        assert!(sees(&rep, kind, "customer/cust-1"), "{kind:?}");
        assert!(!sees(&rep, kind, "customer/cust-2"), "{kind:?}");
    }
    assert!(sees(&rep, Scorecard, "staff/rep-01"));
    assert!(!sees(&rep, Scorecard, "staff/rep-02"));
    assert!(!sees(&rep, Review, "review/2026-11"));
    assert!(!sees(&rep, Organisation, "organisation/org-1"));
    let cursor = 0;
    let review_id = store(&db, &review());
    let other = store(&db, &scorecard("rep-02"));
    let got = news(&db, &rep, cursor);
    assert!(!got.contains(&review_id) && !got.contains(&other), "{got:?}");
    let staff = who("staff-01", Role::EventStaff);
    grant(&db, "staff-01", "customer/cust-1").unwrap();
    for kind in [Lead, Plan, Survey, Scorecard, Review, Organisation] {
        assert!(!sees(&staff, kind, "customer/cust-1"), "{kind:?}");
        assert!(!sees(&who("venue-1", Role::Venue), kind, "staff/venue-1"), "{kind:?}");
    }
    for role in [Role::Finance, Role::Hq, Role::Admin] {
        assert!(sees(&who("x", role), Organisation, "organisation/org-1"), "{role:?}");
        assert!(sees(&who("x", role), Scorecard, "staff/rep-02"), "{role:?}");
    }
}

#[test]
fn who_creates_which_record() {
    use kam_core::doc::DocKind::{Lead, Organisation, Plan, Review, Scorecard, Survey};
    let all = [Lead, Plan, Survey, Scorecard, Review, Organisation];
    let creatable = |role| all.into_iter().filter(|k| may_create(role, *k)).collect::<Vec<_>>();
    assert_eq!(creatable(Role::Rep), vec![Lead, Plan, Survey]);
    assert_eq!(creatable(Role::EventStaff), Vec::<kam_core::doc::DocKind>::new());
    assert_eq!(creatable(Role::Venue), Vec::<kam_core::doc::DocKind>::new());
    assert_eq!(creatable(Role::Finance), vec![Lead, Plan, Survey, Scorecard]);
    assert_eq!(creatable(Role::Hq), all.to_vec());
    assert_eq!(creatable(Role::Admin), all.to_vec());
}

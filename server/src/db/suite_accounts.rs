//! The store suite's cases of account work and management records (leads, plans, surveys,
//! scorecards, leadership reviews, organisations) and of the people a venue takes: run
//! against every backend through [`store_suite!`](crate::store_suite), as the cases of
//! `suite` are. No SQL here.
//!
//! Some reads join the projection tables (a lead's or plan's customer name, a person's
//! customers, the tickets due): the cases that make those reads ask for `ProjectionStore` or
//! read through such a join, and run where the backend has the projection tables.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::arithmetic_side_effects)] // Tests may panic on a broken expectation.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use kam_core::doc::{DocId, DocKind};
use kam_core::model::{
    AccountPlan, Agreement, CandidateOffer, Collection, CustomerId, EntryId, Finding, FindingKind,
    Instalment, Lead, LeadCriteria, LeadId, LeadStage, LeadershipReview, Measure, MeasureClosing,
    Organisation, OrganisationAnalysis, OrganisationId, OrganisationStatus, PlanActuals,
    PlanApproval, PlanEvaluation, PlanFunction, PlanGoals, PlanId, ProjectId, PublishedScorecard,
    RaterKind, Rating, Reconciliation, ReviewId, Role, Scorecard, ScorecardLine, Survey, SurveyId,
    SurveyItem, SurveyKind, UserId, scorecard_id,
};
use rust_decimal::Decimal;

use super::management::InstalmentFacts;
use super::pipeline::{LeadFacts, LeadFilter};
use super::{
    AccountStore, AccountWorkStore, DocumentStore, GrantStore, ManagementProjection,
    ManagementQueries, PeopleTransfer, ProjectionStore,
};

fn march(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, day, 2, 0, 0).unwrap()
}

fn november() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 3, 0, 0).unwrap()
}

fn lead(id: &str, owner: &str, stage: LeadStage) -> Lead {
    let change = kam_core::model::StageChange {
        id: EntryId::from("e1"),
        from: LeadStage::MarketResearch,
        to: stage,
        at: march(5),
        by: UserId::from(owner),
        learned: "needs".into(),
        lost_reason: None,
    };
    Lead {
        id: LeadId::from(id),
        customer_id: CustomerId::from("c-1"),
        title: "line".into(),
        identified_by: UserId::from(owner),
        identified_at: march(1),
        owner: UserId::from(owner),
        criteria: LeadCriteria::default(),
        expected_value: Decimal::new(12_345, 1),
        stage,
        history: BTreeMap::from([(EntryId::from("e1"), change)]),
    }
}

fn lead_facts() -> LeadFacts {
    LeadFacts { candidate: true, stage_changed_at: march(5), closed_at: None, lost_reason: None }
}

/// Reads leads through their customer's name (a projection table).
pub(crate) fn leads_are_written_filtered_and_read_with_their_history(
    db: &(impl AccountWorkStore + ?Sized),
) {
    db.insert_lead(&lead("l-1", "rep-01", LeadStage::Solution), &lead_facts()).unwrap();
    db.insert_lead(&lead("l-2", "rep-02", LeadStage::Won), &lead_facts()).unwrap();
    let all = db.leads(&LeadFilter::default()).unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].expected_value, "1234.50", "money keeps two places");
    assert!(all[0].candidate);
    assert_eq!(all[0].customer_name, "", "a customer not projected has no name");
    let mine = LeadFilter { owner: Some("rep-01".into()), stage: None };
    assert_eq!(db.leads(&mine).unwrap().len(), 1);
    let won = LeadFilter { owner: None, stage: Some("won".into()) };
    assert_eq!(db.leads(&won).unwrap()[0].lead_id, "l-2");
    let (line, history) = db.lead("l-1").unwrap().unwrap();
    assert_eq!((line.stage.as_str(), history.len()), ("solution", 1));
    assert_eq!(history[0].to_stage, "solution");
    assert!(db.lead("none").unwrap().is_none());
}

fn plan() -> AccountPlan {
    let goals = |sales| PlanGoals {
        sales: Decimal::new(sales, 0),
        profit_contribution: Decimal::new(sales / 10, 0),
        satisfaction: 80,
    };
    let evaluation = PlanEvaluation {
        quarter: 1,
        actuals: PlanActuals {
            sales: Decimal::new(90, 0),
            profit_contribution: Decimal::new(9, 0),
            satisfaction: None,
        },
        adjustment: "more visits".into(),
        by: UserId::from("hq-01"),
        at: march(10),
    };
    AccountPlan {
        id: PlanId::from("c-1-2026"),
        customer_id: CustomerId::from("c-1"),
        year: 2026,
        year_goals: goals(400),
        quarter_goals: (1..=4).map(|q| (q, goals(100))).collect(),
        owners: BTreeMap::from([(PlanFunction::Quality, UserId::from("qe-1"))]),
        sales_strategy: "deepen".into(),
        service_plan: "monthly".into(),
        revision: 2,
        approval: Some(PlanApproval { by: UserId::from("hq-01"), at: march(2), revision: 1 }),
        evaluations: BTreeMap::from([(1, evaluation)]),
    }
}

/// Reads plans through their customer's name and tier (a projection table).
pub(crate) fn plans_come_back_whole_with_quarters_and_evaluations(
    db: &(impl AccountWorkStore + ?Sized),
) {
    db.insert_plan(&plan(), "revised_since_approval").unwrap();
    let rows = db.plan("c-1-2026").unwrap().unwrap();
    assert_eq!(rows.plan.status, "revised_since_approval");
    assert_eq!(rows.plan.owners.get("quality").map(String::as_str), Some("qe-1"));
    assert_eq!(rows.plan.approved_revision, Some(1));
    assert_eq!((rows.plan.year, rows.plan.revision), (2026, 2));
    assert_eq!(rows.plan.year_goals.sales, "400.00");
    assert_eq!(rows.quarters.len(), 4);
    assert_eq!(rows.quarters[3].sales, "100.00");
    assert_eq!(rows.quarters[3].quarter, 4);
    assert_eq!(rows.evaluations[0].satisfaction_actual, None);
    assert_eq!(rows.plan.evaluated, vec![1]);
    assert_eq!(db.plans(Some(2026)).unwrap().len(), 1);
    assert!(db.plans(Some(2025)).unwrap().is_empty());
    assert_eq!(db.plans(None).unwrap().len(), 1);
    assert!(db.plan("none").unwrap().is_none());
}

fn survey(id: &str, customer: &str, taken_at: DateTime<Utc>) -> Survey {
    Survey {
        id: SurveyId::from(id),
        customer_id: CustomerId::from(customer),
        kind: SurveyKind::Periodic,
        ticket_id: None,
        taken_at,
        taken_by: UserId::from("rep-01"),
        respondent: "Zhang".into(),
        items: BTreeMap::from([(SurveyItem::AccountManager, 70), (SurveyItem::Overall, 90)]),
        comments: String::new(),
    }
}

pub(crate) fn surveys_keep_their_score_and_the_account_managers_rating(
    db: &(impl AccountWorkStore + ?Sized),
) {
    db.insert_survey(&survey("s-1", "c-1", march(3)), 80).unwrap();
    db.insert_survey(&survey("s-2", "c-1", march(9)), 80).unwrap();
    db.insert_survey(&survey("s-3", "c-2", march(4)), 80).unwrap();
    let mine = db.surveys(Some("c-1")).unwrap();
    assert_eq!(mine.iter().map(|s| s.survey_id.as_str()).collect::<Vec<_>>(), ["s-2", "s-1"]);
    assert_eq!((mine[0].score, mine[0].account_manager_score), (80, Some(70)));
    assert_eq!(mine[0].taken_at, "2026-03-09T02:00:00Z");
    assert_eq!(db.surveys(None).unwrap().len(), 3);
}

fn card() -> Scorecard {
    let person = UserId::from("rep-01");
    let line = ScorecardLine {
        measure: "sales".into(),
        attainment: Decimal::new(50, 0),
        weight_pct: 30,
        points: Decimal::new(15, 0),
        basis: "sales 50 of 100".into(),
    };
    let rating = Rating {
        id: EntryId::from("r1"),
        rater: RaterKind::Peer,
        by: UserId::from("rep-02"),
        score: 70,
        at: november(),
        note: "n".into(),
    };
    Scorecard {
        id: scorecard_id(&person, "2026-10"),
        person,
        period: "2026-10".into(),
        sales_target: Decimal::new(100, 0),
        ratings: BTreeMap::from([(rating.id.clone(), rating)]),
        published: Some(PublishedScorecard {
            computed_at: november(),
            lines: BTreeMap::from([("sales".into(), line)]),
            total: Decimal::new(15, 0),
        }),
    }
}

pub(crate) fn scorecards_are_listed_by_period_with_lines_and_ratings<D>(db: &D)
where
    D: ManagementProjection + ManagementQueries + ?Sized,
{
    db.insert_scorecard(&card()).unwrap();
    assert_eq!(db.scorecard_periods().unwrap(), ["2026-10"]);
    let rows = db.scorecards(Some("2026-10")).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].total.as_deref(), Some("15"));
    assert_eq!(rows[0].lines[0].basis, "sales 50 of 100");
    assert_eq!(rows[0].lines[0].weight_pct, 30);
    assert!(db.scorecards(Some("2026-09")).unwrap().is_empty());
    assert_eq!(db.scorecards(None).unwrap().len(), 1);
    let detail = db.scorecard("rep-01-2026-10").unwrap().unwrap();
    assert_eq!(detail.card.sales_target, "100.00");
    assert_eq!(detail.ratings[0].rater, "peer");
    assert_eq!(detail.ratings[0].score, 70);
    assert!(db.scorecard("rep-02-2026-10").unwrap().is_none());
}

/// Deletes through `ProjectionStore`, whose list of projected tables names the scorecards'.
pub(crate) fn scorecards_are_deleted_with_their_doc<D>(db: &D)
where
    D: ManagementProjection + ManagementQueries + ProjectionStore + ?Sized,
{
    db.insert_scorecard(&card()).unwrap();
    assert!(db.scorecard("rep-01-2026-10").unwrap().is_some());
    db.delete_projected(&DocId::new(DocKind::Scorecard, "rep-01-2026-10")).unwrap();
    assert!(db.scorecard("rep-01-2026-10").unwrap().is_none());
    assert!(db.scorecards(None).unwrap().is_empty());
}

fn review(month: &str, closed: bool) -> LeadershipReview {
    let measure = Measure {
        id: EntryId::from(format!("m-{month}").as_str()),
        customer_id: None,
        text: "do".into(),
        owner: UserId::from("rep-01"),
        due_on: "2026-10-20".parse().unwrap(),
        closed: closed.then(|| MeasureClosing {
            by: UserId::from("hq"),
            at: november(),
            note: "ok".into(),
        }),
    };
    let finding = Finding {
        id: EntryId::from("f1"),
        customer_id: CustomerId::from("c1"),
        kind: FindingKind::Risk,
        text: "t".into(),
    };
    LeadershipReview {
        id: ReviewId::from(month),
        held_on: "2026-10-05".parse().unwrap(),
        attendees: BTreeMap::from([(UserId::from("gm"), "王总".to_owned())]),
        findings: BTreeMap::from([(finding.id.clone(), finding)]),
        measures: BTreeMap::from([(measure.id.clone(), measure)]),
    }
}

pub(crate) fn open_measures_before_a_month_leave_out_closed_ones_and_that_month<D>(db: &D)
where
    D: ManagementProjection + ManagementQueries + ?Sized,
{
    db.insert_review(&review("2026-09", false)).unwrap();
    db.insert_review(&review("2026-10", false)).unwrap();
    db.insert_review(&review("2026-08", true)).unwrap();
    let open: Vec<String> =
        db.open_measures_before("2026-10").unwrap().into_iter().map(|m| m.review_id).collect();
    assert_eq!(open, ["2026-09"]);
    let months: Vec<String> = db.reviews().unwrap().into_iter().map(|r| r.review_id).collect();
    assert_eq!(months, ["2026-10", "2026-09", "2026-08"]);
    let detail = db.review("2026-10").unwrap().unwrap();
    assert_eq!(detail.review.attendees, ["王总"]);
    assert_eq!(detail.attendee_ids, [("gm".to_owned(), "王总".to_owned())]);
    assert_eq!((detail.review.findings, detail.review.open_measures), (1, 1));
    assert_eq!(detail.findings_list[0].kind, "risk");
    assert_eq!(detail.measures[0].due_on, "2026-10-20");
    let closed = db.review("2026-08").unwrap().unwrap();
    assert_eq!(closed.review.open_measures, 0);
    assert_eq!(closed.measures[0].closed_by.as_deref(), Some("hq"));
    assert!(db.review("2026-07").unwrap().is_none());
}

/// The scorecard's inputs that need no projection table: survey scores of given customers
/// and the leads an owner closed, within a period (days inclusive).
pub(crate) fn scorecard_inputs_count_the_periods_surveys_and_closed_leads<D>(db: &D)
where
    D: AccountWorkStore + ManagementQueries + ?Sized,
{
    let day = |m: u32, d: u32| Utc.with_ymd_and_hms(2026, m, d, 2, 0, 0).unwrap();
    let scored = |id: &str, customer: &str, at, score| {
        db.insert_survey(&survey(id, customer, at), score).unwrap();
    };
    scored("s1", "c1", day(10, 3), 80);
    scored("s2", "c1", day(11, 3), 10);
    scored("s3", "c2", day(10, 3), 20);
    scored("s4", "c1", day(10, 31), 60);
    let closed = |id: &str, stage, at: Option<DateTime<Utc>>| {
        let facts = LeadFacts {
            candidate: false,
            stage_changed_at: day(10, 9),
            closed_at: at,
            lost_reason: None,
        };
        db.insert_lead(&lead(id, "rep-01", stage), &facts).unwrap();
    };
    closed("l1", LeadStage::Won, Some(day(10, 2)));
    closed("l2", LeadStage::Lost, Some(day(10, 9)));
    closed("l3", LeadStage::Negotiation, None);
    closed("l4", LeadStage::Won, Some(day(11, 1)));
    let (from, to) = ("2026-10-01".parse().unwrap(), "2026-10-31".parse().unwrap());
    let mine = vec!["c1".to_owned()];
    assert_eq!(db.survey_scores(&mine, from, to).unwrap(), [80, 60]);
    assert!(db.survey_scores(&[], from, to).unwrap().is_empty());
    assert_eq!(db.leads_closed("rep-01", from, to).unwrap(), (1, 2));
    assert_eq!(db.leads_closed("rep-02", from, to).unwrap(), (0, 0));
}

/// Reads `customer_owners` and `tickets` (projection tables).
pub(crate) fn scorecard_inputs_follow_the_customers_a_person_owns<D>(db: &D)
where
    D: ManagementQueries + ProjectionStore + ?Sized,
{
    let data = kam_core::demo::generate(
        &kam_core::demo::DemoSpec { customers: 2, ..kam_core::demo::DemoSpec::standard(1) },
        november(),
        &kam_core::Policy::default(),
    );
    let customer = &data.customers[0];
    let facts = super::projections::CustomerFacts {
        next_visit_due: None,
        overdue_visits: 0,
        projected_at: november(),
    };
    db.insert_customer(customer, &facts).unwrap();
    let owner = customer.owners[0].as_str();
    assert!(db.customers_owned_by(owner).unwrap().contains(&customer.id.as_str().to_owned()));
    assert!(db.customers_owned_by("nobody").unwrap().is_empty());
    let (from, to) = ("2000-01-01".parse().unwrap(), "2000-01-31".parse().unwrap());
    let mine = vec![customer.id.as_str().to_owned()];
    assert!(db.replies_due(owner, &mine, from, to).unwrap().is_empty());
}

fn organisation() -> Organisation {
    let day = |text: &str| text.parse().unwrap();
    let collection = Collection {
        id: EntryId::from("k1"),
        received_on: day("2026-10-03"),
        amount: Decimal::new(500, 0),
        receipt_no: "R-1".into(),
        by: UserId::from("fin-01"),
    };
    let reconciliation = Reconciliation {
        id: EntryId::from("x1"),
        on: day("2026-10-31"),
        bank_balance: Decimal::new(50_050, 2),
        receipts_total: Decimal::new(500, 0),
        by: UserId::from("fin-01"),
        note: "interest".into(),
    };
    Organisation {
        id: OrganisationId::from("o-1"),
        project_id: ProjectId::from("p-1"),
        name: "Union".into(),
        analysis: OrganisationAnalysis::default(),
        offer: CandidateOffer {
            accepted_price_per_m2: Decimal::new(9_000, 0),
            payment_ratio_pct: Decimal::new(305, 1),
            resource_exchange: 1,
            owner_occupier_pct: Decimal::new(80, 0),
            ..CandidateOffer::default()
        },
        status: OrganisationStatus::Negotiating,
        approved_by_gm: None,
        approved_by_chairman: None,
        price: None,
        agreement: Agreement::default(),
        instalments: BTreeMap::new(),
        collections: BTreeMap::from([(collection.id.clone(), collection)]),
        reconciliations: BTreeMap::from([(reconciliation.id.clone(), reconciliation)]),
        reminders: BTreeMap::new(),
        loan_switches: BTreeMap::new(),
    }
}

pub(crate) fn organisations_keep_their_money_and_list_what_is_outstanding<D>(db: &D)
where
    D: ManagementProjection + ManagementQueries + ?Sized,
{
    let due = |id: &str, on: &str, amount: i64| Instalment {
        id: EntryId::from(id),
        due_on: on.parse().unwrap(),
        amount: Decimal::new(amount, 0),
        note: "n".into(),
    };
    let (first, second) = (due("i2", "2026-11-30", 500), due("i1", "2026-10-31", 500));
    let facts = [
        InstalmentFacts {
            instalment: &first,
            received: Decimal::ZERO,
            outstanding: Decimal::new(500, 0),
            last_reminder_on: Some("2026-12-01".parse().unwrap()),
        },
        InstalmentFacts {
            instalment: &second,
            received: Decimal::new(500, 0),
            outstanding: Decimal::new(0, 2),
            last_reminder_on: None,
        },
    ];
    db.insert_organisation(&organisation(), &["penalty", "refund"], &facts).unwrap();
    let all = db.organisations().unwrap();
    assert_eq!(all.len(), 1);
    let row = &all[0];
    assert_eq!(
        (row.status.as_str(), row.accepted_price_per_m2.as_str()),
        ("negotiating", "9000.00")
    );
    assert_eq!((row.payment_ratio_pct.as_str(), row.resource_exchange), ("30.5", 1));
    assert_eq!(row.missing_clauses, ["penalty", "refund"]);
    assert_eq!((row.price_per_m2.clone(), row.signed_at.clone()), (None, None));
    let detail = db.organisation("o-1").unwrap().unwrap();
    let order: Vec<&str> = detail.instalments.iter().map(|i| i.entry_id.as_str()).collect();
    assert_eq!(order, ["i1", "i2"], "by due day");
    assert_eq!(detail.instalments[1].last_reminder_on.as_deref(), Some("2026-12-01"));
    assert_eq!(detail.collections[0].receipt_no, "R-1");
    assert_eq!(detail.reconciliations[0].bank_balance, "500.50");
    let outstanding = db.outstanding_instalments().unwrap();
    assert_eq!(outstanding.iter().map(|i| i.entry_id.as_str()).collect::<Vec<_>>(), ["i2"]);
    assert_eq!(outstanding[0].outstanding, "500.00");
    assert!(db.organisation("o-2").unwrap().is_none());
}

pub(crate) fn active_reps_leave_out_other_roles<D>(db: &D)
where
    D: AccountStore + ManagementQueries + ?Sized,
{
    db.insert_user("rep-02", "Li", Role::Rep, november()).unwrap();
    db.insert_user("rep-01", "Wang", Role::Rep, november()).unwrap();
    db.insert_user("hq-01", "Zhao", Role::Hq, november()).unwrap();
    assert_eq!(db.active_reps().unwrap(), ["rep-01", "rep-02"]);
}

pub(crate) fn people_travel_with_their_grants_and_take_this_stores_numbers<D>(db: &D)
where
    D: AccountStore + GrantStore + DocumentStore + PeopleTransfer + ?Sized,
{
    let now = november();
    db.insert_user("staff-01", "Chen", Role::EventStaff, now).unwrap();
    db.insert_user("venue-01", "Venue", Role::Venue, now).unwrap();
    db.insert_user("fin-01", "Sun", Role::Finance, now).unwrap();
    db.insert_user("rep-01", "Wang", Role::Rep, now).unwrap();
    db.insert_device("d-1", "staff-01", "tablet", &[0xde, 0xad], now).unwrap();
    db.insert_device("d-2", "staff-01", "old", &[0xbe, 0xef], now).unwrap();
    db.revoke_device("d-2", now).unwrap();
    db.insert_device("d-3", "rep-01", "phone", &[0x01], now).unwrap();
    let seq = db.next_seq().unwrap();
    db.insert_grant("staff-01", "event/e-1", seq).unwrap();
    db.insert_grant("rep-01", "customer/c-1", seq).unwrap();

    let tables = db.people_with_grant("event/e-1", "venue-01").unwrap();
    let names: Vec<&str> = tables.iter().map(|t| t.table.as_str()).collect();
    assert_eq!(names, ["users", "devices", "grants"]);
    let column = |t: usize, name: &str| tables[t].columns.iter().position(|c| c == name).unwrap();
    let users: Vec<&str> =
        tables[0].rows.iter().map(|r| r[column(0, "user_id")].as_str().unwrap()).collect();
    assert_eq!(users, ["fin-01", "staff-01", "venue-01"], "the grant's, finance, and `also`");
    assert_eq!(tables[1].rows.len(), 1, "active devices only");
    assert_eq!(tables[1].rows[0][column(1, "token_hash")], serde_json::json!({ "blob": "dead" }));
    assert_eq!(tables[1].rows[0][column(1, "last_cursor")], serde_json::json!(0));
    assert_eq!(tables[2].rows.len(), 1);
    assert_eq!(tables[2].rows[0][column(2, "granted_seq")], serde_json::json!(seq));

    // The same rows applied again, with a grant numbered ahead of this store's sequence and a
    // device this store has not seen.
    let mut offer = tables.clone();
    let name_at = column(0, "display_name");
    offer[0].rows[1][name_at] = serde_json::json!("Chen Wei");
    let mut device = offer[1].rows[0].clone();
    device[column(1, "device_id")] = serde_json::json!("d-9");
    device[column(1, "token_hash")] = serde_json::json!({ "blob": "0909" });
    offer[1].rows.push(device);
    offer[2].rows[0][column(2, "scope_key")] = serde_json::json!("event/e-2");
    offer[2].rows[0][column(2, "granted_seq")] = serde_json::json!(seq + 1000);
    let written = db.apply_people(&offer).unwrap();
    assert_eq!(written, 3 + 2 + 1);
    assert!(db.device_by_token_hash(&[0x09, 0x09]).unwrap().is_some());
    assert!(db.has_grant("staff-01", "event/e-2").unwrap());
    let after = db.people_with_grant("event/e-2", "venue-01").unwrap();
    let moved = after[2].rows.iter().find(|r| r[column(2, "scope_key")] == "event/e-2").unwrap();
    let renumbered = &moved[column(2, "granted_seq")];
    assert_eq!(renumbered, &serde_json::json!(db.current_seq().unwrap()), "this store's next");
    assert!(renumbered.as_i64().unwrap() < seq + 1000);
    let chen = after[0].rows.iter().find(|r| r[column(0, "user_id")] == "staff-01").unwrap();
    assert_eq!(chen[name_at], "Chen Wei", "changed in place");

    let mut unknown = tables.clone();
    unknown[0].columns[name_at] = "nickname".into();
    assert!(db.apply_people(&unknown).is_err(), "a column this store does not know");
    let mut stranger = tables;
    stranger[0].table = "secrets".into();
    assert!(db.apply_people(&stranger).is_err(), "a table that is not people's");
}

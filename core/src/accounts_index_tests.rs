//! The local index rows and the tablet's queries over the account-management records.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::*;
use crate::model::{PublishedScorecard, ScorecardLine, Tier};
use crate::rules::PlanStatus;
use crate::test_support::customers::customer_named;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn noon_china(on: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&on.and_hms_opt(4, 0, 0).unwrap())
}

fn meta() -> EditMeta {
    EditMeta::new(&rep(), fixed_now(), "test")
}

fn card(published: bool) -> Scorecard {
    let line = ScorecardLine {
        measure: "sales".into(),
        attainment: dec!(80),
        weight_pct: 40,
        points: dec!(32),
        basis: "销售额 400,000 / 目标 500,000".into(),
    };
    Scorecard {
        id: scorecard_id(&rep(), "2026-10"),
        person: rep(),
        period: "2026-10".into(),
        sales_target: dec!(500000),
        ratings: BTreeMap::new(),
        published: published.then(|| PublishedScorecard {
            computed_at: fixed_now(),
            lines: [("sales".to_owned(), line)].into_iter().collect(),
            total: dec!(32),
        }),
    }
}

/// A rep's working set: a key customer, a lead worked to won, a plan with one quarter
/// evaluated, two surveys, a published scorecard.
fn working_set(replica: &mut Replica) -> Lead {
    let mut customer = customer_named("c1", "华东机械", "rep-01");
    customer.classification.tier = Tier::Key;
    replica.create_customer(&customer, &meta()).unwrap();
    let lead = lead_on(replica);
    for stage in [LeadStage::FirstContact, LeadStage::Negotiation, LeadStage::Won] {
        change_lead_stage(replica, &lead.id, stage, "需求明确", None, &rep(), fixed_now()).unwrap();
    }
    let c = CustomerId::from("c1");
    let plan = draft_plan(replica, &c, 2026, content(dec!(4000000)), &rep(), fixed_now()).unwrap();
    let evaluation = QuarterEvaluation {
        quarter: 3,
        actuals: PlanActuals::default(),
        adjustment: "保持".into(),
    };
    evaluate_plan_quarter(replica, &plan.id, evaluation, &rep(), fixed_now()).unwrap();
    let periodic = survey_of(&[(SurveyItem::Overall, 80)]);
    take_survey(replica, periodic, &rep(), noon_china(d(2026, 11, 20))).unwrap();
    let after_service = NewSurvey {
        kind: SurveyKind::AfterService,
        ticket_id: Some(TicketId::from("t1")),
        ..survey_of(&[(SurveyItem::Service, 91)])
    };
    take_survey(replica, after_service, &rep(), noon_china(d(2026, 11, 22))).unwrap();
    replica.create_record(&card(true), &meta()).unwrap();
    lead
}

#[test]
fn rows_are_the_same_whatever_order_the_documents_arrive_in() {
    let (_a_dir, mut a) = open();
    working_set(&mut a);
    let ids = a.document_ids().unwrap();
    let saved: Vec<_> = ids.iter().map(|id| (id.clone(), a.save_document(id).unwrap())).collect();

    let (_b_dir, mut b) = open();
    for (id, bytes) in saved.iter().rev() {
        b.merge_document(id, bytes).unwrap();
    }
    let (_c_dir, mut c) = open();
    c.import_documents(&saved).unwrap();

    let dump = a.index_dump().unwrap();
    assert_eq!(dump.leads.len(), 1);
    assert_eq!(dump.plans.len(), 1);
    assert_eq!(dump.plan_evaluations_due.len(), 3, "quarters 1, 2 and 4 await evaluation");
    assert_eq!(dump.surveys.len(), 2);
    assert_eq!(dump.scorecards.len(), 1);
    assert_eq!(b.index_dump().unwrap(), dump);
    assert_eq!(c.index_dump().unwrap(), dump);
    a.rebuild_index().unwrap();
    assert_eq!(a.index_dump().unwrap(), dump, "a rebuild derives the same rows");
}

#[test]
fn my_pipeline_lists_every_stage_with_its_leads_and_value() {
    let (_dir, mut replica) = open();
    let won = working_set(&mut replica);
    let c = CustomerId::from("c1");
    let open_lead =
        identify_lead(&mut replica, &c, "二期", &big_buyer(), dec!(1500000), &rep(), fixed_now())
            .unwrap();
    let other = UserId::from("rep-02");
    identify_lead(&mut replica, &c, "别人的", &big_buyer(), dec!(9), &other, fixed_now()).unwrap();

    let pipeline = replica.my_pipeline_by_stage(&rep()).unwrap();
    let stages: Vec<LeadStage> = pipeline.iter().map(|s| s.stage).collect();
    assert_eq!(stages[0], LeadStage::MarketResearch);
    assert_eq!(&stages[5..], &[LeadStage::Won, LeadStage::Lost]);
    assert_eq!(pipeline.len(), 7);
    let research = &pipeline[0];
    assert_eq!((research.count, research.expected_value), (1, dec!(1500000)));
    assert_eq!(research.leads[0].id, open_lead.id);
    assert_eq!(research.leads[0].customer_name, "华东机械");
    let won_row = &pipeline[5];
    assert_eq!((won_row.count, won_row.expected_value), (1, dec!(3000000)));
    assert_eq!(won_row.leads[0].id, won.id);
    assert_eq!(pipeline.iter().map(|s| s.count).sum::<u32>(), 2, "rep-02's lead is not mine");
}

#[test]
fn plans_due_are_the_ended_quarters_without_an_evaluation() {
    let (_dir, mut replica) = open();
    working_set(&mut replica);
    let due = replica.plans_due_for_evaluation(&rep(), d(2026, 11, 23)).unwrap();
    let quarters: Vec<(u8, bool)> = due.iter().map(|r| (r.quarter, r.overdue)).collect();
    assert_eq!(quarters, vec![(1, true), (2, true)], "Q3 is evaluated, Q4 is running");
    assert_eq!(due[0].status, PlanStatus::Draft);
    assert_eq!(due[0].due_from, d(2026, 4, 1));
    // Q4 ends on Dec 31: due from the next day, not before.
    let dec_31 = replica.plans_due_for_evaluation(&rep(), d(2026, 12, 31)).unwrap();
    assert_eq!(dec_31.len(), 2);
    let jan_1 = replica.plans_due_for_evaluation(&rep(), d(2027, 1, 1)).unwrap();
    assert_eq!(jan_1.last().map(|r| (r.quarter, r.overdue)), Some((4, false)));
    assert!(
        replica
            .plans_due_for_evaluation(&UserId::from("rep-02"), d(2027, 1, 1))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn surveys_due_run_from_the_last_periodic_survey() {
    let (_dir, mut replica) = open();
    working_set(&mut replica);
    // Key tier: every 3 months after the periodic survey of 2026-11-20 (the after-service
    // call of the 22nd does not reset the cadence).
    assert!(replica.surveys_due(&rep(), d(2027, 1, 31)).unwrap().is_empty());
    let feb = replica.surveys_due(&rep(), d(2027, 2, 1)).unwrap();
    assert_eq!(feb.len(), 1);
    assert_eq!(
        (feb[0].last_periodic_on, feb[0].due_on, feb[0].overdue),
        (Some(d(2026, 11, 20)), d(2027, 2, 20), false)
    );
    assert!(replica.surveys_due(&rep(), d(2027, 2, 21)).unwrap()[0].overdue);

    // A customer never surveyed is due an interval after it was created (2026-11-23).
    let mut never = customer_named("c2", "华南电子", "rep-01");
    never.classification.tier = Tier::General;
    replica.create_customer(&never, &meta()).unwrap();
    let may = replica.surveys_due(&rep(), d(2027, 5, 1)).unwrap();
    let c2 = may.iter().find(|r| r.customer_id.as_str() == "c2").unwrap();
    assert_eq!((c2.last_periodic_on, c2.due_on), (None, d(2027, 5, 23)));
}

#[test]
fn satisfaction_factor_counts_every_survey_in_the_window() {
    let (_dir, mut replica) = open();
    working_set(&mut replica);
    let c = CustomerId::from("c1");
    let factor = replica.satisfaction_factor(&c, d(2026, 11, 23)).unwrap().unwrap();
    assert_eq!((factor.score, factor.surveys_counted), (86, 2), "mean of 80 and 91, half up");
    assert_eq!(
        replica.satisfaction_factor(&CustomerId::from("c9"), d(2026, 11, 23)).unwrap(),
        None
    );
}

#[test]
fn my_scorecard_row_carries_the_lines_and_their_basis() {
    let (_dir, mut replica) = open();
    working_set(&mut replica);
    let row = replica.my_scorecard(&rep(), "2026-10").unwrap().unwrap();
    assert_eq!((row.total, row.sales_target), (Some(dec!(32)), dec!(500000)));
    assert_eq!(row.lines.len(), 1);
    assert!(row.lines[0].basis.contains("目标"));
    assert_eq!(replica.my_scorecard(&rep(), "2026-09").unwrap(), None);

    let (_dir2, mut unpublished) = open();
    unpublished.create_record(&card(false), &meta()).unwrap();
    let row = unpublished.my_scorecard(&rep(), "2026-10").unwrap().unwrap();
    assert_eq!((row.total, row.lines.len(), row.computed_at), (None::<Decimal>, 0, None));
}

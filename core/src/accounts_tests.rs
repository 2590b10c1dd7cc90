#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{Duration, TimeZone};
use rust_decimal_macros::dec;

use super::*;
use crate::doc::{DocId, lead_doc_id, plan_doc_id};
use crate::replica::ReplicaOptions;
use crate::test_support::customers::fixed_now;

fn open() -> (tempfile::TempDir, Replica) {
    let dir = tempfile::tempdir().unwrap();
    let replica = Replica::open(dir.path().join("t.kam"), ReplicaOptions::default()).unwrap();
    (dir, replica)
}

fn rep() -> UserId {
    UserId::from("rep-01")
}

fn commits(replica: &mut Replica, id: &DocId) -> usize {
    replica.history(id).unwrap().len()
}

fn big_buyer() -> LeadCriteria {
    LeadCriteria { expected_annual_purchase: Some(dec!(2000000)), ..Default::default() }
}

fn lead_on(replica: &mut Replica) -> Lead {
    let c = CustomerId::from("c1");
    identify_lead(replica, &c, "扩产项目", &big_buyer(), dec!(3000000), &rep(), fixed_now())
        .unwrap()
}

#[test]
fn a_lead_must_be_a_candidate() {
    let (_dir, mut replica) = open();
    let c = CustomerId::from("c1");
    let exactly = LeadCriteria {
        expected_annual_purchase: Some(dec!(1000000)),
        profit_share_pct: Some(dec!(10)),
        potential: " ".into(),
    };
    let refused = identify_lead(&mut replica, &c, "扩产", &exactly, dec!(1), &rep(), fixed_now());
    assert!(matches!(refused, Err(ReplicaError::Rule(_))), "{refused:?}");
    assert!(replica.document_ids().unwrap().is_empty(), "a refusal writes nothing");

    let lead = lead_on(&mut replica);
    assert_eq!(
        (lead.stage, &lead.owner, &lead.identified_by),
        (LeadStage::MarketResearch, &rep(), &rep())
    );
    assert_eq!(replica.record::<Lead>(lead.id.as_str()).unwrap(), lead);
}

#[test]
fn stage_changes_follow_the_rule_one_commit_each() {
    let (_dir, mut replica) = open();
    let lead = lead_on(&mut replica);
    let doc = lead_doc_id(&lead.id);
    let at = |h| fixed_now() + Duration::hours(h);

    let before = commits(&mut replica, &doc);
    let won_too_early =
        change_lead_stage(&mut replica, &lead.id, LeadStage::Won, "", None, &rep(), at(1));
    assert!(matches!(won_too_early, Err(ReplicaError::Rule(_))));
    let lost_no_reason =
        change_lead_stage(&mut replica, &lead.id, LeadStage::Lost, "", Some(" "), &rep(), at(1));
    assert!(matches!(lost_no_reason, Err(ReplicaError::Rule(_))));
    assert_eq!(commits(&mut replica, &doc), before, "refusals write nothing");

    for (i, stage) in
        [LeadStage::FirstContact, LeadStage::Negotiation, LeadStage::Won].into_iter().enumerate()
    {
        let after = change_lead_stage(
            &mut replica,
            &lead.id,
            stage,
            "采购经理关注交期",
            None,
            &rep(),
            at(2),
        )
        .unwrap();
        assert_eq!(after.stage, stage);
        assert_eq!(commits(&mut replica, &doc), before + i + 1);
    }
    let read: Lead = replica.record(lead.id.as_str()).unwrap();
    assert_eq!(read.history.len(), 3);
    assert!(
        read.history.values().any(|c| c.from == LeadStage::Negotiation && c.to == LeadStage::Won)
    );
    let closed =
        change_lead_stage(&mut replica, &lead.id, LeadStage::Lost, "", Some("价格"), &rep(), at(3));
    assert!(matches!(closed, Err(ReplicaError::Rule(_))), "a won lead is closed");
}

fn content(sales: Decimal) -> PlanContent {
    PlanContent {
        year_goals: PlanGoals { sales, profit_contribution: dec!(100000), satisfaction: 90 },
        quarter_goals: (1..=4u8)
            .map(|q| {
                (q, PlanGoals { sales: sales.checked_div(dec!(4)).unwrap(), ..Default::default() })
            })
            .collect(),
        owners: [(PlanFunction::AccountManager, rep())].into_iter().collect(),
        sales_strategy: "扩大份额".into(),
        service_plan: "季度回访".into(),
    }
}

#[test]
fn a_plan_is_drafted_once_a_year_and_revised() {
    let (_dir, mut replica) = open();
    let c = CustomerId::from("c1");
    let plan =
        draft_plan(&mut replica, &c, 2026, content(dec!(4000000)), &rep(), fixed_now()).unwrap();
    assert_eq!((plan.id.as_str(), plan.revision), ("c1-2026", 1));
    let again = draft_plan(&mut replica, &c, 2026, content(dec!(1)), &rep(), fixed_now());
    assert!(matches!(again, Err(ReplicaError::AlreadyExists(_))));

    let doc = plan_doc_id(&plan.id);
    let before = commits(&mut replica, &doc);
    let revised =
        set_plan_content(&mut replica, &plan.id, content(dec!(8000000)), &rep(), fixed_now())
            .unwrap();
    assert_eq!((revised.revision, revised.year_goals.sales), (2, dec!(8000000)));
    assert_eq!(commits(&mut replica, &doc), before + 1);
}

#[test]
fn only_an_ended_quarter_is_evaluated() {
    let (_dir, mut replica) = open();
    let c = CustomerId::from("c1");
    // fixed_now is 2026-11-23: quarters 1–3 of 2026 have ended, the fourth has not.
    let plan =
        draft_plan(&mut replica, &c, 2026, content(dec!(4000000)), &rep(), fixed_now()).unwrap();
    let doc = plan_doc_id(&plan.id);
    let evaluation = |quarter| QuarterEvaluation {
        quarter,
        actuals: PlanActuals {
            sales: dec!(900000),
            profit_contribution: dec!(20000),
            satisfaction: Some(88),
        },
        adjustment: "加强交付跟踪".into(),
    };
    let before = commits(&mut replica, &doc);
    for q in [4, 0, 5] {
        let refused =
            evaluate_plan_quarter(&mut replica, &plan.id, evaluation(q), &rep(), fixed_now());
        assert!(matches!(refused, Err(ReplicaError::Rule(_))), "quarter {q}: {refused:?}");
    }
    assert_eq!(commits(&mut replica, &doc), before);
    let after =
        evaluate_plan_quarter(&mut replica, &plan.id, evaluation(3), &rep(), fixed_now()).unwrap();
    assert_eq!(after.evaluations[&3].actuals.satisfaction, Some(88));
    assert_eq!(commits(&mut replica, &doc), before + 1);
    // The last day of a quarter is still inside it (China time).
    let sept_30 = Utc.with_ymd_and_hms(2026, 9, 30, 12, 0, 0).unwrap();
    assert!(check_quarter_ended(2026, 3, replica.policy().business_date(sept_30)).is_err());
    let oct_1_china = Utc.with_ymd_and_hms(2026, 9, 30, 16, 0, 0).unwrap();
    assert!(check_quarter_ended(2026, 3, replica.policy().business_date(oct_1_china)).is_ok());
}

fn survey_of(items: &[(SurveyItem, u8)]) -> NewSurvey {
    NewSurvey {
        customer_id: CustomerId::from("c1"),
        kind: SurveyKind::Periodic,
        ticket_id: None,
        respondent: "王经理".into(),
        items: items.iter().copied().collect(),
        comments: String::new(),
    }
}

#[test]
fn a_survey_must_score_something_within_range() {
    let (_dir, mut replica) = open();
    for bad in [survey_of(&[]), survey_of(&[(SurveyItem::Product, 101)])] {
        let refused = take_survey(&mut replica, bad, &rep(), fixed_now());
        assert!(matches!(refused, Err(ReplicaError::Rule(_))), "{refused:?}");
    }
    assert!(replica.document_ids().unwrap().is_empty());
    let taken = take_survey(
        &mut replica,
        survey_of(&[(SurveyItem::Product, 84), (SurveyItem::Service, 85)]),
        &rep(),
        fixed_now(),
    )
    .unwrap();
    assert_eq!(replica.record::<Survey>(taken.id.as_str()).unwrap(), taken);
    assert_eq!(taken.taken_by, rep());
}

#[test]
fn my_scorecard_is_none_until_one_arrives() {
    let (_dir, mut replica) = open();
    assert_eq!(my_scorecard(&mut replica, &rep(), "2026-10").unwrap(), None);
    let card = Scorecard {
        id: scorecard_id(&rep(), "2026-10"),
        person: rep(),
        period: "2026-10".into(),
        sales_target: dec!(500000),
        ratings: BTreeMap::new(),
        published: None,
    };
    replica.create_record(&card, &EditMeta::new(&UserId::from("hq"), fixed_now(), "t")).unwrap();
    assert_eq!(my_scorecard(&mut replica, &rep(), "2026-10").unwrap(), Some(card));
}

#[path = "accounts_index_tests.rs"]
mod index;

//! The account-management records: a lead's append-only history, a plan's approval, a taken
//! survey, a scorecard's ratings and figures, an organisation's collections and its one price.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate};
use kam_core::doc::{ActorId, Document, Record, create_record, read_record, update_record};
use kam_core::model::{
    AccountPlan, Agreement, CandidateOffer, Collection, CustomerId, EntryId, Lead, LeadCriteria,
    LeadStage, Organisation, OrganisationAnalysis, OrganisationId, OrganisationPrice,
    OrganisationStatus, PlanApproval, PlanEvaluation, PricingMethod, ProjectId, PublishedScorecard,
    RaterKind, Rating, Scorecard, Signoff, StageChange, Survey, SurveyId, SurveyItem, SurveyKind,
    UserId, plan_id, scorecard_id,
};
use rust_decimal::Decimal;
use serde_json::Value;

use crate::auth::Role;
use crate::sync::authority::test_support::{Case, Expect, created, held, meta, no_edit, now, run};

const REP: (&str, Role) = ("rep-01", Role::Rep);
const HQ: (&str, Role) = ("hq-01", Role::Hq);
const FINANCE: (&str, Role) = ("fin-01", Role::Finance);

fn customer_id() -> CustomerId {
    CustomerId("cust-1".into())
}

fn at(minutes: i64) -> chrono::DateTime<chrono::Utc> {
    now() + Duration::minutes(minutes)
}

/// The server's copy of `record`, created by headquarters.
fn server<R: Record>(record: &R) -> Document {
    create_record(record, ActorId::random(), &meta("hq-01", "record.create")).unwrap()
}

/// The device rewrites the record as `change` says, in one commit: what a typed edit writes,
/// or what a tampered tablet writes past the local checks.
fn rewrite<R: Record>(change: impl Fn(&mut R)) -> impl Fn(&mut Document, &str) {
    move |device: &mut Document, user: &str| {
        let mut record: R = read_record(device).unwrap();
        change(&mut record);
        update_record(device, &record, &meta(user, "record.rewrite")).unwrap();
    }
}

fn stage_change(from: LeadStage, to: LeadStage, learned: &str) -> StageChange {
    StageChange {
        id: EntryId::new(),
        from,
        to,
        at: at(5),
        by: UserId::from("rep-01"),
        learned: learned.into(),
        lost_reason: None,
    }
}

/// A lead at first contact, with the change that took it there.
fn lead() -> (Lead, StageChange) {
    let first = stage_change(LeadStage::MarketResearch, LeadStage::FirstContact, "见了采购经理");
    let lead = Lead {
        id: kam_core::model::LeadId("lead-1".into()),
        customer_id: customer_id(),
        title: "三期扩产".into(),
        identified_by: UserId::from("rep-01"),
        identified_at: now(),
        owner: UserId::from("rep-01"),
        criteria: LeadCriteria::default(),
        expected_value: Decimal::from(800_000),
        stage: LeadStage::FirstContact,
        history: [(first.id.clone(), first.clone())].into(),
    };
    (lead, first)
}

#[test]
fn a_leads_stage_moves_on_but_its_history_is_append_only() {
    let (lead, first) = lead();
    let first_id = first.id.clone();
    let next = stage_change(LeadStage::FirstContact, LeadStage::NeedsAnalysis, "要看样品");
    let next_id = next.id.clone();
    let advance = {
        let next = next.clone();
        move |l: &mut Lead| {
            l.stage = LeadStage::NeedsAnalysis;
            l.history.insert(next.id.clone(), next.clone());
        }
    };
    let rule = "lead_history_append_only";
    let history = |id: &EntryId| format!("/history/{id}");
    let cases = vec![
        Case::new("a rep advances the lead's stage", REP, rewrite(advance.clone()), Expect::Kept)
            .then(|o| {
                let after: Lead = read_record(&o.server).unwrap();
                assert_eq!(after.stage, LeadStage::NeedsAnalysis);
                assert_eq!(after.history.len(), 2);
            }),
        Case::new(
            "a rep rewriting a recorded stage change is put back",
            REP,
            rewrite(|l: &mut Lead| {
                l.history.values_mut().for_each(|c| c.learned = "改写的记录".into());
            }),
            Expect::Fields(vec![(history(&first_id), rule)]),
        )
        .actions(&["authority.restore_history"])
        .then(|o| {
            let after: Lead = read_record(&o.server).unwrap();
            assert_eq!(after.history.get(&first.id), Some(&first), "as recorded");
            let device: Lead = read_record(&o.device).unwrap();
            assert_eq!(device.history.get(&first.id), Some(&first), "the device is corrected");
        }),
        Case::new(
            "a rep removing a recorded stage change is put back",
            REP,
            rewrite(|l: &mut Lead| l.history.clear()),
            Expect::Fields(vec![(history(&first_id), rule)]),
        ),
        Case::new(
            "a new stage change is kept while a rewritten one is put back, in one commit",
            REP,
            rewrite(move |l: &mut Lead| {
                advance(l);
                l.history.values_mut().filter(|c| c.id != next_id).for_each(|c| c.by = "x".into());
            }),
            Expect::Fields(vec![(history(&first_id), rule)]),
        )
        .actions(&["authority.restore_history"])
        .then(|o| {
            let after: Lead = read_record(&o.server).unwrap();
            assert_eq!(after.stage, LeadStage::NeedsAnalysis);
            assert_eq!(after.history.get(&next.id), Some(&next), "the new change stays");
            assert_eq!(after.history.get(&first_id).unwrap().by.as_str(), "rep-01");
        }),
        Case::new(
            "headquarters cannot rewrite the history either",
            HQ,
            rewrite(|l: &mut Lead| l.history.clear()),
            Expect::Rules(vec![rule]),
        ),
    ];
    run(cases, &held(|| server(&lead)));
}

fn plan() -> AccountPlan {
    let evaluation = PlanEvaluation {
        quarter: 1,
        actuals: Default::default(),
        adjustment: "加大拜访频次".into(),
        by: UserId::from("rep-01"),
        at: now(),
    };
    AccountPlan {
        id: plan_id(&customer_id(), 2026),
        customer_id: customer_id(),
        year: 2026,
        year_goals: Default::default(),
        quarter_goals: BTreeMap::new(),
        owners: BTreeMap::new(),
        sales_strategy: "稳住主供".into(),
        service_plan: String::new(),
        revision: 1,
        approval: None,
        evaluations: [(1, evaluation)].into(),
    }
}

fn approval(by: &str) -> PlanApproval {
    PlanApproval { by: UserId::from(by), at: at(10), revision: 1 }
}

#[test]
fn a_plans_approval_is_headquarters_and_its_content_everyones() {
    let held_plan = plan();
    let approve =
        |by: &'static str| rewrite(move |p: &mut AccountPlan| p.approval = Some(approval(by)));
    let cases = vec![
        Case::new(
            "a rep writes the plan's strategy",
            REP,
            rewrite(|p: &mut AccountPlan| p.sales_strategy = "争取二供转一供".into()),
            Expect::Kept,
        ),
        Case::new(
            "a rep approving the plan is undone",
            REP,
            approve("rep-01"),
            Expect::Exactly(vec![super::Violation {
                field: "/approval".into(),
                rule: "plan_approval_hq_only",
                old_value: Value::Null,
                new_value: serde_json::to_value(approval("rep-01")).unwrap(),
            }]),
        )
        .actions(&["authority.restore_approval"])
        .then(|o| {
            let after: AccountPlan = read_record(&o.server).unwrap();
            assert_eq!(after.approval, None);
        }),
        Case::new("headquarters' approval stays", HQ, approve("hq-01"), Expect::Kept).then(|o| {
            let after: AccountPlan = read_record(&o.server).unwrap();
            assert_eq!(after.approval, Some(approval("hq-01")));
        }),
        Case::new(
            "a rep taking an evaluation away is undone",
            REP,
            rewrite(|p: &mut AccountPlan| p.evaluations.clear()),
            Expect::Fields(vec![("/evaluations/1".into(), "evaluations_removed_by_hq_only")]),
        ),
        Case::new(
            "a rep's new plan carrying an approval loses it",
            REP,
            no_edit,
            Expect::Fields(vec![("/approval".into(), "plan_approval_hq_only")]),
        )
        .on(created(|user| {
            let mut p = plan();
            p.approval = Some(approval(user));
            create_record(&p, ActorId::random(), &meta(user, "plan.create")).unwrap()
        }))
        .then(|o| {
            let after: AccountPlan = read_record(&o.server).unwrap();
            assert_eq!((after.approval, after.sales_strategy.as_str()), (None, "稳住主供"));
        }),
    ];
    run(cases, &held(|| server(&held_plan)));
}

fn survey() -> Survey {
    Survey {
        id: SurveyId("survey-1".into()),
        customer_id: customer_id(),
        kind: SurveyKind::Periodic,
        ticket_id: None,
        taken_at: now(),
        taken_by: UserId::from("rep-01"),
        respondent: "王经理".into(),
        items: [(SurveyItem::Overall, 85), (SurveyItem::Service, 80)].into(),
        comments: String::new(),
    }
}

#[test]
fn a_survey_once_taken_is_changed_only_by_the_back_office() {
    let raise = || {
        rewrite(|s: &mut Survey| {
            s.items.insert(SurveyItem::Overall, 100);
        })
    };
    let rule = "survey_changed_by_back_office_only";
    let cases = vec![
        Case::new("a rep's new survey is kept", REP, no_edit, Expect::Kept).on(created(|user| {
            create_record(&survey(), ActorId::random(), &meta(user, "survey.take")).unwrap()
        })),
        Case::new(
            "a rep raising a taken survey's score is undone",
            REP,
            raise(),
            Expect::Fields(vec![("/items".into(), rule)]),
        )
        .then(|o| {
            let after: Survey = read_record(&o.server).unwrap();
            assert_eq!(after, survey());
        }),
        Case::new(
            "a rep rewriting the respondent is undone",
            REP,
            rewrite(|s: &mut Survey| s.respondent = "李总".into()),
            Expect::Fields(vec![("/respondent".into(), rule)]),
        ),
        Case::new("finance corrects a taken survey", FINANCE, raise(), Expect::Kept),
    ];
    run(cases, &held(|| server(&survey())));
}

fn scorecard() -> Scorecard {
    let person = UserId::from("rep-01");
    Scorecard {
        id: scorecard_id(&person, "2026-11"),
        person,
        period: "2026-11".into(),
        sales_target: Decimal::from(1_000_000),
        ratings: BTreeMap::new(),
        published: None,
    }
}

fn rating(by: &str) -> Rating {
    Rating {
        id: EntryId::new(),
        rater: RaterKind::Supervisor,
        by: UserId::from(by),
        score: 95,
        at: at(10),
        note: String::new(),
    }
}

#[test]
fn nobody_rates_or_scores_themselves_from_a_device() {
    let rate = |by: &'static str| {
        rewrite(move |s: &mut Scorecard| {
            let r = rating(by);
            s.ratings.insert(r.id.clone(), r);
        })
    };
    let published = PublishedScorecard {
        computed_at: at(10),
        lines: BTreeMap::new(),
        total: Decimal::from(99),
    };
    let cases = vec![
        Case::new(
            "a rep rating themselves is undone",
            REP,
            rate("rep-01"),
            Expect::Each { rules: &["ratings_hq_only"], count: 1 },
        )
        .actions(&["authority.restore_ratings"])
        .then(|o| {
            let after: Scorecard = read_record(&o.server).unwrap();
            assert!(after.ratings.is_empty());
        }),
        Case::new(
            "a rep publishing figures is undone",
            REP,
            rewrite(move |s: &mut Scorecard| s.published = Some(published.clone())),
            Expect::Fields(vec![("/published".into(), "scorecard_figures_server_only")]),
        )
        .then(|o| {
            let after: Scorecard = read_record(&o.server).unwrap();
            assert_eq!(after.published, None);
        }),
        Case::new(
            "a rep lowering their target is undone",
            REP,
            rewrite(|s: &mut Scorecard| s.sales_target = Decimal::from(1)),
            Expect::Fields(vec![("/sales_target".into(), "scorecard_target_back_office_only")]),
        ),
        Case::new("headquarters' rating stays", HQ, rate("hq-01"), Expect::Kept),
        Case::new(
            "finance sets the target",
            FINANCE,
            rewrite(|s: &mut Scorecard| s.sales_target = Decimal::from(1_200_000)),
            Expect::Kept,
        ),
    ];
    run(cases, &held(|| server(&scorecard())));
}

fn organisation(price: bool) -> Organisation {
    Organisation {
        id: OrganisationId("org-1".into()),
        project_id: ProjectId("proj-1".into()),
        name: "市教育局".into(),
        analysis: OrganisationAnalysis::default(),
        offer: CandidateOffer::default(),
        status: OrganisationStatus::Chosen,
        approved_by_gm: None,
        approved_by_chairman: None,
        price: price.then(|| org_price(8_000, "hq-01")),
        agreement: Agreement::default(),
        instalments: BTreeMap::new(),
        collections: BTreeMap::new(),
        reconciliations: BTreeMap::new(),
        reminders: BTreeMap::new(),
        loan_switches: BTreeMap::new(),
    }
}

fn org_price(per_m2: i64, by: &str) -> OrganisationPrice {
    OrganisationPrice {
        method: PricingMethod::Experience,
        basis_per_m2: Decimal::from(6_000),
        price_per_m2: Decimal::from(per_m2),
        payment_ratio_pct: Decimal::from(30),
        approved: Signoff { by: UserId::from(by), at: at(10) },
    }
}

fn collection(by: &str) -> Collection {
    Collection {
        id: EntryId::new(),
        received_on: NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
        amount: Decimal::from(300_000),
        receipt_no: "R-001".into(),
        by: UserId::from(by),
    }
}

#[test]
fn collections_are_finances_and_the_price_is_approved_once() {
    let collect = |by: &'static str, n: usize| {
        rewrite(move |o: &mut Organisation| {
            for _ in 0..n {
                let c = collection(by);
                o.collections.insert(c.id.clone(), c);
            }
        })
    };
    let cases = vec![
        Case::new("finance records a collection", FINANCE, collect("fin-01", 1), Expect::Kept)
            .then(|o| {
                let after: Organisation = read_record(&o.server).unwrap();
                assert_eq!(after.collections.len(), 1);
            }),
        Case::new(
            "headquarters recording collections is undone, in one commit",
            HQ,
            collect("hq-01", 2),
            Expect::Each { rules: &["collections_finance_only"], count: 2 },
        )
        .actions(&["authority.restore_collections"])
        .then(|o| {
            let after: Organisation = read_record(&o.server).unwrap();
            assert!(after.collections.is_empty());
        }),
        Case::new(
            "headquarters approves the price once",
            HQ,
            rewrite(|o: &mut Organisation| o.price = Some(org_price(8_000, "hq-01"))),
            Expect::Kept,
        ),
        Case::new(
            "a second price approval is undone",
            HQ,
            rewrite(|o: &mut Organisation| o.price = Some(org_price(9_500, "hq-01"))),
            Expect::Fields(vec![("/price".into(), "organisation_price_approved_once")]),
        )
        .on(held(|| server(&organisation(true))))
        .then(|o| {
            let after: Organisation = read_record(&o.server).unwrap();
            assert_eq!(after.price, Some(org_price(8_000, "hq-01")));
        }),
        Case::new(
            "finance renaming the organisation is undone",
            FINANCE,
            rewrite(|o: &mut Organisation| o.name = "别的单位".into()),
            Expect::Fields(vec![("/name".into(), "organisation_hq_only")]),
        ),
    ];
    run(cases, &held(|| server(&organisation(false))));
}

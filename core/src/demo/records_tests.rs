//! Tests of the demo's account-management records: bounds and rules hold, the same seed
//! gives the same records, and every record refers to the demo's own customers and users.

use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate, TimeZone, Utc};
use rust_decimal::Decimal;

use super::*;
use crate::doc::{EditMeta, Record, create_record};
use crate::model::{LeadStage, OrganisationStatus, PlanFunction, SurveyKind, Tier};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0).single().unwrap()
}

fn company(seed: u64) -> DemoData {
    let spec = DemoSpec { seed, customers: 120, tickets: 400, units: 240, ..DemoSpec::standard(4) };
    generate(&spec, now(), &Policy::default())
}

fn check<R: Record>(records: &[R]) {
    for r in records {
        r.check_bounds().unwrap_or_else(|e| panic!("{}: {e}", r.entity()));
    }
    // The documents are made the way the server's demo load makes them.
    let meta = EditMeta::new(&UserId::from("demo-import"), now(), "demo.import");
    if let Some(first) = records.first() {
        create_record(first, automerge::ActorId::random(), &meta).unwrap();
    }
}

#[test]
fn demo_records_pass_their_bounds_and_rules() {
    let data = company(7);
    let policy = Policy::default();
    check(&data.leads);
    check(&data.plans);
    check(&data.surveys);
    check(&data.scorecards);
    check(&data.reviews);
    check(&data.organisations);
    for lead in &data.leads {
        assert!(rules::key_account_candidate(&lead.criteria, &policy).is_candidate(), "{lead:?}");
        // Replaying the history from the first stage passes every stage-change rule.
        let mut changes: Vec<_> = lead.history.values().collect();
        changes.sort_by_key(|c| c.at);
        let mut replay = Lead { stage: LeadStage::MarketResearch, ..lead.clone() };
        for c in changes {
            assert_eq!(c.from, replay.stage);
            rules::check_stage_change(&replay, c.to, &c.learned, c.lost_reason.as_deref()).unwrap();
            assert!(!c.learned.is_empty() && c.at > lead.identified_at && c.at <= now());
            replay.stage = c.to;
        }
        assert_eq!(replay.stage, lead.stage);
    }
    for plan in &data.plans {
        let customer = data.customers.iter().find(|c| c.id == plan.customer_id).unwrap();
        let sales = customer.annual_sales.values().next_back().copied().unwrap();
        let draft = AccountPlan { approval: None, ..plan.clone() };
        rules::check_approval(&draft, sales, &policy).unwrap();
        assert!(rules::missing_owners(plan, sales, &policy).is_empty());
    }
    for survey in &data.surveys {
        rules::survey_score(&survey.items).unwrap();
    }
}

#[test]
fn the_same_seed_gives_the_same_records_and_another_seed_others() {
    let (a, b, c) = (company(7), company(7), company(8));
    assert_eq!(a.leads, b.leads);
    assert_eq!(a.plans, b.plans);
    assert_eq!(a.surveys, b.surveys);
    assert_eq!(a.scorecards, b.scorecards);
    assert_eq!(a.reviews, b.reviews);
    assert_eq!(a.organisations, b.organisations);
    assert_ne!(a.leads, c.leads);
    assert_ne!(a.surveys, c.surveys);
}

fn demo_users(data: &DemoData) -> BTreeSet<UserId> {
    data.reps
        .iter()
        .cloned()
        .chain(
            [HQ_USER, FINANCE_USER, TECHNICAL_USER, QUALITY_USER, AFTER_SALES_USER]
                .map(UserId::from),
        )
        .collect()
}

#[test]
fn leads_and_plans_name_demo_customers_and_demo_users() {
    let data = company(7);
    let policy = Policy::default();
    let users = demo_users(&data);
    let customer = |id: &CustomerId| data.customers.iter().find(|c| &c.id == id).unwrap();
    for rep in &data.reps {
        let stages: BTreeSet<LeadStage> =
            data.leads.iter().filter(|l| &l.owner == rep).map(|l| l.stage).collect();
        assert_eq!(stages.len(), 7, "{rep}: every stage, won and lost included");
    }
    for lead in &data.leads {
        assert_eq!(customer(&lead.customer_id).owners.first(), Some(&lead.owner));
        let lost = lead.history.values().filter(|c| c.to == LeadStage::Lost);
        assert!(lost.clone().all(|c| c.lost_reason.is_some()));
    }
    let key: Vec<&Customer> = data
        .customers
        .iter()
        .filter(|c| {
            c.classification.strategic
                || matches!(c.classification.tier, Tier::Strategic | Tier::Key)
        })
        .collect();
    assert_eq!(data.plans.len(), key.len());
    let today = policy.business_date(now());
    let (mut approved, mut drafts, mut residents) = (0, 0, 0);
    for plan in &data.plans {
        let c = customer(&plan.customer_id);
        assert_eq!(plan.year, today.year());
        let quarters: Decimal = plan.quarter_goals.values().map(|g| g.sales).sum();
        assert_eq!(quarters, plan.year_goals.sales);
        let profit: Decimal = plan.quarter_goals.values().map(|g| g.profit_contribution).sum();
        assert_eq!(profit, plan.year_goals.profit_contribution);
        assert!(plan.owners.values().all(|u| users.contains(u)), "{:?}", plan.owners);
        assert_eq!(plan.owners.get(&PlanFunction::AccountManager), c.owners.first());
        let sales = c.annual_sales.values().next_back().copied().unwrap();
        let resident = plan.owners.contains_key(&PlanFunction::ResidentRepresentative);
        assert_eq!(resident, sales >= Decimal::from(50_000_000));
        residents += usize::from(resident);
        match &plan.approval {
            Some(a) => {
                approved += 1;
                assert_eq!((a.by.as_str(), a.revision), (HQ_USER, 1));
                // Evaluations of exactly the ended quarters whose evaluation date has come:
                // on 2026-11-23, Q1–Q3.
                assert_eq!(plan.evaluations.keys().copied().collect::<Vec<_>>(), [1, 2, 3]);
            }
            None => {
                drafts += 1;
                assert!(plan.evaluations.is_empty());
            }
        }
    }
    assert!(approved > drafts && drafts > 0 && residents > 0, "{approved} {drafts} {residents}");
}

#[test]
fn surveys_follow_the_cadence_and_some_customers_are_overdue() {
    let data = company(7);
    let policy = Policy::default();
    let today = policy.business_date(now());
    let mut overdue = 0;
    for c in &data.customers {
        let periodic: Vec<NaiveDate> = data
            .surveys
            .iter()
            .filter(|s| s.customer_id == c.id && s.kind == SurveyKind::Periodic)
            .map(|s| s.taken_at.date_naive())
            .collect();
        assert!(periodic.iter().all(|d| (today - *d).num_days() <= 365 && *d <= today));
        let last = periodic.iter().max().copied();
        let due = rules::survey_due(
            c.classification.tier,
            last,
            c.created_at.date_naive(),
            today,
            &policy,
        );
        overdue += usize::from(due.overdue);
    }
    assert!(overdue > 0 && overdue < data.customers.len() / 5, "{overdue}");
    let after: Vec<_> =
        data.surveys.iter().filter(|s| s.kind == SurveyKind::AfterService).collect();
    assert!(!after.is_empty());
    for s in after {
        let ticket = data.tickets.iter().find(|t| Some(&t.id) == s.ticket_id.as_ref()).unwrap();
        assert_eq!(ticket.customer_id, s.customer_id);
    }
    let customers: BTreeSet<&CustomerId> = data.customers.iter().map(|c| &c.id).collect();
    assert!(data.surveys.iter().all(|s| customers.contains(&s.customer_id)));
    let scores: BTreeSet<u8> =
        data.surveys.iter().flat_map(|s| s.items.values().copied()).collect();
    assert!(scores.len() > 30, "a realistic spread of scores");
}

#[test]
fn scorecards_and_reviews_are_hq_s_and_last_month_leaves_measures_open() {
    let data = company(7);
    let today = Policy::default().business_date(now());
    assert_eq!(data.scorecards.len(), data.reps.len());
    for card in &data.scorecards {
        assert_eq!(card.period, "2026-10");
        assert!(card.sales_target > Decimal::ZERO && card.published.is_none());
        assert_eq!(card.ratings.len(), 3);
        assert!(card.ratings.values().all(|r| r.by.as_str() == HQ_USER && r.by != card.person));
    }
    let ids: Vec<&str> = data.reviews.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["2026-10", "2026-09"]);
    let users = demo_users(&data);
    for review in &data.reviews {
        assert!(review.attendees.keys().all(|u| users.contains(u)));
        assert_eq!(review.findings.len(), 7, "one finding of each kind");
        assert!(review.measures.values().all(|m| users.contains(&m.owner)));
    }
    let last = &data.reviews[0];
    let open = last.measures.values().filter(|m| m.closed.is_none()).count();
    let overdue = last.measures.values().filter(|m| rules::measure_overdue(m, today)).count();
    assert!(open > 1 && overdue == 1 && open < last.measures.len(), "{open} {overdue}");
    assert!(data.reviews[1].measures.values().all(|m| m.closed.is_some()));
}

#[test]
fn the_project_has_candidates_and_one_chosen_organisation_with_its_collections() {
    let data = company(7);
    let policy = Policy::default();
    let today = policy.business_date(now());
    let orgs = &data.organisations;
    assert!(orgs.len() >= policy.commissioning.min_candidates as usize);
    assert!(orgs.iter().all(|o| o.project_id == data.project.id));
    let chosen: Vec<_> = orgs.iter().filter(|o| o.status == OrganisationStatus::Chosen).collect();
    assert_eq!(chosen.len(), 1);
    let org = chosen[0];
    assert!(org.approved_by_gm.is_some() && org.approved_by_chairman.is_some());
    let price = org.price.as_ref().unwrap();
    assert_eq!(price.price_per_m2, price.basis_per_m2 * Decimal::new(80, 2));
    assert!(price.payment_ratio_pct >= Decimal::from(50));
    assert!(
        price.price_per_m2 > Decimal::from(16_000) && price.price_per_m2 < Decimal::from(21_000)
    );
    let a = &org.agreement;
    assert!(a.list_checked_by_audit.is_some() && a.list_checked_by_finance.is_some());
    assert!(a.list_checked_by_lawyer.is_some() && a.signed.is_some() && a.renaming_rule);
    assert!(
        a.selection_from.is_some() && a.selection_until.is_some() && a.payment_due_on.is_some()
    );
    assert!(org.collections.values().all(|c| c.by.as_str() == FINANCE_USER));
    let past = org.instalments.values().filter(|i| i.due_on < today).count();
    assert_eq!((past, org.instalments.len()), (3, 4));
    let received: Decimal = org.collections.values().map(|c| c.amount).sum();
    let due: Decimal =
        org.instalments.values().filter(|i| i.due_on < today).map(|i| i.amount).sum();
    assert!(received < due, "something is overdue");
    let chased = org.reminders.values().next().unwrap();
    assert!(org.instalments.contains_key(&chased.instalment_id));
    let fees = org.loan_switches.values().map(|l| l.fee);
    assert!(fees.clone().count() == 1);
    assert!(fees.into_iter().all(|f| f >= Decimal::from(1_000) && f <= Decimal::from(3_000)));
    for o in orgs {
        assert!(o.offer.payment_ratio_pct >= Decimal::from(50));
        assert!(o.offer.payment_ratio_pct <= Decimal::from(90) && o.offer.resource_exchange <= 10);
    }
}

#[test]
fn a_tiny_company_still_generates() {
    let data = tiny_company(3, 8, 0);
    assert!(data.reviews.iter().all(|r| !r.findings.is_empty()));
    assert!(data.organisations.iter().all(|o| o.check_bounds().is_ok()));
    let none = generate(
        &DemoSpec { customers: 0, tickets: 0, units: 0, buyers: 0, ..DemoSpec::standard(1) },
        now(),
        &Policy::default(),
    );
    assert!(none.leads.is_empty() && none.plans.is_empty() && none.reviews.is_empty());
    assert!(none.organisations.iter().all(|o| o.check_bounds().is_ok()));
}

#[test]
fn a_scaled_company_is_the_standard_one_n_times_over() {
    let ten = DemoSpec::scaled(10);
    assert_eq!(
        (ten.reps, ten.customers, ten.tickets, ten.units, ten.buyers),
        (50, 3_000, 20_000, 30_000, 2_000),
        "the size issue 25 names for headquarters at scale"
    );
    let one = DemoSpec::scaled(1);
    let standard = DemoSpec::standard(5);
    assert_eq!(
        (one.reps, one.customers, one.tickets, one.units, one.buyers, one.seed),
        (
            standard.reps,
            standard.customers,
            standard.tickets,
            standard.units,
            standard.buyers,
            standard.seed
        ),
        "scale 1 is the demo as it always was"
    );
    assert_eq!(DemoSpec::scaled(0).customers, 300, "kept at 1 and above");
    assert_eq!(
        DemoSpec::scaled(usize::MAX).customers,
        300 * usize::from(MAX_SCALE),
        "and at the most"
    );
    // What the generator makes of it: the reps, the customers spread over all of them, the
    // tickets and the project's units.
    let data = generate(&DemoSpec::scaled(2), now(), &Policy::default());
    assert_eq!(data.reps.len(), 10);
    assert_eq!((data.customers.len(), data.tickets.len()), (600, 4_000));
    assert_eq!(data.project.units.len(), 6_000);
    let owners: BTreeSet<&UserId> = data.customers.iter().flat_map(|c| &c.owners).collect();
    assert_eq!(owners.len(), 10, "every rep owns customers");
}

#[test]
fn every_demo_user_goes_by_a_name_and_no_two_reps_share_one() {
    let names: std::collections::HashSet<String> =
        (1..=999).map(|n| super::staff_name(&format!("rep-{n:02}"))).collect();
    assert_eq!(names.len(), 999, "a thousand reps less one, each their own name");
    assert_eq!(super::staff_name("rep-01"), "李伟");
    assert_eq!(super::staff_name(super::HQ_USER), "林国华");
    assert_eq!(super::staff_name("someone-else"), "someone-else");
}

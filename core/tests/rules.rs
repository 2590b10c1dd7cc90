//! Boundary tests for every rule of RULES.md §1–4, through the public API only.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use kam_core::Policy;
use kam_core::model::{
    Classification, CreditTerms, Customer, CustomerId, CustomerProfile, FollowUp, Grade,
    PaymentTerms, PreventiveAction, ServiceTicket, TicketId, TicketKind, TicketPriority,
    TicketStatus, Tier, UserId, VisitId, VisitLevel, VisitRecord,
};
use kam_core::policy::RushPolicy;
use kam_core::rules::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

fn policy() -> Policy {
    Policy::default()
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn at(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, s).unwrap()
}

// ---------------------------------------------------------------- §1 tiers

#[test]
fn tier_main_threshold_is_inclusive() {
    let p = policy();
    assert_eq!(tier_for(dec!(5000000.00), false, false, &p).tier, Tier::Main);
    assert_eq!(tier_for(dec!(4999999.99), false, false, &p).tier, Tier::General);
    assert_eq!(tier_for(dec!(4999999.99), true, false, &p).tier, Tier::General);
}

#[test]
fn tier_key_needs_threshold_and_leading_brand() {
    let p = policy();
    let key = tier_for(dec!(20000000.00), true, false, &p);
    assert_eq!(key.tier, Tier::Key);
    assert_eq!(
        key.reason,
        TierReason::KeyThresholdAndLeadingBrand {
            annual_sales: dec!(20000000.00),
            key_min: dec!(20000000.00)
        }
    );
    assert_eq!(tier_for(dec!(19999999.99), true, false, &p).tier, Tier::Main);
    assert_eq!(tier_for(dec!(20000000.00), false, false, &p).tier, Tier::Main);
}

#[test]
fn tier_strategic_is_designated_not_computed() {
    let p = policy();
    assert_eq!(tier_for(dec!(0.00), false, true, &p).tier, Tier::Strategic);
    assert_eq!(tier_for(dec!(99999999999.00), true, false, &p).tier, Tier::Key);
}

#[test]
fn tier_reasons_are_readable() {
    let d = tier_for(dec!(4999999.99), false, false, &policy());
    assert_eq!(d.reason.to_string(), "annual sales 4999999.99 CNY below 5000000.00 (一般客户)");
}

#[test]
fn purchase_class_boundaries() {
    let p = policy();
    assert_eq!(purchase_class_for(dec!(4999999.99), &p), None);
    assert_eq!(purchase_class_for(dec!(5000000.00), &p), Some(PurchaseClass::Ordinary));
    assert_eq!(purchase_class_for(dec!(19999999.99), &p), Some(PurchaseClass::Ordinary));
    assert_eq!(purchase_class_for(dec!(20000000.00), &p), Some(PurchaseClass::Partner));
    assert_eq!(purchase_class_for(dec!(49999999.99), &p), Some(PurchaseClass::Partner));
    assert_eq!(purchase_class_for(dec!(50000000.00), &p), Some(PurchaseClass::Strategic));
}

#[test]
fn policy_from_toml_moves_the_tier_boundary() {
    let p = Policy::from_toml_str("[tiers]\nmain_min_annual_sales = \"3000000.00\"\n").unwrap();
    assert_eq!(tier_for(dec!(3000000.00), false, false, &p).tier, Tier::Main);
    assert_eq!(tier_for(dec!(2999999.99), false, false, &p).tier, Tier::General);
    assert_eq!(p.tiers.key_min_annual_sales, dec!(20000000.00));
}

// ---------------------------------------------------------------- §1 score and grades

fn full_marks() -> ScoreInputs {
    let m = policy().scoring.factor_max_points;
    ScoreInputs {
        sales_scale: m.sales_scale,
        payment_reputation: m.payment_reputation,
        product_margin: m.product_margin,
        order_volume: m.order_volume,
        sales_model: m.sales_model,
        share_of_their_sales: m.share_of_their_sales,
        years_of_business: m.years_of_business,
        industry_reputation: m.industry_reputation,
    }
}

#[test]
fn score_adds_the_eight_factors_up_to_100() {
    let p = policy();
    assert_eq!(score(&full_marks(), &p), Ok(100));
    assert_eq!(score(&ScoreInputs::default(), &p), Ok(0));
    let some = ScoreInputs { sales_scale: 12, payment_reputation: 15, ..ScoreInputs::default() };
    assert_eq!(score(&some, &p), Ok(27));
}

#[test]
fn score_rejects_a_factor_over_its_maximum() {
    let p = policy();
    let inputs = ScoreInputs { sales_scale: 21, ..full_marks() };
    assert!(matches!(
        score(&inputs, &p),
        Err(RuleError::FactorOverMax { points: 21, max: 20, .. })
    ));
}

fn grade_counts<K>(graded: &[(K, Grade)]) -> [usize; 4] {
    let mut c = [0; 4];
    for (_, g) in graded {
        c[*g as usize] += 1;
    }
    c
}

#[test]
fn ten_customers_grade_2_3_4_1_in_score_order() {
    let scores: Vec<(String, u32)> = (0..10).map(|i| (format!("c{i}"), 50 + i)).collect();
    let graded = distribute_grades(&scores, &policy());
    assert_eq!(grade_counts(&graded), [2, 3, 4, 1]);
    // Highest score first: c9 (59) is A, c0 (50) is D.
    assert_eq!(graded[0], ("c9".to_owned(), Grade::A));
    assert_eq!(graded[9], ("c0".to_owned(), Grade::D));
}

#[test]
fn one_customer_grades_b_and_none_grades_nothing() {
    let p = policy();
    assert_eq!(distribute_grades(&[("only", 100)], &p), vec![("only", Grade::B)]);
    assert!(distribute_grades::<&str>(&[], &p).is_empty());
}

#[test]
fn ties_at_a_boundary_all_get_the_better_grade() {
    // b and c (positions 2 and 3 of 10) tie across the A cut-off after position 2: both A.
    let scores = [("a", 90), ("b", 70), ("c", 70), ("d", 65), ("e", 60), ("f", 55), ("g", 50)];
    let mut scores: Vec<(&str, u32)> = scores.to_vec();
    scores.extend([("h", 40), ("i", 30), ("j", 20)]);
    let graded = distribute_grades(&scores, &policy());
    let grade_of = |k: &str| graded.iter().find(|(key, _)| *key == k).unwrap().1;
    assert_eq!(grade_of("b"), Grade::A);
    assert_eq!(grade_of("c"), Grade::A);
    assert_eq!(grade_of("d"), Grade::B);
    assert_eq!(grade_counts(&graded), [3, 2, 4, 1]);
    // A tie across the C/D cut-off (position 9 of 10) keeps both in C: no D at all.
    let mut tail = scores.clone();
    tail[9].1 = 30;
    assert_eq!(grade_counts(&distribute_grades(&tail, &policy())), [3, 2, 5, 0]);
}

#[test]
fn ties_are_ordered_by_key_deterministically() {
    let scores = [("z", 70), ("a", 70), ("m", 90)];
    let graded = distribute_grades(&scores, &policy());
    let keys: Vec<&str> = graded.iter().map(|(k, _)| *k).collect();
    assert_eq!(keys, ["m", "a", "z"]);
    let reversed: Vec<(&str, u32)> = scores.iter().rev().copied().collect();
    assert_eq!(distribute_grades(&reversed, &policy()), graded);
}

// ---------------------------------------------------------------- §2 what each grade gets

fn assert_price(grade: Grade, offered: Decimal, ok: bool) {
    let v = check_price(grade, dec!(100.00), offered, &policy());
    assert_eq!(matches!(v, PriceVerdict::Approved { .. }), ok, "{grade} at {offered}: {v:?}");
}

#[test]
fn price_caps_allow_the_exact_boundary_only() {
    assert_price(Grade::A, dec!(95.00), true);
    assert_price(Grade::A, dec!(94.99), false);
    assert_price(Grade::B, dec!(97.00), true);
    assert_price(Grade::B, dec!(96.99), false);
    assert_price(Grade::C, dec!(100.00), true);
    assert_price(Grade::C, dec!(99.99), false);
    assert_price(Grade::D, dec!(105.00), true);
    assert_price(Grade::D, dec!(104.99), false);
    assert_price(Grade::D, dec!(120.00), true);
}

#[test]
fn price_refusal_carries_cap_and_asked_discount() {
    let v = check_price(Grade::A, dec!(100.00), dec!(94.00), &policy());
    assert_eq!(
        v,
        PriceVerdict::Refused {
            reason: PriceRefusal::OverDiscountCap {
                grade: Grade::A,
                cap_pct: dec!(5),
                asked_pct: dec!(6),
                min_price: dec!(95),
            }
        }
    );
    let approved = check_price(Grade::B, dec!(200.00), dec!(195.00), &policy());
    assert_eq!(approved, PriceVerdict::Approved { discount_pct: dec!(2.5) });
}

#[test]
fn payment_terms_per_grade() {
    let p = policy();
    let net = |days| PaymentTerms::NetDays { days };
    let (cod, prepay) = (PaymentTerms::CashOnDelivery, PaymentTerms::PaymentBeforeDelivery);
    let ok = |g, t| check_payment_terms(g, t, &p) == TermsVerdict::Approved;
    assert!(ok(Grade::A, net(90)) && !ok(Grade::A, net(91)));
    assert!(ok(Grade::B, net(30)) && ok(Grade::B, cod) && !ok(Grade::B, net(31)));
    assert!(ok(Grade::C, cod) && ok(Grade::C, prepay) && !ok(Grade::C, net(1)));
    assert!(ok(Grade::D, prepay) && !ok(Grade::D, cod));
    let TermsVerdict::Refused { reason } = check_payment_terms(Grade::C, net(30), &p) else {
        panic!("C may not defer payment")
    };
    assert_eq!(
        reason.to_string(),
        "grade C may get at most cash on delivery (货到付款); net 30 days (远期30天) asked"
    );
}

#[test]
fn delivery_and_rush_per_grade() {
    let p = policy();
    let d = |g| delivery_terms(g, &p);
    assert_eq!(
        d(Grade::A),
        DeliveryTerms { standard_days: Some(20), rush: RushPolicy::MayJumpQueue }
    );
    assert_eq!(
        d(Grade::B),
        DeliveryTerms { standard_days: Some(30), rush: RushPolicy::CaseByCase }
    );
    assert_eq!(d(Grade::C), DeliveryTerms { standard_days: Some(40), rush: RushPolicy::No });
    assert_eq!(d(Grade::D), DeliveryTerms { standard_days: None, rush: RushPolicy::No });
}

#[test]
fn credit_limit_per_grade() {
    let p = policy();
    let check = |g, limit| check_credit_limit(g, limit, dec!(800000.00), &p);
    assert_eq!(check(Grade::A, dec!(800000.00)), CreditVerdict::Approved);
    assert!(matches!(check(Grade::A, dec!(800000.01)), CreditVerdict::NeedsManagerApproval { .. }));
    assert_eq!(check(Grade::B, dec!(500000.00)), CreditVerdict::Approved);
    assert!(matches!(check(Grade::B, dec!(500000.01)), CreditVerdict::NeedsManagerApproval { .. }));
    assert!(matches!(check(Grade::C, dec!(100000.00)), CreditVerdict::NeedsReview { .. }));
    assert!(matches!(check(Grade::C, dec!(100000.01)), CreditVerdict::Refused { .. }));
    assert!(matches!(check(Grade::D, dec!(0.01)), CreditVerdict::Refused { .. }));
    for g in [Grade::A, Grade::B, Grade::C, Grade::D] {
        assert_eq!(check(g, dec!(0.00)), CreditVerdict::Approved, "{g} with no credit");
    }
}

#[test]
fn order_over_the_limit_needs_a_manager() {
    let p = policy();
    let net90 = PaymentTerms::NetDays { days: 90 };
    let check = |order| check_order_credit(Grade::A, dec!(1000.00), dec!(600.00), order, net90, &p);
    assert_eq!(check(dec!(400.00)), CreditVerdict::Approved);
    let over = check(dec!(400.01));
    assert_eq!(
        over,
        CreditVerdict::NeedsManagerApproval {
            reason: CreditReason::OverLimit {
                credit_limit: dec!(1000.00),
                exposure: dec!(1000.01),
                excess: dec!(0.01),
            }
        }
    );
}

#[test]
fn orders_that_defer_nothing_need_no_credit() {
    let p = policy();
    let prepay = PaymentTerms::PaymentBeforeDelivery;
    let v = check_order_credit(Grade::D, dec!(0), dec!(0), dec!(1000000.00), prepay, &p);
    assert_eq!(v, CreditVerdict::Approved);
    let cod = PaymentTerms::CashOnDelivery;
    assert_eq!(
        check_order_credit(Grade::C, dec!(0), dec!(0), dec!(5.00), cod, &p),
        CreditVerdict::Approved
    );
    // D may not even pay on delivery: its terms are payment before delivery.
    let v = check_order_credit(Grade::D, dec!(0), dec!(0), dec!(5.00), cod, &p);
    assert!(matches!(v, CreditVerdict::Refused { reason: CreditReason::TermsNotAllowed { .. } }));
}

// ---------------------------------------------------------------- §2 late payments

#[test]
fn two_late_payments_in_one_quarter_drop_terms_one_step() {
    let p = policy();
    let net90 = PaymentTerms::NetDays { days: 90 };
    let got = terms_after_late_payments(net90, &[date(2026, 1, 5), date(2026, 3, 31)], &p);
    assert_eq!(
        got,
        TermsDowngrade::Downgrade {
            from: net90,
            to: PaymentTerms::NetDays { days: 30 },
            quarter: Quarter { year: 2026, quarter: 1 },
            late_count: 2,
        }
    );
}

#[test]
fn two_late_payments_across_two_quarters_change_nothing() {
    let p = policy();
    let net90 = PaymentTerms::NetDays { days: 90 };
    let got = terms_after_late_payments(net90, &[date(2026, 3, 31), date(2026, 4, 1)], &p);
    assert_eq!(got, TermsDowngrade::NoChange);
    assert_eq!(terms_after_late_payments(net90, &[date(2026, 2, 1)], &p), TermsDowngrade::NoChange);
    assert_eq!(terms_after_late_payments(net90, &[], &p), TermsDowngrade::NoChange);
}

#[test]
fn downgrade_ladder_ends_at_payment_before_delivery() {
    let p = policy();
    let two = [date(2026, 5, 1), date(2026, 5, 1)];
    let step = |t| match terms_after_late_payments(t, &two, &p) {
        TermsDowngrade::Downgrade { to, late_count: 2, .. } => Some(to),
        _ => None,
    };
    assert_eq!(step(PaymentTerms::NetDays { days: 30 }), Some(PaymentTerms::CashOnDelivery));
    assert_eq!(step(PaymentTerms::CashOnDelivery), Some(PaymentTerms::PaymentBeforeDelivery));
    let prepay = PaymentTerms::PaymentBeforeDelivery;
    assert_eq!(
        terms_after_late_payments(prepay, &two, &p),
        TermsDowngrade::AlreadyStrictest {
            terms: prepay,
            quarter: Quarter { year: 2026, quarter: 2 },
            late_count: 2
        }
    );
}

// ---------------------------------------------------------------- §2 24-hour reply

#[test]
fn reply_exactly_at_24_hours_is_on_time() {
    let p = policy();
    let opened = at(2026, 3, 1, 9, 0, 0);
    let due = at(2026, 3, 2, 9, 0, 0);
    assert_eq!(reply_due_at(opened, &p), due);
    let later = at(2026, 3, 9, 0, 0, 0);
    assert_eq!(reply_sla(opened, Some(due), later, &p), SlaState::Met { replied_at: due });
    let late = due + Duration::seconds(1);
    assert_eq!(
        reply_sla(opened, Some(late), later, &p),
        SlaState::Breached { replied_at: late, late_by: Duration::seconds(1) }
    );
}

#[test]
fn unanswered_ticket_is_overdue_one_second_after_24_hours() {
    let p = policy();
    let opened = at(2026, 3, 1, 9, 0, 0);
    let due = opened + Duration::hours(24);
    assert_eq!(
        reply_sla(opened, None, due, &p),
        SlaState::DueSoon { due_at: due, remaining: Duration::zero() }
    );
    assert_eq!(
        reply_sla(opened, None, due + Duration::seconds(1), &p),
        SlaState::Overdue { due_at: due, overdue_by: Duration::seconds(1) }
    );
}

#[test]
fn due_soon_window_starts_four_hours_before() {
    let p = policy();
    let opened = at(2026, 3, 1, 9, 0, 0);
    let due = opened + Duration::hours(24);
    let four_h = Duration::hours(4);
    assert_eq!(
        reply_sla(opened, None, due - four_h, &p),
        SlaState::DueSoon { due_at: due, remaining: four_h }
    );
    let just_before = due - four_h - Duration::seconds(1);
    assert_eq!(
        reply_sla(opened, None, just_before, &p),
        SlaState::Pending { due_at: due, remaining: four_h + Duration::seconds(1) }
    );
    assert!(
        reply_sla(opened, None, due, &p).urgency_rank()
            < reply_sla(opened, None, opened, &p).urgency_rank()
    );
}

// ---------------------------------------------------------------- §3 visit cadence

fn customer(strategic: bool, tier: Tier, grade: Option<Grade>) -> Customer {
    Customer {
        id: CustomerId::from("cust-1"),
        // 2026-01-30 16:30 UTC is Jan 31 00:30 in China: the business date is Jan 31.
        created_at: at(2026, 1, 30, 16, 30, 0),
        profile: CustomerProfile::default(),
        annual_sales: BTreeMap::new(),
        profit_contribution: Decimal::ZERO,
        owners: vec![UserId::from("rep-1")],
        classification: Classification { strategic, tier, grade, score: None },
        credit: CreditTerms::default(),
        contacts: BTreeMap::new(),
        visits: BTreeMap::new(),
        late_payments: BTreeMap::new(),
    }
}

fn visit(c: &mut Customer, id: &str, level: VisitLevel, on: NaiveDate) {
    let record = VisitRecord {
        id: VisitId::from(id),
        level,
        date: on,
        visitor: UserId::from("rep-1"),
        topics: vec![],
        personnel_changes: String::new(),
        problems: String::new(),
        demand: String::new(),
        competitor_activity: String::new(),
    };
    c.visits.insert(record.id.clone(), record);
}

fn due_of(dues: &[VisitDue], level: VisitLevel) -> VisitDue {
    *dues.iter().find(|d| d.level == level).unwrap()
}

#[test]
fn strategic_customer_has_one_entry_per_level_from_creation() {
    let dues = visits_due(&customer(true, Tier::Key, None), &policy());
    let levels: Vec<VisitLevel> = dues.iter().map(|d| d.level).collect();
    assert_eq!(levels, VisitLevel::ALL);
    // Counted from the business date Jan 31; Jan 31 + 1 month clamps to Feb 28.
    let expect = [
        (VisitLevel::Leadership, date(2026, 7, 31)),
        (VisitLevel::AccountManager, date(2026, 2, 28)),
        (VisitLevel::Technical, date(2026, 7, 31)),
        (VisitLevel::Quality, date(2026, 4, 30)),
    ];
    for (level, next) in expect {
        assert_eq!(
            due_of(&dues, level),
            VisitDue { level, last_visit_on: None, next_due_on: next }
        );
    }
}

#[test]
fn strategic_cadence_counts_the_latest_visit_of_each_level() {
    let mut c = customer(false, Tier::Strategic, Some(Grade::B));
    visit(&mut c, "v1", VisitLevel::Leadership, date(2026, 2, 10));
    visit(&mut c, "v2", VisitLevel::AccountManager, date(2026, 3, 5));
    visit(&mut c, "v3", VisitLevel::AccountManager, date(2026, 4, 15));
    visit(&mut c, "v4", VisitLevel::Technical, date(2026, 5, 20));
    visit(&mut c, "v5", VisitLevel::Quality, date(2026, 6, 1));
    let dues = visits_due(&c, &policy());
    assert_eq!(due_of(&dues, VisitLevel::Leadership).next_due_on, date(2026, 8, 10));
    let am = due_of(&dues, VisitLevel::AccountManager);
    assert_eq!((am.last_visit_on, am.next_due_on), (Some(date(2026, 4, 15)), date(2026, 5, 15)));
    assert_eq!(due_of(&dues, VisitLevel::Technical).next_due_on, date(2026, 11, 20));
    assert_eq!(due_of(&dues, VisitLevel::Quality).next_due_on, date(2026, 9, 1));
}

#[test]
fn grade_a_customer_is_contacted_every_quarter_at_any_level() {
    let mut c = customer(false, Tier::Main, Some(Grade::A));
    visit(&mut c, "v1", VisitLevel::AccountManager, date(2026, 2, 1));
    visit(&mut c, "v2", VisitLevel::Technical, date(2026, 3, 31));
    let dues = visits_due(&c, &policy());
    assert_eq!(
        dues,
        vec![VisitDue {
            level: VisitLevel::AccountManager,
            last_visit_on: Some(date(2026, 3, 31)),
            next_due_on: date(2026, 6, 30),
        }]
    );
    assert!(!is_overdue(&dues[0], date(2026, 6, 30)));
    assert!(is_overdue(&dues[0], date(2026, 7, 1)));
}

#[test]
fn other_customers_have_no_cadence() {
    let p = policy();
    assert!(visits_due(&customer(false, Tier::Key, Some(Grade::B)), &p).is_empty());
    assert!(visits_due(&customer(false, Tier::General, None), &p).is_empty());
}

// ---------------------------------------------------------------- §4 tickets

fn ticket(kind: TicketKind, status: TicketStatus) -> ServiceTicket {
    ServiceTicket {
        id: TicketId::from("t-1"),
        customer_id: CustomerId::from("cust-1"),
        kind,
        priority: TicketPriority::Normal,
        title: "noise in lift car".to_owned(),
        description: String::new(),
        opened_at: at(2026, 3, 1, 9, 0, 0),
        opened_by: UserId::from("rep-1"),
        owner: None,
        status,
        history: BTreeMap::new(),
        replies: BTreeMap::new(),
        preventive_action: None,
        follow_up: None,
    }
}

fn followed_up(mut t: ServiceTicket) -> ServiceTicket {
    let by = UserId::from("rep-1");
    t.follow_up =
        Some(FollowUp { at: at(2026, 3, 5, 9, 0, 0), by, satisfaction: 5, notes: String::new() });
    t
}

#[test]
fn every_listed_transition_is_accepted_and_no_other() {
    use TicketStatus::*;
    let edges = [
        (New, InProgress),
        (New, Escalated),
        (New, Resolved),
        (InProgress, Escalated),
        (InProgress, Resolved),
        (Escalated, InProgress),
        (Escalated, Resolved),
        (Resolved, Closed),
        (Resolved, Reopened),
        (Closed, Reopened),
        (Reopened, InProgress),
        (Reopened, Escalated),
        (Reopened, Resolved),
    ];
    for from in TicketStatus::ALL {
        for to in TicketStatus::ALL {
            let t = followed_up(ticket(TicketKind::Complaint, *from));
            let listed = edges.contains(&(*from, *to));
            assert_eq!(check_transition(&t, *to).is_ok(), listed, "{from} → {to}");
            assert_eq!(allowed_transitions(*from).contains(to), listed, "{from} → {to}");
        }
    }
}

#[test]
fn transition_errors_name_the_problem() {
    let t = ticket(TicketKind::Inquiry, TicketStatus::New);
    assert_eq!(
        check_transition(&t, TicketStatus::New),
        Err(RuleError::SameStatus { status: TicketStatus::New })
    );
    assert_eq!(
        check_transition(&t, TicketStatus::Closed),
        Err(RuleError::TransitionNotAllowed { from: TicketStatus::New, to: TicketStatus::Closed })
    );
}

#[test]
fn closing_needs_the_follow_up_call() {
    let t = ticket(TicketKind::AfterSales, TicketStatus::Resolved);
    assert_eq!(check_transition(&t, TicketStatus::Closed), Err(RuleError::FollowUpMissing));
    assert_eq!(check_transition(&followed_up(t), TicketStatus::Closed), Ok(()));
}

#[test]
fn closing_a_quality_ticket_needs_a_verified_preventive_action() {
    let mut t = followed_up(ticket(TicketKind::Quality, TicketStatus::Resolved));
    assert_eq!(check_transition(&t, TicketStatus::Closed), Err(RuleError::PreventiveActionMissing));
    t.preventive_action = Some(PreventiveAction {
        description: "add torque check at assembly".to_owned(),
        verified_by: None,
        verified_at: None,
    });
    assert_eq!(
        check_transition(&t, TicketStatus::Closed),
        Err(RuleError::PreventiveActionNotVerified)
    );
    if let Some(action) = t.preventive_action.as_mut() {
        action.verified_by = Some(UserId::from("qa-1"));
        action.verified_at = Some(at(2026, 3, 4, 9, 0, 0));
    }
    assert_eq!(check_transition(&t, TicketStatus::Closed), Ok(()));
    // Reopening does not need any of it.
    let t = ticket(TicketKind::Quality, TicketStatus::Closed);
    assert_eq!(check_transition(&t, TicketStatus::Reopened), Ok(()));
}

#[test]
fn strategic_customers_tickets_need_a_named_owner() {
    let mut t = ticket(TicketKind::Complaint, TicketStatus::New);
    let designated = customer(true, Tier::Key, None);
    let by_tier = customer(false, Tier::Strategic, None);
    assert_eq!(check_service_owner(&t, &designated), Err(RuleError::ServiceOwnerMissing));
    assert_eq!(check_service_owner(&t, &by_tier), Err(RuleError::ServiceOwnerMissing));
    assert_eq!(check_service_owner(&t, &customer(false, Tier::Key, Some(Grade::A))), Ok(()));
    t.owner = Some(UserId::from("svc-1"));
    assert_eq!(check_service_owner(&t, &designated), Ok(()));
}

// ---------------------------------------------------------------- yearly re-grade

fn input(id: &str, sales: Decimal, tier: Tier, grade: Option<Grade>, score: u32) -> RegradeInput {
    RegradeInput {
        customer_id: CustomerId::from(id),
        strategic: false,
        leading_brand: false,
        last_year_sales: sales,
        current_tier: tier,
        current_grade: grade,
        score,
    }
}

#[test]
fn regrade_proposes_only_changes_with_reasons() {
    let p = policy();
    let inputs = [
        // Unchanged: main at exactly 5M, top score → A.
        input("c1", dec!(5000000.00), Tier::Main, Some(Grade::A), 95),
        // Tier falls: 4,999,999.99 is general; grade B stays.
        input("c2", dec!(4999999.99), Tier::Main, Some(Grade::B), 70),
        // Grade falls from B to C; tier stays general. (4 customers: cuts 1/2/4 → A B C C.)
        input("c3", dec!(100.00), Tier::General, Some(Grade::B), 60),
        // Never graded, gets C.
        input("c4", dec!(100.00), Tier::General, None, 10),
    ];
    let proposals = propose_regrades(&inputs, 2026, &p);
    let ids: Vec<&str> = proposals.iter().map(|r| r.customer_id.as_str()).collect();
    assert_eq!(ids, ["c2", "c3", "c4"]);
    let c2 = &proposals[0];
    assert_eq!((c2.current_tier, c2.proposed_tier), (Tier::Main, Tier::General));
    assert_eq!((c2.proposed_grade, c2.year, c2.score), (Grade::B, 2026, 70));
    assert_eq!(c2.reasons.len(), 1);
    assert!(
        matches!(
            &c2.reasons[0],
            RegradeReason::Tier {
                from: Tier::Main,
                to: Tier::General,
                why: TierReason::BelowMainThreshold { .. }
            }
        ),
        "{:?}",
        c2.reasons
    );
    assert!(
        c2.reasons[0].to_string().starts_with("tier main (主要客户) → general (一般客户)"),
        "{:?}",
        c2.reasons
    );
    let c3 = &proposals[1];
    assert_eq!((c3.current_grade, c3.proposed_grade), (Some(Grade::B), Grade::C));
    assert_eq!(
        c3.reasons,
        [RegradeReason::Grade { from: Some(Grade::B), to: Grade::C, score: 60, rank: 3, of: 4 }]
    );
    assert_eq!(
        c3.reasons[0].to_string(),
        "grade B → C: score 60 ranks 3 of 4 in the forced distribution"
    );
    assert_eq!((proposals[2].current_grade, proposals[2].proposed_grade), (None, Grade::C));
    assert_eq!(
        proposals[2].reasons.iter().map(ToString::to_string).collect::<Vec<_>>(),
        ["grade none → C: score 10 ranks 4 of 4 in the forced distribution"]
    );
}

#[test]
fn regrade_of_nobody_proposes_nothing() {
    assert!(propose_regrades(&[], 2026, &policy()).is_empty());
}

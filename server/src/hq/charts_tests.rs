//! The series: the cadence of a month worked out by hand, and each chart over a small demo
//! company checked against the lists its marks link to.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::arithmetic_side_effects)]

use chrono::{TimeZone, Utc};
use kam_core::model::{Classification, Grade, VisitLevel};
use rust_decimal::Decimal;

use super::*;
use crate::hq::compliance::month_entries;
use crate::hq::listing::ListParams;
use crate::hq::tickets::{TicketQuery, sorted};
use crate::web::demo_site_tests::demo_site;

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn grade_a(visits: &[(VisitLevel, &str)]) -> CadenceCustomer {
    CadenceCustomer {
        customer_id: "c-1".into(),
        name: "一号".into(),
        classification: Classification {
            strategic: false,
            tier: Tier::Main,
            grade: Some(Grade::A),
            score: None,
        },
        created_at: Utc.with_ymd_and_hms(2025, 12, 31, 16, 0, 0).unwrap(), // 2026-01-01 in Beijing
        visits: visits.iter().map(|(l, d)| (*l, day(d))).collect(),
    }
}

#[test]
fn a_month_counts_what_fell_due_by_its_end_and_was_made_within_it() {
    let policy = Policy::default();
    let window =
        |m: u32| month_window(YearMonth { year: 2026, month: m }, day("2026-12-31")).unwrap();
    // Grade A: a contact every 3 months from creation (2026-01-01): due 04-01.
    let c = grade_a(&[(VisitLevel::Technical, "2026-04-20")]);
    assert!(month_entries(&c, window(3), &policy).is_empty(), "not due before April");
    let april = month_entries(&c, window(4), &policy);
    assert_eq!(april.len(), 1);
    assert_eq!(april[0].due_on, day("2026-04-01"));
    assert_eq!(april[0].visited_on, Some(day("2026-04-20")), "any level counts for grade A");
    // Next due 07-20; a visit missed then is still owed in August.
    let july = month_entries(&c, window(7), &policy);
    assert_eq!((july[0].due_on, july[0].visited_on), (day("2026-07-20"), None));
    let august = month_entries(&c, window(8), &policy);
    assert_eq!((august[0].due_on, august[0].visited_on), (day("2026-07-20"), None), "still owed");
    let series = visits_by_month(&[c], &policy, day("2026-08-10"));
    assert_eq!(series.len(), 12, "{series:?}");
    let aug = series.last().unwrap();
    assert_eq!(
        (aug.through, aug.due, aug.made, aug.percent.as_deref()),
        (day("2026-08-10"), 1, 0, Some("0.0"))
    );
    let apr = series.iter().find(|m| m.month.month == 4).unwrap();
    assert_eq!((apr.due, apr.made, apr.percent.as_deref()), (1, 1, Some("100.0")));
    let may = series.iter().find(|m| m.month.month == 5).unwrap();
    assert_eq!((may.due, may.percent.as_deref()), (0, None), "nothing due: no share");
}

#[test]
fn the_current_month_counts_only_to_today_and_a_future_one_not_at_all() {
    let today = day("2026-11-10");
    let now = YearMonth::of(today);
    assert_eq!(month_window(now, today), Some((day("2026-11-01"), today)));
    assert_eq!(month_window(now.add_months(1), today), None);
    assert_eq!(month_window(now.prev(), today), Some((day("2026-10-01"), day("2026-10-31"))));
    let months = last_months(today);
    assert_eq!((months[0], months[11]), (YearMonth { year: 2025, month: 12 }, now));
}

#[test]
fn attainment_is_sales_over_target_without_a_target_of_zero() {
    assert_eq!(
        attainment(Decimal::from(1_200_000), Decimal::from(1_500_000)).as_deref(),
        Some("80.0")
    );
    assert_eq!(attainment(Decimal::from(2), Decimal::from(3)).as_deref(), Some("66.6"));
    assert_eq!(attainment(Decimal::from(-1), Decimal::from(3)).as_deref(), Some("-33.3"));
    assert_eq!(attainment(Decimal::ONE, Decimal::ZERO), None);
    assert_eq!(monday_of(day("2026-11-22")), day("2026-11-16"));
    assert_eq!(monday_of(day("2026-11-16")), day("2026-11-16"));
}

#[tokio::test]
async fn the_series_agree_with_the_lists_they_link_to() {
    let site = demo_site(true);
    let now = Utc::now();
    let (c, all_tickets, customers, ledger, compliance) = site
        .state
        .with_store(move |store| {
            let db = store.conn();
            let c = charts(db, store.policy(), now)?;
            let query = TicketQuery { show: Some("all".into()), ..TicketQuery::default() };
            let all = sorted(db, &query, &ListParams::default(), store.policy(), now)?;
            let (customers, _) = crate::hq::customers::matching(db, &Default::default())?;
            let months = last_months(c.today);
            let ledger = db.sales_between(months[0], months[11], None)?;
            let compliance = crate::hq::compliance::compliance(db, store.policy(), now)?;
            Ok((c, all, customers, ledger, compliance))
        })
        .await
        .unwrap();
    // Every customer once, in its tier and grade.
    let total: u64 = c.tier_grade.iter().map(|t| t.total).sum();
    assert_eq!(total, customers.len() as u64);
    for row in &c.tier_grade {
        let sum: u64 = row.grades.iter().map(|(_, n)| n).sum();
        assert_eq!(sum, row.total, "{row:?}");
        for (grade, n) in &row.grades {
            let listed = customers
                .iter()
                .filter(|l| l.tier == row.tier && l.grade.as_deref().unwrap_or("none") == grade)
                .count();
            assert_eq!(*n, listed as u64, "{} {grade}", row.tier);
        }
    }
    // Each week's counts are the tickets the list shows in that SLA state for those dates.
    let policy = Policy::default();
    for week in &c.sla_by_week {
        let in_week = |sla: &str| {
            all_tickets
                .iter()
                .filter(|t| t.sla == sla)
                .filter(|t| {
                    let opened = policy.business_date(crate::hq::instant(&t.opened_at).unwrap());
                    week.from <= opened && opened <= week.to
                })
                .count() as u64
        };
        assert_eq!(
            (week.breached, week.overdue, week.met),
            (in_week("breached"), in_week("overdue"), in_week("met"))
        );
        assert_eq!(week.opened, week.breached + week.overdue + week.met + week.waiting);
    }
    // A month's sales are the ledger's rows of that month.
    for m in &c.sales_by_month {
        let sum: Decimal =
            ledger.iter().filter(|((_, month), _)| *month == m.month).map(|(_, a)| *a).sum();
        assert_eq!(m.sales, sum, "{}", m.month);
    }
    // By rep: the visits page's counts.
    for rep in &c.visits_by_rep {
        let page = &compliance.by_rep[&rep.rep];
        assert_eq!((rep.required, rep.overdue), (page.required, page.overdue), "{}", rep.rep);
    }
    assert_eq!(c.visits_by_rep.len(), compliance.by_rep.len());
}

//! The store suite's case for the charts' reads ([`ChartQueries`]): counts by tier and grade,
//! tickets opened since an instant, exact monthly sums of the ledger and of the monthly
//! scorecards' targets, and the cadence customers with their visits oldest first.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::arithmetic_side_effects)] // Tests may panic on a broken expectation.

use std::collections::BTreeMap;

use chrono::Duration;
use kam_core::Policy;
use kam_core::demo::{self, DemoSpec};
use kam_core::model::{Grade, Scorecard, Tier, UserId, scorecard_id};
use rust_decimal::Decimal;

use super::at;
use crate::db::charts::MonthTarget;
use crate::db::projections::{CustomerFacts, TicketFacts};
use crate::db::sales::{SalesMonthRecord, YearMonth};
use crate::db::{ChartQueries, ManagementProjection, ProjectionStore, SalesLedgerStore};

fn month(text: &str) -> YearMonth {
    YearMonth::parse(text).unwrap()
}

fn target_card(person: &str, period: &str, target: Decimal) -> Scorecard {
    let person = UserId::from(person);
    Scorecard {
        id: scorecard_id(&person, period),
        person,
        period: period.to_owned(),
        sales_target: target,
        ratings: BTreeMap::new(),
        published: None,
    }
}

pub(crate) fn charts_count_and_sum_where_the_rows_are(
    db: &(impl ChartQueries + ProjectionStore + SalesLedgerStore + ManagementProjection + ?Sized),
) {
    let spec = DemoSpec {
        customers: 10,
        visits_per_customer: 3,
        tickets: 8,
        units: 1,
        buyers: 1,
        account_records: false,
        ..DemoSpec::standard(2)
    };
    let mut data = demo::generate(&spec, at(1), &Policy::default());
    data.customers[0].classification.tier = Tier::Strategic;
    data.customers[1].classification.grade = Some(Grade::A);
    data.customers[1].classification.tier = Tier::General;
    data.customers[2].classification.grade = None;
    let facts = CustomerFacts { next_visit_due: None, overdue_visits: 0, projected_at: at(1) };
    for c in &data.customers {
        db.insert_customer(c, &facts).unwrap();
    }
    for t in &data.tickets {
        let facts = TicketFacts { reply_due_at: t.opened_at, sla_code: "met", projected_at: at(1) };
        db.insert_ticket(t, &facts).unwrap();
    }

    // By tier and grade, as stored.
    let mut expected: BTreeMap<(String, Option<String>), u64> = BTreeMap::new();
    for c in &data.customers {
        let key = (
            c.classification.tier.as_str().to_owned(),
            c.classification.grade.map(|g| g.as_str().to_owned()),
        );
        *expected.entry(key).or_default() += 1;
    }
    let counted: BTreeMap<(String, Option<String>), u64> = db
        .customers_by_tier_and_grade()
        .unwrap()
        .into_iter()
        .map(|r| ((r.tier, r.grade), r.customers))
        .collect();
    assert_eq!(counted, expected);

    // Tickets opened at or after an instant, to the second.
    let mut opened: Vec<_> = data.tickets.iter().map(|t| t.opened_at).collect();
    opened.sort();
    let since = opened[opened.len() / 2];
    let mut got: Vec<_> =
        db.tickets_opened_since(since).unwrap().iter().map(|t| t.opened_at).collect();
    got.sort();
    assert_eq!(got, opened.iter().copied().filter(|o| *o >= since).collect::<Vec<_>>());
    let replied =
        data.tickets.iter().find(|t| t.opened_at >= since && t.first_reply_at().is_some());
    if let Some(t) = replied {
        let row = db
            .tickets_opened_since(since)
            .unwrap()
            .into_iter()
            .find(|r| r.opened_at == t.opened_at)
            .unwrap();
        assert_eq!(row.first_reply_at, t.first_reply_at());
    }
    assert!(
        db.tickets_opened_since(opened[opened.len() - 1] + Duration::seconds(1))
            .unwrap()
            .is_empty()
    );

    // Monthly ledger sums, exact whatever the places, and only within the range.
    let rows = [
        ("c-a", "2026-01", Decimal::new(10_001, 2)),
        ("c-b", "2026-01", Decimal::new(-250, 2)),
        ("c-c", "2026-01", Decimal::new(1, 3)),
        ("c-d", "2026-01", Decimal::new(7, 0)),
        ("c-a", "2026-02", Decimal::new(999_999_999_999_999, 2)),
        ("c-b", "2026-02", Decimal::new(1, 2)),
        ("c-a", "2026-04", Decimal::new(5, 0)),
    ];
    for (customer_id, m, amount) in rows {
        let record = SalesMonthRecord {
            customer_id,
            month: month(m),
            amount,
            source: "erp",
            imported_at: at(1),
        };
        db.upsert_sales_month(&record).unwrap();
    }
    let sums = db.sales_by_month(month("2026-01"), month("2026-03")).unwrap();
    assert_eq!(
        sums,
        BTreeMap::from([
            (month("2026-01"), Decimal::new(104_511, 3)),
            (month("2026-02"), Decimal::new(1_000_000_000_000_000, 2)),
        ])
    );

    // Monthly scorecards' targets, summed per month; yearly ones left out.
    for (person, period, target) in [
        ("rep-01", "2026-01", Decimal::new(100_000, 0)),
        ("rep-02", "2026-01", Decimal::new(5_050, 2)),
        ("rep-01", "2026-02", Decimal::ZERO),
        ("rep-01", "2026", Decimal::new(9_999_999, 0)),
        ("rep-01", "2026-05", Decimal::ONE),
    ] {
        db.insert_scorecard(&target_card(person, period, target)).unwrap();
    }
    let targets = db.scorecard_targets_by_month(month("2026-01"), month("2026-04")).unwrap();
    assert_eq!(
        targets,
        BTreeMap::from([
            (month("2026-01"), MonthTarget { target: Decimal::new(10_005_050, 2), scorecards: 2 }),
            (month("2026-02"), MonthTarget { target: Decimal::ZERO, scorecards: 1 }),
        ])
    );

    // The cadence customers: strategic by tier or designation, or graded A; visits oldest first.
    let cadence = db.cadence_visits().unwrap();
    let mut want: Vec<&kam_core::model::Customer> = data
        .customers
        .iter()
        .filter(|c| {
            let k = &c.classification;
            k.strategic || k.tier == Tier::Strategic || k.grade == Some(Grade::A)
        })
        .collect();
    want.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
    let ids: Vec<&str> = cadence.iter().map(|c| c.customer_id.as_str()).collect();
    assert_eq!(ids, want.iter().map(|c| c.id.as_str()).collect::<Vec<_>>());
    for (got, c) in cadence.iter().zip(&want) {
        assert_eq!(got.name, c.profile.name);
        assert_eq!(got.created_at, c.created_at);
        assert_eq!(
            (got.classification.tier, got.classification.grade),
            (c.classification.tier, c.classification.grade)
        );
        let mut visits: Vec<_> = c.visits.values().map(|v| (v.level, v.date)).collect();
        visits.sort_by_key(|(_, d)| *d);
        let dates: Vec<_> = got.visits.iter().map(|(_, d)| *d).collect();
        assert_eq!(dates, visits.iter().map(|(_, d)| *d).collect::<Vec<_>>(), "oldest first");
        let mut got_sorted = got.visits.clone();
        got_sorted.sort();
        visits.sort();
        assert_eq!(got_sorted, visits);
    }
}

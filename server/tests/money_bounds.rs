//! Issue 18 (ADR 0017): random, boundary and absurd money, area and ratio values — zero,
//! negatives, one fen, 28-place fractions, `Decimal::MAX` and `MIN`, every bound and one step
//! outside it, huge scales — through every path that computes with them: the rules, the
//! documents (write → save → load → read), the projection (a stored document holding the value,
//! projected by the real store), the reports (monthly and quarterly over projected rows and the
//! sales ledger) and the desk (commands through the real writer).
//!
//! The property: nothing panics, and every step gives an error or a correct value; correct
//! values are checked against an independent computation in integer hundredths (`i128`),
//! which shares no code with `Decimal`'s arithmetic. Proptest prints the failing case and
//! keeps it in `proptest-regressions/`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)]

use std::cell::RefCell;

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ROOT, ReadDoc, Value};
use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use kam_core::Policy;
use kam_core::bounds::{self, Bound};
use kam_core::demo::DemoSpec;
use kam_core::doc::{self, ActorId, DocError, Document, EditMeta};
use kam_core::model::{
    Classification, CreditTerms, Customer, CustomerId, DiscountLine, Grade, PaymentTerms, Project,
    Tier, Unit, UnitId, UserId, WorkTicketTerms,
};
use kam_core::rules::{
    self, CreditReason, CreditVerdict, PriceVerdict, RenameVerdict, UnlistedRename,
};
use kam_core::test_support::units;
use kam_server::data;
use kam_server::desk::{CommandRequest, Desk};
use kam_server::reports::{Change, monthly_report, quarterly_report};
use kam_server::store::Store;
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestRunner};
use rust_decimal::Decimal;
use serde_json::{Value as Json, json};

// ---------------------------------------------------------------------------------------------
// Values

/// Any `Decimal`: ordinary mantissas at every scale, the whole 96-bit range, and the named
/// extremes.
fn any_decimal() -> BoxedStrategy<Decimal> {
    prop_oneof![
        3 => (any::<i64>(), 0u32..=28).prop_map(|(m, s)| Decimal::new(m, s)),
        2 => (any::<u32>(), any::<u32>(), any::<u32>(), any::<bool>(), 0u32..=28)
            .prop_map(|(lo, mid, hi, neg, s)| Decimal::from_parts(lo, mid, hi, neg, s)),
        1 => prop::sample::select(vec![
            Decimal::ZERO,
            Decimal::ONE,
            Decimal::NEGATIVE_ONE,
            Decimal::MAX,
            Decimal::MIN,
            Decimal::new(1, 2),
            Decimal::new(-1, 2),
            Decimal::new(1, 28),
            Decimal::new(-1, 28),
            Decimal::from_parts(u32::MAX, u32::MAX, u32::MAX, false, 28),
        ]),
    ]
    .boxed()
}

/// The ends of `b`, one step (one unit of its last place) inside and outside each, and a
/// value one place finer than allowed.
fn edges(b: &Bound) -> BoxedStrategy<Decimal> {
    let step = Decimal::new(1, b.places);
    let finer = Decimal::new(1, b.places + 1);
    prop::sample::select(vec![
        b.min,
        b.max,
        b.min - step,
        b.min + step,
        b.max - step,
        b.max + step,
        b.min + finer,
        b.max - finer,
    ])
    .boxed()
}

/// A realistic value inside `b`, in its last place.
fn inside(b: &Bound) -> BoxedStrategy<Decimal> {
    let unit = Decimal::new(1, b.places);
    let lo = (b.min / unit).to_string().parse::<i64>().unwrap();
    let hi = (b.max / unit).to_string().parse::<i64>().unwrap();
    let places = b.places;
    (lo..=hi).prop_map(move |n| Decimal::new(n, places)).boxed()
}

/// A value for a field bounded by `b`: inside, at its edges, or anything at all.
fn value_for(b: &'static Bound) -> BoxedStrategy<Decimal> {
    prop_oneof![2 => inside(b), 2 => edges(b), 2 => any_decimal()].boxed()
}

/// Any instant chrono can hold, with its ends.
fn any_instant() -> BoxedStrategy<DateTime<Utc>> {
    let (min, max) = (DateTime::<Utc>::MIN_UTC.timestamp(), DateTime::<Utc>::MAX_UTC.timestamp());
    prop_oneof![
        (min..=max).prop_map(|s| DateTime::from_timestamp(s, 0).unwrap()),
        prop::sample::select(vec![DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC]),
    ]
    .boxed()
}

/// Any date chrono can hold.
fn any_date() -> BoxedStrategy<NaiveDate> {
    let (min, max) = (NaiveDate::MIN.num_days_from_ce(), NaiveDate::MAX.num_days_from_ce());
    prop_oneof![
        (min..=max).prop_map(|d| NaiveDate::from_num_days_from_ce_opt(d).unwrap()),
        prop::sample::select(vec![NaiveDate::MIN, NaiveDate::MAX]),
    ]
    .boxed()
}

// ---------------------------------------------------------------------------------------------
// The independent computation: integer hundredths

/// `d` in hundredths, exactly, when it has at most two places.
fn hundredths(d: Decimal) -> Option<i128> {
    let d = d.normalize();
    let scale = d.scale();
    (scale <= 2).then(|| d.mantissa() * 10i128.pow(2 - scale))
}

/// `n / d` rounded half away from zero (`d > 0`), as a person rounds to the fen.
fn div_round(n: i128, d: i128) -> i128 {
    let (q, r) = (n / d, n % d);
    if 2 * r.abs() >= d { q + n.signum() } else { q }
}

/// Hundredths as a `Decimal`, for comparing by value.
fn from_hundredths(h: i128) -> Decimal {
    Decimal::from_i128_with_scale(h, 2)
}

/// The work ticket's figures in hundredths `[total, discount, net, due, fee]`, or `None` when
/// the rule must refuse, for terms inside their documented ranges (default policy: ratio at
/// least 50 %, discounts taken at most 5 %).
fn expected_ticket(t: &WorkTicketTerms) -> Option<[i128; 5]> {
    let [price, area, ratio, fee] =
        [t.approved_unit_price, t.area_m2, t.payment_ratio_pct, t.sealing_fee].map(hundredths);
    let (price, area, ratio, fee) = (price?, area?, ratio?, fee?);
    let pcts: Option<Vec<(i128, bool)>> =
        t.discounts.iter().map(|d| hundredths(d.pct).map(|p| (p, d.taken))).collect();
    let pcts = pcts?;
    let taken: i128 = pcts.iter().filter(|(_, taken)| *taken).map(|(p, _)| p).sum();
    let valid = price > 0
        && area > 0
        && (5_000..=10_000).contains(&ratio)
        && pcts.iter().all(|(p, _)| (0..=10_000).contains(p))
        && taken <= 500
        && fee >= 0;
    if !valid {
        return None;
    }
    let total = div_round(price * area, 100);
    let discount = div_round(total * taken, 10_000);
    let net = total - discount;
    let due = div_round(net * ratio, 10_000);
    Some([total, discount, net, due, fee])
}

/// Whether every number of the terms lies in its documented range.
fn terms_in_range(t: &WorkTicketTerms) -> bool {
    bounds::UNIT_PRICE.contains(t.approved_unit_price)
        && bounds::AREA_M2.contains(t.area_m2)
        && bounds::PAYMENT_RATIO_PCT.contains(t.payment_ratio_pct)
        && t.discounts.iter().all(|d| bounds::DISCOUNT_PCT.contains(d.pct))
        && bounds::SEALING_FEE.contains(t.sealing_fee)
}

fn discount_lines() -> BoxedStrategy<Vec<DiscountLine>> {
    prop::collection::vec(
        (value_for(&bounds::DISCOUNT_PCT), any::<bool>()).prop_map(|(pct, taken)| DiscountLine {
            code: "c".into(),
            label: "优惠".into(),
            pct,
            taken,
        }),
        0..3,
    )
    .boxed()
}

/// A ratio: mostly the policy's usual range, sometimes anything.
fn ratio() -> BoxedStrategy<Decimal> {
    prop_oneof![
        3 => (5_000i64..=10_000).prop_map(|h| Decimal::new(h, 2)),
        2 => value_for(&bounds::PAYMENT_RATIO_PCT),
    ]
    .boxed()
}

fn terms() -> BoxedStrategy<WorkTicketTerms> {
    (
        value_for(&bounds::UNIT_PRICE),
        value_for(&bounds::AREA_M2),
        ratio(),
        discount_lines(),
        value_for(&bounds::SEALING_FEE),
    )
        .prop_map(|(approved_unit_price, area_m2, payment_ratio_pct, discounts, sealing_fee)| {
            WorkTicketTerms {
                approved_unit_price,
                area_m2,
                payment_ratio_pct,
                discounts,
                sealing_fee,
            }
        })
        .boxed()
}

fn config(cases: u32) -> Config {
    Config {
        cases,
        source_file: Some(file!()),
        failure_persistence: Some(Box::new(FileFailurePersistence::SourceParallel(
            "proptest-regressions",
        ))),
        ..Config::default()
    }
}

// ---------------------------------------------------------------------------------------------
// The rules

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn the_work_ticket_is_priced_exactly_or_refused(t in terms()) {
        let policy = Policy::default();
        let result = rules::price_work_ticket(&t, &policy);
        if terms_in_range(&t) {
            match (expected_ticket(&t), &result) {
                (Some([total, discount, net, due, fee]), Ok(f)) => {
                    prop_assert_eq!(f.total_price, from_hundredths(total));
                    prop_assert_eq!(f.discount_amount, from_hundredths(discount));
                    prop_assert_eq!(f.net_price, from_hundredths(net));
                    prop_assert_eq!(f.amount_due, from_hundredths(due));
                    prop_assert_eq!(f.sealing_fee, from_hundredths(fee));
                }
                (None, Err(_)) => {}
                (expected, got) => prop_assert!(false, "expected {expected:?}, got {got:?}"),
            }
        } else if let Ok(f) = &result {
            // Outside the ranges the rule may still price (the desk refuses afterwards); what
            // it states must add up.
            prop_assert_eq!(f.total_price.checked_sub(f.discount_amount), Some(f.net_price));
        }
        // The unit's own total is the ticket's first figure, or an overflow, never a panic.
        let unit = unit("u1", t.area_m2, Some(t.approved_unit_price));
        match (unit.total_price(), &result) {
            (Ok(Some(total)), Ok(f)) => prop_assert_eq!(total, f.total_price),
            (Ok(Some(_)) | Err(_), _) => {}
            (Ok(None), _) => prop_assert!(false, "a priced unit has a total"),
        }
    }

    #[test]
    fn grade_prices_and_credit_are_judged_exactly(
        grade in prop::sample::select(Grade::ALL.to_vec()),
        internal in value_for(&bounds::UNIT_TOTAL_PRICE),
        offered in value_for(&bounds::UNIT_TOTAL_PRICE),
        limit in value_for(&bounds::CREDIT_LIMIT),
        outstanding in value_for(&bounds::CREDIT_LIMIT),
        order in value_for(&bounds::CREDIT_LIMIT),
    ) {
        let policy = Policy::default();
        let verdict = rules::check_price(grade, internal, offered, &policy);
        if let (Some(i), Some(o)) = (hundredths(internal), hundredths(offered))
            && bounds::UNIT_TOTAL_PRICE.contains(internal)
            && bounds::UNIT_TOTAL_PRICE.contains(offered)
        {
            let cap = hundredths(policy.grades.max_discount_pct.get(grade)).unwrap();
            // offered ≥ internal × (100 − cap) / 100, in hundredths of a percent.
            let allowed = o * 10_000 >= i * (10_000 - cap);
            let approved = matches!(verdict, PriceVerdict::Approved { .. });
            prop_assert_eq!(approved, i > 0 && allowed, "{:?}", verdict);
        }
        let terms = PaymentTerms::NetDays { days: 90 };
        let verdict = rules::check_order_credit(Grade::A, limit, outstanding, order, terms, &policy);
        let amounts = [limit, outstanding, order];
        if amounts.iter().all(|a| bounds::CREDIT_LIMIT.contains(*a)) {
            let [l, s, o] = amounts.map(|a| hundredths(a).unwrap());
            match verdict {
                CreditVerdict::Approved => prop_assert!(s + o <= l),
                CreditVerdict::NeedsManagerApproval {
                    reason: CreditReason::OverLimit { exposure, excess, .. },
                } => {
                    prop_assert_eq!(exposure, from_hundredths(s + o));
                    prop_assert_eq!(excess, from_hundredths(s + o - l));
                }
                other => prop_assert!(false, "{other:?}"),
            }
        }
        let _ = rules::check_credit_limit(grade, limit, outstanding, &policy);
    }

    #[test]
    fn fees_are_charged_exactly_or_refused(
        market in value_for(&bounds::UNIT_TOTAL_PRICE),
        contract in value_for(&bounds::UNIT_TOTAL_PRICE),
        fee in value_for(&bounds::LOAN_SWITCH_FEE),
    ) {
        let policy = Policy::default();
        let request = rules::RenameRequest {
            from_listed: true,
            to_listed: false,
            unlisted: UnlistedRename::ChargeFee,
            market_price: market,
            contract_price: contract,
        };
        let verdict = rules::check_rename(&request, &policy);
        if bounds::UNIT_TOTAL_PRICE.contains(market) && bounds::UNIT_TOTAL_PRICE.contains(contract) {
            let difference = (hundredths(market).unwrap() - hundredths(contract).unwrap()).max(0);
            let expected = from_hundredths(div_round(difference * 50, 100));
            prop_assert_eq!(verdict, RenameVerdict::AllowedWithFee { fee: expected });
        } else {
            prop_assert!(matches!(verdict, RenameVerdict::Refused { .. }), "{:?}", verdict);
        }
        let ok = rules::check_loan_switch_fee(fee, &policy).is_ok();
        let in_policy = hundredths(fee).is_some_and(|h| (100_000..=300_000).contains(&h));
        prop_assert_eq!(ok, in_policy);
    }

    #[test]
    fn dates_and_instants_at_the_ends_of_time_never_panic(
        due in prop::collection::vec(any_date(), 0..6),
        deadline in any_date(),
        paid in prop::option::of(any_date()),
        today in any_date(),
        opened in any_instant(),
        replied in prop::option::of(any_instant()),
        now in any_instant(),
    ) {
        let policy = Policy::default();
        let _ = rules::terms_after_late_payments(PaymentTerms::NetDays { days: 90 }, &due, &policy);
        let repricing = rules::late_repricing(deadline, paid, today);
        let settled = paid.unwrap_or(today);
        prop_assert_eq!(repricing.must_reprice(), settled > deadline);
        let _ = rules::paper_due_on(deadline, &policy);
        let due_at = rules::reply_due_at(opened, &policy);
        prop_assert!(due_at >= opened);
        let _ = rules::reply_sla(opened, replied, now, &policy);
    }

    #[test]
    fn tiers_scores_and_regrades_never_panic(
        sales in prop::collection::vec(value_for(&bounds::ANNUAL_SALES), 1..8),
        points in prop::collection::vec(any::<u32>(), 8),
        scores in prop::collection::vec(any::<u32>(), 1..8),
        year in any::<i32>(),
    ) {
        let policy = Policy::default();
        let inputs = rules::ScoreInputs {
            sales_scale: points[0],
            payment_reputation: points[1],
            product_margin: points[2],
            order_volume: points[3],
            sales_model: points[4],
            share_of_their_sales: points[5],
            years_of_business: points[6],
            industry_reputation: points[7],
        };
        let max = policy.scoring.factor_max_points;
        let within = kam_core::policy::ScoreFactor::ALL.iter().all(|f| inputs.get(*f) <= max.get(*f));
        let total: u64 = points.iter().map(|p| u64::from(*p)).sum();
        match rules::score(&inputs, &policy) {
            Ok(score) => prop_assert!(within && u64::from(score) == total),
            Err(_) => prop_assert!(!within),
        }
        let regrade: Vec<rules::RegradeInput> = sales
            .iter()
            .zip(scores.iter().cycle())
            .enumerate()
            .map(|(i, (s, score))| {
                let _ = rules::tier_for(*s, i % 2 == 0, false, &policy);
                let _ = rules::purchase_class_for(*s, &policy);
                rules::RegradeInput {
                    customer_id: CustomerId::from(format!("c{i}").as_str()),
                    strategic: false,
                    leading_brand: i % 2 == 0,
                    last_year_sales: *s,
                    current_tier: Tier::General,
                    current_grade: None,
                    score: *score,
                }
            })
            .collect();
        let _ = rules::propose_regrades(&regrade, year, &policy);
    }

    #[test]
    fn report_changes_are_exact_or_an_error(
        current in value_for(&bounds::LEDGER_MONTH_AMOUNT),
        previous in value_for(&bounds::LEDGER_MONTH_AMOUNT),
    ) {
        match Change::between(current, previous) {
            Ok(change) => prop_assert_eq!(Some(change.amount), current.checked_sub(previous)),
            Err(_) => prop_assert_eq!(current.checked_sub(previous), None),
        }
        if bounds::LEDGER_MONTH_AMOUNT.contains(current) && bounds::LEDGER_MONTH_AMOUNT.contains(previous) {
            let change = Change::between(current, previous).unwrap();
            let exact = hundredths(current).unwrap() - hundredths(previous).unwrap();
            prop_assert_eq!(change.amount, from_hundredths(exact));
        }
    }

    #[test]
    fn a_policy_outside_its_ranges_is_refused(
        ttl in any::<u64>(),
        ratio in value_for(&bounds::POLICY_MIN_PAYMENT_RATIO),
        cap in value_for(&bounds::POLICY_MAX_TOTAL_DISCOUNT),
    ) {
        let text = format!(
            "[selection]\nhold_ttl_seconds = {ttl}\nmin_payment_ratio_pct = \"{ratio}\"\n\
             max_total_discount_pct = \"{cap}\"\n"
        );
        let expected = bounds::POLICY_HOLD_TTL.check_u64(ttl).is_ok()
            && bounds::POLICY_MIN_PAYMENT_RATIO.contains(ratio)
            && bounds::POLICY_MAX_TOTAL_DISCOUNT.contains(cap);
        match Policy::from_toml_str(&text) {
            Ok(p) => prop_assert!(expected && p.selection.hold_ttl_seconds == ttl),
            // A TTL beyond TOML's integers is a parse error; the rest are range errors.
            Err(e) => prop_assert!(!expected, "{}", e),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The documents

fn meta() -> EditMeta {
    EditMeta::new(&UserId::from("hq-1"), Utc.with_ymd_and_hms(2026, 4, 1, 8, 0, 0).unwrap(), "test")
}

fn unit(id: &str, area_m2: Decimal, unit_price: Option<Decimal>) -> Unit {
    units::unit_priced(id, area_m2, unit_price)
}

fn project(area: Decimal, price: Decimal) -> Project {
    units::project_of([unit("u1", area, Some(price))])
}

fn customer(credit_limit: Decimal, sales: Decimal, profit: Decimal) -> Customer {
    Customer {
        id: CustomerId::from("c1"),
        created_at: Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap(),
        profile: Default::default(),
        annual_sales: [(2025, sales)].into(),
        profit_contribution: profit,
        owners: vec![UserId::from("rep-1")],
        classification: Classification::default(),
        credit: CreditTerms { credit_limit, ..CreditTerms::default() },
        contacts: Default::default(),
        visits: Default::default(),
        late_payments: Default::default(),
    }
}

/// Saves and loads `doc` again, as a replica or the server would between two uses.
fn reload(doc: &mut Document) -> Document {
    Document::load(doc.id().clone(), &doc.save(), ActorId::random()).unwrap()
}

/// The map at `path` under the root of `am`.
fn map_at(am: &AutoCommit, path: &[&str]) -> ObjId {
    path.iter().fold(ROOT, |obj, key| match am.get(&obj, *key).unwrap() {
        Some((Value::Object(_), id)) => id,
        other => panic!("no map at {key}: {other:?}"),
    })
}

/// `bytes` with the field at `path` set to `text`, written past the typed API: what a device
/// of another build, a sync from a compromised device or a damaged file could hold.
fn with_raw_field(bytes: &[u8], path: &[&str], text: &str) -> Vec<u8> {
    let mut am = AutoCommit::load(bytes).unwrap();
    let (key, parents) = path.split_last().unwrap();
    let obj = map_at(&am, parents);
    am.put(&obj, *key, text).unwrap();
    am.commit();
    am.save()
}

fn is_out_of_range(result: &Result<impl std::fmt::Debug, DocError>) -> bool {
    matches!(result, Err(DocError::OutOfRange { .. }))
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn a_project_round_trips_or_is_refused(
        area in value_for(&bounds::AREA_M2),
        price in value_for(&bounds::UNIT_PRICE),
        poison in any_decimal(),
    ) {
        let in_range = bounds::AREA_M2.contains(area) && bounds::UNIT_PRICE.contains(price);
        let created = doc::create_project(&project(area, price), ActorId::random(), &meta());
        prop_assert_eq!(created.is_ok(), in_range, "{:?}", created.as_ref().err());
        if !in_range {
            prop_assert!(is_out_of_range(&created));
            return Ok(());
        }
        let mut created = created.unwrap();
        let read = doc::read_project(&reload(&mut created)).unwrap();
        let u = &read.units[&UnitId::from("u1")];
        prop_assert_eq!((u.area_m2, u.unit_price), (area, Some(price)));
        let expected = div_round(hundredths(price).unwrap() * hundredths(area).unwrap(), 100);
        prop_assert_eq!(u.total_price(), Ok(Some(from_hundredths(expected))));
        // Approving a new price through the typed edit is refused beyond the range.
        let mut edited = reload(&mut created);
        let edit = doc::ProjectEdit::ApprovePrice {
            unit_id: UnitId::from("u1"),
            unit_price: poison,
            approval: u.approval.clone().unwrap(),
        };
        let result = doc::edit_project(&mut edited, &edit, &meta());
        prop_assert_eq!(result.is_ok(), bounds::UNIT_PRICE.contains(poison));
        // A value written past the typed API makes the read fail, never the arithmetic.
        for field in ["unit_price", "area_m2"] {
            let bytes = with_raw_field(&created.save(), &["units", "u1", field], &poison.to_string());
            let poisoned = Document::load(created.id().clone(), &bytes, ActorId::random()).unwrap();
            let bound = if field == "area_m2" { &bounds::AREA_M2 } else { &bounds::UNIT_PRICE };
            let read = doc::read_project(&poisoned);
            prop_assert_eq!(read.is_ok(), bound.contains(poison), "{}: {:?}", field, read.as_ref().err());
            let units = doc::read_units(&poisoned, &[UnitId::from("u1")]);
            prop_assert_eq!(units.is_ok(), bound.contains(poison));
        }
    }

    #[test]
    fn a_customer_round_trips_or_is_refused(
        limit in value_for(&bounds::CREDIT_LIMIT),
        sales in value_for(&bounds::ANNUAL_SALES),
        profit in value_for(&bounds::PROFIT_CONTRIBUTION),
        poison in any_decimal(),
    ) {
        let in_range = bounds::CREDIT_LIMIT.contains(limit)
            && bounds::ANNUAL_SALES.contains(sales)
            && bounds::PROFIT_CONTRIBUTION.contains(profit);
        let created = doc::create_customer(&customer(limit, sales, profit), ActorId::random(), &meta());
        prop_assert_eq!(created.is_ok(), in_range);
        if !in_range {
            prop_assert!(is_out_of_range(&created));
            return Ok(());
        }
        let mut created = created.unwrap();
        let read = doc::read_customer(&reload(&mut created)).unwrap();
        prop_assert_eq!(read.credit.credit_limit, limit);
        prop_assert_eq!(read.annual_sales[&2025], sales);
        prop_assert_eq!(read.profit_contribution, profit);
        for (path, bound) in [
            (&["credit", "credit_limit"][..], &bounds::CREDIT_LIMIT),
            (&["annual_sales", "2025"][..], &bounds::ANNUAL_SALES),
            (&["profit_contribution"][..], &bounds::PROFIT_CONTRIBUTION),
        ] {
            let bytes = with_raw_field(&created.save(), path, &poison.to_string());
            let poisoned = Document::load(created.id().clone(), &bytes, ActorId::random()).unwrap();
            let read = doc::read_customer(&poisoned);
            prop_assert_eq!(read.is_ok(), bound.contains(poison), "{:?}: {:?}", path, read.as_ref().err());
            if path[0] == "credit" {
                prop_assert_eq!(doc::read_protected_fields(&poisoned).is_ok(), bound.contains(poison));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The projection and the reports, over the real store

/// A server data directory with the small demo company loaded and projected.
struct Company {
    _dir: tempfile::TempDir,
    store: Store,
    /// A second connection to the server's database, for what the typed API refuses to write.
    db: rusqlite::Connection,
}

impl Company {
    fn new() -> Company {
        let dir = tempfile::tempdir().unwrap();
        let mut store = data::open_store(dir.path()).unwrap();
        let spec =
            DemoSpec { customers: 6, tickets: 4, units: 6, buyers: 4, ..DemoSpec::standard(2) };
        data::load_demo(&mut store, &spec, Utc::now()).unwrap();
        let db = rusqlite::Connection::open(store.path()).unwrap();
        db.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
        Company { _dir: dir, store, db }
    }

    fn one(&self, sql: &str) -> String {
        self.db.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    /// Sets the field at `path` of stored document `doc_id` to `text` past the typed API, with
    /// the next sequence number, so the projector takes it up as it would a synced change.
    fn poison(&self, doc_id: &str, path: &[&str], text: &str) {
        let mut bytes: Vec<u8> = self
            .db
            .query_row("SELECT snapshot FROM documents WHERE doc_id = ?1", [doc_id], |r| r.get(0))
            .unwrap();
        let mut chunks = self
            .db
            .prepare("SELECT data FROM document_chunks WHERE doc_id = ?1 ORDER BY seq")
            .unwrap();
        for chunk in chunks.query_map([doc_id], |r| r.get::<_, Vec<u8>>(0)).unwrap() {
            bytes.extend(chunk.unwrap());
        }
        let saved = with_raw_field(&bytes, path, text);
        self.db
            .execute_batch("BEGIN IMMEDIATE; UPDATE change_seq SET value = value + 1 WHERE id = 1;")
            .unwrap();
        self.db.execute("DELETE FROM document_chunks WHERE doc_id = ?1", [doc_id]).unwrap();
        self.db
            .execute(
                "UPDATE documents SET snapshot = ?2, chunk_count = 0, chunk_bytes = 0,
                     seq = (SELECT value FROM change_seq WHERE id = 1)
                 WHERE doc_id = ?1",
                rusqlite::params![doc_id, saved],
            )
            .unwrap();
        self.db.execute_batch("COMMIT").unwrap();
    }
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(config(cases))
}

/// Which stored field a projection case poisons.
#[derive(Clone, Copy, Debug)]
enum Field {
    UnitPrice,
    Area,
    CreditLimit,
    AnnualSales,
}

#[test]
fn the_projector_projects_in_range_values_and_refuses_the_others_without_panicking() {
    let company = RefCell::new(Company::new());
    let fields = prop::sample::select(vec![
        Field::UnitPrice,
        Field::Area,
        Field::CreditLimit,
        Field::AnnualSales,
    ]);
    let strategy = fields.prop_flat_map(|field| {
        let bound = match field {
            Field::UnitPrice => &bounds::UNIT_PRICE,
            Field::Area => &bounds::AREA_M2,
            Field::CreditLimit => &bounds::CREDIT_LIMIT,
            Field::AnnualSales => &bounds::ANNUAL_SALES,
        };
        (Just(field), Just(bound), value_for(bound))
    });
    runner(32)
        .run(&strategy, |(field, bound, value)| {
            let mut c = company.borrow_mut();
            let (doc_id, path): (String, Vec<String>) = match field {
                Field::UnitPrice | Field::Area => {
                    let unit = c.one("SELECT unit_id FROM units ORDER BY unit_id LIMIT 1");
                    let project = c.one("SELECT project_id FROM units LIMIT 1");
                    let key = if matches!(field, Field::Area) { "area_m2" } else { "unit_price" };
                    (format!("project/{project}"), vec!["units".into(), unit, key.into()])
                }
                Field::CreditLimit => {
                    let id = c.one("SELECT customer_id FROM customers ORDER BY customer_id LIMIT 1");
                    (format!("customer/{id}"), vec!["credit".into(), "credit_limit".into()])
                }
                Field::AnnualSales => {
                    let id = c.one("SELECT customer_id FROM customers ORDER BY customer_id LIMIT 1");
                    (format!("customer/{id}"), vec!["annual_sales".into(), "2025".into()])
                }
            };
            let path: Vec<&str> = path.iter().map(String::as_str).collect();
            c.poison(&doc_id, &path, &value.to_string());
            // The projector never fails on a document's values: a document it cannot
            // project is set aside (ADR 0013) and the batch goes on.
            let result = c.store.project_pending(1_000, Utc::now());
            prop_assert!(result.is_ok(), "{:?}", result);
            let set_aside = is_set_aside(&c.store, &doc_id);
            prop_assert_eq!(set_aside, !bound.contains(value), "{} {}", doc_id, value);
            if set_aside {
                // Repaired, it is projected and leaves the quarantine.
                let fixed = match field {
                    Field::UnitPrice => "20000",
                    Field::Area => "100",
                    Field::CreditLimit => "500000",
                    Field::AnnualSales => "1000000",
                };
                c.poison(&doc_id, &path, fixed);
                prop_assert!(c.store.project_pending(1_000, Utc::now()).is_ok());
                prop_assert!(!is_set_aside(&c.store, &doc_id));
                return Ok(());
            }
            // Projected: the row holds the value, and a unit's total is exact.
            let entity = doc_id.split_once('/').unwrap().1.to_owned();
            match field {
                Field::UnitPrice | Field::Area => {
                    let (price, area, total): (Option<String>, String, Option<String>) = c
                        .db
                        .query_row(
                            "SELECT unit_price, area_m2, total_price FROM units
                             WHERE project_id = ?1 AND unit_id = ?2",
                            [&entity, path[1]],
                            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                        )
                        .unwrap();
                    let area: Decimal = area.parse().unwrap();
                    if matches!(field, Field::Area) {
                        prop_assert_eq!(area, value);
                    }
                    if let Some(price) = price {
                        let price: Decimal = price.parse().unwrap();
                        let expected =
                            div_round(hundredths(price).unwrap() * hundredths(area).unwrap(), 100);
                        let total: Decimal = total.unwrap().parse().unwrap();
                        prop_assert_eq!(total, from_hundredths(expected));
                    }
                }
                Field::CreditLimit => {
                    let limit: String = c
                        .db
                        .query_row("SELECT credit_limit FROM customers WHERE customer_id = ?1", [&entity], |r| r.get(0))
                        .unwrap();
                    prop_assert_eq!(limit.parse::<Decimal>().unwrap(), value);
                }
                Field::AnnualSales => {
                    let amount: String = c
                        .db
                        .query_row(
                            "SELECT amount FROM customer_sales_years WHERE customer_id = ?1 AND year = 2025",
                            [&entity],
                            |r| r.get(0),
                        )
                        .unwrap();
                    prop_assert_eq!(amount.parse::<Decimal>().unwrap(), value);
                }
            }
            Ok(())
        })
        .unwrap();
    // A value neither in range nor a number at all is refused the same way.
    let mut c = company.borrow_mut();
    let id = c.one("SELECT customer_id FROM customers ORDER BY customer_id LIMIT 1");
    for text in ["79228162514264337593543950336", "1e400", "NaN"] {
        c.poison(&format!("customer/{id}"), &["credit", "credit_limit"], text);
        c.store.project_pending(1_000, Utc::now()).unwrap();
        assert!(is_set_aside(&c.store, &format!("customer/{id}")), "{text}");
    }
    c.poison(&format!("customer/{id}"), &["credit", "credit_limit"], "500000");
    c.store.project_pending(1_000, Utc::now()).unwrap();
    assert!(!is_set_aside(&c.store, &format!("customer/{id}")));
}

/// Whether the projector set `doc_id` aside.
fn is_set_aside(store: &kam_server::store::Store, doc_id: &str) -> bool {
    kam_server::quarantine::list(store.conn(), 1_000)
        .unwrap()
        .iter()
        .any(|q| q.task == "projection" && q.doc_id == doc_id)
}

#[test]
fn the_reports_sum_the_ledger_exactly_or_refuse_it() {
    let company = RefCell::new(Company::new());
    let customers: Vec<String> = {
        let c = company.borrow();
        let mut stmt =
            c.db.prepare("SELECT customer_id FROM customers ORDER BY customer_id").unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    };
    let n = customers.len();
    let amounts = prop::collection::vec(value_for(&bounds::LEDGER_MONTH_AMOUNT), n * 3);
    runner(32)
        .run(&amounts, |amounts| {
            let mut c = company.borrow_mut();
            let months = ["2001-01", "2001-02", "2001-03"];
            let mut csv = String::from("customer_id,month,amount\n");
            for (i, amount) in amounts.iter().enumerate() {
                csv.push_str(&format!("{},{},{amount}\n", customers[i % n], months[i / n]));
            }
            let now = Utc::now();
            let valid = amounts.iter().all(|a| bounds::LEDGER_MONTH_AMOUNT.contains(*a));
            let imported = c.store.import_sales(&csv, "test", now);
            prop_assert_eq!(imported.is_ok(), valid, "{:?}", imported);
            if !valid {
                return Ok(());
            }
            let policy = Policy::default();
            let amount =
                |customer: usize, month: usize| hundredths(amounts[month * n + customer]).unwrap();
            let monthly = monthly_report(c.store.conn(), "2001-03", &policy, now).unwrap();
            let mut volume = 0i128;
            for row in &monthly.rows {
                let i = customers.iter().position(|id| *id == row.customer_id).unwrap();
                prop_assert_eq!(row.volume, from_hundredths(amount(i, 2)));
                prop_assert_eq!(row.last_month, from_hundredths(amount(i, 1)));
                prop_assert_eq!(
                    row.ytd,
                    from_hundredths(amount(i, 0) + amount(i, 1) + amount(i, 2))
                );
                volume += amount(i, 2);
            }
            prop_assert_eq!(monthly.totals.volume, from_hundredths(volume));
            let quarterly = quarterly_report(c.store.conn(), "2001-Q1", &policy, now).unwrap();
            let mut sales = 0i128;
            for row in &quarterly.rows {
                let i = customers.iter().position(|id| *id == row.customer_id).unwrap();
                let quarter = amount(i, 0) + amount(i, 1) + amount(i, 2);
                prop_assert_eq!(row.sales, from_hundredths(quarter));
                sales += quarter;
            }
            prop_assert_eq!(quarterly.totals.sales, from_hundredths(sales));
            Ok(())
        })
        .unwrap();
    // A ledger row outside its range in stored data makes the report an error, not a panic.
    let c = company.borrow();
    c.db.execute(
        "INSERT OR REPLACE INTO sales_monthly (customer_id, month, amount, source, imported_at)
         VALUES (?1, '2001-03', '79228162514264337593543950335', 'damaged', '2026-01-01')",
        [&customers[0]],
    )
    .unwrap();
    let now = Utc::now();
    assert!(monthly_report(c.store.conn(), "2001-03", &Policy::default(), now).is_err());
    assert!(quarterly_report(c.store.conn(), "2001-Q1", &Policy::default(), now).is_err());
}

// ---------------------------------------------------------------------------------------------
// The desk, through its real writer

const STAFF: &str = "kam_demo_staff-01";
const FINANCE: &str = "kam_demo_finance-01";
const HQ: &str = "kam_demo_hq-01";

struct Venue {
    company: Company,
    desk: Desk,
    rt: tokio::runtime::Runtime,
    event: String,
    units: Vec<String>,
    buyers: Vec<String>,
}

impl Venue {
    fn new() -> Venue {
        let company = Company::new();
        let store = &company.store;
        let desk = Desk::start(&store.desk_path(), store.path(), Policy::default()).unwrap();
        let conn = store.desk_file().unwrap();
        let event: String =
            conn.query_row("SELECT event_id FROM desk_events", [], |r| r.get(0)).unwrap();
        let column = |sql: &str| -> Vec<String> {
            let mut stmt = conn.prepare(sql).unwrap();
            stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
        };
        let units = column("SELECT unit_id FROM desk_allotments ORDER BY unit_id");
        let buyers = column("SELECT buyer_id FROM desk_buyers ORDER BY lottery_no");
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        Venue { company, desk, rt, event, units, buyers }
    }

    /// Sends `command` and returns the HTTP status and the answer; never a 5xx.
    fn send(&self, token: &str, command: Json) -> (u16, Json) {
        let request: CommandRequest = serde_json::from_value(json!({
            "idempotency_key": uuid::Uuid::now_v7().to_string(),
            "event_id": self.event,
            "command": command,
        }))
        .unwrap();
        let reply = self.rt.block_on(
            self.desk.submit(kam_server::desk::Caller::Device(token.to_owned()), request),
        );
        let body: Json = serde_json::from_str(&reply.body).unwrap();
        assert!(reply.status().as_u16() < 500, "{command} -> {body}");
        (reply.status().as_u16(), body)
    }

    fn ok(&self, token: &str, command: Json) -> Json {
        let (status, answer) = self.send(token, command.clone());
        assert_eq!(status, 200, "{command} -> {answer}");
        answer["result"].clone()
    }

    /// A unit's column that may be NULL (its approved price, its hold), as JSON.
    fn unit_json(&self, unit: &str, column: &str) -> Json {
        let value: Option<String> = self
            .company
            .store
            .desk_file()
            .unwrap()
            .query_row(
                &format!("SELECT {column} FROM desk_units WHERE unit_id = ?1"),
                [unit],
                |r| r.get(0),
            )
            .unwrap();
        json!(value)
    }

    fn unit_text(&self, unit: &str, column: &str) -> String {
        self.company
            .store
            .desk_file()
            .unwrap()
            .query_row(
                &format!("SELECT {column} FROM desk_units WHERE unit_id = ?1"),
                [unit],
                |r| r.get(0),
            )
            .unwrap()
    }
}

fn refusal(answer: &Json) -> &str {
    answer["refusal"]["code"].as_str().unwrap_or_default()
}

fn ticket_command(unit: &str, hold_id: &Json, t: &WorkTicketTerms) -> Json {
    json!({ "kind": "prepare_work_ticket", "unit_id": unit, "hold_id": hold_id,
            "payment_ratio_pct": t.payment_ratio_pct.to_string(),
            "discounts": t.discounts, "sealing_fee": t.sealing_fee.to_string() })
}

#[test]
fn the_desk_refuses_out_of_range_numbers_and_prices_the_rest_exactly() {
    let venue = Venue::new();
    let v = &venue;
    v.ok(STAFF, json!({ "kind": "set_mode", "mode": "free" }));
    let (priced, ticketed, paid) = (&v.units[0], &v.units[1], &v.units[2]);
    // A ticket to record receipts against: held for the last buyer, drawn up at 60 %.
    v.ok(STAFF, json!({ "kind": "hold", "unit_id": paid, "buyer_id": v.buyers[1] }));
    let usual = WorkTicketTerms {
        approved_unit_price: Decimal::ZERO,
        area_m2: Decimal::ZERO,
        payment_ratio_pct: Decimal::from(60),
        discounts: Vec::new(),
        sealing_fee: Decimal::ZERO,
    };
    let ticket =
        v.ok(STAFF, ticket_command(paid, &v.unit_json(paid, "hold_id"), &usual))["ticket_id"]
            .as_str()
            .unwrap()
            .to_owned();
    let received = RefCell::new(0i128);
    let strategy = (
        value_for(&bounds::UNIT_PRICE),
        (ratio(), discount_lines(), value_for(&bounds::SEALING_FEE)),
        value_for(&bounds::RECEIPT_AMOUNT),
    );
    runner(24)
        .run(&strategy, |(price, (ratio, discounts, fee), amount)| {
            // A price: approved in range, refused (never stored) outside it.
            let (status, answer) = v.send(
                HQ,
                json!({ "kind": "approve_price", "unit_id": priced,
                "unit_price": price.to_string(),
                "approvers": ["sales-director", "finance-director", "project-head", "gm", "chairman"],
                "price_seen": v.unit_json(priced, "unit_price") }),
            );
            let approvable = price > Decimal::ZERO && bounds::UNIT_PRICE.contains(price);
            prop_assert_eq!(status == 200, approvable, "{}", answer);
            if approvable {
                let stored: Decimal = v.unit_text(priced, "unit_price").parse().unwrap();
                prop_assert_eq!(stored, price);
            } else {
                prop_assert!(
                    ["invalid_price", "out_of_range"].contains(&refusal(&answer)),
                    "{}",
                    answer
                );
            }
            // A work ticket: exact figures in range, refused outside it; then released.
            v.ok(STAFF, json!({ "kind": "hold", "unit_id": ticketed, "buyer_id": v.buyers[0] }));
            let terms = WorkTicketTerms {
                approved_unit_price: v.unit_text(ticketed, "unit_price").parse().unwrap(),
                area_m2: v.unit_text(ticketed, "area_m2").parse().unwrap(),
                payment_ratio_pct: ratio,
                discounts,
                sealing_fee: fee,
            };
            let hold_id = v.unit_json(ticketed, "hold_id");
            let (status, answer) = v.send(STAFF, ticket_command(ticketed, &hold_id, &terms));
            let expected = if terms_in_range(&terms) { expected_ticket(&terms) } else { None };
            match expected {
                Some([total, discount, net, due, fee]) => {
                    prop_assert_eq!(status, 200, "{}", answer);
                    let figures = &answer["result"]["figures"];
                    for (name, h) in [
                        ("total_price", total),
                        ("discount_amount", discount),
                        ("net_price", net),
                        ("amount_due", due),
                        ("sealing_fee", fee),
                    ] {
                        let stated: Decimal = figures[name].as_str().unwrap().parse().unwrap();
                        prop_assert_eq!(stated, from_hundredths(h), "{}", name);
                    }
                }
                None => prop_assert_eq!(status, 409, "{}", answer),
            }
            v.ok(
                STAFF,
                json!({ "kind": "release", "unit_id": ticketed, "hold_id": hold_id,
                        "reason": "test" }),
            );
            // A receipt: recorded and summed exactly in range, refused outside it.
            let (status, answer) = v.send(
                FINANCE,
                json!({ "kind": "record_receipt",
                "ticket_id": ticket, "amount": amount.to_string(), "method": "transfer" }),
            );
            let recordable = amount > Decimal::ZERO
                && amount.scale() <= 2
                && bounds::RECEIPT_AMOUNT.contains(amount);
            prop_assert_eq!(status == 200, recordable, "{}", answer);
            if recordable {
                let mut total = received.borrow_mut();
                *total += hundredths(amount).unwrap();
                let stated: Decimal =
                    answer["result"]["received_total"].as_str().unwrap().parse().unwrap();
                prop_assert_eq!(stated, from_hundredths(*total));
            } else {
                prop_assert!(
                    ["invalid_amount", "out_of_range"].contains(&refusal(&answer)),
                    "{}",
                    answer
                );
            }
            Ok(())
        })
        .unwrap();
    // Issue 18's reproduction: refused at the desk, and nothing reaches the documents.
    let (status, answer) = v.send(
        HQ,
        json!({ "kind": "approve_price", "unit_id": priced,
        "unit_price": "79228162514264337593543950335",
        "approvers": ["sales-director", "finance-director", "project-head", "gm", "chairman"],
        "price_seen": v.unit_json(priced, "unit_price") }),
    );
    assert_eq!((status, refusal(&answer)), (409, "out_of_range"), "{answer}");
}

//! Account management end to end (issue 23): the real server binary on 127.0.0.1 with the small
//! demo company, a rep's real kam-core tablet, headquarters' JSON API, the dashboard's forms and
//! the command line.
//!
//! A rep identifies a lead on one of their customers and works it from market research to won
//! while the tablet does not sync, and takes a satisfaction survey the same way; one sync later
//! headquarters sees the lead won in the pipeline (with every stage change, nothing compensated)
//! and the customer's satisfaction factor moved by the survey. Headquarters approves a draft
//! plan of the demo and evaluates its last ended quarter: the actuals are the sales ledger's
//! months of that quarter. The scorecards of the last complete month are computed from the
//! server's records (`admin publish-scorecards`), exported as .xlsx and reach the rep's tablet
//! with how each figure was computed. An open measure of the monthly leadership review is closed
//! on its page (refused without the confirmation, then closed).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)]

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;

use calamine::{Reader, Xlsx};
use chrono::{Datelike, Months, Utc};
use kam_core::accounts::{self, NewSurvey, PlanContent};
use kam_core::model::{
    self, AccountPlan, CustomerId, LeadCriteria, LeadStage, PlanFunction, PlanGoals, Scorecard,
    SurveyItem, SurveyKind, UserId,
};
use kam_tests::hostile::{call, sign_in};
use kam_tests::{
    ServerProcess, Tablet, admin, demo_token, get_json_with_token, wait_for_projections,
};
use rust_decimal::Decimal;
use serde_json::Value;

fn server_db(dir: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(
        dir.join("kam-server.sqlite3"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap()
}

/// GETs `path` of headquarters' JSON API with HQ's demo device and expects 200.
fn hq_get(server: &ServerProcess, path: &str) -> Value {
    let (status, body) =
        get_json_with_token(&format!("{}{path}", server.url), &demo_token("hq-01")).unwrap();
    assert_eq!(status, 200, "GET {path}: {body}");
    body
}

/// POSTs JSON to headquarters' API with `user`'s demo device.
fn api_post(server: &ServerProcess, user: &str, path: &str, body: &Value) -> (u16, Value) {
    let token = format!("Bearer {}", demo_token(user));
    let bytes = serde_json::to_vec(body).unwrap();
    let answer = call(
        &server.url,
        "POST",
        path,
        &[("authorization", &token), ("content-type", "application/json")],
        Some(&bytes),
    )
    .unwrap();
    (answer.status, answer.json())
}

/// The customer's satisfaction factor as headquarters' survey view shows it.
fn satisfaction(server: &ServerProcess, customer: &CustomerId) -> (Option<u64>, u64) {
    let view = hq_get(server, "/api/v1/hq/surveys");
    let row = view["customers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["customer_id"] == customer.as_str())
        .unwrap_or_else(|| panic!("{customer} is not in the survey view"));
    let factor = &row["satisfaction"];
    (factor["score"].as_u64(), factor["surveys_counted"].as_u64().unwrap_or(0))
}

fn csrf_of(page: &str) -> String {
    let at = page.find(r#"name="csrf" value=""#).expect("a form with the session's CSRF token");
    let rest = &page[at + r#"name="csrf" value=""#.len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

#[test]
fn a_rep_works_a_lead_offline_and_headquarters_plans_evaluates_scores_and_closes_measures() {
    let dir = tempfile::tempdir().unwrap();
    let server = kam_tests::start_small_demo(dir.path()).unwrap();
    let rep = UserId::from("rep-01");
    let mut tablet = Tablet::new(&server.url, &demo_token("rep-01")).unwrap();
    tablet.sync().unwrap();
    wait_for_projections(&server.url).unwrap();
    let customer = kam_tests::customers_of(&tablet.replica, "rep-01").unwrap().remove(0);
    let before = satisfaction(&server, &customer);

    // Offline: identify a lead and work it to won; take a survey.
    let now = Utc::now();
    let criteria = LeadCriteria {
        expected_annual_purchase: Some(Decimal::from(1_500_000)),
        ..Default::default()
    };
    let lead = accounts::identify_lead(
        &mut tablet.replica,
        &customer,
        "三期扩产配套",
        &criteria,
        Decimal::from(2_800_000),
        &rep,
        now,
    )
    .unwrap();
    let too_small = LeadCriteria {
        expected_annual_purchase: Some(Decimal::from(1_000_000)),
        ..Default::default()
    };
    let refused = accounts::identify_lead(
        &mut tablet.replica,
        &customer,
        "小额订单",
        &too_small,
        Decimal::from(10_000),
        &rep,
        now,
    );
    assert!(refused.is_err(), "exactly 1,000,000 CNY is not above the threshold: {refused:?}");
    let stages = [
        LeadStage::FirstContact,
        LeadStage::NeedsAnalysis,
        LeadStage::Solution,
        LeadStage::Negotiation,
        LeadStage::Won,
    ];
    for (i, to) in stages.into_iter().enumerate() {
        let at = now + chrono::Duration::minutes(i as i64 + 1);
        let learned = format!("第{}步：客户需求已确认", i + 1);
        accounts::change_lead_stage(&mut tablet.replica, &lead.id, to, &learned, None, &rep, at)
            .unwrap();
    }
    let survey = NewSurvey {
        customer_id: customer.clone(),
        kind: SurveyKind::Periodic,
        ticket_id: None,
        respondent: "采购部王经理".into(),
        items: BTreeMap::from([
            (SurveyItem::Product, 100),
            (SurveyItem::Delivery, 100),
            (SurveyItem::Service, 100),
            (SurveyItem::AccountManager, 100),
            (SurveyItem::Overall, 100),
        ]),
        comments: "非常满意".into(),
    };
    accounts::take_survey(&mut tablet.replica, survey, &rep, now).unwrap();
    tablet.sync().unwrap();
    wait_for_projections(&server.url).unwrap();

    // Headquarters sees the lead won, every stage change recorded, nothing compensated.
    let pipeline = hq_get(&server, "/api/v1/hq/pipeline?owner=rep-01");
    let row = pipeline["leads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["lead_id"] == lead.id.as_str())
        .unwrap_or_else(|| panic!("the lead is not in the pipeline: {pipeline}"));
    assert_eq!(row["stage"], "won", "{row}");
    assert!(row["closed_at"].is_string(), "{row}");
    assert_eq!(row["candidate"], true);
    let detail = hq_get(&server, &format!("/api/v1/hq/pipeline/{}", lead.id));
    let changes = detail.to_string().matches("第").count();
    assert!(changes >= 5, "five stage changes with what was learned: {detail}");
    let violations: i64 = server_db(dir.path())
        .query_row(
            "SELECT count(*) FROM violations WHERE doc_id = ?1",
            [format!("lead/{}", lead.id)],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(violations, 0, "a rep's lead work is theirs to write");
    let win_rate = &pipeline["summary"]["win_rate_pct"];
    assert!(win_rate.is_string() || win_rate.is_number(), "a win rate: {pipeline}");

    // The survey moved the customer's satisfaction factor.
    let after = satisfaction(&server, &customer);
    assert_eq!(after.1, before.1 + 1, "one more survey counts: {before:?} → {after:?}");
    assert_ne!(after.0, before.0, "a survey of 100 moves the factor: {before:?} → {after:?}");
    assert!(after.0.unwrap() > before.0.unwrap_or(0), "{before:?} → {after:?}");
    println!(
        "accounts: lead won offline after 5 stage changes, no violation; satisfaction factor \
         {:?} ({} surveys) → {:?} ({} surveys) after one survey of 100",
        before.0, before.1, after.0, after.1
    );

    approve_and_evaluate_a_plan(&server, dir.path(), &mut tablet);
    publish_and_export_scorecards(&server, dir.path(), &mut tablet);
    close_a_measure(&server, dir.path());
}

/// The rep drafts a plan on the tablet for a customer without one, for the year of the last
/// quarter that has ended; headquarters approves it (a rep may not) and evaluates that quarter.
fn approve_and_evaluate_a_plan(server: &ServerProcess, dir: &Path, tablet: &mut Tablet) {
    let today = Utc::now().date_naive();
    let ended = today.checked_sub_months(Months::new(3)).unwrap();
    let (year, quarter) = (ended.year(), (ended.month0() / 3 + 1) as u8);
    let planned: Vec<String> = hq_get(server, "/api/v1/hq/plans?year=all")
        .as_array()
        .map(|plans| {
            plans.iter().filter_map(|p| p["plan_id"].as_str().map(str::to_owned)).collect()
        })
        .unwrap_or_default();
    let customer = kam_tests::customers_of(&tablet.replica, "rep-01")
        .unwrap()
        .into_iter()
        .find(|c| !planned.contains(&model::plan_id(c, year).0))
        .expect("a customer of rep-01 without a plan that year");
    let goals = |sales: i64| PlanGoals {
        sales: Decimal::from(sales),
        profit_contribution: Decimal::from(sales / 10),
        satisfaction: 90,
    };
    let owners = BTreeMap::from([
        (PlanFunction::AccountManager, UserId::from("rep-01")),
        (PlanFunction::Technical, UserId::from("tech-01")),
        (PlanFunction::Quality, UserId::from("quality-01")),
        (PlanFunction::AfterSales, UserId::from("service-01")),
        (PlanFunction::ResidentRepresentative, UserId::from("rep-01")),
    ]);
    let content = PlanContent {
        year_goals: goals(4_000_000),
        quarter_goals: (1..=4).map(|q| (q, goals(1_000_000))).collect(),
        owners,
        sales_strategy: "以新产线配套带动份额提升".into(),
        service_plan: "每季度技术交流一次，月度交付例会".into(),
    };
    let rep = UserId::from("rep-01");
    let plan =
        accounts::draft_plan(&mut tablet.replica, &customer, year, content, &rep, Utc::now())
            .unwrap();
    tablet.sync().unwrap();
    wait_for_projections(&server.url).unwrap();
    let plan_id = plan.id.as_str();
    let path = format!("/api/v1/hq/plans/{plan_id}/approve");
    let (status, body) = api_post(server, "rep-01", &path, &Value::Null);
    assert_eq!(status, 403, "a rep does not approve a plan: {body}");
    let (status, body) = api_post(server, "hq-01", &path, &Value::Null);
    assert_eq!(status, 200, "{body}");
    let shown = hq_get(server, &format!("/api/v1/hq/plans/{plan_id}"));
    assert_eq!(shown["status"], "approved", "{shown}");

    let body = serde_json::json!({ "quarter": quarter, "adjustment": "下季度加强交付跟进" });
    let (status, answer) =
        api_post(server, "hq-01", &format!("/api/v1/hq/plans/{plan_id}/evaluate"), &body);
    assert_eq!(status, 200, "{answer}");
    let shown = hq_get(server, &format!("/api/v1/hq/plans/{plan_id}"));
    let months: Vec<String> =
        (0..3).map(|i| format!("{year}-{:02}", (u32::from(quarter) - 1) * 3 + i + 1)).collect();
    let ledger: Decimal = server_db(dir)
        .prepare(
            "SELECT amount FROM sales_monthly WHERE customer_id = ?1 AND month IN (?2, ?3, ?4)",
        )
        .unwrap()
        .query_map([customer.as_str(), &months[0], &months[1], &months[2]], |r| {
            r.get::<_, String>(0)
        })
        .unwrap()
        .map(|a| Decimal::from_str(&a.unwrap()).unwrap())
        .sum();
    let evaluation = shown["quarters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["quarter"] == quarter)
        .map(|q| q["evaluation"].clone())
        .filter(|e| !e.is_null())
        .unwrap_or_else(|| panic!("quarter {quarter} evaluated: {shown}"));
    assert_eq!(evaluation["adjustment"], "下季度加强交付跟进", "{evaluation}");
    assert_eq!(evaluation["by_user"], "hq-01", "{evaluation}");
    let sales = Decimal::from_str(evaluation["sales_actual"].as_str().unwrap()).unwrap();
    assert_eq!(sales, ledger, "the quarter's sales are the ledger's {months:?}: {evaluation}");
    assert!(ledger > Decimal::ZERO, "the demo's ledger has sales in {months:?}");
    println!(
        "accounts: plan {plan_id} approved by hq-01, Q{quarter} evaluated: sales {sales} = ledger {months:?}"
    );
    // The approval and the evaluation reach the rep's tablet as commits by headquarters.
    tablet.sync().unwrap();
    let synced: AccountPlan = tablet.replica.record(plan_id).unwrap();
    assert_eq!(synced.approval.map(|a| a.by), Some(UserId::from("hq-01")));
    assert!(synced.evaluations.contains_key(&quarter));
}

/// The scorecards of the last complete month, computed from the records, exported and synced.
fn publish_and_export_scorecards(server: &ServerProcess, dir: &Path, tablet: &mut Tablet) {
    let today = Utc::now().date_naive();
    let last = today.checked_sub_months(Months::new(1)).unwrap();
    let period = format!("{}-{:02}", last.year(), last.month());
    let out = admin(dir, &["publish-scorecards", "--period", &period]).unwrap();
    assert!(out.contains("rep-01"), "{out}");
    wait_for_projections(&server.url).unwrap();
    let cards = hq_get(server, &format!("/api/v1/hq/scorecards?period={period}"));
    let card = cards
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["person"] == "rep-01")
        .unwrap_or_else(|| panic!("rep-01's scorecard: {cards}"))
        .clone();
    assert!(card["total"].is_string(), "published: {card}");
    let lines = card["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 8, "eight measures: {card}");
    assert!(lines.iter().all(|l| !l["basis"].as_str().unwrap_or("").is_empty()), "{card}");

    let cookie = sign_in(&server.url, "hq-01").unwrap();
    let answer = call(
        &server.url,
        "GET",
        &format!("/hq/reports/scorecards.xlsx?period={period}"),
        &[("cookie", &cookie)],
        None,
    )
    .unwrap();
    assert_eq!(answer.status, 200, "{}", answer.text());
    let mut book = Xlsx::new(std::io::Cursor::new(answer.body.clone())).unwrap();
    let sheet = book.sheet_names()[0].clone();
    let range = book.worksheet_range(&sheet).unwrap();
    let cells: Vec<String> = range.rows().flatten().map(|c| c.to_string()).collect();
    assert!(cells.iter().any(|c| c == "rep-01"), "rep-01's row in the export: {cells:?}");
    let total = card["total"].as_str().unwrap();
    let total = Decimal::from_str(total).unwrap();
    assert!(
        cells.iter().any(|c| Decimal::from_str(c).is_ok_and(|v| v == total)),
        "the export carries rep-01's total {total}: {cells:?}"
    );

    tablet.sync().unwrap();
    let mine: Option<Scorecard> =
        accounts::my_scorecard(&mut tablet.replica, &UserId::from("rep-01"), &period).unwrap();
    let published = mine.and_then(|c| c.published).expect("the rep's tablet holds its scorecard");
    assert_eq!(published.total, total);
    let lines: Vec<String> = published
        .lines
        .values()
        .map(|l| format!("{} {}×{}%={}", l.measure, l.attainment, l.weight_pct, l.points))
        .collect();
    println!("accounts: rep-01's scorecard {period}: total {total} [{}]", lines.join(", "));
}

/// An open measure of the leadership review is closed on its page.
fn close_a_measure(server: &ServerProcess, dir: &Path) {
    let (month, measure): (String, String) = server_db(dir)
        .query_row(
            "SELECT review_id, entry_id FROM review_measures WHERE closed_at IS NULL
             ORDER BY review_id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("the demo's review has an open measure");
    let cookie = sign_in(&server.url, "hq-01").unwrap();
    let page =
        call(&server.url, "GET", &format!("/hq/meetings/{month}"), &[("cookie", &cookie)], None)
            .unwrap();
    assert_eq!(page.status, 200, "{}", page.text());
    let csrf = csrf_of(&page.text());
    let form = |confirm: &str| {
        format!("csrf={csrf}&measure_id={measure}&note=%E5%B7%B2%E8%90%BD%E5%AE%9E{confirm}")
    };
    let post = |body: String| {
        call(
            &server.url,
            "POST",
            &format!("/hq/meetings/{month}/close"),
            &[("cookie", &cookie), ("content-type", "application/x-www-form-urlencoded")],
            Some(body.as_bytes()),
        )
        .unwrap()
    };
    let unconfirmed = post(form(""));
    assert_eq!(unconfirmed.status, 422, "closing needs the confirmation: {}", unconfirmed.text());
    let closed = post(form("&confirm=yes"));
    assert_eq!(closed.status, 303, "{}", closed.text());
    wait_for_projections(&server.url).unwrap();
    let (closed_by, note): (Option<String>, Option<String>) = server_db(dir)
        .query_row(
            "SELECT closed_by, closing_note FROM review_measures WHERE review_id = ?1 AND entry_id = ?2",
            [&month, &measure],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(closed_by.as_deref(), Some("hq-01"));
    assert_eq!(note.as_deref(), Some("已落实"));
    println!(
        "accounts: measure {measure} of {month} closed by hq-01 (refused without confirmation)"
    );
}

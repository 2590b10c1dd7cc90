//! The management pages: scorecards, the monthly review and commissioning organisations —
//! who may open them, who may act, and what the pages show in Chinese and English.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)]

use axum::http::StatusCode;
use chrono::{NaiveDate, Utc};
use kam_core::doc::{EditMeta, create_record};
use kam_core::model::{EntryId, Instalment, UserId};
use rust_decimal::Decimal;

use crate::hq::organisations::tests_support::organisation;
use crate::store::insert_new_doc;
use crate::web::demo_site_tests::{DemoSite, demo_site_without_account_records};

/// An organisation `o1` of project `p1` with two instalments (100 due 2026-01-01, 200 due
/// 2099-01-01), stored and projected.
async fn with_organisation(site: &DemoSite) {
    let mut org = organisation("o1");
    for (id, due, amount) in [("i1", "2026-01-01", 100), ("i2", "2099-01-01", 200)] {
        let i = Instalment {
            id: EntryId::from(id),
            due_on: due.parse::<NaiveDate>().unwrap(),
            amount: Decimal::new(amount, 0),
            note: String::new(),
        };
        org.instalments.insert(i.id.clone(), i);
    }
    store_organisation(site, org).await;
}

/// Stores `org` as a new document and projects it.
async fn store_organisation(site: &DemoSite, org: kam_core::model::Organisation) {
    site.state
        .with_store(move |store| {
            let now = Utc::now();
            store.write(|tx, docs, _| {
                let meta = EditMeta::new(&UserId::from("hq-01"), now, "organisation.create");
                let doc = create_record(&org, docs.actor().clone(), &meta)?;
                insert_new_doc(tx, docs, doc, now)?;
                Ok(())
            })?;
            store.project_all(now)?;
            Ok(())
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn candidates_are_ranked_by_price_first() {
    let site = demo_site_without_account_records();
    with_organisation(&site).await;
    let mut better = organisation("o2");
    better.offer.accepted_price_per_m2 = Decimal::new(9000, 0);
    better.offer.payment_ratio_pct = Decimal::new(50, 0);
    store_organisation(&site, better).await;
    let (hq, _) = site.sign_in("hq-01").await;
    let (_, _, list) = site.get("/hq/organisations", Some(&hq)).await;
    let (o1, o2) = (list.find("单位o1").unwrap(), list.find("单位o2").unwrap());
    assert!(o2 < o1, "the higher price ranks first whatever its payment ratio: {list}");
    assert!(list.contains("候选单位不足"), "two of the three the group needs: {list}");
}

#[tokio::test]
async fn the_admin_publishes_every_reps_scorecard_for_a_period() {
    let site = demo_site_without_account_records();
    let reps = site
        .state
        .with_store(|store| crate::admin::publish_scorecards(store, "2026-10", Utc::now()))
        .await
        .unwrap();
    assert!(reps.contains(&"rep-01".to_owned()), "{reps:?}");
    let (hq, _) = site.sign_in("hq-01").await;
    let (_, _, list) = site.get("/hq/scorecards?period=2026-10", Some(&hq)).await;
    for rep in &reps {
        assert!(list.contains(&format!(r#"data-scorecard-id="{rep}-2026-10""#)), "{list}");
    }
}

fn en(cookie: &str) -> String {
    format!("{cookie}; kam_lang=en")
}

#[tokio::test]
async fn a_rep_may_open_none_of_the_management_pages() {
    let site = demo_site_without_account_records();
    let (rep, _) = site.sign_in("rep-01").await;
    let api = [
        "/api/v1/hq/scorecards",
        "/api/v1/hq/meetings",
        "/api/v1/hq/organisations",
        "/api/v1/hq/collections",
    ];
    let pages = [
        "/hq/scorecards",
        "/hq/meetings",
        "/hq/meetings/2026-11",
        "/hq/organisations",
        "/hq/collections",
    ];
    for path in pages.iter().chain(&api) {
        assert_eq!(site.get(path, Some(&rep)).await.0, StatusCode::FORBIDDEN, "{path}");
    }
    let (finance, _) = site.sign_in("finance-01").await;
    for path in api {
        let (status, _, body) = site.get(path, Some(&finance)).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert!(serde_json::from_str::<serde_json::Value>(&body).is_ok(), "{path}: {body}");
    }
}

#[tokio::test]
async fn finance_records_collections_and_headquarters_does_not() {
    let site = demo_site_without_account_records();
    with_organisation(&site).await;
    let (hq, hq_csrf) = site.sign_in("hq-01").await;
    let (status, _, list) = site.get("/hq/organisations", Some(&hq)).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert!(list.contains("单位o1") && list.contains("回款（逾期优先）"), "{list}");
    assert!(list.contains("应催款"), "the 2026 instalment is overdue and never chased: {list}");

    let path = "/hq/organisations/o1/collections";
    let body = |csrf: &str| format!("csrf={csrf}&on=2026-02-01&amount=150&receipt_no=R1");
    assert_eq!(site.post_form(path, &hq, &body(&hq_csrf)).await.0, StatusCode::FORBIDDEN);
    let (finance, fin_csrf) = site.sign_in("finance-01").await;
    let (status, headers, _) = site.post_form(path, &finance, &body(&fin_csrf)).await;
    let (_, _, json) = site.get("/api/v1/hq/collections", Some(&finance)).await;
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    let outstanding = &json;
    assert_eq!(outstanding.as_array().unwrap().len(), 1, "the settled one is not listed: {json}");
    assert_eq!(outstanding[0]["entry_id"], "i2", "{json}");
    assert_eq!(outstanding[0]["received"], "50.00", "the rest of the 150 after i1's 100: {json}");
    assert_eq!(status, StatusCode::SEE_OTHER);
    let back = headers["location"].to_str().unwrap().to_owned();
    let (_, _, page) = site.get(&back, Some(&finance)).await;
    assert!(page.contains("已记录"), "{page}");
    assert!(page.contains("已收 150.00") && page.contains("未收 150.00"), "oldest first: {page}");
    assert!(page.contains("collection-form"), "finance sees its forms: {page}");
    assert!(!page.contains("price-form"), "finance approves no price: {page}");
    let (_, _, english) = site.get("/hq/organisations/o1", Some(&en(&finance))).await;
    assert!(english.contains("Agreement: missing clauses") && english.contains("Renaming rule"));
}

#[tokio::test]
async fn a_price_is_approved_once_with_a_confirmation_and_a_minimum_payment_ratio() {
    let site = demo_site_without_account_records();
    with_organisation(&site).await;
    let (hq, csrf) = site.sign_in("hq-01").await;
    let path = "/hq/organisations/o1/price";
    let form = |ratio: &str, confirm: &str| {
        format!(
            "csrf={csrf}&method=blind&basis_per_m2=10000&price_per_m2=8000&payment_ratio_pct={ratio}{confirm}"
        )
    };
    assert_eq!(
        site.post_form(path, &hq, &form("60", "")).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let low = site.post_form(path, &hq, &form("40", "&confirm=yes")).await.0;
    assert_eq!(low, StatusCode::UNPROCESSABLE_ENTITY, "below the 50 % minimum");
    assert_eq!(
        site.post_form(path, &hq, &form("60", "&confirm=yes")).await.0,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        site.post_form(path, &hq, &form("70", "&confirm=yes")).await.0,
        StatusCode::CONFLICT
    );
    let (_, _, page) = site.get("/hq/organisations/o1", Some(&hq)).await;
    assert!(page.contains("8,000.00") && !page.contains("price-form"), "{page}");
}

#[tokio::test]
async fn the_monthly_review_records_measures_and_closes_them_with_a_note() {
    let site = demo_site_without_account_records();
    let (hq, csrf) = site.sign_in("hq-01").await;
    let post = |path: &'static str, rest: &str| (path, format!("csrf={csrf}&{rest}"));
    let steps = [
        post("/hq/meetings/2026-10/hold", "held_on=2026-10-05"),
        post("/hq/meetings/2026-10/attendees", "user_id=gm&name=%E7%8E%8B%E6%80%BB"),
        post(
            "/hq/meetings/2026-10/findings",
            "customer_id=c1&kind=quality&text=%E9%80%80%E8%B4%A7",
        ),
        post("/hq/meetings/2026-10/measures", "text=Fix+it&owner=rep-01&due_on=2026-10-20"),
    ];
    for (path, body) in &steps {
        let (status, _, answer) = site.post_form(path, &hq, body).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{path}: {answer}");
    }
    let (_, _, october) = site.get("/hq/meetings/2026-10", Some(&hq)).await;
    assert!(october.contains("王总") && october.contains("质量问题") && october.contains("Fix it"));
    let (_, _, november) = site.get("/hq/meetings/2026-11", Some(&en(&hq))).await;
    assert!(november.contains("Open measures from earlier months"), "{november}");
    assert!(november.contains("Fix it") && november.contains("Overdue"), "carried: {november}");
    let (_, _, list) = site.get("/hq/meetings", Some(&hq)).await;
    assert!(list.contains(r#"data-month="2026-10""#), "{list}");

    let close_form = october.split(r#"id="close-form""#).nth(1).unwrap();
    let measure = close_form.split(r#"<option value=""#).nth(1).unwrap().split('"').next().unwrap();
    let close = format!("csrf={csrf}&measure_id={measure}&note=done");
    let (status, _, _) = site.post_form("/hq/meetings/2026-10/close", &hq, &close).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "not confirmed");
    let confirmed = format!("{close}&confirm=yes");
    assert_eq!(
        site.post_form("/hq/meetings/2026-10/close", &hq, &confirmed).await.0,
        StatusCode::SEE_OTHER
    );
    let (_, _, november) = site.get("/hq/meetings/2026-11", Some(&hq)).await;
    assert!(!november.contains("Fix it"), "a closed measure is not carried: {november}");
    let (finance, fin_csrf) = site.sign_in("finance-01").await;
    let by_finance = format!("csrf={fin_csrf}&held_on=2026-11-05");
    let status = site.post_form("/hq/meetings/2026-11/hold", &finance, &by_finance).await.0;
    assert_eq!(status, StatusCode::FORBIDDEN, "the review is headquarters'");
}

#[tokio::test]
async fn a_scorecard_is_targeted_rated_and_published_with_its_basis() {
    let site = demo_site_without_account_records();
    let (hq, csrf) = site.sign_in("hq-01").await;
    let base = "/hq/scorecards/rep-01-2026-10";
    let target = format!("csrf={csrf}&target=100000");
    assert_eq!(
        site.post_form(&format!("{base}/target"), &hq, &target).await.0,
        StatusCode::SEE_OTHER
    );
    let rating = format!("csrf={csrf}&rater=supervisor&score=80&note=ok");
    assert_eq!(
        site.post_form(&format!("{base}/rating"), &hq, &rating).await.0,
        StatusCode::SEE_OTHER
    );
    let own = site.post_form("/hq/scorecards/hq-01-2026-10/rating", &hq, &rating).await.0;
    assert_eq!(own, StatusCode::UNPROCESSABLE_ENTITY, "nobody rates themselves");
    let publish = format!("{base}/publish");
    let unconfirmed = site.post_form(&publish, &hq, &format!("csrf={csrf}")).await.0;
    assert_eq!(unconfirmed, StatusCode::UNPROCESSABLE_ENTITY);
    let confirmed = format!("csrf={csrf}&confirm=yes");
    assert_eq!(site.post_form(&publish, &hq, &confirmed).await.0, StatusCode::SEE_OTHER);
    let (status, _, page) = site.get(base, Some(&hq)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("100,000.00") && page.contains(r#"class="basis""#), "{page}");
    assert!(page.contains(r#"data-measure="supervisor_rating""#), "{page}");
    let (_, _, list) = site.get("/hq/scorecards?period=2026-10", Some(&en(&hq))).await;
    assert!(list.contains("rep-01") && list.contains("Staff scorecards"), "{list}");
    let (status, headers, csv) =
        site.get("/hq/reports/scorecards.csv?period=2026-10", Some(&hq)).await;
    assert_eq!(status, StatusCode::OK, "{csv}");
    assert!(headers["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert!(csv.contains("2026-10,rep-01,100000.00,"), "{csv}");
    let (status, _, _) = site.get("/hq/reports/scorecards.xlsx?period=2026-10", Some(&hq)).await;
    assert_eq!(status, StatusCode::OK);
    let (_, _, reports) = site.get("/hq/reports", Some(&hq)).await;
    assert!(reports.contains("scorecards-xlsx"), "registered on the reports page");
    let (finance, fin_csrf) = site.sign_in("finance-01").await;
    let by_finance = format!("csrf={fin_csrf}&confirm=yes");
    assert_eq!(site.post_form(&publish, &finance, &by_finance).await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn reminders_quiet_the_dunning_and_finance_keeps_fees_within_the_policy() {
    let site = demo_site_without_account_records();
    with_organisation(&site).await;
    let (hq, csrf) = site.sign_in("hq-01").await;
    let today = Utc::now().date_naive();
    let reminder = format!("csrf={csrf}&instalment_id=i1&on={today}&note=called");
    let path = "/hq/organisations/o1/reminders";
    assert_eq!(site.post_form(path, &hq, &reminder).await.0, StatusCode::SEE_OTHER);
    let unknown = format!("csrf={csrf}&instalment_id=nope&on={today}&note=x");
    assert_eq!(site.post_form(path, &hq, &unknown).await.0, StatusCode::NOT_FOUND);
    let (_, _, list) = site.get("/hq/organisations", Some(&hq)).await;
    assert!(!list.contains("应催款"), "just chased: {list}");
    assert!(list.contains(&today.to_string()), "the last reminder is shown: {list}");

    let (finance, fin_csrf) = site.sign_in("finance-01").await;
    let fee = |amount: &str| format!("csrf={fin_csrf}&buyer=Li&fee={amount}&on={today}");
    let fees = "/hq/organisations/o1/loan-switches";
    let too_much = site.post_form(fees, &finance, &fee("5000")).await.0;
    assert_eq!(too_much, StatusCode::UNPROCESSABLE_ENTITY, "1,000–3,000 CNY");
    assert_eq!(site.post_form(fees, &finance, &fee("2000")).await.0, StatusCode::SEE_OTHER);
    let by_hq = format!("csrf={csrf}&buyer=Li&fee=2000&on={today}");
    assert_eq!(site.post_form(fees, &hq, &by_hq).await.0, StatusCode::FORBIDDEN);
    let rec = format!("csrf={fin_csrf}&on={today}&bank_balance=150&receipts_total=150&note=");
    let path = "/hq/organisations/o1/reconciliations";
    assert_eq!(site.post_form(path, &finance, &rec).await.0, StatusCode::SEE_OTHER);
    let (_, _, page) = site.get("/hq/organisations/o1", Some(&finance)).await;
    assert!(page.contains(r#"id="reconciliations""#) && page.contains("finance-01"), "{page}");
}

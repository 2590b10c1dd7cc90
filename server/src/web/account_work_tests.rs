//! The pipeline, plans and surveys pages over the demo company with a few leads, plans and
//! surveys added: both languages, the approve and evaluate actions and who may take them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)]

use std::collections::BTreeMap;

use axum::http::StatusCode;
use chrono::{DateTime, Datelike, Duration, Utc};
use kam_core::doc::{EditMeta, create_record};
use kam_core::model::{
    AccountPlan, CustomerId, EntryId, Lead, LeadCriteria, LeadId, LeadStage, PlanFunction,
    PlanGoals, StageChange, Survey, SurveyId, SurveyItem, SurveyKind, UserId,
};
use rust_decimal::Decimal;

use crate::store::insert_new_doc;
use crate::web::demo_site_tests::{DemoSite, demo_site_without_account_records};

fn lead(id: &str, customer: &str, owner: &str, stage: LeadStage, now: DateTime<Utc>) -> Lead {
    let mut history = BTreeMap::new();
    if stage != LeadStage::MarketResearch {
        let entry = EntryId::from(format!("{id}-1"));
        history.insert(
            entry.clone(),
            StageChange {
                id: entry,
                from: LeadStage::MarketResearch,
                to: stage,
                at: now - Duration::days(2),
                by: UserId::from(owner),
                learned: "采购经理关注交期".into(),
                lost_reason: (stage == LeadStage::Lost).then(|| "价格高于竞争对手".into()),
            },
        );
    }
    Lead {
        id: LeadId::from(id),
        customer_id: CustomerId::from(customer),
        title: format!("{id} 新产线项目"),
        identified_by: UserId::from(owner),
        identified_at: now - Duration::days(30),
        owner: UserId::from(owner),
        criteria: LeadCriteria { potential: "行业龙头".into(), ..LeadCriteria::default() },
        expected_value: Decimal::new(500_000, 0),
        stage,
        history,
    }
}

fn goals(sales: i64) -> PlanGoals {
    PlanGoals {
        sales: Decimal::new(sales, 0),
        profit_contribution: Decimal::new(sales / 10, 0),
        satisfaction: 85,
    }
}

/// A plan of last year, whole (approvable) or without owners and strategy.
fn plan(customer: &str, year: i32, whole: bool) -> AccountPlan {
    let mut owners = BTreeMap::new();
    if whole {
        for f in PlanFunction::ALWAYS.iter().chain([PlanFunction::ResidentRepresentative].iter()) {
            owners.insert(*f, UserId::from("rep-01"));
        }
    }
    AccountPlan {
        id: kam_core::model::plan_id(&CustomerId::from(customer), year),
        customer_id: CustomerId::from(customer),
        year,
        year_goals: goals(400_000),
        quarter_goals: (1..=4).map(|q| (q, goals(100_000))).collect(),
        owners,
        sales_strategy: if whole { "深耕现有产线".into() } else { String::new() },
        service_plan: if whole { "每月一次技术交流".into() } else { String::new() },
        revision: 1,
        approval: None,
        evaluations: BTreeMap::new(),
    }
}

fn survey(customer: &str, taken_at: DateTime<Utc>) -> Survey {
    Survey {
        id: SurveyId::from("s-1"),
        customer_id: CustomerId::from(customer),
        kind: SurveyKind::Periodic,
        ticket_id: None,
        taken_at,
        taken_by: UserId::from("rep-01"),
        respondent: "张经理".into(),
        items: BTreeMap::from([(SurveyItem::Product, 80), (SurveyItem::Overall, 90)]),
        comments: "交期需改进".into(),
    }
}

/// The site with three leads (negotiation, won, lost), two plans of last year (one whole,
/// one lacking owners) and one survey; answers the site, the customer and last year.
async fn site() -> (DemoSite, String, i32) {
    let site = demo_site_without_account_records();
    let year = Utc::now().year() - 1;
    let customer = site
        .state
        .with_store(move |store| {
            let now = Utc::now();
            let customers = store.conn().customer_ids()?;
            let (first, second) = (customers[0].clone(), customers[1].clone());
            let actor = store.actor().clone();
            let meta = EditMeta::new(&UserId::from("rep-01"), now, "test");
            store.write(|tx, docs, _| {
                let docs_to_add = [
                    create_record(
                        &lead("l-1", &first, "rep-01", LeadStage::Negotiation, now),
                        actor.clone(),
                        &meta,
                    )?,
                    create_record(
                        &lead("l-2", &first, "rep-01", LeadStage::Won, now),
                        actor.clone(),
                        &meta,
                    )?,
                    create_record(
                        &lead("l-3", &second, "rep-02", LeadStage::Lost, now),
                        actor.clone(),
                        &meta,
                    )?,
                    create_record(&plan(&first, year, true), actor.clone(), &meta)?,
                    create_record(&plan(&second, year, false), actor.clone(), &meta)?,
                    create_record(&survey(&first, now - Duration::days(10)), actor.clone(), &meta)?,
                ];
                for doc in docs_to_add {
                    insert_new_doc(tx, docs, doc, now)?;
                }
                Ok(())
            })?;
            store.project_all(now)?;
            Ok(first)
        })
        .await
        .unwrap();
    (site, customer, year)
}

async fn page(site: &DemoSite, path: &str, who: &str, lang: &str) -> (StatusCode, String) {
    let (cookie, _) = site.sign_in(who).await;
    let cookie = format!("{cookie}; kam_lang={lang}");
    let (status, _, body) = site.get(path, Some(&cookie)).await;
    (status, body)
}

#[tokio::test]
async fn the_pipeline_counts_stages_and_the_win_rate_in_both_languages() {
    let (site, customer, _) = site().await;
    let (status, zh) = page(&site, "/hq/pipeline", "hq-01", "zh").await;
    assert_eq!(status, StatusCode::OK, "{zh}");
    assert!(zh.contains("客户开发进度") && zh.contains("商务谈判"), "{zh}");
    assert!(zh.contains("50.0%"), "one won, one lost: {zh}");
    assert!(zh.contains(&format!("/hq/customers/{customer}")), "leads link to the customer");
    assert!(zh.contains(r#"data-lead-id="l-3""#), "{zh}");
    let (_, en) = page(&site, "/hq/pipeline?owner=rep-01", "hq-01", "en").await;
    assert!(en.contains("Development pipeline") && en.contains("Negotiation"), "{en}");
    assert!(en.contains("100.0%"), "rep-01 won its only closed lead: {en}");
    assert!(!en.contains(r#"data-lead-id="l-3""#), "rep-02's lead is filtered out: {en}");
    let (_, won) = page(&site, "/hq/pipeline?stage=won", "finance-01", "zh").await;
    assert!(won.contains(r#"data-lead-id="l-2""#) && !won.contains(r#"data-lead-id="l-1""#));

    let (status, detail) = page(&site, "/hq/pipeline/l-3", "hq-01", "zh").await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert!(detail.contains("价格高于竞争对手") && detail.contains("采购经理关注交期"), "{detail}");
    let (_, en) = page(&site, "/hq/pipeline/l-3", "hq-01", "en").await;
    assert!(en.contains("Stage history") && en.contains("Lost"), "{en}");
    assert_eq!(page(&site, "/hq/pipeline/none", "hq-01", "zh").await.0, StatusCode::NOT_FOUND);
    assert_eq!(page(&site, "/hq/pipeline", "rep-01", "zh").await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn plans_list_their_status_missing_owners_and_evaluations_due() {
    let (site, customer, year) = site().await;
    let (status, zh) = page(&site, &format!("/hq/plans?year={year}"), "hq-01", "zh").await;
    assert_eq!(status, StatusCode::OK, "{zh}");
    assert!(zh.contains("大客户管理计划") && zh.contains("草稿（待审批）"), "{zh}");
    assert!(zh.contains(r#"data-function="account_manager""#), "the second plan lacks owners");
    assert!(zh.contains("Q4"), "every quarter of last year is due: {zh}");
    let (_, en) = page(&site, "/hq/plans?year=all", "finance-01", "en").await;
    assert!(en.contains("Account plans") && en.contains("Draft"), "{en}");
    let (_, this_year) = page(&site, "/hq/plans", "hq-01", "zh").await;
    assert!(!this_year.contains("data-plan-id"), "no plan this year: {this_year}");

    let id = format!("{customer}-{year}");
    let (status, detail) = page(&site, &format!("/hq/plans/{id}"), "hq-01", "zh").await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert!(detail.contains("深耕现有产线") && detail.contains(r#"id="approve""#), "{detail}");
    let (_, en) = page(&site, &format!("/hq/plans/{id}"), "finance-01", "en").await;
    assert!(en.contains("Owners per function") && !en.contains(r#"id="approve""#), "{en}");
}

#[tokio::test]
async fn headquarters_approves_a_whole_plan_once_confirmed_and_finance_may_not() {
    let (site, customer, year) = site().await;
    let id = format!("{customer}-{year}");
    let path = format!("/hq/plans/{id}/approve");
    let (finance, finance_csrf) = site.sign_in("finance-01").await;
    let form = |csrf: &str| format!("csrf={csrf}&confirm=yes");
    assert_eq!(
        site.post_form(&path, &finance, &form(&finance_csrf)).await.0,
        StatusCode::FORBIDDEN
    );
    let (hq, csrf) = site.sign_in("hq-01").await;
    assert_eq!(site.post_form(&path, &hq, &form("forged")).await.0, StatusCode::FORBIDDEN);
    let unconfirmed = site.post_form(&path, &hq, &format!("csrf={csrf}")).await.0;
    assert_eq!(unconfirmed, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, headers, body) = site.post_form(&path, &hq, &form(&csrf)).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert!(
        headers[axum::http::header::LOCATION]
            .to_str()
            .unwrap()
            .starts_with(&format!("/hq/plans/{id}"))
    );
    let (_, detail) = page(&site, &format!("/hq/plans/{id}"), "hq-01", "zh").await;
    assert!(detail.contains(r#"data-status="approved""#) && detail.contains("hq-01"), "{detail}");
    let again = site.post_form(&path, &hq, &form(&csrf)).await.0;
    assert_eq!(again, StatusCode::UNPROCESSABLE_ENTITY, "already approved");

    let customers = site.state.with_store(|s| Ok(s.conn().customer_ids()?)).await.unwrap();
    let other = format!("/hq/plans/{}-{year}/approve", customers[1]);
    let (status, _, body) = site.post_form(&other, &hq, &form(&csrf)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "owners missing: {body}");
    let (_, list) = page(&site, &format!("/hq/plans/{}-{year}", customers[1]), "hq-01", "zh").await;
    assert!(list.contains("计划未指定负责人"), "the refusal is shown: {list}");
}

#[tokio::test]
async fn evaluating_a_quarter_records_the_servers_actuals_and_the_adjustment() {
    let (site, customer, year) = site().await;
    let id = format!("{customer}-{year}");
    let id_customer = customer.clone();
    let (hq, csrf) = site.sign_in("hq-01").await;
    let path = format!("/hq/plans/{id}/evaluate");
    let body = format!("csrf={csrf}&quarter=2&adjustment=%E5%8A%A0%E5%BC%BA%E6%8B%9C%E8%AE%BF");
    let (status, _, answer) = site.post_form(&path, &hq, &body).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{answer}");
    let (_, detail) = page(&site, &format!("/hq/plans/{id}"), "hq-01", "zh").await;
    assert!(detail.contains("加强拜访"), "{detail}");
    let sales = site
        .state
        .with_store(move |store| {
            let sql = "SELECT sales_actual FROM plan_evaluations WHERE quarter = 2";
            Ok(store.sql().query_row(sql, [], |r| r.get::<_, String>(0)).unwrap())
        })
        .await
        .unwrap();
    let ledger = site
        .state
        .with_store(move |store| {
            let mut total = Decimal::ZERO;
            for month in 4..=6 {
                let ym = crate::db::sales::YearMonth { year, month };
                total += store.conn().sales_month(&customer, ym)?.unwrap_or_default();
            }
            Ok(total)
        })
        .await
        .unwrap();
    assert_eq!(sales.parse::<Decimal>().unwrap(), ledger, "the quarter's ledger sales");
    let (finance, finance_csrf) = site.sign_in("finance-01").await;
    let csv_path = format!("/hq/reports/plans.csv?quarter={year}-Q2");
    let (status, _, csv) = site.get(&csv_path, Some(&finance)).await;
    assert_eq!(status, StatusCode::OK, "{csv}");
    assert!(csv.contains("客户编号") && csv.contains("实际销售额"), "{csv}");
    assert!(csv.contains(&id_customer) && csv.contains("加强拜访"), "{csv}");
    assert!(csv.contains("未评估"), "the other plan is not evaluated: {csv}");
    let xlsx_path = format!("/hq/reports/plans.xlsx?quarter={year}-Q2");
    let (status, headers, _) = site.get(&xlsx_path, Some(&finance)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers[axum::http::header::CONTENT_TYPE].to_str().unwrap().contains("spreadsheetml"));
    let by_finance = format!("csrf={finance_csrf}&quarter=3&adjustment=x");
    assert_eq!(site.post_form(&path, &finance, &by_finance).await.0, StatusCode::FORBIDDEN);
    let bad = format!("csrf={csrf}&quarter=5&adjustment=x");
    assert_eq!(site.post_form(&path, &hq, &bad).await.0, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn surveys_show_scores_the_factor_and_the_next_survey_due() {
    let (site, customer, _) = site().await;
    let (status, zh) = page(&site, "/hq/surveys", "hq-01", "zh").await;
    assert_eq!(status, StatusCode::OK, "{zh}");
    assert!(zh.contains("客户满意度调查") && zh.contains("交期需改进"), "{zh}");
    assert!(zh.contains(r#"<td class="num score">85</td>"#), "(80 + 90) / 2: {zh}");
    let (_, en) = page(&site, "/hq/surveys?tier=general", "hq-01", "en").await;
    assert!(en.contains("Satisfaction surveys") && en.contains("Next periodic survey"), "{en}");
    let (_, file) = page(&site, &format!("/hq/customers/{customer}"), "hq-01", "zh").await;
    assert!(file.contains("满意度系数") && file.contains("85 (1 次调查"), "{file}");
}

#[tokio::test]
async fn the_json_twins_answer_what_the_pages_show() {
    let (site, customer, year) = site().await;
    let (cookie, _) = site.sign_in("finance-01").await;
    let (status, _, body) = site.get("/api/v1/hq/plans?year=all", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let plans: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(plans.as_array().unwrap().len(), 2, "{plans}");
    let (_, _, body) =
        site.get(&format!("/api/v1/hq/plans/{customer}-{year}"), Some(&cookie)).await;
    let plan: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(plan["status"], "draft", "{plan}");
    let (_, _, body) = site.get("/api/v1/hq/pipeline", Some(&cookie)).await;
    let pipeline: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(pipeline["leads"].as_array().unwrap().len(), 3, "{pipeline}");
    let (_, _, body) = site.get("/api/v1/hq/surveys", Some(&cookie)).await;
    assert!(body.contains("\"score\":85"), "{body}");
}

//! The lists that joined the engine last: the review queues (conflicts, violations, documents
//! set aside), the monthly reviews, the commissioning candidates and collections, the
//! selection events and the grants — each paged through its JSON twin without a repeat,
//! filtered and sorted, refusing a bad value by name, downloaded row for row, and shown on its
//! page with the other queues' counts.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::arithmetic_side_effects)]

use std::collections::HashSet;

use axum::http::StatusCode;
use chrono::{Duration, Utc};
use serde_json::Value;

use super::list_tests::{and, csv_ids, json, link};
use crate::api::paging::TOTAL_COUNT;
use crate::db::review::NewViolation;
use crate::web::demo_site_tests::{DemoSite, demo_site};

/// Every row of `path` following the `next` links, checking the total on every page.
async fn every_row(site: &DemoSite, cookie: &str, path: &str) -> Vec<Value> {
    let (mut rows, mut next, mut total) = (Vec::new(), Some(path.to_owned()), None);
    while let Some(at) = next {
        let (page, headers) = json(site, cookie, &at).await;
        let count: usize = headers[TOTAL_COUNT].to_str().unwrap().parse().unwrap();
        assert_eq!(*total.get_or_insert(count), count, "{at}: the same total on every page");
        rows.extend(page);
        next = link(&headers, "next");
        assert!(rows.len() <= count, "{at}: paging must end");
    }
    assert_eq!(rows.len(), total.unwrap_or(0), "{path}: every row once");
    rows
}

fn texts(rows: &[Value], field: &str) -> Vec<String> {
    rows.iter()
        .map(|r| r[field].as_str().map_or_else(|| r[field].to_string(), str::to_owned))
        .collect()
}

async fn refused(site: &DemoSite, cookie: &str, path: &str, field: &str) {
    let (status, _, body) = site.get(path, Some(cookie)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {body}");
    assert!(body.contains(field), "{path} names {field}: {body}");
}

/// 25 conflicts (20 on customers, 5 on tickets), 24 violations by two reps under two rules,
/// and 9 documents set aside by the two tasks.
async fn with_queues(site: &DemoSite) {
    site.state
        .with_store(|store| {
            let base = Utc::now() - Duration::hours(2);
            store.write(|tx, _, _| {
                for i in 0..25_i64 {
                    let kind = if i < 20 { "customer" } else { "ticket" };
                    let doc = format!("{kind}/q-{i:02}");
                    let values = vec![format!("甲{i}"), format!("乙{i}")];
                    tx.upsert_conflict(
                        &doc,
                        "/profile/name",
                        &values,
                        base + Duration::minutes(i),
                    )?;
                }
                for i in 0..24_i64 {
                    let (user, rule) = match i % 3 {
                        0 => ("rep-01", "owners_hq_only"),
                        1 => ("staff-01", "owners_hq_only"),
                        _ => ("rep-01", "credit_finance_hq_only"),
                    };
                    let doc = format!("customer/v-{i:02}");
                    tx.insert_violation(&NewViolation {
                        at: base + Duration::minutes(i),
                        user_id: user,
                        device_id: "dev-q",
                        doc_id: &doc,
                        field: "/owners",
                        rule,
                        old_value: "[]",
                        new_value: "[\"x\"]",
                    })?;
                }
                for i in 0..9_i64 {
                    let task = if i < 6 { "projection" } else { "mirror" };
                    let doc = format!("customer/s-{i}");
                    for attempt in 0..=i {
                        let at = base + Duration::minutes(i * 10 + attempt);
                        tx.quarantine(task, &doc, i, "bad document", at)?;
                    }
                }
                Ok(())
            })
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn the_review_queues_page_filter_sort_and_download() {
    let site = demo_site(false);
    with_queues(&site).await;
    let (cookie, _) = site.sign_in("hq-01").await;

    let conflicts = every_row(&site, &cookie, "/api/v1/hq/conflicts?limit=7").await;
    assert_eq!(conflicts.len(), 25);
    let seen = texts(&conflicts, "first_seen_at");
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "the oldest first: {seen:?}");
    let tickets = every_row(&site, &cookie, "/api/v1/hq/conflicts?kind=ticket").await;
    assert_eq!(texts(&tickets, "doc_id").len(), 5);
    assert!(texts(&tickets, "doc_id").iter().all(|d| d.starts_with("ticket/")));
    let found = every_row(&site, &cookie, "/api/v1/hq/conflicts?q=%E4%B9%9917").await;
    assert_eq!(texts(&found, "doc_id"), ["customer/q-17"], "a value is searched");
    refused(&site, &cookie, "/api/v1/hq/conflicts?kind=invoice", "kind").await;

    let violations = every_row(&site, &cookie, "/api/v1/hq/violations?limit=5").await;
    assert_eq!(violations.len(), 24);
    let ids: HashSet<String> = texts(&violations, "violation_id").into_iter().collect();
    assert_eq!(ids.len(), 24, "no violation twice across pages");
    let at = texts(&violations, "at");
    assert!(at.windows(2).all(|w| w[0] >= w[1]), "the latest first");
    let mine =
        every_row(&site, &cookie, "/api/v1/hq/violations?user=rep-01&rule=owners_hq_only").await;
    assert_eq!(mine.len(), 8);
    assert!(mine.iter().all(|v| v["user_id"] == "rep-01" && v["rule"] == "owners_hq_only"));
    assert!(mine.iter().all(|v| v["user_name"] != "rep-01"), "the writer by name: {mine:?}");
    let by_user = every_row(&site, &cookie, "/api/v1/hq/violations?sort=user&dir=desc").await;
    let names = texts(&by_user, "user_name");
    assert!(names.windows(2).all(|w| w[0] >= w[1]), "{names:?}");
    refused(&site, &cookie, "/api/v1/hq/violations?user=nobody", "user").await;
    refused(&site, &cookie, "/api/v1/hq/violations?rule=DROP%20TABLE", "rule").await;
    let none = every_row(&site, &cookie, "/api/v1/hq/violations?rule=price_hq_only").await;
    assert!(none.is_empty(), "a rule no open violation broke matches none");

    let set_aside = every_row(&site, &cookie, "/api/v1/hq/quarantine?sort=attempts&dir=desc").await;
    let attempts: Vec<i64> = set_aside.iter().map(|q| q["attempts"].as_i64().unwrap()).collect();
    assert_eq!(attempts, [9, 8, 7, 6, 5, 4, 3, 2, 1]);
    assert_eq!(every_row(&site, &cookie, "/api/v1/hq/quarantine?task=mirror").await.len(), 3);
    refused(&site, &cookie, "/api/v1/hq/quarantine?task=backup", "task").await;

    // The pages: each queue with the others' counts on its tabs.
    let (status, _, html) = site.get("/hq/review?kind=ticket", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    for tab in ["并发修改冲突 (25)", "越权修改 (24)", "已隔离文档 (9)"] {
        assert!(html.contains(tab), "{tab}: {html}");
    }
    assert_eq!(html.matches("button class=\"choose\"").count(), 10, "5 conflicts, 2 values each");
    // Fields in words, the stored path kept in the cell's title.
    assert!(html.contains("<td title=\"/profile/name\">档案 · 名称</td>"), "{html}");
    let (_, _, html) = site.get("/hq/review/violations?user=staff-01&limit=3", Some(&cookie)).await;
    assert_eq!(html.matches("data-violation-id=").count(), 3);
    assert!(html.contains("<td title=\"/owners\">客户经理</td>"), "{html}");
    assert!(html.contains("<td class=\"error\" title=\"[&quot;x&quot;]\">x</td>"), "{html}");
    assert!(html.contains("id=\"page-next\""), "8 of staff-01's, 3 to a page");
    let (status, _, html) = site.get("/hq/review/quarantine?task=backup", Some(&cookie)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("<nav"), "the error page keeps the navigation");

    // The files: every row the list shows, in its order.
    let (status, _, csv) = site.get("/hq/review.csv?kind=customer&sort=doc", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    let docs = every_row(&site, &cookie, "/api/v1/hq/conflicts?kind=customer&sort=doc").await;
    assert_eq!(csv_ids(&csv), texts(&docs, "doc_id"), "every row, in the list's order");
    let (_, _, csv) = site.get("/hq/review/violations.csv?user=rep-01", Some(&cookie)).await;
    assert_eq!(csv_ids(&csv).len(), 16);
    let (status, headers, _) = site.get("/hq/review/quarantine.xlsx", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers["content-disposition"].to_str().unwrap().contains("quarantine.xlsx"));
}

#[tokio::test]
async fn reviewing_the_last_violation_of_a_filter_leaves_an_empty_list_not_an_error() {
    let site = demo_site(false);
    with_queues(&site).await;
    let (cookie, csrf) = site.sign_in("hq-01").await;
    let (rows, _) = json(&site, &cookie, "/api/v1/hq/violations?user=staff-01&limit=500").await;
    for v in &rows {
        let path = format!("/hq/review/violations/{}", v["violation_id"]);
        let (status, headers, _) = site.post_form(&path, &cookie, &format!("csrf={csrf}")).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert!(headers["location"].to_str().unwrap().starts_with("/hq/review/violations?done="));
    }
    let (status, _, html) =
        site.get("/hq/review/violations?user=staff-01&rule=owners_hq_only", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert_eq!(html.matches("data-violation-id=").count(), 0);
    assert!(html.contains("越权修改 (16)"), "the tab counts what is left");
}

#[tokio::test]
async fn months_candidates_collections_and_events_page_filter_and_download() {
    let site = demo_site(false);
    let (cookie, _) = site.sign_in("hq-01").await;

    let months = every_row(&site, &cookie, "/api/v1/hq/meetings?limit=1").await;
    assert!(months.len() >= 2, "the demo holds reviews: {months:?}");
    let ids = texts(&months, "review_id");
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "the newest first: {ids:?}");
    let year = &ids[0][..4];
    let of_year = every_row(&site, &cookie, &format!("/api/v1/hq/meetings?year={year}")).await;
    assert!(texts(&of_year, "review_id").iter().all(|m| m.starts_with(year)));
    let open = every_row(&site, &cookie, "/api/v1/hq/meetings?open=yes").await;
    assert!(open.iter().all(|m| m["open_measures"].as_u64().unwrap() > 0));
    refused(&site, &cookie, "/api/v1/hq/meetings?year=20x6", "year").await;
    refused(&site, &cookie, "/api/v1/hq/meetings?open=maybe", "open").await;
    let (_, _, csv) = site.get("/hq/meetings.csv", Some(&cookie)).await;
    assert_eq!(csv_ids(&csv), ids);

    let candidates = every_row(&site, &cookie, "/api/v1/hq/organisations?limit=2").await;
    assert!(candidates.len() >= 3, "{candidates:?}");
    let ranks: Vec<(String, u64)> = candidates
        .iter()
        .map(|c| (c["project_id"].as_str().unwrap().to_owned(), c["rank"].as_u64().unwrap()))
        .collect();
    let mut sorted = ranks.clone();
    sorted.sort();
    assert_eq!(ranks, sorted, "by project, then rank");
    let chosen = every_row(&site, &cookie, "/api/v1/hq/organisations?status=chosen").await;
    assert!(chosen.iter().all(|c| c["status"] == "chosen"));
    let best = candidates.iter().find(|c| c["rank"] == 1).unwrap();
    let kept = every_row(
        &site,
        &cookie,
        &format!("/api/v1/hq/organisations?status={}", best["status"].as_str().unwrap()),
    )
    .await;
    assert!(kept.iter().any(|c| c["rank"] == 1), "a filter does not change a rank");
    refused(&site, &cookie, "/api/v1/hq/organisations?project=nowhere", "project").await;
    refused(&site, &cookie, "/api/v1/hq/organisations?status=won", "status").await;
    let (_, _, csv) = site.get("/hq/organisations.csv?sort=name", Some(&cookie)).await;
    assert_eq!(csv_ids(&csv).len(), candidates.len());

    let due = every_row(&site, &cookie, "/api/v1/hq/collections?limit=3").await;
    let overdue: Vec<i64> = due.iter().map(|l| l["days_overdue"].as_i64().unwrap()).collect();
    assert!(overdue.windows(2).all(|w| w[0] >= w[1]), "the most overdue first: {overdue:?}");
    let late = every_row(&site, &cookie, "/api/v1/hq/collections?show=overdue").await;
    assert!(late.iter().all(|l| l["days_overdue"].as_i64().unwrap() > 0));
    refused(&site, &cookie, "/api/v1/hq/collections?show=paid", "show").await;
    refused(&site, &cookie, "/api/v1/hq/collections?organisation=nobody", "organisation").await;
    let (status, _, html) =
        site.get("/hq/collections?sort=outstanding&dir=desc", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(html.matches("data-entry-id=").count(), due.len().min(50));
    let (_, _, html) = site.get("/hq/organisations", Some(&cookie)).await;
    assert!(html.contains("id=\"all-collections\""), "the page links every instalment");

    let events = every_row(&site, &cookie, "/api/v1/hq/events").await;
    assert_eq!(texts(&events, "event_id"), std::slice::from_ref(&site.event));
    assert_eq!(every_row(&site, &cookie, "/api/v1/hq/events?desk=open").await.len(), 0);
    let project = events[0]["project_id"].as_str().unwrap();
    let sells = every_row(&site, &cookie, &format!("/api/v1/hq/events?project={project}")).await;
    assert_eq!(sells.len(), 1);
    refused(&site, &cookie, "/api/v1/hq/events?project=elsewhere", "project").await;
    refused(&site, &cookie, "/api/v1/hq/events?sort=price", "sort").await;
    let (status, _, html) = site.get("/hq/events?desk=closed", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("data-desk=\"closed\"") && html.contains("id=\"export-csv\""));
    let (_, _, csv) = site.get("/hq/events.csv", Some(&cookie)).await;
    assert_eq!(csv_ids(&csv).len(), 1, "the one event");
}

#[tokio::test]
async fn the_grants_are_listed_for_the_administrator_only() {
    let site = demo_site(false);
    let (admin, _) = site.sign_in("admin").await;
    let all = every_row(&site, &admin, "/api/v1/admin/grants?limit=40").await;
    let keys: HashSet<(String, String, String)> = all
        .iter()
        .map(|g| {
            let s = |f: &str| g[f].as_str().unwrap().to_owned();
            (s("user_id"), s("scope"), s("target_id"))
        })
        .collect();
    assert_eq!(keys.len(), all.len(), "no grant twice across pages");
    let customers =
        every_row(&site, &admin, "/api/v1/admin/grants?scope=customer&user=rep-01").await;
    assert!(!customers.is_empty());
    assert!(customers.iter().all(|g| g["user_id"] == "rep-01" && g["scope"] == "customer"));
    assert!(
        customers.iter().all(|g| g["target_name"] != g["target_id"]),
        "customers by name: {customers:?}"
    );
    let events = every_row(&site, &admin, "/api/v1/admin/grants?scope=event").await;
    assert!(
        events.iter().any(|g| g["target_id"] == site.event.as_str() && g["user_id"] == "staff-01")
    );
    let name = customers[0]["target_name"].as_str().unwrap();
    let asked = format!("/api/v1/admin/grants?q={}", crate::web::layout::url_encode(name));
    let found = every_row(&site, &admin, &asked).await;
    assert!(
        found
            .iter()
            .all(|g| g["target_name"] == name || g["user_name"].as_str().unwrap().contains(name))
    );
    refused(&site, &admin, "/api/v1/admin/grants?scope=unit", "scope").await;
    refused(&site, &admin, "/api/v1/admin/grants?user=nobody", "user").await;
    let users = every_row(&site, &admin, "/api/v1/admin/users?role=rep&limit=2").await;
    assert!(users.len() >= 3 && users.iter().all(|u| u["role"] == "rep"));

    let (status, _, html) = site.get("/hq/admin/grants?scope=event", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"grants\"") && html.contains("id=\"find-customer\""));
    assert_eq!(html.matches("data-scope-key=\"event/").count(), events.len());
    let (_, _, csv) = site.get(&and("/hq/admin/grants.csv", "scope=event"), Some(&admin)).await;
    assert_eq!(csv_ids(&csv).len(), events.len());

    let (hq, _) = site.sign_in("hq-01").await;
    for path in ["/api/v1/admin/grants", "/api/v1/admin/users", "/hq/admin/grants.csv"] {
        assert_eq!(site.get(path, Some(&hq)).await.0, StatusCode::FORBIDDEN, "{path}");
    }
}

#[tokio::test]
async fn a_queued_document_is_shown_and_found_by_its_name() {
    let site = demo_site(false);
    let (cookie, _) = site.sign_in("hq-01").await;
    let (customers, _) = json(&site, &cookie, "/api/v1/hq/customers?limit=1").await;
    let (id, name) = (customers[0]["customer_id"].as_str().unwrap(), customers[0]["name"].clone());
    let doc = format!("customer/{id}");
    let at = Utc::now();
    let stored = doc.clone();
    site.state
        .with_store(move |store| {
            store.write(|tx, _, _| {
                tx.upsert_conflict(&stored, "/profile/industry", &["甲".into(), "乙".into()], at)?;
                tx.quarantine("projection", &stored, 1, "bad document", at)?;
                Ok(())
            })
        })
        .await
        .unwrap();
    let name = name.as_str().unwrap();
    for list in ["/api/v1/hq/conflicts", "/api/v1/hq/quarantine"] {
        let (rows, _) = json(&site, &cookie, list).await;
        let row = rows.iter().find(|r| r["doc_id"] == doc.as_str()).unwrap();
        assert_eq!(row["doc_name"], name, "{list}: {row}");
        let asked = and(list, &format!("q={}", crate::web::layout::url_encode(name)));
        let (found, _) = json(&site, &cookie, &asked).await;
        assert!(found.iter().any(|r| r["doc_id"] == doc.as_str()), "{asked}: found by its name");
    }
    let (_, _, html) = site.get("/hq/review", Some(&cookie)).await;
    assert!(
        html.contains(&format!("title=\"{doc}\">{name}</a>")),
        "named, its id on hover: {html}"
    );
    let (_, _, csv) = site.get("/hq/review/quarantine.csv", Some(&cookie)).await;
    assert!(csv.contains(&format!("{name} ({doc})")), "{csv}");
}

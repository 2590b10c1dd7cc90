//! The customer and ticket lists at a size that pages: search, filters combined, sorting by a
//! column, cursor paging through the JSON API's `Link` headers and the page's links, the
//! exports, and bad filter values answered with a message.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::io::Cursor;

use axum::http::{HeaderMap, StatusCode, header};
use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
use serde_json::Value;

use crate::api::paging::TOTAL_COUNT;
use crate::web::demo_site_tests::{DemoSite, demo_site_sized};

pub(super) async fn json(site: &DemoSite, cookie: &str, path: &str) -> (Vec<Value>, HeaderMap) {
    let (status, headers, body) = site.get(path, Some(cookie)).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    let rows: Value = serde_json::from_str(&body).unwrap();
    (rows.as_array().unwrap().clone(), headers)
}

pub(super) fn link(headers: &HeaderMap, rel: &str) -> Option<String> {
    let value = headers.get(header::LINK)?.to_str().unwrap().to_owned();
    value
        .split(", ")
        .find(|l| l.ends_with(&format!("rel=\"{rel}\"")))
        .map(|l| l.split_once('>').unwrap().0.trim_start_matches('<').to_owned())
}

/// Every row of `path` following the `next` links, with the total each page announced.
async fn all_pages(site: &DemoSite, cookie: &str, path: &str, id: &str) -> (Vec<String>, usize) {
    let (mut ids, mut next, mut total) = (Vec::new(), Some(path.to_owned()), None);
    while let Some(at) = next {
        let (rows, headers) = json(site, cookie, &at).await;
        let count: usize = headers[TOTAL_COUNT].to_str().unwrap().parse().unwrap();
        assert_eq!(*total.get_or_insert(count), count, "the total is the same on every page");
        ids.extend(rows.iter().map(|r| r[id].as_str().unwrap().to_owned()));
        next = link(&headers, "next");
        assert!(ids.len() <= count, "paging must end");
    }
    (ids, total.unwrap_or(0))
}

#[tokio::test]
async fn the_customer_list_pages_sorts_searches_and_combines_filters() {
    let site = demo_site_sized(60, 30);
    let (cookie, _) = site.sign_in("hq-01").await;
    let (whole, _) = json(&site, &cookie, "/api/v1/hq/customers?limit=500").await;
    assert_eq!(whole.len(), 60);
    let (paged, total) =
        all_pages(&site, &cookie, "/api/v1/hq/customers?limit=7", "customer_id").await;
    assert_eq!(total, 60);
    let expected: Vec<String> =
        whole.iter().map(|c| c["customer_id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(paged, expected, "seven at a time, every customer once, in the list's order");

    let (by_score, _) =
        json(&site, &cookie, "/api/v1/hq/customers?sort=score&dir=desc&limit=500").await;
    let scores: Vec<i64> = by_score.iter().filter_map(|c| c["score"].as_i64()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "highest score first: {scores:?}");
    assert!(by_score.iter().rev().take_while(|c| c["score"].is_null()).count() < 60);

    let named = whole[17]["name"].as_str().unwrap();
    let part: String = named.chars().skip(1).take(3).collect();
    let (found, _) = json(
        &site,
        &cookie,
        &format!("/api/v1/hq/customers?q={}", crate::web::layout::url_encode(&part)),
    )
    .await;
    assert!(found.iter().any(|c| c["name"] == named), "{part} finds {named}");
    assert!(found.iter().all(|c| {
        let text = c.to_string();
        text.contains(&part)
    }));

    let rep_name = whole[0]["owner_names"][0].as_str().unwrap().to_owned();
    let rep_id = whole[0]["owners"][0].as_str().unwrap().to_owned();
    assert_ne!(rep_name, rep_id, "reps are shown by name");
    let (by_rep_name, _) = json(
        &site,
        &cookie,
        &format!("/api/v1/hq/customers?q={}", crate::web::layout::url_encode(&rep_name)),
    )
    .await;
    assert!(
        by_rep_name.iter().all(|c| c["owners"].as_array().unwrap().iter().any(|o| o == &rep_id))
    );
    assert!(!by_rep_name.is_empty());

    let tier = whole[0]["tier"].as_str().unwrap();
    let grade = whole[0]["grade"].as_str().unwrap_or("none");
    let (both, headers) = json(
        &site,
        &cookie,
        &format!("/api/v1/hq/customers?tier={tier}&grade={grade}&rep={rep_id}"),
    )
    .await;
    let count: usize = headers[TOTAL_COUNT].to_str().unwrap().parse().unwrap();
    assert_eq!(count, both.len());
    assert!(both.iter().all(|c| c["tier"] == tier
        && c["grade"].as_str().unwrap_or("none") == grade
        && c["owners"].as_array().unwrap().iter().any(|o| o == &rep_id)));
    let expected_both = whole
        .iter()
        .filter(|c| c["tier"] == tier && c["grade"].as_str().unwrap_or("none") == grade)
        .filter(|c| c["owners"].as_array().unwrap().iter().any(|o| o == &rep_id))
        .count();
    assert_eq!(both.len(), expected_both);
}

#[tokio::test]
async fn the_customer_page_links_its_sorts_pages_and_files_with_the_filters() {
    let site = demo_site_sized(60, 30);
    let (cookie, _) = site.sign_in("hq-01").await;
    let (status, _, html) = site.get("/hq/customers?tier=general&limit=25", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"search\""), "a search box");
    assert!(
        html.contains("href=\"/hq/customers?tier=general&amp;sort=name&amp;dir=asc&amp;limit=25\""),
        "sorting keeps the filter"
    );
    assert!(html.contains("href=\"/hq/customers.csv?tier=general&amp;limit=25\""));
    assert!(html.contains("href=\"/hq/customers.xlsx?tier=general&amp;limit=25\""));
    let general = html.matches("data-tier=\"general\"").count();
    assert_eq!(html.matches("data-customer-id=").count(), general, "only general customers");

    let (status, _, all) = site.get("/hq/customers?limit=25", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(all.matches("data-customer-id=").count(), 25);
    for id in ["list-count", "page-next", "export-csv", "search"] {
        assert_eq!(all.matches(&format!("id=\"{id}\"")).count(), 1, "one element is #{id}");
    }
    assert!(all.contains("data-total=\"60\""));
    let next = all
        .split("id=\"page-next\" rel=\"next\" href=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    let (status, _, second) = site.get(&next, Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(second.contains("第 26–50 条，共 60 条"), "the second page says where it is");
    assert!(second.contains("id=\"page-prev\""));
}

#[tokio::test]
async fn bad_filter_values_are_a_message_on_the_page_and_a_400_from_the_api() {
    let site = demo_site_sized(10, 10);
    let (cookie, _) = site.sign_in("hq-01").await;
    for (path, text) in [
        ("/hq/customers?tier=bogus", "筛选条件“级别”不能取值“bogus”"),
        ("/hq/customers?grade=Z", "筛选条件“等级”不能取值“Z”"),
        ("/hq/customers?rep=nobody", "筛选条件“客户经理”不能取值“nobody”"),
        ("/hq/customers?sort=shoe", "筛选条件“排序”不能取值“shoe”"),
        ("/hq/customers?limit=0", "每页条数须在 1 到 500 之间"),
        ("/hq/customers?cursor=abc", "翻页位置已失效"),
        ("/hq/tickets?sla=late", "筛选条件“时效”不能取值“late”"),
        ("/hq/tickets?opened_from=yesterday", "筛选条件“受理日期起”不能取值“yesterday”"),
        ("/hq/tickets?kind=rumour", "筛选条件“类型”不能取值“rumour”"),
    ] {
        let (status, _, html) = site.get(path, Some(&cookie)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}");
        assert!(html.contains(text), "{path} says {text}");
        assert!(html.contains("<nav"), "{path} keeps the navigation");
        assert!(
            !html.contains("data-customer-id") && !html.contains("data-ticket-id"),
            "{path} lists nothing"
        );
    }
    let (status, _, body) = site.get("/api/v1/hq/customers?tier=bogus", Some(&cookie)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("\"invalid_field\"") && body.contains("invalid tier"), "{body}");
    let (status, _, body) = site.get("/api/v1/hq/tickets?priority=meh", Some(&cookie)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("invalid priority"), "{body}");
}

#[tokio::test]
async fn the_ticket_list_filters_by_day_and_state_and_its_files_hold_every_row() {
    let site = demo_site_sized(20, 90);
    let (cookie, _) = site.sign_in("hq-01").await;
    let (all, _) =
        all_pages(&site, &cookie, "/api/v1/hq/tickets?show=all&limit=11", "ticket_id").await;
    assert_eq!(all.len(), 90);
    assert_eq!(all.iter().collect::<HashSet<_>>().len(), 90, "no ticket twice");

    let (whole, _) = json(&site, &cookie, "/api/v1/hq/tickets?show=all&limit=500").await;
    let opened = whole[5]["opened_at"].as_str().unwrap();
    let day = chrono::DateTime::parse_from_rfc3339(opened)
        .unwrap()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .date_naive();
    let (that_day, _) = json(
        &site,
        &cookie,
        &format!("/api/v1/hq/tickets?show=all&opened_from={day}&opened_to={day}&limit=500"),
    )
    .await;
    assert!(that_day.iter().any(|t| t["ticket_id"] == whole[5]["ticket_id"]));
    for t in &that_day {
        let d = chrono::DateTime::parse_from_rfc3339(t["opened_at"].as_str().unwrap())
            .unwrap()
            .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
            .date_naive();
        assert_eq!(d, day, "opened on the Beijing day asked for");
    }
    let sla = whole[0]["sla"].as_str().unwrap();
    let (same_sla, _) =
        json(&site, &cookie, &format!("/api/v1/hq/tickets?show=all&sla={sla}&limit=500")).await;
    assert_eq!(same_sla.len(), whole.iter().filter(|t| t["sla"] == sla).count());

    let (status, headers, csv) =
        site.get("/hq/tickets.csv?show=all&sort=opened&dir=desc", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers[header::CONTENT_DISPOSITION].to_str().unwrap().contains("tickets.csv"));
    let lines: Vec<&str> = csv.trim_end().split("\r\n").collect();
    assert_eq!(lines.len(), 90 + 1, "the header and every ticket, not one page");
    assert!(lines[0].contains("工单编号") && lines[0].contains("回复期限"));
    assert!(lines[1].contains("(UTC+08:00)"), "times in the policy's zone, named: {}", lines[1]);

    let request = crate::web::demo_site_tests::get("/hq/customers.xlsx?sort=name", Some(&cookie));
    let (status, bytes) = site.send_bytes(request).await;
    assert_eq!(status, StatusCode::OK);
    let mut book: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes)).unwrap();
    let sheet = book.worksheet_range("customers").unwrap();
    let rows: Vec<_> = sheet.rows().collect();
    assert_eq!(rows.len(), 3 + 20, "title, stamp, header and every customer");
    assert_eq!(rows[2][1], Data::String("客户名称".into()));
}

#[tokio::test]
async fn a_reps_page_shows_their_customers_tickets_and_visits_and_links_the_whole_lists() {
    let site = demo_site_sized(40, 60);
    let (cookie, _) = site.sign_in("hq-01").await;
    let (_, headers) = json(&site, &cookie, "/api/v1/hq/customers?rep=rep-01&limit=1").await;
    let owned = headers[TOTAL_COUNT].to_str().unwrap().to_owned();
    let (_, headers) = json(&site, &cookie, "/api/v1/hq/tickets?rep=rep-01&limit=1").await;
    let open = headers[TOTAL_COUNT].to_str().unwrap().to_owned();
    let (status, _, html) = site.get("/hq/reps/rep-01", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let name = kam_core::demo::staff_name("rep-01");
    assert!(
        html.contains(&format!("<h1 id=\"rep-name\" data-user-id=\"rep-01\">{name}")),
        "the rep by name"
    );
    assert!(
        html.contains(&format!("<div class=\"n\" id=\"rep-customers\">{owned}</div>")),
        "{owned} customers"
    );
    assert!(
        html.contains(&format!("<div class=\"n\" id=\"rep-open-tickets\">{open}</div>")),
        "{open} tickets"
    );
    for link in ["/hq/customers?rep=rep-01", "/hq/tickets?rep=rep-01", "/hq/visits?rep=rep-01"] {
        assert!(html.contains(&format!("href=\"{link}\"")), "links {link}");
    }
    assert!(html.contains("<svg"), "the rep's visits by month");
    let (status, _, _) = site.get("/hq/reps/nobody", Some(&cookie)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (rep_cookie, _) = site.sign_in("rep-01").await;
    let (status, _, _) = site.get("/hq/reps/rep-01", Some(&rep_cookie)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "headquarters' view, not the rep's own");
    // The customer list links each rep to their page.
    let (_, _, list) = site.get("/hq/customers?rep=rep-01", Some(&cookie)).await;
    assert!(list.contains(&format!("<a class=\"rep\" href=\"/hq/reps/rep-01\">{name}</a>")));
}

#[tokio::test]
async fn re_grade_proposals_page_and_refuse_an_unknown_tier() {
    let site = demo_site_sized(60, 10);
    let (cookie, _) = site.sign_in("hq-01").await;
    let (all, total) =
        all_pages(&site, &cookie, "/api/v1/hq/regrades?limit=4", "customer_id").await;
    assert!(total > 4, "the demo proposes more than a page: {total}");
    assert_eq!(all.len(), total);
    assert_eq!(all.iter().collect::<HashSet<_>>().len(), total, "each proposal once");
    let (status, _, html) = site.get("/hq/regrades?limit=4", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(html.matches("<tr data-customer-id=").count(), 4);
    assert!(html.contains("id=\"page-next\""));
    let (status, _, html) = site.get("/hq/regrades?proposed=bogus", Some(&cookie)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("<nav"), "a localized error page with the navigation");
}

#[tokio::test]
async fn a_customers_file_speaks_in_words_names_and_the_policys_time_zone() {
    let site = demo_site_sized(5, 5);
    let (cookie, _) = site.sign_in("hq-01").await;
    let (whole, _) = json(&site, &cookie, "/api/v1/hq/customers").await;
    let id = whole[0]["customer_id"].as_str().unwrap();
    let (status, _, html) = site.get(&format!("/hq/customers/{id}"), Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains("net:") && !html.contains(">cod<"), "payment terms in words");
    let rep = whole[0]["owners"][0].as_str().unwrap();
    let name = kam_core::demo::staff_name(rep);
    assert!(
        html.contains(&format!("href=\"/hq/reps/{rep}\">{name}</a>")),
        "the rep by name, linked"
    );
    assert!(html.contains("变更历史") && html.contains("(UTC+08:00)"), "the zone is named");
    assert!(html.contains("导入演示数据"), "the action in words");
    assert!(html.contains("<span class=\"new\">"), "the values the change set");
    assert!(
        html.contains(&format!("/hq/tickets?show=all&amp;customer={id}")),
        "linked to its tickets"
    );
    let (_, _, file) = site.get(&format!("/api/v1/hq/customers/{id}"), Some(&cookie)).await;
    let file: Value = serde_json::from_str(&file).unwrap();
    let first = &file["history"][0];
    assert_eq!(first["author_name"], first["author"], "an importer no user is keeps its id");
    assert!(!first["changes"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn plans_and_surveys_page_over_the_api_and_on_their_pages() {
    let site = demo_site_sized(40, 10);
    let (cookie, _) = site.sign_in("hq-01").await;
    let (plans, total) =
        all_pages(&site, &cookie, "/api/v1/hq/plans?year=all&limit=3", "plan_id").await;
    assert!(total > 3, "the demo has more than a page of plans: {total}");
    assert_eq!(plans.iter().collect::<HashSet<_>>().len(), total, "every plan once");
    let (status, _, html) = site.get("/hq/plans?year=all&limit=3", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(html.matches("<tr data-plan-id=").count(), 3);
    assert!(html.contains("id=\"page-next\""));

    let (status, headers, body) = site.get("/api/v1/hq/surveys?limit=2", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let view: Value = serde_json::from_str(&body).unwrap();
    let customers: HashSet<&str> = view["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["customer_id"].as_str().unwrap())
        .collect();
    assert_eq!(customers.len(), 2);
    let surveyed: usize = headers[TOTAL_COUNT].to_str().unwrap().parse().unwrap();
    assert!(surveyed > 2, "{surveyed} surveyed customers");
    assert!(link(&headers, "next").is_some());
    assert!(
        view["surveys"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| customers.contains(s["customer_id"].as_str().unwrap())),
        "only the surveys of the page's customers"
    );
    let (status, _, html) = site.get("/hq/surveys?limit=2&sort=name", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(html.matches("<tr data-customer-id=").count(), 2);
    let (status, _, _) = site.get("/hq/surveys?tier=bogus", Some(&cookie)).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "an unknown tier is refused, not an empty list"
    );
}

#[tokio::test]
async fn the_pipeline_pages_its_leads_names_its_reps_and_refuses_an_unknown_stage() {
    let site = demo_site_sized(60, 10);
    let (cookie, _) = site.sign_in("hq-01").await;
    let (status, headers, body) = site.get("/api/v1/hq/pipeline?limit=2", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let view: Value = serde_json::from_str(&body).unwrap();
    let leads: usize = headers[TOTAL_COUNT].to_str().unwrap().parse().unwrap();
    assert_eq!(view["leads"].as_array().unwrap().len(), leads.min(2));
    let (status, _, html) = site.get("/hq/pipeline", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    let owner = view["by_rep"][0]["owner"].as_str().unwrap();
    let name = kam_core::demo::staff_name(owner);
    assert!(html.contains(&format!(">{name}</a>")), "the rep {owner} by name");
    for bad in [
        "/hq/pipeline?stage=rumour",
        "/hq/pipeline?owner=nobody",
        "/api/v1/hq/pipeline?stage=rumour",
    ] {
        let (status, _, _) = site.get(bad, Some(&cookie)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
}

/// The ids of the rows a list's JSON holds: the body itself or its field `rows`.
fn ids_of(body: &Value, rows: Option<&str>, id: &str) -> Vec<String> {
    let list = rows.map_or(body, |field| &body[field]);
    list.as_array().unwrap().iter().map(|r| r[id].as_str().unwrap().to_owned()).collect()
}

/// `path` with one more query parameter.
pub(super) fn and(path: &str, pair: &str) -> String {
    format!("{path}{}{pair}", if path.contains('?') { '&' } else { '?' })
}

/// The first cell of each CSV line after the header.
pub(super) fn csv_ids(csv: &str) -> Vec<String> {
    let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').trim_end().split("\r\n").collect();
    lines[1..].iter().map(|l| l.split(',').next().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn every_list_downloads_every_matching_row_in_its_order_and_searches() {
    let site = demo_site_sized(60, 10);
    let (cookie, _) = site.sign_in("hq-01").await;
    // (the list's JSON, its file, the field holding its rows, the rows' id)
    let lists = [
        ("/api/v1/hq/regrades?sort=name", "/hq/regrades.csv?sort=name", None, "customer_id"),
        (
            "/api/v1/hq/regrades?proposed=general&sort=score&dir=asc",
            "/hq/regrades.csv?proposed=general&sort=score&dir=asc",
            None,
            "customer_id",
        ),
        (
            "/api/v1/hq/plans?year=all&sort=year",
            "/hq/plans.csv?year=all&sort=year",
            None,
            "plan_id",
        ),
        (
            "/api/v1/hq/surveys?sort=latest&dir=desc",
            "/hq/surveys.csv?sort=latest&dir=desc",
            Some("customers"),
            "customer_id",
        ),
        (
            "/api/v1/hq/surveys?tier=general",
            "/hq/surveys.csv?tier=general",
            Some("customers"),
            "customer_id",
        ),
        ("/api/v1/hq/pipeline?sort=value", "/hq/pipeline.csv?sort=value", Some("leads"), "lead_id"),
        ("/api/v1/hq/pipeline?stage=won", "/hq/pipeline.csv?stage=won", Some("leads"), "lead_id"),
        ("/api/v1/hq/devices?sort=user", "/hq/devices.csv?sort=user", None, "device_id"),
        (
            "/api/v1/hq/visit-compliance?sort=customer",
            "/hq/visits.csv?sort=customer",
            Some("overdue"),
            "customer_id",
        ),
        (
            "/api/v1/hq/devices?role=rep&sort=behind&dir=desc",
            "/hq/devices.csv?role=rep&sort=behind&dir=desc",
            None,
            "device_id",
        ),
    ];
    for (api, file, rows, id) in lists {
        let (status, headers, body) = site.get(&and(api, "limit=500"), Some(&cookie)).await;
        assert_eq!(status, StatusCode::OK, "{api}: {body}");
        let total: usize = headers[TOTAL_COUNT].to_str().unwrap().parse().unwrap();
        let listed = ids_of(&serde_json::from_str(&body).unwrap(), rows, id);
        assert_eq!(listed.len(), total, "{api}: one page holds them all at this size");
        assert!(total > 0, "{api}: the demo has rows to export");
        let (status, headers, csv) = site.get(file, Some(&cookie)).await;
        assert_eq!(status, StatusCode::OK, "{file}: {csv}");
        assert!(headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/csv"));
        assert_eq!(csv_ids(&csv), listed, "{file}: every row of the list, in its order");
    }

    let request = crate::web::demo_site_tests::get("/hq/pipeline.xlsx", Some(&cookie));
    let (status, bytes) = site.send_bytes(request).await;
    assert_eq!(status, StatusCode::OK);
    let mut book: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes)).unwrap();
    let sheet = book.worksheet_range("leads").unwrap();
    let (_, headers, _) = site.get("/api/v1/hq/pipeline?limit=1", Some(&cookie)).await;
    let leads: usize = headers[TOTAL_COUNT].to_str().unwrap().parse().unwrap();
    assert_eq!(sheet.rows().count(), 3 + leads, "title, stamp, header and every lead");
    assert_eq!(sheet.rows().nth(2).unwrap()[4], Data::String("预计金额".into()));

    // The search of each list: by the first row's customer name, every row shown holds it.
    for (api, rows, name_field) in [
        ("/api/v1/hq/plans?year=all", None, "customer_name"),
        ("/api/v1/hq/surveys", Some("customers"), "name"),
        ("/api/v1/hq/pipeline", Some("leads"), "customer_name"),
        ("/api/v1/hq/regrades", None, "name"),
    ] {
        let (_, headers, body) = site.get(&and(api, "limit=500"), Some(&cookie)).await;
        let all: usize = headers[TOTAL_COUNT].to_str().unwrap().parse().unwrap();
        let body: Value = serde_json::from_str(&body).unwrap();
        let first = &rows.map_or(&body, |f| &body[f])[0];
        let name = first[name_field].as_str().unwrap().to_owned();
        let asked = and(api, &format!("q={}&limit=500", crate::web::layout::url_encode(&name)));
        let (status, headers, found) = site.get(&asked, Some(&cookie)).await;
        assert_eq!(status, StatusCode::OK, "{asked}: {found}");
        let found: Value = serde_json::from_str(&found).unwrap();
        let shown = rows.map_or(&found, |f| &found[f]).as_array().unwrap().clone();
        let count: usize = headers[TOTAL_COUNT].to_str().unwrap().parse().unwrap();
        assert!(count >= 1 && count < all, "{asked}: {count} of {all}");
        assert!(shown.iter().all(|r| r[name_field] == name.as_str()), "{asked}: {shown:?}");
    }
    for bad in
        ["/hq/plans?status=lost", "/api/v1/hq/plans?status=lost", "/hq/plans.csv?status=lost"]
    {
        let (status, _, _) = site.get(bad, Some(&cookie)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    let (status, _, html) = site.get("/hq/pipeline?q=%E5%AE%8F&stage=won", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("href=\"/hq/pipeline.csv?stage=won&amp;q=%E5%AE%8F\""),
        "the file keeps the filters"
    );
}

#[tokio::test]
async fn a_ticket_page_read_without_text_shows_every_rows_title_and_customer() {
    let site = demo_site_sized(30, 80);
    let (cookie, _) = site.sign_in("hq-01").await;
    // Sorted by text, every ticket is read in full; by the SLA (the default), the page's rows
    // only: both must show the same titles and names.
    let (full, _) = json(&site, &cookie, "/api/v1/hq/tickets?show=all&sort=title&limit=500").await;
    let text = |t: &Value| (t["title"].clone(), t["customer_name"].clone());
    let by_id: std::collections::HashMap<String, (Value, Value)> =
        full.iter().map(|t| (t["ticket_id"].as_str().unwrap().to_owned(), text(t))).collect();
    let mut seen = 0;
    let mut next = Some("/api/v1/hq/tickets?show=all&limit=9&kind=complaint".to_owned());
    while let Some(at) = next {
        let (rows, headers) = json(&site, &cookie, &at).await;
        for t in &rows {
            let id = t["ticket_id"].as_str().unwrap();
            assert_eq!(Some(&text(t)), by_id.get(id), "{id} on {at}");
            assert!(!t["title"].as_str().unwrap().is_empty());
            assert_eq!(t["kind"], "complaint");
        }
        seen += rows.len();
        next = link(&headers, "next");
    }
    let complaints = full.iter().filter(|t| t["kind"] == "complaint").count();
    assert_eq!(seen, complaints, "every complaint once");
    assert!(complaints > 9, "more than a page: {complaints}");
}

#[tokio::test]
async fn the_monthly_reports_rows_page_with_the_totals_whole() {
    let site = demo_site_sized(80, 10);
    let (cookie, _) = site.sign_in("hq-01").await;
    let path = "/api/v1/hq/reports/monthly?limit=500";
    let (status, headers, body) = site.get(path, Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let whole: Value = serde_json::from_str(&body).unwrap();
    let total: usize = headers[TOTAL_COUNT].to_str().unwrap().parse().unwrap();
    let rows = whole["rows"].as_array().unwrap();
    assert_eq!(rows.len(), total);
    assert!(total > 3, "more than a page of three: {total}");
    let ranks: Vec<u64> = rows.iter().map(|r| r["rank"].as_u64().unwrap()).collect();
    assert_eq!(ranks, (1..=total as u64).collect::<Vec<_>>(), "the report's order by default");
    let order: Vec<&str> = rows.iter().map(|r| r["customer_id"].as_str().unwrap()).collect();

    let (mut paged, mut next) = (Vec::new(), Some("/api/v1/hq/reports/monthly?limit=3".to_owned()));
    while let Some(at) = next {
        let (_, headers, body) = site.get(&at, Some(&cookie)).await;
        let page: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(page["totals"], whole["totals"], "the totals are the whole report's");
        assert_eq!(page["month"], whole["month"]);
        paged.extend(
            page["rows"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["customer_id"].as_str().unwrap().to_owned()),
        );
        next = link(&headers, "next");
        assert!(paged.len() <= total, "paging must end");
    }
    assert_eq!(paged, order, "three at a time, every row once, in order");

    let (_, _, body) =
        site.get("/api/v1/hq/reports/monthly?sort=volume&dir=desc&limit=500", Some(&cookie)).await;
    let by_volume: Value = serde_json::from_str(&body).unwrap();
    let volumes: Vec<rust_decimal::Decimal> = by_volume["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["volume"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(volumes.windows(2).all(|w| w[0] >= w[1]), "largest first: {volumes:?}");
    let (status, _, _) = site.get("/api/v1/hq/reports/monthly?sort=mood", Some(&cookie)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn visit_compliance_over_the_api_takes_a_rep_and_a_month() {
    let site = demo_site_sized(60, 10);
    let (cookie, _) = site.sign_in("hq-01").await;
    let (status, _, body) = site.get("/api/v1/hq/visit-compliance", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let everyone: Value = serde_json::from_str(&body).unwrap();
    let rep = everyone["by_rep"].as_object().unwrap().keys().next().unwrap().clone();
    let (status, _, body) =
        site.get(&format!("/api/v1/hq/visit-compliance?rep={rep}"), Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let theirs: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(theirs["by_rep"].as_object().unwrap().keys().collect::<Vec<_>>(), vec![&rep]);
    assert_eq!(theirs["by_rep"][&rep], everyone["by_rep"][&rep], "the same count for the rep");

    let (status, _, body) =
        site.get("/api/v1/hq/visit-compliance/month?limit=500", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let month: Value = serde_json::from_str(&body).unwrap();
    let lines = month["lines"].as_array().unwrap();
    assert_eq!(lines.len() as u64, month["due"].as_u64().unwrap(), "a line per entry due");
    let made = lines.iter().filter(|l| !l["visited_on"].is_null()).count();
    assert_eq!(made as u64, month["made"].as_u64().unwrap());
    let path = format!(
        "/api/v1/hq/visit-compliance/month?month={}&rep={rep}",
        month["month"].as_str().unwrap()
    );
    let (status, _, body) = site.get(&path, Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let theirs: Value = serde_json::from_str(&body).unwrap();
    let lines = theirs["lines"].as_array().unwrap();
    assert!(
        lines.iter().all(|l| l["owners"].as_array().unwrap().iter().any(|o| o == rep.as_str()))
    );
    for bad in [
        "/api/v1/hq/visit-compliance?rep=nobody",
        "/api/v1/hq/visit-compliance/month?month=2026-13",
        "/api/v1/hq/visit-compliance/month?month=2999-01",
        "/api/v1/hq/visit-compliance/month?rep=nobody",
    ] {
        let (status, _, body) = site.get(bad, Some(&cookie)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert!(body.contains("invalid_field"), "{bad}: {body}");
    }
}

#[tokio::test]
async fn the_device_list_searches_filters_sorts_and_pages() {
    let site = demo_site_sized(30, 10);
    let (cookie, _) = site.sign_in("hq-01").await;
    let (whole, headers) = json(&site, &cookie, "/api/v1/hq/devices?limit=500").await;
    let total: usize = headers[TOTAL_COUNT].to_str().unwrap().parse().unwrap();
    assert_eq!(whole.len(), total);
    assert!(total > 3, "more than a page of two: {total}");
    let (paged, _) = all_pages(&site, &cookie, "/api/v1/hq/devices?limit=2", "device_id").await;
    let expected: Vec<String> =
        whole.iter().map(|d| d["device_id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(paged, expected, "two at a time, every device once, in order");
    let silent: Vec<i64> =
        whole.iter().map(|d| d["minutes_since_sync"].as_i64().unwrap_or(i64::MAX)).collect();
    assert!(silent.windows(2).all(|w| w[0] >= w[1]), "the longest silent first: {silent:?}");

    let first = &whole[0];
    let user = first["user_id"].as_str().unwrap();
    let name = kam_core::demo::staff_name(user);
    assert_eq!(first["user_name"], name.as_str(), "the user by name");
    let (theirs, _) =
        json(&site, &cookie, &format!("/api/v1/hq/devices?user={user}&limit=500")).await;
    assert!(!theirs.is_empty() && theirs.iter().all(|d| d["user_id"] == user));
    let q = crate::web::layout::url_encode(&name);
    let (found, _) = json(&site, &cookie, &format!("/api/v1/hq/devices?q={q}&limit=500")).await;
    assert_eq!(found.len(), theirs.len(), "the search by the user's name finds their devices");
    let (active, _) = json(&site, &cookie, "/api/v1/hq/devices?state=active&limit=500").await;
    assert!(active.iter().all(|d| d["revoked_at"].is_null()));
    let (by_user, _) = json(&site, &cookie, "/api/v1/hq/devices?sort=user&limit=500").await;
    let names: Vec<&str> = by_user.iter().map(|d| d["user_name"].as_str().unwrap()).collect();
    assert!(names.windows(2).all(|w| w[0] <= w[1]), "by user: {names:?}");

    let (status, _, html) = site.get("/hq/devices?limit=2&sort=user", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(html.matches("<tr data-device-id=").count(), 2);
    assert!(
        html.contains("id=\"page-next\"")
            && html.contains("href=\"/hq/devices.csv?sort=user&amp;limit=2\"")
    );
    for bad in [
        "/api/v1/hq/devices?role=king",
        "/api/v1/hq/devices?state=lost",
        "/api/v1/hq/devices?user=nobody",
        "/hq/devices?role=king",
    ] {
        let (status, _, _) = site.get(bad, Some(&cookie)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
}

#[tokio::test]
async fn the_overdue_visits_page_search_filter_and_download_with_the_counts_whole() {
    let site = demo_site_sized(80, 10);
    let (cookie, _) = site.sign_in("hq-01").await;
    let path = "/api/v1/hq/visit-compliance?limit=500";
    let (status, headers, body) = site.get(path, Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let whole: Value = serde_json::from_str(&body).unwrap();
    let total: usize = headers[TOTAL_COUNT].to_str().unwrap().parse().unwrap();
    let overdue = whole["overdue"].as_array().unwrap();
    assert_eq!(overdue.len(), total);
    let counted: u64 = whole["by_level"]
        .as_object()
        .unwrap()
        .values()
        .map(|c| c["overdue"].as_u64().unwrap())
        .sum();
    assert_eq!(counted as usize, total, "the counts and the list agree");
    assert!(total > 3, "more than a page of three: {total}");
    let key = |v: &Value| {
        format!("{}|{}", v["customer_id"].as_str().unwrap(), v["level"].as_str().unwrap())
    };
    let expected: Vec<String> = overdue.iter().map(key).collect();
    let (mut paged, mut next) =
        (Vec::new(), Some("/api/v1/hq/visit-compliance?limit=3".to_owned()));
    while let Some(at) = next {
        let (_, headers, body) = site.get(&at, Some(&cookie)).await;
        let page: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(page["by_level"], whole["by_level"], "the counts are every visit's");
        paged.extend(page["overdue"].as_array().unwrap().iter().map(key));
        next = link(&headers, "next");
        assert!(paged.len() <= total, "paging must end");
    }
    assert_eq!(paged, expected, "three at a time, every overdue visit once, in order");
    let level = overdue[0]["level"].as_str().unwrap();
    let (_, headers, body) = site.get(&format!("{path}&level={level}"), Some(&cookie)).await;
    let of_level: Value = serde_json::from_str(&body).unwrap();
    let n: usize = headers[TOTAL_COUNT].to_str().unwrap().parse().unwrap();
    assert!(n >= 1 && of_level["overdue"].as_array().unwrap().iter().all(|v| v["level"] == level));
    let name = overdue[0]["customer_name"].as_str().unwrap();
    let asked = format!("{path}&q={}", crate::web::layout::url_encode(name));
    let (_, _, body) = site.get(&asked, Some(&cookie)).await;
    let found: Value = serde_json::from_str(&body).unwrap();
    assert!(found["overdue"].as_array().unwrap().iter().all(|v| v["customer_name"] == name));
    let (status, _, html) = site.get("/hq/visits?limit=3&sort=customer", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("id=\"page-next\"")
            && html.contains("href=\"/hq/visits.csv?sort=customer&amp;limit=3\"")
    );
    for bad in [
        "/api/v1/hq/visit-compliance?level=ceo",
        "/hq/visits?level=ceo",
        "/hq/visits.csv?level=ceo",
    ] {
        let (status, _, _) = site.get(bad, Some(&cookie)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
}

#[tokio::test]
async fn the_scorecard_list_names_people_filters_sorts_pages_and_downloads() {
    let site = demo_site_sized(40, 10);
    let (cookie, _) = site.sign_in("hq-01").await;
    let (whole, headers) = json(&site, &cookie, "/api/v1/hq/scorecards?limit=500").await;
    let total: usize = headers[TOTAL_COUNT].to_str().unwrap().parse().unwrap();
    assert_eq!(whole.len(), total);
    assert!(total > 2, "the demo has scorecards: {total}");
    let (paged, _) =
        all_pages(&site, &cookie, "/api/v1/hq/scorecards?limit=2", "scorecard_id").await;
    let ids: Vec<String> =
        whole.iter().map(|c| c["scorecard_id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(paged, ids, "two at a time, every scorecard once, in order");
    let first = &whole[0];
    let person = first["person"].as_str().unwrap();
    assert_eq!(first["person_name"], kam_core::demo::staff_name(person).as_str());
    let (theirs, _) =
        json(&site, &cookie, &format!("/api/v1/hq/scorecards?person={person}&limit=500")).await;
    assert!(!theirs.is_empty() && theirs.iter().all(|c| c["person"] == person));
    let period = first["period"].as_str().unwrap();
    let (of_period, _) =
        json(&site, &cookie, &format!("/api/v1/hq/scorecards?period={period}&limit=500")).await;
    assert!(of_period.iter().all(|c| c["period"] == period));

    let (by_person, _) = json(&site, &cookie, "/api/v1/hq/scorecards?sort=person&limit=500").await;
    let names: Vec<String> =
        by_person.iter().map(|c| c["person_name"].as_str().unwrap().to_owned()).collect();
    let (status, _, csv) = site.get("/hq/scorecards.csv?sort=person", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').trim_end().split("\r\n").collect();
    assert!(lines[0].starts_with("期间,人员,销售目标,总分"), "{}", lines[0]);
    let in_file: Vec<String> =
        lines[1..].iter().map(|l| l.split(',').nth(1).unwrap().to_owned()).collect();
    assert_eq!(in_file, names, "every scorecard, people by name, in the list's order");

    let (status, _, html) = site.get("/hq/scorecards?limit=2", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(html.matches("<tr data-scorecard-id=").count(), 2);
    assert!(html.contains(&format!(">{}</a>", first["person_name"].as_str().unwrap())));
    for bad in [
        "/api/v1/hq/scorecards?period=soon",
        "/api/v1/hq/scorecards?person=nobody",
        "/hq/scorecards?sort=mood",
    ] {
        let (status, _, _) = site.get(bad, Some(&cookie)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headquarters_reads_do_not_wait_for_the_stores_turn() {
    let site = demo_site_sized(30, 40);
    let (cookie, _) = site.sign_in("hq-01").await;
    // A sync round (or any write) holding the store until told to stop.
    let (release, held) = std::sync::mpsc::channel::<()>();
    let (taken, is_taken) = tokio::sync::oneshot::channel();
    let state = site.state.clone();
    let holder = tokio::spawn(async move {
        state
            .with_store(move |_| {
                let _ = taken.send(());
                let _ = held.recv();
                Ok(())
            })
            .await
    });
    is_taken.await.unwrap();
    let bound = std::time::Duration::from_secs(20);
    for path in [
        "/api/v1/hq/tickets?show=all",
        "/api/v1/hq/customers",
        "/hq/tickets?show=all",
        "/hq/customers?tier=key",
        "/api/v1/hq/reports/monthly",
        "/hq/visits",
        "/hq/events",
        "/api/v1/hq/events",
        "/hq/review",
        "/hq/organisations",
        "/hq/collections",
    ] {
        let answer = tokio::time::timeout(bound, site.get(path, Some(&cookie))).await;
        let (status, _, body) = answer.unwrap_or_else(|_| panic!("{path} waited for the store"));
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
    release.send(()).unwrap();
    holder.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_months_visits_page_search_filter_and_download_with_the_counts_whole() {
    let site = demo_site_sized(80, 10);
    let (cookie, _) = site.sign_in("hq-01").await;
    let base = "/api/v1/hq/visit-compliance/month";
    let (status, headers, body) = site.get(&format!("{base}?limit=500"), Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let whole: Value = serde_json::from_str(&body).unwrap();
    let total: usize = headers[TOTAL_COUNT].to_str().unwrap().parse().unwrap();
    let lines = whole["lines"].as_array().unwrap();
    assert_eq!(lines.len(), total);
    assert_eq!(total as u64, whole["due"].as_u64().unwrap(), "a line per entry due");
    assert!(total > 3, "more than a page of three: {total}");
    let missed_first: Vec<bool> = lines.iter().map(|l| l["visited_on"].is_null()).collect();
    assert!(missed_first.windows(2).all(|w| w[0] || !w[1]), "missed first: {missed_first:?}");
    let key = |l: &Value| {
        format!("{}|{}", l["customer_id"].as_str().unwrap(), l["level"].as_str().unwrap())
    };
    let expected: Vec<String> = lines.iter().map(key).collect();
    let (mut paged, mut next) = (Vec::new(), Some(format!("{base}?limit=3")));
    while let Some(at) = next {
        let (_, headers, body) = site.get(&at, Some(&cookie)).await;
        let page: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            (&page["due"], &page["made"]),
            (&whole["due"], &whole["made"]),
            "every entry counted"
        );
        paged.extend(page["lines"].as_array().unwrap().iter().map(key));
        next = link(&headers, "next");
        assert!(paged.len() <= total, "paging must end");
    }
    assert_eq!(paged, expected, "three at a time, every entry once, in order");
    for (state, made) in [("made", true), ("missed", false)] {
        let (_, headers, body) =
            site.get(&format!("{base}?made={state}&limit=500"), Some(&cookie)).await;
        let found: Value = serde_json::from_str(&body).unwrap();
        let n: usize = headers[TOTAL_COUNT].to_str().unwrap().parse().unwrap();
        assert_eq!(
            n,
            lines.iter().filter(|l| l["visited_on"].is_null() != made).count(),
            "{state}"
        );
        assert!(
            found["lines"].as_array().unwrap().iter().all(|l| l["visited_on"].is_null() != made)
        );
    }
    let month = whole["month"].as_str().unwrap();
    let (status, _, csv) =
        site.get(&format!("/hq/visits.csv?month={month}&sort=customer"), Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    let rows: Vec<&str> = csv.trim_start_matches('\u{feff}').trim_end().split("\r\n").collect();
    assert!(rows[0].contains("拜访日期"), "{}", rows[0]);
    assert_eq!(rows.len(), total + 1, "the header and every entry of the month");
    let (status, _, html) =
        site.get(&format!("/hq/visits?month={month}&limit=3"), Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(html.matches("<tr data-customer=").count(), 3);
    assert!(
        html.contains(&format!("href=\"/hq/visits.csv?month={month}&amp;limit=3\"")),
        "the file keeps the month"
    );
    for bad in [
        format!("{base}?made=maybe"),
        format!("/hq/visits?month={month}&made=maybe"),
        "/hq/visits.csv?month=2999-01".to_owned(),
    ] {
        let (status, _, _) = site.get(&bad, Some(&cookie)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
}

#[tokio::test]
async fn the_user_list_searches_filters_sorts_pages_and_downloads_for_the_administrator() {
    let site = demo_site_sized(30, 10);
    let (admin, _) = site.sign_in("admin").await;
    let (status, _, html) = site.get("/hq/admin/users?limit=3&sort=name", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert_eq!(html.matches("<tr data-user-id=").count(), 3, "a page of three");
    assert!(html.contains("id=\"page-next\""));
    assert!(html.contains("href=\"/hq/admin/users.csv?sort=name&amp;limit=3\""));
    let (status, _, csv) = site.get("/hq/admin/users.csv?role=rep&sort=user", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK);
    let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').trim_end().split("\r\n").collect();
    assert!(lines[0].starts_with("姓名,用户名,角色"), "{}", lines[0]);
    let ids: Vec<&str> = lines[1..].iter().map(|l| l.split(',').nth(1).unwrap()).collect();
    let roles: Vec<&str> = lines[1..].iter().map(|l| l.split(',').nth(2).unwrap()).collect();
    let rep = crate::web::i18n::Lang::Zh.label("rep");
    assert!(ids.len() > 3 && roles.iter().all(|r| *r == rep), "{ids:?} {roles:?}");
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "by id: {ids:?}");
    let name = kam_core::demo::staff_name("rep-01");
    let q = crate::web::layout::url_encode(&name);
    let (_, _, found) = site.get(&format!("/hq/admin/users?q={q}"), Some(&admin)).await;
    assert_eq!(found.matches("<tr data-user-id=").count(), 1, "the search by name finds one");
    assert!(found.contains("data-user-id=\"rep-01\""));
    for bad in
        ["/hq/admin/users?role=king", "/hq/admin/users?state=gone", "/hq/admin/users.csv?sort=mood"]
    {
        let (status, _, _) = site.get(bad, Some(&admin)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    let (hq, _) = site.sign_in("hq-01").await;
    let (status, _, _) = site.get("/hq/admin/users.csv", Some(&hq)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the administrator's file only");
}

//! The SVG shapes drawn from hand-made series, and the charts page and its JSON twin over the
//! demo company.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use axum::http::StatusCode;
use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::*;
use crate::db::sales::YearMonth;
use crate::web::demo_site_tests::demo_site;

fn mark(value: f64, href: &str) -> Mark {
    Mark { value, href: href.to_owned(), title: format!("v={value}"), fill: "#000000" }
}

fn bar(label: &str, marks: Vec<Mark>) -> Bar {
    Bar { label: label.to_owned(), marks, text: "t".to_owned(), target: None }
}

fn chart(bars: Vec<Bar>) -> Chart {
    Chart {
        id: "test-chart",
        label: "Test <chart> & co".to_owned(),
        bars,
        legend: vec![("#111111", "legend".to_owned())],
        max: None,
        tick: count_tick,
    }
}

/// The `name="…"` attribute values of every `<rect` inside a link (the marks, not the legend).
fn mark_attr(svg: &str, name: &str) -> Vec<f64> {
    svg.split("<a href=")
        .skip(1)
        .filter_map(|part| {
            let rect = part.split_once("<rect ")?.1;
            let value = rect.split_once(&format!("{name}=\""))?.1.split_once('"')?.0;
            value.parse().ok()
        })
        .collect()
}

#[test]
fn a_bars_length_is_proportional_to_its_value() {
    let svg =
        hbars(&chart(vec![bar("ten", vec![mark(10.0, "/a")]), bar("five", vec![mark(5.0, "/b")])]))
            .into_string();
    let widths = mark_attr(&svg, "width");
    assert_eq!(widths.len(), 2, "{svg}");
    assert!((widths[0] - 2.0 * widths[1]).abs() < 0.11, "{widths:?}");
    assert!((widths[0] - (WIDTH - 150.0 - 90.0)).abs() < 0.11, "the largest fills the length");
    let svg =
        columns(&chart(vec![bar("a", vec![mark(3.0, "/a")]), bar("b", vec![mark(1.0, "/b")])]))
            .into_string();
    let heights = mark_attr(&svg, "height");
    assert!((heights[0] - 3.0 * heights[1]).abs() < 0.11, "{heights:?}");
}

#[test]
fn stacked_marks_follow_one_another_and_a_target_sits_on_the_scale() {
    let mut b = bar("m", vec![mark(2.0, "/x"), mark(2.0, "/y")]);
    b.target = Some(mark(8.0, "/target"));
    let svg = columns(&chart(vec![b])).into_string();
    let (heights, ys) = (mark_attr(&svg, "height"), mark_attr(&svg, "y"));
    assert_eq!(heights.len(), 2);
    assert!((heights[0] - 190.0 / 4.0).abs() < 0.11, "the target sets the scale: {heights:?}");
    assert!((ys[0] - (ys[1] + heights[1])).abs() < 0.11, "the second sits on the first: {ys:?}");
    assert!(svg.contains(r#"<a href="/target"><line"#), "{svg}");
}

#[test]
fn zero_and_empty_series_draw_without_dividing_by_zero() {
    for svg in [
        hbars(&chart(vec![bar("zero", vec![mark(0.0, "/z")])])).into_string(),
        hbars(&chart(Vec::new())).into_string(),
        columns(&chart(vec![bar("zero", vec![mark(0.0, "/z")])])).into_string(),
        columns(&chart(Vec::new())).into_string(),
        visits_by_month_chart(Lang::Zh, &[], None).into_string(),
        sales_by_month_chart(Lang::En, &[]).into_string(),
    ] {
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
        assert!(mark_attr(&svg, "width").is_empty(), "a zero draws no mark: {svg}");
        assert!(svg.contains(r#"role="img""#) && svg.contains("aria-label="), "{svg}");
    }
    assert_eq!(scaled(5.0, 0.0, 100.0), 0.0);
    assert_eq!(scaled(f64::NAN, 10.0, 100.0), 0.0);
}

#[test]
fn text_and_links_are_escaped_and_encoded() {
    let rows = vec![crate::hq::charts::TierRow {
        tier: "a&b <c>".to_owned(),
        total: 2,
        grades: vec![("A".to_owned(), 2)],
    }];
    let svg = tier_grade_chart(Lang::En, &rows).into_string();
    assert!(svg.contains(r#"href="/hq/customers?tier=a%26b%20%3Cc%3E&amp;grade=A""#), "{svg}");
    assert!(!svg.contains("<c>"), "the label is escaped: {svg}");
    let svg =
        hbars(&chart(vec![bar("<script>x</script>", vec![mark(1.0, "/a?b=1&c=2")])])).into_string();
    assert!(svg.contains("&lt;script&gt;x&lt;/script&gt;"), "{svg}");
    assert!(svg.contains(r#"href="/a?b=1&amp;c=2""#), "{svg}");
    assert!(svg.contains("<title>Test &lt;chart&gt; &amp; co</title>"), "{svg}");
    assert!(!svg.contains("style="), "no style attribute: the CSP forbids them");
}

#[test]
fn each_chart_links_its_marks_to_their_rows() {
    let d = |s: &str| s.parse::<NaiveDate>().unwrap();
    let week = crate::hq::charts::SlaWeek {
        from: d("2026-11-16"),
        to: d("2026-11-22"),
        opened: 9,
        breached: 2,
        overdue: 1,
        met: 6,
        waiting: 0,
    };
    let svg = sla_by_week_chart(Lang::Zh, &[week]).into_string();
    for sla in ["breached", "overdue"] {
        let href = format!(
            "/hq/tickets?show=all&amp;sla={sla}&amp;opened_from=2026-11-16&amp;opened_to=2026-11-22"
        );
        assert!(svg.contains(&href), "{sla}: {svg}");
    }
    let month = YearMonth { year: 2026, month: 10 };
    let visits = crate::hq::charts::VisitMonth {
        month,
        through: d("2026-10-31"),
        due: 4,
        made: 3,
        percent: Some("75.0".to_owned()),
    };
    let svg = visits_by_month_chart(Lang::En, &[visits], Some("rep 1")).into_string();
    assert!(svg.contains(r#"href="/hq/visits?month=2026-10&amp;rep=rep%201""#), "{svg}");
    assert!(svg.contains("75.0%"), "{svg}");
    let sales = crate::hq::charts::SalesMonth {
        month,
        sales: Decimal::from(1_200_000),
        target: Some(Decimal::from(1_500_000)),
        scorecards: 2,
        attainment_percent: Some("80.0".to_owned()),
    };
    let svg = sales_by_month_chart(Lang::Zh, &[sales]).into_string();
    assert!(svg.contains(r#"href="/hq/reports?month=2026-10""#), "{svg}");
    assert!(svg.contains(r#"href="/hq/scorecards?period=2026-10""#), "{svg}");
    assert!(svg.contains("120万") && svg.contains("80.0%"), "{svg}");
}

#[tokio::test]
async fn the_charts_page_shows_every_chart_in_both_languages() {
    let site = demo_site(true);
    let (hq, _) = site.sign_in("hq-01").await;
    for (cookie, title) in [(hq.clone(), "图表"), (format!("{hq}; kam_lang=en"), "Charts")] {
        let (status, _, body) = site.get("/hq/charts", Some(&cookie)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.contains(title), "{body}");
        for id in [
            "chart-tier-grade",
            "chart-visits-by-month",
            "chart-visits-by-rep",
            "chart-sla-by-week",
            "chart-sales-by-month",
        ] {
            assert!(body.contains(&format!(r#"id="{id}""#)), "{id}: {body}");
        }
        for link in ["/hq/customers?tier=", "/hq/visits?month=", "/hq/reports?month="] {
            assert!(body.contains(&format!(r#"<a href="{link}"#)), "{link}: {body}");
        }
        assert!(body.contains(r#"href="/hq/charts""#), "the navigation names the page");
        assert!(!body.contains("style="), "no style attribute: the CSP forbids them");
    }
    let (rep, _) = site.sign_in("rep-01").await;
    assert_eq!(site.get("/hq/charts", Some(&rep)).await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_json_twin_serves_the_same_series() {
    let site = demo_site(true);
    let (finance, _) = site.sign_in("finance-01").await;
    let (status, _, body) = site.get("/api/v1/hq/charts", Some(&finance)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    let customers: u64 =
        json["tier_grade"].as_array().unwrap().iter().map(|t| t["total"].as_u64().unwrap()).sum();
    assert_eq!(customers, 3, "the demo's three customers: {json}");
    assert_eq!(json["visits_by_month"].as_array().unwrap().len(), 12);
    assert_eq!(json["sla_by_week"].as_array().unwrap().len(), 12);
    let sales = json["sales_by_month"].as_array().unwrap();
    assert_eq!(sales.len(), 12);
    let month = sales[0]["month"].as_str().unwrap();
    assert!(YearMonth::parse(month).is_some(), "{month}");
    assert!(sales[0]["sales"].is_string(), "money is exact text: {json}");
    assert_eq!(site.get("/api/v1/hq/charts", None).await.0, StatusCode::UNAUTHORIZED);
    let (rep, _) = site.sign_in("rep-01").await;
    assert_eq!(site.get("/api/v1/hq/charts", Some(&rep)).await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_visits_page_filters_by_rep_and_month_and_says_so_of_bad_values() {
    let site = demo_site(true);
    let (hq, _) = site.sign_in("hq-01").await;
    let (status, _, body) = site.get("/hq/visits?rep=rep-01", Some(&hq)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains(r#"id="rep-filter""#), "{body}");
    assert!(!body.contains(r#"data-rep="rep-02""#), "only the rep's rows: {body}");
    let this_month = YearMonth::of(chrono::Utc::now().date_naive()).prev();
    let (status, _, body) =
        site.get(&format!("/hq/visits?month={this_month}&rep=rep-01"), Some(&hq)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body.contains(r#"id="month-visits""#) && body.contains(r#"id="month-summary""#),
        "{body}"
    );
    for (query, words) in
        [("rep=nobody", "nobody"), ("month=2026-13", "2026-13"), ("month=2999-01", "2999-01")]
    {
        let (status, _, body) = site.get(&format!("/hq/visits?{query}"), Some(&hq)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert!(body.contains("bad-filter") && body.contains(words), "{query}: {body}");
        assert!(body.contains(r#"id="visit-compliance""#), "the page still shows: {body}");
    }
    let (_, _, en) = site.get("/hq/visits?month=x", Some(&format!("{hq}; kam_lang=en"))).await;
    assert!(en.contains("is not a month"), "{en}");
}

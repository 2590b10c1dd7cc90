//! The router driven in-process with `oneshot`: no socket needed.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic on a broken expectation.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use kam_core::demo::DemoSpec;
use kam_server::{
    data,
    http::{AppState, routes},
};
use tower::ServiceExt;

async fn get(app: axum::Router, path: &str) -> (StatusCode, serde_json::Value) {
    let response = app.oneshot(Request::get(path).body(Body::empty()).unwrap()).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null))
}

#[tokio::test]
async fn summary_counts_the_demo_company_and_unknown_paths_are_json_404s() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = data::open_store(dir.path()).unwrap();
    let spec = DemoSpec { customers: 30, tickets: 60, units: 40, ..DemoSpec::standard(5) };
    let now = chrono::Utc::now();
    let loaded = data::load_demo(&mut store, &spec, now).unwrap().unwrap();
    let demo = kam_core::demo::generate(&spec, now, &kam_core::Policy::default());
    let records = [
        ("lead", demo.leads.len()),
        ("plan", demo.plans.len()),
        ("survey", demo.surveys.len()),
        ("scorecard", demo.scorecards.len()),
        ("review", demo.reviews.len()),
        ("organisation", demo.organisations.len()),
    ];
    assert!(records.iter().all(|(_, n)| *n > 0), "the demo has every record kind: {records:?}");
    let record_total: usize = records.iter().map(|(_, n)| n).sum();
    assert_eq!(
        loaded.documents,
        92 + record_total,
        "30 customers, 60 tickets, a project, an event"
    );
    assert!(
        data::load_demo(&mut store, &spec, chrono::Utc::now()).unwrap().is_none(),
        "loaded once only"
    );
    let app = routes::app(AppState::new(store).unwrap());

    let (status, summary) = get(app.clone(), "/api/v1/summary").await;
    assert_eq!(status, StatusCode::OK);
    let count = |kind: &str| {
        summary["documents"].as_array().unwrap().iter().find(|d| d["kind"] == kind).unwrap()["count"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(
        (count("customer"), count("ticket"), count("project"), count("event")),
        (30, 60, 1, 1)
    );
    for (kind, n) in records {
        assert_eq!(count(kind), n as u64, "{kind}");
    }
    let tiers: u64 = summary["customers_by_tier"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["count"].as_u64().unwrap())
        .sum();
    assert_eq!(tiers, 30);

    let (status, policy) = get(app.clone(), "/api/v1/policy").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(policy["tiers"]["key_min_annual_sales"], "20000000.00");

    let (status, body) = get(app.clone(), "/api/v1/no-such-thing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");

    let (status, body) = get(app.clone(), "/api/v1/conflicts").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthorized"))
    );
    let sync = Request::post("/api/v1/sync").body(Body::from(vec![1, 2, 3])).unwrap();
    assert_eq!(app.clone().oneshot(sync).await.unwrap().status(), StatusCode::UNAUTHORIZED);

    let response =
        app.oneshot(Request::get("/metrics").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = String::from_utf8(response.into_body().collect().await.unwrap().to_bytes().to_vec())
        .unwrap();
    assert!(text.contains("kam_sync_rounds_total"), "{text}");
    assert!(text.contains("kam_sync_latency_seconds_bucket"), "{text}");
}

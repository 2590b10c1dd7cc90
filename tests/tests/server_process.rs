//! The real server binary on 127.0.0.1: demo data, the HTTP API, graceful stop, and data that
//! survives a restart.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic on a broken expectation.

use std::time::Duration;

use kam_tests::{ServerProcess, get_json};

fn document_count(summary: &serde_json::Value, kind: &str) -> u64 {
    summary["documents"].as_array().unwrap().iter().find(|d| d["kind"] == kind).unwrap()["count"]
        .as_u64()
        .unwrap()
}

#[test]
fn demo_server_serves_counts_stops_gracefully_and_keeps_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), &["--demo"], Duration::from_secs(120)).unwrap();
    let loaded: u64 = server
        .banner
        .iter()
        .find_map(|l| l.strip_prefix("Demo data loaded: "))
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no demo banner: {:?}", server.banner));
    let (status, summary) = get_json(&format!("{}/api/v1/summary", server.url)).unwrap();
    assert_eq!(status, 200);
    assert_eq!(document_count(&summary, "customer"), 300);
    assert_eq!(document_count(&summary, "ticket"), 2000);
    assert_eq!((document_count(&summary, "project"), document_count(&summary, "event")), (1, 1));
    let records: u64 = ["lead", "plan", "survey", "scorecard", "review", "organisation"]
        .into_iter()
        .map(|kind| document_count(&summary, kind))
        .inspect(|n| assert!(*n > 0, "the demo has every account-management kind: {summary}"))
        .sum();
    assert_eq!(loaded, 2302 + records, "the banner counts every document stored: {summary}");
    let (status, body) = get_json(&format!("{}/api/v1/customers/unknown", server.url)).unwrap();
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")));
    let exit = server.stop(Duration::from_secs(30)).unwrap();
    assert!(exit.success(), "graceful stop: {exit}");

    // Restarted on the same data, with --demo again: the data is there and is not doubled.
    let server = ServerProcess::start(dir.path(), &["--demo"], Duration::from_secs(60)).unwrap();
    assert!(server.banner.iter().any(|l| l.contains("already holds data")));
    let (_, summary) = get_json(&format!("{}/api/v1/summary", server.url)).unwrap();
    assert_eq!(document_count(&summary, "customer"), 300);
    server.stop(Duration::from_secs(30)).unwrap();
}

#[test]
fn a_scaled_demo_is_the_standard_company_n_times_over() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--demo", "--scale", "2"];
    let server = ServerProcess::start(dir.path(), &args, Duration::from_secs(240)).unwrap();
    let (status, summary) = get_json(&format!("{}/api/v1/summary", server.url)).unwrap();
    assert_eq!(status, 200);
    assert_eq!(document_count(&summary, "customer"), 600);
    assert_eq!(document_count(&summary, "ticket"), 4000);
    // Ten reps sign in, each with their own demo device.
    let reps: Vec<&String> = server.banner.iter().filter(|l| l.contains("rep-")).collect();
    assert!(reps.iter().any(|l| l.contains("rep-10")), "{reps:?}");
    assert!(!reps.iter().any(|l| l.contains("rep-11")), "{reps:?}");
    server.stop(Duration::from_secs(30)).unwrap();
}

#[test]
fn a_scale_outside_its_range_or_without_the_demo_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for args in [&["--demo", "--scale", "0"][..], &["--demo", "--scale", "101"], &["--scale", "2"]]
    {
        let refused = ServerProcess::start(dir.path(), args, Duration::from_secs(30));
        assert!(refused.is_err(), "{args:?} started a server");
        let said = std::fs::read_to_string(dir.path().join("server.log")).unwrap();
        assert!(said.contains("--scale"), "{args:?}: the refusal names the flag: {said}");
    }
}

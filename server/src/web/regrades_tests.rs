//! Re-grades on the dashboard: each decision behind a ticked confirmation, and several
//! approved in one confirmed form, each decided and audited on its own.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)]

use axum::http::StatusCode;
use kam_core::Policy;
use kam_core::demo::DemoSpec;

use crate::desk::writer::Desk;
use crate::http::AppState;
use crate::web::demo_site_tests::{DemoSite, site_over};
use crate::{data, db};

/// A demo company large enough for the yearly re-grade to propose changes (30 customers).
fn site_with_proposals() -> DemoSite {
    let dir = tempfile::tempdir().unwrap();
    let spec =
        DemoSpec { customers: 30, tickets: 3, units: 12, buyers: 8, ..DemoSpec::standard(3) };
    let mut store = data::open_store(dir.path()).unwrap();
    data::load_demo(&mut store, &spec, chrono::Utc::now()).unwrap();
    let event = crate::hq::events::selection_events(store.conn(), store.desk()).unwrap()[0]
        .event_id
        .clone();
    let desk = Desk::start(&db::desk_path(store.path()), store.path(), Policy::default()).unwrap();
    let state = AppState::with_desk(store, desk).unwrap();
    site_over(dir, state, event)
}

/// The customers the re-grades page proposes, in its order.
async fn proposed(site: &DemoSite, cookie: &str) -> Vec<String> {
    let (status, _, page) = site.get("/hq/regrades", Some(cookie)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page.split(r#"<tr data-customer-id=""#)
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().to_owned())
        .collect()
}

/// The proposal for each customer now: (customer, proposed tier, proposed grade).
async fn proposals(site: &DemoSite) -> Vec<(String, String, String)> {
    site.state
        .with_store(|store| {
            let lines =
                crate::hq::regrade::proposals(store.conn(), store.policy(), chrono::Utc::now())?;
            Ok(lines
                .into_iter()
                .map(|l| {
                    let p = l.proposal;
                    let tier = p.proposed_tier.as_str().to_owned();
                    (p.customer_id.as_str().to_owned(), tier, p.proposed_grade.as_str().to_owned())
                })
                .collect())
        })
        .await
        .unwrap()
}

/// A customer's approved (tier, grade), from the projections.
async fn classification(site: &DemoSite, customer: &str) -> (String, String) {
    let customer = customer.to_owned();
    site.state
        .with_store(move |store| {
            let file = crate::hq::customers::detail(store.conn(), &customer)?;
            Ok((file.customer.tier, file.customer.grade.unwrap_or_default()))
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn one_re_grade_is_decided_only_with_the_confirmation_ticked() {
    let site = site_with_proposals();
    let (hq, csrf) = site.sign_in("hq-01").await;
    let all = proposals(&site).await;
    assert!(all.len() >= 2, "the demo proposes re-grades: {all:?}");
    let (first, tier, grade) = all[0].clone();
    let page = site.get("/hq/regrades", Some(&hq)).await.2;
    assert!(page.contains(r#"name="confirm""#) && page.contains("bulk-approve"), "{page}");
    let approve = format!("/hq/regrades/{first}/approve");
    let (status, _, _) = site.post_form(&approve, &hq, &format!("csrf={csrf}")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "no confirmation");
    let (status, _, _) = site.post_form(&approve, &hq, "csrf=wrong&confirm=yes").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a stale form");
    let (rep, rep_csrf) = site.sign_in("rep-01").await;
    let rep_form = format!("csrf={rep_csrf}&confirm=yes");
    assert_eq!(site.post_form(&approve, &rep, &rep_form).await.0, StatusCode::FORBIDDEN);
    assert!(site.audited("regrade.approved").await.is_empty(), "nothing decided yet");
    assert!(proposed(&site, &hq).await.contains(&first));

    let (status, _, _) = site.post_form(&approve, &hq, &format!("csrf={csrf}&confirm=yes")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(classification(&site, &first).await, (tier, grade), "the proposal is applied");
    assert!(!proposed(&site, &hq).await.contains(&first), "a decided proposal is gone");
    let second = all[1].0.clone();
    let before = classification(&site, &second).await;
    let reject = format!("/hq/regrades/{second}/reject");
    let (status, _, _) = site.post_form(&reject, &hq, &format!("csrf={csrf}&confirm=yes")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(classification(&site, &second).await, before, "a rejection changes nothing");
    let target = |id: &str| ("hq-01".to_owned(), format!("customer/{id}"));
    assert_eq!(site.audited("regrade.approved").await, [target(&first)]);
    assert_eq!(site.audited("regrade.rejected").await, [target(&second)]);
}

#[tokio::test]
async fn several_re_grades_are_approved_in_one_confirmed_form_each_audited() {
    let site = site_with_proposals();
    let (admin, csrf) = site.sign_in("admin").await;
    let all = proposals(&site).await;
    assert!(all.len() >= 4, "{all:?}");
    let picked = &all[..3];
    let ticks: String = picked.iter().map(|(id, _, _)| format!("&customer={id}")).collect();
    let path = "/hq/regrades/bulk";
    let (status, _, _) = site.post_form(path, &admin, &format!("csrf={csrf}{ticks}")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "no confirmation");
    let stale = format!("csrf=wrong&confirm=yes{ticks}");
    assert_eq!(site.post_form(path, &admin, &stale).await.0, StatusCode::FORBIDDEN);
    let (finance, fin_csrf) = site.sign_in("finance-01").await;
    let fin = format!("csrf={fin_csrf}&confirm=yes{ticks}");
    assert_eq!(site.post_form(path, &finance, &fin).await.0, StatusCode::FORBIDDEN);
    let none = format!("csrf={csrf}&confirm=yes");
    assert_eq!(site.post_form(path, &admin, &none).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(site.audited("regrade.approved").await.is_empty(), "nothing decided yet");

    let form = format!("csrf={csrf}&confirm=yes{ticks}");
    let (status, headers, _) = site.post_form(path, &admin, &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, _, page) = site.get(headers["location"].to_str().unwrap(), Some(&admin)).await;
    assert!(page.contains("已批准 3 项"), "{page}");
    for (id, tier, grade) in picked {
        assert_eq!(classification(&site, id).await, (tier.clone(), grade.clone()), "{id}");
    }
    let expected: Vec<_> =
        picked.iter().map(|(id, _, _)| ("admin".to_owned(), format!("customer/{id}"))).collect();
    assert_eq!(site.audited("regrade.approved").await, expected, "one entry each");

    // "All shown": the page's list, one of them decided meanwhile.
    let rest = proposals(&site).await;
    let shown: String = rest.iter().map(|(id, _, _)| format!("&shown={id}")).collect();
    let stale_pick = &picked[0].0;
    let form = format!("csrf={csrf}&confirm=yes&all=yes{shown}&shown={stale_pick}");
    let (status, headers, _) = site.post_form(path, &admin, &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, _, page) = site.get(headers["location"].to_str().unwrap(), Some(&admin)).await;
    let approved = format!("已批准 {} 项", rest.len());
    assert!(page.contains(&approved) && page.contains(stale_pick.as_str()), "{page}");
    for (id, tier, grade) in &rest {
        assert_eq!(classification(&site, id).await, (tier.clone(), grade.clone()), "{id}");
    }
}

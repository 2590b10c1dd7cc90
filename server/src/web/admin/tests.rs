//! The administrator's pages: who may open and send them, the CSRF token and the confirmation
//! every form needs, and that each change lands and is audited with the signed-in user.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)]

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::Utc;
use http_body_util::BodyExt;
use tower::ServiceExt;

use crate::web::demo_site_tests::{DemoSite, demo_site};

/// Everything the audit log holds by `actor`.
async fn audited_by(site: &DemoSite, actor: &'static str) -> i64 {
    site.state
        .with_store(move |store| {
            let sql = "SELECT COUNT(*) FROM audit_log WHERE actor = ?1";
            Ok(store.sql().query_row(sql, [actor], |r| r.get::<_, i64>(0)).unwrap())
        })
        .await
        .unwrap()
}

/// A demo device's id (`rep-01`'s tablet).
async fn a_device(site: &DemoSite) -> String {
    site.state
        .with_store(|store| {
            let devices = crate::auth::list_devices(store.conn())?;
            Ok(devices.into_iter().find(|d| d.user_id == "rep-01").unwrap().device_id)
        })
        .await
        .unwrap()
}

/// A customer and its owners, from the projections.
async fn a_customer(site: &DemoSite) -> (String, Vec<String>) {
    site.state
        .with_store(|store| {
            let list = store.conn().customers(&Default::default())?;
            let c = list.into_iter().next().unwrap();
            Ok((c.customer_id, c.owners))
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn every_admin_form_refuses_a_non_admin_a_stale_form_and_a_missing_tick() {
    let site = demo_site(true);
    let device = a_device(&site).await;
    let (customer, _) = a_customer(&site).await;
    let revoke = format!("/hq/devices/{device}/revoke");
    let event = site.event.clone();
    let forms: Vec<(String, String)> = vec![
        ("/hq/admin/users".into(), "user_id=new-1&name=N&role=rep".into()),
        ("/hq/admin/users/role".into(), "user_id=rep-01&role=hq".into()),
        ("/hq/admin/users/password".into(), "user_id=rep-01&password=long-enough-1".into()),
        ("/hq/admin/grants/handover".into(), format!("customer={customer}&to=rep-03")),
        ("/hq/admin/grants/assign".into(), format!("event={event}&user_id=staff-01")),
        ("/hq/admin/sales".into(), "csv=customer_id%2Cmonth%2Camount".into()),
        ("/hq/devices/enrol".into(), "user_id=rep-01&label=t".into()),
        (revoke, String::new()),
    ];
    let (hq, hq_csrf) = site.sign_in("hq-01").await;
    let (admin, csrf) = site.sign_in("admin").await;
    for (path, fields) in &forms {
        let hq_body = format!("csrf={hq_csrf}&confirm=yes&{fields}");
        let (status, _, page) = site.post_form(path, &hq, &hq_body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "headquarters is no administrator: {path}");
        assert!(page.contains("<nav"), "the forbidden page has the navigation: {page}");
        let stale = format!("csrf=wrong&confirm=yes&{fields}");
        let (status, _, _) = site.post_form(path, &admin, &stale).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "a wrong CSRF token: {path}");
        let no_csrf = format!("confirm=yes&{fields}");
        assert_eq!(site.post_form(path, &admin, &no_csrf).await.0, StatusCode::FORBIDDEN);
        let untick = format!("csrf={csrf}&{fields}");
        let (status, _, page) = site.post_form(path, &admin, &untick).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "no confirmation: {path}: {page}");
    }
    assert_eq!(audited_by(&site, "admin").await, 0, "nothing was done");
    assert_eq!(audited_by(&site, "hq-01").await, 0, "nothing was done");
    for page in ["/hq/admin/users", "/hq/admin/grants", "/hq/admin/sales"] {
        assert_eq!(site.get(page, Some(&hq)).await.0, StatusCode::FORBIDDEN, "{page}");
        let (status, _, body) = site.get(page, Some(&admin)).await;
        assert_eq!(status, StatusCode::OK, "{page}: {body}");
        for link in ["/hq/admin/users", "/hq/devices", "/hq/admin/grants", "/hq/admin/sales"] {
            assert!(body.contains(&format!(r#"href="{link}""#)), "{page} links {link}");
        }
    }
    let (status, _, devices) = site.get("/hq/devices", Some(&hq)).await;
    assert_eq!(status, StatusCode::OK, "headquarters reads the devices page");
    assert!(!devices.contains(r#"id="enrol""#) && !devices.contains("/revoke"), "no forms");
    let (rep, _) = site.sign_in("rep-01").await;
    assert_eq!(site.get("/hq/devices", Some(&rep)).await.0, StatusCode::FORBIDDEN);
}

/// Signs in over the sign-in form; answers the status.
async fn sign_in_with(site: &DemoSite, user: &str, password: &str) -> StatusCode {
    let body = format!("user={user}&password={password}");
    let request = Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap();
    let (status, headers, _) = site.send(request).await;
    let cookie = headers.get(header::SET_COOKIE).map(|c| c.to_str().unwrap().to_owned());
    if status == StatusCode::SEE_OTHER && cookie.is_some_and(|c| c.starts_with("kam_session=")) {
        StatusCode::OK
    } else {
        status
    }
}

#[tokio::test]
async fn a_user_is_added_given_a_role_and_a_password_to_sign_in_with() {
    let site = demo_site(true);
    let (admin, csrf) = site.sign_in("admin").await;
    let add = format!("csrf={csrf}&confirm=yes&user_id=rep-new&name=%E6%96%B0%E4%BA%BA&role=rep");
    let (status, headers, _) = site.post_form("/hq/admin/users", &admin, &add).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let back = headers["location"].to_str().unwrap().to_owned();
    let (_, _, page) = site.get(&back, Some(&admin)).await;
    assert!(page.contains("已新增用户"), "{page}");
    assert!(page.contains(r#"data-user-id="rep-new" data-role="rep""#), "{page}");
    assert!(page.contains("新人") && page.contains("UTC+08:00"), "name and zoned time: {page}");
    let again = site.post_form("/hq/admin/users", &admin, &add).await;
    assert_eq!(again.0, StatusCode::CONFLICT, "the id is taken");

    let role = format!("csrf={csrf}&confirm=yes&user_id=rep-new&role=finance");
    assert_eq!(
        site.post_form("/hq/admin/users/role", &admin, &role).await.0,
        StatusCode::SEE_OTHER
    );
    let (_, _, page) = site.get("/hq/admin/users", Some(&admin)).await;
    assert!(page.contains(r#"data-user-id="rep-new" data-role="finance""#), "{page}");
    let last = format!("csrf={csrf}&confirm=yes&user_id=admin&role=hq");
    let (status, _, _) = site.post_form("/hq/admin/users/role", &admin, &last).await;
    assert_eq!(status, StatusCode::CONFLICT, "the last administrator keeps the role");

    let short = format!("csrf={csrf}&confirm=yes&user_id=rep-new&password=short");
    let (status, _, page) = site.post_form("/hq/admin/users/password", &admin, &short).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(!page.contains("short"), "the password is never echoed: {page}");
    let secret = "secret-long-enough";
    let set = format!("csrf={csrf}&confirm=yes&user_id=rep-new&password={secret}");
    let (status, headers, _) = site.post_form("/hq/admin/users/password", &admin, &set).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, _, page) = site.get(headers["location"].to_str().unwrap(), Some(&admin)).await;
    assert!(page.contains("密码已设置") && !page.contains(secret), "{page}");
    assert_eq!(sign_in_with(&site, "rep-new", secret).await, StatusCode::OK);
    assert_ne!(sign_in_with(&site, "rep-new", "wrong-password").await, StatusCode::OK);

    let expected = vec![("admin".to_owned(), "rep-new".to_owned())];
    for action in ["user.create", "user.role", "user.password"] {
        assert_eq!(site.audited(action).await, expected, "{action}");
    }
}

#[tokio::test]
async fn a_handover_shows_the_owners_then_moves_them_and_the_grants() {
    let site = demo_site(true);
    let (customer, owners) = a_customer(&site).await;
    let taken = owners.clone();
    let to = site
        .state
        .with_store(move |store| {
            let users = store.conn().users()?;
            let rep = users
                .into_iter()
                .find(|u| u.role == crate::auth::Role::Rep && !taken.contains(&u.user_id));
            Ok(rep.unwrap().user_id)
        })
        .await
        .unwrap();
    let to = to.as_str();
    let (admin, csrf) = site.sign_in("admin").await;
    let (status, _, page) =
        site.get(&format!("/hq/admin/grants?customer={customer}"), Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let owner_name = kam_core::demo::staff_name(&owners[0]);
    assert!(page.contains(&owner_name), "the owners by name before confirming: {page}");
    assert!(page.contains(r#"id="handover""#), "{page}");
    let unknown = site.get("/hq/admin/grants?customer=nope", Some(&admin)).await.2;
    assert!(unknown.contains("没有此客户"), "{unknown}");

    let form = format!("csrf={csrf}&confirm=yes&customer={customer}&to={to}");
    let (status, headers, body) = site.post_form("/hq/admin/grants/handover", &admin, &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let (_, _, page) = site.get(headers["location"].to_str().unwrap(), Some(&admin)).await;
    assert!(page.contains("已移交"), "{page}");
    assert!(page.contains(&kam_core::demo::staff_name(to)), "the new owner: {page}");
    let (_, now) = a_customer_by_id(&site, &customer).await;
    assert_eq!(now, [to.to_owned()], "the owners moved");
    let key = format!("customer/{customer}");
    assert!(granted(&site, to, &key).await, "the new rep holds the grant");
    for old in owners.iter().filter(|o| o.as_str() != to) {
        assert!(!granted(&site, old, &key).await, "{old} lost the grant");
    }
    assert_eq!(site.audited("customer.handover").await, [("admin".to_owned(), key)]);

    // An event goes to a new member of the event staff, with its project.
    let staff = crate::auth::Role::EventStaff;
    site.state
        .with_store(move |store| {
            crate::admin::add_user(store, "setup", "staff-new", "新员工", staff, Utc::now())
        })
        .await
        .unwrap();
    let event = site.event.clone();
    let form = format!("csrf={csrf}&confirm=yes&event={event}&user_id=staff-new");
    let (status, _, body) = site.post_form("/hq/admin/grants/assign", &admin, &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert!(granted(&site, "staff-new", &format!("event/{event}")).await);
    assert_eq!(site.audited("event.assign").await, [("admin".to_owned(), event.clone())]);
    let rep = format!("csrf={csrf}&confirm=yes&event={event}&user_id=rep-01");
    let refused = site.post_form("/hq/admin/grants/assign", &admin, &rep).await;
    assert_eq!(refused.0, StatusCode::UNPROCESSABLE_ENTITY, "a rep is not event staff");
}

async fn a_customer_by_id(site: &DemoSite, id: &str) -> (String, Vec<String>) {
    let id = id.to_owned();
    site.state
        .with_store(move |store| {
            let file = crate::hq::customers::detail(store.conn(), &id)?;
            Ok((file.customer.customer_id, file.customer.owners))
        })
        .await
        .unwrap()
}

async fn granted(site: &DemoSite, user: &str, key: &str) -> bool {
    let (user, key) = (user.to_owned(), key.to_owned());
    site.state
        .with_store(move |store| {
            let sql = "SELECT COUNT(*) FROM grants WHERE user_id = ?1 AND scope_key = ?2";
            Ok(store.sql().query_row(sql, [&user, &key], |r| r.get::<_, i64>(0)).unwrap() > 0)
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn the_sales_import_lists_every_refused_line_then_adds_the_months() {
    let site = demo_site(true);
    let (customer, _) = a_customer(&site).await;
    let (admin, csrf) = site.sign_in("admin").await;
    let before = month_total(&site, &customer, 1).await;
    let bad = format!(
        "customer_id,month,amount\n{customer},2025-01,10\nnope,2025-02,1\n{customer},2025-13,1\n"
    );
    let form = |csv: &str| {
        let csv: String = url_form(csv);
        format!("csrf={csrf}&confirm=yes&csv={csv}")
    };
    let (status, _, page) = site.post_form("/hq/admin/sales", &admin, &form(&bad)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains(r#"data-line="3""#) && page.contains(r#"data-line="4""#), "{page}");
    assert!(page.contains("unknown customer") && page.contains("2025-13"), "{page}");
    assert_eq!(
        month_total(&site, &customer, 1).await,
        before,
        "nothing of a refused file is imported"
    );

    let good =
        format!("customer_id,month,amount\n{customer},2025-01,1234.50\n{customer},2025-02,7\n");
    let (status, _, page) = site.post_form("/hq/admin/sales", &admin, &form(&good)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains(r#"<span id="imported-rows">2</span>"#), "{page}");
    let months = (month_total(&site, &customer, 1).await, month_total(&site, &customer, 2).await);
    assert_eq!(months, ("1234.50".into(), "7".into()));
    let audited = site.audited("sales.import").await;
    assert_eq!(audited.len(), 1);
    assert_eq!(audited[0].0, "admin");
}

/// The ledger's amount of `customer` in 2025-`month`.
async fn month_total(site: &DemoSite, customer: &str, month: u32) -> String {
    let customer = customer.to_owned();
    site.state
        .with_store(move |store| {
            let m = crate::sales_ledger::YearMonth { year: 2025, month };
            crate::sales_ledger::month_total(store.conn(), &customer, m)
        })
        .await
        .unwrap()
        .to_string()
}

/// `text` as a form value.
fn url_form(text: &str) -> String {
    crate::web::layout::url_encode(text)
}

/// Reads the stream's next frame within a bound; `None` when the stream ended.
async fn next_frame(body: &mut Body) -> Option<String> {
    let frame = tokio::time::timeout(Duration::from_secs(10), body.frame())
        .await
        .expect("the stream answers within the bound");
    frame.map(|f| {
        let data = f.unwrap().into_data().unwrap_or_default();
        String::from_utf8_lossy(&data).into_owned()
    })
}

#[tokio::test]
async fn a_device_enrolled_from_the_page_is_revoked_there_and_its_stream_ends_at_once() {
    let site = demo_site(true);
    let (admin, csrf) = site.sign_in("admin").await;
    let form = format!("csrf={csrf}&confirm=yes&user_id=rep-01&label=%E5%B9%B3%E6%9D%BF");
    let request = Request::post("/hq/devices/enrol")
        .header(header::COOKIE, &admin)
        .header(header::HOST, "kam.example:8443")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form))
        .unwrap();
    let (status, headers, page) = site.send(request).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    let token = between(&page, r#"<code id="enrol-token">"#, "</code>");
    let device = between(&page, r#"<section id="enrolled" data-device-id=""#, r#"""#);
    assert!(token.starts_with("kam_") && token.len() > 60, "{token}");
    assert!(page.contains("<svg") && page.contains("http://kam.example:8443"), "{page}");
    assert!(page.contains("kam://enrol?server=http%3A//kam.example%3A8443&amp;token=kam_"));
    let (_, _, again) = site.get("/hq/devices", Some(&admin)).await;
    assert!(!again.contains(&token), "the token is shown once");

    let stream = Request::get("/api/v1/changes")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let response = site.app.clone().oneshot(stream).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();

    let revoke = format!("/hq/devices/{device}/revoke");
    let (status, headers, _) =
        site.post_form(&revoke, &admin, &format!("csrf={csrf}&confirm=yes")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, _, page) = site.get(headers["location"].to_str().unwrap(), Some(&admin)).await;
    assert!(page.contains("设备已吊销"), "{page}");
    // The stream says `revoked` and ends, bounded: no waiting for the credential watcher
    // (which does not run in this test).
    let mut seen = String::new();
    while let Some(frame) = next_frame(&mut body).await {
        seen.push_str(&frame);
    }
    assert!(seen.contains("event: revoked"), "{seen}");
    let (status, _, _) = site
        .send(
            Request::get("/api/v1/changes")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(site.audited("device.enroll").await, [("admin".into(), device.clone())]);
    assert_eq!(site.audited("device.revoke").await, [("admin".into(), device)]);
}

/// The text between `start` and the next `end` in `page`.
fn between(page: &str, start: &str, end: &str) -> String {
    let from = page.find(start).unwrap_or_else(|| panic!("{start} in {page}")) + start.len();
    let to = page[from..].find(end).unwrap() + from;
    page[from..to].to_owned()
}

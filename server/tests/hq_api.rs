//! Headquarters' dashboard and JSON API, driven in-process: signing in, roles, the pages,
//! a re-grade decision through the API, and the OpenAPI document checked against the
//! answers of the server it describes.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic on a broken expectation.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use kam_core::demo::DemoSpec;
use kam_server::desk::writer::Desk;
use kam_server::{
    data,
    http::{AppState, routes},
};
use serde_json::Value;
use tower::ServiceExt;

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

struct Hq {
    app: axum::Router,
    event: String,
    _dir: tempfile::TempDir,
}

async fn hq() -> Hq {
    let dir = tempfile::tempdir().unwrap();
    let mut store = data::open_store(dir.path()).unwrap();
    let spec = DemoSpec { customers: 40, tickets: 60, units: 40, ..DemoSpec::standard(4) };
    data::load_demo(&mut store, &spec, chrono::Utc::now()).unwrap().unwrap();
    let desk = Desk::start(&store.desk_path(), store.path(), store.policy().clone()).unwrap();
    let event: String = store
        .desk_file()
        .unwrap()
        .query_row("SELECT event_id FROM desk_events", [], |r| r.get(0))
        .unwrap();
    Hq { app: routes::app(AppState::with_desk(store, desk).unwrap()), event, _dir: dir }
}

impl Hq {
    async fn send(&self, request: Request<Body>) -> Answer {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Answer { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
    }

    async fn get(&self, path: &str, auth: &Auth) -> Answer {
        self.send(auth.apply(Request::get(path)).body(Body::empty()).unwrap()).await
    }

    async fn post_form(&self, path: &str, auth: &Auth, form: &str) -> Answer {
        let request = auth
            .apply(Request::post(path))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form.to_owned()))
            .unwrap();
        self.send(request).await
    }

    /// Signs in through the form and returns the session cookie.
    async fn sign_in(&self, user: &str, password: &str) -> Auth {
        let form = format!("user={user}&password={password}&next=%2Fhq%2Fcustomers");
        let answer = self.post_form("/login", &Auth::None, &form).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
        assert_eq!(answer.headers[header::LOCATION], "/hq/customers");
        let cookie = answer.headers[header::SET_COOKIE].to_str().unwrap().to_owned();
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
        Auth::Cookie(cookie.split(';').next().unwrap().to_owned())
    }
}

enum Auth {
    None,
    Cookie(String),
    Bearer(String),
}

impl Auth {
    fn apply(&self, builder: axum::http::request::Builder) -> axum::http::request::Builder {
        match self {
            Auth::None => builder,
            Auth::Cookie(c) => builder.header(header::COOKIE, c),
            Auth::Bearer(t) => builder.header(header::AUTHORIZATION, format!("Bearer {t}")),
        }
    }
}

fn csrf_of(html: &str) -> String {
    let start = html.find("name=\"csrf\" value=\"").expect("a form with a CSRF token") + 19;
    html[start..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn signing_in_roles_and_every_page_in_both_languages() {
    let hq = hq().await;
    let anonymous = hq.get("/hq/customers", &Auth::None).await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
    assert_eq!(anonymous.headers[header::LOCATION], "/login?next=/hq/customers");
    let wrong = hq.post_form("/login", &Auth::None, "user=hq-01&password=nope").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("class=\"error\""), "{}", wrong.body);
    assert!(!wrong.headers.contains_key(header::SET_COOKIE));
    let unknown = hq.post_form("/login", &Auth::None, "user=nobody&password=demo-hq-01").await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED, "an unknown user is refused alike");

    let session = hq.sign_in("hq-01", "demo-hq-01").await;
    let event = hq.event.clone();
    let customers = hq.get("/api/v1/hq/customers", &session).await.json();
    let first = customers[0]["customer_id"].as_str().unwrap().to_owned();
    for path in [
        "/hq".to_owned(),
        "/hq/customers?tier=strategic".to_owned(),
        format!("/hq/customers/{first}"),
        "/hq/regrades".to_owned(),
        "/hq/visits".to_owned(),
        "/hq/tickets?show=all".to_owned(),
        "/hq/review".to_owned(),
        "/hq/devices".to_owned(),
        format!("/hq/events/{event}/board"),
        format!("/hq/events/{event}/reconciliation"),
        "/hq/reports".to_owned(),
    ] {
        let page = hq.get(&path, &session).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
        assert!(page.body.contains("<html lang=\"zh-CN\">"), "{path} is Chinese by default");
        assert!(page.body.contains("id=\"logout\""), "{path}");
    }
    let overview = hq.get("/hq", &session).await.body;
    assert!(overview.contains("id=\"count-customers\">40<"), "the demo's 40 customers");

    let Auth::Cookie(cookie) = &session else { unreachable!() };
    let english = Auth::Cookie(format!("{cookie}; kam_lang=en"));
    let page = hq.get("/hq/tickets", &english).await.body;
    assert!(page.contains("<html lang=\"en\">") && page.contains("Tickets and the 24-hour reply"));
    let switch = hq.get("/lang/en?back=/hq/visits", &session).await;
    assert_eq!(switch.headers[header::LOCATION], "/hq/visits");
    assert!(switch.headers[header::SET_COOKIE].to_str().unwrap().starts_with("kam_lang=en"));

    // A rep signs in but may open no headquarters page, and reads no HQ data.
    let rep = hq.sign_in("rep-01", "demo-rep-01").await;
    for path in ["/hq", "/hq/customers", "/hq/regrades", "/hq/review"] {
        let page = hq.get(path, &rep).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
        assert!(page.body.contains("id=\"forbidden\""), "{path}");
    }
    let rep_token = Auth::Bearer("kam_demo_rep-01".into());
    assert_eq!(hq.get("/api/v1/hq/customers", &rep_token).await.status, StatusCode::FORBIDDEN);
    assert_eq!(hq.get("/api/v1/hq/customers", &Auth::None).await.status, StatusCode::UNAUTHORIZED);

    // Signing out ends the session on the server, not only in the browser.
    let form = format!("csrf={}", csrf_of(&hq.get("/hq", &session).await.body));
    assert_eq!(hq.post_form("/logout", &session, &form).await.status, StatusCode::SEE_OTHER);
    assert_eq!(hq.get("/hq", &session).await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_re_grade_is_approved_once_into_the_customers_document() {
    let hq = hq().await;
    let token = Auth::Bearer("kam_demo_hq-01".into());
    let answer = hq.get("/api/v1/hq/regrades", &token).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let proposals = answer.json();
    let proposals = proposals.as_array().unwrap();
    assert!(!proposals.is_empty(), "the demo has customers whose figures call for a re-grade");
    let p = &proposals[0];
    let id = p["customer_id"].as_str().unwrap();

    // A form without the session's CSRF token changes nothing.
    let session = hq.sign_in("hq-01", "demo-hq-01").await;
    let forged = hq.post_form(&format!("/hq/regrades/{id}/approve"), &session, "csrf=forged").await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    // A rep's token may not decide.
    let rep = Auth::Bearer("kam_demo_rep-01".into());
    let request = rep
        .apply(Request::post(format!("/api/v1/hq/regrades/{id}/approve")))
        .body(Body::empty())
        .unwrap();
    assert_eq!(hq.send(request).await.status, StatusCode::FORBIDDEN);
    assert_eq!(hq.get("/api/v1/hq/regrades", &token).await.json()[0]["customer_id"], id);

    let page = hq.get("/hq/regrades", &session).await.body;
    let unticked = format!("csrf={}", csrf_of(&page));
    let refused = hq.post_form(&format!("/hq/regrades/{id}/approve"), &session, &unticked).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "a decision needs its tick");
    let form = format!("csrf={}&confirm=yes", csrf_of(&page));
    let done = hq.post_form(&format!("/hq/regrades/{id}/approve"), &session, &form).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert!(done.headers[header::LOCATION].to_str().unwrap().starts_with("/hq/regrades?done="));

    let customer = hq.get(&format!("/api/v1/hq/customers/{id}"), &token).await.json();
    assert_eq!(customer["customer"]["tier"], p["proposed_tier"]);
    assert_eq!(customer["customer"]["grade"], p["proposed_grade"]);
    let last = &customer["history"][0];
    assert_eq!(
        (last["author"].as_str(), last["action"].as_str()),
        (Some("hq-01"), Some("customer.regrade"))
    );
    let left = hq.get("/api/v1/hq/regrades", &token).await.json();
    assert!(left.as_array().unwrap().iter().all(|q| q["customer_id"] != id), "decided once");
    let again = hq.post_form(&format!("/hq/regrades/{id}/approve"), &session, &form).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND, "no proposal left to approve");
}

/// Fills the path parameters of a documented path with ids that exist.
fn concrete(path: &str, customer: &str, event: &str) -> String {
    path.replace("/documents/{kind}/{id}", &format!("/documents/customer/{customer}"))
        .replace("/customers/{id}", &format!("/customers/{customer}"))
        .replace("/events/{id}", &format!("/events/{event}"))
}

#[tokio::test]
async fn the_openapi_document_describes_what_the_server_answers() {
    let hq = hq().await;
    let token = Auth::Bearer("kam_demo_hq-01".into());
    let admin = Auth::Bearer("kam_demo_admin".into());
    let doc = hq.get("/api/v1/openapi.json", &Auth::None).await.json();
    assert_eq!(doc["openapi"], "3.1.0");
    let customers = hq.get("/api/v1/hq/customers", &token).await.json();
    let customer = customers[0]["customer_id"].as_str().unwrap().to_owned();
    let schemas = &doc["components"]["schemas"];
    // A lead's and a plan's page need one in the demo: checked only when it holds one.
    let pipeline = hq.get("/api/v1/hq/pipeline", &token).await.json();
    let lead = pipeline["leads"][0]["lead_id"].as_str().map(str::to_owned);
    let plans = hq.get("/api/v1/hq/plans?year=all", &token).await.json();
    let plan = plans[0]["plan_id"].as_str().map(str::to_owned);
    let mut checked = 0;
    for (template, item) in doc["paths"].as_object().unwrap() {
        let Some(get) = item.get("get") else { continue };
        let path = match (template.as_str(), &lead, &plan) {
            ("/api/v1/hq/pipeline/{id}", Some(id), _) => &format!("/api/v1/hq/pipeline/{id}"),
            ("/api/v1/hq/plans/{id}", _, Some(id)) => &format!("/api/v1/hq/plans/{id}"),
            ("/api/v1/hq/pipeline/{id}" | "/api/v1/hq/plans/{id}", _, _) => continue,
            _ => template,
        };
        // The administrator's lists are the administrator's alone.
        let token = if path.starts_with("/api/v1/admin/") { &admin } else { &token };
        let content = get["responses"]["200"]["content"].as_object().unwrap();
        let (media_type, media) = content.iter().next().unwrap();
        if media_type != "application/json" {
            // A stream, bytes or text: the status and the type are the answer (a stream never
            // ends, so its body is not read).
            let request = token.apply(Request::get(concrete(path, &customer, &hq.event)));
            let response = hq.app.clone().oneshot(request.body(Body::empty()).unwrap()).await;
            let response = response.unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            let sent = response.headers()[header::CONTENT_TYPE].to_str().unwrap();
            assert!(sent.starts_with(media_type.as_str()), "{path}: {sent}, not {media_type}");
            checked += 1;
            continue;
        }
        let answer = hq.get(&concrete(path, &customer, &hq.event), token).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.body);
        let body = answer.json();
        let schema = &media["schema"];
        let (value, schema) = match schema["type"].as_str() {
            Some("array") => (body.as_array().and_then(|a| a.first()).cloned(), &schema["items"]),
            _ => (Some(body.clone()), schema),
        };
        let schema = match schema["$ref"].as_str() {
            Some(r) => &schemas[r.rsplit('/').next().unwrap()],
            None => schema,
        };
        if let (Some(value), Some(required)) = (value, schema["required"].as_array()) {
            for field in required {
                let field = field.as_str().unwrap();
                assert!(
                    value.get(field).is_some(),
                    "{path}: `{field}` is declared but missing in {value}"
                );
            }
        }
        checked += 1;
    }
    assert!(checked >= 20, "{checked} GET paths checked");
    // Every JSON route of headquarters is in the document. (`tests/openapi.rs` checks every
    // route of the router against the document, and the errors each operation answers.)
    let paths: Vec<&String> = doc["paths"].as_object().unwrap().keys().collect();
    for route in [
        "/api/v1/hq/regrades/{id}/approve",
        "/api/v1/hq/conflicts/resolve",
        "/api/v1/hq/violations/{id}/reviewed",
        "/api/v1/sync",
        "/api/v1/desk/commands",
    ] {
        assert!(paths.iter().any(|p| p.as_str() == route), "{route} undocumented");
    }
}

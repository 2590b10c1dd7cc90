//! Tests of `security`: the redirect check against hostile targets, and the headers, cookies
//! and sign-out check through the whole router (`routes::app`, driven with `oneshot`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use axum::response::IntoResponse;
use http_body_util::BodyExt;
use tower::ServiceExt;

use super::*;
use crate::auth::Role;
use crate::http::AppState;
use crate::http::routes;
use crate::web::session::{self, SESSION_COOKIE};
use crate::{admin, data};

#[test]
fn only_absolute_local_paths_are_followed() {
    for good in ["/", "/hq", "/hq/customers?tier=key&grade=A", "/login?next=%2Fhq", "/hq#x"] {
        assert_eq!(local_path(Some(good), "/hq"), good, "{good:?}");
    }
    // `/%2F/x` arrives decoded as `//x`; the still-encoded form stays on the site.
    assert_eq!(local_path(Some("/%2F/x"), "/hq"), "/%2F/x");
    let long = format!("/hq/{}", "a".repeat(MAX_LOCAL_PATH));
    let hostile = [
        "",
        "//x",
        "//evil.example/hq",
        "/\\x",
        "/\\/evil.example",
        "/hq\\..\\x",
        "\\\\evil.example",
        "/\t/evil.example",
        "/%09/evil.example\t",
        "/\n/evil.example",
        "/hq\r\nSet-Cookie: x=1",
        "/hq\u{0}",
        "/hq\u{7f}",
        "/hq\u{85}",
        "/hq\u{2028}x",
        "/hq\u{3000}x",
        "/ hq",
        "https://evil.example",
        "http:/evil.example",
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "data:text/html,x",
        "evil.example",
        "hq",
        "./hq",
        "?next=/hq",
        "#/hq",
        long.as_str(),
    ];
    for bad in hostile {
        assert_eq!(local_path(Some(bad), "/hq"), "/hq", "{bad:?}");
        assert_eq!(local_path(Some(bad), "/login"), "/login", "{bad:?}");
    }
    assert_eq!(local_path(None, "/login"), "/login");
    let just_fits = format!("/{}", "a".repeat(MAX_LOCAL_PATH - 1));
    assert_eq!(local_path(Some(&just_fits), "/hq"), just_fits);
}

#[test]
fn unicode_stays_local_and_becomes_a_valid_location() {
    assert_eq!(
        local_path(Some("/hq/customers?q=东方"), "/hq"),
        "/hq/customers?q=%E4%B8%9C%E6%96%B9"
    );
    // A full-width solidus is no slash to a browser's path parser, and it is encoded anyway.
    assert_eq!(local_path(Some("/\u{ff0f}evil.example"), "/hq"), "/%EF%BC%8Fevil.example");
    for target in ["/hq?x=é", "/\u{ff3c}x", "/hq/😀"] {
        let response = redirect_local(Some(target), "/hq").into_response();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{target:?}");
        let location = response.headers()[header::LOCATION].to_str().unwrap();
        assert!(location.starts_with('/') && location.is_ascii(), "{location}");
    }
}

#[test]
fn event_streams_and_api_answers_are_never_stored() {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, "text/event-stream".parse().unwrap());
    headers.insert(header::CACHE_CONTROL, "no-cache".parse().unwrap());
    add_security_headers(&mut headers, WebSettings::default(), false);
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    let mut headers = HeaderMap::new();
    headers.insert(header::CACHE_CONTROL, "public, max-age=60".parse().unwrap());
    add_security_headers(&mut headers, WebSettings::default(), true);
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    let mut headers = HeaderMap::new();
    headers.insert(header::CACHE_CONTROL, "private, max-age=60".parse().unwrap());
    add_security_headers(&mut headers, WebSettings { tls_proxy: true }, false);
    assert_eq!(headers[header::CACHE_CONTROL], "private, max-age=60", "a handler's choice");
    assert_eq!(headers[header::STRICT_TRANSPORT_SECURITY], "max-age=31536000");
}

/// A router over an empty store with one headquarters user `hq-t` and one rep `rep-t`;
/// returns it with a live session cookie and CSRF token of each.
struct Site {
    app: axum::Router,
    state: AppState,
    hq: (String, String),
    rep: (String, String),
    _dir: tempfile::TempDir,
}

fn site(tls_proxy: bool) -> Site {
    let dir = tempfile::tempdir().unwrap();
    let mut store = data::open_store(dir.path()).unwrap();
    let now = chrono::Utc::now();
    let mut login = |user: &str, role: Role| {
        admin::add_user(&mut store, admin::ADMIN_ACTOR, user, user, role, now).unwrap();
        let token = session::create_session(store.conn(), user, now).unwrap();
        let (_, _, csrf) = session::session_user(store.conn(), &token, now).unwrap().unwrap();
        (format!("{SESSION_COOKIE}={token}"), csrf)
    };
    let hq = login("hq-t", Role::Hq);
    let rep = login("rep-t", Role::Rep);
    let mut state = AppState::new(store).unwrap();
    state.web = WebSettings { tls_proxy };
    Site { app: routes::app(state.clone()), state, hq, rep, _dir: dir }
}

async fn send(app: &axum::Router, request: Request<Body>) -> (StatusCode, HeaderMap, String) {
    let response = app.clone().oneshot(request).await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8_lossy(&bytes).into_owned())
}

fn get(path: &str, cookie: Option<&str>) -> Request<Body> {
    let mut request = Request::get(path);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    request.body(Body::empty()).unwrap()
}

fn logout(cookie: &str, form: &str) -> Request<Body> {
    Request::post("/logout")
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form.to_owned()))
        .unwrap()
}

fn assert_hygiene(path: &str, headers: &HeaderMap) {
    assert_eq!(headers[header::CONTENT_SECURITY_POLICY], CONTENT_SECURITY_POLICY, "{path}");
    assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY", "{path}");
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{path}");
    assert_eq!(headers[header::REFERRER_POLICY], "same-origin", "{path}");
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let s = site(false);
    let hq = Some(s.hq.0.as_str());
    for (path, cookie, status) in [
        ("/hq", hq, StatusCode::OK),
        ("/hq/customers?tier=key", hq, StatusCode::OK),
        ("/hq/reports/monthly.csv?month=2025-01", hq, StatusCode::OK),
        ("/hq", None, StatusCode::SEE_OTHER),
        ("/login", None, StatusCode::OK),
        ("/lang/en?back=/hq", None, StatusCode::SEE_OTHER),
        ("/api/v1/summary", None, StatusCode::OK),
        ("/api/v1/hq/overview", hq, StatusCode::OK),
        ("/api/v1/conflicts", None, StatusCode::UNAUTHORIZED),
        ("/healthz", None, StatusCode::OK),
        ("/no/such/page", None, StatusCode::NOT_FOUND),
        ("/hq/no/such/page", None, StatusCode::NOT_FOUND),
        ("/hq/customers/a/b", hq, StatusCode::NOT_FOUND),
        ("/console/events/none/live", hq, StatusCode::NOT_FOUND),
    ] {
        let (got, headers, _) = send(&s.app, get(path, cookie)).await;
        assert_eq!(got, status, "{path}");
        assert_hygiene(path, &headers);
        assert_eq!(headers[header::CACHE_CONTROL], "no-store", "{path}");
        assert!(!headers.contains_key(header::STRICT_TRANSPORT_SECURITY), "{path}: plain HTTP");
    }
    let (status, headers, body) = send(&s.app, get("/hq", hq)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    assert!(body.contains(r#"rel="stylesheet" href="/assets/kam.css?v="#), "{body}");
    assert!(!body.contains("<style") && !body.contains("<script") && !body.contains(" style="));
    // An unknown dashboard page is the localized not-found page, whatever the method.
    let post = Request::post("/hq/no-such-page").header(header::COOKIE, "kam_lang=en");
    let (status, headers, body) = send(&s.app, post.body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_hygiene("/hq/no-such-page", &headers);
    assert!(body.contains(r#"<h1 class="error-title">Not found</h1>"#), "{body}");
    let href = crate::web::assets::css_href();
    let (status, headers, css) = send(&s.app, get(&href, None)).await;
    assert_eq!(status, StatusCode::OK);
    assert_hygiene(&href, &headers);
    assert_eq!(headers[header::CACHE_CONTROL], "public, max-age=31536000, immutable");
    assert_eq!(headers[header::CONTENT_TYPE], "text/css; charset=utf-8");
    assert!(css.contains(".error-page"));
    let (_, headers, js) = send(&s.app, get("/assets/console.js", None)).await;
    assert_eq!(headers[header::CONTENT_TYPE], "text/javascript; charset=utf-8");
    assert_eq!(headers[header::CACHE_CONTROL], "public, max-age=300");
    assert!(js.contains("new EventSource(root.dataset.live"));
    // An unknown static file is the localized not-found page, not a bare 404.
    let (status, headers, body) = send(&s.app, get("/assets/nope.js", None)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    assert!(body.contains("error-title"), "{body}");
}

#[tokio::test]
async fn behind_a_tls_proxy_cookies_are_secure_and_hsts_is_sent() {
    for tls_proxy in [false, true] {
        let s = site(tls_proxy);
        let (_, headers, _) = send(&s.app, get("/lang/en?back=/hq", None)).await;
        let cookie = headers[header::SET_COOKIE].to_str().unwrap();
        assert!(cookie.starts_with("kam_lang=en;"), "{cookie}");
        assert_eq!(cookie.ends_with("; Secure"), tls_proxy, "{cookie}");
        assert_eq!(headers.contains_key(header::STRICT_TRANSPORT_SECURITY), tls_proxy);
        let (_, headers, _) = send(&s.app, get("/api/v1/summary", None)).await;
        assert_eq!(headers.contains_key(header::STRICT_TRANSPORT_SECURITY), tls_proxy);
        let form = format!("csrf={}", s.hq.1);
        let (status, headers, _) = send(&s.app, logout(&s.hq.0, &form)).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let cookie = headers[header::SET_COOKIE].to_str().unwrap();
        assert!(cookie.contains("HttpOnly; SameSite=Strict; Max-Age=0"), "{cookie}");
        assert_eq!(cookie.ends_with("; Secure"), tls_proxy, "{cookie}");
    }
}

#[tokio::test]
async fn the_language_switch_goes_back_only_to_a_local_page() {
    let s = site(false);
    for (query, expected) in [
        ("back=/%09/evil.example", "/hq"),
        ("back=%2F%0A%2Fevil.example", "/hq"),
        ("back=%0a", "/hq"),
        ("back=%0d%0aSet-Cookie:%20x=1", "/hq"),
        ("back=/%00", "/hq"),
        ("back=//evil.example", "/hq"),
        ("back=/%5Cevil.example", "/hq"),
        ("back=https://evil.example", "/hq"),
        ("back=javascript:alert(1)", "/hq"),
        ("back=", "/hq"),
        ("back=%FF%FE", "/hq"),
        ("", "/hq"),
        ("back=%2Fhq%2Fcustomers%3Ftier%3Dkey%26grade%3DA", "/hq/customers?tier=key&grade=A"),
        ("back=/login?next=%252Fhq%252Freview", "/login?next=%2Fhq%2Freview"),
    ] {
        let (status, headers, _) = send(&s.app, get(&format!("/lang/zh?{query}"), None)).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{query}");
        assert_eq!(headers[header::LOCATION], expected, "{query}");
    }
    // The page's own links carry its filters; a flash message stays behind.
    let path = "/hq/customers?tier=key&done=x";
    let (_, _, body) = send(&s.app, get(path, Some(&s.hq.0))).await;
    assert!(body.contains(r#"href="/lang/en?back=/hq/customers%3Ftier%3Dkey""#), "{body}");
    // Signing in comes back to the page asked for, filters included.
    let (status, headers, _) = send(&s.app, get("/hq/customers?tier=key", None)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/login?next=/hq/customers%3Ftier%3Dkey");
    let (_, _, body) = send(&s.app, get("/login?next=//evil.example", None)).await;
    assert!(body.contains(r#"name="next" value="/hq""#), "{body}");
}

async fn signed_in(s: &Site, cookie: &str) -> bool {
    let token = cookie.split_once('=').unwrap().1.to_owned();
    let now = chrono::Utc::now();
    let found = s.state.with_store(move |store| session::session_user(store.conn(), &token, now));
    found.await.unwrap().is_some()
}

#[tokio::test]
async fn signing_out_needs_the_sessions_csrf_token() {
    let s = site(false);
    let (cookie, csrf) = (&s.hq.0, &s.hq.1);
    for form in ["", "csrf=", "csrf=wrong", &format!("csrf={}", s.rep.1)] {
        let (status, _, body) = send(&s.app, logout(cookie, form)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{form:?}");
        assert!(body.contains(r#"<h1 id="forbidden">无权访问</h1>"#), "{body}");
        // The refusal offers a sign-out that works: the form carries the session's token.
        assert!(body.contains(&format!(r#"name="csrf" value="{csrf}""#)), "{body}");
        assert!(signed_in(&s, cookie).await, "{form:?} ended the session");
    }
    let no_form = Request::post("/logout").header(header::COOKIE, cookie).body(Body::empty());
    let (status, _, _) = send(&s.app, no_form.unwrap()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(signed_in(&s, cookie).await);
    let (status, headers, _) = send(&s.app, logout(cookie, &format!("csrf={csrf}"))).await;
    assert_eq!(
        (status, &headers[header::LOCATION]),
        (StatusCode::SEE_OTHER, &"/login".parse().unwrap())
    );
    assert!(!signed_in(&s, cookie).await, "the session ended");
    // Without a live session there is nothing to protect: the cookie is cleared.
    let (status, _, _) = send(&s.app, logout(cookie, "")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_forbidden_page_has_the_navigation_and_a_working_sign_out() {
    let s = site(false);
    let (status, _, body) = send(&s.app, get("/hq/customers", Some(&s.rep.0))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains(r#"<h1 id="forbidden">无权访问</h1>"#), "{body}");
    assert!(body.contains(r#"<a href="/hq/customers">客户</a>"#), "{body}");
    assert!(body.contains(&format!(r#"name="csrf" value="{}""#, s.rep.1)), "{body}");
    let (status, _, _) = send(&s.app, logout(&s.rep.0, &format!("csrf={}", s.rep.1))).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(!signed_in(&s, &s.rep.0).await);
}

//! Tests of the error pages: localized by the error's code, with the navigation, in both
//! languages, never with the server's English detail on a Chinese page.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use http_body_util::BodyExt;

use super::*;

/// Every stable code a page may be asked to explain.
const CODES: &[&str] = &[
    "not_found",
    "unauthorized",
    "forbidden",
    "body_too_large",
    "unsupported_wire_version",
    "malformed_sync_body",
    "invalid_field",
    "conflict",
    "internal",
    "malformed_request",
    "method_not_allowed",
    "request_timeout",
    "unsupported_media_type",
    "out_of_range",
    "rate_limited",
    "unavailable",
    "stale_state",
    "event_delegated",
    "already_delegated",
    "units_shared_with_event",
    "not_delegated",
    "lease_not_ended",
    "lease_ended",
    "event_returned",
];

async fn render(response: Response) -> (StatusCode, String) {
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

/// The navigation every error page carries, without a signed-in user.
fn assert_navigation(body: &str, lang: Lang) {
    for href in ["/hq", "/hq/customers", "/hq/regrades", "/hq/review", "/hq/reports"] {
        assert!(body.contains(&format!(r#"<a href="{href}">"#)), "no link to {href}: {body}");
    }
    assert!(body.contains(r#"id="lang-zh" href="/lang/zh?back=/hq""#), "{body}");
    assert!(body.contains(r#"id="lang-en" href="/lang/en?back=/hq""#), "{body}");
    let sign_in = lang.t("登录", "Sign in");
    assert!(body.contains(&format!(r#"<a id="sign-in" href="/login">{sign_in}</a>"#)), "{body}");
    let back = lang.t("返回总览", "Back to the overview");
    assert!(body.contains(&format!(r#"<a id="back-to-overview" href="/hq">{back}</a>"#)), "{body}");
    assert!(!body.contains(r#"id="logout""#), "no session, no sign-out: {body}");
}

#[tokio::test]
async fn an_error_page_speaks_the_readers_language_with_the_navigation() {
    let (status, zh) = render(error_page(Lang::Zh, StatusCode::NOT_FOUND, "not_found")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(zh.contains(r#"<html lang="zh-CN">"#), "{zh}");
    assert!(zh.contains(r#"<h1 class="error-title">未找到</h1>"#), "{zh}");
    assert!(zh.contains(r#"data-code="not_found""#) && zh.contains(r#"data-status="404""#));
    assert!(zh.contains("<title>未找到 · KAM</title>"), "{zh}");
    assert!(!zh.contains("Not found"), "{zh}");
    assert_navigation(&zh, Lang::Zh);
    let (status, en) = render(error_page(Lang::En, StatusCode::NOT_FOUND, "not_found")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(en.contains(r#"<html lang="en">"#), "{en}");
    assert!(en.contains(r#"<h1 class="error-title">Not found</h1>"#), "{en}");
    assert!(!en.contains("未找到"), "{en}");
    assert_navigation(&en, Lang::En);
}

#[test]
fn every_code_has_its_own_words_and_unknown_codes_their_status_class() {
    let generic_4xx = explain(Lang::Zh, StatusCode::BAD_REQUEST, "no_such_code");
    let generic_5xx = explain(Lang::Zh, StatusCode::BAD_GATEWAY, "no_such_code");
    assert_ne!(generic_4xx, generic_5xx);
    let mut titles = std::collections::BTreeSet::new();
    for code in CODES {
        for lang in [Lang::Zh, Lang::En] {
            let (title, message) = explain(lang, StatusCode::BAD_REQUEST, code);
            assert!(!title.is_empty() && !message.is_empty(), "{code}");
            assert_eq!(message.is_ascii(), lang == Lang::En, "{code} {lang:?}: {message}");
        }
        if *code != "internal" {
            assert_ne!(explain(Lang::Zh, StatusCode::BAD_REQUEST, code), generic_4xx, "{code}");
        }
        titles.insert(explain(Lang::Zh, StatusCode::BAD_REQUEST, code).0);
    }
    assert_eq!(titles.len(), CODES.len(), "every code has its own title");
    assert_eq!(EXPLANATIONS.len(), CODES.len(), "every explained code is tested");
    assert_eq!(explain(Lang::En, StatusCode::IM_A_TEAPOT, "x").0, "Could not be done");
    assert_eq!(explain(Lang::En, StatusCode::SERVICE_UNAVAILABLE, "x").0, "Something went wrong");
}

#[tokio::test]
async fn a_server_error_renders_by_its_code_without_the_english_detail() {
    let invalid = ServerError::Invalid { field: "month", reason: "not a month: 2025-13".into() };
    let (status, zh) = render(PageError::Server(invalid, Lang::Zh).into_response()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(zh.contains("输入有误") && zh.contains(r#"data-code="invalid_field""#), "{zh}");
    assert!(!zh.contains("not a month") && !zh.contains("invalid month"), "{zh}");
    assert_navigation(&zh, Lang::Zh);
    let corrupt = ServerError::Corrupt("secret detail".into());
    let (status, en) = render(PageError::Server(corrupt, Lang::En).into_response()).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(en.contains("Something went wrong") && !en.contains("secret detail"), "{en}");
}

#[tokio::test]
async fn the_sign_in_redirect_keeps_only_a_local_page() {
    for (next, location) in [
        ("/hq/customers?tier=key", "/login?next=/hq/customers%3Ftier%3Dkey"),
        ("//evil.example", "/login?next=/hq"),
        ("/\t/evil.example", "/login?next=/hq"),
    ] {
        let response = PageError::SignIn { next: next.into() }.into_response();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(response.headers()[axum::http::header::LOCATION], location, "{next:?}");
    }
}

#[tokio::test]
async fn the_forbidden_page_signs_out_with_the_sessions_token() {
    let forbidden = |csrf: Option<&str>, why| PageError::Forbidden {
        lang: Lang::Zh,
        csrf: csrf.map(str::to_owned),
        why,
    };
    let (status, body) = render(forbidden(Some("tok3n"), Refusal::StaleForm).into_response()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains(r#"<h1 id="forbidden">无权访问</h1>"#), "{body}");
    assert!(body.contains("表单已失效"), "{body}");
    assert!(body.contains(r#"<input type="hidden" name="csrf" value="tok3n">"#), "{body}");
    let (_, body) = render(forbidden(None, Refusal::Role).into_response()).await;
    assert!(body.contains("您的角色不能打开总部页面") && !body.contains(r#"id="logout""#));
    assert!(body.contains(r#"id="sign-in""#), "{body}");
}

//! Web hygiene every answer shares: where a redirect may go, the security headers, and the
//! cookie flags that depend on how the server is reached.
//!
//! `routes::app` installs [`security_headers`] around the whole router, so pages, the JSON
//! API, the event streams and the static files all carry the same headers.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{Redirect, Response};

/// How the dashboard is reached; part of `AppState`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WebSettings {
    /// Reached over HTTPS through a TLS-terminating proxy (`serve --tls-proxy`): cookies are
    /// `Secure` and HSTS is sent. Off by default: the demo and tests run plain HTTP on
    /// 127.0.0.1, where a browser would drop a `Secure` cookie.
    pub tls_proxy: bool,
}

impl WebSettings {
    /// The attribute to append to every `Set-Cookie` (`"; Secure"` behind TLS, else nothing).
    pub fn cookie_secure(self) -> &'static str {
        if self.tls_proxy { "; Secure" } else { "" }
    }
}

/// The Content-Security-Policy of every answer: scripts, styles and event streams only from
/// this server, nothing inline, no framing, forms only to this server.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

/// HSTS behind a TLS proxy: a year, this host only (other hosts of the domain are not ours
/// to promise).
const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000";

/// The longest redirect target accepted, in bytes; a page's path and filters fit easily.
pub const MAX_LOCAL_PATH: usize = 2048;

/// The one check of every redirect the dashboard takes from a request (the sign-in's `next`,
/// the language switch's `back`, the way back after signing in): `target` if it is an
/// absolute local path, else `fallback`.
///
/// A local path starts with exactly one `/`, is not followed by `/` or `\` (which browsers
/// read as another host), has no backslash, no control or whitespace character anywhere
/// (browsers drop tabs and newlines, so `/\t/evil.example` would become `//evil.example`,
/// and they are not valid in a header anyway) and is at most [`MAX_LOCAL_PATH`] bytes.
/// Non-ASCII characters are percent-encoded, so the answer is always a valid `Location`.
pub fn local_path(target: Option<&str>, fallback: &'static str) -> String {
    match target {
        Some(path) if is_local_path(path) => percent_encode_non_ascii(path),
        _ => fallback.to_owned(),
    }
}

/// A `303 See Other` to [`local_path`]`(target, fallback)`.
pub fn redirect_local(target: Option<&str>, fallback: &'static str) -> Redirect {
    Redirect::to(&local_path(target, fallback))
}

fn is_local_path(path: &str) -> bool {
    let mut chars = path.chars();
    chars.next() == Some('/')
        && !matches!(chars.next(), Some('/' | '\\'))
        && path.len() <= MAX_LOCAL_PATH
        && !path.chars().any(|c| c == '\\' || c.is_control() || c.is_whitespace())
}

fn percent_encode_non_ascii(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for byte in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{byte:02X}"));
            }
        }
    }
    out
}

/// Middleware: adds the security headers to every answer. Install it outermost in
/// `routes::app`:
///
/// ```text
/// .layer(axum::middleware::from_fn_with_state(state.web, crate::web::security::security_headers))
/// ```
pub async fn security_headers(
    State(settings): State<WebSettings>,
    request: Request,
    next: Next,
) -> Response {
    let api = request.uri().path().starts_with("/api/");
    let mut response = next.run(request).await;
    add_security_headers(response.headers_mut(), settings, api);
    response
}

/// The headers [`security_headers`] adds. `api`: the answer is under `/api/`.
///
/// Every answer that did not choose its own cache lifetime is `no-store`: pages and API
/// answers carry personal data. The static files choose theirs and keep it. The `no-cache`
/// axum gives every event stream is not a choice, so streams become `no-store` too; and an
/// `/api/` answer is always `no-store`, whatever it set, because the API is personal data.
pub fn add_security_headers(headers: &mut HeaderMap, settings: WebSettings, api: bool) {
    let fixed = [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if settings.tls_proxy {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(STRICT_TRANSPORT_SECURITY),
        );
    }
    let stream = headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"text/event-stream"));
    if api || stream || !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

#[cfg(test)]
#[path = "security_tests.rs"]
mod tests;

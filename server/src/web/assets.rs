//! The dashboard's static files: its style sheets and scripts.
//!
//! They are compiled into the binary and served from `/assets/`, because the
//! Content-Security-Policy (see `security`) allows no inline `<style>` or `<script>`. Pages
//! link them with `?v=` and a hash of their content: a link with the current hash may be
//! cached for a year (a new build changes the hash, so the browser asks again), any other
//! request only briefly.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// Cache lifetime of a versioned link: the content behind it never changes.
const VERSIONED: &str = "public, max-age=31536000, immutable";
/// Cache lifetime of an unversioned request: short, so a new build is seen soon.
const UNVERSIONED: &str = "public, max-age=300";

const CSS_TYPE: &str = "text/css; charset=utf-8";
const JS_TYPE: &str = "text/javascript; charset=utf-8";

/// One static file: its name under `/assets/`, content, type and version.
pub struct Asset {
    name: &'static str,
    body: &'static str,
    content_type: &'static str,
    version: OnceLock<String>,
}

impl Asset {
    const fn new(name: &'static str, body: &'static str, content_type: &'static str) -> Asset {
        Asset { name, body, content_type, version: OnceLock::new() }
    }

    /// The first 16 hex digits of the content's SHA-256, computed once.
    fn version(&self) -> &str {
        self.version.get_or_init(|| hex::encode(&Sha256::digest(self.body.as_bytes())[..8]))
    }

    /// The file's link, with its version.
    pub fn href(&self) -> String {
        format!("/assets/{}?v={}", self.name, self.version())
    }

    fn serve(&self, uri: &Uri) -> Response {
        let versioned =
            uri.query().and_then(|q| q.strip_prefix("v=")).is_some_and(|v| v == self.version());
        let cache = if versioned { VERSIONED } else { UNVERSIONED };
        (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(self.content_type)),
                (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
            ],
            self.body,
        )
            .into_response()
    }
}

/// The style sheet of every page.
pub static CSS: Asset = Asset::new("kam.css", include_str!("../../assets/kam.css"), CSS_TYPE);
/// The consoles' styles: the control table, the stations' forms.
pub static CONSOLE_CSS: Asset =
    Asset::new("console.css", include_str!("../../assets/console.css"), CSS_TYPE);
/// The consoles' script: the live table, the command forms and their idempotency keys.
pub static CONSOLE_JS: Asset =
    Asset::new("console.js", include_str!("../../assets/console.js"), JS_TYPE);
/// The printed papers' styles (A4, print).
pub static PAPERS_CSS: Asset =
    Asset::new("papers.css", include_str!("../../assets/papers.css"), CSS_TYPE);
/// The hall's big screen's styles.
pub static SCREEN_CSS: Asset =
    Asset::new("screen.css", include_str!("../../assets/screen.css"), CSS_TYPE);
/// The hall's big screen's script.
pub static SCREEN_JS: Asset =
    Asset::new("screen.js", include_str!("../../assets/screen.js"), JS_TYPE);

/// Every static file, found by name.
static ALL: [&Asset; 6] = [&CSS, &CONSOLE_CSS, &CONSOLE_JS, &PAPERS_CSS, &SCREEN_CSS, &SCREEN_JS];

/// `GET /assets/{name}`; an unknown name is the localized not-found page.
pub async fn asset(
    Path(name): Path<String>,
    uri: Uri,
    headers: axum::http::HeaderMap,
) -> Result<Response, super::error::PageError> {
    match ALL.iter().find(|a| a.name == name) {
        Some(asset) => Ok(asset.serve(&uri)),
        None => Err(super::error::PageError::Server(
            crate::error::ServerError::NotFound,
            super::session::lang_of(&headers),
        )),
    }
}

/// The style sheet's link, with its version.
pub fn css_href() -> String {
    CSS.href()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_versioned_link_is_cached_for_long_anything_else_briefly() {
        let long: Uri = css_href().parse().unwrap();
        let response = CSS.serve(&long);
        assert_eq!(response.headers()[header::CACHE_CONTROL], VERSIONED);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "text/css; charset=utf-8");
        let stale: Uri = "/assets/kam.css?v=0000".parse().unwrap();
        assert_eq!(CSS.serve(&stale).headers()[header::CACHE_CONTROL], UNVERSIONED);
        let bare: Uri = "/assets/console.js".parse().unwrap();
        let response = CONSOLE_JS.serve(&bare);
        assert_eq!(response.headers()[header::CACHE_CONTROL], UNVERSIONED);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "text/javascript; charset=utf-8");
        assert_ne!(css_href(), CONSOLE_JS.href());
        assert_eq!(CSS.version().len(), 16);
    }
}

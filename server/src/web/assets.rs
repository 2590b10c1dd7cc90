//! The dashboard's static files: its style sheet and the live board's script.
//!
//! They are compiled into the binary and served from `/assets/`, because the
//! Content-Security-Policy (see `security`) allows no inline `<style>` or `<script>`. Pages
//! link them with `?v=` and a hash of their content: a link with the current hash may be
//! cached for a year (a new build changes the hash, so the browser asks again), any other
//! request only briefly.

use std::sync::OnceLock;

use axum::http::{HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// The style sheet of every page.
const KAM_CSS: &str = include_str!("../../assets/kam.css");
/// The live board's script.
const BOARD_JS: &str = include_str!("../../assets/board.js");

/// The path the style sheet is served at.
pub const CSS_PATH: &str = "/assets/kam.css";
/// The path the live board's script is served at.
pub const BOARD_JS_PATH: &str = "/assets/board.js";

/// Cache lifetime of a versioned link: the content behind it never changes.
const VERSIONED: &str = "public, max-age=31536000, immutable";
/// Cache lifetime of an unversioned request: short, so a new build is seen soon.
const UNVERSIONED: &str = "public, max-age=300";

/// One static file: its content, type and version.
struct Asset {
    body: &'static str,
    content_type: &'static str,
    version: OnceLock<String>,
}

impl Asset {
    /// The first 16 hex digits of the content's SHA-256, computed once.
    fn version(&self) -> &str {
        self.version.get_or_init(|| hex::encode(&Sha256::digest(self.body.as_bytes())[..8]))
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

static CSS: Asset =
    Asset { body: KAM_CSS, content_type: "text/css; charset=utf-8", version: OnceLock::new() };
static BOARD: Asset = Asset {
    body: BOARD_JS,
    content_type: "text/javascript; charset=utf-8",
    version: OnceLock::new(),
};

/// `GET /assets/kam.css`.
pub async fn kam_css(uri: Uri) -> Response {
    CSS.serve(&uri)
}

/// `GET /assets/board.js`.
pub async fn board_js(uri: Uri) -> Response {
    BOARD.serve(&uri)
}

/// The style sheet's link, with its version.
pub fn css_href() -> String {
    format!("{CSS_PATH}?v={}", CSS.version())
}

/// The live board script's link, with its version.
pub fn board_js_href() -> String {
    format!("{BOARD_JS_PATH}?v={}", BOARD.version())
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
        let bare: Uri = BOARD_JS_PATH.parse().unwrap();
        let response = BOARD.serve(&bare);
        assert_eq!(response.headers()[header::CACHE_CONTROL], UNVERSIONED);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "text/javascript; charset=utf-8");
        assert_ne!(css_href(), board_js_href());
        assert_eq!(CSS.version().len(), 16);
    }
}

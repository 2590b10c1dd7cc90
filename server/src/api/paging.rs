//! A page of a list over the JSON API: the body is the page's rows (an array, as before
//! paging), the headers say the rest — `X-Total-Count` the rows matching the filters, and
//! `Link` (RFC 8288) the first, previous and next pages as the same request with another
//! `cursor`.

use axum::Json;
use axum::http::{HeaderName, HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::hq::listing::Page;
use crate::web::layout::url_encode;

/// The header carrying the count of matching rows.
pub const TOTAL_COUNT: HeaderName = HeaderName::from_static("x-total-count");

/// `page` as the answer to the request for `uri`.
pub fn paged<T: Serialize>(page: Page<T>, uri: &Uri) -> Response {
    let Page { total, next, prev, rows, .. } = page;
    paged_body(rows, PageLinks { total, next, prev }, uri)
}

/// Where a page stands among the rows, for a body that is not the rows alone (a view whose
/// main list is paged and whose other parts follow it).
pub struct PageLinks {
    /// Rows matching the filters.
    pub total: usize,
    /// The next page's cursor.
    pub next: Option<String>,
    /// The previous page's cursor.
    pub prev: Option<String>,
}

impl PageLinks {
    /// The links of `page`.
    pub fn of<T>(page: &Page<T>) -> PageLinks {
        PageLinks { total: page.total, next: page.next.clone(), prev: page.prev.clone() }
    }
}

/// `body` as the answer to the request for `uri`, with the paging headers of `links`.
pub fn paged_body<B: Serialize>(body: B, page: PageLinks, uri: &Uri) -> Response {
    let mut links = Vec::new();
    links.push(format!("<{}>; rel=\"first\"", with_cursor(uri, None)));
    if let Some(prev) = &page.prev {
        links.push(format!("<{}>; rel=\"prev\"", with_cursor(uri, Some(prev))));
    }
    if let Some(next) = &page.next {
        links.push(format!("<{}>; rel=\"next\"", with_cursor(uri, Some(next))));
    }
    let total = page.total;
    let mut response = Json(body).into_response();
    let headers = response.headers_mut();
    headers.insert(TOTAL_COUNT, HeaderValue::from(total));
    // Every part of a link is the request's own path and query, re-encoded: always ASCII.
    if let Ok(value) = HeaderValue::from_str(&links.join(", ")) {
        headers.insert(header::LINK, value);
    }
    response
}

/// The request's path and query with `cursor` set to `cursor` (or removed).
fn with_cursor(uri: &Uri, cursor: Option<&str>) -> String {
    let mut pairs: Vec<String> = uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|pair| !pair.is_empty() && *pair != "cursor" && !pair.starts_with("cursor="))
        .map(str::to_owned)
        .collect();
    pairs.extend(cursor.map(|c| format!("cursor={}", url_encode(c))));
    if pairs.is_empty() {
        uri.path().to_owned()
    } else {
        format!("{}?{}", uri.path(), pairs.join("&"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::hq::listing::Dir;

    #[test]
    fn the_links_are_the_same_request_at_other_cursors() {
        let uri: Uri = "/api/v1/hq/tickets?show=all&cursor=old&limit=2".parse().unwrap();
        let page = Page {
            total: 7,
            first_row: 3,
            rows: vec![1, 2],
            next: Some("n1".to_owned()),
            prev: Some("p1".to_owned()),
            sort: "sla",
            dir: Dir::Asc,
        };
        let response = paged(page, &uri);
        let headers = response.headers();
        assert_eq!(headers[TOTAL_COUNT], "7");
        assert_eq!(
            headers[header::LINK],
            "</api/v1/hq/tickets?show=all&limit=2>; rel=\"first\", \
             </api/v1/hq/tickets?show=all&limit=2&cursor=p1>; rel=\"prev\", \
             </api/v1/hq/tickets?show=all&limit=2&cursor=n1>; rel=\"next\""
        );
    }
}

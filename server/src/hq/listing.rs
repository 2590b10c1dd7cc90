//! Lists as headquarters reads them: sorted by any shown column, paged by a keyset cursor.
//!
//! A list's rows are computed by its use case (filters applied, the SLA at the moment of
//! asking, …); this module orders them and cuts one page. The cursor names the boundary row by
//! its sort value and id, not by a position, so a page asked for after rows were added or
//! removed still starts right after the last row the reader saw: nothing is shown twice and
//! nothing is skipped among the rows that stayed. A cursor carries the sort it was made for;
//! asking with it under another sort is refused rather than answered with a page of some
//! other list.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use crate::error::ServerError;

/// Rows on a page when the request names no limit.
pub const DEFAULT_LIMIT: usize = 50;
/// The most rows one page may hold.
pub const MAX_LIMIT: usize = 500;

/// A sort direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dir {
    /// Smallest first.
    Asc,
    /// Largest first.
    Desc,
}

impl Dir {
    /// The query string's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Dir::Asc => "asc",
            Dir::Desc => "desc",
        }
    }

    /// The other direction.
    pub fn flipped(self) -> Dir {
        match self {
            Dir::Asc => Dir::Desc,
            Dir::Desc => Dir::Asc,
        }
    }
}

/// A row's value in the sorted column. Rows without one sort last in either direction.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SortValue {
    /// A number (counts, scores, minutes, ranks).
    Int(i64),
    /// Text (names, codes, RFC 3339 instants, dates, decimal amounts padded by the caller).
    Text(String),
}

/// A column a list may be sorted by: its query-string name and how a row gives its value.
pub struct SortColumn<T> {
    /// The name in `sort=`.
    pub key: &'static str,
    /// The row's value, if it has one.
    pub value: fn(&T) -> Option<SortValue>,
}

/// The paging part of a list request, as the query string spells it (read as text so a bad
/// value is answered with a message naming it, not with the framework's refusal).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct ListParams {
    /// The column to sort by.
    pub sort: Option<String>,
    /// `asc` or `desc`.
    pub dir: Option<String>,
    /// Rows per page, 1 to [`MAX_LIMIT`].
    pub limit: Option<String>,
    /// Where the page starts: the `next` or `prev` cursor of an earlier page.
    pub cursor: Option<String>,
}

/// A list request checked against the list's columns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageRequest {
    /// The column.
    pub sort: &'static str,
    /// The direction.
    pub dir: Dir,
    /// Rows per page.
    pub limit: usize,
    /// Where to start.
    cursor: Option<Cursor>,
}

/// One page of a list.
#[derive(Clone, Debug, Serialize)]
pub struct Page<T> {
    /// Rows matching the filters, on every page.
    pub total: usize,
    /// The position of the page's first row among them (1-based; 0 when empty).
    pub first_row: usize,
    /// The page's rows.
    pub rows: Vec<T>,
    /// The cursor of the page after this one, if there is one.
    pub next: Option<String>,
    /// The cursor of the page before this one, if there is one.
    pub prev: Option<String>,
    /// The column sorted by.
    pub sort: &'static str,
    /// The direction.
    pub dir: Dir,
}

/// A boundary row and the side of it the page lies on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Cursor {
    /// The sort it was made for.
    s: String,
    /// Its direction.
    d: Dir,
    /// The boundary row's sort value.
    v: Option<SortValue>,
    /// The boundary row's id.
    i: String,
    /// `true`: the rows before the boundary; `false`: the rows after it.
    b: bool,
}

fn invalid(field: &'static str, reason: impl Into<String>) -> ServerError {
    ServerError::Invalid { field, reason: reason.into() }
}

impl PageRequest {
    /// Checks `params` against the list's `columns`; `default` is the sort when none is named.
    pub fn parse<T>(
        params: &ListParams,
        columns: &[SortColumn<T>],
        default: (&'static str, Dir),
    ) -> Result<PageRequest, ServerError> {
        let sort = match params.sort.as_deref().filter(|s| !s.is_empty()) {
            None => default.0,
            Some(name) => {
                columns.iter().find(|c| c.key == name).map(|c| c.key).ok_or_else(|| {
                    let known: Vec<&str> = columns.iter().map(|c| c.key).collect();
                    invalid("sort", format!("no column {name:?}; one of {}", known.join(", ")))
                })?
            }
        };
        let dir = match params.dir.as_deref().filter(|d| !d.is_empty()) {
            None if sort == default.0 => default.1,
            None => Dir::Asc,
            Some("asc") => Dir::Asc,
            Some("desc") => Dir::Desc,
            Some(other) => return Err(invalid("dir", format!("{other:?} is not asc or desc"))),
        };
        let limit = match params.limit.as_deref().filter(|l| !l.is_empty()) {
            None => DEFAULT_LIMIT,
            Some(text) => text
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| invalid("limit", format!("{text:?} is not 1 to {MAX_LIMIT}")))?,
        };
        let cursor = params
            .cursor
            .as_deref()
            .filter(|c| !c.is_empty())
            .map(|text| decode(text, sort, dir))
            .transpose()?;
        Ok(PageRequest { sort, dir, limit, cursor })
    }

    /// Sorts `rows` and cuts the page asked for.
    pub fn page<T>(&self, rows: Vec<T>, columns: &[SortColumn<T>], id: fn(&T) -> &str) -> Page<T> {
        let keyed = self.keyed(rows, columns, id);
        let dir = self.dir;
        let total = keyed.order.len();
        let (start, end) = match &self.cursor {
            None => (0, total.min(self.limit)),
            Some(c) => {
                let boundary = (&c.v, c.i.as_str());
                // The first row after the boundary (or at it, for a page before it).
                let split = keyed.order.partition_point(|(v, at)| {
                    let o = order((v, keyed.id_at(*at)), boundary, dir);
                    if c.b { o == Ordering::Less } else { o != Ordering::Greater }
                });
                if c.b {
                    (split.saturating_sub(self.limit), split)
                } else {
                    (split, split.saturating_add(self.limit).min(total))
                }
            }
        };
        let cursor_at = |index: usize, before: bool| {
            keyed.order.get(index).map(|(v, at)| {
                encode(&Cursor {
                    s: self.sort.to_owned(),
                    d: dir,
                    v: v.clone(),
                    i: keyed.id_at(*at).to_owned(),
                    b: before,
                })
            })
        };
        let next =
            if end < total { end.checked_sub(1).and_then(|i| cursor_at(i, false)) } else { None };
        let prev = if start > 0 { cursor_at(start, true) } else { None };
        let first_row = if start < end { start.saturating_add(1) } else { 0 };
        Page { total, first_row, rows: keyed.take(start, end), next, prev, sort: self.sort, dir }
    }
}

/// Rows and, sorted, their sort values with their places among the rows: the sort moves
/// the small keys, not the rows (a ticket is some 300 bytes, and a list 20,000 of them).
struct Keyed<T> {
    order: Vec<(Option<SortValue>, usize)>,
    rows: Vec<T>,
    id: fn(&T) -> &str,
}

impl<T> Keyed<T> {
    /// The id of the row at `at` among the rows.
    fn id_at(&self, at: usize) -> &str {
        self.rows.get(at).map_or("", self.id)
    }

    /// The rows of the order's `start..end`, in that order; each row moves once.
    fn take(self, start: usize, end: usize) -> Vec<T> {
        let mut slots: Vec<Option<T>> = self.rows.into_iter().map(Some).collect();
        let wanted = self.order.get(start..end).unwrap_or_default();
        wanted.iter().filter_map(|(_, at)| slots.get_mut(*at).and_then(Option::take)).collect()
    }
}

impl PageRequest {
    /// Every row in the request's order, without paging (an export of the whole list).
    pub fn all<T>(&self, rows: Vec<T>, columns: &[SortColumn<T>], id: fn(&T) -> &str) -> Vec<T> {
        let keyed = self.keyed(rows, columns, id);
        let total = keyed.order.len();
        keyed.take(0, total)
    }

    /// The rows with their sort values, in the list's order.
    fn keyed<T>(&self, rows: Vec<T>, columns: &[SortColumn<T>], id: fn(&T) -> &str) -> Keyed<T> {
        let value = columns.iter().find(|c| c.key == self.sort).map(|c| c.value);
        let mut order: Vec<(Option<SortValue>, usize)> =
            rows.iter().enumerate().map(|(at, row)| (value.and_then(|v| v(row)), at)).collect();
        let dir = self.dir;
        let id_of = |at: usize| rows.get(at).map_or("", id);
        order.sort_by(|a, b| self::order((&a.0, id_of(a.1)), (&b.0, id_of(b.1)), dir));
        Keyed { order, rows, id }
    }
}

/// The list's total order: by the sort value (rows without one last), then by id ascending, so
/// rows with equal values keep one order from page to page.
fn order(a: (&Option<SortValue>, &str), b: (&Option<SortValue>, &str), dir: Dir) -> Ordering {
    let by_value = match (a.0, b.0) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => match dir {
            Dir::Asc => x.cmp(y),
            Dir::Desc => y.cmp(x),
        },
    };
    by_value.then_with(|| a.1.cmp(b.1))
}

fn encode(cursor: &Cursor) -> String {
    hex::encode(serde_json::to_vec(cursor).unwrap_or_default())
}

fn decode(text: &str, sort: &str, dir: Dir) -> Result<Cursor, ServerError> {
    let bad = || invalid("cursor", "is not a cursor this list gave out");
    let bytes = hex::decode(text).map_err(|_| bad())?;
    let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if cursor.s != sort || cursor.d != dir {
        return Err(invalid("cursor", "was made for another sort; start from the first page"));
    }
    Ok(cursor)
}

/// A list's shape: the columns it sorts by, its order when none is asked, and its rows' ids.
/// The request is checked before the rows are read, so a bad sort or cursor costs no reading.
pub struct ListSpec<T: 'static> {
    /// The columns `sort=` may name.
    pub columns: &'static [SortColumn<T>],
    /// The sort when none is named.
    pub default: (&'static str, Dir),
    /// A row's id, unique in the list (ties in the sort are broken by it).
    pub id: fn(&T) -> &str,
}

impl<T> ListSpec<T> {
    /// One page of the rows `read` gives, as `params` ask.
    pub fn page(
        &self,
        params: &ListParams,
        read: impl FnOnce() -> Result<Vec<T>, ServerError>,
    ) -> Result<Page<T>, ServerError> {
        let request = PageRequest::parse(params, self.columns, self.default)?;
        Ok(request.page(read()?, self.columns, self.id))
    }

    /// Every row `read` gives, in the order `params` ask (a list's file).
    pub fn sorted(
        &self,
        params: &ListParams,
        read: impl FnOnce() -> Result<Vec<T>, ServerError>,
    ) -> Result<Vec<T>, ServerError> {
        let request = PageRequest::parse(params, self.columns, self.default)?;
        Ok(request.all(read()?, self.columns, self.id))
    }
}

/// A filter's value as the request gave it, trimmed; `None` when absent or blank.
pub fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// A code filter checked against its vocabulary: a value outside `known` is refused naming
/// `field`.
pub fn code(
    value: &Option<String>,
    field: &'static str,
    known: &[&'static str],
) -> Result<Option<&'static str>, ServerError> {
    let Some(v) = given(value) else { return Ok(None) };
    known
        .iter()
        .find(|k| **k == v)
        .copied()
        .map(Some)
        .ok_or_else(|| invalid(field, format!("{v:?} is not one of {}", known.join(", "))))
}

/// A filter between two states: `Some(true)` for `first`, `Some(false)` for `second`, `None`
/// when not given; anything else is refused naming `field`.
pub fn either(
    value: &Option<String>,
    field: &'static str,
    (first, second): (&str, &str),
) -> Result<Option<bool>, ServerError> {
    match given(value) {
        None => Ok(None),
        Some(v) if v == first => Ok(Some(true)),
        Some(v) if v == second => Ok(Some(false)),
        Some(v) => Err(invalid(field, format!("{v:?} is not {first} or {second}"))),
    }
}

/// An amount of money as a sort value: its cents (none beyond what an `i64` holds).
pub fn money_value(amount: rust_decimal::Decimal) -> Option<SortValue> {
    let cents = amount.checked_mul(rust_decimal::Decimal::ONE_HUNDRED)?;
    rust_decimal::prelude::ToPrimitive::to_i64(&cents.trunc()).map(SortValue::Int)
}

/// Whether `haystack` contains `needle`, ignoring ASCII case (Chinese has none).
pub fn contains_folded(haystack: &str, needle: &str) -> bool {
    if needle.is_ascii() && haystack.is_ascii() {
        haystack.to_ascii_lowercase().contains(&needle.to_ascii_lowercase())
    } else {
        haystack.to_lowercase().contains(&needle.to_lowercase())
    }
}

/// A search text as asked: trimmed, `None` when empty, refused past 100 characters.
pub fn search_text(q: Option<&str>) -> Result<Option<String>, ServerError> {
    let Some(q) = q.map(str::trim).filter(|q| !q.is_empty()) else { return Ok(None) };
    if q.chars().count() > 100 {
        return Err(invalid("q", "is longer than 100 characters"));
    }
    Ok(Some(q.to_owned()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use proptest::prelude::*;

    use super::*;

    #[derive(Clone, Debug, PartialEq)]
    struct Row {
        id: String,
        score: Option<i64>,
        name: String,
    }

    const COLUMNS: &[SortColumn<Row>] = &[
        SortColumn { key: "score", value: |r| r.score.map(SortValue::Int) },
        SortColumn { key: "name", value: |r| Some(SortValue::Text(r.name.clone())) },
    ];

    fn id(r: &Row) -> &str {
        &r.id
    }

    fn rows(scores: &[Option<i64>]) -> Vec<Row> {
        scores
            .iter()
            .enumerate()
            .map(|(i, s)| Row { id: format!("r{i:03}"), score: *s, name: format!("n{}", i % 3) })
            .collect()
    }

    fn params(sort: &str, dir: &str, limit: usize, cursor: Option<String>) -> ListParams {
        ListParams {
            sort: Some(sort.into()),
            dir: Some(dir.into()),
            limit: Some(limit.to_string()),
            cursor,
        }
    }

    fn request(p: &ListParams) -> PageRequest {
        PageRequest::parse(p, COLUMNS, ("score", Dir::Desc)).unwrap()
    }

    /// Every row's id, page after page, following `next` from the first page.
    fn forwards(all: &[Row], sort: &str, dir: &str, limit: usize) -> Vec<String> {
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let page = request(&params(sort, dir, limit, cursor)).page(all.to_vec(), COLUMNS, id);
            assert!(page.rows.len() <= limit);
            seen.extend(page.rows.iter().map(|r| r.id.clone()));
            match page.next {
                Some(next) => cursor = Some(next),
                None => return seen,
            }
            assert!(seen.len() <= all.len(), "paging must end");
        }
    }

    #[test]
    fn rows_without_a_value_sort_last_both_ways_and_ties_go_by_id() {
        let all = rows(&[Some(2), None, Some(5), Some(2)]);
        assert_eq!(forwards(&all, "score", "desc", 10), ["r002", "r000", "r003", "r001"]);
        assert_eq!(forwards(&all, "score", "asc", 10), ["r000", "r003", "r002", "r001"]);
    }

    #[test]
    fn a_page_before_a_cursor_is_the_one_that_led_to_it() {
        let all = rows(&(0..10).map(Some).collect::<Vec<_>>());
        let first = request(&params("score", "asc", 3, None)).page(all.clone(), COLUMNS, id);
        let second =
            request(&params("score", "asc", 3, first.next.clone())).page(all.clone(), COLUMNS, id);
        assert_eq!(second.first_row, 4);
        let back = request(&params("score", "asc", 3, second.prev.clone())).page(all, COLUMNS, id);
        assert_eq!(back.rows, first.rows);
        assert_eq!(back.prev, None, "the first page has nothing before it");
        assert_eq!(back.first_row, 1);
        assert_eq!(first.total, 10);
    }

    #[test]
    fn a_row_added_before_the_cursor_does_not_repeat_a_row_on_the_next_page() {
        let mut all = rows(&(0..6).map(Some).collect::<Vec<_>>());
        let first = request(&params("score", "asc", 3, None)).page(all.clone(), COLUMNS, id);
        all.push(Row { id: "new".into(), score: Some(-1), name: "x".into() });
        let second = request(&params("score", "asc", 3, first.next)).page(all, COLUMNS, id);
        let ids: Vec<&str> = second.rows.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["r003", "r004", "r005"]);
    }

    #[test]
    fn bad_sorts_directions_limits_and_cursors_are_refused_by_name() {
        let refused = |p: ListParams| match PageRequest::parse(&p, COLUMNS, ("score", Dir::Desc)) {
            Err(ServerError::Invalid { field, .. }) => field,
            other => panic!("accepted {other:?}"),
        };
        assert_eq!(refused(params("bogus", "asc", 5, None)), "sort");
        assert_eq!(refused(params("name", "up", 5, None)), "dir");
        assert_eq!(refused(params("name", "asc", 0, None)), "limit");
        assert_eq!(refused(params("name", "asc", MAX_LIMIT + 1, None)), "limit");
        assert_eq!(refused(params("name", "asc", 5, Some("zz".into()))), "cursor");
        let all = rows(&[Some(1), Some(2), Some(3)]);
        let made = request(&params("name", "asc", 1, None)).page(all, COLUMNS, id).next;
        assert_eq!(refused(params("score", "asc", 1, made)), "cursor", "another sort's cursor");
    }

    #[test]
    fn searching_ignores_case_and_refuses_a_novel() {
        assert!(contains_folded("Shanghai 宏达", "shang"));
        assert!(contains_folded("上海宏达", "宏达"));
        assert_eq!(search_text(Some("  ")).unwrap(), None);
        assert!(search_text(Some(&"x".repeat(101))).is_err());
    }

    proptest! {
        /// Paging forwards in either direction and any page size yields every row exactly
        /// once, in the order one sort of the whole list gives.
        #[test]
        fn paging_yields_every_row_once_in_order(
            scores in proptest::collection::vec(proptest::option::of(-5i64..5), 0..40),
            limit in 1usize..7,
            desc in any::<bool>(),
            by_name in any::<bool>(),
        ) {
            let all = rows(&scores);
            let (sort, dir) = (if by_name { "name" } else { "score" }, if desc { "desc" } else { "asc" });
            let whole = request(&params(sort, dir, MAX_LIMIT, None)).page(all.clone(), COLUMNS, id);
            let expected: Vec<String> = whole.rows.iter().map(|r| r.id.clone()).collect();
            prop_assert_eq!(forwards(&all, sort, dir, limit), expected);
        }
    }
}

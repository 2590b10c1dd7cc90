//! What every headquarters list page shares: the search form's frame, column headers that
//! sort, the pager (counts, first / previous / next, page size), the export links, and the
//! message a bad filter gets instead of an empty list.
//!
//! A list's address is its path, its filters and its paging; `ListView` rebuilds it with one
//! part changed, so sorting keeps the filters, paging keeps the sort, and the export takes
//! exactly the rows the page shows (every page of them).

use maud::{Markup, html};

use super::i18n::Lang;
use super::layout::url_encode;
use crate::error::ServerError;
use crate::hq::listing::{Dir, ListParams, MAX_LIMIT, Page};

/// Page sizes offered.
const LIMITS: &[usize] = &[25, 50, 100, 200];

/// A list page's address: path, filters (already checked or not: they are only echoed) and
/// sort.
pub struct ListView {
    path: &'static str,
    filters: Vec<(&'static str, String)>,
    sort: Option<String>,
    dir: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
    lang: Lang,
}

impl ListView {
    /// The view of `path` with these filters and paging parameters.
    pub fn new(
        path: &'static str,
        filters: Vec<(&'static str, String)>,
        params: &ListParams,
        lang: Lang,
    ) -> ListView {
        let nonempty = |v: &Option<String>| v.clone().filter(|v| !v.is_empty());
        ListView {
            path,
            filters: filters.into_iter().filter(|(_, v)| !v.is_empty()).collect(),
            sort: nonempty(&params.sort),
            dir: nonempty(&params.dir),
            limit: nonempty(&params.limit),
            cursor: nonempty(&params.cursor),
            lang,
        }
    }

    /// The value the request gave for `field`, a filter or a paging parameter alike.
    fn given(&self, field: &str) -> String {
        let paging = match field {
            "sort" => &self.sort,
            "dir" => &self.dir,
            "limit" => &self.limit,
            "cursor" => &self.cursor,
            other => return self.filter(other).to_owned(),
        };
        paging.clone().unwrap_or_default()
    }

    /// The message this list shows instead of its rows when `error` refused one of its values
    /// (see [`refused_value`]); `None` for any other error.
    pub fn refused(&self, error: &ServerError) -> Option<Markup> {
        refused_value(self.lang, error, |field| self.given(field), self.path)
    }

    /// The value of a filter, for the form's fields.
    pub fn filter(&self, name: &str) -> &str {
        self.filters.iter().find(|(k, _)| *k == name).map_or("", |(_, v)| v.as_str())
    }

    fn query(
        &self,
        sort: Option<(&str, &str)>,
        cursor: Option<&str>,
        limit: Option<&str>,
    ) -> String {
        let mut pairs: Vec<(&str, &str)> =
            self.filters.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (sort, dir) = match sort {
            Some((s, d)) => (Some(s), Some(d)),
            None => (self.sort.as_deref(), self.dir.as_deref()),
        };
        pairs.extend(sort.map(|s| ("sort", s)));
        pairs.extend(dir.map(|d| ("dir", d)));
        pairs.extend(limit.or(self.limit.as_deref()).map(|l| ("limit", l)));
        pairs.extend(cursor.map(|c| ("cursor", c)));
        let joined: Vec<String> =
            pairs.iter().map(|(k, v)| format!("{k}={}", url_encode(v))).collect();
        if joined.is_empty() { String::new() } else { format!("?{}", joined.join("&")) }
    }

    /// This list at another page (`cursor`), same filters and sort.
    pub fn at(&self, cursor: Option<&str>) -> String {
        format!("{}{}", self.path, self.query(None, cursor, None))
    }

    /// Another file of the same rows (`suffix`: `.csv`, `.xlsx`).
    pub fn file(&self, suffix: &str) -> String {
        format!("{}{suffix}{}", self.path, self.query(None, None, None))
    }

    /// A sortable column header: a link that sorts by `key` (ascending first, flipped when it
    /// is the current sort), marked with the current direction.
    pub fn header<T>(
        &self,
        page: Option<&Page<T>>,
        key: &str,
        zh: &'static str,
        en: &'static str,
    ) -> Markup {
        let current = page.filter(|p| p.sort == key).map(|p| p.dir);
        let next = current.map_or(Dir::Asc, Dir::flipped);
        let href = format!("{}{}", self.path, self.query(Some((key, next.as_str())), None, None));
        let mark = match current {
            Some(Dir::Asc) => " ▲",
            Some(Dir::Desc) => " ▼",
            None => "",
        };
        let sorted = current.map(|d| if d == Dir::Asc { "ascending" } else { "descending" });
        html! {
            th aria-sort=[sorted] {
                a .sort href=(href) data-sort=(key) { (self.lang.t(zh, en)) (mark) }
            }
        }
    }

    /// The counts and the links to the first, previous and next pages, with the page sizes:
    /// above the table, with the ids a script or a test finds them by.
    pub fn pager<T>(&self, page: &Page<T>) -> Markup {
        self.pager_at(page, true)
    }

    /// The same pager below the table (no ids: they are the one above's).
    pub fn pager_below<T>(&self, page: &Page<T>) -> Markup {
        self.pager_at(page, false)
    }

    fn pager_at<T>(&self, page: &Page<T>, above: bool) -> Markup {
        let lang = self.lang;
        let id = |name: &'static str| above.then_some(name);
        let last = page.first_row.saturating_add(page.rows.len()).saturating_sub(1);
        html! {
            nav .pager aria-label=(lang.t("翻页", "Pages")) {
                span .count id=[id("list-count")] data-total=(page.total) {
                    @if page.total == 0 { (lang.t("没有符合条件的记录", "Nothing matches")) }
                    @else { (lang.t("第 ", "Rows ")) (page.first_row) "–" (last) (lang.t(" 条，共 ", " of ")) (page.total) (lang.t(" 条", "")) }
                }
                @if page.prev.is_some() {
                    a .page-first id=[id("page-first")] href=(self.at(None)) { (lang.t("« 首页", "« First")) }
                    a .page-prev id=[id("page-prev")] rel="prev" href=(self.at(page.prev.as_deref())) { (lang.t("‹ 上一页", "‹ Previous")) }
                }
                @if let Some(next) = &page.next {
                    a .page-next id=[id("page-next")] rel="next" href=(self.at(Some(next))) { (lang.t("下一页 ›", "Next ›")) }
                }
                span .limits {
                    (lang.t("每页", "Per page"))
                    @for n in LIMITS {
                        @let n = n.to_string();
                        @if self.limit.as_deref().unwrap_or("50") == n { " " strong { (n) } }
                        @else { " " a href={ (self.path) (self.query(None, None, Some(&n))) } { (n) } }
                    }
                }
            }
        }
    }

    /// Links to the whole filtered list as CSV and XLSX.
    pub fn exports(&self) -> Markup {
        let lang = self.lang;
        html! {
            span .exports {
                (lang.t("导出：", "Export: "))
                a #export-csv href=(self.file(".csv")) { "CSV" } " "
                a #export-xlsx href=(self.file(".xlsx")) { "Excel" }
            }
        }
    }

    /// The hidden fields that carry the sort and page size through the search form.
    pub fn kept_fields(&self) -> Markup {
        html! {
            @if let Some(s) = &self.sort { input type="hidden" name="sort" value=(s); }
            @if let Some(d) = &self.dir { input type="hidden" name="dir" value=(d); }
            @if let Some(l) = &self.limit { input type="hidden" name="limit" value=(l); }
        }
    }
}

/// The tiers as (code, label), for a tier filter.
pub fn tier_choices(lang: Lang) -> Vec<(String, String)> {
    kam_core::model::Tier::ALL
        .iter()
        .map(|t| (t.as_str().to_owned(), lang.label(t.as_str())))
        .collect()
}

/// A `<select>` of a filter: "all" first, then each (code, label), the current one chosen.
pub fn select(name: &str, current: &str, all: &str, options: &[(String, String)]) -> Markup {
    html! {
        select name=(name) id={ "filter-" (name) } {
            option value="" selected[current.is_empty()] { (all) }
            @for (code, label) in options {
                option value=(code) selected[current == code] { (label) }
            }
        }
    }
}

/// The message a list shows instead of its rows when a filter or a paging value is refused:
/// which field, the value given, and a way back to the whole list. `None` when `error` is not
/// a refused value (the caller shows the error page).
pub fn refused_value(
    lang: Lang,
    error: &ServerError,
    value_of: impl Fn(&str) -> String,
    clear: &str,
) -> Option<Markup> {
    let ServerError::Invalid { field, .. } = error else { return None };
    let value = value_of(field);
    let label = field_label(lang, field);
    let text = match (*field, lang) {
        ("cursor", _) => lang
            .t("翻页位置已失效（列表或排序已变），请从第一页开始。", "That page position no longer applies (the list or its sort changed); start from the first page.")
            .to_owned(),
        ("limit", Lang::Zh) => format!("每页条数须在 1 到 {MAX_LIMIT} 之间，“{value}”不可用。"),
        ("limit", Lang::En) => format!("Rows per page must be 1 to {MAX_LIMIT}; “{value}” is not."),
        (_, Lang::Zh) => format!("筛选条件“{label}”不能取值“{value}”。"),
        (_, Lang::En) => format!("The filter “{label}” cannot be “{value}”."),
    };
    Some(html! {
        p .error #bad-filter data-field=(field) { (text) " " a href=(clear) { (lang.t("查看全部", "Show all")) } }
    })
}

fn field_label(lang: Lang, field: &str) -> &'static str {
    match field {
        "tier" => lang.t("级别", "tier"),
        "grade" => lang.t("等级", "grade"),
        "rep" => lang.t("客户经理", "rep"),
        "overdue" => lang.t("超期拜访", "overdue visits"),
        "q" => lang.t("搜索", "search"),
        "sort" => lang.t("排序", "sort"),
        "dir" => lang.t("排序方向", "direction"),
        "show" => lang.t("范围", "show"),
        "sla" => lang.t("时效", "SLA"),
        "status" => lang.t("状态", "status"),
        "kind" => lang.t("类型", "kind"),
        "priority" => lang.t("优先级", "priority"),
        "customer" => lang.t("客户", "customer"),
        "opened_from" => lang.t("受理日期起", "opened from"),
        "opened_to" => lang.t("受理日期止", "opened to"),
        _ => lang.t("条件", "filter"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::hq::listing::{PageRequest, SortColumn, SortValue};

    fn view(params: &ListParams) -> ListView {
        ListView::new(
            "/hq/customers",
            vec![("tier", "key".into()), ("q", "宏 达".into()), ("grade", String::new())],
            params,
            Lang::Zh,
        )
    }

    #[test]
    fn links_keep_the_filters_and_change_one_part() {
        let params = ListParams {
            sort: Some("name".into()),
            limit: Some("25".into()),
            ..Default::default()
        };
        let v = view(&params);
        assert_eq!(
            v.at(Some("ab")),
            "/hq/customers?tier=key&q=%E5%AE%8F%20%E8%BE%BE&sort=name&limit=25&cursor=ab"
        );
        assert_eq!(
            v.file(".csv"),
            "/hq/customers.csv?tier=key&q=%E5%AE%8F%20%E8%BE%BE&sort=name&limit=25"
        );
        assert_eq!(v.filter("tier"), "key");
        assert_eq!(v.filter("grade"), "", "an empty filter is dropped");
    }

    #[test]
    fn a_header_flips_the_current_sort_and_starts_another_ascending() {
        const COLUMNS: &[SortColumn<u8>] = &[
            SortColumn { key: "name", value: |n| Some(SortValue::Int(i64::from(*n))) },
            SortColumn { key: "score", value: |n| Some(SortValue::Int(i64::from(*n))) },
        ];
        let params =
            ListParams { sort: Some("name".into()), dir: Some("asc".into()), ..Default::default() };
        let request = PageRequest::parse(&params, COLUMNS, ("name", Dir::Asc)).unwrap();
        let page = request.page(vec![1, 2], COLUMNS, |_| "");
        let v = view(&params);
        let name = v.header(Some(&page), "name", "名称", "Name").into_string();
        assert!(name.contains("sort=name&amp;dir=desc"), "{name}");
        assert!(name.contains("▲") && name.contains("aria-sort=\"ascending\""));
        let score = v.header(Some(&page), "score", "评分", "Score").into_string();
        assert!(score.contains("sort=score&amp;dir=asc") && !score.contains("▲"), "{score}");
    }

    #[test]
    fn a_refused_filter_names_the_field_and_the_value_in_the_readers_language() {
        let error = ServerError::Invalid { field: "tier", reason: "x".into() };
        let zh = refused_value(Lang::Zh, &error, |_| "bogus".into(), "/hq/customers").unwrap();
        assert!(zh.into_string().contains("筛选条件“级别”不能取值“bogus”"));
        let en = refused_value(Lang::En, &error, |_| "bogus".into(), "/hq/customers").unwrap();
        assert!(en.into_string().contains("The filter “tier” cannot be “bogus”"));
        assert!(refused_value(Lang::Zh, &ServerError::NotFound, |_| String::new(), "/").is_none());
    }
}

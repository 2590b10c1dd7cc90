//! The page chrome every dashboard page shares: navigation, the language switch, sign-out,
//! and small formatting helpers.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use maud::{DOCTYPE, Markup, html};

use super::assets;
use super::i18n::Lang;
use super::session::WebUser;

/// The navigation: (path, zh, en).
const NAV: &[(&str, &str, &str)] = &[
    ("/hq", "总览", "Overview"),
    ("/hq/customers", "客户", "Customers"),
    ("/hq/regrades", "分级调整", "Re-grades"),
    ("/hq/visits", "拜访达标", "Visit compliance"),
    ("/hq/tickets", "工单时效", "Ticket SLA"),
    ("/hq/pipeline", "客户开发", "Pipeline"),
    ("/hq/plans", "客户计划", "Account plans"),
    ("/hq/surveys", "满意度", "Surveys"),
    ("/hq/scorecards", "绩效考核", "Scorecards"),
    ("/hq/meetings", "月度例会", "Monthly review"),
    ("/hq/organisations", "委建单位", "Organisations"),
    ("/hq/review", "冲突与违规", "Conflicts & violations"),
    ("/hq/events", "选房", "Selection events"),
    ("/hq/devices", "设备", "Devices"),
    ("/hq/reports", "报表", "Reports"),
    ("/hq/charts", "图表", "Charts"),
    ("/hq/admin/users", "管理", "Admin"),
];

/// Where a page was asked for: its path and query, as the request spelled them.
#[derive(Clone, Debug)]
pub struct Here(String);

impl Here {
    /// From a path with an optional query.
    pub fn new(path_and_query: impl Into<String>) -> Here {
        Here(path_and_query.into())
    }

    /// The path alone, for the active navigation link.
    pub fn path(&self) -> &str {
        self.0.split_once('?').map_or(self.0.as_str(), |(path, _)| path)
    }

    /// Where the language switch comes back to: this page with its filters, but without a
    /// flash message (`done`), which was written in the other language.
    pub fn back(&self) -> String {
        let Some((path, query)) = self.0.split_once('?') else { return self.0.clone() };
        let kept: Vec<&str> = query
            .split('&')
            .filter(|pair| !pair.is_empty() && *pair != "done" && !pair.starts_with("done="))
            .collect();
        if kept.is_empty() { path.to_owned() } else { format!("{path}?{}", kept.join("&")) }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Here {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Here, Infallible> {
        let uri = &parts.uri;
        Ok(Here(uri.path_and_query().map_or_else(|| uri.path().to_owned(), |pq| pq.to_string())))
    }
}

/// A whole dashboard page for a signed-in user. `here` is the page's own address, for the
/// active link and for coming back (filters included) after a language switch.
pub fn page(user: &WebUser, here: &Here, title: &str, body: Markup) -> Markup {
    let lang = user.lang;
    let who = html! {
        span { (user.user_id) " · " (lang.label(user.role.as_str())) }
        (logout_form(lang, &user.csrf))
    };
    // Every time on a page is on the business clock; the footer names its zone once.
    let zone = html! {
        footer #clock { (lang.t("本页时间均为 ", "Times on this page are in ")) (user.clock.label()) }
    };
    document(
        lang,
        title,
        html! { (header(lang, here.path(), &here.back(), who)) main { (body) } (zone) },
    )
}

/// A page with the navigation for a reader who may not be signed in (error pages, refusals):
/// the same links, the language switch (back to the overview, the page's own address being
/// unknown here) and a sign-in link, or the sign-out form when a session's `csrf` is known.
pub fn public(lang: Lang, title: &str, csrf: Option<&str>, body: Markup) -> Markup {
    let who = match csrf {
        Some(csrf) => logout_form(lang, csrf),
        None => html! { a #sign-in href="/login" { (lang.t("登录", "Sign in")) } },
    };
    document(lang, title, html! { (header(lang, "", "/hq", who)) main { (body) } })
}

fn header(lang: Lang, active: &str, back: &str, who: Markup) -> Markup {
    html! {
        header {
            strong { "KAM" }
            nav {
                @for (href, zh, en) in NAV {
                    a href=(href) class=[(is_active(active, href)).then_some("active")] { (lang.t(zh, en)) } " "
                }
            }
            span .who {
                a #lang-zh href={ "/lang/zh?back=" (url_encode(back)) } { "中文" }
                a #lang-en href={ "/lang/en?back=" (url_encode(back)) } { "English" }
                (who)
            }
        }
    }
}

/// The sign-out form, with the session's CSRF token (`POST /logout` checks it).
pub fn logout_form(lang: Lang, csrf: &str) -> Markup {
    html! {
        form #logout method="post" action="/logout" {
            input type="hidden" name="csrf" value=(csrf);
            button type="submit" { (lang.t("退出", "Sign out")) }
        }
    }
}

fn is_active(path: &str, href: &str) -> bool {
    if href == "/hq" { path == "/hq" } else { path.starts_with(href) }
}

/// A page without navigation (sign-in).
pub fn bare(lang: Lang, title: &str, body: Markup) -> Markup {
    document(lang, title, html! { main { (body) } })
}

fn document(lang: Lang, title: &str, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.html_lang()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · KAM" }
                // No favicon: an empty data URL spares a 404 per page.
                link rel="icon" href="data:,";
                link rel="stylesheet" href=(assets::css_href());
            }
            body { (content) }
        }
    }
}

/// A flash message after a form's redirect, if any.
pub fn flash(message: Option<&str>) -> Markup {
    html! { @if let Some(m) = message.filter(|m| !m.is_empty()) { p .flash { (m) } } }
}

/// A hidden CSRF field for a form.
pub fn csrf_field(user: &WebUser) -> Markup {
    html! { input type="hidden" name="csrf" value=(user.csrf); }
}

/// Percent-encodes a query value (everything but unreserved characters).
pub fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(byte as char)
            }
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// Money for display: thousands separators, two places, from the exact decimal text.
pub fn money(text: &str) -> String {
    let Ok(value) = text.parse::<rust_decimal::Decimal>() else { return text.to_owned() };
    let rounded = value.round_dp(2);
    let fixed = format!("{rounded:.2}");
    let (sign, digits) = fixed.strip_prefix('-').map_or(("", fixed.as_str()), |d| ("-", d));
    let (int, frac) = digits.split_once('.').unwrap_or((digits, "00"));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}{grouped}.{frac}")
}

/// The business time zone every page shows its times in: the policy's UTC offset. People
/// read times off a wall clock at a venue or in an office in that zone, and the visits page
/// counts its days there; a time is never shown in UTC unmarked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Clock {
    offset_minutes: i32,
}

impl Clock {
    /// The clock of `policy`.
    pub fn of(policy: &kam_core::Policy) -> Clock {
        Clock { offset_minutes: policy.business_utc_offset_minutes }
    }

    /// An RFC 3339 instant on this clock, shortened for tables (`2026-11-23 16:15`);
    /// unreadable text is shown as it is.
    pub fn local(self, text: &str) -> String {
        let offset = chrono::FixedOffset::east_opt(self.offset_minutes.saturating_mul(60));
        match (chrono::DateTime::parse_from_rfc3339(text), offset) {
            (Ok(at), Some(zone)) => at.with_timezone(&zone).format("%Y-%m-%d %H:%M").to_string(),
            _ => text.to_owned(),
        }
    }

    /// The zone as people read it on a page: `UTC+08:00`.
    pub fn label(self) -> String {
        let sign = if self.offset_minutes < 0 { '-' } else { '+' };
        let abs = self.offset_minutes.unsigned_abs();
        format!("UTC{sign}{:02}:{:02}", abs / 60, abs % 60)
    }

    /// An instant with the zone named: `2026-11-23 16:15 (UTC+08:00)`; unreadable text is
    /// shown as it is, with no zone it was never in.
    pub fn zoned(self, text: &str) -> String {
        let local = self.local(text);
        if local == text { local } else { format!("{local} ({})", self.label()) }
    }
}

/// An RFC 3339 instant in the business time zone of `policy` (`2026-11-23 16:15`).
pub fn local_when(policy: &kam_core::Policy, text: &str) -> String {
    Clock::of(policy).local(text)
}

/// The policy's time zone as people read it on a page: `UTC+08:00`.
pub fn zone_label(policy: &kam_core::Policy) -> String {
    Clock::of(policy).label()
}

/// An instant in the policy's time zone with the zone named: `2026-11-23 16:15 (UTC+08:00)`.
pub fn zoned(policy: &kam_core::Policy, text: &str) -> String {
    Clock::of(policy).zoned(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_grouped_and_exact() {
        assert_eq!(money("12500000.5"), "12,500,000.50");
        assert_eq!(money("-1234.005"), "-1,234.00");
        assert_eq!(money("999"), "999.00");
        assert_eq!(money("abc"), "abc");
    }

    #[test]
    fn the_way_back_keeps_the_filters_but_not_the_flash_message() {
        let here = Here::new("/hq/customers?tier=key&done=%E5%B7%B2&grade=A");
        assert_eq!(here.path(), "/hq/customers");
        assert_eq!(here.back(), "/hq/customers?tier=key&grade=A");
        assert_eq!(Here::new("/hq/regrades?done=x").back(), "/hq/regrades");
        assert_eq!(Here::new("/hq").back(), "/hq");
    }

    #[test]
    fn times_are_shown_on_the_business_clock_with_its_zone() {
        let beijing = Clock { offset_minutes: 480 };
        assert_eq!(beijing.local("2026-11-23T08:15:00Z"), "2026-11-23 16:15");
        assert_eq!(beijing.zoned("2026-11-23T20:00:00+00:00"), "2026-11-24 04:00 (UTC+08:00)");
        assert_eq!(Clock { offset_minutes: -330 }.label(), "UTC-05:30");
        assert_eq!(beijing.local("yesterday"), "yesterday", "unreadable text as it is");
        assert_eq!(beijing.zoned("yesterday"), "yesterday");
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(
            url_encode("/hq/customers?tier=key&x=中"),
            "/hq/customers%3Ftier%3Dkey%26x%3D%E4%B8%AD"
        );
    }
}

//! The page chrome every dashboard page shares: navigation, the language switch, sign-out,
//! and small formatting helpers.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::i18n::Lang;
use super::session::WebUser;

const STYLE: &str = "
body{font-family:system-ui,'PingFang SC','Noto Sans CJK SC','Microsoft YaHei',sans-serif;margin:0;color:#1f2933;background:#f5f7fa}
header{background:#1f3a5f;color:#fff;padding:.5rem 1rem;display:flex;gap:1rem;align-items:center;flex-wrap:wrap}
header a{color:#dbe7f5;text-decoration:none}header a.active{color:#fff;font-weight:600;border-bottom:2px solid #fff}
header .who{margin-left:auto;display:flex;gap:.75rem;align-items:center}
header form{display:inline}header button{background:none;border:1px solid #dbe7f5;color:#fff;border-radius:3px;cursor:pointer}
main{padding:1rem 1.5rem}h1{font-size:1.4rem;margin:.2rem 0 1rem}
table{border-collapse:collapse;background:#fff;margin-bottom:1.5rem;min-width:40%}
th,td{border:1px solid #d9e2ec;padding:.3rem .6rem;text-align:left;font-size:.9rem;vertical-align:top}
th{background:#e4ebf5}td.num{text-align:right;font-variant-numeric:tabular-nums}
.cards{display:flex;gap:1rem;flex-wrap:wrap;margin-bottom:1rem}.cards a{color:inherit;text-decoration:none}
.card{background:#fff;border:1px solid #d9e2ec;border-radius:6px;padding:.75rem 1rem;min-width:9rem}
.card .n{font-size:1.6rem;font-weight:600}.flash{background:#e3f9e5;border:1px solid #8ed39a;padding:.5rem;margin-bottom:1rem}
.error{color:#b42318}.overdue,.breached{color:#b42318;font-weight:600}.due_soon{color:#b54708}
td.unit{width:5.5rem;text-align:center;font-size:.8rem;transition:background .3s}
td.unit[data-status=available]{background:#e3f9e5}td.unit[data-status=held]{background:#fef0c7}
td.unit[data-status=sold]{background:#fda29b}td.unit[data-status=withdrawn]{background:#d0d5dd}
.filters a{margin-right:.6rem}.muted{color:#667085}
";

/// The navigation: (path, zh, en).
const NAV: &[(&str, &str, &str)] = &[
    ("/hq", "总览", "Overview"),
    ("/hq/customers", "客户", "Customers"),
    ("/hq/regrades", "分级调整", "Re-grades"),
    ("/hq/visits", "拜访达标", "Visit compliance"),
    ("/hq/tickets", "工单时效", "Ticket SLA"),
    ("/hq/review", "冲突与违规", "Conflicts & violations"),
    ("/hq/devices", "设备", "Devices"),
    ("/hq/reports", "报表", "Reports"),
];

/// A whole dashboard page for a signed-in user. `path` is the page's own path, for the
/// active link and for coming back after a language switch.
pub fn page(user: &WebUser, path: &str, title: &str, body: Markup) -> Markup {
    let lang = user.lang;
    document(
        lang,
        title,
        html! {
            header {
                strong { "KAM" }
                nav {
                    @for (href, zh, en) in NAV {
                        a href=(href) class=[(is_active(path, href)).then_some("active")] { (lang.t(zh, en)) } " "
                    }
                }
                span .who {
                    a #lang-zh href={ "/lang/zh?back=" (url_encode(path)) } { "中文" }
                    a #lang-en href={ "/lang/en?back=" (url_encode(path)) } { "English" }
                    span { (user.user_id) " · " (lang.label(user.role.as_str())) }
                    form #logout method="post" action="/logout" {
                        input type="hidden" name="csrf" value=(user.csrf);
                        button type="submit" { (lang.t("退出", "Sign out")) }
                    }
                }
            }
            main { (body) }
        },
    )
}

fn is_active(path: &str, href: &str) -> bool {
    if href == "/hq" { path == "/hq" } else { path.starts_with(href) }
}

/// A page without navigation (sign-in, errors).
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
                style { (PreEscaped(STYLE)) }
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

/// An RFC 3339 instant shortened for tables (`2026-11-23 08:15`, UTC).
pub fn when(text: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&chrono::Utc).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|_| text.to_owned())
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
    fn query_values_are_encoded() {
        assert_eq!(
            url_encode("/hq/customers?tier=key&x=中"),
            "/hq/customers%3Ftier%3Dkey%26x%3D%E4%B8%AD"
        );
    }
}

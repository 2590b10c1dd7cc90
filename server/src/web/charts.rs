//! Charts drawn on the server as SVG (no script, no style attribute: the CSP allows neither),
//! and the charts page `/hq/charts`. Every mark is a link to the list of the rows it counts,
//! carries a `<title>` for hover and its value as text; each chart is an image with an
//! accessible name. Colours are presentation attributes.
//!
//! Two shapes draw everything: horizontal bars ([`hbars`]) and columns ([`columns`]), both
//! stacking their marks, columns with an optional target mark. The `*_chart` functions turn
//! `hq::charts`' series into them and are what other pages embed (the overview's tier and
//! grade chart, a rep page's monthly visits).

use axum::extract::State;
use chrono::Utc;
use maud::{Markup, html};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::error::PageError;
use super::i18n::Lang;
use super::layout::{Here, page, url_encode};
use super::session::WebUser;
use crate::hq::charts::{self, SalesMonth, SlaWeek, TierRow, VisitMonth, VisitRep};
use crate::http::AppState;

/// Width of every chart's drawing, in SVG units (it scales to its box).
const WIDTH: f64 = 720.0;

/// One stacked part of a bar: its value, the link to its rows, its hover text and colour.
#[derive(Clone, Debug)]
pub struct Mark {
    /// The value drawn (its length is proportional to it).
    pub value: f64,
    /// Where its rows are listed.
    pub href: String,
    /// Hover text (`<title>`).
    pub title: String,
    /// Fill colour.
    pub fill: &'static str,
}

/// One bar (a row of [`hbars`], a column of [`columns`]): its label, stacked marks, the text
/// written beside it, and for columns an optional target mark.
#[derive(Clone, Debug)]
pub struct Bar {
    /// The label on the axis.
    pub label: String,
    /// The marks, stacked from the axis.
    pub marks: Vec<Mark>,
    /// The value written at its end.
    pub text: String,
    /// A target drawn across the column, linked and titled (columns only).
    pub target: Option<Mark>,
}

/// A chart: its accessible name, bars, legend and scale.
#[derive(Clone, Debug)]
pub struct Chart {
    /// The element id.
    pub id: &'static str,
    /// The accessible name (`aria-label`, and the image's `<title>`).
    pub label: String,
    /// The bars.
    pub bars: Vec<Bar>,
    /// Legend entries: (colour, text).
    pub legend: Vec<(&'static str, String)>,
    /// A fixed top of the scale (100 for percentages), or the largest bar or target.
    pub max: Option<f64>,
    /// How the scale's ticks are written.
    pub tick: fn(f64) -> String,
}

impl Chart {
    /// The top of the scale: fixed, or the largest stack or target; 0 when all are 0.
    fn top(&self) -> f64 {
        self.max.unwrap_or_else(|| {
            self.bars
                .iter()
                .flat_map(|b| {
                    let stack: f64 = b.marks.iter().map(|m| m.value.max(0.0)).sum();
                    [stack, b.target.as_ref().map_or(0.0, |t| t.value)]
                })
                .fold(0.0, f64::max)
        })
    }
}

/// `value` as a share of `top` times `length`; 0 when the scale is empty (no division by 0).
pub fn scaled(value: f64, top: f64, length: f64) -> f64 {
    if top > 0.0 && value.is_finite() { (value.max(0.0) / top).min(1.0) * length } else { 0.0 }
}

/// A coordinate with one decimal.
fn n(x: f64) -> String {
    format!("{x:.1}")
}

/// A whole count for a scale's ticks.
pub fn count_tick(v: f64) -> String {
    format!("{v:.0}")
}

/// A percentage for a scale's ticks.
pub fn percent_tick(v: f64) -> String {
    format!("{v:.0}%")
}

/// Money in ten thousands (万) for a scale's ticks.
pub fn wan_tick(v: f64) -> String {
    format!("{:.0}", v / 10_000.0)
}

fn legend(items: &[(&'static str, String)], y: f64) -> Markup {
    html! {
        @for (i, (fill, text)) in items.iter().enumerate() {
            @let x = 10.0 + 150.0 * i as f64;
            rect x=(n(x)) y=(n(y - 9.0)) width="10" height="10" fill=(fill) {}
            text x=(n(x + 14.0)) y=(n(y)) font-size="11" { (text) }
        }
    }
}

/// The image wrapper every chart shares.
fn frame(chart: &Chart, height: f64, body: Markup) -> Markup {
    html! {
        figure .chart id=(chart.id) {
            svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label=(chart.label)
                viewBox={ "0 0 " (n(WIDTH)) " " (n(height)) } width="100%"
                font-family="system-ui, sans-serif" {
                title { (chart.label) }
                (body)
            }
        }
    }
}

/// The marks with a value, each with its offset from the axis and its length, and where the
/// stack ends.
fn stack(marks: &[Mark], top: f64, length: f64) -> (Vec<(&Mark, f64, f64)>, f64) {
    let mut end = 0.0;
    let mut placed = Vec::new();
    for mark in marks.iter().filter(|m| m.value > 0.0) {
        let l = scaled(mark.value, top, length);
        placed.push((mark, end, l));
        end += l;
    }
    (placed, end)
}

fn mark_link(mark: &Mark, x: f64, y: f64, w: f64, h: f64) -> Markup {
    html! {
        a href=(mark.href) {
            rect x=(n(x)) y=(n(y)) width=(n(w)) height=(n(h)) fill=(mark.fill) {
                title { (mark.title) }
            }
        }
    }
}

/// Horizontal stacked bars, one row per bar, labels on the left, values on the right.
pub fn hbars(chart: &Chart) -> Markup {
    let (left, right, row, top_pad) = (150.0, 90.0, 26.0, 28.0);
    let length = WIDTH - left - right;
    let top = chart.top();
    let rows = chart.bars.len() as f64;
    let height = top_pad + row * rows.max(1.0) + 24.0;
    let axis_y = top_pad + row * rows.max(1.0);
    let body = html! {
        (legend(&chart.legend, 14.0))
        @for (i, bar) in chart.bars.iter().enumerate() {
            @let y = top_pad + row * i as f64;
            text x=(n(left - 6.0)) y=(n(y + 15.0)) text-anchor="end" font-size="12" { (bar.label) }
            @let (placed, end) = stack(&bar.marks, top, length);
            @for (mark, offset, w) in &placed {
                (mark_link(mark, left + offset, y + 3.0, *w, row - 8.0))
            }
            text x=(n(left + end + 5.0)) y=(n(y + 15.0)) font-size="12" { (bar.text) }
        }
        line x1=(n(left)) y1=(n(axis_y)) x2=(n(left + length)) y2=(n(axis_y)) stroke="#9aa5b1" {}
        @for step in [0.0, 0.5, 1.0] {
            text x=(n(left + length * step)) y=(n(axis_y + 14.0)) text-anchor="middle" font-size="10" fill="#52606d" { ((chart.tick)(top * step)) }
        }
        @if chart.bars.is_empty() { text x=(n(left)) y=(n(top_pad + 15.0)) font-size="12" fill="#52606d" { "—" } }
    };
    frame(chart, height, body)
}

/// Columns, stacked from the axis, each with its value above and an optional target mark.
pub fn columns(chart: &Chart) -> Markup {
    let (left, right, top_pad, bottom, plot) = (56.0, 10.0, 36.0, 34.0, 190.0);
    let height = top_pad + plot + bottom;
    let axis_y = top_pad + plot;
    let band = (WIDTH - left - right) / (chart.bars.len().max(1) as f64);
    let width = band * 0.62;
    let top = chart.top();
    let body = html! {
        (legend(&chart.legend, 14.0))
        @for step in [0.0, 0.5, 1.0] {
            @let y = axis_y - plot * step;
            line x1=(n(left)) y1=(n(y)) x2=(n(WIDTH - right)) y2=(n(y)) stroke="#d9e2ec" {}
            text x=(n(left - 6.0)) y=(n(y + 4.0)) text-anchor="end" font-size="10" fill="#52606d" { ((chart.tick)(top * step)) }
        }
        @for (i, bar) in chart.bars.iter().enumerate() {
            @let x = left + band * i as f64 + (band - width) / 2.0;
            @let (placed, end) = stack(&bar.marks, top, plot);
            @for (mark, offset, h) in &placed {
                (mark_link(mark, x, axis_y - offset - h, width, *h))
            }
            @let y = axis_y - end;
            @if let Some(target) = &bar.target {
                @let ty = axis_y - scaled(target.value, top, plot);
                a href=(target.href) {
                    line x1=(n(x - 3.0)) y1=(n(ty)) x2=(n(x + width + 3.0)) y2=(n(ty)) stroke=(target.fill) stroke-width="3" {
                        title { (target.title) }
                    }
                }
            }
            text x=(n(x + width / 2.0)) y=(n(y - 4.0)) text-anchor="middle" font-size="10" { (bar.text) }
            text x=(n(x + width / 2.0)) y=(n(axis_y + 14.0)) text-anchor="middle" font-size="10" fill="#52606d" { (bar.label) }
        }
        line x1=(n(left)) y1=(n(axis_y)) x2=(n(WIDTH - right)) y2=(n(axis_y)) stroke="#9aa5b1" {}
    };
    frame(chart, height, body)
}

const GRADE_FILLS: [&str; 5] = ["#1f6f43", "#3c9a5f", "#8cc084", "#e0b341", "#b8c2cc"];
const GREEN: &str = "#3c9a5f";
const RED: &str = "#c4322b";
const ORANGE: &str = "#e07b24";
const BLUE: &str = "#2f6fb0";
const INK: &str = "#1f2933";

fn grade_label(lang: Lang, grade: &str) -> String {
    match grade {
        "none" => lang.t("未评级", "Ungraded").to_owned(),
        g => format!("{g}{}", lang.t("级", "")),
    }
}

/// Customers per tier (a row each), stacked by grade; each part links to the customer list
/// filtered by that tier and grade.
pub fn tier_grade_chart(lang: Lang, rows: &[TierRow]) -> Markup {
    let legend = charts::GRADES
        .iter()
        .zip(GRADE_FILLS)
        .map(|(g, fill)| (fill, grade_label(lang, g)))
        .collect();
    let bars = rows
        .iter()
        .map(|row| {
            let tier = lang.label(&row.tier);
            let marks = row
                .grades
                .iter()
                .zip(GRADE_FILLS)
                .map(|((grade, customers), fill)| Mark {
                    value: *customers as f64,
                    href: format!(
                        "/hq/customers?tier={}&grade={}",
                        url_encode(&row.tier),
                        url_encode(grade)
                    ),
                    title: format!("{tier} · {}: {customers}", grade_label(lang, grade)),
                    fill,
                })
                .collect();
            Bar { label: tier, marks, text: row.total.to_string(), target: None }
        })
        .collect();
    hbars(&Chart {
        id: "chart-tier-grade",
        label: lang.t("客户分级分布（按级别与等级）", "Customers by tier and grade").to_owned(),
        bars,
        legend,
        max: None,
        tick: count_tick,
    })
}

fn percent_value(text: Option<&str>) -> f64 {
    text.and_then(|p| p.parse::<f64>().ok()).unwrap_or(0.0)
}

/// Visit compliance per month (the share of the cadence's entries made), each column linking
/// to the month's entries on the visits page, of `rep`'s customers when one is given.
pub fn visits_by_month_chart(lang: Lang, months: &[VisitMonth], rep: Option<&str>) -> Markup {
    let rep_query = rep.map(|r| format!("&rep={}", url_encode(r))).unwrap_or_default();
    let bars = months
        .iter()
        .map(|m| {
            let percent = m.percent.clone().map_or_else(|| "—".to_owned(), |p| format!("{p}%"));
            let title = format!(
                "{} · {} {}/{} {} · {percent}",
                m.month,
                lang.t("按期完成", "made"),
                m.made,
                m.due,
                lang.t("应拜访", "due")
            );
            Bar {
                label: m.month.to_string(),
                marks: vec![Mark {
                    value: percent_value(m.percent.as_deref()),
                    href: format!("/hq/visits?month={}{rep_query}", m.month),
                    title,
                    fill: GREEN,
                }],
                text: percent,
                target: None,
            }
        })
        .collect();
    columns(&Chart {
        id: if rep.is_some() { "chart-rep-visits-by-month" } else { "chart-visits-by-month" },
        label: lang
            .t("月度拜访达标率（近12个月）", "Visit compliance by month (last 12 months)")
            .to_owned(),
        bars,
        legend: vec![(
            GREEN,
            lang.t("应拜访中按期完成的比例", "Share of due visits made").to_owned(),
        )],
        max: Some(100.0),
        tick: percent_tick,
    })
}

/// Visit compliance by rep today: on-schedule and overdue entries stacked, linking to the
/// rep's rows on the visits page.
pub fn visits_by_rep_chart(lang: Lang, reps: &[VisitRep]) -> Markup {
    let bars = reps
        .iter()
        .map(|r| {
            let href = format!("/hq/visits?rep={}", url_encode(&r.rep));
            let on_time = r.required.saturating_sub(r.overdue);
            let percent = r.on_schedule_percent.clone().unwrap_or_else(|| "—".into());
            Bar {
                label: r.name.clone(),
                marks: vec![
                    Mark {
                        value: on_time as f64,
                        href: href.clone(),
                        title: format!("{} · {}: {on_time}", r.name, lang.t("按期", "on schedule")),
                        fill: GREEN,
                    },
                    Mark {
                        value: r.overdue as f64,
                        href,
                        title: format!("{} · {}: {}", r.name, lang.t("超期", "overdue"), r.overdue),
                        fill: RED,
                    },
                ],
                text: format!("{percent}%"),
                target: None,
            }
        })
        .collect();
    hbars(&Chart {
        id: "chart-visits-by-rep",
        label: lang.t("各客户经理拜访达标（今日）", "Visit compliance by rep (today)").to_owned(),
        bars,
        legend: vec![
            (GREEN, lang.t("按期", "On schedule").to_owned()),
            (RED, lang.t("超期", "Overdue").to_owned()),
        ],
        max: None,
        tick: count_tick,
    })
}

/// SLA breaches per week: late replies and unanswered past due, stacked, each linking to the
/// week's tickets in that SLA state.
pub fn sla_by_week_chart(lang: Lang, weeks: &[SlaWeek]) -> Markup {
    let bars = weeks
        .iter()
        .map(|w| {
            let rows = |sla: &str| {
                format!("/hq/tickets?show=all&sla={sla}&opened_from={}&opened_to={}", w.from, w.to)
            };
            let week = format!("{} – {}", w.from, w.to);
            Bar {
                label: w.from.format("%m-%d").to_string(),
                marks: vec![
                    Mark {
                        value: w.breached as f64,
                        href: rows("breached"),
                        title: format!(
                            "{week} · {}: {} / {}",
                            lang.t("超时回复", "replied late"),
                            w.breached,
                            w.opened
                        ),
                        fill: ORANGE,
                    },
                    Mark {
                        value: w.overdue as f64,
                        href: rows("overdue"),
                        title: format!(
                            "{week} · {}: {} / {}",
                            lang.t("超时未回复", "unanswered past due"),
                            w.overdue,
                            w.opened
                        ),
                        fill: RED,
                    },
                ],
                text: w.breached.saturating_add(w.overdue).to_string(),
                target: None,
            }
        })
        .collect();
    columns(&Chart {
        id: "chart-sla-by-week",
        label: lang
            .t(
                "每周工单回复超时（近12周，按开单周）",
                "Reply SLA breaches by week opened (last 12 weeks)",
            )
            .to_owned(),
        bars,
        legend: vec![
            (ORANGE, lang.t("超时回复", "Replied late").to_owned()),
            (RED, lang.t("超时未回复", "Unanswered past due").to_owned()),
        ],
        max: None,
        tick: count_tick,
    })
}

/// Money for a chart's label: 万 in Chinese, thousands in English, no decimals.
pub fn short_money(lang: Lang, amount: Decimal) -> String {
    let value = amount.to_f64().unwrap_or(0.0);
    match lang {
        Lang::Zh => format!("{:.0}万", value / 10_000.0),
        Lang::En => format!("{:.0}k", value / 1_000.0),
    }
}

/// Sales per month against the month's target: a column each, linking to the month's key-
/// account report, and the target a line linking to the month's scorecards.
pub fn sales_by_month_chart(lang: Lang, months: &[SalesMonth]) -> Markup {
    let bars = months
        .iter()
        .map(|m| {
            let target = m.target.map(|t| Mark {
                value: t.to_f64().unwrap_or(0.0),
                href: format!("/hq/scorecards?period={}", m.month),
                title: format!(
                    "{} · {} {} ({} {})",
                    m.month,
                    lang.t("目标", "target"),
                    super::layout::money(&t.to_string()),
                    m.scorecards,
                    lang.t("张考核表", "scorecards")
                ),
                fill: INK,
            });
            let attainment =
                m.attainment_percent.as_ref().map(|p| format!(" · {p}%")).unwrap_or_default();
            Bar {
                label: m.month.to_string(),
                marks: vec![Mark {
                    value: m.sales.to_f64().unwrap_or(0.0),
                    href: format!("/hq/reports?month={}", m.month),
                    title: format!(
                        "{} · {} {}{attainment}",
                        m.month,
                        lang.t("销售额", "sales"),
                        super::layout::money(&m.sales.to_string())
                    ),
                    fill: BLUE,
                }],
                text: short_money(lang, m.sales),
                target,
            }
        })
        .collect();
    columns(&Chart {
        id: "chart-sales-by-month",
        label: lang
            .t(
                "月度销售额与目标（近12个月，万元）",
                "Sales against target by month (last 12 months, 10k CNY)",
            )
            .to_owned(),
        bars,
        legend: vec![
            (BLUE, lang.t("销售额", "Sales").to_owned()),
            (INK, lang.t("目标（考核表合计）", "Target (sum of scorecards)").to_owned()),
        ],
        max: None,
        tick: wan_tick,
    })
}

/// `GET /hq/charts`.
pub async fn charts_page(
    State(state): State<AppState>,
    user: WebUser,
    here: Here,
) -> Result<Markup, PageError> {
    let lang = user.lang;
    let c = user
        .hq_read(&state, |store| charts::charts(store.conn(), store.policy(), Utc::now()))
        .await?;
    Ok(page(
        &user,
        &here,
        lang.t("图表", "Charts"),
        html! {
            h1 { (lang.t("图表", "Charts")) " · " (c.today) }
            p .muted { (lang.t("点击图中任一部分可查看其明细。", "Click any part of a chart to see the rows behind it.")) }
            h2 { (lang.t("客户分级分布", "Customers by tier and grade")) }
            p .muted { (lang.t("每家客户按当前核定的级别与等级计一次。", "Each customer counted once by its approved tier and grade.")) }
            (tier_grade_chart(lang, &c.tier_grade))
            h2 { (lang.t("拜访达标率（按月）", "Visit compliance by month")) }
            p .muted { (lang.t(
                "每月应拜访：按拜访机制，月初时已到期或在本月（本月截至今日）到期的拜访，含此前超期未补的；按期完成：本月内有一次计入该项的拜访。与绩效考核的拜访指标相同，按客户计一次。",
                "Due each month: the visits the cadence called for by the month's end (today in the current month) as it stood at the month's start, including those still owed; made: a visit that counts for it within the month. The staff scorecards' visit measure, each customer once.")) }
            (visits_by_month_chart(lang, &c.visits_by_month, None))
            h2 { (lang.t("拜访达标（按客户经理）", "Visit compliance by rep")) }
            p .muted { (lang.t("今日各客户经理所负责客户的拜访项：按期与超期。", "Today, the cadence entries of each rep's customers: on schedule and overdue.")) }
            (visits_by_rep_chart(lang, &c.visits_by_rep))
            h2 { (lang.t("工单回复超时（按周）", "Reply SLA breaches by week")) }
            p .muted { (lang.t(
                "按开单所在周（周一至周日，业务时区）计：首次回复晚于时限的，以及至今未回复且已过时限的。",
                "By the week a ticket was opened (Monday to Sunday, business time zone): first replies after the deadline, and tickets still unanswered past it.")) }
            (sla_by_week_chart(lang, &c.sla_by_week))
            h2 { (lang.t("销售额与目标（按月）", "Sales against target by month")) }
            p .muted { (lang.t(
                "销售额：ERP销售台账当月全部客户的金额；目标：当月各员工绩效考核表的销售目标之和（无考核表的月份无目标）。",
                "Sales: every customer's amount in the ERP sales ledger for the month; target: the sum of the month's staff scorecard sales targets (none in a month without scorecards).")) }
            (sales_by_month_chart(lang, &c.sales_by_month))
        },
    ))
}

#[cfg(test)]
#[path = "charts_tests.rs"]
mod tests;

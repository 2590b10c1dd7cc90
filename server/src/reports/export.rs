//! The reports as files: CSV (UTF-8 with a BOM so Excel reads the Chinese, RFC 4180 quoting)
//! and XLSX (title, bold frozen header, money and percentages as real numbers).
//!
//! Both formats are written from one neutral `Table`, so a column can never be in one file
//! and missing from the other. Money stays `Decimal` up to the cell: CSV writes its exact
//! text, and only the XLSX writer turns it into the `f64` a spreadsheet cell holds.

use rust_decimal::Decimal;
use rust_xlsxwriter::XlsxError;

use super::monthly::{MonthlyReport, MonthlyRow, MonthlyTotals};
use super::quarterly::{QuarterTotals, QuarterlyReport, QuarterlyRow};
use super::{Change, ReportLang, terms_label, tier_label};
use crate::error::ServerError;

mod lists;
mod plans;
mod scorecards;
mod xlsx;
pub use lists::{ListCell, ListFile, ListKind, list_csv, list_xlsx};
pub use plans::{plan_evaluation_csv, plan_evaluation_xlsx};
pub use scorecards::{scorecards_csv, scorecards_xlsx};
use xlsx::write_xlsx;

/// One cell's value, typed so each format can write it properly.
enum Cell {
    /// Text.
    Text(String),
    /// An amount of CNY.
    Money(Decimal),
    /// A percentage (12.3 means 12.3 %); `None` leaves the cell empty.
    Pct(Option<Decimal>),
    /// A count.
    Count(usize),
}

/// A column: its header in both languages and its width in XLSX characters.
struct Column {
    zh: &'static str,
    en: &'static str,
    width: f64,
}

/// Shorthand for the column tables below.
const fn col(zh: &'static str, en: &'static str, width: f64) -> Column {
    Column { zh, en, width }
}

/// A report ready to be written in either format.
struct Table {
    sheet: &'static str,
    title: String,
    subtitle: String,
    columns: &'static [Column],
    rows: Vec<Vec<Cell>>,
    /// Rows after the data, in bold: subtotals and the grand total.
    totals: Vec<Vec<Cell>>,
}

/// The columns of 附件一, in order.
const MONTHLY_COLUMNS: &[Column] = &[
    col("客户编号", "Customer ID", 12.0),
    col("客户名称", "Customer", 28.0),
    col("客户级别", "Tier", 10.0),
    col("负责人", "Account reps", 16.0),
    col("本月业务量", "This month", 16.0),
    col("上月业务量", "Last month", 16.0),
    col("环比增减", "Change vs last month", 16.0),
    col("环比", "MoM %", 9.0),
    col("去年同期", "Same month last year", 16.0),
    col("同比增减", "Change vs last year", 16.0),
    col("同比", "YoY %", 9.0),
    col("本年累计", "Year to date", 18.0),
    col("新业务数", "New business (count)", 10.0),
    col("新业务", "New business", 36.0),
    col("质量问题", "Quality problems", 10.0),
    col("交货问题", "Delivery problems", 10.0),
    col("服务问题", "Service problems", 10.0),
    col("严重抱怨", "Serious complaints", 10.0),
    col("超期工单", "Overdue tickets", 10.0),
    col("合作风险", "Relationship risks", 40.0),
];

/// The columns of the quarterly analysis, in order.
const QUARTERLY_COLUMNS: &[Column] = &[
    col("客户编号", "Customer ID", 12.0),
    col("客户名称", "Customer", 28.0),
    col("客户级别", "Tier", 10.0),
    col("客户等级", "Grade", 8.0),
    col("信用等级", "Credit grade", 8.0),
    col("信用额度", "Credit limit", 16.0),
    col("付款条件", "Payment terms", 14.0),
    col("本季销售额", "Quarter sales", 16.0),
    col("去年同期", "Same quarter last year", 16.0),
    col("同比增减", "Change vs last year", 16.0),
    col("同比", "YoY %", 9.0),
    col("逾期付款", "Late payments", 10.0),
    col("其中未付", "Still unpaid", 10.0),
    col("须降级付款条件", "Terms must drop", 12.0),
    col("降级后付款条件", "Terms after", 16.0),
];

/// Picks the text of the report language.
fn pick(lang: ReportLang, zh: &'static str, en: &'static str) -> &'static str {
    match lang {
        ReportLang::Zh => zh,
        ReportLang::En => en,
    }
}

/// 附件一 as CSV.
pub fn monthly_csv(report: &MonthlyReport, lang: ReportLang) -> String {
    write_csv(&monthly_table(report, lang), lang)
}

/// 附件一 as an XLSX workbook.
pub fn monthly_xlsx(report: &MonthlyReport, lang: ReportLang) -> Result<Vec<u8>, ServerError> {
    write_xlsx(&monthly_table(report, lang), lang).map_err(xlsx_error)
}

/// The quarterly analysis as CSV.
pub fn quarterly_csv(report: &QuarterlyReport, lang: ReportLang) -> String {
    write_csv(&quarterly_table(report, lang), lang)
}

/// The quarterly analysis as an XLSX workbook.
pub fn quarterly_xlsx(report: &QuarterlyReport, lang: ReportLang) -> Result<Vec<u8>, ServerError> {
    write_xlsx(&quarterly_table(report, lang), lang).map_err(xlsx_error)
}

/// The writer failing is a fault of this code, not of the request.
fn xlsx_error(e: XlsxError) -> ServerError {
    ServerError::Corrupt(format!("xlsx: {e}"))
}

/// The change cells: amount and percentage.
fn change_cells(c: Change) -> [Cell; 2] {
    [Cell::Money(c.amount), Cell::Pct(c.pct)]
}

fn monthly_table(report: &MonthlyReport, lang: ReportLang) -> Table {
    let (year, month) = report.month.split_once('-').unwrap_or((&report.month, ""));
    Table {
        sheet: pick(lang, "附件一", "Appendix 1"),
        title: pick(
            lang,
            "公司战略客户和大客户业务状况分析报告表（附件一）",
            "Strategic and key customer business status report (Appendix 1)",
        )
        .to_owned(),
        subtitle: match lang {
            ReportLang::Zh => format!("时间：{year}年{month}月"),
            ReportLang::En => format!("Month: {}", report.month),
        },
        columns: MONTHLY_COLUMNS,
        rows: report.rows.iter().map(|r| monthly_cells(r, lang)).collect(),
        totals: vec![monthly_total_cells(&report.totals, lang)],
    }
}

fn monthly_cells(r: &MonthlyRow, lang: ReportLang) -> Vec<Cell> {
    let mut cells = vec![
        Cell::Text(r.customer_id.clone()),
        Cell::Text(r.name.clone()),
        Cell::Text(tier_label(r.tier, lang).to_owned()),
        Cell::Text(r.owners.join(pick(lang, "、", ", "))),
        Cell::Money(r.volume),
        Cell::Money(r.last_month),
    ];
    cells.extend(change_cells(r.mom));
    cells.push(Cell::Money(r.last_year));
    cells.extend(change_cells(r.yoy));
    cells.extend([
        Cell::Money(r.ytd),
        Cell::Count(r.new_business_count),
        Cell::Text(r.new_business.clone()),
        Cell::Count(r.quality_problems),
        Cell::Count(r.delivery_problems),
        Cell::Count(r.service_problems),
        Cell::Count(r.serious_complaints),
        Cell::Count(r.overdue_tickets),
        Cell::Text(r.risks_text(lang)),
    ]);
    cells
}

fn monthly_total_cells(t: &MonthlyTotals, lang: ReportLang) -> Vec<Cell> {
    let mut cells = vec![
        Cell::Text(String::new()),
        Cell::Text(pick(lang, "合计", "Total").to_owned()),
        Cell::Text(String::new()),
        Cell::Text(String::new()),
        Cell::Money(t.volume),
        Cell::Money(t.last_month),
    ];
    cells.extend(change_cells(t.mom));
    cells.push(Cell::Money(t.last_year));
    cells.extend(change_cells(t.yoy));
    cells.extend([
        Cell::Money(t.ytd),
        Cell::Count(t.new_business_count),
        Cell::Text(String::new()),
        Cell::Count(t.quality_problems),
        Cell::Count(t.delivery_problems),
        Cell::Count(t.service_problems),
        Cell::Count(t.serious_complaints),
        Cell::Count(t.overdue_tickets),
        Cell::Count(t.relationship_risks),
    ]);
    cells
}

fn quarterly_table(report: &QuarterlyReport, lang: ReportLang) -> Table {
    let (year, q) = (report.year, report.quarter_no);
    let (first, last) = (&report.first_month, &report.last_month);
    let mut totals: Vec<Vec<Cell>> = report
        .by_tier
        .iter()
        .map(|t| {
            let label = match lang {
                ReportLang::Zh => format!("{}小计", t.tier_zh),
                ReportLang::En => format!("{} subtotal", tier_label(t.tier, lang)),
            };
            quarterly_total_cells(&t.totals, label)
        })
        .collect();
    totals.push(quarterly_total_cells(&report.totals, pick(lang, "合计", "Total").to_owned()));
    Table {
        sheet: pick(lang, "信用及销售", "Credit and sales"),
        title: match lang {
            ReportLang::Zh => format!("客户信用及销售分析（{year}年第{q}季度）"),
            ReportLang::En => format!("Customer credit and sales analysis ({year} Q{q})"),
        },
        subtitle: match lang {
            ReportLang::Zh => format!("期间：{first} 至 {last}"),
            ReportLang::En => format!("Period: {first} to {last}"),
        },
        columns: QUARTERLY_COLUMNS,
        rows: report.rows.iter().map(|r| quarterly_cells(r, lang)).collect(),
        totals,
    }
}

fn quarterly_cells(r: &QuarterlyRow, lang: ReportLang) -> Vec<Cell> {
    let text = |s: Option<&String>| Cell::Text(s.cloned().unwrap_or_default());
    let after = match (&r.terms_after, r.already_strictest) {
        (Some(code), _) => terms_label(code, lang),
        (None, true) => pick(lang, "已是最严", "Already the strictest").to_owned(),
        (None, false) => String::new(),
    };
    let mut cells = vec![
        Cell::Text(r.customer_id.clone()),
        Cell::Text(r.name.clone()),
        Cell::Text(tier_label(r.tier, lang).to_owned()),
        text(r.grade.as_ref()),
        text(r.credit_grade.as_ref()),
        Cell::Money(r.credit_limit),
        Cell::Text(terms_label(&r.payment_terms, lang)),
        Cell::Money(r.sales),
        Cell::Money(r.last_year),
    ];
    cells.extend(change_cells(r.yoy));
    cells.extend([
        Cell::Count(r.late_payments),
        Cell::Count(r.late_unpaid),
        Cell::Text(
            if r.terms_must_drop { pick(lang, "是", "yes") } else { pick(lang, "否", "no") }
                .to_owned(),
        ),
        Cell::Text(after),
    ]);
    cells
}

fn quarterly_total_cells(t: &QuarterTotals, label: String) -> Vec<Cell> {
    let blank = || Cell::Text(String::new());
    let mut cells = vec![blank(), Cell::Text(label), blank(), blank(), blank()];
    cells.extend([
        Cell::Money(t.credit_limit),
        blank(),
        Cell::Money(t.sales),
        Cell::Money(t.last_year),
    ]);
    cells.extend(change_cells(t.yoy));
    cells.extend([
        Cell::Count(t.late_payments),
        Cell::Count(t.late_unpaid),
        Cell::Count(t.terms_drops),
        blank(),
    ]);
    cells
}

/// Quotes one CSV field per RFC 4180: fields holding a comma, a quote or a line break are
/// wrapped in quotes with inner quotes doubled; others are written as they are.
pub fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

/// A text cell that a spreadsheet would run as a formula (`=`, `+`, `-`, `@` first) gets a
/// leading apostrophe, so a customer name typed on a tablet cannot run in headquarters' Excel.
pub fn defuse(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@']) { format!("'{text}") } else { text.to_owned() }
}

/// Money with at least two decimal places, exactly as stored otherwise.
pub fn money_text(amount: Decimal) -> String {
    let mut amount = amount;
    if amount.scale() < 2 {
        amount.rescale(2);
    }
    amount.to_string()
}

/// The CSV text of one cell.
fn csv_cell(cell: &Cell) -> String {
    match cell {
        Cell::Text(t) => csv_field(&defuse(t)),
        Cell::Money(m) => money_text(*m),
        Cell::Pct(Some(p)) => {
            let mut p = *p;
            p.rescale(1);
            format!("{p}%")
        }
        Cell::Pct(None) => String::new(),
        Cell::Count(n) => n.to_string(),
    }
}

/// Writes the table as CSV: BOM, header, rows, totals; CRLF line ends as RFC 4180 asks.
fn write_csv(table: &Table, lang: ReportLang) -> String {
    let mut out = String::from('\u{feff}');
    let header: Vec<String> =
        table.columns.iter().map(|c| csv_field(pick(lang, c.zh, c.en))).collect();
    out.push_str(&header.join(","));
    out.push_str("\r\n");
    for row in table.rows.iter().chain(&table.totals) {
        let cells: Vec<String> = row.iter().map(csv_cell).collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::io::Cursor;

    use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
    use chrono::{TimeZone, Utc};
    use kam_core::model::Tier;

    use super::*;
    use crate::reports::monthly::{RiskKind, RiskNote};
    use crate::reports::quarterly::TierTotals;

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    fn monthly() -> MonthlyReport {
        let row = MonthlyRow {
            rank: 1,
            customer_id: "C1".to_owned(),
            name: "Acme, \"Best\" Ltd".to_owned(),
            tier: Tier::Strategic,
            tier_zh: "战略客户",
            strategic: true,
            owners: vec!["rep-a".to_owned(), "rep-b".to_owned()],
            volume: d("1234567.89"),
            last_month: d("1000000.01"),
            mom: Change::between(d("1234567.89"), d("1000000.01")).unwrap(),
            last_year: d("0"),
            yoy: Change::between(d("1234567.89"), d("0")).unwrap(),
            ytd: d("2234567.9"),
            new_business_count: 1,
            new_business: "扩产".to_owned(),
            quality_problems: 2,
            delivery_problems: 0,
            service_problems: 1,
            serious_complaints: 1,
            overdue_tickets: 0,
            relationship_risks: vec![RiskNote {
                visit_date: "2026-03-05".to_owned(),
                kind: RiskKind::Competitor,
                text: "=cut prices".to_owned(),
            }],
        };
        let totals = MonthlyTotals {
            customers: 1,
            volume: row.volume,
            last_month: row.last_month,
            mom: row.mom,
            ytd: row.ytd,
            ..MonthlyTotals::default()
        };
        let generated_at = Utc.with_ymd_and_hms(2026, 4, 2, 0, 0, 0).unwrap();
        MonthlyReport {
            month: "2026-03".to_owned(),
            generated_at,
            rows: vec![row],
            totals,
            open_measures: Vec::new(),
        }
    }

    fn quarterly() -> QuarterlyReport {
        let row = QuarterlyRow {
            customer_id: "C1".to_owned(),
            name: "Acme".to_owned(),
            tier: Tier::Key,
            tier_zh: "重点客户",
            grade: Some("A".to_owned()),
            credit_grade: None,
            credit_limit: d("500000"),
            payment_terms: "net:90".to_owned(),
            payment_terms_zh: "远期90天".to_owned(),
            sales: d("600.60"),
            last_year: d("500.00"),
            yoy: Change::between(d("600.60"), d("500.00")).unwrap(),
            late_payments: 2,
            late_unpaid: 1,
            terms_must_drop: true,
            terms_after: Some("net:30".to_owned()),
            terms_after_zh: Some("远期30天".to_owned()),
            already_strictest: false,
        };
        let totals = QuarterTotals {
            customers: 1,
            credit_limit: row.credit_limit,
            sales: row.sales,
            last_year: row.last_year,
            yoy: row.yoy,
            late_payments: 2,
            late_unpaid: 1,
            terms_drops: 1,
        };
        QuarterlyReport {
            quarter: "2026-Q1".to_owned(),
            year: 2026,
            quarter_no: 1,
            first_month: "2026-01".to_owned(),
            last_month: "2026-03".to_owned(),
            generated_at: Utc.with_ymd_and_hms(2026, 4, 2, 0, 0, 0).unwrap(),
            rows: vec![row],
            by_tier: vec![TierTotals {
                tier: Tier::Key,
                tier_zh: "重点客户",
                totals: totals.clone(),
            }],
            totals,
        }
    }

    #[test]
    fn csv_fields_are_quoted_per_rfc_4180() {
        assert_eq!(csv_field("plain 客户"), "plain 客户");
        assert_eq!(csv_field("Acme, \"Best\" Ltd"), "\"Acme, \"\"Best\"\" Ltd\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field("cr\r"), "\"cr\r\"");
        assert_eq!(csv_field("\""), "\"\"\"\"");
        assert_eq!(csv_field(""), "");
    }

    #[test]
    fn monthly_csv_has_bom_chinese_header_and_exact_amounts() {
        let csv = monthly_csv(&monthly(), ReportLang::Zh);
        assert!(csv.starts_with(
            "\u{feff}客户编号,客户名称,客户级别,负责人,本月业务量,上月业务量,环比增减,环比,"
        ));
        let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').split("\r\n").collect();
        assert_eq!(
            lines[1],
            "C1,\"Acme, \"\"Best\"\" Ltd\",战略客户,rep-a、rep-b,1234567.89,1000000.01,234567.88,23.5%,\
             0.00,1234567.89,,2234567.90,1,扩产,2,0,1,1,0,2026-03-05 竞争对手：=cut prices"
        );
        assert!(lines[2].starts_with(",合计,,,1234567.89,"), "{}", lines[2]);
        assert_eq!(lines.len(), 4, "header, row, total and the final line end");
        let en = monthly_csv(&monthly(), ReportLang::En);
        assert!(en.starts_with("\u{feff}Customer ID,Customer,Tier,Account reps,This month,"));
    }

    #[test]
    fn formula_like_text_is_defused_in_csv() {
        let mut report = monthly();
        report.rows[0].name = "=HYPERLINK(\"x\")".to_owned();
        let csv = monthly_csv(&report, ReportLang::Zh);
        assert!(csv.contains(",\"'=HYPERLINK(\"\"x\"\")\","), "{csv}");
    }

    fn sheet(bytes: Vec<u8>) -> calamine::Range<Data> {
        let mut book: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes)).unwrap();
        book.worksheet_range_at(0).unwrap().unwrap()
    }

    #[test]
    fn monthly_xlsx_reads_back_with_title_header_and_numbers() {
        let range = sheet(monthly_xlsx(&monthly(), ReportLang::Zh).unwrap());
        let cell = |r: u32, c: u32| range.get_value((r, c)).cloned().unwrap_or(Data::Empty);
        assert_eq!(
            cell(0, 0),
            Data::String("公司战略客户和大客户业务状况分析报告表（附件一）".into())
        );
        assert_eq!(cell(1, 0), Data::String("时间：2026年03月".into()));
        assert_eq!(cell(2, 1), Data::String("客户名称".into()));
        assert_eq!(cell(2, 19), Data::String("合作风险".into()));
        assert_eq!(cell(3, 1), Data::String("Acme, \"Best\" Ltd".into()));
        assert_eq!(cell(3, 4), Data::Float(1234567.89));
        assert_eq!(cell(3, 7), Data::Float(0.235));
        assert_eq!(cell(3, 10), Data::Empty, "no % against zero");
        assert_eq!(cell(3, 14), Data::Float(2.0));
        assert_eq!(cell(4, 1), Data::String("合计".into()));
        assert_eq!(cell(4, 4), Data::Float(1234567.89));
    }

    #[test]
    fn quarterly_files_in_both_languages() {
        let range = sheet(quarterly_xlsx(&quarterly(), ReportLang::Zh).unwrap());
        let cell = |r: u32, c: u32| range.get_value((r, c)).cloned().unwrap_or(Data::Empty);
        assert_eq!(cell(0, 0), Data::String("客户信用及销售分析（2026年第1季度）".into()));
        assert_eq!(cell(2, 13), Data::String("须降级付款条件".into()));
        assert_eq!(cell(3, 5), Data::Float(500000.0));
        assert_eq!(cell(3, 14), Data::String("远期30天".into()));
        assert_eq!(cell(4, 1), Data::String("重点客户小计".into()));
        assert_eq!(cell(5, 7), Data::Float(600.6));
        let en = quarterly_csv(&quarterly(), ReportLang::En);
        let lines: Vec<&str> = en.split("\r\n").collect();
        assert_eq!(
            lines[1],
            "C1,Acme,Key,A,,500000.00,Net 90 days,600.60,500.00,100.60,20.1%,2,1,yes,Net 30 days"
        );
        assert!(lines[3].starts_with(",Total,,,,500000.00,,600.60,"), "{}", lines[3]);
    }
}

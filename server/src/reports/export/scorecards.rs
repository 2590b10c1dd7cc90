//! Staff scorecards (绩效考核) as files: one row per person and period with the target, the
//! total and each measure's points, in `rules::ScoreMeasure` order.

use kam_core::rules::ScoreMeasure;
use rust_decimal::Decimal;

use super::{Cell, Column, Table, col, pick, write_csv, write_xlsx, xlsx_error};
use crate::db::management::ScorecardRow;
use crate::error::ServerError;
use crate::reports::ReportLang;

/// The columns: who and when, then the measures in `ScoreMeasure::ALL` order.
pub(super) const COLUMNS: &[Column] = &[
    col("期间", "Period", 10.0),
    col("人员", "Person", 14.0),
    col("销售目标", "Sales target", 16.0),
    col("总分", "Total", 10.0),
    col("销售业绩", "Sales against target", 12.0),
    col("拜访完成率", "Visit compliance", 12.0),
    col("按时答复率", "Replies within SLA", 12.0),
    col("客户满意度", "Customer satisfaction", 12.0),
    col("客户开发成功率", "Leads won", 12.0),
    col("上级评价", "Supervisor rating", 12.0),
    col("同事评价", "Peer rating", 12.0),
    col("客户评价", "Customer rating", 12.0),
];

fn number(text: Option<&str>) -> Cell {
    match text.and_then(|t| t.parse::<Decimal>().ok()) {
        Some(value) => Cell::Money(value),
        None => Cell::Text(String::new()),
    }
}

fn table(rows: &[ScorecardRow], period: Option<&str>, lang: ReportLang) -> Table {
    let rows = rows
        .iter()
        .map(|c| {
            let mut cells = vec![
                Cell::Text(c.period.clone()),
                Cell::Text(c.person.clone()),
                number(Some(&c.sales_target)),
                number(c.total.as_deref()),
            ];
            cells.extend(ScoreMeasure::ALL.iter().map(|m| {
                number(c.lines.iter().find(|l| l.measure == m.as_str()).map(|l| l.points.as_str()))
            }));
            cells
        })
        .collect();
    Table {
        sheet: pick(lang, "绩效考核", "Scorecards"),
        title: pick(lang, "员工绩效考核表", "Staff scorecards").to_owned(),
        subtitle: period.unwrap_or(pick(lang, "全部期间", "All periods")).to_owned(),
        columns: COLUMNS,
        rows,
        totals: Vec::new(),
    }
}

/// The scorecards as CSV.
pub fn scorecards_csv(rows: &[ScorecardRow], period: Option<&str>, lang: ReportLang) -> String {
    write_csv(&table(rows, period, lang), lang)
}

/// The scorecards as an XLSX workbook.
pub fn scorecards_xlsx(
    rows: &[ScorecardRow],
    period: Option<&str>,
    lang: ReportLang,
) -> Result<Vec<u8>, ServerError> {
    write_xlsx(&table(rows, period, lang), lang).map_err(xlsx_error)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::db::management::ScorecardLineRow;

    #[test]
    fn the_measure_columns_follow_the_rule_s_order_and_names() {
        for (column, measure) in COLUMNS[4..].iter().zip(ScoreMeasure::ALL) {
            assert_eq!(column.zh, measure.label_zh());
            assert_eq!(column.en, measure.label_en());
        }
        assert_eq!(COLUMNS.len(), 4 + ScoreMeasure::ALL.len());
    }

    #[test]
    fn csv_has_a_row_per_scorecard_with_its_points() {
        let row = ScorecardRow {
            scorecard_id: "rep-01-2026-10".into(),
            person: "rep-01".into(),
            period: "2026-10".into(),
            sales_target: "100000.00".into(),
            total: Some("61.5".into()),
            computed_at: None,
            lines: vec![ScorecardLineRow {
                measure: "reply_sla".into(),
                attainment: "100".into(),
                weight_pct: 10,
                points: "10".into(),
                basis: String::new(),
            }],
        };
        let csv = scorecards_csv(&[row], Some("2026-10"), ReportLang::Zh);
        assert!(csv.contains("按时答复率"), "{csv}");
        let line = csv.lines().find(|l| l.starts_with("2026-10,rep-01")).unwrap();
        assert_eq!(line, "2026-10,rep-01,100000.00,61.50,,,10.00,,,,,", "{csv}");
    }
}

//! The plans' quarterly evaluation table as CSV and XLSX, from the same neutral `Table` as
//! the other reports.

use super::{Cell, Column, Table, col, pick, write_csv, write_xlsx, xlsx_error};
use crate::error::ServerError;
use crate::reports::plan_evaluation::{PlanEvaluationReport, PlanEvaluationRow};
use crate::reports::{ReportLang, tier_label};

/// The columns, in order.
const COLUMNS: &[Column] = &[
    col("客户编号", "Customer ID", 12.0),
    col("客户名称", "Customer", 28.0),
    col("客户级别", "Tier", 10.0),
    col("季度销售目标", "Sales goal", 16.0),
    col("实际销售额", "Sales", 16.0),
    col("销售达成率", "Sales attained", 10.0),
    col("利润贡献目标", "Profit goal", 16.0),
    col("实际利润贡献", "Profit", 16.0),
    col("利润达成率", "Profit attained", 10.0),
    col("满意度目标", "Satisfaction goal", 10.0),
    col("实际满意度", "Satisfaction", 10.0),
    col("是否达标", "On track", 10.0),
    col("调整措施", "Adjustment", 40.0),
    col("评估人", "Evaluated by", 12.0),
];

/// The evaluation table as CSV.
pub fn plan_evaluation_csv(report: &PlanEvaluationReport, lang: ReportLang) -> String {
    write_csv(&table(report, lang), lang)
}

/// The evaluation table as an XLSX workbook.
pub fn plan_evaluation_xlsx(
    report: &PlanEvaluationReport,
    lang: ReportLang,
) -> Result<Vec<u8>, ServerError> {
    write_xlsx(&table(report, lang), lang).map_err(xlsx_error)
}

fn table(report: &PlanEvaluationReport, lang: ReportLang) -> Table {
    let (year, q) = (report.year, report.quarter);
    let t = &report.totals;
    let blank = || Cell::Text(String::new());
    let total = vec![
        blank(),
        Cell::Text(pick(lang, "合计", "Total").to_owned()),
        blank(),
        Cell::Money(t.sales_goal),
        Cell::Money(t.sales_actual),
        blank(),
        Cell::Money(t.profit_goal),
        Cell::Money(t.profit_actual),
        blank(),
        blank(),
        blank(),
        Cell::Count(t.evaluated),
        blank(),
        blank(),
    ];
    Table {
        sheet: pick(lang, "季度评估", "Quarterly evaluation"),
        title: match lang {
            ReportLang::Zh => format!("大客户管理计划季度评估表（{year}年第{q}季度）"),
            ReportLang::En => format!("Account plans: quarterly evaluation ({year} Q{q})"),
        },
        subtitle: match lang {
            ReportLang::Zh => format!("时间：{year}年第{q}季度"),
            ReportLang::En => format!("Quarter: {year} Q{q}"),
        },
        columns: COLUMNS,
        rows: report.rows.iter().map(|r| cells(r, lang)).collect(),
        totals: vec![total],
    }
}

fn cells(r: &PlanEvaluationRow, lang: ReportLang) -> Vec<Cell> {
    let text = |s: String| Cell::Text(s);
    let actual = r.actuals.as_ref();
    let money_or_blank =
        |m: Option<rust_decimal::Decimal>| m.map_or_else(|| text(String::new()), Cell::Money);
    vec![
        text(r.customer_id.clone()),
        text(r.name.clone()),
        text(r.tier.map(|t| tier_label(t, lang).to_owned()).unwrap_or_default()),
        Cell::Money(r.goals.sales),
        money_or_blank(actual.map(|a| a.sales)),
        Cell::Pct(r.sales_pct),
        Cell::Money(r.goals.profit_contribution),
        money_or_blank(actual.map(|a| a.profit_contribution)),
        Cell::Pct(r.profit_pct),
        Cell::Count(usize::from(r.goals.satisfaction)),
        text(actual.and_then(|a| a.satisfaction).map(|s| s.to_string()).unwrap_or_default()),
        text(
            match r.on_track {
                Some(true) => pick(lang, "是", "yes"),
                Some(false) => pick(lang, "否", "no"),
                None => pick(lang, "未评估", "not evaluated"),
            }
            .to_owned(),
        ),
        text(r.adjustment.clone()),
        text(r.evaluated_by.clone()),
    ]
}

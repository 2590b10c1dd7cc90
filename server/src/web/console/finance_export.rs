//! `GET /console/events/{id}/finance/export.{csv,xlsx}`: the reconciliation as files — its
//! figures, its mismatches, every receipt and every voucher. The workbook has one sheet of
//! each; the CSV (UTF-8 with a BOM, so Excel reads the Chinese) has the same four tables one
//! after another, each under its own header, a blank line between them. Buyers' names are
//! masked here as on the page.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use rust_xlsxwriter::{Format, Workbook, XlsxError};

use super::finance::{FinanceBooks, load_books};
use super::finance_lists::method_label;
use super::{Station, admit};
use crate::desk::plan::mask_name;
use crate::error::ServerError;
use crate::http::AppState;
use crate::reports::export::{csv_field, defuse, money_text};
use crate::web::error::{InLang, PageError};
use crate::web::i18n::Lang;
use crate::web::session::WebUser;

/// One cell, typed so each format writes it properly.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Cell {
    /// Text.
    Text(String),
    /// CNY.
    Money(Decimal),
    /// A count or a number.
    Int(i64),
}

/// One table of the export.
#[derive(Clone, Debug)]
pub(crate) struct Sheet {
    /// Its sheet name.
    pub(crate) name: &'static str,
    /// Its header.
    pub(crate) header: Vec<&'static str>,
    /// Its rows.
    pub(crate) rows: Vec<Vec<Cell>>,
}

fn text(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}

fn int(n: impl Into<i64>) -> Cell {
    Cell::Int(n.into())
}

/// The four tables of the export, in `lang`.
pub(crate) fn sheets(lang: Lang, books: &FinanceBooks) -> Vec<Sheet> {
    let r = &books.reconciliation;
    let t = |zh, en| lang.t(zh, en);
    let figures = Sheet {
        name: t("对账", "Reconciliation"),
        header: vec![t("项目", "Figure"), t("数值", "Value")],
        rows: vec![
            vec![text(t("选房活动", "Event")), text(books.name.clone())],
            vec![text(t("分配房源", "Units allotted")), int(r.units_allotted)],
            vec![text(t("已售", "Sold")), int(r.units_sold)],
            vec![text(t("锁定中", "Held")), int(r.units_held)],
            vec![text(t("有效凭证", "Live vouchers")), int(r.vouchers_live)],
            vec![text(t("红字凭证", "Red vouchers")), int(r.vouchers_reversed)],
            vec![text(t("收款合计", "Receipts")), Cell::Money(r.receipts_total)],
            vec![text(t("凭证金额合计", "Vouchers")), Cell::Money(r.vouchers_total)],
            vec![
                text(t("不符项", "Mismatches")),
                int(u32::try_from(r.mismatches.len()).unwrap_or(u32::MAX)),
            ],
        ],
    };
    let mismatches = Sheet {
        name: t("不符项", "Mismatches"),
        header: vec![
            t("类型", "Kind"),
            t("房源", "Unit"),
            t("凭证号", "Voucher"),
            t("工作票", "Ticket"),
            t("说明", "Detail"),
        ],
        rows: r
            .mismatches
            .iter()
            .map(|m| {
                vec![
                    text(m.code),
                    text(m.unit_id.clone().unwrap_or_default()),
                    m.voucher_no.map_or_else(|| text(""), int),
                    text(m.ticket_id.clone().unwrap_or_default()),
                    text(m.detail.clone()),
                ]
            })
            .collect(),
    };
    vec![figures, mismatches, receipts(lang, books), vouchers(lang, books)]
}

fn receipts(lang: Lang, books: &FinanceBooks) -> Sheet {
    let t = |zh, en| lang.t(zh, en);
    Sheet {
        name: t("收款", "Receipts"),
        header: vec![
            t("收款编号", "Receipt"),
            t("工作票", "Ticket"),
            t("房源", "Unit"),
            t("金额", "Amount"),
            t("方式", "Method"),
            t("收款时间", "Received at"),
            t("经办人", "Recorded by"),
            t("冲销", "Reverses"),
        ],
        rows: books
            .receipts
            .iter()
            .map(|r| {
                vec![
                    text(r.receipt_id.clone()),
                    text(r.ticket_id.clone()),
                    text(r.unit_code.clone()),
                    Cell::Money(r.amount),
                    text(method_label(lang, &r.method)),
                    text(r.received_at.clone()),
                    text(r.recorded_by.clone()),
                    text(r.reverses.clone().unwrap_or_default()),
                ]
            })
            .collect(),
    }
}

fn vouchers(lang: Lang, books: &FinanceBooks) -> Sheet {
    let t = |zh, en| lang.t(zh, en);
    Sheet {
        name: t("凭证", "Vouchers"),
        header: vec![
            t("凭证号", "No."),
            t("凭证编码", "Code"),
            t("房源", "Unit"),
            t("买受人", "Buyer"),
            t("金额", "Amount"),
            t("开具时间", "Issued at"),
            t("开具人", "Issued by"),
            t("冲销凭证号", "Reverses"),
            t("被冲红凭证号", "Reversed by"),
            t("原因", "Reason"),
        ],
        rows: books
            .vouchers
            .iter()
            .map(|v| {
                vec![
                    int(v.voucher_no),
                    text(v.voucher_code.clone()),
                    text(v.unit_code.clone()),
                    text(mask_name(&v.buyer_name)),
                    Cell::Money(v.amount),
                    text(v.issued_at.clone()),
                    text(v.issued_by.clone()),
                    v.reverses.map_or_else(|| text(""), int),
                    v.reversed_by.map_or_else(|| text(""), int),
                    text(v.reason.clone().unwrap_or_default()),
                ]
            })
            .collect(),
    }
}

fn csv_cell(cell: &Cell) -> String {
    match cell {
        Cell::Text(t) => csv_field(&defuse(t)),
        Cell::Money(m) => money_text(*m),
        Cell::Int(n) => n.to_string(),
    }
}

/// The tables as CSV: a BOM, then each table's header and rows, a blank line between them;
/// CRLF line ends (RFC 4180).
pub(crate) fn write_csv(sheets: &[Sheet]) -> String {
    let mut out = String::from('\u{feff}');
    for (i, sheet) in sheets.iter().enumerate() {
        if i > 0 {
            out.push_str("\r\n");
        }
        let header: Vec<String> = sheet.header.iter().map(|h| csv_field(h)).collect();
        out.push_str(&header.join(","));
        out.push_str("\r\n");
        for row in &sheet.rows {
            let cells: Vec<String> = row.iter().map(csv_cell).collect();
            out.push_str(&cells.join(","));
            out.push_str("\r\n");
        }
    }
    out
}

/// The tables as a workbook, one sheet each, the header bold and frozen in view.
pub(crate) fn write_xlsx(sheets: &[Sheet]) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format("#,##0.00");
    for sheet in sheets {
        let ws = workbook.add_worksheet();
        ws.set_name(sheet.name)?;
        for (col, h) in (0u16..).zip(&sheet.header) {
            ws.write_string_with_format(0, col, *h, &bold)?;
            ws.set_column_width(col, 16)?;
        }
        for (row_no, row) in (1u32..).zip(&sheet.rows) {
            for (col, cell) in (0u16..).zip(row) {
                match cell {
                    Cell::Text(t) => ws.write_string(row_no, col, t).map(|_| ())?,
                    // Only here does money become the f64 a spreadsheet cell holds.
                    Cell::Money(m) => ws
                        .write_number_with_format(row_no, col, m.to_f64().unwrap_or(0.0), &money)
                        .map(|_| ())?,
                    Cell::Int(n) => {
                        ws.write_number(row_no, col, n.to_f64().unwrap_or(0.0)).map(|_| ())?
                    }
                }
            }
        }
        ws.set_freeze_panes(1, 0)?;
    }
    workbook.save_to_buffer()
}

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const CSV: &str = "text/csv; charset=utf-8";

/// `GET /console/events/{id}/finance/{export.csv|export.xlsx}`.
pub async fn export_file(
    State(state): State<AppState>,
    user: WebUser,
    Path((event_id, file)): Path<(String, String)>,
) -> Result<Response, PageError> {
    admit(&state, &user, &event_id, Station::Finance).await?;
    let lang = user.lang;
    let books = load_books(&state, &event_id).await.in_lang(lang)?;
    let tables = sheets(lang, &books);
    let (bytes, content_type, ext) = match file.as_str() {
        "export.csv" => (write_csv(&tables).into_bytes(), CSV, "csv"),
        "export.xlsx" => {
            let bytes = write_xlsx(&tables)
                .map_err(|e| ServerError::Corrupt(format!("xlsx: {e}")))
                .in_lang(lang)?;
            (bytes, XLSX, "xlsx")
        }
        _ => return Err(PageError::Server(ServerError::NotFound, lang)),
    };
    // The event id goes into a header: only safe characters of it.
    let safe: String =
        event_id.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
    let disposition = format!("attachment; filename=\"reconciliation-{safe}.{ext}\"");
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}

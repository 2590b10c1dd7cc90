//! The XLSX writer: a title row, the period, a bold header frozen in view, then the rows and
//! the bold totals. Money and percentages become spreadsheet numbers here and nowhere else.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook, Worksheet, XlsxError};

use super::{Cell, Table, money_text, pick};
use crate::reports::ReportLang;

/// The cell formats of a sheet.
struct Formats {
    title: Format,
    header: Format,
    text: Format,
    money: Format,
    pct: Format,
    count: Format,
}

impl Formats {
    fn new(bold: bool) -> Formats {
        let base = || if bold { Format::new().set_bold() } else { Format::new() };
        Formats {
            title: Format::new().set_bold().set_font_size(14),
            header: Format::new()
                .set_bold()
                .set_text_wrap()
                .set_align(FormatAlign::Center)
                .set_align(FormatAlign::VerticalCenter)
                .set_border(FormatBorder::Thin),
            text: base().set_text_wrap().set_align(FormatAlign::Top),
            money: base().set_num_format("#,##0.00").set_align(FormatAlign::Top),
            pct: base().set_num_format("0.0%").set_align(FormatAlign::Top),
            count: base().set_num_format("0").set_align(FormatAlign::Top),
        }
    }
}

/// Rows above the data: title, period, header.
const HEADER_ROW: u32 = 2;

/// Writes the table as a one-sheet workbook.
pub(super) fn write_xlsx(table: &Table, lang: ReportLang) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name(table.sheet)?;
    let (plain, bold) = (Formats::new(false), Formats::new(true));
    let last_col = u16::try_from(table.columns.len().saturating_sub(1)).unwrap_or(u16::MAX);
    sheet.merge_range(0, 0, 0, last_col, &table.title, &plain.title)?;
    sheet.write_string(1, 0, &table.subtitle)?;
    for (i, column) in (0u16..).zip(table.columns) {
        sheet.write_string_with_format(
            HEADER_ROW,
            i,
            pick(lang, column.zh, column.en),
            &plain.header,
        )?;
        sheet.set_column_width(i, column.width)?;
    }
    let data =
        table.rows.iter().map(|r| (r, &plain)).chain(table.totals.iter().map(|r| (r, &bold)));
    for (row_no, (row, formats)) in (HEADER_ROW + 1..).zip(data) {
        for (col_no, cell) in (0u16..).zip(row) {
            write_cell(sheet, row_no, col_no, cell, formats)?;
        }
    }
    // Freeze under the header and right of the customer's name, so both stay in view.
    sheet.set_freeze_panes(HEADER_ROW + 1, 2)?;
    workbook.save_to_buffer()
}

/// Writes one cell; money and percentages become numbers only here, at the very edge.
fn write_cell(
    sheet: &mut Worksheet,
    row: u32,
    col: u16,
    cell: &Cell,
    f: &Formats,
) -> Result<(), XlsxError> {
    match cell {
        Cell::Text(t) if t.is_empty() => sheet.write_blank(row, col, &f.text)?,
        Cell::Text(t) => sheet.write_string_with_format(row, col, t, &f.text)?,
        Cell::Money(m) => match m.to_f64() {
            Some(n) => sheet.write_number_with_format(row, col, n, &f.money)?,
            None => sheet.write_string_with_format(row, col, money_text(*m), &f.text)?,
        },
        Cell::Pct(Some(p)) => match p.checked_div(Decimal::ONE_HUNDRED).and_then(|f| f.to_f64()) {
            Some(n) => sheet.write_number_with_format(row, col, n, &f.pct)?,
            None => sheet.write_string_with_format(row, col, format!("{p}%"), &f.text)?,
        },
        Cell::Pct(None) => sheet.write_blank(row, col, &f.pct)?,
        Cell::Count(n) => {
            // Counts of rows fit an f64 exactly far beyond any report's size.
            let n = u32::try_from(*n).unwrap_or(u32::MAX);
            sheet.write_number_with_format(row, col, n, &f.count)?
        }
    };
    Ok(())
}

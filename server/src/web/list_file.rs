//! A list downloaded as a file: the format asked for, the line saying when (in the policy's
//! time zone, named) and under which filters the rows were taken, and the download itself.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use kam_core::Policy;

use super::error::PageError;
use super::i18n::Lang;
use crate::reports::ReportLang;
use crate::reports::export::{ListFile, list_csv, list_xlsx};

/// The two file formats of a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListFormat {
    /// CSV, UTF-8 with a BOM.
    Csv,
    /// An Excel workbook.
    Xlsx,
}

/// "taken 2026-12-06 16:05 (UTC+08:00)": when the rows were read, on the policy's clock.
pub fn taken_at(policy: &Policy, now: DateTime<Utc>, lang: Lang) -> String {
    let at = super::layout::local_when(policy, &now.to_rfc3339());
    format!("{}{at} ({})", lang.t("导出时间 ", "Taken "), super::layout::zone_label(policy))
}

/// The filters given, for the file's title: ` — tier=key, q=宏达`, or nothing.
pub fn filter_note(pairs: &[(&'static str, String)]) -> String {
    let given: Vec<String> =
        pairs.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| format!("{k}={v}")).collect();
    if given.is_empty() { String::new() } else { format!(" — {}", given.join(", ")) }
}

/// The reports' language for the page's.
pub fn report_lang(lang: Lang) -> ReportLang {
    match lang {
        Lang::Zh => ReportLang::Zh,
        Lang::En => ReportLang::En,
    }
}

/// The file as a download named `<name>.csv` or `<name>.xlsx`.
pub fn list_download(
    file: ListFile,
    format: ListFormat,
    lang: Lang,
    name: &str,
) -> Result<Response, PageError> {
    let report_lang = report_lang(lang);
    let (bytes, content_type, suffix) = match format {
        ListFormat::Csv => {
            (list_csv(file, report_lang).into_bytes(), "text/csv; charset=utf-8", "csv")
        }
        ListFormat::Xlsx => (
            list_xlsx(file, report_lang).map_err(|e| PageError::Server(e, lang))?,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        ),
    };
    let disposition = format!("attachment; filename=\"{name}.{suffix}\"");
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}

//! A list downloaded as a file: the format asked for, the line saying when (in the policy's
//! time zone, named) and under which filters the rows were taken, and the download itself.

use axum::http::{Uri, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use kam_core::Policy;

use super::error::PageError;
use super::i18n::Lang;
use super::session::WebUser;
use crate::error::ServerError;
use crate::http::AppState;
use crate::reports::ReportLang;
use crate::reports::export::{ListCell, ListFile, ListKind, list_csv, list_xlsx};
use crate::services::ReadView;

/// The two file formats of a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListFormat {
    /// CSV, UTF-8 with a BOM.
    Csv,
    /// An Excel workbook.
    Xlsx,
}

impl ListFormat {
    /// The format a list file's address asks for: `….xlsx` an Excel workbook, else CSV.
    pub fn of(uri: &Uri) -> ListFormat {
        if uri.path().ends_with(".xlsx") { ListFormat::Xlsx } else { ListFormat::Csv }
    }
}

/// A list's file: every row `rows` reads (under the list's filters and sort, in `user`'s
/// words), titled with the list's name and `filters`, stamped with when it was read, in the
/// format `uri` asks for.
pub async fn send_list<F>(
    state: &AppState,
    user: &WebUser,
    uri: &Uri,
    (kind, title): (ListKind, &str),
    filters: &[(&'static str, String)],
    rows: F,
) -> Result<Response, PageError>
where
    F: FnOnce(&ReadView<'_>, Lang, DateTime<Utc>) -> Result<Vec<Vec<ListCell>>, ServerError>
        + Send
        + 'static,
{
    let lang = user.lang;
    let (rows, subtitle) = user
        .hq_read(state, move |store| {
            let now = Utc::now();
            let rows = rows(store, lang, now)?;
            Ok((rows, taken_at(store.policy(), now, lang)))
        })
        .await?;
    let file = ListFile { kind, title: format!("{title}{}", filter_note(filters)), subtitle, rows };
    list_download(file, ListFormat::of(uri), lang, kind.sheet())
}

/// A list's file from rows already read (a list read through the store's turn).
pub fn send_rows(
    state: &AppState,
    lang: Lang,
    uri: &Uri,
    (kind, title): (ListKind, &str),
    filters: &[(&'static str, String)],
    rows: Vec<Vec<ListCell>>,
) -> Result<Response, PageError> {
    let subtitle = taken_at(state.policy(), Utc::now(), lang);
    let file = ListFile { kind, title: format!("{title}{}", filter_note(filters)), subtitle, rows };
    list_download(file, ListFormat::of(uri), lang, kind.sheet())
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

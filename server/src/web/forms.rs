//! What a confirmed decision's form carries: the session's CSRF token and the ticked
//! confirmation (opening a desk, lending it, taking it back, handing it back).

use serde::Deserialize;

use super::error::PageError;
use super::i18n::Lang;
use crate::error::ServerError;

/// A form that only confirms a decision.
#[derive(Debug, Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    pub(crate) csrf: String,
    confirm: Option<String>,
}

impl ConfirmForm {
    /// `Ok` when the confirmation to `what` was ticked.
    pub(crate) fn confirmed(&self, lang: Lang, what: &str) -> Result<(), PageError> {
        confirmed(self.confirm.as_deref(), lang, what)
    }
}

/// `Ok` when `confirm` is the ticked box, else the localized refusal naming `what`.
pub(crate) fn confirmed(confirm: Option<&str>, lang: Lang, what: &str) -> Result<(), PageError> {
    if confirm == Some("yes") {
        return Ok(());
    }
    let reason = format!("tick the confirmation to {what}");
    Err(PageError::Server(ServerError::Invalid { field: "confirm", reason }, lang))
}

/// A form field's text, trimmed; empty when absent.
pub(crate) fn text(value: &Option<String>) -> String {
    value.as_deref().unwrap_or("").trim().to_owned()
}

/// A required form field, trimmed: refused (400) when absent or blank.
pub(crate) fn required<'a>(
    value: &'a Option<String>,
    name: &'static str,
) -> Result<&'a str, ServerError> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or(ServerError::Invalid { field: name, reason: "is required".into() })
}

/// A required date field (`YYYY-MM-DD`).
pub(crate) fn date(
    value: &Option<String>,
    name: &'static str,
) -> Result<chrono::NaiveDate, ServerError> {
    required(value, name)?
        .parse()
        .map_err(|_| ServerError::Invalid { field: name, reason: "is not a date".into() })
}

/// After a decision recorded from a form: back to `path` with "recorded" as the flash message.
pub(crate) fn recorded(lang: Lang, path: &str) -> axum::response::Response {
    use axum::response::IntoResponse;
    let done = lang.t("已记录。", "Recorded.");
    let to = format!("{path}?done={}", super::layout::url_encode(done));
    axum::response::Redirect::to(&to).into_response()
}

/// A flash message carried by a redirect.
#[derive(Debug, Default, Deserialize)]
pub struct Flash {
    /// The message.
    pub done: Option<String>,
}

/// A posted form with only its CSRF token.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    /// The session's CSRF token.
    pub csrf: String,
}

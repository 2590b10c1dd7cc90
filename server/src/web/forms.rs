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

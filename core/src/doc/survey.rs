//! The `survey/<id>` record document (ADR 0023): one satisfaction survey.
//!
//! Root keys: `customer_id` (fixed); `survey_kind`, `ticket_id`, `taken_at`, `taken_by`,
//! `respondent`, `items`, `comments` (answers: written when taken, changed by the back office).

use std::collections::BTreeMap;

use super::document::{DocId, DocKind};
use super::error::DocError;
use super::record::{Record, RecordEdit, bounded_score, record_doc_id};
use crate::model::{Survey, SurveyId, SurveyItem};
use crate::rules::DocPart;

/// The root keys of a survey document and the part of the permission matrix each holds.
pub(super) const PARTS: [(&str, DocPart); 10] = [
    ("kind", DocPart::Fixed),
    ("id", DocPart::Fixed),
    ("customer_id", DocPart::Fixed),
    ("survey_kind", DocPart::SurveyAnswers),
    ("ticket_id", DocPart::SurveyAnswers),
    ("taken_at", DocPart::SurveyAnswers),
    ("taken_by", DocPart::SurveyAnswers),
    ("respondent", DocPart::SurveyAnswers),
    ("items", DocPart::SurveyAnswers),
    ("comments", DocPart::SurveyAnswers),
];

impl Record for Survey {
    const KIND: DocKind = DocKind::Survey;

    fn entity(&self) -> &str {
        self.id.as_str()
    }

    fn check_bounds(&self) -> Result<(), DocError> {
        for (item, score) in &self.items {
            bounded_score(&format!("/items/{item}"), *score)?;
        }
        Ok(())
    }
}

/// The document id of a survey.
pub fn survey_doc_id(id: &SurveyId) -> DocId {
    record_doc_id::<Survey>(id.as_str())
}

/// One user action on a survey already taken (taking one creates its document).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "edit", rename_all = "snake_case")]
pub enum SurveyEdit {
    /// Correct the answers (the back office, e.g. after checking with the customer).
    Amend {
        /// Who answered.
        respondent: String,
        /// Scores per item.
        items: BTreeMap<SurveyItem, u8>,
        /// What the customer said.
        comments: String,
    },
}

impl RecordEdit for SurveyEdit {
    type Target = Survey;

    fn action(&self) -> &'static str {
        match self {
            SurveyEdit::Amend { .. } => "survey.amend",
        }
    }

    fn apply(&self, survey: &mut Survey) -> Result<(), DocError> {
        match self {
            SurveyEdit::Amend { respondent, items, comments } => {
                survey.respondent.clone_from(respondent);
                survey.items = items.clone();
                survey.comments.clone_from(comments);
            }
        }
        Ok(())
    }
}

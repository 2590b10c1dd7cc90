//! The `review/<YYYY-MM>` record document (ADR 0023): one monthly leadership review.
//!
//! Root keys: `held_on`, `attendees`, `findings` (minutes); `measures`.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::document::{DocId, DocKind};
use super::error::DocError;
use super::record::{Record, RecordEdit, edit_refused, record_doc_id};
use crate::model::{EntryId, Finding, LeadershipReview, Measure, MeasureClosing, ReviewId, UserId};
use crate::rules::DocPart;

/// The root keys of a review document and the part of the permission matrix each holds.
pub(super) const PARTS: [(&str, DocPart); 6] = [
    ("kind", DocPart::Fixed),
    ("id", DocPart::Fixed),
    ("held_on", DocPart::ReviewMinutes),
    ("attendees", DocPart::ReviewMinutes),
    ("findings", DocPart::ReviewMinutes),
    ("measures", DocPart::Measures),
];

impl Record for LeadershipReview {
    const KIND: DocKind = DocKind::Review;

    fn entity(&self) -> &str {
        self.id.as_str()
    }

    fn check_bounds(&self) -> Result<(), DocError> {
        Ok(())
    }
}

/// The document id of a review.
pub fn review_doc_id(id: &ReviewId) -> DocId {
    record_doc_id::<LeadershipReview>(id.as_str())
}

/// One action on a review; each becomes exactly one commit.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "edit", rename_all = "snake_case")]
pub enum ReviewEdit {
    /// Set the meeting's date and attendees.
    SetMeeting {
        /// The day the group met.
        held_on: NaiveDate,
        /// Attendees: user id → name.
        attendees: BTreeMap<UserId, String>,
    },
    /// Record a finding.
    AddFinding(Finding),
    /// Take a finding back out.
    RemoveFinding(EntryId),
    /// Record a decided measure.
    AddMeasure(Measure),
    /// Close an open measure; the caller has checked `rules::check_close_measure`.
    CloseMeasure {
        /// The measure.
        id: EntryId,
        /// Who, when and what was done.
        closing: MeasureClosing,
    },
}

impl RecordEdit for ReviewEdit {
    type Target = LeadershipReview;

    fn action(&self) -> &'static str {
        match self {
            ReviewEdit::SetMeeting { .. } => "review.set_meeting",
            ReviewEdit::AddFinding(_) => "review.add_finding",
            ReviewEdit::RemoveFinding(_) => "review.remove_finding",
            ReviewEdit::AddMeasure(_) => "review.add_measure",
            ReviewEdit::CloseMeasure { .. } => "review.close_measure",
        }
    }

    fn apply(&self, review: &mut LeadershipReview) -> Result<(), DocError> {
        let doc_id = review_doc_id(&review.id);
        match self {
            ReviewEdit::SetMeeting { held_on, attendees } => {
                review.held_on = *held_on;
                review.attendees = attendees.clone();
            }
            ReviewEdit::AddFinding(f) => {
                review.findings.insert(f.id.clone(), f.clone());
            }
            ReviewEdit::RemoveFinding(id) => {
                if review.findings.remove(id).is_none() {
                    return Err(edit_refused(&doc_id, format!("no finding {id}")));
                }
            }
            ReviewEdit::AddMeasure(m) => {
                review.measures.insert(m.id.clone(), m.clone());
            }
            ReviewEdit::CloseMeasure { id, closing } => {
                let Some(measure) = review.measures.get_mut(id) else {
                    return Err(edit_refused(&doc_id, format!("no measure {id}")));
                };
                if measure.closed.is_some() {
                    return Err(edit_refused(&doc_id, format!("measure {id} is already closed")));
                }
                measure.closed = Some(closing.clone());
            }
        }
        Ok(())
    }
}

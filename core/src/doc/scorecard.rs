//! The `scorecard/<user>-<period>` record document (ADR 0023): one person's scorecard.
//!
//! Root keys: `person`, `period` (fixed); `sales_target`; `ratings`; `published` (written by
//! the server only).

use super::document::{DocId, DocKind};
use super::error::DocError;
use super::record::{Record, RecordEdit, bounded, bounded_score, edit_refused, record_doc_id};
use crate::bounds::{ANNUAL_SALES, SATISFACTION};
use crate::model::{EntryId, PublishedScorecard, Rating, Scorecard, ScorecardId};
use crate::rules::DocPart;

/// The root keys of a scorecard document and the part of the permission matrix each holds.
pub(super) const PARTS: [(&str, DocPart); 7] = [
    ("kind", DocPart::Fixed),
    ("id", DocPart::Fixed),
    ("person", DocPart::Fixed),
    ("period", DocPart::Fixed),
    ("sales_target", DocPart::ScorecardTarget),
    ("ratings", DocPart::Ratings),
    ("published", DocPart::ScorecardFigures),
];

impl Record for Scorecard {
    const KIND: DocKind = DocKind::Scorecard;

    fn entity(&self) -> &str {
        self.id.as_str()
    }

    fn check_bounds(&self) -> Result<(), DocError> {
        bounded("/sales_target", &ANNUAL_SALES, self.sales_target)?;
        for (id, rating) in &self.ratings {
            bounded_score(&format!("/ratings/{id}/score"), rating.score)?;
        }
        if let Some(p) = &self.published {
            bounded("/published/total", &SATISFACTION, p.total.round())?;
        }
        Ok(())
    }
}

/// The document id of a scorecard.
pub fn scorecard_doc_id(id: &ScorecardId) -> DocId {
    record_doc_id::<Scorecard>(id.as_str())
}

/// One action on a scorecard; each becomes exactly one commit.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "edit", rename_all = "snake_case")]
pub enum ScorecardEdit {
    /// Set the period's sales target (the back office).
    SetTarget(rust_decimal::Decimal),
    /// Enter a rating (headquarters; the caller has checked `rules::check_rating`).
    AddRating(Rating),
    /// Take a rating back out (headquarters).
    RemoveRating(EntryId),
    /// Publish the figures computed by `rules::compute_scorecard` (the server).
    Publish(PublishedScorecard),
}

impl RecordEdit for ScorecardEdit {
    type Target = Scorecard;

    fn action(&self) -> &'static str {
        match self {
            ScorecardEdit::SetTarget(_) => "scorecard.set_target",
            ScorecardEdit::AddRating(_) => "scorecard.add_rating",
            ScorecardEdit::RemoveRating(_) => "scorecard.remove_rating",
            ScorecardEdit::Publish(_) => "scorecard.publish",
        }
    }

    fn apply(&self, card: &mut Scorecard) -> Result<(), DocError> {
        match self {
            ScorecardEdit::SetTarget(target) => card.sales_target = *target,
            ScorecardEdit::AddRating(rating) => {
                card.ratings.insert(rating.id.clone(), rating.clone());
            }
            ScorecardEdit::RemoveRating(id) => {
                if card.ratings.remove(id).is_none() {
                    return Err(edit_refused(
                        &scorecard_doc_id(&card.id),
                        format!("no rating {id}"),
                    ));
                }
            }
            ScorecardEdit::Publish(figures) => card.published = Some(figures.clone()),
        }
        Ok(())
    }
}

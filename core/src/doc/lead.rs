//! The `lead/<id>` record document (ADR 0023): a development lead.
//!
//! Root keys: `customer_id`, `identified_by`, `identified_at` (fixed); `title`, `owner`,
//! `criteria`, `expected_value` (details); `stage`; `history: { "<entry id>": StageChange }`
//! (append-only).

use super::document::{DocId, DocKind};
use super::error::DocError;
use super::record::{Record, RecordEdit, bounded, edit_refused, record_doc_id};
use crate::bounds::{ANNUAL_SALES, PAYMENT_RATIO_PCT};
use crate::model::{Lead, LeadCriteria, LeadId, StageChange, UserId};
use crate::rules::DocPart;

/// The root keys of a lead document and the part of the permission matrix each holds.
pub(super) const PARTS: [(&str, DocPart); 11] = [
    ("kind", DocPart::Fixed),
    ("id", DocPart::Fixed),
    ("customer_id", DocPart::Fixed),
    ("identified_by", DocPart::Fixed),
    ("identified_at", DocPart::Fixed),
    ("title", DocPart::LeadDetails),
    ("owner", DocPart::LeadDetails),
    ("criteria", DocPart::LeadDetails),
    ("expected_value", DocPart::LeadDetails),
    ("stage", DocPart::LeadStage),
    ("history", DocPart::LeadHistory),
];

impl Record for Lead {
    const KIND: DocKind = DocKind::Lead;

    fn entity(&self) -> &str {
        self.id.as_str()
    }

    fn check_bounds(&self) -> Result<(), DocError> {
        bounded("/expected_value", &ANNUAL_SALES, self.expected_value)?;
        if let Some(p) = self.criteria.expected_annual_purchase {
            bounded("/criteria/expected_annual_purchase", &ANNUAL_SALES, p)?;
        }
        if let Some(p) = self.criteria.profit_share_pct {
            bounded("/criteria/profit_share_pct", &PAYMENT_RATIO_PCT, p)?;
        }
        Ok(())
    }
}

/// The document id of a lead.
pub fn lead_doc_id(id: &LeadId) -> DocId {
    record_doc_id::<Lead>(id.as_str())
}

/// One user action on a lead; each becomes exactly one commit.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "edit", rename_all = "snake_case")]
pub enum LeadEdit {
    /// Change the title, owner, criteria or expected value.
    UpdateDetails {
        /// One-line description.
        title: String,
        /// The rep working it.
        owner: UserId,
        /// The candidate criteria.
        criteria: LeadCriteria,
        /// Expected contract value in CNY.
        expected_value: rust_decimal::Decimal,
    },
    /// Move to another stage; the caller has checked `rules::check_stage_change`.
    ChangeStage(StageChange),
}

impl RecordEdit for LeadEdit {
    type Target = Lead;

    fn action(&self) -> &'static str {
        match self {
            LeadEdit::UpdateDetails { .. } => "lead.update_details",
            LeadEdit::ChangeStage(_) => "lead.change_stage",
        }
    }

    fn apply(&self, lead: &mut Lead) -> Result<(), DocError> {
        match self {
            LeadEdit::UpdateDetails { title, owner, criteria, expected_value } => {
                lead.title.clone_from(title);
                lead.owner = owner.clone();
                lead.criteria = criteria.clone();
                lead.expected_value = *expected_value;
            }
            LeadEdit::ChangeStage(change) => {
                if lead.history.contains_key(&change.id) {
                    return Err(edit_refused(
                        &lead_doc_id(&lead.id),
                        "stage change already recorded",
                    ));
                }
                lead.stage = change.to;
                lead.history.insert(change.id.clone(), change.clone());
            }
        }
        Ok(())
    }
}

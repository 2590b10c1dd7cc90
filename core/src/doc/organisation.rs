//! The `organisation/<id>` record document (ADR 0023): one commissioning organisation.
//!
//! Root keys: `project_id` (fixed); `name`, `analysis`, `offer`, `status` (profile);
//! `approved_by_gm`, `approved_by_chairman` (the choice); `price` (approved once);
//! `agreement`; `instalments`; `collections`, `reconciliations`, `loan_switches` (finance's);
//! `reminders`.

use super::document::{DocId, DocKind};
use super::error::DocError;
use super::record::{Record, RecordEdit, bounded, edit_refused, record_doc_id};
use crate::bounds::{ANNUAL_SALES, LOAN_SWITCH_FEE, PAYMENT_RATIO_PCT, RECEIPT_AMOUNT, UNIT_PRICE};
use crate::model::{
    Agreement, CandidateOffer, Collection, Instalment, LoanSwitch, Organisation,
    OrganisationAnalysis, OrganisationId, OrganisationPrice, OrganisationStatus, Reconciliation,
    Reminder, Signoff,
};
use crate::rules::DocPart;

/// The root keys of an organisation document and the part of the permission matrix each holds.
pub(super) const PARTS: [(&str, DocPart); 16] = [
    ("kind", DocPart::Fixed),
    ("id", DocPart::Fixed),
    ("project_id", DocPart::Fixed),
    ("name", DocPart::OrganisationProfile),
    ("analysis", DocPart::OrganisationProfile),
    ("offer", DocPart::OrganisationProfile),
    ("status", DocPart::OrganisationProfile),
    ("approved_by_gm", DocPart::ChoiceApprovals),
    ("approved_by_chairman", DocPart::ChoiceApprovals),
    ("price", DocPart::OrganisationPrice),
    ("agreement", DocPart::Agreement),
    ("instalments", DocPart::Instalments),
    ("collections", DocPart::Collections),
    ("reconciliations", DocPart::Collections),
    ("loan_switches", DocPart::Collections),
    ("reminders", DocPart::Reminders),
];

impl Record for Organisation {
    const KIND: DocKind = DocKind::Organisation;

    fn entity(&self) -> &str {
        self.id.as_str()
    }

    fn check_bounds(&self) -> Result<(), DocError> {
        let o = &self.offer;
        if o.accepted_price_per_m2 != rust_decimal::Decimal::ZERO {
            bounded("/offer/accepted_price_per_m2", &UNIT_PRICE, o.accepted_price_per_m2)?;
        }
        bounded("/offer/payment_ratio_pct", &PAYMENT_RATIO_PCT, o.payment_ratio_pct)?;
        bounded("/offer/owner_occupier_pct", &PAYMENT_RATIO_PCT, o.owner_occupier_pct)?;
        if o.resource_exchange > 10 {
            return Err(DocError::InvalidField {
                path: "/offer/resource_exchange".into(),
                expected: "score 0–10",
            });
        }
        if let Some(p) = &self.price {
            bounded("/price/basis_per_m2", &UNIT_PRICE, p.basis_per_m2)?;
            bounded("/price/price_per_m2", &UNIT_PRICE, p.price_per_m2)?;
            bounded("/price/payment_ratio_pct", &PAYMENT_RATIO_PCT, p.payment_ratio_pct)?;
        }
        for (id, i) in &self.instalments {
            bounded(&format!("/instalments/{id}/amount"), &RECEIPT_AMOUNT, i.amount)?;
        }
        for (id, c) in &self.collections {
            bounded(&format!("/collections/{id}/amount"), &RECEIPT_AMOUNT, c.amount)?;
        }
        for (id, r) in &self.reconciliations {
            bounded(&format!("/reconciliations/{id}/bank_balance"), &ANNUAL_SALES, r.bank_balance)?;
            bounded(
                &format!("/reconciliations/{id}/receipts_total"),
                &ANNUAL_SALES,
                r.receipts_total,
            )?;
        }
        for (id, l) in &self.loan_switches {
            bounded(&format!("/loan_switches/{id}/fee"), &LOAN_SWITCH_FEE, l.fee)?;
        }
        Ok(())
    }
}

/// The document id of an organisation.
pub fn organisation_doc_id(id: &OrganisationId) -> DocId {
    record_doc_id::<Organisation>(id.as_str())
}

/// Who approves the choice of an organisation (001 六: 报总经理、董事长审批).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChoiceApprover {
    /// 总经理.
    GeneralManager,
    /// 董事长.
    Chairman,
}

/// One action on an organisation; each becomes exactly one commit.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "edit", rename_all = "snake_case")]
pub enum OrganisationEdit {
    /// Update the name, analysis and offer.
    UpdateProfile {
        /// Name.
        name: String,
        /// The analysis.
        analysis: OrganisationAnalysis,
        /// The offer.
        offer: CandidateOffer,
    },
    /// Move to another status; the caller has checked the shortlist and the choice.
    SetStatus(OrganisationStatus),
    /// Record the GM's or the chairman's approval of the choice.
    ApproveChoice {
        /// Who approves.
        approver: ChoiceApprover,
        /// The signature.
        signoff: Signoff,
    },
    /// Record the one price approval; the caller has checked `rules::check_price_approval`.
    ApprovePrice(OrganisationPrice),
    /// Write the agreement's clauses, checks and signing.
    SetAgreement(Agreement),
    /// Add or change an amount due.
    PutInstalment(Instalment),
    /// Record money received (finance).
    RecordCollection(Collection),
    /// Record a reconciliation (finance).
    RecordReconciliation(Reconciliation),
    /// Record a dunning reminder.
    RecordReminder(Reminder),
    /// Record a loan-switch fee (finance); the caller has checked `rules::check_loan_switch_fee`.
    RecordLoanSwitch(LoanSwitch),
}

impl RecordEdit for OrganisationEdit {
    type Target = Organisation;

    fn action(&self) -> &'static str {
        match self {
            OrganisationEdit::UpdateProfile { .. } => "organisation.update_profile",
            OrganisationEdit::SetStatus(_) => "organisation.set_status",
            OrganisationEdit::ApproveChoice { .. } => "organisation.approve_choice",
            OrganisationEdit::ApprovePrice(_) => "organisation.approve_price",
            OrganisationEdit::SetAgreement(_) => "organisation.set_agreement",
            OrganisationEdit::PutInstalment(_) => "organisation.put_instalment",
            OrganisationEdit::RecordCollection(_) => "organisation.record_collection",
            OrganisationEdit::RecordReconciliation(_) => "organisation.record_reconciliation",
            OrganisationEdit::RecordReminder(_) => "organisation.record_reminder",
            OrganisationEdit::RecordLoanSwitch(_) => "organisation.record_loan_switch",
        }
    }

    fn apply(&self, org: &mut Organisation) -> Result<(), DocError> {
        match self {
            OrganisationEdit::UpdateProfile { name, analysis, offer } => {
                org.name.clone_from(name);
                org.analysis = analysis.clone();
                org.offer = offer.clone();
            }
            OrganisationEdit::SetStatus(status) => org.status = *status,
            OrganisationEdit::ApproveChoice { approver, signoff } => match approver {
                ChoiceApprover::GeneralManager => org.approved_by_gm = Some(signoff.clone()),
                ChoiceApprover::Chairman => org.approved_by_chairman = Some(signoff.clone()),
            },
            OrganisationEdit::ApprovePrice(price) => {
                if org.price.is_some() {
                    return Err(edit_refused(
                        &organisation_doc_id(&org.id),
                        "the organisation's price is already approved (one approval each)",
                    ));
                }
                org.price = Some(price.clone());
            }
            OrganisationEdit::SetAgreement(a) => org.agreement = a.clone(),
            OrganisationEdit::PutInstalment(i) => {
                org.instalments.insert(i.id.clone(), i.clone());
            }
            OrganisationEdit::RecordCollection(c) => {
                org.collections.insert(c.id.clone(), c.clone());
            }
            OrganisationEdit::RecordReconciliation(r) => {
                org.reconciliations.insert(r.id.clone(), r.clone());
            }
            OrganisationEdit::RecordReminder(r) => {
                org.reminders.insert(r.id.clone(), r.clone());
            }
            OrganisationEdit::RecordLoanSwitch(l) => {
                org.loan_switches.insert(l.id.clone(), l.clone());
            }
        }
        Ok(())
    }
}

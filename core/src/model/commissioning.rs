//! A commissioning organisation (委建房单位, 001 六/七/十/十一): the candidate's analysis and
//! offer, the choice and its approvals, the one price approval, the agreement's required
//! clauses and the collections under the contract.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::common::{EntryId, OrganisationId, ProjectId, UserId, vocabulary};

/// The analysis of a candidate (001 六, 客户分析模型).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganisationAnalysis {
    /// First contacts and their results.
    pub first_contacts: String,
    /// How far the organisation accepts the commissioning model.
    pub model_acceptance: String,
    /// Projects it took before, where and at what price.
    pub previous_projects: String,
    /// Our project's strengths and weaknesses for it.
    pub strengths_weaknesses: String,
    /// Income level and present housing of the participating staff.
    pub staff_income_and_housing: String,
    /// The price range it may accept.
    pub price_range: String,
}

/// What a candidate offers: the four ranking criteria of 001 六, in ranking order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CandidateOffer {
    /// 1. The highest price per m² it accepts, CNY.
    pub accepted_price_per_m2: Decimal,
    /// 2. The payment ratio it accepts, percent.
    pub payment_ratio_pct: Decimal,
    /// 3. Resource exchange offered, scored 0–10 (0: none).
    pub resource_exchange: u8,
    /// 3'. What the exchange is.
    pub resource_exchange_note: String,
    /// 4. Share of owner-occupiers among the participating staff, percent.
    pub owner_occupier_pct: Decimal,
}

/// Where a candidate stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrganisationStatus {
    /// Being analysed.
    Candidate,
    /// Sent to the negotiation group.
    Negotiating,
    /// Chosen (approved by the GM and the chairman).
    Chosen,
    /// Not chosen.
    Rejected,
}
vocabulary!(OrganisationStatus, "organisation status", {
    Candidate => "candidate", Negotiating => "negotiating", Chosen => "chosen",
    Rejected => "rejected"
});

/// A signature: who and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signoff {
    /// Who signed.
    pub by: UserId,
    /// When.
    pub at: DateTime<Utc>,
}

/// How a price was set (001 七.(一)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PricingMethod {
    /// 盲目定价: a share of comparable projects nearby.
    Blind,
    /// 经验定价: total cost per m² plus a margin for the unforeseen.
    Experience,
}
vocabulary!(PricingMethod, "pricing method", { Blind => "blind", Experience => "experience" });

/// The one price approval an organisation gets (001 七.(三)5).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganisationPrice {
    /// How the reference price was set.
    pub method: PricingMethod,
    /// The basis: comparable projects' price per m² (blind) or total cost per m² (experience).
    pub basis_per_m2: Decimal,
    /// The approved average price per m².
    pub price_per_m2: Decimal,
    /// The approved payment ratio, percent.
    pub payment_ratio_pct: Decimal,
    /// Who approved and when.
    pub approved: Signoff,
}

/// The agreement's required clauses (001 十一) and its signing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agreement {
    /// Buyers on the list, each with name and ID number (the list itself is the event's).
    pub buyers_listed: u32,
    /// The list checked by audit (审计部).
    pub list_checked_by_audit: Option<Signoff>,
    /// The list checked by finance.
    pub list_checked_by_finance: Option<Signoff>,
    /// The list checked by a lawyer.
    pub list_checked_by_lawyer: Option<Signoff>,
    /// Selection period start.
    pub selection_from: Option<NaiveDate>,
    /// Selection period end (销售截止期间).
    pub selection_until: Option<NaiveDate>,
    /// The date the money is to be used by (用款时间).
    pub payment_due_on: Option<NaiveDate>,
    /// Whether the renaming rule (§7's fee or the relationships allowed) is written in.
    pub renaming_rule: bool,
    /// The signing.
    pub signed: Option<Signoff>,
}

/// An amount due under the contract.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instalment {
    /// Stable id.
    pub id: EntryId,
    /// Due date.
    pub due_on: NaiveDate,
    /// Amount due in CNY.
    pub amount: Decimal,
    /// What it is for.
    pub note: String,
}

/// Money received into the co-managed account, as finance recorded it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Collection {
    /// Stable id.
    pub id: EntryId,
    /// Day received.
    pub received_on: NaiveDate,
    /// Amount in CNY.
    pub amount: Decimal,
    /// The organisation's receipt number.
    pub receipt_no: String,
    /// Who recorded it (finance).
    pub by: UserId,
}

/// Finance's comparison of the bank balance with the receipts (001 十.(二)2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reconciliation {
    /// Stable id.
    pub id: EntryId,
    /// Day of the balance.
    pub on: NaiveDate,
    /// The bank's balance in CNY.
    pub bank_balance: Decimal,
    /// Receipts counted up to that day in CNY.
    pub receipts_total: Decimal,
    /// Who (finance).
    pub by: UserId,
    /// Explanation of any difference.
    pub note: String,
}

/// A dunning reminder sent for an overdue instalment (催款).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reminder {
    /// Stable id.
    pub id: EntryId,
    /// The instalment chased.
    pub instalment_id: EntryId,
    /// When.
    pub on: NaiveDate,
    /// Who chased (key-account department).
    pub by: UserId,
    /// What was said and answered.
    pub note: String,
}

/// A buyer's switch from full payment to a loan and its fee (001 十.(二)4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoanSwitch {
    /// Stable id.
    pub id: EntryId,
    /// The buyer's name.
    pub buyer: String,
    /// Fee in CNY (policy range).
    pub fee: Decimal,
    /// Day.
    pub on: NaiveDate,
}

/// A commissioning organisation for a project: one `organisation/<id>` document, kept by the
/// back office.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organisation {
    /// Stable id.
    pub id: OrganisationId,
    /// The project it would commission units of.
    pub project_id: ProjectId,
    /// Name.
    pub name: String,
    /// The analysis.
    pub analysis: OrganisationAnalysis,
    /// The offer (ranking criteria).
    pub offer: CandidateOffer,
    /// Where it stands.
    pub status: OrganisationStatus,
    /// The general manager's approval of the choice.
    pub approved_by_gm: Option<Signoff>,
    /// The chairman's approval of the choice.
    pub approved_by_chairman: Option<Signoff>,
    /// The one price approval.
    pub price: Option<OrganisationPrice>,
    /// The agreement.
    pub agreement: Agreement,
    /// Amounts due.
    pub instalments: BTreeMap<EntryId, Instalment>,
    /// Money received.
    pub collections: BTreeMap<EntryId, Collection>,
    /// Finance's reconciliations.
    pub reconciliations: BTreeMap<EntryId, Reconciliation>,
    /// Dunning reminders.
    pub reminders: BTreeMap<EntryId, Reminder>,
    /// Loan-switch fees.
    pub loan_switches: BTreeMap<EntryId, LoanSwitch>,
}

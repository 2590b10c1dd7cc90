//! Commissioning organisations (委建单位, RULES.md §12): candidates per project in ranking
//! order, the collections due with what is overdue first, and the back office's actions —
//! collections, reconciliations and loan-switch fees by finance, the one price approval and
//! dunning reminders by headquarters.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use kam_core::Policy;
use kam_core::doc::OrganisationEdit;
use kam_core::model::{
    CandidateOffer, Collection, EntryId, LoanSwitch, Organisation, OrganisationId,
    OrganisationPrice, OrganisationStatus, PricingMethod, ProjectId, Reconciliation, Reminder,
    Role, Signoff, UserId,
};
use kam_core::rules::{self, PriceApprovalRefusal};
use rust_decimal::Decimal;
use serde::Serialize;

use super::decisions::{Decider, write_and_announce};
use super::records;
use crate::db::ManagementQueries;
use crate::db::management::{InstalmentRow, OrganisationDetail, OrganisationRow};
use crate::error::ServerError;
use crate::services::Services;

/// One candidate with its place in its project's ranking (1 = best).
#[derive(Clone, Debug, Serialize)]
pub struct RankedCandidate {
    /// 1-based rank by the four criteria.
    pub rank: usize,
    /// The organisation.
    #[serde(flatten)]
    pub organisation: OrganisationRow,
}

/// An instalment with what today makes of it.
#[derive(Clone, Debug, Serialize)]
pub struct DueLine {
    /// The instalment as applied.
    #[serde(flatten)]
    pub instalment: InstalmentRow,
    /// The organisation's name.
    pub name: String,
    /// Days past due (0 when not yet due).
    pub days_overdue: i64,
    /// Whether a reminder is due today.
    pub reminder_due: bool,
}

/// One organisation's page.
#[derive(Clone, Debug, Serialize)]
pub struct OrganisationView {
    /// The organisation.
    #[serde(flatten)]
    pub detail: OrganisationDetail,
    /// Its instalments with days overdue and reminders due.
    pub due: Vec<DueLine>,
    /// Total due, received (applied) and outstanding.
    pub totals: [Decimal; 3],
}

fn dec(text: &str) -> Decimal {
    text.parse().unwrap_or(Decimal::ZERO)
}

/// The candidate a row stands for, as far as ranking looks at it (the offer and the id).
fn as_candidate(row: &OrganisationRow) -> Organisation {
    Organisation {
        id: OrganisationId::from(row.organisation_id.as_str()),
        project_id: ProjectId::from(row.project_id.as_str()),
        name: row.name.clone(),
        analysis: Default::default(),
        offer: CandidateOffer {
            accepted_price_per_m2: dec(&row.accepted_price_per_m2),
            payment_ratio_pct: dec(&row.payment_ratio_pct),
            resource_exchange: u8::try_from(row.resource_exchange).unwrap_or(u8::MAX),
            resource_exchange_note: String::new(),
            owner_occupier_pct: dec(&row.owner_occupier_pct),
        },
        status: OrganisationStatus::Candidate,
        approved_by_gm: None,
        approved_by_chairman: None,
        price: None,
        agreement: Default::default(),
        instalments: BTreeMap::new(),
        collections: BTreeMap::new(),
        reconciliations: BTreeMap::new(),
        reminders: BTreeMap::new(),
        loan_switches: BTreeMap::new(),
    }
}

/// One project's rows in the order of `rules::rank_candidates` (001 六's four criteria).
pub(super) fn ranked(rows: Vec<OrganisationRow>) -> Vec<RankedCandidate> {
    let candidates: Vec<Organisation> = rows.iter().map(as_candidate).collect();
    let mut by_id: BTreeMap<String, OrganisationRow> =
        rows.into_iter().map(|r| (r.organisation_id.clone(), r)).collect();
    rules::rank_candidates(&candidates)
        .into_iter()
        .filter_map(|c| {
            let organisation = by_id.remove(c.organisation_id.as_str())?;
            Some(RankedCandidate {
                rank: usize::try_from(c.rank).unwrap_or(usize::MAX),
                organisation,
            })
        })
        .collect()
}

/// What today makes of an instalment: days overdue and whether a reminder is due (past the
/// policy's grace, and no reminder within its interval).
pub(super) fn due_line(
    row: InstalmentRow,
    name: String,
    policy: &Policy,
    today: NaiveDate,
) -> DueLine {
    let due_on = row.due_on.parse::<NaiveDate>().unwrap_or(today);
    let days_overdue = if dec(&row.outstanding) > Decimal::ZERO {
        today.signed_duration_since(due_on).num_days().max(0)
    } else {
        0
    };
    let c = &policy.commissioning;
    let past_grace = days_overdue > i64::from(c.dunning_after_days);
    let last = row.last_reminder_on.as_deref().and_then(|d| d.parse::<NaiveDate>().ok());
    let quiet = last.is_none_or(|l| {
        today.signed_duration_since(l).num_days() >= i64::from(c.reminder_interval_days)
    });
    DueLine { instalment: row, name, days_overdue, reminder_due: past_grace && quiet }
}

fn overdue_first(lines: &mut [DueLine]) {
    lines.sort_by(|a, b| {
        b.days_overdue
            .cmp(&a.days_overdue)
            .then_with(|| a.instalment.due_on.cmp(&b.instalment.due_on))
            .then_with(|| a.instalment.organisation_id.cmp(&b.instalment.organisation_id))
    });
}

/// One organisation's page at `now`.
pub fn organisation(
    db: &dyn ManagementQueries,
    policy: &Policy,
    now: DateTime<Utc>,
    organisation_id: &str,
) -> Result<OrganisationView, ServerError> {
    let detail = db.organisation(organisation_id)?.ok_or(ServerError::NotFound)?;
    let today = policy.business_date(now);
    let name = detail.organisation.name.clone();
    let mut totals = [Decimal::ZERO; 3];
    for i in &detail.instalments {
        for (total, value) in totals.iter_mut().zip([&i.amount, &i.received, &i.outstanding]) {
            *total = total.checked_add(dec(value)).unwrap_or(*total);
        }
    }
    let mut due: Vec<DueLine> = detail
        .instalments
        .iter()
        .cloned()
        .map(|r| due_line(r, name.clone(), policy, today))
        .collect();
    overdue_first(&mut due);
    Ok(OrganisationView { detail, due, totals })
}

/// A back-office action on an organisation.
#[derive(Clone, Debug)]
pub enum OrganisationAction {
    /// Money received (finance).
    Collection {
        /// Day received.
        received_on: NaiveDate,
        /// Amount in CNY.
        amount: Decimal,
        /// The organisation's receipt number.
        receipt_no: String,
    },
    /// A reconciliation of the bank balance with the receipts (finance).
    Reconciliation {
        /// Day of the balance.
        on: NaiveDate,
        /// The bank's balance.
        bank_balance: Decimal,
        /// Receipts counted up to that day.
        receipts_total: Decimal,
        /// Explanation of any difference.
        note: String,
    },
    /// A loan-switch fee (finance).
    LoanSwitch {
        /// The buyer's name.
        buyer: String,
        /// The fee.
        fee: Decimal,
        /// Day.
        on: NaiveDate,
    },
    /// The one price approval (headquarters).
    ApprovePrice {
        /// How the reference price was set.
        method: PricingMethod,
        /// Comparable projects' price (blind) or total cost (experience) per m².
        basis_per_m2: Decimal,
        /// The approved price per m².
        price_per_m2: Decimal,
        /// The approved payment ratio, percent.
        payment_ratio_pct: Decimal,
    },
    /// A dunning reminder for an instalment (headquarters).
    Reminder {
        /// The instalment chased.
        instalment_id: String,
        /// Day.
        on: NaiveDate,
        /// What was said and answered.
        note: String,
    },
}

const FINANCE: &[Role] = &[Role::Finance, Role::Admin];
const HQ: &[Role] = &[Role::Hq, Role::Admin];

/// Checks the action against the role and the policy and turns it into the document's edit.
fn edit_for(
    action: OrganisationAction,
    by: Decider<'_>,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<OrganisationEdit, ServerError> {
    let invalid = |field, reason: &str| ServerError::Invalid { field, reason: reason.into() };
    Ok(match action {
        OrganisationAction::Collection { received_on, amount, receipt_no } => {
            let user = records::allowed(by, FINANCE, "collections are recorded by finance")?;
            if amount <= Decimal::ZERO {
                return Err(invalid("amount", "must be more than 0"));
            }
            OrganisationEdit::RecordCollection(Collection {
                id: EntryId::new(),
                received_on,
                amount,
                receipt_no,
                by: UserId(user),
            })
        }
        OrganisationAction::Reconciliation { on, bank_balance, receipts_total, note } => {
            let user = records::allowed(by, FINANCE, "reconciliations are recorded by finance")?;
            OrganisationEdit::RecordReconciliation(Reconciliation {
                id: EntryId::new(),
                on,
                bank_balance,
                receipts_total,
                by: UserId(user),
                note,
            })
        }
        OrganisationAction::LoanSwitch { buyer, fee, on } => {
            records::allowed(by, FINANCE, "loan-switch fees are recorded by finance")?;
            let switch = LoanSwitch { id: EntryId::new(), buyer, fee, on };
            rules::check_loan_switch(&switch, policy)
                .map_err(|e| ServerError::Invalid { field: "fee", reason: e.to_string() })?;
            OrganisationEdit::RecordLoanSwitch(switch)
        }
        OrganisationAction::ApprovePrice {
            method,
            basis_per_m2,
            price_per_m2,
            payment_ratio_pct,
        } => {
            let user = records::allowed(by, HQ, "prices are approved by headquarters")?;
            OrganisationEdit::ApprovePrice(OrganisationPrice {
                method,
                basis_per_m2,
                price_per_m2,
                payment_ratio_pct,
                approved: Signoff { by: UserId(user), at: now },
            })
        }
        OrganisationAction::Reminder { instalment_id, on, note } => {
            let user = records::allowed(by, HQ, "reminders are recorded by headquarters")?;
            OrganisationEdit::RecordReminder(Reminder {
                id: EntryId::new(),
                instalment_id: EntryId(instalment_id),
                on,
                by: UserId(user),
                note,
            })
        }
    })
}

/// Checks what only the record knows: the one price approval (`rules::check_price_approval`),
/// a reminder for an instalment it has.
fn check_against(
    org: &Organisation,
    edit: &OrganisationEdit,
    policy: &Policy,
) -> Result<(), ServerError> {
    match edit {
        OrganisationEdit::ApprovePrice(price) => rules::check_price_approval(org, price, policy)
            .map_err(|e| match e {
                PriceApprovalRefusal::AlreadyApproved { .. } => {
                    ServerError::Conflict(e.to_string())
                }
                _ => ServerError::Invalid { field: "price", reason: e.to_string() },
            }),
        OrganisationEdit::RecordReminder(r) if !org.instalments.contains_key(&r.instalment_id) => {
            Err(ServerError::NotFound)
        }
        _ => Ok(()),
    }
}

/// Records `action` on organisation `organisation_id`, then tells devices and the projector.
pub async fn act(
    services: &Services,
    by: Decider<'_>,
    organisation_id: String,
    action: OrganisationAction,
) -> Result<(), ServerError> {
    let user = by.user_id.to_owned();
    let policy = services.with_store(|store| Ok(store.policy().clone())).await?;
    let edit = edit_for(action, by, &policy, Utc::now())?;
    write_and_announce(services, move |tx, docs, policy| {
        let org: Organisation =
            records::read(tx, docs, &organisation_id)?.ok_or(ServerError::NotFound)?;
        check_against(&org, &edit, policy)?;
        let (changed, _) =
            records::apply(tx, docs, &organisation_id, None, &edit, &user, Utc::now())?;
        Ok(Some(changed))
    })
    .await
}

#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;
    use kam_core::model::Agreement;

    /// A candidate organisation with an offer and nothing else.
    pub(crate) fn organisation(id: &str) -> Organisation {
        Organisation {
            id: OrganisationId::from(id),
            project_id: ProjectId::from("p1"),
            name: format!("单位{id}"),
            analysis: Default::default(),
            offer: CandidateOffer {
                accepted_price_per_m2: Decimal::new(8000, 0),
                payment_ratio_pct: Decimal::new(60, 0),
                resource_exchange: 3,
                resource_exchange_note: String::new(),
                owner_occupier_pct: Decimal::new(70, 0),
            },
            status: OrganisationStatus::Candidate,
            approved_by_gm: None,
            approved_by_chairman: None,
            price: None,
            agreement: Agreement::default(),
            instalments: BTreeMap::new(),
            collections: BTreeMap::new(),
            reconciliations: BTreeMap::new(),
            reminders: BTreeMap::new(),
            loan_switches: BTreeMap::new(),
        }
    }
}

//! A customer's protected fields (owners, classification, credit) and its collections
//! (annual sales, contacts, visits, late payments).

use kam_core::doc::{
    CustomerEdit, CustomerEntries, DocKind, Document, ProtectedCustomerFields, Touched,
    edit_customer, edit_customer_batch, read_customer_entries, read_protected_fields,
    read_protected_fields_at,
};
use kam_core::model::{Classification, CreditTerms, UserId};
use kam_core::rules::{self, DocPart, Write, WriteContext, WriteRule};
use serde::Serialize;

use super::compare::check_entries;
use super::{Check, Violation, violation};
use crate::auth::Principal;
use crate::error::ServerError;

/// A customer's authorised values before a merge.
#[derive(Clone, Debug)]
pub(super) struct Before {
    /// Owners, classification and credit terms.
    pub(super) protected: ProtectedCustomerFields,
    /// The entries of its collections that the merge touched.
    pub(super) entries: CustomerEntries,
}

/// Reads what the server held at `heads`: the protected fields, and the entries `touched`
/// names (not the rest of an account's visits).
pub(super) fn capture(
    doc: &Document,
    heads: &[kam_core::doc::ChangeHash],
    touched: &Touched,
) -> Result<Before, ServerError> {
    Ok(Before {
        protected: read_protected_fields_at(doc, heads)?,
        entries: read_customer_entries(doc, Some(heads), touched)?,
    })
}

/// What a new customer is compared with: owned by its creator, unclassified, without credit
/// terms, and with nothing in its collections. What the creator may put in beyond that is the
/// matrix's call (a rep may record the lead's sales, contacts and visits).
pub(super) fn baseline(author: &Principal) -> Before {
    Before {
        protected: ProtectedCustomerFields {
            owners: vec![UserId::from(author.user_id.as_str())],
            classification: Classification::default(),
            credit: CreditTerms::default(),
        },
        entries: CustomerEntries::default(),
    }
}

/// Restores every part of the customer the merge touched that the author may not write to
/// its authorised value, one server commit per field group or collection.
pub(super) fn enforce(
    doc: &mut Document,
    before: &Before,
    touched: &Touched,
    check: &Check<'_>,
) -> Result<Vec<Violation>, ServerError> {
    let parts = touched.parts(DocKind::Customer);
    let mut found = Vec::new();
    if [DocPart::Owners, DocPart::Classification, DocPart::Credit].iter().any(|p| parts.contains(p))
    {
        enforce_protected(doc, &before.protected, check, &mut found)?;
    }
    let collections =
        [DocPart::AnnualSales, DocPart::Contacts, DocPart::Visits, DocPart::LatePayments];
    if collections.iter().any(|p| parts.contains(p)) {
        let after = read_customer_entries(doc, None, touched)?;
        enforce_entries(doc, before, &after, check, &mut found)?;
    }
    Ok(found)
}

/// Owners, classification and credit: each restored whole, in its own commit.
fn enforce_protected(
    doc: &mut Document,
    authorised: &ProtectedCustomerFields,
    check: &Check<'_>,
    found: &mut Vec<Violation>,
) -> Result<(), ServerError> {
    let after = read_protected_fields(doc)?;
    let (a, w) = (authorised, &after);
    let owners = CustomerEdit::SetOwners(a.owners.clone());
    restore_group(doc, check, found, DocPart::Owners, &a.owners, &w.owners, owners)?;
    let classification = CustomerEdit::SetClassification(a.classification.clone());
    let part = DocPart::Classification;
    restore_group(doc, check, found, part, &a.classification, &w.classification, classification)?;
    let credit = CustomerEdit::SetCredit(a.credit.clone());
    restore_group(doc, check, found, DocPart::Credit, &a.credit, &w.credit, credit)
}

/// Restores one protected group to `authorised` with `edit` if the author wrote `written`
/// there without the right to.
fn restore_group<T: PartialEq + Serialize>(
    doc: &mut Document,
    check: &Check<'_>,
    found: &mut Vec<Violation>,
    part: DocPart,
    authorised: &T,
    written: &T,
    edit: CustomerEdit,
) -> Result<(), ServerError> {
    if authorised == written {
        return Ok(());
    }
    let Err(rule) = check.judge(part, check.group_write(), false) else { return Ok(()) };
    // A rep's new customer is theirs: tier and grade are proposals until approved, and
    // credit is the back office's decision.
    let (field, action) = match rule {
        WriteRule::NewCustomerOwnedByCreator => ("/owners", "authority.set_creator_owner"),
        WriteRule::OwnersHqOnly => ("/owners", "authority.restore_owners"),
        WriteRule::ClassificationFinanceHqOnly => {
            ("/classification", "authority.restore_classification")
        }
        _ => ("/credit", "authority.restore_credit"),
    };
    found.push(violation(field, rule.code(), authorised, written));
    Ok(edit_customer(doc, &edit, &check.meta(action))?)
}

/// Annual sales, contacts, visits and late payments, entry by entry; one commit per
/// collection.
fn enforce_entries(
    doc: &mut Document,
    before: &Before,
    after: &CustomerEntries,
    check: &Check<'_>,
    found: &mut Vec<Violation>,
) -> Result<(), ServerError> {
    let owns = before.protected.owners.iter().any(|o| o.as_str() == check.author.user_id);
    let ctx = WriteContext { creating: check.creating, owns_customer: owns, on_open_desk: false };
    let judge = |part| move |write: Write| rules::check_write(check.role, part, write, ctx);
    let (old, new) = (&before.entries, after);

    let sales = check_entries(
        "/annual_sales",
        &old.annual_sales,
        &new.annual_sales,
        judge(DocPart::AnnualSales),
        |year, authorised| match authorised {
            Some(amount) => CustomerEdit::SetAnnualSales { year: *year, amount: *amount },
            None => CustomerEdit::RemoveAnnualSales { year: *year },
        },
    );
    let contacts = check_entries(
        "/contacts",
        &old.contacts,
        &new.contacts,
        judge(DocPart::Contacts),
        |id, authorised| match authorised {
            Some(c) => CustomerEdit::UpsertContact(c.clone()),
            None => CustomerEdit::RemoveContact(id.clone()),
        },
    );
    let visits = check_entries(
        "/visits",
        &old.visits,
        &new.visits,
        judge(DocPart::Visits),
        |id, authorised| match authorised {
            Some(v) => CustomerEdit::UpsertVisit(v.clone()),
            None => CustomerEdit::RemoveVisit(id.clone()),
        },
    );
    let late = check_entries(
        "/late_payments",
        &old.late_payments,
        &new.late_payments,
        judge(DocPart::LatePayments),
        |id, authorised| match authorised {
            Some(l) => CustomerEdit::UpsertLatePayment(l.clone()),
            None => CustomerEdit::RemoveLatePayment(id.clone()),
        },
    );
    for (findings, action) in [
        (sales, "authority.restore_annual_sales"),
        (contacts, "authority.restore_contacts"),
        (visits, "authority.restore_visits"),
        (late, "authority.restore_late_payments"),
    ] {
        findings
            .settle(found, |edits| Ok(edit_customer_batch(doc, edits, &check.meta(action))?))?;
    }
    Ok(())
}

#[cfg(test)]
#[path = "customer_tests.rs"]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)]
mod tests;

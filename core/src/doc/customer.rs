//! The `customer/<id>` document: profile, classification, credit, owners, contacts, visits
//! and late payments.
//!
//! Layout (schema 1):
//! ```text
//! { schema, kind: "customer", id, created_at,
//!   profile: { name, industry, region, address, leading_brand, notes },
//!   classification: { strategic, tier, grade, score },          // finance / HQ only
//!   credit: { credit_grade, credit_limit, payment_terms },       // finance / HQ only
//!   annual_sales: { "<year>": "<decimal>" }, profit_contribution,
//!   owners: { "<user id>": true },
//!   contacts: { "<contact id>": { name, title, phone, email, primary } },
//!   visits: { "<visit id>": { level, date, visitor, topics[], personnel_changes, problems,
//!                             demand, competitor_activity } },
//!   late_payments: { "<id>": { reference, due_on, paid_on } } }
//! ```
//! Who may write which part is the permission matrix's (`rules::write_permissions`).

use std::collections::BTreeMap;

use automerge::{ActorId, AutoCommit, ChangeHash, ObjId, ROOT, ReadDoc};
use chrono::{DateTime, NaiveDate, Utc};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::codec::{MapReader, MapWriter, child_map, read_entries, read_selected};
use super::document::{DocId, DocKind, Document, EditMeta};
use super::error::DocError;
use super::parts::{Entries, Touched};
use crate::bounds::{ANNUAL_SALES, CREDIT_LIMIT, NET_DAYS, PROFIT_CONTRIBUTION, SCORE};
use crate::model::{
    Classification, Contact, ContactId, CreditTerms, Customer, CustomerId, CustomerProfile,
    LatePayment, LatePaymentId, PaymentTerms, UserId, VisitId, VisitLevel, VisitRecord,
};
use crate::rules::DocPart;

/// Container maps created with the document, so that no two replicas ever race to create
/// them (a concurrently created map would hide the other replica's entries).
const CONTAINERS: [&str; 8] = [
    "profile",
    "classification",
    "credit",
    "annual_sales",
    "owners",
    "contacts",
    "visits",
    "late_payments",
];

/// The root keys of a customer document that hold [`ProtectedCustomerFields`].
pub const PROTECTED_ROOT_KEYS: [&str; 3] = ["owners", "classification", "credit"];

/// The root keys of a customer document and the part of the permission matrix each holds.
pub(super) const PARTS: [(&str, DocPart); 12] = [
    ("kind", DocPart::Fixed),
    ("id", DocPart::Fixed),
    ("created_at", DocPart::Fixed),
    ("profile", DocPart::Profile),
    ("profit_contribution", DocPart::ProfitContribution),
    ("annual_sales", DocPart::AnnualSales),
    ("owners", DocPart::Owners),
    ("classification", DocPart::Classification),
    ("credit", DocPart::Credit),
    ("contacts", DocPart::Contacts),
    ("visits", DocPart::Visits),
    ("late_payments", DocPart::LatePayments),
];

/// One user action on a customer; each becomes exactly one commit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "edit", rename_all = "snake_case")]
pub enum CustomerEdit {
    /// Change profile fields (only those that differ are written).
    UpdateProfile(CustomerProfile),
    /// Record one year's sales.
    SetAnnualSales {
        /// Calendar year.
        year: i32,
        /// Sales with us that year, CNY.
        amount: Decimal,
    },
    /// Record the profit contribution.
    SetProfitContribution(Decimal),
    /// Replace the owning reps (handover).
    SetOwners(Vec<UserId>),
    /// Change classification (finance / HQ only; the server enforces it).
    SetClassification(Classification),
    /// Change credit terms (finance / HQ only; the server enforces it).
    SetCredit(CreditTerms),
    /// Add a contact or change one.
    UpsertContact(Contact),
    /// Remove a contact.
    RemoveContact(ContactId),
    /// Add a visit record or change one.
    UpsertVisit(VisitRecord),
    /// Remove a visit record.
    RemoveVisit(VisitId),
    /// Record or update a late payment.
    UpsertLatePayment(LatePayment),
    /// Remove a late payment (finance; or the server taking back one recorded without
    /// authority).
    RemoveLatePayment(LatePaymentId),
    /// Remove one year's sales (finance; or the server taking back sales recorded without
    /// authority).
    RemoveAnnualSales {
        /// Calendar year.
        year: i32,
    },
}

impl CustomerEdit {
    /// The stable action name recorded on the commit.
    pub fn action(&self) -> &'static str {
        match self {
            CustomerEdit::UpdateProfile(_) => "customer.update_profile",
            CustomerEdit::SetAnnualSales { .. } => "customer.set_annual_sales",
            CustomerEdit::SetProfitContribution(_) => "customer.set_profit_contribution",
            CustomerEdit::SetOwners(_) => "customer.set_owners",
            CustomerEdit::SetClassification(_) => "customer.set_classification",
            CustomerEdit::SetCredit(_) => "customer.set_credit",
            CustomerEdit::UpsertContact(_) => "customer.upsert_contact",
            CustomerEdit::RemoveContact(_) => "customer.remove_contact",
            CustomerEdit::UpsertVisit(_) => "customer.upsert_visit",
            CustomerEdit::RemoveVisit(_) => "customer.remove_visit",
            CustomerEdit::UpsertLatePayment(_) => "customer.upsert_late_payment",
            CustomerEdit::RemoveLatePayment(_) => "customer.remove_late_payment",
            CustomerEdit::RemoveAnnualSales { .. } => "customer.remove_annual_sales",
        }
    }
}

/// The document id of a customer.
pub fn customer_doc_id(id: &CustomerId) -> DocId {
    DocId::new(DocKind::Customer, id.as_str())
}

/// Creates the document for `customer` in one commit.
pub fn create_customer(
    customer: &Customer,
    actor: ActorId,
    meta: &EditMeta,
) -> Result<Document, DocError> {
    let mut doc = Document::create(customer_doc_id(&customer.id), actor)?;
    doc.commit_action(meta, |am| {
        for name in CONTAINERS {
            child_map(am, &ROOT, name)?;
        }
        MapWriter::new(am, ROOT).time("created_at", customer.created_at)?;
        write_all(am, customer)
    })?;
    Ok(doc)
}

fn write_all(am: &mut AutoCommit, c: &Customer) -> Result<(), DocError> {
    apply_edit(am, &CustomerEdit::UpdateProfile(c.profile.clone()))?;
    apply_edit(am, &CustomerEdit::SetProfitContribution(c.profit_contribution))?;
    apply_edit(am, &CustomerEdit::SetOwners(c.owners.clone()))?;
    apply_edit(am, &CustomerEdit::SetClassification(c.classification.clone()))?;
    apply_edit(am, &CustomerEdit::SetCredit(c.credit.clone()))?;
    for (year, amount) in &c.annual_sales {
        apply_edit(am, &CustomerEdit::SetAnnualSales { year: *year, amount: *amount })?;
    }
    for contact in c.contacts.values() {
        apply_edit(am, &CustomerEdit::UpsertContact(contact.clone()))?;
    }
    for visit in c.visits.values() {
        apply_edit(am, &CustomerEdit::UpsertVisit(visit.clone()))?;
    }
    for late in c.late_payments.values() {
        apply_edit(am, &CustomerEdit::UpsertLatePayment(late.clone()))?;
    }
    Ok(())
}

/// Applies one user action to a customer document as one commit.
pub fn edit_customer(
    doc: &mut Document,
    edit: &CustomerEdit,
    meta: &EditMeta,
) -> Result<(), DocError> {
    edit_customer_batch(doc, std::slice::from_ref(edit), meta)
}

/// Applies several edits as one commit: one action made of several writes, such as the
/// server restoring every visit a merge removed without authority. If any edit fails, none
/// is kept.
pub fn edit_customer_batch(
    doc: &mut Document,
    edits: &[CustomerEdit],
    meta: &EditMeta,
) -> Result<(), DocError> {
    doc.check(DocKind::Customer)?;
    let doc_id = doc.id().to_string();
    doc.commit_action(meta, |am| edits.iter().try_for_each(|edit| apply_one(am, edit, &doc_id)))?;
    Ok(())
}

fn apply_one(am: &mut AutoCommit, edit: &CustomerEdit, doc_id: &str) -> Result<(), DocError> {
    match edit {
        CustomerEdit::RemoveContact(id) => {
            remove_entry(am, "contacts", id.as_str(), "contact", doc_id)
        }
        CustomerEdit::RemoveVisit(id) => remove_entry(am, "visits", id.as_str(), "visit", doc_id),
        CustomerEdit::RemoveLatePayment(id) => {
            remove_entry(am, "late_payments", id.as_str(), "late payment", doc_id)
        }
        CustomerEdit::RemoveAnnualSales { year } => {
            remove_entry(am, "annual_sales", &year.to_string(), "annual sales", doc_id)
        }
        other => apply_edit(am, other),
    }
}

fn container(am: &mut AutoCommit, name: &str) -> Result<ObjId, DocError> {
    child_map(am, &ROOT, name)
}

fn apply_edit(am: &mut AutoCommit, edit: &CustomerEdit) -> Result<(), DocError> {
    match edit {
        CustomerEdit::UpdateProfile(p) => {
            let obj = container(am, "profile")?;
            let mut w = MapWriter::new(am, obj);
            w.str("name", &p.name)?;
            w.str("industry", &p.industry)?;
            w.str("region", &p.region)?;
            w.str("address", &p.address)?;
            w.bool("leading_brand", p.leading_brand)?;
            w.str("notes", &p.notes)
        }
        CustomerEdit::SetAnnualSales { year, amount } => {
            let obj = container(am, "annual_sales")?;
            MapWriter::new(am, obj).bounded_decimal(&year.to_string(), *amount, &ANNUAL_SALES)
        }
        CustomerEdit::SetProfitContribution(amount) => MapWriter::new(am, ROOT).bounded_decimal(
            "profit_contribution",
            *amount,
            &PROFIT_CONTRIBUTION,
        ),
        CustomerEdit::SetOwners(owners) => write_owner_set(am, owners),
        CustomerEdit::SetClassification(c) => {
            let obj = container(am, "classification")?;
            let mut w = MapWriter::new(am, obj);
            w.bool("strategic", c.strategic)?;
            w.str("tier", c.tier.as_str())?;
            w.opt_str("grade", c.grade.map(|g| g.as_str()))?;
            w.opt_bounded_int("score", c.score.map(i64::from), &SCORE)
        }
        CustomerEdit::SetCredit(c) => {
            let obj = container(am, "credit")?;
            let mut w = MapWriter::new(am, obj);
            w.opt_str("credit_grade", c.credit_grade.map(|g| g.as_str()))?;
            w.bounded_decimal("credit_limit", c.credit_limit, &CREDIT_LIMIT)?;
            check_net_days(c.payment_terms, "payment_terms")?;
            w.str("payment_terms", &c.payment_terms.code())
        }
        CustomerEdit::UpsertContact(c) => {
            let entry = entry_map(am, "contacts", c.id.as_str())?;
            let mut w = MapWriter::new(am, entry);
            w.str("name", &c.name)?;
            w.str("title", &c.title)?;
            w.str("phone", &c.phone)?;
            w.str("email", &c.email)?;
            w.bool("primary", c.primary)
        }
        CustomerEdit::UpsertVisit(v) => {
            let entry = entry_map(am, "visits", v.id.as_str())?;
            let mut w = MapWriter::new(am, entry);
            w.str("level", v.level.as_str())?;
            w.date("date", v.date)?;
            w.str("visitor", v.visitor.as_str())?;
            w.str_list("topics", &v.topics)?;
            w.str("personnel_changes", &v.personnel_changes)?;
            w.str("problems", &v.problems)?;
            w.str("demand", &v.demand)?;
            w.str("competitor_activity", &v.competitor_activity)
        }
        CustomerEdit::UpsertLatePayment(l) => {
            let entry = entry_map(am, "late_payments", l.id.as_str())?;
            let mut w = MapWriter::new(am, entry);
            w.str("reference", &l.reference)?;
            w.date("due_on", l.due_on)?;
            w.opt_date("paid_on", l.paid_on)
        }
        CustomerEdit::RemoveContact(_)
        | CustomerEdit::RemoveVisit(_)
        | CustomerEdit::RemoveLatePayment(_)
        | CustomerEdit::RemoveAnnualSales { .. } => Ok(()),
    }
}

/// Owners are a set: a map from user id to `true`, so adding and removing different owners
/// concurrently both survive.
fn write_owner_set(am: &mut AutoCommit, owners: &[UserId]) -> Result<(), DocError> {
    let obj = container(am, "owners")?;
    let current = MapReader::new(am, obj.clone()).keys();
    let mut w = MapWriter::new(am, obj);
    for stale in current.iter().filter(|k| !owners.iter().any(|o| o.as_str() == k.as_str())) {
        w.delete(stale)?;
    }
    for owner in owners {
        w.bool(owner.as_str(), true)?;
    }
    Ok(())
}

fn entry_map(am: &mut AutoCommit, container_name: &str, id: &str) -> Result<ObjId, DocError> {
    let parent = container(am, container_name)?;
    child_map(am, &parent, id)
}

fn remove_entry(
    am: &mut AutoCommit,
    container_name: &str,
    id: &str,
    entity: &'static str,
    doc_id: &str,
) -> Result<(), DocError> {
    let parent = container(am, container_name)?;
    // Any value counts: a year's sales is a scalar, the other entries are maps.
    if am.get(&parent, id)?.is_none() {
        return Err(DocError::EntityNotFound {
            entity,
            id: id.to_owned(),
            doc_id: doc_id.to_owned(),
        });
    }
    MapWriter::new(am, parent).delete(id)
}

/// Reads the whole customer aggregate.
pub fn read_customer(doc: &Document) -> Result<Customer, DocError> {
    let root = doc.check(DocKind::Customer)?;
    Ok(Customer {
        id: CustomerId(root.str("id")?),
        created_at: root.time("created_at")?,
        profile: read_profile(&root)?,
        annual_sales: read_annual_sales(&root)?,
        profit_contribution: root
            .bounded_decimal_or_zero("profit_contribution", &PROFIT_CONTRIBUTION)?,
        owners: read_owners(&root)?,
        classification: read_classification(&root)?,
        credit: read_credit(&root)?,
        contacts: read_entries(&root, "contacts", read_contact)?,
        visits: read_entries(&root, "visits", read_visit)?,
        late_payments: read_entries(&root, "late_payments", read_late_payment)?,
    })
}

/// A customer's collections, or those entries of them a reader selected (see
/// [`read_customer_entries`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CustomerEntries {
    /// Sales by year.
    pub annual_sales: BTreeMap<i32, Decimal>,
    /// Contacts by id.
    pub contacts: BTreeMap<ContactId, Contact>,
    /// Visit records by id.
    pub visits: BTreeMap<VisitId, VisitRecord>,
    /// Late payments by id.
    pub late_payments: BTreeMap<LatePaymentId, LatePayment>,
}

/// Reads the entries of a customer's collections that `touched` names, as they are now or
/// (for `Some(heads)`) as they were at `heads`; an untouched collection reads as empty. The
/// server compares a merge's entries before and after without reading the rest of an
/// account's visits.
pub fn read_customer_entries(
    doc: &Document,
    heads: Option<&[ChangeHash]>,
    touched: &Touched,
) -> Result<CustomerEntries, DocError> {
    let root = doc.check_at(DocKind::Customer, heads)?;
    let select = |key: &str| touched.entries(key);
    Ok(CustomerEntries {
        annual_sales: read_selected_sales(&root, select("annual_sales"))?,
        contacts: read_selected(&root, "contacts", select("contacts"), read_contact)?,
        visits: read_selected(&root, "visits", select("visits"), read_visit)?,
        late_payments: read_selected(
            &root,
            "late_payments",
            select("late_payments"),
            read_late_payment,
        )?,
    })
}

fn read_selected_sales(
    root: &MapReader<'_>,
    select: Option<&Entries>,
) -> Result<BTreeMap<i32, Decimal>, DocError> {
    match select {
        None => Ok(BTreeMap::new()),
        Some(Entries::All) => read_annual_sales(root),
        Some(Entries::Only(years)) => {
            let mut out = BTreeMap::new();
            let Some(sales) = root.sparse_child("annual_sales")? else { return Ok(out) };
            for key in years {
                let Ok(year) = key.parse::<i32>() else { continue };
                if let Some(amount) = sales.opt_decimal(key)? {
                    out.insert(year, amount);
                }
            }
            Ok(out)
        }
    }
}

fn read_profile(root: &MapReader<'_>) -> Result<CustomerProfile, DocError> {
    Ok(match root.child("profile")? {
        Some(p) => CustomerProfile {
            name: p.str_or_empty("name")?,
            industry: p.str_or_empty("industry")?,
            region: p.str_or_empty("region")?,
            address: p.str_or_empty("address")?,
            leading_brand: p.bool("leading_brand")?,
            notes: p.str_or_empty("notes")?,
        },
        None => CustomerProfile::default(),
    })
}

/// What a list of customers shows and sorts by: the profile, owners, classification and the
/// level and date of each visit (for the visit cadence), without contacts, credit, sales or
/// the visits' text. A device re-indexes a customer on every change it receives; reading
/// the whole record each time cost more than merging the change.
#[derive(Clone, Debug, PartialEq)]
pub struct CustomerOutline {
    /// The customer.
    pub id: CustomerId,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Name, industry, region and the rest of the profile.
    pub profile: CustomerProfile,
    /// The reps it is assigned to.
    pub owners: Vec<UserId>,
    /// Tier, grade and score.
    pub classification: Classification,
    /// The level and date of every visit, in visit-id order.
    pub visits: Vec<(VisitLevel, NaiveDate)>,
}

/// Reads a customer's [`CustomerOutline`].
pub fn read_customer_outline(doc: &Document) -> Result<CustomerOutline, DocError> {
    let root = doc.check(DocKind::Customer)?;
    let visits: BTreeMap<VisitId, (VisitLevel, NaiveDate)> =
        read_entries(&root, "visits", |_, r| Ok((r.code("level")?, r.date("date")?)))?;
    Ok(CustomerOutline {
        id: CustomerId(root.str("id")?),
        created_at: root.time("created_at")?,
        profile: read_profile(&root)?,
        owners: read_owners(&root)?,
        classification: read_classification(&root)?,
        visits: visits.into_values().collect(),
    })
}

/// The customer fields that only the back office may write: who owns the account, its tier
/// and grade, and its credit terms.
#[derive(Clone, Debug, PartialEq)]
pub struct ProtectedCustomerFields {
    /// The reps the customer is assigned to (headquarters hands customers over).
    pub owners: Vec<UserId>,
    /// Tier, grade and score (finance or headquarters).
    pub classification: Classification,
    /// Credit grade, limit and payment terms (finance or headquarters).
    pub credit: CreditTerms,
}

/// Reads only the protected fields: a fraction of [`read_customer`]'s cost, because contacts
/// and visits, which grow with the account, are left alone. The server checks these on every
/// merge.
pub fn read_protected_fields(doc: &Document) -> Result<ProtectedCustomerFields, DocError> {
    protected_fields(&doc.check(DocKind::Customer)?)
}

/// Reads the protected fields as they were at `heads`: what the server held before a merge
/// that turned out to touch them.
pub fn read_protected_fields_at(
    doc: &Document,
    heads: &[ChangeHash],
) -> Result<ProtectedCustomerFields, DocError> {
    protected_fields(&doc.check_at(DocKind::Customer, Some(heads))?)
}

fn protected_fields(root: &MapReader<'_>) -> Result<ProtectedCustomerFields, DocError> {
    Ok(ProtectedCustomerFields {
        owners: read_owners(root)?,
        classification: read_classification(root)?,
        credit: read_credit(root)?,
    })
}

fn read_owners(root: &MapReader<'_>) -> Result<Vec<UserId>, DocError> {
    Ok(root
        .child("owners")?
        .map(|o| o.keys().into_iter().map(UserId).collect())
        .unwrap_or_default())
}

fn read_annual_sales(root: &MapReader<'_>) -> Result<BTreeMap<i32, Decimal>, DocError> {
    let mut out = BTreeMap::new();
    if let Some(sales) = root.child("annual_sales")? {
        for key in sales.keys() {
            let Ok(year) = key.parse::<i32>() else { continue };
            if let Some(amount) = sales.opt_bounded_decimal(&key, &ANNUAL_SALES)? {
                out.insert(year, amount);
            }
        }
    }
    Ok(out)
}

fn read_classification(root: &MapReader<'_>) -> Result<Classification, DocError> {
    let Some(c) = root.child("classification")? else { return Ok(Classification::default()) };
    Ok(Classification {
        strategic: c.bool("strategic")?,
        tier: c.opt_code("tier")?.unwrap_or(crate::model::Tier::General),
        grade: c.opt_code("grade")?,
        score: c.opt_bounded_int("score", &SCORE)?.and_then(|s| u32::try_from(s).ok()),
    })
}

fn read_credit(root: &MapReader<'_>) -> Result<CreditTerms, DocError> {
    let Some(c) = root.child("credit")? else { return Ok(CreditTerms::default()) };
    let terms = c.opt_str("payment_terms")?;
    Ok(CreditTerms {
        credit_grade: c.opt_code("credit_grade")?,
        credit_limit: c.bounded_decimal_or_zero("credit_limit", &CREDIT_LIMIT)?,
        payment_terms: terms
            .as_deref()
            .map(|t| {
                let terms = PaymentTerms::from_code(t).ok_or(DocError::InvalidField {
                    path: "/credit/payment_terms".into(),
                    expected: "payment terms",
                })?;
                check_net_days(terms, "/credit/payment_terms")
            })
            .transpose()?
            .unwrap_or(PaymentTerms::PaymentBeforeDelivery),
    })
}

/// Payment terms whose `net:<days>` lies in its documented range (ADR 0017).
fn check_net_days(terms: PaymentTerms, path: &str) -> Result<PaymentTerms, DocError> {
    if let PaymentTerms::NetDays { days } = terms {
        NET_DAYS
            .check_u64(u64::from(days))
            .map_err(|e| DocError::OutOfRange { path: path.to_owned(), source: Box::new(e) })?;
    }
    Ok(terms)
}

fn read_contact(id: &str, r: &MapReader<'_>) -> Result<Contact, DocError> {
    Ok(Contact {
        id: ContactId(id.to_owned()),
        name: r.str_or_empty("name")?,
        title: r.str_or_empty("title")?,
        phone: r.str_or_empty("phone")?,
        email: r.str_or_empty("email")?,
        primary: r.bool("primary")?,
    })
}

fn read_visit(id: &str, r: &MapReader<'_>) -> Result<VisitRecord, DocError> {
    Ok(VisitRecord {
        id: VisitId(id.to_owned()),
        level: r.code("level")?,
        date: r.date("date")?,
        visitor: UserId(r.str_or_empty("visitor")?),
        topics: r.str_list("topics")?.unwrap_or_default(),
        personnel_changes: r.str_or_empty("personnel_changes")?,
        problems: r.str_or_empty("problems")?,
        demand: r.str_or_empty("demand")?,
        competitor_activity: r.str_or_empty("competitor_activity")?,
    })
}

fn read_late_payment(id: &str, r: &MapReader<'_>) -> Result<LatePayment, DocError> {
    Ok(LatePayment {
        id: LatePaymentId(id.to_owned()),
        reference: r.str_or_empty("reference")?,
        due_on: r.date("due_on")?,
        paid_on: r.opt_date("paid_on")?,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic on a broken expectation.

    use automerge::ActorId;
    use chrono::{NaiveDate, TimeZone};

    use super::*;

    fn meta() -> EditMeta {
        EditMeta::new(
            &UserId::from("fin"),
            Utc.with_ymd_and_hms(2026, 11, 23, 1, 0, 0).unwrap(),
            "t",
        )
    }

    fn customer() -> Customer {
        let mut c = crate::demo::tiny_company(1, 2, 1).customers.remove(0);
        let late = LatePayment {
            id: LatePaymentId::new(),
            reference: "INV-1".into(),
            due_on: NaiveDate::from_ymd_opt(2026, 9, 30).unwrap(),
            paid_on: None,
        };
        c.late_payments.insert(late.id.clone(), late);
        c
    }

    #[test]
    fn late_payments_and_sales_are_removed_and_a_missing_one_is_an_error() {
        let c = customer();
        let mut doc = create_customer(&c, ActorId::random(), &meta()).unwrap();
        let late = c.late_payments.keys().next().unwrap().clone();
        let year = *c.annual_sales.keys().next().unwrap();
        let edits = [
            CustomerEdit::RemoveLatePayment(late.clone()),
            CustomerEdit::RemoveAnnualSales { year },
        ];
        let history = doc.history().len();
        edit_customer_batch(&mut doc, &edits, &meta()).unwrap();
        assert_eq!(doc.history().len(), history + 1, "a batch is one commit");
        let read = read_customer(&doc).unwrap();
        assert!(read.late_payments.is_empty() && !read.annual_sales.contains_key(&year));

        // A batch whose second edit fails keeps nothing of the first.
        let heads = doc.heads();
        let visit = c.visits.keys().next().unwrap().clone();
        let failing = [
            CustomerEdit::RemoveVisit(visit.clone()),
            CustomerEdit::RemoveLatePayment(late.clone()),
        ];
        let error = edit_customer_batch(&mut doc, &failing, &meta()).unwrap_err();
        assert!(
            matches!(error, DocError::EntityNotFound { entity: "late payment", .. }),
            "{error}"
        );
        assert_eq!(doc.heads(), heads);
        assert!(read_customer(&doc).unwrap().visits.contains_key(&visit));
        let missing = CustomerEdit::RemoveAnnualSales { year };
        assert!(edit_customer(&mut doc, &missing, &meta()).is_err());
    }

    #[test]
    fn entries_are_read_as_selected_and_as_of_earlier_heads() {
        let c = customer();
        let mut doc = create_customer(&c, ActorId::random(), &meta()).unwrap();
        let before = doc.heads();
        let visit = c.visits.keys().next().unwrap().clone();
        edit_customer(&mut doc, &CustomerEdit::RemoveVisit(visit.clone()), &meta()).unwrap();
        let everything = Touched::everything();
        let all = read_customer_entries(&doc, Some(&before), &everything).unwrap();
        assert_eq!(
            (&all.visits, &all.contacts, &all.annual_sales, &all.late_payments),
            (&c.visits, &c.contacts, &c.annual_sales, &c.late_payments)
        );
        let only = Touched::from_patch_keys([
            (Some("visits".to_owned()), Some(visit.to_string())),
            (Some("annual_sales".to_owned()), Some("1999".to_owned())),
        ]);
        let then = read_customer_entries(&doc, Some(&before), &only).unwrap();
        assert_eq!(then.visits.keys().collect::<Vec<_>>(), vec![&visit]);
        assert!(then.contacts.is_empty() && then.annual_sales.is_empty());
        assert!(read_customer_entries(&doc, None, &only).unwrap().visits.is_empty(), "gone now");
    }
}

//! The server's authority over synced documents (DESIGN §5).
//!
//! A CRDT cannot un-receive a change. So when a device's change writes a field its user may
//! not write — tier, grade, credit terms or owners of a customer; an approved price; a unit's
//! status — or moves a ticket along an edge the state machine does not have, the server keeps
//! the change in the history but immediately commits a compensating change that restores the
//! authorised value, and records a violation for review. The device receives the correction
//! in the same round's answer.
//!
//! The authorised value is the one the server held before merging the device's changes: the
//! server only ever holds authorised values, because everything it merges passes this check.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use kam_core::doc::{
    CustomerEdit, DocKind, Document, EditMeta, ProjectEdit, TicketEdit, edit_customer,
    edit_project, edit_ticket, read_customer, read_project, read_ticket,
};
use kam_core::model::{
    Classification, CreditTerms, EntryId, StatusChange, TicketStatus, Unit, UnitId, UserId,
};
use kam_core::rules::allowed_transitions;
use serde_json::{Value, json};

use crate::auth::{Principal, Role};
use crate::error::ServerError;

/// The author recorded on the server's own changes.
pub(crate) const SERVER_AUTHOR: &str = "kam-server";

/// The guarded values of a document before a merge.
#[derive(Clone, Debug)]
pub(crate) enum Guarded {
    /// A customer's protected fields.
    Customer { owners: Vec<UserId>, classification: Classification, credit: CreditTerms },
    /// A ticket's status and the transitions already accepted.
    Ticket { status: TicketStatus, history: BTreeSet<EntryId> },
    /// Every unit of a project.
    Project { units: BTreeMap<UnitId, Unit> },
    /// Nothing is guarded in this kind of document (yet).
    Nothing,
}

/// A write the author was not allowed to make, already compensated.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Violation {
    /// The field, as a path.
    pub(crate) field: String,
    /// The rule broken.
    pub(crate) rule: &'static str,
    /// The authorised value, restored.
    pub(crate) old_value: Value,
    /// The value the author wrote.
    pub(crate) new_value: Value,
}

/// Captures the guarded values of `doc`, or `None` if it holds nothing yet (a new document).
pub(crate) fn capture(doc: &mut Document) -> Result<Option<Guarded>, ServerError> {
    if doc.is_empty() {
        return Ok(None);
    }
    Ok(Some(match doc.id().kind() {
        DocKind::Customer => {
            let c = read_customer(doc)?;
            Guarded::Customer {
                owners: c.owners,
                classification: c.classification,
                credit: c.credit,
            }
        }
        DocKind::Ticket => {
            let t = read_ticket(doc)?;
            Guarded::Ticket { status: t.status, history: t.history.into_keys().collect() }
        }
        DocKind::Project => Guarded::Project { units: read_project(doc)?.units },
        DocKind::Event => Guarded::Nothing,
    }))
}

fn may_set_classification_and_credit(role: Role) -> bool {
    matches!(role, Role::Finance | Role::Hq | Role::Admin)
}

fn may_hand_over_and_price(role: Role) -> bool {
    matches!(role, Role::Hq | Role::Admin)
}

/// Checks what a merge from `author` did to `doc` against `before` and compensates every
/// unauthorised write with one server commit per field group. Returns the violations.
pub(crate) fn enforce(
    doc: &mut Document,
    before: Option<&Guarded>,
    author: &Principal,
    now: DateTime<Utc>,
) -> Result<Vec<Violation>, ServerError> {
    let meta = |action: &str| EditMeta::new(&UserId::from(SERVER_AUTHOR), now, action);
    match (doc.id().kind(), before) {
        (DocKind::Customer, Some(Guarded::Customer { owners, classification, credit })) => {
            let after = read_customer(doc)?;
            let mut found = Vec::new();
            if after.owners != *owners && !may_hand_over_and_price(author.role) {
                found.push(violation("/owners", "owners_hq_only", owners, &after.owners));
                edit_customer(
                    doc,
                    &CustomerEdit::SetOwners(owners.clone()),
                    &meta("authority.restore_owners"),
                )?;
            }
            if after.classification != *classification
                && !may_set_classification_and_credit(author.role)
            {
                found.push(violation(
                    "/classification",
                    "classification_finance_hq_only",
                    classification,
                    &after.classification,
                ));
                edit_customer(
                    doc,
                    &CustomerEdit::SetClassification(classification.clone()),
                    &meta("authority.restore_classification"),
                )?;
            }
            if after.credit != *credit && !may_set_classification_and_credit(author.role) {
                found.push(violation("/credit", "credit_finance_hq_only", credit, &after.credit));
                edit_customer(
                    doc,
                    &CustomerEdit::SetCredit(credit.clone()),
                    &meta("authority.restore_credit"),
                )?;
            }
            Ok(found)
        }
        (DocKind::Customer, None) => {
            enforce_new_customer(doc, author, &meta("authority.set_creator_owner"))
        }
        (DocKind::Ticket, Some(Guarded::Ticket { status, history })) => {
            enforce_ticket(doc, *status, history, &meta("authority.restore_status"))
        }
        (DocKind::Project, Some(Guarded::Project { units })) => {
            enforce_project(doc, units, author, &meta("authority.restore_unit"))
        }
        _ => Ok(Vec::new()),
    }
}

/// A rep who creates a customer owns it; any other owner list is corrected to the creator.
fn enforce_new_customer(
    doc: &mut Document,
    author: &Principal,
    meta: &EditMeta,
) -> Result<Vec<Violation>, ServerError> {
    if author.role != Role::Rep {
        return Ok(Vec::new());
    }
    let creator = vec![UserId::from(author.user_id.as_str())];
    let after = read_customer(doc)?;
    if after.owners == creator {
        return Ok(Vec::new());
    }
    edit_customer(doc, &CustomerEdit::SetOwners(creator.clone()), meta)?;
    Ok(vec![violation("/owners", "new_customer_owned_by_creator", &creator, &after.owners)])
}

/// Every transition added by the merge must be an edge of the state machine, and the status
/// must be where an accepted transition left it; otherwise the status is restored.
fn enforce_ticket(
    doc: &mut Document,
    before: TicketStatus,
    known: &BTreeSet<EntryId>,
    meta: &EditMeta,
) -> Result<Vec<Violation>, ServerError> {
    let after = read_ticket(doc)?;
    let added: Vec<&StatusChange> =
        after.history.iter().filter(|(id, _)| !known.contains(*id)).map(|(_, c)| c).collect();
    let invalid: Vec<&StatusChange> = added
        .iter()
        .copied()
        .filter(|c| c.by.as_str() != SERVER_AUTHOR && !allowed_transitions(c.from).contains(&c.to))
        .collect();
    let reachable = added.iter().any(|c| c.to == after.status && !invalid.contains(c));
    if invalid.is_empty() && (after.status == before || reachable) {
        return Ok(Vec::new());
    }
    let mut found: Vec<Violation> = invalid
        .iter()
        .map(|c| violation("/status", "ticket_transition_not_allowed", &c.from, &c.to))
        .collect();
    if after.status != before && !reachable {
        if found.is_empty() {
            found.push(violation(
                "/status",
                "ticket_status_without_transition",
                &before,
                &after.status,
            ));
        }
    } else if after.status == before {
        return Ok(found);
    }
    let restore = StatusChange {
        id: EntryId::new(),
        from: after.status,
        to: before,
        at: meta.at,
        by: UserId::from(SERVER_AUTHOR),
        note: "restored by the server: the previous transition is not allowed".into(),
    };
    edit_ticket(doc, &TicketEdit::ChangeStatus(restore), meta)?;
    Ok(found)
}

/// Approved prices are HQ's; unit status is the server's alone (the reservation authority).
fn enforce_project(
    doc: &mut Document,
    before: &BTreeMap<UnitId, Unit>,
    author: &Principal,
    meta: &EditMeta,
) -> Result<Vec<Violation>, ServerError> {
    let after = read_project(doc)?;
    let mut found = Vec::new();
    for (id, unit) in &after.units {
        let Some(old) = before.get(id) else { continue };
        let price_changed = (old.unit_price, &old.approval) != (unit.unit_price, &unit.approval);
        let mut broken = false;
        if price_changed && !may_hand_over_and_price(author.role) {
            let field = format!("/units/{id}/unit_price");
            found.push(violation(&field, "price_hq_only", &old.unit_price, &unit.unit_price));
            broken = true;
        }
        if old.status != unit.status {
            let field = format!("/units/{id}/status");
            found.push(violation(&field, "unit_status_server_only", &old.status, &unit.status));
            broken = true;
        }
        if broken {
            edit_project(doc, &ProjectEdit::UpsertUnit(old.clone()), meta)?;
        }
    }
    Ok(found)
}

fn violation<T: serde::Serialize + ?Sized>(
    field: &str,
    rule: &'static str,
    old: &T,
    new: &T,
) -> Violation {
    Violation {
        field: field.to_owned(),
        rule,
        old_value: serde_json::to_value(old).unwrap_or(Value::Null),
        new_value: serde_json::to_value(new).unwrap_or(Value::Null),
    }
}

/// Stores violations for review and notes each in the audit log.
pub(crate) fn record(
    conn: &rusqlite::Connection,
    who: &Principal,
    doc_id: &str,
    found: &[Violation],
    now: DateTime<Utc>,
) -> Result<(), ServerError> {
    for v in found {
        conn.prepare_cached(
            "INSERT INTO violations(at, user_id, device_id, doc_id, field, rule, old_value, new_value)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(rusqlite::params![
            now.to_rfc3339(),
            who.user_id,
            who.device_id,
            doc_id,
            v.field,
            v.rule,
            v.old_value.to_string(),
            v.new_value.to_string()
        ])?;
        crate::audit::log(
            conn,
            now,
            SERVER_AUTHOR,
            "authority.compensate",
            doc_id,
            &json!({ "field": v.field, "rule": v.rule, "user": who.user_id, "device": who.device_id }),
        )?;
    }
    Ok(())
}

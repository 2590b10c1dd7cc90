//! Who may see which document.
//!
//! Every document has a scope key: a customer and its tickets, leads, account plans and surveys
//! share `customer/<id>`, a project is `project/<id>`, an event `event/<id>`, a scorecard
//! `staff/<person>`, a leadership review `review/<id>`, a commissioning organisation
//! `organisation/<id>`. Finance, HQ and admins see everything; a rep sees the customers granted
//! to them (their own, with everything that follows them), every project, and their own
//! scorecards (`staff/<own id>` is theirs without a grant: see [`can_see`]); event staff and
//! venue servers see the events granted to them and those events' projects. Grants and
//! revocations take
//! numbers in the same change sequence as documents, so a device's cursor also tells which
//! scope changes it has already absorbed: a new grant sends the documents under it, a
//! revocation tells the device to purge them.

use std::collections::BTreeMap;

use crate::auth::{Principal, Role};
use crate::db::{DocumentStore, GrantStore};
use crate::error::ServerError;
use kam_core::doc::{DocId, DocKind, Document, read_ticket, record_value};

pub(crate) use crate::db::grants::{NewsItem, Reason};

/// The scope key of a document, from its content (a ticket follows its customer).
pub(crate) fn scope_key_of(doc: &Document) -> Result<String, ServerError> {
    let id = doc.id();
    Ok(match id.kind() {
        DocKind::Ticket => format!("customer/{}", read_ticket(doc)?.customer_id),
        DocKind::Lead | DocKind::Plan | DocKind::Survey => {
            format!("customer/{}", record_field(doc, "customer_id")?)
        }
        DocKind::Scorecard => staff_key(&record_field(doc, "person")?),
        DocKind::Review => format!("review/{}", id.entity()),
        DocKind::Organisation => format!("organisation/{}", id.entity()),
        _ => format!("{}/{}", id.kind().as_str(), id.entity()),
    })
}

/// The scope key of `user_id`'s scorecards.
pub(crate) fn staff_key(user_id: &str) -> String {
    format!("staff/{user_id}")
}

/// A root string field of a record document (the customer it follows, the person scored).
fn record_field(doc: &Document, key: &str) -> Result<String, ServerError> {
    match record_value(doc, None)?.remove(key) {
        Some(serde_json::Value::String(value)) if !value.is_empty() => Ok(value),
        _ => Err(ServerError::Doc(kam_core::doc::DocError::InvalidField {
            path: format!("/{key}"),
            expected: "the id its scope follows",
        })),
    }
}

/// Whether `who` may see a document of `kind` under `scope_key`.
///
/// A rep's own scorecards are theirs by who they are, not by an assignment that can change:
/// `staff/<own id>` is seen without a grant, here and in the news query
/// (`GrantStore::news_after`), so a scorecard HQ creates anywhere (a page, an import, a
/// device) reaches its person on their next round as a changed document, with no grant to
/// remember to make. Nobody else but the back office sees it. Only reps have scorecards on a
/// device; event staff and venue servers see none of the account-management records.
pub(crate) fn can_see(
    db: &dyn GrantStore,
    who: &Principal,
    kind: DocKind,
    scope_key: &str,
) -> Result<bool, ServerError> {
    if who.role.sees_everything() || (who.role == Role::Rep && kind == DocKind::Project) {
        return Ok(true);
    }
    match kind {
        DocKind::Scorecard if who.role == Role::Rep => {
            return Ok(scope_key == staff_key(&who.user_id));
        }
        DocKind::Review | DocKind::Organisation => return Ok(false),
        kind if kind.is_record() && who.role != Role::Rep => return Ok(false),
        _ => {}
    }
    Ok(db.has_grant(&who.user_id, scope_key)?)
}

/// Whether `role` may create a new document of `kind` from a device. A kind is creatable only
/// by a role the permission matrix lets write what the new document must hold: a rep records
/// leads, plans and surveys of the customers they see, but scorecards, leadership reviews and
/// commissioning organisations are management's; reviews and organisations are headquarters'
/// alone (finance's new organisation would lose its name to `organisation_hq_only`), a
/// scorecard starts with the back office's sales target.
pub(crate) fn may_create(role: Role, kind: DocKind) -> bool {
    match role {
        Role::Rep => matches!(
            kind,
            DocKind::Customer | DocKind::Ticket | DocKind::Lead | DocKind::Plan | DocKind::Survey
        ),
        Role::EventStaff | Role::Venue => false,
        Role::Finance => !matches!(kind, DocKind::Review | DocKind::Organisation),
        Role::Hq | Role::Admin => true,
    }
}

/// Grants `scope_key` to `user_id` (idempotent: an existing grant keeps its number).
pub fn grant(
    db: &(impl GrantStore + DocumentStore + ?Sized),
    user_id: &str,
    scope_key: &str,
) -> Result<bool, ServerError> {
    if db.has_grant(user_id, scope_key)? {
        return Ok(false);
    }
    let seq = db.next_seq()?;
    db.insert_grant(user_id, scope_key, seq)?;
    Ok(true)
}

/// Withdraws `scope_key` from `user_id`; their devices purge its documents on their next
/// round, and a later grant sends them whole again.
pub fn revoke(
    db: &(impl GrantStore + DocumentStore + ?Sized),
    user_id: &str,
    scope_key: &str,
) -> Result<bool, ServerError> {
    if !db.delete_grant(user_id, scope_key)? {
        return Ok(false);
    }
    let seq = db.next_seq()?;
    db.record_revocation(user_id, scope_key, seq)?;
    Ok(true)
}

/// Everything `who` should hear about after `cursor`, in sequence order, each document once
/// (at its first position). The cost follows what changed after the cursor, not how much
/// the device holds.
pub(crate) fn news_since(
    db: &dyn GrantStore,
    who: &Principal,
    cursor: i64,
) -> Result<Vec<NewsItem>, ServerError> {
    let mut items = db.news_after(who.role, &who.user_id, cursor)?;
    items.sort_by(|a, b| (a.seq, &a.doc_id).cmp(&(b.seq, &b.doc_id)));
    // A document granted and changed after the cursor is sent once, at its first position.
    let mut first: BTreeMap<String, usize> = BTreeMap::new();
    let mut out: Vec<NewsItem> = Vec::with_capacity(items.len());
    for item in items {
        match first.get(&item.doc_id) {
            Some(&at) if item.reason == Reason::Revoked => out[at].reason = Reason::Revoked,
            Some(_) => {}
            None => {
                first.insert(item.doc_id.clone(), out.len());
                out.push(item);
            }
        }
    }
    Ok(out)
}

/// Parses a stored document id.
pub(crate) fn parse_id(text: &str) -> Result<DocId, ServerError> {
    text.parse().map_err(|_| ServerError::Corrupt(format!("document id {text}")))
}

#[cfg(test)]
#[path = "scope_tests.rs"]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)]
mod tests;

//! Who may see which document.
//!
//! Every document has a scope key: a customer and its tickets share `customer/<id>`, a project
//! is `project/<id>`, an event `event/<id>`. Finance, HQ and admins see everything; a rep sees
//! the customers granted to them (their own) and every project; event staff and venue servers
//! see the events granted to them and those events' projects. Grants and revocations take
//! numbers in the same change sequence as documents, so a device's cursor also tells which
//! scope changes it has already absorbed: a new grant sends the documents under it, a
//! revocation tells the device to purge them.

use std::collections::BTreeMap;

use crate::auth::{Principal, Role};
use crate::db::{DocumentStore, GrantStore};
use crate::error::ServerError;
use kam_core::doc::{DocId, DocKind, Document, read_ticket};

pub(crate) use crate::db::grants::{NewsItem, Reason};

/// The scope key of a document, from its content (a ticket follows its customer).
pub(crate) fn scope_key_of(doc: &Document) -> Result<String, ServerError> {
    let id = doc.id();
    Ok(match id.kind() {
        DocKind::Ticket => format!("customer/{}", read_ticket(doc)?.customer_id),
        _ => format!("{}/{}", id.kind().as_str(), id.entity()),
    })
}

/// Whether `who` may see a document of `kind` under `scope_key`.
pub(crate) fn can_see(
    db: &dyn GrantStore,
    who: &Principal,
    kind: DocKind,
    scope_key: &str,
) -> Result<bool, ServerError> {
    if who.role.sees_everything() || (who.role == Role::Rep && kind == DocKind::Project) {
        return Ok(true);
    }
    Ok(db.has_grant(&who.user_id, scope_key)?)
}

/// Whether `role` may create a new document of `kind` from a device.
pub(crate) fn may_create(role: Role, kind: DocKind) -> bool {
    match role {
        Role::Rep => matches!(kind, DocKind::Customer | DocKind::Ticket),
        Role::EventStaff | Role::Venue => false,
        Role::Finance | Role::Hq | Role::Admin => true,
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

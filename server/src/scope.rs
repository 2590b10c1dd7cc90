//! Who may see which document.
//!
//! Every document has a scope key: a customer and its tickets share `customer/<id>`, a project
//! is `project/<id>`, an event `event/<id>`. Finance, HQ and admins see everything; a rep sees
//! the customers granted to them (their own) and every project; event staff see the events
//! granted to them and those events' projects. Grants and revocations take numbers in the
//! same change sequence as documents, so a device's cursor also tells which scope changes it
//! has already absorbed: a new grant sends the documents under it, a revocation tells the
//! device to purge them.

use std::collections::BTreeMap;

use kam_core::doc::{DocId, DocKind, Document, read_ticket};
use rusqlite::{Connection, OptionalExtension, params};

use crate::auth::{Principal, Role};
use crate::docs::next_seq;
use crate::error::ServerError;

/// The scope key of a document, from its content (a ticket follows its customer).
pub(crate) fn scope_key_of(doc: &Document) -> Result<String, ServerError> {
    let id = doc.id();
    Ok(match id.kind() {
        DocKind::Ticket => format!("customer/{}", read_ticket(doc)?.customer_id),
        _ => format!("{}/{}", id.kind().as_str(), id.entity()),
    })
}

/// Whether `user_id` holds a grant for `scope_key`.
pub(crate) fn has_grant(
    conn: &Connection,
    user_id: &str,
    scope_key: &str,
) -> Result<bool, ServerError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM grants WHERE user_id = ?1 AND scope_key = ?2")?
        .query_row([user_id, scope_key], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Whether `who` may see a document of `kind` under `scope_key`.
pub(crate) fn can_see(
    conn: &Connection,
    who: &Principal,
    kind: DocKind,
    scope_key: &str,
) -> Result<bool, ServerError> {
    if who.role.sees_everything() || (who.role == Role::Rep && kind == DocKind::Project) {
        return Ok(true);
    }
    has_grant(conn, &who.user_id, scope_key)
}

/// Whether `role` may create a new document of `kind` from a device.
pub(crate) fn may_create(role: Role, kind: DocKind) -> bool {
    match role {
        Role::Rep => matches!(kind, DocKind::Customer | DocKind::Ticket),
        Role::EventStaff => false,
        Role::Finance | Role::Hq | Role::Admin => true,
    }
}

/// Grants `scope_key` to `user_id` (idempotent: an existing grant keeps its number).
pub fn grant(conn: &Connection, user_id: &str, scope_key: &str) -> Result<bool, ServerError> {
    if has_grant(conn, user_id, scope_key)? {
        return Ok(false);
    }
    let seq = next_seq(conn)?;
    conn.prepare_cached("INSERT INTO grants(user_id, scope_key, granted_seq) VALUES (?1, ?2, ?3)")?
        .execute(params![user_id, scope_key, seq])?;
    Ok(true)
}

/// Withdraws `scope_key` from `user_id`; their devices purge its documents on their next
/// round, and a later grant sends them whole again.
pub fn revoke(conn: &Connection, user_id: &str, scope_key: &str) -> Result<bool, ServerError> {
    let removed = conn
        .prepare_cached("DELETE FROM grants WHERE user_id = ?1 AND scope_key = ?2")?
        .execute([user_id, scope_key])?;
    if removed == 0 {
        return Ok(false);
    }
    let seq = next_seq(conn)?;
    conn.prepare_cached("INSERT INTO revocations(seq, user_id, scope_key) VALUES (?1, ?2, ?3)")?
        .execute(params![seq, user_id, scope_key])?;
    conn.prepare_cached(
        "DELETE FROM device_docs WHERE device_id IN (SELECT device_id FROM devices WHERE user_id = ?1)
           AND doc_id IN (SELECT doc_id FROM documents WHERE scope_key = ?2)",
    )?
    .execute([user_id, scope_key])?;
    Ok(true)
}

/// Why a document is in a round's news.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reason {
    /// It changed (or was created) after the cursor.
    Changed,
    /// It came into scope after the cursor.
    Granted,
    /// It left scope after the cursor.
    Revoked,
}

/// One piece of news for a device, at its position in the change sequence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct NewsItem {
    /// Position in the change sequence.
    pub(crate) seq: i64,
    /// The document.
    pub(crate) doc_id: String,
    /// Why it is news.
    pub(crate) reason: Reason,
}

/// Everything `who` should hear about after `cursor`, in sequence order, each document once
/// (at its first position). The cost follows what changed after the cursor, not how much
/// the device holds.
pub(crate) fn news_since(
    conn: &Connection,
    who: &Principal,
    cursor: i64,
) -> Result<Vec<NewsItem>, ServerError> {
    let mut items = Vec::new();
    let changed_sql = changed_sql(who.role);
    collect(conn, changed_sql, cursor, &who.user_id, Reason::Changed, &mut items)?;
    collect(
        conn,
        "SELECT d.doc_id, g.granted_seq FROM grants g JOIN documents d ON d.scope_key = g.scope_key
         WHERE g.user_id = ?2 AND g.granted_seq > ?1",
        cursor,
        &who.user_id,
        Reason::Granted,
        &mut items,
    )?;
    collect(
        conn,
        "SELECT d.doc_id, r.seq FROM revocations r JOIN documents d ON d.scope_key = r.scope_key
         WHERE r.user_id = ?2 AND r.seq > ?1
           AND NOT EXISTS (SELECT 1 FROM grants g WHERE g.user_id = r.user_id AND g.scope_key = r.scope_key)",
        cursor,
        &who.user_id,
        Reason::Revoked,
        &mut items,
    )?;
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

/// The query for the documents changed after a cursor that `role` may see (`?1` the cursor,
/// `?2` the user). Scoped roles seek each granted scope key from the cursor on, so the cost
/// follows their own documents' changes rather than everyone's; a project may appear twice,
/// which `news_since` folds.
fn changed_sql(role: Role) -> &'static str {
    if role.sees_everything() {
        "SELECT doc_id, seq FROM documents WHERE seq > ?1 AND ?2 = ?2"
    } else if role == Role::Rep {
        "SELECT d.doc_id, d.seq FROM grants g JOIN documents d ON d.scope_key = g.scope_key
          WHERE g.user_id = ?2 AND d.seq > ?1
         UNION ALL
         SELECT doc_id, seq FROM documents WHERE kind = 'project' AND seq > ?1"
    } else {
        "SELECT d.doc_id, d.seq FROM grants g JOIN documents d ON d.scope_key = g.scope_key
          WHERE g.user_id = ?2 AND d.seq > ?1"
    }
}

/// SQLite's plan for `role`'s changed-documents query, one line per step.
#[cfg(test)]
pub(crate) fn news_query_plan(conn: &Connection, role: Role) -> Result<Vec<String>, ServerError> {
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {}", changed_sql(role)))?;
    let rows = stmt.query_map(params![0, "u"], |r| r.get::<_, String>(3))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn collect(
    conn: &Connection,
    sql: &str,
    cursor: i64,
    user_id: &str,
    reason: Reason,
    out: &mut Vec<NewsItem>,
) -> Result<(), ServerError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params![cursor, user_id], |r| {
        Ok(NewsItem { doc_id: r.get(0)?, seq: r.get(1)?, reason })
    })?;
    for row in rows {
        out.push(row?);
    }
    Ok(())
}

/// Parses a stored document id.
pub(crate) fn parse_id(text: &str) -> Result<DocId, ServerError> {
    text.parse().map_err(|_| ServerError::Corrupt(format!("document id {text}")))
}

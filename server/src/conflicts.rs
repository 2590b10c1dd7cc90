//! The conflicts table: fields that hold concurrent values after a merge, for headquarters to
//! resolve. Automerge keeps every concurrent value (`get_all`) and shows one; a resolution is
//! an ordinary edit that every replica merges, after which the field is single-valued again
//! and its row is marked resolved.

use chrono::{DateTime, Utc};
use kam_core::doc::{ChangeHash, Document};
use rusqlite::{Connection, params};

use crate::error::ServerError;

/// Brings the conflict rows of `doc` up to date after a merge of the changes made since
/// `heads_before`.
///
/// Only the fields the merge touched are looked at ([`Document::conflict_update_since`]), so
/// the cost follows the merge, not the document. A straight-line merge
/// ([`Document::extends_linearly`]) cannot have created a conflict; when the document has no
/// open conflict either, there is nothing to do at all.
pub(crate) fn record(
    conn: &Connection,
    doc: &mut Document,
    heads_before: &[ChangeHash],
    linear: bool,
    now: DateTime<Utc>,
) -> Result<(), ServerError> {
    let doc_id = doc.id().to_string();
    if linear && !has_open(conn, &doc_id)? {
        return Ok(());
    }
    let at = now.to_rfc3339();
    let update = doc.conflict_update_since(heads_before)?;
    // Settle first: a field that was rewritten may hold a new conflict, recorded just below.
    for path in &update.settled {
        conn.prepare_cached(
            "UPDATE conflicts SET resolved_at = ?3
             WHERE doc_id = ?1 AND resolved_at IS NULL
               AND (path = ?2 OR substr(path, 1, length(?2) + 1) = ?2 || '/')",
        )?
        .execute(params![doc_id, path, at])?;
    }
    for c in &update.conflicted {
        let values =
            serde_json::to_string(&c.values).map_err(|e| ServerError::Corrupt(e.to_string()))?;
        conn.prepare_cached(
            "INSERT INTO conflicts(doc_id, path, field_values, first_seen_at, last_seen_at)
             VALUES (?1, ?2, ?3, ?4, ?4)
             ON CONFLICT(doc_id, path) DO UPDATE SET field_values = excluded.field_values,
                 last_seen_at = excluded.last_seen_at,
                 first_seen_at = CASE WHEN conflicts.resolved_at IS NULL
                                      THEN conflicts.first_seen_at ELSE excluded.first_seen_at END,
                 resolved_at = NULL",
        )?
        .execute(params![doc_id, c.path, values, at])?;
    }
    Ok(())
}

/// Whether `doc_id` has a conflict that is not resolved yet.
fn has_open(conn: &Connection, doc_id: &str) -> Result<bool, ServerError> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS(SELECT 1 FROM conflicts WHERE doc_id = ?1 AND resolved_at IS NULL)",
        )?
        .query_row([doc_id], |r| r.get(0))?)
}

/// One open conflict.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct OpenConflict {
    /// The document.
    pub doc_id: String,
    /// The field.
    pub path: String,
    /// Every concurrent value; the first is the one readers see.
    pub values: Vec<String>,
    /// When it was first seen.
    pub first_seen_at: String,
}

/// Every open conflict, oldest first.
pub fn open_conflicts(conn: &Connection) -> Result<Vec<OpenConflict>, ServerError> {
    let mut stmt = conn.prepare(
        "SELECT doc_id, path, field_values, first_seen_at FROM conflicts
         WHERE resolved_at IS NULL ORDER BY first_seen_at, doc_id, path",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (doc_id, path, values, first_seen_at) = row?;
        let values =
            serde_json::from_str(&values).map_err(|e| ServerError::Corrupt(e.to_string()))?;
        out.push(OpenConflict { doc_id, path, values, first_seen_at });
    }
    Ok(out)
}

//! The conflicts table: fields that hold concurrent values after a merge, for headquarters to
//! resolve. Automerge keeps every concurrent value (`get_all`) and shows one; a resolution is
//! an ordinary edit that every replica merges, after which the field is single-valued again
//! and its row is marked resolved.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use kam_core::doc::Document;
use rusqlite::{Connection, params};

use crate::error::ServerError;

/// Brings the conflict rows of `doc` up to date with its current state.
pub(crate) fn record(
    conn: &Connection,
    doc: &Document,
    now: DateTime<Utc>,
) -> Result<(), ServerError> {
    let doc_id = doc.id().to_string();
    let at = now.to_rfc3339();
    let current = doc.conflicts()?;
    let mut open = BTreeSet::new();
    for c in &current {
        open.insert(c.path.clone());
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
    let mut stmt = conn
        .prepare_cached("SELECT path FROM conflicts WHERE doc_id = ?1 AND resolved_at IS NULL")?;
    let stale: Vec<String> = stmt
        .query_map([&doc_id], |r| r.get(0))?
        .collect::<Result<Vec<String>, _>>()?
        .into_iter()
        .filter(|p| !open.contains(p))
        .collect();
    for path in stale {
        conn.prepare_cached(
            "UPDATE conflicts SET resolved_at = ?3 WHERE doc_id = ?1 AND path = ?2",
        )?
        .execute(params![doc_id, path, at])?;
    }
    Ok(())
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

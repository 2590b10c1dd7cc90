//! The audit log: every authority decision and every administrative action, append-only.
//! Details name users and devices by id only, never by personal data.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};
use serde_json::Value;

use crate::error::ServerError;

/// Appends one entry.
pub fn log(
    conn: &Connection,
    at: DateTime<Utc>,
    actor: &str,
    action: &str,
    target: &str,
    detail: &Value,
) -> Result<(), ServerError> {
    conn.prepare_cached(
        "INSERT INTO audit_log(at, actor, action, target, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![at.to_rfc3339(), actor, action, target, detail.to_string()])?;
    Ok(())
}

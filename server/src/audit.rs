//! The audit log: every authority decision and every administrative action, append-only.
//! Details name users and devices by id only, never by personal data.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::db::ReviewStore;
use crate::db::review::AuditEntry;
use crate::error::ServerError;

/// Appends one entry.
pub fn log(
    db: &dyn ReviewStore,
    at: DateTime<Utc>,
    actor: &str,
    action: &str,
    target: &str,
    detail: &Value,
) -> Result<(), ServerError> {
    let detail = detail.to_string();
    Ok(db.append_audit(&AuditEntry { at, actor, action, target, detail: &detail })?)
}

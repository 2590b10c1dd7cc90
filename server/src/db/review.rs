//! What headquarters settles by hand and what the server keeps account of: conflicts,
//! violations, the audit log and documents set aside by background tasks (ADR 0013).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::DbError;

/// One open conflict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
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

/// A violation awaiting review.
#[derive(Clone, Debug, Serialize)]
pub struct ViolationLine {
    /// Its id.
    pub violation_id: i64,
    /// When it happened.
    pub at: String,
    /// Who wrote the field.
    pub user_id: String,
    /// From which device.
    pub device_id: String,
    /// The document.
    pub doc_id: String,
    /// The field.
    pub field: String,
    /// The rule it broke.
    pub rule: String,
    /// The authorised value restored.
    pub old_value: String,
    /// The value the device wrote.
    pub new_value: String,
}

/// A write the authority refused and compensated.
#[derive(Clone, Debug)]
pub struct NewViolation<'a> {
    /// When.
    pub at: DateTime<Utc>,
    /// Who wrote it.
    pub user_id: &'a str,
    /// From which device.
    pub device_id: &'a str,
    /// The document.
    pub doc_id: &'a str,
    /// The field.
    pub field: &'a str,
    /// The rule it broke.
    pub rule: &'a str,
    /// The authorised value restored (JSON).
    pub old_value: &'a str,
    /// The value the device wrote (JSON).
    pub new_value: &'a str,
}

/// One document set aside, for the review page and the API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Quarantined {
    /// The task that could not process it.
    pub task: String,
    /// The document.
    pub doc_id: String,
    /// Its sequence position (projection) or the ledger position (mirror) when it failed.
    pub seq: i64,
    /// What failed (for the operator; may name the document's fields, never a token).
    pub error: String,
    /// When it first failed.
    pub first_at: String,
    /// When it last failed.
    pub last_at: String,
    /// How many times it failed.
    pub attempts: i64,
}

/// One entry of the append-only audit log.
#[derive(Clone, Debug)]
pub struct AuditEntry<'a> {
    /// When.
    pub at: DateTime<Utc>,
    /// Who (a user id, or the server).
    pub actor: &'a str,
    /// What (`conflict.resolve`, `device.revoke`, …).
    pub action: &'a str,
    /// On what.
    pub target: &'a str,
    /// Details as JSON text; ids only, never personal data.
    pub detail: &'a str,
}

/// Conflicts, violations, the audit log and the quarantine.
pub trait ReviewStore {
    /// Whether `doc_id` has a conflict not resolved yet.
    fn has_open_conflict(&self, doc_id: &str) -> Result<bool, DbError>;
    /// Marks resolved the open conflicts of `doc_id` at `path` and below it.
    fn settle_conflicts(&self, doc_id: &str, path: &str, at: DateTime<Utc>) -> Result<(), DbError>;
    /// Records (or re-opens) the conflict at `path` with its concurrent values.
    fn upsert_conflict(
        &self,
        doc_id: &str,
        path: &str,
        values: &[String],
        at: DateTime<Utc>,
    ) -> Result<(), DbError>;
    /// Every open conflict, oldest first.
    fn open_conflicts(&self) -> Result<Vec<OpenConflict>, DbError>;
    /// The values of the open conflict at `path` of `doc_id`, if there is one.
    fn open_conflict_values(
        &self,
        doc_id: &str,
        path: &str,
    ) -> Result<Option<Vec<String>>, DbError>;
    /// Stores a violation the authority compensated, for review.
    fn insert_violation(&self, violation: &NewViolation<'_>) -> Result<(), DbError>;
    /// Violations nobody has reviewed yet, newest first.
    fn open_violations(&self) -> Result<Vec<ViolationLine>, DbError>;
    /// Marks an unreviewed violation reviewed; false when there is none with that id.
    fn mark_violation_reviewed(
        &self,
        violation_id: i64,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, DbError>;
    /// Appends to the audit log.
    fn append_audit(&self, entry: &AuditEntry<'_>) -> Result<(), DbError>;
    /// Records that `task` failed on `doc_id` at `seq` (again, if it had before).
    fn quarantine(
        &self,
        task: &str,
        doc_id: &str,
        seq: i64,
        error: &str,
        at: DateTime<Utc>,
    ) -> Result<(), DbError>;
    /// Takes `doc_id` out of `task`'s quarantine.
    fn release_from_quarantine(&self, task: &str, doc_id: &str) -> Result<(), DbError>;
    /// Whether `doc_id` is set aside by `task`.
    fn is_quarantined(&self, task: &str, doc_id: &str) -> Result<bool, DbError>;
    /// Documents set aside now.
    fn quarantined_count(&self) -> Result<u64, DbError>;
    /// Documents set aside, the latest first (at most `limit`).
    fn quarantined(&self, limit: usize) -> Result<Vec<Quarantined>, DbError>;
}

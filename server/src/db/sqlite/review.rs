//! Conflicts, violations, the audit log and the quarantine on SQLite.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use crate::db::DbError;
use crate::db::review::{
    AuditEntry, NewViolation, OpenConflict, Quarantined, ReviewStore, ViolationLine,
};

fn json_values(text: &str) -> Result<Vec<String>, DbError> {
    serde_json::from_str(text).map_err(|e| DbError::Corrupt(e.to_string()))
}

impl ReviewStore for Connection {
    fn has_open_conflict(&self, doc_id: &str) -> Result<bool, DbError> {
        Ok(self
            .prepare_cached(
                "SELECT EXISTS(SELECT 1 FROM conflicts WHERE doc_id = ?1 AND resolved_at IS NULL)",
            )?
            .query_row([doc_id], |r| r.get(0))?)
    }

    fn settle_conflicts(&self, doc_id: &str, path: &str, at: DateTime<Utc>) -> Result<(), DbError> {
        self.prepare_cached(
            "UPDATE conflicts SET resolved_at = ?3
             WHERE doc_id = ?1 AND resolved_at IS NULL
               AND (path = ?2 OR substr(path, 1, length(?2) + 1) = ?2 || '/')",
        )?
        .execute(params![doc_id, path, at.to_rfc3339()])?;
        Ok(())
    }

    fn upsert_conflict(
        &self,
        doc_id: &str,
        path: &str,
        values: &[String],
        at: DateTime<Utc>,
    ) -> Result<(), DbError> {
        let values = serde_json::to_string(values).map_err(|e| DbError::Corrupt(e.to_string()))?;
        self.prepare_cached(
            "INSERT INTO conflicts(doc_id, path, field_values, first_seen_at, last_seen_at)
             VALUES (?1, ?2, ?3, ?4, ?4)
             ON CONFLICT(doc_id, path) DO UPDATE SET field_values = excluded.field_values,
                 last_seen_at = excluded.last_seen_at,
                 first_seen_at = CASE WHEN conflicts.resolved_at IS NULL
                                      THEN conflicts.first_seen_at ELSE excluded.first_seen_at END,
                 resolved_at = NULL",
        )?
        .execute(params![doc_id, path, values, at.to_rfc3339()])?;
        Ok(())
    }

    fn open_conflicts(&self) -> Result<Vec<OpenConflict>, DbError> {
        let mut stmt = self.prepare(
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
            out.push(OpenConflict { doc_id, path, values: json_values(&values)?, first_seen_at });
        }
        Ok(out)
    }

    fn open_conflict_values(
        &self,
        doc_id: &str,
        path: &str,
    ) -> Result<Option<Vec<String>>, DbError> {
        let open: Option<String> = self
            .prepare_cached(
                "SELECT field_values FROM conflicts
                 WHERE doc_id = ?1 AND path = ?2 AND resolved_at IS NULL",
            )?
            .query_row(params![doc_id, path], |r| r.get(0))
            .optional()?;
        open.as_deref().map(json_values).transpose()
    }

    fn insert_violation(&self, v: &NewViolation<'_>) -> Result<(), DbError> {
        self.prepare_cached(
            "INSERT INTO violations(at, user_id, device_id, doc_id, field, rule, old_value,
                 new_value)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(params![
            v.at.to_rfc3339(),
            v.user_id,
            v.device_id,
            v.doc_id,
            v.field,
            v.rule,
            v.old_value,
            v.new_value
        ])?;
        Ok(())
    }

    fn open_violations(&self) -> Result<Vec<ViolationLine>, DbError> {
        let mut stmt = self.prepare_cached(
            "SELECT violation_id, at, user_id, device_id, doc_id, field, rule, old_value, new_value
             FROM violations WHERE reviewed_at IS NULL ORDER BY at DESC, violation_id DESC",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(ViolationLine {
                violation_id: r.get(0)?,
                at: r.get(1)?,
                user_id: r.get(2)?,
                device_id: r.get(3)?,
                doc_id: r.get(4)?,
                field: r.get(5)?,
                rule: r.get(6)?,
                old_value: r.get(7)?,
                new_value: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn mark_violation_reviewed(
        &self,
        violation_id: i64,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, DbError> {
        let n = self
            .prepare_cached(
                "UPDATE violations SET reviewed_at = ?2, reviewed_by = ?3
                 WHERE violation_id = ?1 AND reviewed_at IS NULL",
            )?
            .execute(params![violation_id, at.to_rfc3339(), by])?;
        Ok(n > 0)
    }

    fn append_audit(&self, entry: &AuditEntry<'_>) -> Result<(), DbError> {
        self.prepare_cached(
            "INSERT INTO audit_log(at, actor, action, target, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            entry.at.to_rfc3339(),
            entry.actor,
            entry.action,
            entry.target,
            entry.detail
        ])?;
        Ok(())
    }

    fn quarantine(
        &self,
        task: &str,
        doc_id: &str,
        seq: i64,
        error: &str,
        at: DateTime<Utc>,
    ) -> Result<(), DbError> {
        self.prepare_cached(
            "INSERT INTO quarantine(task, doc_id, seq, error, first_at, last_at, attempts)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5, 1)
             ON CONFLICT(task, doc_id) DO UPDATE SET seq = excluded.seq, error = excluded.error,
                 last_at = excluded.last_at, attempts = attempts + 1",
        )?
        .execute(params![task, doc_id, seq, error, at.to_rfc3339()])?;
        Ok(())
    }

    fn release_from_quarantine(&self, task: &str, doc_id: &str) -> Result<(), DbError> {
        self.prepare_cached("DELETE FROM quarantine WHERE task = ?1 AND doc_id = ?2")?
            .execute([task, doc_id])?;
        Ok(())
    }

    fn is_quarantined(&self, task: &str, doc_id: &str) -> Result<bool, DbError> {
        Ok(self
            .prepare_cached("SELECT 1 FROM quarantine WHERE task = ?1 AND doc_id = ?2")?
            .query_row([task, doc_id], |_| Ok(()))
            .optional()?
            .is_some())
    }

    fn quarantined_count(&self) -> Result<u64, DbError> {
        Ok(self.prepare_cached("SELECT COUNT(*) FROM quarantine")?.query_row([], |r| r.get(0))?)
    }

    fn quarantined(&self, limit: usize) -> Result<Vec<Quarantined>, DbError> {
        let mut stmt = self.prepare_cached(
            "SELECT task, doc_id, seq, error, first_at, last_at, attempts FROM quarantine
             ORDER BY last_at DESC, doc_id LIMIT ?1",
        )?;
        let rows = stmt.query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
            Ok(Quarantined {
                task: r.get(0)?,
                doc_id: r.get(1)?,
                seq: r.get(2)?,
                error: r.get(3)?,
                first_at: r.get(4)?,
                last_at: r.get(5)?,
                attempts: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// Whether a SQLite error met while processing one document is that document's fault: a
/// constraint its rows break, or a stored value of the wrong shape. Every other SQLite error
/// is the store's.
pub(in crate::db) fn is_content_fault(error: &rusqlite::Error) -> bool {
    match error {
        rusqlite::Error::SqliteFailure(failure, _) => {
            failure.code == rusqlite::ErrorCode::ConstraintViolation
        }
        rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::IntegralValueOutOfRange(..)
        | rusqlite::Error::InvalidColumnType(..) => true,
        _ => false,
    }
}

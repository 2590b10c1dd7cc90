//! Conflicts, violations, the audit log and the quarantine on PostgreSQL.

use chrono::{DateTime, Utc};

use super::{PgDb, count, limit};
use crate::db::DbError;
use crate::db::review::{
    AuditEntry, NewViolation, OpenConflict, Quarantined, ReviewStore, ViolationLine,
};

fn json_values(text: &str) -> Result<Vec<String>, DbError> {
    serde_json::from_str(text).map_err(|e| DbError::Corrupt(e.to_string()))
}

impl ReviewStore for PgDb {
    fn has_open_conflict(&self, doc_id: &str) -> Result<bool, DbError> {
        Ok(self
            .one(
                "SELECT EXISTS(SELECT 1 FROM conflicts WHERE doc_id = $1 AND resolved_at IS NULL)",
                &[&doc_id],
            )?
            .try_get(0)?)
    }

    fn settle_conflicts(&self, doc_id: &str, path: &str, at: DateTime<Utc>) -> Result<(), DbError> {
        self.execute(
            "UPDATE conflicts SET resolved_at = $3
             WHERE doc_id = $1 AND resolved_at IS NULL
               AND (path = $2 OR left(path, length($2) + 1) = $2 || '/')",
            &[&doc_id, &path, &at.to_rfc3339()],
        )?;
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
        self.execute(
            "INSERT INTO conflicts(doc_id, path, field_values, first_seen_at, last_seen_at)
             VALUES ($1, $2, $3, $4, $4)
             ON CONFLICT (doc_id, path) DO UPDATE SET field_values = excluded.field_values,
                 last_seen_at = excluded.last_seen_at,
                 first_seen_at = CASE WHEN conflicts.resolved_at IS NULL
                                      THEN conflicts.first_seen_at ELSE excluded.first_seen_at END,
                 resolved_at = NULL",
            &[&doc_id, &path, &values, &at.to_rfc3339()],
        )?;
        Ok(())
    }

    fn open_conflicts(&self) -> Result<Vec<OpenConflict>, DbError> {
        let rows = self.rows(
            "SELECT doc_id, path, field_values, first_seen_at FROM conflicts
             WHERE resolved_at IS NULL ORDER BY first_seen_at, doc_id, path",
            &[],
        )?;
        rows.iter()
            .map(|r| {
                Ok(OpenConflict {
                    doc_id: r.try_get(0)?,
                    path: r.try_get(1)?,
                    values: json_values(r.try_get(2)?)?,
                    first_seen_at: r.try_get(3)?,
                })
            })
            .collect()
    }

    fn open_conflict_values(
        &self,
        doc_id: &str,
        path: &str,
    ) -> Result<Option<Vec<String>>, DbError> {
        let row = self.row(
            "SELECT field_values FROM conflicts
             WHERE doc_id = $1 AND path = $2 AND resolved_at IS NULL",
            &[&doc_id, &path],
        )?;
        row.map(|r| json_values(r.try_get(0)?)).transpose()
    }

    fn insert_violation(&self, v: &NewViolation<'_>) -> Result<(), DbError> {
        self.execute(
            "INSERT INTO violations(at, user_id, device_id, doc_id, field, rule, old_value,
                 new_value)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &v.at.to_rfc3339(),
                &v.user_id,
                &v.device_id,
                &v.doc_id,
                &v.field,
                &v.rule,
                &v.old_value,
                &v.new_value,
            ],
        )?;
        Ok(())
    }

    fn open_violations(&self) -> Result<Vec<ViolationLine>, DbError> {
        let rows = self.rows(
            "SELECT violation_id, at, user_id, device_id, doc_id, field, rule, old_value, new_value
             FROM violations WHERE reviewed_at IS NULL ORDER BY at DESC, violation_id DESC",
            &[],
        )?;
        rows.iter()
            .map(|r| {
                Ok(ViolationLine {
                    violation_id: r.try_get(0)?,
                    at: r.try_get(1)?,
                    user_id: r.try_get(2)?,
                    device_id: r.try_get(3)?,
                    doc_id: r.try_get(4)?,
                    field: r.try_get(5)?,
                    rule: r.try_get(6)?,
                    old_value: r.try_get(7)?,
                    new_value: r.try_get(8)?,
                })
            })
            .collect()
    }

    fn mark_violation_reviewed(
        &self,
        violation_id: i64,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, DbError> {
        let n = self.execute(
            "UPDATE violations SET reviewed_at = $2, reviewed_by = $3
             WHERE violation_id = $1 AND reviewed_at IS NULL",
            &[&violation_id, &at.to_rfc3339(), &by],
        )?;
        Ok(n > 0)
    }

    fn append_audit(&self, entry: &AuditEntry<'_>) -> Result<(), DbError> {
        self.execute(
            "INSERT INTO audit_log(at, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5)",
            &[&entry.at.to_rfc3339(), &entry.actor, &entry.action, &entry.target, &entry.detail],
        )?;
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
        self.execute(
            "INSERT INTO quarantine(task, doc_id, seq, error, first_at, last_at, attempts)
             VALUES ($1, $2, $3, $4, $5, $5, 1)
             ON CONFLICT (task, doc_id) DO UPDATE SET seq = excluded.seq, error = excluded.error,
                 last_at = excluded.last_at, attempts = quarantine.attempts + 1",
            &[&task, &doc_id, &seq, &error, &at.to_rfc3339()],
        )?;
        Ok(())
    }

    fn release_from_quarantine(&self, task: &str, doc_id: &str) -> Result<(), DbError> {
        self.execute("DELETE FROM quarantine WHERE task = $1 AND doc_id = $2", &[&task, &doc_id])?;
        Ok(())
    }

    fn is_quarantined(&self, task: &str, doc_id: &str) -> Result<bool, DbError> {
        Ok(self
            .row("SELECT 1 FROM quarantine WHERE task = $1 AND doc_id = $2", &[&task, &doc_id])?
            .is_some())
    }

    fn quarantined_count(&self) -> Result<u64, DbError> {
        count(&self.one("SELECT COUNT(*) FROM quarantine", &[])?, 0)
    }

    fn quarantined(&self, n: usize) -> Result<Vec<Quarantined>, DbError> {
        let rows = self.rows(
            "SELECT task, doc_id, seq, error, first_at, last_at, attempts FROM quarantine
             ORDER BY last_at DESC, doc_id LIMIT $1",
            &[&limit(n)],
        )?;
        rows.iter()
            .map(|r| {
                Ok(Quarantined {
                    task: r.try_get(0)?,
                    doc_id: r.try_get(1)?,
                    seq: r.try_get(2)?,
                    error: r.try_get(3)?,
                    first_at: r.try_get(4)?,
                    last_at: r.try_get(5)?,
                    attempts: r.try_get(6)?,
                })
            })
            .collect()
    }
}

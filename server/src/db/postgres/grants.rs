//! Grants, revocations and news on PostgreSQL.

use kam_core::model::Role;

use super::PgDb;
use crate::db::DbError;
use crate::db::grants::{GrantRow, GrantStore, NewsItem, Reason};

impl GrantStore for PgDb {
    fn has_grant(&self, user_id: &str, scope_key: &str) -> Result<bool, DbError> {
        Ok(self
            .row(
                "SELECT 1 FROM grants WHERE user_id = $1 AND scope_key = $2",
                &[&user_id, &scope_key],
            )?
            .is_some())
    }

    fn grants(&self) -> Result<Vec<GrantRow>, DbError> {
        let rows = self.rows("SELECT user_id, scope_key, granted_seq FROM grants", &[])?;
        rows.iter()
            .map(|r| {
                Ok(GrantRow {
                    user_id: r.try_get(0)?,
                    scope_key: r.try_get(1)?,
                    granted_seq: r.try_get(2)?,
                })
            })
            .collect()
    }

    fn insert_grant(&self, user_id: &str, scope_key: &str, seq: i64) -> Result<(), DbError> {
        self.execute(
            "INSERT INTO grants(user_id, scope_key, granted_seq) VALUES ($1, $2, $3)",
            &[&user_id, &scope_key, &seq],
        )?;
        Ok(())
    }

    fn delete_grant(&self, user_id: &str, scope_key: &str) -> Result<bool, DbError> {
        let removed = self.execute(
            "DELETE FROM grants WHERE user_id = $1 AND scope_key = $2",
            &[&user_id, &scope_key],
        )?;
        Ok(removed > 0)
    }

    fn record_revocation(&self, user_id: &str, scope_key: &str, seq: i64) -> Result<(), DbError> {
        self.execute(
            "INSERT INTO revocations(seq, user_id, scope_key) VALUES ($1, $2, $3)",
            &[&seq, &user_id, &scope_key],
        )?;
        self.execute(
            "DELETE FROM device_docs
             WHERE device_id IN (SELECT device_id FROM devices WHERE user_id = $1)
               AND doc_id IN (SELECT doc_id FROM documents WHERE scope_key = $2)",
            &[&user_id, &scope_key],
        )?;
        Ok(())
    }

    fn news_after(&self, role: Role, user_id: &str, cursor: i64) -> Result<Vec<NewsItem>, DbError> {
        let mut items = Vec::new();
        collect(self, changed_sql(role), cursor, user_id, Reason::Changed, &mut items)?;
        collect(self, granted_sql(role), cursor, user_id, Reason::Granted, &mut items)?;
        collect(
            self,
            "SELECT d.doc_id, r.seq FROM revocations r JOIN documents d ON d.scope_key = r.scope_key
             WHERE r.user_id = $2 AND r.seq > $1
               AND NOT EXISTS (SELECT 1 FROM grants g
                               WHERE g.user_id = r.user_id AND g.scope_key = r.scope_key)",
            cursor,
            user_id,
            Reason::Revoked,
            &mut items,
        )?;
        Ok(items)
    }
}

/// The documents changed after a cursor that `role` may see (`$1` the cursor, `$2` the user):
/// the same answer as the SQLite backend's query, which says why each kind is in or out.
fn changed_sql(role: Role) -> &'static str {
    if role.sees_everything() {
        "SELECT doc_id, seq FROM documents WHERE seq > $1 AND $2::text IS NOT NULL"
    } else if role == Role::Rep {
        "SELECT d.doc_id, d.seq FROM grants g JOIN documents d ON d.scope_key = g.scope_key
          WHERE g.user_id = $2 AND d.seq > $1
            AND d.kind NOT IN ('scorecard', 'review', 'organisation')
         UNION ALL
         SELECT doc_id, seq FROM documents WHERE kind = 'project' AND seq > $1
         UNION ALL
         SELECT doc_id, seq FROM documents
          WHERE scope_key = 'staff/' || $2 AND seq > $1 AND kind = 'scorecard'"
    } else {
        "SELECT d.doc_id, d.seq FROM grants g JOIN documents d ON d.scope_key = g.scope_key
          WHERE g.user_id = $2 AND d.seq > $1
            AND d.kind NOT IN ('lead', 'plan', 'survey', 'scorecard', 'review', 'organisation')"
    }
}

/// The documents that came into `role`'s scope after a cursor through a grant.
fn granted_sql(role: Role) -> &'static str {
    if role.sees_everything() {
        "SELECT d.doc_id, g.granted_seq FROM grants g JOIN documents d ON d.scope_key = g.scope_key
         WHERE g.user_id = $2 AND g.granted_seq > $1"
    } else if role == Role::Rep {
        "SELECT d.doc_id, g.granted_seq FROM grants g JOIN documents d ON d.scope_key = g.scope_key
         WHERE g.user_id = $2 AND g.granted_seq > $1
           AND d.kind NOT IN ('scorecard', 'review', 'organisation')"
    } else {
        "SELECT d.doc_id, g.granted_seq FROM grants g JOIN documents d ON d.scope_key = g.scope_key
         WHERE g.user_id = $2 AND g.granted_seq > $1
           AND d.kind NOT IN ('lead', 'plan', 'survey', 'scorecard', 'review', 'organisation')"
    }
}

fn collect(
    db: &PgDb,
    sql: &str,
    cursor: i64,
    user_id: &str,
    reason: Reason,
    out: &mut Vec<NewsItem>,
) -> Result<(), DbError> {
    for row in db.rows(sql, &[&cursor, &user_id])? {
        out.push(NewsItem { doc_id: row.try_get(0)?, seq: row.try_get(1)?, reason });
    }
    Ok(())
}

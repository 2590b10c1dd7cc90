//! Grants, revocations and news on SQLite.

use kam_core::model::Role;
use rusqlite::{Connection, OptionalExtension, params};

use crate::db::DbError;
use crate::db::grants::{GrantRow, GrantStore, NewsItem, Reason};

impl GrantStore for Connection {
    fn has_grant(&self, user_id: &str, scope_key: &str) -> Result<bool, DbError> {
        Ok(self
            .prepare_cached("SELECT 1 FROM grants WHERE user_id = ?1 AND scope_key = ?2")?
            .query_row([user_id, scope_key], |_| Ok(()))
            .optional()?
            .is_some())
    }

    fn grants(&self) -> Result<Vec<GrantRow>, DbError> {
        let mut stmt = self.prepare_cached("SELECT user_id, scope_key, granted_seq FROM grants")?;
        let rows = stmt.query_map([], |r| {
            Ok(GrantRow { user_id: r.get(0)?, scope_key: r.get(1)?, granted_seq: r.get(2)? })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn insert_grant(&self, user_id: &str, scope_key: &str, seq: i64) -> Result<(), DbError> {
        self.prepare_cached(
            "INSERT INTO grants(user_id, scope_key, granted_seq) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![user_id, scope_key, seq])?;
        Ok(())
    }

    fn delete_grant(&self, user_id: &str, scope_key: &str) -> Result<bool, DbError> {
        let removed = self
            .prepare_cached("DELETE FROM grants WHERE user_id = ?1 AND scope_key = ?2")?
            .execute([user_id, scope_key])?;
        Ok(removed > 0)
    }

    fn record_revocation(&self, user_id: &str, scope_key: &str, seq: i64) -> Result<(), DbError> {
        self.prepare_cached(
            "INSERT INTO revocations(seq, user_id, scope_key) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![seq, user_id, scope_key])?;
        self.prepare_cached(
            "DELETE FROM device_docs
             WHERE device_id IN (SELECT device_id FROM devices WHERE user_id = ?1)
               AND doc_id IN (SELECT doc_id FROM documents WHERE scope_key = ?2)",
        )?
        .execute([user_id, scope_key])?;
        Ok(())
    }

    fn news_after(&self, role: Role, user_id: &str, cursor: i64) -> Result<Vec<NewsItem>, DbError> {
        let mut items = Vec::new();
        collect(self, changed_sql(role), cursor, user_id, Reason::Changed, &mut items)?;
        collect(self, granted_sql(role), cursor, user_id, Reason::Granted, &mut items)?;
        collect(
            self,
            "SELECT d.doc_id, r.seq FROM revocations r JOIN documents d ON d.scope_key = r.scope_key
             WHERE r.user_id = ?2 AND r.seq > ?1
               AND NOT EXISTS (SELECT 1 FROM grants g WHERE g.user_id = r.user_id AND g.scope_key = r.scope_key)",
            cursor,
            user_id,
            Reason::Revoked,
            &mut items,
        )?;
        Ok(items)
    }
}

/// The query for the documents changed after a cursor that `role` may see (`?1` the cursor,
/// `?2` the user). Scoped roles seek each granted scope key from the cursor on, so the cost
/// follows their own documents' changes rather than everyone's; a project may appear twice,
/// which the caller folds.
///
/// It says what `scope::can_see` says: a rep's own scorecards (`staff/<user>`) are theirs
/// without a grant, and a grant never shows a rep the kinds only the back office sees, nor event
/// staff and venue servers any account-management record.
fn changed_sql(role: Role) -> &'static str {
    if role.sees_everything() {
        "SELECT doc_id, seq FROM documents WHERE seq > ?1 AND ?2 = ?2"
    } else if role == Role::Rep {
        "SELECT d.doc_id, d.seq FROM grants g JOIN documents d ON d.scope_key = g.scope_key
          WHERE g.user_id = ?2 AND d.seq > ?1
            AND d.kind NOT IN ('scorecard', 'review', 'organisation')
         UNION ALL
         SELECT doc_id, seq FROM documents WHERE kind = 'project' AND seq > ?1
         UNION ALL
         SELECT doc_id, seq FROM documents
          WHERE scope_key = 'staff/' || ?2 AND seq > ?1 AND kind = 'scorecard'"
    } else {
        "SELECT d.doc_id, d.seq FROM grants g JOIN documents d ON d.scope_key = g.scope_key
          WHERE g.user_id = ?2 AND d.seq > ?1
            AND d.kind NOT IN ('lead', 'plan', 'survey', 'scorecard', 'review', 'organisation')"
    }
}

/// The query for the documents that came into `role`'s scope after a cursor through a grant,
/// with the same kinds left out as [`changed_sql`].
fn granted_sql(role: Role) -> &'static str {
    if role.sees_everything() {
        "SELECT d.doc_id, g.granted_seq FROM grants g JOIN documents d ON d.scope_key = g.scope_key
         WHERE g.user_id = ?2 AND g.granted_seq > ?1"
    } else if role == Role::Rep {
        "SELECT d.doc_id, g.granted_seq FROM grants g JOIN documents d ON d.scope_key = g.scope_key
         WHERE g.user_id = ?2 AND g.granted_seq > ?1
           AND d.kind NOT IN ('scorecard', 'review', 'organisation')"
    } else {
        "SELECT d.doc_id, g.granted_seq FROM grants g JOIN documents d ON d.scope_key = g.scope_key
         WHERE g.user_id = ?2 AND g.granted_seq > ?1
           AND d.kind NOT IN ('lead', 'plan', 'survey', 'scorecard', 'review', 'organisation')"
    }
}

/// SQLite's plan for `role`'s changed-documents query, one line per step.
#[cfg(test)]
pub(super) fn news_query_plan(conn: &Connection, role: Role) -> Result<Vec<String>, DbError> {
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
) -> Result<(), DbError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params![cursor, user_id], |r| {
        Ok(NewsItem { doc_id: r.get(0)?, seq: r.get(1)?, reason })
    })?;
    for row in rows {
        out.push(row?);
    }
    Ok(())
}

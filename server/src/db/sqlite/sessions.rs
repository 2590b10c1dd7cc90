//! Passwords and web sessions on SQLite.

use chrono::{DateTime, Utc};
use kam_core::model::Role;
use rusqlite::{Connection, OptionalExtension, params};

use crate::db::DbError;
use crate::db::sessions::{LiveSession, NewSession, SessionStore};

impl SessionStore for Connection {
    fn credentials(&self, user_id: &str) -> Result<Option<(String, Role)>, DbError> {
        let row: Option<(Option<String>, String)> = self
            .prepare_cached(
                "SELECT password_hash, role FROM users WHERE user_id = ?1 AND disabled_at IS NULL",
            )?
            .query_row([user_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        Ok(row.and_then(|(hash, role)| Some((hash?, Role::parse(&role)?))))
    }

    fn set_password_hash(&self, user_id: &str, hash: &str) -> Result<bool, DbError> {
        let n = self.execute(
            "UPDATE users SET password_hash = ?2 WHERE user_id = ?1",
            params![user_id, hash],
        )?;
        Ok(n > 0)
    }

    fn open_session(&self, session: &NewSession<'_>) -> Result<(), DbError> {
        self.prepare_cached(
            "INSERT INTO web_sessions(session_hash, user_id, csrf_token, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            session.session_hash,
            session.user_id,
            session.csrf_token,
            session.created_at.to_rfc3339(),
            session.expires_at.to_rfc3339()
        ])?;
        // Expired sessions of anyone are swept here, where sessions are written anyway.
        self.prepare_cached("DELETE FROM web_sessions WHERE expires_at < ?1")?
            .execute([session.created_at.to_rfc3339()])?;
        Ok(())
    }

    fn live_session(
        &self,
        session_hash: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Option<LiveSession>, DbError> {
        let row: Option<(String, String, String)> = self
            .prepare_cached(
                "SELECT s.user_id, u.role, s.csrf_token FROM web_sessions s
                 JOIN users u USING (user_id)
                 WHERE s.session_hash = ?1 AND s.expires_at > ?2 AND u.disabled_at IS NULL",
            )?
            .query_row(params![session_hash, now.to_rfc3339()], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()?;
        Ok(row.and_then(|(user_id, role, csrf_token)| {
            Some(LiveSession { user_id, role: Role::parse(&role)?, csrf_token })
        }))
    }

    fn end_session(&self, session_hash: &[u8]) -> Result<(), DbError> {
        self.prepare_cached("DELETE FROM web_sessions WHERE session_hash = ?1")?
            .execute([session_hash])?;
        Ok(())
    }
}

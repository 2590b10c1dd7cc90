//! Passwords and web sessions on PostgreSQL.

use chrono::{DateTime, Utc};
use kam_core::model::Role;

use super::PgDb;
use crate::db::DbError;
use crate::db::sessions::{LiveSession, NewSession, SessionStore};

impl SessionStore for PgDb {
    fn credentials(&self, user_id: &str) -> Result<Option<(String, Role)>, DbError> {
        let row = self.row(
            "SELECT password_hash, role FROM users WHERE user_id = $1 AND disabled_at IS NULL",
            &[&user_id],
        )?;
        let Some(row) = row else { return Ok(None) };
        let (hash, role): (Option<String>, &str) = (row.try_get(0)?, row.try_get(1)?);
        Ok(hash.zip(Role::parse(role)))
    }

    fn set_password_hash(&self, user_id: &str, hash: &str) -> Result<bool, DbError> {
        let n = self.execute(
            "UPDATE users SET password_hash = $2 WHERE user_id = $1",
            &[&user_id, &hash],
        )?;
        Ok(n > 0)
    }

    fn open_session(&self, session: &NewSession<'_>) -> Result<(), DbError> {
        let created_at = session.created_at.to_rfc3339();
        self.execute(
            "INSERT INTO web_sessions(session_hash, user_id, csrf_token, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &session.session_hash,
                &session.user_id,
                &session.csrf_token,
                &created_at,
                &session.expires_at.to_rfc3339(),
            ],
        )?;
        // Expired sessions of anyone are swept here, where sessions are written anyway.
        self.execute("DELETE FROM web_sessions WHERE expires_at < $1", &[&created_at])?;
        Ok(())
    }

    fn live_session(
        &self,
        session_hash: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Option<LiveSession>, DbError> {
        let row = self.row(
            "SELECT s.user_id, u.role, s.csrf_token FROM web_sessions s
             JOIN users u USING (user_id)
             WHERE s.session_hash = $1 AND s.expires_at > $2 AND u.disabled_at IS NULL",
            &[&session_hash, &now.to_rfc3339()],
        )?;
        let Some(row) = row else { return Ok(None) };
        let (user_id, role, csrf_token): (String, &str, String) =
            (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        Ok(Role::parse(role).map(|role| LiveSession { user_id, role, csrf_token }))
    }

    fn end_session(&self, session_hash: &[u8]) -> Result<(), DbError> {
        self.execute("DELETE FROM web_sessions WHERE session_hash = $1", &[&session_hash])?;
        Ok(())
    }
}

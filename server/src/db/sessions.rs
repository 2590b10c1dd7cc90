//! Signed-in users of the dashboard: password hashes and web sessions.

use chrono::{DateTime, Utc};
use kam_core::model::Role;

use super::DbError;

/// A web session about to be stored. Tokens are stored only as hashes.
#[derive(Clone, Debug)]
pub struct NewSession<'a> {
    /// The hash of the cookie token.
    pub session_hash: &'a [u8],
    /// Whose session it is.
    pub user_id: &'a str,
    /// The token forms must carry.
    pub csrf_token: &'a str,
    /// When it was opened.
    pub created_at: DateTime<Utc>,
    /// When it ends.
    pub expires_at: DateTime<Utc>,
}

/// A live session: the user, their role and the session's CSRF token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveSession {
    /// The user.
    pub user_id: String,
    /// Their role.
    pub role: Role,
    /// The token forms must carry.
    pub csrf_token: String,
}

/// Passwords and web sessions.
pub trait SessionStore {
    /// The stored password hash and role of an active user (`None` without either).
    fn credentials(&self, user_id: &str) -> Result<Option<(String, Role)>, DbError>;
    /// Sets a user's password hash; false when there is no such user.
    fn set_password_hash(&self, user_id: &str, hash: &str) -> Result<bool, DbError>;
    /// Stores a new session and sweeps everyone's sessions that ended before its start.
    fn open_session(&self, session: &NewSession<'_>) -> Result<(), DbError>;
    /// The session with this hash, if it is live at `now` and its user is active.
    fn live_session(
        &self,
        session_hash: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Option<LiveSession>, DbError>;
    /// Ends the session with this hash (nothing when there is none).
    fn end_session(&self, session_hash: &[u8]) -> Result<(), DbError>;
}

//! Grants of scope keys to users, their revocations, and the news a device has not heard.

use kam_core::model::Role;

use super::DbError;

/// Why a document is in a round's news.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// It changed (or was created) after the cursor.
    Changed,
    /// It came into scope after the cursor.
    Granted,
    /// It left scope after the cursor.
    Revoked,
}

/// One piece of news for a device, at its position in the change sequence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewsItem {
    /// Position in the change sequence.
    pub seq: i64,
    /// The document.
    pub doc_id: String,
    /// Why it is news.
    pub reason: Reason,
}

/// One grant: a scope key a user may see beyond what the role grants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantRow {
    /// The user.
    pub user_id: String,
    /// What is granted (`customer/<id>`, `event/<id>`, `project/<id>`).
    pub scope_key: String,
    /// The change-sequence number the grant took.
    pub granted_seq: i64,
}

/// Grants, revocations and news since a cursor.
pub trait GrantStore {
    /// Whether `user_id` holds a grant for `scope_key`.
    fn has_grant(&self, user_id: &str, scope_key: &str) -> Result<bool, DbError>;
    /// Every grant, unsorted.
    fn grants(&self) -> Result<Vec<GrantRow>, DbError>;
    /// Records a grant that took number `seq` of the change sequence.
    fn insert_grant(&self, user_id: &str, scope_key: &str, seq: i64) -> Result<(), DbError>;
    /// Withdraws a grant; false when there was none.
    fn delete_grant(&self, user_id: &str, scope_key: &str) -> Result<bool, DbError>;
    /// Records a revocation that took number `seq`, and forgets which of the documents under
    /// `scope_key` the user's devices hold (a later grant sends them whole again).
    fn record_revocation(&self, user_id: &str, scope_key: &str, seq: i64) -> Result<(), DbError>;
    /// Every piece of news for `user_id` of `role` after `cursor` (unsorted; a document may
    /// appear more than once).
    fn news_after(&self, role: Role, user_id: &str, cursor: i64) -> Result<Vec<NewsItem>, DbError>;
}

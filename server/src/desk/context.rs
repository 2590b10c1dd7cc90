//! What a command sees while it runs: the transaction, the ledger tip, who sent it and when.

use std::cell::RefCell;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use kam_core::Policy;
use serde::Serialize;

use super::command::Refusal;
use super::delegation::Authority;
use super::ledger::{self, Cause, Tip};
use crate::auth::Principal;
use crate::db::desk::{DeskDelegations, DeskGroup, DeskState};
use crate::db::{DbError, GrantStore};
use crate::error::ServerError;

/// Why a command stopped: a rule refused it (an answer the client keeps), or the server
/// failed (no answer is stored, and the client retries with the same key).
#[derive(Debug)]
pub(crate) enum Stop {
    /// A business rule refused the command.
    Refused(Refusal),
    /// A fault; the command's effects are rolled back.
    Failed(ServerError),
}

impl From<DbError> for Stop {
    fn from(e: DbError) -> Self {
        Stop::Failed(ServerError::from(e))
    }
}

impl From<ServerError> for Stop {
    fn from(e: ServerError) -> Self {
        Stop::Failed(e)
    }
}

/// The result of running one command.
pub(crate) type Step<T> = Result<T, Stop>;

/// A refusal with a code and a message.
pub(crate) fn refuse<T>(code: &str, message: impl Into<String>) -> Step<T> {
    Err(Stop::Refused(Refusal::new(code, message)))
}

/// The event row the desk keeps.
#[derive(Clone, Debug)]
pub(crate) struct DeskEvent {
    pub(crate) event_id: String,
    pub(crate) project_id: String,
    pub(crate) mode: kam_core::model::SelectionMode,
    pub(crate) now_serving: Option<u32>,
}

/// One running command.
pub(crate) struct Ctx<'a> {
    /// The desk's storage, inside the group's transaction and the command's savepoint.
    pub(crate) db: &'a dyn DeskGroup,
    pub(crate) tip: &'a mut Tip,
    pub(crate) who: &'a Principal,
    pub(crate) key: &'a str,
    pub(crate) now: DateTime<Utc>,
    pub(crate) policy: &'a Policy,
    pub(crate) event: DeskEvent,
    /// The last ledger entry this command wrote.
    pub(crate) last_seq: Option<i64>,
}

/// What the commands of one group look up once: whether a user holds an event's grant, and
/// the event's desk row. A group commits as one, so a grant withdrawn while it runs takes
/// effect from the next group, as a revoked token does. The event row is the group's own
/// (its transaction holds the desk's write lock); a command that writes it must call
/// [`GroupMemo::forget_events`].
#[derive(Debug, Default)]
pub(crate) struct GroupMemo {
    grants: RefCell<HashMap<(String, String), bool>>,
    events: RefCell<HashMap<String, Option<DeskEvent>>>,
    authorities: RefCell<HashMap<String, Authority>>,
}

impl GroupMemo {
    /// The desk row of `event_id` (see [`load_event`]), read once per group.
    pub(crate) fn event(
        &self,
        desk: &dyn DeskState,
        event_id: &str,
    ) -> Result<Option<DeskEvent>, ServerError> {
        if let Some(known) = self.events.borrow().get(event_id) {
            return Ok(known.clone());
        }
        let found = load_event(desk, event_id)?;
        self.events.borrow_mut().insert(event_id.to_owned(), found.clone());
        Ok(found)
    }

    /// Forgets the event rows (and who serves them) read so far: a command may have changed
    /// one.
    pub(crate) fn forget_events(&self) {
        self.events.borrow_mut().clear();
        self.authorities.borrow_mut().clear();
    }

    /// Who serves `event_id` (ADR 0021), read once per group.
    pub(crate) fn authority(
        &self,
        desk: &dyn DeskDelegations,
        event_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Authority, ServerError> {
        if let Some(known) = self.authorities.borrow().get(event_id) {
            return Ok(known.clone());
        }
        let found = super::delegation::authority(desk, event_id, now)?;
        self.authorities.borrow_mut().insert(event_id.to_owned(), found.clone());
        Ok(found)
    }

    /// Whether `user_id` holds the grant `key`, read once per group.
    pub(crate) fn has_grant(
        &self,
        server: &dyn GrantStore,
        user_id: &str,
        key: &str,
    ) -> Result<bool, ServerError> {
        let wanted = (user_id.to_owned(), key.to_owned());
        if let Some(known) = self.grants.borrow().get(&wanted) {
            return Ok(*known);
        }
        let found = server.has_grant(user_id, key)?;
        self.grants.borrow_mut().insert(wanted, found);
        Ok(found)
    }
}

impl Ctx<'_> {
    /// Appends a ledger entry for this command's event.
    pub(crate) fn record(&mut self, kind: &str, entry: &impl Serialize) -> Step<i64> {
        let cause = Cause { actor: &self.who.user_id, key: Some(self.key), at: self.now };
        let event_id = self.event.event_id.clone();
        let seq = ledger::append(self.db, self.tip, cause, &event_id, kind, entry)?;
        self.last_seq = Some(seq);
        Ok(seq)
    }

    /// `now` as stored.
    pub(crate) fn now_text(&self) -> String {
        crate::db::desk::state::instant(self.now)
    }

    /// A fresh id for a desk record (time-ordered, so ids sort by creation).
    pub(crate) fn new_id(prefix: &str) -> String {
        format!("{prefix}-{}", uuid::Uuid::now_v7().simple())
    }
}

/// Reads the event's desk row.
fn load_event(desk: &dyn DeskState, event_id: &str) -> Result<Option<DeskEvent>, ServerError> {
    let Some(row) = desk.desk_event(event_id)? else { return Ok(None) };
    Ok(Some(DeskEvent {
        event_id: event_id.to_owned(),
        project_id: row.project_id,
        mode: row.mode,
        now_serving: row.now_serving,
    }))
}

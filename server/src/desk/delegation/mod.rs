//! Venue edge authority (ADR 0021): an event's desk lent to a venue server under a lease with
//! a fencing generation, so the venue sells with its uplink down and exactly one place is the
//! authority for the event's units at any time.
//!
//! `lend` is central's side (lend, receive the venue's segment, take back, import a bundle),
//! `edge` the venue's (accept an offer, ship its segment, hand back, export a bundle),
//! `segment` the chain checks both sides share, and `wire` what travels between them.

pub mod edge;
pub mod http;
pub mod lend;
pub mod segment;
pub mod uplink;
pub mod wire;

use chrono::{DateTime, Utc};

use crate::db::desk::DeskDelegations;
use crate::db::desk::delegation::{DelegationRow, LeaseSide, LeaseState};
use crate::db::desk::state::instant;
use crate::error::ServerError;

/// Whether this desk may serve an event's commands now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Authority {
    /// It may.
    Here,
    /// Central lent the desk to a venue: commands go there.
    Delegated {
        /// The venue's name.
        venue_name: String,
        /// The generation the venue holds.
        generation: i64,
    },
    /// This venue's lease has ended by its own clock: it serves no more commands.
    LeaseEnded,
    /// This venue handed the desk back.
    Returned,
    /// This venue runs on its second copy and has not compared its chain with central's yet:
    /// the copy may be behind what it acknowledged before it failed.
    Recovering,
}

impl Authority {
    /// The stable code and the message a refused command gets, if it is refused.
    pub fn refusal(&self) -> Option<(&'static str, String)> {
        match self {
            Authority::Here => None,
            Authority::Delegated { venue_name, generation } => Some((
                "event_delegated",
                format!(
                    "本场选房已移交现场服务器「{venue_name}」，请连接现场网络办理 \
                     (this event's desk is served by the venue server {venue_name}, \
                     generation {generation}; use the venue's network)"
                ),
            )),
            Authority::LeaseEnded => Some((
                "lease_ended",
                "现场授权已到期，请联系总部 (the venue's lease has ended; contact headquarters)"
                    .to_owned(),
            )),
            Authority::Returned => Some((
                "event_returned",
                "本场选房已交还总部 (this event's desk was handed back to headquarters)".to_owned(),
            )),
            Authority::Recovering => Some((
                "venue_recovering",
                "现场服务器从副本重启，正在与总部核对台账，请稍候 (the venue server restarted from \
                 its second copy and is comparing its ledger with headquarters'; retry shortly)"
                    .to_owned(),
            )),
        }
    }
}

/// Who serves `event_id` by the latest delegation row, at `now`.
pub fn authority_of(row: Option<&DelegationRow>, now: DateTime<Utc>) -> Authority {
    let Some(row) = row else { return Authority::Here };
    match (row.side, row.state) {
        (LeaseSide::Lent, LeaseState::Active) => {
            Authority::Delegated { venue_name: row.venue_name.clone(), generation: row.generation }
        }
        (LeaseSide::Lent, _) => Authority::Here,
        (LeaseSide::Held, LeaseState::Active) if instant(now) < row.lease_until => Authority::Here,
        (LeaseSide::Held, LeaseState::Active) => Authority::LeaseEnded,
        (LeaseSide::Held, _) => Authority::Returned,
    }
}

/// Who serves `event_id` now, read from the desk.
pub fn authority(
    db: &dyn DeskDelegations,
    event_id: &str,
    now: DateTime<Utc>,
) -> Result<Authority, ServerError> {
    let row = db.delegation(event_id)?;
    let found = authority_of(row.as_ref(), now);
    let held = row.is_some_and(|r| r.side == LeaseSide::Held);
    if found == Authority::Here && held && db.copy_mark()?.is_some() {
        return Ok(Authority::Recovering);
    }
    Ok(found)
}

/// Errors of delegation, each with a stable code.
#[derive(Debug, thiserror::Error)]
pub enum DelegationError {
    /// The event has no desk here.
    #[error("no selection desk is open for event {0}")]
    NoDesk(String),
    /// The event is already lent.
    #[error("event {0} is already served by a venue")]
    AlreadyDelegated(String),
    /// Some of the event's units are allotted to another open event.
    #[error("units of event {event} are allotted to event {other} too")]
    SharedUnits {
        /// The event.
        event: String,
        /// The other event.
        other: String,
    },
    /// The caller is not the venue the event is lent to, or nothing is lent to it.
    #[error("nothing is delegated to this venue for event {0}")]
    NotDelegated(String),
    /// The batch names another generation than the current one.
    #[error("generation {got} is not the current generation {current}")]
    StaleGeneration {
        /// What the batch named.
        got: i64,
        /// What is current.
        current: i64,
    },
    /// The segment does not continue the chain, or a hash does not match.
    #[error("the venue's segment breaks the chain at {seq}: {reason}")]
    ChainBreak {
        /// The first entry that does not fit.
        seq: i64,
        /// Why.
        reason: String,
    },
    /// The lease has not ended yet (take-back too early).
    #[error("the lease ends at {0}; the desk can be taken back only after it")]
    LeaseNotEnded(String),
    /// An export bundle's signature does not match.
    #[error("the bundle's signature does not match the delegation's key")]
    BundleSignature,
    /// The final image does not reconcile.
    #[error("the handed-back desk does not reconcile: {0}")]
    Unreconciled(String),
    /// The venue's store already holds a desk.
    #[error("this venue's store already holds a desk; use a fresh data directory")]
    StoreInUse,
    /// A store or server fault.
    #[error(transparent)]
    Server(#[from] ServerError),
}

impl From<crate::db::DbError> for DelegationError {
    fn from(e: crate::db::DbError) -> Self {
        DelegationError::Server(ServerError::from(e))
    }
}

impl crate::db::postgres::AsDbError for DelegationError {
    fn as_db_error(&self) -> Option<&crate::db::DbError> {
        match self {
            DelegationError::Server(error) => crate::db::postgres::AsDbError::as_db_error(error),
            _ => None,
        }
    }
}

impl DelegationError {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            DelegationError::NoDesk(_) => "event_not_open",
            DelegationError::AlreadyDelegated(_) => "already_delegated",
            DelegationError::SharedUnits { .. } => "units_shared_with_event",
            DelegationError::NotDelegated(_) => "not_delegated",
            DelegationError::StaleGeneration { .. } => "stale_generation",
            DelegationError::ChainBreak { .. } => "chain_break",
            DelegationError::LeaseNotEnded(_) => "lease_not_ended",
            DelegationError::BundleSignature => "bundle_signature",
            DelegationError::Unreconciled(_) => "unreconciled",
            DelegationError::StoreInUse => "store_in_use",
            DelegationError::Server(_) => "internal",
        }
    }
}

/// Delegation errors at the HTTP edge: a state the authority is in is 409, a segment or
/// bundle that does not verify is 422.
impl From<DelegationError> for ServerError {
    fn from(error: DelegationError) -> ServerError {
        use DelegationError as D;
        let code = error.code();
        match error {
            D::Server(e) => e,
            D::NoDesk(_) => ServerError::NotFound,
            D::ChainBreak { .. } | D::BundleSignature | D::Unreconciled(_) => {
                ServerError::Refused { code, message: error.to_string() }
            }
            other => ServerError::Authority { code, message: other.to_string() },
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)]
mod tests;

//! The device's side of sync: the round loop, its transport and the push channel.
//!
//! [`sync_now`] runs rounds until both sides are quiet: each round is one request and one
//! answer (see [`crate::wire`]), applied atomically. A round that fails on the way (lost
//! request, lost answer, server restarting) is retried with exponential backoff and jitter; it
//! is safe to retry because the server treats every round idempotently and the device stores
//! the new cursor only together with what the answer carried.
//!
//! The cursor is kept per server ([`SyncTransport::server_id`]): a tablet at a selection venue
//! syncs with the venue's server on the LAN and with central over 4G, and the two number their
//! changes independently, so one server's cursor would make the other skip news or refuse the
//! round (see [`crate::replica`]'s sync module). A server that refuses the cursor as ahead of
//! its sequence gets one recovery round from cursor 0 (see [`sync_now`]).

mod cancel;
pub mod http;
pub mod transport;

use std::time::Duration;

use rand::Rng;
use thiserror::Error;

pub use cancel::CancelToken;
pub use transport::{SyncTransport, TransportError};

use crate::replica::{Exclusive, LendReplica, Replica, ReplicaError, RoundOutcome, SyncSession};
use crate::wire::{SyncResponse, WireError};

/// How `sync_now` behaves.
#[derive(Clone, Debug)]
pub struct SyncOptions {
    /// Stop after this many rounds even if the server keeps talking (a safety net).
    pub max_rounds: u32,
    /// Attempts per round before giving up on a retryable failure.
    pub max_attempts: u32,
    /// The first backoff; each retry doubles it, up to `max_backoff`.
    pub initial_backoff: Duration,
    /// The longest backoff.
    pub max_backoff: Duration,
    /// How many bytes one answer should carry at most (first downloads come in batches).
    pub max_response_bytes: u32,
    /// Send the full manifest first: use after restoring the replica from a backup, when the
    /// server may believe the device holds more than it does.
    pub recover: bool,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            max_rounds: 500,
            max_attempts: 8,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
            max_response_bytes: 4 * 1024 * 1024,
            recover: false,
        }
    }
}

/// Progress after each round, for a progress bar.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncProgress {
    /// Rounds completed.
    pub rounds: u32,
    /// Documents received whole so far.
    pub documents_received: u64,
    /// Documents the server says are still waiting.
    pub documents_remaining: u64,
    /// Bytes sent so far.
    pub bytes_sent: u64,
    /// Bytes received so far.
    pub bytes_received: u64,
}

/// What a whole `sync_now` did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Rounds completed.
    pub rounds: u32,
    /// Sync messages sent.
    pub messages_sent: u64,
    /// Sync messages received.
    pub messages_received: u64,
    /// Whole documents received.
    pub snapshots_received: u64,
    /// Documents purged because they left this device's scope.
    pub removed: u64,
    /// Bytes sent.
    pub bytes_sent: u64,
    /// Bytes received.
    pub bytes_received: u64,
    /// Failed attempts that were retried.
    pub retries: u32,
    /// The cursor at the end.
    pub cursor: u64,
    /// Whether the rounds ended quiet (false if `max_rounds` stopped them).
    pub quiet: bool,
}

/// Why `sync_now` stopped without finishing.
#[derive(Debug, Error)]
pub enum SyncError {
    /// The transport failed and retrying did not help (or cannot help).
    #[error("transport: {0}")]
    Transport(#[from] TransportError),
    /// The local replica failed.
    #[error("replica: {0}")]
    Replica(#[from] ReplicaError),
    /// A body could not be encoded or the server's answer could not be decoded.
    #[error("wire: {0}")]
    Wire(#[from] WireError),
    /// The sync was cancelled (the app's task went away); nothing half-applied is kept.
    #[error("cancelled")]
    Cancelled,
}

/// What a sync tells its observer as it goes, for a status line and a progress bar.
#[derive(Debug)]
pub enum SyncEvent<'a> {
    /// An attempt at a round is about to be sent.
    Sending {
        /// The attempt at this round, from 1.
        attempt: u32,
    },
    /// An attempt failed with `error`; the round is retried after a backoff if `retrying`.
    AttemptFailed {
        /// Why.
        error: &'a TransportError,
        /// Whether another attempt follows.
        retrying: bool,
    },
    /// A round's answer was applied.
    Applied {
        /// Progress so far.
        progress: &'a SyncProgress,
        /// What this round changed.
        outcome: &'a RoundOutcome,
        /// Whether the server has more waiting beyond this answer.
        more: bool,
        /// Documents holding changes the server may not have yet.
        pending_push: u64,
    },
}

/// Syncs `replica` with the server behind `transport` until both sides are quiet, calling
/// `progress` after every round. The cursor sent and stored is the one the replica keeps for
/// [`SyncTransport::server_id`]. See [`sync_with`], which this runs.
pub fn sync_now(
    replica: &mut Replica,
    transport: &dyn SyncTransport,
    options: &SyncOptions,
    progress: &mut dyn FnMut(&SyncProgress),
) -> Result<SyncReport, SyncError> {
    let replica = Exclusive::new(replica);
    sync_with(&replica, transport, options, &CancelToken::new(), &mut |event| {
        if let SyncEvent::Applied { progress: p, .. } = event {
            progress(p);
        }
    })
}

/// Syncs the replica lent by `replica` with the server behind `transport` until both sides
/// are quiet, telling `observe` as it goes; `cancel` stops it ([`SyncError::Cancelled`]).
///
/// The replica is borrowed only to build each request and to apply each answer, never while
/// a request is on the network or a backoff waits, so a shared replica's readers and editors
/// carry on meanwhile (an edit made between the two lands in a later round).
///
/// If the server refuses the stored cursor as ahead of its own sequence, this starts the
/// server over at cursor 0 with a recovery round (the manifest), once per call.
pub fn sync_with<L: LendReplica + ?Sized>(
    replica: &L,
    transport: &dyn SyncTransport,
    options: &SyncOptions,
    cancel: &CancelToken,
    observe: &mut dyn FnMut(SyncEvent<'_>),
) -> Result<SyncReport, SyncError> {
    let span = tracing::info_span!("sync_now");
    let _entered = span.enter();
    let server_id = transport.server_id();
    let mut session = if options.recover {
        SyncSession::recovering_for(&server_id)
    } else {
        SyncSession::for_server(&server_id)
    };
    let mut report = SyncReport::default();
    let mut state = SyncProgress::default();
    let mut cursor_reset = false;
    let mut rounds = Rounds { replica, transport, options, cancel, observe };
    let result = loop {
        if report.rounds >= options.max_rounds {
            break Ok(());
        }
        let (sent, response) = match rounds.round(&mut session, &mut report) {
            Ok(answer) => answer,
            // A server behind the cursor this replica holds for it: a venue restarted from its
            // second copy (an older backup) lost the tail of its sequence. Starting over at 0
            // with the manifest has it send whatever the replica lacks and no more; once, so a
            // server that keeps refusing ends the sync with its error.
            Err(SyncError::Transport(e)) if e.is_cursor_refused() && !cursor_reset => {
                tracing::warn!(server = %server_id, error = %e, "cursor refused; recovering from 0");
                cursor_reset = true;
                replica.with_replica(|r| r.reset_server_cursor(&server_id))?;
                session = SyncSession::recovering_for(&server_id);
                continue;
            }
            Err(e) => break Err(e),
        };
        if cancel.is_cancelled() {
            // The answer is dropped unapplied: the next sync hears the same news again.
            break Err(SyncError::Cancelled);
        }
        let (outcome, pending_push) = replica.with_replica(|r| {
            let outcome = r.apply_sync_response(&mut session, &response)?;
            Ok((outcome, r.pending_push_count()?))
        })?;
        tally(&mut report, &mut state, sent, &outcome, &response);
        (rounds.observe)(SyncEvent::Applied {
            progress: &state,
            outcome: &outcome,
            more: response.more,
            pending_push,
        });
        // Done when a round moved nothing, or when the server sent all it had (no `more`),
        // every conversation closed with this answer and nothing is left to push: another
        // round would only confirm that. The next sync's cursor tells the server these
        // answers arrived.
        let open = session.has_open_conversations();
        let moved_nothing = sent == 0 && response.is_quiet();
        if !open && (moved_nothing || (!response.more && pending_push == 0)) {
            report.quiet = true;
            break Ok(());
        }
    };
    forget_session(replica, &mut session)?;
    result.map(|()| report)
}

/// Forgets the session's live conversation: the next round (or sync) resumes from the
/// persisted sync states.
fn forget_session<L: LendReplica + ?Sized>(
    replica: &L,
    session: &mut SyncSession,
) -> Result<(), ReplicaError> {
    replica.with_replica(|r| {
        r.abort_sync_session(session);
        Ok(())
    })
}

/// Counts one applied round into the report and the progress.
fn tally(
    report: &mut SyncReport,
    state: &mut SyncProgress,
    sent: usize,
    outcome: &RoundOutcome,
    response: &SyncResponse,
) {
    report.rounds += 1;
    report.messages_sent += sent as u64;
    report.messages_received += outcome.messages as u64;
    report.snapshots_received += outcome.snapshots as u64;
    report.removed += outcome.removed as u64;
    report.cursor = outcome.cursor;
    state.rounds = report.rounds;
    state.documents_received = report.snapshots_received;
    state.documents_remaining = response.remaining_docs;
    state.bytes_sent = report.bytes_sent;
    state.bytes_received = report.bytes_received;
    tracing::debug!(
        round = report.rounds,
        sent,
        messages = outcome.messages,
        snapshots = outcome.snapshots,
        removed = outcome.removed,
        cursor = outcome.cursor,
        "sync round applied"
    );
}

/// What the rounds of one sync share.
struct Rounds<'a, L: LendReplica + ?Sized> {
    replica: &'a L,
    transport: &'a dyn SyncTransport,
    options: &'a SyncOptions,
    cancel: &'a CancelToken,
    observe: &'a mut dyn FnMut(SyncEvent<'_>),
}

impl<L: LendReplica + ?Sized> Rounds<'_, L> {
    /// One round: builds the request and exchanges it, retrying retryable failures with
    /// backoff. Returns how many messages the request carried and the decoded answer.
    fn round(
        &mut self,
        session: &mut SyncSession,
        report: &mut SyncReport,
    ) -> Result<(usize, SyncResponse), SyncError> {
        let mut attempt: u32 = 0;
        loop {
            attempt = attempt.saturating_add(1);
            if self.cancel.is_cancelled() {
                return Err(SyncError::Cancelled);
            }
            let max_bytes = self.options.max_response_bytes;
            let request =
                self.replica.with_replica(|r| r.build_sync_request(session, max_bytes))?;
            let body = request.encode()?;
            report.bytes_sent += body.len() as u64;
            (self.observe)(SyncEvent::Sending { attempt });
            let failure = match self.transport.exchange_cancellable(body, self.cancel) {
                // Abandoned by cancellation; `sync_with` forgets the session on its way out.
                None => return Err(SyncError::Cancelled),
                Some(Ok(answer)) => {
                    report.bytes_received += answer.len() as u64;
                    match SyncResponse::decode(&answer) {
                        Ok(response) => return Ok((request.messages.len(), response)),
                        // A garbled answer is treated like a lost one.
                        Err(e) => TransportError::Network(format!("undecodable answer: {e}")),
                    }
                }
                Some(Err(e)) => e,
            };
            // The messages just built may never have arrived: resume from the persisted state.
            forget_session(self.replica, session)?;
            let retrying = failure.is_retryable() && attempt < self.options.max_attempts;
            (self.observe)(SyncEvent::AttemptFailed { error: &failure, retrying });
            if !retrying {
                return Err(failure.into());
            }
            report.retries += 1;
            let delay = backoff(self.options, attempt);
            tracing::warn!(attempt, delay_ms = delay.as_millis() as u64, error = %failure, "sync round failed; retrying");
            if self.cancel.sleep(delay) {
                return Err(SyncError::Cancelled);
            }
        }
    }
}

/// Exponential backoff with full jitter, so a venue's tablets do not retry in lockstep.
fn backoff(options: &SyncOptions, attempt: u32) -> Duration {
    jittered_backoff(options.initial_backoff, options.max_backoff, attempt)
}

/// `initial` doubled for each `attempt` after the first, capped at `max`, with full jitter
/// (between half the cap and the cap): the sync's retries and the foreground loop's waits.
pub(crate) fn jittered_backoff(initial: Duration, max: Duration, attempt: u32) -> Duration {
    let exp = initial.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
    let cap = exp.min(max);
    let cap_ms = u64::try_from(cap.as_millis()).unwrap_or(u64::MAX).max(1);
    Duration::from_millis(rand::rng().random_range(cap_ms / 2..=cap_ms))
}

#[cfg(test)]
mod roaming_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let options = SyncOptions {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(1_000),
            ..SyncOptions::default()
        };
        for _ in 0..50 {
            let first = backoff(&options, 1);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
            let late = backoff(&options, 12);
            assert!(late >= Duration::from_millis(500) && late <= Duration::from_millis(1_000));
        }
    }
}

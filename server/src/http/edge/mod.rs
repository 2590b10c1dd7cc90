//! The HTTP edge: what stands between the network and the use cases. Limits on connections,
//! bodies, time, rates and streams (`limits`, `serve`, `rate`, `streams`), who is calling
//! (`caller`), noticing ended credentials (`epoch`) and one error format (`envelope`).
//!
//! Every limit has a default and a `serve` flag (`limits::Limits`); the README's "Limits"
//! table lists them.

pub mod body;
pub mod caller;
pub mod changes;
pub mod envelope;
pub mod epoch;
pub mod errors;
pub mod forwarded;
pub mod limits;
pub mod linger;
pub mod rate;
pub mod serve;
pub mod streams;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use crate::error::ServerError;
use crate::http::AppState;
use caller::TokenMemory;
use epoch::AuthEpoch;
use limits::Limits;
use rate::RateLimits;
use streams::StreamSlots;

/// The edge's shared state: limits, limiters, stream places, remembered tokens, the auth
/// epoch and the password checks' places.
#[derive(Debug)]
pub struct Edge {
    /// The limits in force.
    pub limits: Limits,
    /// Rate limiters.
    pub rates: RateLimits,
    /// Open event streams.
    pub streams: Arc<StreamSlots>,
    /// Tokens checked in the last moment.
    pub tokens: TokenMemory,
    /// Moves on when a credential may have ended.
    pub epoch: AuthEpoch,
    /// Password checks running and waiting.
    pub passwords: PasswordSlots,
}

impl Edge {
    /// The edge for `limits`.
    pub fn new(limits: Limits) -> Edge {
        Edge {
            rates: RateLimits::new(&limits),
            streams: StreamSlots::new(limits.streams_per_caller, limits.max_streams),
            tokens: TokenMemory::default(),
            epoch: AuthEpoch::default(),
            passwords: PasswordSlots::new(limits.password_checks, limits.password_queue),
            limits,
        }
    }
}

/// Places for password checks. Argon2 is slow and takes 19 MiB per check on purpose; run
/// unbounded, six hundred sign-ins at once took 1.8 GiB. A check waits (asynchronously) for
/// one of a few places; past a queue of waiting checks, a sign-in gets 503 at once.
#[derive(Debug)]
pub struct PasswordSlots {
    running: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_waiting: usize,
}

impl PasswordSlots {
    fn new(running: usize, max_waiting: usize) -> PasswordSlots {
        PasswordSlots {
            running: Arc::new(Semaphore::new(running.max(1))),
            waiting: AtomicUsize::new(0),
            max_waiting,
        }
    }

    /// Runs `check` on a blocking thread once a place is free.
    pub async fn check<T: Send + 'static>(
        &self,
        check: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ServerError> {
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(ServerError::Unavailable("too many sign-ins at once".into()));
        }
        let permit = Arc::clone(&self.running).acquire_owned().await;
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        let permit = permit.map_err(|_| ServerError::Unavailable("shutting down".into()))?;
        let result = tokio::task::spawn_blocking(check).await;
        // Released once the thread is idle again (see `db::readers::Readers::read`).
        drop(permit);
        Ok(result?)
    }
}

/// The most threads the blocking pool may hold under `limits`: the store's holder, every
/// reader, every password check, and a few for start-up and shutdown. Every blocking task
/// takes a place (the store's lock, a reader's or a password check's permit) before it is
/// spawned, so this bound is never what makes a request wait.
pub fn max_blocking_threads(limits: &Limits) -> usize {
    limits.readers.max(1).saturating_add(limits.password_checks.max(1)).saturating_add(4)
}

/// The per-address rate limit, for every request.
pub async fn per_address(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(address) = caller::source_address(request.extensions()) else {
        return next.run(request).await;
    };
    match state.edge().rates.request(address) {
        Ok(()) => next.run(request).await,
        Err(error) => error.into_response(),
    }
}

/// Drops idle rate-limit keys every few seconds, until the runtime stops.
pub async fn janitor(state: AppState) {
    let mut tick = tokio::time::interval(rate::JANITOR_PERIOD);
    loop {
        tick.tick().await;
        state.edge().rates.sweep();
    }
}

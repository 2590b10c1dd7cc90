//! Cancelling a sync from another thread.
//!
//! An app cancels a sync when its screen goes away (a Kotlin coroutine or a Swift task is
//! cancelled). The loop in [`super::sync_with`] checks its [`CancelToken`] before every
//! attempt and after every answer, its backoff waits wake at once when cancelled, and an
//! exchange under way is abandoned: [`CancelToken::run_abandonable`] runs it on a thread of its
//! own and stops waiting for it. That is safe because every round is idempotent and the
//! abandoned answer is never applied: the next sync resumes from what the replica stored.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// What a waiter waits for: an answer, or cancellation.
struct Slot<T> {
    value: Option<T>,
    cancelled: bool,
}

/// A waiter's slot with the condition it sleeps on.
struct Waiter<T> {
    slot: Mutex<Slot<T>>,
    wake: Condvar,
}

impl<T> Waiter<T> {
    fn new(cancelled: bool) -> Arc<Waiter<T>> {
        Arc::new(Waiter { slot: Mutex::new(Slot { value: None, cancelled }), wake: Condvar::new() })
    }

    fn lock(&self) -> MutexGuard<'_, Slot<T>> {
        // The slot is two plain fields written whole; a poisoned lock still holds a valid one.
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn cancel(&self) {
        self.lock().cancelled = true;
        self.wake.notify_all();
    }

    fn put(&self, value: T) {
        self.lock().value = Some(value);
        self.wake.notify_all();
    }
}

/// Something cancellation must wake.
trait Wakeable: Send + Sync {
    fn cancel(&self);
}

impl<T: Send> Wakeable for Waiter<T> {
    fn cancel(&self) {
        Waiter::cancel(self);
    }
}

#[derive(Default)]
struct TokenState {
    cancelled: bool,
    next_id: u64,
    waiting: Vec<(u64, Arc<dyn Wakeable>)>,
}

/// Cancels a sync (or any loop that takes one) from another thread. Clones share one state.
#[derive(Clone, Default)]
pub struct CancelToken {
    state: Arc<Mutex<TokenState>>,
}

impl std::fmt::Debug for CancelToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CancelToken").field("cancelled", &self.is_cancelled()).finish()
    }
}

/// Removes a waiter from its token when the wait ends, however it ends.
struct Registration<'a> {
    token: &'a CancelToken,
    id: u64,
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        self.token.lock().waiting.retain(|(id, _)| *id != self.id);
    }
}

impl CancelToken {
    /// A token not cancelled yet.
    pub fn new() -> CancelToken {
        CancelToken::default()
    }

    fn lock(&self) -> MutexGuard<'_, TokenState> {
        // Every write leaves the state whole; a poisoned lock still holds a valid one.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Cancels: every wait under way ends now, and every later check sees it.
    pub fn cancel(&self) {
        let waiting = {
            let mut state = self.lock();
            state.cancelled = true;
            std::mem::take(&mut state.waiting)
        };
        for (_, waiter) in waiting {
            waiter.cancel();
        }
    }

    /// Whether [`CancelToken::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.lock().cancelled
    }

    /// Registers `waiter` to be woken by cancellation, unless already cancelled.
    fn register<T: Send + 'static>(&self, waiter: &Arc<Waiter<T>>) -> Option<Registration<'_>> {
        let mut state = self.lock();
        if state.cancelled {
            return None;
        }
        let id = state.next_id;
        state.next_id = state.next_id.wrapping_add(1);
        let wakeable: Arc<dyn Wakeable> = waiter.clone();
        state.waiting.push((id, wakeable));
        Some(Registration { token: self, id })
    }

    /// Waits `duration`, or less if cancelled. Returns whether it was cancelled.
    pub fn sleep(&self, duration: Duration) -> bool {
        let waiter = Waiter::<()>::new(false);
        let Some(_registration) = self.register(&waiter) else {
            return true;
        };
        let deadline = Instant::now().checked_add(duration);
        let mut slot = waiter.lock();
        while !slot.cancelled {
            let left = match deadline {
                Some(deadline) => deadline.saturating_duration_since(Instant::now()),
                None => Duration::MAX,
            };
            if left.is_zero() {
                return false;
            }
            slot = waiter.wake.wait_timeout(slot, left).unwrap_or_else(PoisonError::into_inner).0;
        }
        true
    }

    /// Runs `work` on a thread of its own and waits for it, or stops waiting when cancelled
    /// (`None`); the abandoned work finishes on its own and its result is dropped. For work
    /// that blocks on the network and cannot be interrupted, and is safe to abandon.
    ///
    /// If the thread cannot be started, `work` runs here.
    pub fn run_abandonable<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let waiter = Waiter::new(false);
        let registration = self.register(&waiter)?;
        let slot = Arc::new(Mutex::new(Some(work)));
        let spawned = {
            let (waiter, slot) = (Arc::clone(&waiter), Arc::clone(&slot));
            std::thread::Builder::new().name("kam-exchange".into()).spawn(move || {
                let work = slot.lock().unwrap_or_else(PoisonError::into_inner).take();
                if let Some(work) = work {
                    waiter.put(work());
                }
            })
        };
        if spawned.is_err() {
            let work = slot.lock().unwrap_or_else(PoisonError::into_inner).take();
            return work.map(|work| work());
        }
        let mut guard = waiter.lock();
        loop {
            if let Some(value) = guard.value.take() {
                drop(registration);
                return Some(value);
            }
            if guard.cancelled {
                return None;
            }
            guard = waiter.wake.wait(guard).unwrap_or_else(PoisonError::into_inner);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn cancelling_wakes_a_sleep_and_abandons_blocked_work_at_once() {
        let token = CancelToken::new();
        let (tx, rx) = mpsc::channel::<()>();
        let sleeper = {
            let token = token.clone();
            std::thread::spawn(move || {
                let started = Instant::now();
                let cancelled = token.sleep(Duration::from_secs(60));
                (cancelled, started.elapsed())
            })
        };
        let runner = {
            let token = token.clone();
            std::thread::spawn(move || {
                let started = Instant::now();
                // Work that would block for a minute: stands for a request to a black hole.
                let outcome =
                    token.run_abandonable(move || rx.recv_timeout(Duration::from_secs(60)));
                (outcome.is_none(), started.elapsed())
            })
        };
        // Both are waiting (or about to); cancel and check they returned well before the minute.
        token.cancel();
        let (cancelled, slept) = sleeper.join().unwrap();
        let (abandoned, waited) = runner.join().unwrap();
        assert!(cancelled && abandoned);
        assert!(slept < Duration::from_secs(30) && waited < Duration::from_secs(30));
        drop(tx);
        assert!(token.sleep(Duration::from_secs(60)), "a cancelled token does not sleep");
        assert!(token.run_abandonable(|| 1).is_none());
    }

    #[test]
    fn work_that_finishes_returns_its_value_and_a_short_sleep_ends() {
        let token = CancelToken::new();
        assert_eq!(token.run_abandonable(|| 41 + 1), Some(42));
        assert!(!token.sleep(Duration::from_millis(5)));
        assert!(token.lock().waiting.is_empty(), "every wait unregisters");
    }
}

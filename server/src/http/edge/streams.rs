//! Caps on open event streams: per device token or session, and in total.
//!
//! A server-sent-event stream holds a connection, a broadcast receiver and a task for as long
//! as the client stays; a thousand of them from one session once raised the server to
//! 2.4 GiB. A stream takes a [`StreamSlot`] before it starts and gives it back when it ends
//! (the slot lives inside the stream, so a client that disconnects frees it).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::error::ServerError;

/// The open streams.
#[derive(Debug)]
pub struct StreamSlots {
    per_caller_max: usize,
    total_max: usize,
    open: Mutex<Open>,
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    per_caller: HashMap<[u8; 16], usize>,
}

/// One open stream's place; dropping it frees the place.
#[derive(Debug)]
pub struct StreamSlot {
    slots: Arc<StreamSlots>,
    caller: [u8; 16],
}

impl StreamSlots {
    /// At most `per_caller_max` streams per credential and `total_max` in all.
    pub fn new(per_caller_max: usize, total_max: usize) -> Arc<StreamSlots> {
        Arc::new(StreamSlots { per_caller_max, total_max, open: Mutex::default() })
    }

    fn open(&self) -> std::sync::MutexGuard<'_, Open> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A place for one more stream of `caller` (a credential hash), or 429 when the caller
    /// has its share open, 503 when the server has every place taken.
    pub fn take(self: &Arc<Self>, caller: [u8; 16]) -> Result<StreamSlot, ServerError> {
        let mut open = self.open();
        if open.total >= self.total_max {
            return Err(ServerError::Unavailable("too many open event streams".into()));
        }
        let mine = open.per_caller.entry(caller).or_insert(0);
        if *mine >= self.per_caller_max {
            return Err(ServerError::RateLimited { retry_after_s: 5 });
        }
        *mine += 1;
        open.total += 1;
        Ok(StreamSlot { slots: Arc::clone(self), caller })
    }

    /// Streams open now.
    pub fn open_now(&self) -> usize {
        self.open().total
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.slots.open();
        open.total = open.total.saturating_sub(1);
        if let Some(mine) = open.per_caller.get_mut(&self.caller) {
            *mine = mine.saturating_sub(1);
            if *mine == 0 {
                open.per_caller.remove(&self.caller);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn a_caller_gets_its_share_and_the_total_is_capped() {
        let slots = StreamSlots::new(2, 3);
        let a1 = slots.take([1; 16]).unwrap();
        let _a2 = slots.take([1; 16]).unwrap();
        assert!(matches!(slots.take([1; 16]), Err(ServerError::RateLimited { .. })));
        let _b1 = slots.take([2; 16]).unwrap();
        assert!(matches!(slots.take([3; 16]), Err(ServerError::Unavailable(_))));
        drop(a1);
        assert_eq!(slots.open_now(), 2);
        let _a3 = slots.take([1; 16]).unwrap();
        assert_eq!(slots.open_now(), 3);
    }
}

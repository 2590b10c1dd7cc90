//! Watch queries: a list screen's query run again whenever a change may alter its rows, its
//! rows emitted only when they differ from the last ones emitted.

use std::sync::{Mutex, PoisonError};

use super::bus::{ChangeSet, Refresh};
use crate::replica::ReplicaError;

/// One watch: which changes concern it, how to run it, and where its rows go.
pub(crate) struct Watch<T, Q, E> {
    relevant: fn(&ChangeSet) -> bool,
    query: Q,
    emit: E,
    last: Mutex<Option<T>>,
}

impl<T, Q, E> Watch<T, Q, E> {
    pub(crate) fn new(relevant: fn(&ChangeSet) -> bool, query: Q, emit: E) -> Self {
        Watch { relevant, query, emit, last: Mutex::new(None) }
    }
}

impl<T, Q, E> Refresh for Watch<T, Q, E>
where
    T: Clone + PartialEq + Send,
    Q: Fn() -> Result<Option<T>, ReplicaError> + Send + Sync,
    E: Fn(Result<T, ReplicaError>) + Send + Sync,
{
    fn relevant(&self, changes: &ChangeSet) -> bool {
        (self.relevant)(changes)
    }

    fn refresh(&self) {
        // `None`: the replica is gone, nothing to show any more.
        let rows = match (self.query)() {
            Ok(Some(rows)) => rows,
            Ok(None) => return,
            Err(error) => return (self.emit)(Err(error)),
        };
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        if last.as_ref() == Some(&rows) {
            return;
        }
        *last = Some(rows.clone());
        drop(last);
        (self.emit)(Ok(rows));
    }
}

//! Lending the replica for one short step.
//!
//! A sync or a desk send talks to the network for most of its time, and a tablet's screens
//! must keep reading and editing meanwhile (ADR 0022). So the loops in
//! [`crate::sync_client`] and [`crate::desk`] never hold the replica across a request: they
//! borrow it for each step (build a request, apply an answer, record an attempt) through
//! [`LendReplica`], and give it back before they wait on the network.

use std::cell::RefCell;
use std::sync::Mutex;

use super::{Replica, ReplicaError};

/// Lends the replica for one step at a time.
///
/// `&mut Replica` callers (tests, simulations, a single-threaded tool) wrap it in
/// [`Exclusive`]; a replica shared between threads lends it from its writer lock, taken only
/// for the step.
pub trait LendReplica {
    /// Runs `step` on the replica. A lock that cannot be taken (poisoned by a panic) is
    /// [`ReplicaError::Poisoned`].
    fn with_replica<T>(
        &self,
        step: impl FnOnce(&mut Replica) -> Result<T, ReplicaError>,
    ) -> Result<T, ReplicaError>;
}

/// A replica borrowed exclusively for the whole call: each step simply uses it.
pub struct Exclusive<'a>(RefCell<&'a mut Replica>);

impl<'a> Exclusive<'a> {
    /// Lends `replica` for the call.
    pub fn new(replica: &'a mut Replica) -> Exclusive<'a> {
        Exclusive(RefCell::new(replica))
    }
}

impl LendReplica for Exclusive<'_> {
    fn with_replica<T>(
        &self,
        step: impl FnOnce(&mut Replica) -> Result<T, ReplicaError>,
    ) -> Result<T, ReplicaError> {
        // Steps never nest, so the cell is always free here; a nested borrow would be a bug
        // in the loop, reported rather than panicking.
        let mut replica = self.0.try_borrow_mut().map_err(|_| ReplicaError::Poisoned)?;
        step(&mut replica)
    }
}

impl LendReplica for Mutex<Replica> {
    fn with_replica<T>(
        &self,
        step: impl FnOnce(&mut Replica) -> Result<T, ReplicaError>,
    ) -> Result<T, ReplicaError> {
        // A panic while the replica was held may have left its cache ahead of the file:
        // refuse rather than guess. Opening the replica again recovers.
        let mut replica = self.lock().map_err(|_| ReplicaError::Poisoned)?;
        step(&mut replica)
    }
}

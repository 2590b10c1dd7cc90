//! The desk's live state: events, units and allotments, holds, buyers and the queue.

/// The desk's live state.
pub trait DeskState {}

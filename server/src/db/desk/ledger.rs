//! The desk's hash-chained ledger: append, the tip, and reading it back for verification.

/// The desk's ledger.
pub trait DeskLedger {}

//! Several server nodes over one PostgreSQL database (ADR 0024): what a node runs besides
//! answering requests so that any node can answer any request.
//!
//! - Work that must run once — the projector, the desk's mirror, hold expiry — runs under a
//!   lease (`lease`): one node at a time holds each, and it moves to another node within
//!   about a second when its holder dies or loses its database connection.
//! - Every node follows the change sequence and the desk's ledger (`feed`), so the streams of
//!   its connected devices and the live consoles hear what other nodes committed. A node
//!   learns that something moved either from a `NOTIFY` the committing node sends after its
//!   commit (`ChangeNotices::Notify`, the default) or by reading the sequence at a short
//!   interval (`ChangeNotices::Follow`); either way it reads what changed from the database,
//!   so a lost notice only delays a stream.
//! - The document cache needs nothing here: every document writer takes the change
//!   sequence's row before reading (`db::postgres::PgDb::lock_documents`), and the cache
//!   compares a document's stored position before using its copy.

mod feed;
mod lease;

use std::time::Duration;

pub use feed::{CHANGES_CHANNEL, follow_changes, send_notices};
pub use lease::{RETRY as LEASE_RETRY, under_lease};

/// How a node learns that another node committed changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ChangeNotices {
    /// The committing node sends a `NOTIFY` after its commit; listeners read what changed
    /// when it arrives (and at least every second).
    Notify,
    /// No notices: every node reads the change sequence every 100 ms ([`FOLLOW_INTERVAL`]).
    Follow,
}

/// How often a node following the sequence without notices reads it.
pub const FOLLOW_INTERVAL: Duration = Duration::from_millis(100);

/// How long a listening node waits for a notice before it reads the sequence anyway.
pub const NOTICE_FALLBACK: Duration = Duration::from_secs(1);

//! # kam-core
//!
//! The core every KAM device runs: the domain model, the business rules (pure functions, the
//! same on tablet and server), the Automerge documents that carry the shared record, and the
//! local SQLite replica (document store, sync state, outbox and local index).
//!
//! Layers, inner to outer:
//!
//! * [`accounts`] — the tablet's account-management actions (leads, plans, surveys,
//!   scorecards): each checks its rule, then writes one commit to the replica.
//! * [`bounds`] — the documented range of every money and quantity field, checked where a
//!   number enters (ADR 0017).
//! * [`model`] — plain data types for customers, tickets, projects and events.
//! * [`policy`] and [`rules`] — every threshold of the written policies and the rules that use
//!   them. No I/O and no clock: callers pass `now`.
//! * [`doc`] — the typed read/write API over Automerge documents; nothing else touches
//!   Automerge paths.
//! * [`desk`] — the selection desk's commands as tablets queue them, send them and show them
//!   (pending, accepted, rejected) on the unit control table.
//! * [`replica`] — one SQLite file holding documents, sync state, the outbox and the local
//!   index that list screens query.
//!
//! This crate knows nothing of HTTP servers or foreign-language bindings: the server and the
//! FFI layer depend on it, never the reverse.

pub mod accounts;
pub mod bounds;
pub mod demo;
pub mod desk;
pub mod doc;
pub mod migrations;
pub mod model;
pub mod policy;
pub mod replica;
pub mod rules;
pub mod shared;
pub mod sync_client;
#[cfg(any(test, feature = "test-support"))]
pub mod test_support;
pub mod wire;

pub use policy::Policy;

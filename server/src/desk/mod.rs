//! The selection desk (选房): the server's authority over unit status, holds, the buyer queue,
//! work tickets, receipts and vouchers (DESIGN §5, RULES §7).
//!
//! Commands arrive over HTTP with an idempotency key. A single writer thread takes them in
//! groups: one IMMEDIATE transaction per group with `synchronous=FULL`, a savepoint per command
//! so a refusal rolls back only that command, every state change appended to the hash-chained
//! ledger, the answer stored under the key, then one commit, and only then the answers. A
//! retried key gets the stored answer; the same key with a different request gets 422.
//!
//! Modules, one concern each (the tables and every statement are storage's: `db::desk`,
//! `db::sqlite::desk`): `command` (request and answer types),
//! `answers` (what is kept under each idempotency key),
//! `ledger` (the hash chain), `writer` (group commit), `context` (what a command sees while
//! it runs), `holds` (hold, release, expiry), `queue` (叫号, mode, list and lottery imports),
//! `sales` (prices, work tickets, receipts, vouchers, red-ink reversal), `catalog` (opening an
//! event's desk from its documents), `mirror` (outcomes into the documents), `reconcile` (the
//! per-event report) and `http` (routes).

mod access;
mod answers;
pub mod catalog;
pub mod command;
mod context;
pub mod delegation;
mod holds;
pub mod http;
pub mod ledger;
pub mod live;
pub mod mirror;
pub mod plan;
mod queue;
pub mod reconcile;
mod sales;
pub mod writer;

pub use command::{CommandAnswer, CommandRequest, DeskCommand, Outcome, Refusal};
pub use writer::{Caller, Desk, DeskReply, ReplyKind};

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;

//! The selection desk as a tablet sees it.
//!
//! Unit status is the server's alone. A tablet queues its commands (hold, release, work
//! tickets, receipts...) in the replica's outbox under an idempotency key stored before the
//! first send, sends them when it can, and keeps each answer as data: an accepted command
//! until the synced documents show it, a refusal with its reason until a person dismisses it.
//! On the tablet's control table a unit with a pending hold is shown as pending, never as
//! held or sold, because only the server's answer makes it so; once answered, the answer shows
//! at once, and the synced documents' later arrival changes nothing visible ([`compose_table`]).

pub mod bounds;
pub mod command;
mod outbox;
mod table;

pub use command::{
    CommandAnswer, CommandRequest, DeskCommand, HoldGranted, MAX_KEY_LEN, Outcome, Refusal,
};
pub use outbox::{
    DeskTransport, SERVED_ELSEWHERE, SendReport, new_idempotency_key, queue_command, rejections,
    send_online, send_pending, send_pending_exclusive,
};
pub use table::{TableStatus, UnitOnTable, compose_table, control_table};

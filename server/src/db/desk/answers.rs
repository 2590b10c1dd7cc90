//! What the desk keeps under each idempotency key: the request's fingerprint and its answer.

/// The stored answers of the desk's commands.
pub trait DeskAnswers {}

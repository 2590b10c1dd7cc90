//! Documents and the change sequence.

use super::DbError;

/// The stored documents and the change sequence every stored change takes a number from.
pub trait DocumentStore {
    /// Takes the next number of the change sequence.
    fn next_seq(&self) -> Result<i64, DbError>;
    /// The latest number of the change sequence.
    fn current_seq(&self) -> Result<i64, DbError>;
}

//! Documents and the change sequence.

use kam_core::doc::DocKind;

use super::DbError;

/// The stored documents and the change sequence every stored change takes a number from.
pub trait DocumentStore {
    /// Takes the next number of the change sequence.
    fn next_seq(&self) -> Result<i64, DbError>;
    /// The latest number of the change sequence.
    fn current_seq(&self) -> Result<i64, DbError>;
    /// How many documents of `kind` are stored.
    fn count_documents(&self, kind: DocKind) -> Result<u64, DbError>;
}

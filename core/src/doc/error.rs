//! Errors of the document layer.

/// What can go wrong reading or writing a KAM document.
#[derive(Debug, thiserror::Error)]
pub enum DocError {
    /// Automerge refused an operation or could not decode bytes. Boxed: the automerge error
    /// is large and would bloat every `Result` in the crate.
    #[error("automerge: {0}")]
    Automerge(#[from] Box<automerge::AutomergeError>),
    /// A field holds a value of the wrong type or format.
    #[error("field {path} is not a valid {expected}")]
    InvalidField {
        /// Slash-separated path of the field inside the document.
        path: String,
        /// What the field should have held.
        expected: &'static str,
    },
    /// A money or quantity field holds a value outside its documented range (ADR 0017): a
    /// typed write refuses it, and a document holding one cannot be read, so the value never
    /// reaches arithmetic. Boxed, like the automerge error, to keep `Result`s small.
    #[error("field {path} is out of range: {source}")]
    OutOfRange {
        /// Slash-separated path of the field inside the document.
        path: String,
        /// The field's range and the value refused.
        #[source]
        source: Box<crate::bounds::OutOfRange>,
    },
    /// The document was written by a newer schema than this build understands.
    #[error("document schema {found} is newer than supported {supported}; update the app")]
    UnsupportedSchema {
        /// Schema version found in the document.
        found: i64,
        /// Newest version this build reads.
        supported: i64,
    },
    /// The document is not of the kind the caller asked for.
    #[error("document {doc_id} is a {found}, not a {expected}")]
    WrongKind {
        /// The document id.
        doc_id: String,
        /// The kind stored in the document.
        found: String,
        /// The kind the caller expected.
        expected: &'static str,
    },
    /// The document's header names another entity than the id it is stored or sent under
    /// (bytes of one document sent as another).
    #[error("document {doc_id} says it is {found}")]
    WrongId {
        /// The id it is stored or sent under.
        doc_id: String,
        /// The id its header holds.
        found: String,
    },
    /// A sync message carries more changes than one message may.
    #[error("a sync message for {doc_id} carries {changes} changes, at most {limit}")]
    TooManyChanges {
        /// The document.
        doc_id: String,
        /// Changes in the message.
        changes: usize,
        /// The limit.
        limit: usize,
    },
    /// The document has not received its creation change yet (e.g. mid-sync).
    #[error("document {0} is still empty")]
    Empty(String),
    /// An entity the edit refers to is not in the document.
    #[error("{entity} {id} not found in {doc_id}")]
    EntityNotFound {
        /// Kind of entity (contact, visit, unit...).
        entity: &'static str,
        /// Its id.
        id: String,
        /// The document searched.
        doc_id: String,
    },
    /// A document id string is malformed.
    #[error("malformed document id `{0}`")]
    MalformedId(String),
    /// A record document (ADR 0023) does not deserialise into its model type.
    #[error("record {doc_id} is malformed: {reason}")]
    InvalidRecord {
        /// The document.
        doc_id: String,
        /// What serde said.
        reason: String,
    },
    /// A record edit refers to a state the record is not in (e.g. closing a measure twice).
    #[error("{doc_id}: {reason}")]
    RecordEdit {
        /// The document.
        doc_id: String,
        /// Why the edit cannot apply.
        reason: String,
    },
    /// A sync message could not be decoded.
    #[error("malformed sync message: {0}")]
    SyncMessage(String),
    /// A persisted sync state could not be decoded.
    #[error("malformed sync state: {0}")]
    SyncState(String),
}

impl From<automerge::AutomergeError> for DocError {
    fn from(error: automerge::AutomergeError) -> Self {
        DocError::Automerge(Box::new(error))
    }
}

//! How a sync round reaches the server: a trait, so tests and simulations can put anything
//! between the device and the server (loss, delay, an in-process server), and an HTTP default.

use thiserror::Error;

/// Why one exchange with the server failed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum TransportError {
    /// The request or its answer was lost or cut (no connection, timeout, reset). Retrying
    /// the same round is safe: every round is idempotent.
    #[error("network: {0}")]
    Network(String),
    /// The device's token is unknown or revoked (HTTP 401). Retrying will not help.
    #[error("unauthorized")]
    Unauthorized,
    /// The device may not do this (HTTP 403), e.g. it named a document outside its scope.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The server refused the request as malformed or too large (another 4xx); it changed
    /// nothing. Retrying the same bytes will not help.
    #[error("rejected with {status} {code}: {message}")]
    Rejected {
        /// The HTTP status.
        status: u16,
        /// The server's machine-readable code.
        code: String,
        /// The server's explanation.
        message: String,
    },
    /// The server failed internally or is overloaded (5xx, 429); retry later.
    #[error("server error {status}")]
    Server {
        /// The HTTP status.
        status: u16,
    },
}

impl TransportError {
    /// Whether trying the same round again may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, TransportError::Network(_) | TransportError::Server { .. })
    }
}

/// One request/response exchange of encoded sync bodies (see [`crate::wire`]).
pub trait SyncTransport {
    /// Sends one encoded [`crate::wire::SyncRequest`] and returns the encoded
    /// [`crate::wire::SyncResponse`].
    fn exchange(&self, request: &[u8]) -> Result<Vec<u8>, TransportError>;
}

impl<T: SyncTransport + ?Sized> SyncTransport for &T {
    fn exchange(&self, request: &[u8]) -> Result<Vec<u8>, TransportError> {
        (**self).exchange(request)
    }
}

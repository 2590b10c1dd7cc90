//! How a sync round reaches the server: a trait, so tests and simulations can put anything
//! between the device and the server (loss, delay, an in-process server), and an HTTP default.

use thiserror::Error;

use super::CancelToken;
pub use crate::replica::DEFAULT_SERVER_ID;

/// The code of the server's refusal of a device token bound to another installation (HTTP
/// 409): a second replica or a second app install using one enrolled device (ADR 0022).
pub const DEVICE_IN_USE: &str = "device_in_use";

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

    /// Whether the server refused the device token because it is bound to another
    /// installation (HTTP 409 `device_in_use`, ADR 0022). Retrying will not help: this
    /// installation must be enrolled as a new device (a new enrolment code, a new token).
    pub fn is_device_in_use(&self) -> bool {
        matches!(self, TransportError::Rejected { status: 409, code, .. } if code == DEVICE_IN_USE)
    }

    /// Whether the server refused the request's cursor: one ahead of its change sequence
    /// (a server restored from an older copy), or beyond its range. The server answers both
    /// with 422 `invalid_field` and the message `invalid cursor: …`; no other field is called
    /// `cursor`, so the message's start tells this refusal from the others of that code.
    pub fn is_cursor_refused(&self) -> bool {
        matches!(self, TransportError::Rejected { code, message, .. }
            if code == "invalid_field" && message.starts_with("invalid cursor:"))
    }
}

/// One request/response exchange of encoded sync bodies (see [`crate::wire`]).
pub trait SyncTransport {
    /// Sends one encoded [`crate::wire::SyncRequest`] and returns the encoded
    /// [`crate::wire::SyncResponse`].
    fn exchange(&self, request: &[u8]) -> Result<Vec<u8>, TransportError>;

    /// The identity under which the replica keeps this server's cursor. Servers number their
    /// change sequences independently (a venue's server and central), so each needs its own
    /// cursor; two transports to the same server must return the same id. It is read once at
    /// the start of each [`crate::sync_client::sync_now`], so a transport must not switch
    /// servers during one call (a roaming device switches between calls). The default,
    /// [`DEFAULT_SERVER_ID`], suits a device that only ever speaks to one server.
    fn server_id(&self) -> String {
        DEFAULT_SERVER_ID.to_owned()
    }

    /// Like [`SyncTransport::exchange`], but gives up waiting when `cancel` is cancelled
    /// (`None`). The default checks before sending and then waits for the exchange; a
    /// transport that can block for long (the network) abandons the exchange instead, as
    /// [`crate::sync_client::http::HttpTransport`] does.
    fn exchange_cancellable(
        &self,
        request: Vec<u8>,
        cancel: &CancelToken,
    ) -> Option<Result<Vec<u8>, TransportError>> {
        if cancel.is_cancelled() {
            return None;
        }
        Some(self.exchange(&request))
    }
}

impl<T: SyncTransport + ?Sized> SyncTransport for &T {
    fn exchange(&self, request: &[u8]) -> Result<Vec<u8>, TransportError> {
        (**self).exchange(request)
    }

    fn server_id(&self) -> String {
        (**self).server_id()
    }

    fn exchange_cancellable(
        &self,
        request: Vec<u8>,
        cancel: &CancelToken,
    ) -> Option<Result<Vec<u8>, TransportError>> {
        (**self).exchange_cancellable(request, cancel)
    }
}

//! The one error type the apps see, and the single place that decides which core error becomes
//! which case. The cases are what an app does about them, not where they came from: retry
//! later, sign in again, show the reason, refresh the screen, fix the field, report the fault.

use kam_core::doc::DocError;
use kam_core::replica::{KeyLengthError, ReplicaError};
use kam_core::sync_client::transport::DEVICE_IN_USE;
use kam_core::sync_client::{SyncError, TransportError};

/// The errors an app acts on.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum KamError {
    /// The server could not be reached or did not answer in time (no connection, timeout,
    /// server busy or restarting). Nothing was lost: try again later.
    #[error("network: {detail}")]
    Network {
        /// What failed, for logs; never contains the device token. (Not `message`: that
        /// name is the exception's own in Kotlin and Swift.)
        detail: String,
    },
    /// The device token is unknown or was revoked: the user must enrol the device again.
    #[error("unauthorized: the device token is unknown or revoked")]
    Unauthorized,
    /// The device token is bound to another installation (ADR 0022): another app install,
    /// or another replica file, synced with it first. Retrying will not help. The app asks
    /// the user for a new enrolment code and enrols this installation as a new device (a
    /// new token); its local edits stay in the replica and are sent once it syncs with its
    /// own token. If the device was reinstalled without its data, an administrator can
    /// release the old binding instead (`kam-server admin release-installation <device>`).
    #[error("device in use: {detail}")]
    DeviceInUse {
        /// The server's explanation, Chinese first then English.
        detail: String,
    },
    /// A business rule or the server refused the action; `reason` is shown to the user.
    #[error("rejected ({code}): {reason}")]
    Rejected {
        /// Stable machine code, e.g. `rule`, `forbidden`, `idempotency_key_reused`.
        code: String,
        /// Why, Chinese first where the server wrote it.
        reason: String,
    },
    /// The thing asked for is not on this device (yet): refresh the screen or sync.
    #[error("not found: {what}")]
    NotFound {
        /// What was asked for.
        what: String,
    },
    /// A value the user typed or the app passed is not valid; `reason` says why.
    #[error("invalid {field}: {reason}")]
    InvalidField {
        /// Which field.
        field: String,
        /// Why it is invalid.
        reason: String,
    },
    /// Local storage failed (disk full, corrupt file, written by a newer app): offer to retry
    /// or report it.
    #[error("storage: {detail}")]
    Storage {
        /// What failed, without personal data.
        detail: String,
    },
    /// The call was cancelled (its coroutine or task went away); nothing half-done is kept.
    #[error("cancelled")]
    Cancelled,
    /// The encryption key the app passed does not open this replica file: the key in the
    /// Android Keystore / iOS Keychain is not the one the file was encrypted with (restored
    /// from another device's backup, key store reset, a plain file opened with a key or an
    /// encrypted one without). Nothing was changed. The data cannot be read without its key:
    /// delete the file and sync again from the server (edits not yet synced are lost), or
    /// find the right key.
    #[error(
        "加密密钥无法打开本地数据（密钥错误或缺失）/ the encryption key does not open the local data (wrong or missing key)"
    )]
    WrongKey,
}

impl KamError {
    /// An invalid-field error.
    pub(crate) fn invalid(field: &str, reason: impl ToString) -> KamError {
        KamError::InvalidField { field: field.to_owned(), reason: reason.to_string() }
    }

    /// A rule refusal with a stable code.
    fn rejected(code: &str, reason: impl ToString) -> KamError {
        KamError::Rejected { code: code.to_owned(), reason: reason.to_string() }
    }

    fn storage(error: impl ToString) -> KamError {
        KamError::Storage { detail: error.to_string() }
    }
}

impl From<ReplicaError> for KamError {
    fn from(error: ReplicaError) -> Self {
        match error {
            ReplicaError::NotFound(what) | ReplicaError::UnknownOutboxKey(what) => {
                KamError::NotFound { what }
            }
            ReplicaError::Rule(reason) => KamError::rejected("rule", reason),
            ReplicaError::AlreadyExists(id) => KamError::rejected("already_exists", id),
            ReplicaError::OutboxKeyReused(key) => KamError::rejected("idempotency_key_reused", key),
            e @ ReplicaError::OutboxState { .. } => KamError::rejected("outbox_state", e),
            ReplicaError::Doc(e) => e.into(),
            ReplicaError::WrongKey => KamError::WrongKey,
            // A build without SQLCipher, a rotation on a plain file: the app's build or code
            // is at fault, which is what `Storage` reports.
            e @ (ReplicaError::Sqlite(_)
            | ReplicaError::SchemaTooNew { .. }
            | ReplicaError::Json(_)
            | ReplicaError::Corrupt(_)
            | ReplicaError::Poisoned
            | ReplicaError::InUse(_)
            | ReplicaError::EncryptionUnavailable
            | ReplicaError::NotEncrypted
            | ReplicaError::Io(_)) => KamError::storage(e),
        }
    }
}

impl From<KeyLengthError> for KamError {
    fn from(error: KeyLengthError) -> Self {
        KamError::invalid("encryption_key", error)
    }
}

impl From<DocError> for KamError {
    fn from(error: DocError) -> Self {
        match error {
            e @ DocError::EntityNotFound { .. } => KamError::NotFound { what: e.to_string() },
            // Created locally but its first change has not arrived yet (mid-sync).
            DocError::Empty(what) => KamError::NotFound { what },
            DocError::MalformedId(id) => KamError::invalid("id", format!("malformed id `{id}`")),
            // A money or quantity outside its documented range (ADR 0017): the app's input.
            DocError::OutOfRange { source, .. } => KamError::invalid(source.field, &source),
            e => KamError::storage(e),
        }
    }
}

impl From<TransportError> for KamError {
    fn from(error: TransportError) -> Self {
        match error {
            // The one refusal that asks for a new enrolment (`TransportError::is_device_in_use`).
            TransportError::Rejected { status: 409, code, message } if code == DEVICE_IN_USE => {
                KamError::DeviceInUse { detail: message }
            }
            TransportError::Network(detail) => KamError::Network { detail },
            TransportError::Unauthorized => KamError::Unauthorized,
            TransportError::Forbidden(reason) => KamError::rejected("forbidden", reason),
            TransportError::Rejected { code, message, .. } => KamError::rejected(&code, message),
            // Busy or failing server: the app's answer is the same as for a lost connection.
            e @ TransportError::Server { .. } => KamError::Network { detail: e.to_string() },
        }
    }
}

impl From<SyncError> for KamError {
    fn from(error: SyncError) -> Self {
        match error {
            SyncError::Transport(e) => e.into(),
            SyncError::Replica(e) => e.into(),
            // An answer this build cannot read: a server of another version or a proxy in the
            // way. Retrying later (or updating the app) is all the app can do.
            SyncError::Wire(e) => KamError::Network { detail: e.to_string() },
            SyncError::Cancelled => KamError::Cancelled,
        }
    }
}

impl From<tokio::task::JoinError> for KamError {
    fn from(error: tokio::task::JoinError) -> Self {
        KamError::storage(format!("background task failed: {error}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_core_error_lands_on_the_case_the_app_acts_on() {
        let cases: Vec<(KamError, &str)> = vec![
            (TransportError::Unauthorized.into(), "Unauthorized"),
            (TransportError::Network("reset".into()).into(), "Network"),
            (TransportError::Server { status: 503 }.into(), "Network"),
            (TransportError::Forbidden("scope".into()).into(), "Rejected"),
            (
                TransportError::Rejected {
                    status: 409,
                    code: "device_in_use".into(),
                    message: "此设备令牌已绑定到另一台设备上的安装".into(),
                }
                .into(),
                "DeviceInUse",
            ),
            (ReplicaError::NotFound("customer/x".into()).into(), "NotFound"),
            (ReplicaError::UnknownOutboxKey("k".into()).into(), "NotFound"),
            (ReplicaError::Rule("closed tickets reopen first".into()).into(), "Rejected"),
            (ReplicaError::Corrupt("x".into()).into(), "Storage"),
            (ReplicaError::WrongKey.into(), "WrongKey"),
            (ReplicaError::EncryptionUnavailable.into(), "Storage"),
            (KeyLengthError { found: 16 }.into(), "InvalidField"),
            (DocError::MalformedId("nope".into()).into(), "InvalidField"),
            (
                DocError::OutOfRange {
                    path: "/credit/credit_limit".into(),
                    source: Box::new(kam_core::bounds::CREDIT_LIMIT.refuse("-1")),
                }
                .into(),
                "InvalidField",
            ),
        ];
        for (error, case) in cases {
            assert!(format!("{error:?}").starts_with(case), "{error:?} should be {case}");
        }
        let refused = TransportError::Rejected {
            status: 422,
            code: "idempotency_key_reused".into(),
            message: "reused".into(),
        };
        assert!(matches!(
            KamError::from(refused),
            KamError::Rejected { code, reason } if code == "idempotency_key_reused" && reason == "reused"
        ));
    }
}

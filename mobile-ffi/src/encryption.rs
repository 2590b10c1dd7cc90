//! Encryption at rest, for an install that already has a plain replica. Opening and key
//! rotation are on [`crate::KamReplica`]; the key is 32 random bytes the app generates once
//! and keeps in the Android Keystore / iOS Keychain.

use kam_core::replica::{EncryptionKey, Replica};

use crate::error::KamError;

/// Encrypts the plain replica file at `path` with `encryption_key` (32 bytes), in place; open
/// it with the same key from then on. For an app that turns encryption on after an update.
/// The replica must not be open. Takes about as long as copying the file: call it off the main
/// thread.
///
/// Errors: `KamError.InvalidField` for a key that is not 32 bytes, `KamError.WrongKey` if the
/// file is already encrypted, `KamError.Storage` if it does not exist or cannot be written.
#[uniffi::export]
pub fn encrypt_replica_file(path: String, encryption_key: Vec<u8>) -> Result<(), KamError> {
    Ok(Replica::encrypt_plain_file(path, &EncryptionKey::from_bytes(&encryption_key)?)?)
}

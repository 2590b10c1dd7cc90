//! Encryption at rest: the replica file through SQLCipher, keyed with 32 random bytes the app
//! keeps in the platform's key store (Android Keystore, iOS Keychain).
//!
//! Only builds with the `encryption` feature (the mobile library) link SQLCipher; elsewhere a
//! key is refused with [`ReplicaError::EncryptionUnavailable`] rather than silently ignored.
//!
//! The key is handed to SQLCipher as a *raw* key (`PRAGMA key = "x'…'"`), not a passphrase:
//! the app's key is already random, so SQLCipher's PBKDF2 stretching (256,000 rounds, a
//! noticeable delay) would only slow down every connection opened to the file.
//!
//! Every connection to the file — the writer, readers, a backup — must call [`apply_key`]
//! before anything else, with the same key; a connection that does not cannot read the file.

use std::ffi::OsString;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, ErrorCode, OpenFlags};

use super::Replica;
use super::error::ReplicaError;

/// The length of an [`EncryptionKey`] in bytes (256 bits, SQLCipher's AES-256 key).
pub const ENCRYPTION_KEY_LEN: usize = 32;

/// The key a replica file is encrypted with: 32 raw bytes, generated at random once per
/// install and kept in the platform's key store. `Debug` never shows the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct EncryptionKey([u8; ENCRYPTION_KEY_LEN]);

/// A key of the wrong length was passed to [`EncryptionKey::from_bytes`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("加密密钥须为 32 字节，收到 {found} 字节 / an encryption key is 32 bytes, not {found}")]
pub struct KeyLengthError {
    /// How many bytes were passed.
    pub found: usize,
}

impl EncryptionKey {
    /// A key from its 32 bytes.
    pub fn new(bytes: [u8; ENCRYPTION_KEY_LEN]) -> EncryptionKey {
        EncryptionKey(bytes)
    }

    /// A key from a byte slice as the platform's key store returns it; exactly 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<EncryptionKey, KeyLengthError> {
        <[u8; ENCRYPTION_KEY_LEN]>::try_from(bytes)
            .map(EncryptionKey)
            .map_err(|_| KeyLengthError { found: bytes.len() })
    }

    /// The key as SQLCipher's raw-key literal, `x'<64 hex digits>'`.
    fn sql_literal(&self) -> String {
        let mut literal = String::with_capacity(ENCRYPTION_KEY_LEN * 2 + 3);
        literal.push_str("x'");
        for byte in self.0 {
            literal.push(hex_digit(byte >> 4));
            literal.push(hex_digit(byte & 0x0f));
        }
        literal.push('\'');
        literal
    }
}

fn hex_digit(nibble: u8) -> char {
    char::from_digit(u32::from(nibble), 16).unwrap_or('0')
}

impl fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EncryptionKey(<redacted>)")
    }
}

/// Whether this build links SQLCipher (the `encryption` feature).
pub const ENCRYPTION_AVAILABLE: bool = cfg!(feature = "encryption");

fn ensure_available() -> Result<(), ReplicaError> {
    if ENCRYPTION_AVAILABLE { Ok(()) } else { Err(ReplicaError::EncryptionUnavailable) }
}

/// Keys a freshly opened connection and checks that the key opens the file.
///
/// Must be the first thing done on every connection to a replica file — the writer in
/// [`Replica::open`], and every read-only or backup connection — with the replica's key, or
/// `None` for a plain file. A new (empty) file takes the key and is encrypted from its first
/// page on.
///
/// Errors: a key that does not open the file, or no key for an encrypted file, is
/// [`ReplicaError::WrongKey`] (SQLCipher cannot tell the two apart, nor either from a file
/// that is not a database at all); a key given to a build without the `encryption` feature
/// is [`ReplicaError::EncryptionUnavailable`].
pub(crate) fn apply_key(
    conn: &Connection,
    key: Option<&EncryptionKey>,
) -> Result<(), ReplicaError> {
    if let Some(key) = key {
        ensure_available()?;
        conn.pragma_update(None, "key", key.sql_literal())?;
    }
    check_key(conn)
}

/// Reads the schema, the first read that needs the file's first page decrypted.
fn check_key(conn: &Connection) -> Result<(), ReplicaError> {
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |row| row.get::<_, i64>(0))
        .map(|_| ())
        .map_err(wrong_key_or)
}

fn wrong_key_or(error: rusqlite::Error) -> ReplicaError {
    match error.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => ReplicaError::WrongKey,
        _ => ReplicaError::Sqlite(error),
    }
}

impl Replica {
    /// Re-encrypts the replica file with `new_key` (key rotation); the replica stays open and
    /// is keyed with `new_key` from then on. Store the new key in the platform's key store
    /// before calling this, and drop the old one after it returns: a crash in between leaves
    /// the file under one of the two keys.
    ///
    /// Any other connection open on the file (a reader) still holds the old key and must be
    /// opened again. Rewrites every page, so it takes about as long as copying the file.
    /// Errors: [`ReplicaError::NotEncrypted`] for a plain replica (encrypt it with
    /// [`Replica::encrypt_plain_file`] instead), [`ReplicaError::EncryptionUnavailable`] in a
    /// build without the `encryption` feature.
    pub fn rekey(&mut self, new_key: &EncryptionKey) -> Result<(), ReplicaError> {
        ensure_available()?;
        let Some(old_key) = self.options.encryption_key.clone() else {
            return Err(ReplicaError::NotEncrypted);
        };
        // Fold the log into the file first, so the rotation starts from a short log.
        self.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
        self.conn.pragma_update(None, "rekey", new_key.sql_literal())?;
        // SQLCipher reports success even when the rewrite could not start or commit (another
        // writer held the lock past the busy timeout, a full disk), leaving this connection
        // writing under the new key over pages under the old one. So check from a fresh
        // connection that the file now opens with the new key, and if not, reopen the writer
        // under the old key before anything is written.
        if let Err(error) = self.check_file_key(new_key) {
            self.reopen_writer(&old_key)?;
            return Err(match error {
                ReplicaError::WrongKey => incomplete_rekey(),
                other => other,
            });
        }
        self.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
        self.options.encryption_key = Some(new_key.clone());
        Ok(())
    }

    /// Whether the file opens with `key` on a new connection.
    fn check_file_key(&self, key: &EncryptionKey) -> Result<(), ReplicaError> {
        let conn = Connection::open_with_flags(&self.path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        apply_key(&conn, Some(key))
    }

    fn reopen_writer(&mut self, key: &EncryptionKey) -> Result<(), ReplicaError> {
        let conn = Connection::open(&self.path)?;
        apply_key(&conn, Some(key))?;
        super::schema::prepare(&conn)?;
        self.conn = conn;
        Ok(())
    }

    /// Encrypts the plain replica file at `path` with `key`, for an app that turns encryption
    /// on for an install that already has a replica. The replica must not be open anywhere.
    ///
    /// The encrypted copy is written beside the file (`<path>-encrypting`), checked, synced,
    /// and renamed over the plain file, so a crash leaves either the plain replica or the
    /// encrypted one, never half of each. The plain bytes may survive in the flash storage's
    /// free blocks; only a replica encrypted from its first open never had them.
    ///
    /// Errors: [`ReplicaError::WrongKey`] if the file is already encrypted (or not a
    /// replica), [`ReplicaError::EncryptionUnavailable`] in a build without the feature,
    /// [`ReplicaError::Io`] if the file does not exist.
    pub fn encrypt_plain_file(
        path: impl AsRef<Path>,
        key: &EncryptionKey,
    ) -> Result<(), ReplicaError> {
        ensure_available()?;
        let path = path.as_ref();
        let encrypting = with_suffix(path, "-encrypting");
        // Left by a crash during an earlier attempt; the plain file is still the replica.
        remove_if_exists(&encrypting)?;
        export_encrypted(path, &encrypting, key)?;
        let check = Connection::open_with_flags(&encrypting, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        apply_key(&check, Some(key))?;
        drop(check);
        fs::File::open(&encrypting)?.sync_all()?;
        // A clean close of the last connection removed the plain log; a stale one must not sit
        // beside the encrypted file, where SQLite would try to replay it.
        remove_if_exists(&with_suffix(path, "-wal"))?;
        remove_if_exists(&with_suffix(path, "-shm"))?;
        fs::rename(&encrypting, path)?;
        sync_parent_dir(path)
    }
}

/// Copies the plain database at `plain` into a new encrypted database at `encrypted`
/// (SQLCipher's `sqlcipher_export`), with its `user_version`, and closes both.
fn export_encrypted(
    plain: &Path,
    encrypted: &Path,
    key: &EncryptionKey,
) -> Result<(), ReplicaError> {
    // A missing file is an error, not a new empty replica to encrypt. (Opening without the
    // CREATE flag would say so too, but ATTACH inherits the flags and must create its file.)
    fs::metadata(plain)?;
    let conn = Connection::open(plain)?;
    apply_key(&conn, None)?;
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
    let target = encrypted.to_str().ok_or_else(|| {
        ReplicaError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the replica's path is not UTF-8",
        ))
    })?;
    conn.execute("ATTACH DATABASE ?1 AS encrypted KEY ?2", (target, key.sql_literal()))?;
    conn.query_row("SELECT sqlcipher_export('encrypted')", [], |_| Ok(()))?;
    // sqlcipher_export copies the schema and rows, not the header's user_version, which is
    // the replica's schema version.
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    conn.pragma_update(Some("encrypted"), "user_version", version)?;
    conn.execute_batch("DETACH DATABASE encrypted;")?;
    conn.close().map_err(|(_, error)| ReplicaError::Sqlite(error))
}

/// The rekey did not take; the file is still under the old key. Busy, so the app may retry.
fn incomplete_rekey() -> ReplicaError {
    ReplicaError::Sqlite(rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
        Some("the key change did not complete; the file keeps its old key".to_owned()),
    ))
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(suffix);
    PathBuf::from(name)
}

fn remove_if_exists(path: &Path) -> Result<(), ReplicaError> {
    match fs::remove_file(path) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error.into()),
        _ => Ok(()),
    }
}

/// Makes the rename durable (on Unix a rename is recorded in the directory).
fn sync_parent_dir(path: &Path) -> Result<(), ReplicaError> {
    #[cfg(unix)]
    if let Some(parent) = path.parent() {
        let parent = if parent.as_os_str().is_empty() { Path::new(".") } else { parent };
        fs::File::open(parent)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_32_bytes_and_debug_hides_it() {
        let key = EncryptionKey::from_bytes(&[0xab; 32]).unwrap();
        assert_eq!(key, EncryptionKey::new([0xab; 32]));
        assert_eq!(format!("{key:?}"), "EncryptionKey(<redacted>)");
        assert_eq!(key.sql_literal(), format!("x'{}'", "ab".repeat(32)));
        assert_eq!(EncryptionKey::from_bytes(&[1; 31]), Err(KeyLengthError { found: 31 }));
        assert_eq!(EncryptionKey::from_bytes(&[1; 33]), Err(KeyLengthError { found: 33 }));
    }

    #[cfg(not(feature = "encryption"))]
    #[test]
    fn a_build_without_the_feature_refuses_a_key() {
        use crate::replica::ReplicaOptions;
        let dir = tempfile::tempdir().unwrap();
        let options = ReplicaOptions {
            encryption_key: Some(EncryptionKey::new([7; 32])),
            ..ReplicaOptions::default()
        };
        let error = Replica::open(dir.path().join("r.db"), options).unwrap_err();
        assert!(matches!(error, ReplicaError::EncryptionUnavailable), "{error:?}");
        let error =
            Replica::encrypt_plain_file(dir.path().join("r.db"), &EncryptionKey::new([7; 32]))
                .unwrap_err();
        assert!(matches!(error, ReplicaError::EncryptionUnavailable), "{error:?}");
    }
}

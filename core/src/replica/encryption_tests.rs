//! Encryption at rest, against the real SQLCipher (`--features encryption`): what is on disk,
//! wrong and missing keys, key rotation, encrypting a plain replica.
#![cfg(feature = "encryption")]

use std::path::Path;

use chrono::Utc;

use super::encryption::apply_key;
use super::*;
use crate::doc::EditMeta;
use crate::model::{Customer, CustomerId, UserId};

/// The name looked for in the raw bytes of the file.
const NAME: &str = "华东机械集团";

fn key(byte: u8) -> EncryptionKey {
    EncryptionKey::new([byte; ENCRYPTION_KEY_LEN])
}

fn open(path: &Path, key: Option<EncryptionKey>) -> Result<Replica, ReplicaError> {
    Replica::open(path, ReplicaOptions { encryption_key: key, ..ReplicaOptions::default() })
}

fn customer() -> Customer {
    crate::test_support::customers::customer_named("c1", NAME, "rep-a")
}

fn add_customer(replica: &mut Replica) {
    let meta = EditMeta::new(&UserId::from("rep-a"), Utc::now(), "test");
    replica.create_customer(&customer(), &meta).unwrap();
}

fn name_of_customer(replica: &mut Replica) -> String {
    replica.customer(&CustomerId::from("c1")).unwrap().profile.name
}

/// Whether the name's UTF-8 bytes occur in the file or its log, and how many bytes were read
/// (so a check that read nothing cannot pass).
fn name_on_disk(path: &Path) -> (bool, usize) {
    let needle = NAME.as_bytes();
    let mut found = false;
    let mut read = 0;
    for suffix in ["", "-wal", "-journal"] {
        let Ok(bytes) = std::fs::read(format!("{}{suffix}", path.display())) else { continue };
        read += bytes.len();
        found |= bytes.windows(needle.len()).any(|window| window == needle);
    }
    (found, read)
}

#[test]
fn an_encrypted_file_holds_no_readable_customer_name() {
    let dir = tempfile::tempdir().unwrap();

    // The check can fail: a plain replica shows the name, in the file or its log.
    let plain = dir.path().join("plain.db");
    let mut replica = open(&plain, None).unwrap();
    add_customer(&mut replica);
    assert!(name_on_disk(&plain).0, "the plain replica should show {NAME} on disk");
    drop(replica);
    assert!(name_on_disk(&plain).0);

    let encrypted = dir.path().join("encrypted.db");
    let mut replica = open(&encrypted, Some(key(1))).unwrap();
    add_customer(&mut replica);
    // While open (the edit still in the log) and after closing (folded into the file).
    let (found, read) = name_on_disk(&encrypted);
    assert!(!found, "{NAME} readable in the encrypted replica or its log");
    assert!(read > 4096, "only {read} bytes on disk");
    drop(replica);
    let (found, read) = name_on_disk(&encrypted);
    assert!(!found && read > 4096, "found: {found}, read {read} bytes");

    let mut replica = open(&encrypted, Some(key(1))).unwrap();
    assert_eq!(name_of_customer(&mut replica), NAME);
}

#[test]
fn a_wrong_or_missing_key_does_not_open_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.db");
    let mut replica = open(&path, Some(key(1))).unwrap();
    add_customer(&mut replica);
    drop(replica);

    let wrong = open(&path, Some(key(2))).unwrap_err();
    assert!(matches!(wrong, ReplicaError::WrongKey), "{wrong:?}");
    let missing = open(&path, None).unwrap_err();
    assert!(matches!(missing, ReplicaError::WrongKey), "{missing:?}");
    // A key for a plain file is refused too, rather than read as garbage.
    let plain = dir.path().join("plain.db");
    drop(open(&plain, None).unwrap());
    let keyed = open(&plain, Some(key(1))).unwrap_err();
    assert!(matches!(keyed, ReplicaError::WrongKey), "{keyed:?}");

    // The failed attempts changed nothing.
    let mut replica = open(&path, Some(key(1))).unwrap();
    assert_eq!(name_of_customer(&mut replica), NAME);
}

#[test]
fn rekey_moves_the_file_to_the_new_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.db");
    let mut replica = open(&path, Some(key(1))).unwrap();
    add_customer(&mut replica);
    replica.rekey(&key(2)).unwrap();
    // Still usable after the rotation, and writes under the new key.
    assert_eq!(name_of_customer(&mut replica), NAME);
    let meta = EditMeta::new(&UserId::from("rep-a"), Utc::now(), "test");
    let mut second = customer();
    second.id = CustomerId::from("c2");
    replica.create_customer(&second, &meta).unwrap();
    drop(replica);

    let old = open(&path, Some(key(1))).unwrap_err();
    assert!(matches!(old, ReplicaError::WrongKey), "{old:?}");
    let mut replica = open(&path, Some(key(2))).unwrap();
    assert_eq!(name_of_customer(&mut replica), NAME);
    assert_eq!(replica.customer(&CustomerId::from("c2")).unwrap().profile.name, NAME);
    assert!(!name_on_disk(&path).0);

    let plain = dir.path().join("plain.db");
    let error = open(&plain, None).unwrap().rekey(&key(3)).unwrap_err();
    assert!(matches!(error, ReplicaError::NotEncrypted), "{error:?}");
}

#[test]
fn a_plain_replica_is_encrypted_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.db");
    let mut replica = open(&path, None).unwrap();
    add_customer(&mut replica);
    let actor = replica.actor_id().clone();
    drop(replica);
    assert!(name_on_disk(&path).0);

    Replica::encrypt_plain_file(&path, &key(5)).unwrap();
    let (found, read) = name_on_disk(&path);
    assert!(!found && read > 4096, "found: {found}, read {read} bytes");
    assert!(!dir.path().join("r.db-encrypting").exists());
    let missing = open(&path, None).unwrap_err();
    assert!(matches!(missing, ReplicaError::WrongKey), "{missing:?}");

    // Same replica: same device identity, same data, schema version kept (no re-migration).
    let mut replica = open(&path, Some(key(5))).unwrap();
    assert_eq!(replica.actor_id(), &actor);
    assert_eq!(name_of_customer(&mut replica), NAME);
    drop(replica);

    // Encrypting twice is refused: the file no longer opens without a key.
    let again = Replica::encrypt_plain_file(&path, &key(6)).unwrap_err();
    assert!(matches!(again, ReplicaError::WrongKey), "{again:?}");
    let absent = Replica::encrypt_plain_file(dir.path().join("none.db"), &key(6)).unwrap_err();
    assert!(matches!(absent, ReplicaError::Io(_)), "{absent:?}");
    assert!(!dir.path().join("none.db").exists());
}

#[test]
fn a_rekey_that_cannot_take_the_write_lock_leaves_the_old_key_working() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.db");
    let mut replica = open(&path, Some(key(1))).unwrap();
    add_customer(&mut replica);
    // Another writer holds the lock past the (shortened) busy timeout: SQLCipher's rekey cannot
    // start its rewrite, yet reports success.
    replica.conn.busy_timeout(std::time::Duration::from_millis(50)).unwrap();
    let blocker = rusqlite::Connection::open(&path).unwrap();
    apply_key(&blocker, Some(&key(1))).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE;").unwrap();
    let error = replica.rekey(&key(2)).unwrap_err();
    assert!(matches!(error, ReplicaError::Sqlite(_)), "{error:?}");
    blocker.execute_batch("ROLLBACK;").unwrap();
    drop(blocker);

    // The replica goes on under the old key, and what it writes is readable with it.
    let meta = EditMeta::new(&UserId::from("rep-a"), Utc::now(), "test");
    let mut second = customer();
    second.id = CustomerId::from("c2");
    replica.create_customer(&second, &meta).unwrap();
    drop(replica);
    let new = open(&path, Some(key(2))).unwrap_err();
    assert!(matches!(new, ReplicaError::WrongKey), "{new:?}");
    let mut replica = open(&path, Some(key(1))).unwrap();
    assert_eq!(replica.customer(&CustomerId::from("c2")).unwrap().profile.name, NAME);
    assert_eq!(name_of_customer(&mut replica), NAME);
}

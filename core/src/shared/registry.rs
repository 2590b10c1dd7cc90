//! One open handle per replica file.
//!
//! Two handles on one file would each keep their own document cache and sync sessions, and
//! one would go stale without noticing. So opening a file this process already has open
//! returns the same shared replica, and a file another process holds open is refused with
//! [`ReplicaError::InUse`] (an advisory lock on `<file>.lock`).

use std::collections::HashMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};

use super::SharedReplica;
use crate::replica::ReplicaError;

fn open_files() -> &'static Mutex<HashMap<PathBuf, Weak<SharedReplica>>> {
    static OPEN: OnceLock<Mutex<HashMap<PathBuf, Weak<SharedReplica>>>> = OnceLock::new();
    OPEN.get_or_init(Default::default)
}

/// The file's one identity: its absolute path with the folder's links resolved (the file
/// itself may not exist yet).
pub(crate) fn identity(path: &Path) -> Result<PathBuf, ReplicaError> {
    let absolute = std::path::absolute(path).map_err(|e| io_error(path, &e))?;
    let (Some(dir), Some(name)) = (absolute.parent(), absolute.file_name()) else {
        return Ok(absolute);
    };
    match dir.canonicalize() {
        Ok(dir) => Ok(dir.join(name)),
        Err(_) => Ok(absolute),
    }
}

/// The replica already open at `identity` in this process, or the one `open` makes, which is
/// then registered. The registry's lock is held while opening, so two threads opening one
/// file get one replica.
pub(crate) fn open_once(
    identity: &Path,
    open: impl FnOnce() -> Result<Arc<SharedReplica>, ReplicaError>,
) -> Result<Arc<SharedReplica>, ReplicaError> {
    let mut files = open_files().lock().unwrap_or_else(PoisonError::into_inner);
    files.retain(|_, replica| replica.strong_count() > 0);
    if let Some(replica) = files.get(identity).and_then(Weak::upgrade) {
        return Ok(replica);
    }
    let replica = open()?;
    files.insert(identity.to_path_buf(), Arc::downgrade(&replica));
    Ok(replica)
}

/// Takes the advisory lock beside the replica file, held as long as the returned file is.
pub(crate) fn lock_file(identity: &Path) -> Result<File, ReplicaError> {
    let mut lock_path = identity.as_os_str().to_owned();
    lock_path.push(".lock");
    let lock_path = PathBuf::from(lock_path);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| io_error(&lock_path, &e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(ReplicaError::InUse(identity.display().to_string())),
        Err(TryLockError::Error(e)) => Err(io_error(&lock_path, &e)),
    }
}

fn io_error(path: &Path, error: &std::io::Error) -> ReplicaError {
    ReplicaError::Io(std::io::Error::new(error.kind(), format!("{}: {error}", path.display())))
}

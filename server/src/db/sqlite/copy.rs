//! The store's second copy: both database files of a data directory, copied with SQLite's
//! online backup into another directory while the server runs.
//!
//! A venue box (any server started with `--copy-dir`) keeps a second copy of its data on a
//! second disk, so a dead disk costs at most one interval of commands: the operator stops the
//! server and serves the copy directory instead. The copy directory always holds a complete,
//! consistent pair: each file is written to a temporary file beside it, flushed, and only
//! then renamed over the previous copy, so a crash (or a full disk) in the middle of a copy
//! leaves the previous copy as it was; the next round deletes the half-written file.
//!
//! Each source file is read inside one read transaction, so the copy is that file as of one
//! instant however many steps it takes. In WAL mode a reader never blocks a writer, and
//! without the transaction SQLite would restart the backup after every commit of another
//! connection, which under a busy desk would never finish. The server's file is read first
//! and the desk's second, and the desk's copy is renamed into place first: the desk is the
//! truth its mirror in the server's documents follows, so in the copy the mirror is never
//! ahead of the desk, even after a crash between the two renames.

use std::ffi::c_int;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use super::desk::DESK_FILE;
use super::server_file::STORE_FILE;
use crate::db::{DbError, Heartbeat};

/// Pages copied per backup step (4 MiB with SQLite's default 4 KiB pages): the thread ticks
/// its beat between steps, so a large file does not look like a stuck task.
pub const PAGES_PER_STEP: c_int = 1024;

/// The shortest interval between two copies: a zero interval would copy in a busy loop.
pub const MIN_INTERVAL: Duration = Duration::from_millis(10);

/// How often the thread ticks its beat while it waits for the next round.
const TICK: Duration = Duration::from_secs(1);

/// A step the source's lock refused is retried after this pause, at most
/// [`BUSY_RETRIES`] times in a row (5 s) before the round fails.
const BUSY_PAUSE: Duration = Duration::from_millis(10);
const BUSY_RETRIES: u32 = 500;

/// What a file is called in the copy directory while it is being written.
const TEMP_SUFFIX: &str = ".copying";

/// The files copied, in the order their snapshots are taken (see the module's notes).
const FILES: [&str; 2] = [STORE_FILE, DESK_FILE];

/// What one copy did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CopyReport {
    /// Database files copied.
    pub files: usize,
    /// Their size in bytes.
    pub bytes: u64,
    /// How long the copy took, in milliseconds.
    pub took_ms: u64,
}

/// The running copy thread. Dropping it, or [`SecondCopy::stop`], ends the thread (after the
/// copy under way, if any).
#[derive(Debug)]
pub struct SecondCopy {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
    counters: Arc<Counters>,
}

/// What the thread tells its handle.
#[derive(Debug, Default)]
struct Counters {
    copies: AtomicU64,
    failures: AtomicU64,
    /// Milliseconds since the epoch at which the last good copy began; 0 before the first.
    last_ms: AtomicI64,
}

impl SecondCopy {
    /// Starts the thread copying `data_dir`'s server and desk files into `copy_dir` (created
    /// if missing) at once and then every `interval` (at least [`MIN_INTERVAL`]). A failed
    /// round is logged, counted on `beat` and tried again the next interval; `beat` ticks at
    /// least every second while the thread lives.
    ///
    /// Refused if `copy_dir` is `data_dir`: renaming a copy over the live files would replace
    /// them under the running server.
    pub fn start(
        data_dir: &Path,
        copy_dir: &Path,
        interval: Duration,
        beat: impl Heartbeat,
    ) -> Result<SecondCopy, DbError> {
        prepare_copy_dir(data_dir, copy_dir)?;
        let counters = Arc::new(Counters::default());
        let (stop, stopped) = mpsc::channel();
        let thread = {
            let (data_dir, copy_dir) = (data_dir.to_path_buf(), copy_dir.to_path_buf());
            let counters = Arc::clone(&counters);
            let interval = interval.max(MIN_INTERVAL);
            std::thread::Builder::new()
                .name("kam-second-copy".into())
                .spawn(move || run(&data_dir, &copy_dir, interval, &beat, &counters, &stopped))
                .map_err(|e| DbError::Thread(format!("cannot start the copy thread: {e}")))?
        };
        Ok(SecondCopy { stop: Some(stop), thread: Some(thread), counters })
    }

    /// Copies `data_dir`'s server and desk files into `copy_dir` (created if missing) once,
    /// now, on the caller's thread.
    pub fn copy_now(data_dir: &Path, copy_dir: &Path) -> Result<CopyReport, DbError> {
        copy_with(data_dir, copy_dir, PAGES_PER_STEP, &|| {})
    }

    /// Ends the thread, waiting for the copy under way to finish.
    pub fn stop(self) {
        drop(self);
    }

    /// Good copies made since the start.
    pub fn copies(&self) -> u64 {
        self.counters.copies.load(Ordering::Acquire)
    }

    /// Rounds that failed since the start.
    pub fn failures(&self) -> u64 {
        self.counters.failures.load(Ordering::Acquire)
    }

    /// When the last good copy began: the copy holds every commit made before this instant.
    /// `None` before the first good copy.
    pub fn last_copied_at(&self) -> Option<DateTime<Utc>> {
        match self.counters.last_ms.load(Ordering::Acquire) {
            0 => None,
            ms => DateTime::from_timestamp_millis(ms),
        }
    }
}

impl Drop for SecondCopy {
    fn drop(&mut self) {
        // Closing the channel wakes the thread from its wait.
        drop(self.stop.take());
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the copy thread panicked");
        }
    }
}

/// The copy thread: a round, then a wait, until the handle is dropped.
fn run(
    data_dir: &Path,
    copy_dir: &Path,
    interval: Duration,
    beat: &impl Heartbeat,
    counters: &Counters,
    stopped: &Receiver<()>,
) {
    loop {
        round(data_dir, copy_dir, beat, counters);
        if !wait(stopped, interval, beat) {
            return;
        }
    }
}

/// One copy, counted; a failure is logged and left for the next round.
fn round(data_dir: &Path, copy_dir: &Path, beat: &impl Heartbeat, counters: &Counters) {
    let began = Utc::now();
    match copy_with(data_dir, copy_dir, PAGES_PER_STEP, &|| beat.tick()) {
        Ok(report) => {
            counters.last_ms.store(began.timestamp_millis(), Ordering::Release);
            counters.copies.fetch_add(1, Ordering::AcqRel);
            beat.tick();
            tracing::debug!(bytes = report.bytes, took_ms = report.took_ms, "second copy made");
        }
        Err(error) => {
            counters.failures.fetch_add(1, Ordering::AcqRel);
            beat.failed();
            tracing::error!(
                %error,
                data_dir = %data_dir.display(),
                copy_dir = %copy_dir.display(),
                "second copy failed; the previous copy stays, the next round tries again"
            );
        }
    }
}

/// Waits `interval`, ticking `beat` every [`TICK`]; false when the handle is dropped.
fn wait(stopped: &Receiver<()>, interval: Duration, beat: &impl Heartbeat) -> bool {
    let began = Instant::now();
    loop {
        let left = interval.saturating_sub(began.elapsed());
        if left.is_zero() {
            return true;
        }
        match stopped.recv_timeout(left.min(TICK)) {
            Err(RecvTimeoutError::Timeout) => beat.tick(),
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return false,
        }
    }
}

/// Copies both files with `pages_per_step` pages per backup step, calling `on_step` after
/// each step.
fn copy_with(
    data_dir: &Path,
    copy_dir: &Path,
    pages_per_step: c_int,
    on_step: &dyn Fn(),
) -> Result<CopyReport, DbError> {
    let began = Instant::now();
    prepare_copy_dir(data_dir, copy_dir)?;
    // Both snapshots before the first page is copied, so the two files are as close in time
    // as they can be.
    let mut sources = Vec::with_capacity(FILES.len());
    for name in FILES {
        sources.push((name, snapshot(&data_dir.join(name))?));
    }
    let mut bytes = 0u64;
    for (name, source) in &sources {
        bytes = bytes.saturating_add(backup_into(
            source,
            &temp_path(copy_dir, name),
            pages_per_step,
            on_step,
        )?);
    }
    drop(sources);
    // The desk first: see the module's notes.
    for name in FILES.iter().rev() {
        publish(copy_dir, name)?;
    }
    sync_dir(copy_dir)?;
    Ok(CopyReport {
        files: FILES.len(),
        bytes,
        took_ms: u64::try_from(began.elapsed().as_millis()).unwrap_or(u64::MAX),
    })
}

/// Creates `copy_dir` and refuses it when it is `data_dir`.
fn prepare_copy_dir(data_dir: &Path, copy_dir: &Path) -> Result<(), DbError> {
    std::fs::create_dir_all(copy_dir).map_err(|e| file_error(copy_dir, e))?;
    let copy = copy_dir.canonicalize().map_err(|e| file_error(copy_dir, e))?;
    // A data directory that does not exist yet cannot be the copy directory.
    if data_dir.canonicalize().is_ok_and(|data| data == copy) {
        return Err(DbError::Corrupt(format!(
            "the copy directory {} is the data directory",
            copy_dir.display()
        )));
    }
    Ok(())
}

/// A connection to the existing database at `path`, inside a read transaction: what it reads
/// is the file as of now, whatever is committed after.
fn snapshot(path: &Path) -> Result<Connection, DbError> {
    // Read-write without CREATE: a missing source is an error, not a new empty file.
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.pragma_update(None, "query_only", true)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.execute_batch("BEGIN DEFERRED")?;
    // A deferred transaction reads its snapshot at its first read.
    conn.query_row("SELECT COUNT(*) FROM sqlite_schema", [], |r| r.get::<_, i64>(0))?;
    Ok(conn)
}

/// Backs `source` up into a new file at `temp`, flushed; its size.
fn backup_into(
    source: &Connection,
    temp: &Path,
    pages_per_step: c_int,
    on_step: &dyn Fn(),
) -> Result<u64, DbError> {
    // What an interrupted round left behind.
    remove_if_exists(temp)?;
    remove_if_exists(&with_suffix(temp, "-journal"))?;
    let mut dest = Connection::open(temp)?;
    {
        let backup = Backup::new(source, &mut dest)?;
        run_backup(&backup, pages_per_step, on_step)?;
    }
    mark_as_copy(&dest)?;
    dest.close().map_err(|(_, e)| e)?;
    let file = File::open(temp).map_err(|e| file_error(temp, e))?;
    file.sync_all().map_err(|e| file_error(temp, e))?;
    Ok(file.metadata().map_err(|e| file_error(temp, e))?.len())
}

/// How far a copy's change sequence jumps past its original's: far more changes than a
/// server makes between two copies, and room for millions of restarts in an `i64`.
const COPY_SEQUENCE_GAP: i64 = 1_000_000_000;

/// Marks a copied desk file as a second copy (ADR 0021): a venue server started on it holds
/// back its commands until it has compared its chain with central's, since the copy may be a
/// few seconds behind what the venue acknowledged. The server's own file has no such mark,
/// but a new actor id and a change sequence moved on.
fn mark_as_copy(dest: &Connection) -> Result<(), DbError> {
    let is_desk: bool = dest.query_row(
        "SELECT COUNT(*) > 0 FROM sqlite_schema WHERE type = 'table' AND name = 'desk_meta'",
        [],
        |r| r.get(0),
    )?;
    if is_desk {
        dest.execute(
            "INSERT INTO desk_meta(key, value) VALUES ('second_copy_of', ?1)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [crate::db::desk::state::instant(Utc::now())],
        )?;
    } else {
        // A copy never writes documents as the server it copied: the original may have
        // written changes under its actor after the copy was taken (relayed to central, held
        // by tablets), and Automerge names a change by its actor and sequence number, so a
        // server restarted from the copy under the same actor would write other changes
        // under numbers already taken. It starts with an actor of its own.
        dest.execute(
            "UPDATE meta SET value = ?1 WHERE key = 'actor_id'",
            [automerge::ActorId::random().to_hex_string()],
        )?;
        // Nor does it hand out change numbers its original may have given a device already:
        // its sequence goes on far beyond them, so a tablet's cursor from the original is
        // behind every change the copy makes, and the tablet hears of all of them.
        dest.execute("UPDATE change_seq SET value = value + ?1 WHERE id = 1", [COPY_SEQUENCE_GAP])?;
    }
    Ok(())
}

/// Steps `backup` to the end. The source is read in one read transaction, so the pages to
/// copy are fixed and the steps end; only a refused lock repeats a step, a bounded number of
/// times.
fn run_backup(
    backup: &Backup<'_, '_>,
    pages_per_step: c_int,
    on_step: &dyn Fn(),
) -> Result<(), DbError> {
    let mut refused = 0u32;
    loop {
        match backup.step(pages_per_step)? {
            StepResult::Done => return Ok(()),
            StepResult::More => {
                refused = 0;
                on_step();
            }
            // Busy, Locked, and whatever a later rusqlite adds: retried.
            _ => {
                refused = refused.saturating_add(1);
                if refused > BUSY_RETRIES {
                    return Err(DbError::Unavailable(
                        "the database stayed locked during its copy".into(),
                    ));
                }
                std::thread::sleep(BUSY_PAUSE);
            }
        }
    }
}

/// Renames the finished copy of `name` over the previous one.
fn publish(copy_dir: &Path, name: &str) -> Result<(), DbError> {
    let target = copy_dir.join(name);
    // A log or journal left beside the previous copy (someone opened it) would be replayed
    // into the new file, which it does not belong to.
    for suffix in ["-wal", "-shm", "-journal"] {
        remove_if_exists(&with_suffix(&target, suffix))?;
    }
    let temp = temp_path(copy_dir, name);
    std::fs::rename(&temp, &target).map_err(|e| file_error(&temp, e))
}

/// Flushes the directory's entries, so the renames survive a power cut.
fn sync_dir(dir: &Path) -> Result<(), DbError> {
    if cfg!(unix) {
        File::open(dir).and_then(|d| d.sync_all()).map_err(|e| file_error(dir, e))?;
    }
    Ok(())
}

fn temp_path(copy_dir: &Path, name: &str) -> PathBuf {
    with_suffix(&copy_dir.join(name), TEMP_SUFFIX)
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn remove_if_exists(path: &Path) -> Result<(), DbError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(file_error(path, e)),
        _ => Ok(()),
    }
}

fn file_error(path: &Path, source: std::io::Error) -> DbError {
    DbError::File { path: path.display().to_string(), source }
}

#[cfg(test)]
#[path = "copy_tests.rs"]
mod tests;

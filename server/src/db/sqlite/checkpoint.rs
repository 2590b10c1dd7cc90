//! WAL checkpoints off the writers' path.
//!
//! In WAL mode SQLite copies the log back into the database file from time to time (a
//! checkpoint). By default the connection whose commit takes the log past 1,000 pages does
//! it, inside that commit: the sync round or desk group that happens to cross the mark waits
//! for the copy and a flush of the database file (5 to 15 ms on this project's machines), and
//! those rounds are the slow tail. The serving process instead checkpoints every database
//! from a thread of its own, `PASSIVE`, so it neither waits for a writer nor blocks one, and
//! the writers' own automatic checkpoint stays only as a backstop
//! (`schema::BACKSTOP_PAGES`, set for every connection in `schema::prepare`) for a log this thread
//! did not keep short (a command-line admin run, or this thread falling behind).

use std::path::PathBuf;
use std::time::Duration;

use rusqlite::Connection;

use super::schema;
use crate::db::{DbError, Heartbeat};

/// How often the checkpoint thread runs. Small and often: a checkpoint ends with a flush of
/// the database file, which competes with the writers' flushes of their logs. Under a busy
/// selection desk, checkpoints every 200 ms made a group commit take up to 30 ms while one
/// flushed; every 50 ms, under 10 ms. A checkpoint with nothing to copy costs next to nothing.
pub const INTERVAL: Duration = Duration::from_millis(50);

/// What one checkpoint did: frames in the log and frames copied back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checkpointed {
    /// Whether a writer or reader kept it from finishing (it will go on next time).
    pub busy: bool,
    /// Frames in the log.
    pub log_frames: i64,
    /// Frames copied into the database file.
    pub copied_frames: i64,
}

/// Copies as much of the log of `conn`'s database as possible into the database file,
/// without waiting for any writer or reader.
pub fn checkpoint(conn: &Connection) -> Result<Checkpointed, DbError> {
    Ok(conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok(Checkpointed {
            busy: r.get::<_, i64>(0)? != 0,
            log_frames: r.get(1)?,
            copied_frames: r.get(2)?,
        })
    })?)
}

/// Starts the checkpoint thread for the databases at `paths`; it runs until the process ends
/// and ticks `beat` after each round.
pub fn spawn(paths: Vec<PathBuf>, beat: impl Heartbeat) -> Result<(), DbError> {
    let mut conns = Vec::new();
    for path in &paths {
        let conn = Connection::open(path)?;
        schema::prepare(&conn)?;
        conns.push(conn);
    }
    std::thread::Builder::new()
        .name("kam-checkpoint".into())
        .spawn(move || {
            loop {
                std::thread::sleep(INTERVAL);
                for conn in &conns {
                    if let Err(error) = checkpoint(conn) {
                        beat.failed();
                        tracing::warn!(%error, "background checkpoint failed");
                    }
                }
                beat.tick();
            }
        })
        .map_err(|e| DbError::Thread(format!("cannot start the checkpoint thread: {e}")))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_passive_checkpoint_copies_the_log_while_a_writer_keeps_its_connection() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite3");
        let writer = Connection::open(&path).unwrap();
        schema::prepare(&writer).unwrap();
        writer.execute_batch("CREATE TABLE t (x INTEGER)").unwrap();
        for i in 0..100 {
            writer.execute("INSERT INTO t VALUES (?1)", [i]).unwrap();
        }
        let auto: i64 = writer.query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0)).unwrap();
        assert_eq!(auto, schema::BACKSTOP_PAGES, "writers checkpoint only as a backstop");
        let other = Connection::open(&path).unwrap();
        schema::prepare(&other).unwrap();
        let done = checkpoint(&other).unwrap();
        assert!(!done.busy, "{done:?}");
        assert!(done.log_frames > 0, "{done:?}");
        assert_eq!(done.copied_frames, done.log_frames, "{done:?}");
        let count: i64 = other.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0)).unwrap();
        assert_eq!(count, 100);
    }
}

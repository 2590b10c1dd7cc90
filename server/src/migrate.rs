//! Moving a company's embedded store into PostgreSQL with nothing lost (ADR 0024): the data
//! directory's two SQLite files (the server's database and the desk's) are copied into one
//! PostgreSQL database in one transaction, then read back from both and compared — every
//! table's rows, every document's stored bytes and row, the desk ledger's chain and tip, and
//! the venue segments central holds. Any difference is an error that names it.
//!
//! The server on the directory must be stopped first: the files are read as they are.

use std::fmt;
use std::path::{Path, PathBuf};

use kam_core::doc::DocId;

use crate::db::desk::DeskDb;
use crate::db::postgres::import::{SourceFiles, TableCount};
use crate::db::postgres::{PgDb, PgPool};
use crate::db::{DbError, DocumentStore, STORE_FILE};
use crate::desk::delegation::DelegationError;
use crate::desk::delegation::lend::{self, SegmentCheck};
use crate::desk::ledger;
use crate::error::ServerError;

/// Why a migration stopped, or what differs after it.
#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    /// The directory holds no server database.
    #[error("{0} holds no {STORE_FILE}: not a KAM data directory")]
    NoStore(PathBuf),
    /// Opening or upgrading the SQLite files failed.
    #[error("{0}")]
    Server(#[from] ServerError),
    /// Reading, copying or comparing failed (a non-empty target is refused here).
    #[error("{0}")]
    Storage(#[from] DbError),
    /// Checking the venue segments failed.
    #[error("{0}")]
    Delegation(#[from] DelegationError),
    /// The copy does not read back as the original: what differs.
    #[error("the copy differs from the SQLite files: {0}")]
    Mismatch(String),
}

/// What was copied and found equal on both sides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigrationReport {
    /// The server database's tables, with their rows in each database.
    pub server_tables: Vec<TableCount>,
    /// The desk database's tables, with their rows in each database.
    pub desk_tables: Vec<TableCount>,
    /// Documents whose stored bytes (snapshot and chunks) and row were compared.
    pub documents_compared: usize,
    /// The change sequence's latest number, the same on both.
    pub current_seq: i64,
    /// Ledger entries verified on both.
    pub ledger_entries: i64,
    /// The ledger's tip: its sequence number, the same on both.
    pub ledger_tip_seq: i64,
    /// The ledger's tip hash, hex, the same on both.
    pub ledger_tip_hash: String,
    /// Whether the ledger's hash chain verified on PostgreSQL as on SQLite.
    pub ledger_verified: bool,
    /// The venue segments central holds, checked on both.
    pub segments: Vec<SegmentCheck>,
}

impl MigrationReport {
    /// Rows copied, both files together.
    pub fn rows(&self) -> u64 {
        self.server_tables.iter().chain(&self.desk_tables).map(|t| t.postgres_rows).sum()
    }
}

impl fmt::Display for MigrationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (file, tables) in
            [(STORE_FILE, &self.server_tables), (crate::db::DESK_FILE, &self.desk_tables)]
        {
            writeln!(f, "{file}:")?;
            writeln!(f, "  {:<32} {:>10} {:>11}", "table", "SQLite", "PostgreSQL")?;
            for t in tables {
                writeln!(f, "  {:<32} {:>10} {:>11}", t.table, t.sqlite_rows, t.postgres_rows)?;
            }
        }
        writeln!(f, "rows: {} copied, every table's count equal", self.rows())?;
        writeln!(
            f,
            "documents: {} compared, stored bytes and rows byte-identical; change sequence at {}",
            self.documents_compared, self.current_seq
        )?;
        writeln!(
            f,
            "desk ledger: {} entries, tip {} {}, {}",
            self.ledger_entries,
            self.ledger_tip_seq,
            self.ledger_tip_hash,
            if self.ledger_verified { "verified on both" } else { "NOT verified" }
        )?;
        for s in &self.segments {
            writeln!(
                f,
                "venue segment {} generation {}: {} entries, tip {}, verified on both",
                s.event_id, s.generation, s.entries, s.tip_hash
            )?;
        }
        write!(f, "verified: the PostgreSQL database holds what the data directory held")
    }
}

/// Copies the data directory `from` into the PostgreSQL database of `pool` and compares the
/// copy with the original. The directory's files are first brought to this build's schema
/// (opening the store once, as the server would), then read through read-only connections.
/// The target must be empty: the copy refuses a table that holds rows, so nothing is copied
/// twice, and both files go in in one transaction, so a failure leaves nothing behind.
///
/// Runs on a blocking thread (the pool's connections wait on their runtime).
pub fn migrate_to_postgres(from: &Path, pool: &PgPool) -> Result<MigrationReport, MigrationError> {
    let server_path = from.join(STORE_FILE);
    if !server_path.is_file() {
        return Err(MigrationError::NoStore(from.to_path_buf()));
    }
    // Upgrades both files and brings the projections up to date, then lets go of them.
    drop(crate::data::open_store(from)?);
    let files = SourceFiles::open(&server_path)?;
    pool.migrate()?;
    let pg = pool.get()?;
    pg.transaction(|db| files.copy_into(db))?;
    compare(&files, &pg)
}

/// Reads the copy back and compares it with both files.
fn compare(files: &SourceFiles, pg: &PgDb) -> Result<MigrationReport, MigrationError> {
    let (server_tables, desk_tables) = files.count_tables(pg)?;
    let (server_tables, desk_tables) = (equal_counts(server_tables)?, equal_counts(desk_tables)?);
    let (documents_compared, current_seq) = compare_documents(files.server(), pg)?;
    let (sqlite_desk, pg_desk): (&dyn DeskDb, &dyn DeskDb) = (files.desk(), pg);
    let here = ledger::verify(sqlite_desk)?;
    let there = ledger::verify(pg_desk)?;
    if here != there {
        return Err(mismatch(format!("the desk ledger verifies as {here:?} vs {there:?}")));
    }
    if let Some(seq) = there.first_bad_seq {
        return Err(mismatch(format!("the desk ledger is broken at entry {seq} on both")));
    }
    let tip = ledger::tip(sqlite_desk)?;
    let pg_tip = ledger::tip(pg_desk)?;
    if tip != pg_tip || hex::encode(tip.hash) != there.tip_hash {
        return Err(mismatch(format!("the ledger's tip is {tip:?} vs {pg_tip:?}")));
    }
    let segments = lend::verify_segments(sqlite_desk)?;
    let pg_segments = lend::verify_segments(pg_desk)?;
    if segments != pg_segments {
        return Err(mismatch(format!("venue segments {segments:?} vs {pg_segments:?}")));
    }
    if let Some(s) = segments.iter().find(|s| s.fault.is_some()) {
        return Err(mismatch(format!("venue segment of {} is broken: {:?}", s.event_id, s.fault)));
    }
    Ok(MigrationReport {
        server_tables,
        desk_tables,
        documents_compared,
        current_seq,
        ledger_entries: there.entries,
        ledger_tip_seq: tip.seq,
        ledger_tip_hash: there.tip_hash,
        ledger_verified: true,
        segments,
    })
}

fn mismatch(what: String) -> MigrationError {
    MigrationError::Mismatch(what)
}

/// The counts, if every table has as many rows in PostgreSQL as in SQLite.
fn equal_counts(counts: Vec<TableCount>) -> Result<Vec<TableCount>, MigrationError> {
    let differ: Vec<String> = counts
        .iter()
        .filter(|c| c.sqlite_rows != c.postgres_rows)
        .map(|c| format!("table {} has {} rows vs {}", c.table, c.sqlite_rows, c.postgres_rows))
        .collect();
    if differ.is_empty() { Ok(counts) } else { Err(mismatch(differ.join("; "))) }
}

/// Compares every document of the SQLite file with its copy: the same ids and positions, the
/// same row (sequence number, scope, heads, size) and the same stored bytes. Returns how many
/// documents were compared and the change sequence's latest number.
fn compare_documents(
    sqlite: &dyn DocumentStore,
    pg: &PgDb,
) -> Result<(usize, i64), MigrationError> {
    let postgres: &dyn DocumentStore = pg;
    let seqs = sqlite.document_seqs()?;
    if seqs != postgres.document_seqs()? {
        return Err(mismatch("the documents' ids or sequence numbers differ".into()));
    }
    let (current_seq, copied_seq) = (sqlite.current_seq()?, postgres.current_seq()?);
    if current_seq != copied_seq {
        return Err(mismatch(format!("the change sequence is at {current_seq} vs {copied_seq}")));
    }
    for (id, _) in &seqs {
        let doc: DocId = id.parse().map_err(|e| mismatch(format!("document id {id}: {e}")))?;
        if sqlite.document_row(&doc)? != postgres.document_row(&doc)? {
            return Err(mismatch(format!("the row of document {id} differs")));
        }
        if sqlite.read_document(&doc)? != postgres.read_document(&doc)? {
            return Err(mismatch(format!("the stored bytes of document {id} differ")));
        }
    }
    Ok((seqs.len(), current_seq))
}

#[cfg(test)]
mod tests;

//! Schema versioning for every KAM database, the tablet's replica and the server's alike.
//!
//! The version lives in `PRAGMA user_version`. Each migration step is one SQL batch that
//! upgrades version `i` to `i + 1`, run in its own IMMEDIATE transaction together with the new
//! version number, so a crash mid-upgrade leaves the previous version intact. A database
//! written by a newer build is refused rather than guessed at.

use rusqlite::{Connection, TransactionBehavior};

/// A database's migration steps, in order.
#[derive(Clone, Copy, Debug)]
pub struct Migrations {
    /// What the database is, for the log line of each step ("replica", "server").
    pub database: &'static str,
    /// Step `i` upgrades version `i` to `i + 1`.
    pub steps: &'static [&'static str],
}

/// Why a migration did not happen.
#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    /// The database was written by a newer build.
    #[error("schema {found} is newer than supported {supported}")]
    TooNew {
        /// Version found in the database.
        found: i64,
        /// Newest version this build knows.
        supported: i64,
    },
    /// SQLite failed.
    #[error("sqlite: {0}")]
    Sql(#[from] rusqlite::Error),
}

impl Migrations {
    /// The version this build writes.
    pub const fn current_version(&self) -> i64 {
        self.steps.len() as i64
    }

    /// Upgrades the database to `target` one step at a time (tests stop at older versions).
    pub fn migrate_to(&self, conn: &mut Connection, target: i64) -> Result<(), MigrationError> {
        let supported = self.current_version();
        let found = user_version(conn)?;
        if found > supported {
            return Err(MigrationError::TooNew { found, supported });
        }
        for step in found..target.min(supported) {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            // Re-read inside the write lock: another connection may have migrated meanwhile.
            if user_version(&tx)? > step {
                continue;
            }
            let index =
                usize::try_from(step).map_err(|_| MigrationError::TooNew { found, supported })?;
            tx.execute_batch(self.steps[index])?;
            tx.pragma_update(None, "user_version", step + 1)?;
            tx.commit()?;
            tracing::info!(database = self.database, from = step, to = step + 1, "schema migrated");
        }
        Ok(())
    }

    /// Upgrades the database to the current version.
    pub fn migrate(&self, conn: &mut Connection) -> Result<(), MigrationError> {
        self.migrate_to(conn, self.current_version())
    }
}

/// The database's schema version.
pub fn user_version(conn: &Connection) -> Result<i64, rusqlite::Error> {
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
}

/// Every table, index and trigger as `type|name|sql`, sorted by name: what migration tests
/// compare between an upgraded database and a fresh one.
pub fn schema_sql(conn: &Connection) -> Result<Vec<String>, rusqlite::Error> {
    let mut stmt = conn
        .prepare("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name")?;
    let rows = stmt.query_map([], |r| {
        Ok(format!(
            "{}|{}|{}",
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?
        ))
    })?;
    rows.collect()
}

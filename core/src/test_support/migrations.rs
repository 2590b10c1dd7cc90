//! Migration tests for any KAM database: open one at an old version, upgrade it, and compare
//! its schema with a fresh one's.

#![allow(clippy::unwrap_used)] // A fixture: a failure here is the calling test's failure.

use rusqlite::Connection;

use crate::migrations::{Migrations, schema_sql, user_version};

/// An in-memory database prepared by `prepare` (pragmas, pre-migration setup) and migrated
/// to exactly `version`.
pub fn at_version<E: std::fmt::Debug>(
    schema: &Migrations,
    prepare: impl Fn(&Connection) -> Result<(), E>,
    version: i64,
) -> Connection {
    let mut conn = Connection::open_in_memory().unwrap();
    prepare(&conn).unwrap();
    schema.migrate_to(&mut conn, version).unwrap();
    assert_eq!(user_version(&conn).unwrap(), version, "{} at version {version}", schema.database);
    conn
}

/// Every table, index and trigger of the database, as migration tests compare them.
pub fn schema_of(conn: &Connection) -> Vec<String> {
    schema_sql(conn).unwrap()
}

/// Upgrading from every earlier version with `migrate` gives exactly the schema of a fresh
/// database: no step forgets what a later one assumes.
pub fn assert_every_step_matches_a_fresh_database<E: std::fmt::Debug>(
    schema: &Migrations,
    prepare: impl Fn(&Connection) -> Result<(), E>,
    migrate: impl Fn(&mut Connection) -> Result<(), E>,
) {
    let current = schema.current_version();
    let fresh = schema_of(&at_version(schema, &prepare, current));
    for start in 0..current {
        let mut conn = at_version(schema, &prepare, start);
        migrate(&mut conn).unwrap();
        assert_eq!(schema_of(&conn), fresh, "{}: upgrade from version {start}", schema.database);
    }
}

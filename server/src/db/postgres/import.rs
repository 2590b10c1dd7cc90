//! Copying a company's embedded server database (the SQLite file) into PostgreSQL, table by
//! table and row by row, with nothing changed on the way (ADR 0024): documents' bytes, ids
//! and sequence numbers stay as they were, so devices' cursors and sync states stay valid.
//!
//! It copies either of a company's files — the server's database or the desk's — since their
//! tables share one PostgreSQL database. Tables are copied after the tables they refer to (as
//! PostgreSQL's foreign keys say), and rows in the order SQLite stored them, so a row that
//! refers to an earlier row of its own table (a red-ink reversal) comes after it.
//!
//! Every SQLite table must have a PostgreSQL counterpart with every one of its columns, and
//! the PostgreSQL tables must be empty (a freshly migrated database); otherwise nothing is
//! copied. The copy is one transaction: all of it or none.

use rusqlite::types::ValueRef;
use tokio_postgres::types::{ToSql, Type};

use super::PgDb;
use crate::db::DbError;

/// A data directory's two SQLite files (the server's and the desk's), opened read-only as
/// the source of a copy into PostgreSQL.
#[derive(Debug)]
pub struct SourceFiles {
    server: rusqlite::Connection,
    desk: rusqlite::Connection,
}

impl SourceFiles {
    /// Opens the server's file at `server_path` and the desk's beside it, read-only.
    pub fn open(server_path: &std::path::Path) -> Result<SourceFiles, DbError> {
        let read_only = |path: &std::path::Path| {
            rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        };
        Ok(SourceFiles {
            server: read_only(server_path)?,
            desk: read_only(&crate::db::desk_path(server_path))?,
        })
    }

    /// Copies both files into `db`, inside the transaction the caller opened.
    pub fn copy_into(&self, db: &PgDb) -> Result<(), DbError> {
        copy_into(&self.server, db)?;
        copy_into(&self.desk, db)
    }

    /// Each file's tables with their rows here and in `target`: the server's, the desk's.
    pub fn count_tables(
        &self,
        target: &PgDb,
    ) -> Result<(Vec<TableCount>, Vec<TableCount>), DbError> {
        Ok((count_tables(&self.server, target)?, count_tables(&self.desk, target)?))
    }

    /// The server's file through the storage traits.
    pub fn server(&self) -> &dyn crate::db::Db {
        &self.server
    }

    /// The desk's file through the desk's storage traits.
    pub fn desk(&self) -> &dyn crate::db::desk::DeskDb {
        &self.desk
    }
}

/// Rows of one table in each database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableCount {
    /// The table.
    pub table: String,
    /// Its rows in the SQLite file.
    pub sqlite_rows: u64,
    /// Its rows in PostgreSQL.
    pub postgres_rows: u64,
}

/// Copies every table of the SQLite server database `source` into `target`, in one
/// transaction, and returns each table's rows in both (read back after the commit).
pub fn copy_from_sqlite(
    source: &rusqlite::Connection,
    target: &PgDb,
) -> Result<Vec<TableCount>, DbError> {
    target.transaction(|db| copy_into(source, db))?;
    count_tables(source, target)
}

/// Copies every table of `source` into `db` inside the transaction the caller holds open
/// (see [`PgDb::transaction`]), so that several files go in all together or not at all: the
/// caller's rollback undoes every file's rows. Refuses as [`copy_from_sqlite`] does.
pub fn copy_into(source: &rusqlite::Connection, db: &PgDb) -> Result<(), DbError> {
    for table in &referred_first(db, sqlite_tables(source)?)? {
        copy_table(source, db, table)?;
    }
    Ok(())
}

/// Each SQLite table's rows next to its PostgreSQL counterpart's.
pub fn count_tables(
    source: &rusqlite::Connection,
    target: &PgDb,
) -> Result<Vec<TableCount>, DbError> {
    sqlite_tables(source)?
        .into_iter()
        .map(|table| {
            let sqlite_rows: i64 =
                source.query_row(&format!("SELECT COUNT(*) FROM \"{table}\""), [], |r| r.get(0))?;
            let postgres_rows =
                super::count(&target.one(&format!("SELECT COUNT(*) FROM \"{table}\""), &[])?, 0)?;
            let sqlite_rows = u64::try_from(sqlite_rows).unwrap_or(0);
            Ok(TableCount { table, sqlite_rows, postgres_rows })
        })
        .collect()
}

/// The SQLite file's tables, in name order.
fn sqlite_tables(source: &rusqlite::Connection) -> Result<Vec<String>, DbError> {
    let mut stmt = source.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
         ORDER BY name",
    )?;
    Ok(stmt.query_map([], |r| r.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?)
}

/// `tables` ordered so that each comes after every table its PostgreSQL foreign keys refer
/// to (a table's references to itself aside); otherwise in the given order.
fn referred_first(target: &PgDb, tables: Vec<String>) -> Result<Vec<String>, DbError> {
    let references = target.rows(
        "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint
         WHERE contype = 'f' AND connamespace = current_schema()::regnamespace",
        &[],
    )?;
    let edges: Vec<(String, String)> = references
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<Result<_, DbError>>()?;
    let mut ordered: Vec<String> = Vec::with_capacity(tables.len());
    let mut left = tables;
    while !left.is_empty() {
        let ready = left.iter().position(|table| {
            edges
                .iter()
                .all(|(child, parent)| child != table || parent == table || !left.contains(parent))
        });
        // A cycle of references between tables (none in the schema) is copied as listed.
        ordered.push(left.remove(ready.unwrap_or(0)));
    }
    Ok(ordered)
}

/// Whether the SQLite table has no row ids (its rows are read in key order then).
fn without_rowid(source: &rusqlite::Connection, table: &str) -> Result<bool, DbError> {
    Ok(source.query_row(
        "SELECT COUNT(*) FROM pragma_table_list WHERE name = ?1 AND wr = 1",
        [table],
        |r| r.get::<_, i64>(0),
    )? > 0)
}

/// A PostgreSQL column: its name, type, and whether it is an identity column.
struct Column {
    name: String,
    pg_type: Type,
    identity: bool,
}

/// The PostgreSQL columns of `table` that the SQLite table has, in SQLite's order; an error
/// names a table or column that has no counterpart.
fn target_columns(
    source: &rusqlite::Connection,
    target: &PgDb,
    table: &str,
) -> Result<Vec<Column>, DbError> {
    let mut stmt = source.prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")?;
    let names =
        stmt.query_map([table], |r| r.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?;
    let found = target.rows(
        "SELECT column_name::text, udt_name::text, is_identity = 'YES'
         FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = $1",
        &[&table],
    )?;
    if found.is_empty() {
        return Err(DbError::Corrupt(format!("table {table} has no PostgreSQL counterpart")));
    }
    names
        .into_iter()
        .map(|name| {
            let row = found.iter().find(|r| r.get::<_, &str>(0) == name).ok_or_else(|| {
                DbError::Corrupt(format!("column {table}.{name} is not in PostgreSQL"))
            })?;
            let pg_type = match row.try_get::<_, &str>(1)? {
                "int8" => Type::INT8,
                "int4" => Type::INT4,
                "bool" => Type::BOOL,
                "bytea" => Type::BYTEA,
                "text" => Type::TEXT,
                other => {
                    return Err(DbError::Corrupt(format!("column {table}.{name} is {other}")));
                }
            };
            Ok(Column { name, pg_type, identity: row.try_get(2)? })
        })
        .collect()
}

/// Copies one table's rows; refuses a PostgreSQL table that holds rows already (but for the
/// change sequence's one row, which the migration seeds and the copy replaces).
fn copy_table(source: &rusqlite::Connection, db: &PgDb, table: &str) -> Result<(), DbError> {
    let columns = target_columns(source, db, table)?;
    if table == "change_seq" {
        db.execute("DELETE FROM change_seq", &[])?;
    }
    let held = super::count(&db.one(&format!("SELECT COUNT(*) FROM \"{table}\""), &[])?, 0)?;
    if held > 0 {
        return Err(DbError::Corrupt(format!("PostgreSQL table {table} is not empty")));
    }
    let names: Vec<String> = columns.iter().map(|c| format!("\"{}\"", c.name)).collect();
    let slots: Vec<String> = (1..=columns.len()).map(|i| format!("${i}")).collect();
    let overriding =
        if columns.iter().any(|c| c.identity) { " OVERRIDING SYSTEM VALUE" } else { "" };
    let insert = format!(
        "INSERT INTO \"{table}\" ({}){overriding} VALUES ({})",
        names.join(", "),
        slots.join(", ")
    );
    let order = if without_rowid(source, table)? { "" } else { " ORDER BY rowid" };
    let mut stmt =
        source.prepare(&format!("SELECT {} FROM \"{table}\"{order}", names.join(", ")))?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let values = columns
            .iter()
            .enumerate()
            .map(|(i, column)| value(table, column, row.get_ref(i)?))
            .collect::<Result<Vec<_>, DbError>>()?;
        let params: Vec<&(dyn ToSql + Sync)> = values.iter().map(|v| v.as_ref()).collect();
        db.execute(&insert, &params)?;
    }
    for column in columns.iter().filter(|c| c.identity) {
        // The next generated id follows the copied ones.
        db.execute(
            &format!(
                "SELECT setval(pg_get_serial_sequence('\"{table}\"', '{0}'),
                               COALESCE((SELECT MAX(\"{0}\") FROM \"{table}\"), 0) + 1, false)",
                column.name
            ),
            &[],
        )?;
    }
    Ok(())
}

/// One SQLite value as the PostgreSQL column's type takes it.
fn value(
    table: &str,
    column: &Column,
    cell: ValueRef<'_>,
) -> Result<Box<dyn ToSql + Sync>, DbError> {
    let mismatch = || {
        DbError::Corrupt(format!(
            "{table}.{} holds a value that is not {}",
            column.name, column.pg_type
        ))
    };
    Ok(match (&column.pg_type, cell) {
        (_, ValueRef::Null) => match column.pg_type {
            Type::INT8 => Box::new(None::<i64>),
            Type::INT4 => Box::new(None::<i32>),
            Type::BOOL => Box::new(None::<bool>),
            Type::BYTEA => Box::new(None::<Vec<u8>>),
            _ => Box::new(None::<String>),
        },
        (&Type::INT8, ValueRef::Integer(n)) => Box::new(n),
        (&Type::INT4, ValueRef::Integer(n)) => Box::new(i32::try_from(n).map_err(|_| mismatch())?),
        (&Type::BOOL, ValueRef::Integer(n)) => Box::new(n != 0),
        (&Type::BYTEA, ValueRef::Blob(bytes)) => Box::new(bytes.to_vec()),
        (&Type::TEXT, ValueRef::Text(text)) => {
            Box::new(String::from_utf8(text.to_vec()).map_err(|_| mismatch())?)
        }
        _ => return Err(mismatch()),
    })
}

//! Rows as the desk's images carry them (ADR 0021), on PostgreSQL: every column as SQLite
//! stores it — null, integer, text, a blob as `{"blob": hex}`, a boolean as 0 or 1 — so a
//! PostgreSQL central and a SQLite venue exchange the same rows. The desk's images and the
//! people who travel with them (`people`) read and write their tables through here.

use serde_json::Value;
use tokio_postgres::Row;
use tokio_postgres::types::{ToSql, Type};

use super::PgDb;
use crate::db::DbError;
use crate::db::desk::image::TableRows;

/// A table an image writes: its name, its primary key, and what writing a row whose key is
/// stored already does.
pub(crate) struct Table {
    pub(crate) name: &'static str,
    pub(crate) key: &'static [&'static str],
    pub(crate) stored: Stored,
}

/// What writing a row whose key is stored already does.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stored {
    /// The row changes in place (units, holds, buyers, the event; people).
    Update,
    /// The stored row must equal the one written: it never changes once written.
    MustMatch,
    /// The stored row stays: an answer kept under a key is the one some tablet may have heard.
    Keep,
}

/// One row's cells as an image carries them.
pub(crate) fn cells(row: &Row) -> Result<Vec<Value>, DbError> {
    let mut out = Vec::with_capacity(row.len());
    for (i, column) in row.columns().iter().enumerate() {
        let ty = column.type_();
        let cell = if *ty == Type::INT8 {
            row.try_get::<_, Option<i64>>(i)?.map(Value::from)
        } else if *ty == Type::INT4 {
            row.try_get::<_, Option<i32>>(i)?.map(Value::from)
        } else if *ty == Type::BOOL {
            row.try_get::<_, Option<bool>>(i)?.map(|b| Value::from(i64::from(b)))
        } else if *ty == Type::BYTEA {
            let bytes = row.try_get::<_, Option<Vec<u8>>>(i)?;
            bytes.map(|b| serde_json::json!({ "blob": hex::encode(b) }))
        } else if *ty == Type::TEXT {
            row.try_get::<_, Option<String>>(i)?.map(Value::String)
        } else {
            return Err(DbError::Corrupt(format!(
                "column {} holds a value an image cannot carry",
                column.name()
            )));
        };
        out.push(cell.unwrap_or(Value::Null));
    }
    Ok(out)
}

/// The columns of a local table with their types, in the table's order.
pub(crate) fn local_columns(db: &PgDb, table: &str) -> Result<Vec<(String, String)>, DbError> {
    let rows = db.rows(
        "SELECT column_name::text, data_type::text FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
        &[&table],
    )?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
}

/// Parameter `n` (bound as text, or null) as a value of the column type `ty`.
pub(crate) fn typed(n: usize, ty: &str) -> String {
    match ty {
        "bigint" | "integer" => format!("${n}::text::bigint"),
        "boolean" => format!("(${n}::text::bigint <> 0)"),
        "bytea" => format!("decode(${n}::text, 'hex')"),
        _ => format!("${n}::text"),
    }
}

/// The statement that writes one row of `table` with `columns` (name and type).
fn upsert_sql(table: &Table, columns: &[(&str, &str)]) -> String {
    let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
    let marks: Vec<String> =
        columns.iter().enumerate().map(|(i, (_, ty))| typed(i.saturating_add(1), ty)).collect();
    let changes: Vec<String> = names
        .iter()
        .filter(|c| !table.key.contains(c))
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    let action = if table.stored != Stored::Update || changes.is_empty() {
        "NOTHING".to_owned()
    } else {
        format!("UPDATE SET {}", changes.join(", "))
    };
    format!(
        "INSERT INTO {}({}) VALUES ({}) ON CONFLICT({}) DO {action}",
        table.name,
        names.join(", "),
        marks.join(", "),
        table.key.join(", ")
    )
}

/// An image cell as text for its column (a blob as its hex), or `None` for null.
pub(crate) fn cell_text(value: &Value) -> Result<Option<String>, DbError> {
    Ok(match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Some(i.to_string()),
            None => return Err(DbError::Corrupt(format!("image cell {n} is not an integer"))),
        },
        Value::Object(map) => match map.get("blob").and_then(|b| b.as_str()) {
            Some(text) if map.len() == 1 && hex::decode(text).is_ok() => Some(text.to_owned()),
            _ => return Err(DbError::Corrupt("image cell is not a stored value".into())),
        },
        other => return Err(DbError::Corrupt(format!("image cell {other} is not a stored value"))),
    })
}

/// Binds text cells as statement parameters.
pub(crate) fn as_params(cells: &[Option<String>]) -> Vec<&(dyn ToSql + Sync)> {
    cells.iter().map(|c| c as &(dyn ToSql + Sync)).collect()
}

/// Whether the stored row with the key of `cells` equals them (an append-only row).
fn same_as_stored(
    db: &PgDb,
    table: &Table,
    columns: &[(&str, &str)],
    cells: &[Option<String>],
) -> Result<bool, DbError> {
    let mut wanted = Vec::with_capacity(table.key.len());
    let mut key = Vec::with_capacity(table.key.len());
    for k in table.key {
        let Some(at) = columns.iter().position(|(c, _)| c == k) else { return Ok(false) };
        let (name, ty) = columns.get(at).copied().unwrap_or_default();
        key.push(cells.get(at).cloned().flatten());
        wanted.push(format!("{name} = {}", typed(key.len(), ty)));
    }
    let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
    let sql =
        format!("SELECT {} FROM {} WHERE {}", names.join(", "), table.name, wanted.join(" AND "));
    let Some(row) = db.row(&sql, &as_params(&key))? else { return Ok(false) };
    let stored = cells_text(&row)?;
    Ok(stored == cells)
}

/// A stored row's cells as text, as [`cell_text`] gives an image's.
fn cells_text(row: &Row) -> Result<Vec<Option<String>>, DbError> {
    cells(row)?.iter().map(cell_text).collect()
}

/// Writes an image's rows of `table` (its columns checked against the local table's), doing
/// with each row whose key is stored already what `table.stored` says. Returns the rows
/// written.
pub(crate) fn write_table(db: &PgDb, table: &Table, rows: &TableRows) -> Result<usize, DbError> {
    let local = local_columns(db, table.name)?;
    let mut columns = Vec::with_capacity(rows.columns.len());
    for name in &rows.columns {
        let Some((_, ty)) = local.iter().find(|(c, _)| c == name) else {
            return Err(DbError::Corrupt(format!(
                "image column {}.{name} is not known",
                table.name
            )));
        };
        columns.push((name.as_str(), ty.as_str()));
    }
    if table.key.iter().any(|k| !rows.columns.iter().any(|c| c == k)) {
        return Err(DbError::Corrupt(format!("image of {} lacks its key", table.name)));
    }
    let sql = upsert_sql(table, &columns);
    let mut written = 0usize;
    for row in &rows.rows {
        if row.len() != rows.columns.len() {
            return Err(DbError::Corrupt(format!(
                "image row of {} has the wrong width",
                table.name
            )));
        }
        let cells = row.iter().map(cell_text).collect::<Result<Vec<_>, _>>()?;
        let changed = db.execute(&sql, &as_params(&cells))?;
        if changed == 0
            && table.stored == Stored::MustMatch
            && !same_as_stored(db, table, &columns, &cells)?
        {
            return Err(DbError::Corrupt(format!(
                "an append-only row of {} differs from the one stored",
                table.name
            )));
        }
        written = written.saturating_add(usize::try_from(changed).unwrap_or(usize::MAX));
    }
    Ok(written)
}

//! `PeopleTransfer` over PostgreSQL: the user, device and grant rows of an event's people, as
//! the desk's images carry rows (every column as stored: null, integer, text, and a blob as
//! `{"blob": hex}`), so a PostgreSQL central and a SQLite venue exchange the same rows.

use serde_json::Value;
use tokio_postgres::Row;
use tokio_postgres::types::Type;

use super::PgDb;
use crate::db::desk::image::TableRows;
use crate::db::people::PeopleTransfer;
use crate::db::{DbError, DocumentStore};

/// How one table of people is read and written.
struct Spec {
    table: &'static str,
    /// Its primary key.
    key: &'static [&'static str],
    /// The rows of the people: `$1` is a JSON array of user ids.
    rows: &'static str,
    order: &'static str,
}

const SPECS: &[Spec] = &[
    Spec {
        table: "users",
        key: &["user_id"],
        rows: "user_id IN (SELECT jsonb_array_elements_text($1::text::jsonb))",
        order: "user_id",
    },
    Spec {
        table: "devices",
        key: &["device_id"],
        rows: "user_id IN (SELECT jsonb_array_elements_text($1::text::jsonb)) AND revoked_at IS NULL",
        order: "device_id",
    },
    Spec {
        table: "grants",
        key: &["user_id", "scope_key"],
        rows: "user_id IN (SELECT jsonb_array_elements_text($1::text::jsonb))",
        order: "user_id, scope_key",
    },
];

impl PeopleTransfer for PgDb {
    fn people_with_grant(&self, scope_key: &str, also: &str) -> Result<Vec<TableRows>, DbError> {
        // Finance reviews and takes money at the venue without a grant of the event (the role
        // sees every event), so finance users come along too.
        let rows = self.rows(
            "SELECT user_id FROM grants WHERE scope_key = $1
             UNION SELECT user_id FROM users WHERE role = 'finance' AND disabled_at IS NULL
             ORDER BY 1",
            &[&scope_key],
        )?;
        let mut users = rows.iter().map(|r| r.try_get(0)).collect::<Result<Vec<String>, _>>()?;
        if !users.iter().any(|u| u == also) {
            users.push(also.to_owned());
        }
        let list = serde_json::to_string(&users).map_err(|e| DbError::Corrupt(e.to_string()))?;
        SPECS.iter().map(|spec| read_table(self, spec, &list)).collect()
    }

    fn apply_people(&self, tables: &[TableRows]) -> Result<usize, DbError> {
        let mut written = 0usize;
        for table in tables {
            let Some(spec) = SPECS.iter().find(|s| s.table == table.table) else {
                return Err(DbError::Corrupt(format!("people table {} is not known", table.table)));
            };
            written = written.saturating_add(write_table(self, spec, table)?);
        }
        renumber_grants(self)?;
        Ok(written)
    }
}

fn read_table(db: &PgDb, spec: &Spec, users: &str) -> Result<TableRows, DbError> {
    let sql = format!("SELECT * FROM {} WHERE {} ORDER BY {}", spec.table, spec.rows, spec.order);
    let found = db.rows(&sql, &[&users])?;
    let columns = match found.first() {
        Some(first) => first.columns().iter().map(|c| c.name().to_owned()).collect(),
        None => local_columns(db, spec.table)?.into_iter().map(|(name, _)| name).collect(),
    };
    let rows = found.iter().map(cells).collect::<Result<_, _>>()?;
    Ok(TableRows { table: spec.table.to_owned(), columns, rows })
}

/// One row's cells as an image carries them.
fn cells(row: &Row) -> Result<Vec<Value>, DbError> {
    let mut out = Vec::with_capacity(row.len());
    for (i, column) in row.columns().iter().enumerate() {
        let ty = column.type_();
        let cell = if *ty == Type::INT8 {
            row.try_get::<_, Option<i64>>(i)?.map(Value::from)
        } else if *ty == Type::INT4 {
            row.try_get::<_, Option<i32>>(i)?.map(Value::from)
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
fn local_columns(db: &PgDb, table: &str) -> Result<Vec<(String, String)>, DbError> {
    let rows = db.rows(
        "SELECT column_name::text, data_type::text FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
        &[&table],
    )?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
}

/// The statement that writes one row of `spec` with `columns` (each cell bound as text, or
/// null, and turned into the column's type here).
fn upsert_sql(spec: &Spec, columns: &[(&str, &str)]) -> String {
    let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
    let marks: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, (_, ty))| {
            let n = i.saturating_add(1);
            match *ty {
                "bigint" | "integer" => format!("${n}::text::bigint"),
                "bytea" => format!("decode(${n}::text, 'hex')"),
                _ => format!("${n}::text"),
            }
        })
        .collect();
    let changes: Vec<String> = names
        .iter()
        .filter(|c| !spec.key.contains(c))
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    let action = if changes.is_empty() {
        "NOTHING".to_owned()
    } else {
        format!("UPDATE SET {}", changes.join(", "))
    };
    format!(
        "INSERT INTO {}({}) VALUES ({}) ON CONFLICT({}) DO {action}",
        spec.table,
        names.join(", "),
        marks.join(", "),
        spec.key.join(", ")
    )
}

/// An image cell as text for its column (a blob as its hex), or `None` for null.
fn cell_text(value: &Value) -> Result<Option<String>, DbError> {
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

fn write_table(db: &PgDb, spec: &Spec, rows: &TableRows) -> Result<usize, DbError> {
    let local = local_columns(db, spec.table)?;
    let mut columns = Vec::with_capacity(rows.columns.len());
    for name in &rows.columns {
        let Some((_, ty)) = local.iter().find(|(c, _)| c == name) else {
            return Err(DbError::Corrupt(format!(
                "image column {}.{name} is not known",
                spec.table
            )));
        };
        columns.push((name.as_str(), ty.as_str()));
    }
    if spec.key.iter().any(|k| !rows.columns.iter().any(|c| c == k)) {
        return Err(DbError::Corrupt(format!("image of {} lacks its key", spec.table)));
    }
    let sql = upsert_sql(spec, &columns);
    let mut written = 0usize;
    for row in &rows.rows {
        if row.len() != rows.columns.len() {
            return Err(DbError::Corrupt(format!(
                "image row of {} has the wrong width",
                spec.table
            )));
        }
        let cells = row.iter().map(cell_text).collect::<Result<Vec<_>, _>>()?;
        let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
            cells.iter().map(|c| c as &(dyn tokio_postgres::types::ToSql + Sync)).collect();
        let changed = db.execute(&sql, &params)?;
        written = written.saturating_add(usize::try_from(changed).unwrap_or(usize::MAX));
    }
    Ok(written)
}

/// Grants carry the position in the change sequence at which they were given, and a device's
/// cursor says which grants it has absorbed. Copied grants carry the sender's numbers, which
/// mean nothing in this store's sequence: one ahead of it would be news to every device on
/// every round, so those take this store's next number.
fn renumber_grants(db: &PgDb) -> Result<(), DbError> {
    let current = db.current_seq()?;
    let ahead =
        db.one("SELECT EXISTS(SELECT 1 FROM grants WHERE granted_seq > $1)", &[&current])?;
    if !ahead.try_get::<_, bool>(0)? {
        return Ok(());
    }
    let next = db.next_seq()?;
    db.execute("UPDATE grants SET granted_seq = $1 WHERE granted_seq > $2", &[&next, &current])?;
    Ok(())
}

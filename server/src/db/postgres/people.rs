//! `PeopleTransfer` over PostgreSQL: the user, device and grant rows of an event's people, as
//! the desk's images carry rows (`image_rows`), so a PostgreSQL central and a SQLite venue
//! exchange the same rows.

use super::PgDb;
use super::image_rows::{Stored, Table, cells, local_columns, write_table};
use crate::db::desk::image::TableRows;
use crate::db::people::PeopleTransfer;
use crate::db::{DbError, DocumentStore};

/// How one table of people is read and written.
struct Spec {
    /// The table and its key; a stored row is updated.
    table: Table,
    /// The rows of the people: `$1` is a JSON array of user ids.
    rows: &'static str,
    order: &'static str,
}

const SPECS: &[Spec] = &[
    Spec {
        table: Table { name: "users", key: &["user_id"], stored: Stored::Update },
        rows: "user_id IN (SELECT jsonb_array_elements_text($1::text::jsonb))",
        order: "user_id",
    },
    Spec {
        table: Table { name: "devices", key: &["device_id"], stored: Stored::Update },
        rows: "user_id IN (SELECT jsonb_array_elements_text($1::text::jsonb)) AND revoked_at IS NULL",
        order: "device_id",
    },
    Spec {
        table: Table { name: "grants", key: &["user_id", "scope_key"], stored: Stored::Update },
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
            let Some(spec) = SPECS.iter().find(|s| s.table.name == table.table) else {
                return Err(DbError::Corrupt(format!("people table {} is not known", table.table)));
            };
            written = written.saturating_add(write_table(self, &spec.table, table)?);
        }
        renumber_grants(self)?;
        Ok(written)
    }
}

fn read_table(db: &PgDb, spec: &Spec, users: &str) -> Result<TableRows, DbError> {
    let name = spec.table.name;
    let sql = format!("SELECT * FROM {name} WHERE {} ORDER BY {}", spec.rows, spec.order);
    let found = db.rows(&sql, &[&users])?;
    let columns = match found.first() {
        Some(first) => first.columns().iter().map(|c| c.name().to_owned()).collect(),
        None => local_columns(db, name)?.into_iter().map(|(column, _)| column).collect(),
    };
    let rows = found.iter().map(cells).collect::<Result<_, _>>()?;
    Ok(TableRows { table: name.to_owned(), columns, rows })
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

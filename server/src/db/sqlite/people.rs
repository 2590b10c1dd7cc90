//! `PeopleTransfer` over SQLite, with the table copier of the desk's images.

use rusqlite::Connection;
use rusqlite::types::Value;

use crate::db::desk::image::TableRows;
use crate::db::people::PeopleTransfer;
use crate::db::sqlite::desk::image::{FromVenue, Spec, Stored, read_table, write_table};
use crate::db::{DbError, DocumentStore};

/// `?1` is a JSON array of user ids.
const SPECS: &[Spec] = &[
    Spec {
        table: "users",
        key: &["user_id"],
        stored: Stored::Update,
        from_venue: FromVenue::All,
        full: "user_id IN (SELECT value FROM json_each(?1))",
        touched: "user_id IN (SELECT value FROM json_each(?1))",
        order: "user_id",
    },
    Spec {
        table: "devices",
        key: &["device_id"],
        stored: Stored::Update,
        from_venue: FromVenue::All,
        full: "user_id IN (SELECT value FROM json_each(?1)) AND revoked_at IS NULL",
        touched: "user_id IN (SELECT value FROM json_each(?1)) AND revoked_at IS NULL",
        order: "device_id",
    },
    Spec {
        table: "grants",
        key: &["user_id", "scope_key"],
        stored: Stored::Update,
        from_venue: FromVenue::All,
        full: "user_id IN (SELECT value FROM json_each(?1))",
        touched: "user_id IN (SELECT value FROM json_each(?1))",
        order: "user_id, scope_key",
    },
];

impl PeopleTransfer for Connection {
    fn people_with_grant(&self, scope_key: &str, also: &str) -> Result<Vec<TableRows>, DbError> {
        // Finance reviews and takes money at the venue without a grant of the event (the role
        // sees every event), so finance users come along too.
        let mut users: Vec<String> = self
            .prepare_cached(
                "SELECT user_id FROM grants WHERE scope_key = ?1
                 UNION SELECT user_id FROM users WHERE role = 'finance' AND disabled_at IS NULL
                 ORDER BY 1",
            )?
            .query_map([scope_key], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        if !users.iter().any(|u| u == also) {
            users.push(also.to_owned());
        }
        let list = serde_json::to_string(&users).map_err(|e| DbError::Corrupt(e.to_string()))?;
        let values = [Value::Text(list)];
        SPECS.iter().map(|spec| read_table(self, spec, spec.full, &values)).collect()
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

/// Grants carry the position in the change sequence at which they were given, and a device's
/// cursor says which grants it has absorbed. Copied grants carry central's numbers, which mean
/// nothing in this store's sequence: one ahead of it would be news to every device on every
/// round, so those take this store's next number (the documents under them arrive later, with
/// numbers of their own).
fn renumber_grants(conn: &Connection) -> Result<(), DbError> {
    let current = conn.current_seq()?;
    let ahead: i64 =
        conn.query_row("SELECT COUNT(*) FROM grants WHERE granted_seq > ?1", [current], |r| {
            r.get(0)
        })?;
    if ahead == 0 {
        return Ok(());
    }
    let next = conn.next_seq()?;
    conn.execute("UPDATE grants SET granted_seq = ?1 WHERE granted_seq > ?2", [next, current])?;
    Ok(())
}

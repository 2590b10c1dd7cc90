//! `DeskDisplay` over SQLite: rows of `desk_meta`.

use rusqlite::{Connection, OptionalExtension};

use crate::db::DbError;
use crate::db::desk::DeskDisplay;

const SECRET_KEY: &str = "display_secret";

fn generation_key(event_id: &str) -> String {
    format!("display_generation/{event_id}")
}

fn read(conn: &Connection, key: &str) -> Result<Option<String>, DbError> {
    Ok(conn
        .prepare_cached("SELECT value FROM desk_meta WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?)
}

impl DeskDisplay for Connection {
    fn display_secret(&self) -> Result<Option<String>, DbError> {
        read(self, SECRET_KEY)
    }

    fn ensure_display_secret(&self, fresh: &str) -> Result<String, DbError> {
        self.prepare_cached("INSERT OR IGNORE INTO desk_meta(key, value) VALUES (?1, ?2)")?
            .execute([SECRET_KEY, fresh])?;
        read(self, SECRET_KEY)?.ok_or_else(|| DbError::Corrupt("display_secret".into()))
    }

    fn display_generation(&self, event_id: &str) -> Result<u64, DbError> {
        match read(self, &generation_key(event_id))? {
            None => Ok(0),
            Some(text) => text.parse().map_err(|_| DbError::Corrupt("display_generation".into())),
        }
    }

    fn rotate_display(&self, event_id: &str) -> Result<u64, DbError> {
        let next = self.display_generation(event_id)?.saturating_add(1);
        self.prepare_cached(
            "INSERT INTO desk_meta(key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        )?
        .execute([generation_key(event_id), next.to_string()])?;
        Ok(next)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_is_made_once_and_each_event_rotates_on_its_own() {
        let conn = super::super::fresh();
        assert_eq!(conn.display_secret().unwrap(), None);
        assert_eq!(conn.ensure_display_secret("aa").unwrap(), "aa");
        assert_eq!(conn.ensure_display_secret("bb").unwrap(), "aa", "kept, not replaced");
        assert_eq!(conn.display_secret().unwrap().as_deref(), Some("aa"));
        assert_eq!(conn.display_generation("e1").unwrap(), 0);
        assert_eq!(conn.rotate_display("e1").unwrap(), 1);
        assert_eq!(conn.rotate_display("e1").unwrap(), 2);
        assert_eq!(conn.display_generation("e1").unwrap(), 2);
        assert_eq!(conn.display_generation("e2").unwrap(), 0);
    }
}

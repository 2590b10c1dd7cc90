//! `DeskDisplay` over PostgreSQL: rows of `desk_meta`.

use crate::db::DbError;
use crate::db::desk::DeskDisplay;
use crate::db::postgres::PgDb;

const SECRET_KEY: &str = "display_secret";

fn generation_key(event_id: &str) -> String {
    format!("display_generation/{event_id}")
}

fn read(db: &PgDb, key: &str) -> Result<Option<String>, DbError> {
    db.row("SELECT value FROM desk_meta WHERE key = $1", &[&key])?
        .map(|r| r.try_get(0))
        .transpose()
        .map_err(DbError::from)
}

impl DeskDisplay for PgDb {
    fn display_secret(&self) -> Result<Option<String>, DbError> {
        read(self, SECRET_KEY)
    }

    fn ensure_display_secret(&self, fresh: &str) -> Result<String, DbError> {
        self.execute(
            "INSERT INTO desk_meta(key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
            &[&SECRET_KEY, &fresh],
        )?;
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
        self.execute(
            "INSERT INTO desk_meta(key, value) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&generation_key(event_id), &next.to_string()],
        )?;
        Ok(next)
    }
}

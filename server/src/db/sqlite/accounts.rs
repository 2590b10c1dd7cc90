//! Users and devices on SQLite.

use chrono::{DateTime, Utc};
use kam_core::model::Role;
use rusqlite::{Connection, OptionalExtension, params};

use crate::db::DbError;
use crate::db::accounts::{AccountStore, DeviceRow, DeviceSeen, Principal, UserRow};

fn role(text: &str) -> Result<Role, DbError> {
    Role::parse(text).ok_or_else(|| DbError::Corrupt(format!("role {text}")))
}

impl AccountStore for Connection {
    fn insert_user(
        &self,
        user_id: &str,
        display_name: &str,
        role: Role,
        now: DateTime<Utc>,
    ) -> Result<bool, DbError> {
        let inserted = self.execute(
            "INSERT INTO users(user_id, display_name, role, created_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(user_id) DO NOTHING",
            params![user_id, display_name, role.as_str(), now.to_rfc3339()],
        )?;
        Ok(inserted > 0)
    }

    fn set_user_role(&self, user_id: &str, role: Role) -> Result<bool, DbError> {
        Ok(self.execute(
            "UPDATE users SET role = ?2 WHERE user_id = ?1",
            params![user_id, role.as_str()],
        )? > 0)
    }

    fn user_role(&self, user_id: &str) -> Result<Option<Role>, DbError> {
        let found: Option<String> = self
            .prepare_cached("SELECT role FROM users WHERE user_id = ?1 AND disabled_at IS NULL")?
            .query_row([user_id], |r| r.get(0))
            .optional()?;
        found.as_deref().map(role).transpose()
    }

    fn insert_device(
        &self,
        device_id: &str,
        user_id: &str,
        label: &str,
        token_hash: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), DbError> {
        self.execute(
            "INSERT INTO devices(device_id, user_id, label, token_hash, enrolled_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![device_id, user_id, label, token_hash, now.to_rfc3339()],
        )?;
        Ok(())
    }

    fn revoke_device(&self, device_id: &str, now: DateTime<Utc>) -> Result<bool, DbError> {
        Ok(self.execute(
            "UPDATE devices SET revoked_at = ?2 WHERE device_id = ?1 AND revoked_at IS NULL",
            params![device_id, now.to_rfc3339()],
        )? > 0)
    }

    fn device_by_token_hash(&self, token_hash: &[u8]) -> Result<Option<Principal>, DbError> {
        let found: Option<(String, String, String)> = self
            .prepare_cached(
                "SELECT d.device_id, u.user_id, u.role FROM devices d JOIN users u USING (user_id)
                 WHERE d.token_hash = ?1 AND d.revoked_at IS NULL AND u.disabled_at IS NULL",
            )?
            .query_row([token_hash], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        let Some((device_id, user_id, role_text)) = found else { return Ok(None) };
        Ok(Some(Principal { device_id, user_id, role: role(&role_text)? }))
    }

    fn device_active(&self, device_id: &str) -> Result<bool, DbError> {
        Ok(self
            .prepare_cached(
                "SELECT 1 FROM devices d JOIN users u USING (user_id)
                 WHERE d.device_id = ?1 AND d.revoked_at IS NULL AND u.disabled_at IS NULL",
            )?
            .query_row([device_id], |_| Ok(()))
            .optional()?
            .is_some())
    }

    fn device_installation(&self, device_id: &str) -> Result<Option<String>, DbError> {
        let found: Option<Option<String>> = self
            .prepare_cached("SELECT installation FROM devices WHERE device_id = ?1")?
            .query_row([device_id], |r| r.get(0))
            .optional()?;
        Ok(found.flatten())
    }

    fn bind_installation(
        &self,
        device_id: &str,
        installation: &str,
    ) -> Result<Option<String>, DbError> {
        // Only an unbound device is bound: of two first requests racing, the second one's
        // update changes nothing, and the re-read tells it which installation won.
        self.prepare_cached(
            "UPDATE devices SET installation = ?2 WHERE device_id = ?1 AND installation IS NULL",
        )?
        .execute(params![device_id, installation])?;
        self.device_installation(device_id)
    }

    fn release_installation(&self, device_id: &str) -> Result<Option<String>, DbError> {
        let bound = self.device_installation(device_id)?;
        self.execute("UPDATE devices SET installation = NULL WHERE device_id = ?1", [device_id])?;
        Ok(bound)
    }

    fn record_device_seen(&self, seen: &DeviceSeen<'_>) -> Result<(), DbError> {
        self.prepare_cached(
            "UPDATE devices SET last_seen_at = ?2, last_cursor = ?3,
                 last_upload_at = CASE WHEN ?4 IS NULL THEN last_upload_at ELSE ?2 END,
                 last_upload_oldest_change_at = COALESCE(?4, last_upload_oldest_change_at)
             WHERE device_id = ?1
               AND NOT (?4 IS NULL AND last_cursor IS ?3 AND COALESCE(last_seen_at, '') > ?5)",
        )?
        .execute(params![
            seen.device_id,
            seen.at.to_rfc3339(),
            seen.cursor,
            seen.oldest_upload.map(|t| t.to_rfc3339()),
            seen.unchanged_since.to_rfc3339()
        ])?;
        Ok(())
    }

    fn users(&self) -> Result<Vec<UserRow>, DbError> {
        let mut stmt = self.prepare_cached(
            "SELECT user_id, display_name, role, created_at, disabled_at FROM users ORDER BY user_id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get::<_, String>(2)?, r.get(3)?, r.get(4)?))
        })?;
        rows.map(|row| {
            let (user_id, display_name, role_text, created_at, disabled_at) = row?;
            Ok(UserRow { user_id, display_name, role: role(&role_text)?, created_at, disabled_at })
        })
        .collect()
    }

    fn devices_newest_first(&self) -> Result<Vec<DeviceRow>, DbError> {
        let mut stmt = self.prepare(
            "SELECT device_id, user_id, label, enrolled_at, revoked_at, last_seen_at, installation
             FROM devices ORDER BY enrolled_at DESC, device_id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(DeviceRow {
                device_id: r.get(0)?,
                user_id: r.get(1)?,
                label: r.get(2)?,
                enrolled_at: r.get(3)?,
                revoked_at: r.get(4)?,
                last_seen_at: r.get(5)?,
                installation: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn credentials_fingerprint(&self) -> Result<[i64; 6], DbError> {
        Ok(self
            .prepare_cached(
                "SELECT
                (SELECT COUNT(*) FROM devices WHERE revoked_at IS NOT NULL),
                (SELECT COUNT(*) FROM users WHERE disabled_at IS NOT NULL),
                (SELECT COUNT(*) FROM web_sessions),
                (SELECT COALESCE(MAX(rowid), 0) FROM web_sessions),
                (SELECT COUNT(*) FROM revocations),
                (SELECT COUNT(*) FROM grants)",
            )?
            .query_row([], |r| {
                Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?])
            })?)
    }
}

//! Users and devices on PostgreSQL.

use chrono::{DateTime, Utc};
use kam_core::model::Role;

use super::PgDb;
use crate::db::DbError;
use crate::db::accounts::{AccountStore, DeviceRow, DeviceSeen, Principal, UserRow};

fn role(text: &str) -> Result<Role, DbError> {
    Role::parse(text).ok_or_else(|| DbError::Corrupt(format!("role {text}")))
}

impl AccountStore for PgDb {
    fn insert_user(
        &self,
        user_id: &str,
        display_name: &str,
        role: Role,
        now: DateTime<Utc>,
    ) -> Result<bool, DbError> {
        let inserted = self.execute(
            "INSERT INTO users(user_id, display_name, role, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (user_id) DO NOTHING",
            &[&user_id, &display_name, &role.as_str(), &now.to_rfc3339()],
        )?;
        Ok(inserted > 0)
    }

    fn set_user_role(&self, user_id: &str, role: Role) -> Result<bool, DbError> {
        Ok(self.execute(
            "UPDATE users SET role = $2 WHERE user_id = $1",
            &[&user_id, &role.as_str()],
        )? > 0)
    }

    fn user_role(&self, user_id: &str) -> Result<Option<Role>, DbError> {
        let row = self.row(
            "SELECT role FROM users WHERE user_id = $1 AND disabled_at IS NULL",
            &[&user_id],
        )?;
        row.map(|r| role(r.try_get(0)?)).transpose()
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
             VALUES ($1, $2, $3, $4, $5)",
            &[&device_id, &user_id, &label, &token_hash, &now.to_rfc3339()],
        )?;
        Ok(())
    }

    fn revoke_device(&self, device_id: &str, now: DateTime<Utc>) -> Result<bool, DbError> {
        Ok(self.execute(
            "UPDATE devices SET revoked_at = $2 WHERE device_id = $1 AND revoked_at IS NULL",
            &[&device_id, &now.to_rfc3339()],
        )? > 0)
    }

    fn device_by_token_hash(&self, token_hash: &[u8]) -> Result<Option<Principal>, DbError> {
        let row = self.row(
            "SELECT d.device_id, u.user_id, u.role FROM devices d JOIN users u USING (user_id)
             WHERE d.token_hash = $1 AND d.revoked_at IS NULL AND u.disabled_at IS NULL",
            &[&token_hash],
        )?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(Principal {
            device_id: row.try_get(0)?,
            user_id: row.try_get(1)?,
            role: role(row.try_get(2)?)?,
        }))
    }

    fn device_active(&self, device_id: &str) -> Result<bool, DbError> {
        Ok(self
            .row(
                "SELECT 1 FROM devices d JOIN users u USING (user_id)
                 WHERE d.device_id = $1 AND d.revoked_at IS NULL AND u.disabled_at IS NULL",
                &[&device_id],
            )?
            .is_some())
    }

    fn device_installation(&self, device_id: &str) -> Result<Option<String>, DbError> {
        let row =
            self.row("SELECT installation FROM devices WHERE device_id = $1", &[&device_id])?;
        Ok(row.map(|r| r.try_get::<_, Option<String>>(0)).transpose()?.flatten())
    }

    fn bind_installation(
        &self,
        device_id: &str,
        installation: &str,
    ) -> Result<Option<String>, DbError> {
        // Only an unbound device is bound: of two first requests racing (on any node), the
        // second one's update waits for the first's row lock, then changes nothing, and the
        // re-read tells it which installation won.
        self.execute(
            "UPDATE devices SET installation = $2 WHERE device_id = $1 AND installation IS NULL",
            &[&device_id, &installation],
        )?;
        self.device_installation(device_id)
    }

    fn release_installation(&self, device_id: &str) -> Result<Option<String>, DbError> {
        // The old value, read in the same statement that clears it.
        let row = self.row(
            "UPDATE devices d SET installation = NULL FROM devices old
             WHERE d.device_id = $1 AND old.device_id = d.device_id
             RETURNING old.installation",
            &[&device_id],
        )?;
        Ok(row.map(|r| r.try_get::<_, Option<String>>(0)).transpose()?.flatten())
    }

    fn record_device_seen(&self, seen: &DeviceSeen<'_>) -> Result<(), DbError> {
        let oldest = seen.oldest_upload.map(|t| t.to_rfc3339());
        self.execute(
            "UPDATE devices SET last_seen_at = $2, last_cursor = $3,
                 last_upload_at = CASE WHEN $4::text IS NULL THEN last_upload_at ELSE $2 END,
                 last_upload_oldest_change_at = COALESCE($4, last_upload_oldest_change_at)
             WHERE device_id = $1
               AND NOT ($4::text IS NULL AND last_cursor = $3
                        AND COALESCE(last_seen_at, '') > $5)",
            &[
                &seen.device_id,
                &seen.at.to_rfc3339(),
                &seen.cursor,
                &oldest,
                &seen.unchanged_since.to_rfc3339(),
            ],
        )?;
        Ok(())
    }

    fn users(&self) -> Result<Vec<UserRow>, DbError> {
        let rows = self.rows(
            "SELECT user_id, display_name, role, created_at, disabled_at FROM users ORDER BY user_id",
            &[],
        )?;
        rows.iter()
            .map(|r| {
                let role_text: String = r.try_get(2)?;
                Ok(UserRow {
                    user_id: r.try_get(0)?,
                    display_name: r.try_get(1)?,
                    role: role(&role_text)?,
                    created_at: r.try_get(3)?,
                    disabled_at: r.try_get(4)?,
                })
            })
            .collect()
    }

    fn devices_newest_first(&self) -> Result<Vec<DeviceRow>, DbError> {
        let rows = self.rows(
            "SELECT device_id, user_id, label, enrolled_at, revoked_at, last_seen_at, installation
             FROM devices ORDER BY enrolled_at DESC, device_id",
            &[],
        )?;
        rows.iter()
            .map(|r| {
                Ok(DeviceRow {
                    device_id: r.try_get(0)?,
                    user_id: r.try_get(1)?,
                    label: r.try_get(2)?,
                    enrolled_at: r.try_get(3)?,
                    revoked_at: r.try_get(4)?,
                    last_seen_at: r.try_get(5)?,
                    installation: r.try_get(6)?,
                })
            })
            .collect()
    }

    fn credentials_fingerprint(&self) -> Result<[i64; 6], DbError> {
        let r = self.one(
            "SELECT
                (SELECT COUNT(*) FROM devices WHERE revoked_at IS NOT NULL),
                (SELECT COUNT(*) FROM users WHERE disabled_at IS NOT NULL),
                (SELECT COUNT(*) FROM web_sessions),
                (SELECT COALESCE(MAX(session_no), 0) FROM web_sessions),
                (SELECT COUNT(*) FROM revocations),
                (SELECT COUNT(*) FROM grants)",
            &[],
        )?;
        Ok([
            r.try_get(0)?,
            r.try_get(1)?,
            r.try_get(2)?,
            r.try_get(3)?,
            r.try_get(4)?,
            r.try_get(5)?,
        ])
    }
}

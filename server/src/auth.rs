//! Users, roles and enrolled devices.
//!
//! A device authenticates with a random 256-bit token given out once at enrolment. Only its
//! SHA-256 hash is stored: the token has full entropy, so a fast hash is enough to make a
//! stolen database useless for signing in, and lookup stays a single indexed query.

use chrono::{DateTime, Utc};
use rand::RngCore;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::ServerError;

/// What a user may do (kam-core's, shared with the tablets' permission matrix); see
/// ARCHITECTURE.md for the scope of each.
pub use kam_core::model::Role;

/// An authenticated device and its user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The device.
    pub device_id: String,
    /// Its user.
    pub user_id: String,
    /// The user's role.
    pub role: Role,
}

/// A newly enrolled device with the only copy of its token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Enrolment {
    /// The device id.
    pub device_id: String,
    /// The bearer token; shown once, stored only hashed.
    pub token: String,
}

fn hash_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// A fresh random token: 32 bytes from the thread's CSPRNG (ChaCha, seeded by the OS).
fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("kam_{}", hex::encode(bytes))
}

/// Creates a user.
pub fn create_user(
    conn: &Connection,
    user_id: &str,
    display_name: &str,
    role: Role,
    now: DateTime<Utc>,
) -> Result<(), ServerError> {
    if user_id.is_empty() || user_id.len() > 64 || user_id.contains('/') {
        return Err(ServerError::Invalid {
            field: "user_id",
            reason: "1-64 characters, no '/'".into(),
        });
    }
    let inserted = conn.execute(
        "INSERT INTO users(user_id, display_name, role, created_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(user_id) DO NOTHING",
        params![user_id, display_name, role.as_str(), now.to_rfc3339()],
    )?;
    if inserted == 0 {
        return Err(ServerError::Conflict(format!("user {user_id} already exists")));
    }
    Ok(())
}

/// The role of `user_id`, if the user exists.
pub fn user_role(conn: &Connection, user_id: &str) -> Result<Option<Role>, ServerError> {
    let role: Option<String> = conn
        .prepare_cached("SELECT role FROM users WHERE user_id = ?1 AND disabled_at IS NULL")?
        .query_row([user_id], |r| r.get(0))
        .optional()?;
    role.map(|r| Role::parse(&r).ok_or_else(|| ServerError::Corrupt(format!("role {r}"))))
        .transpose()
}

/// Enrols a device for `user_id` and returns its token (the only time it is visible).
pub fn enroll_device(
    conn: &Connection,
    user_id: &str,
    label: &str,
    now: DateTime<Utc>,
) -> Result<Enrolment, ServerError> {
    enroll_device_with_token(conn, user_id, label, &new_token(), now)
}

/// Enrols a device with a given token. Used by the demo, whose tokens are published on
/// purpose; real enrolments use [`enroll_device`].
pub fn enroll_device_with_token(
    conn: &Connection,
    user_id: &str,
    label: &str,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Enrolment, ServerError> {
    if user_role(conn, user_id)?.is_none() {
        return Err(ServerError::Invalid {
            field: "user",
            reason: format!("no active user {user_id}"),
        });
    }
    let device_id = format!("dev-{}", uuid::Uuid::now_v7().simple());
    conn.execute(
        "INSERT INTO devices(device_id, user_id, label, token_hash, enrolled_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![device_id, user_id, label, hash_token(token), now.to_rfc3339()],
    )?;
    Ok(Enrolment { device_id, token: token.to_owned() })
}

/// Revokes a device: its token stops working at once. Returns whether it was active.
pub fn revoke_device(
    conn: &Connection,
    device_id: &str,
    now: DateTime<Utc>,
) -> Result<bool, ServerError> {
    Ok(conn.execute(
        "UPDATE devices SET revoked_at = ?2 WHERE device_id = ?1 AND revoked_at IS NULL",
        params![device_id, now.to_rfc3339()],
    )? > 0)
}

/// The device and user behind `token`, if it is enrolled, not revoked, and its user active.
pub fn authenticate(conn: &Connection, token: &str) -> Result<Option<Principal>, ServerError> {
    let found: Option<(String, String, String)> = conn
        .prepare_cached(
            "SELECT d.device_id, u.user_id, u.role FROM devices d JOIN users u USING (user_id)
             WHERE d.token_hash = ?1 AND d.revoked_at IS NULL AND u.disabled_at IS NULL",
        )?
        .query_row([hash_token(token)], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let Some((device_id, user_id, role)) = found else { return Ok(None) };
    let role = Role::parse(&role).ok_or_else(|| ServerError::Corrupt(format!("role {role}")))?;
    Ok(Some(Principal { device_id, user_id, role }))
}

/// Whether `device_id` is enrolled, not revoked, and its user active: the check a sync round
/// repeats inside its own transaction after its token was checked before the body was read.
pub fn device_active(conn: &Connection, device_id: &str) -> Result<bool, ServerError> {
    Ok(conn
        .prepare_cached(
            "SELECT 1 FROM devices d JOIN users u USING (user_id)
             WHERE d.device_id = ?1 AND d.revoked_at IS NULL AND u.disabled_at IS NULL",
        )?
        .query_row([device_id], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Records that a device synced, for the devices page and the metrics.
///
/// `oldest_upload` is the commit time of the oldest edit the device delivered in this round,
/// if it delivered any; the upload's time and it are kept for the device list's outbox age.
///
/// A round that moved nothing (same cursor, no upload) within [`LAST_SEEN_RESOLUTION_S`] of
/// the recorded time leaves the row alone: a quiet round then writes nothing and commits
/// without a disk flush, where a venue's tablets polling every few seconds would otherwise
/// cost one durable write each.
pub fn touch_device(
    conn: &Connection,
    device_id: &str,
    cursor: u64,
    oldest_upload: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), ServerError> {
    let recent =
        now.checked_sub_signed(chrono::Duration::seconds(LAST_SEEN_RESOLUTION_S)).unwrap_or(now);
    conn.prepare_cached(
        "UPDATE devices SET last_seen_at = ?2, last_cursor = ?3,
             last_upload_at = CASE WHEN ?4 IS NULL THEN last_upload_at ELSE ?2 END,
             last_upload_oldest_change_at = COALESCE(?4, last_upload_oldest_change_at)
         WHERE device_id = ?1
           AND NOT (?4 IS NULL AND last_cursor IS ?3 AND COALESCE(last_seen_at, '') > ?5)",
    )?
    .execute(params![
        device_id,
        now.to_rfc3339(),
        i64::try_from(cursor).unwrap_or(i64::MAX),
        oldest_upload.map(|t| t.to_rfc3339()),
        recent.to_rfc3339()
    ])?;
    Ok(())
}

/// How stale a device's "last seen" time may get while it only polls without news.
pub const LAST_SEEN_RESOLUTION_S: i64 = 60;

/// One row of the device list.
#[derive(Clone, Debug, Serialize)]
pub struct DeviceRow {
    /// The device.
    pub device_id: String,
    /// Its user.
    pub user_id: String,
    /// A human label ("Li Wei's tablet").
    pub label: String,
    /// When it was enrolled.
    pub enrolled_at: String,
    /// When it was revoked, if it was.
    pub revoked_at: Option<String>,
    /// When it last synced.
    pub last_seen_at: Option<String>,
}

/// Every device, newest first.
pub fn list_devices(conn: &Connection) -> Result<Vec<DeviceRow>, ServerError> {
    let mut stmt = conn.prepare(
        "SELECT device_id, user_id, label, enrolled_at, revoked_at, last_seen_at FROM devices
         ORDER BY enrolled_at DESC, device_id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(DeviceRow {
            device_id: r.get(0)?,
            user_id: r.get(1)?,
            label: r.get(2)?,
            enrolled_at: r.get(3)?,
            revoked_at: r.get(4)?,
            last_seen_at: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::schema::prepare(&conn).unwrap();
        crate::schema::migrate(&mut conn).unwrap();
        conn
    }

    #[test]
    fn a_quiet_round_leaves_a_recent_last_seen_alone_and_news_always_updates_it() {
        let conn = db();
        let t0 = Utc::now();
        create_user(&conn, "rep-1", "Rep One", Role::Rep, t0).unwrap();
        let device = enroll_device(&conn, "rep-1", "tablet", t0).unwrap().device_id;
        let seen = || -> (Option<String>, i64) {
            conn.query_row(
                "SELECT last_seen_at, last_cursor FROM devices WHERE device_id = ?1",
                [&device],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap()
        };
        let at = |s: i64| t0 + chrono::Duration::seconds(s);
        touch_device(&conn, &device, 0, None, at(0)).unwrap();
        assert_eq!(seen(), (Some(at(0).to_rfc3339()), 0), "the first round is recorded");
        touch_device(&conn, &device, 0, None, at(30)).unwrap();
        assert_eq!(seen().0, Some(at(0).to_rfc3339()), "a quiet round 30 s later writes nothing");
        touch_device(&conn, &device, 7, None, at(31)).unwrap();
        assert_eq!(seen(), (Some(at(31).to_rfc3339()), 7), "a new cursor is recorded");
        touch_device(&conn, &device, 7, Some(at(-600)), at(32)).unwrap();
        assert_eq!(seen().0, Some(at(32).to_rfc3339()), "an upload is recorded");
        touch_device(&conn, &device, 7, None, at(32 + LAST_SEEN_RESOLUTION_S + 1)).unwrap();
        assert_eq!(
            seen().0,
            Some(at(32 + LAST_SEEN_RESOLUTION_S + 1).to_rfc3339()),
            "a quiet round after the resolution is recorded"
        );
    }

    #[test]
    fn a_token_works_until_revoked_and_only_its_hash_is_stored() {
        let conn = db();
        let now = Utc::now();
        create_user(&conn, "rep-1", "Rep One", Role::Rep, now).unwrap();
        let e = enroll_device(&conn, "rep-1", "tablet", now).unwrap();
        assert!(e.token.len() > 60);
        let p = authenticate(&conn, &e.token).unwrap().unwrap();
        assert_eq!((p.user_id.as_str(), p.role), ("rep-1", Role::Rep));
        let stored: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM devices WHERE token_hash = ?1",
                [e.token.as_bytes()],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(stored, 0, "the clear token is not stored");
        assert!(authenticate(&conn, "kam_wrong").unwrap().is_none());
        assert!(revoke_device(&conn, &e.device_id, now).unwrap());
        assert!(authenticate(&conn, &e.token).unwrap().is_none());
    }

    #[test]
    fn users_are_unique_and_devices_need_a_user() {
        let conn = db();
        let now = Utc::now();
        create_user(&conn, "hq-1", "HQ", Role::Hq, now).unwrap();
        assert!(matches!(
            create_user(&conn, "hq-1", "HQ", Role::Hq, now),
            Err(ServerError::Conflict(_))
        ));
        assert!(matches!(
            enroll_device(&conn, "nobody", "x", now),
            Err(ServerError::Invalid { .. })
        ));
    }
}

//! Users, roles and enrolled devices.
//!
//! A device authenticates with a random 256-bit token given out once at enrolment. Only its
//! SHA-256 hash is stored: the token has full entropy, so a fast hash is enough to make a
//! stolen database useless for signing in, and lookup stays a single indexed query.

use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::db::AccountStore;
use crate::db::accounts::DeviceSeen;
use crate::error::ServerError;

pub use crate::db::accounts::{DeviceRow, Principal};
/// What a user may do (kam-core's, shared with the tablets' permission matrix); see
/// ARCHITECTURE.md for the scope of each.
pub use kam_core::model::Role;

/// A newly enrolled device with the only copy of its token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Enrolment {
    /// The device id.
    pub device_id: String,
    /// The bearer token; shown once, stored only hashed.
    pub token: String,
}

/// How a bearer or session token is kept: only its SHA-256.
pub fn hash_token(token: &str) -> Vec<u8> {
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
    db: &dyn AccountStore,
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
    if !db.insert_user(user_id, display_name, role, now)? {
        return Err(ServerError::Conflict(format!("user {user_id} already exists")));
    }
    Ok(())
}

/// The role of `user_id`, if the user exists.
pub fn user_role(db: &dyn AccountStore, user_id: &str) -> Result<Option<Role>, ServerError> {
    Ok(db.user_role(user_id)?)
}

/// Enrols a device for `user_id` and returns its token (the only time it is visible).
pub fn enroll_device(
    db: &dyn AccountStore,
    user_id: &str,
    label: &str,
    now: DateTime<Utc>,
) -> Result<Enrolment, ServerError> {
    enroll_device_with_token(db, user_id, label, &new_token(), now)
}

/// Enrols a device with a given token. Used by the demo, whose tokens are published on
/// purpose; real enrolments use [`enroll_device`].
pub fn enroll_device_with_token(
    db: &dyn AccountStore,
    user_id: &str,
    label: &str,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Enrolment, ServerError> {
    if db.user_role(user_id)?.is_none() {
        return Err(ServerError::Invalid {
            field: "user",
            reason: format!("no active user {user_id}"),
        });
    }
    let device_id = format!("dev-{}", uuid::Uuid::now_v7().simple());
    db.insert_device(&device_id, user_id, label, &hash_token(token), now)?;
    Ok(Enrolment { device_id, token: token.to_owned() })
}

/// Revokes a device: its token stops working at once. Returns whether it was active.
pub fn revoke_device(
    db: &dyn AccountStore,
    device_id: &str,
    now: DateTime<Utc>,
) -> Result<bool, ServerError> {
    Ok(db.revoke_device(device_id, now)?)
}

/// The device and user behind `token`, if it is enrolled, not revoked, and its user active.
pub fn authenticate(db: &dyn AccountStore, token: &str) -> Result<Option<Principal>, ServerError> {
    Ok(db.device_by_token_hash(&hash_token(token))?)
}

/// The refusal of a device token bound to another installation (ADR 0022): 409 with the code
/// the SDK recognises (`device_in_use`).
pub fn device_in_use() -> ServerError {
    ServerError::Authority {
        code: kam_core::sync_client::transport::DEVICE_IN_USE,
        message:
            "此设备令牌已绑定到另一台设备上的安装；请为本安装重新登记设备 / This device token \
                  is bound to another installation; enrol this installation as a new device"
                .to_owned(),
    }
}

/// The installation `device_id` is bound to, if any (ADR 0022).
pub fn device_installation(
    db: &dyn AccountStore,
    device_id: &str,
) -> Result<Option<String>, ServerError> {
    Ok(db.device_installation(device_id)?)
}

/// Whether a request from `installation` may use `device_id`'s token, judged from what is
/// read (`bound`, the device's binding): `Ok(true)` when it is bound to this installation,
/// `Ok(false)` when it is bound to none yet (the caller binds it with
/// [`bind_installation`], a write), [`device_in_use`] when it is bound to another.
pub fn installation_matches(bound: Option<&str>, installation: &str) -> Result<bool, ServerError> {
    match bound {
        Some(bound) if bound == installation => Ok(true),
        Some(_) => Err(device_in_use()),
        None => Ok(false),
    }
}

/// Binds an unbound device to `installation`: the first request naming an installation binds
/// it, the same installation passes from then on and any other is refused with
/// [`device_in_use`]. Idempotent, and safe when two first requests race: only an unbound row
/// is written, and the binding read back decides.
pub fn bind_installation(
    db: &dyn AccountStore,
    device_id: &str,
    installation: &str,
) -> Result<(), ServerError> {
    let bound = db.bind_installation(device_id, installation)?;
    match installation_matches(bound.as_deref(), installation)? {
        true => Ok(()),
        // The device row is gone (it cannot be: the token was just checked).
        false => Err(ServerError::Unauthorized),
    }
}

/// Releases a device's binding, so the next installation that syncs with its token binds it
/// (a device reinstalled without its data). Returns the installation it was bound to.
pub fn release_installation(
    db: &dyn AccountStore,
    device_id: &str,
) -> Result<Option<String>, ServerError> {
    Ok(db.release_installation(device_id)?)
}

/// The prefix of the caller id a person's console commands are kept under (their idempotency
/// keys belong to the person, whichever of their sessions sent them). Device ids start with
/// `dev-`, so the two never meet.
pub const CONSOLE_CALLER_PREFIX: &str = "web:";

/// The person behind a live dashboard session `token`, as a desk caller: their user and role,
/// with `web:{user_id}` in place of a device.
pub fn session_principal(
    db: &dyn crate::db::SessionStore,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<Principal>, ServerError> {
    Ok(db.live_session(&hash_token(token), now)?.map(|live| Principal {
        device_id: format!("{CONSOLE_CALLER_PREFIX}{}", live.user_id),
        user_id: live.user_id,
        role: live.role,
    }))
}

/// Whether `device_id` is enrolled, not revoked, and its user active: the check a sync round
/// repeats inside its own transaction after its token was checked before the body was read.
pub fn device_active(db: &dyn AccountStore, device_id: &str) -> Result<bool, ServerError> {
    Ok(db.device_active(device_id)?)
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
    db: &dyn AccountStore,
    device_id: &str,
    cursor: u64,
    oldest_upload: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), ServerError> {
    let recent =
        now.checked_sub_signed(chrono::Duration::seconds(LAST_SEEN_RESOLUTION_S)).unwrap_or(now);
    Ok(db.record_device_seen(&DeviceSeen {
        device_id,
        cursor: i64::try_from(cursor).unwrap_or(i64::MAX),
        oldest_upload,
        at: now,
        unchanged_since: recent,
    })?)
}

/// How stale a device's "last seen" time may get while it only polls without news.
pub const LAST_SEEN_RESOLUTION_S: i64 = 60;

/// Every device, newest first.
pub fn list_devices(db: &dyn AccountStore) -> Result<Vec<DeviceRow>, ServerError> {
    Ok(db.devices_newest_first()?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    fn db() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::db::sqlite::schema::prepare(&conn).unwrap();
        crate::db::sqlite::schema::migrate(&mut conn).unwrap();
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

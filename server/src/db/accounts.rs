//! Users and their enrolled devices.

use chrono::{DateTime, Utc};
use kam_core::model::Role;
use serde::Serialize;

use super::DbError;

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
    /// The installation its token is bound to, if one has synced yet (ADR 0022).
    pub installation: Option<String>,
}

/// A user as the dashboard lists them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UserRow {
    /// The user id (the sign-in name).
    pub user_id: String,
    /// The name people know them by.
    pub display_name: String,
    /// The role.
    pub role: Role,
    /// When the user was created.
    pub created_at: String,
    /// When the user was disabled, if they were.
    pub disabled_at: Option<String>,
}

/// A device's sync, as recorded for the devices page and the metrics.
#[derive(Clone, Debug)]
pub struct DeviceSeen<'a> {
    /// The device.
    pub device_id: &'a str,
    /// The cursor it reported.
    pub cursor: i64,
    /// The commit time of the oldest edit it delivered in the round, if it delivered any.
    pub oldest_upload: Option<DateTime<Utc>>,
    /// When.
    pub at: DateTime<Utc>,
    /// A round that moved nothing (same cursor, no upload) leaves a row last seen after this
    /// alone, so a quiet round writes nothing.
    pub unchanged_since: DateTime<Utc>,
}

/// Users, devices and their tokens (stored only as hashes).
pub trait AccountStore {
    /// Adds a user; false when the id is taken.
    fn insert_user(
        &self,
        user_id: &str,
        display_name: &str,
        role: Role,
        now: DateTime<Utc>,
    ) -> Result<bool, DbError>;
    /// Changes a user's role; false when there is no such user.
    fn set_user_role(&self, user_id: &str, role: Role) -> Result<bool, DbError>;
    /// The role of an active user.
    fn user_role(&self, user_id: &str) -> Result<Option<Role>, DbError>;
    /// Adds a device of `user_id` with the hash of its token.
    fn insert_device(
        &self,
        device_id: &str,
        user_id: &str,
        label: &str,
        token_hash: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), DbError>;
    /// Revokes a device; false when it was not active.
    fn revoke_device(&self, device_id: &str, now: DateTime<Utc>) -> Result<bool, DbError>;
    /// The active device (of an active user) whose token has this hash.
    fn device_by_token_hash(&self, token_hash: &[u8]) -> Result<Option<Principal>, DbError>;
    /// Whether the device is enrolled, not revoked, and its user active.
    fn device_active(&self, device_id: &str) -> Result<bool, DbError>;
    /// The installation the device is bound to, if any (ADR 0022).
    fn device_installation(&self, device_id: &str) -> Result<Option<String>, DbError>;
    /// Binds an unbound device to `installation` and returns the installation it is bound to
    /// afterwards: `installation` if it was unbound (or already bound to it), the other one
    /// if another request bound it first. Never rebinds a bound device.
    fn bind_installation(
        &self,
        device_id: &str,
        installation: &str,
    ) -> Result<Option<String>, DbError>;
    /// Unbinds a device from its installation; returns the installation it was bound to.
    fn release_installation(&self, device_id: &str) -> Result<Option<String>, DbError>;
    /// Records a device's sync.
    fn record_device_seen(&self, seen: &DeviceSeen<'_>) -> Result<(), DbError>;
    /// Every user, by id.
    fn users(&self) -> Result<Vec<UserRow>, DbError>;
    /// Every device, newest first.
    fn devices_newest_first(&self) -> Result<Vec<DeviceRow>, DbError>;
    /// Numbers that change whenever a credential may have ended: revoked devices, disabled
    /// users, sessions (count and newest), scope revocations and grants.
    fn credentials_fingerprint(&self) -> Result<[i64; 6], DbError>;
}

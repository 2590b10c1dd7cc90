//! Devices with their last sync and how far behind the server's change sequence they are.

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use serde::Serialize;

use crate::error::ServerError;

/// One enrolled device.
#[derive(Clone, Debug, Serialize)]
pub struct DeviceLine {
    /// Device id.
    pub device_id: String,
    /// Its user.
    pub user_id: String,
    /// The user's role.
    pub role: String,
    /// Label.
    pub label: String,
    /// When it last synced.
    pub last_seen_at: Option<String>,
    /// Minutes since then.
    pub minutes_since_sync: Option<i64>,
    /// Changes on the server the device has not absorbed yet (sequence positions behind).
    pub changes_behind: i64,
    /// When the device last delivered edits.
    pub last_upload_at: Option<String>,
    /// Outbox age at that upload: minutes the oldest delivered edit had waited on the device
    /// (by the device's clock, so never below zero).
    pub outbox_age_minutes: Option<i64>,
    /// Revoked at, if revoked.
    pub revoked_at: Option<String>,
}

/// Active (not revoked) devices that synced at or after `since` (RFC 3339): the one count
/// the overview and `/metrics` both show.
pub fn seen_since(conn: &Connection, since: &str) -> Result<u64, ServerError> {
    Ok(conn
        .prepare_cached(
            "SELECT COUNT(*) FROM devices WHERE revoked_at IS NULL AND last_seen_at >= ?1",
        )?
        .query_row([since], |r| r.get(0))?)
}

/// Every device, the longest silent first.
pub fn devices(conn: &Connection, now: DateTime<Utc>) -> Result<Vec<DeviceLine>, ServerError> {
    let head = crate::docs::current_seq(conn)?;
    let mut stmt = conn.prepare_cached(
        "SELECT d.device_id, d.user_id, u.role, d.label, d.last_seen_at, d.last_cursor, d.revoked_at,
                d.last_upload_at, d.last_upload_oldest_change_at
         FROM devices d JOIN users u USING (user_id)
         ORDER BY d.revoked_at IS NOT NULL, d.last_seen_at IS NOT NULL, d.last_seen_at, d.device_id",
    )?;
    let rows = stmt.query_map([], |r| {
        let last_seen_at: Option<String> = r.get(4)?;
        let cursor: i64 = r.get(5)?;
        let last_upload_at: Option<String> = r.get(7)?;
        let oldest: Option<String> = r.get(8)?;
        let outbox_age_minutes =
            match (instant(last_upload_at.as_deref()), instant(oldest.as_deref())) {
                (Some(at), Some(oldest)) => {
                    Some(at.signed_duration_since(oldest).num_minutes().max(0))
                }
                _ => None,
            };
        Ok(DeviceLine {
            device_id: r.get(0)?,
            user_id: r.get(1)?,
            role: r.get(2)?,
            label: r.get(3)?,
            minutes_since_sync: instant(last_seen_at.as_deref())
                .map(|t| now.signed_duration_since(t).num_minutes()),
            last_seen_at,
            // The cursor is what a device reported: saturating keeps an absurd one a number.
            changes_behind: head.saturating_sub(cursor).max(0),
            revoked_at: r.get(6)?,
            last_upload_at,
            outbox_age_minutes,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// An optional stored instant; an unreadable one counts as absent on this list.
fn instant(text: Option<&str>) -> Option<DateTime<Utc>> {
    text.and_then(|t| super::instant(t).ok())
}

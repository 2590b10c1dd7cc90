//! Devices with their last sync and how far behind the server's change sequence they are.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::db::{DocumentStore, HqQueries};
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

/// Every device, the longest silent first, with how far behind the change sequence `head`
/// each one is.
pub fn devices(
    db: &(impl HqQueries + DocumentStore + ?Sized),
    now: DateTime<Utc>,
) -> Result<Vec<DeviceLine>, ServerError> {
    let head = db.current_seq()?;
    Ok(db.devices()?.into_iter().map(|record| line(record, head, now)).collect())
}

fn line(record: crate::db::hq::DeviceRecord, head: i64, now: DateTime<Utc>) -> DeviceLine {
    let outbox_age_minutes = match (
        instant(record.last_upload_at.as_deref()),
        instant(record.last_upload_oldest_change_at.as_deref()),
    ) {
        (Some(at), Some(oldest)) => Some(at.signed_duration_since(oldest).num_minutes().max(0)),
        _ => None,
    };
    DeviceLine {
        minutes_since_sync: instant(record.last_seen_at.as_deref())
            .map(|t| now.signed_duration_since(t).num_minutes()),
        device_id: record.device_id,
        user_id: record.user_id,
        role: record.role,
        label: record.label,
        last_seen_at: record.last_seen_at,
        // The cursor is what a device reported: saturating keeps an absurd one a number.
        changes_behind: head.saturating_sub(record.last_cursor).max(0),
        revoked_at: record.revoked_at,
        last_upload_at: record.last_upload_at,
        outbox_age_minutes,
    }
}

/// An optional stored instant; an unreadable one counts as absent on this list.
fn instant(text: Option<&str>) -> Option<DateTime<Utc>> {
    text.and_then(|t| super::instant(t).ok())
}

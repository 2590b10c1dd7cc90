//! Devices with their last sync and how far behind the server's change sequence they are:
//! searched, filtered, sorted and paged like every headquarters list (ADR 0025).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::listing::{self, Dir, ListParams, ListSpec, Page, SortColumn, SortValue};
use super::people::Names;
use crate::db::{Db, DocumentStore, HqQueries};
use crate::error::ServerError;
use kam_core::model::Role;

/// One enrolled device.
#[derive(Clone, Debug, Serialize)]
pub struct DeviceLine {
    /// Device id.
    pub device_id: String,
    /// Its user.
    pub user_id: String,
    /// The user's name.
    pub user_name: String,
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

/// Every device, its user named, with how far behind the change sequence `head` each one is.
fn devices(
    db: &(impl HqQueries + DocumentStore + ?Sized),
    names: &Names,
    now: DateTime<Utc>,
) -> Result<Vec<DeviceLine>, ServerError> {
    let head = db.current_seq()?;
    Ok(db.devices()?.into_iter().map(|record| line(record, names, head, now)).collect())
}

fn line(
    record: crate::db::hq::DeviceRecord,
    names: &Names,
    head: i64,
    now: DateTime<Utc>,
) -> DeviceLine {
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
        user_name: names.of(&record.user_id).to_owned(),
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

/// The device list's filters, as the query string spells them.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct DeviceQuery {
    /// Part of the device's label or id, or of its user's id or name.
    pub q: Option<String>,
    /// The user's id.
    pub user: Option<String>,
    /// The user's role code.
    pub role: Option<String>,
    /// `active` or `revoked`.
    pub state: Option<String>,
}

impl DeviceQuery {
    /// The filters as query-string pairs.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let v = |o: &Option<String>| o.clone().unwrap_or_default();
        vec![
            ("q", v(&self.q)),
            ("user", v(&self.user)),
            ("role", v(&self.role)),
            ("state", v(&self.state)),
        ]
    }
}

/// The columns the device list sorts by (`sort=`); `silent`, the longest silent first (a
/// device that never synced first of all), by default.
pub const SORT_COLUMNS: &[SortColumn<DeviceLine>] = &[
    SortColumn {
        key: "silent",
        value: |d| Some(SortValue::Int(d.minutes_since_sync.unwrap_or(i64::MAX))),
    },
    SortColumn { key: "device", value: |d| Some(SortValue::Text(d.label.clone())) },
    SortColumn { key: "user", value: |d| Some(SortValue::Text(d.user_name.clone())) },
    SortColumn { key: "role", value: |d| Some(SortValue::Text(d.role.clone())) },
    SortColumn { key: "behind", value: |d| Some(SortValue::Int(d.changes_behind)) },
    SortColumn { key: "upload", value: |d| d.last_upload_at.clone().map(SortValue::Text) },
    SortColumn { key: "outbox", value: |d| d.outbox_age_minutes.map(SortValue::Int) },
];

/// The list: its columns, its order when none is asked, its rows' ids.
pub const DEVICES: ListSpec<DeviceLine> =
    ListSpec { columns: SORT_COLUMNS, default: ("silent", Dir::Desc), id: |d| &d.device_id };

/// The role codes a user has (`Role::ALL`), for the role filters.
pub fn role_codes() -> [&'static str; 6] {
    Role::ALL.map(Role::as_str)
}

/// One page of the devices matching `query` at `now`.
pub fn devices_page(
    db: &dyn Db,
    now: DateTime<Utc>,
    query: &DeviceQuery,
    params: &ListParams,
) -> Result<Page<DeviceLine>, ServerError> {
    DEVICES.page(params, || matching(db, now, query))
}

/// Every device matching `query` in the order `params` asks (for the list's file).
pub fn devices_sorted(
    db: &dyn Db,
    now: DateTime<Utc>,
    query: &DeviceQuery,
    params: &ListParams,
) -> Result<Vec<DeviceLine>, ServerError> {
    DEVICES.sorted(params, || matching(db, now, query))
}

/// The devices matching `query`, their users named; a value that cannot be is refused by name.
fn matching(
    db: &dyn Db,
    now: DateTime<Utc>,
    query: &DeviceQuery,
) -> Result<Vec<DeviceLine>, ServerError> {
    let names = Names::load(db)?;
    let user = listing::given(&query.user);
    if let Some(u) = user
        && !names.knows(u)
    {
        return Err(ServerError::Invalid { field: "user", reason: format!("no user {u:?}") });
    }
    let role = listing::code(&query.role, "role", &role_codes())?;
    let active = listing::either(&query.state, "state", ("active", "revoked"))?;
    let q = listing::search_text(query.q.as_deref())?;
    let mut lines = devices(db, &names, now)?;
    lines.retain(|d| {
        user.is_none_or(|u| d.user_id == u)
            && role.is_none_or(|r| d.role == r)
            && active.is_none_or(|a| d.revoked_at.is_none() == a)
            && q.as_deref().is_none_or(|q| {
                [&d.label, &d.device_id, &d.user_id, &d.user_name]
                    .into_iter()
                    .any(|field| listing::contains_folded(field, q))
            })
    });
    Ok(lines)
}

/// An optional stored instant; an unreadable one counts as absent on this list.
fn instant(text: Option<&str>) -> Option<DateTime<Utc>> {
    text.and_then(|t| super::instant(t).ok())
}

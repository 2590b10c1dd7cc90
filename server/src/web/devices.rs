//! Devices and their sync.

use axum::extract::State;
use chrono::Utc;
use maud::{Markup, html};

use super::error::PageError;
use super::layout::{Here, page, when};
use super::session::WebUser;
use crate::hq::devices;
use crate::http::AppState;

/// `GET /hq/devices`.
pub async fn devices_page(
    State(state): State<AppState>,
    user: WebUser,
    here: Here,
) -> Result<Markup, PageError> {
    let lang = user.lang;
    let list = user.hq_read(&state, |store| devices::devices(store.conn(), Utc::now())).await?;
    Ok(page(
        &user,
        &here,
        lang.t("设备", "Devices"),
        html! {
            h1 { (lang.t("设备与同步", "Devices and their sync")) }
            table #devices {
                tr { th { (lang.t("设备", "Device")) } th { (lang.t("用户", "User")) } th { (lang.t("角色", "Role")) } th { (lang.t("最近同步", "Last sync")) } th { (lang.t("距今", "Ago")) } th { (lang.t("落后变更数", "Changes behind")) } th { (lang.t("最近上传", "Last upload")) } th { (lang.t("上传时积压时长", "Outbox age at upload")) } th { (lang.t("状态", "State")) } }
                @for d in &list {
                    tr data-device-id=(d.device_id) {
                        td { (d.label) br; span .muted { (d.device_id) } } td { (d.user_id) } td { (lang.label(&d.role)) }
                        td { (d.last_seen_at.as_deref().map(when).unwrap_or_else(|| lang.t("从未", "never").to_owned())) }
                        td .num { @if let Some(m) = d.minutes_since_sync { (m / 60) "h" (m % 60) "m" } }
                        td .num { (d.changes_behind) }
                    td { (d.last_upload_at.as_deref().map(when).unwrap_or_else(|| "—".to_owned())) }
                    td .num .outbox-age { @if let Some(m) = d.outbox_age_minutes { (m / 60) "h" (m % 60) "m" } @else { "—" } }
                        td { @if d.revoked_at.is_some() { span .error { (lang.t("已吊销", "revoked")) } } @else { (lang.t("有效", "active")) } }
                    }
                }
            }
        },
    ))
}

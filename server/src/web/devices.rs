//! Devices and their sync; for the administrator also the enrolment of a device (its token
//! shown once, as text and as a QR code the tablet scans) and its revocation, which ends the
//! device's open streams at once (`web::admin::credentials_changed`).

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::Utc;
use maud::{Markup, PreEscaped, html};
use serde::Deserialize;

use super::admin::{DEVICES, admin_nav, admit_form, confirm_box, done, is_admin};
use super::error::{InLang, PageError};
use super::forms::{Flash, required, text};
use super::i18n::Lang;
use super::layout::{Here, csrf_field, flash, page, url_encode};
use super::list::ListView;
use super::session::WebUser;
use crate::auth::Enrolment;
use crate::db::accounts::UserRow;
use crate::error::ServerError;
use crate::hq::devices::{self, DeviceLine, DeviceQuery};
use crate::hq::listing::{ListParams, Page};
use crate::http::AppState;
use crate::reports::export::{ListCell, ListKind};

/// The devices page's forms.
pub fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/hq/devices/enrol", post(enrol))
        .route("/hq/devices/{id}/revoke", post(revoke))
}

/// What the page shows: a page of the devices, and for the administrator the users to enrol
/// for.
struct DevicesView {
    list: Page<DeviceLine>,
    users: Vec<UserRow>,
    view: ListView,
}

async fn load(
    state: &AppState,
    user: &WebUser,
    query: DeviceQuery,
    params: ListParams,
) -> Result<DevicesView, PageError> {
    let admin = is_admin(user);
    let view = ListView::new("/hq/devices", query.pairs(), &params, user.lang);
    user.hq_read(state, move |store| {
        let list = devices::devices_page(store.conn(), Utc::now(), &query, &params)?;
        let users = if admin { store.conn().users()? } else { Vec::new() };
        Ok(DevicesView { list, users, view })
    })
    .await
}

/// `GET /hq/devices`.
pub async fn devices_page(
    State(state): State<AppState>,
    user: WebUser,
    here: Here,
    Query(flash_msg): Query<Flash>,
    Query(query): Query<DeviceQuery>,
    Query(params): Query<ListParams>,
) -> Result<Markup, PageError> {
    let view = load(&state, &user, query, params).await?;
    Ok(devices_view(&user, &here, &view, flash_msg.done.as_deref(), None))
}

/// `GET /hq/devices.csv` and `.xlsx`: every device the list shows under its filters and sort.
pub async fn devices_file(
    State(state): State<AppState>,
    user: WebUser,
    uri: Uri,
    Query(query): Query<DeviceQuery>,
    Query(params): Query<ListParams>,
) -> Result<Response, PageError> {
    let title = user.lang.t("设备与同步", "Devices and their sync");
    let filters = query.pairs();
    let kind = (ListKind::Devices, title);
    super::list_file::send_list(&state, &user, &uri, kind, &filters, move |store, lang, now| {
        let rows = devices::devices_sorted(store.conn(), now, &query, &params)?;
        let policy = store.policy();
        Ok(rows.iter().map(|d| device_cells(lang, policy, d)).collect())
    })
    .await
}

fn device_cells(lang: Lang, policy: &kam_core::Policy, d: &DeviceLine) -> Vec<ListCell> {
    let zoned = |at: &Option<String>| {
        ListCell::Text(at.as_deref().map(|t| super::layout::zoned(policy, t)).unwrap_or_default())
    };
    let minutes = |m: Option<i64>| ListCell::Text(m.map(|m| m.to_string()).unwrap_or_default());
    vec![
        ListCell::Text(d.device_id.clone()),
        ListCell::Text(d.label.clone()),
        ListCell::Text(d.user_name.clone()),
        ListCell::Text(lang.label(&d.role)),
        zoned(&d.last_seen_at),
        minutes(d.minutes_since_sync),
        ListCell::Text(d.changes_behind.to_string()),
        zoned(&d.last_upload_at),
        minutes(d.outbox_age_minutes),
        ListCell::Text(state_label(lang, d).to_owned()),
    ]
}

fn state_label(lang: Lang, d: &DeviceLine) -> &'static str {
    if d.revoked_at.is_some() { lang.t("已吊销", "revoked") } else { lang.t("有效", "active") }
}

/// The device list's search form: text, user, role and state.
fn device_search(view: &ListView, lang: Lang, users: &[(String, String)]) -> Markup {
    let roles: Vec<(String, String)> = kam_core::model::Role::ALL
        .iter()
        .map(|r| (r.as_str().to_owned(), lang.label(r.as_str())))
        .collect();
    let states = [
        ("active".to_owned(), lang.t("有效", "active").to_owned()),
        ("revoked".to_owned(), lang.t("已吊销", "revoked").to_owned()),
    ];
    html! {
        form .search #device-search method="get" action="/hq/devices" {
            input type="search" name="q" id="search" value=(view.filter("q"))
                placeholder=(lang.t("设备名称、编号或用户", "Device label, id or user"));
            (super::list::select("user", view.filter("user"), lang.t("全部用户", "All users"), users))
            (super::list::select("role", view.filter("role"), lang.t("全部角色", "All roles"), &roles))
            (super::list::select("state", view.filter("state"), lang.t("全部状态", "Any state"), &states))
            (view.kept_fields())
            button type="submit" { (lang.t("筛选", "Filter")) }
            " " a href="/hq/devices" { (lang.t("清除", "Clear")) }
        }
    }
}

fn devices_view(
    user: &WebUser,
    here: &Here,
    view: &DevicesView,
    message: Option<&str>,
    enrolled: Option<Markup>,
) -> Markup {
    let lang = user.lang;
    let admin = is_admin(user);
    page(
        user,
        here,
        lang.t("设备", "Devices"),
        html! {
            h1 { (lang.t("设备与同步", "Devices and their sync")) }
            @if admin { (admin_nav(lang, DEVICES)) }
            (flash(message))
            @if let Some(enrolled) = enrolled { (enrolled) }
            @if admin { (enrol_form(user, &view.users)) }
            (device_search(&view.view, lang, &user_choices(&view.list)))
            div .list-bar { (view.view.pager(&view.list)) (view.view.exports()) }
            (device_table(user, &view.view, &view.list))
            (view.view.pager_below(&view.list))
        },
    )
}

/// The users of the devices listed, for the user filter.
fn user_choices(list: &Page<DeviceLine>) -> Vec<(String, String)> {
    let mut users: Vec<(String, String)> =
        list.rows.iter().map(|d| (d.user_id.clone(), d.user_name.clone())).collect();
    users.sort();
    users.dedup();
    users
}

fn device_table(user: &WebUser, view: &ListView, list: &Page<DeviceLine>) -> Markup {
    let lang = user.lang;
    let admin = is_admin(user);
    let p = Some(list);
    html! {
        table #devices {
            tr { (view.header(p, "device", "设备", "Device")) (view.header(p, "user", "用户", "User")) (view.header(p, "role", "角色", "Role")) th { (lang.t("最近同步", "Last sync")) } (view.header(p, "silent", "距今", "Ago")) (view.header(p, "behind", "落后变更数", "Changes behind")) (view.header(p, "upload", "最近上传", "Last upload")) (view.header(p, "outbox", "上传时积压时长", "Outbox age at upload")) th { (lang.t("状态", "State")) } @if admin { th {} } }
            @for d in &list.rows {
                tr data-device-id=(d.device_id) {
                    td { (d.label) br; span .muted { (d.device_id) } } td { a .rep href={ "/hq/reps/" (url_encode(&d.user_id)) } { (d.user_name) } } td { (lang.label(&d.role)) }
                    td { (d.last_seen_at.as_deref().map(|t| user.clock.local(t)).unwrap_or_else(|| lang.t("从未", "never").to_owned())) }
                    td .num { @if let Some(m) = d.minutes_since_sync { (m / 60) "h" (m % 60) "m" } }
                    td .num { (d.changes_behind) }
                    td { (d.last_upload_at.as_deref().map(|t| user.clock.local(t)).unwrap_or_else(|| "—".to_owned())) }
                    td .num .outbox-age { @if let Some(m) = d.outbox_age_minutes { (m / 60) "h" (m % 60) "m" } @else { "—" } }
                    td { @if d.revoked_at.is_some() { span .error { (state_label(lang, d)) } } @else { (state_label(lang, d)) } }
                    @if admin { td { @if d.revoked_at.is_none() { (revoke_form(user, &d.device_id)) } } }
                }
            }
        }
    }
}

fn revoke_form(user: &WebUser, device_id: &str) -> Markup {
    let lang = user.lang;
    html! {
        form .revoke method="post" action={ "/hq/devices/" (url_encode(device_id)) "/revoke" } {
            (csrf_field(user))
            (confirm_box(lang.t("确认吊销", "Confirm")))
            button type="submit" { (lang.t("吊销", "Revoke")) }
        }
    }
}

fn enrol_form(user: &WebUser, users: &[UserRow]) -> Markup {
    let lang = user.lang;
    html! {
        h2 { (lang.t("登记设备", "Enrol a device")) }
        form #enrol method="post" action="/hq/devices/enrol" {
            (csrf_field(user))
            label { (lang.t("用户", "User")) " " select name="user_id" {
                @for u in users.iter().filter(|u| u.disabled_at.is_none()) {
                    option value=(u.user_id) { (u.display_name) " (" (u.user_id) ")" }
                }
            } } " "
            label { (lang.t("设备名称", "Label")) " " input name="label" required maxlength="100"; } " "
            (confirm_box(lang.t("确认登记（令牌只显示这一次）", "Confirm: enrol (the token is shown only this once)")))
            button type="submit" { (lang.t("登记", "Enrol")) }
        }
    }
}

/// The enrolment form and the revocation form.
#[derive(Debug, Deserialize)]
pub struct DeviceForm {
    #[serde(default)]
    csrf: String,
    confirm: Option<String>,
    user_id: Option<String>,
    label: Option<String>,
}

/// `POST /hq/devices/enrol`: enrols a device and answers the page with its token, as text and
/// as a QR code, this once; the answer is never cached and the token is in no address.
pub async fn enrol(
    State(state): State<AppState>,
    user: WebUser,
    headers: HeaderMap,
    Form(form): Form<DeviceForm>,
) -> Result<Response, PageError> {
    let lang = user.lang;
    admit_form(&user, &form.csrf, form.confirm.as_deref(), "enrol the device")?;
    let owner = required(&form.user_id, "user_id").in_lang(lang)?.to_owned();
    let label = match text(&form.label) {
        label if label.is_empty() => "tablet".to_owned(),
        label => label,
    };
    let actor = user.user_id.clone();
    let enrolment = state
        .with_store(move |store| crate::admin::enroll(store, &actor, &owner, &label, Utc::now()))
        .await
        .in_lang(lang)?;
    let server = base_url(&state, &headers);
    let shown = enrolled_view(lang, &enrolment, &server).in_lang(lang)?;
    let view = load(&state, &user, DeviceQuery::default(), ListParams::default()).await?;
    let here = Here::new(DEVICES);
    let body = devices_view(&user, &here, &view, None, Some(shown));
    Ok(([(header::CACHE_CONTROL, "no-store")], body).into_response())
}

/// `POST /hq/devices/{id}/revoke`: revokes the device; its token gets 401 from now on and its
/// open streams end now.
pub async fn revoke(
    State(state): State<AppState>,
    user: WebUser,
    Path(device_id): Path<String>,
    Form(form): Form<DeviceForm>,
) -> Result<Response, PageError> {
    let lang = user.lang;
    admit_form(&user, &form.csrf, form.confirm.as_deref(), "revoke the device")?;
    let actor = user.user_id.clone();
    let was_active = state
        .with_store(move |store| crate::admin::revoke(store, &actor, &device_id, Utc::now()))
        .await
        .in_lang(lang)?;
    super::admin::credentials_changed(&state);
    let message = if was_active {
        lang.t("设备已吊销，其连接已断开。", "Device revoked; its connections are closed.")
    } else {
        lang.t("该设备本已无效。", "The device was not active.")
    };
    Ok(done(DEVICES, message))
}

/// Where tablets reach this server: the scheme the dashboard is served over and the host the
/// administrator's browser used (only a plain host name or address with a port is taken).
fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    let scheme = if state.web.tls_proxy { "https" } else { "http" };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.chars().all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .unwrap_or("localhost");
    format!("{scheme}://{host}")
}

/// What a tablet's enrolment needs, in one link: `kam://enrol?server=<url>&token=<token>`.
pub fn enrolment_link(server: &str, token: &str) -> String {
    format!("kam://enrol?server={}&token={}", url_encode(server), url_encode(token))
}

/// The enrolment link as an SVG QR code (no script, no image file: the page's CSP holds).
pub fn qr_svg(link: &str) -> Result<String, ServerError> {
    let code = qrcode::QrCode::with_error_correction_level(link, qrcode::EcLevel::M)
        .map_err(|e| ServerError::Corrupt(format!("enrolment QR code: {e}")))?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(240, 240)
        .quiet_zone(true)
        .build();
    // Inline in HTML: the XML declaration before `<svg` has no place there.
    Ok(svg.find("<svg").map_or(svg.clone(), |at| svg[at..].to_owned()))
}

fn enrolled_view(lang: Lang, enrolment: &Enrolment, server: &str) -> Result<Markup, ServerError> {
    let link = enrolment_link(server, &enrolment.token);
    let svg = qr_svg(&link)?;
    Ok(html! {
        section #enrolled data-device-id=(enrolment.device_id) {
            h2 { (lang.t("新设备已登记", "Device enrolled")) }
            p .error { (lang.t("令牌只显示这一次，服务器只保存其哈希：请现在用平板扫描二维码，或抄下令牌。",
                "The token is shown only now; the server keeps only its hash. Scan the QR code with the tablet now, or copy the token.")) }
            p { (lang.t("设备：", "Device: ")) code { (enrolment.device_id) } }
            p { (lang.t("服务器：", "Server: ")) code #enrol-server { (server) } }
            p { (lang.t("令牌：", "Token: ")) code #enrol-token { (enrolment.token) } }
            div #enrol-qr title=(link) { (PreEscaped(svg)) }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_enrolment_link_carries_the_server_and_the_token_and_draws_as_svg() {
        let link = enrolment_link("http://10.0.0.5:8080", "kam_abc");
        assert_eq!(link, "kam://enrol?server=http%3A//10.0.0.5%3A8080&token=kam_abc");
        let svg = qr_svg(&link).unwrap_or_default();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"), "{svg}");
        assert!(!svg.contains("style="), "inline styles break the CSP: {svg}");
    }
}

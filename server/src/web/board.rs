//! Headquarters' view of an event: the unit control table (销控表) read-only over the whole
//! project with the event's allotment marked, live, and the event's reconciliation.
//!
//! The board is the same table the desk console draws (`console::table`), from the desk's own
//! rows, and follows the same stream (`/console/events/{id}/live`): after each desk commit the
//! page repaints only the cells that changed.

use axum::extract::{Path, Query, State};
use maud::{Markup, html};

use super::console::table::{TableView, control_table};
use super::error::{InLang, PageError};
use super::layout::{Here, money, page, url_encode};
use super::session::WebUser;
use super::venue::{current, lag_figures, served_by};
use crate::desk::delegation::lend;
use crate::desk::plan::read_plan_showing;
use crate::desk::reconcile::reconcile;
use crate::error::ServerError;
use crate::http::AppState;
use crate::web::assets::{CONSOLE_CSS, CONSOLE_JS};

/// The board's query: the building tab.
#[derive(Debug, Default, serde::Deserialize)]
pub struct BoardQuery {
    building: Option<String>,
}

/// `GET /hq/events/{id}/board`.
pub async fn board_page(
    State(state): State<AppState>,
    user: WebUser,
    here: Here,
    Path(event_id): Path<String>,
    query: Result<Query<BoardQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Markup, PageError> {
    user.require_hq()?;
    let lang = user.lang;
    let id = event_id.clone();
    let now = chrono::Utc::now();
    let building = query.ok().and_then(|Query(q)| q.building);
    let shown = building.clone();
    let (plan, now_serving, seq, lent) = state
        .readers()
        .read(move |c| {
            let desk = c.desk();
            let event = desk.desk_event(&id)?.ok_or(ServerError::NotFound)?;
            let lags = lend::lag(desk, now)?;
            let lent = current(&lags, &id).cloned();
            Ok::<_, ServerError>((
                read_plan_showing(desk, &id, shown.as_deref())?,
                event.now_serving,
                desk.ledger_seq()?,
                lent,
            ))
        })
        .await
        .in_lang(lang)?;
    let encoded = url_encode(&event_id);
    let base = format!("/hq/events/{encoded}/board");
    let view = TableView { base: &base, building: building.as_deref(), selectable: false };
    Ok(page(
        &user,
        &here,
        lang.t("实时销控表", "Live control table"),
        html! {
            link rel="stylesheet" href=(CONSOLE_CSS.href());
            @if let Some(lag) = &lent {
                div #venue-banner .banner data-venue=(lag.venue_name) {
                    (served_by(lang, state.policy(), lag)) " · " (lag_figures(lang, state.policy(), lag))
                    br; small { (lang.t("此表显示现场服务器已上传的数据。", "This table shows what the venue server has shipped.")) }
                }
            }
            div #console .board-page data-live={ "/console/events/" (encoded) "/live" } data-seq=(seq) {
                h1 { (lang.t("实时销控表", "Live unit control table")) }
                p {
                    span #live-status data-connected="false" data-live=(lang.t("实时", "live"))
                        data-lost=(lang.t("已断开，重连中…", "disconnected, reconnecting…")) { (lang.t("连接中…", "connecting…")) }
                    " · " (lang.t("叫号", "Now serving")) ": " b #now-serving { (now_serving.map(|n| n.to_string()).unwrap_or_else(|| "—".into())) }
                    " · " (lang.t("浅色为未分配给本次活动的房源", "Faded units are not allotted to this event"))
                    " · " a href={ "/hq/events/" (encoded) "/reconciliation" } { (lang.t("对账", "Reconciliation")) }
                }
                (control_table(lang, &plan, &view))
            }
            script src=(CONSOLE_JS.href()) defer {}
        },
    ))
}

/// `GET /hq/events/{id}/reconciliation`.
pub async fn reconciliation_page(
    State(state): State<AppState>,
    user: WebUser,
    here: Here,
    Path(event_id): Path<String>,
) -> Result<Markup, PageError> {
    let lang = user.lang;
    let id = event_id.clone();
    let r = user.hq_read(&state, move |store| reconcile(store.desk(), &id)).await?;
    Ok(page(
        &user,
        &here,
        lang.t("对账", "Reconciliation"),
        html! {
            h1 { (lang.t("选房活动对账", "Event reconciliation")) }
            div #reconciliation {
                table {
                    tr { th { (lang.t("分配房源", "Units allotted")) } td .num { (r.units_allotted) } }
                    tr { th { (lang.t("已售", "Sold")) } td .num { (r.units_sold) } }
                    tr { th { (lang.t("锁定中", "Held")) } td .num { (r.units_held) } }
                    tr { th { (lang.t("有效认购书", "Live vouchers")) } td .num { (r.vouchers_live) } }
                    tr { th { (lang.t("红冲认购书", "Reversed vouchers")) } td .num { (r.vouchers_reversed) } }
                    tr { th { (lang.t("收款合计", "Receipts")) } td .num { (money(&r.receipts_total.to_string())) } }
                    tr { th { (lang.t("认购书金额合计", "Vouchers")) } td .num { (money(&r.vouchers_total.to_string())) } }
                }
                @if r.mismatches.is_empty() {
                    p #reconciled { (lang.t("收款、认购书与房源状态全部相符。", "Receipts, vouchers and unit status all agree.")) }
                } @else {
                    h2 .error { (lang.t("不符项", "Mismatches")) }
                    table #mismatches {
                        tr { th { (lang.t("类型", "Kind")) } th { (lang.t("房源", "Unit")) } th { (lang.t("认购书号", "Voucher")) } th { (lang.t("说明", "Detail")) } }
                        @for m in &r.mismatches {
                            tr .mismatch { td { (m.code) } td { (m.unit_id.as_deref().unwrap_or("")) } td { (m.voucher_no.map(|n| n.to_string()).unwrap_or_default()) } td { (m.detail) } }
                        }
                    }
                }
            }
        },
    ))
}

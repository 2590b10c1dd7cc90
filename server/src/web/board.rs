//! An event's live unit control table (销控表) and its reconciliation.
//!
//! The board is the desk's own state, read from the desk's file. The page subscribes to
//! `…/board/stream` (server-sent events) and repaints only the cells whose status changed.
//! The stream sends the whole table once, then re-reads it whenever the push hub announces
//! a change to the event's project or event document (the desk's mirror announces every
//! batch it writes), and at least every few seconds, sending only what changed.

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use maud::{Markup, html};
use tokio::sync::broadcast::error::RecvError;

use super::assets::board_js_href;
use super::error::{InLang, PageError};
use super::layout::{Here, money, page, url_encode};
use super::session::WebUser;
use crate::desk::http::{ControlTable, UnitLine, read_control_table};
use crate::desk::reconcile::reconcile;
use crate::error::ServerError;
use crate::http::AppState;

/// Longest wait between two reads of the table when no change is announced.
const BOARD_REFRESH: Duration = Duration::from_secs(3);

async fn table(state: &AppState, event_id: String) -> Result<ControlTable, ServerError> {
    state.readers().read(move |c| read_control_table(c.desk(), &event_id)).await
}

/// Building and floor of a unit code like `1-1001` (building 1, floor 10); codes of
/// another shape go in one row.
fn building_and_floor(code: &str) -> (String, String) {
    match code.split_once('-') {
        Some((building, unit)) if unit.len() > 2 => {
            (building.to_owned(), unit[..unit.len() - 2].to_owned())
        }
        _ => (String::new(), String::new()),
    }
}

/// `GET /hq/events/{id}/board`.
pub async fn board_page(
    State(state): State<AppState>,
    user: WebUser,
    here: Here,
    Path(event_id): Path<String>,
) -> Result<Markup, PageError> {
    user.require_hq()?;
    let lang = user.lang;
    let t = table(&state, event_id.clone()).await.in_lang(lang)?;
    let mut rows: Vec<((String, String), Vec<&UnitLine>)> = Vec::new();
    for unit in &t.units {
        let key = building_and_floor(&unit.code);
        match rows.iter_mut().find(|(k, _)| *k == key) {
            Some((_, cells)) => cells.push(unit),
            None => rows.push((key, vec![unit])),
        }
    }
    // Codes sort as text ("1-1001" before "1-101"); the plan reads building by building,
    // floor by floor.
    rows.sort_by_key(|((building, floor), _)| {
        (
            building.parse::<u32>().unwrap_or(u32::MAX),
            building.clone(),
            floor.parse::<u32>().unwrap_or(0),
        )
    });
    let count = |s: &str| t.units.iter().filter(|u| u.status == s).count();
    let labels: HashMap<&str, String> = ["available", "held", "sold", "withdrawn"]
        .into_iter()
        .map(|s| (s, lang.label(s)))
        .collect();
    // The script (`/assets/board.js`) reads its stream, texts and labels from data-
    // attributes: the Content-Security-Policy runs no inline script.
    let stream = format!("/hq/events/{}/board/stream", url_encode(&event_id));
    Ok(page(
        &user,
        &here,
        lang.t("实时销控表", "Live control table"),
        html! {
            h1 { (lang.t("实时销控表", "Live unit control table")) }
            p {
                span #board-live data-connected="false" data-live=(lang.t("实时", "live"))
                    data-lost=(lang.t("已断开，重连中…", "disconnected, reconnecting…")) { (lang.t("连接中…", "connecting…")) }
                " · " (lang.t("叫号", "Now serving")) ": " span #now-serving { (t.now_serving.map(|n| n.to_string()).unwrap_or_else(|| "—".into())) }
                " · " (lang.t("模式", "Mode")) ": " (lang.label(&t.mode))
            }
            p #board-counts {
                @for s in ["available", "held", "sold", "withdrawn"] {
                    @let label = labels.get(s).map(String::as_str).unwrap_or(s);
                    span .count data-status=(s) data-label=(label) { (label) " " b { (count(s)) } } " "
                }
            }
            table #board data-stream=(stream) {
                @for ((building, floor), cells) in &rows {
                    tr {
                        th { @if !building.is_empty() { (building) (lang.t("号楼 ", "# ")) (floor) (lang.t("层", "F")) } }
                        @for u in cells {
                            td .unit data-unit-id=(u.unit_id) data-status=(u.status) title=(u.unit_price.as_deref().map(money).unwrap_or_default()) {
                                div { (u.code) } div .status { (labels.get(u.status.as_str()).map(String::as_str).unwrap_or(&u.status)) }
                            }
                        }
                    }
                }
            }
            script src=(board_js_href()) defer {}
        },
    ))
}

/// What the stream sends: the units that changed since the last message.
#[derive(serde::Serialize)]
struct BoardNews<'a> {
    now_serving: Option<u32>,
    ledger_seq: i64,
    units: Vec<&'a UnitLine>,
}

struct Follow {
    state: AppState,
    event_id: String,
    project_doc: Option<String>,
    receiver: tokio::sync::broadcast::Receiver<crate::sync::ChangedDoc>,
    seen: HashMap<String, String>,
    first: bool,
    /// The session cookie the stream was opened with: when the auth epoch moves (a sign-out,
    /// a disabled user), the stream checks it again and ends if it no longer works.
    session: String,
    epoch: tokio::sync::watch::Receiver<u64>,
    _slot: crate::http::edge::streams::StreamSlot,
}

impl Follow {
    /// Waits for a change of the event's documents (or the refresh period), reads the table
    /// and returns what changed; `None` ends the stream (the desk is gone).
    async fn next(mut self) -> Option<(Result<Event, Infallible>, Follow)> {
        loop {
            if !self.first && !self.wait().await {
                return None;
            }
            let t = match table(&self.state, self.event_id.clone()).await {
                Ok(t) => t,
                Err(error) => {
                    tracing::warn!(%error, "board stream ends");
                    return None;
                }
            };
            if self.project_doc.is_none() {
                self.project_doc = project_doc_of(&self.state, &self.event_id).await;
            }
            let changed: Vec<&UnitLine> =
                t.units.iter().filter(|u| self.seen.get(&u.unit_id) != Some(&u.status)).collect();
            if changed.is_empty() && !self.first {
                continue;
            }
            let news =
                BoardNews { now_serving: t.now_serving, ledger_seq: t.ledger_seq, units: changed };
            let data = serde_json::to_string(&news).unwrap_or_else(|_| "{}".into());
            for u in &t.units {
                self.seen.insert(u.unit_id.clone(), u.status.clone());
            }
            self.first = false;
            return Some((Ok(Event::default().event("units").data(data)), self));
        }
    }

    /// Waits for a change of the event's documents or the refresh period; `false` when the
    /// stream must end because its session ended.
    async fn wait(&mut self) -> bool {
        let deadline = tokio::time::sleep(BOARD_REFRESH);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                () = &mut deadline => return true,
                moved = self.epoch.changed() => {
                    if moved.is_err() || !self.session_still_live().await {
                        return false;
                    }
                }
                notice = self.receiver.recv() => match notice {
                    Ok(changed) => {
                        let ours = changed.doc_id == format!("event/{}", self.event_id)
                            || self.project_doc.as_deref() == Some(changed.doc_id.as_str());
                        if ours { return true; }
                    }
                    Err(RecvError::Lagged(_)) => return true,
                    Err(RecvError::Closed) => { deadline.as_mut().await; return true; }
                }
            }
        }
    }

    async fn session_still_live(&self) -> bool {
        let token = self.session.clone();
        let found = self
            .state
            .readers()
            .read(move |c| super::session::session_user(c.db(), &token, chrono::Utc::now()))
            .await;
        matches!(found, Ok(Some((_, role, _))) if role.sees_everything())
    }
}

async fn project_doc_of(state: &AppState, event_id: &str) -> Option<String> {
    let event_id = event_id.to_owned();
    state
        .readers()
        .read(move |c| {
            Ok::<_, ServerError>(
                crate::desk::catalog::event_project(c.desk(), &event_id)
                    .ok()
                    .flatten()
                    .map(|p| format!("project/{p}")),
            )
        })
        .await
        .ok()
        .flatten()
}

/// `GET /hq/events/{id}/board/stream`.
pub async fn board_stream(
    State(state): State<AppState>,
    user: WebUser,
    headers: axum::http::HeaderMap,
    Path(event_id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, PageError> {
    user.require_hq()?;
    let lang = user.lang;
    let session = super::session::cookie(&headers, super::session::SESSION_COOKIE)
        .ok_or(PageError::Server(ServerError::Unauthorized, lang))?;
    let slot = state
        .edge()
        .streams
        .take(crate::http::edge::caller::credential_id(&session))
        .in_lang(lang)?;
    // Fails early (404) for an event without a desk, before the stream starts.
    table(&state, event_id.clone()).await.in_lang(lang)?;
    let mut epoch = state.edge().epoch.subscribe();
    epoch.mark_unchanged();
    let follow = Follow {
        receiver: state.push.subscribe(),
        state,
        event_id,
        project_doc: None,
        seen: HashMap::new(),
        first: true,
        session,
        epoch,
        _slot: slot,
    };
    let stream = futures_util::stream::unfold(follow, Follow::next);
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
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

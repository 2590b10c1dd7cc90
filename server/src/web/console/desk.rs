//! `GET /console/events/{id}/desk`: the desk console (选房台) — the stations 叫号, 身份核验,
//! 选房 and 工作票 beside the live control table.
//!
//! Made for a keyboard and a barcode or ID-card reader that types: the ID field takes a scan
//! followed by Enter, `N` calls the next number, `/` jumps to the ID field, arrow keys move
//! through the table and Enter chooses a unit (see `console.js`). The page never shows or keeps
//! an ID number: the field is cleared as soon as the check is sent, and the desk answers only
//! match or no match.

use axum::extract::{Path, Query, State};
use maud::{Markup, html};
use serde::Deserialize;

use super::live::queue_view;
use super::table::{TableView, control_table};
use super::{Station, admit, new_key, station_nav};
use crate::desk::live::{LiveState, state_of};
use crate::desk::plan::{Plan, QueueBuyer, lay_out};
use crate::error::ServerError;
use crate::http::AppState;
use crate::web::assets::{CONSOLE_CSS, CONSOLE_JS};
use crate::web::error::{InLang, PageError};
use crate::web::i18n::Lang;
use crate::web::layout::{Here, page, url_encode};
use crate::web::session::WebUser;

/// The page's query: the building tab.
#[derive(Debug, Default, Deserialize)]
pub struct DeskQuery {
    building: Option<String>,
}

/// What the page is drawn from.
struct DeskView {
    name: String,
    plan: Plan,
    live: LiveState,
}

async fn read_view(state: &AppState, event_id: &str) -> Result<DeskView, ServerError> {
    let max_units = state.policy().selection.max_units_per_buyer;
    let event_id = event_id.to_owned();
    state
        .readers()
        .read(move |c| {
            let desk = c.desk();
            let units = desk.board_units(&event_id, None)?;
            let live = state_of(desk, &event_id, &units, max_units)?;
            let name = desk.event_name(&event_id)?.unwrap_or_default();
            Ok(DeskView { name, plan: lay_out(units), live })
        })
        .await
}

/// The handler.
pub async fn desk_page(
    State(state): State<AppState>,
    user: WebUser,
    here: Here,
    Path(event_id): Path<String>,
    query: Result<Query<DeskQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Markup, PageError> {
    let lang = user.lang;
    admit(&state, &user, &event_id, Station::Desk).await?;
    let view = read_view(&state, &event_id).await.in_lang(lang)?;
    let held = super::venue::lease(&state).await.in_lang(lang)?.filter(|l| l.event_id == event_id);
    let closed =
        held.as_ref().and_then(|l| super::venue::closed_reason(lang, l, chrono::Utc::now()));
    let building = query.ok().and_then(|Query(q)| q.building);
    let id = url_encode(&event_id);
    let base = format!("/console/events/{id}/desk");
    let table = TableView { base: &base, building: building.as_deref(), selectable: true };
    let selection = &state.policy().selection;
    let title = lang.t("选房台", "Selection desk");
    let stations = html! {
        (queue_station(lang, &view.live))
        (identity_station(lang))
        (selection_station(lang, &view.live))
        (ticket_station(lang, selection))
    };
    Ok(page(
        &user,
        &here,
        title,
        html! {
            link rel="stylesheet" href=(CONSOLE_CSS.href());
            div #console .desk-console data-csrf=(user.csrf) data-event=(event_id)
                data-commands=(super::command::commands_path(&event_id))
                data-live={ "/console/events/" (id) "/live" } data-seq=(view.live.ledger_seq)
                data-papers={ "/console/events/" (id) "/papers" } data-lang=(lang.code()) {
                (station_nav(lang, &user, &event_id))
                h1 { (view.name) " · " (title) }
                @if let Some(l) = &held { (super::venue::lease_banner(&user, state.policy(), l, true)) }
                p #live-status data-connected="false" data-live=(lang.t("实时", "live"))
                    data-lost=(lang.t("已断开，重连中…", "disconnected, reconnecting…")) { (lang.t("连接中…", "connecting…")) }
                div .desk-grid {
                    aside .stations {
                        // A venue that no longer serves the event: every command form is
                        // disabled with the reason (the desk would refuse them anyway).
                        @if let Some(reason) = closed {
                            fieldset #commands-closed disabled title=(reason) { (stations) }
                        } @else {
                            (stations)
                        }
                    }
                    div .board { (control_table(lang, &view.plan, &table)) }
                }
                noscript { p .error { (lang.t("选房台需要启用 JavaScript。", "The desk needs JavaScript.")) } }
            }
            script src=(CONSOLE_JS.href()) defer {}
        },
    ))
}

/// A buyer's line in the queue lists.
fn buyer_line(lang: Lang, b: &QueueBuyer) -> Markup {
    html! {
        li data-lottery-no=[b.lottery_no] data-buyer-id=(b.buyer_id) {
            b { (b.lottery_no.map(|n| n.to_string()).unwrap_or_else(|| "—".into())) } " "
            span .name { (b.name) } " "
            small { (lang.t("余额度", "quota")) " " (b.quota_left) }
        }
    }
}

/// 叫号: the number served, who it is, and the queue's commands.
fn queue_station(lang: Lang, live: &LiveState) -> Markup {
    let q = queue_view(live);
    let serving = q.serving;
    html! {
        section #queue .station {
            h2 { (lang.t("叫号", "Queue")) }
            div .serving {
                span .label { (lang.t("当前号", "Now serving")) }
                b #now-serving { (live.now_serving.map(|n| n.to_string()).unwrap_or_else(|| "—".into())) }
                span #serving-name { (serving.map(|b| b.name.as_str()).unwrap_or("")) }
                span #serving-id { (serving.map(|b| b.id_number_masked.as_str()).unwrap_or("")) }
                span #serving-quota data-label=(lang.t("可选套数", "units left")) {
                    @if let Some(b) = serving { (lang.t("可选套数", "units left")) " " (b.quota_left) }
                }
            }
            div .queue-actions {
                form .cmd #call-next data-command="call_next" data-key=(new_key()) {
                    input type="hidden" name="now_serving" data-type="int" value=(live.now_serving.unwrap_or(0));
                    button type="submit" accesskey="n" { (lang.t("叫下一号", "Call next")) " (N)" }
                    output .answer {}
                }
                form .cmd #skip data-command="skip" data-key=(new_key()) {
                    input type="hidden" name="lottery_no" data-type="int" value=(live.now_serving.unwrap_or(0));
                    button type="submit" { (lang.t("过号", "Skip")) }
                    output .answer {}
                }
                form .cmd #recall data-command="recall" data-key=(new_key()) {
                    input type="number" name="lottery_no" data-type="int" min="1" required placeholder=(lang.t("号码", "No."));
                    button type="submit" { (lang.t("重新叫号", "Recall")) }
                    output .answer {}
                }
                form .cmd #set-mode data-command="set_mode" data-key=(new_key()) {
                    select name="mode" {
                        option value="strict_order" selected[live.mode == "strict_order"] { (lang.t("按摇号顺序", "Lottery order")) }
                        option value="free" selected[live.mode == "free"] { (lang.t("自由选房", "Free choice")) }
                    }
                    button type="submit" { (lang.t("切换模式", "Set mode")) }
                    output .answer {}
                }
            }
            h3 { (lang.t("后续号码", "Next")) }
            ol #next-list { @for b in &q.next { (buyer_line(lang, b)) } }
            h3 { (lang.t("过号待重叫", "Skipped")) }
            ol #skipped-list { @for b in &q.skipped { (buyer_line(lang, b)) } }
        }
    }
}

/// 身份核验: the ID number typed or scanned, checked against the list's salted hash.
fn identity_station(lang: Lang) -> Markup {
    html! {
        section #identity .station {
            h2 { (lang.t("身份核验", "Identity check")) }
            form .cmd #check-identity data-command="check_identity" data-key=(new_key()) data-clear="id_number" {
                input type="hidden" name="buyer_id" .serving-buyer value="";
                label {
                    (lang.t("身份证号（输入或扫描）", "ID number (type or scan)")) " "
                    input #id-number type="password" name="id_number" autocomplete="off" spellcheck="false"
                        inputmode="text" maxlength="18" required;
                }
                button type="submit" { (lang.t("核验", "Check")) }
                output .answer data-ok=(lang.t("✔ 与名单一致", "✔ matches the list")) {}
            }
        }
    }
}

/// 选房: the unit chosen on the table, held for a buyer (the one served unless another is
/// picked, as free selection allows), or released.
fn selection_station(lang: Lang, live: &LiveState) -> Markup {
    let serving = queue_view(live).serving.map(|b| b.buyer_id.as_str());
    html! {
        section #selection .station {
            h2 { (lang.t("选房", "Selection")) }
            div #chosen data-none=(lang.t("在销控表中点选房源", "Choose a unit on the table")) {
                (lang.t("在销控表中点选房源", "Choose a unit on the table"))
            }
            form .cmd #hold data-command="hold" data-key=(new_key())
                data-ok=(lang.t("已锁定", "Held")) {
                input type="hidden" name="unit_id" .chosen-unit value="";
                label { (lang.t("买受人", "Buyer")) " "
                    select #buyer-pick .buyer-pick name="buyer_id" required {
                        option value="" { "—" }
                        @for b in live.queue.iter() {
                            option value=(b.buyer_id) data-lottery-no=[b.lottery_no] selected[serving == Some(b.buyer_id.as_str())] {
                                (b.lottery_no.map(|n| n.to_string()).unwrap_or_else(|| "—".into())) " " (b.name)
                            }
                        }
                    }
                }
                button type="submit" disabled { (lang.t("锁定", "Hold")) }
                output .answer {}
            }
            a #print-confirmation .paper-link hidden href="#" target="_blank" { (lang.t("打印房源确认单", "Print the unit confirmation")) }
            form .cmd #release data-command="release" data-key=(new_key()) data-confirm=(lang.t("确认释放该房源？", "Release this unit?")) {
                input type="hidden" name="unit_id" .chosen-unit value="";
                input type="hidden" name="hold_id" .chosen-hold value="";
                input type="text" name="reason" required placeholder=(lang.t("释放原因", "Reason for release"));
                button type="submit" disabled { (lang.t("释放", "Release")) }
                output .answer {}
            }
        }
    }
}

/// 工作票: the work ticket of the held unit, sent for review.
fn ticket_station(lang: Lang, selection: &kam_core::policy::SelectionPolicy) -> Markup {
    let min_ratio = selection.min_payment_ratio_pct.to_string();
    html! {
        section #ticket .station {
            h2 { (lang.t("选房工作票", "Work ticket")) }
            form .cmd #prepare-ticket data-command="prepare_work_ticket" data-key=(new_key())
                data-ok=(lang.t("工作票已提交复核", "Sent for review")) data-ok-link="work-ticket/{ticket_id}"
                data-ok-link-text=(lang.t("打印工作票", "Print the work ticket")) {
                input type="hidden" name="unit_id" .chosen-unit value="";
                input type="hidden" name="hold_id" .chosen-hold value="";
                p #ticket-figures .figures data-price=(lang.t("核定单价", "Approved price"))
                    data-area=(lang.t("面积", "Area")) data-total=(lang.t("总价", "Total")) {}
                label { (lang.t("付款比例 %（不低于 ", "Payment ratio % (at least ")) (min_ratio) ")"
                    input type="number" name="payment_ratio_pct" data-type="decimal" min=(min_ratio) max="100" step="0.01" value="100" required; }
                fieldset data-list="discounts" {
                    legend { (lang.t("优惠（享受或放弃）", "Discounts (taken or waived)")) }
                    (discount_line(lang, "full_payment", "一次性付款优惠", "Full payment", "2"))
                    (discount_line(lang, "on_time_signing", "按期签约优惠", "Signing on time", "1"))
                }
                label { (lang.t("封户费（元）", "Sealing fee (CNY)"))
                    input type="number" name="sealing_fee" data-type="decimal" min="0" step="0.01" value="0" required; }
                button type="submit" disabled { (lang.t("提交复核", "Send for review")) }
                output .answer {}
            }
        }
    }
}

fn discount_line(lang: Lang, code: &str, zh: &'static str, en: &'static str, pct: &str) -> Markup {
    html! {
        div .item {
            input type="hidden" name="code" value=(code);
            input type="hidden" name="label" value=(zh);
            label { input type="checkbox" name="taken" data-type="bool"; " " (lang.t(zh, en)) }
            input type="number" name="pct" data-type="decimal" min="0" max="100" step="0.01" value=(pct);
            "%"
        }
    }
}

//! How a paper looks: one A4 sheet (`papers.css`), the event and the paper's number at the
//! top, the unit and the money in one table, the ledger entry that made it, and the
//! signature lines. A toolbar, hidden in print, leads back to the console and says to press
//! Ctrl+P (the Content-Security-Policy runs no inline script, so there is no print button).

use maud::{DOCTYPE, Markup, html};
use rust_decimal::Decimal;

use super::Station;
use super::finance_lists::{cny, method_label};
use super::papers::{Kind, PaperFacts};
use crate::desk::plan::{mask_name, total_price};
use crate::web::assets::PAPERS_CSS;
use crate::web::i18n::Lang;
use crate::web::layout::{Clock, url_encode};
use crate::web::session::WebUser;

/// The first 16 hex digits of a ledger hash: enough to find and check the entry.
pub(crate) fn hash_prefix(hash: &[u8]) -> String {
    let full = hex::encode(hash);
    full.get(..16).unwrap_or(&full).to_owned()
}

/// The whole page of a paper.
pub(crate) fn render(lang: Lang, user: &WebUser, f: &PaperFacts) -> Markup {
    let (zh, en) = f.kind.title();
    let station = if Station::Finance.admits(user.role) { "finance" } else { "desk" };
    let back = format!("/console/events/{}/{station}", url_encode(&f.event_id));
    html! {
        (DOCTYPE)
        html lang=(lang.html_lang()) {
            head {
                meta charset="utf-8";
                title { (lang.t(zh, en)) " · KAM" }
                link rel="icon" href="data:,";
                link rel="stylesheet" href=(PAPERS_CSS.href());
            }
            body .papers {
                div .toolbar {
                    a #back href=(back) { (lang.t("返回控制台", "Back to the console")) }
                    " " span .note { (lang.t("按 Ctrl+P（Mac：⌘P）打印，纸张 A4。", "Press Ctrl+P (Mac: ⌘P) to print on A4.")) }
                }
                div .paper data-paper=(f.kind.code()) {
                    (heading(lang, user.clock, f))
                    (facts_table(lang, user.clock, f))
                    (ledger_line(lang, user.clock, f))
                    (signatures(lang, f))
                }
            }
        }
    }
}

/// The paper's own number: the voucher's code, the ticket's or the hold's id.
fn paper_no(f: &PaperFacts) -> String {
    match (&f.voucher, &f.ticket, &f.hold) {
        (Some(v), _, _) => v.voucher_code.clone(),
        (None, Some(t), _) => t.ticket_id.clone(),
        (None, None, Some(h)) => h.hold_id.clone(),
        _ => String::new(),
    }
}

/// The paper's date: when the voucher was issued, the ticket drawn up or the unit held.
fn paper_date(clock: Clock, f: &PaperFacts) -> String {
    let at = match (&f.voucher, &f.ticket, &f.hold) {
        (Some(v), _, _) => v.issued_at.as_str(),
        (None, Some(t), _) => t.prepared_at.as_str(),
        (None, None, Some(h)) => h.held_at.as_str(),
        _ => "",
    };
    clock.zoned(at)
}

fn heading(lang: Lang, clock: Clock, f: &PaperFacts) -> Markup {
    let (zh, en) = f.kind.title();
    let event = if f.event_name.is_empty() { f.event_id.as_str() } else { f.event_name.as_str() };
    html! {
        header .paper-head {
            h1 { (zh) } p .subtitle { (en) }
            p .meta {
                span .event { (lang.t("选房活动", "Event")) "：" (event) }
                span .no { (lang.t("编号", "No.")) "：" (paper_no(f)) }
                span .date { (lang.t("日期", "Date")) "：" (paper_date(clock, f)) }
            }
            @if let Some(v) = f.voucher.as_ref().filter(|v| v.reversed_by.is_some()) {
                p .stamp .reversed { (lang.t("已冲红作废，见红字凭证", "Reversed in red by voucher")) " " (v.reversed_by.unwrap_or_default()) }
            }
            @if f.kind == Kind::Red {
                p .stamp .red {
                    (lang.t("冲销凭证", "Reverses voucher")) " "
                    @if let Some(r) = &f.reversed { (r.voucher_no) " (" (r.voucher_code) ")" }
                    @if let Some(reason) = f.voucher.as_ref().and_then(|v| v.reason.as_deref()) {
                        " · " (lang.t("原因", "Reason")) "：" (reason)
                    }
                }
            }
        }
    }
}

/// A row of the facts table.
fn row(label: &str, value: Markup) -> Markup {
    html! { tr { th { (label) } td { (value) } } }
}

fn facts_table(lang: Lang, clock: Clock, f: &PaperFacts) -> Markup {
    let u = &f.unit;
    let t = f.ticket.as_ref();
    let price = t.map(|t| t.terms.approved_unit_price).or(u.unit_price);
    let area = t.map_or(u.area_m2, |t| t.terms.area_m2);
    let total = match (t, price) {
        (Some(t), _) => Some(t.figures.total_price),
        (None, Some(p)) => total_price(&p.to_string(), &area.to_string()),
        (None, None) => None,
    };
    let opt = |d: Option<Decimal>| d.map_or_else(|| "—".to_owned(), cny);
    html! {
        table .facts {
            (row(lang.t("房源", "Unit"), html! { b .unit-code { (u.code) } }))
            (row(lang.t("楼栋 / 楼层 / 户型", "Building / floor / layout"), html! { (u.building) " / " (u.floor) " / " (u.layout) }))
            (row(lang.t("面积（㎡）", "Area (m²)"), html! { (area) }))
            (row(lang.t("审批单价（元/㎡）", "Approved unit price (CNY/m²)"), html! { (opt(price)) }))
            (row(lang.t("总价（元）", "Total (CNY)"), html! { (opt(total)) }))
            @if let Some(t) = t { (ticket_rows(lang, clock, t)) }
            (row(lang.t("买受人", "Buyer"), html! { span .buyer { (mask_name(&f.buyer.name)) } }))
            (row(lang.t("身份证号", "ID number"), html! { span .id-number { (f.buyer.id_number_masked) } }))
            (row(lang.t("摇号顺序号", "Lottery number"), html! { (f.buyer.lottery_no.map(|n| n.to_string()).unwrap_or_else(|| "—".into())) }))
            @if let Some(h) = &f.hold {
                (row(lang.t("保留至", "Held until"), html! { (clock.zoned(&h.expires_at)) " (" (h.state) ")" }))
            }
            @if let Some(v) = &f.voucher {
                (row(lang.t("凭证号 / 编码", "Voucher no. / code"), html! { span .voucher-no { (v.voucher_no) } " / " span .voucher-code { (v.voucher_code) } }))
                (row(lang.t("凭证金额（元）", "Voucher amount (CNY)"), html! { (cny(v.amount)) }))
            }
        }
    }
}

/// The work ticket's terms and money: ratio, discounts, net, due, sealing fee, received.
fn ticket_rows(lang: Lang, clock: Clock, t: &crate::db::desk::books::PaperTicket) -> Markup {
    let f = &t.figures;
    let received = t.receipts.iter().try_fold(Decimal::ZERO, |sum, r| sum.checked_add(r.amount));
    html! {
        (row(lang.t("付款比例", "Payment ratio"), html! { (t.terms.payment_ratio_pct) "%" }))
        (row(lang.t("优惠", "Discounts"), html! {
            @if t.terms.discounts.is_empty() { "—" }
            ul .discounts {
                @for d in &t.terms.discounts {
                    li { (d.label) " " (d.pct) "% · "
                        @if d.taken { (lang.t("享受", "taken")) } @else { (lang.t("放弃", "waived")) } }
                }
            }
        }))
        (row(lang.t("优惠金额（元）", "Discount (CNY)"), html! { (cny(f.discount_amount)) }))
        (row(lang.t("净价（元）", "Net price (CNY)"), html! { (cny(f.net_price)) }))
        (row(lang.t("应收房款（元）", "Amount due (CNY)"), html! { b { (cny(f.amount_due)) } }))
        (row(lang.t("封户费（元）", "Sealing fee (CNY)"), html! { (cny(f.sealing_fee)) }))
        (row(lang.t("已收（元）", "Received (CNY)"), html! {
            b .received { (received.map_or_else(|| "—".to_owned(), cny)) }
            ul .receipts {
                @for r in &t.receipts { li { (method_label(lang, &r.method)) " " (cny(r.amount)) " · " (clock.zoned(&r.received_at)) } }
            }
        }))
    }
}

fn ledger_line(lang: Lang, clock: Clock, f: &PaperFacts) -> Markup {
    html! {
        p .ledger {
            (lang.t("账本序号", "Ledger entry")) " "
            @if let Some(e) = &f.entry {
                span data-ledger-seq=(e.seq) { (e.seq) } " · "
                (lang.t("哈希", "hash")) " " code .hash { (hash_prefix(&e.hash)) }
                " · " (e.kind) " · " (clock.zoned(&e.at))
            } @else {
                span data-ledger-seq="" { "—" }
            }
        }
    }
}

fn signatures(lang: Lang, f: &PaperFacts) -> Markup {
    let prepared = f
        .ticket
        .as_ref()
        .map(|t| t.prepared_by.as_str())
        .or_else(|| f.hold.as_ref().map(|h| h.held_by.as_str()));
    let reviewed = f.ticket.as_ref().and_then(|t| t.reviewed_by.as_deref());
    let finance = f.voucher.as_ref().map(|v| v.issued_by.as_str());
    let lines = [
        (lang.t("买受人签字", "Buyer's signature"), None),
        (lang.t("经办人", "Prepared by"), prepared),
        (lang.t("复核人", "Reviewed by"), reviewed),
        (lang.t("财务", "Finance"), finance),
    ];
    html! {
        div .signatures {
            @for (label, who) in lines {
                div .sign {
                    span .label { (label) "：" }
                    span .line { @if let Some(who) = who { span .who { (who) } } }
                }
            }
        }
    }
}

//! The finance console's lists, drawn once for the page and again for its `?part=lists`
//! fragment: the review queue, the cashier, the vouchers in force and the reconciliation.
//! Buyers' names are masked here, before they leave the server.

use maud::{Markup, html};
use rust_decimal::Decimal;

use super::finance::FinanceBooks;
use super::new_key;
use crate::db::desk::books::{BookReceipt, BookTicket, BookVoucher};
use crate::desk::plan::mask_name;
use crate::web::i18n::Lang;
use crate::web::layout::{Clock, money, url_encode};
use crate::web::session::WebUser;

/// The payment methods the cashier offers: (code, zh, en).
pub(crate) const METHODS: &[(&str, &str, &str)] = &[
    ("transfer", "转账", "Transfer"),
    ("card", "刷卡", "Card"),
    ("cash", "现金", "Cash"),
    ("cheque", "支票", "Cheque"),
];

/// A payment method's label; one typed elsewhere is shown as it is.
pub(crate) fn method_label(lang: Lang, code: &str) -> String {
    METHODS
        .iter()
        .find(|(c, _, _)| *c == code)
        .map_or_else(|| code.to_owned(), |(_, zh, en)| lang.t(zh, en).to_owned())
}

/// Money from an exact amount.
pub(crate) fn cny(amount: Decimal) -> String {
    money(&amount.to_string())
}

/// The lists, as the page embeds them and as the fragment answers.
pub(crate) fn lists(lang: Lang, user: &WebUser, event_id: &str, books: &FinanceBooks) -> Markup {
    let papers = format!("/console/events/{}/papers", url_encode(event_id));
    html! {
        (review_queue(lang, user, books, &papers))
        (cashier(lang, user.clock, books))
        (vouchers(lang, user.clock, books, &papers))
        (reconciliation(lang, user.clock, event_id, books, &papers))
    }
}

/// What was received for `ticket` so far (net of red receipts).
fn received(books: &FinanceBooks, ticket: &str) -> Decimal {
    books.received.get(ticket).copied().unwrap_or_default()
}

fn review_queue(lang: Lang, user: &WebUser, books: &FinanceBooks, papers: &str) -> Markup {
    let waiting: Vec<&BookTicket> =
        books.tickets.iter().filter(|t| t.reviewed_by.is_none()).collect();
    html! {
        section #review-queue {
            h2 { (lang.t("复核队列", "Review queue")) " (" (waiting.len()) ")" }
            @if waiting.is_empty() {
                p .empty { (lang.t("没有待复核的工作票。", "No work ticket waits for review.")) }
            } @else {
                table {
                    tr {
                        th { (lang.t("房源", "Unit")) } th { (lang.t("买受人", "Buyer")) }
                        th { (lang.t("总价", "Total")) } th { (lang.t("优惠", "Discount")) }
                        th { (lang.t("净价", "Net")) } th { (lang.t("付款比例", "Ratio")) }
                        th { (lang.t("应收", "Due")) } th { (lang.t("封户费", "Sealing fee")) }
                        th { (lang.t("经办人", "Prepared by")) } th { (lang.t("时间", "At")) } th {}
                    }
                    @for t in &waiting {
                        tr .ticket data-ticket-id=(t.ticket_id) {
                            td { a .paper-ticket href={ (papers) "/work-ticket/" (url_encode(&t.ticket_id)) } { (t.unit_code) } }
                            td { (mask_name(&t.buyer_name)) }
                            td .num { (cny(t.total_price)) } td .num { (cny(t.discount_amount)) }
                            td .num { (cny(t.net_price)) } td .num { (t.payment_ratio_pct) "%" }
                            td .num { (cny(t.amount_due)) } td .num { (cny(t.sealing_fee)) }
                            td { (t.prepared_by) } td { (user.clock.local(&t.prepared_at)) }
                            td { (review_form(lang, user, t)) }
                        }
                    }
                }
            }
        }
    }
}

/// The review form; drawn disabled, with why, for the ticket's own preparer (the desk would
/// refuse it anyway: a second person reviews).
fn review_form(lang: Lang, user: &WebUser, t: &BookTicket) -> Markup {
    let own = t.prepared_by == user.user_id;
    html! {
        form .cmd data-command="review_work_ticket" data-key=(new_key()) {
            input type="hidden" name="ticket_id" value=(t.ticket_id);
            @if own {
                button type="submit" disabled { (lang.t("复核确认", "Confirm")) }
                " " span .why { (lang.t("本人经办，须由另一人复核", "You prepared it: a second person must review it")) }
            } @else {
                button type="submit" { (lang.t("复核确认", "Confirm")) }
            }
            output .answer {}
        }
    }
}

fn cashier(lang: Lang, clock: Clock, books: &FinanceBooks) -> Markup {
    let paying: Vec<&BookTicket> = books
        .tickets
        .iter()
        .filter(|t| t.reviewed_by.is_some() && t.voucher_no.is_none())
        .collect();
    html! {
        section #cashier {
            h2 { (lang.t("收款与出凭证", "Cashier")) " (" (paying.len()) ")" }
            @if paying.is_empty() {
                p .empty { (lang.t("没有待收款的工作票。", "No reviewed ticket waits for payment.")) }
            }
            @for t in &paying {
                (cashier_ticket(lang, clock, books, t))
            }
        }
    }
}

fn cashier_ticket(lang: Lang, clock: Clock, books: &FinanceBooks, t: &BookTicket) -> Markup {
    let got = received(books, &t.ticket_id);
    let owed = t.amount_due.checked_sub(got).unwrap_or_default().max(Decimal::ZERO);
    let paid_up = got == t.amount_due;
    let mine: Vec<&BookReceipt> =
        books.receipts.iter().filter(|r| r.ticket_id == t.ticket_id).collect();
    html! {
        div .ticket data-ticket-id=(t.ticket_id) data-paid=(paid_up) {
            h3 { (t.unit_code) " · " (mask_name(&t.buyer_name)) }
            p {
                (lang.t("应收", "Due")) " " b .due { (cny(t.amount_due)) } " · "
                (lang.t("已收", "Received")) " " b .received { (cny(got)) } " · "
                (lang.t("封户费", "Sealing fee")) " " (cny(t.sealing_fee))
            }
            @if !mine.is_empty() {
                ul .receipts {
                    @for r in &mine { li { (method_label(lang, &r.method)) " " (cny(r.amount)) " · " (clock.local(&r.received_at)) } }
                }
            }
            form .cmd data-command="record_receipt" data-key=(super::new_key()) {
                input type="hidden" name="ticket_id" value=(t.ticket_id);
                label { (lang.t("金额", "Amount")) " " input name="amount" data-type="decimal" inputmode="decimal" required value=(owed); }
                " " label { (lang.t("方式", "Method")) " "
                    select name="method" {
                        @for (code, zh, en) in METHODS { option value=(code) { (lang.t(zh, en)) } }
                    }
                }
                " " button type="submit" { (lang.t("收款", "Record receipt")) }
                output .answer {}
            }
            form .cmd data-command="issue_voucher" data-key=(super::new_key()) {
                input type="hidden" name="ticket_id" value=(t.ticket_id);
                @if paid_up {
                    button type="submit" { (lang.t("出具选房凭证", "Issue voucher")) }
                } @else {
                    button type="submit" disabled { (lang.t("出具选房凭证", "Issue voucher")) }
                    " " span .why { (lang.t("收款须与应收相符", "Receipts must match the amount due")) }
                }
                output .answer {}
            }
        }
    }
}

fn vouchers(lang: Lang, clock: Clock, books: &FinanceBooks, papers: &str) -> Markup {
    let live: Vec<&BookVoucher> =
        books.vouchers.iter().filter(|v| v.reverses.is_none() && v.reversed_by.is_none()).collect();
    let red: Vec<&BookVoucher> = books.vouchers.iter().filter(|v| v.reverses.is_some()).collect();
    html! {
        section #vouchers {
            h2 { (lang.t("有效凭证", "Vouchers in force")) " (" (live.len()) ")" }
            table #live-vouchers {
                tr {
                    th { (lang.t("凭证号", "No.")) } th { (lang.t("编码", "Code")) } th { (lang.t("房源", "Unit")) }
                    th { (lang.t("买受人", "Buyer")) } th { (lang.t("金额", "Amount")) }
                    th { (lang.t("开具时间", "Issued")) } th { (lang.t("开具人", "By")) } th {}
                }
                @for v in &live {
                    tr .voucher data-voucher-no=(v.voucher_no) {
                        td { (v.voucher_no) } td { a .paper-voucher href={ (papers) "/voucher/" (v.voucher_no) } { (v.voucher_code) } }
                        td { (v.unit_code) } td { (mask_name(&v.buyer_name)) } td .num { (cny(v.amount)) }
                        td { (clock.local(&v.issued_at)) } td { (v.issued_by) }
                        td { (reverse_forms(lang, books, v)) }
                    }
                }
            }
            h3 { (lang.t("红字凭证", "Red vouchers")) " (" (red.len()) ")" }
            ul #red-vouchers {
                @for v in &red {
                    li .red data-voucher-no=(v.voucher_no) {
                        a .paper-red href={ (papers) "/red/" (v.voucher_no) } { (v.voucher_code) }
                        " " (lang.t("冲销", "reverses")) " " (v.reverses.map(|n| n.to_string()).unwrap_or_default())
                        " · " (v.unit_code) " · " (cny(v.amount)) " · " (v.reason.as_deref().unwrap_or(""))
                    }
                }
            }
        }
    }
}

/// Cancel and swap of a voucher in force: both are red-ink reversals, asked twice.
fn reverse_forms(lang: Lang, books: &FinanceBooks, v: &BookVoucher) -> Markup {
    let no = v.voucher_no;
    html! {
        form .cmd data-command="cancel_sale" data-key=(new_key())
            data-confirm=(format!("确认冲红作废凭证 {no}？ (Reverse voucher {no} in red?)")) {
            input type="hidden" name="voucher_no" data-type="int" value=(no);
            input name="reason" required placeholder=(lang.t("冲红原因", "Reason"));
            " " button type="submit" { (lang.t("冲红退房", "Cancel sale")) }
            output .answer {}
        }
        form .cmd data-command="swap_unit" data-key=(new_key())
            data-confirm=(format!("确认冲红换房（凭证 {no}）？ (Swap the unit of voucher {no} by reversal?)")) {
            input type="hidden" name="voucher_no" data-type="int" value=(no);
            select name="new_unit_id" required {
                @for (unit_id, code) in &books.free_units { option value=(unit_id) { (code) } }
            }
            input name="reason" required placeholder=(lang.t("换房原因", "Reason"));
            " " @if books.free_units.is_empty() {
                button type="submit" disabled { (lang.t("换房", "Swap")) }
            } @else {
                button type="submit" { (lang.t("换房", "Swap")) }
            }
            output .answer {}
        }
    }
}

fn reconciliation(
    lang: Lang,
    clock: Clock,
    event_id: &str,
    books: &FinanceBooks,
    papers: &str,
) -> Markup {
    let r = &books.reconciliation;
    let export = format!("/console/events/{}/finance/export", url_encode(event_id));
    html! {
        section #reconciliation {
            h2 { (lang.t("对账", "Reconciliation")) }
            p {
                a #export-csv href={ (export) ".csv" } download { "CSV" } " · "
                a #export-xlsx href={ (export) ".xlsx" } download { "Excel (.xlsx)" }
            }
            table #figures {
                tr { th { (lang.t("分配房源", "Units allotted")) } td .num { (r.units_allotted) } }
                tr { th { (lang.t("已售", "Sold")) } td .num { (r.units_sold) } }
                tr { th { (lang.t("锁定中", "Held")) } td .num { (r.units_held) } }
                tr { th { (lang.t("有效凭证", "Live vouchers")) } td .num { (r.vouchers_live) } }
                tr { th { (lang.t("红字凭证", "Red vouchers")) } td .num { (r.vouchers_reversed) } }
                tr { th { (lang.t("收款合计", "Receipts")) } td .num #receipts-total { (cny(r.receipts_total)) } }
                tr { th { (lang.t("凭证金额合计", "Vouchers")) } td .num #vouchers-total { (cny(r.vouchers_total)) } }
            }
            @if r.mismatches.is_empty() {
                p #reconciled { (lang.t("收款、凭证与房源状态全部相符。", "Receipts, vouchers and unit status all agree.")) }
            } @else {
                h3 .error { (lang.t("不符项", "Mismatches")) }
                table #mismatches {
                    tr { th { (lang.t("类型", "Kind")) } th { (lang.t("房源", "Unit")) } th { (lang.t("凭证号", "Voucher")) } th { (lang.t("工作票", "Ticket")) } th { (lang.t("说明", "Detail")) } }
                    @for m in &r.mismatches {
                        tr .mismatch { td { (m.code) } td { (m.unit_id.as_deref().unwrap_or("")) } td { (m.voucher_no.map(|n| n.to_string()).unwrap_or_default()) } td { (m.ticket_id.as_deref().unwrap_or("")) } td { (m.detail) } }
                    }
                }
            }
            (receipt_list(lang, clock, books))
            (voucher_list(lang, clock, books, papers))
        }
    }
}

fn receipt_list(lang: Lang, clock: Clock, books: &FinanceBooks) -> Markup {
    html! {
        h3 { (lang.t("收款明细", "Receipts")) " (" (books.receipts.len()) ")" }
        table #receipt-list {
            tr {
                th { (lang.t("房源", "Unit")) } th { (lang.t("金额", "Amount")) } th { (lang.t("方式", "Method")) }
                th { (lang.t("时间", "At")) } th { (lang.t("经办人", "By")) } th { (lang.t("冲销", "Reverses")) }
            }
            @for r in &books.receipts {
                tr .receipt .red[r.reverses.is_some()] data-receipt-id=(r.receipt_id) {
                    td { (r.unit_code) } td .num { (cny(r.amount)) } td { (method_label(lang, &r.method)) }
                    td { (clock.local(&r.received_at)) } td { (r.recorded_by) } td { (r.reverses.as_deref().unwrap_or("")) }
                }
            }
        }
    }
}

fn voucher_list(lang: Lang, clock: Clock, books: &FinanceBooks, papers: &str) -> Markup {
    html! {
        h3 { (lang.t("凭证明细", "Vouchers")) " (" (books.vouchers.len()) ")" }
        table #voucher-list {
            tr {
                th { (lang.t("凭证号", "No.")) } th { (lang.t("编码", "Code")) } th { (lang.t("房源", "Unit")) }
                th { (lang.t("买受人", "Buyer")) } th { (lang.t("金额", "Amount")) } th { (lang.t("开具时间", "Issued")) }
                th { (lang.t("状态", "State")) }
            }
            @for v in &books.vouchers {
                @let red = v.reverses.is_some();
                tr .voucher .red[red] .reversed[v.reversed_by.is_some()] data-voucher-no=(v.voucher_no) {
                    td { (v.voucher_no) }
                    td {
                        @if red { a .paper-red href={ (papers) "/red/" (v.voucher_no) } { (v.voucher_code) } }
                        @else { a .paper-voucher href={ (papers) "/voucher/" (v.voucher_no) } { (v.voucher_code) } }
                    }
                    td { (v.unit_code) } td { (mask_name(&v.buyer_name)) } td .num { (cny(v.amount)) }
                    td { (clock.local(&v.issued_at)) }
                    td {
                        @if let Some(n) = v.reverses { (lang.t("红字，冲销", "red, reverses")) " " (n) }
                        @else if let Some(n) = v.reversed_by { (lang.t("已冲红，见", "reversed by")) " " (n) }
                        @else { (lang.t("有效", "in force")) }
                    }
                }
            }
        }
    }
}

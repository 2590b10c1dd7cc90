//! The finance console, its export and the printed papers, through the whole router over a
//! real desk that ran real commands.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use axum::http::StatusCode;

use super::finance::load_books;
use super::finance_export::{sheets, write_csv, write_xlsx};
use super::fixture::{Trades, Venue, venue};
use crate::auth::Role;
use crate::web::i18n::Lang;
use crate::web::session::WebUser;

fn finance_path(v: &Venue) -> String {
    format!("/console/events/{}/finance", v.event)
}

fn paper(v: &Venue, kind: &str, id: &str) -> String {
    format!("/console/events/{}/papers/{kind}/{id}", v.event)
}

/// The sequence number of the first ledger entry of `kind` whose `field` is `value`.
async fn ledger_seq(v: &Venue, kind: &str, field: &str, value: serde_json::Value) -> i64 {
    let kind = kind.to_owned();
    let field = field.to_owned();
    let rows = v.state.readers().read(|c| c.desk().ledger_after(0, 10_000));
    rows.await
        .unwrap()
        .into_iter()
        .find(|r| {
            let entry: serde_json::Value = serde_json::from_str(&r.entry).unwrap();
            r.kind == kind && entry[field.as_str()] == value
        })
        .map(|r| r.seq)
        .unwrap()
}

#[tokio::test]
async fn the_finance_console_shows_the_queue_the_cashier_the_vouchers_and_the_books() {
    let v = venue();
    let t: Trades = v.trade().await;
    let body = v.page(&finance_path(&v)).await;
    for needle in [
        r#"id="console""#.to_owned(),
        r#"<section id="review-queue">"#.to_owned(),
        format!(r#"<tr class="ticket" data-ticket-id="{}">"#, t.waiting),
        r#"data-command="review_work_ticket""#.to_owned(),
        r#"<section id="cashier">"#.to_owned(),
        format!(r#"data-ticket-id="{}" data-paid="false""#, t.paying),
        r#"data-command="record_receipt""#.to_owned(),
        r#"name="amount" data-type="decimal""#.to_owned(),
        r#"<option value="cheque">支票</option>"#.to_owned(),
        r#"data-command="issue_voucher""#.to_owned(),
        r#"<section id="vouchers">"#.to_owned(),
        format!(r#"class="paper-voucher" href="{}""#, paper(&v, "voucher", &t.voucher.to_string())),
        format!(r#"class="paper-red" href="{}""#, paper(&v, "red", &t.red.to_string())),
        r#"data-command="cancel_sale""#.to_owned(),
        r#"data-command="swap_unit""#.to_owned(),
        r#"name="voucher_no" data-type="int""#.to_owned(),
        r#"<section id="reconciliation">"#.to_owned(),
        r#"id="mismatches""#.to_owned(),
        "receipts_without_voucher".to_owned(),
        r#"id="receipt-list""#.to_owned(),
        r#"id="voucher-list""#.to_owned(),
        format!(r#"id="export-csv" href="/console/events/{}/finance/export.csv""#, v.event),
        format!(r#"data-src="/console/events/{}/finance?part=lists""#, v.event),
    ] {
        assert!(body.contains(&needle), "{needle} in {body}");
    }
    // The sale in force is not waiting anywhere; the cancelled one is listed red.
    assert!(!body.contains(&format!(r#"data-ticket-id="{}""#, t.ticket)), "{body}");
    assert!(body.contains(&format!(r#"data-voucher-no="{}""#, t.cancelled)));
    assert!(!body.contains(" style=") && !body.contains("<script>"), "CSP: no inline script");
    // The fragment is the same lists, without the layout.
    let fragment = v.page(&format!("{}?part=lists", finance_path(&v))).await;
    assert!(fragment.starts_with("<section id=\"review-queue\">"), "{fragment}");
    assert!(!fragment.contains("<html") && fragment.contains(r#"id="voucher-list""#));
}

#[tokio::test]
async fn the_finance_console_admits_finance_only_and_greys_out_the_preparers_own_review() {
    let v = venue();
    let t = v.trade().await;
    for cookie in [&v.staff, &v.rep] {
        let (status, body) = v.get(&finance_path(&v), cookie).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    }
    let (status, _) = v.get("/console/events/no-such-event/finance", &v.finance).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Someone at the finance station who drew the ticket up sees the review form disabled.
    let books = load_books(&v.state, &v.event).await.unwrap();
    let preparer = WebUser {
        user_id: "staff-01".into(),
        role: Role::Hq,
        csrf: "x".into(),
        lang: Lang::Zh,
        clock: crate::web::layout::Clock::of(&kam_core::Policy::default()),
    };
    let lists = super::finance_lists::lists(Lang::Zh, &preparer, &v.event, &books).into_string();
    let row = lists.split(&format!(r#"data-ticket-id="{}""#, t.waiting)).nth(1).unwrap();
    let row = row.split("</tr>").next().unwrap();
    assert!(row.contains(r#"<button type="submit" disabled>"#), "{row}");
    assert!(row.contains("须由另一人复核"), "{row}");
    let other = WebUser { user_id: "finance-01".into(), ..preparer };
    let lists = super::finance_lists::lists(Lang::Zh, &other, &v.event, &books).into_string();
    let row = lists.split(&format!(r#"data-ticket-id="{}""#, t.waiting)).nth(1).unwrap();
    assert!(!row.split("</tr>").next().unwrap().contains("disabled"));
}

#[tokio::test]
async fn the_export_has_the_figures_the_receipts_and_the_vouchers() {
    let v = venue();
    let t = v.trade().await;
    let books = load_books(&v.state, &v.event).await.unwrap();
    let csv = write_csv(&sheets(Lang::Zh, &books));
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("\u{feff}项目,数值"));
    assert!(csv.contains("\r\n分配房源,"), "{csv}");
    assert!(csv.contains("\r\n收款编号,工作票,房源,金额,方式,收款时间,经办人,冲销\r\n"), "{csv}");
    let card = csv.lines().find(|l| l.contains(&t.paying) && l.contains("刷卡")).unwrap();
    assert!(card.contains(",1000.00,刷卡,"), "{card}");
    let red = csv.lines().find(|l| l.starts_with(&format!("{},", t.red))).unwrap();
    assert!(red.contains(&format!(",{},", t.cancelled)) && red.contains("买受人放弃"), "{red}");
    let (status, body) = v.get(&format!("{}/export.csv", finance_path(&v)), &v.finance).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.starts_with('\u{feff}'), "UTF-8 with a BOM");
    let xlsx = write_xlsx(&sheets(Lang::En, &books)).unwrap();
    assert!(xlsx.starts_with(b"PK"), "a zip: an .xlsx workbook");
    let (status, _) = v.get(&format!("{}/export.xlsx", finance_path(&v)), &v.finance).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = v.get(&format!("{}/export.pdf", finance_path(&v)), &v.finance).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// The paper's `[data-ledger-seq]` value.
fn seq_on(body: &str) -> i64 {
    let after = body.split("data-ledger-seq=\"").nth(1).unwrap();
    after.split('"').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn each_paper_names_the_ledger_entry_that_made_it() {
    let v = venue();
    let t = v.trade().await;
    let voucher = v.page(&paper(&v, "voucher", &t.voucher.to_string())).await;
    assert!(voucher.contains(r#"<div class="paper" data-paper="voucher">"#), "{voucher}");
    let no = serde_json::json!(t.voucher);
    assert_eq!(seq_on(&voucher), ledger_seq(&v, "voucher_issued", "voucher_no", no).await);
    for needle in
        ["选房凭证", "买受人签字", "经办人", "复核人", "财务", "开盘优惠", "放弃", "60%", "**"]
    {
        assert!(voucher.contains(needle), "{needle} in {voucher}");
    }
    let hash = voucher.split(r#"<code class="hash">"#).nth(1).unwrap().split('<').next().unwrap();
    assert!(hash.len() == 16 && hash.chars().all(|c| c.is_ascii_hexdigit()), "{hash}");
    assert!(voucher.contains("papers.css") && !voucher.contains("<script"), "{voucher}");
    let red = v.page(&paper(&v, "red", &t.red.to_string())).await;
    assert!(red.contains(r#"data-paper="red""#) && red.contains("买受人放弃"), "{red}");
    let red_no = serde_json::json!(t.red);
    assert_eq!(seq_on(&red), ledger_seq(&v, "sale_cancelled", "red_voucher_no", red_no).await);
    let ticket = v.page(&paper(&v, "work-ticket", &t.ticket)).await;
    assert!(ticket.contains(r#"data-paper="work-ticket""#), "{ticket}");
    let id = serde_json::json!(t.ticket);
    assert_eq!(seq_on(&ticket), ledger_seq(&v, "work_ticket_prepared", "ticket_id", id).await);
    // The desk staff of the event print the confirmation of the unit they held.
    let (status, held) = v.get(&paper(&v, "confirmation", &t.hold), &v.staff).await;
    assert_eq!(status, StatusCode::OK, "{held}");
    assert!(held.contains(r#"data-paper="confirmation""#), "{held}");
    let hold = serde_json::json!(t.hold);
    assert_eq!(seq_on(&held), ledger_seq(&v, "hold", "hold_id", hold).await);
}

#[tokio::test]
async fn an_unknown_paper_is_not_found_and_a_rep_may_print_none() {
    let v = venue();
    let t = v.trade().await;
    for path in [
        paper(&v, "voucher", "999"),
        paper(&v, "voucher", "abc"),
        paper(&v, "voucher", &t.red.to_string()),
        paper(&v, "red", &t.voucher.to_string()),
        paper(&v, "work-ticket", "wt-none"),
        paper(&v, "confirmation", "hold-none"),
        format!("/console/events/no-such-event/papers/voucher/{}", t.voucher),
    ] {
        let (status, _) = v.get(&path, &v.finance).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    let (status, _) = v.get(&paper(&v, "voucher", &t.voucher.to_string()), &v.rep).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[test]
fn a_hash_prefix_is_16_hex_digits_and_methods_have_labels() {
    assert_eq!(super::papers_view::hash_prefix(&[0xab; 32]), "abababababababab");
    assert_eq!(super::papers_view::hash_prefix(&[0x01, 0x02]), "0102", "a short hash as it is");
    assert_eq!(super::finance_lists::method_label(Lang::Zh, "cheque"), "支票");
    assert_eq!(super::finance_lists::method_label(Lang::En, "card"), "Card");
    assert_eq!(super::finance_lists::method_label(Lang::En, "wechat"), "wechat");
}

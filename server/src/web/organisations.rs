//! `/hq/organisations`: commissioning organisations (委建单位, RULES.md §12) — candidates per
//! project in ranking order, collections with what is overdue first, and one organisation's
//! page with the back office's forms (finance: collections, reconciliations, loan-switch
//! fees; headquarters: the one price approval, reminders).

use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{NaiveDate, Utc};
use kam_core::Policy;
use kam_core::model::{PricingMethod, Role};
use maud::{Markup, html};
use rust_decimal::Decimal;
use serde::Deserialize;

use super::error::{InLang, PageError};
use super::forms::Flash;
use super::forms::{confirmed, date, recorded, required, text};
use super::i18n::Lang;
use super::layout::{Here, csrf_field, flash, money, page, url_encode};
use super::session::WebUser;
use crate::error::ServerError;
use crate::hq::organisations::{self, DueLine, OrganisationAction};
use crate::http::AppState;

/// The pages' routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(super::organisation_lists::routes())
        .route("/hq/organisations/{id}", get(organisation_page))
        .route("/hq/organisations/{id}/{action}", post(act))
}

/// The label of a missing clause code.
pub(crate) fn clause_label(lang: Lang, code: &str) -> &'static str {
    match code {
        "buyer_list" => lang.t("购房人名单（姓名及身份证号）", "Buyer list (names and ID numbers)"),
        "audit_check" => lang.t("审计部核对名单", "List checked by audit"),
        "finance_check" => lang.t("财务部核对名单", "List checked by finance"),
        "lawyer_check" => lang.t("律师核对名单", "List checked by a lawyer"),
        "selection_period" => lang.t("选房期间", "Selection period"),
        "payment_date" => lang.t("付款时间", "Payment date"),
        "renaming_rule" => lang.t("更名规则", "Renaming rule"),
        _ => lang.t("未知条款", "Unknown clause"),
    }
}

pub(super) fn status_label(lang: Lang, code: &str) -> &'static str {
    match code {
        "candidate" => lang.t("候选", "Candidate"),
        "negotiating" => lang.t("谈判中", "Negotiating"),
        "chosen" => lang.t("已选定", "Chosen"),
        "rejected" => lang.t("未选", "Rejected"),
        _ => lang.t("未知", "Unknown"),
    }
}

pub(super) fn due_table(lang: Lang, lines: &[DueLine], with_name: bool) -> Markup {
    html! {
        table .collections {
            tr {
                @if with_name { th { (lang.t("单位", "Organisation")) } }
                th { (lang.t("到期日", "Due")) } th { (lang.t("应收", "Due amount")) } th { (lang.t("已收", "Received")) }
                th { (lang.t("未收", "Outstanding")) } th { (lang.t("逾期天数", "Days overdue")) } th { (lang.t("上次催款", "Last reminder")) } th { (lang.t("催款", "Reminder")) }
            }
            @for l in lines {
                tr .overdue[l.days_overdue > 0] data-entry-id=(l.instalment.entry_id) {
                    @if with_name { td { a href={ "/hq/organisations/" (url_encode(&l.instalment.organisation_id)) } { (l.name) } } }
                    td { (l.instalment.due_on) } td .num { (money(&l.instalment.amount)) } td .num { (money(&l.instalment.received)) }
                    td .num { (money(&l.instalment.outstanding)) } td .num { (l.days_overdue) }
                    td { (l.instalment.last_reminder_on.as_deref().unwrap_or("—")) }
                    td { @if l.reminder_due { strong .reminder-due { (lang.t("应催款", "Reminder due")) } } }
                }
            }
        }
    }
}

fn price_aids(lang: Lang, policy: &Policy) -> Markup {
    let c = &policy.commissioning;
    html! {
        p .muted .price-aids {
            (lang.t("定价参考：盲目定价 = 周边可比楼盘单价 × ", "Pricing aids: blind = comparable projects' price/m² × "))
            (c.blind_price_pct_of_comparables) "%；"
            (lang.t("经验定价 = 总成本单价 × (1 + ", "experience = total cost/m² × (1 + ")) (c.experience_markup_pct) "%)；"
            (lang.t("付款比例不得低于 ", "payment ratio at least ")) (policy.selection.min_payment_ratio_pct) "%。"
        }
    }
}

fn finance_forms(user: &WebUser, id: &str) -> Markup {
    let lang = user.lang;
    let action = |a: &str| format!("/hq/organisations/{}/{a}", url_encode(id));
    html! {
        h2 { (lang.t("财务登记", "Finance")) }
        form #collection-form method="post" action=(action("collections")) {
            (csrf_field(user))
            label { (lang.t("到账日", "Received on")) " " input type="date" name="on" required; }
            label { (lang.t("金额", "Amount")) " " input name="amount" required; }
            label { (lang.t("收据号", "Receipt no.")) " " input name="receipt_no" required; }
            button type="submit" { (lang.t("登记回款", "Record collection")) }
        }
        form #reconciliation-form method="post" action=(action("reconciliations")) {
            (csrf_field(user))
            label { (lang.t("对账日", "Day")) " " input type="date" name="on" required; }
            label { (lang.t("银行余额", "Bank balance")) " " input name="bank_balance" required; }
            label { (lang.t("收据合计", "Receipts total")) " " input name="receipts_total" required; }
            label { (lang.t("说明", "Note")) " " input name="note"; }
            button type="submit" { (lang.t("登记对账", "Record reconciliation")) }
        }
        form #loan-switch-form method="post" action=(action("loan-switches")) {
            (csrf_field(user))
            label { (lang.t("购房人", "Buyer")) " " input name="buyer" required; }
            label { (lang.t("手续费", "Fee")) " " input name="fee" required; }
            label { (lang.t("日期", "Day")) " " input type="date" name="on" required; }
            button type="submit" { (lang.t("登记转按揭手续费", "Record loan-switch fee")) }
        }
    }
}

fn hq_forms(user: &WebUser, id: &str, priced: bool, due: &[DueLine]) -> Markup {
    let lang = user.lang;
    let action = |a: &str| format!("/hq/organisations/{}/{a}", url_encode(id));
    html! {
        @if !priced {
            h2 { (lang.t("价格审批（仅一次）", "Price approval (once only)")) }
            form #price-form method="post" action=(action("price")) {
                (csrf_field(user))
                label { (lang.t("方法", "Method")) " " select name="method" { option value="blind" { (lang.t("盲目定价", "Blind")) } option value="experience" { (lang.t("经验定价", "Experience")) } } }
                label { (lang.t("依据单价", "Basis /m²")) " " input name="basis_per_m2" required; }
                label { (lang.t("核定单价", "Price /m²")) " " input name="price_per_m2" required; }
                label { (lang.t("付款比例%", "Payment ratio %")) " " input name="payment_ratio_pct" required; }
                label { input type="checkbox" name="confirm" value="yes"; " " (lang.t("确认审批，审批后不可更改", "Confirm: the approval cannot be changed")) }
                button type="submit" { (lang.t("审批价格", "Approve price")) }
            }
        }
        h2 { (lang.t("催款记录", "Record a reminder")) }
        form #reminder-form method="post" action=(action("reminders")) {
            (csrf_field(user))
            label { (lang.t("款项", "Instalment")) " " select name="instalment_id" { @for l in due { option value=(l.instalment.entry_id) { (l.instalment.due_on) " " (money(&l.instalment.amount)) } } } }
            label { (lang.t("日期", "Day")) " " input type="date" name="on" required; }
            label { (lang.t("情况", "Note")) " " input name="note"; }
            button type="submit" { (lang.t("记录催款", "Record reminder")) }
        }
    }
}

/// `GET /hq/organisations/{id}`.
pub async fn organisation_page(
    State(state): State<AppState>,
    user: WebUser,
    here: Here,
    Path(id): Path<String>,
    Query(flash_msg): Query<Flash>,
) -> Result<Markup, PageError> {
    let lang = user.lang;
    let key = id.clone();
    let (view, policy) = user
        .hq_read(&state, move |store| {
            let view = organisations::organisation(store.conn(), store.policy(), Utc::now(), &key)?;
            Ok((view, store.policy().clone()))
        })
        .await?;
    let o = &view.detail.organisation;
    let [due, received, outstanding] = view.totals.map(|d| money(&d.to_string()));
    Ok(page(
        &user,
        &here,
        &o.name,
        html! {
            h1 { (o.name) }
            (flash(flash_msg.done.as_deref()))
            p { (lang.t("项目", "Project")) " " (o.project_id) " · " (status_label(lang, &o.status)) }
            p #approvals { (lang.t("总经理审批", "GM approval")) ": " (o.approved_by_gm.as_deref().unwrap_or("—")) " · " (lang.t("董事长审批", "Chairman approval")) ": " (o.approved_by_chairman.as_deref().unwrap_or("—")) }
            p #price { (lang.t("核定单价", "Approved price/m²")) ": " (o.price_per_m2.as_deref().map(money).unwrap_or_else(|| lang.t("未审批", "not approved").into())) }
            (price_aids(lang, &policy))
            h2 { (lang.t("协议缺项", "Agreement: missing clauses")) }
            ul #missing-clauses { @for c in &o.missing_clauses { li { (clause_label(lang, c)) } } }
            h2 { (lang.t("应收与回款", "Due and collected")) }
            p #totals { (lang.t("应收", "Due")) " " (due) " · " (lang.t("已收", "Received")) " " (received) " · " (lang.t("未收", "Outstanding")) " " (outstanding) }
            (due_table(lang, &view.due, false))
            h3 { (lang.t("回款记录", "Collections")) }
            table #collections { @for c in &view.detail.collections { tr { td { (c.received_on) } td .num { (money(&c.amount)) } td { (c.receipt_no) } td { (c.by_user) } } } }
            h3 { (lang.t("对账记录", "Reconciliations")) }
            table #reconciliations { @for r in &view.detail.reconciliations { tr { td { (r.on_day) } td .num { (money(&r.bank_balance)) } td .num { (money(&r.receipts_total)) } td { (r.by_user) } td { (r.note) } } } }
            @if matches!(user.role, Role::Finance | Role::Admin) { (finance_forms(&user, &o.organisation_id)) }
            @if matches!(user.role, Role::Hq | Role::Admin) { (hq_forms(&user, &o.organisation_id, o.price_per_m2.is_some(), &view.due)) }
        },
    ))
}

/// Every form of the organisation page: each action reads the fields it needs.
#[derive(Debug, Default, Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    csrf: String,
    on: Option<String>,
    amount: Option<String>,
    receipt_no: Option<String>,
    bank_balance: Option<String>,
    receipts_total: Option<String>,
    note: Option<String>,
    buyer: Option<String>,
    fee: Option<String>,
    method: Option<String>,
    basis_per_m2: Option<String>,
    price_per_m2: Option<String>,
    payment_ratio_pct: Option<String>,
    instalment_id: Option<String>,
    confirm: Option<String>,
}

fn field<'a>(value: &'a Option<String>, name: &'static str) -> Result<&'a str, ServerError> {
    required(value, name)
}

fn decimal(value: &Option<String>, name: &'static str) -> Result<Decimal, ServerError> {
    field(value, name)?
        .parse()
        .map_err(|_| ServerError::Invalid { field: name, reason: "is not a number".into() })
}

fn day(value: &Option<String>, name: &'static str) -> Result<NaiveDate, ServerError> {
    date(value, name)
}

fn action_of(kind: &str, f: &ActionForm) -> Result<OrganisationAction, ServerError> {
    Ok(match kind {
        "collections" => OrganisationAction::Collection {
            received_on: day(&f.on, "on")?,
            amount: decimal(&f.amount, "amount")?,
            receipt_no: field(&f.receipt_no, "receipt_no")?.to_owned(),
        },
        "reconciliations" => OrganisationAction::Reconciliation {
            on: day(&f.on, "on")?,
            bank_balance: decimal(&f.bank_balance, "bank_balance")?,
            receipts_total: decimal(&f.receipts_total, "receipts_total")?,
            note: text(&f.note),
        },
        "loan-switches" => OrganisationAction::LoanSwitch {
            buyer: field(&f.buyer, "buyer")?.to_owned(),
            fee: decimal(&f.fee, "fee")?,
            on: day(&f.on, "on")?,
        },
        "price" => OrganisationAction::ApprovePrice {
            method: field(&f.method, "method")?.parse::<PricingMethod>().map_err(|_| {
                ServerError::Invalid { field: "method", reason: "is not a pricing method".into() }
            })?,
            basis_per_m2: decimal(&f.basis_per_m2, "basis_per_m2")?,
            price_per_m2: decimal(&f.price_per_m2, "price_per_m2")?,
            payment_ratio_pct: decimal(&f.payment_ratio_pct, "payment_ratio_pct")?,
        },
        "reminders" => OrganisationAction::Reminder {
            instalment_id: field(&f.instalment_id, "instalment_id")?.to_owned(),
            on: day(&f.on, "on")?,
            note: text(&f.note),
        },
        _ => return Err(ServerError::NotFound),
    })
}

/// `POST /hq/organisations/{id}/{collections|reconciliations|loan-switches|price|reminders}`.
pub async fn act(
    State(state): State<AppState>,
    user: WebUser,
    Path((id, kind)): Path<(String, String)>,
    Form(form): Form<ActionForm>,
) -> Result<Response, PageError> {
    user.check_csrf(&form.csrf)?;
    user.require_hq()?;
    let lang = user.lang;
    let action = action_of(&kind, &form).in_lang(lang)?;
    if matches!(action, OrganisationAction::ApprovePrice { .. }) {
        confirmed(form.confirm.as_deref(), lang, "approve the price")?;
    }
    organisations::act(&state, user.decider(), id.clone(), action).await.in_lang(lang)?;
    Ok(recorded(lang, &format!("/hq/organisations/{}", url_encode(&id))))
}

#[cfg(test)]
#[path = "management_tests.rs"]
mod tests;

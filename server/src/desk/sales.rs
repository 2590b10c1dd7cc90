//! Prices, work tickets, receipts, vouchers and their red-ink reversal (红字冲红).
//!
//! Nothing here edits a ticket, receipt or voucher once written (the schema's triggers would
//! refuse it anyway): a cancellation writes red entries — negative amounts that name the entry
//! they reverse — and a swap is a cancellation followed by a new hold.

use kam_core::bounds::{self, OutOfRange, Overflow};
use kam_core::desk::bounds as desk_bounds;
use kam_core::model::{DiscountLine, SelectionMode, UnitStatus, WorkTicketTerms};
use kam_core::rules::{
    HoldCheck, check_hold, check_price_approvers, check_voucher_issue, price_work_ticket,
};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::command::STALE_STATE;
use super::context::{Ctx, Step, Stop, refuse};
use super::holds::{self, allotted, unit};
use crate::db::desk::sales::{
    NewReceipt, NewVoucher, NewWorkTicket, PriceApproval, TicketRow, UnitForTicket, VoucherRow,
};
use crate::error::ServerError;

/// A value outside its documented range (ADR 0017), refused: the HTTP edge answers 422 before
/// a command gets here, and the desk checks again so that none is ever computed with.
fn out_of_range<T>(error: &OutOfRange) -> Step<T> {
    refuse(error.code(), error.to_string())
}

/// An amount too large to compute with, refused rather than panicking. Only amounts outside
/// their ranges can get here; refusing (not failing) keeps a retry from meeting it again.
fn overflow<T>(error: &Overflow) -> Step<T> {
    refuse(error.code(), error.to_string())
}

/// The red-ink (红字) counterpart of an amount: its sign flipped, which cannot overflow.
fn red_ink(amount: Decimal) -> Decimal {
    let mut red = amount;
    red.set_sign_negative(!amount.is_sign_negative());
    red
}

/// Records an approved unit price with its approvers (HQ only). Only an unsold, unheld unit
/// may be (re)priced: a buyer's work ticket states the price that was approved when it was
/// drawn up.
pub(crate) fn approve_price(
    ctx: &mut Ctx<'_>,
    unit_id: &str,
    unit_price: Decimal,
    approvers: &[String],
    price_seen: Option<Decimal>,
) -> Step<Value> {
    if unit_price <= Decimal::ZERO {
        return refuse("invalid_price", "单价必须大于零 (the unit price must be positive)");
    }
    if let Err(e) = desk_bounds::check_unit_price(unit_price) {
        return out_of_range(&e);
    }
    if approvers.is_empty() || approvers.iter().any(|a| a.trim().is_empty()) {
        return refuse("approvers_missing", "须列明审批人 (the approvers must be named)");
    }
    // RULES.md §7: a price is approved by everyone the policy names, never by a subset.
    if let Err(missing) = check_price_approvers(approvers, ctx.policy) {
        return refuse(missing.code(), missing.to_string());
    }
    let project_id = ctx.event.project_id.clone();
    let Some(u) = unit(ctx.db, &project_id, unit_id)? else {
        return refuse("unit_not_found", "没有这个房源 (no such unit)");
    };
    if approved_price(ctx, &project_id, unit_id)? != price_seen {
        return refuse(
            STALE_STATE,
            "房价已被另行审批 (another price was approved since the one you saw)",
        );
    }
    if u.status != UnitStatus::Available {
        return refuse(
            "unit_not_available",
            format!(
                "房源{}，不能改价 (the unit is {}; its price cannot change)",
                u.status.as_str(),
                u.status.as_str()
            ),
        );
    }
    ctx.db.set_unit_price(&PriceApproval {
        project_id: &project_id,
        unit_id,
        unit_price,
        approvers,
        approved_at: &ctx.now_text(),
    })?;
    let entry = json!({ "unit_id": unit_id, "unit_price": unit_price, "approvers": approvers,
                        "approved_at": ctx.now_text() });
    ctx.record("price_approved", &entry)?;
    Ok(entry)
}

/// The unit's approved price now, if it has one.
fn approved_price(ctx: &Ctx<'_>, project_id: &str, unit_id: &str) -> Step<Option<Decimal>> {
    Ok(ctx.db.approved_unit_price(project_id, unit_id)?)
}

/// The live (not reversed, not a reversal) ticket of a hold, if any.
fn live_ticket_of_hold(ctx: &Ctx<'_>, hold_id: &str) -> Step<Option<String>> {
    Ok(ctx.db.live_ticket_of_hold(hold_id)?)
}

/// Draws up the work ticket for a held unit at its approved price.
pub(crate) fn prepare_work_ticket(
    ctx: &mut Ctx<'_>,
    unit_id: &str,
    seen_hold_id: &str,
    payment_ratio_pct: Decimal,
    discounts: &[DiscountLine],
    sealing_fee: Decimal,
) -> Step<Value> {
    let HeldForTicket { hold_id, buyer_id, area_m2, price } =
        held_for_ticket(ctx, unit_id, seen_hold_id)?;
    let terms = WorkTicketTerms {
        approved_unit_price: price,
        area_m2,
        payment_ratio_pct,
        discounts: discounts.to_vec(),
        sealing_fee,
    };
    let figures = match price_work_ticket(&terms, ctx.policy) {
        Ok(figures) => figures,
        Err(refusal) => return refuse(refusal.code(), refusal.to_string()),
    };
    // The rule's own refusals (ratio above 100%, a negative fee...) say more, so they come
    // first; the ranges then bound what the rule does not (the fee's size, places).
    if let Err(e) = desk_bounds::check_work_ticket(payment_ratio_pct, discounts, sealing_fee) {
        return out_of_range(&e);
    }
    let ticket_id = Ctx::new_id("wt");
    ctx.db.insert_work_ticket(&NewWorkTicket {
        ticket_id: &ticket_id,
        event_id: &ctx.event.event_id,
        hold_id: &hold_id,
        unit_id,
        buyer_id: &buyer_id,
        terms: &terms,
        figures: &figures,
        prepared_by: &ctx.who.user_id,
        prepared_at: &ctx.now_text(),
    })?;
    let entry = json!({ "ticket_id": ticket_id, "unit_id": unit_id, "buyer_id": buyer_id,
                        "hold_id": hold_id, "figures": figures });
    ctx.record("work_ticket_prepared", &entry)?;
    Ok(entry)
}

/// What a work ticket is drawn up from: the unit's live hold at this event and its approved
/// price.
struct HeldForTicket {
    hold_id: String,
    buyer_id: String,
    area_m2: Decimal,
    price: Decimal,
}

/// The unit as a work ticket needs it: held at this event under the hold the staff saw,
/// priced, and with no live ticket yet; otherwise the refusal that says which is not so.
fn held_for_ticket(ctx: &Ctx<'_>, unit_id: &str, seen_hold_id: &str) -> Step<HeldForTicket> {
    let row = ctx.db.unit_for_ticket(&ctx.event.project_id, unit_id)?;
    let Some(UnitForTicket {
        status,
        area_m2,
        unit_price: price,
        event_id,
        buyer_id: Some(buyer_id),
        hold_id: Some(hold_id),
    }) = row
    else {
        return refuse("unit_not_held", "房源未被保留 (the unit is not held)");
    };
    if status != UnitStatus::Held || event_id != ctx.event.event_id {
        return refuse("unit_not_held", "房源未被保留 (the unit is not held at this event)");
    }
    if hold_id != seen_hold_id {
        return refuse(
            STALE_STATE,
            "房源上的保留已不是您看到的那一个 (the unit now carries another hold than the one you saw)",
        );
    }
    let Some(price) = price else {
        return refuse("price_not_approved", "房价未审批 (the unit has no approved price)");
    };
    if live_ticket_of_hold(ctx, &hold_id)?.is_some() {
        return refuse(
            "ticket_exists",
            "该房已有工作票；更正须冲红后重开 (a ticket exists: reverse it in red to correct it)",
        );
    }
    Ok(HeldForTicket { hold_id, buyer_id, area_m2, price })
}

/// The live ticket `ticket_id` of this event: not a reversal, not reversed.
fn live_ticket(ctx: &Ctx<'_>, ticket_id: &str) -> Step<TicketRow> {
    let Some(ticket) = ctx.db.work_ticket(ticket_id, &ctx.event.event_id)? else {
        return refuse("ticket_not_found", "没有这张工作票 (no such work ticket)");
    };
    if ticket.reverses.is_some() || ticket.reversed {
        return refuse("ticket_reversed", "工作票已冲红 (the work ticket was reversed in red)");
    }
    Ok(ticket)
}

/// A second person confirms the ticket. Confirming seals the hold: the buyer is paying, so
/// the hold no longer lapses.
pub(crate) fn review_work_ticket(ctx: &mut Ctx<'_>, ticket_id: &str) -> Step<Value> {
    let ticket = live_ticket(ctx, ticket_id)?;
    if ticket.prepared_by == ctx.who.user_id {
        return refuse(
            "same_person",
            "复核须由另一人进行 (the review must be done by a second person)",
        );
    }
    if !ctx.db.insert_ticket_review(ticket_id, &ctx.who.user_id, &ctx.now_text())? {
        return refuse("already_reviewed", "工作票已复核 (the work ticket is already confirmed)");
    }
    ctx.db.seal_hold(&ticket.hold_id)?;
    let entry = json!({ "ticket_id": ticket_id, "unit_id": ticket.unit_id, "sealed": true });
    ctx.record("work_ticket_reviewed", &entry)?;
    Ok(entry)
}

fn received_total(ctx: &Ctx<'_>, ticket_id: &str) -> Step<Decimal> {
    let amounts = ctx.db.receipt_amounts(ticket_id)?;
    let mut total = Decimal::ZERO;
    for amount in amounts {
        total = match bounds::add("receipts total", total, amount) {
            Ok(total) => total,
            Err(e) => return overflow(&e),
        };
    }
    Ok(total)
}

/// Records money received against a live ticket.
pub(crate) fn record_receipt(
    ctx: &mut Ctx<'_>,
    ticket_id: &str,
    amount: Decimal,
    method: &str,
) -> Step<Value> {
    if amount <= Decimal::ZERO || amount.scale() > 2 {
        return refuse(
            "invalid_amount",
            "金额须为正数，最多两位小数 (the amount must be positive, to the fen)",
        );
    }
    if let Err(e) = desk_bounds::check_receipt_amount(amount) {
        return out_of_range(&e);
    }
    if method.trim().is_empty() {
        return refuse("method_missing", "须注明付款方式 (the payment method is required)");
    }
    let ticket = live_ticket(ctx, ticket_id)?;
    let receipt_id = Ctx::new_id("rc");
    ctx.db.insert_receipt(&NewReceipt {
        receipt_id: &receipt_id,
        event_id: &ctx.event.event_id,
        ticket_id,
        amount,
        method: method.trim(),
        received_at: &ctx.now_text(),
        recorded_by: &ctx.who.user_id,
    })?;
    let received = received_total(ctx, ticket_id)?;
    let entry = json!({ "receipt_id": receipt_id, "ticket_id": ticket_id, "amount": amount,
                        "received_total": received, "amount_due": ticket.amount_due });
    ctx.record("receipt", &entry)?;
    Ok(entry)
}

/// Takes the next number of the event's voucher series.
fn next_voucher_no(ctx: &Ctx<'_>) -> Step<(u32, String)> {
    let series = ctx.db.voucher_series(&ctx.event.event_id)?;
    let (next, prefix) = (series.next, series.prefix);
    if next > series.last {
        return refuse(
            "voucher_series_exhausted",
            "凭证号已用完 (the pre-numbered voucher series is used up)",
        );
    }
    ctx.db.advance_voucher_series(&ctx.event.event_id)?;
    Ok((next, format!("{prefix}{next:06}")))
}

/// Issues the voucher: the ticket is confirmed, the receipts match the amount due, and the
/// unit is still held for this buyer. The unit becomes sold in the same step.
pub(crate) fn issue_voucher(ctx: &mut Ctx<'_>, ticket_id: &str) -> Step<Value> {
    let ticket = live_ticket(ctx, ticket_id)?;
    if ctx.db.ticket_vouchered(ticket_id)? {
        return refuse(
            "already_vouchered",
            "该工作票已出凭证 (a voucher was already issued for this ticket)",
        );
    }
    let confirmed = ctx.db.ticket_reviewed(ticket_id)?;
    let received = received_total(ctx, ticket_id)?;
    if let Err(refusal) = check_voucher_issue(confirmed, ticket.amount_due, received) {
        return refuse(refusal.code(), refusal.to_string());
    }
    let (voucher_no, code) = next_voucher_no(ctx)?;
    let sold = ctx.db.mark_unit_sold(&ctx.event.project_id, &ticket.unit_id, &ticket.hold_id)?;
    if sold != 1 {
        return refuse("hold_ended", "保留已失效 (the unit is no longer held for this buyer)");
    }
    ctx.db.end_hold_sold(&ticket.hold_id, &ctx.now_text())?;
    ctx.db.insert_voucher(&NewVoucher {
        event_id: &ctx.event.event_id,
        voucher_no,
        voucher_code: &code,
        ticket_id,
        buyer_id: &ticket.buyer_id,
        unit_id: &ticket.unit_id,
        amount: received,
        issued_at: &ctx.now_text(),
        issued_by: &ctx.who.user_id,
    })?;
    let entry = json!({ "voucher_no": voucher_no, "voucher_code": code, "ticket_id": ticket_id,
                        "unit_id": ticket.unit_id, "buyer_id": ticket.buyer_id,
                        "amount": received, "status": "sold" });
    ctx.record("voucher_issued", &entry)?;
    Ok(entry)
}

/// The live voucher `voucher_no`: issued, not itself a reversal, not yet reversed.
fn live_voucher(ctx: &Ctx<'_>, voucher_no: u32) -> Step<VoucherRow> {
    match ctx.db.voucher(&ctx.event.event_id, voucher_no)? {
        None => refuse("voucher_not_found", "没有这张凭证 (no such voucher)"),
        Some(VoucherRow { reverses: Some(_), .. }) => {
            refuse("voucher_is_reversal", "这是一张红字凭证 (this is a red reversing voucher)")
        }
        Some(VoucherRow { reversed: true, .. }) => {
            refuse("voucher_reversed", "凭证已冲红 (the voucher was already reversed)")
        }
        Some(voucher) => Ok(voucher),
    }
}

/// Reverses a sale in red: a red voucher, a red work ticket and a red receipt for each
/// receipt, each naming what it reverses; the unit is free again.
pub(crate) fn cancel_sale(ctx: &mut Ctx<'_>, voucher_no: u32, reason: &str) -> Step<Value> {
    if reason.trim().is_empty() {
        return refuse("reason_missing", "冲红须注明原因 (a reversal needs a reason)");
    }
    let VoucherRow { ticket_id, buyer_id, unit_id, amount, .. } = live_voucher(ctx, voucher_no)?;
    let (red_no, red_code) = next_voucher_no(ctx)?;
    let now = ctx.now_text();
    let red_voucher = NewVoucher {
        event_id: &ctx.event.event_id,
        voucher_no: red_no,
        voucher_code: &red_code,
        ticket_id: &ticket_id,
        buyer_id: &buyer_id,
        unit_id: &unit_id,
        amount: red_ink(amount),
        issued_at: &now,
        issued_by: &ctx.who.user_id,
    };
    ctx.db.insert_red_voucher(&red_voucher, voucher_no, reason)?;
    let red_ticket = Ctx::new_id("wt");
    ctx.db.insert_red_ticket(&ticket_id, &red_ticket, &ctx.who.user_id, &now, reason)?;
    let reversed_receipts = ctx.db.insert_red_receipts(&ticket_id, &now, &ctx.who.user_id)?;
    let freed = ctx.db.free_sold_unit(&ctx.event.project_id, &unit_id)?;
    if freed != 1 {
        return Err(Stop::Failed(ServerError::Corrupt(format!(
            "voucher {voucher_no}: unit {unit_id} not sold"
        ))));
    }
    let entry = json!({ "voucher_no": voucher_no, "red_voucher_no": red_no, "red_voucher_code": red_code,
                        "red_ticket_id": red_ticket, "receipts_reversed": reversed_receipts,
                        "unit_id": unit_id, "buyer_id": buyer_id, "reason": reason,
                        "status": "available" });
    ctx.record("sale_cancelled", &entry)?;
    Ok(entry)
}

/// Swaps a sale to another allotted unit: the sale is reversed in red, and the new unit is
/// held for the same buyer (queue order does not apply: the buyer already had their turn).
pub(crate) fn swap_unit(
    ctx: &mut Ctx<'_>,
    voucher_no: u32,
    new_unit_id: &str,
    reason: &str,
) -> Step<Value> {
    let cancelled = cancel_sale(ctx, voucher_no, reason)?;
    let buyer_id = cancelled["buyer_id"].as_str().unwrap_or_default().to_owned();
    let project_id = ctx.event.project_id.clone();
    let found = unit(ctx.db, &project_id, new_unit_id)?;
    let check = HoldCheck {
        buyer_listed: true,
        buyer_lottery_no: None,
        mode: SelectionMode::Free,
        now_serving: None,
        unit_allotted: found.is_some() && allotted(ctx, new_unit_id)?,
        unit_price_approved: found.as_ref().is_some_and(|u| u.price_approved),
        unit_status: found.as_ref().map_or(UnitStatus::Withdrawn, |u| u.status),
        buyer_units_taken: 0,
    };
    if let Err(refusal) = check_hold(&check, ctx.policy) {
        return refuse(refusal.code(), format!("换房失败 (swap refused): {refusal}"));
    }
    let held = holds::place_hold(ctx, new_unit_id, &buyer_id)?;
    let entry = json!({ "cancelled": cancelled, "held": held });
    ctx.record(
        "unit_swapped",
        &json!({ "voucher_no": voucher_no, "new_unit_id": new_unit_id,
                                         "buyer_id": buyer_id }),
    )?;
    Ok(entry)
}

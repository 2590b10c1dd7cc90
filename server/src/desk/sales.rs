//! Prices, work tickets, receipts, vouchers and their red-ink reversal (红字冲红).
//!
//! Nothing here edits a ticket, receipt or voucher once written (the schema's triggers would
//! refuse it anyway): a cancellation writes red entries — negative amounts that name the entry
//! they reverse — and a swap is a cancellation followed by a new hold.

use std::str::FromStr;

use kam_core::bounds::{self, OutOfRange, Overflow};
use kam_core::desk::bounds as desk_bounds;
use kam_core::model::{DiscountLine, SelectionMode, UnitStatus, WorkTicketTerms};
use kam_core::rules::{HoldCheck, check_hold, check_voucher_issue, price_work_ticket};
use rusqlite::{OptionalExtension, params};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::command::STALE_STATE;
use super::context::{Ctx, Step, Stop, refuse};
use super::holds::{self, allotted, unit};
use crate::error::ServerError;

fn decimal(text: &str) -> Step<Decimal> {
    Decimal::from_str(text)
        .map_err(|_| Stop::Failed(ServerError::Corrupt(format!("amount {text}"))))
}

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
    let project_id = ctx.event.project_id.clone();
    let Some(u) = unit(ctx.conn, &project_id, unit_id)? else {
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
    let approvers_json =
        serde_json::to_string(approvers).map_err(|e| ServerError::Corrupt(e.to_string()))?;
    ctx.conn
        .prepare_cached(
            "UPDATE desk_units SET unit_price = ?3, approvers = ?4, approved_at = ?5
             WHERE project_id = ?1 AND unit_id = ?2",
        )?
        .execute(params![
            project_id,
            unit_id,
            unit_price.to_string(),
            approvers_json,
            ctx.now_text()
        ])?;
    let entry = json!({ "unit_id": unit_id, "unit_price": unit_price, "approvers": approvers,
                        "approved_at": ctx.now_text() });
    ctx.record("price_approved", &entry)?;
    Ok(entry)
}

/// The unit's approved price now, if it has one.
fn approved_price(ctx: &Ctx<'_>, project_id: &str, unit_id: &str) -> Step<Option<Decimal>> {
    let price: Option<String> = ctx
        .conn
        .prepare_cached("SELECT unit_price FROM desk_units WHERE project_id = ?1 AND unit_id = ?2")?
        .query_row([project_id, unit_id], |r| r.get(0))?;
    price.as_deref().map(decimal).transpose()
}

/// The live (not reversed, not a reversal) ticket of a hold, if any.
fn live_ticket_of_hold(ctx: &Ctx<'_>, hold_id: &str) -> Step<Option<String>> {
    Ok(ctx
        .conn
        .prepare_cached(
            "SELECT t.ticket_id FROM work_tickets t WHERE t.hold_id = ?1 AND t.reverses IS NULL
             AND NOT EXISTS (SELECT 1 FROM work_tickets r WHERE r.reverses = t.ticket_id)",
        )?
        .query_row([hold_id], |r| r.get(0))
        .optional()?)
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
    type HeldUnit = (String, String, Option<String>, String, Option<String>, Option<String>);
    let row: Option<HeldUnit> = ctx
        .conn
        .prepare_cached(
            "SELECT status, area_m2, unit_price, COALESCE(event_id, ''), buyer_id, hold_id
             FROM desk_units WHERE project_id = ?1 AND unit_id = ?2",
        )?
        .query_row([&ctx.event.project_id, unit_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
        })
        .optional()?;
    let Some((status, area, price, event_id, Some(buyer_id), Some(hold_id))) = row else {
        return refuse("unit_not_held", "房源未被保留 (the unit is not held)");
    };
    if status != "held" || event_id != ctx.event.event_id {
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
    let terms = WorkTicketTerms {
        approved_unit_price: decimal(&price)?,
        area_m2: decimal(&area)?,
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
    let terms_json =
        serde_json::to_string(&terms).map_err(|e| ServerError::Corrupt(e.to_string()))?;
    ctx.conn
        .prepare_cached(
            "INSERT INTO work_tickets(ticket_id, event_id, hold_id, unit_id, buyer_id, terms,
                 total_price, discount_amount, net_price, amount_due, sealing_fee, prepared_by,
                 prepared_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        )?
        .execute(params![
            ticket_id,
            ctx.event.event_id,
            hold_id,
            unit_id,
            buyer_id,
            terms_json,
            figures.total_price.to_string(),
            figures.discount_amount.to_string(),
            figures.net_price.to_string(),
            figures.amount_due.to_string(),
            figures.sealing_fee.to_string(),
            ctx.who.user_id,
            ctx.now_text(),
        ])?;
    let entry = json!({ "ticket_id": ticket_id, "unit_id": unit_id, "buyer_id": buyer_id,
                        "hold_id": hold_id, "figures": figures });
    ctx.record("work_ticket_prepared", &entry)?;
    Ok(entry)
}

/// A ticket as the desk reads it for review, receipts and vouchers.
struct TicketRow {
    hold_id: String,
    unit_id: String,
    buyer_id: String,
    amount_due: Decimal,
    prepared_by: String,
}

/// The live ticket `ticket_id` of this event: not a reversal, not reversed.
fn live_ticket(ctx: &Ctx<'_>, ticket_id: &str) -> Step<TicketRow> {
    type Ticket = (String, String, String, String, String, Option<String>, bool);
    let row: Option<Ticket> = ctx
        .conn
        .prepare_cached(
            "SELECT hold_id, unit_id, buyer_id, amount_due, prepared_by, reverses,
                 EXISTS (SELECT 1 FROM work_tickets r WHERE r.reverses = t.ticket_id)
             FROM work_tickets t WHERE ticket_id = ?1 AND event_id = ?2",
        )?
        .query_row([ticket_id, &ctx.event.event_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?))
        })
        .optional()?;
    let Some((hold_id, unit_id, buyer_id, due, prepared_by, reverses, reversed)) = row else {
        return refuse("ticket_not_found", "没有这张工作票 (no such work ticket)");
    };
    if reverses.is_some() || reversed {
        return refuse("ticket_reversed", "工作票已冲红 (the work ticket was reversed in red)");
    }
    Ok(TicketRow { hold_id, unit_id, buyer_id, amount_due: decimal(&due)?, prepared_by })
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
    let reviewed = ctx
        .conn
        .prepare_cached(
            "INSERT OR IGNORE INTO work_ticket_reviews(ticket_id, reviewed_by, reviewed_at) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![ticket_id, ctx.who.user_id, ctx.now_text()])?;
    if reviewed == 0 {
        return refuse("already_reviewed", "工作票已复核 (the work ticket is already confirmed)");
    }
    ctx.conn
        .prepare_cached(
            "UPDATE desk_units SET held_until = NULL WHERE hold_id = ?1 AND status = 'held'",
        )?
        .execute([&ticket.hold_id])?;
    let entry = json!({ "ticket_id": ticket_id, "unit_id": ticket.unit_id, "sealed": true });
    ctx.record("work_ticket_reviewed", &entry)?;
    Ok(entry)
}

fn received_total(ctx: &Ctx<'_>, ticket_id: &str) -> Step<Decimal> {
    let amounts: Vec<String> = ctx
        .conn
        .prepare_cached("SELECT amount FROM receipts WHERE ticket_id = ?1")?
        .query_map([ticket_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut total = Decimal::ZERO;
    for amount in &amounts {
        total = match bounds::add("receipts total", total, decimal(amount)?) {
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
    ctx.conn
        .prepare_cached(
            "INSERT INTO receipts(receipt_id, event_id, ticket_id, amount, method, received_at, recorded_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            receipt_id,
            ctx.event.event_id,
            ticket_id,
            amount.to_string(),
            method.trim(),
            ctx.now_text(),
            ctx.who.user_id
        ])?;
    let received = received_total(ctx, ticket_id)?;
    let entry = json!({ "receipt_id": receipt_id, "ticket_id": ticket_id, "amount": amount,
                        "received_total": received, "amount_due": ticket.amount_due });
    ctx.record("receipt", &entry)?;
    Ok(entry)
}

/// Takes the next number of the event's voucher series.
fn next_voucher_no(ctx: &Ctx<'_>) -> Step<(u32, String)> {
    let (next, last, prefix): (u32, u32, String) = ctx
        .conn
        .prepare_cached("SELECT voucher_next, voucher_last, voucher_prefix FROM desk_events WHERE event_id = ?1")?
        .query_row([&ctx.event.event_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    if next > last {
        return refuse(
            "voucher_series_exhausted",
            "凭证号已用完 (the pre-numbered voucher series is used up)",
        );
    }
    ctx.conn
        .prepare_cached(
            "UPDATE desk_events SET voucher_next = voucher_next + 1 WHERE event_id = ?1",
        )?
        .execute([&ctx.event.event_id])?;
    Ok((next, format!("{prefix}{next:06}")))
}

/// Issues the voucher: the ticket is confirmed, the receipts match the amount due, and the
/// unit is still held for this buyer. The unit becomes sold in the same step.
pub(crate) fn issue_voucher(ctx: &mut Ctx<'_>, ticket_id: &str) -> Step<Value> {
    let ticket = live_ticket(ctx, ticket_id)?;
    let vouchered = ctx
        .conn
        .prepare_cached("SELECT 1 FROM vouchers WHERE ticket_id = ?1 AND reverses IS NULL")?
        .query_row([ticket_id], |_| Ok(()))
        .optional()?
        .is_some();
    if vouchered {
        return refuse(
            "already_vouchered",
            "该工作票已出凭证 (a voucher was already issued for this ticket)",
        );
    }
    let confirmed = ctx
        .conn
        .prepare_cached("SELECT 1 FROM work_ticket_reviews WHERE ticket_id = ?1")?
        .query_row([ticket_id], |_| Ok(()))
        .optional()?
        .is_some();
    let received = received_total(ctx, ticket_id)?;
    if let Err(refusal) = check_voucher_issue(confirmed, ticket.amount_due, received) {
        return refuse(refusal.code(), refusal.to_string());
    }
    let (voucher_no, code) = next_voucher_no(ctx)?;
    let sold = ctx
        .conn
        .prepare_cached(
            "UPDATE desk_units SET status = 'sold', held_until = NULL
             WHERE project_id = ?1 AND unit_id = ?2 AND status = 'held' AND hold_id = ?3",
        )?
        .execute(params![ctx.event.project_id, ticket.unit_id, ticket.hold_id])?;
    if sold != 1 {
        return refuse("hold_ended", "保留已失效 (the unit is no longer held for this buyer)");
    }
    ctx.conn
        .prepare_cached("UPDATE desk_holds SET state = 'sold', ended_at = ?2 WHERE hold_id = ?1")?
        .execute(params![ticket.hold_id, ctx.now_text()])?;
    ctx.conn
        .prepare_cached(
            "INSERT INTO vouchers(event_id, voucher_no, voucher_code, ticket_id, buyer_id, unit_id,
                 amount, issued_at, issued_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?
        .execute(params![
            ctx.event.event_id,
            voucher_no,
            code,
            ticket_id,
            ticket.buyer_id,
            ticket.unit_id,
            received.to_string(),
            ctx.now_text(),
            ctx.who.user_id
        ])?;
    let entry = json!({ "voucher_no": voucher_no, "voucher_code": code, "ticket_id": ticket_id,
                        "unit_id": ticket.unit_id, "buyer_id": ticket.buyer_id,
                        "amount": received, "status": "sold" });
    ctx.record("voucher_issued", &entry)?;
    Ok(entry)
}

/// The live voucher `voucher_no`: issued, not itself a reversal, not yet reversed.
fn live_voucher(ctx: &Ctx<'_>, voucher_no: u32) -> Step<(String, String, String, String)> {
    let row: Option<(String, String, String, String, Option<u32>, bool)> = ctx
        .conn
        .prepare_cached(
            "SELECT ticket_id, buyer_id, unit_id, amount, reverses,
                 EXISTS (SELECT 1 FROM vouchers r WHERE r.event_id = v.event_id AND r.reverses = v.voucher_no)
             FROM vouchers v WHERE event_id = ?1 AND voucher_no = ?2",
        )?
        .query_row(params![ctx.event.event_id, voucher_no], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
        })
        .optional()?;
    match row {
        None => refuse("voucher_not_found", "没有这张凭证 (no such voucher)"),
        Some((.., Some(_), _)) => {
            refuse("voucher_is_reversal", "这是一张红字凭证 (this is a red reversing voucher)")
        }
        Some((.., true)) => {
            refuse("voucher_reversed", "凭证已冲红 (the voucher was already reversed)")
        }
        Some((ticket, buyer, unit_id, amount, None, false)) => Ok((ticket, buyer, unit_id, amount)),
    }
}

/// Reverses a sale in red: a red voucher, a red work ticket and a red receipt for each
/// receipt, each naming what it reverses; the unit is free again.
pub(crate) fn cancel_sale(ctx: &mut Ctx<'_>, voucher_no: u32, reason: &str) -> Step<Value> {
    if reason.trim().is_empty() {
        return refuse("reason_missing", "冲红须注明原因 (a reversal needs a reason)");
    }
    let (ticket_id, buyer_id, unit_id, amount) = live_voucher(ctx, voucher_no)?;
    let (red_no, red_code) = next_voucher_no(ctx)?;
    let now = ctx.now_text();
    ctx.conn
        .prepare_cached(
            "INSERT INTO vouchers(event_id, voucher_no, voucher_code, ticket_id, buyer_id, unit_id,
                 amount, issued_at, issued_by, reverses, reason)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?
        .execute(params![
            ctx.event.event_id,
            red_no,
            red_code,
            ticket_id,
            buyer_id,
            unit_id,
            red_ink(decimal(&amount)?).to_string(),
            now,
            ctx.who.user_id,
            voucher_no,
            reason
        ])?;
    let red_ticket = Ctx::new_id("wt");
    ctx.conn
        .prepare_cached(
            "INSERT INTO work_tickets(ticket_id, event_id, hold_id, unit_id, buyer_id, terms,
                 total_price, discount_amount, net_price, amount_due, sealing_fee, prepared_by,
                 prepared_at, reverses, reason)
             SELECT ?2, event_id, hold_id, unit_id, buyer_id, terms,
                 '-' || total_price, '-' || discount_amount, '-' || net_price, '-' || amount_due,
                 '-' || sealing_fee, ?3, ?4, ticket_id, ?5
             FROM work_tickets WHERE ticket_id = ?1",
        )?
        .execute(params![ticket_id, red_ticket, ctx.who.user_id, now, reason])?;
    let reversed_receipts = ctx
        .conn
        .prepare_cached(
            "INSERT INTO receipts(receipt_id, event_id, ticket_id, amount, method, received_at,
                 recorded_by, reverses)
             SELECT 'rc-red-' || receipt_id, event_id, ticket_id, '-' || amount, method, ?2, ?3, receipt_id
             FROM receipts WHERE ticket_id = ?1 AND reverses IS NULL",
        )?
        .execute(params![ticket_id, now, ctx.who.user_id])?;
    let freed = ctx
        .conn
        .prepare_cached(
            "UPDATE desk_units SET status = 'available', event_id = NULL, buyer_id = NULL,
                 hold_id = NULL, held_until = NULL
             WHERE project_id = ?1 AND unit_id = ?2 AND status = 'sold'",
        )?
        .execute(params![ctx.event.project_id, unit_id])?;
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
    let found = unit(ctx.conn, &project_id, new_unit_id)?;
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

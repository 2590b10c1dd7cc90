//! Holds: a unit held for a buyer, released by staff, lapsing after the policy's hold time, or
//! becoming a sale when its voucher is issued.

use chrono::{DateTime, Utc};
use kam_core::bounds;
use kam_core::model::UnitStatus;
use kam_core::rules::{HoldCheck, check_hold};
use serde_json::{Value, json};

use super::command::STALE_STATE;
use super::context::{Ctx, Step, refuse};
use super::ledger::{self, Cause, Tip};
use crate::db::desk::state::instant;
use crate::db::desk::state::{HoldEnd, NewHold};
use crate::db::desk::{DeskGroup, DeskState};
use crate::error::ServerError;

/// The desk's row for one unit.
pub(crate) type UnitRow = crate::db::desk::state::DeskUnit;

/// Reads a unit of `project_id`.
pub(crate) fn unit(desk: &dyn DeskState, project_id: &str, unit_id: &str) -> Step<Option<UnitRow>> {
    Ok(desk.unit(project_id, unit_id)?)
}

/// Whether `unit_id` is allotted to the command's event.
pub(crate) fn allotted(ctx: &Ctx<'_>, unit_id: &str) -> Step<bool> {
    Ok(ctx.db.allotted(&ctx.event.event_id, unit_id)?)
}

/// Holds `unit_id` for `buyer_id`.
pub(crate) fn hold(ctx: &mut Ctx<'_>, unit_id: &str, buyer_id: &str) -> Step<Value> {
    let project_id = ctx.event.project_id.clone();
    let event_id = ctx.event.event_id.clone();
    // Everything the rule needs in one read (one round trip on PostgreSQL).
    let mut facts = ctx.db.hold_facts(&event_id, &project_id, unit_id, buyer_id)?;
    if let Some(u) = &facts.unit
        && lapsed(u, ctx.now)
    {
        let entry = expire_one(ctx.db, &project_id, unit_id, ctx.now)?;
        ledger::append(ctx.db, ctx.tip, expiry(ctx.now), &event_id, "hold_expired", &entry)?;
        // The unit is free now, and the buyer whose hold lapsed holds one unit fewer.
        facts = ctx.db.hold_facts(&event_id, &project_id, unit_id, buyer_id)?;
    }
    let found = facts.unit;
    let check = HoldCheck {
        buyer_listed: facts.lottery_no.is_some(),
        buyer_lottery_no: facts.lottery_no.flatten(),
        mode: ctx.event.mode,
        now_serving: ctx.event.now_serving,
        unit_allotted: found.is_some() && facts.allotted,
        unit_price_approved: found.as_ref().is_some_and(|u| u.price_approved),
        unit_status: found.as_ref().map_or(UnitStatus::Withdrawn, |u| u.status),
        buyer_units_taken: facts.units_taken,
    };
    if let Err(refusal) = check_hold(&check, ctx.policy) {
        return refuse(refusal.code(), refusal.to_string());
    }
    place_hold(ctx, unit_id, buyer_id)
}

/// Holds an available unit for `buyer_id` once the rules have allowed it.
pub(crate) fn place_hold(ctx: &mut Ctx<'_>, unit_id: &str, buyer_id: &str) -> Step<Value> {
    let project_id = ctx.event.project_id.clone();
    let hold_id = Ctx::new_id("hold");
    let ttl_s = i64::try_from(ctx.policy.selection.hold_ttl_seconds).unwrap_or(i64::MAX);
    // A validated policy keeps the TTL to a week (ADR 0017); an unvalidated one beyond
    // chrono's range is refused here, not a panic in `Duration::seconds`.
    let expires_at = match bounds::later_by_seconds("hold expiry", ctx.now, ttl_s) {
        Ok(at) => instant(at),
        Err(e) => return refuse(e.code(), e.to_string()),
    };
    let held_at = ctx.now_text();
    let hold = NewHold {
        hold_id: &hold_id,
        event_id: &ctx.event.event_id,
        project_id: &project_id,
        unit_id,
        buyer_id,
        held_by: &ctx.who.user_id,
        held_at: &held_at,
        expires_at: &expires_at,
    };
    // The rule saw `available`; the conditional update makes that a guarantee, not a hope
    // (sent later on PostgreSQL, where a unit found taken fails the whole group instead).
    // Only a take answered at once (SQLite's) can still refuse: where it is queued, the hold
    // and its ledger entry are final.
    ctx.db.final_writes_follow()?;
    if !ctx.db.hold_unit(&hold)? {
        return refuse("unit_not_available", "房源已被占用 (the unit is no longer available)");
    }
    let entry = json!({ "unit_id": unit_id, "buyer_id": buyer_id, "hold_id": hold_id,
                        "expires_at": expires_at, "status": "held" });
    ctx.record("hold", &entry)?;
    Ok(entry)
}

/// Releases the hold `seen_hold_id` on a held unit (not a sold one: that is a cancellation,
/// see `sales`). A release made against another hold than the one on the unit now (the hold
/// it saw lapsed or was released, and another buyer's was placed) is refused, never applied
/// to the new hold.
pub(crate) fn release(
    ctx: &mut Ctx<'_>,
    unit_id: &str,
    seen_hold_id: &str,
    reason: &str,
) -> Step<Value> {
    let project_id = ctx.event.project_id.clone();
    let (found, paid) = ctx.db.release_facts(&project_id, unit_id, seen_hold_id)?;
    let Some(u) = found else {
        return refuse("unit_not_found", "没有这个房源 (no such unit)");
    };
    if u.status == UnitStatus::Held && u.hold_id.as_deref() != Some(seen_hold_id) {
        return refuse(
            STALE_STATE,
            "房源上的保留已不是您看到的那一个 (the unit now carries another hold than the one you saw)",
        );
    }
    if u.status != UnitStatus::Held {
        return refuse(
            "unit_not_held",
            format!("房源不是保留状态 (the unit is {}, not held)", u.status.as_str()),
        );
    }
    let hold_id = seen_hold_id.to_owned();
    if paid > 0 {
        return refuse(
            "receipts_recorded",
            "已有收款，须由财务冲红 (money was received: finance must reverse it in red)",
        );
    }
    // Every check is done: the release and its ledger entry are final.
    ctx.db.final_writes_follow()?;
    ctx.db.end_hold(&project_id, unit_id, &hold_id, HoldEnd::Released, &instant(ctx.now))?;
    let entry = json!({ "unit_id": unit_id, "hold_id": hold_id, "reason": reason,
                        "status": "available" });
    ctx.record("release", &entry)?;
    Ok(entry)
}

/// Whether an active hold's time has passed. A sealed hold (its work ticket reviewed) has no
/// end time and never lapses.
fn lapsed(u: &UnitRow, now: DateTime<Utc>) -> bool {
    u.status == UnitStatus::Held
        && u.held_until.as_deref().is_some_and(|t| t <= instant(now).as_str())
}

/// Expires one lapsed hold; returns its ledger entry (see [`expiry`]), which the caller
/// appends.
fn expire_one(
    desk: &dyn DeskState,
    project_id: &str,
    unit_id: &str,
    now: DateTime<Utc>,
) -> Result<Value, ServerError> {
    let hold_id = desk.unit_hold_id(project_id, unit_id)?.unwrap_or_default();
    desk.end_hold(project_id, unit_id, &hold_id, HoldEnd::Expired, &instant(now))?;
    Ok(json!({ "unit_id": unit_id, "hold_id": hold_id, "status": "available" }))
}

/// The cause of an expiry's ledger entry: the server, at `now`.
fn expiry(now: DateTime<Utc>) -> Cause<'static> {
    Cause { actor: "server", key: None, at: now }
}

/// Expires every hold whose time has passed; returns how many.
pub(crate) fn expire_due(
    tx: &dyn DeskGroup,
    tip: &mut Tip,
    now: DateTime<Utc>,
) -> Result<usize, ServerError> {
    let due = tx.holds_due(&instant(now))?;
    let mut expired = 0usize;
    let mut served = std::collections::HashMap::new();
    for d in &due {
        // Holds lapse on the clock of the place that serves their event, and only while it
        // does (ADR 0021): central leaves a lent event's holds to the venue, and a venue whose
        // lease ended leaves them to central.
        if !served.contains_key(&d.event_id) {
            let here = super::delegation::authority(tx, &d.event_id, now)?
                == super::delegation::Authority::Here;
            served.insert(d.event_id.clone(), here);
        }
        if served.get(&d.event_id) != Some(&true) {
            continue;
        }
        let entry = expire_one(tx, &d.project_id, &d.unit_id, now)?;
        ledger::append(tx, tip, expiry(now), &d.event_id, "hold_expired", &entry)?;
        expired = expired.saturating_add(1);
    }
    Ok(expired)
}

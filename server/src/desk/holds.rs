//! Holds: a unit held for a buyer, released by staff, lapsing after the policy's hold time, or
//! becoming a sale when its voucher is issued.

use chrono::{DateTime, Utc};
use kam_core::bounds;
use kam_core::model::UnitStatus;
use kam_core::rules::{HoldCheck, check_hold};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Value, json};

use super::command::STALE_STATE;
use super::context::{Ctx, Step, instant, refuse};
use super::ledger::{self, Cause, Tip};
use crate::error::ServerError;

/// The desk's row for one unit.
#[derive(Clone, Debug)]
pub(crate) struct UnitRow {
    pub(crate) status: UnitStatus,
    pub(crate) price_approved: bool,
    pub(crate) hold_id: Option<String>,
    pub(crate) held_until: Option<String>,
}

/// Reads a unit of `project_id`.
pub(crate) fn unit(conn: &Connection, project_id: &str, unit_id: &str) -> Step<Option<UnitRow>> {
    let row = conn
        .prepare_cached(
            "SELECT status, unit_price IS NOT NULL, hold_id, held_until FROM desk_units
             WHERE project_id = ?1 AND unit_id = ?2",
        )?
        .query_row([project_id, unit_id], |r| {
            Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()?;
    let Some((status, price_approved, hold_id, held_until)) = row else {
        return Ok(None);
    };
    let status = status
        .parse::<UnitStatus>()
        .map_err(|_| ServerError::Corrupt(format!("unit status {status}")))?;
    Ok(Some(UnitRow { status, price_approved, hold_id, held_until }))
}

/// Whether `unit_id` is allotted to the command's event.
pub(crate) fn allotted(ctx: &Ctx<'_>, unit_id: &str) -> Step<bool> {
    Ok(ctx
        .conn
        .prepare_cached("SELECT 1 FROM desk_allotments WHERE event_id = ?1 AND unit_id = ?2")?
        .query_row([ctx.event.event_id.as_str(), unit_id], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Holds `unit_id` for `buyer_id`.
pub(crate) fn hold(ctx: &mut Ctx<'_>, unit_id: &str, buyer_id: &str) -> Step<Value> {
    let project_id = ctx.event.project_id.clone();
    let mut found = unit(ctx.conn, &project_id, unit_id)?;
    if let Some(u) = &found
        && lapsed(u, ctx.now)
    {
        expire_one(ctx.conn, ctx.tip, &ctx.event.event_id, &project_id, unit_id, ctx.now)?;
        found = unit(ctx.conn, &project_id, unit_id)?;
    }
    let lottery: Option<Option<u32>> = ctx
        .conn
        .prepare_cached("SELECT lottery_no FROM desk_buyers WHERE event_id = ?1 AND buyer_id = ?2")?
        .query_row([ctx.event.event_id.as_str(), buyer_id], |r| r.get(0))
        .optional()?;
    let taken: u32 = ctx
        .conn
        .prepare_cached(
            "SELECT COUNT(*) FROM desk_units WHERE event_id = ?1 AND buyer_id = ?2
             AND status IN ('held', 'sold')",
        )?
        .query_row([ctx.event.event_id.as_str(), buyer_id], |r| r.get(0))?;
    let check = HoldCheck {
        buyer_listed: lottery.is_some(),
        buyer_lottery_no: lottery.flatten(),
        mode: ctx.event.mode,
        now_serving: ctx.event.now_serving,
        unit_allotted: found.is_some() && allotted(ctx, unit_id)?,
        unit_price_approved: found.as_ref().is_some_and(|u| u.price_approved),
        unit_status: found.as_ref().map_or(UnitStatus::Withdrawn, |u| u.status),
        buyer_units_taken: taken,
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
    // The rule saw `available`; the conditional update makes that a guarantee, not a hope.
    let changed = ctx
        .conn
        .prepare_cached(
            "UPDATE desk_units SET status = 'held', event_id = ?3, buyer_id = ?4, hold_id = ?5,
                 held_until = ?6
             WHERE project_id = ?1 AND unit_id = ?2 AND status = 'available'",
        )?
        .execute(params![project_id, unit_id, ctx.event.event_id, buyer_id, hold_id, expires_at])?;
    if changed != 1 {
        return refuse("unit_not_available", "房源已被占用 (the unit is no longer available)");
    }
    ctx.conn
        .prepare_cached(
            "INSERT INTO desk_holds(hold_id, event_id, project_id, unit_id, buyer_id, held_by,
                 held_at, expires_at, state)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'active')",
        )?
        .execute(params![
            hold_id,
            ctx.event.event_id,
            project_id,
            unit_id,
            buyer_id,
            ctx.who.user_id,
            ctx.now_text(),
            expires_at
        ])?;
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
    let Some(u) = unit(ctx.conn, &project_id, unit_id)? else {
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
    let paid: i64 = ctx
        .conn
        .prepare_cached(
            "SELECT COUNT(*) FROM receipts r JOIN work_tickets t USING (ticket_id)
             WHERE t.hold_id = ?1",
        )?
        .query_row([&hold_id], |r| r.get(0))?;
    if paid > 0 {
        return refuse(
            "receipts_recorded",
            "已有收款，须由财务冲红 (money was received: finance must reverse it in red)",
        );
    }
    end_hold(ctx.conn, &project_id, unit_id, &hold_id, "released", ctx.now)?;
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

/// Frees the unit and closes its hold with `state`.
pub(crate) fn end_hold(
    conn: &Connection,
    project_id: &str,
    unit_id: &str,
    hold_id: &str,
    state: &str,
    now: DateTime<Utc>,
) -> Result<(), ServerError> {
    conn.prepare_cached(
        "UPDATE desk_units SET status = 'available', event_id = NULL, buyer_id = NULL,
             hold_id = NULL, held_until = NULL
         WHERE project_id = ?1 AND unit_id = ?2",
    )?
    .execute([project_id, unit_id])?;
    conn.prepare_cached(
        "UPDATE desk_holds SET state = ?2, ended_at = ?3 WHERE hold_id = ?1 AND state = 'active'",
    )?
    .execute(params![hold_id, state, instant(now)])?;
    Ok(())
}

/// Expires one lapsed hold, with its ledger entry.
fn expire_one(
    conn: &Connection,
    tip: &mut Tip,
    event_id: &str,
    project_id: &str,
    unit_id: &str,
    now: DateTime<Utc>,
) -> Result<(), ServerError> {
    let hold_id: Option<String> = conn
        .prepare_cached("SELECT hold_id FROM desk_units WHERE project_id = ?1 AND unit_id = ?2")?
        .query_row([project_id, unit_id], |r| r.get(0))?;
    let hold_id = hold_id.unwrap_or_default();
    end_hold(conn, project_id, unit_id, &hold_id, "expired", now)?;
    let cause = Cause { actor: "server", key: None, at: now };
    let entry = json!({ "unit_id": unit_id, "hold_id": hold_id, "status": "available" });
    ledger::append(conn, tip, cause, event_id, "hold_expired", &entry)?;
    Ok(())
}

/// Expires every hold whose time has passed; returns how many.
pub(crate) fn expire_due(
    conn: &Connection,
    tip: &mut Tip,
    now: DateTime<Utc>,
) -> Result<usize, ServerError> {
    let due: Vec<(String, String, String)> = conn
        .prepare_cached(
            "SELECT event_id, project_id, unit_id FROM desk_units
             WHERE status = 'held' AND held_until IS NOT NULL AND held_until <= ?1",
        )?
        .query_map([instant(now)], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    for (event_id, project_id, unit_id) in &due {
        expire_one(conn, tip, event_id, project_id, unit_id, now)?;
    }
    Ok(due.len())
}

//! Opening an event's desk: the desk takes over the event's units, prices and buyer list from
//! the documents headquarters prepared, and from then on is their authority.

use chrono::{DateTime, Utc};
use kam_core::doc::{event_doc_id, project_doc_id, read_event, read_project};
use kam_core::model::{EventId, Project, SelectionEvent, UserId};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::json;

use super::context::instant;
use super::ledger::{self, Cause};
use crate::error::ServerError;
use crate::sync::docs::DocCache;

/// The default size of an event's pre-numbered voucher series.
pub const DEFAULT_VOUCHER_SERIES: u32 = 9_999;

/// What opening a desk loaded.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct OpenedDesk {
    /// The event.
    pub event_id: String,
    /// Units of the project now on the desk.
    pub units: usize,
    /// Units allotted to the event.
    pub allotted: usize,
    /// Buyers on the list.
    pub buyers: usize,
}

/// The units of `project_id` the desk holds: their prices and status are the desk's.
pub(crate) fn units_on_desk(
    conn: &Connection,
    project_id: &str,
) -> Result<std::collections::BTreeSet<kam_core::model::UnitId>, ServerError> {
    let mut stmt = conn.prepare_cached("SELECT unit_id FROM desk_units WHERE project_id = ?1")?;
    let units = stmt
        .query_map([project_id], |r| r.get::<_, String>(0))?
        .map(|id| id.map(kam_core::model::UnitId))
        .collect::<Result<_, _>>()?;
    Ok(units)
}

/// The selection desk as the authority sees it, read from the desk's file.
impl crate::sync::authority::DeskView for Connection {
    fn units_on_desk(
        &self,
        project_id: &str,
    ) -> Result<std::collections::BTreeSet<kam_core::model::UnitId>, ServerError> {
        units_on_desk(self, project_id)
    }

    fn event_desk_open(&self, event_id: &str) -> Result<bool, ServerError> {
        Ok(event_project(self, event_id)?.is_some())
    }
}

/// The project of the open desk of `event_id`, if its desk is open.
pub(crate) fn event_project(
    conn: &Connection,
    event_id: &str,
) -> Result<Option<String>, ServerError> {
    Ok(conn
        .prepare_cached("SELECT project_id FROM desk_events WHERE event_id = ?1")?
        .query_row([event_id], |r| r.get(0))
        .optional()?)
}

/// Opens the desk of `event_id`: reads its documents through `server` and writes the desk's
/// rows through `conn`, inside the caller's write transaction on the desk file. Units the desk already
/// holds (a project shared by two events) keep their desk status: the desk, not the
/// document, is their authority once loaded.
pub(crate) fn open_event(
    server: &Connection,
    docs: &mut DocCache,
    conn: &Connection,
    event_id: &str,
    voucher_series: u32,
    now: DateTime<Utc>,
) -> Result<OpenedDesk, ServerError> {
    // Voucher numbers are bounded (ADR 0017): a series beyond them could not be cancelled.
    kam_core::desk::bounds::check_voucher_no(voucher_series)
        .map_err(|e| ServerError::Invalid { field: "voucher_series", reason: e.to_string() })?;
    let (event, project) = read_documents(server, docs, event_id)?;
    insert_event(conn, &event, event_id, voucher_series, now)?;
    let units = insert_units(conn, &project)?;
    insert_allotments(conn, &event, event_id)?;
    insert_buyers(conn, &event, event_id)?;
    let summary = OpenedDesk {
        event_id: event_id.to_owned(),
        units,
        allotted: event.allotted_units.len(),
        buyers: event.buyers.len(),
    };
    // The writer re-reads the tip at the start of every group, so this entry written from
    // another connection extends the same chain.
    let mut tip = ledger::tip(conn)?;
    let cause = Cause { actor: "server", key: None, at: now };
    ledger::append(conn, &mut tip, cause, event_id, "desk_opened", &summary)?;
    Ok(summary)
}

/// The event's document and its project's, read through `server`; `NotFound` if either is
/// missing.
fn read_documents(
    server: &Connection,
    docs: &mut DocCache,
    event_id: &str,
) -> Result<(SelectionEvent, Project), ServerError> {
    let event_doc = docs
        .get(server, &event_doc_id(&EventId::from(event_id)), false)?
        .ok_or(ServerError::NotFound)?;
    let event = read_event(event_doc)?;
    let project_doc = docs
        .get(server, &project_doc_id(&event.project_id), false)?
        .ok_or(ServerError::NotFound)?;
    let project = read_project(project_doc)?;
    Ok((event, project))
}

/// The event's own row: its mode and its voucher series. A desk opens once: `Conflict` if
/// the row is there already.
fn insert_event(
    conn: &Connection,
    event: &SelectionEvent,
    event_id: &str,
    voucher_series: u32,
    now: DateTime<Utc>,
) -> Result<(), ServerError> {
    let opened = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO desk_events(event_id, project_id, mode, voucher_prefix,
                 voucher_next, voucher_last, opened_at)
             VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6)",
        )?
        .execute(params![
            event_id,
            event.project_id.as_str(),
            event.mode.as_str(),
            format!("XF{}-", &event_id.chars().take(6).collect::<String>().to_uppercase()),
            voucher_series,
            instant(now)
        ])?;
    if opened == 0 {
        return Err(ServerError::Conflict(format!("the desk of event {event_id} is already open")));
    }
    Ok(())
}

/// The project's units the desk does not hold yet, with their approved prices; returns how
/// many were new.
fn insert_units(conn: &Connection, project: &Project) -> Result<usize, ServerError> {
    let mut units = 0;
    for u in project.units.values() {
        let approvers = u
            .approval
            .as_ref()
            .map(|a| json!(a.approvers.iter().map(UserId::as_str).collect::<Vec<_>>()).to_string());
        units += conn
            .prepare_cached(
                "INSERT OR IGNORE INTO desk_units(project_id, unit_id, code, area_m2, unit_price,
                     approvers, approved_at, status)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                project.id.as_str(),
                u.id.as_str(),
                u.code,
                u.area_m2.to_string(),
                u.approval.as_ref().and(u.unit_price).map(|p| p.to_string()),
                approvers,
                u.approval.as_ref().map(|a| instant(a.approved_at)),
                u.status.as_str(),
            ])?;
    }
    Ok(units)
}

/// The units allotted to the event.
fn insert_allotments(
    conn: &Connection,
    event: &SelectionEvent,
    event_id: &str,
) -> Result<(), ServerError> {
    for unit_id in &event.allotted_units {
        conn.prepare_cached(
            "INSERT OR IGNORE INTO desk_allotments(event_id, unit_id) VALUES (?1, ?2)",
        )?
        .execute(params![event_id, unit_id.as_str()])?;
    }
    Ok(())
}

/// The event's approved buyer list (ID numbers only as their hash and masked form).
fn insert_buyers(
    conn: &Connection,
    event: &SelectionEvent,
    event_id: &str,
) -> Result<(), ServerError> {
    for b in event.buyers.values() {
        conn.prepare_cached(
            "INSERT OR IGNORE INTO desk_buyers(event_id, buyer_id, name, id_number_hash,
                 id_number_masked, lottery_no)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            event_id,
            b.id.as_str(),
            b.name,
            b.id_number_hash,
            b.id_number_masked,
            b.lottery_no
        ])?;
    }
    Ok(())
}

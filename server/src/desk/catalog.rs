//! Opening an event's desk: the desk takes over the event's units, prices and buyer list from
//! the documents headquarters prepared, and from then on is their authority.

use chrono::{DateTime, Utc};
use kam_core::doc::{event_doc_id, project_doc_id, read_event, read_project};
use kam_core::model::{EventId, Project, SelectionEvent};

use super::ledger::{self, Cause};
use crate::db::Db;
use crate::db::desk::state::instant;
use crate::db::desk::state::{NewDeskEvent, NewDeskUnit};
use crate::db::desk::{DeskGroup, DeskState};
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

/// Opens the desk of `event_id`: reads its documents through `server` and writes the desk's
/// rows through `tx`, the caller's write transaction on the desk file. Units the desk already
/// holds (a project shared by two events) keep their desk status: the desk, not the
/// document, is their authority once loaded.
pub(crate) fn open_event(
    server: &dyn Db,
    docs: &mut DocCache,
    tx: &dyn DeskGroup,
    event_id: &str,
    voucher_series: u32,
    now: DateTime<Utc>,
) -> Result<OpenedDesk, ServerError> {
    // Voucher numbers are bounded (ADR 0017): a series beyond them could not be cancelled.
    kam_core::desk::bounds::check_voucher_no(voucher_series)
        .map_err(|e| ServerError::Invalid { field: "voucher_series", reason: e.to_string() })?;
    let (event, project) = read_documents(server, docs, event_id)?;
    insert_event(tx, &event, event_id, voucher_series, now)?;
    let units = insert_units(tx, &project)?;
    for unit_id in &event.allotted_units {
        tx.allot_unit(event_id, unit_id.as_str())?;
    }
    for buyer in event.buyers.values() {
        tx.list_buyer(event_id, buyer)?;
    }
    let summary = OpenedDesk {
        event_id: event_id.to_owned(),
        units,
        allotted: event.allotted_units.len(),
        buyers: event.buyers.len(),
    };
    // The writer re-reads the tip at the start of every group, so this entry written from
    // another connection extends the same chain.
    let mut tip = ledger::tip(tx)?;
    let cause = Cause { actor: "server", key: None, at: now };
    ledger::append(tx, &mut tip, cause, event_id, "desk_opened", &summary)?;
    Ok(summary)
}

/// The event's document and its project's, read through `server`; `NotFound` if either is
/// missing.
fn read_documents(
    server: &dyn Db,
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
    desk: &dyn DeskState,
    event: &SelectionEvent,
    event_id: &str,
    voucher_series: u32,
    now: DateTime<Utc>,
) -> Result<(), ServerError> {
    let voucher_prefix =
        format!("XF{}-", &event_id.chars().take(6).collect::<String>().to_uppercase());
    let opened_at = instant(now);
    let opened = desk.insert_desk_event(&NewDeskEvent {
        event_id,
        name: &event.name,
        project_id: event.project_id.as_str(),
        mode: event.mode,
        voucher_prefix: &voucher_prefix,
        voucher_last: voucher_series,
        opened_at: &opened_at,
    })?;
    if !opened {
        return Err(ServerError::Conflict(format!("the desk of event {event_id} is already open")));
    }
    Ok(())
}

/// The project's units the desk does not hold yet, with their approved prices; returns how
/// many were new.
fn insert_units(desk: &dyn DeskState, project: &Project) -> Result<usize, ServerError> {
    let mut units = 0;
    for u in project.units.values() {
        units += desk.insert_desk_unit(
            project.id.as_str(),
            &NewDeskUnit {
                unit_id: u.id.as_str(),
                building: project.buildings.get(&u.building_id).map_or("", |b| b.name.as_str()),
                floor: u.floor,
                layout: &u.layout,
                code: &u.code,
                area_m2: u.area_m2,
                unit_price: u.unit_price,
                approval: u.approval.as_ref().map(|a| (a.approvers.as_slice(), a.approved_at)),
                status: u.status,
            },
        )?;
    }
    Ok(units)
}

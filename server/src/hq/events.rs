//! Headquarters and the selection events: every event document with its project, allotment
//! and buyer list and whether its desk is open on this server, and the decision to open a
//! desk (the desk then takes over the event's units, prices and buyers from the documents).

use chrono::{DateTime, Utc};
use kam_core::doc::{DocId, DocKind, read_event};
use serde::Serialize;
use serde_json::json;

use super::decisions::{Decider, may_decide};
use crate::audit;
use crate::desk::catalog::OpenedDesk;
use crate::error::ServerError;
use crate::services::Services;
use crate::store::Store;

/// One selection event as headquarters lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EventSummary {
    /// The event.
    pub event_id: String,
    /// Its name.
    pub name: String,
    /// The project whose units it sells.
    pub project_id: String,
    /// When selection starts.
    pub starts_at: DateTime<Utc>,
    /// Units allotted to it.
    pub allotted_units: usize,
    /// Buyers on its list.
    pub buyers: usize,
    /// Whether its desk is open on this server.
    pub desk_open: bool,
}

/// Every selection event document, by start then id.
pub fn selection_events(store: &mut Store) -> Result<Vec<EventSummary>, ServerError> {
    let ids: Vec<DocId> = store
        .conn()
        .document_seqs()?
        .into_iter()
        .filter_map(|(id, _)| id.parse::<DocId>().ok())
        .filter(|id| id.kind() == DocKind::Event)
        .collect();
    let mut events = Vec::with_capacity(ids.len());
    for id in ids {
        let Some(doc) = store.document(&id)? else { continue };
        let event = read_event(doc)?;
        let event_id = event.id.as_str().to_owned();
        events.push(EventSummary {
            desk_open: store.desk().desk_event(&event_id)?.is_some(),
            event_id,
            name: event.name,
            project_id: event.project_id.as_str().to_owned(),
            starts_at: event.starts_at,
            allotted_units: event.allotted_units.len(),
            buyers: event.buyers.len(),
        });
    }
    events.sort_by(|a, b| (a.starts_at, &a.event_id).cmp(&(b.starts_at, &b.event_id)));
    Ok(events)
}

/// Opens the desk of `event_id` with a series of `voucher_series` pre-numbered vouchers, as
/// headquarters decided it, and records the decision in the audit log. `Forbidden` unless
/// `by` may decide; `Conflict` if the desk is open already; `NotFound` without the event's
/// documents.
pub async fn open_desk(
    services: &Services,
    by: Decider<'_>,
    event_id: String,
    voucher_series: u32,
) -> Result<OpenedDesk, ServerError> {
    if !may_decide(by.role) {
        return Err(ServerError::Forbidden("desks are opened by headquarters".into()));
    }
    let by = by.user_id.to_owned();
    services
        .with_store(move |store| {
            let now = Utc::now();
            let opened = store.open_desk(&event_id, voucher_series, now)?;
            let detail = json!({ "units": opened.units, "allotted": opened.allotted,
                                 "buyers": opened.buyers, "voucher_series": voucher_series });
            store.write(|tx, _, _| audit::log(tx, now, &by, "desk.open", &event_id, &detail))?;
            Ok(opened)
        })
        .await
}

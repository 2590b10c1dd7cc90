//! Headquarters and the selection events: every event document with its project, allotment
//! and buyer list and whether its desk is open on this server, and the decision to open a
//! desk (the desk then takes over the event's units, prices and buyers from the documents),
//! to lend an open desk to a venue server and to take a lost venue's desk back (ADR 0021);
//! and the venue server's own step, handing the desk back.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use kam_core::model::Role;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::decisions::{Decider, may_decide};
use super::listing::{self, Dir, ListSpec, SortColumn, SortValue};
use crate::audit;
use crate::db::desk::DeskDb;
use crate::db::{Db, ReviewStore};
use crate::desk::Desk;
use crate::desk::catalog::OpenedDesk;
use crate::desk::delegation::edge;
use crate::desk::delegation::lend::{self, LendRequest, Lent, VenueLag};
use crate::error::ServerError;
use crate::services::Services;

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

/// Every selection event, by start then id: the projection of the event documents (what
/// every headquarters list reads), and whether its desk is open on this server from the desk's
/// database — both readable on headquarters' read pool.
pub fn selection_events(db: &dyn Db, desk: &dyn DeskDb) -> Result<Vec<EventSummary>, ServerError> {
    let open: BTreeSet<String> = desk.open_events()?.into_iter().map(|(id, _)| id).collect();
    let mut events = Vec::new();
    for e in db.projected_events()? {
        let starts_at = DateTime::parse_from_rfc3339(&e.starts_at)
            .map_err(|err| {
                ServerError::Corrupt(format!(
                    "event {}: start {:?}: {err}",
                    e.event_id, e.starts_at
                ))
            })?
            .with_timezone(&Utc);
        events.push(EventSummary {
            desk_open: open.contains(&e.event_id),
            allotted_units: usize::try_from(e.allotted_units).unwrap_or(usize::MAX),
            buyers: usize::try_from(e.buyers).unwrap_or(usize::MAX),
            event_id: e.event_id,
            name: e.name,
            project_id: e.project_id,
            starts_at,
        });
    }
    events.sort_by(|a, b| (a.starts_at, &a.event_id).cmp(&(b.starts_at, &b.event_id)));
    Ok(events)
}

/// The event list's filters, as the query string spells them.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct EventQuery {
    /// The project.
    pub project: Option<String>,
    /// `open` or `closed`: whether the event's desk is open on this server.
    pub desk: Option<String>,
    /// Part of the event's name or id.
    pub q: Option<String>,
}

impl EventQuery {
    /// The filters as query-string pairs.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let v = |o: &Option<String>| o.clone().unwrap_or_default();
        vec![("project", v(&self.project)), ("desk", v(&self.desk)), ("q", v(&self.q))]
    }
}

fn count(n: usize) -> Option<SortValue> {
    i64::try_from(n).ok().map(SortValue::Int)
}

/// The event list: by start, the earliest first, by default.
pub const EVENTS: ListSpec<EventSummary> = ListSpec {
    columns: &[
        SortColumn { key: "starts", value: |e| Some(SortValue::Text(e.starts_at.to_rfc3339())) },
        SortColumn { key: "name", value: |e| Some(SortValue::Text(e.name.clone())) },
        SortColumn { key: "project", value: |e| Some(SortValue::Text(e.project_id.clone())) },
        SortColumn { key: "units", value: |e| count(e.allotted_units) },
        SortColumn { key: "buyers", value: |e| count(e.buyers) },
    ],
    default: ("starts", Dir::Asc),
    id: |e| &e.event_id,
};

/// The events among `events` matching `query`; a project no event sells or a desk state that
/// cannot be is refused by name.
pub fn matching(
    mut events: Vec<EventSummary>,
    query: &EventQuery,
) -> Result<Vec<EventSummary>, ServerError> {
    let open = listing::either(&query.desk, "desk", ("open", "closed"))?;
    let q = listing::search_text(query.q.as_deref())?;
    let project = listing::given(&query.project);
    if let Some(p) = project
        && !events.iter().any(|e| e.project_id == p)
    {
        let reason = format!("no selection event sells project {p:?}");
        return Err(ServerError::Invalid { field: "project", reason });
    }
    events.retain(|e| {
        project.is_none_or(|p| e.project_id == p)
            && open.is_none_or(|o| e.desk_open == o)
            && q.as_deref().is_none_or(|q| {
                listing::contains_folded(&e.name, q) || listing::contains_folded(&e.event_id, q)
            })
    });
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

/// The longest lease headquarters may grant from the page, in hours (two weeks).
pub const MAX_LEASE_HOURS: i64 = 336;

/// A venue server an event's desk may be lent to: an active device of a `venue` user who
/// holds the event's grant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VenueDevice {
    /// The device.
    pub device_id: String,
    /// Its label ("hall-1").
    pub label: String,
    /// The venue's account.
    pub user_id: String,
}

/// The venue servers `event_id`'s desk may be lent to, newest first.
pub fn venue_devices(db: &dyn Db, event_id: &str) -> Result<Vec<VenueDevice>, ServerError> {
    let grant = format!("event/{event_id}");
    let mut venues = Vec::new();
    for device in db.devices_newest_first()?.into_iter().filter(|d| d.revoked_at.is_none()) {
        if db.user_role(&device.user_id)? == Some(Role::Venue)
            && db.has_grant(&device.user_id, &grant)?
        {
            venues.push(VenueDevice {
                device_id: device.device_id,
                label: device.label,
                user_id: device.user_id,
            });
        }
    }
    Ok(venues)
}

/// The events page's reading: every event, the venue servers each open desk may be lent to,
/// and every delegation with its lag at `now`.
#[derive(Clone, Debug, Default)]
pub struct EventsWithVenues {
    /// The events, as [`selection_events`] lists them.
    pub events: Vec<EventSummary>,
    /// Per open event, the venue servers it may be lent to.
    pub venues: BTreeMap<String, Vec<VenueDevice>>,
    /// Every delegation central made, oldest first.
    pub delegations: Vec<VenueLag>,
}

/// Reads [`EventsWithVenues`] at `now`.
pub fn events_with_venues(
    db: &dyn Db,
    desk: &dyn DeskDb,
    now: DateTime<Utc>,
) -> Result<EventsWithVenues, ServerError> {
    let events = selection_events(db, desk)?;
    let mut venues = BTreeMap::new();
    for event in events.iter().filter(|e| e.desk_open) {
        venues.insert(event.event_id.clone(), venue_devices(db, &event.event_id)?);
    }
    let delegations = lend::lag(desk, now)?;
    Ok(EventsWithVenues { events, venues, delegations })
}

/// Whether a lent desk may be taken back at `now`: its lease ended more than the clock-skew
/// allowance ago.
pub fn may_take_back(lag: &VenueLag, now: DateTime<Utc>) -> bool {
    lag.state == "active"
        && DateTime::parse_from_rfc3339(&lag.lease_until).is_ok_and(|until| {
            let allowance = Duration::seconds(lend::CLOCK_SKEW_ALLOWANCE_S);
            until.with_timezone(&Utc).checked_add_signed(allowance).is_some_and(|free| now > free)
        })
}

/// Records a delegation in the audit log (the page's and `admin delegate`'s).
pub fn audit_delegation(
    db: &dyn ReviewStore,
    at: DateTime<Utc>,
    actor: &str,
    venue_device: &str,
    lent: &Lent,
) -> Result<(), ServerError> {
    let detail = json!({ "venue_device": venue_device, "generation": lent.generation,
                         "lease_until": lent.lease_until });
    audit::log(db, at, actor, "event.delegate", &lent.event_id, &detail)
}

fn desk_of(services: &Services) -> Result<&Desk, ServerError> {
    services.desk.as_ref().ok_or(ServerError::NotFound)
}

fn writer_gone() -> ServerError {
    ServerError::Unavailable("the desk's writer did not take the step".into())
}

/// Lends `event_id`'s desk to the venue server `venue_device` for `lease_hours` (1 to
/// [`MAX_LEASE_HOURS`]) as headquarters decided it, through the desk's writer, and records
/// it in the audit log. From the commit on, this server refuses the event's commands with
/// `event_delegated`. `Forbidden` unless `by` may decide; the delegation's refusals (already
/// lent, units shared with another event, not a venue of the event) as their stable codes.
pub async fn delegate_desk(
    services: &Services,
    by: Decider<'_>,
    event_id: String,
    venue_device: String,
    lease_hours: i64,
) -> Result<Lent, ServerError> {
    if !may_decide(by.role) {
        return Err(ServerError::Forbidden("desks are lent by headquarters".into()));
    }
    if !(1..=MAX_LEASE_HOURS).contains(&lease_hours) {
        let reason = format!("the lease is 1 to {MAX_LEASE_HOURS} hours, not {lease_hours}");
        return Err(ServerError::Invalid { field: "lease_hours", reason });
    }
    let actor = by.user_id.to_owned();
    let Some(lease_until) = Utc::now().checked_add_signed(Duration::hours(lease_hours)) else {
        let reason = format!("a lease of {lease_hours} hours ends beyond the calendar");
        return Err(ServerError::Invalid { field: "lease_hours", reason });
    };
    let request = LendRequest {
        event_id,
        venue_device_id: venue_device.clone(),
        lease_until,
        actor: actor.clone(),
    };
    let lent = desk_of(services)?
        .run(move |tx, server, tip, now| lend::lend(tx, server, tip, &request, now))
        .await
        .ok_or_else(writer_gone)??;
    let audited = lent.clone();
    services
        .with_store(move |store| {
            let now = Utc::now();
            store.write(|tx, _, _| audit_delegation(tx, now, &actor, &venue_device, &audited))
        })
        .await?;
    Ok(lent)
}

/// Takes a lost venue's desk back at central once its lease has ended plus the clock-skew
/// allowance (`lease_not_ended` before), audited; answers the generation central now holds.
pub async fn take_back_desk(
    services: &Services,
    by: Decider<'_>,
    event_id: String,
) -> Result<i64, ServerError> {
    if !may_decide(by.role) {
        return Err(ServerError::Forbidden("desks are taken back by headquarters".into()));
    }
    let actor = by.user_id.to_owned();
    let (event, who) = (event_id.clone(), actor.clone());
    let generation = desk_of(services)?
        .run(move |tx, _, tip, now| lend::take_back(tx, tip, &event, &who, now))
        .await
        .ok_or_else(writer_gone)??;
    services
        .with_store(move |store| {
            let now = Utc::now();
            let detail = json!({ "generation": generation });
            store.write(|tx, _, _| {
                audit::log(tx, now, &actor, "event.take_back", &event_id, &detail)
            })
        })
        .await?;
    Ok(generation)
}

/// On a venue server: stops serving the lent event and starts handing it back to central
/// (the uplink ships the last batch with every row), through the desk's writer, audited
/// `event.hand_back` under `actor`. Answers the event.
pub async fn hand_back_desk(services: &Services, actor: String) -> Result<String, ServerError> {
    let event_id = desk_of(services)?
        .run(|tx, _, _, now| edge::hand_back(tx, now))
        .await
        .ok_or_else(writer_gone)??;
    let event = event_id.clone();
    services
        .with_store(move |store| {
            let now = Utc::now();
            store.write(|tx, _, _| {
                audit::log(tx, now, &actor, "event.hand_back", &event, &json!({}))
            })
        })
        .await?;
    Ok(event_id)
}

//! Central's side of a delegation (ADR 0021): lending an event's desk to a venue, the offer
//! the venue takes, each batch of its segment, the hand-back, taking the desk back after the
//! lease, and importing a venue's export bundle.
//!
//! Each step that writes runs as one job of the desk's writer (`Desk::run`), in turn with the
//! commands: no command of the event can slip between a check and the write it guards.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use super::segment::{continue_chain, mirror_summary, verify_signature};
use super::wire::{Ack, Bundle, Link, Offer, Shipment};
use super::{Authority, DelegationError};
use crate::db::Db;
use crate::db::desk::delegation::{DelegationRow, LeaseSide, LeaseState, ShippedReport};
use crate::db::desk::image::UnitScope;
use crate::db::desk::ledger::LedgerTip;
use crate::db::desk::state::instant;
use crate::db::desk::{DeskDb, DeskGroup};
use crate::desk::ledger::{self, Cause, Tip};
use crate::desk::reconcile;

/// How long after a lease's end (by central's clock) the desk may be taken back: room for the
/// venue's clock running behind.
pub const CLOCK_SKEW_ALLOWANCE_S: i64 = 300;

/// What headquarters asks for when it lends a desk.
#[derive(Clone, Debug)]
pub struct LendRequest {
    /// The event.
    pub event_id: String,
    /// The venue server's device.
    pub venue_device_id: String,
    /// When the lease ends.
    pub lease_until: DateTime<Utc>,
    /// Who lends it.
    pub actor: String,
}

/// A desk lent.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Lent {
    /// The event.
    pub event_id: String,
    /// The generation the venue holds.
    pub generation: i64,
    /// The venue's name.
    pub venue_name: String,
    /// When the lease ends.
    pub lease_until: String,
    /// The delegation entry.
    pub anchor: Link,
}

fn tip_of(t: Tip) -> LedgerTip {
    LedgerTip { seq: t.seq, hash: t.hash }
}

/// Lends `req.event_id`'s desk to the venue device: appends `desk_delegated` to central's
/// chain and records the generation. From this commit on, central refuses the event's
/// commands.
pub fn lend(
    tx: &dyn DeskGroup,
    server: &dyn Db,
    tip: &mut Tip,
    req: &LendRequest,
    now: DateTime<Utc>,
) -> Result<Lent, DelegationError> {
    let event = &req.event_id;
    if tx.desk_event(event)?.is_none() {
        return Err(DelegationError::NoDesk(event.clone()));
    }
    let previous = tx.delegation(event)?;
    if super::authority_of(previous.as_ref(), now) != Authority::Here {
        return Err(DelegationError::AlreadyDelegated(event.clone()));
    }
    if let Some(other) = tx.event_sharing_units(event)? {
        return Err(DelegationError::SharedUnits { event: event.clone(), other });
    }
    let venue = venue_device(server, &req.venue_device_id, event)?;
    // Odd generations are a venue's; the previous one ended at central's even generation.
    let generation = previous.map_or(1, |p| p.generation.saturating_add(2));
    let lease_until = instant(req.lease_until);
    let entry = json!({ "venue_device_id": req.venue_device_id, "venue_name": venue.label,
                        "generation": generation, "lease_until": lease_until });
    let cause = Cause { actor: &req.actor, key: None, at: now };
    ledger::append(tx, tip, cause, event, "desk_delegated", &entry)?;
    let anchor = tip_of(*tip);
    let mut key = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut key);
    tx.insert_delegation(&DelegationRow {
        event_id: event.clone(),
        generation,
        side: LeaseSide::Lent,
        venue_device_id: req.venue_device_id.clone(),
        venue_name: venue.label.clone(),
        lease_until: lease_until.clone(),
        anchor,
        bundle_key: hex::encode(key),
        state: LeaseState::Active,
        shipped: anchor,
        venue_tip_seq: anchor.seq,
        oldest_unshipped_at: None,
        last_heard_at: None,
        delegated_at: instant(now),
        ended_at: None,
    })?;
    Ok(Lent {
        event_id: event.clone(),
        generation,
        venue_name: venue.label,
        lease_until,
        anchor: Link::from(anchor),
    })
}

/// The venue device, which must be active, of a venue user holding the event's grant.
fn venue_device(
    server: &dyn Db,
    device_id: &str,
    event_id: &str,
) -> Result<crate::db::accounts::DeviceRow, DelegationError> {
    let found = server
        .devices_newest_first()?
        .into_iter()
        .find(|d| d.device_id == device_id && d.revoked_at.is_none());
    let Some(device) = found else {
        return Err(DelegationError::NotDelegated(format!(
            "{event_id}: no active device {device_id}"
        )));
    };
    let role = server.user_role(&device.user_id)?;
    let granted = server.has_grant(&device.user_id, &format!("event/{event_id}"))?;
    if role != Some(kam_core::model::Role::Venue) || !granted {
        return Err(DelegationError::NotDelegated(format!(
            "{event_id}: device {device_id} is not a venue server assigned to the event"
        )));
    }
    Ok(device)
}

/// The active delegation lent to `device_id`, if any. An active lent generation is always its
/// event's latest: `lend` starts a new one only when the event is served here again.
fn lent_to(desk: &dyn DeskDb, device_id: &str) -> Result<Option<DelegationRow>, DelegationError> {
    Ok(desk.delegations()?.into_iter().rev().find(|row| {
        row.side == LeaseSide::Lent
            && row.state == LeaseState::Active
            && row.venue_device_id == device_id
    }))
}

/// The offer of the desk lent to `device_id`: everything the venue needs to serve the event.
pub fn offer(
    desk: &dyn DeskDb,
    server: &dyn Db,
    device_id: &str,
    venue_user: &str,
) -> Result<Option<Offer>, DelegationError> {
    let Some(row) = lent_to(desk, device_id)? else { return Ok(None) };
    let image = desk
        .event_image(&row.event_id, None)?
        .ok_or_else(|| DelegationError::NoDesk(row.event_id.clone()))?;
    let people = server.people_with_grant(&format!("event/{}", row.event_id), venue_user)?;
    Ok(Some(Offer {
        event_id: row.event_id,
        generation: row.generation,
        venue_name: row.venue_name,
        lease_until: row.lease_until,
        anchor: Link::from(row.anchor),
        shipped: Link::from(row.shipped),
        bundle_key: row.bundle_key,
        image,
        people,
    }))
}

/// Takes one batch of the venue's segment: checks who sends it and its generation, verifies
/// the chain from what central holds, stores the new entries, applies the rows they name,
/// records a `venue_segment` entry for the mirror and, on a final batch, resumes the event.
/// A batch whose entries central holds already is answered the same: shipping is idempotent
/// by sequence.
pub fn receive(
    tx: &dyn DeskGroup,
    tip: &mut Tip,
    device_id: &str,
    shipment: &Shipment,
    now: DateTime<Utc>,
) -> Result<Ack, DelegationError> {
    let event = &shipment.event_id;
    let row = tx.delegation(event)?.filter(|r| r.side == LeaseSide::Lent);
    let Some(row) = row.filter(|r| r.venue_device_id == device_id) else {
        return Err(DelegationError::NotDelegated(event.clone()));
    };
    if shipment.generation != row.generation {
        return Err(DelegationError::StaleGeneration {
            got: shipment.generation,
            current: row.generation,
        });
    }
    let fresh = known_prefix(tx, &row, shipment)?;
    if row.state != LeaseState::Active {
        // A retried final batch after the hand-back committed gets the same answer.
        if row.state == LeaseState::Returned && fresh.is_empty() && shipment.is_final {
            return Ok(Ack { shipped: Link::from(row.shipped), returned: true });
        }
        return Err(DelegationError::NotDelegated(event.clone()));
    }
    let (entries, venue_tip) = continue_chain(row.shipped, event, fresh)?;
    for e in &entries {
        tx.append_venue_entry(row.generation, e)?;
    }
    if let Some(image) = &shipment.image {
        tx.apply_image(image, UnitScope::Allotted)?;
    }
    let venue = format!("venue:{}", row.venue_device_id);
    let cause = Cause { actor: &venue, key: None, at: now };
    if let (Some(first), Some(last)) = (entries.first(), entries.last()) {
        let entry = json!({ "generation": row.generation, "from_seq": first.seq,
                            "to_seq": last.seq, "tip_hash": hex::encode(venue_tip.hash),
                            "entries": entries.len(), "mirror": mirror_summary(&entries) });
        ledger::append(tx, tip, cause, event, "venue_segment", &entry)?;
    }
    tx.set_shipped(&ShippedReport {
        event_id: event,
        generation: row.generation,
        shipped: venue_tip,
        venue_tip_seq: shipment.venue_tip.seq,
        oldest_unshipped_at: shipment.oldest_unshipped_at.as_deref(),
        heard_at: &instant(now),
    })?;
    if shipment.is_final {
        resume(tx, tip, &row, venue_tip, shipment, cause)?;
    }
    Ok(Ack { shipped: Link::from(venue_tip), returned: shipment.is_final })
}

/// The entries of `shipment` central does not hold yet; those it holds must match.
fn known_prefix<'s>(
    tx: &dyn DeskGroup,
    row: &DelegationRow,
    shipment: &'s Shipment,
) -> Result<&'s [super::wire::WireEntry], DelegationError> {
    let held = shipment.entries.iter().take_while(|e| e.seq <= row.shipped.seq).count();
    for e in shipment.entries.iter().take(held) {
        let stored = tx.venue_entry_hash(&row.event_id, row.generation, e.seq)?;
        let anchor_match = e.seq == row.anchor.seq && e.hash == hex::encode(row.anchor.hash);
        if !anchor_match && stored.map(hex::encode).as_deref() != Some(e.hash.as_str()) {
            return Err(DelegationError::ChainBreak {
                seq: e.seq,
                reason: "it differs from the entry central holds".into(),
            });
        }
    }
    Ok(shipment.entries.get(held..).unwrap_or_default())
}

/// Ends a generation on a final batch: the full image must reconcile; central appends
/// `desk_returned` naming the segment's tip and serves the event again.
fn resume(
    tx: &dyn DeskGroup,
    tip: &mut Tip,
    row: &DelegationRow,
    venue_tip: LedgerTip,
    shipment: &Shipment,
    cause: Cause<'_>,
) -> Result<(), DelegationError> {
    if !shipment.image.as_ref().is_some_and(|i| i.full) {
        return Err(DelegationError::Unreconciled("a hand-back carries every row".into()));
    }
    let books = reconcile::reconcile(tx, &row.event_id)?;
    if let Some(first) = books.mismatches.first() {
        return Err(DelegationError::Unreconciled(format!("{first:?}")));
    }
    let entry = json!({ "generation": row.generation.saturating_add(1),
                        "venue_generation": row.generation,
                        "segment_tip": Link::from(venue_tip),
                        "units_sold": books.units_sold, "vouchers_live": books.vouchers_live });
    ledger::append(tx, tip, cause, &row.event_id, "desk_returned", &entry)?;
    tx.end_delegation(&row.event_id, row.generation, LeaseState::Returned, &instant(cause.at))?;
    Ok(())
}

/// Takes a lost venue's desk back once its lease has ended (plus the clock-skew allowance):
/// what the venue did not ship is lost to central, so the bundle is tried first.
pub fn take_back(
    tx: &dyn DeskGroup,
    tip: &mut Tip,
    event_id: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<i64, DelegationError> {
    let row = tx.delegation(event_id)?.filter(|r| r.side == LeaseSide::Lent);
    let Some(row) = row.filter(|r| r.state == LeaseState::Active) else {
        return Err(DelegationError::NotDelegated(event_id.to_owned()));
    };
    let free_at = DateTime::parse_from_rfc3339(&row.lease_until)
        .ok()
        .and_then(|t| {
            t.with_timezone(&Utc).checked_add_signed(Duration::seconds(CLOCK_SKEW_ALLOWANCE_S))
        })
        .ok_or_else(|| DelegationError::LeaseNotEnded(row.lease_until.clone()))?;
    if now < free_at {
        return Err(DelegationError::LeaseNotEnded(row.lease_until.clone()));
    }
    let entry = json!({ "generation": row.generation.saturating_add(1),
                        "venue_generation": row.generation,
                        "segment_tip": Link::from(row.shipped) });
    let cause = Cause { actor, key: None, at: now };
    ledger::append(tx, tip, cause, event_id, "desk_taken_back", &entry)?;
    tx.end_delegation(event_id, row.generation, LeaseState::TakenBack, &instant(now))?;
    Ok(row.generation.saturating_add(1))
}

/// Imports a venue's export bundle: its signature under the delegation's key, then its
/// shipment as a final batch from the venue (the chain is verified the same way).
pub fn import_bundle(
    tx: &dyn DeskGroup,
    tip: &mut Tip,
    bundle: &Bundle,
    now: DateTime<Utc>,
) -> Result<Ack, DelegationError> {
    let event = &bundle.shipment.event_id;
    let Some(row) = tx.delegation(event)?.filter(|r| r.side == LeaseSide::Lent) else {
        return Err(DelegationError::NotDelegated(event.clone()));
    };
    verify_signature(&bundle.shipment, &row.bundle_key, &bundle.mac)?;
    if bundle.anchor != Link::from(row.anchor) || bundle.shipment.generation != row.generation {
        return Err(DelegationError::StaleGeneration {
            got: bundle.shipment.generation,
            current: row.generation,
        });
    }
    receive(tx, tip, &row.venue_device_id, &bundle.shipment, now)
}

/// One delegation as headquarters sees it: who holds the desk and how far behind central is.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct VenueLag {
    /// The event.
    pub event_id: String,
    /// The generation.
    pub generation: i64,
    /// The venue's name.
    pub venue_name: String,
    /// Active, returned, taken back.
    pub state: &'static str,
    /// When the lease ends.
    pub lease_until: String,
    /// The last venue entry central holds.
    pub shipped_seq: i64,
    /// Entries the venue had not shipped when it last reported.
    pub unshipped: i64,
    /// When the oldest of them was written, as last reported.
    pub oldest_unshipped_at: Option<String>,
    /// When central last heard from the venue.
    pub last_heard_at: Option<String>,
    /// Seconds since then, at the time of asking.
    pub last_heard_s: Option<i64>,
}

/// Every delegation central made, newest last, with its lag at `now`.
pub fn lag(desk: &dyn DeskDb, now: DateTime<Utc>) -> Result<Vec<VenueLag>, DelegationError> {
    Ok(desk
        .delegations()?
        .into_iter()
        .filter(|d| d.side == LeaseSide::Lent)
        .map(|d| {
            let heard =
                d.last_heard_at.as_deref().and_then(|t| DateTime::parse_from_rfc3339(t).ok());
            VenueLag {
                last_heard_s: heard
                    .map(|t| now.signed_duration_since(t.with_timezone(&Utc)).num_seconds()),
                event_id: d.event_id,
                generation: d.generation,
                venue_name: d.venue_name,
                state: d.state.as_str(),
                lease_until: d.lease_until,
                shipped_seq: d.shipped.seq,
                unshipped: d.venue_tip_seq.saturating_sub(d.shipped.seq).max(0),
                oldest_unshipped_at: d.oldest_unshipped_at,
                last_heard_at: d.last_heard_at,
            }
        })
        .collect())
}

/// What checking one venue segment found.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SegmentCheck {
    /// The event.
    pub event_id: String,
    /// The venue's generation.
    pub generation: i64,
    /// Entries checked.
    pub entries: i64,
    /// The segment's last hash, hex.
    pub tip_hash: String,
    /// What is wrong, if anything.
    pub fault: Option<String>,
}

/// Checks every venue segment central holds: it starts from its delegation entry in central's
/// chain (that entry's stored hash is the anchor), every link and hash verifies, and it ends
/// at the tip central recorded (which its `desk_returned` entry names after a hand-back).
pub fn verify_segments(desk: &dyn DeskDb) -> Result<Vec<SegmentCheck>, DelegationError> {
    let mut checks = Vec::new();
    for row in desk.delegations()?.into_iter().filter(|d| d.side == LeaseSide::Lent) {
        let anchor_entry = desk.own_entries(row.anchor.seq.saturating_sub(1), 1)?;
        let anchored = anchor_entry
            .first()
            .is_some_and(|e| e.seq == row.anchor.seq && e.hash == row.anchor.hash);
        let mut tip = row.anchor;
        let mut entries = 0i64;
        let mut fault = (!anchored).then(|| "the anchor is not central's delegation entry".into());
        while fault.is_none() {
            let batch = desk.venue_entries(&row.event_id, row.generation, tip.seq, 10_000)?;
            if batch.is_empty() {
                break;
            }
            let wire: Vec<_> = batch.iter().map(super::wire::WireEntry::from).collect();
            match continue_chain(tip, &row.event_id, &wire) {
                Ok((_, next)) => {
                    entries = entries.saturating_add(i64::try_from(batch.len()).unwrap_or(0));
                    tip = next;
                }
                Err(e) => fault = Some(e.to_string()),
            }
        }
        if fault.is_none() && tip != row.shipped {
            fault = Some(format!(
                "the segment ends at {}, central recorded {}",
                tip.seq, row.shipped.seq
            ));
        }
        checks.push(SegmentCheck {
            event_id: row.event_id,
            generation: row.generation,
            entries,
            tip_hash: hex::encode(tip.hash),
            fault,
        });
    }
    Ok(checks)
}

/// What central holds of the segment of the desk lent to `device_id` after `after_seq`: a
/// venue restarted from its second copy takes back what it had shipped before it failed.
pub fn recovery(
    desk: &dyn DeskDb,
    device_id: &str,
    after_seq: i64,
) -> Result<super::wire::Recovery, DelegationError> {
    let Some(row) = lent_to(desk, device_id)? else {
        return Err(DelegationError::NotDelegated(format!("device {device_id}")));
    };
    let entries =
        desk.venue_entries(&row.event_id, row.generation, after_seq, super::edge::BATCH_ENTRIES)?;
    let image = if entries.is_empty() {
        None
    } else {
        desk.event_image(&row.event_id, Some(&super::segment::touched(&entries)))?
    };
    Ok(super::wire::Recovery {
        shipped: Link::from(row.shipped),
        entries: entries.iter().map(super::wire::WireEntry::from).collect(),
        image,
    })
}

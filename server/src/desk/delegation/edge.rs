//! The venue's side of a delegation (ADR 0021): taking the offered desk, the batches of its
//! segment it ships upstream, central's acknowledgements, the hand-back and the export
//! bundle.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::DelegationError;
use super::segment::{sign, touched};
use super::wire::{Ack, Bundle, Link, Offer, Shipment, WireEntry};
use crate::db::desk::delegation::{DelegationRow, LeaseSide, LeaseState, ShippedReport};
use crate::db::desk::image::UnitScope;
use crate::db::desk::ledger::LedgerTip;
use crate::db::desk::state::instant;
use crate::db::desk::{DeskDb, DeskGroup};
use crate::desk::ledger::{self, Cause, Tip};

/// The most entries one batch carries.
pub const BATCH_ENTRIES: i64 = 2_000;

/// The lease this venue holds (or is handing back), if any.
pub fn held(desk: &dyn DeskDb) -> Result<Option<DelegationRow>, DelegationError> {
    Ok(desk.delegations()?.into_iter().rev().find(|r| r.side == LeaseSide::Held))
}

/// Takes the offered desk: the chain continues from central's delegation entry, the event's
/// rows are written, the lease recorded and `desk_lease_received` appended. Taking the same
/// offer again changes nothing; a store that holds another desk refuses.
pub fn accept(
    tx: &dyn DeskGroup,
    tip: &mut Tip,
    offer: &Offer,
    now: DateTime<Utc>,
) -> Result<bool, DelegationError> {
    if let Some(row) = held(tx)? {
        if row.event_id == offer.event_id && row.generation == offer.generation {
            return Ok(false);
        }
        return Err(DelegationError::StoreInUse);
    }
    let anchor = offer.anchor.tip().ok_or_else(|| DelegationError::ChainBreak {
        seq: offer.anchor.seq,
        reason: "the anchor's hash is not hex".into(),
    })?;
    if tx.ledger_tip()?.is_some() || tx.desk_event(&offer.event_id)?.is_some() {
        return Err(DelegationError::StoreInUse);
    }
    tx.set_chain_anchor(anchor)?;
    *tip = Tip { seq: anchor.seq, hash: anchor.hash };
    tx.apply_image(&offer.image, UnitScope::Project)?;
    tx.insert_delegation(&DelegationRow {
        event_id: offer.event_id.clone(),
        generation: offer.generation,
        side: LeaseSide::Held,
        venue_device_id: String::new(),
        venue_name: offer.venue_name.clone(),
        lease_until: offer.lease_until.clone(),
        anchor,
        bundle_key: offer.bundle_key.clone(),
        state: LeaseState::Active,
        shipped: anchor,
        venue_tip_seq: anchor.seq,
        oldest_unshipped_at: None,
        last_heard_at: Some(instant(now)),
        delegated_at: instant(now),
        ended_at: None,
    })?;
    if offer.shipped.seq > anchor.seq {
        // Central holds entries of this generation already: this store is older than the
        // venue's own (a copy taken before it took the desk, or a new box on the device). It
        // takes them back from central before it serves (`take_recovery`), and appends nothing.
        tx.set_copy_mark(&instant(now))?;
        return Ok(true);
    }
    let entry = json!({ "generation": offer.generation, "lease_until": offer.lease_until,
                        "anchor": offer.anchor, "rows": offer.image.row_count() });
    let cause = Cause { actor: "venue", key: None, at: now };
    ledger::append(tx, tip, cause, &offer.event_id, "desk_lease_received", &entry)?;
    Ok(true)
}

/// The next batch to ship, if there is one: entries after what central acknowledged (at most
/// [`BATCH_ENTRIES`]) and the rows they name; while handing back, the last batch carries every
/// row of the event and says so.
pub fn next_shipment(desk: &dyn DeskDb) -> Result<Option<Shipment>, DelegationError> {
    let Some(row) = held(desk)? else { return Ok(None) };
    if !matches!(row.state, LeaseState::Active | LeaseState::Returning) {
        return Ok(None);
    }
    let entries = desk.own_entries(row.shipped.seq, BATCH_ENTRIES)?;
    let last = entries.last().map_or(row.shipped.seq, |e| e.seq);
    let next = desk.own_entries(last, 1)?;
    let is_final = row.state == LeaseState::Returning && next.is_empty();
    if entries.is_empty() && !is_final {
        return Ok(None);
    }
    let image = if is_final {
        desk.event_image(&row.event_id, None)?
    } else {
        desk.event_image(&row.event_id, Some(&touched(&entries)))?
    };
    let tip = ledger::tip(desk)?;
    Ok(Some(Shipment {
        event_id: row.event_id,
        generation: row.generation,
        entries: entries.iter().map(WireEntry::from).collect(),
        image,
        venue_tip: Link::from(LedgerTip { seq: tip.seq, hash: tip.hash }),
        oldest_unshipped_at: next.first().map(|e| e.at.clone()),
        is_final,
    }))
}

/// Records central's answer to a batch.
pub fn acknowledged(
    tx: &dyn DeskGroup,
    event_id: &str,
    ack: &Ack,
    now: DateTime<Utc>,
) -> Result<(), DelegationError> {
    let Some(row) = held(tx)?.filter(|r| r.event_id == event_id) else {
        return Err(DelegationError::NotDelegated(event_id.to_owned()));
    };
    let Some(shipped) = ack.shipped.tip() else {
        return Err(DelegationError::ChainBreak {
            seq: ack.shipped.seq,
            reason: "ack hash".into(),
        });
    };
    let tip = ledger::tip(tx)?;
    let rest = tx.own_entries(shipped.seq, 1)?;
    tx.set_shipped(&ShippedReport {
        event_id,
        generation: row.generation,
        shipped,
        venue_tip_seq: tip.seq,
        oldest_unshipped_at: rest.first().map(|e| e.at.as_str()),
        heard_at: &instant(now),
    })?;
    if ack.returned {
        tx.end_delegation(event_id, row.generation, LeaseState::Returned, &instant(now))?;
    }
    Ok(())
}

/// Stops serving the event and starts handing it back: from this commit on the venue refuses
/// its commands, and the uplink ships what is left with every row of the event. The venue's
/// books must reconcile first (central checks the same rows again): a mismatch is fixed at the
/// venue's finance console while it still serves the event.
pub fn hand_back(tx: &dyn DeskGroup, now: DateTime<Utc>) -> Result<String, DelegationError> {
    let Some(row) = held(tx)? else {
        return Err(DelegationError::NotDelegated("this venue holds no desk".into()));
    };
    if row.state == LeaseState::Active {
        let books = crate::desk::reconcile::reconcile(tx, &row.event_id)?;
        if let Some(first) = books.mismatches.first() {
            return Err(DelegationError::Unreconciled(format!("{first:?}")));
        }
        tx.end_delegation(&row.event_id, row.generation, LeaseState::Returning, &instant(now))?;
    }
    Ok(row.event_id)
}

/// The export bundle: every entry since the anchor and every row of the event, signed with
/// the delegation's key. Writing it stops the venue serving the event (as a hand-back does):
/// the bundle must be the venue's last word.
pub fn export_bundle(tx: &dyn DeskGroup, now: DateTime<Utc>) -> Result<Bundle, DelegationError> {
    let event_id = hand_back(tx, now)?;
    let Some(row) = held(tx)? else { return Err(DelegationError::NotDelegated(event_id)) };
    let entries = tx.own_entries(row.anchor.seq, i64::MAX)?;
    let image = tx.event_image(&event_id, None)?;
    let tip = ledger::tip(tx)?;
    let shipment = Shipment {
        event_id,
        generation: row.generation,
        entries: entries.iter().map(WireEntry::from).collect(),
        image,
        venue_tip: Link::from(LedgerTip { seq: tip.seq, hash: tip.hash }),
        oldest_unshipped_at: None,
        is_final: true,
    };
    let mac = sign(&shipment, &row.bundle_key)?;
    Ok(Bundle { anchor: Link::from(row.anchor), shipment, mac })
}

/// What the venue's consoles show about its lease.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct LeaseStatus {
    /// The event.
    pub event_id: String,
    /// The generation held.
    pub generation: i64,
    /// When the lease ends.
    pub lease_until: String,
    /// Active, returning, returned.
    pub state: &'static str,
    /// Entries central has not acknowledged yet.
    pub unshipped: i64,
    /// When the oldest of them was written.
    pub oldest_unshipped_at: Option<String>,
    /// When central last answered.
    pub last_heard_at: Option<String>,
}

/// The lease's status, for the venue's pages.
pub fn status(desk: &dyn DeskDb) -> Result<Option<LeaseStatus>, DelegationError> {
    let Some(row) = held(desk)? else { return Ok(None) };
    let tip = ledger::tip(desk)?;
    let oldest = desk.own_entries(row.shipped.seq, 1)?.first().map(|e| e.at.clone());
    Ok(Some(LeaseStatus {
        event_id: row.event_id,
        generation: row.generation,
        lease_until: row.lease_until,
        state: row.state.as_str(),
        unshipped: tip.seq.saturating_sub(row.shipped.seq),
        oldest_unshipped_at: oldest,
        last_heard_at: row.last_heard_at,
    }))
}

/// What comparing a venue restarted from its second copy with central found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Compared {
    /// The venue holds everything central holds: it serves again.
    Agrees,
    /// Central holds entries the venue lost: take them first.
    Behind,
}

/// Compares this copy's chain with what central holds (`shipped`): if central holds nothing
/// beyond the venue's tip and the hashes agree, the copy's mark is cleared and the venue
/// serves again. Chains that disagree stay held back: a person decides (ADR 0021).
fn compare_with_central(tx: &dyn DeskGroup, shipped: &Link) -> Result<Compared, DelegationError> {
    let tip = ledger::tip(tx)?;
    if shipped.seq > tip.seq {
        return Ok(Compared::Behind);
    }
    let ours = match tx.own_entries(shipped.seq.saturating_sub(1), 1)?.first() {
        Some(e) if e.seq == shipped.seq => hex::encode(&e.hash),
        _ => held(tx)?.map(|r| hex::encode(r.anchor.hash)).unwrap_or_default(),
    };
    if ours != shipped.hash {
        return Err(DelegationError::ChainBreak {
            seq: shipped.seq,
            reason: "this copy's chain and central's disagree".into(),
        });
    }
    tx.clear_copy_mark()?;
    Ok(Compared::Agrees)
}

/// One step of a copy's recovery with what central answered: takes back the entries central
/// holds beyond the copy's tip, or — when there are none left — compares tips and clears the
/// copy's mark. Returns the entries taken back (0 once compared).
pub fn recover(
    tx: &dyn DeskGroup,
    tip: &mut Tip,
    recovery: &super::wire::Recovery,
) -> Result<usize, DelegationError> {
    if recovery.entries.is_empty() {
        return compare_with_central(tx, &recovery.shipped).map(|_| 0);
    }
    take_recovery(tx, tip, recovery)
}

/// Takes back entries central holds beyond this copy's tip, verbatim (they continue its
/// chain), with central's rows for what they name.
fn take_recovery(
    tx: &dyn DeskGroup,
    tip: &mut Tip,
    recovery: &super::wire::Recovery,
) -> Result<usize, DelegationError> {
    let Some(row) = held(tx)? else {
        return Err(DelegationError::NotDelegated("this venue holds no desk".into()));
    };
    let from = LedgerTip { seq: tip.seq, hash: tip.hash };
    let (entries, new_tip) =
        super::segment::continue_chain(from, &row.event_id, &recovery.entries)?;
    for e in &entries {
        let (Ok(prev), Ok(hash)) =
            (<[u8; 32]>::try_from(e.prev_hash.as_slice()), <[u8; 32]>::try_from(e.hash.as_slice()))
        else {
            return Err(DelegationError::ChainBreak { seq: e.seq, reason: "hash length".into() });
        };
        tx.append_ledger_entry(&crate::db::desk::ledger::NewLedgerEntry {
            seq: e.seq,
            at: &e.at,
            event_id: &e.event_id,
            actor: &e.actor,
            idempotency_key: e.idempotency_key.as_deref(),
            kind: &e.kind,
            entry: &e.entry,
            prev_hash: &prev,
            hash: &hash,
        })?;
    }
    if let Some(image) = &recovery.image {
        tx.apply_image(image, UnitScope::Project)?;
    }
    *tip = Tip { seq: new_tip.seq, hash: new_tip.hash };
    Ok(entries.len())
}

//! The checks both sides share: a run of entries continues a chain, which rows a run names,
//! what the mirror needs to know of it, and the export bundle's signature.

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::DelegationError;
use super::wire::{Shipment, WireEntry};
use crate::db::desk::image::Touched;
use crate::db::desk::ledger::{ChainEntry, LedgerTip};
use crate::desk::ledger::entry_hash;

/// Checks that `entries` continue the chain from `from` (each numbered one after the last,
/// naming its predecessor's hash, its own hash recomputed) and belong to `event_id`; returns
/// the entries as stored and the new tip.
pub fn continue_chain(
    from: LedgerTip,
    event_id: &str,
    entries: &[WireEntry],
) -> Result<(Vec<ChainEntry>, LedgerTip), DelegationError> {
    let mut tip = from;
    let mut out = Vec::with_capacity(entries.len());
    for wire in entries {
        let brk =
            |reason: &str| DelegationError::ChainBreak { seq: wire.seq, reason: reason.into() };
        let entry = wire.chain_entry().ok_or_else(|| brk("a hash is not hex"))?;
        if entry.event_id != event_id {
            return Err(brk("the entry belongs to another event"));
        }
        if Some(entry.seq) != tip.seq.checked_add(1) {
            return Err(brk("the sequence does not follow"));
        }
        if entry.prev_hash != tip.hash {
            return Err(brk("it does not name its predecessor's hash"));
        }
        let computed =
            entry_hash(&tip.hash, entry.seq, &entry.at, &entry.event_id, &entry.kind, &entry.entry);
        if entry.hash != computed {
            return Err(brk("its hash does not match its content"));
        }
        if serde_json::from_str::<Value>(&entry.entry).is_err() {
            return Err(brk("the entry is not JSON"));
        }
        tip = LedgerTip { seq: entry.seq, hash: computed };
        out.push(entry);
    }
    Ok((out, tip))
}

/// Collects the ids an entry names, at any depth (a swap nests its hold).
fn collect(value: &Value, t: &mut Touched) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("unit_id" | "new_unit_id", Value::String(s)) => {
                        t.units.insert(s.clone());
                    }
                    ("hold_id", Value::String(s)) => {
                        t.holds.insert(s.clone());
                    }
                    ("ticket_id" | "red_ticket_id", Value::String(s)) => {
                        t.tickets.insert(s.clone());
                    }
                    ("receipt_id" | "red_receipt_id", Value::String(s)) => {
                        t.receipts.insert(s.clone());
                    }
                    ("voucher_no" | "red_voucher_no", Value::Number(n)) => {
                        if let Some(n) = n.as_i64() {
                            t.vouchers.insert(n);
                        }
                    }
                    ("buyer_id", Value::String(s)) => {
                        t.buyers.insert(s.clone());
                    }
                    _ => collect(v, t),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect(v, t)),
        _ => {}
    }
}

/// The rows a run of entries names.
pub fn touched(entries: &[ChainEntry]) -> Touched {
    let mut t = Touched::default();
    for e in entries {
        if matches!(e.kind.as_str(), "buyers_imported" | "lottery_imported") {
            t.all_buyers = true;
        }
        if let Ok(value) = serde_json::from_str::<Value>(&e.entry) {
            collect(&value, &mut t);
        }
        if let Some(key) = &e.idempotency_key {
            t.keys.insert(key.clone());
        }
    }
    t
}

/// What the mirror needs of a run, in one small object: the units whose status may have
/// moved, those whose price was approved, and whether the queue, the mode or the buyer list
/// moved (`desk::mirror` reads it from the `venue_segment` entry).
pub fn mirror_summary(entries: &[ChainEntry]) -> Value {
    let mut units = std::collections::BTreeSet::new();
    let mut prices = std::collections::BTreeSet::new();
    let (mut queue, mut mode, mut buyers) = (false, false, false);
    // Per unit, the latest hold the entries name: the hold the mirrored status is about.
    let mut holds = serde_json::Map::new();
    for e in entries {
        let Ok(value) = serde_json::from_str::<Value>(&e.entry) else { continue };
        if let (Some(unit), Some(hold)) = (value["unit_id"].as_str(), value["hold_id"].as_str())
            && holds.get(unit).and_then(Value::as_str).is_none_or(|seen| hold > seen)
        {
            holds.insert(unit.to_owned(), Value::from(hold));
        }
        let mut t = Touched::default();
        collect(&value, &mut t);
        match e.kind.as_str() {
            "call" | "recall" => queue = true,
            "set_mode" => mode = true,
            "buyers_imported" | "lottery_imported" => buyers = true,
            "price_approved" => prices.extend(t.units.iter().cloned()),
            _ => {}
        }
        units.extend(t.units);
    }
    json!({ "units": units, "prices": prices, "queue": queue, "mode": mode, "buyers": buyers,
            "holds": holds })
}

/// The bundle's signature: HMAC-SHA256 of the shipment's JSON under the key (hex).
pub fn sign(shipment: &Shipment, key_hex: &str) -> Result<String, DelegationError> {
    let body = serde_json::to_vec(shipment)
        .map_err(|e| crate::error::ServerError::Corrupt(e.to_string()))?;
    let key = hex::decode(key_hex).map_err(|_| DelegationError::BundleSignature)?;
    let mut mac =
        Hmac::<Sha256>::new_from_slice(&key).map_err(|_| DelegationError::BundleSignature)?;
    mac.update(&body);
    Ok(hex::encode(mac.finalize().into_bytes()))
}

/// Checks a bundle's signature in constant time.
pub fn verify_signature(
    shipment: &Shipment,
    key_hex: &str,
    mac_hex: &str,
) -> Result<(), DelegationError> {
    let body = serde_json::to_vec(shipment)
        .map_err(|e| crate::error::ServerError::Corrupt(e.to_string()))?;
    let key = hex::decode(key_hex).map_err(|_| DelegationError::BundleSignature)?;
    let given = hex::decode(mac_hex).map_err(|_| DelegationError::BundleSignature)?;
    let mut mac =
        Hmac::<Sha256>::new_from_slice(&key).map_err(|_| DelegationError::BundleSignature)?;
    mac.update(&body);
    mac.verify_slice(&given).map_err(|_| DelegationError::BundleSignature)
}

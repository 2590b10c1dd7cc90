//! The account-management records (lead, plan, survey, scorecard, review, organisation —
//! ADR 0023): one generic authority over their stored form.
//!
//! A record document is kept as its model type serialises, so the authority compares what the
//! server held with what the merge left as JSON, root key by root key. A root key holding a
//! collection of entities keyed by stable ids (a lead's stage changes, an organisation's
//! collections) is judged entry by entry, so that one rep's new entry and another's refused
//! change are told apart; every other key is judged as one value (a struct, or a small map
//! such as a plan's quarter goals, which is written whole). A refused write is put back with
//! `restore_record_value`, one server commit per root key: only what differs is written, so
//! the entries the author was allowed to write stay as they are.

use std::collections::BTreeSet;

use kam_core::doc::{
    ChangeHash, DocKind, Document, Entries, HEADER_ROOT_KEYS, Touched, record_value,
    restore_record_value, root_key_part,
};
use kam_core::rules::{DocPart, Write};
use serde_json::{Map, Value};

use super::compare::Findings;
use super::{Check, Violation};
use crate::error::ServerError;

/// A record's root keys and values as the server held them before a merge.
pub(super) type Before = Map<String, Value>;

/// The root keys holding entities keyed by stable ids, judged entry by entry.
const ENTITY_KEYS: [&str; 10] = [
    "history",
    "evaluations",
    "ratings",
    "findings",
    "measures",
    "instalments",
    "collections",
    "reconciliations",
    "reminders",
    "loan_switches",
];

/// Reads what the server held at `heads`.
pub(super) fn capture(doc: &Document, heads: &[ChangeHash]) -> Result<Before, ServerError> {
    Ok(record_value(doc, Some(heads))?)
}

/// Restores every root key (or entry of one) the merge touched that the author may not write
/// to its authorised value; `before` is `None` when the merge created the record, which is
/// then judged against an empty record (everything in it is added by its creator).
pub(super) fn enforce(
    doc: &mut Document,
    before: Option<&Before>,
    touched: &Touched,
    check: &Check<'_>,
) -> Result<Vec<Violation>, ServerError> {
    let kind = doc.id().kind();
    let empty = Before::new();
    let before = before.unwrap_or(&empty);
    let after = record_value(doc, None)?;
    let keys: BTreeSet<&str> = if touched.is_everything() {
        before.keys().chain(after.keys()).map(String::as_str).collect()
    } else {
        touched.keys().map(|(key, _)| key).collect()
    };
    let mut found = Vec::new();
    for key in keys {
        let Some(part) = guarded_part(kind, key) else { continue };
        let (old, new) = (before.get(key), after.get(key));
        let findings = match (touched.entries(key), entity_maps(key, old, new)) {
            (Some(entries), Some((old_map, new_map))) => {
                check_entries(key, part, entries, old_map, new_map, check)
            }
            _ => check_value(key, part, old, new, check),
        };
        let meta = check.meta(&format!("authority.restore_{key}"));
        findings.settle(&mut found, |restored| match restored {
            [Restore::Whole] => Ok(restore_record_value(doc, key, None, old, &meta)?),
            _ => {
                let value = restored_map(new, restored);
                Ok(restore_record_value(doc, key, None, Some(&value), &meta)?)
            }
        })?;
    }
    Ok(found)
}

/// The part kept under `key`, unless it is a header key, a field fixed at creation (which
/// `restore_fixed` guards) or a key no reader knows.
fn guarded_part(kind: DocKind, key: &str) -> Option<DocPart> {
    if HEADER_ROOT_KEYS.contains(&key) {
        return None;
    }
    root_key_part(kind, key).filter(|part| *part != DocPart::Fixed)
}

/// What undoes one refused write.
enum Restore {
    /// The root key's whole value goes back to the authorised one.
    Whole,
    /// The entry with this id goes back to the authorised one (`None`: it was not there).
    Entry(String, Option<Value>),
}

/// A value the author wrote, `null` counting as absent (an `Option` the record does not set).
fn present(value: Option<&Value>) -> Option<&Value> {
    value.filter(|v| !v.is_null())
}

/// An entity collection as one side of a merge holds it (`None`: absent).
type Entities<'a> = Option<&'a Map<String, Value>>;

/// The entity maps before and after under `key`, if it is an entity collection and neither
/// side holds something other than a map (an absent collection is an empty one). A tampered
/// collection that is no map any more is judged as a whole value.
fn entity_maps<'a>(
    key: &str,
    old: Option<&'a Value>,
    new: Option<&'a Value>,
) -> Option<(Entities<'a>, Entities<'a>)> {
    if !ENTITY_KEYS.contains(&key) {
        return None;
    }
    let as_map = |v: Option<&'a Value>| match present(v) {
        None => Some(None),
        Some(Value::Object(map)) => Some(Some(map)),
        Some(_) => None,
    };
    Some((as_map(old)?, as_map(new)?))
}

/// Judges the whole value under `key`.
fn check_value(
    key: &str,
    part: DocPart,
    old: Option<&Value>,
    new: Option<&Value>,
    check: &Check<'_>,
) -> Findings<Restore> {
    let mut findings = Findings::new();
    let (old, new) = (present(old), present(new));
    if let Some(write) = Write::between(old, new)
        && let Err(rule) = judge(check, part, write)
    {
        findings.refuse(format!("/{key}"), rule, &old, &new);
        findings.undo(Restore::Whole);
    }
    findings
}

/// Judges the touched entries of the entity collection under `key`.
fn check_entries(
    key: &str,
    part: DocPart,
    entries: &Entries,
    old: Entities<'_>,
    new: Entities<'_>,
    check: &Check<'_>,
) -> Findings<Restore> {
    let mut findings = Findings::new();
    let ids: BTreeSet<&String> = match entries {
        Entries::Only(ids) => ids.iter().collect(),
        Entries::All => old.into_iter().chain(new).flat_map(|m| m.keys()).collect(),
    };
    for id in ids {
        let (was, is) = (old.and_then(|m| m.get(id)), new.and_then(|m| m.get(id)));
        let Some(write) = Write::between(was, is) else { continue };
        if let Err(rule) = judge(check, part, write) {
            findings.refuse(format!("/{key}/{id}"), rule, &was, &is);
            findings.undo(Restore::Entry(id.clone(), was.cloned()));
        }
    }
    findings
}

/// The matrix's verdict on the author making `write` to `part` of a record. No rule over a
/// record's parts depends on owning a customer (and a lead, plan or survey does not hold its
/// customer's owners), nor on a selection desk.
fn judge(check: &Check<'_>, part: DocPart, write: Write) -> Result<(), kam_core::rules::WriteRule> {
    check.judge(part, write, false)
}

/// The collection the merge left (`current`), with the refused entries put back: written over
/// it by `restore_record_value`, only those entries change.
fn restored_map(current: Option<&Value>, restored: &[Restore]) -> Value {
    let mut map = match current {
        Some(Value::Object(map)) => map.clone(),
        _ => Map::new(),
    };
    for restore in restored {
        match restore {
            Restore::Entry(id, Some(value)) => {
                map.insert(id.clone(), value.clone());
            }
            Restore::Entry(id, None) => {
                map.remove(id);
            }
            Restore::Whole => {}
        }
    }
    Value::Object(map)
}

#[cfg(test)]
#[path = "record_tests.rs"]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)]
mod tests;

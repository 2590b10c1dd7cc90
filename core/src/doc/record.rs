//! Record documents: the account-management aggregates (lead, plan, survey, scorecard, review,
//! organisation — ADR 0023), stored through one generic mapping from their serde form.
//!
//! These aggregates are small (tens of fields, at most a few hundred entries) and have no
//! hot path like a 3,000-unit project, so instead of a hand-written layout each one is kept
//! exactly as its model type serialises: a struct is a map, a `BTreeMap` of entities is a map
//! keyed by the entities' stable ids, money a decimal string, a time an RFC 3339 string, a date
//! `YYYY-MM-DD`, an `Option` `null` when absent. No model type of a record holds a list: lists
//! would merge element by element, which no record needs (a refused write says so).
//!
//! The codec keeps the rules of every document (`codec`): a write compares before it writes, so
//! an edit records only the scalars that changed and two people editing different fields never
//! conflict; an entity missing from the record written is deleted (a removal is an edit too,
//! and only of what the writer's replica held); one user action is one commit. Reading hydrates
//! the document and deserialises it, ignoring keys a newer build added.

use automerge::transaction::Transactable;
use automerge::{
    AutoCommit, ChangeHash, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value, hydrate,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map as JsonMap, Number, Value as Json};

use super::document::{DocId, DocKind, Document, EditMeta, HEADER_ROOT_KEYS};
use super::error::DocError;

/// An account-management aggregate kept as a record document.
pub trait Record: Serialize + DeserializeOwned + Clone {
    /// The kind of document holding it.
    const KIND: DocKind;

    /// The entity id (the document is `<kind>/<entity>`).
    fn entity(&self) -> &str;

    /// Checks every money and quantity field against its documented range (ADR 0017) before
    /// anything is written.
    fn check_bounds(&self) -> Result<(), DocError>;
}

/// One user action on a record: what it changes, as a pure function of the record.
pub trait RecordEdit {
    /// The record edited.
    type Target: Record;

    /// The stable action name recorded on the commit, e.g. `lead.change_stage`.
    fn action(&self) -> &'static str;

    /// Applies the action to the record as the writer's replica holds it.
    fn apply(&self, record: &mut Self::Target) -> Result<(), DocError>;
}

/// The document id of a record with entity id `entity`.
pub fn record_doc_id<R: Record>(entity: &str) -> DocId {
    DocId::new(R::KIND, entity)
}

/// Creates the document for `record` in one commit.
pub fn create_record<R: Record>(
    record: &R,
    actor: automerge::ActorId,
    meta: &EditMeta,
) -> Result<Document, DocError> {
    record.check_bounds()?;
    let fields = record_fields(record)?;
    let mut doc = Document::create(record_doc_id::<R>(record.entity()), actor)?;
    doc.commit_action(meta, |am| write_fields(am, &fields))?;
    Ok(doc)
}

/// Reads the record a document holds now.
pub fn read_record<R: Record>(doc: &Document) -> Result<R, DocError> {
    read_record_inner(doc, None)
}

/// Reads the record as it was at `heads`.
pub fn read_record_at<R: Record>(doc: &Document, heads: &[ChangeHash]) -> Result<R, DocError> {
    read_record_inner(doc, Some(heads))
}

/// Writes `after` over the record as one commit carrying `meta`: only what differs from the
/// document is written. `after` is meant to be the record this replica holds, changed by one
/// user action ([`edit_record`] does that).
pub fn update_record<R: Record>(
    doc: &mut Document,
    after: &R,
    meta: &EditMeta,
) -> Result<(), DocError> {
    doc.check(R::KIND)?;
    if after.entity() != doc.id().entity() {
        return Err(DocError::WrongId {
            doc_id: doc.id().to_string(),
            found: after.entity().into(),
        });
    }
    after.check_bounds()?;
    let fields = record_fields(after)?;
    doc.commit_action(meta, |am| write_fields(am, &fields))?;
    Ok(())
}

/// Applies one user action to a record document as one commit, and returns the record after.
pub fn edit_record<E: RecordEdit>(
    doc: &mut Document,
    edit: &E,
    meta: &EditMeta,
) -> Result<E::Target, DocError> {
    let mut record: E::Target = read_record(doc)?;
    edit.apply(&mut record)?;
    update_record(doc, &record, meta)?;
    Ok(record)
}

/// The record's root keys and values in their stored form, as a JSON object, now or at
/// `heads`: what the server's authority compares part by part.
pub fn record_value(
    doc: &Document,
    heads: Option<&[ChangeHash]>,
) -> Result<JsonMap<String, Json>, DocError> {
    let root = doc.automerge().hydrate(ROOT, heads)?;
    match to_json(&root, "")? {
        Json::Object(map) => Ok(map),
        _ => Err(DocError::InvalidField { path: "/".into(), expected: "map" }),
    }
}

/// Puts back the value of root key `key` (or, with `entry`, of one entry of the map under it)
/// as `authorised` holds it (`None`: absent), as one commit carrying `meta`. The server's
/// authority uses it to compensate a write the permission matrix refuses.
pub fn restore_record_value(
    doc: &mut Document,
    key: &str,
    entry: Option<&str>,
    authorised: Option<&Json>,
    meta: &EditMeta,
) -> Result<(), DocError> {
    if HEADER_ROOT_KEYS.contains(&key) {
        return Err(DocError::InvalidField { path: format!("/{key}"), expected: "record field" });
    }
    doc.commit_action(meta, |am| {
        let (obj, name) = match entry {
            None => (ROOT, key),
            Some(entry) => (super::codec::child_map(am, &ROOT, key)?, entry),
        };
        match authorised {
            Some(value) => put_json(am, &obj, name, value, &format!("/{key}")),
            None => delete_key(am, &obj, name),
        }
    })?;
    Ok(())
}

fn read_record_inner<R: Record>(
    doc: &Document,
    heads: Option<&[ChangeHash]>,
) -> Result<R, DocError> {
    doc.check_at(R::KIND, heads)?;
    let mut fields = record_value(doc, heads)?;
    for key in ["schema", "kind"] {
        fields.remove(key);
    }
    serde_json::from_value(Json::Object(fields)).map_err(|e| DocError::InvalidRecord {
        doc_id: doc.id().to_string(),
        reason: e.to_string(),
    })
}

/// The record's fields, without the header keys (which the document writes itself).
fn record_fields<R: Record>(record: &R) -> Result<JsonMap<String, Json>, DocError> {
    let value = serde_json::to_value(record).map_err(|e| DocError::InvalidRecord {
        doc_id: record_doc_id::<R>(record.entity()).to_string(),
        reason: e.to_string(),
    })?;
    let Json::Object(mut fields) = value else {
        return Err(DocError::InvalidField { path: "/".into(), expected: "record map" });
    };
    // The `id` field is the entity id, which the header already holds under the same key.
    for key in HEADER_ROOT_KEYS {
        fields.remove(key);
    }
    Ok(fields)
}

fn write_fields(am: &mut AutoCommit, fields: &JsonMap<String, Json>) -> Result<(), DocError> {
    for (key, value) in fields {
        put_json(am, &ROOT, key, value, "")?;
    }
    Ok(())
}

/// Writes `value` at `key` of map `obj`, comparing first: an equal scalar is left alone, a
/// map is written key by key (keys it lacks are deleted), a map that is not there yet is
/// created whole in one batch.
fn put_json(
    am: &mut AutoCommit,
    obj: &ObjId,
    key: &str,
    value: &Json,
    parent: &str,
) -> Result<(), DocError> {
    let path = format!("{parent}/{key}");
    match value {
        Json::Object(fields) => match am.get(obj, key)? {
            Some((Value::Object(ObjType::Map), child)) => {
                let present: Vec<String> = am.keys(&child).collect();
                for gone in present.iter().filter(|k| !fields.contains_key(k.as_str())) {
                    am.delete(&child, gone.as_str())?;
                }
                for (k, v) in fields {
                    put_json(am, &child, k, v, &path)?;
                }
                Ok(())
            }
            _ => {
                let map = to_hydrate(value, &path)?;
                am.batch_create_object(obj, key, &map, false)?;
                Ok(())
            }
        },
        Json::Array(_) => {
            Err(DocError::InvalidField { path, expected: "map or scalar (no lists)" })
        }
        scalar => {
            let new = to_scalar(scalar, &path)?;
            let unchanged =
                matches!(am.get(obj, key)?, Some((Value::Scalar(v), _)) if v.as_ref() == &new);
            if !unchanged {
                am.put(obj, key, new)?;
            }
            Ok(())
        }
    }
}

fn delete_key(am: &mut AutoCommit, obj: &ObjId, key: &str) -> Result<(), DocError> {
    if am.get(obj, key)?.is_some() {
        am.delete(obj, key)?;
    }
    Ok(())
}

fn to_scalar(value: &Json, path: &str) -> Result<ScalarValue, DocError> {
    Ok(match value {
        Json::Null => ScalarValue::Null,
        Json::Bool(b) => ScalarValue::Boolean(*b),
        Json::String(s) => ScalarValue::Str(s.as_str().into()),
        Json::Number(n) => match n.as_i64() {
            Some(i) => ScalarValue::Int(i),
            // Money is a decimal string; a record holds no floats and no integers past i64.
            None => return Err(DocError::InvalidField { path: path.into(), expected: "integer" }),
        },
        Json::Object(_) | Json::Array(_) => {
            return Err(DocError::InvalidField { path: path.into(), expected: "scalar" });
        }
    })
}

fn to_hydrate(value: &Json, path: &str) -> Result<hydrate::Value, DocError> {
    Ok(match value {
        Json::Object(fields) => {
            let mut map = hydrate::Map::default();
            for (k, v) in fields {
                let child = to_hydrate(v, &format!("{path}/{k}"))?;
                map.insert(k.clone(), hydrate::MapValue { value: child, conflict: false });
            }
            hydrate::Value::Map(map)
        }
        Json::Array(_) => {
            return Err(DocError::InvalidField {
                path: path.into(),
                expected: "map or scalar (no lists)",
            });
        }
        scalar => hydrate::Value::Scalar(to_scalar(scalar, path)?),
    })
}

fn to_json(value: &hydrate::Value, path: &str) -> Result<Json, DocError> {
    Ok(match value {
        hydrate::Value::Map(map) => {
            let mut out = JsonMap::new();
            for (k, v) in map.iter() {
                out.insert(k.clone(), to_json(&v.value, &format!("{path}/{k}"))?);
            }
            Json::Object(out)
        }
        hydrate::Value::List(list) => {
            let mut out = Vec::new();
            for item in list.iter() {
                out.push(to_json(&item.value, path)?);
            }
            Json::Array(out)
        }
        hydrate::Value::Text(text) => Json::String(text.to_string()),
        hydrate::Value::Scalar(s) => match s {
            ScalarValue::Null => Json::Null,
            ScalarValue::Boolean(b) => Json::Bool(*b),
            ScalarValue::Str(s) => Json::String(s.to_string()),
            ScalarValue::Int(i) => Json::Number((*i).into()),
            ScalarValue::Uint(u) => Json::Number((*u).into()),
            ScalarValue::F64(f) => Number::from_f64(*f).map(Json::Number).unwrap_or(Json::Null),
            ScalarValue::Counter(_)
            | ScalarValue::Timestamp(_)
            | ScalarValue::Bytes(_)
            | ScalarValue::Unknown { .. } => {
                return Err(DocError::InvalidField {
                    path: path.into(),
                    expected: "record scalar",
                });
            }
        },
    })
}

/// Checks one money or quantity field of a record against its documented range.
pub(crate) fn bounded(
    path: &str,
    bound: &crate::bounds::Bound,
    value: rust_decimal::Decimal,
) -> Result<(), DocError> {
    bound
        .check(value)
        .map(|_| ())
        .map_err(|e| DocError::OutOfRange { path: path.to_owned(), source: Box::new(e) })
}

/// Checks a 0–100 score of a record.
pub(crate) fn bounded_score(path: &str, value: u8) -> Result<(), DocError> {
    bounded(path, &crate::bounds::SATISFACTION, value.into())
}

/// The error of an edit that does not fit the record's state.
pub(crate) fn edit_refused(doc_id: &DocId, reason: impl Into<String>) -> DocError {
    DocError::RecordEdit { doc_id: doc_id.to_string(), reason: reason.into() }
}

#[cfg(test)]
#[path = "record_tests.rs"]
mod tests;

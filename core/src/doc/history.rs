//! What each change of a document did, field by field: the value before and after, for the
//! history a person reads ("credit limit 500,000 → 800,000, by 李伟 at 16:05").
//!
//! Automerge knows the changes and their parents; the difference between a change's parents
//! and the change itself is exactly what that change did, whatever was merged beside it. Old
//! values are read at the parents' heads. Only scalar values are listed: an entity created in
//! a map (a contact, a visit) shows as its fields, each from nothing to its value.

use automerge::{ChangeHash, ObjId, Patch, PatchAction, Prop, ReadDoc};

use super::EditMeta;
use super::document::{Document, display_value};

/// The most fields listed for one change (a contact created lists its fields; a whole
/// document created would list hundreds).
pub const MAX_FIELDS_PER_CHANGE: usize = 20;
/// The most recent changes described field by field; older ones keep only who, when and what.
pub const MAX_CHANGES_DETAILED: usize = 100;

/// One field a change set, removed or replaced.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FieldChange {
    /// Where, as map keys from the root (`profile/credit_limit`, `contacts/<id>/phone`).
    pub path: Vec<String>,
    /// The value before the change, if the field held one.
    pub old: Option<String>,
    /// The value after it, unless the field was removed.
    pub new: Option<String>,
}

/// One change with what it did.
#[derive(Clone, Debug)]
pub struct ChangeDetail {
    /// The change hash (hex).
    pub hash: String,
    /// Author, time and action, when the change carries KAM metadata.
    pub meta: Option<EditMeta>,
    /// The fields it set or removed (at most [`MAX_FIELDS_PER_CHANGE`]); empty for the
    /// changes older than the [`MAX_CHANGES_DETAILED`] newest.
    pub fields: Vec<FieldChange>,
    /// Whether more fields changed than are listed.
    pub more_fields: bool,
}

impl Document {
    /// The history, oldest first, the newest [`MAX_CHANGES_DETAILED`] changes with their
    /// fields' old and new values.
    pub fn history_detail(&mut self) -> Vec<ChangeDetail> {
        let am = self.automerge_mut();
        let changes: Vec<(ChangeHash, Vec<ChangeHash>, Option<EditMeta>)> = am
            .get_changes(&[])
            .into_iter()
            .map(|c| {
                let meta = c.message().and_then(|m| EditMeta::from_message(m, c.timestamp()));
                (c.hash(), c.deps().to_vec(), meta)
            })
            .collect();
        let first_detailed = changes.len().saturating_sub(MAX_CHANGES_DETAILED);
        let mut out = Vec::with_capacity(changes.len());
        for (i, (hash, deps, meta)) in changes.into_iter().enumerate() {
            let (fields, more_fields) = if i >= first_detailed {
                let patches = am.diff(&deps, &[hash]);
                let mut fields: Vec<FieldChange> =
                    patches.iter().filter_map(|p| field_change(&*am, p, &deps)).collect();
                let more = fields.len() > MAX_FIELDS_PER_CHANGE;
                fields.truncate(MAX_FIELDS_PER_CHANGE);
                (fields, more)
            } else {
                (Vec::new(), false)
            };
            out.push(ChangeDetail { hash: hash.to_string(), meta, fields, more_fields });
        }
        out
    }
}

/// The scalar a map key held at `heads`, as text.
fn scalar_at(doc: &impl ReadDoc, obj: &ObjId, key: &str, heads: &[ChangeHash]) -> Option<String> {
    match doc.get_at(obj, key, heads) {
        Ok(Some((value @ automerge::Value::Scalar(_), _))) => Some(display_value(&value)),
        _ => None,
    }
}

fn path_to(patch: &Patch, key: &str) -> Vec<String> {
    patch
        .path
        .iter()
        .map(|(_, prop)| match prop {
            Prop::Map(k) => k.clone(),
            Prop::Seq(i) => i.to_string(),
        })
        .chain(std::iter::once(key.to_owned()))
        .collect()
}

/// The field a patch set or removed, if it was a scalar in a map and its value changed.
fn field_change(doc: &impl ReadDoc, patch: &Patch, before: &[ChangeHash]) -> Option<FieldChange> {
    let (key, new) = match &patch.action {
        PatchAction::PutMap { key, value: (value @ automerge::Value::Scalar(_), _), .. } => {
            (key, Some(display_value(value)))
        }
        PatchAction::DeleteMap { key } => (key, None),
        _ => return None,
    };
    let old = scalar_at(doc, &patch.obj, key, before);
    (old != new).then(|| FieldChange { path: path_to(patch, key), old, new })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::doc::{CustomerEdit, create_customer, edit_customer, read_customer};
    use crate::model::UserId;

    #[test]
    fn each_change_lists_the_fields_it_set_with_their_old_and_new_values() {
        let data = crate::demo::tiny_company(0, 0, 0);
        let customer = data.customers[0].clone();
        let at = Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).single().unwrap();
        let meta = |action: &str| EditMeta::new(&UserId::from("rep-01"), at, action);
        let actor = automerge::ActorId::from(b"history-test".to_vec());
        let mut doc = create_customer(&customer, actor, &meta("customer.create")).unwrap();
        let mut profile = read_customer(&doc).unwrap().profile;
        let old_name = profile.name.clone();
        profile.name = "新名称有限公司".into();
        let edit = CustomerEdit::UpdateProfile(profile);
        edit_customer(&mut doc, &edit, &meta(edit.action())).unwrap();

        let history = doc.history_detail();
        let last = history.last().unwrap();
        assert_eq!(last.meta.as_ref().unwrap().action, "customer.update_profile");
        assert_eq!(
            last.fields,
            vec![FieldChange {
                path: vec!["profile".into(), "name".into()],
                old: Some(old_name),
                new: Some("新名称有限公司".into()),
            }],
            "only the field that changed, from its old value to its new one"
        );
        assert!(!history[0].fields.is_empty(), "the creation lists what it set");
        assert!(history[0].fields.iter().all(|f| f.old.is_none()));
        assert!(history[0].fields.len() <= MAX_FIELDS_PER_CHANGE);
    }
}

//! Where each part of a document lives, and which of them a merge touched.
//!
//! The permission matrix (`rules::write_permissions`) decides about parts of a document; this
//! module knows under which root keys of each kind of document those parts are kept, so that
//! a caller can go from "the merge touched these keys and entries" to "these parts changed"
//! without knowing any Automerge path.

use std::collections::{BTreeMap, BTreeSet};

use automerge::transaction::Transactable;
use automerge::{ChangeHash, ObjType, ROOT, ReadDoc, ScalarValue};

use super::document::{DocKind, Document, EditMeta, display_value};
use super::error::DocError;
use super::{
    customer, event, lead, organisation, plan, project, review, scorecard, survey, ticket,
};
use crate::rules::DocPart;

/// Which entries of a container map a reader needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entries {
    /// Every entry: the container itself was written, or the reader cannot tell.
    All,
    /// Only these entries (by id).
    Only(BTreeSet<String>),
}

/// Shared by every answer that means "all entries".
static ALL_ENTRIES: Entries = Entries::All;

/// What the changes since some heads touched: the root keys, and for each the entries one
/// level below it. Made by [`Document::touched_since`](super::Document::touched_since).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Touched {
    everything: bool,
    keys: BTreeMap<String, Entries>,
}

impl Touched {
    /// Everything, with every entry: what a reader must assume when it cannot tell.
    pub fn everything() -> Touched {
        Touched { everything: true, keys: BTreeMap::new() }
    }

    /// Built from the (root key, entry key) pairs of a merge's patches: a missing root key
    /// means the patch cannot be placed (so everything), a missing entry key that the root
    /// key itself was written (so all of its entries).
    pub(crate) fn from_patch_keys(
        pairs: impl IntoIterator<Item = (Option<String>, Option<String>)>,
    ) -> Touched {
        let mut keys: BTreeMap<String, Entries> = BTreeMap::new();
        for pair in pairs {
            let (Some(root), entry) = pair else { return Touched::everything() };
            let slot = keys.entry(root).or_insert_with(|| Entries::Only(BTreeSet::new()));
            match (slot, entry) {
                (Entries::Only(ids), Some(id)) => {
                    ids.insert(id);
                }
                (slot, _) => *slot = Entries::All,
            }
        }
        Touched { everything: false, keys }
    }

    /// Whether the reader must assume everything was touched.
    pub fn is_everything(&self) -> bool {
        self.everything
    }

    /// The touched root keys with the entries below each; nothing when
    /// [`Touched::is_everything`].
    pub fn keys(&self) -> impl Iterator<Item = (&str, &Entries)> {
        self.keys.iter().map(|(k, e)| (k.as_str(), e))
    }

    /// The touched entries under root key `key`, or `None` if it was not touched.
    pub fn entries(&self, key: &str) -> Option<&Entries> {
        if self.everything { Some(&ALL_ENTRIES) } else { self.keys.get(key) }
    }

    /// The parts of a document of `kind` kept under the touched keys. A touched key that holds
    /// no part (the schema version, an unknown key) adds nothing.
    pub fn parts(&self, kind: DocKind) -> BTreeSet<DocPart> {
        layout(kind)
            .iter()
            .filter(|(key, _)| self.entries(key).is_some())
            .map(|(_, part)| *part)
            .collect()
    }
}

/// A field fixed at a document's creation that a merge rewrote, as
/// [`Document::restore_fixed_fields`] restored it. Values are in display form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FixedFieldRestore {
    /// The root key, e.g. `created_at`.
    pub key: String,
    /// The value restored; `None` when the field was absent.
    pub authorised: Option<String>,
    /// The value the merge had left; `None` when it deleted the field.
    pub written: Option<String>,
}

impl Document {
    /// What the changes since `before` touched: root keys and the entries one level below
    /// them; everything when `before` is not part of this document.
    ///
    /// The server's authority asks this once per merge: a merge that only added visits or
    /// replies needs no check, and one that touched a few entries of a collection needs only
    /// those entries compared. Started by [`Document::start_patch_index`] at `before`, this
    /// reads the recorded patches.
    pub fn touched_since(&mut self, before: &[ChangeHash]) -> Touched {
        match self.patch_keys_since(before) {
            Some(pairs) => Touched::from_patch_keys(pairs),
            None => Touched::everything(),
        }
    }

    /// Whether the container map under root key `container` holds an entry `id`, now or (for
    /// `Some(heads)`) as it was at `heads`.
    pub fn has_entry(
        &self,
        container: &str,
        id: &str,
        heads: Option<&[ChangeHash]>,
    ) -> Result<bool, DocError> {
        let parent = match heads {
            Some(heads) => self.automerge().get_at(ROOT, container, heads)?,
            None => self.automerge().get(ROOT, container)?,
        };
        let Some((automerge::Value::Object(ObjType::Map), parent)) = parent else {
            return Ok(false);
        };
        let entry = match heads {
            Some(heads) => self.automerge().get_at(&parent, id, heads)?,
            None => self.automerge().get(&parent, id)?,
        };
        Ok(entry.is_some())
    }

    /// Restores the fields this document fixed when it was created and the changes since
    /// `before` rewrote, as one commit carrying `meta`, and says which they were.
    ///
    /// Its kind and id are its address, whatever a merge wrote. The other fixed fields (a
    /// customer's creation time, a ticket's customer and opening) take their value at
    /// `before`; a new document (`before` empty) has nothing earlier to compare them with.
    pub fn restore_fixed_fields(
        &mut self,
        before: &[ChangeHash],
        meta: &EditMeta,
    ) -> Result<Vec<FixedFieldRestore>, DocError> {
        let mut restores = Vec::new();
        for key in fixed_root_keys(self.id().kind()) {
            let authorised = match key {
                "kind" => Some(ScalarValue::Str(self.id().kind().as_str().into())),
                "id" => Some(ScalarValue::Str(self.id().entity().into())),
                _ if before.is_empty() => continue,
                _ => match self.automerge().get_at(ROOT, key, before)? {
                    Some((automerge::Value::Scalar(s), _)) => Some(s.into_owned()),
                    None => None,
                    // Never written as an object; nothing sensible to put back.
                    Some((automerge::Value::Object(_), _)) => continue,
                },
            };
            let written = self.automerge().get(ROOT, key)?.map(|(value, _)| value);
            let unchanged = match (&written, &authorised) {
                (Some(automerge::Value::Scalar(w)), Some(a)) => w.as_ref() == a,
                (None, None) => true,
                _ => false,
            };
            if !unchanged {
                restores.push((key, authorised, written.map(|w| display_value(&w))));
            }
        }
        if restores.is_empty() {
            return Ok(Vec::new());
        }
        self.commit_action(meta, |am| {
            for (key, authorised, _) in &restores {
                match authorised {
                    Some(value) => am.put(ROOT, *key, value.clone())?,
                    None => am.delete(ROOT, *key)?,
                }
            }
            Ok(())
        })?;
        Ok(restores
            .into_iter()
            .map(|(key, authorised, written)| FixedFieldRestore {
                key: key.to_owned(),
                authorised: authorised
                    .map(|a| display_value(&automerge::Value::Scalar(std::borrow::Cow::Owned(a)))),
                written,
            })
            .collect())
    }
}

/// The root keys of a document of `kind` and the part each holds.
fn layout(kind: DocKind) -> &'static [(&'static str, DocPart)] {
    match kind {
        DocKind::Customer => &customer::PARTS,
        DocKind::Ticket => &ticket::PARTS,
        DocKind::Project => &project::PARTS,
        DocKind::Event => &event::PARTS,
        DocKind::Lead => &lead::PARTS,
        DocKind::Plan => &plan::PARTS,
        DocKind::Survey => &survey::PARTS,
        DocKind::Scorecard => &scorecard::PARTS,
        DocKind::Review => &review::PARTS,
        DocKind::Organisation => &organisation::PARTS,
    }
}

/// The part of a document of `kind` kept under root key `key`, if any. A project's units hold
/// several parts (the unit itself, its facts, price and status); this names
/// [`DocPart::Units`].
pub fn root_key_part(kind: DocKind, key: &str) -> Option<DocPart> {
    layout(kind).iter().find(|(k, _)| *k == key).map(|(_, part)| *part)
}

/// The root keys of a document of `kind` holding fields fixed at its creation.
pub(crate) fn fixed_root_keys(kind: DocKind) -> impl Iterator<Item = &'static str> {
    layout(kind).iter().filter(|(_, part)| *part == DocPart::Fixed).map(|(key, _)| *key)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic on a broken expectation.

    use automerge::{ActorId, AutoCommit};
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::doc::{CustomerEdit, create_customer, edit_customer, read_customer};
    use crate::model::{Customer, UserId};

    fn meta(by: &str) -> EditMeta {
        EditMeta::new(&UserId::from(by), Utc.with_ymd_and_hms(2026, 11, 23, 1, 0, 0).unwrap(), "t")
    }

    fn customer() -> Customer {
        crate::demo::tiny_company(1, 2, 1).customers.remove(0)
    }

    fn copy(doc: &mut Document) -> Document {
        Document::load(doc.id().clone(), &doc.save(), ActorId::random()).unwrap()
    }

    /// Writes into `doc` with plain Automerge calls, as a tampered tablet would.
    fn tamper(doc: &mut Document, write: impl FnOnce(&mut AutoCommit)) {
        let mut am = AutoCommit::load(&doc.save()).unwrap();
        let heads = am.get_heads();
        write(&mut am);
        am.commit();
        doc.load_incremental(&am.save_after(&heads)).unwrap();
    }

    #[test]
    fn a_merge_names_the_entries_it_touched_and_either_side_of_it_can_be_asked() {
        let c = customer();
        let mut server = create_customer(&c, ActorId::random(), &meta("hq")).unwrap();
        let mut device = copy(&mut server);
        let gone = c.visits.keys().next().unwrap().clone();
        let mut added = c.visits.values().next().unwrap().clone();
        added.id = crate::model::VisitId::new();
        edit_customer(&mut device, &CustomerEdit::RemoveVisit(gone.clone()), &meta("r")).unwrap();
        edit_customer(&mut device, &CustomerEdit::UpsertVisit(added.clone()), &meta("r")).unwrap();
        let before = server.heads();
        server.start_patch_index();
        server.merge(&mut device).unwrap();
        let touched = server.touched_since(&before);
        let ids: BTreeSet<String> = [gone.to_string(), added.id.to_string()].into();
        assert_eq!(touched.keys().collect::<Vec<_>>(), vec![("visits", &Entries::Only(ids))]);
        assert_eq!(touched.parts(DocKind::Customer), [DocPart::Visits].into());
        let has =
            |id: &crate::model::VisitId, heads| server.has_entry("visits", id.as_str(), heads);
        assert_eq!((has(&gone, None).unwrap(), has(&gone, Some(&before)).unwrap()), (false, true));
        assert_eq!(
            (has(&added.id, None).unwrap(), has(&added.id, Some(&before)).unwrap()),
            (true, false)
        );
        assert!(server.touched_since(&[ChangeHash([3; 32])]).is_everything(), "unknown heads");
    }

    #[test]
    fn rewritten_fixed_fields_are_put_back_in_one_commit() {
        let c = customer();
        let mut server = create_customer(&c, ActorId::random(), &meta("hq")).unwrap();
        let before = server.heads();
        tamper(&mut server, |am| {
            am.put(ROOT, "id", "someone-else").unwrap();
            am.delete(ROOT, "created_at").unwrap();
            am.put(ROOT, "schema", 1_i64).unwrap();
        });
        let history = server.history().len();
        let restored = server.restore_fixed_fields(&before, &meta("kam-server")).unwrap();
        let keys: Vec<(&str, Option<&str>)> =
            restored.iter().map(|r| (r.key.as_str(), r.written.as_deref())).collect();
        assert_eq!(keys, vec![("id", Some("someone-else")), ("created_at", None)]);
        assert_eq!(restored[0].authorised.as_deref(), Some(c.id.as_str()));
        assert_eq!(server.history().len(), history + 1, "one commit");
        let read = read_customer(&server).unwrap();
        assert_eq!((read.id, read.created_at), (c.id.clone(), c.created_at));
        assert!(server.restore_fixed_fields(&before, &meta("kam-server")).unwrap().is_empty());

        // A new document (nothing before) is held to its address only.
        let elsewhere = crate::doc::DocId::new(DocKind::Customer, "elsewhere");
        let mut new = Document::load(elsewhere, &server.save(), ActorId::random()).unwrap();
        let restored = new.restore_fixed_fields(&[], &meta("kam-server")).unwrap();
        assert_eq!(restored.len(), 1);
        assert_eq!(read_customer(&new).unwrap().id.as_str(), "elsewhere");
    }

    fn pair(root: Option<&str>, entry: Option<&str>) -> (Option<String>, Option<String>) {
        (root.map(str::to_owned), entry.map(str::to_owned))
    }

    #[test]
    fn patch_keys_become_touched_entries() {
        let touched = Touched::from_patch_keys([
            pair(Some("visits"), Some("v1")),
            pair(Some("visits"), Some("v2")),
            pair(Some("profile"), Some("name")),
            pair(Some("contacts"), Some("c1")),
            pair(Some("contacts"), None),
        ]);
        assert!(!touched.is_everything());
        let only = |ids: &[&str]| Entries::Only(ids.iter().map(|s| s.to_string()).collect());
        assert_eq!(touched.entries("visits"), Some(&only(&["v1", "v2"])));
        assert_eq!(touched.entries("contacts"), Some(&Entries::All), "the container was written");
        assert_eq!(touched.entries("late_payments"), None);
        assert_eq!(
            touched.parts(DocKind::Customer),
            [DocPart::Profile, DocPart::Contacts, DocPart::Visits].into()
        );
        let lost = Touched::from_patch_keys([pair(None, Some("x"))]);
        assert!(lost.is_everything());
        assert_eq!(lost.entries("anything"), Some(&Entries::All));
    }

    #[test]
    fn every_part_lives_in_one_kind_and_every_kind_fixes_its_address() {
        for kind in DocKind::ALL.iter().copied() {
            let fixed: Vec<&str> = fixed_root_keys(kind).collect();
            assert!(fixed.starts_with(&["kind", "id"]), "{kind:?}: {fixed:?}");
            assert_eq!(root_key_part(kind, "schema"), None, "a newer app may migrate it");
        }
        let everything = Touched::everything();
        let mut seen = BTreeSet::new();
        for kind in DocKind::ALL.iter().copied() {
            for part in everything.parts(kind) {
                assert!(part == DocPart::Fixed || seen.insert(part), "{part:?} in two kinds");
            }
        }
        // A unit's facts, price and status live inside the units collection.
        let inside_units = [DocPart::UnitFacts, DocPart::UnitSaleFacts, DocPart::UnitPrice];
        let missing: Vec<DocPart> = DocPart::ALL
            .into_iter()
            .filter(|p| !seen.contains(p) && *p != DocPart::Fixed)
            .collect();
        assert_eq!(missing, [inside_units.as_slice(), &[DocPart::UnitStatus]].concat());
    }
}

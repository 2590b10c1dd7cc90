//! What headquarters settles by hand: fields left with concurrent values (conflicts) and
//! writes the authority refused and compensated (violations).

use chrono::{DateTime, Utc};
use kam_core::doc::EditMeta;
use kam_core::model::UserId;
use serde_json::json;

use crate::audit;
use crate::db::Db;
use crate::error::ServerError;
use crate::store::commit_doc;
use crate::sync::ChangedDoc;
use crate::sync::docs::DocCache;
use crate::sync::scope;

pub use crate::db::review::ViolationLine;

/// Marks a violation reviewed by `by`. Fails with `NotFound` if there is no such unreviewed
/// violation.
pub(crate) fn mark_reviewed(
    tx: &dyn Db,
    violation_id: i64,
    by: &str,
    now: DateTime<Utc>,
) -> Result<(), ServerError> {
    if !tx.mark_violation_reviewed(violation_id, by, now)? {
        return Err(ServerError::NotFound);
    }
    audit::log(tx, now, by, "violation.reviewed", &violation_id.to_string(), &json!({}))
}

/// Settles the open conflict on `path` of `doc_id` by writing `chosen` (one of its values)
/// over every concurrent value, as one commit by `by`. The conflict row is marked resolved
/// by the commit itself (the merge bookkeeping sees the field settled). Fails with
/// `NotFound` if the conflict is not open, or `chosen` is not one of its values, and then
/// writes nothing.
pub(crate) fn resolve_conflict(
    tx: &dyn Db,
    docs: &mut DocCache,
    doc_id: &str,
    path: &str,
    chosen: &str,
    by: &str,
    now: DateTime<Utc>,
) -> Result<ChangedDoc, ServerError> {
    let values = tx.open_conflict_values(doc_id, path)?.ok_or(ServerError::NotFound)?;
    if !values.iter().any(|v| v == chosen) {
        return Err(ServerError::Invalid {
            field: "value",
            reason: "not one of the conflicting values".into(),
        });
    }
    let id = scope::parse_id(doc_id)?;
    let doc = docs.get(tx, &id, false)?.ok_or(ServerError::NotFound)?;
    let heads_before = doc.heads();
    let meta = EditMeta::new(&UserId::from(by), now, "conflict.resolve");
    doc.resolve_conflict(path, chosen, &meta).map_err(|e| match e {
        kam_core::doc::DocError::EntityNotFound { .. } => ServerError::NotFound,
        other => other.into(),
    })?;
    let (seq, scope_key) = commit_doc(tx, docs, &id, &heads_before, now)?
        .ok_or_else(|| ServerError::Corrupt(format!("resolving {doc_id}{path} changed nothing")))?;
    audit::log(
        tx,
        now,
        by,
        "conflict.resolve",
        doc_id,
        &json!({ "path": path, "values": values, "chosen": chosen }),
    )?;
    Ok(ChangedDoc { seq, doc_id: doc_id.to_owned(), scope_key })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use kam_core::demo::DemoSpec;
    use kam_core::doc::{ActorId, CustomerEdit, Document, edit_customer, read_customer};

    /// A store whose first customer has its name in conflict (two offline edits merged).
    fn store_with_conflict() -> (tempfile::TempDir, crate::store::Store, String) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = crate::data::open_store(dir.path()).unwrap();
        let spec = DemoSpec { customers: 3, tickets: 1, units: 2, ..DemoSpec::standard(1) };
        crate::data::load_demo(&mut store, &spec, Utc::now()).unwrap();
        let doc_id: String = store
            .sql()
            .query_row("SELECT 'customer/' || customer_id FROM customers LIMIT 1", [], |r| r.get(0))
            .unwrap();
        let id = scope::parse_id(&doc_id).unwrap();
        store
            .write(|tx, docs, _| {
                let doc = docs.get(tx, &id, false)?.unwrap();
                let heads_before = doc.heads();
                let bytes = doc.save();
                for name in ["甲", "乙"] {
                    let mut fork = Document::load(id.clone(), &bytes, ActorId::random())?;
                    let mut profile = read_customer(&fork)?.profile;
                    profile.name = name.into();
                    let meta = EditMeta::new(&UserId::from("rep-01"), Utc::now(), "edit");
                    edit_customer(&mut fork, &CustomerEdit::UpdateProfile(profile), &meta)?;
                    docs.get(tx, &id, false)?.unwrap().merge(&mut fork)?;
                }
                commit_doc(tx, docs, &id, &heads_before, Utc::now())?;
                Ok(())
            })
            .unwrap();
        (dir, store, doc_id)
    }

    #[test]
    fn a_chosen_value_settles_the_conflict_and_a_stale_choice_changes_nothing() {
        let (_dir, mut store, doc_id) = store_with_conflict();
        let open = store.conn().open_conflicts().unwrap();
        assert_eq!(open.len(), 1, "{open:?}");
        assert_eq!(open[0].path, "/profile/name");
        let chosen = open[0].values[0].clone();

        let not_a_value = store.write(|tx, docs, _| {
            resolve_conflict(tx, docs, &doc_id, "/profile/name", "丙", "hq-01", Utc::now())
        });
        assert!(matches!(not_a_value, Err(ServerError::Invalid { .. })), "{not_a_value:?}");

        let changed = store
            .write(|tx, docs, _| {
                resolve_conflict(tx, docs, &doc_id, "/profile/name", &chosen, "hq-01", Utc::now())
            })
            .unwrap();
        assert_eq!(changed.doc_id, doc_id);
        assert!(store.conn().open_conflicts().unwrap().is_empty());
        let audit: String = store
            .sql()
            .query_row("SELECT actor FROM audit_log WHERE action = 'conflict.resolve'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(audit, "hq-01");

        let again = store.write(|tx, docs, _| {
            resolve_conflict(tx, docs, &doc_id, "/profile/name", &chosen, "hq-01", Utc::now())
        });
        assert!(matches!(again, Err(ServerError::NotFound)), "resolved once: {again:?}");
    }
}

//! Writing one user action into a management record document on the server (scorecards,
//! reviews, organisations): the document is edited as one commit by the deciding user and
//! stored like any other edit, or created with the action applied when it does not exist yet.

use chrono::{DateTime, Utc};
use kam_core::doc::{EditMeta, Record, RecordEdit, create_record, edit_record, record_doc_id};
use kam_core::model::{Role, UserId};

use super::decisions::Decider;
use crate::db::Db;
use crate::error::ServerError;
use crate::store::{commit_doc, insert_new_doc};
use crate::sync::ChangedDoc;
use crate::sync::docs::DocCache;

/// Refuses with `what` unless `by`'s role is one of `allowed`; otherwise the user's id.
pub(crate) fn allowed(
    by: Decider<'_>,
    allowed: &[Role],
    what: &str,
) -> Result<String, ServerError> {
    if allowed.contains(&by.role) {
        Ok(by.user_id.to_owned())
    } else {
        Err(ServerError::Forbidden(what.into()))
    }
}

/// Applies `edit` to the record `entity` as one commit by `by` at `now`. When the document does
/// not exist, `initial` (if given) is the record it starts as, and the document is created
/// holding `initial` with the edit applied; without `initial` a missing record is `NotFound`.
pub(crate) fn apply<E: RecordEdit>(
    tx: &dyn Db,
    docs: &mut DocCache,
    entity: &str,
    initial: Option<E::Target>,
    edit: &E,
    by: &str,
    now: DateTime<Utc>,
) -> Result<(ChangedDoc, E::Target), ServerError> {
    let id = record_doc_id::<E::Target>(entity);
    let meta = EditMeta::new(&UserId::from(by), now, edit.action());
    let exists = tx.document_row(&id)?.is_some();
    if !exists {
        let mut record = initial.ok_or(ServerError::NotFound)?;
        edit.apply(&mut record)?;
        let doc = create_record(&record, docs.actor().clone(), &meta)?;
        let (seq, scope_key) = insert_new_doc(tx, docs, doc, now)?;
        return Ok((ChangedDoc { seq, doc_id: id.to_string(), scope_key }, record));
    }
    let doc = docs.get(tx, &id, false)?.ok_or(ServerError::NotFound)?;
    let heads_before = doc.heads();
    let after = edit_record(doc, edit, &meta)?;
    let (seq, scope_key) = commit_doc(tx, docs, &id, &heads_before, now)?
        .ok_or_else(|| ServerError::Conflict(format!("{id}: the action changed nothing")))?;
    Ok((ChangedDoc { seq, doc_id: id.to_string(), scope_key }, after))
}

/// Reads the record `entity` as the server holds it, if it exists.
pub(crate) fn read<R: Record>(
    tx: &dyn Db,
    docs: &mut DocCache,
    entity: &str,
) -> Result<Option<R>, ServerError> {
    let id = record_doc_id::<R>(entity);
    if tx.document_row(&id)?.is_none() {
        return Ok(None);
    }
    let Some(doc) = docs.get(tx, &id, false)? else { return Ok(None) };
    Ok(Some(kam_core::doc::read_record(doc)?))
}

//! The conflicts table: fields that hold concurrent values after a merge, for headquarters to
//! resolve. Automerge keeps every concurrent value (`get_all`) and shows one; a resolution is
//! an ordinary edit that every replica merges, after which the field is single-valued again
//! and its row is marked resolved.

use chrono::{DateTime, Utc};
use kam_core::doc::{ChangeHash, Document};

use crate::db::ReviewStore;
use crate::error::ServerError;

pub use crate::db::review::OpenConflict;

/// Brings the conflict rows of `doc` up to date after a merge of the changes made since
/// `heads_before`.
///
/// Only the fields the merge touched are looked at ([`Document::conflict_update_since`]), so
/// the cost follows the merge, not the document. A straight-line merge
/// ([`Document::extends_linearly`]) cannot have created a conflict; when the document has no
/// open conflict either, there is nothing to do at all.
pub(crate) fn record(
    db: &dyn ReviewStore,
    doc: &mut Document,
    heads_before: &[ChangeHash],
    linear: bool,
    now: DateTime<Utc>,
) -> Result<(), ServerError> {
    let doc_id = doc.id().to_string();
    if linear && !db.has_open_conflict(&doc_id)? {
        return Ok(());
    }
    let update = doc.conflict_update_since(heads_before)?;
    // Settle first: a field that was rewritten may hold a new conflict, recorded just below.
    for path in &update.settled {
        db.settle_conflicts(&doc_id, path, now)?;
    }
    for c in &update.conflicted {
        db.upsert_conflict(&doc_id, &c.path, &c.values, now)?;
    }
    Ok(())
}

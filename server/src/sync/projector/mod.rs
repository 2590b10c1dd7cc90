//! Keeps the relational projections up to date behind the sync rounds.
//!
//! A sync round stores what a device changed and answers it; it does not rebuild the
//! headquarters rows of every document it merged. Reading a whole customer back out of
//! Automerge costs more than the merge itself, and nothing a device waits for depends on those
//! rows: scope lives on the document row, and conflicts are recorded in the round. So the
//! projector follows the change sequence instead. The `meta` key `projected_seq` is the
//! position up to which every stored document has been projected; a batch projects the next
//! documents whose row sequence lies beyond it, in sequence order, and moves the watermark in
//! the same transaction. Because a document's row keeps only its latest sequence number, a
//! document merged ten times while the projector was busy is projected once.
//!
//! The watermark is durable, so a crash between a round and its projection loses nothing: the
//! next start resumes from it. Batches are small so that sync rounds, which share the store,
//! wait at most one batch, and a batch is held back while rounds are under way (for at most
//! half a second), so a device's confirming round does not wait for one at all.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use kam_core::Policy;
use kam_core::doc::{ChangeHash, DocId, DocKind};
use tokio::sync::Notify;

use crate::db::panic_message;
use crate::db::{Db, DocumentStore, Savepoints};
use crate::error::ServerError;
use crate::quarantine;
use crate::sync::docs::DocCache;
use crate::sync::{projection, scope};

mod batch;
mod task;

pub use task::run;

/// Documents projected per batch (one store turn and one transaction).
pub const BATCH_DOCS: usize = 16;

/// A batch waits until no sync round has been under way for this long. A device's rounds come
/// in quick succession (a round, then the one that confirms its answer, a few milliseconds
/// later); a batch taken between them makes the device wait for the whole batch.
const QUIET: Duration = Duration::from_millis(15);

/// The longest a batch waits for [`QUIET`]: under steady sync load the projections lag by
/// about this much, and no more.
const MAX_HOLD_BACK: Duration = Duration::from_millis(500);

/// The `meta` key of the watermark.
const WATERMARK_KEY: &str = "projected_seq";

/// The projection watermark: every document stored at or below it has been projected.
pub(crate) fn watermark(db: &dyn DocumentStore) -> Result<i64, ServerError> {
    match db.meta(WATERMARK_KEY)? {
        Some(text) => {
            text.parse().map_err(|_| ServerError::Corrupt(format!("{WATERMARK_KEY} {text}")))
        }
        None => Ok(0),
    }
}

/// Sets the watermark (inside the caller's write transaction).
pub(crate) fn set_watermark(db: &dyn DocumentStore, seq: i64) -> Result<(), ServerError> {
    Ok(db.set_meta(WATERMARK_KEY, &seq.to_string())?)
}

/// How many stored documents have changed since they were last projected.
pub fn pending(db: &dyn Db) -> Result<u64, ServerError> {
    Ok(db.count_documents_after(watermark(db)?)?)
}

/// Projects the document `id` (stored at `seq`) inside a savepoint. When the document is at
/// fault (it does not load or read, a value is out of range, its rows break a constraint, the
/// work panics) its rows are rolled back, it is set aside in the quarantine and the batch goes
/// on; a fault of the store itself fails the batch. A document projected successfully leaves
/// the quarantine.
pub(crate) fn project_guarded(
    tx: &dyn Db,
    docs: &mut DocCache,
    policy: &Policy,
    known: &mut HashMap<DocId, Vec<ChangeHash>>,
    id: &DocId,
    seq: i64,
    now: DateTime<Utc>,
) -> Result<(), ServerError> {
    Savepoints::savepoint(tx, "project_doc")?;
    let attempt = std::panic::catch_unwind(AssertUnwindSafe(|| {
        project_one(tx, docs, policy, known, id, now)
    }));
    let outcome = attempt.unwrap_or_else(|panic| Err(ServerError::Panicked(panic_message(&panic))));
    match outcome {
        Ok(()) => {
            tx.release_savepoint("project_doc")?;
            quarantine::clear(tx, quarantine::Task::Projection, &id.to_string())
        }
        Err(error) => {
            tx.undo_savepoint("project_doc")?;
            docs.forget(id);
            known.remove(id);
            if !quarantine::is_document_fault(&error) {
                return Err(error);
            }
            tracing::warn!(doc = %id, %error, "document set aside: it cannot be projected");
            quarantine::record(tx, quarantine::Task::Projection, &id.to_string(), seq, &error, now)
        }
    }
}

/// [`project_guarded`] for a stored document id; an id that does not parse is set aside too.
pub(crate) fn project_stored(
    tx: &dyn Db,
    docs: &mut DocCache,
    policy: &Policy,
    known: &mut HashMap<DocId, Vec<ChangeHash>>,
    stored_id: &str,
    seq: i64,
    now: DateTime<Utc>,
) -> Result<(), ServerError> {
    match scope::parse_id(stored_id) {
        Ok(id) => project_guarded(tx, docs, policy, known, &id, seq, now),
        Err(error) => {
            quarantine::record(tx, quarantine::Task::Projection, stored_id, seq, &error, now)
        }
    }
}

/// Projects one document: only the units that changed since the heads of its last
/// projection when they are known and only units changed, the whole document otherwise.
fn project_one(
    tx: &dyn Db,
    docs: &mut DocCache,
    policy: &Policy,
    known: &mut HashMap<DocId, Vec<ChangeHash>>,
    id: &DocId,
    now: DateTime<Utc>,
) -> Result<(), ServerError> {
    let Some(doc) = docs.get(tx, id, false)? else { return Ok(()) };
    let incremental = match known.get(id) {
        Some(since) => projection::project_units_since(tx, doc, since)?,
        None => false,
    };
    if !incremental {
        projection::project(tx, doc, policy, now)?;
    }
    if id.kind() == DocKind::Project {
        known.insert(id.clone(), doc.heads());
    }
    Ok(())
}

/// What one projection batch did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProjectedBatch {
    /// Documents projected.
    pub documents: usize,
    /// Whether nothing was left to project after it.
    pub caught_up: bool,
}

/// Wakes the projector after a write and tells it when sync rounds are under way; cheap to
/// clone and to call.
#[derive(Clone, Debug, Default)]
pub struct ProjectorWake(Arc<WakeInner>);

#[derive(Debug, Default)]
struct WakeInner {
    notify: Notify,
    /// Sync rounds being answered now.
    rounds_in_flight: AtomicUsize,
    /// When the last round ended.
    last_round_end: Mutex<Option<Instant>>,
}

impl WakeInner {
    /// The last round's end. A poisoned lock still holds a valid instant.
    fn last_round_end(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.last_round_end.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl ProjectorWake {
    fn notified(&self) -> tokio::sync::futures::Notified<'_> {
        self.0.notify.notified()
    }

    /// Tells the projector there may be work.
    pub fn wake(&self) {
        self.0.notify.notify_one();
    }

    /// Marks a sync round as under way until the returned guard is dropped.
    pub fn round_started(&self) -> RoundUnderWay {
        self.0.rounds_in_flight.fetch_add(1, Ordering::SeqCst);
        RoundUnderWay(Arc::clone(&self.0))
    }

    /// Whether a sync round is under way (it may be waiting for the store).
    fn round_under_way(&self) -> bool {
        self.0.rounds_in_flight.load(Ordering::SeqCst) > 0
    }

    /// How long to hold back a batch so that it does not take the store from a round: `None`
    /// when no round is under way and none ended within [`QUIET`].
    fn hold_back(&self) -> Option<Duration> {
        if self.round_under_way() {
            return Some(QUIET);
        }
        let ended = (*self.0.last_round_end())?;
        QUIET.checked_sub(ended.elapsed()).filter(|left| !left.is_zero())
    }

    /// Waits until sync rounds leave the store alone for [`QUIET`], or [`MAX_HOLD_BACK`] at
    /// most, so that under steady load the projections still move.
    async fn wait_for_quiet(&self) {
        let started = Instant::now();
        while let Some(wait) = self.hold_back() {
            let left = MAX_HOLD_BACK.saturating_sub(started.elapsed());
            if left.is_zero() {
                return;
            }
            tokio::time::sleep(wait.min(left)).await;
        }
    }
}

/// A sync round under way; dropping it records the round's end.
#[derive(Debug)]
pub struct RoundUnderWay(Arc<WakeInner>);

impl Drop for RoundUnderWay {
    fn drop(&mut self) {
        *self.0.last_round_end() = Some(Instant::now());
        self.0.rounds_in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use kam_core::demo::DemoSpec;

    use super::*;
    use crate::store::Store;
    use crate::{admin, data};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()
    }

    fn small_demo(dir: &std::path::Path) -> Store {
        let mut store = data::open_store(dir).unwrap();
        let spec =
            DemoSpec { customers: 10, tickets: 10, units: 10, buyers: 5, ..DemoSpec::standard(3) };
        data::load_demo(&mut store, &spec, now()).unwrap();
        store
    }

    fn owners(store: &Store, customer: &str) -> Vec<String> {
        let mut stmt = store
            .sql()
            .prepare(
                "SELECT owner_id FROM customer_owners WHERE customer_id = ?1 ORDER BY owner_id",
            )
            .unwrap();
        stmt.query_map([customer], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    }

    /// Customers rep-01 owns alone, so a handover to rep-02 changes each of them.
    fn rep_01_customers(store: &Store) -> Vec<String> {
        let mut stmt = store
            .sql()
            .prepare(
                "SELECT customer_id FROM customer_owners GROUP BY customer_id
                 HAVING COUNT(*) = 1 AND MAX(owner_id) = 'rep-01' ORDER BY customer_id",
            )
            .unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    }

    fn first_customer(store: &Store) -> String {
        rep_01_customers(store).remove(0)
    }

    #[test]
    fn a_loaded_demo_is_fully_projected() {
        let dir = tempfile::tempdir().unwrap();
        let store = small_demo(dir.path());
        assert_eq!(pending(store.conn()).unwrap(), 0);
        assert_eq!(watermark(store.conn()).unwrap(), store.conn().current_seq().unwrap());
    }

    #[test]
    fn a_change_is_projected_by_the_next_batch_and_only_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = small_demo(dir.path());
        let customer = first_customer(&store);
        let before = owners(&store, &customer);
        admin::handover(&mut store, admin::ADMIN_ACTOR, &customer, "rep-02", now()).unwrap();
        admin::handover(&mut store, admin::ADMIN_ACTOR, &customer, "rep-03", now()).unwrap();

        // The rows still show what was projected before; two changes wait as one document.
        assert_eq!(owners(&store, &customer), before);
        assert_eq!(pending(store.conn()).unwrap(), 1);

        assert_eq!(store.project_pending(BATCH_DOCS, now()).unwrap(), 1, "projected once");
        assert_eq!(owners(&store, &customer), vec!["rep-03".to_string()]);
        assert_eq!(pending(store.conn()).unwrap(), 0);
        assert_eq!(store.project_pending(BATCH_DOCS, now()).unwrap(), 0, "nothing left");
    }

    #[test]
    fn batches_follow_the_sequence_and_stop_at_their_limit() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = small_demo(dir.path());
        let customers = rep_01_customers(&store);
        assert!(customers.len() >= 3, "{customers:?}");
        for c in &customers[..3] {
            admin::handover(&mut store, admin::ADMIN_ACTOR, c, "rep-02", now()).unwrap();
        }
        assert_eq!(store.project_pending(2, now()).unwrap(), 2);
        assert_eq!(owners(&store, &customers[0]), vec!["rep-02".to_string()]);
        assert_eq!(owners(&store, &customers[1]), vec!["rep-02".to_string()]);
        assert_eq!(pending(store.conn()).unwrap(), 1, "the third waits for the next batch");
        assert_eq!(store.project_pending(2, now()).unwrap(), 1);
        assert_eq!(owners(&store, &customers[2]), vec!["rep-02".to_string()]);
    }

    #[test]
    fn a_batch_giving_way_to_a_round_keeps_what_it_did_and_the_rest_waits() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = small_demo(dir.path());
        let customers = rep_01_customers(&store);
        for c in &customers[..3] {
            admin::handover(&mut store, admin::ADMIN_ACTOR, c, "rep-02", now()).unwrap();
        }
        let waiting = || true;
        let first = store.project_pending_until(BATCH_DOCS, now(), waiting).unwrap();
        assert_eq!(first, ProjectedBatch { documents: 1, caught_up: false });
        assert_eq!(owners(&store, &customers[0]), vec!["rep-02".to_string()]);
        assert_eq!(pending(store.conn()).unwrap(), 2, "the others wait for the next batch");
        let second = store.project_pending_until(BATCH_DOCS, now(), waiting).unwrap();
        assert_eq!(second.documents, 1);
        let last = store.project_pending_until(BATCH_DOCS, now(), waiting).unwrap();
        assert_eq!(last, ProjectedBatch { documents: 1, caught_up: true }, "the last one ends it");
        assert_eq!(owners(&store, &customers[2]), vec!["rep-02".to_string()]);
        assert_eq!(pending(store.conn()).unwrap(), 0);
    }

    #[test]
    fn changes_left_unprojected_at_a_stop_are_projected_at_the_next_open() {
        let dir = tempfile::tempdir().unwrap();
        let customer = {
            let mut store = small_demo(dir.path());
            let customer = first_customer(&store);
            admin::handover(&mut store, admin::ADMIN_ACTOR, &customer, "rep-02", now()).unwrap();
            assert_eq!(pending(store.conn()).unwrap(), 1);
            customer
        };
        let store = data::open_store(dir.path()).unwrap();
        assert_eq!(pending(store.conn()).unwrap(), 0);
        assert_eq!(owners(&store, &customer), vec!["rep-02".to_string()]);
    }

    /// Stores `bytes` as a document under `id`, as a stored round would have (no door).
    fn store_raw(store: &mut Store, id: &kam_core::doc::DocId, bytes: Vec<u8>) {
        store
            .write(|tx, docs, _| {
                let doc = docs.get(tx, id, true)?.ok_or(ServerError::NotFound)?;
                doc.load_incremental(&bytes)?;
                crate::store::commit_doc(tx, docs, id, &[], now())?;
                Ok(())
            })
            .unwrap();
    }

    fn quarantined(store: &Store) -> Vec<(String, String)> {
        crate::quarantine::list(store.conn(), 100)
            .unwrap()
            .into_iter()
            .map(|q| (q.task, q.doc_id))
            .collect()
    }

    /// The reproduction of issue 18: a customer's bytes stored under a new id made every later
    /// batch fail on the customers table's unique key, for ever. Now that document is set
    /// aside, the others are projected, and the server opens its directory again.
    #[test]
    fn a_document_that_cannot_be_projected_is_set_aside_and_the_others_go_on() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = small_demo(dir.path());
        let victim = first_customer(&store);
        let bytes = {
            let id = kam_core::doc::DocId::new(DocKind::Customer, victim.as_str());
            store.document(&id).unwrap().unwrap().save()
        };
        let impostor = kam_core::doc::DocId::new(DocKind::Customer, "c-impostor");
        store_raw(&mut store, &impostor, bytes);
        // A stored document whose bytes do not even load.
        let broken = rep_01_customers(&store)[1].clone();
        store
            .sql()
            .execute(
                "UPDATE documents SET snapshot = x'00ff', seq = seq + 1000 WHERE doc_id = ?1",
                [format!("customer/{broken}")],
            )
            .unwrap();
        store.sql().execute("UPDATE change_seq SET value = value + 1000", []).unwrap();
        store.docs.clear();
        // And a good change after both.
        let good = rep_01_customers(&store)[2].clone();
        admin::handover(&mut store, admin::ADMIN_ACTOR, &good, "rep-02", now()).unwrap();

        store.project_all(now()).unwrap();
        assert_eq!(pending(store.conn()).unwrap(), 0, "the watermark passed both");
        assert_eq!(owners(&store, &good), vec!["rep-02".to_string()], "the good one projected");
        assert!(quarantined(&store).iter().all(|(task, _)| task == "projection"));
        let mut set_aside: Vec<String> = quarantined(&store).into_iter().map(|q| q.1).collect();
        set_aside.sort();
        let mut expected = vec![format!("customer/{broken}"), "customer/c-impostor".to_string()];
        expected.sort();
        assert_eq!(set_aside, expected);
        assert_eq!(owners(&store, &victim), vec!["rep-01".to_string()], "the victim's rows stand");
        drop(store);

        // The server opens its own directory again, rebuilds and sets them aside again.
        let mut reopened = data::open_store(dir.path()).unwrap();
        reopened.rebuild_projections(now()).unwrap();
        let mut again: Vec<String> = quarantined(&reopened).into_iter().map(|q| q.1).collect();
        again.sort();
        assert_eq!(again, expected);
        assert_eq!(owners(&reopened, &good), vec!["rep-02".to_string()]);
    }

    #[test]
    fn a_set_aside_document_leaves_the_quarantine_once_it_projects() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = small_demo(dir.path());
        let customer = first_customer(&store);
        let id = format!("customer/{customer}");
        crate::quarantine::record(
            store.conn(),
            crate::quarantine::Task::Projection,
            &id,
            1,
            &ServerError::Corrupt("earlier".into()),
            now(),
        )
        .unwrap();
        admin::handover(&mut store, admin::ADMIN_ACTOR, &customer, "rep-02", now()).unwrap();
        store.project_all(now()).unwrap();
        assert!(quarantined(&store).is_empty(), "projected now, so no longer set aside");
    }
}

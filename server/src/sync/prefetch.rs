//! Loading the documents a sync round names while the round already merges.
//!
//! A device syncing a day's edits names documents the server may not have loaded since it
//! started. Reading their bytes takes the connection, but Automerge's load is pure work: the
//! round reads them all first ([`DocCache::read_unloaded`]), loader threads load them in the
//! order the round needs them, and the round merges each one as soon as it has arrived. Loads
//! and merges then share the cores instead of the merges waiting for every load (for 100 cold
//! customers, 13 ms of loading no longer comes before 20 ms of merging).

use std::collections::HashSet;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::Scope;

use automerge::ActorId;
use kam_core::doc::DocId;
use kam_core::replica::store::StoredDoc;

use crate::error::ServerError;
use crate::sync::docs::{DocCache, Unloaded};

/// Documents being loaded in the background, taken into the cache as the round needs them.
pub(crate) struct Arrivals<'scope> {
    /// Documents not yet taken into the cache.
    expected: HashSet<DocId>,
    /// Loaded documents, or why one failed, with its index in `wanted`.
    received: mpsc::Receiver<(usize, Result<StoredDoc, ServerError>)>,
    wanted: &'scope [Unloaded],
}

/// Starts loading `wanted`, in order, on as many threads as there are cores, inside `scope`.
pub(crate) fn start<'scope>(
    scope: &'scope Scope<'scope, '_>,
    wanted: &'scope [Unloaded],
    actor: &'scope ActorId,
) -> Arrivals<'scope> {
    let (send, received) = mpsc::channel();
    let arrivals =
        Arrivals { expected: wanted.iter().map(|w| w.id.clone()).collect(), received, wanted };
    let threads = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
    if threads < 2 || wanted.len() < 2 {
        // Not worth a thread: load here, so the documents have arrived before the first wait.
        for (at, doc) in wanted.iter().enumerate() {
            // The receiver is alive: `arrivals` holds it.
            let _ = send.send((at, load(doc, actor)));
        }
        return arrivals;
    }
    let next = Arc::new(AtomicUsize::new(0));
    for _ in 0..threads.min(wanted.len()) {
        let (send, next) = (send.clone(), Arc::clone(&next));
        scope.spawn(move || {
            loop {
                let at = next.fetch_add(1, Ordering::Relaxed);
                let Some(doc) = wanted.get(at) else { return };
                let loaded = load(doc, actor);
                // The round stopped listening (it failed): nothing left to do.
                if send.send((at, loaded)).is_err() {
                    return;
                }
            }
        });
    }
    arrivals
}

/// Loads one document from the bytes read for it.
fn load(doc: &Unloaded, actor: &ActorId) -> Result<StoredDoc, ServerError> {
    Ok(doc.bytes.load(&doc.id, actor)?)
}

impl Arrivals<'_> {
    /// Returns once `id` is in the cache, if it is among the documents being loaded.
    pub(crate) fn wait_for(&mut self, id: &DocId, docs: &mut DocCache) -> Result<(), ServerError> {
        while self.expected.contains(id) {
            self.take_next(docs)?;
        }
        Ok(())
    }

    /// Takes every document still arriving into the cache.
    pub(crate) fn finish(mut self, docs: &mut DocCache) -> Result<(), ServerError> {
        while !self.expected.is_empty() {
            self.take_next(docs)?;
        }
        Ok(())
    }

    fn take_next(&mut self, docs: &mut DocCache) -> Result<(), ServerError> {
        let (at, loaded) = self
            .received
            .recv()
            .map_err(|_| ServerError::Corrupt("a document load panicked".into()))?;
        let doc = self.wanted.get(at).ok_or_else(|| {
            ServerError::Corrupt(format!("loaded document {at} was not asked for"))
        })?;
        self.expected.remove(&doc.id);
        docs.put_loaded(doc.id.clone(), doc.seq, loaded?);
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use chrono::{TimeZone, Utc};
    use kam_core::demo::DemoSpec;
    use kam_core::doc::{self, CustomerEdit, EditMeta};
    use kam_core::model::{CustomerProfile, UserId};

    use super::*;
    use crate::data;

    #[test]
    fn documents_arrive_as_the_round_needs_them_and_never_over_its_own_changes() {
        let now = Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut store = data::open_store(dir.path()).unwrap();
        let spec =
            DemoSpec { customers: 6, tickets: 2, units: 4, buyers: 2, ..DemoSpec::standard(2) };
        data::load_demo(&mut store, &spec, now).unwrap();
        drop(store);
        // Reopened, the store has loaded nothing.
        let mut store = data::open_store(dir.path()).unwrap();
        let ids: Vec<DocId> = {
            let mut stmt = store
                .sql()
                .prepare("SELECT doc_id FROM documents WHERE kind = 'customer' ORDER BY doc_id")
                .unwrap();
            stmt.query_map([], |r| r.get::<_, String>(0))
                .unwrap()
                .map(|id| id.unwrap().parse().unwrap())
                .collect()
        };
        assert_eq!(ids.len(), 6);
        store
            .write_reading_desk(|tx, docs, _, _| {
                let unloaded = docs.read_unloaded(tx, &ids)?;
                assert_eq!(unloaded.len(), ids.len(), "none loaded yet");
                // The round loads and edits the last one itself before its copy arrives.
                let last = ids.last().unwrap();
                let doc = docs.get(tx, last, false)?.unwrap();
                let customer = doc::read_customer(doc)?;
                let edit = CustomerEdit::UpdateProfile(CustomerProfile {
                    notes: "edited in this round".into(),
                    ..customer.profile
                });
                let meta = EditMeta::new(&UserId::from("hq-01"), now, edit.action());
                doc::edit_customer(doc, &edit, &meta)?;
                let edited = doc.heads();
                let actor = docs.actor().clone();
                std::thread::scope(|scope| {
                    let mut arrivals = start(scope, &unloaded, &actor);
                    arrivals.wait_for(&ids[0], docs)?;
                    assert!(docs.len() >= 2, "the first one arrived");
                    arrivals.finish(docs)
                })?;
                assert_eq!(docs.len(), ids.len());
                assert_eq!(docs.get(tx, last, false)?.unwrap().heads(), edited, "edit kept");
                Ok(())
            })
            .unwrap();
    }
}

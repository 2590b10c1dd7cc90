//! The server's data directory: its document store and, on request, the demo company.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use kam_core::demo::{self, DemoSpec};
use kam_core::doc::{self, ActorId, DocId, EditMeta};
use kam_core::model::UserId;
use kam_core::replica::{Replica, ReplicaError, ReplicaOptions};

/// Name of the store file inside the data directory.
pub const STORE_FILE: &str = "kam-server.sqlite3";

/// What loading the demo did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoLoad {
    /// Documents stored.
    pub documents: usize,
    /// The demo reps' user ids.
    pub reps: Vec<UserId>,
}

/// Errors while preparing the data directory.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The directory could not be created.
    #[error("cannot create data directory {path}: {source}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] ReplicaError),
    /// A demo document could not be built.
    #[error("demo document: {0}")]
    Doc(#[from] doc::DocError),
}

/// Opens (creating) the store in `dir`.
pub fn open_store(dir: &Path) -> Result<Replica, DataError> {
    std::fs::create_dir_all(dir)
        .map_err(|source| DataError::CreateDir { path: dir.to_path_buf(), source })?;
    Ok(Replica::open(dir.join(STORE_FILE), ReplicaOptions::default())?)
}

/// Loads the demo company (5 reps, 300 customers with contacts and visits, 2,000 tickets, a
/// 3,000-unit project and a selection event) into an empty store. A store that already holds
/// documents is left alone and `None` is returned.
pub fn load_demo(store: &mut Replica, now: DateTime<Utc>) -> Result<Option<DemoLoad>, DataError> {
    if !store.document_ids()?.is_empty() {
        return Ok(None);
    }
    let data = demo::generate(&DemoSpec::standard(5), now, store.policy());
    let actor = ActorId::random();
    let meta = EditMeta::new(&UserId::from("demo-import"), now, "demo.import");
    let mut batch: Vec<(DocId, Vec<u8>)> = Vec::new();
    let mut push = |mut d: doc::Document| batch.push((d.id().clone(), d.save()));
    for c in &data.customers {
        push(doc::create_customer(c, actor.clone(), &meta)?);
    }
    for t in &data.tickets {
        push(doc::create_ticket(t, actor.clone(), &meta)?);
    }
    push(doc::create_project(&data.project, actor.clone(), &meta)?);
    push(doc::create_event(&data.event, actor, &meta)?);
    for chunk in batch.chunks(500) {
        store.import_documents(chunk)?;
    }
    Ok(Some(DemoLoad { documents: batch.len(), reps: data.reps }))
}

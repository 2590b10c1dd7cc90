//! The server store: one SQLite connection and the document cache, used from one blocking
//! thread at a time (see `services::Services::with_store`).

use std::path::{Path, PathBuf};

use automerge::{ActorId, ChangeHash};
use chrono::{DateTime, Utc};
use kam_core::Policy;
use kam_core::doc::{DocId, Document};

use crate::db::desk::DeskDb;
use crate::db::sqlite::schema;
use crate::db::{
    DataLocation, Db, DeskDatabase, DeskFile, DocumentStore, ServerDatabase, ServerFile,
};
use crate::error::ServerError;
use crate::sync::docs::DocCache;
use crate::sync::projection;
use crate::sync::projector;
use crate::sync::scope;
use crate::{conflicts, desk};

/// How many documents the server keeps loaded.
pub const DEFAULT_CACHE_DOCS: usize = 512;

/// The server's database and loaded documents.
pub struct Store {
    pub(crate) conn: ServerDatabase,
    /// The selection desk's database: its own SQLite file (see `db::sqlite::desk::schema`),
    /// or its tables in the shared PostgreSQL database.
    pub(crate) desk: DeskDatabase,
    /// Project documents' heads at their last projection, so the projector can re-read only
    /// the units that changed since (see `projector`).
    pub(crate) projected_heads: std::collections::HashMap<DocId, Vec<ChangeHash>>,
    pub(crate) docs: DocCache,
    pub(crate) policy: Policy,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens (creating or upgrading) the database at `path`.
    pub fn open(path: impl AsRef<Path>, policy: Policy) -> Result<Store, ServerError> {
        let path = path.as_ref().to_path_buf();
        let conn = ServerDatabase::Sqlite(ServerFile::open(&path)?);
        Store::open_on(conn, path, policy)
    }

    /// Opens the store over `database` (SQLite or PostgreSQL, ADR 0024); on SQLite `path` is
    /// the server's file, with the desk's file beside it (on PostgreSQL the desk's tables are
    /// in the same database, and `path` only names the node's data directory in messages).
    pub fn open_on(
        database: ServerDatabase,
        path: PathBuf,
        policy: Policy,
    ) -> Result<Store, ServerError> {
        // The selection desk keeps its own file on SQLite (see `db::sqlite::desk::schema`);
        // the store reads and opens desks through it.
        let desk = database.open_desk(&path)?;
        let actor = load_or_create_actor(database.db())?;
        let mut store = Store {
            conn: database,
            desk,
            docs: DocCache::new(DEFAULT_CACHE_DOCS, actor, 64),
            projected_heads: Default::default(),
            policy,
            path,
        };
        if store.meta("projections_version")?.as_deref() != Some(schema_tag(&store.policy).as_str())
        {
            store.rebuild_projections(Utc::now())?;
        }
        // Documents stored since the last projection (by a server that stopped before its
        // projector caught up, or by an admin command) are projected before anyone reads.
        store.project_all(Utc::now())?;
        Ok(store)
    }

    /// The server database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The desk database beside this store's.
    pub fn desk_path(&self) -> PathBuf {
        crate::db::desk_path(&self.path)
    }

    /// Where the data lives, for connections of their own (the desk's writer, the readers).
    pub fn location(&self) -> DataLocation {
        self.conn.location(&self.path)
    }

    /// The desk database's storage traits, for the desk's reports and checks.
    pub fn desk(&self) -> &dyn DeskDb {
        self.desk.db()
    }

    /// The desk's file, for tests and tools that inspect its rows directly (it derefs to its
    /// connection); the server itself goes through [`Store::desk`]. `None` on PostgreSQL.
    pub fn desk_file(&self) -> Option<&DeskFile> {
        match &self.desk {
            DeskDatabase::Sqlite(file) => Some(file),
            DeskDatabase::Postgres(_) => None,
        }
    }

    /// The desk's file, for tests that inspect its rows directly.
    #[cfg(test)]
    #[allow(clippy::panic)] // A test accessor: a test on PostgreSQL has no file to inspect.
    pub(crate) fn desk_conn(&self) -> &DeskFile {
        self.desk_file().unwrap_or_else(|| panic!("the desk is on PostgreSQL"))
    }

    /// Opens the selection desk of `event_id` from its documents (see `desk::catalog`).
    pub fn open_desk(
        &mut self,
        event_id: &str,
        voucher_series: u32,
        now: DateTime<Utc>,
    ) -> Result<desk::catalog::OpenedDesk, ServerError> {
        let Store { conn, docs, desk, .. } = self;
        desk.write(|tx| {
            desk::catalog::open_event(conn.db(), docs, tx, event_id, voucher_series, now)
        })
    }

    /// Runs one delegation step (ADR 0021) on the desk's database from the command line, in
    /// one IMMEDIATE transaction: the running server's writer reads the tip and the delegation
    /// again with its next group, so the two never interleave inside a group. (On PostgreSQL
    /// an aborted transaction runs `work` again.)
    pub fn delegation_step<T>(
        &mut self,
        mut work: impl FnMut(
            &dyn crate::db::desk::DeskGroup,
            &dyn Db,
            &mut desk::ledger::Tip,
        ) -> Result<T, desk::delegation::DelegationError>,
    ) -> Result<T, desk::delegation::DelegationError> {
        let Store { conn, desk, .. } = self;
        desk.write(|tx| {
            let mut tip = desk::ledger::tip(tx)?;
            work(tx, conn.db(), &mut tip)
        })
    }

    /// The storage traits over the server's database, for reads outside a write.
    pub fn conn(&self) -> &dyn Db {
        self.conn.db()
    }

    /// The database file, for tests that inspect rows directly (it derefs to its connection).
    #[cfg(test)]
    #[allow(clippy::panic)] // A test accessor: a test on PostgreSQL has no file to inspect.
    pub(crate) fn sql(&self) -> &ServerFile {
        match &self.conn {
            ServerDatabase::Sqlite(file) => file,
            ServerDatabase::Postgres(_) => panic!("the store is on PostgreSQL"),
        }
    }

    /// The document `id`, loaded (from the cache or the database) if it is stored.
    pub(crate) fn document(&mut self, id: &DocId) -> Result<Option<&mut Document>, ServerError> {
        self.docs.get(self.conn.db(), id, false)
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The server's actor id.
    pub fn actor(&self) -> &ActorId {
        self.docs.actor()
    }

    /// Documents loaded in memory.
    pub fn cached_documents(&self) -> usize {
        self.docs.len()
    }

    /// Drops every loaded document and remembered projection head, after work that failed
    /// half-way (a panic): memory may hold changes its rolled-back transaction does not.
    pub(crate) fn forget_loaded(&mut self) {
        self.docs.clear();
        self.projected_heads.clear();
    }

    fn meta(&self, key: &str) -> Result<Option<String>, ServerError> {
        meta_get(self.conn.db(), key)
    }

    /// Runs `work` in one IMMEDIATE transaction. If it fails, the documents it loaded are
    /// dropped from memory, since memory may hold changes the rolled-back disk does not.
    pub(crate) fn write<T>(
        &mut self,
        mut work: impl FnMut(&dyn Db, &mut DocCache, &Policy) -> Result<T, ServerError>,
    ) -> Result<T, ServerError> {
        self.write_reading_desk(|tx, docs, policy, _| work(tx, docs, policy))
    }

    /// Like [`Store::write`], with the desk's storage for reading (the mirror, the sync
    /// round's view of the desk). The desk file is not part of the transaction.
    pub(crate) fn write_reading_desk<T>(
        &mut self,
        mut work: impl FnMut(&dyn Db, &mut DocCache, &Policy, &dyn DeskDb) -> Result<T, ServerError>,
    ) -> Result<T, ServerError> {
        let Store { conn, docs, policy, desk, .. } = self;
        let mut first = true;
        let attempt = |tx: &dyn Db| {
            // A transaction PostgreSQL aborted runs again: documents merged in memory by the
            // attempt that was rolled back are dropped first.
            if !std::mem::take(&mut first) {
                docs.clear();
            }
            work(tx, docs, policy, desk.db())
        };
        match conn.write(attempt) {
            Ok(value) => Ok(value),
            Err(e) => {
                docs.clear();
                Err(e)
            }
        }
    }

    /// Runs `work` against the storage traits in one IMMEDIATE transaction: all of it or
    /// none (for the command line and for setting up benchmarks).
    pub fn transaction<T>(
        &mut self,
        mut work: impl FnMut(&dyn Db) -> Result<T, ServerError>,
    ) -> Result<T, ServerError> {
        self.write(|db, _, _| work(db))
    }

    /// Imports monthly sales from the ERP's CSV in one transaction: all lines or none.
    pub fn import_sales(
        &mut self,
        csv: &str,
        source: &str,
        now: DateTime<Utc>,
    ) -> Result<crate::sales_ledger::ImportReport, ServerError> {
        self.write(|tx, _, _| crate::sales_ledger::import_csv(tx, csv, source, now))
    }

    /// Re-derives every projection row from the stored documents. A document that cannot be
    /// projected is set aside (see `quarantine`), never a reason not to start.
    pub fn rebuild_projections(&mut self, now: DateTime<Utc>) -> Result<usize, ServerError> {
        let ids = self.conn.db().document_seqs()?;
        let tag = schema_tag(&self.policy);
        self.projected_heads.clear();
        self.write(|tx, docs, policy| {
            projection::clear_all(tx)?;
            let mut known = std::collections::HashMap::new();
            for (id, seq) in &ids {
                projector::project_stored(tx, docs, policy, &mut known, id, *seq, now)?;
            }
            meta_set(tx, "projections_version", &tag)?;
            projector::set_watermark(tx, tx.current_seq()?)?;
            Ok(ids.len())
        })
    }
}

/// Projections depend on the schema and on the policy (SLA and cadence thresholds).
fn schema_tag(policy: &Policy) -> String {
    format!("{}:{}", schema::CURRENT_VERSION, policy.version)
}

/// Stores what changed in the loaded document `id` with its next sequence number and its
/// conflict rows; the projector updates its projection rows afterwards (see `projector`).
/// `heads_before` are the document's heads before the changes being committed, which lets a
/// straight-line merge skip the conflict scan. Returns the sequence number, or `None` if
/// nothing changed.
pub(crate) fn commit_doc(
    tx: &dyn Db,
    docs: &mut DocCache,
    id: &DocId,
    heads_before: &[ChangeHash],
    now: DateTime<Utc>,
) -> Result<Option<(i64, String)>, ServerError> {
    let doc = docs.get(tx, id, false)?.ok_or(ServerError::NotFound)?;
    let scope_key = scope::scope_key_of(doc)?;
    let linear = doc.extends_linearly(heads_before);
    let Some(seq) = docs.persist(tx, id, &scope_key)? else { return Ok(None) };
    let doc = docs.loaded(id)?;
    conflicts::record(tx, doc, heads_before, linear, now)?;
    Ok(Some((seq, scope_key)))
}

/// Stores a document built on the server (demo data, HQ imports) as a new document.
pub(crate) fn insert_new_doc(
    tx: &dyn Db,
    docs: &mut DocCache,
    mut doc: Document,
    now: DateTime<Utc>,
) -> Result<(i64, String), ServerError> {
    let id = doc.id().clone();
    if tx.document_row(&id)?.is_some() {
        return Err(ServerError::Conflict(format!("document {id} exists")));
    }
    let bytes = doc.save();
    let target = docs.get(tx, &id, true)?.ok_or(ServerError::NotFound)?;
    target.load_incremental(&bytes)?;
    commit_doc(tx, docs, &id, &[], now)?.ok_or_else(|| ServerError::Corrupt(format!("{id} empty")))
}

pub(crate) fn meta_get(db: &dyn DocumentStore, key: &str) -> Result<Option<String>, ServerError> {
    Ok(db.meta(key)?)
}

pub(crate) fn meta_set(db: &dyn DocumentStore, key: &str, value: &str) -> Result<(), ServerError> {
    Ok(db.set_meta(key, value)?)
}

fn load_or_create_actor(conn: &dyn DocumentStore) -> Result<ActorId, ServerError> {
    if let Some(hex) = meta_get(conn, "actor_id")? {
        return hex.parse::<ActorId>().map_err(|_| ServerError::Corrupt(format!("actor id {hex}")));
    }
    let actor = ActorId::random();
    meta_set(conn, "actor_id", &actor.to_hex_string())?;
    Ok(actor)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use chrono::{NaiveDate, TimeZone};
    use kam_core::demo::{self, DemoSpec};
    use kam_core::doc::{EditMeta, create_customer};
    use kam_core::model::{LatePayment, LatePaymentId, UserId};

    use super::*;

    fn late_payment_rows(store: &Store) -> Vec<(String, String)> {
        let mut stmt = store
            .sql()
            .prepare("SELECT customer_id, due_on FROM customer_late_payments ORDER BY due_on")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
    }

    /// A server upgraded from version 4 had late payments only in its documents; opening it
    /// rebuilds the projections, so the quarterly analysis finds them in SQL.
    #[test]
    fn upgrading_from_v4_projects_the_late_payments_already_in_documents() {
        let now = Utc.with_ymd_and_hms(2026, 4, 3, 0, 0, 0).unwrap();
        let policy = Policy::default();
        let spec =
            DemoSpec { customers: 2, tickets: 1, units: 2, buyers: 1, ..DemoSpec::standard(1) };
        let mut customer = demo::generate(&spec, now, &policy).customers.remove(0);
        let late = LatePayment {
            id: LatePaymentId::new(),
            reference: "INV-7".into(),
            due_on: NaiveDate::from_ymd_opt(2026, 2, 1).unwrap(),
            paid_on: None,
        };
        customer.late_payments.insert(late.id.clone(), late);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kam.sqlite3");
        let mut store = Store::open(&path, policy.clone()).unwrap();
        let meta = EditMeta::new(&UserId::from("hq"), now, "test");
        let doc = create_customer(&customer, store.actor().clone(), &meta).unwrap();
        let mut doc = Some(doc);
        store.write(|tx, docs, _| insert_new_doc(tx, docs, doc.take().unwrap(), now)).unwrap();
        store.project_all(now).unwrap();
        let expected = vec![(customer.id.as_str().to_owned(), "2026-02-01".to_owned())];
        assert_eq!(late_payment_rows(&store), expected);

        // Back to what version 4 had: neither the late payments' table nor any later one, and
        // projections made by version 4.
        store
            .sql()
            .execute_batch(
                "DROP TABLE customer_late_payments; DROP TABLE quarantine;
                 ALTER TABLE devices DROP COLUMN installation;
                 DROP TABLE leads; DROP TABLE lead_stage_changes; DROP TABLE plans;
                 DROP TABLE plan_quarter_goals; DROP TABLE plan_evaluations; DROP TABLE surveys;
                 DROP TABLE scorecards; DROP TABLE scorecard_lines; DROP TABLE scorecard_ratings;
                 DROP TABLE reviews; DROP TABLE review_findings; DROP TABLE review_measures;
                 DROP TABLE organisations; DROP TABLE organisation_instalments;
                 DROP TABLE organisation_collections; DROP TABLE organisation_reconciliations;
                 PRAGMA user_version = 4;",
            )
            .unwrap();
        meta_set(store.conn(), "projections_version", &format!("4:{}", policy.version)).unwrap();
        drop(store);

        let store = Store::open(&path, policy).unwrap();
        assert_eq!(late_payment_rows(&store), expected);
    }
}

//! The server's data directory and, on request, the demo company.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use kam_core::Policy;
use kam_core::demo::{self, DemoSpec};
use kam_core::doc::{self, EditMeta};
use kam_core::model::UserId;

use crate::auth::{self, Role};
use crate::desk;
use crate::error::ServerError;
use crate::store::{Store, insert_new_doc};
use crate::sync::scope;

/// Name of the database file inside the data directory.
pub use crate::db::STORE_FILE;

/// A demo user with the token of their demo device. Demo tokens are published on purpose
/// (they are printed at every start) and must never be used for real data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoLogin {
    /// The user.
    pub user_id: String,
    /// The role.
    pub role: Role,
    /// The demo device's token.
    pub token: String,
    /// The dashboard password (demo only, published on purpose).
    pub password: String,
}

/// What loading the demo did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoLoad {
    /// Documents stored.
    pub documents: usize,
}

/// Opens (creating) the store in `dir` under the default policy.
pub fn open_store(dir: &Path) -> Result<Store, ServerError> {
    open_store_with(dir, Policy::default())
}

/// Opens (creating) the store in `dir` under `policy` (a company's own policy file).
pub fn open_store_with(dir: &Path, policy: Policy) -> Result<Store, ServerError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| ServerError::Corrupt(format!("cannot create {}: {e}", dir.display())))?;
    Store::open(dir.join(STORE_FILE), policy)
}

/// Opens (creating or upgrading its schema) the store in the PostgreSQL database at `url`
/// (ADR 0024) through a pool of at most `connections`, whose I/O runs on `runtime`; waits on
/// the calling thread, so call it from a blocking thread or outside the runtime.
pub fn open_store_on_postgres(
    url: &str,
    connections: usize,
    runtime: tokio::runtime::Handle,
    policy: Policy,
) -> Result<Store, ServerError> {
    open_store_on(crate::db::postgres::PgPool::new(url, connections, runtime)?, policy)
}

/// Opens the store over `pool`'s PostgreSQL database (see [`open_store_on_postgres`]).
pub fn open_store_on(
    pool: crate::db::postgres::PgPool,
    policy: Policy,
) -> Result<Store, ServerError> {
    // On PostgreSQL the path only names the store in messages.
    let path = PathBuf::from(format!("postgresql:{}", pool.database_name()));
    Store::open_on(crate::db::ServerDatabase::postgres(pool)?, path, policy)
}

/// The policy in `path`, or the default policy when none is given.
pub fn load_policy(path: Option<&Path>) -> Result<Policy, ServerError> {
    Ok(match path {
        Some(path) => Policy::from_toml_file(path)?,
        None => Policy::default(),
    })
}

/// The demo's users and tokens (the same at every start, so the README can show them).
pub fn demo_logins(reps: usize) -> Vec<DemoLogin> {
    let mut users: Vec<(String, Role)> =
        (1..=reps).map(|i| (format!("rep-{i:02}"), Role::Rep)).collect();
    // The technical, quality and after-sales owners the account plans name (000 §4.2.2–4.2.5):
    // field staff like the reps, seeing the customers they are named for.
    for staff in [demo::TECHNICAL_USER, demo::QUALITY_USER, demo::AFTER_SALES_USER] {
        users.push((staff.into(), Role::Rep));
    }
    users.push(("staff-01".into(), Role::EventStaff));
    users.push(("finance-01".into(), Role::Finance));
    users.push(("hq-01".into(), Role::Hq));
    users.push(("admin".into(), Role::Admin));
    users
        .into_iter()
        .map(|(user_id, role)| DemoLogin {
            token: format!("kam_demo_{user_id}"),
            password: format!("demo-{user_id}"),
            user_id,
            role,
        })
        .collect()
}

/// Loads a demo company of the given size into an empty store: users with one demo device
/// each, customers granted to their owning reps, tickets, a project and a selection event
/// granted to the event staff. A store that already holds documents is left alone and `None`
/// is returned.
pub fn load_demo(
    store: &mut Store,
    spec: &DemoSpec,
    now: DateTime<Utc>,
) -> Result<Option<DemoLoad>, ServerError> {
    let data = demo::generate(spec, now, store.policy());
    let actor = store.actor().clone();
    let meta = EditMeta::new(&UserId::from("demo-import"), now, "demo.import");
    let logins = demo_logins(spec.reps);
    let passwords = logins
        .iter()
        .map(|l| crate::passwords::hash_demo_password(&l.password))
        .collect::<Result<Vec<_>, _>>()?;
    let documents = store.write(|tx, docs, _| {
        // Checked inside the transaction: nodes started together over one PostgreSQL
        // database load the demo once (the first to take the documents' lock).
        if tx.current_seq()? > 0 {
            return Ok(None);
        }
        for (login, password) in logins.iter().zip(&passwords) {
            auth::create_user(
                tx,
                &login.user_id,
                &demo::staff_name(&login.user_id),
                login.role,
                now,
            )?;
            auth::enroll_device_with_token(tx, &login.user_id, "demo device", &login.token, now)?;
            crate::passwords::set_password_hash(tx, &login.user_id, password)?;
        }
        let mut count = 0;
        for c in &data.customers {
            let (_, key) =
                insert_new_doc(tx, docs, doc::create_customer(c, actor.clone(), &meta)?, now)?;
            for owner in &c.owners {
                scope::grant(tx, owner.as_str(), &key)?;
            }
            count += 1;
        }
        for t in &data.tickets {
            insert_new_doc(tx, docs, doc::create_ticket(t, actor.clone(), &meta)?, now)?;
            count += 1;
        }
        let (_, project_key) = insert_new_doc(
            tx,
            docs,
            doc::create_project(&data.project, actor.clone(), &meta)?,
            now,
        )?;
        let (_, event_key) =
            insert_new_doc(tx, docs, doc::create_event(&data.event, actor.clone(), &meta)?, now)?;
        for staff in logins.iter().filter(|l| l.role == Role::EventStaff) {
            scope::grant(tx, &staff.user_id, &event_key)?;
            scope::grant(tx, &staff.user_id, &project_key)?;
        }
        count += store_records(tx, docs, &data, &actor, &meta, now)?;
        Ok(Some(count + 2))
    })?;
    let Some(documents) = documents else { return Ok(None) };
    // The demo event is ready to run: its desk opens with the documents.
    store.open_desk(data.event.id.as_str(), desk::catalog::DEFAULT_VOUCHER_SERIES, now)?;
    store.project_all(now)?;
    // Two years of monthly sales for the reports, as the ERP would have booked them.
    let sales = store.write(|tx, _, _| crate::sales_ledger::generate_demo(tx, now, spec.seed))?;
    tracing::info!(rows = sales, "demo sales ledger written");
    Ok(Some(DemoLoad { documents }))
}

/// Stores the demo's account-management records (leads, plans, surveys, scorecards, reviews,
/// organisations) and grants the plans' named owners and the surveys' takers the customers
/// they work on; a scorecard is seen by its person without a grant. Returns how many
/// documents were stored.
fn store_records(
    tx: &dyn crate::db::Db,
    docs: &mut crate::sync::docs::DocCache,
    data: &demo::DemoData,
    actor: &kam_core::doc::ActorId,
    meta: &EditMeta,
    now: DateTime<Utc>,
) -> Result<usize, ServerError> {
    fn put<R: doc::Record>(
        tx: &dyn crate::db::Db,
        docs: &mut crate::sync::docs::DocCache,
        records: &[R],
        actor: &kam_core::doc::ActorId,
        meta: &EditMeta,
        now: DateTime<Utc>,
    ) -> Result<usize, ServerError> {
        for r in records {
            insert_new_doc(tx, docs, doc::create_record(r, actor.clone(), meta)?, now)?;
        }
        Ok(records.len())
    }
    let mut count = put(tx, docs, &data.leads, actor, meta, now)?;
    count += put(tx, docs, &data.plans, actor, meta, now)?;
    count += put(tx, docs, &data.surveys, actor, meta, now)?;
    count += put(tx, docs, &data.scorecards, actor, meta, now)?;
    count += put(tx, docs, &data.reviews, actor, meta, now)?;
    count += put(tx, docs, &data.organisations, actor, meta, now)?;
    let plan_owners =
        data.plans.iter().flat_map(|p| p.owners.values().map(move |u| (u, &p.customer_id)));
    let takers = data.surveys.iter().map(|s| (&s.taken_by, &s.customer_id));
    for (user, customer) in plan_owners.chain(takers) {
        scope::grant(tx, user.as_str(), &format!("customer/{customer}"))?;
    }
    Ok(count)
}

/// The directory a path names, for messages.
pub fn display_dir(dir: &Path) -> PathBuf {
    dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chrono::TimeZone;
    use kam_core::doc::DocKind;

    use super::*;

    #[test]
    fn the_demo_load_stores_the_account_records_and_grants_their_staff() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = open_store(dir.path()).unwrap();
        let spec = DemoSpec {
            customers: 60,
            tickets: 100,
            units: 120,
            buyers: 20,
            ..DemoSpec::standard(3)
        };
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0).single().unwrap();
        let started = std::time::Instant::now();
        let loaded = load_demo(&mut store, &spec, now).unwrap().unwrap();
        eprintln!("demo load: {:?}", started.elapsed());
        let data = demo::generate(&spec, now, store.policy());
        let kinds = [
            (DocKind::Lead, data.leads.len()),
            (DocKind::Plan, data.plans.len()),
            (DocKind::Survey, data.surveys.len()),
            (DocKind::Scorecard, data.scorecards.len()),
            (DocKind::Review, data.reviews.len()),
            (DocKind::Organisation, data.organisations.len()),
        ];
        let mut records = 0;
        for (kind, expected) in kinds {
            assert!(expected > 0, "{kind:?}");
            let stored = store.conn().count_documents(kind).unwrap();
            assert_eq!(stored, expected as u64, "{kind:?}");
            records += expected;
        }
        let base = data.customers.len() + data.tickets.len() + 2;
        assert_eq!(loaded.documents, base + records);
        // The plans' function staff can sign in and see the customers they are named for.
        let logins = demo_logins(spec.reps);
        let plan = &data.plans[0];
        for staff in [demo::TECHNICAL_USER, demo::QUALITY_USER, demo::AFTER_SALES_USER] {
            assert!(logins.iter().any(|l| l.user_id == staff && l.role == Role::Rep));
            let key = format!("customer/{}", plan.customer_id);
            assert!(store.conn().has_grant(staff, &key).unwrap(), "{staff}");
        }
    }
}

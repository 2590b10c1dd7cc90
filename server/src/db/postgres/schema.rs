//! The PostgreSQL schema and its migrations, tracked in `kam_schema` (ADR 0024).
//!
//! The tables say what the SQLite schema says (`db::sqlite::schema`) in PostgreSQL's types:
//! `bytea` for blobs, `bigint` for integers, identity columns for SQLite's row ids. Times stay
//! RFC 3339 UTC text, as the traits carry them and as the SQLite file holds them, so both
//! backends answer alike and a company's move between them changes no value.
//!
//! Text compares and sorts by bytes (`COLLATE "C"`), as SQLite's does, whatever the
//! database's locale: ids and RFC 3339 times order the same on both backends.
//!
//! Several nodes may start at once against one database: each migration runs in one
//! transaction under a transaction-scoped advisory lock, so one node migrates and the others
//! find the schema current.

use super::PgDb;
use crate::db::DbError;

/// The advisory lock class every node takes while it migrates ("KAMS" in ASCII), with the
/// schema's name as the second key: nodes of one company's schema migrate one at a time, and
/// another schema of the same database (a test's, a second company's) does not wait for them.
const MIGRATION_LOCK: i32 = 0x4B41_4D53;

/// Version 1: documents with the change sequence, the server's settings, users, devices,
/// grants and revocations, per-device sync states, web sessions, and the authority's and
/// background tasks' records (violations, conflicts, the audit log, the quarantine).
const V1_DOCUMENTS_ACCOUNTS_AND_REVIEW: &str = r#"
CREATE TABLE meta (
    key   text COLLATE "C" PRIMARY KEY,
    value text COLLATE "C" NOT NULL
);

-- The change sequence. Taking a number locks its one row until the taker commits, so numbers
-- are committed in the order they are taken and a reader at cursor N never misses a change
-- numbered below one it has seen (ADR 0024).
CREATE TABLE change_seq (
    id    integer PRIMARY KEY CHECK (id = 1),
    value bigint NOT NULL
);
INSERT INTO change_seq(id, value) VALUES (1, 0);

CREATE TABLE documents (
    doc_id      text COLLATE "C" PRIMARY KEY,
    kind        text COLLATE "C" NOT NULL,
    snapshot    bytea NOT NULL,
    chunk_count bigint NOT NULL DEFAULT 0,
    chunk_bytes bigint NOT NULL DEFAULT 0,
    seq         bigint NOT NULL DEFAULT 0,
    scope_key   text COLLATE "C" NOT NULL DEFAULT '',
    heads       bytea NOT NULL DEFAULT ''::bytea
);
CREATE INDEX documents_by_seq ON documents(seq);
CREATE INDEX documents_by_scope ON documents(scope_key, seq);
CREATE INDEX documents_by_kind ON documents(kind);
CREATE INDEX projects_by_seq ON documents(seq) WHERE kind = 'project';

CREATE TABLE document_chunks (
    doc_id text COLLATE "C" NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    seq    bigint NOT NULL,
    data   bytea NOT NULL,
    PRIMARY KEY (doc_id, seq)
);

CREATE TABLE users (
    user_id       text COLLATE "C" PRIMARY KEY,
    display_name  text COLLATE "C" NOT NULL,
    role          text COLLATE "C" NOT NULL
        CHECK (role IN ('rep', 'event_staff', 'venue', 'finance', 'hq', 'admin')),
    created_at    text COLLATE "C" NOT NULL,
    disabled_at   text COLLATE "C",
    password_hash text COLLATE "C"
);

CREATE TABLE devices (
    device_id                    text COLLATE "C" PRIMARY KEY,
    user_id                      text COLLATE "C" NOT NULL REFERENCES users(user_id),
    label                        text COLLATE "C" NOT NULL,
    token_hash                   bytea NOT NULL UNIQUE,
    enrolled_at                  text COLLATE "C" NOT NULL,
    revoked_at                   text COLLATE "C",
    last_seen_at                 text COLLATE "C",
    last_cursor                  bigint NOT NULL DEFAULT 0,
    last_upload_at               text COLLATE "C",
    last_upload_oldest_change_at text COLLATE "C",
    installation                 text COLLATE "C"
);
CREATE INDEX devices_by_user ON devices(user_id);

CREATE TABLE grants (
    user_id     text COLLATE "C" NOT NULL REFERENCES users(user_id),
    scope_key   text COLLATE "C" NOT NULL,
    granted_seq bigint NOT NULL,
    PRIMARY KEY (user_id, scope_key)
);
CREATE INDEX grants_by_seq ON grants(user_id, granted_seq);
CREATE INDEX grants_by_scope ON grants(scope_key);

CREATE TABLE revocations (
    seq       bigint NOT NULL,
    user_id   text COLLATE "C" NOT NULL,
    scope_key text COLLATE "C" NOT NULL,
    PRIMARY KEY (user_id, seq, scope_key)
);

CREATE TABLE device_docs (
    device_id      text COLLATE "C" NOT NULL,
    doc_id         text COLLATE "C" NOT NULL,
    state          bytea NOT NULL,
    pending_state  bytea,
    pending_cursor bigint,
    PRIMARY KEY (device_id, doc_id)
);
CREATE INDEX device_docs_pending ON device_docs(device_id, pending_cursor)
    WHERE pending_cursor IS NOT NULL;
CREATE INDEX device_docs_by_doc ON device_docs(doc_id);

CREATE TABLE web_sessions (
    session_no   bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    session_hash bytea PRIMARY KEY,
    user_id      text COLLATE "C" NOT NULL REFERENCES users(user_id),
    csrf_token   text COLLATE "C" NOT NULL,
    created_at   text COLLATE "C" NOT NULL,
    expires_at   text COLLATE "C" NOT NULL
);
CREATE INDEX web_sessions_by_user ON web_sessions(user_id);
CREATE INDEX web_sessions_by_expiry ON web_sessions(expires_at);

CREATE TABLE violations (
    violation_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at           text COLLATE "C" NOT NULL,
    user_id      text COLLATE "C" NOT NULL,
    device_id    text COLLATE "C" NOT NULL,
    doc_id       text COLLATE "C" NOT NULL,
    field        text COLLATE "C" NOT NULL,
    rule         text COLLATE "C" NOT NULL,
    old_value    text COLLATE "C" NOT NULL,
    new_value    text COLLATE "C" NOT NULL,
    reviewed_at  text COLLATE "C",
    reviewed_by  text COLLATE "C"
);
CREATE INDEX violations_by_doc ON violations(doc_id);
CREATE INDEX violations_open ON violations(at) WHERE reviewed_at IS NULL;

CREATE TABLE conflicts (
    doc_id        text COLLATE "C" NOT NULL,
    path          text COLLATE "C" NOT NULL,
    field_values  text COLLATE "C" NOT NULL,
    first_seen_at text COLLATE "C" NOT NULL,
    last_seen_at  text COLLATE "C" NOT NULL,
    resolved_at   text COLLATE "C",
    PRIMARY KEY (doc_id, path)
);

CREATE TABLE audit_log (
    audit_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at       text COLLATE "C" NOT NULL,
    actor    text COLLATE "C" NOT NULL,
    action   text COLLATE "C" NOT NULL,
    target   text COLLATE "C" NOT NULL,
    detail   text COLLATE "C" NOT NULL
);

CREATE TABLE quarantine (
    task     text COLLATE "C" NOT NULL,
    doc_id   text COLLATE "C" NOT NULL,
    seq      bigint NOT NULL,
    error    text COLLATE "C" NOT NULL,
    first_at text COLLATE "C" NOT NULL,
    last_at  text COLLATE "C" NOT NULL,
    attempts bigint NOT NULL,
    PRIMARY KEY (task, doc_id)
);
"#;

/// Every migration step, in order; step `i` upgrades version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    V1_DOCUMENTS_ACCOUNTS_AND_REVIEW,
    super::projections_schema::V2_PROJECTIONS_AND_LEDGER,
    super::accounts_schema::V3_ACCOUNT_MANAGEMENT,
    super::desk_schema::V4_DESK,
];

/// The schema version this build writes.
#[allow(clippy::cast_possible_wrap)] // A handful of steps.
pub(crate) const CURRENT_VERSION: i64 = MIGRATIONS.len() as i64;

/// The schema version of the database `db` is connected to (0: empty).
pub(crate) fn version(db: &PgDb) -> Result<i64, DbError> {
    db.batch(
        "CREATE TABLE IF NOT EXISTS kam_schema (
             id      integer PRIMARY KEY CHECK (id = 1),
             version bigint NOT NULL
         )",
    )?;
    let row = db.row("SELECT version FROM kam_schema WHERE id = 1", &[])?;
    Ok(match row {
        Some(row) => row.try_get(0)?,
        None => 0,
    })
}

/// Brings the schema to [`CURRENT_VERSION`], one transaction per step under the migration
/// lock; refuses a database a newer build wrote.
pub(crate) fn migrate(db: &PgDb) -> Result<(), DbError> {
    migrate_to(db, MIGRATIONS)
}

/// Runs `steps` from the database's version on (the steps a test names, or [`MIGRATIONS`]).
pub(crate) fn migrate_to(db: &PgDb, steps: &[&str]) -> Result<(), DbError> {
    let newest = i64::try_from(steps.len()).unwrap_or(i64::MAX);
    loop {
        let stepped = db.transaction(|db| {
            db.execute(
                "SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))",
                &[&MIGRATION_LOCK],
            )?;
            let from = version(db)?;
            if from > CURRENT_VERSION {
                return Err(DbError::Migration(kam_core::migrations::MigrationError::TooNew {
                    found: from,
                    supported: CURRENT_VERSION,
                }));
            }
            let Some(step) = usize::try_from(from).ok().and_then(|i| steps.get(i)) else {
                return Ok(false);
            };
            db.batch(step)?;
            db.execute(
                "INSERT INTO kam_schema(id, version) VALUES (1, $1)
                 ON CONFLICT (id) DO UPDATE SET version = excluded.version",
                &[&(from + 1)],
            )?;
            tracing::info!(version = from + 1, "PostgreSQL schema migrated");
            Ok(from + 1 < newest)
        })?;
        if !stepped {
            return Ok(());
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic on a broken expectation.
mod tests {
    use super::*;
    use crate::db::postgres::testing::TestDatabase;

    #[test]
    fn an_empty_database_is_brought_to_the_current_version_once() {
        let Some(database) = TestDatabase::create() else { return };
        let db = database.db();
        assert_eq!(version(&db).unwrap(), 0);
        migrate(&db).unwrap();
        assert_eq!(version(&db).unwrap(), CURRENT_VERSION);
        migrate(&db).unwrap();
        assert_eq!(version(&db).unwrap(), CURRENT_VERSION, "a current schema is left alone");
        let seq: i64 = db.one("SELECT value FROM change_seq", &[]).unwrap().get(0);
        assert_eq!(seq, 0);
    }

    #[test]
    fn a_database_a_newer_build_wrote_is_refused() {
        let Some(database) = TestDatabase::create() else { return };
        let db = database.db();
        migrate(&db).unwrap();
        db.execute("UPDATE kam_schema SET version = $1", &[&(CURRENT_VERSION + 1)]).unwrap();
        let refused = migrate(&db).unwrap_err();
        assert!(matches!(refused, DbError::Migration(_)), "{refused}");
    }

    #[test]
    fn nodes_starting_together_migrate_once() {
        let Some(database) = TestDatabase::create() else { return };
        let nodes: Vec<_> = (0..4)
            .map(|_| {
                let db = database.db();
                std::thread::spawn(move || migrate(&db))
            })
            .collect();
        for node in nodes {
            node.join().unwrap().unwrap();
        }
        assert_eq!(version(&database.db()).unwrap(), CURRENT_VERSION);
    }
}

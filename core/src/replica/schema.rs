//! The replica's SQLite schema and its migrations, tracked by `PRAGMA user_version`.
//!
//! A fresh file runs every step in order, so a new replica and an upgraded one end with the
//! same schema by construction; each step is tested from the schema before it. Each step runs
//! in its own IMMEDIATE transaction together with the `user_version` bump, so a crash leaves
//! the file at one version or the next, never in between.

use rusqlite::Connection;

use super::error::ReplicaError;
use crate::migrations::Migrations;

/// Version 1: documents (snapshot plus incremental chunks), sync state and the outbox.
const V1_STORAGE: &str = "
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE documents (
    doc_id      TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    snapshot    BLOB NOT NULL,
    chunk_count INTEGER NOT NULL DEFAULT 0,
    chunk_bytes INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE document_chunks (
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    seq    INTEGER NOT NULL,
    data   BLOB NOT NULL,
    PRIMARY KEY (doc_id, seq)
) STRICT;

CREATE TABLE sync_states (
    doc_id TEXT NOT NULL,
    peer   TEXT NOT NULL,
    state  BLOB NOT NULL,
    PRIMARY KEY (doc_id, peer)
) STRICT;

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    command         TEXT NOT NULL,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_attempt_at TEXT,
    answer          TEXT,
    answered_at     TEXT,
    dismissed_at    TEXT
) STRICT;
CREATE INDEX outbox_by_status ON outbox(status, id);
";

/// Version 2: the local index that list screens query without loading documents. It is a
/// projection of the documents, so the step only creates tables and marks the index stale;
/// the replica rebuilds it from the documents on open.
const V2_LOCAL_INDEX: &str = "
CREATE TABLE idx_customers (
    customer_id    TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    name_folded    TEXT NOT NULL,
    industry       TEXT NOT NULL,
    region         TEXT NOT NULL,
    tier           TEXT NOT NULL,
    tier_rank      INTEGER NOT NULL,
    grade          TEXT,
    score          INTEGER,
    strategic      INTEGER NOT NULL,
    next_visit_due TEXT
) STRICT;
CREATE INDEX idx_customers_by_tier ON idx_customers(tier_rank, score DESC, name);

CREATE TABLE idx_customer_owners (
    owner_id    TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    PRIMARY KEY (owner_id, customer_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX idx_customer_owners_by_customer ON idx_customer_owners(customer_id);

CREATE TABLE idx_visits_due (
    customer_id   TEXT NOT NULL,
    level         TEXT NOT NULL,
    last_visit_on TEXT,
    next_due_on   TEXT NOT NULL,
    PRIMARY KEY (customer_id, level)
) STRICT, WITHOUT ROWID;
CREATE INDEX idx_visits_due_by_date ON idx_visits_due(next_due_on);

CREATE TABLE idx_tickets (
    ticket_id      TEXT PRIMARY KEY,
    customer_id    TEXT NOT NULL,
    kind           TEXT NOT NULL,
    priority       TEXT NOT NULL,
    priority_rank  INTEGER NOT NULL,
    status         TEXT NOT NULL,
    is_open        INTEGER NOT NULL,
    title          TEXT NOT NULL,
    opened_at      TEXT NOT NULL,
    reply_due_at   TEXT NOT NULL,
    first_reply_at TEXT,
    owner_id       TEXT
) STRICT;
CREATE INDEX idx_tickets_open_by_customer ON idx_tickets(customer_id, is_open);
CREATE INDEX idx_tickets_open_by_due ON idx_tickets(is_open, reply_due_at);

INSERT INTO meta(key, value) VALUES ('index_stale', '1')
    ON CONFLICT(key) DO UPDATE SET value = excluded.value;
";

/// Version 3: server sync bookkeeping. `sync_dirty` lists documents holding changes the server
/// may not have yet, so a sync round asks about those and nothing else; the server cursor
/// lives in `meta`.
const V3_SERVER_SYNC: &str = "
CREATE TABLE sync_dirty (
    doc_id TEXT PRIMARY KEY
) STRICT;
INSERT INTO sync_dirty(doc_id) SELECT doc_id FROM documents;
";

/// Version 4: the account-management index (issue 23): leads, plans with the quarters still to
/// evaluate, surveys and scorecards; customers gain their creation date (the survey cadence
/// runs from it). Rows are pure functions of a document and the policy: what depends on today
/// (due, overdue) is computed at query time from the dates stored. The index is marked stale
/// so the replica fills the new tables from the documents it holds.
const V4_ACCOUNTS_INDEX: &str = "
ALTER TABLE idx_customers ADD COLUMN created_on TEXT;

CREATE TABLE idx_leads (
    lead_id        TEXT PRIMARY KEY,
    customer_id    TEXT NOT NULL,
    owner_id       TEXT NOT NULL,
    title          TEXT NOT NULL,
    stage          TEXT NOT NULL,
    stage_rank     INTEGER NOT NULL,
    expected_value TEXT NOT NULL,
    updated_at     TEXT NOT NULL
) STRICT;
CREATE INDEX idx_leads_by_owner ON idx_leads(owner_id, stage_rank);

CREATE TABLE idx_plans (
    plan_id     TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL,
    year        INTEGER NOT NULL,
    revision    INTEGER NOT NULL,
    status      TEXT NOT NULL
) STRICT;
CREATE INDEX idx_plans_by_customer ON idx_plans(customer_id, year);

CREATE TABLE idx_plan_evaluations_due (
    plan_id       TEXT NOT NULL,
    quarter       INTEGER NOT NULL,
    due_from      TEXT NOT NULL,
    overdue_after TEXT NOT NULL,
    PRIMARY KEY (plan_id, quarter)
) STRICT, WITHOUT ROWID;
CREATE INDEX idx_plan_evaluations_due_by_date ON idx_plan_evaluations_due(due_from);

CREATE TABLE idx_surveys (
    survey_id   TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL,
    kind        TEXT NOT NULL,
    taken_at    TEXT NOT NULL,
    taken_on    TEXT NOT NULL,
    score       INTEGER
) STRICT;
CREATE INDEX idx_surveys_by_customer ON idx_surveys(customer_id, kind, taken_on);

CREATE TABLE idx_scorecards (
    scorecard_id TEXT PRIMARY KEY,
    person_id    TEXT NOT NULL,
    period       TEXT NOT NULL,
    sales_target TEXT NOT NULL,
    computed_at  TEXT,
    total        TEXT,
    lines        TEXT
) STRICT;
CREATE UNIQUE INDEX idx_scorecards_by_person ON idx_scorecards(person_id, period);

INSERT INTO meta(key, value) VALUES ('index_stale', '1')
    ON CONFLICT(key) DO UPDATE SET value = excluded.value;
";

/// Every migration step, in order; step `i` upgrades version `i` to `i + 1`.
pub(crate) const MIGRATIONS: &[&str] =
    &[V1_STORAGE, V2_LOCAL_INDEX, V3_SERVER_SYNC, V4_ACCOUNTS_INDEX];

/// Sets the connection pragmas. WAL lets readers run beside the writer; `synchronous=FULL`
/// because a rep's saved edit is acknowledged on screen and must survive power loss.
pub(crate) fn prepare(conn: &Connection) -> Result<(), ReplicaError> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(())
}

/// The migration steps, for the shared runner in [`crate::migrations`].
const SCHEMA: Migrations = Migrations { database: "replica", steps: MIGRATIONS };

/// Upgrades the database to the current version.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), ReplicaError> {
    Ok(SCHEMA.migrate(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrations::{MigrationError, user_version};
    use crate::test_support::migrations::{self, schema_of};

    const CURRENT_VERSION: i64 = SCHEMA.current_version();

    fn version(conn: &Connection) -> Result<i64, rusqlite::Error> {
        user_version(conn)
    }

    fn migrate_to(conn: &mut Connection, target: i64) -> Result<(), MigrationError> {
        SCHEMA.migrate_to(conn, target)
    }

    fn at_version(version: i64) -> Connection {
        migrations::at_version(&SCHEMA, prepare, version)
    }

    /// The workspace's `.cargo/config.toml` builds SQLite without the extensions nothing uses
    /// (ADR 0022's addendum: the mobile library's size); this fails if a build loses it.
    #[test]
    fn sqlite_is_built_without_the_extensions_nothing_uses() {
        let conn = Connection::open_in_memory().unwrap();
        let mut stmt = conn.prepare("PRAGMA compile_options").unwrap();
        let options: Vec<String> =
            stmt.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap();
        for unused in ["ENABLE_FTS3", "ENABLE_FTS5", "ENABLE_RTREE", "ENABLE_DBSTAT_VTAB"] {
            assert!(!options.iter().any(|o| o == unused), "{unused} in {options:?}");
        }
        assert!(options.iter().any(|o| o == "OMIT_LOAD_EXTENSION"), "{options:?}");
    }

    #[test]
    fn fresh_file_reaches_current_version() {
        let conn = at_version(CURRENT_VERSION);
        assert_eq!(version(&conn).unwrap(), CURRENT_VERSION);
        assert!(schema_of(&conn).iter().any(|s| s.contains("idx_customers")));
    }

    #[test]
    fn v1_to_v2_keeps_documents_and_outbox_and_marks_index_stale() {
        let mut conn = at_version(1);
        conn.execute(
            "INSERT INTO documents(doc_id, kind, snapshot) VALUES ('customer/c1', 'customer', x'00')",
            [],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO outbox(idempotency_key, command, payload, status, created_at)
             VALUES ('k1', 'hold', '{}', 'pending', '2026-11-23T00:00:00Z')",
            [],
        )
        .unwrap();
        migrate_to(&mut conn, 2).unwrap();
        let docs: i64 = conn.query_row("SELECT COUNT(*) FROM documents", [], |r| r.get(0)).unwrap();
        let outbox: i64 = conn.query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get(0)).unwrap();
        let stale: String = conn
            .query_row("SELECT value FROM meta WHERE key = 'index_stale'", [], |r| r.get(0))
            .unwrap();
        assert_eq!((docs, outbox, stale.as_str()), (1, 1, "1"));
    }

    #[test]
    fn v2_to_v3_marks_every_held_document_for_the_server() {
        let mut conn = at_version(2);
        conn.execute(
            "INSERT INTO documents(doc_id, kind, snapshot) VALUES ('customer/c1', 'customer', x'00')",
            [],
        )
        .unwrap();
        migrate_to(&mut conn, 3).unwrap();
        let dirty: Vec<String> = conn
            .prepare("SELECT doc_id FROM sync_dirty")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(dirty, vec!["customer/c1".to_owned()]);
    }

    #[test]
    fn v3_to_v4_keeps_customer_rows_and_marks_index_stale() {
        let mut conn = at_version(3);
        conn.execute(
            "INSERT INTO idx_customers(customer_id, name, name_folded, industry, region, tier,
                 tier_rank, strategic) VALUES ('c1', 'A', 'a', '', '', 'main', 2, 0)",
            [],
        )
        .unwrap();
        conn.execute("UPDATE meta SET value = '0' WHERE key = 'index_stale'", []).unwrap();
        migrate_to(&mut conn, 4).unwrap();
        let created: Option<String> = conn
            .query_row("SELECT created_on FROM idx_customers WHERE customer_id = 'c1'", [], |r| {
                r.get(0)
            })
            .unwrap();
        let stale: String = conn
            .query_row("SELECT value FROM meta WHERE key = 'index_stale'", [], |r| r.get(0))
            .unwrap();
        assert_eq!((created, stale.as_str()), (None, "1"));
        for table in
            ["idx_leads", "idx_plans", "idx_plan_evaluations_due", "idx_surveys", "idx_scorecards"]
        {
            let n: i64 =
                conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0)).unwrap();
            assert_eq!(n, 0, "{table}");
        }
    }

    #[test]
    fn every_step_from_the_previous_schema_matches_a_fresh_file() {
        migrations::assert_every_step_matches_a_fresh_database(&SCHEMA, prepare, migrate);
    }

    #[test]
    fn a_newer_file_is_refused() {
        let mut conn = at_version(CURRENT_VERSION);
        conn.pragma_update(None, "user_version", CURRENT_VERSION + 1).unwrap();
        assert!(matches!(migrate(&mut conn), Err(ReplicaError::SchemaTooNew { .. })));
    }
}

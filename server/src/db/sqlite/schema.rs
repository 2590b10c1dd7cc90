//! The server database schema and its migrations, tracked by `PRAGMA user_version`.
//!
//! One file holds the documents (in the same `documents` / `document_chunks` layout as a
//! device replica, plus the server's change sequence and scope key), the sync bookkeeping per
//! device, users and devices, the authority's records (violations, conflicts, audit) and the
//! relational projections headquarters queries. Each step runs in one IMMEDIATE transaction
//! with its `user_version` bump and is tested from the schema before it.

use kam_core::migrations::Migrations;
use rusqlite::Connection;

use crate::db::DbError;

/// Version 1: documents with the change sequence, devices' sync bookkeeping, users, devices,
/// scope grants, and the authority's records.
const V1_DOCUMENTS_AND_AUTHORITY: &str = "
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

-- The change sequence: every stored change to a document, and every scope change, takes the
-- next value. A device's cursor is a position in it.
CREATE TABLE change_seq (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
) STRICT;
INSERT INTO change_seq(id, value) VALUES (1, 0);

CREATE TABLE documents (
    doc_id      TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    snapshot    BLOB NOT NULL,
    chunk_count INTEGER NOT NULL DEFAULT 0,
    chunk_bytes INTEGER NOT NULL DEFAULT 0,
    seq         INTEGER NOT NULL DEFAULT 0,
    scope_key   TEXT NOT NULL DEFAULT '',
    heads       BLOB NOT NULL DEFAULT x''
) STRICT;
CREATE INDEX documents_by_seq ON documents(seq);
CREATE INDEX documents_by_scope ON documents(scope_key);

CREATE TABLE document_chunks (
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    seq    INTEGER NOT NULL,
    data   BLOB NOT NULL,
    PRIMARY KEY (doc_id, seq)
) STRICT;

CREATE TABLE users (
    user_id       TEXT PRIMARY KEY,
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('rep', 'event_staff', 'finance', 'hq', 'admin')),
    created_at    TEXT NOT NULL,
    disabled_at   TEXT
) STRICT;

CREATE TABLE devices (
    device_id    TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(user_id),
    label        TEXT NOT NULL,
    token_hash   BLOB NOT NULL UNIQUE,
    enrolled_at  TEXT NOT NULL,
    revoked_at   TEXT,
    last_seen_at TEXT,
    last_cursor  INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX devices_by_user ON devices(user_id);

-- Which scope keys a user may see beyond what the role grants.
CREATE TABLE grants (
    user_id     TEXT NOT NULL REFERENCES users(user_id),
    scope_key   TEXT NOT NULL,
    granted_seq INTEGER NOT NULL,
    PRIMARY KEY (user_id, scope_key)
) STRICT;
CREATE INDEX grants_by_seq ON grants(user_id, granted_seq);
CREATE INDEX grants_by_scope ON grants(scope_key);

-- Revoked grants, so a device learns on its next round what it must purge.
CREATE TABLE revocations (
    seq       INTEGER NOT NULL,
    user_id   TEXT NOT NULL,
    scope_key TEXT NOT NULL,
    PRIMARY KEY (user_id, seq, scope_key)
) STRICT;

-- Per device and document: the sync state both sides share, and the state the device will
-- share once it confirms (by sending a cursor at least `pending_cursor`) that it applied what
-- it was sent.
CREATE TABLE device_docs (
    device_id      TEXT NOT NULL,
    doc_id         TEXT NOT NULL,
    state          BLOB NOT NULL,
    pending_state  BLOB,
    pending_cursor INTEGER,
    PRIMARY KEY (device_id, doc_id)
) STRICT;
CREATE INDEX device_docs_pending ON device_docs(device_id, pending_cursor)
    WHERE pending_cursor IS NOT NULL;

CREATE TABLE violations (
    violation_id INTEGER PRIMARY KEY,
    at           TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    device_id    TEXT NOT NULL,
    doc_id       TEXT NOT NULL,
    field        TEXT NOT NULL,
    rule         TEXT NOT NULL,
    old_value    TEXT NOT NULL,
    new_value    TEXT NOT NULL,
    reviewed_at  TEXT,
    reviewed_by  TEXT
) STRICT;
CREATE INDEX violations_by_doc ON violations(doc_id);

CREATE TABLE conflicts (
    doc_id        TEXT NOT NULL,
    path          TEXT NOT NULL,
    field_values  TEXT NOT NULL,
    first_seen_at TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL,
    resolved_at   TEXT,
    PRIMARY KEY (doc_id, path)
) STRICT;

CREATE TABLE audit_log (
    audit_id INTEGER PRIMARY KEY,
    at       TEXT NOT NULL,
    actor    TEXT NOT NULL,
    action   TEXT NOT NULL,
    target   TEXT NOT NULL,
    detail   TEXT NOT NULL
) STRICT;
";

/// Version 3: headquarters' dashboard. Passwords and browser sessions for people (devices
/// keep their tokens); the monthly sales ledger imported from the ERP, which the monthly and
/// quarterly reports read; the general manager's decisions on re-grade proposals; and two
/// projected facts the re-grade needs (leading brand, sales per year).
const V3_DASHBOARD: &str = "
ALTER TABLE users ADD COLUMN password_hash TEXT;

CREATE TABLE web_sessions (
    session_hash BLOB PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(user_id),
    csrf_token   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL
) STRICT;
CREATE INDEX web_sessions_by_user ON web_sessions(user_id);

-- When a device last delivered edits, and the commit time of the oldest of them: how long
-- edits waited in its outbox before they reached the server.
ALTER TABLE devices ADD COLUMN last_upload_at TEXT;
ALTER TABLE devices ADD COLUMN last_upload_oldest_change_at TEXT;

-- Sales booked per customer and calendar month (CNY, Decimal text), as the ERP reports them.
CREATE TABLE sales_monthly (
    customer_id TEXT NOT NULL,
    month       TEXT NOT NULL CHECK (month GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]'),
    amount      TEXT NOT NULL,
    source      TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    PRIMARY KEY (customer_id, month)
) STRICT;

CREATE TABLE regrade_decisions (
    customer_id    TEXT NOT NULL,
    year           INTEGER NOT NULL,
    proposed_tier  TEXT NOT NULL,
    proposed_grade TEXT NOT NULL,
    decision       TEXT NOT NULL CHECK (decision IN ('approved', 'rejected')),
    decided_by     TEXT NOT NULL,
    decided_at     TEXT NOT NULL,
    PRIMARY KEY (customer_id, year)
) STRICT;

ALTER TABLE customers ADD COLUMN leading_brand INTEGER NOT NULL DEFAULT 0;

CREATE TABLE customer_sales_years (
    customer_id TEXT NOT NULL,
    year        INTEGER NOT NULL,
    amount      TEXT NOT NULL,
    PRIMARY KEY (customer_id, year)
) STRICT;
";

/// Version 4: indexes for a device's news (`scope::news_since`). A rep's news was found by
/// walking every document changed since the device's cursor and keeping those in scope, so a
/// device that had been away paid for every other rep's edits; these let it seek each of its
/// scope keys, and the few projects, from the cursor on.
const V4_NEWS_BY_SCOPE: &str = "
DROP INDEX documents_by_scope;
CREATE INDEX documents_by_scope ON documents(scope_key, seq);
CREATE INDEX projects_by_seq ON documents(seq) WHERE kind = 'project';
";

/// Version 5: customers' late-payment records, projected like their visits. The quarterly
/// analysis counts them per quarter; before, it loaded every customer's document to find them.
/// The projections are rebuilt when the schema version changes (`Store::open`), which fills
/// the table from the stored documents.
const V5_LATE_PAYMENTS: &str = "
CREATE TABLE customer_late_payments (
    customer_id     TEXT NOT NULL,
    late_payment_id TEXT NOT NULL,
    reference       TEXT NOT NULL,
    due_on          TEXT NOT NULL,
    paid_on         TEXT,
    PRIMARY KEY (customer_id, late_payment_id)
) STRICT;
CREATE INDEX customer_late_payments_by_due ON customer_late_payments(due_on);
";

/// Version 6: documents a background task set aside (see `quarantine`, ADR 0013).
const V6_QUARANTINE: &str = "
CREATE TABLE quarantine (
    task     TEXT NOT NULL,
    doc_id   TEXT NOT NULL,
    seq      INTEGER NOT NULL,
    error    TEXT NOT NULL,
    first_at TEXT NOT NULL,
    last_at  TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    PRIMARY KEY (task, doc_id)
) STRICT;
";

/// Version 7: the `venue` role (a venue server's own account, issue 21). SQLite cannot alter
/// a CHECK constraint, so `users` is rebuilt (SQLite's twelve-step procedure) with every row
/// and column it had; devices, grants and sessions refer to it by name and keep referring to
/// the new table. [`migrate`] runs the steps with foreign keys off, so dropping the old table
/// deletes through no reference.
const V7_VENUE_ROLE: &str = "
CREATE TABLE users_v7 (
    user_id       TEXT PRIMARY KEY,
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL
        CHECK (role IN ('rep', 'event_staff', 'venue', 'finance', 'hq', 'admin')),
    created_at    TEXT NOT NULL,
    disabled_at   TEXT,
    password_hash TEXT
) STRICT;
INSERT INTO users_v7(user_id, display_name, role, created_at, disabled_at, password_hash)
    SELECT user_id, display_name, role, created_at, disabled_at, password_hash FROM users;
DROP TABLE users;
ALTER TABLE users_v7 RENAME TO users;
";

/// Version 8: the installation each device is bound to (ADR 0022, one identity per device):
/// empty until the first request naming an installation binds it, then only that
/// installation may use the token until an administrator releases it.
const V8_DEVICE_INSTALLATION: &str = "
ALTER TABLE devices ADD COLUMN installation TEXT;
";

/// Every migration step, in order; step `i` upgrades version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    V1_DOCUMENTS_AND_AUTHORITY,
    super::projections::PROJECTION_SCHEMA,
    V3_DASHBOARD,
    V4_NEWS_BY_SCOPE,
    V5_LATE_PAYMENTS,
    V6_QUARANTINE,
    V7_VENUE_ROLE,
    V8_DEVICE_INSTALLATION,
    super::accounts_schema::V9_ACCOUNT_MANAGEMENT,
];

/// The schema version this build writes.
pub(crate) const CURRENT_VERSION: i64 = SCHEMA.current_version();

/// The log size (pages) at which a writer checkpoints by itself: 32 MiB of 4 KiB pages (see
/// `checkpoint`, which keeps the log short from a thread of its own).
pub(crate) const BACKSTOP_PAGES: i64 = 8_192;

/// Sets the connection pragmas. Every acknowledged sync round and authority decision must
/// survive power loss, hence `synchronous=FULL`.
pub(crate) fn prepare(conn: &Connection) -> Result<(), DbError> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    // The serving process checkpoints from a thread of its own (see `checkpoint`); a writer
    // does it inside a commit only when the log has grown far past SQLite's default.
    conn.pragma_update(None, "wal_autocheckpoint", BACKSTOP_PAGES)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // The working set (documents, their sequence index and the projections) outgrows the
    // 2 MiB default page cache with a few thousand documents.
    conn.pragma_update(None, "cache_size", -65_536)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    // Savepoints (one per desk command, one per projection) journal the pages they touch;
    // in memory, not in a temporary file written on every command.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    Ok(())
}

/// The migration steps, for the shared runner in [`kam_core::migrations`].
const SCHEMA: Migrations = Migrations { database: "server", steps: MIGRATIONS };

/// Upgrades the database to the current version. When there is a step to run, foreign keys
/// are off while the steps run (as in the desk's file): version 7 rebuilds `users`, which
/// devices, grants and sessions refer to, and dropping the old table with them on would
/// delete through every reference. The references are checked before they are turned back
/// on; a database already current is neither touched nor scanned.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), DbError> {
    if kam_core::migrations::user_version(conn)? >= CURRENT_VERSION {
        // Current, or newer (which the runner refuses).
        return Ok(SCHEMA.migrate(conn)?);
    }
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    let migrated = SCHEMA.migrate(conn);
    let dangling =
        conn.query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |r| r.get::<_, i64>(0));
    conn.pragma_update(None, "foreign_keys", "ON")?;
    migrated?;
    match dangling? {
        0 => Ok(()),
        n => Err(DbError::Corrupt(format!("{n} server rows refer to rows that do not exist"))),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use kam_core::test_support::migrations;

    fn at_version(v: i64) -> Connection {
        migrations::at_version(&SCHEMA, prepare, v)
    }

    #[test]
    fn every_step_from_the_previous_schema_matches_a_fresh_database() {
        migrations::assert_every_step_matches_a_fresh_database(&SCHEMA, prepare, migrate);
    }

    #[test]
    fn v1_to_v2_keeps_documents_and_devices() {
        let mut conn = at_version(1);
        conn.execute_batch(
            "INSERT INTO documents(doc_id, kind, snapshot, seq) VALUES ('customer/c1', 'customer', x'00', 1);
             INSERT INTO users VALUES ('u1', 'U', 'rep', '2026-11-23T00:00:00Z', NULL);
             INSERT INTO devices(device_id, user_id, label, token_hash, enrolled_at)
                 VALUES ('d1', 'u1', 'tablet', x'01', '2026-11-23T00:00:00Z');",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let n: i64 = conn
            .query_row(
                "SELECT (SELECT COUNT(*) FROM documents) + (SELECT COUNT(*) FROM devices)",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 2);
        let customers: i64 =
            conn.query_row("SELECT COUNT(*) FROM customers", [], |r| r.get(0)).unwrap();
        assert_eq!(customers, 0, "projections start empty and are rebuilt from documents");
    }

    #[test]
    fn v2_to_v3_keeps_users_and_adds_passwords_sessions_and_the_sales_ledger() {
        let mut conn = at_version(2);
        conn.execute_batch(
            "INSERT INTO users VALUES ('u1', 'U', 'hq', '2026-11-23T00:00:00Z', NULL);",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let (user, hash): (String, Option<String>) = conn
            .query_row("SELECT user_id, password_hash FROM users", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((user.as_str(), hash), ("u1", None), "existing users have no password yet");
        conn.execute_batch(
            "INSERT INTO sales_monthly VALUES ('c1', '2026-10', '1.00', 'erp', '2026-11-23T00:00:00Z');",
        )
        .unwrap();
        let bad_month = conn.execute_batch(
            "INSERT INTO sales_monthly VALUES ('c1', '2026-1', '1.00', 'erp', '2026-11-23T00:00:00Z');",
        );
        assert!(bad_month.is_err(), "a month is YYYY-MM");
    }

    #[test]
    fn v3_to_v4_keeps_documents_and_finds_a_reps_news_by_scope_key() {
        let mut conn = at_version(3);
        conn.execute_batch(
            "INSERT INTO documents(doc_id, kind, snapshot, seq, scope_key)
                 VALUES ('customer/c1', 'customer', x'00', 7, 'customer/c1');",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let seq: i64 = conn
            .query_row("SELECT seq FROM documents WHERE scope_key = 'customer/c1'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(seq, 7);
        let plan = super::super::grants::news_query_plan(&conn, crate::auth::Role::Rep).unwrap();
        assert!(
            plan.iter().any(|step| step.contains("documents_by_scope (scope_key=? AND seq>?)"))
        );
        assert!(!plan.iter().any(|step| step.contains("documents_by_seq")), "{plan:?}");
    }

    #[test]
    fn v5_to_v6_keeps_documents_and_starts_with_nothing_quarantined() {
        let mut conn = at_version(5);
        conn.execute_batch(
            "INSERT INTO documents(doc_id, kind, snapshot, seq) VALUES ('customer/c1', 'customer', x'00', 3);",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let (docs, quarantined): (i64, i64) = conn
            .query_row(
                "SELECT (SELECT COUNT(*) FROM documents), (SELECT COUNT(*) FROM quarantine)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((docs, quarantined), (1, 0));
    }

    #[test]
    fn v6_to_v7_keeps_users_and_their_references_and_admits_the_venue_role() {
        let mut conn = at_version(6);
        conn.execute_batch(
            "INSERT INTO users VALUES
                 ('u1', 'U', 'event_staff', '2026-11-23T00:00:00Z', NULL, 'hash'),
                 ('u2', 'V', 'rep', '2026-11-23T00:00:00Z', '2026-11-24T00:00:00Z', NULL);
             INSERT INTO devices(device_id, user_id, label, token_hash, enrolled_at)
                 VALUES ('d1', 'u1', 'tablet', x'01', '2026-11-23T00:00:00Z');
             INSERT INTO grants VALUES ('u1', 'event/e1', 4);
             INSERT INTO web_sessions VALUES
                 (x'02', 'u1', 'csrf', '2026-11-23T00:00:00Z', '2026-11-24T00:00:00Z');",
        )
        .unwrap();
        let refused = conn.execute(
            "INSERT INTO users VALUES ('v1', 'Hall', 'venue', '2026-11-23T00:00:00Z', NULL, NULL)",
            [],
        );
        assert!(refused.is_err(), "version 6 knows no venue role");
        let rows = |conn: &Connection| -> Vec<String> {
            let mut stmt = conn
                .prepare(
                    "SELECT 'user ' || user_id || ' ' || display_name || ' ' || role || ' '
                         || created_at || ' ' || ifnull(disabled_at, '-') || ' '
                         || ifnull(password_hash, '-') FROM users
                     UNION ALL SELECT 'device ' || device_id || ' ' || user_id FROM devices
                     UNION ALL SELECT 'grant ' || user_id || ' ' || scope_key FROM grants
                     UNION ALL SELECT 'session ' || user_id FROM web_sessions
                     ORDER BY 1",
                )
                .unwrap();
            stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
        };
        let before = rows(&conn);
        migrate(&mut conn).unwrap();
        assert_eq!(rows(&conn), before);
        assert!(kam_core::migrations::user_version(&conn).unwrap() >= 7);
        let fks: bool = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap();
        assert!(fks, "foreign keys are on again after the upgrade");
        conn.execute(
            "INSERT INTO users VALUES ('v1', 'Hall', 'venue', '2026-11-23T00:00:00Z', NULL, NULL)",
            [],
        )
        .unwrap();
        let king = conn.execute(
            "INSERT INTO users VALUES ('k1', 'K', 'king', '2026-11-23T00:00:00Z', NULL, NULL)",
            [],
        );
        assert!(king.is_err(), "a role outside the six is still refused");
        // The references bind to the rebuilt table: a device of a user that does not exist
        // is refused, a device of the new venue user is not.
        let orphan = conn.execute(
            "INSERT INTO devices(device_id, user_id, label, token_hash, enrolled_at)
                 VALUES ('d2', 'nobody', 'x', x'03', '2026-11-23T00:00:00Z')",
            [],
        );
        assert!(orphan.is_err(), "a device must name an existing user");
        conn.execute(
            "INSERT INTO devices(device_id, user_id, label, token_hash, enrolled_at)
                 VALUES ('d3', 'v1', 'venue', x'04', '2026-11-23T00:00:00Z')",
            [],
        )
        .unwrap();
    }

    #[test]
    fn v7_to_v8_keeps_devices_unbound_and_binds_one_installation() {
        let mut conn = at_version(7);
        conn.execute_batch(
            "INSERT INTO users(user_id, display_name, role, created_at)
                 VALUES ('r1', 'Rep', 'rep', '2026-12-04T00:00:00Z');
             INSERT INTO devices(device_id, user_id, label, token_hash, enrolled_at, last_cursor)
                 VALUES ('d1', 'r1', 'tablet', x'01', '2026-12-04T00:00:00Z', 42);",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        assert!(kam_core::migrations::user_version(&conn).unwrap() >= 8);
        let row: (String, i64, Option<String>) = conn
            .query_row("SELECT label, last_cursor, installation FROM devices", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .unwrap();
        assert_eq!(row, ("tablet".to_owned(), 42, None), "an enrolled device starts unbound");
        use crate::db::AccountStore;
        assert_eq!(conn.bind_installation("d1", "inst-a").unwrap().as_deref(), Some("inst-a"));
        assert_eq!(conn.bind_installation("d1", "inst-b").unwrap().as_deref(), Some("inst-a"));
    }

    #[test]
    fn v8_to_v9_keeps_documents_and_starts_the_account_tables_empty() {
        let mut conn = at_version(8);
        conn.execute_batch(
            "INSERT INTO users(user_id, display_name, role, created_at)
                 VALUES ('r1', 'Rep', 'rep', '2026-12-05T00:00:00Z');",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        assert_eq!(kam_core::migrations::user_version(&conn).unwrap(), 9);
        let users: i64 = conn.query_row("SELECT count(*) FROM users", [], |r| r.get(0)).unwrap();
        assert_eq!(users, 1);
        for table in ["leads", "plans", "surveys", "scorecards", "reviews", "organisations"] {
            let rows: i64 =
                conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0)).unwrap();
            assert_eq!(rows, 0, "{table}");
        }
    }

    #[test]
    fn a_dangling_reference_found_while_upgrading_is_reported() {
        let mut conn = at_version(6);
        conn.pragma_update(None, "foreign_keys", "OFF").unwrap();
        conn.execute_batch(
            "INSERT INTO devices(device_id, user_id, label, token_hash, enrolled_at)
                 VALUES ('d1', 'gone', 'tablet', x'01', '2026-11-23T00:00:00Z');",
        )
        .unwrap();
        conn.pragma_update(None, "foreign_keys", "ON").unwrap();
        let found = migrate(&mut conn);
        assert!(matches!(found, Err(DbError::Corrupt(_))), "{found:?}");
        let fks: bool = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap();
        assert!(fks, "foreign keys are on again after a refused upgrade");
    }

    #[test]
    fn a_newer_database_is_refused() {
        let mut conn = at_version(CURRENT_VERSION);
        conn.pragma_update(None, "user_version", CURRENT_VERSION + 1).unwrap();
        let refused = migrate(&mut conn).map_err(crate::error::ServerError::from);
        assert!(matches!(refused, Err(crate::error::ServerError::SchemaTooNew { .. })));
    }
}

//! The selection desk's database: its own file beside the server's, with its own versions.
//!
//! The desk commits far more often than anything else on the server, and each commit waits
//! for a `fsync`. In a file of its own it never queues behind a sync round or the mirror
//! writing documents, and they never queue behind it. The two files are never attached to one
//! connection: an IMMEDIATE transaction takes the write lock of every attached file, which
//! would chain the desk to every sync round again. The writer reads devices, users and grants
//! through a second, read-only connection to the server's file; the server reads the desk
//! (mirror, control table, reconciliation) through its own connection to the desk's file. In
//! WAL mode readers never wait for writers.
//!
//! The desk is the server's authority over what a CRDT must not merge: unit status, holds,
//! the queue, work tickets, receipts and vouchers. Its rows are the truth; the project and
//! event documents carry a mirror of them for the tablets (see `desk::mirror`).
//!
//! Work tickets, reviews, receipts, vouchers and the ledger are append-only: triggers refuse
//! every UPDATE and DELETE, so a correction can only be a new, linked entry (红字冲红). Units,
//! holds, buyers and events change state in place, and every such change is an entry in the
//! hash-chained ledger.

use std::path::{Path, PathBuf};

use kam_core::migrations::Migrations;
use rusqlite::Connection;

use crate::db::DbError;

/// The desk's file name, in the server's data directory.
pub const DESK_FILE: &str = "kam-desk.sqlite3";

/// The desk database beside the server database at `server_db`.
pub fn desk_path(server_db: &Path) -> PathBuf {
    server_db.with_file_name(DESK_FILE)
}

/// The desk's migration steps.
const SCHEMA: Migrations = Migrations {
    database: "desk",
    steps: &[
        DESK_SCHEMA,
        V2_NO_HOLDS_BY_UNIT,
        V3_CHECKS_WITHOUT_IN_LISTS,
        V4_KEYS_PER_DEVICE,
        V5_UNITS_ON_THE_PLAN,
        V6_VENUE_DELEGATION,
    ],
};

/// Opens (creating or upgrading) the desk database with the server's pragmas, including
/// `synchronous=FULL`: an answered command must survive power loss.
pub(crate) fn open(path: &Path) -> Result<Connection, DbError> {
    let mut conn = Connection::open(path)?;
    crate::db::sqlite::schema::prepare(&conn)?;
    migrate(&mut conn)?;
    Ok(conn)
}

/// Upgrades the desk's file. Foreign keys are off while the steps run: version 3 rebuilds a
/// table others refer to (SQLite's twelve-step procedure), and dropping the old table with
/// them on would delete through every reference. The references are checked before they
/// are turned back on.
pub(super) fn migrate(conn: &mut Connection) -> Result<(), DbError> {
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    let migrated = SCHEMA.migrate(conn);
    let dangling: i64 =
        conn.query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |r| r.get(0))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    migrated?;
    if dangling > 0 {
        return Err(DbError::Corrupt(format!(
            "{dangling} desk rows refer to rows that do not exist"
        )));
    }
    Ok(())
}

/// Version 1 of the desk database.
pub(crate) const DESK_SCHEMA: &str = "
CREATE TABLE desk_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE desk_events (
    event_id        TEXT PRIMARY KEY,
    project_id      TEXT NOT NULL,
    mode            TEXT NOT NULL CHECK (mode IN ('strict_order', 'free')),
    now_serving     INTEGER,
    called_up_to    INTEGER NOT NULL DEFAULT 0,
    voucher_prefix  TEXT NOT NULL,
    voucher_next    INTEGER NOT NULL,
    voucher_last    INTEGER NOT NULL,
    opened_at       TEXT NOT NULL
) STRICT;

-- Every unit of a project the desk serves: its approved price and authoritative status.
CREATE TABLE desk_units (
    project_id   TEXT NOT NULL,
    unit_id      TEXT NOT NULL,
    code         TEXT NOT NULL,
    area_m2      TEXT NOT NULL,
    unit_price   TEXT,
    approvers    TEXT CHECK (approvers IS NULL OR json_valid(approvers)),
    approved_at  TEXT,
    status       TEXT NOT NULL CHECK (status IN ('available', 'held', 'sold', 'withdrawn')),
    event_id     TEXT,
    buyer_id     TEXT,
    hold_id      TEXT,
    held_until   TEXT,
    PRIMARY KEY (project_id, unit_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX desk_units_by_buyer ON desk_units(event_id, buyer_id) WHERE buyer_id IS NOT NULL;
CREATE INDEX desk_units_expiring ON desk_units(held_until) WHERE status = 'held';

CREATE TABLE desk_allotments (
    event_id TEXT NOT NULL REFERENCES desk_events(event_id),
    unit_id  TEXT NOT NULL,
    PRIMARY KEY (event_id, unit_id)
) STRICT, WITHOUT ROWID;

-- The approved buyer list. ID numbers only as a salted hash and a masked form.
CREATE TABLE desk_buyers (
    event_id         TEXT NOT NULL REFERENCES desk_events(event_id),
    buyer_id         TEXT NOT NULL,
    name             TEXT NOT NULL,
    id_number_hash   TEXT NOT NULL,
    id_number_masked TEXT NOT NULL,
    lottery_no       INTEGER,
    skipped          INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (event_id, buyer_id),
    UNIQUE (event_id, id_number_hash)
) STRICT;
CREATE UNIQUE INDEX desk_buyers_by_lottery ON desk_buyers(event_id, lottery_no)
    WHERE lottery_no IS NOT NULL;

CREATE TABLE desk_holds (
    hold_id    TEXT PRIMARY KEY,
    event_id   TEXT NOT NULL,
    project_id TEXT NOT NULL,
    unit_id    TEXT NOT NULL,
    buyer_id   TEXT NOT NULL,
    held_by    TEXT NOT NULL,
    held_at    TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('active', 'sold', 'released', 'expired')),
    ended_at   TEXT
) STRICT;
CREATE INDEX desk_holds_by_unit ON desk_holds(project_id, unit_id);

CREATE TABLE work_tickets (
    ticket_id       TEXT PRIMARY KEY,
    event_id        TEXT NOT NULL,
    hold_id         TEXT NOT NULL REFERENCES desk_holds(hold_id),
    unit_id         TEXT NOT NULL,
    buyer_id        TEXT NOT NULL,
    terms           TEXT NOT NULL CHECK (json_valid(terms)),
    total_price     TEXT NOT NULL,
    discount_amount TEXT NOT NULL,
    net_price       TEXT NOT NULL,
    amount_due      TEXT NOT NULL,
    sealing_fee     TEXT NOT NULL,
    prepared_by     TEXT NOT NULL,
    prepared_at     TEXT NOT NULL,
    reverses        TEXT REFERENCES work_tickets(ticket_id),
    reason          TEXT
) STRICT;
CREATE UNIQUE INDEX work_tickets_reversal ON work_tickets(reverses) WHERE reverses IS NOT NULL;

CREATE TABLE work_ticket_reviews (
    ticket_id   TEXT PRIMARY KEY REFERENCES work_tickets(ticket_id),
    reviewed_by TEXT NOT NULL,
    reviewed_at TEXT NOT NULL
) STRICT;

CREATE TABLE receipts (
    receipt_id  TEXT PRIMARY KEY,
    event_id    TEXT NOT NULL,
    ticket_id   TEXT NOT NULL REFERENCES work_tickets(ticket_id),
    amount      TEXT NOT NULL,
    method      TEXT NOT NULL,
    received_at TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    reverses    TEXT REFERENCES receipts(receipt_id)
) STRICT;
CREATE INDEX receipts_by_ticket ON receipts(ticket_id);

-- Vouchers take the next number of their event's pre-numbered series inside the transaction
-- that issues them, so a refused or rolled-back issue leaves no gap. A red voucher has its own
-- number and names the one it reverses.
CREATE TABLE vouchers (
    event_id     TEXT NOT NULL REFERENCES desk_events(event_id),
    voucher_no   INTEGER NOT NULL,
    voucher_code TEXT NOT NULL UNIQUE,
    ticket_id    TEXT NOT NULL REFERENCES work_tickets(ticket_id),
    buyer_id     TEXT NOT NULL,
    unit_id      TEXT NOT NULL,
    amount       TEXT NOT NULL,
    issued_at    TEXT NOT NULL,
    issued_by    TEXT NOT NULL,
    reverses     INTEGER,
    reason       TEXT,
    PRIMARY KEY (event_id, voucher_no)
) STRICT;
CREATE UNIQUE INDEX vouchers_reversal ON vouchers(event_id, reverses) WHERE reverses IS NOT NULL;

-- The append-only, hash-chained record of every state change the desk made.
CREATE TABLE desk_ledger (
    seq             INTEGER PRIMARY KEY,
    at              TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    actor           TEXT NOT NULL,
    idempotency_key TEXT,
    kind            TEXT NOT NULL,
    entry           TEXT NOT NULL CHECK (json_valid(entry)),
    prev_hash       BLOB NOT NULL,
    hash            BLOB NOT NULL
) STRICT;

-- The answer to every command, under the key the client chose before its first send.
CREATE TABLE desk_requests (
    idempotency_key TEXT PRIMARY KEY,
    device_id       TEXT NOT NULL,
    request_hash    BLOB NOT NULL,
    status          INTEGER NOT NULL,
    answer          TEXT NOT NULL CHECK (json_valid(answer)),
    answered_at     TEXT NOT NULL
) STRICT;

CREATE TRIGGER work_tickets_append_only BEFORE UPDATE ON work_tickets
    BEGIN SELECT RAISE(ABORT, 'work tickets are append-only: reverse in red instead'); END;
CREATE TRIGGER work_tickets_no_delete BEFORE DELETE ON work_tickets
    BEGIN SELECT RAISE(ABORT, 'work tickets are append-only: reverse in red instead'); END;
CREATE TRIGGER work_ticket_reviews_append_only BEFORE UPDATE ON work_ticket_reviews
    BEGIN SELECT RAISE(ABORT, 'reviews are append-only'); END;
CREATE TRIGGER receipts_append_only BEFORE UPDATE ON receipts
    BEGIN SELECT RAISE(ABORT, 'receipts are append-only: reverse in red instead'); END;
CREATE TRIGGER receipts_no_delete BEFORE DELETE ON receipts
    BEGIN SELECT RAISE(ABORT, 'receipts are append-only: reverse in red instead'); END;
CREATE TRIGGER vouchers_append_only BEFORE UPDATE ON vouchers
    BEGIN SELECT RAISE(ABORT, 'vouchers are append-only: reverse in red instead'); END;
CREATE TRIGGER vouchers_no_delete BEFORE DELETE ON vouchers
    BEGIN SELECT RAISE(ABORT, 'vouchers are append-only: reverse in red instead'); END;
CREATE TRIGGER desk_ledger_append_only BEFORE UPDATE ON desk_ledger
    BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER desk_ledger_no_delete BEFORE DELETE ON desk_ledger
    BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
";

/// Version 2: no index of holds by unit. No query reads holds by unit (a unit's story is in
/// the ledger), and every hold paid for the index with an insert at the unit's place in it:
/// a group commit of a busy desk dirtied a page of that index per hold, each written to the
/// WAL and synced.
const V2_NO_HOLDS_BY_UNIT: &str = "DROP INDEX desk_holds_by_unit;";

/// Version 3: units and holds rebuilt with the same constraints written another way (SQLite
/// cannot alter a constraint in place, so this is its twelve-step table rebuild).
///
/// A `CHECK (x IN ('a', 'b', 'c'))` of three or more values builds a temporary B-tree of the
/// list each time it is checked, and it is checked on every write of a unit's status and of a
/// hold's state: a fifth of the desk writer's instructions per command (ADR 0012). The same
/// constraints as comparisons joined by `OR` cost a few instructions.
const V3_CHECKS_WITHOUT_IN_LISTS: &str = "
CREATE TABLE desk_units_v3 (
    project_id   TEXT NOT NULL,
    unit_id      TEXT NOT NULL,
    code         TEXT NOT NULL,
    area_m2      TEXT NOT NULL,
    unit_price   TEXT,
    approvers    TEXT CHECK (approvers IS NULL OR json_valid(approvers)),
    approved_at  TEXT,
    status       TEXT NOT NULL
        CHECK (status = 'available' OR status = 'held' OR status = 'sold' OR status = 'withdrawn'),
    event_id     TEXT,
    buyer_id     TEXT,
    hold_id      TEXT,
    held_until   TEXT,
    PRIMARY KEY (project_id, unit_id)
) STRICT, WITHOUT ROWID;
INSERT INTO desk_units_v3(project_id, unit_id, code, area_m2, unit_price, approvers,
        approved_at, status, event_id, buyer_id, hold_id, held_until)
    SELECT project_id, unit_id, code, area_m2, unit_price, approvers, approved_at, status,
        event_id, buyer_id, hold_id, held_until
    FROM desk_units;
DROP TABLE desk_units;
ALTER TABLE desk_units_v3 RENAME TO desk_units;
CREATE INDEX desk_units_by_buyer ON desk_units(event_id, buyer_id) WHERE buyer_id IS NOT NULL;
CREATE INDEX desk_units_expiring ON desk_units(held_until) WHERE status = 'held';

CREATE TABLE desk_holds_v3 (
    hold_id    TEXT PRIMARY KEY,
    event_id   TEXT NOT NULL,
    project_id TEXT NOT NULL,
    unit_id    TEXT NOT NULL,
    buyer_id   TEXT NOT NULL,
    held_by    TEXT NOT NULL,
    held_at    TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    state      TEXT NOT NULL
        CHECK (state = 'active' OR state = 'sold' OR state = 'released' OR state = 'expired'),
    ended_at   TEXT
) STRICT;
INSERT INTO desk_holds_v3(hold_id, event_id, project_id, unit_id, buyer_id, held_by, held_at,
        expires_at, state, ended_at)
    SELECT hold_id, event_id, project_id, unit_id, buyer_id, held_by, held_at, expires_at,
        state, ended_at
    FROM desk_holds;
DROP TABLE desk_holds;
ALTER TABLE desk_holds_v3 RENAME TO desk_holds;
";

/// Version 4: an idempotency key belongs to the device that sent it (ADR 0014). Keyed by the
/// key alone, one device re-sending another's key and body got the other's stored answer; now
/// the same key from two devices is two commands. Answers already stored keep their device.
const V4_KEYS_PER_DEVICE: &str = "
CREATE TABLE desk_requests_v4 (
    device_id       TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_hash    BLOB NOT NULL,
    status          INTEGER NOT NULL,
    answer          TEXT NOT NULL CHECK (json_valid(answer)),
    answered_at     TEXT NOT NULL,
    PRIMARY KEY (device_id, idempotency_key)
) STRICT, WITHOUT ROWID;
INSERT INTO desk_requests_v4(device_id, idempotency_key, request_hash, status, answer, answered_at)
    SELECT device_id, idempotency_key, request_hash, status, answer, answered_at FROM desk_requests;
DROP TABLE desk_requests;
ALTER TABLE desk_requests_v4 RENAME TO desk_requests;
";

/// Version 5: the event's name, and where a unit is on the plan and what it is — its building's name, its floor and
/// its layout — so the control table (销控表) is drawn from the desk alone, floors as rows and
/// positions as columns, on whichever server holds the desk. Units loaded before this version
/// have an empty building and layout until their desk's documents are read again.
const V5_UNITS_ON_THE_PLAN: &str = "
ALTER TABLE desk_units ADD COLUMN building TEXT NOT NULL DEFAULT '';
ALTER TABLE desk_units ADD COLUMN floor INTEGER NOT NULL DEFAULT 0;
ALTER TABLE desk_units ADD COLUMN layout TEXT NOT NULL DEFAULT '';
ALTER TABLE desk_events ADD COLUMN name TEXT NOT NULL DEFAULT '';
";

/// Version 6: venue edge authority (ADR 0021). An event's desk can be lent to a venue server
/// under a lease with a fencing generation. `desk_delegations` holds each generation of each
/// event, on both sides: central's row is `lent`, the venue's `held`. Central keeps the
/// venue's ledger segment beside its own chain in `desk_venue_ledger`, append-only like the
/// ledger; a venue's own chain continues from the anchor in `desk_meta` (`chain_anchor`).
const V6_VENUE_DELEGATION: &str = "
CREATE TABLE desk_delegations (
    event_id            TEXT NOT NULL,
    generation          INTEGER NOT NULL CHECK (generation > 0),
    side                TEXT NOT NULL CHECK (side = 'lent' OR side = 'held'),
    venue_device_id     TEXT NOT NULL,
    venue_name          TEXT NOT NULL,
    lease_until         TEXT NOT NULL,
    anchor_seq          INTEGER NOT NULL,
    anchor_hash         BLOB NOT NULL,
    bundle_key          TEXT NOT NULL,
    state               TEXT NOT NULL
        CHECK (state = 'active' OR state = 'returning' OR state = 'returned'
               OR state = 'taken_back'),
    shipped_seq         INTEGER NOT NULL,
    shipped_hash        BLOB NOT NULL,
    venue_tip_seq       INTEGER NOT NULL,
    oldest_unshipped_at TEXT,
    last_heard_at       TEXT,
    delegated_at        TEXT NOT NULL,
    ended_at            TEXT,
    PRIMARY KEY (event_id, generation)
) STRICT;

CREATE TABLE desk_venue_ledger (
    event_id        TEXT NOT NULL,
    generation      INTEGER NOT NULL,
    seq             INTEGER NOT NULL,
    at              TEXT NOT NULL,
    actor           TEXT NOT NULL,
    idempotency_key TEXT,
    kind            TEXT NOT NULL,
    entry           TEXT NOT NULL CHECK (json_valid(entry)),
    prev_hash       BLOB NOT NULL,
    hash            BLOB NOT NULL,
    PRIMARY KEY (event_id, generation, seq)
) STRICT, WITHOUT ROWID;
CREATE TRIGGER desk_venue_ledger_append_only BEFORE UPDATE ON desk_venue_ledger
    BEGIN SELECT RAISE(ABORT, 'the venue ledger is append-only'); END;
CREATE TRIGGER desk_venue_ledger_no_delete BEFORE DELETE ON desk_venue_ledger
    BEGIN SELECT RAISE(ABORT, 'the venue ledger is append-only'); END;
";

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::db::sqlite::schema::prepare;
    use kam_core::test_support::migrations;

    fn at_version(v: i64) -> Connection {
        migrations::at_version(&SCHEMA, prepare, v)
    }

    #[test]
    fn every_step_from_the_previous_schema_matches_a_fresh_database() {
        migrations::assert_every_step_matches_a_fresh_database(&SCHEMA, prepare, migrate);
    }

    #[test]
    fn v1_to_v2_keeps_the_holds_and_drops_only_the_index_by_unit() {
        let mut conn = at_version(1);
        conn.execute_batch(
            "INSERT INTO desk_holds(hold_id, event_id, project_id, unit_id, buyer_id, held_by,
                 held_at, expires_at, state)
             VALUES ('h1', 'e1', 'p1', 'u1', 'b1', 'staff', '2026-11-24T01:00:00Z',
                 '2026-11-24T01:15:00Z', 'active');",
        )
        .unwrap();
        let indexes = |conn: &Connection| -> i64 {
            conn.query_row(
                "SELECT COUNT(*) FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'desk_holds'",
                [],
                |r| r.get(0),
            )
            .unwrap()
        };
        let before = indexes(&conn);
        SCHEMA.migrate_to(&mut conn, 2).unwrap();
        assert_eq!(indexes(&conn), before - 1);
        let holds: i64 =
            conn.query_row("SELECT COUNT(*) FROM desk_holds", [], |r| r.get(0)).unwrap();
        assert_eq!(holds, 1);
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(version, 2);
    }

    #[test]
    fn v2_to_v3_keeps_every_row_and_the_references_to_holds() {
        let mut conn = at_version(2);
        conn.execute_batch(
            "INSERT INTO desk_events(event_id, project_id, mode, voucher_prefix, voucher_next,
                 voucher_last, opened_at)
             VALUES ('e1', 'p1', 'free', 'V', 1, 100, '2026-11-24T01:00:00Z');
             INSERT INTO desk_units(project_id, unit_id, code, area_m2, unit_price, status,
                 event_id, buyer_id, hold_id, held_until)
             VALUES ('p1', 'u1', '1-101', '100', '20000', 'held', 'e1', 'b1', 'h1',
                 '2026-11-24T01:15:00Z'),
                 ('p1', 'u2', '1-102', '90', NULL, 'available', NULL, NULL, NULL, NULL);
             INSERT INTO desk_holds(hold_id, event_id, project_id, unit_id, buyer_id, held_by,
                 held_at, expires_at, state)
             VALUES ('h1', 'e1', 'p1', 'u1', 'b1', 'staff', '2026-11-24T01:00:00Z',
                 '2026-11-24T01:15:00Z', 'active');
             INSERT INTO work_tickets(ticket_id, event_id, hold_id, unit_id, buyer_id, terms,
                 total_price, discount_amount, net_price, amount_due, sealing_fee,
                 prepared_by, prepared_at)
             VALUES ('t1', 'e1', 'h1', 'u1', 'b1', '{}', '2000000', '0', '2000000',
                 '1000000', '0', 'staff', '2026-11-24T01:05:00Z');",
        )
        .unwrap();
        let rows = |conn: &Connection| -> Vec<String> {
            let mut stmt = conn
                .prepare(
                    "SELECT 'unit ' || unit_id || ' ' || status || ' ' || ifnull(hold_id, '-')
                         FROM desk_units
                     UNION ALL SELECT 'hold ' || hold_id || ' ' || state FROM desk_holds
                     UNION ALL SELECT 'ticket ' || ticket_id || ' ' || hold_id FROM work_tickets
                     ORDER BY 1",
                )
                .unwrap();
            stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
        };
        let before = rows(&conn);
        migrate(&mut conn).unwrap();
        assert_eq!(rows(&conn), before);
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(version, SCHEMA.current_version(), "upgraded through version 3 to the newest");
        let fks: bool = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap();
        assert!(fks, "foreign keys are on again after the upgrade");
        // The constraints hold as before, and the work ticket's reference still binds.
        let bad_status =
            conn.execute("UPDATE desk_units SET status = 'gone' WHERE unit_id = 'u2'", []);
        assert!(bad_status.is_err(), "a unit status outside the four is refused");
        let bad_state =
            conn.execute("UPDATE desk_holds SET state = 'lost' WHERE hold_id = 'h1'", []);
        assert!(bad_state.is_err(), "a hold state outside the four is refused");
        let orphan = conn.execute(
            "INSERT INTO work_tickets(ticket_id, event_id, hold_id, unit_id, buyer_id, terms,
                 total_price, discount_amount, net_price, amount_due, sealing_fee,
                 prepared_by, prepared_at)
             VALUES ('t2', 'e1', 'no-such-hold', 'u1', 'b1', '{}', '1', '0', '1', '1', '0',
                 'staff', '2026-11-24T01:05:00Z')",
            [],
        );
        assert!(orphan.is_err(), "a work ticket must name an existing hold");
    }

    #[test]
    fn v3_to_v4_keeps_every_answer_under_its_device_and_lets_another_device_use_the_key() {
        let mut conn = at_version(3);
        conn.execute_batch(
            "INSERT INTO desk_requests(idempotency_key, device_id, request_hash, status, answer,
                 answered_at)
             VALUES ('k1', 'd1', x'01', 200, '{\"n\":1}', '2026-11-24T01:00:00Z'),
                    ('k2', 'd2', x'02', 409, '{\"n\":2}', '2026-11-24T01:00:01Z');",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let kept: Vec<(String, String, i64)> = conn
            .prepare("SELECT device_id, idempotency_key, status FROM desk_requests ORDER BY 1")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(kept, vec![("d1".into(), "k1".into(), 200), ("d2".into(), "k2".into(), 409)]);
        conn.execute(
            "INSERT INTO desk_requests VALUES ('d2', 'k1', x'03', 200, '{}', '2026-11-24T01:00:02Z')",
            [],
        )
        .unwrap();
        let again = conn.execute(
            "INSERT INTO desk_requests VALUES ('d1', 'k1', x'03', 200, '{}', '2026-11-24T01:00:02Z')",
            [],
        );
        assert!(again.is_err(), "one answer per device and key");
    }

    #[test]
    fn no_constraint_builds_a_temporary_list_on_the_hot_writes() {
        let conn = at_version(SCHEMA.current_version());
        for sql in [
            "UPDATE desk_units SET status = 'held', event_id = ?3, buyer_id = ?4, hold_id = ?5,
                 held_until = ?6 WHERE project_id = ?1 AND unit_id = ?2 AND status = 'available'",
            "INSERT INTO desk_holds(hold_id, event_id, project_id, unit_id, buyer_id, held_by,
                 held_at, expires_at, state) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'active')",
            "UPDATE desk_units SET status = 'available', event_id = NULL, buyer_id = NULL,
                 hold_id = NULL, held_until = NULL WHERE project_id = ?1 AND unit_id = ?2",
            "UPDATE desk_holds SET state = ?2, ended_at = ?3 WHERE hold_id = ?1 AND state = 'active'",
        ] {
            let mut stmt = conn.prepare(&format!("EXPLAIN {sql}")).unwrap();
            let unbound = std::iter::repeat_n(rusqlite::types::Null, stmt.parameter_count());
            let opcodes: Vec<String> = stmt
                .query_map(rusqlite::params_from_iter(unbound), |r| r.get(1))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            assert!(!opcodes.iter().any(|op| op == "OpenEphemeral"), "{sql}: {opcodes:?}");
        }
    }
}

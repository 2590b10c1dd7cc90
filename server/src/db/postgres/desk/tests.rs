//! PostgreSQL-only tests of the desk: what several nodes on one database do at once.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests.

use kam_core::model::{SelectionMode, UnitStatus};
use rust_decimal::Decimal;

use crate::db::DbError;
use crate::db::desk::DeskLedger;
use crate::db::desk::ledger::NewLedgerEntry;
use crate::db::desk::state::{NewDeskEvent, NewDeskUnit, NewHold};
use crate::db::desk::{DeskState, DeskView};
use crate::db::postgres::PgDb;
use crate::db::postgres::testing::{TestDatabase, wait_until_blocked};

const AT: &str = "2026-11-24T01:00:00.000000Z";

fn hold(hold_id: &'static str, buyer_id: &'static str) -> NewHold<'static> {
    NewHold {
        hold_id,
        event_id: "e1",
        project_id: "p1",
        unit_id: "u1",
        buyer_id,
        held_by: "staff",
        held_at: AT,
        expires_at: "2026-11-24T01:15:00.000000Z",
    }
}

/// Opens event `e1` of project `p1` with one available unit, `u1`.
fn one_unit(setup: &PgDb) {
    let event = NewDeskEvent {
        event_id: "e1",
        name: "第一批选房",
        project_id: "p1",
        mode: SelectionMode::Free,
        voucher_prefix: "V",
        voucher_last: 999,
        opened_at: AT,
    };
    assert!(setup.insert_desk_event(&event).unwrap());
    let unit = NewDeskUnit {
        unit_id: "u1",
        building: "1号楼",
        floor: 1,
        layout: "2室2厅1卫",
        code: "1-101",
        area_m2: Decimal::from(100),
        unit_price: None,
        approval: None,
        status: UnitStatus::Available,
    };
    assert_eq!(setup.insert_desk_unit("p1", &unit).unwrap(), 1);
}

#[test]
fn two_nodes_racing_for_one_unit_hold_it_once() {
    let Some(database) = TestDatabase::migrated() else { return };
    let setup = database.db();
    one_unit(&setup);
    // Two nodes, each in its own transaction, take the unit: the second's UPDATE finds the
    // first's uncommitted row lock, waits for it, and re-checks the status once it commits.
    let (first, second, watcher) = (database.db(), database.db(), database.db());
    first.batch("BEGIN").unwrap();
    let first_took = first.take_unit(&hold("h1", "b1")).unwrap();
    let pid = second.backend_pid();
    let racing = std::thread::spawn(move || {
        second.batch("BEGIN").unwrap();
        let took = second.take_unit(&hold("h2", "b2")).unwrap();
        second.batch("COMMIT").unwrap();
        took
    });
    wait_until_blocked(&watcher, pid, "the second node's take");
    first.batch("COMMIT").unwrap();
    let took = [first_took, racing.join().unwrap()];
    assert_eq!(took.iter().filter(|t| **t).count(), 1, "exactly one takes the unit: {took:?}");
    let (winner, loser) = if took[0] { (("h1", "b1"), "b2") } else { (("h2", "b2"), "b1") };
    let unit = setup.unit("p1", "u1").unwrap().unwrap();
    assert_eq!(unit.status, UnitStatus::Held);
    assert_eq!(unit.hold_id.as_deref(), Some(winner.0), "the winner's hold");
    assert_eq!(setup.units_taken("e1", winner.1).unwrap(), 1);
    assert_eq!(setup.units_taken("e1", loser).unwrap(), 0);
}

#[test]
fn commands_of_a_group_undo_inside_the_groups_transaction() {
    let Some(database) = TestDatabase::migrated() else { return };
    let db = database.db();
    db.transaction(|db| {
        crate::db::desk::suite::a_command_undone_leaves_nothing_and_a_released_one_stays(db);
        Ok::<_, crate::db::DbError>(())
    })
    .unwrap();
    assert!(database.db().event_desk_open("e1").unwrap(), "the group committed");
}

#[test]
fn the_append_only_tables_refuse_updates_and_deletes() {
    let Some(database) = TestDatabase::migrated() else { return };
    let db = database.db();
    db.batch(
        "INSERT INTO desk_ledger(seq, at, event_id, actor, kind, entry, prev_hash, hash)
         VALUES (1, '2026-11-24T01:00:00.000000Z', 'e1', 'staff', 'hold', '{}', '\\x00', '\\x01')",
    )
    .unwrap();
    for refused in ["UPDATE desk_ledger SET actor = 'someone else'", "DELETE FROM desk_ledger"] {
        let Err(crate::db::DbError::Postgres(error)) = db.batch(refused) else {
            panic!("{refused}: not refused by PostgreSQL");
        };
        let message = error.as_db_error().map(|e| e.message().to_owned()).unwrap_or_default();
        assert_eq!(message, "the ledger is append-only", "{refused}");
    }
    let bad_json = db.batch(
        "INSERT INTO desk_ledger(seq, at, event_id, actor, kind, entry, prev_hash, hash)
         VALUES (2, 'x', 'e1', 'staff', 'hold', 'not json', '\\x00', '\\x01')",
    );
    assert!(bad_json.is_err(), "entries are JSON");
    let count: i64 = db.one("SELECT COUNT(*) FROM desk_ledger", &[]).unwrap().get(0);
    assert_eq!(count, 1);
}

#[test]
fn a_hold_queued_on_a_unit_taken_behind_the_desks_lock_fails_its_group() {
    let Some(database) = TestDatabase::migrated() else { return };
    let setup = database.db();
    one_unit(&setup);
    // A writer that broke the rule (it took the unit without the ledger's lock) got there
    // between the group's read and its queued write.
    assert!(setup.take_unit(&hold("h1", "b1")).unwrap());
    let group = database.db();
    let outcome = group.transaction(|db| {
        assert!(db.hold_unit(&hold("h2", "b2"))?, "queued: the group believes its read");
        let entry = NewLedgerEntry {
            seq: 1,
            at: AT,
            event_id: "e1",
            actor: "staff",
            idempotency_key: Some("k"),
            kind: "hold",
            entry: "{}",
            prev_hash: &[0; 32],
            hash: &[1; 32],
        };
        db.append_ledger_entry(&entry)?;
        Ok::<_, DbError>(())
    });
    let error = outcome.unwrap_err();
    assert!(error.to_string().contains("changed 0 rows"), "{error}");
    let unit = setup.unit("p1", "u1").unwrap().unwrap();
    assert_eq!(unit.hold_id.as_deref(), Some("h1"), "the first hold stands");
    assert!(setup.ledger_tip().unwrap().is_none(), "no entry of the failed group committed");
    let holds: i64 = setup.one("SELECT COUNT(*) FROM desk_holds", &[]).unwrap().get(0);
    assert_eq!(holds, 0, "nor its hold's row");
}

//! What the desk's ledger on PostgreSQL promises beyond the desk suite: appenders on several
//! connections (as on several nodes) extend one chain.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests may panic.

use std::ops::ControlFlow;

use super::super::PgDb;
use super::super::testing::{TestDatabase, wait_until_blocked};
use crate::db::desk::DeskLedger;
use crate::db::desk::ledger::{LedgerTip, NewLedgerEntry, StoredLedgerEntry};

/// Reads the tip and appends one entry chained to it, hashed `hash`; returns the tip read.
fn append_after_tip(db: &PgDb, hash: [u8; 32]) -> Option<LedgerTip> {
    let tip = db.ledger_tip().unwrap();
    let (seq, prev_hash) = tip.map_or((1, [0; 32]), |t| (t.seq + 1, t.hash));
    db.append_ledger_entry(&NewLedgerEntry {
        seq,
        at: "2026-11-24T01:00:00.000000Z",
        event_id: "e1",
        actor: "staff-01",
        idempotency_key: None,
        kind: "hold",
        entry: "{}",
        prev_hash: &prev_hash,
        hash: &hash,
    })
    .unwrap();
    tip
}

/// Two connections each read the tip and append after it in a transaction of their own: the
/// second waits for the first to commit and reads the tip it wrote, so the entries form one
/// chain rather than two entries claiming the same predecessor.
#[test]
fn appenders_on_two_connections_extend_one_chain() {
    let Some(database) = TestDatabase::migrated() else { return };
    let (first, second, watcher) = (database.db(), database.db(), database.db());
    first.batch("BEGIN").unwrap();
    assert_eq!(append_after_tip(&first, [1; 32]), None, "the ledger starts empty");
    let pid = second.backend_pid();
    let waiting = std::thread::spawn(move || {
        second.batch("BEGIN").unwrap();
        let tip = append_after_tip(&second, [2; 32]);
        second.batch("COMMIT").unwrap();
        tip
    });
    wait_until_blocked(&watcher, pid, "the second appender");
    first.batch("COMMIT").unwrap();
    let seen = waiting.join().unwrap();
    assert_eq!(seen, Some(LedgerTip { seq: 1, hash: [1; 32] }), "the second read the first's tip");
    let mut entries: Vec<StoredLedgerEntry> = Vec::new();
    watcher
        .visit_ledger(&mut |e| {
            entries.push(e);
            ControlFlow::Continue(())
        })
        .unwrap();
    let chain: Vec<(i64, Vec<u8>, Vec<u8>)> =
        entries.into_iter().map(|e| (e.seq, e.prev_hash, e.hash)).collect();
    assert_eq!(
        chain,
        vec![(1, vec![0; 32], vec![1; 32]), (2, vec![1; 32], vec![2; 32])],
        "one chain: the second entry follows the first"
    );
    assert_eq!(watcher.ledger_tip().unwrap(), Some(LedgerTip { seq: 2, hash: [2; 32] }));
}

/// More entries than one page of the visit: every one is seen once, in order.
#[test]
fn a_visit_reads_the_ledger_page_by_page() {
    let Some(database) = TestDatabase::migrated() else { return };
    let db = database.db();
    let total = super::ledger::VISIT_PAGE + 3;
    db.transaction(|db| {
        for seq in 1..=total {
            let mut hash = [0; 32];
            hash[..8].copy_from_slice(&seq.to_be_bytes());
            append_after_tip(db, hash);
        }
        Ok::<_, crate::db::DbError>(())
    })
    .unwrap();
    let mut seqs = Vec::new();
    db.visit_ledger(&mut |e| {
        seqs.push(e.seq);
        ControlFlow::Continue(())
    })
    .unwrap();
    assert_eq!(seqs, (1..=total).collect::<Vec<_>>());
}

//! Crash safety with real processes: `kill -9` under load, restart, nothing acknowledged lost.
//! A few cycles here, on the embedded files and on PostgreSQL (a node killed and another
//! started on the database); `cargo bench -p kam-tests --bench crash` runs 200 of each.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use kam_tests::cluster::TestDatabase;
use kam_tests::crash;

fn check(backend: &str, seed: u64, r: &crash::CrashReport) {
    println!(
        "{backend}: seed {seed}: {} kill -9 cycles; desk commands answered before a kill {}, cut \
         off {}, lost {}; sync rounds completed {}, lost {}; failed integrity/ledger checks {}; \
         slowest restart {:.0} ms",
        r.cycles,
        r.acked_commands,
        r.unanswered_commands,
        r.lost_acked_commands,
        r.acked_rounds,
        r.lost_acked_rounds,
        r.corrupt_checks,
        r.restart_ms_max
    );
    assert_eq!(r.cycles, 6);
    assert!(r.acked_commands > 0 && r.acked_rounds > 0, "seed {seed}: the load did run");
    assert_eq!(r.lost_acked_commands, 0, "seed {seed}");
    assert_eq!(r.lost_acked_rounds, 0, "seed {seed}");
    assert_eq!(r.corrupt_checks, 0, "seed {seed}");
}

#[test]
fn killing_the_server_under_load_loses_nothing_acknowledged_and_corrupts_nothing() {
    let seed = kam_tests::seed_from_env();
    let dir = tempfile::tempdir().unwrap();
    let binary = kam_tests::server_binary().unwrap();
    let r = crash::run(&binary, dir.path(), 6, seed).unwrap();
    check("SQLite", seed, &r);
}

#[test]
fn killing_a_node_on_postgresql_under_load_loses_nothing_acknowledged() {
    let Some(database) = TestDatabase::create("crash").unwrap() else { return };
    let seed = kam_tests::seed_from_env();
    let dir = tempfile::tempdir().unwrap();
    let binary = kam_tests::server_binary().unwrap();
    let r = crash::run_on(&binary, dir.path(), Some(&database.url), 6, seed).unwrap();
    check("PostgreSQL", seed, &r);
}

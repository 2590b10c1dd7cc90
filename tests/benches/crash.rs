//! Crash-safety benchmark mode: 200 `kill -9` cycles of the release server under desk and sync
//! load, each followed by a restart and the checks of `kam_tests::crash` — on the embedded
//! SQLite files, then on PostgreSQL (a node killed and a new node started on the database,
//! ADR 0024) when the tests' PostgreSQL is there. Prints the figures; asserts only that
//! nothing acknowledged was lost and nothing is corrupt.

#![allow(clippy::unwrap_used, clippy::expect_used)] // A benchmark may panic on a broken setup.

use std::time::Instant;

use kam_tests::cluster::TestDatabase;
use kam_tests::{TestResult, crash, release_server_binary};

fn main() -> TestResult<()> {
    let cycles: u32 =
        std::env::var("KAM_CRASH_CYCLES").ok().and_then(|s| s.parse().ok()).unwrap_or(200);
    let seed = std::env::var("KAM_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(20_261_123);
    let binary = release_server_binary()?;
    let dir = tempfile::tempdir()?;
    let started = Instant::now();
    let r = crash::run(&binary, dir.path(), cycles, seed)?;
    print_report("SQLite", seed, &r, started);
    if let Some(database) = TestDatabase::create("crash")? {
        let dir = tempfile::tempdir()?;
        let started = Instant::now();
        let r = crash::run_on(&binary, dir.path(), Some(&database.url), cycles, seed)?;
        print_report("PostgreSQL, a node killed", seed, &r, started);
    }
    Ok(())
}

fn print_report(backend: &str, seed: u64, r: &crash::CrashReport, started: Instant) {
    println!(
        "crash ({backend}): seed {seed}, {} kill -9 cycles in {:.0} s; desk commands answered \
         before a kill {}, cut off by it {}, lost after restart {}; sync rounds completed {}, \
         lost {}; failed integrity_check or ledger verifications {}; slowest restart {:.0} ms",
        r.cycles,
        started.elapsed().as_secs_f64(),
        r.acked_commands,
        r.unanswered_commands,
        r.lost_acked_commands,
        r.acked_rounds,
        r.lost_acked_rounds,
        r.corrupt_checks,
        r.restart_ms_max
    );
    assert_eq!(r.lost_acked_commands + r.lost_acked_rounds + r.corrupt_checks, 0, "seed {seed}");
}

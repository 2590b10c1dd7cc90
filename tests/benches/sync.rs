//! Sync benchmarks against the real, optimised `kam-server` binary on 127.0.0.1 (one node on
//! the embedded SQLite files), with real kam-core replicas as devices. Prints figures;
//! asserts only correctness (convergence), never time. The measuring code is
//! `kam_tests::sync_figures`, which `benches/cluster.rs` runs on PostgreSQL too.
//!
//! 1. A rep's first download of 300 customers, 2,000 tickets and a 3,000-unit project: time,
//!    and bytes on the wire against the raw Automerge `save()` size of the same documents.
//! 2. 100 offline edits, then one `sync_now`: the round trip.
//! 3. 1,000 simulated devices (10 per rep) making 10 edits each, synced until every device of
//!    a rep holds the same documents as the server: wall time and the server's CPU seconds.

use kam_tests::deploy::Backend;
use kam_tests::sync_figures::{first_download_and_edits, many_devices};
use kam_tests::{TestResult, release_server_binary};

fn main() -> TestResult<()> {
    // Like libtest's filter: `cargo bench --bench sync -- devices` runs only the parts whose
    // name contains one of the arguments (arguments starting with `-` are cargo's own).
    let filters: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let wanted =
        |name: &str| filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()));
    let binary = release_server_binary()?;
    if wanted("first_download_and_edits") {
        first_download_and_edits(&binary, Backend::Sqlite)?;
    }
    if wanted("many_devices") {
        many_devices(&binary, Backend::Sqlite, 100, 10, 10)?;
    }
    Ok(())
}

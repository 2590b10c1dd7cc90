//! The projector's background task: batches while there is work, then waits to be woken.

use std::time::{Duration, Instant};

use chrono::Utc;

use super::BATCH_DOCS;
use crate::services::Services;

/// How long the projector lets a burst of rounds settle after it is woken. Devices sync in
/// bursts (a round, then the round that confirms it; many tablets after the venue's Wi-Fi
/// returns), and projecting in the middle of one makes those rounds wait for the store while
/// the same documents would be projected again a moment later.
const SETTLE: Duration = Duration::from_millis(25);

/// The projector's share of a core under load is kept to about 1 / (1 + PACE): after a
/// batch that took `t`, it waits `PACE × t` before the next. Sync rounds and desk commands
/// come first; under a burst the projections lag a little more and each batch covers more.
const PACE: u32 = 4;

/// How often the projector looks for work nobody told it about (an admin command run from
/// another process writes documents this server did not merge).
const IDLE_POLL: Duration = Duration::from_secs(1);

/// Runs the projector until the runtime stops: batches while there is work, then waits to be
/// woken (and lets the burst settle) or for the idle poll. A failed batch is logged and retried after the poll interval;
/// the rows it would have written stay as they were, and the watermark does not move.
pub async fn run(state: Services) {
    let beat = state.health.beat("projector");
    loop {
        beat.tick();
        state.projector.wait_for_quiet().await;
        let started = Instant::now();
        let wake = state.projector.clone();
        let result = {
            let _busy = beat.busy();
            state
                .with_store(move |store| {
                    store.project_pending_until(BATCH_DOCS, Utc::now(), || wake.round_under_way())
                })
                .await
        };
        if result.is_err() {
            beat.failed();
        }
        let took = started.elapsed();
        if took > Duration::from_millis(2) {
            tokio::time::sleep(took * PACE).await;
        }
        match result {
            Ok(batch) => {
                state.metrics.projected_documents.inc_by(batch.documents as u64);
                if !batch.caught_up {
                    // More may be waiting; let requests queued on the store go first.
                    tokio::task::yield_now().await;
                    continue;
                }
            }
            Err(error) => tracing::error!(%error, "projection batch failed"),
        }
        let notified = state.projector.notified();
        if tokio::time::timeout(IDLE_POLL, notified).await.is_ok() {
            tokio::time::sleep(SETTLE).await;
        }
    }
}

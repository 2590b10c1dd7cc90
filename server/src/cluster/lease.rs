//! Running a background task on one node at a time, under a PostgreSQL lease
//! (`db::postgres::lease`): a node that does not hold the lease stands by and asks again every
//! [`RETRY`]; the holder asks every [`RETRY`] whether it still holds it and stops the task the
//! moment it does not. A node killed outright loses its connection and with it the lease, so
//! the task resumes on another node within about [`RETRY`].
//!
//! Between a holder losing its connection and noticing, two nodes may run the same task for
//! up to [`RETRY`]. Every task run this way tolerates that: the projector and the mirror write
//! in transactions that take the documents' lock and read their watermark inside it, and hold
//! expiry runs through the desk's writer, whose groups take the ledger's lock.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::db::postgres::PgPool;
use crate::db::postgres::lease::Lease;
use crate::health::Beat;

/// How often a standing-by node asks for the lease, and a holder checks it still holds it.
pub const RETRY: Duration = Duration::from_secs(1);

/// Runs `task` while this node holds the lease `name`, forever: taking the lease when it is
/// free, stopping the task when the lease is lost, and standing by (ticking `beat`, so the
/// node's health counts a standing-by task as alive) while another node holds it.
pub async fn under_lease<F, Fut>(pool: PgPool, name: &'static str, beat: Beat, task: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()>,
{
    loop {
        beat.tick();
        let asking = pool.clone();
        let taken = tokio::task::spawn_blocking(move || asking.try_lease(name)).await;
        let lease = match taken {
            Ok(Ok(Some(lease))) => Arc::new(lease),
            Ok(Ok(None)) => {
                tokio::time::sleep(RETRY).await;
                continue;
            }
            Ok(Err(error)) => {
                tracing::warn!(%error, lease = name, "cannot ask for the lease");
                tokio::time::sleep(RETRY).await;
                continue;
            }
            Err(error) => {
                tracing::error!(%error, lease = name, "the lease request's thread failed");
                tokio::time::sleep(RETRY).await;
                continue;
            }
        };
        tracing::info!(lease = name, "lease taken: the task runs on this node");
        tokio::select! {
            () = task() => tracing::warn!(lease = name, "the task ended under its lease"),
            () = lost(Arc::clone(&lease)) => {
                tracing::warn!(lease = name, "lease lost: the task stops on this node");
            }
        }
        // Letting go speaks to the database: on a blocking thread, never a runtime worker.
        let _ = tokio::task::spawn_blocking(move || drop(lease)).await;
    }
}

/// Resolves once the lease is no longer held (its connection ended, or the database said so).
async fn lost(lease: Arc<Lease>) {
    loop {
        tokio::time::sleep(RETRY).await;
        let asking = Arc::clone(&lease);
        let held = tokio::task::spawn_blocking(move || asking.still_held()).await;
        if !matches!(held, Ok(true)) {
            return;
        }
    }
}

//! The background work a serving node runs besides answering requests, below the HTTP edge
//! (whose own tasks, the credential watcher and the janitor, the edge starts): the projector,
//! the desk's mirror and hold expiry. On the embedded database they run in this process; among
//! several nodes over one PostgreSQL database they run under leases (one node at a time,
//! moving when it dies) and every node follows what the others commit (`cluster`).

use std::future::Future;

use crate::cluster::{self, ChangeNotices};
use crate::db::postgres::PgPool;
use crate::desk::{Desk, mirror};
use crate::health::Beat;
use crate::services::Services;
use crate::sync::projector;

/// Starts the node's background tasks on the current runtime. `cluster` is the shared
/// database's pool and how this node hears of the others' commits, when it runs among
/// several.
pub fn spawn(services: &Services, desk: &Desk, cluster: Option<(PgPool, ChangeNotices)>) {
    let services = services.clone();
    let health = services.health.clone();
    let holds = {
        let desk = desk.clone();
        let beat = health.beat("hold_expiry");
        move || expire_holds(desk.clone(), beat.clone())
    };
    let mirror = {
        let services = services.clone();
        move || mirror::run(services.clone())
    };
    let projector = {
        let services = services.clone();
        move || projector::run(services.clone())
    };
    match cluster {
        None => {
            tokio::spawn(projector());
            tokio::spawn(mirror());
            tokio::spawn(holds());
        }
        Some((pool, notices)) => {
            spawn_leased(&pool, health.beat("projector"), "projector", projector);
            spawn_leased(&pool, health.beat("mirror"), "desk_mirror", mirror);
            spawn_leased(&pool, health.beat("hold_expiry"), "hold_expiry", holds);
            tokio::spawn(cluster::follow_changes(services.clone(), pool.clone(), notices));
            if notices == ChangeNotices::Notify {
                tokio::spawn(cluster::send_notices(services, pool));
            }
        }
    }
}

/// Spawns `task` to run under the lease `name` (see `cluster::under_lease`).
fn spawn_leased<F, Fut>(pool: &PgPool, beat: Beat, name: &'static str, task: F)
where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    tokio::spawn(cluster::under_lease(pool.clone(), name, beat, task));
}

/// Expires lapsed holds every second, through the desk's writer so each expiry is in the
/// ledger. A hold command also expires a lapsed hold on its own unit at once.
pub async fn expire_holds(desk: Desk, beat: Beat) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let _busy = beat.busy();
        desk.sweep().await;
    }
}

//! The push channel: connected devices hear which documents changed, then sync to fetch them.
//! It carries ids only, never content, so a missed notice costs nothing but latency: the next
//! sync round brings everything since the device's cursor anyway.
//!
//! Each device's stream of notices is the edge's (`http::edge::changes`).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{Notify, broadcast};

use crate::sync::ChangedDoc;

/// Positions a node remembers having announced before its feed reads them back.
const MAX_UNFOLLOWED: usize = 100_000;

/// Fan-out of change notices to every connected device.
///
/// With several nodes over one database (`cluster`), a hub also tells the other nodes that
/// this one committed changes (`outbound`, which the node's notice sender waits on), and
/// remembers which positions it announced itself, so that reading the sequence afterwards
/// (`announce_followed`) does not announce them twice.
#[derive(Clone, Debug)]
pub struct PushHub {
    sender: broadcast::Sender<ChangedDoc>,
    cluster: Option<Arc<ClusterSide>>,
}

/// What a hub of one node among several keeps.
#[derive(Debug, Default)]
struct ClusterSide {
    outbound: Notify,
    announced: Mutex<BTreeSet<i64>>,
}

impl Default for PushHub {
    fn default() -> Self {
        PushHub::new()
    }
}

impl PushHub {
    /// A hub with room for a burst of notices per slow listener.
    pub fn new() -> PushHub {
        PushHub { sender: broadcast::channel(4096).0, cluster: None }
    }

    /// A hub for one node among several over one database (see the type's comment).
    pub fn for_cluster() -> PushHub {
        PushHub { cluster: Some(Arc::default()), ..PushHub::new() }
    }

    /// Announces changed documents (after their transaction committed).
    pub fn announce(&self, changed: &[ChangedDoc]) {
        if changed.is_empty() {
            return;
        }
        if let Some(cluster) = &self.cluster {
            let mut announced = cluster.announced();
            // Forgotten when the feed reads them back; if it cannot (the database is away),
            // the memory is bounded: a position forgotten early is only announced twice.
            if announced.len() >= MAX_UNFOLLOWED {
                announced.clear();
            }
            announced.extend(changed.iter().map(|c| c.seq));
            drop(announced);
            cluster.outbound.notify_one();
        }
        self.broadcast(changed);
    }

    fn broadcast(&self, changed: &[ChangedDoc]) {
        for c in changed {
            // No listener is not an error: nobody is connected.
            let _ = self.sender.send(c.clone());
        }
    }

    /// Announces what reading the change sequence found (changes up to and including
    /// position `upto`), less what this node announced itself; forgets its own positions up
    /// to `upto`.
    pub fn announce_followed(&self, changed: &[ChangedDoc], upto: i64) {
        let Some(cluster) = &self.cluster else { return self.broadcast(changed) };
        let fresh: Vec<ChangedDoc> = {
            let mut announced = cluster.announced();
            let fresh = changed.iter().filter(|c| !announced.contains(&c.seq)).cloned().collect();
            *announced = announced.split_off(&upto.saturating_add(1));
            fresh
        };
        self.broadcast(&fresh);
    }

    /// Resolves when this node announced changes since the last call (a node among several
    /// then tells the others).
    pub async fn announced_here(&self) {
        match &self.cluster {
            Some(cluster) => cluster.outbound.notified().await,
            None => std::future::pending().await,
        }
    }

    /// A new listener.
    pub fn subscribe(&self) -> broadcast::Receiver<ChangedDoc> {
        self.sender.subscribe()
    }
}

impl ClusterSide {
    fn announced(&self) -> std::sync::MutexGuard<'_, BTreeSet<i64>> {
        self.announced.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

//! The push channel: connected devices hear which documents changed, then sync to fetch them.
//! It carries ids only, never content, so a missed notice costs nothing but latency: the next
//! sync round brings everything since the device's cursor anyway.
//!
//! Each device's stream of notices is the edge's (`http::edge::changes`).

use tokio::sync::broadcast;

use crate::sync::ChangedDoc;

/// Fan-out of change notices to every connected device.
#[derive(Clone, Debug)]
pub struct PushHub {
    sender: broadcast::Sender<ChangedDoc>,
}

impl Default for PushHub {
    fn default() -> Self {
        PushHub::new()
    }
}

impl PushHub {
    /// A hub with room for a burst of notices per slow listener.
    pub fn new() -> PushHub {
        PushHub { sender: broadcast::channel(4096).0 }
    }

    /// Announces changed documents (after their transaction committed).
    pub fn announce(&self, changed: &[ChangedDoc]) {
        for c in changed {
            // No listener is not an error: nobody is connected.
            let _ = self.sender.send(c.clone());
        }
    }

    /// A new listener.
    pub fn subscribe(&self) -> broadcast::Receiver<ChangedDoc> {
        self.sender.subscribe()
    }
}

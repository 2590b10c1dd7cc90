//! Prometheus metrics, served at `/metrics` in the text exposition format.

use std::sync::Mutex;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The server's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Mutex<Registry>,
    /// Sync rounds answered.
    pub sync_rounds: Counter,
    /// Sync rounds refused (4xx) or failed (5xx).
    pub sync_failures: Counter,
    /// Request bytes received by sync.
    pub sync_bytes_in: Counter,
    /// Response bytes sent by sync.
    pub sync_bytes_out: Counter,
    /// Time to answer one round, in seconds.
    pub sync_latency_seconds: Histogram,
    /// Violations compensated.
    pub violations: Counter,
    /// Devices that synced in the last 24 hours (set when scraped).
    pub devices_seen_24h: Gauge,
    /// Documents loaded in memory (set when scraped).
    pub cached_documents: Gauge,
    /// Selection-desk commands answered (fresh or replayed).
    pub desk_commands: Counter,
    /// Desk commands answered from a stored answer (retries).
    pub desk_replays: Counter,
    /// Venue ledger entries central verified and stored (ADR 0021).
    pub venue_entries: Counter,
    /// Entries a venue has not shipped yet, as it last reported (central) or as it counts
    /// them (venue); set when a batch is taken or shipped.
    pub venue_unshipped: Gauge,
    /// Venue uplink rounds that failed (venue).
    pub venue_uplink_failures: Counter,
    /// Desk transactions committed (set when scraped).
    pub desk_groups: Gauge,
    /// Desk commands committed in them (set when scraped).
    pub desk_group_commands: Gauge,
    /// Documents whose projection rows the projector rewrote.
    pub projected_documents: Counter,
    /// Documents changed since their last projection (set when scraped).
    pub projection_pending: Gauge,
    /// Documents a background task set aside (set when scraped).
    pub quarantined_documents: Gauge,
    /// Event streams open now (set when scraped).
    pub open_streams: Gauge,
    /// Keys the rate limiters hold (set when scraped).
    pub rate_limit_keys: Gauge,
}

/// One metric as [`Metrics::listed`] names it.
enum Listed<'a> {
    Count(&'a Counter),
    Level(&'a Gauge),
    Timing(&'a Histogram),
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("kam");
        let m = Metrics {
            registry: Mutex::new(Registry::default()),
            sync_rounds: Counter::default(),
            sync_failures: Counter::default(),
            sync_bytes_in: Counter::default(),
            sync_bytes_out: Counter::default(),
            sync_latency_seconds: Histogram::new(exponential_buckets(0.0005, 2.0, 16)),
            violations: Counter::default(),
            devices_seen_24h: Gauge::default(),
            cached_documents: Gauge::default(),
            projected_documents: Counter::default(),
            desk_commands: Counter::default(),
            desk_replays: Counter::default(),
            venue_entries: Counter::default(),
            venue_unshipped: Gauge::default(),
            venue_uplink_failures: Counter::default(),
            desk_groups: Gauge::default(),
            desk_group_commands: Gauge::default(),
            projection_pending: Gauge::default(),
            quarantined_documents: Gauge::default(),
            open_streams: Gauge::default(),
            rate_limit_keys: Gauge::default(),
        };
        m.register_all(&mut registry);
        if let Ok(mut slot) = m.registry.lock() {
            *slot = registry;
        }
        m
    }

    /// Every metric with its name and help, in the order `/metrics` lists them.
    fn listed(&self) -> [(&'static str, &'static str, Listed<'_>); 20] {
        use Listed::{Count, Level, Timing};
        [
            (
                "quarantined_documents",
                "Documents a background task set aside (see the review page)",
                Level(&self.quarantined_documents),
            ),
            ("open_streams", "Event streams open now", Level(&self.open_streams)),
            ("rate_limit_keys", "Callers the rate limiters remember", Level(&self.rate_limit_keys)),
            ("sync_rounds", "Sync rounds answered", Count(&self.sync_rounds)),
            ("sync_failures", "Sync rounds refused or failed", Count(&self.sync_failures)),
            ("sync_request_bytes", "Bytes received in sync requests", Count(&self.sync_bytes_in)),
            ("sync_response_bytes", "Bytes sent in sync answers", Count(&self.sync_bytes_out)),
            (
                "sync_latency_seconds",
                "Time to answer a sync round",
                Timing(&self.sync_latency_seconds),
            ),
            ("authority_violations", "Unauthorised writes compensated", Count(&self.violations)),
            (
                "devices_seen_24h",
                "Devices that synced in the last 24 hours",
                Level(&self.devices_seen_24h),
            ),
            ("cached_documents", "Documents loaded in memory", Level(&self.cached_documents)),
            ("desk_commands", "Selection-desk commands answered", Count(&self.desk_commands)),
            (
                "desk_replays",
                "Desk commands answered again from their stored answer",
                Count(&self.desk_replays),
            ),
            (
                "venue_entries",
                "Venue ledger entries verified and stored",
                Count(&self.venue_entries),
            ),
            (
                "venue_unshipped_commands",
                "Venue ledger entries not yet shipped upstream",
                Level(&self.venue_unshipped),
            ),
            (
                "venue_uplink_failures",
                "Venue uplink rounds that failed",
                Count(&self.venue_uplink_failures),
            ),
            (
                "desk_groups",
                "Desk transactions committed (group commits)",
                Level(&self.desk_groups),
            ),
            (
                "desk_group_commands",
                "Desk commands committed in those transactions",
                Level(&self.desk_group_commands),
            ),
            (
                "projected_documents",
                "Documents whose projection rows were rewritten",
                Count(&self.projected_documents),
            ),
            (
                "projection_pending",
                "Documents changed since their last projection",
                Level(&self.projection_pending),
            ),
        ]
    }

    /// Registers every metric of [`Metrics::listed`] in `registry`.
    fn register_all(&self, registry: &mut Registry) {
        for (name, help, metric) in self.listed() {
            match metric {
                Listed::Count(c) => registry.register(name, help, c.clone()),
                Listed::Level(g) => registry.register(name, help, g.clone()),
                Listed::Timing(h) => registry.register(name, help, h.clone()),
            }
        }
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Ok(registry) = self.registry.lock() {
            // Writing into a String cannot fail.
            let _ = encode(&mut out, &registry);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_metric_is_exposed_once_with_its_help() {
        let metrics = Metrics::new();
        let text = metrics.render();
        for (name, help, _) in metrics.listed() {
            let line = format!("# HELP kam_{name} {help}.");
            assert_eq!(text.matches(&format!("{line}\n")).count(), 1, "{name} in:\n{text}");
        }
    }
}

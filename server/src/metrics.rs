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
            desk_groups: Gauge::default(),
            desk_group_commands: Gauge::default(),
            projection_pending: Gauge::default(),
            quarantined_documents: Gauge::default(),
            open_streams: Gauge::default(),
            rate_limit_keys: Gauge::default(),
        };
        registry.register(
            "quarantined_documents",
            "Documents a background task set aside (see the review page)",
            m.quarantined_documents.clone(),
        );
        registry.register("open_streams", "Event streams open now", m.open_streams.clone());
        registry.register(
            "rate_limit_keys",
            "Callers the rate limiters remember",
            m.rate_limit_keys.clone(),
        );
        registry.register("sync_rounds", "Sync rounds answered", m.sync_rounds.clone());
        registry.register(
            "sync_failures",
            "Sync rounds refused or failed",
            m.sync_failures.clone(),
        );
        registry.register(
            "sync_request_bytes",
            "Bytes received in sync requests",
            m.sync_bytes_in.clone(),
        );
        registry.register(
            "sync_response_bytes",
            "Bytes sent in sync answers",
            m.sync_bytes_out.clone(),
        );
        registry.register(
            "sync_latency_seconds",
            "Time to answer a sync round",
            m.sync_latency_seconds.clone(),
        );
        registry.register(
            "authority_violations",
            "Unauthorised writes compensated",
            m.violations.clone(),
        );
        registry.register(
            "devices_seen_24h",
            "Devices that synced in the last 24 hours",
            m.devices_seen_24h.clone(),
        );
        registry.register(
            "cached_documents",
            "Documents loaded in memory",
            m.cached_documents.clone(),
        );
        registry.register(
            "desk_commands",
            "Selection-desk commands answered",
            m.desk_commands.clone(),
        );
        registry.register(
            "desk_replays",
            "Desk commands answered again from their stored answer",
            m.desk_replays.clone(),
        );
        registry.register(
            "desk_groups",
            "Desk transactions committed (group commits)",
            m.desk_groups.clone(),
        );
        registry.register(
            "desk_group_commands",
            "Desk commands committed in those transactions",
            m.desk_group_commands.clone(),
        );
        registry.register(
            "projected_documents",
            "Documents whose projection rows were rewritten",
            m.projected_documents.clone(),
        );
        registry.register(
            "projection_pending",
            "Documents changed since their last projection",
            m.projection_pending.clone(),
        );
        if let Ok(mut slot) = m.registry.lock() {
            *slot = registry;
        }
        m
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

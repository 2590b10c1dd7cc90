//! Every resource limit of the HTTP edge, with its default and the `serve` flag that sets it.
//!
//! The README's "Limits" table lists the same values; `serve --help` prints the flags. A
//! limit is a promise to the other callers: one client cannot take the connections, the
//! blocking threads, the memory or the store from everybody else.

use std::time::Duration;

use clap::Args;

/// The limits a server runs with. `Default` is what `serve` uses without flags.
#[derive(Clone, Debug, PartialEq, Eq, Args)]
pub struct Limits {
    /// Open connections at most; further clients wait in the kernel's accept queue.
    #[arg(long, default_value_t = 4_096)]
    pub max_connections: usize,
    /// Seconds a client may take to send a request's headers, and the longest a kept-alive
    /// connection may sit idle between requests.
    #[arg(long, default_value_t = 10)]
    pub header_timeout_s: u64,
    /// Seconds a request may take from its headers to its answer's headers (body upload and
    /// handling); streams are not cut by it once they have started.
    #[arg(long, default_value_t = 60)]
    pub request_timeout_s: u64,
    /// Seconds a request body may go without sending any data.
    #[arg(long, default_value_t = 15)]
    pub body_idle_timeout_s: u64,
    /// The largest body of a route that has no larger limit of its own, in bytes.
    #[arg(long, default_value_t = 64 * 1024)]
    pub max_body_bytes: usize,
    /// The largest selection-desk command body (a buyer list of a few thousand lines).
    #[arg(long, default_value_t = 1024 * 1024)]
    pub max_command_bytes: usize,
    /// Requests per second from one source address (all routes), sustained.
    #[arg(long, default_value_t = 1_000)]
    pub rate_per_address: u32,
    /// Failed authentications (unknown, revoked or malformed tokens and sessions) per second
    /// from one source address, sustained; past it, 429 before any lookup.
    #[arg(long, default_value_t = 5)]
    pub failed_auth_per_address: u32,
    /// Sign-in attempts per minute from one source address.
    #[arg(long, default_value_t = 20)]
    pub logins_per_address_per_min: u32,
    /// Sign-in attempts per minute for one user name, known or not.
    #[arg(long, default_value_t = 6)]
    pub logins_per_user_per_min: u32,
    /// Requests per second with one device token or session (sync, desk, API, streams).
    #[arg(long, default_value_t = 100)]
    pub rate_per_token: u32,
    /// Requests per second by one user over all their devices and sessions.
    #[arg(long, default_value_t = 200)]
    pub rate_per_user: u32,
    /// Open event streams (`/api/v1/changes`, board streams) per device token or session.
    #[arg(long, default_value_t = 4)]
    pub streams_per_caller: usize,
    /// Open event streams in total.
    #[arg(long, default_value_t = 1_024)]
    pub max_streams: usize,
    /// Password checks running at once (Argon2 takes 19 MiB and tens of milliseconds each).
    #[arg(long, default_value_t = 2)]
    pub password_checks: usize,
    /// Sign-ins waiting for a password check before further ones get 503.
    #[arg(long, default_value_t = 64)]
    pub password_queue: usize,
    /// Read-only database connections for token checks, sessions and the desk's tables.
    #[arg(long, default_value_t = crate::db::readers::DEFAULT_READERS)]
    pub readers: usize,
    /// A proxy (load balancer) in front of this server whose `X-Forwarded-For` is believed for
    /// the per-address limits; repeat for each. Without it every client behind a proxy counts
    /// as the proxy's address.
    #[arg(long = "trusted-proxy")]
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 4_096,
            header_timeout_s: 10,
            request_timeout_s: 60,
            body_idle_timeout_s: 15,
            max_body_bytes: 64 * 1024,
            max_command_bytes: 1024 * 1024,
            rate_per_address: 1_000,
            failed_auth_per_address: 5,
            logins_per_address_per_min: 20,
            logins_per_user_per_min: 6,
            rate_per_token: 100,
            rate_per_user: 200,
            streams_per_caller: 4,
            max_streams: 1_024,
            password_checks: 2,
            password_queue: 64,
            readers: crate::db::readers::DEFAULT_READERS,
            trusted_proxies: Vec::new(),
        }
    }
}

impl Limits {
    /// The header read (and keep-alive idle) timeout.
    pub fn header_timeout(&self) -> Duration {
        Duration::from_secs(self.header_timeout_s.max(1))
    }

    /// The whole-request timeout.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_s.max(1))
    }

    /// The body idle timeout.
    pub fn body_idle_timeout(&self) -> Duration {
        Duration::from_secs(self.body_idle_timeout_s.max(1))
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        limits: Limits,
    }

    #[test]
    fn the_flags_default_to_the_documented_defaults() {
        let parsed = Cli::parse_from(["kam-server"]).limits;
        assert_eq!(parsed, Limits::default());
        let set = Cli::parse_from(["kam-server", "--rate-per-token", "7", "--max-streams", "3"]);
        assert_eq!((set.limits.rate_per_token, set.limits.max_streams), (7, 3));
    }
}

//! Rate limits per source address, per device token or session, per user, and for sign-ins.
//!
//! Each is a keyed generic-cell-rate limiter (the `governor` crate): a bucket per key that
//! refills at the sustained rate and holds a burst. A refused request gets 429 with the
//! seconds until its key has room again. Keys whose bucket is full again carry no state worth
//! keeping, so a janitor drops them every few seconds: memory follows the callers active in
//! the last moments, not every address or user name ever tried.

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::limits::Limits;
use crate::error::ServerError;

/// Most keys one limiter keeps between janitor runs; past it, new keys are refused until the
/// janitor has dropped the idle ones (a flood of fresh keys cannot grow memory without end).
const MAX_KEYS: usize = 200_000;

/// How often idle keys are dropped.
pub const JANITOR_PERIOD: Duration = Duration::from_secs(5);

struct Keyed<K: Hash + Eq + Clone> {
    limiter: DefaultKeyedRateLimiter<K>,
}

impl<K: Hash + Eq + Clone> Keyed<K> {
    fn new(quota: Quota) -> Self {
        Keyed { limiter: RateLimiter::keyed(quota) }
    }

    fn check(&self, key: &K) -> Result<(), ServerError> {
        if self.limiter.len() >= MAX_KEYS {
            return Err(ServerError::RateLimited { retry_after_s: JANITOR_PERIOD.as_secs() });
        }
        self.limiter.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            ServerError::RateLimited { retry_after_s: wait.as_secs().saturating_add(1) }
        })
    }

    fn sweep(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

fn nonzero(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}

/// `per_second` sustained, with a burst of `burst_factor` seconds' worth.
fn per_second(per_second: u32, burst_factor: u32) -> Quota {
    Quota::per_second(nonzero(per_second))
        .allow_burst(nonzero(per_second.saturating_mul(burst_factor)))
}

/// `per_minute` sustained, with a burst of half a minute's worth (at least one).
fn per_minute(per_minute: u32) -> Quota {
    let per = nonzero(per_minute);
    let period = Duration::from_secs(60) / per.get();
    Quota::with_period(period)
        .unwrap_or_else(|| Quota::per_minute(per))
        .allow_burst(nonzero(per_minute.div_ceil(2)))
}

/// Every rate limit of the edge.
pub struct RateLimits {
    per_address: Keyed<IpAddr>,
    failed_auth: Keyed<IpAddr>,
    login_address: Keyed<IpAddr>,
    login_user: Keyed<String>,
    per_token: Keyed<[u8; 16]>,
    per_user: Keyed<String>,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimits").field("keys", &self.keys()).finish()
    }
}

impl RateLimits {
    /// The limiters for `limits`.
    pub fn new(limits: &Limits) -> RateLimits {
        RateLimits {
            per_address: Keyed::new(per_second(limits.rate_per_address, 2)),
            failed_auth: Keyed::new(per_second(limits.failed_auth_per_address, 10)),
            login_address: Keyed::new(per_minute(limits.logins_per_address_per_min)),
            login_user: Keyed::new(per_minute(limits.logins_per_user_per_min)),
            per_token: Keyed::new(per_second(limits.rate_per_token, 4)),
            per_user: Keyed::new(per_second(limits.rate_per_user, 4)),
        }
    }

    /// Any request from `address`.
    pub fn request(&self, address: IpAddr) -> Result<(), ServerError> {
        self.per_address.check(&address)
    }

    /// A credential from `address` that did not check out: 429 instead of 401 once the
    /// address has failed too often.
    pub fn failed_credentials(&self, address: IpAddr) -> Result<(), ServerError> {
        self.failed_auth.check(&address)
    }

    /// A sign-in attempt from `address` (if it came over the network) for `user` (any name,
    /// known or not).
    pub fn login(&self, address: Option<IpAddr>, user: &str) -> Result<(), ServerError> {
        if let Some(address) = address {
            self.login_address.check(&address)?;
        }
        let name: String = user.trim().to_lowercase().chars().take(64).collect();
        self.login_user.check(&name)
    }

    /// A request under a device token or session (`credential_id`, a hash) of `user_id`.
    pub fn authenticated(&self, credential_id: [u8; 16], user_id: &str) -> Result<(), ServerError> {
        self.per_token.check(&credential_id)?;
        self.per_user.check(&user_id.to_owned())
    }

    /// Drops keys whose buckets are full again.
    pub fn sweep(&self) {
        self.per_address.sweep();
        self.failed_auth.sweep();
        self.login_address.sweep();
        self.login_user.sweep();
        self.per_token.sweep();
        self.per_user.sweep();
    }

    /// Keys held now, over every limiter (for the metrics).
    pub fn keys(&self) -> usize {
        self.per_address.limiter.len()
            + self.failed_auth.limiter.len()
            + self.login_address.limiter.len()
            + self.login_user.limiter.len()
            + self.per_token.limiter.len()
            + self.per_user.limiter.len()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, n])
    }

    #[test]
    fn a_burst_passes_and_then_the_caller_waits_with_a_retry_time() {
        let limits = Limits { rate_per_token: 5, rate_per_user: 1_000, ..Limits::default() };
        let rates = RateLimits::new(&limits);
        let token = [7u8; 16];
        let passed = (0..100).filter(|_| rates.authenticated(token, "rep-01").is_ok()).count();
        assert_eq!(passed, 20, "a burst of four seconds' worth");
        match rates.authenticated(token, "rep-01") {
            Err(ServerError::RateLimited { retry_after_s }) => assert!(retry_after_s >= 1),
            other => panic!("{other:?}"),
        }
        assert!(rates.authenticated([8u8; 16], "rep-01").is_ok(), "another token has its own");
    }

    #[test]
    fn sign_ins_are_limited_per_address_and_per_user_name_known_or_not() {
        let rates = RateLimits::new(&Limits::default());
        let per_user = (0..50).filter(|_| rates.login(Some(ip(1)), "nobody").is_ok()).count();
        assert_eq!(per_user, 3, "half a minute's worth of 6 a minute");
        assert!(rates.login(Some(ip(1)), "NOBODY ").is_err(), "names are compared loosely");
        let per_address =
            (0..50).filter(|n| rates.login(Some(ip(2)), &format!("u{n}")).is_ok()).count();
        assert_eq!(per_address, 10);
    }

    #[test]
    fn failed_credentials_close_the_door_for_that_address_only() {
        let rates = RateLimits::new(&Limits::default());
        let tolerated = (0..100).filter(|_| rates.failed_credentials(ip(3)).is_ok()).count();
        assert_eq!(tolerated, 50, "ten seconds' worth of 5 a second");
        assert!(rates.failed_credentials(ip(4)).is_ok());
        rates.sweep();
        assert!(rates.keys() >= 1, "a bucket still refilling is kept");
    }
}

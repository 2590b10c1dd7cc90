//! The client's address behind a proxy the operator trusts (`serve --trusted-proxy`): several
//! nodes behind one load balancer all see the balancer's address, and the per-address limits
//! (requests, failed sign-ins) would then throttle every client together.
//!
//! Only a request whose TCP peer is a trusted proxy is read for `X-Forwarded-For`; the client
//! is the rightmost address in it that is not itself a trusted proxy (each proxy appends the
//! address it saw, so entries to the left of it were written by the client and prove
//! nothing). Anything unparsable leaves the peer's address.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;

/// The header proxies append the address they saw to.
const FORWARDED_FOR: &str = "x-forwarded-for";

/// The address to limit and log for a request from `peer`: the forwarded client when `peer`
/// is one of `trusted`, `peer` otherwise.
pub fn client_address(peer: SocketAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> SocketAddr {
    if !trusted.contains(&peer.ip()) {
        return peer;
    }
    let mut entries = headers
        .get_all(FORWARDED_FOR)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    entries.reverse();
    for entry in entries {
        match entry.parse::<IpAddr>() {
            Ok(ip) if trusted.contains(&ip) => continue,
            Ok(ip) => return SocketAddr::new(ip, 0),
            Err(_) => return peer,
        }
    }
    peer
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(FORWARDED_FOR, HeaderValue::from_str(v).unwrap());
        }
        headers
    }

    #[test]
    fn only_a_trusted_peer_is_believed_and_only_for_what_proxies_appended() {
        let proxy: SocketAddr = "10.0.0.9:40000".parse().unwrap();
        let trusted = ["10.0.0.9".parse().unwrap(), "10.0.0.8".parse().unwrap()];
        let client = |h: &[&str]| client_address(proxy, &headers(h), &trusted).ip().to_string();
        assert_eq!(client(&["203.0.113.7"]), "203.0.113.7");
        // A client writing its own header gets the address the proxy saw, not its claim.
        assert_eq!(client(&["198.51.100.1, 203.0.113.7"]), "203.0.113.7");
        // Two trusted proxies in a row: the first untrusted address from the right.
        assert_eq!(client(&["203.0.113.7, 10.0.0.8"]), "203.0.113.7");
        assert_eq!(client(&["203.0.113.7", "10.0.0.8"]), "203.0.113.7");
        // Nothing usable: the proxy's own address.
        assert_eq!(client(&[]), "10.0.0.9");
        assert_eq!(client(&["not an address"]), "10.0.0.9");
        // An untrusted peer's header is ignored.
        let stranger: SocketAddr = "192.0.2.5:1".parse().unwrap();
        let seen = client_address(stranger, &headers(&["203.0.113.7"]), &trusted);
        assert_eq!(seen, stranger);
    }
}

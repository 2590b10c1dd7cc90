//! Who is calling: the device behind a bearer token, checked before anything else of the
//! request is read.
//!
//! A token's check is a read on the read pool, remembered for [`TOKEN_TTL`] so that a device
//! sending many requests does not ask the database each time. The memory never outlives a
//! revocation by more than that: the sync round and the desk's writer check the token again
//! inside their own transactions, and a revocation noticed by the auth watcher
//! (`edge::epoch`) clears the memory at once.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap, header};
use sha2::{Digest, Sha256};

use crate::auth::{self, Principal};
use crate::error::ServerError;
use crate::http::AppState;

/// How long a checked token is remembered.
pub const TOKEN_TTL: Duration = Duration::from_secs(1);

/// Tokens remembered at most; past it the memory starts over.
const MAX_REMEMBERED: usize = 10_000;

/// The longest bearer token read (real ones are 68 characters).
const MAX_TOKEN_LEN: usize = 256;

/// Tokens checked in the last moment.
#[derive(Debug, Default)]
pub struct TokenMemory {
    known: Mutex<HashMap<[u8; 32], (Principal, Instant)>>,
}

impl TokenMemory {
    fn get(&self, hash: &[u8; 32]) -> Option<Principal> {
        let known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        known.get(hash).filter(|(_, at)| at.elapsed() < TOKEN_TTL).map(|(p, _)| p.clone())
    }

    fn put(&self, hash: [u8; 32], principal: Principal) {
        let mut known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        if known.len() >= MAX_REMEMBERED {
            known.clear();
        }
        known.insert(hash, (principal, Instant::now()));
    }

    /// Forgets every token (a revocation was seen).
    pub fn forget_all(&self) {
        self.known.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }
}

/// The request's bearer token, if it carries a plausible one. The scheme is matched without
/// regard to case (RFC 9110 §11.1).
pub fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(|c: char| c.is_ascii_whitespace())?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer")
        && !token.is_empty()
        && token.len() <= MAX_TOKEN_LEN
        && token.bytes().all(|b| b.is_ascii_graphic()))
    .then(|| token.to_owned())
}

/// A credential's id for the rate limits and stream caps: a prefix of its SHA-256.
pub fn credential_id(secret: &str) -> [u8; 16] {
    let hash: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
    let mut id = [0u8; 16];
    id.copy_from_slice(&hash[..16]);
    id
}

/// The address the request came from; `None` when it was served without a socket (the
/// router driven in-process), where no network peer is there to limit.
pub fn source_address(extensions: &Extensions) -> Option<IpAddr> {
    extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip())
}

/// The device behind the request's bearer token, or 401 (429 once the address has failed too
/// often); then the token's and the user's rate limits.
pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    address: Option<IpAddr>,
) -> Result<Principal, ServerError> {
    let edge = state.edge();
    let failed = || match address {
        Some(address) => edge.rates.failed_credentials(address),
        None => Ok(()),
    };
    let Some(token) = bearer_token(headers) else {
        failed()?;
        return Err(ServerError::Unauthorized);
    };
    let hash: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    let principal = match edge.tokens.get(&hash) {
        Some(known) => known,
        None => {
            let found =
                state.readers().read(move |conns| auth::authenticate(conns.db(), &token)).await?;
            let Some(found) = found else {
                failed()?;
                return Err(ServerError::Unauthorized);
            };
            edge.tokens.put(hash, found.clone());
            found
        }
    };
    let mut id = [0u8; 16];
    id.copy_from_slice(&hash[..16]);
    edge.rates.authenticated(id, &principal.user_id)?;
    Ok(principal)
}

/// An authenticated device, as a handler argument. Extracted before the body, so a request
/// without a valid token is refused before a byte of its body is read.
#[derive(Clone, Debug)]
pub struct Device(pub Principal);

impl FromRequestParts<AppState> for Device {
    type Rejection = ServerError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ServerError> {
        let address = source_address(&parts.extensions);
        Ok(Device(authenticate(state, &parts.headers, address).await?))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn with(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, value.parse().unwrap());
        h
    }

    #[test]
    fn the_bearer_scheme_is_matched_in_any_case_and_junk_is_refused() {
        assert_eq!(bearer_token(&with("Bearer abc")).as_deref(), Some("abc"));
        assert_eq!(bearer_token(&with("bearer abc")).as_deref(), Some("abc"));
        assert_eq!(bearer_token(&with("BEARER   abc  ")).as_deref(), Some("abc"));
        assert_eq!(bearer_token(&with("Basic abc")), None);
        assert_eq!(bearer_token(&with("Bearer")), None);
        assert_eq!(bearer_token(&with("Bearerabc")), None);
        assert_eq!(bearer_token(&with("Bearer a b")), None, "one token, no spaces inside");
        assert_eq!(bearer_token(&with(&format!("Bearer {}", "x".repeat(257)))), None);
        assert_eq!(bearer_token(&HeaderMap::new()), None);
    }

    #[test]
    fn remembered_tokens_expire_and_can_be_forgotten() {
        let memory = TokenMemory::default();
        let p =
            Principal { device_id: "d".into(), user_id: "u".into(), role: crate::auth::Role::Rep };
        memory.put([1; 32], p.clone());
        assert_eq!(memory.get(&[1; 32]), Some(p));
        memory.forget_all();
        assert_eq!(memory.get(&[1; 32]), None);
    }
}

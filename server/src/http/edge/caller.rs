//! Who is calling: the device behind a bearer token, checked before anything else of the
//! request is read.
//!
//! A token's check is a read on the read pool, remembered for [`TOKEN_TTL`] so that a device
//! sending many requests does not ask the database each time. The memory never outlives a
//! revocation by more than that: the sync round and the desk's writer check the token again
//! inside their own transactions, and a revocation noticed by the auth watcher
//! (`edge::epoch`) clears the memory at once.
//!
//! A request naming its installation (`Kam-Installation`, ADR 0022) must come from the
//! installation its device is bound to: the first one binds it (the only write on this path,
//! once per device), any other is refused with 409 `device_in_use`. A request without the
//! header (tools, older apps) is served as before.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap, header};
use sha2::{Digest, Sha256};

use kam_core::sync_client::http::INSTALLATION_HEADER;

use crate::auth::{self, Principal};
use crate::error::ServerError;
use crate::http::AppState;

/// How long a checked token is remembered.
pub const TOKEN_TTL: Duration = Duration::from_secs(1);

/// Tokens remembered at most; past it the memory starts over.
const MAX_REMEMBERED: usize = 10_000;

/// The longest bearer token read (real ones are 68 characters).
const MAX_TOKEN_LEN: usize = 256;

/// The longest installation id read (the SDK's are 36-character UUIDs).
const MAX_INSTALLATION_LEN: usize = 64;

/// A checked token: its device and the installation the device is bound to, if any.
type Checked = (Principal, Option<String>);

/// Tokens checked in the last moment.
#[derive(Debug, Default)]
pub struct TokenMemory {
    known: Mutex<HashMap<[u8; 32], (Checked, Instant)>>,
}

impl TokenMemory {
    fn get(&self, hash: &[u8; 32]) -> Option<Checked> {
        let known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        known.get(hash).filter(|(_, at)| at.elapsed() < TOKEN_TTL).map(|(c, _)| c.clone())
    }

    fn put(&self, hash: [u8; 32], checked: Checked) {
        let mut known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        if known.len() >= MAX_REMEMBERED {
            known.clear();
        }
        known.insert(hash, (checked, Instant::now()));
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

/// The request's installation id (`Kam-Installation`), if it names one; a value that is not
/// 1–64 visible ASCII characters is malformed.
pub fn installation(headers: &HeaderMap) -> Result<Option<String>, ServerError> {
    let Some(value) = headers.get(INSTALLATION_HEADER) else { return Ok(None) };
    let text = value.to_str().unwrap_or_default().trim();
    if text.is_empty()
        || text.len() > MAX_INSTALLATION_LEN
        || !text.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(ServerError::Malformed(format!(
            "{INSTALLATION_HEADER}: 1 to {MAX_INSTALLATION_LEN} visible ASCII characters"
        )));
    }
    Ok(Some(text.to_owned()))
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
/// often); then the token's and the user's rate limits; then, when the request names its
/// installation, the device's binding to it (409 `device_in_use` for another installation).
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
    let installation = installation(headers)?;
    let hash: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    let (principal, bound) = match edge.tokens.get(&hash) {
        Some(known) => known,
        None => {
            let found = state.readers().read(move |conns| check_token(conns.db(), &token)).await?;
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
    if let Some(installation) = installation
        && bound.as_deref() != Some(installation.as_str())
    {
        bind(state, &principal, &installation).await?;
        edge.tokens.put(hash, (principal.clone(), Some(installation)));
    }
    Ok(principal)
}

/// The device behind `token` and the installation it is bound to.
fn check_token(db: &dyn crate::db::Db, token: &str) -> Result<Option<Checked>, ServerError> {
    let Some(principal) = auth::authenticate(db, token)? else { return Ok(None) };
    let bound = auth::device_installation(db, &principal.device_id)?;
    Ok(Some((principal, bound)))
}

/// Checks `installation` against the device's binding as stored now (the memory may be older
/// than a release), and binds an unbound device: a read on the pool, and the store's turn only
/// for a device's first request naming an installation.
async fn bind(
    state: &AppState,
    principal: &Principal,
    installation: &str,
) -> Result<(), ServerError> {
    let (device, asked) = (principal.device_id.clone(), installation.to_owned());
    let matches = state
        .readers()
        .read(move |conns| {
            let bound = auth::device_installation(conns.db(), &device)?;
            auth::installation_matches(bound.as_deref(), &asked)
        })
        .await?;
    if matches {
        return Ok(());
    }
    let (device, asked) = (principal.device_id.clone(), installation.to_owned());
    state
        .with_store(move |store| {
            store.transaction(|db| auth::bind_installation(db, &device, &asked))
        })
        .await
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
    fn an_installation_is_read_when_plausible() {
        let mut h = HeaderMap::new();
        assert_eq!(installation(&h).unwrap(), None, "no header, as before");
        h.insert(INSTALLATION_HEADER, "0193a-b".parse().unwrap());
        assert_eq!(installation(&h).unwrap().as_deref(), Some("0193a-b"));
        for bad in ["", "a b", &"x".repeat(65)] {
            h.insert(INSTALLATION_HEADER, bad.parse().unwrap());
            assert!(matches!(installation(&h), Err(ServerError::Malformed(_))), "{bad:?}");
        }
    }

    #[test]
    fn remembered_tokens_expire_and_can_be_forgotten() {
        let memory = TokenMemory::default();
        let p =
            Principal { device_id: "d".into(), user_id: "u".into(), role: crate::auth::Role::Rep };
        memory.put([1; 32], (p.clone(), Some("inst".into())));
        assert_eq!(memory.get(&[1; 32]), Some((p, Some("inst".into()))));
        memory.forget_all();
        assert_eq!(memory.get(&[1; 32]), None);
    }
}

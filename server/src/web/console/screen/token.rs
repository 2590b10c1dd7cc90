//! The big screen's display token: `hex(HMAC-SHA256(secret, event_id ‖ 0x00 ‖ generation))`,
//! the generation as 8 bytes big-endian. The secret is 32 random bytes kept once in the desk's
//! file; the generation is the event's, and rotating the link moves it on, so every link
//! handed out before stops working. Nothing is stored per link: a token is checked by
//! deriving it again, in constant time.

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::error::ServerError;
use crate::http::AppState;

type HmacSha256 = Hmac<Sha256>;

/// The MAC over `event_id` at `generation`, keyed with `secret`; `None` only if the MAC
/// refused the key, which HMAC never does.
fn mac(secret: &[u8], event_id: &str, generation: u64) -> Option<HmacSha256> {
    let mut mac = HmacSha256::new_from_slice(secret).ok()?;
    mac.update(event_id.as_bytes());
    // The separator and the fixed-width generation keep `("a1", 0)` and `("a", 10)` apart.
    mac.update(&[0]);
    mac.update(&generation.to_be_bytes());
    Some(mac)
}

/// The token of `event_id` at `generation` under `secret` (64 hex digits).
pub fn derive(secret: &[u8], event_id: &str, generation: u64) -> Option<String> {
    mac(secret, event_id, generation).map(|m| hex::encode(m.finalize().into_bytes()))
}

/// Whether `token` is the token of `event_id` at `generation`, compared in constant time.
pub fn matches(secret: &[u8], event_id: &str, generation: u64, token: &str) -> bool {
    let Ok(bytes) = hex::decode(token.trim()) else { return false };
    mac(secret, event_id, generation).is_some_and(|m| m.verify_slice(&bytes).is_ok())
}

/// What a screen's token is checked against: the secret and the event's generation, `None`
/// when no screen link was ever made or the event has no desk here.
#[derive(Clone, Debug)]
pub struct Keys {
    secret: Vec<u8>,
    generation: u64,
}

impl Keys {
    /// Whether `token` opens the screen of `event_id`.
    pub fn admit(&self, event_id: &str, token: &str) -> bool {
        matches(&self.secret, event_id, self.generation, token)
    }

    /// The event's token now.
    pub fn token(&self, event_id: &str) -> Option<String> {
        derive(&self.secret, event_id, self.generation)
    }
}

fn decode_secret(hex_text: &str) -> Result<Vec<u8>, ServerError> {
    hex::decode(hex_text).map_err(|_| ServerError::Corrupt("the display secret is not hex".into()))
}

/// The keys of `event_id`, read through the readers: `None` if the event has no desk here or
/// no screen link was ever made.
pub async fn keys(state: &AppState, event_id: &str) -> Result<Option<Keys>, ServerError> {
    let event = event_id.to_owned();
    let found = state
        .readers()
        .read(move |c| {
            let desk = c.desk();
            if desk.desk_event(&event)?.is_none() {
                return Ok::<_, ServerError>(None);
            }
            let Some(secret) = desk.display_secret()? else { return Ok(None) };
            Ok(Some((secret, desk.display_generation(&event)?)))
        })
        .await?;
    match found {
        Some((secret, generation)) => {
            Ok(Some(Keys { secret: decode_secret(&secret)?, generation }))
        }
        None => Ok(None),
    }
}

fn fresh_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The token of `event_id` now, making the desk's display secret on first use.
pub async fn current_token(state: &AppState, event_id: &str) -> Result<String, ServerError> {
    if let Some(keys) = keys(state, event_id).await? {
        return keys
            .token(event_id)
            .ok_or_else(|| ServerError::Corrupt("the display secret is not a key".into()));
    }
    let event = event_id.to_owned();
    let (secret, generation) = state
        .with_store(move |store| {
            store.desk.write(|tx| {
                let secret = tx.ensure_display_secret(&fresh_secret())?;
                Ok::<_, ServerError>((secret, tx.display_generation(&event)?))
            })
        })
        .await?;
    derive(&decode_secret(&secret)?, event_id, generation)
        .ok_or_else(|| ServerError::Corrupt("the display secret is not a key".into()))
}

/// Rotates the screen link of `event_id`: the old link stops working, and the open screens
/// on it are ended (the auth epoch moves, and each screen's stream checks its token again).
pub async fn rotate(state: &AppState, event_id: &str) -> Result<(), ServerError> {
    let event = event_id.to_owned();
    state
        .with_store(move |store| {
            store.desk.write(|tx| {
                tx.ensure_display_secret(&fresh_secret())?;
                Ok::<_, ServerError>(tx.rotate_display(&event)?)
            })
        })
        .await?;
    state.edge().epoch.bump();
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_token_opens_its_event_at_its_generation_only() {
        let secret = [7u8; 32];
        let token = derive(&secret, "ev1", 0).unwrap();
        assert_eq!(token.len(), 64);
        assert!(matches(&secret, "ev1", 0, &token), "right");
        assert!(!matches(&secret, "ev1", 1, &token), "rotated");
        assert!(!matches(&secret, "ev2", 0, &token), "another event");
        assert!(!matches(&[8u8; 32], "ev1", 0, &token), "another secret");
        assert!(!matches(&secret, "ev1", 0, ""), "missing");
        assert!(!matches(&secret, "ev1", 0, "zz"), "not hex");
        assert!(!matches(&secret, "ev1", 0, &token[..62]), "cut short");
        let mut wrong = token.clone().into_bytes();
        wrong[0] = if wrong[0] == b'0' { b'1' } else { b'0' };
        assert!(!matches(&secret, "ev1", 0, &String::from_utf8(wrong).unwrap()), "one digit off");
        // The generation is not spliced onto the id: ("a1", 0) and ("a", 10) differ.
        assert_ne!(derive(&secret, "a1", 0), derive(&secret, "a", 10));
        assert_ne!(derive(&secret, "a", 1), derive(&secret, "a\u{0}", 1));
    }
}

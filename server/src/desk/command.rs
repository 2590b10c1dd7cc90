//! The desk's command types live in kam-core, shared with the tablets' outbox; the server
//! adds the fingerprint it stores with each answer.

use sha2::{Digest, Sha256};

pub use kam_core::desk::command::*;

/// The fingerprint stored with an answer: a retry under the same key must carry the same
/// request. The typed request is serialised (not the raw body), so whitespace and field order
/// do not matter.
pub fn fingerprint(request: &CommandRequest) -> [u8; 32] {
    let text = serde_json::to_string(&(&request.event_id, &request.command)).unwrap_or_default();
    Sha256::digest(text.as_bytes()).into()
}

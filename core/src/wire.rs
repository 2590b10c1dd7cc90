//! The sync wire format: one binary request and one binary response per sync round.
//!
//! Every body starts with a four-byte magic and a format version, then a postcard-encoded
//! structure. Decoding checks the header, the sizes and every document id before anything
//! touches storage, so a malformed or oversized body is refused as a whole and changes nothing.
//! A version bump is a new `WIRE_VERSION`; a server answers a version it does not speak with a
//! clear error instead of guessing.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::doc::DocId;

/// The first four bytes of every sync body.
pub const WIRE_MAGIC: [u8; 4] = *b"KAMS";
/// The format version this build speaks.
pub const WIRE_VERSION: u16 = 1;
/// The HTTP content type of sync bodies.
pub const WIRE_CONTENT_TYPE: &str = "application/vnd.kam.sync.v1";
/// The largest request body a server accepts, in bytes.
pub const MAX_REQUEST_BYTES: usize = 16 * 1024 * 1024;
/// The largest response body a client accepts, in bytes.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;
/// The most document messages one request may carry.
pub const MAX_MESSAGES_PER_REQUEST: usize = 5_000;
/// The longest document id accepted on the wire.
pub const MAX_DOC_ID_LEN: usize = 160;

/// Why a body could not be decoded.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum WireError {
    /// The body is larger than the limit for its direction.
    #[error("body of {size} bytes exceeds the limit of {limit}")]
    TooLarge {
        /// Bytes received.
        size: usize,
        /// Bytes allowed.
        limit: usize,
    },
    /// The body does not start with the KAM magic.
    #[error("not a KAM sync body")]
    BadMagic,
    /// The body speaks a format version this build does not.
    #[error("unsupported wire version {0}")]
    UnsupportedVersion(u16),
    /// The structure after the header is malformed.
    #[error("malformed body: {0}")]
    Malformed(String),
    /// A field is out of its allowed range.
    #[error("invalid field `{field}`: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

/// An Automerge sync message about one document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocMessage {
    /// The document, as `kind/entity`.
    pub doc_id: String,
    /// The encoded `automerge::sync::Message`.
    pub message: Vec<u8>,
}

/// A whole document the receiver does not hold yet, as a compacted `save()`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocSnapshot {
    /// The document, as `kind/entity`.
    pub doc_id: String,
    /// The saved document.
    pub bytes: Vec<u8>,
}

/// A document id with its heads (hex change hashes), for recovery manifests.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    /// The document, as `kind/entity`.
    pub doc_id: String,
    /// The heads the device holds.
    pub heads: Vec<[u8; 32]>,
}

/// What a device sends in one round.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRequest {
    /// The last position in the server's change sequence this device has absorbed.
    pub cursor: u64,
    /// Sync messages for documents the device changed or is still converging on.
    pub messages: Vec<DocMessage>,
    /// Every document the device holds, sent only to recover (e.g. after a restore); the server
    /// answers with whatever the device lacks or should not hold.
    pub manifest: Option<Vec<ManifestEntry>>,
    /// How many bytes of snapshots and messages the device wants at most in the answer.
    pub max_response_bytes: u32,
}

/// What the server answers in one round.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncResponse {
    /// The cursor to send next time; store it only together with what this answer carried.
    pub cursor: u64,
    /// Sync messages: answers to the device's messages and news of documents changed since
    /// its cursor.
    pub messages: Vec<DocMessage>,
    /// Documents newly in the device's scope.
    pub snapshots: Vec<DocSnapshot>,
    /// Documents that left the device's scope; the device purges them.
    pub removed: Vec<String>,
    /// Whether more is waiting beyond this answer's size budget (ask again at once).
    pub more: bool,
    /// How many documents are still waiting after this answer, for progress reporting.
    pub remaining_docs: u64,
}

impl SyncRequest {
    /// Encodes the request with its header.
    pub fn encode(&self) -> Result<Vec<u8>, WireError> {
        encode(self)
    }

    /// Decodes and validates a request body.
    pub fn decode(body: &[u8]) -> Result<SyncRequest, WireError> {
        let request: SyncRequest = decode(body, MAX_REQUEST_BYTES)?;
        if request.messages.len() > MAX_MESSAGES_PER_REQUEST {
            return Err(WireError::Invalid {
                field: "messages",
                reason: format!(
                    "{} messages, at most {MAX_MESSAGES_PER_REQUEST}",
                    request.messages.len()
                ),
            });
        }
        for m in &request.messages {
            check_doc_id(&m.doc_id)?;
            if m.message.is_empty() {
                return Err(WireError::Invalid { field: "message", reason: "empty".into() });
            }
        }
        for e in request.manifest.iter().flatten() {
            check_doc_id(&e.doc_id)?;
        }
        Ok(request)
    }
}

impl SyncResponse {
    /// Encodes the response with its header.
    pub fn encode(&self) -> Result<Vec<u8>, WireError> {
        encode(self)
    }

    /// Decodes and validates a response body.
    pub fn decode(body: &[u8]) -> Result<SyncResponse, WireError> {
        let response: SyncResponse = decode(body, MAX_RESPONSE_BYTES)?;
        let ids = response
            .messages
            .iter()
            .map(|m| &m.doc_id)
            .chain(response.snapshots.iter().map(|s| &s.doc_id))
            .chain(response.removed.iter());
        for id in ids {
            check_doc_id(id)?;
        }
        Ok(response)
    }

    /// Whether the answer carried nothing.
    pub fn is_quiet(&self) -> bool {
        self.messages.is_empty()
            && self.snapshots.is_empty()
            && self.removed.is_empty()
            && !self.more
    }
}

/// Parses a wire document id, refusing anything that is not `kind/entity` within the limits.
pub fn parse_doc_id(text: &str) -> Result<DocId, WireError> {
    check_doc_id(text)?;
    text.parse::<DocId>().map_err(|_| WireError::Invalid {
        field: "doc_id",
        reason: format!("`{text}` is not a document id"),
    })
}

fn check_doc_id(text: &str) -> Result<(), WireError> {
    if text.len() > MAX_DOC_ID_LEN {
        return Err(WireError::Invalid {
            field: "doc_id",
            reason: format!("{} bytes, at most {MAX_DOC_ID_LEN}", text.len()),
        });
    }
    if text.parse::<DocId>().is_err() {
        return Err(WireError::Invalid {
            field: "doc_id",
            reason: format!("`{}` is not a document id", text.escape_debug()),
        });
    }
    Ok(())
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, WireError> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(&WIRE_MAGIC);
    out.extend_from_slice(&WIRE_VERSION.to_be_bytes());
    postcard::to_extend(value, out).map_err(|e| WireError::Malformed(e.to_string()))
}

fn decode<'a, T: Deserialize<'a>>(body: &'a [u8], limit: usize) -> Result<T, WireError> {
    if body.len() > limit {
        return Err(WireError::TooLarge { size: body.len(), limit });
    }
    let (magic, rest) = body.split_at_checked(4).ok_or(WireError::BadMagic)?;
    if magic != WIRE_MAGIC {
        return Err(WireError::BadMagic);
    }
    let (version, payload) =
        rest.split_at_checked(2).ok_or_else(|| WireError::Malformed("truncated header".into()))?;
    let version = u16::from_be_bytes([version[0], version[1]]);
    if version != WIRE_VERSION {
        return Err(WireError::UnsupportedVersion(version));
    }
    let (value, trailing) =
        postcard::take_from_bytes::<T>(payload).map_err(|e| WireError::Malformed(e.to_string()))?;
    if !trailing.is_empty() {
        return Err(WireError::Malformed(format!("{} trailing bytes", trailing.len())));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SyncRequest {
        SyncRequest {
            cursor: 42,
            messages: vec![DocMessage { doc_id: "customer/c-1".into(), message: vec![0x42, 1, 2] }],
            manifest: None,
            max_response_bytes: 1 << 20,
        }
    }

    #[test]
    fn request_round_trips() {
        let bytes = sample().encode().unwrap();
        assert_eq!(&bytes[..4], b"KAMS");
        assert_eq!(SyncRequest::decode(&bytes).unwrap(), sample());
    }

    #[test]
    fn refuses_bad_headers_truncation_and_trailing_bytes() {
        let bytes = sample().encode().unwrap();
        assert_eq!(SyncRequest::decode(b"KAM"), Err(WireError::BadMagic));
        assert_eq!(SyncRequest::decode(b"JSON{}"), Err(WireError::BadMagic));
        let mut v2 = bytes.clone();
        v2[5] = 2;
        assert_eq!(SyncRequest::decode(&v2), Err(WireError::UnsupportedVersion(2)));
        for cut in 6..bytes.len() {
            assert!(SyncRequest::decode(&bytes[..cut]).is_err(), "truncated at {cut}");
        }
        let mut long = bytes.clone();
        long.push(0);
        assert!(matches!(SyncRequest::decode(&long), Err(WireError::Malformed(_))));
    }

    #[test]
    fn refuses_bad_doc_ids_and_oversized_bodies() {
        let mut request = sample();
        request.messages[0].doc_id = "nonsense".into();
        let bytes = request.encode().unwrap();
        assert!(matches!(
            SyncRequest::decode(&bytes),
            Err(WireError::Invalid { field: "doc_id", .. })
        ));
        let huge = vec![0u8; MAX_REQUEST_BYTES + 1];
        assert!(matches!(SyncRequest::decode(&huge), Err(WireError::TooLarge { .. })));
    }

    #[test]
    fn a_huge_length_prefix_does_not_allocate_or_panic() {
        // Header, cursor 0, then a vector length of u32::MAX in varint form and nothing else.
        let mut body = WIRE_MAGIC.to_vec();
        body.extend_from_slice(&WIRE_VERSION.to_be_bytes());
        body.extend_from_slice(&[0, 0xff, 0xff, 0xff, 0xff, 0x0f]);
        assert!(SyncRequest::decode(&body).is_err());
    }
}

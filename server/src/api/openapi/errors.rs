//! The one error format: the envelope `{"error": {"code", "message"}}`, the catalogue of its
//! stable codes with the status each is answered with, and the error answers of an operation.
//!
//! The codes are those of `ServerError::status_and_code` (`crate::http::edge::errors`), of
//! the desk's own answers (`crate::desk::writer`) and of `edge::envelope::code_for`, which
//! names what axum's and tower-http's own rejections become. `server/tests/openapi.rs` checks
//! every status `code_for` knows against this catalogue.

use serde_json::{Value, json};

use super::op::{object, reference};

/// A stable error code of the envelope. Each is answered with one status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Code {
    /// 400: the request cannot be read (syntax, encoding, a parameter).
    MalformedRequest,
    /// 400: a sync body that is not the wire format.
    MalformedSyncBody,
    /// 400: a sync body of another wire version.
    UnsupportedWireVersion,
    /// 401.
    Unauthorized,
    /// 403.
    Forbidden,
    /// 404.
    NotFound,
    /// 404: no desk open for the command's event.
    EventNotOpen,
    /// 405.
    MethodNotAllowed,
    /// 406.
    NotAcceptable,
    /// 408.
    RequestTimeout,
    /// 409.
    Conflict,
    /// 411.
    LengthRequired,
    /// 413.
    BodyTooLarge,
    /// 414.
    UriTooLong,
    /// 415.
    UnsupportedMediaType,
    /// 422: a field of the wrong shape, type or value.
    InvalidField,
    /// 422: a number outside its documented range.
    OutOfRange,
    /// 422: a synced document that does not read as the document it claims to be.
    InvalidDocument,
    /// 422: a synced document past the size it may reach.
    DocumentTooLarge,
    /// 422: a synced document nested past the depth a document may reach.
    DocumentTooDeep,
    /// 422: a desk key reused for another request.
    IdempotencyKeyReused,
    /// 429.
    RateLimited,
    /// 431.
    HeadersTooLarge,
    /// 500.
    Internal,
    /// 503.
    Unavailable,
    /// 503: the desk's queue is full.
    DeskBusy,
    /// 504.
    Timeout,
    /// 409: another place serves the event's desk (a venue holds it).
    EventDelegated,
    /// 409: this venue's lease has ended.
    LeaseEnded,
    /// 409: this venue handed the desk back.
    EventReturned,
    /// 409: this venue runs on its second copy and has not compared with central yet.
    VenueRecovering,
    /// 409: nothing is lent to this venue (or the generation ended).
    NotDelegated,
    /// 409: a batch of another generation.
    StaleGeneration,
    /// 422: a venue segment that does not continue the chain.
    ChainBreak,
    /// 422: a hand-back whose rows do not reconcile.
    Unreconciled,
    /// 409: the device token is bound to another installation.
    DeviceInUse,
}

/// The catalogue: each code, the status it is answered with and what it means.
const CATALOGUE: [(Code, &str, u16, &str); 36] = [
    (
        Code::MalformedRequest,
        "malformed_request",
        400,
        "The request cannot be read: a body that is not JSON, a parameter that cannot be parsed, a header that cannot be read.",
    ),
    (
        Code::MalformedSyncBody,
        "malformed_sync_body",
        400,
        "A sync body that is not the wire format: no `KAMS` magic, truncated, trailing bytes, a structure postcard cannot decode, a limit of the format broken (messages, document id length, an empty message).",
    ),
    (
        Code::UnsupportedWireVersion,
        "unsupported_wire_version",
        400,
        "A sync body of a wire version this server does not speak.",
    ),
    (
        Code::Unauthorized,
        "unauthorized",
        401,
        "No valid credential: missing, malformed, unknown, expired or revoked.",
    ),
    (
        Code::Forbidden,
        "forbidden",
        403,
        "The caller is known but its role or grants do not allow this.",
    ),
    (
        Code::NotFound,
        "not_found",
        404,
        "No such route or resource, or one the caller may not know exists.",
    ),
    (
        Code::EventNotOpen,
        "event_not_open",
        404,
        "No selection desk is open for the command's event.",
    ),
    (
        Code::MethodNotAllowed,
        "method_not_allowed",
        405,
        "The path exists but not with this method; `Allow` lists the methods it has.",
    ),
    (Code::NotAcceptable, "not_acceptable", 406, "No representation the caller accepts."),
    (
        Code::RequestTimeout,
        "request_timeout",
        408,
        "The request took longer than the server's request timeout.",
    ),
    (Code::Conflict, "conflict", 409, "The request conflicts with the current state."),
    (
        Code::LengthRequired,
        "length_required",
        411,
        "A body without a length where one is required.",
    ),
    (
        Code::BodyTooLarge,
        "body_too_large",
        413,
        "The body is larger than the route's limit; nothing past the limit was read.",
    ),
    (Code::UriTooLong, "uri_too_long", 414, "The URI is too long."),
    (
        Code::UnsupportedMediaType,
        "unsupported_media_type",
        415,
        "The body's `Content-Type` is not one the route reads.",
    ),
    (
        Code::InvalidField,
        "invalid_field",
        422,
        "Well-formed, but a field has the wrong shape, type or value; the message names it.",
    ),
    (
        Code::OutOfRange,
        "out_of_range",
        422,
        "A number outside its documented range or with too many decimal places (ADR 0017); the message names the field and the range.",
    ),
    (
        Code::InvalidDocument,
        "invalid_document",
        422,
        "A synced document whose merged contents do not read as the document it was sent under (kind, schema, id) or that the authority cannot read.",
    ),
    (
        Code::DocumentTooLarge,
        "document_too_large",
        422,
        "A synced document already larger than the server lets a document grow; it takes no more edits.",
    ),
    (
        Code::DocumentTooDeep,
        "document_too_deep",
        422,
        "A synced document whose changes nest values deeper than a document may (kam-core's `MAX_WRITE_DEPTH`, 8 objects below the root).",
    ),
    (
        Code::IdempotencyKeyReused,
        "idempotency_key_reused",
        422,
        "This device already used the idempotency key for a different request.",
    ),
    (
        Code::RateLimited,
        "rate_limited",
        429,
        "Too many requests, or the caller's share of event streams is open; `Retry-After` says when to retry.",
    ),
    (Code::HeadersTooLarge, "headers_too_large", 431, "The request's headers are too large."),
    (
        Code::Internal,
        "internal",
        500,
        "A fault on the server; logged there, no detail in the answer. Nothing was changed.",
    ),
    (
        Code::Unavailable,
        "unavailable",
        503,
        "The server is at a capacity limit or shutting down; `Retry-After` says when to retry.",
    ),
    (
        Code::DeskBusy,
        "desk_busy",
        503,
        "The desk's queue is full; retry with the same idempotency key after `Retry-After`.",
    ),
    (Code::Timeout, "timeout", 504, "An upstream step timed out."),
    (
        Code::EventDelegated,
        "event_delegated",
        409,
        "The event's desk is lent to a venue server (ADR 0021); the message names it. Nothing was decided and nothing is stored under the key: send the command where the event is served.",
    ),
    (
        Code::LeaseEnded,
        "lease_ended",
        409,
        "On a venue server: its lease on the event has ended by its clock; it serves no more commands. Nothing is stored under the key.",
    ),
    (
        Code::EventReturned,
        "event_returned",
        409,
        "On a venue server: it handed the event's desk back to headquarters. Nothing is stored under the key.",
    ),
    (
        Code::VenueRecovering,
        "venue_recovering",
        409,
        "On a venue server restarted from its second copy: it compares its ledger with headquarters' (taking back what it had shipped) before it serves again. Nothing is stored under the key; retry shortly.",
    ),
    (
        Code::NotDelegated,
        "not_delegated",
        409,
        "Nothing is lent to this venue for the event, or the generation it names has ended.",
    ),
    (
        Code::StaleGeneration,
        "stale_generation",
        409,
        "The batch names another generation than the one the venue holds (a fence).",
    ),
    (
        Code::ChainBreak,
        "chain_break",
        422,
        "A venue batch that does not continue the chain central holds: a sequence that does not follow, a link or a hash that does not match, or an entry that differs from the one stored.",
    ),
    (
        Code::Unreconciled,
        "unreconciled",
        422,
        "A hand-back whose rows do not reconcile (receipts, vouchers and unit status disagree); nothing was applied.",
    ),
    (
        Code::DeviceInUse,
        "device_in_use",
        409,
        "The request names its installation (`Kam-Installation`) and the device token is bound to another one (ADR 0022): a second replica or a second app install on one enrolled device. Nothing was read or changed. Enrol this installation as a new device; an administrator can release the binding of a device reinstalled without its data (`kam-server admin release-installation`).",
    ),
];

impl Code {
    /// The code, its HTTP status and what it means.
    pub(super) fn entry(self) -> (&'static str, u16, &'static str) {
        CATALOGUE
            .iter()
            .find(|(code, ..)| *code == self)
            .map_or(("internal", 500, ""), |(_, name, status, meaning)| (name, *status, meaning))
    }

    /// The stable code.
    pub(super) fn name(self) -> &'static str {
        self.entry().0
    }

    /// The HTTP status it is answered with.
    pub(super) fn status(self) -> u16 {
        self.entry().1
    }
}

/// Codes with no single status: `client_error` is any other 4xx status the server has no
/// name for.
const OTHER_CODES: [(&str, &str); 1] =
    [("client_error", "Any other 4xx status the server has no more specific code for.")];

/// The catalogue as a Markdown table, for the `ErrorCode` schema's description.
fn catalogue() -> String {
    let mut out = String::from("| code | status | meaning |\n|---|---|---|\n");
    for (_, name, status, meaning) in CATALOGUE {
        out.push_str(&format!("| `{name}` | {status} | {meaning} |\n"));
    }
    for (name, meaning) in OTHER_CODES {
        out.push_str(&format!("| `{name}` | 4xx | {meaning} |\n"));
    }
    out
}

/// The `Error` and `ErrorCode` schemas.
pub(super) fn schemas() -> Vec<(&'static str, Value)> {
    let mut codes: Vec<&str> = CATALOGUE.iter().map(|(_, name, ..)| *name).collect();
    codes.extend(OTHER_CODES.iter().map(|(name, _)| *name));
    let error = object(
        &["error"],
        json!({ "error": object(&["code", "message"], json!({
            "code": reference("ErrorCode"),
            "message": { "type": "string", "description": "What went wrong, for people (English, or Chinese first then English). Never internal detail." },
        })) }),
    );
    let mut error = error;
    error["description"] = Value::from(
        "The one error format: every error the API answers (any status ≥ 400 except the \
         documented answers of `/healthz`, the desk's refused commands and the ledger check) \
         is this envelope. `Retry-After` (seconds) comes with 429 and 503.",
    );
    let statuses: serde_json::Map<String, Value> = CATALOGUE
        .iter()
        .map(|(_, name, status, _)| ((*name).to_owned(), Value::from(*status)))
        .collect();
    let code = json!({
        "type": "string",
        "enum": codes,
        "x-kam-status": statuses,
        "description": format!("The stable machine code. Each code is answered with one status:\n\n{}", catalogue()),
    });
    vec![("Error", error), ("ErrorCode", code)]
}

/// The `Retry-After` header of 429 and 503.
pub(super) fn retry_after() -> Value {
    json!({
        "description": "Seconds to wait before retrying (at least 1).",
        "required": true,
        "schema": { "type": "integer", "minimum": 1 }
    })
}

/// The shared `Error` response: what any error status not listed answers.
pub(super) fn default_response() -> Value {
    json!({
        "description": "Any other error, in the same envelope (e.g. 500 `internal`, 408 `request_timeout`).",
        "content": { "application/json": { "schema": reference("Error") } }
    })
}

/// The error answers of an operation that answers `codes` (each with why it does), grouped by
/// status: the envelope schema narrowed to the codes listed for that status.
pub(super) fn responses(codes: &[(Code, String)]) -> Vec<(u16, Value)> {
    let mut statuses: Vec<u16> = codes.iter().map(|(c, _)| c.status()).collect();
    statuses.sort_unstable();
    statuses.dedup();
    statuses
        .into_iter()
        .map(|status| {
            let here: Vec<&(Code, String)> =
                codes.iter().filter(|(c, _)| c.status() == status).collect();
            let names: Vec<&str> = here.iter().map(|(c, _)| c.name()).collect();
            let description = here
                .iter()
                .map(|(c, why)| format!("`{}`: {why}", c.name()))
                .collect::<Vec<_>>()
                .join(" ");
            let schema = json!({ "allOf": [
                reference("Error"),
                { "type": "object", "properties": { "error": { "type": "object", "properties": {
                    "code": { "type": "string", "enum": names } } } } }
            ] });
            let mut answer = json!({
                "description": description,
                "content": { "application/json": { "schema": schema } }
            });
            if status == 429 || status == 503 {
                answer["headers"] =
                    json!({ "Retry-After": { "$ref": "#/components/headers/Retry-After" } });
            }
            (status, answer)
        })
        .collect()
}

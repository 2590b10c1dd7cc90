//! What devices call (`crate::http::routes`): the sync round in the binary wire format
//! (`kam_core::wire`), the change stream, one document, open conflicts; and the public
//! routes: the policy, the summary, liveness, metrics and this document.

use kam_core::doc::{DocKind, MAX_CHANGES_PER_MESSAGE};
use kam_core::wire::{
    MAX_DOC_ID_LEN, MAX_MESSAGES_PER_REQUEST, MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES,
    WIRE_CONTENT_TYPE, WIRE_VERSION,
};
use serde_json::{Value, json};

use super::errors::Code;
use super::op::{
    Caller, Op, Paths, array, array_of, integer, object, path_param, reference, string, text,
};
use crate::http::edge::limits::Limits;

/// A field of a postcard-encoded structure: its JSON Schema type for reading, and how postcard
/// writes it.
fn field(kind: Value, postcard: &str, description: &str) -> Value {
    let mut schema = kind;
    schema["description"] = Value::from(description);
    schema["x-postcard"] = Value::from(postcard);
    schema
}

/// A postcard structure: fields in `order`, which is the order they are written in.
fn structure(order: &[&str], properties: Value, description: &str) -> Value {
    let mut schema = object(order, properties);
    schema["description"] = Value::from(format!(
        "{description} Postcard-encoded: the fields in this order, without names: {}.",
        order.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>().join(", ")
    ));
    schema["x-postcard-order"] = json!(order);
    schema
}

fn doc_id() -> Value {
    let kinds: Vec<&str> = DocKind::ALL.iter().map(|k| k.as_str()).collect();
    field(
        json!({ "type": "string", "maxLength": MAX_DOC_ID_LEN }),
        "string",
        &format!(
            "A document id `kind/entity`: kind one of {}, entity not empty and without `/`; at most {MAX_DOC_ID_LEN} bytes (`MAX_DOC_ID_LEN`).",
            kinds.join(", ")
        ),
    )
}

fn bytes(description: &str) -> Value {
    field(
        json!({ "type": "string", "contentMediaType": "application/octet-stream" }),
        "bytes (varint length, then the bytes)",
        description,
    )
}

/// The wire format's structures.
fn wire_schemas() -> Vec<(&'static str, Value)> {
    let u64_ = |d: &str| field(json!({ "type": "integer", "minimum": 0 }), "u64 varint", d);
    vec![
        (
            "SyncRequest",
            structure(
                &["cursor", "messages", "manifest", "max_response_bytes"],
                json!({
                    "cursor": u64_("The last position in the server's change sequence this device has absorbed; 0 for a device that has applied no answer (the server then starts it from nothing). A cursor ahead of the server's is 422 `invalid_field`."),
                    "messages": field(json!({ "type": "array", "maxItems": MAX_MESSAGES_PER_REQUEST, "items": reference("DocMessage") }), "seq (varint count, then each)",
                        &format!("Sync messages for documents the device changed or is still converging on; at most {MAX_MESSAGES_PER_REQUEST} (`MAX_MESSAGES_PER_REQUEST`), one per document.")),
                    "manifest": field(json!({ "type": ["array", "null"], "items": reference("ManifestEntry") }), "option (byte 0 = none, 1 then the seq)",
                        "Every document the device holds, sent only to recover (e.g. after a restore); the server answers with whatever the device lacks or should not hold."),
                    "max_response_bytes": field(json!({ "type": "integer", "minimum": 0, "maximum": u32::MAX }), "u32 varint",
                        "How many bytes of snapshots and messages the device wants at most in the answer."),
                }),
                "What a device sends in one round.",
            ),
        ),
        (
            "SyncResponse",
            structure(
                &["cursor", "messages", "snapshots", "removed", "more", "remaining_docs"],
                json!({
                    "cursor": u64_("The cursor to send next time; store it only together with what this answer carried."),
                    "messages": field(json!({ "type": "array", "items": reference("DocMessage") }), "seq", "Answers to the device's messages and news of documents changed since its cursor."),
                    "snapshots": field(json!({ "type": "array", "items": reference("DocSnapshot") }), "seq", "Documents newly in the device's scope, whole."),
                    "removed": field(json!({ "type": "array", "items": string() }), "seq of strings", "Documents that left the device's scope (or that it may not write); the device purges them."),
                    "more": field(json!({ "type": "boolean" }), "bool (one byte, 0 or 1)", "Whether more is waiting beyond this answer's size budget: ask again at once."),
                    "remaining_docs": u64_("Documents still waiting after this answer, for progress."),
                }),
                "What the server answers in one round.",
            ),
        ),
        (
            "DocMessage",
            structure(
                &["doc_id", "message"],
                json!({
                    "doc_id": doc_id(),
                    "message": bytes(&format!("An encoded Automerge sync message (`automerge::sync::Message`), not empty; at most {MAX_CHANGES_PER_MESSAGE} changes (`MAX_CHANGES_PER_MESSAGE`), else 422 `invalid_field`.")),
                }),
                "An Automerge sync message about one document.",
            ),
        ),
        (
            "DocSnapshot",
            structure(
                &["doc_id", "bytes"],
                json!({
                    "doc_id": doc_id(),
                    "bytes": bytes("The document as Automerge `save()` bytes."),
                }),
                "A whole document the receiver does not hold yet.",
            ),
        ),
        (
            "ManifestEntry",
            structure(
                &["doc_id", "heads"],
                json!({
                    "doc_id": doc_id(),
                    "heads": field(json!({ "type": "array", "items": { "type": "string", "description": "32-byte change hash" } }), "seq of [u8; 32] (each 32 bytes, no length)", "The heads the device holds."),
                }),
                "A document id with its heads.",
            ),
        ),
    ]
}

/// The answers of the reads.
fn read_schemas() -> Vec<(&'static str, Value)> {
    vec![
        (
            "ChangedEvent",
            object(
                &["cursor", "docs"],
                json!({
                    "cursor": integer("The change-sequence position of the change."),
                    "docs": { "type": "array", "items": string(), "description": "The documents that changed, as `kind/entity`." },
                }),
            ),
        ),
        (
            "Conflict",
            object(
                &["doc_id", "path", "values", "first_seen_at"],
                json!({
                    "doc_id": string(), "path": string(),
                    "values": { "type": "array", "items": string(), "description": "Every concurrent value; the first is the one readers see." },
                    "first_seen_at": string(),
                    "doc_name": text("Headquarters' list only: the document's name where the projections know it (a customer's, a ticket's title, an event's), else empty."),
                }),
            ),
        ),
        (
            "Summary",
            object(
                &["policy_version", "documents", "customers_by_tier", "projection_pending"],
                json!({
                    "policy_version": string(),
                    "documents": array(object(&["kind", "count"], json!({ "kind": string(), "count": { "type": "integer" } }))),
                    "customers_by_tier": array(object(&["tier", "count"], json!({ "tier": string(), "count": { "type": "integer" } }))),
                    "projection_pending": integer("Documents changed since the projector last rewrote their rows: the counts lag by this many."),
                }),
            ),
        ),
        ("Policy", policy()),
        (
            "Health",
            object(
                &["status", "tasks"],
                json!({
                    "status": { "type": "string", "enum": ["ok", "unhealthy"] },
                    "tasks": array(object(&["task", "ok", "failures"], json!({
                        "task": { "type": "string", "enum": crate::health::TASKS },
                        "ok": { "type": "boolean", "description": "Whether it is moving: no piece of work has run longer than 30 s, and a task that ticks while idle has ticked within 30 s." },
                        "busy_ms": { "type": ["integer", "null"], "description": "How long its current piece of work has run, if it is working." },
                        "since_last_beat_ms": { "type": ["integer", "null"], "description": "How long since it last ticked or finished work." },
                        "failures": integer("Pieces of work that failed since the start."),
                    }))),
                }),
            ),
        ),
    ]
}

/// The schemas of what devices call and of the public routes.
pub(super) fn schemas() -> Vec<(&'static str, Value)> {
    let mut all = wire_schemas();
    all.extend(read_schemas());
    all
}

fn policy() -> Value {
    let mut schema = object(
        &[
            "version",
            "business_utc_offset_minutes",
            "tiers",
            "purchase_classes",
            "scoring",
            "grades",
            "credit",
            "late_payments",
            "visits",
            "tickets",
            "selection",
        ],
        json!({
            "version": text("Name of this policy version, recorded with every decision made under it."),
            "business_utc_offset_minutes": integer("The business time zone as minutes east of UTC."),
            "tiers": { "type": "object" }, "purchase_classes": { "type": "object" }, "scoring": { "type": "object" },
            "grades": { "type": "object" }, "credit": { "type": "object" }, "late_payments": { "type": "object" },
            "visits": { "type": "object" }, "tickets": { "type": "object" }, "selection": { "type": "object" },
        }),
    );
    schema["description"] = Value::from(
        "Every threshold of the written policies in force (`kam_core::Policy`, the TOML file's tables); money as decimal strings.",
    );
    schema
}

/// The sync round's description.
fn sync_description() -> String {
    format!(
        "One sync round (ADR 0004). The bearer token is checked before a byte of the body is read: a request without a valid one is answered 401 at once. The round commits in one transaction before the answer leaves; a round that fails changes nothing, and a lost answer is retried from the old cursor.\n\n\
         Both bodies are the binary wire format `{WIRE_CONTENT_TYPE}` (`kam_core::wire`):\n\n\
         | bytes | what |\n|---|---|\n| 0–3 | the magic `KAMS` |\n| 4–5 | the format version, u16 big-endian: `{WIRE_VERSION}` |\n| 6– | the postcard encoding of `SyncRequest` (request) or `SyncResponse` (answer); nothing may follow it |\n\n\
         Postcard writes a structure's fields in order without names: unsigned integers as LEB128 varints, `bool` as one byte, an option as a byte 0 or 1 then the value, a sequence, string or byte string as a varint length then its items, a `[u8; 32]` as 32 bytes. The schemas `SyncRequest`, `SyncResponse`, `DocMessage`, `DocSnapshot` and `ManifestEntry` list the fields in that order (`x-postcard-order`).\n\n\
         Limits: a request body of at most {MAX_REQUEST_BYTES} bytes (`MAX_REQUEST_BYTES`; 413 past it, and the server stops reading 1 KiB after it); at most {MAX_MESSAGES_PER_REQUEST} messages (`MAX_MESSAGES_PER_REQUEST`), document ids of at most {MAX_DOC_ID_LEN} bytes (`MAX_DOC_ID_LEN`) and no empty message (400 `malformed_sync_body`); at most {MAX_CHANGES_PER_MESSAGE} changes in one Automerge message (`MAX_CHANGES_PER_MESSAGE`, 422 `invalid_field`). A client refuses answers over {MAX_RESPONSE_BYTES} bytes (`MAX_RESPONSE_BYTES`); the server keeps to the request's `max_response_bytes` and sets `more` when it left something out.\n\n\
         What a device may not write is not refused but compensated (ADR 0005): the answer carries the server's restoring change, or lists the document in `removed`."
    )
}

fn sync_op() -> Op {
    Op::post("同步一轮 / One sync round")
        .tag("sync")
        .caller(Caller::Device)
        .describe(&sync_description())
        .body(WIRE_CONTENT_TYPE, reference("SyncRequest"), "The 6-byte header, then `SyncRequest` in postcard.")
        .answers(200, "The round's answer: the 6-byte header, then `SyncResponse` in postcard.", WIRE_CONTENT_TYPE, reference("SyncResponse"))
        .fails(Code::MalformedSyncBody, "The body is not the wire format: no `KAMS` magic, a truncated header or structure, trailing bytes, more messages than allowed, a malformed or too long document id, an empty message; or the body could not be read.")
        .fails(Code::UnsupportedWireVersion, "The header names a version this server does not speak.")
        .fails(Code::InvalidField, "`cursor` ahead of the server's sequence (or beyond i64); the same document twice in `messages`; an Automerge message that cannot be decoded or carries too many changes.")
        .fails(Code::InvalidDocument, "What the device sent does not read as the document it claims to be (kind, schema, id in its header), or the authority cannot read what it guards.")
        .fails(Code::DocumentTooLarge, "The document already holds more than 64 MiB; it takes no more edits.")
        .fails(Code::DocumentTooDeep, "The changes nest values more than 8 objects below the root.")
        .fails(Code::Internal, "A fault on the server; nothing of the round was stored.")
}

fn changes_op() -> Op {
    Op::get("变更推送 / Change notices (server-sent events)")
        .tag("sync")
        .caller(Caller::Device)
        .describe(&format!(
            "A server-sent-event stream of which documents in the device's scope changed; ids only, never contents: the device then syncs. Events:\n\n\
             - `changed`, data `ChangedEvent` `{{\"cursor\": …, \"docs\": [\"kind/entity\"]}}`: a document the device may see changed;\n\
             - `lagged`, data `{{}}`: notices were missed; sync, which brings everything since the cursor anyway;\n\
             - `revoked`, data `{{}}`: sent just before the stream ends because the token no longer works.\n\n\
             A comment keeps the connection alive every 15 s. A token has at most {} streams open (`--streams-per-caller`; one more is 429 with `Retry-After: 5`), and the server at most {} in all (`--max-streams`; past them 503).",
            Limits::default().streams_per_caller, Limits::default().max_streams
        ))
        .answers(200, "The stream; it stays open until the client leaves or the token stops working.", "text/event-stream",
            json!({ "type": "string", "description": "`event: changed|lagged|revoked` and `data: <JSON>` lines, events separated by a blank line." }))
        .fails(Code::RateLimited, "The token already has its share of streams open.")
        .fails(Code::Unavailable, "Every stream place of the server is taken.")
}

fn document_op() -> Op {
    let kinds: Vec<&str> = DocKind::ALL.iter().map(|k| k.as_str()).collect();
    let mut kind = path_param("kind", "The document kind.");
    kind["schema"] = json!({ "type": "string", "enum": kinds });
    Op::get("单个文档 / One document")
        .tag("sync")
        .caller(Caller::Device)
        .describe("One document as Automerge saved bytes (`save()`; load it with Automerge), if the caller may see it. Anything else, an unknown kind included, is 404, so a rep cannot even learn whether another rep's customer exists.")
        .param(kind)
        .param(path_param("id", &format!("The entity id (1 to {MAX_DOC_ID_LEN} bytes).")))
        .answers(200, "The saved document.", "application/octet-stream", json!({ "type": "string", "contentMediaType": "application/octet-stream" }))
        .fails(Code::NotFound, "An unknown kind, an empty or too long id, no such document, or one outside the caller's scope.")
        .fails(Code::Internal, "A fault on the server.")
}

/// What devices call, and the public routes.
pub(super) fn paths() -> Paths {
    Paths::default()
        .add("/api/v1/sync", sync_op())
        .add("/api/v1/changes", changes_op())
        .add("/api/v1/documents/{kind}/{id}", document_op())
        .add("/api/v1/conflicts", Op::get("待解决冲突 / Open conflicts")
            .tag("sync").caller(Caller::Device)
            .describe("Open conflicts, oldest first (finance, HQ, admin). The same list as `/api/v1/hq/conflicts`, for a device token only.")
            .json(200, "Open conflicts.", array_of("Conflict"))
            .fails(Code::Forbidden, "The caller is not finance, HQ or admin.")
            .fails(Code::Internal, "A fault on the server."))
        .add("/api/v1/policy", Op::get("现行政策 / The policy in force")
            .tag("public").caller(Caller::Public)
            .describe("The thresholds in force, so clients and people can see which apply. No credential needed.")
            .json(200, "The policy.", reference("Policy"))
            .fails(Code::Internal, "A fault on the server."))
        .add("/api/v1/summary", Op::get("概况计数 / Counts")
            .tag("public").caller(Caller::Public)
            .describe("Counts only (documents per kind, customers per tier, documents waiting for projection): no personal data without a credential.")
            .json(200, "The counts.", reference("Summary"))
            .fails(Code::Unavailable, "The server is shutting down; retry later.")
            .fails(Code::Internal, "A fault on the server."))
        .add("/api/v1/openapi.json", Op::get("接口文档 / This document")
            .tag("public").caller(Caller::Public)
            .json(200, "The OpenAPI 3.1 document.", json!({ "type": "object" })))
        .add("/healthz", Op::get("存活检查 / Liveness")
            .tag("public").caller(Caller::Public)
            .describe("200 when every background task is moving, 503 naming the stuck ones otherwise; the same body either way (not the error envelope).")
            .json(200, "Every task is moving.", reference("Health"))
            .json(503, "A task is stuck (`ok: false`).", reference("Health")))
        .add("/metrics", Op::get("监控指标 / Prometheus metrics")
            .tag("public").caller(Caller::Public)
            .describe("Prometheus text exposition (`text/plain; version=0.0.4`): sync rounds, failures, bytes and latency, violations, desk commands and groups, open streams, devices seen in 24 h, documents waiting for projection or quarantined.")
            .answers(200, "The metrics.", "text/plain", json!({ "type": "string" }))
            .fails(Code::Unavailable, "The server is shutting down; retry later.")
            .fails(Code::Internal, "A fault on the server."))
}

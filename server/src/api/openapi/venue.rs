//! Venue edge authority (ADR 0021): the routes between central and a venue server
//! (`crate::desk::delegation::http`).

use serde_json::{Value, json};

use super::errors::Code;
use super::op::{Caller, Op, Paths, array, integer, nullable, object, string, text};

/// The venue's schemas: the offer, a batch, the acknowledgement, the lease and the lag.
pub(super) fn schemas() -> Vec<(&'static str, Value)> {
    let link = object(
        &["seq", "hash"],
        json!({ "seq": { "type": "integer" }, "hash": text("SHA-256, hex.") }),
    );
    let rows = object(
        &["table", "columns", "rows"],
        json!({
            "table": string(), "columns": array(string()),
            "rows": array(array(json!({ "description": "A stored cell: null, integer, text, or `{\"blob\": hex}`." }))),
        }),
    );
    let image = object(
        &["event_id", "full", "tables"],
        json!({
            "event_id": string(), "full": { "type": "boolean" }, "tables": array(rows.clone()),
        }),
    );
    let entry = object(
        &["seq", "at", "event_id", "actor", "kind", "entry", "prev_hash", "hash"],
        json!({
            "seq": { "type": "integer" }, "at": string(), "event_id": string(), "actor": string(),
            "idempotency_key": nullable("string"), "kind": string(), "entry": text("The entry, JSON text."),
            "prev_hash": text("Hex."), "hash": text("Hex: SHA-256 over the previous hash, seq, at, event, kind and entry."),
        }),
    );
    vec![
        (
            "VenueOffer",
            object(
                &[
                    "event_id",
                    "generation",
                    "venue_name",
                    "lease_until",
                    "anchor",
                    "bundle_key",
                    "image",
                    "people",
                ],
                json!({
                    "event_id": string(), "generation": integer("The fencing generation the venue holds (odd)."),
                    "venue_name": string(), "lease_until": text("RFC 3339."), "anchor": link.clone(),
                    "bundle_key": text("The key the venue signs its export bundle with, hex."),
                    "image": image.clone(), "people": array(rows),
                }),
            ),
        ),
        (
            "VenueShipment",
            object(
                &["event_id", "generation", "entries", "venue_tip", "final"],
                json!({
                    "event_id": string(), "generation": { "type": "integer" }, "entries": array(entry),
                    "image": { "oneOf": [image, { "type": "null" }] }, "venue_tip": link.clone(),
                    "oldest_unshipped_at": nullable("string"), "final": { "type": "boolean" },
                }),
            ),
        ),
        (
            "VenueAck",
            object(
                &["shipped", "returned"],
                json!({ "shipped": link, "returned": { "type": "boolean" } }),
            ),
        ),
        (
            "VenueLease",
            object(
                &["event_id", "generation", "lease_until", "state", "unshipped"],
                json!({
                    "event_id": string(), "generation": { "type": "integer" }, "lease_until": string(),
                    "state": { "type": "string", "enum": ["active", "returning", "returned", "taken_back"] },
                    "unshipped": integer("Entries central has not acknowledged."),
                    "oldest_unshipped_at": nullable("string"), "last_heard_at": nullable("string"),
                }),
            ),
        ),
        (
            "VenueLag",
            object(
                &[
                    "event_id",
                    "generation",
                    "venue_name",
                    "state",
                    "lease_until",
                    "shipped_seq",
                    "unshipped",
                ],
                json!({
                    "event_id": string(), "generation": { "type": "integer" }, "venue_name": string(),
                    "state": { "type": "string", "enum": ["active", "returned", "taken_back"] }, "lease_until": string(),
                    "shipped_seq": integer("The last venue entry central holds."),
                    "unshipped": integer("Entries the venue had not shipped when it last reported."),
                    "oldest_unshipped_at": nullable("string"), "last_heard_at": nullable("string"),
                    "last_heard_s": { "type": ["integer", "null"] },
                }),
            ),
        ),
    ]
}

fn schema(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// The venue routes.
pub(super) fn paths() -> Paths {
    Paths::default()
        .add("/api/v1/venue/offer", Op::get("现场服务器领取选房台 / The desk lent to this venue")
            .tag("desk").caller(Caller::Device)
            .describe("For a venue server's device (role `venue`): the event desk central lent it, with every row of the event, its people (password and token hashes) and the anchor its chain continues from. Null when nothing is lent to the caller (only a venue's device is ever lent a desk).")
            .json(200, "The offer, or null.", object(&["offer"], json!({ "offer": { "oneOf": [schema("VenueOffer"), { "type": "null" }] } })))
            .fails(Code::Internal, "A fault on the server."))
        .add("/api/v1/venue/segment", Op::post("现场服务器上传台账 / A batch of a venue's ledger segment")
            .tag("desk").caller(Caller::Device)
            .describe("The venue ships its ledger after what central acknowledged, with the rows the entries name; central verifies the chain and the generation, stores the entries, applies the rows and answers what it holds. A batch central holds already gets the same answer. `final` hands the desk back with every row of the event.")
            .body("application/json", schema("VenueShipment"), "The batch.")
            .json(200, "What central holds now.", schema("VenueAck"))
            .fails(Code::Forbidden, "The caller is not a venue server.")
            .fails(Code::NotFound, "The server runs without a selection desk.")
            .fails(Code::NotDelegated, "Nothing is lent to this device for the event.")
            .fails(Code::StaleGeneration, "The batch names another generation.")
            .fails(Code::ChainBreak, "The batch does not continue the chain.")
            .fails(Code::Unreconciled, "A final batch whose rows do not reconcile.")
            .fails(Code::InvalidField, "JSON of the wrong shape.")
            .fails(Code::Unavailable, "The desk did not take the batch; retry.")
            .fails(Code::Internal, "A fault on the server; retry."))
        .add("/api/v1/venue/recover", Op::post("现场副本恢复 / What central holds of a venue's segment")
            .tag("desk").caller(Caller::Device)
            .describe("For the venue the event is lent to, restarted from its second copy: central's entries of its segment after `after` (at most 2,000) and central's rows for what they name, and the last entry central holds. The venue appends them and compares before it serves again.")
            .body("application/json", object(&["after"], json!({ "after": integer("The sequence number the venue holds up to.") })), "How far the venue's copy reaches.")
            .json(200, "What central holds beyond `after`.", schema("VenueRecovery"))
            .fails(Code::Forbidden, "The caller is not a venue server.")
            .fails(Code::NotDelegated, "Nothing is lent to this device.")
            .fails(Code::InvalidField, "JSON of the wrong shape.")
            .fails(Code::MalformedRequest, "The body is not JSON.")
            .fails(Code::UnsupportedMediaType, "The body is not sent as JSON.")
            .fails(Code::Internal, "A fault on the server."))
        .add("/api/v1/venue/status", Op::get("现场授权状态 / The lease this venue server holds")
            .tag("desk").caller(Caller::Device)
            .describe("On a venue server: the lease it holds and what it has not shipped yet. Any device but a rep's.")
            .json(200, "The lease, or null when this server holds none.", object(&["lease"], json!({ "lease": { "oneOf": [schema("VenueLease"), { "type": "null" }] } })))
            .fails(Code::Forbidden, "A rep's device.")
            .fails(Code::Internal, "A fault on the server."))
        .add("/api/v1/venue/delegations", Op::get("现场服务器与延迟 / Delegations and each venue's lag")
            .tag("desk").caller(Caller::Device)
            .describe("On central: every event desk lent to a venue, its state and how far behind central is (finance, HQ, admin).")
            .json(200, "The delegations, oldest first.", array(schema("VenueLag")))
            .fails(Code::Forbidden, "The caller is not finance, HQ or admin.")
            .fails(Code::Internal, "A fault on the server."))
}

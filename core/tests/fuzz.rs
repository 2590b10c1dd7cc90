//! Decoder robustness: the sync wire format, Automerge sync messages, desk command JSON and the
//! policy file, fed arbitrary and mutated input. The property is the same for each: no panic,
//! only an error. (cargo-fuzz needs a nightly toolchain, which this build machine cannot
//! fetch; proptest drives the inputs instead and shrinks any failure to a minimal case.)

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic on a broken expectation.

use automerge::ActorId;
use kam_core::Policy;
use kam_core::desk::CommandRequest;
use kam_core::doc::{Document, EditMeta, SyncState, create_customer, customer_doc_id};
use kam_core::wire::{DocMessage, SyncRequest, SyncResponse};
use proptest::prelude::*;

/// A valid request carrying a real Automerge sync message, to mutate; built once.
fn valid_request() -> (Vec<u8>, Vec<u8>) {
    static VALID: std::sync::LazyLock<(Vec<u8>, Vec<u8>)> =
        std::sync::LazyLock::new(build_valid_request);
    VALID.clone()
}

fn build_valid_request() -> (Vec<u8>, Vec<u8>) {
    let data = kam_core::demo::generate(
        &kam_core::demo::DemoSpec {
            customers: 1,
            tickets: 0,
            units: 1,
            buyers: 1,
            ..kam_core::demo::DemoSpec::standard(1)
        },
        chrono::Utc::now(),
        &Policy::default(),
    );
    let c = &data.customers[0];
    let meta = EditMeta::new(&kam_core::model::UserId::from("rep-01"), chrono::Utc::now(), "test");
    let mut doc = create_customer(c, ActorId::random(), &meta).unwrap();
    let mut state = SyncState::new();
    let message = doc.generate_sync_message(&mut state).unwrap();
    let request = SyncRequest {
        cursor: 7,
        messages: vec![DocMessage {
            doc_id: customer_doc_id(&c.id).to_string(),
            message: message.clone(),
        }],
        manifest: None,
        max_response_bytes: 1 << 20,
    };
    (request.encode().unwrap(), message)
}

/// `bytes` with `flips` positions overwritten (indices wrap around its length).
fn mutate(mut bytes: Vec<u8>, flips: &[(usize, u8)]) -> Vec<u8> {
    if bytes.is_empty() {
        return bytes;
    }
    let len = bytes.len();
    for (at, value) in flips {
        bytes[at % len] = *value;
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_the_wire_decoders(bytes in proptest::collection::vec(any::<u8>(), 0..2_048)) {
        let _ = SyncRequest::decode(&bytes);
        let _ = SyncResponse::decode(&bytes);
    }

    #[test]
    fn mutated_requests_decode_or_fail_cleanly(
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        cut in any::<usize>(),
    ) {
        let (valid, _) = valid_request();
        let mutated = mutate(valid.clone(), &flips);
        let _ = SyncRequest::decode(&mutated);
        let _ = SyncRequest::decode(&valid[..cut % (valid.len() + 1)]);
    }

    #[test]
    fn garbage_and_mutated_sync_messages_never_panic_a_document(
        bytes in proptest::collection::vec(any::<u8>(), 0..1_024),
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
    ) {
        let (_, message) = valid_request();
        let mut doc = Document::empty(customer_doc_id(&kam_core::model::CustomerId::from("c1")), ActorId::random());
        let mut state = SyncState::new();
        let _ = doc.receive_sync_message(&mut state, &bytes);
        let mut doc = Document::empty(customer_doc_id(&kam_core::model::CustomerId::from("c1")), ActorId::random());
        let _ = doc.receive_sync_message(&mut SyncState::new(), &mutate(message, &flips));
    }

    #[test]
    fn arbitrary_text_never_panics_the_command_and_policy_parsers(text in ".{0,512}") {
        let _ = serde_json::from_str::<CommandRequest>(&text);
        let _ = Policy::from_toml_str(&text);
    }

    #[test]
    fn command_shaped_json_with_wrong_types_is_refused_not_panicked(
        key in proptest::option::of(".{0,200}"),
        kind in prop_oneof![
            Just("hold".to_owned()), Just("release".to_owned()), Just("prepare_work_ticket".to_owned()),
            Just("record_receipt".to_owned()), Just("swap_unit".to_owned()), ".{0,20}"
        ],
        field in prop_oneof![Just(serde_json::json!(null)), Just(serde_json::json!(-1)), Just(serde_json::json!("1e400")), Just(serde_json::json!([1, 2])), Just(serde_json::json!({"a": {}})), Just(serde_json::json!("NaN"))],
    ) {
        let body = serde_json::json!({
            "idempotency_key": key, "event_id": "e",
            "command": { "kind": kind, "unit_id": field, "buyer_id": field, "amount": field,
                         "payment_ratio_pct": field, "discounts": field, "sealing_fee": field,
                         "voucher_no": field, "new_unit_id": field, "reason": field, "method": field,
                         "ticket_id": field },
        });
        let _ = serde_json::from_value::<CommandRequest>(body);
    }
}

//! The selection desk (ADR 0006): commands under an idempotency key, the control table, the
//! reconciliation and the ledger check (`crate::desk::http`).
//!
//! Money and numbers carry their documented ranges from `kam_core::bounds` (ADR 0017), so the
//! document states the same range the server checks.

use kam_core::bounds::{
    self, Bound, DISCOUNT_PCT, LOTTERY_NO, PAYMENT_RATIO_PCT, RECEIPT_AMOUNT, SEALING_FEE,
    UNIT_PRICE, VOUCHER_NO,
};
use kam_core::desk::command::{MAX_KEY_LEN, STALE_STATE};
use serde_json::{Value, json};

use super::errors::Code;
use super::op::{
    Caller, Op, Paths, array, array_of, closed_object, instant, integer, nullable, object,
    path_param, reference, string, text,
};
use crate::http::edge::limits::Limits;

/// Every refusal code a desk command can be answered with (409, `outcome: rejected`), and
/// what it means. The codes come from the desk (`crate::desk::{holds, queue, sales}`) and the
/// selection rules it applies (`kam_core::rules::selection`).
const REFUSALS: &[(&str, &str)] = &[
    (
        STALE_STATE,
        "The state the command names has moved on: `release.hold_id` or `prepare_work_ticket.hold_id` is no longer the unit's hold, `call_next.now_serving` or `skip.lottery_no` is no longer the number being served, `approve_price.price_seen` is no longer the approved price. Nothing was applied; read the control table and decide again.",
    ),
    ("not_on_list", "The buyer is not on the approved list (`hold`, `check_identity`)."),
    (
        "not_their_turn",
        "Strict order, and the buyer's lottery number is not the one being served (`hold`).",
    ),
    ("unit_not_allotted", "The unit is not allotted to this event (`hold`, `swap_unit`)."),
    (
        "price_not_approved",
        "The unit has no approved price (`hold`, `swap_unit`, `prepare_work_ticket`).",
    ),
    (
        "unit_not_available",
        "The unit is held, sold or withdrawn (`hold`, `swap_unit`, `approve_price`).",
    ),
    ("over_buyer_limit", "The buyer already has the most units one buyer may take (`hold`)."),
    ("unit_not_found", "No such unit in the event's project (`release`, `approve_price`)."),
    ("unit_not_held", "The unit is not held (at this event) (`release`, `prepare_work_ticket`)."),
    (
        "receipts_recorded",
        "Money was received on the unit's ticket: finance reverses it in red with `cancel_sale` (`release`).",
    ),
    ("nobody_called", "No number has been called yet (`skip`)."),
    ("queue_empty", "Every number has been called (`call_next`, `skip`)."),
    ("no_such_number", "No buyer has this lottery number (`recall`)."),
    ("not_skipped", "The number was not skipped (`recall`)."),
    (
        "invalid_id_number",
        "Not a valid national ID number: GB 11643 check character (`check_identity`).",
    ),
    ("identity_mismatch", "The ID number does not match the listed buyer's (`check_identity`)."),
    (
        "invalid_csv",
        "The CSV text cannot be read; the message names the line (`import_buyers`, `import_lottery`).",
    ),
    ("lottery_already_drawn", "The lottery order is already imported (`import_lottery`)."),
    ("lottery_mismatch", "The lottery order does not match the buyer list (`import_lottery`)."),
    (
        "invalid_price",
        "The unit price is not above zero, or the ticket's total cannot be computed (`approve_price`, `prepare_work_ticket`).",
    ),
    (
        "approvers_missing",
        "No approver named, or one the policy requires (`selection.price_approvers`: sales director, finance director, project head, GM and chairman by default) is missing; the message names who (`approve_price`).",
    ),
    (
        "ticket_exists",
        "The hold already has a work ticket; correct it by reversing it in red (`prepare_work_ticket`).",
    ),
    (
        "ratio_below_minimum",
        "The payment ratio is below the policy's minimum (`prepare_work_ticket`).",
    ),
    ("ratio_above_full", "The payment ratio is above 100 % (`prepare_work_ticket`)."),
    ("invalid_area", "The unit's area is zero, not yet measured (`prepare_work_ticket`)."),
    (
        "discount_out_of_range",
        "A discount line is not between 0 and 100 % (`prepare_work_ticket`).",
    ),
    (
        "discounts_over_cap",
        "The discounts taken add up to more than the policy's cap (`prepare_work_ticket`).",
    ),
    ("negative_sealing_fee", "The sealing fee is negative (`prepare_work_ticket`)."),
    (
        "ticket_not_found",
        "No such work ticket (`review_work_ticket`, `record_receipt`, `issue_voucher`).",
    ),
    (
        "ticket_reversed",
        "The work ticket was reversed in red (`review_work_ticket`, `record_receipt`, `issue_voucher`).",
    ),
    (
        "same_person",
        "The review must be done by another person than the preparer (`review_work_ticket`).",
    ),
    ("already_reviewed", "The work ticket is already confirmed (`review_work_ticket`)."),
    ("invalid_amount", "The amount is not positive or not to the fen (`record_receipt`)."),
    ("method_missing", "No payment method (`record_receipt`)."),
    ("not_confirmed", "The work ticket has not been reviewed and confirmed (`issue_voucher`)."),
    ("not_paid", "Receipts are less than the amount due (`issue_voucher`)."),
    ("overpaid", "Receipts exceed the amount due; reconcile them (`issue_voucher`)."),
    ("already_vouchered", "A voucher was already issued for this ticket (`issue_voucher`)."),
    ("hold_ended", "The unit is no longer held for this buyer (`issue_voucher`)."),
    (
        "voucher_series_exhausted",
        "The event's pre-numbered voucher series is used up (`issue_voucher`, `cancel_sale`, `swap_unit`).",
    ),
    ("voucher_not_found", "No such voucher (`cancel_sale`, `swap_unit`)."),
    (
        "voucher_is_reversal",
        "The voucher is itself a red reversing voucher (`cancel_sale`, `swap_unit`).",
    ),
    ("voucher_reversed", "The voucher was already reversed (`cancel_sale`, `swap_unit`)."),
    ("reason_missing", "A reversal needs a reason (`cancel_sale`, `swap_unit`)."),
    (
        bounds::OUT_OF_RANGE,
        "A number outside its documented range. The server answers such a command 422 before the desk sees it; the desk checks again and refuses rather than computes.",
    ),
    (
        bounds::ARITHMETIC_OVERFLOW,
        "A figure too large to compute with (only reachable with values outside their ranges).",
    ),
];

/// A decimal string within `bound`: the range and places in the description and in
/// `x-kam-bound`, for programs.
fn money(bound: &Bound, what: &str) -> Value {
    json!({
        "type": "string",
        "pattern": "^-?[0-9]+(\\.[0-9]+)?$",
        "description": format!(
            "{what} A decimal string (never a JSON number) in {} {}, with at most {} decimal places (`{}` in `kam_core::bounds`); 422 `out_of_range` otherwise.",
            bound.interval(), bound.unit, bound.places, bound.field
        ),
        "x-kam-bound": bound_facts(bound),
    })
}

/// An integer within `bound`.
fn whole(bound: &Bound, what: &str) -> Value {
    let end = |d: rust_decimal::Decimal| d.normalize().to_string().parse::<i64>().unwrap_or(0);
    let mut schema = json!({
        "type": "integer",
        "description": format!("{what} In {} ({}); 422 `out_of_range` otherwise.", bound.interval(), bound.field),
        "x-kam-bound": bound_facts(bound),
    });
    let (min_key, max_key) = (
        if bound.min_exclusive { "exclusiveMinimum" } else { "minimum" },
        if bound.max_exclusive { "exclusiveMaximum" } else { "maximum" },
    );
    schema[min_key] = Value::from(end(bound.min));
    schema[max_key] = Value::from(end(bound.max));
    schema
}

fn bound_facts(bound: &Bound) -> Value {
    json!({
        "field": bound.field, "unit": bound.unit,
        "min": bound.min.normalize().to_string(), "min_exclusive": bound.min_exclusive,
        "max": bound.max.normalize().to_string(), "max_exclusive": bound.max_exclusive,
        "places": bound.places,
    })
}

/// A `u32` the server takes as it comes (no documented range beyond the type's).
fn counter(what: &str) -> Value {
    json!({ "type": "integer", "minimum": 0, "maximum": u32::MAX, "description": what })
}

/// A command variant: its `kind`, the name of its schema, the schema.
type Variant = (&'static str, String, Value);

/// One command variant: its `kind`, what it does and who may send it, its fields.
fn variant(kind: &'static str, description: &str, required: &[&str], fields: Value) -> Variant {
    let mut properties = json!({ "kind": { "const": kind } });
    if let (Some(all), Some(more)) = (properties.as_object_mut(), fields.as_object()) {
        all.extend(more.clone());
    }
    let mut names = vec!["kind"];
    names.extend_from_slice(required);
    let mut schema = closed_object(&names, properties);
    schema["description"] = Value::from(description);
    let name: String = kind
        .split('_')
        .map(|word| {
            let mut letters = word.chars();
            letters
                .next()
                .map(|first| first.to_uppercase().chain(letters).collect())
                .unwrap_or_default()
        })
        .collect::<Vec<String>>()
        .concat();
    (kind, format!("{name}Command"), schema)
}

/// The commands on units and prices.
fn unit_variants() -> Vec<Variant> {
    let id = |what: &str| text(what);
    vec![
        variant(
            "hold",
            "Hold a unit for a buyer until the policy's hold time passes (event staff, HQ).",
            &["unit_id", "buyer_id"],
            json!({ "unit_id": id("The unit."), "buyer_id": id("The buyer.") }),
        ),
        variant(
            "release",
            "Release a held, unpaid unit (event staff, HQ).",
            &["unit_id", "hold_id", "reason"],
            json!({ "unit_id": id("The unit."), "hold_id": id("The hold the sender saw on the unit (`hold_id` of the control table): a release made against one hold never frees a later one; another hold is refused `stale_state`."), "reason": id("Why.") }),
        ),
        variant(
            "approve_price",
            "Record an approved price with its approvers (HQ, admin).",
            &["unit_id", "unit_price", "approvers"],
            json!({ "unit_id": id("The unit."), "unit_price": money(&UNIT_PRICE, "Approved price per m², CNY."),
                    "approvers": { "type": "array", "items": string(), "description": "Who approved it: every approver the policy requires (`selection.price_approvers`), or the command is refused `approvers_missing`." },
                    "price_seen": { "type": ["string", "null"], "pattern": "^-?[0-9]+(\\.[0-9]+)?$",
                                    "description": "The approved price the sender saw on the unit (a decimal string, as the control table's `unit_price`); absent or null if it had none. Another price approved since is refused `stale_state`; compared by value, not range-checked." } }),
        ),
        variant(
            "prepare_work_ticket",
            "Draw up the selection work ticket, 选房工作票, for a held unit (event staff, HQ).",
            &["unit_id", "hold_id", "payment_ratio_pct", "discounts", "sealing_fee"],
            json!({ "unit_id": id("The unit, held for the buyer."), "hold_id": id("The hold the ticket is drawn up for (the control table's `hold_id`); another hold is refused `stale_state`."),
                    "payment_ratio_pct": money(&PAYMENT_RATIO_PCT, "Payment ratio the buyer confirms, percent; the policy's minimum is a rule checked after the range."),
                    "discounts": array_of("DiscountLine"),
                    "sealing_fee": money(&SEALING_FEE, "Sealing fee, 封户费, CNY.") }),
        ),
    ]
}

/// The commands on the queue and the buyer list.
fn queue_variants() -> Vec<Variant> {
    let id = |what: &str| text(what);
    vec![
        variant(
            "call_next",
            "Call the next lottery number, 叫号 (event staff, HQ).",
            &["now_serving"],
            json!({ "now_serving": counter("The number being served on the sender's screen, 0 before anyone was called. If another desk has called since, the command is refused `stale_state`, not applied again.") }),
        ),
        variant(
            "skip",
            "Skip the buyer now called, 过号; they keep their number and may be recalled (event staff, HQ).",
            &["lottery_no"],
            json!({ "lottery_no": counter("The number the sender skips: it must still be the one being served, else `stale_state`.") }),
        ),
        variant(
            "recall",
            "Call a skipped buyer again (event staff, HQ).",
            &["lottery_no"],
            json!({ "lottery_no": whole(&LOTTERY_NO, "Their lottery number.") }),
        ),
        variant(
            "check_identity",
            "Check the ID card of the buyer at the desk, 身份核验: hashed and compared, never stored (event staff, HQ). Never queued on a device.",
            &["buyer_id", "id_number"],
            json!({ "buyer_id": id("The buyer the person says they are."), "id_number": id("The number on their ID card.") }),
        ),
        variant(
            "set_mode",
            "Switch between strict lottery order and free selection (event staff, HQ).",
            &["mode"],
            json!({ "mode": { "type": "string", "enum": ["strict_order", "free"] } }),
        ),
        variant(
            "import_buyers",
            "Add buyers to the approved list (event staff, HQ). Never queued on a device.",
            &["csv"],
            json!({ "csv": id("CSV lines `name,id_number`; a header line is allowed.") }),
        ),
        variant(
            "import_lottery",
            "Import the notary's lottery order (event staff, HQ). Never queued on a device.",
            &["csv"],
            json!({ "csv": id("CSV lines `order_no,name,id_number`; a header line is allowed.") }),
        ),
    ]
}

/// The commands on tickets, money and vouchers.
fn money_variants() -> Vec<Variant> {
    let id = |what: &str| text(what);
    vec![
        variant(
            "review_work_ticket",
            "A second person checks the work ticket and confirms it (event staff, finance, HQ).",
            &["ticket_id"],
            json!({ "ticket_id": id("The ticket.") }),
        ),
        variant(
            "record_receipt",
            "Record money received against a work ticket (event staff, finance, HQ).",
            &["ticket_id", "amount", "method"],
            json!({ "ticket_id": id("The ticket."), "amount": money(&RECEIPT_AMOUNT, "Amount, CNY."), "method": id("Payment method (transfer, card, …).") }),
        ),
        variant(
            "issue_voucher",
            "Issue the selection voucher, 选房凭证, once receipts match the amount due (event staff, finance, HQ).",
            &["ticket_id"],
            json!({ "ticket_id": id("The ticket.") }),
        ),
        variant(
            "cancel_sale",
            "Cancel a sale in red ink: red voucher, red work ticket, red receipts; the unit is free again (finance, HQ).",
            &["voucher_no", "reason"],
            json!({ "voucher_no": whole(&VOUCHER_NO, "The voucher to reverse."), "reason": id("Why.") }),
        ),
        variant(
            "swap_unit",
            "Reverse the sale in red and hold another allotted unit for the same buyer (finance, HQ).",
            &["voucher_no", "new_unit_id", "reason"],
            json!({ "voucher_no": whole(&VOUCHER_NO, "The voucher to reverse."), "new_unit_id": id("The unit to move to."), "reason": id("Why.") }),
        ),
    ]
}

/// Every command variant.
fn variants() -> Vec<Variant> {
    let mut all = unit_variants();
    all.extend(queue_variants());
    all.extend(money_variants());
    all
}

/// The schemas of commands and answers.
pub(super) fn schemas() -> Vec<(String, Value)> {
    let variants = variants();
    let mapping: serde_json::Map<String, Value> = variants
        .iter()
        .map(|(kind, name, _)| {
            ((*kind).to_owned(), Value::from(format!("#/components/schemas/{name}")))
        })
        .collect();
    let refs: Vec<Value> = variants.iter().map(|(_, name, _)| reference(name)).collect();
    let mut out: Vec<(String, Value)> =
        variants.into_iter().map(|(_, name, schema)| (name, schema)).collect();
    out.push(("DeskCommand".into(), json!({
        "description": "A desk command: a union tagged by `kind`. Unknown kinds and unknown fields are refused 422 `invalid_field`.",
        "oneOf": refs,
        "discriminator": { "propertyName": "kind", "mapping": mapping },
    })));
    out.push(("CommandRequest".into(), command_request()));
    out.push(("DiscountLine".into(), object(&["code", "label", "pct", "taken"], json!({
        "code": text("Stable code of the discount in the sales policy, e.g. `full_payment`."),
        "label": text("The label printed on the ticket."),
        "pct": money(&DISCOUNT_PCT, "Percent off the total price."),
        "taken": { "type": "boolean", "description": "Whether the buyer takes it; a waived line is printed but counts nothing." },
    }))));
    out.push(("Refusal".into(), refusal()));
    out.push(("CommandAnswer".into(), command_answer()));
    out.extend(read_schemas().into_iter().map(|(name, schema)| (name.to_owned(), schema)));
    out
}

fn command_request() -> Value {
    let mut schema = closed_object(
        &["idempotency_key", "event_id", "command"],
        json!({
            "idempotency_key": {
                "type": "string", "minLength": 1, "maxLength": MAX_KEY_LEN,
                "description": format!("Chosen by the device (a UUID) and stored with the command before its first send; 1 to {MAX_KEY_LEN} bytes, no control characters. Scoped to the device: a retry from the same device gets the stored answer, the same key with another request gets 422 `idempotency_key_reused`, and the same key from another device is another command."),
            },
            "event_id": text("The event whose desk the command acts on (404 `event_not_open` if none is open)."),
            "command": reference("DeskCommand"),
        }),
    );
    schema["description"] = Value::from(
        "One selection-desk command under its idempotency key. Unknown fields are refused.",
    );
    schema
}

fn refusal() -> Value {
    let codes: Vec<&str> = REFUSALS.iter().map(|(code, _)| *code).collect();
    let table: String =
        REFUSALS.iter().map(|(code, meaning)| format!("- `{code}`: {meaning}\n")).collect();
    object(
        &["code", "message"],
        json!({
            "code": { "type": "string", "enum": codes, "description": format!("Stable machine code:\n\n{table}") },
            "message": text("Chinese first, English after."),
        }),
    )
}

fn command_answer() -> Value {
    let mut schema = object(
        &["idempotency_key", "command", "outcome", "answered_at"],
        json!({
            "idempotency_key": text("The key the answer is stored under."),
            "command": text("The command's `kind`."),
            "outcome": { "type": "string", "enum": ["accepted", "rejected"] },
            "result": { "type": "object", "description": "What changed, when accepted; by command, e.g. `hold` → `{unit_id, buyer_id, hold_id, expires_at, status}`, `release` → `{unit_id, hold_id, reason, status}`, `call_next`/`skip` → `{now_serving, buyer_id, skipped}`, `prepare_work_ticket` → `{ticket_id, unit_id, buyer_id, hold_id, figures}`, `record_receipt` → `{receipt_id, ticket_id, amount, received_total, amount_due}`, `issue_voucher` → `{voucher_no, voucher_code, ticket_id, unit_id, buyer_id, amount, status}`." },
            "refusal": reference("Refusal"),
            "ledger_seq": integer("The last ledger entry the command wrote, when accepted."),
            "answered_at": instant("When the desk answered."),
        }),
    );
    schema["description"] = Value::from(
        "The desk's answer, stored under the key and returned again, with the same status, to every retry. Both outcomes are final.",
    );
    schema
}

fn read_schemas() -> Vec<(&'static str, Value)> {
    vec![
        (
            "ControlTable",
            object(
                &["event_id", "mode", "ledger_seq", "units"],
                json!({
                    "event_id": string(), "mode": { "type": "string", "enum": ["strict_order", "free"] },
                    "now_serving": nullable("integer"), "ledger_seq": integer("The ledger's last entry when read."),
                    "units": array_of("UnitLine"),
                }),
            ),
        ),
        (
            "UnitLine",
            object(
                &["unit_id", "code", "area_m2", "status"],
                json!({
                    "unit_id": string(), "code": text("Its code on the plan, e.g. `1-1001`."),
                    "area_m2": text("Area in m², decimal string."),
                    "unit_price": { "type": ["string", "null"], "description": "Approved price per m², decimal string, if approved." },
                    "status": { "type": "string", "enum": ["available", "held", "sold", "withdrawn"] },
                    "buyer_id": nullable("string"),
                    "hold_id": { "type": ["string", "null"], "description": "The hold on the unit, if held: `release` and `prepare_work_ticket` name it." },
                    "held_until": nullable("string"),
                }),
            ),
        ),
        (
            "Reconciliation",
            object(
                &[
                    "event_id",
                    "units_allotted",
                    "units_sold",
                    "units_held",
                    "vouchers_live",
                    "vouchers_reversed",
                    "receipts_total",
                    "vouchers_total",
                    "mismatches",
                ],
                json!({
                    "event_id": string(), "units_allotted": { "type": "integer" }, "units_sold": { "type": "integer" },
                    "units_held": { "type": "integer" }, "vouchers_live": { "type": "integer" }, "vouchers_reversed": { "type": "integer" },
                    "receipts_total": text("Net money received, CNY, decimal string."), "vouchers_total": text("Total of the vouchers in force, CNY, decimal string."),
                    "mismatches": array(object(&["code", "detail"], json!({
                        "code": text("Stable code, e.g. `sold_without_voucher`, `voucher_receipts_mismatch`, `unit_sold_twice`."),
                        "unit_id": nullable("string"), "voucher_no": nullable("integer"), "ticket_id": nullable("string"), "detail": string(),
                    }))),
                }),
            ),
        ),
        (
            "Verification",
            object(
                &["entries", "tip_hash"],
                json!({
                    "entries": integer("Entries checked."),
                    "first_bad_seq": { "type": ["integer", "null"], "description": "The first entry whose link or hash does not match; null when the chain is intact." },
                    "tip_hash": text("The last hash, hex."),
                }),
            ),
        ),
    ]
}

/// The desk's paths.
pub(super) fn paths() -> Paths {
    Paths::default()
        .add("/api/v1/desk/commands", command_op())
        .add("/console/api/events/{id}/commands", console_command_op())
        .add("/api/v1/events/{id}/desk", Op::get("选房实时销控表 / An event's control table")
            .tag("desk").caller(Caller::Device)
            .describe("The desk's own state, the authority: every allotted unit with its status, buyer, hold (`hold_id`, which `release` and `prepare_work_ticket` name) and price, and the number being served (which `call_next` and `skip` name). For event staff granted the event, finance, HQ and admin.")
            .param(path_param("id", "The event."))
            .json(200, "The control table.", reference("ControlTable"))
            .fails(Code::NotFound, "No desk is open for the event, or the caller may not read it.")
            .fails(Code::Internal, "A fault on the server."))
        .add("/api/v1/events/{id}/reconciliation", Op::get("选房对账 / An event's reconciliation")
            .tag("desk").caller(Caller::Device)
            .describe("Receipts against vouchers against unit status, every mismatch listed. Who: as the control table.")
            .param(path_param("id", "The event."))
            .json(200, "The reconciliation.", reference("Reconciliation"))
            .fails(Code::NotFound, "No desk is open for the event, or the caller may not read it.")
            .fails(Code::Internal, "A fault on the server."))
        .add("/api/v1/desk/ledger/verify", Op::get("台账校验 / Verify the desk ledger")
            .tag("desk").caller(Caller::Device)
            .describe("Recomputes the desk ledger's whole hash chain (finance, HQ, admin).")
            .json(200, "The chain is intact.", reference("Verification"))
            .json(409, "The chain is broken: `first_bad_seq` names the first entry that does not match.", reference("Verification"))
            .fails(Code::Forbidden, "The caller is not finance, HQ or admin.")
            .fails(Code::Internal, "A fault on the server."))
}

fn console_command_op() -> Op {
    let limit = Limits::default().max_command_bytes;
    Op::post("选房控制台指令 / One command from a selection console")
        .tag("desk")
        .caller(Caller::Session)
        .describe(&format!("The consoles' path to the desk (the pages' script sends it): the same commands and rules as `POST /api/v1/desk/commands`, sent under the signed-in person instead of a device. The event is the path's; the body is `{{\"idempotency_key\": …, \"command\": …}}`, read up to {limit} bytes. The session's CSRF token comes in the `x-csrf-token` header. Keys belong to the person, whichever of their sessions sends them: a double click or a resubmit after a timeout gets the first answer."))
        .param(path_param("id", "The event."))
        .body("application/json", json!({ "type": "object", "required": ["idempotency_key", "command"], "additionalProperties": false, "properties": { "idempotency_key": { "type": "string", "minLength": 1, "maxLength": 128 }, "command": reference("DeskCommand") } }), "The command.")
        .json(200, "Accepted: `outcome` is `accepted`, `result` says what changed.", reference("CommandAnswer"))
        .json(409, "Refused by a rule: `outcome` is `rejected` and `refusal` says why (Chinese first). Nothing changed.", reference("CommandAnswer"))
        .fails(Code::MalformedRequest, "The body is not JSON, or could not be read.")
        .fails(Code::Forbidden, "The CSRF token is missing or stale, the person's role may not send this command, or event staff not assigned to the event.")
        .fails(Code::NotFound, "The server runs without a selection desk.")
        .fails(Code::EventNotOpen, "No desk is open for the event.")
        .fails(Code::InvalidField, "JSON of the wrong shape, or a bad `idempotency_key`.")
        .fails(Code::OutOfRange, "A number outside its documented range.")
        .fails(Code::IdempotencyKeyReused, "This person already used the key for a different request.")
        .fails(Code::DeskBusy, "The desk's queue is full; retry with the same key.")
        .fails(Code::BodyTooLarge, "The body is over the limit.")
        .fails(Code::RateLimited, "Too many requests from this person or address.")
        .fails(Code::Internal, "A fault on the server; retry with the same key.")
}

fn command_op() -> Op {
    let limit = Limits::default().max_command_bytes;
    Op::post("选房台指令 / One selection-desk command")
        .tag("desk")
        .caller(Caller::Device)
        .describe(&format!("One command under the idempotency key the device chose and stored before the first send. The token is checked before the body is read, and again by the desk's writer inside the command's transaction. Who may send which command: see each command. The body is read up to {limit} bytes (`--max-command-bytes`) and no further. Any `Content-Type` is read as JSON.\n\nAn accepted command answers 200, a refused one 409 with a `refusal`; both are stored under the key (per device) and every retry gets the same answer and status. Everything else is the error envelope and nothing is stored: retry with the same key."))
        .body("application/json", reference("CommandRequest"), "The command.")
        .json(200, "Accepted: `outcome` is `accepted`, `result` says what changed.", json!({ "allOf": [reference("CommandAnswer"), { "properties": { "outcome": { "const": "accepted" } } }] }))
        .json(409, "Refused by a rule: `outcome` is `rejected` and `refusal` says why. Nothing changed.", json!({ "allOf": [reference("CommandAnswer"), { "required": ["refusal"], "properties": { "outcome": { "const": "rejected" } } }] }))
        .fails(Code::MalformedRequest, "The body is not JSON (a syntax error, truncated), or could not be read.")
        .fails(Code::Forbidden, "The caller's role may not send this command, or event staff not assigned to the event.")
        .fails(Code::NotFound, "The server runs without a selection desk.")
        .fails(Code::EventNotOpen, "No desk is open for `event_id`.")
        .fails(Code::InvalidField, "JSON of the wrong shape: an unknown `kind`, a missing, mistyped or unknown field, money sent as a JSON number; or an `idempotency_key` that is empty, longer than 128 bytes or holds control characters.")
        .fails(Code::OutOfRange, "A number outside its documented range (see the command's fields), before the desk sees the command.")
        .fails(Code::IdempotencyKeyReused, "This device already used the key for a different request.")
        .fails(Code::DeskBusy, "The desk's queue is full; retry with the same key.")
        .fails(Code::Internal, "A fault on the server; no answer was stored, retry with the same key.")
}

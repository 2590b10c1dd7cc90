//! The PostgreSQL schema of the selection desk (migration step 4), ported from the desk's own
//! SQLite file (`db::sqlite::desk::schema`) as it stands after its six steps: events, units,
//! allotments, buyers, holds, work tickets and their reviews, receipts, vouchers, the
//! hash-chained ledger, the stored answers, and the venue delegations with the venue ledger.
//!
//! On SQLite the desk has a file of its own so that its frequent commits never queue behind
//! the server's; on PostgreSQL its tables live in the server's database, beside the others
//! (ADR 0024). SQLite's rebuild steps (the `_v3` and `_v4` tables) leave no trace: the tables
//! here are the ones they produced.
//!
//! As in the earlier steps: `bigint` for integers, `bytea` for blobs, `boolean` for the one
//! 0/1 flag (`desk_buyers.skipped`), text with `COLLATE "C"` everywhere, money as Decimal
//! text, JSON as text whose check keeps it valid. The append-only tables refuse UPDATE and
//! DELETE through triggers, as SQLite's do.

/// Version 4: the selection desk's tables.
pub(crate) const V4_DESK: &str = r#"
CREATE TABLE desk_meta (
    key   text COLLATE "C" PRIMARY KEY,
    value text COLLATE "C" NOT NULL
);

CREATE TABLE desk_events (
    event_id        text COLLATE "C" PRIMARY KEY,
    project_id      text COLLATE "C" NOT NULL,
    mode            text COLLATE "C" NOT NULL CHECK (mode = 'strict_order' OR mode = 'free'),
    now_serving     bigint,
    called_up_to    bigint NOT NULL DEFAULT 0,
    voucher_prefix  text COLLATE "C" NOT NULL,
    voucher_next    bigint NOT NULL,
    voucher_last    bigint NOT NULL,
    opened_at       text COLLATE "C" NOT NULL,
    name            text COLLATE "C" NOT NULL DEFAULT ''
);

-- Every unit of a project the desk serves: its approved price, authoritative status and
-- place on the plan.
CREATE TABLE desk_units (
    project_id   text COLLATE "C" NOT NULL,
    unit_id      text COLLATE "C" NOT NULL,
    code         text COLLATE "C" NOT NULL,
    area_m2      text COLLATE "C" NOT NULL,
    unit_price   text COLLATE "C",
    approvers    text COLLATE "C" CHECK (approvers IS NULL OR approvers::jsonb IS NOT NULL),
    approved_at  text COLLATE "C",
    status       text COLLATE "C" NOT NULL
        CHECK (status = 'available' OR status = 'held' OR status = 'sold' OR status = 'withdrawn'),
    event_id     text COLLATE "C",
    buyer_id     text COLLATE "C",
    hold_id      text COLLATE "C",
    held_until   text COLLATE "C",
    building     text COLLATE "C" NOT NULL DEFAULT '',
    floor        bigint NOT NULL DEFAULT 0,
    layout       text COLLATE "C" NOT NULL DEFAULT '',
    PRIMARY KEY (project_id, unit_id)
);
CREATE INDEX desk_units_by_buyer ON desk_units(event_id, buyer_id) WHERE buyer_id IS NOT NULL;
CREATE INDEX desk_units_expiring ON desk_units(held_until) WHERE status = 'held';

CREATE TABLE desk_allotments (
    event_id text COLLATE "C" NOT NULL REFERENCES desk_events(event_id),
    unit_id  text COLLATE "C" NOT NULL,
    PRIMARY KEY (event_id, unit_id)
);

-- The approved buyer list. ID numbers only as a salted hash and a masked form.
CREATE TABLE desk_buyers (
    event_id         text COLLATE "C" NOT NULL REFERENCES desk_events(event_id),
    buyer_id         text COLLATE "C" NOT NULL,
    name             text COLLATE "C" NOT NULL,
    id_number_hash   text COLLATE "C" NOT NULL,
    id_number_masked text COLLATE "C" NOT NULL,
    lottery_no       bigint,
    skipped          boolean NOT NULL DEFAULT false,
    PRIMARY KEY (event_id, buyer_id),
    UNIQUE (event_id, id_number_hash)
);
CREATE UNIQUE INDEX desk_buyers_by_lottery ON desk_buyers(event_id, lottery_no)
    WHERE lottery_no IS NOT NULL;

CREATE TABLE desk_holds (
    hold_id    text COLLATE "C" PRIMARY KEY,
    event_id   text COLLATE "C" NOT NULL,
    project_id text COLLATE "C" NOT NULL,
    unit_id    text COLLATE "C" NOT NULL,
    buyer_id   text COLLATE "C" NOT NULL,
    held_by    text COLLATE "C" NOT NULL,
    held_at    text COLLATE "C" NOT NULL,
    expires_at text COLLATE "C" NOT NULL,
    state      text COLLATE "C" NOT NULL
        CHECK (state = 'active' OR state = 'sold' OR state = 'released' OR state = 'expired'),
    ended_at   text COLLATE "C"
);

CREATE TABLE work_tickets (
    ticket_id       text COLLATE "C" PRIMARY KEY,
    event_id        text COLLATE "C" NOT NULL,
    hold_id         text COLLATE "C" NOT NULL REFERENCES desk_holds(hold_id),
    unit_id         text COLLATE "C" NOT NULL,
    buyer_id        text COLLATE "C" NOT NULL,
    terms           text COLLATE "C" NOT NULL CHECK (terms::jsonb IS NOT NULL),
    total_price     text COLLATE "C" NOT NULL,
    discount_amount text COLLATE "C" NOT NULL,
    net_price       text COLLATE "C" NOT NULL,
    amount_due      text COLLATE "C" NOT NULL,
    sealing_fee     text COLLATE "C" NOT NULL,
    prepared_by     text COLLATE "C" NOT NULL,
    prepared_at     text COLLATE "C" NOT NULL,
    reverses        text COLLATE "C" REFERENCES work_tickets(ticket_id),
    reason          text COLLATE "C"
);
CREATE UNIQUE INDEX work_tickets_reversal ON work_tickets(reverses) WHERE reverses IS NOT NULL;

CREATE TABLE work_ticket_reviews (
    ticket_id   text COLLATE "C" PRIMARY KEY REFERENCES work_tickets(ticket_id),
    reviewed_by text COLLATE "C" NOT NULL,
    reviewed_at text COLLATE "C" NOT NULL
);

CREATE TABLE receipts (
    receipt_id  text COLLATE "C" PRIMARY KEY,
    event_id    text COLLATE "C" NOT NULL,
    ticket_id   text COLLATE "C" NOT NULL REFERENCES work_tickets(ticket_id),
    amount      text COLLATE "C" NOT NULL,
    method      text COLLATE "C" NOT NULL,
    received_at text COLLATE "C" NOT NULL,
    recorded_by text COLLATE "C" NOT NULL,
    reverses    text COLLATE "C" REFERENCES receipts(receipt_id)
);
CREATE INDEX receipts_by_ticket ON receipts(ticket_id);

-- Vouchers take the next number of their event's pre-numbered series inside the transaction
-- that issues them, so a refused or rolled-back issue leaves no gap. A red voucher has its own
-- number and names the one it reverses.
CREATE TABLE vouchers (
    event_id     text COLLATE "C" NOT NULL REFERENCES desk_events(event_id),
    voucher_no   bigint NOT NULL,
    voucher_code text COLLATE "C" NOT NULL UNIQUE,
    ticket_id    text COLLATE "C" NOT NULL REFERENCES work_tickets(ticket_id),
    buyer_id     text COLLATE "C" NOT NULL,
    unit_id      text COLLATE "C" NOT NULL,
    amount       text COLLATE "C" NOT NULL,
    issued_at    text COLLATE "C" NOT NULL,
    issued_by    text COLLATE "C" NOT NULL,
    reverses     bigint,
    reason       text COLLATE "C",
    PRIMARY KEY (event_id, voucher_no)
);
CREATE UNIQUE INDEX vouchers_reversal ON vouchers(event_id, reverses) WHERE reverses IS NOT NULL;

-- The append-only, hash-chained record of every state change the desk made. The writer
-- numbers the entries (the chain hashes the number), so `seq` is no identity column.
CREATE TABLE desk_ledger (
    seq             bigint PRIMARY KEY,
    at              text COLLATE "C" NOT NULL,
    event_id        text COLLATE "C" NOT NULL,
    actor           text COLLATE "C" NOT NULL,
    idempotency_key text COLLATE "C",
    kind            text COLLATE "C" NOT NULL,
    entry           text COLLATE "C" NOT NULL CHECK (entry::jsonb IS NOT NULL),
    prev_hash       bytea NOT NULL,
    hash            bytea NOT NULL
);

-- The answer to every command, under the device that sent it and the key it chose before
-- its first send (ADR 0014).
CREATE TABLE desk_requests (
    device_id       text COLLATE "C" NOT NULL,
    idempotency_key text COLLATE "C" NOT NULL,
    request_hash    bytea NOT NULL,
    status          bigint NOT NULL,
    answer          text COLLATE "C" NOT NULL CHECK (answer::jsonb IS NOT NULL),
    answered_at     text COLLATE "C" NOT NULL,
    PRIMARY KEY (device_id, idempotency_key)
);

-- Venue edge authority (ADR 0021): each generation of each event's delegation, central's
-- row `lent`, the venue's `held`.
CREATE TABLE desk_delegations (
    event_id            text COLLATE "C" NOT NULL,
    generation          bigint NOT NULL CHECK (generation > 0),
    side                text COLLATE "C" NOT NULL CHECK (side = 'lent' OR side = 'held'),
    venue_device_id     text COLLATE "C" NOT NULL,
    venue_name          text COLLATE "C" NOT NULL,
    lease_until         text COLLATE "C" NOT NULL,
    anchor_seq          bigint NOT NULL,
    anchor_hash         bytea NOT NULL,
    bundle_key          text COLLATE "C" NOT NULL,
    state               text COLLATE "C" NOT NULL
        CHECK (state = 'active' OR state = 'returning' OR state = 'returned'
               OR state = 'taken_back'),
    shipped_seq         bigint NOT NULL,
    shipped_hash        bytea NOT NULL,
    venue_tip_seq       bigint NOT NULL,
    oldest_unshipped_at text COLLATE "C",
    last_heard_at       text COLLATE "C",
    delegated_at        text COLLATE "C" NOT NULL,
    ended_at            text COLLATE "C",
    PRIMARY KEY (event_id, generation)
);

-- Central's copy of a venue's ledger segment, beside its own chain.
CREATE TABLE desk_venue_ledger (
    event_id        text COLLATE "C" NOT NULL,
    generation      bigint NOT NULL,
    seq             bigint NOT NULL,
    at              text COLLATE "C" NOT NULL,
    actor           text COLLATE "C" NOT NULL,
    idempotency_key text COLLATE "C",
    kind            text COLLATE "C" NOT NULL,
    entry           text COLLATE "C" NOT NULL CHECK (entry::jsonb IS NOT NULL),
    prev_hash       bytea NOT NULL,
    hash            bytea NOT NULL,
    PRIMARY KEY (event_id, generation, seq)
);

-- Refuses the UPDATE or DELETE it is triggered by, with the message the trigger names.
CREATE FUNCTION desk_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'restrict_violation';
END;
$$;

CREATE TRIGGER work_tickets_append_only BEFORE UPDATE OR DELETE ON work_tickets
    FOR EACH ROW
    EXECUTE FUNCTION desk_append_only('work tickets are append-only: reverse in red instead');
CREATE TRIGGER work_ticket_reviews_append_only BEFORE UPDATE ON work_ticket_reviews
    FOR EACH ROW EXECUTE FUNCTION desk_append_only('reviews are append-only');
CREATE TRIGGER receipts_append_only BEFORE UPDATE OR DELETE ON receipts
    FOR EACH ROW
    EXECUTE FUNCTION desk_append_only('receipts are append-only: reverse in red instead');
CREATE TRIGGER vouchers_append_only BEFORE UPDATE OR DELETE ON vouchers
    FOR EACH ROW
    EXECUTE FUNCTION desk_append_only('vouchers are append-only: reverse in red instead');
CREATE TRIGGER desk_ledger_append_only BEFORE UPDATE OR DELETE ON desk_ledger
    FOR EACH ROW EXECUTE FUNCTION desk_append_only('the ledger is append-only');
CREATE TRIGGER desk_venue_ledger_append_only BEFORE UPDATE OR DELETE ON desk_venue_ledger
    FOR EACH ROW EXECUTE FUNCTION desk_append_only('the venue ledger is append-only');
"#;

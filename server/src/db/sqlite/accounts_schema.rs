//! The projection tables of the account-management records (issue 23, ADR 0023): schema
//! version 9. Every row is derived from one record document, and `entity_id` columns name the
//! document they come from, so deleting a document's rows and clearing every projection work
//! as for the other kinds (`projections::projected_tables`).
//!
//! Money is a decimal string (as in every projection), times RFC 3339 UTC, dates
//! `YYYY-MM-DD`. What depends on the day a page is read (overdue instalments, surveys due, a
//! customer's satisfaction factor) is computed when it is queried, never stored.

/// Version 9: leads, plans, surveys, scorecards, leadership reviews and organisations.
pub(crate) const V9_ACCOUNT_MANAGEMENT: &str = "
CREATE TABLE leads (
    lead_id          TEXT PRIMARY KEY,
    customer_id      TEXT NOT NULL,
    title            TEXT NOT NULL,
    owner            TEXT NOT NULL,
    identified_by    TEXT NOT NULL,
    identified_at    TEXT NOT NULL,
    stage            TEXT NOT NULL,
    expected_value   TEXT NOT NULL,
    candidate        INTEGER NOT NULL,
    stage_changed_at TEXT NOT NULL,
    closed_at        TEXT,
    lost_reason      TEXT
) STRICT;
CREATE INDEX leads_by_owner ON leads(owner, stage);
CREATE INDEX leads_by_customer ON leads(customer_id);
CREATE TABLE lead_stage_changes (
    lead_id     TEXT NOT NULL,
    entry_id    TEXT NOT NULL,
    from_stage  TEXT NOT NULL,
    to_stage    TEXT NOT NULL,
    at          TEXT NOT NULL,
    by_user     TEXT NOT NULL,
    learned     TEXT NOT NULL,
    lost_reason TEXT,
    PRIMARY KEY (lead_id, entry_id)
) STRICT;
CREATE TABLE plans (
    plan_id           TEXT PRIMARY KEY,
    customer_id       TEXT NOT NULL,
    year              INTEGER NOT NULL,
    revision          INTEGER NOT NULL,
    status            TEXT NOT NULL,
    approved_by       TEXT,
    approved_at       TEXT,
    approved_revision INTEGER,
    sales_goal        TEXT NOT NULL,
    profit_goal       TEXT NOT NULL,
    satisfaction_goal INTEGER NOT NULL,
    owners            TEXT NOT NULL,
    sales_strategy    TEXT NOT NULL,
    service_plan      TEXT NOT NULL
) STRICT;
CREATE INDEX plans_by_customer ON plans(customer_id, year);
CREATE TABLE plan_quarter_goals (
    plan_id           TEXT NOT NULL,
    quarter           INTEGER NOT NULL,
    sales_goal        TEXT NOT NULL,
    profit_goal       TEXT NOT NULL,
    satisfaction_goal INTEGER NOT NULL,
    PRIMARY KEY (plan_id, quarter)
) STRICT;
CREATE TABLE plan_evaluations (
    plan_id             TEXT NOT NULL,
    quarter             INTEGER NOT NULL,
    sales_actual        TEXT NOT NULL,
    profit_actual       TEXT NOT NULL,
    satisfaction_actual INTEGER,
    adjustment          TEXT NOT NULL,
    by_user             TEXT NOT NULL,
    at                  TEXT NOT NULL,
    PRIMARY KEY (plan_id, quarter)
) STRICT;
CREATE TABLE surveys (
    survey_id             TEXT PRIMARY KEY,
    customer_id           TEXT NOT NULL,
    kind                  TEXT NOT NULL,
    ticket_id             TEXT,
    taken_at              TEXT NOT NULL,
    taken_by              TEXT NOT NULL,
    respondent            TEXT NOT NULL,
    score                 INTEGER NOT NULL,
    account_manager_score INTEGER,
    comments              TEXT NOT NULL
) STRICT;
CREATE INDEX surveys_by_customer ON surveys(customer_id, taken_at);
CREATE INDEX surveys_by_taker ON surveys(taken_by, taken_at);
CREATE TABLE scorecards (
    scorecard_id TEXT PRIMARY KEY,
    person       TEXT NOT NULL,
    period       TEXT NOT NULL,
    sales_target TEXT NOT NULL,
    total        TEXT,
    computed_at  TEXT
) STRICT;
CREATE INDEX scorecards_by_person ON scorecards(person, period);
CREATE TABLE scorecard_lines (
    scorecard_id TEXT NOT NULL,
    measure      TEXT NOT NULL,
    attainment   TEXT NOT NULL,
    weight_pct   INTEGER NOT NULL,
    points       TEXT NOT NULL,
    basis        TEXT NOT NULL,
    PRIMARY KEY (scorecard_id, measure)
) STRICT;
CREATE TABLE scorecard_ratings (
    scorecard_id TEXT NOT NULL,
    entry_id     TEXT NOT NULL,
    rater        TEXT NOT NULL,
    by_user      TEXT NOT NULL,
    score        INTEGER NOT NULL,
    at           TEXT NOT NULL,
    note         TEXT NOT NULL,
    PRIMARY KEY (scorecard_id, entry_id)
) STRICT;
CREATE TABLE reviews (
    review_id TEXT PRIMARY KEY,
    held_on   TEXT NOT NULL,
    attendees TEXT NOT NULL
) STRICT;
CREATE TABLE review_findings (
    review_id   TEXT NOT NULL,
    entry_id    TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    kind        TEXT NOT NULL,
    text        TEXT NOT NULL,
    PRIMARY KEY (review_id, entry_id)
) STRICT;
CREATE TABLE review_measures (
    review_id    TEXT NOT NULL,
    entry_id     TEXT NOT NULL,
    customer_id  TEXT,
    text         TEXT NOT NULL,
    owner        TEXT NOT NULL,
    due_on       TEXT NOT NULL,
    closed_at    TEXT,
    closed_by    TEXT,
    closing_note TEXT,
    PRIMARY KEY (review_id, entry_id)
) STRICT;
CREATE INDEX review_measures_open ON review_measures(closed_at, due_on);
CREATE TABLE organisations (
    organisation_id       TEXT PRIMARY KEY,
    project_id            TEXT NOT NULL,
    name                  TEXT NOT NULL,
    status                TEXT NOT NULL,
    accepted_price_per_m2 TEXT NOT NULL,
    payment_ratio_pct     TEXT NOT NULL,
    resource_exchange     INTEGER NOT NULL,
    owner_occupier_pct    TEXT NOT NULL,
    approved_by_gm        TEXT,
    approved_by_chairman  TEXT,
    price_per_m2          TEXT,
    price_method          TEXT,
    missing_clauses       TEXT NOT NULL,
    signed_at             TEXT
) STRICT;
CREATE TABLE organisation_instalments (
    organisation_id  TEXT NOT NULL,
    entry_id         TEXT NOT NULL,
    due_on           TEXT NOT NULL,
    amount           TEXT NOT NULL,
    received         TEXT NOT NULL,
    outstanding      TEXT NOT NULL,
    last_reminder_on TEXT,
    note             TEXT NOT NULL,
    PRIMARY KEY (organisation_id, entry_id)
) STRICT;
CREATE INDEX organisation_instalments_due ON organisation_instalments(due_on);
CREATE TABLE organisation_collections (
    organisation_id TEXT NOT NULL,
    entry_id        TEXT NOT NULL,
    received_on     TEXT NOT NULL,
    amount          TEXT NOT NULL,
    receipt_no      TEXT NOT NULL,
    by_user         TEXT NOT NULL,
    PRIMARY KEY (organisation_id, entry_id)
) STRICT;
CREATE TABLE organisation_reconciliations (
    organisation_id TEXT NOT NULL,
    entry_id        TEXT NOT NULL,
    on_day          TEXT NOT NULL,
    bank_balance    TEXT NOT NULL,
    receipts_total  TEXT NOT NULL,
    by_user         TEXT NOT NULL,
    note            TEXT NOT NULL,
    PRIMARY KEY (organisation_id, entry_id)
) STRICT;
";

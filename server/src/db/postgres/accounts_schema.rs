//! The account-management tables on PostgreSQL (schema step 3): the tables of
//! `db::sqlite::accounts_schema` (SQLite's version 9) in PostgreSQL's types, `bigint` for
//! integers (flags stay 0/1 as on SQLite) and byte-ordered text (`COLLATE "C"`). Money stays
//! decimal text, times RFC 3339 UTC text and dates `YYYY-MM-DD` text, as on SQLite.
//!
//! No table here refers to a projection table (customers, tickets): the reads that name a
//! customer join them, and a lead or plan whose customer is not projected still reads back.

/// Step 3: leads, plans, surveys, scorecards, leadership reviews and organisations.
pub(crate) const V3_ACCOUNT_MANAGEMENT: &str = r#"
CREATE TABLE leads (
    lead_id          text COLLATE "C" PRIMARY KEY,
    customer_id      text COLLATE "C" NOT NULL,
    title            text COLLATE "C" NOT NULL,
    owner            text COLLATE "C" NOT NULL,
    identified_by    text COLLATE "C" NOT NULL,
    identified_at    text COLLATE "C" NOT NULL,
    stage            text COLLATE "C" NOT NULL,
    expected_value   text COLLATE "C" NOT NULL,
    candidate        bigint NOT NULL,
    stage_changed_at text COLLATE "C" NOT NULL,
    closed_at        text COLLATE "C",
    lost_reason      text COLLATE "C"
);
CREATE INDEX leads_by_owner ON leads(owner, stage);
CREATE INDEX leads_by_customer ON leads(customer_id);
CREATE TABLE lead_stage_changes (
    lead_id     text COLLATE "C" NOT NULL,
    entry_id    text COLLATE "C" NOT NULL,
    from_stage  text COLLATE "C" NOT NULL,
    to_stage    text COLLATE "C" NOT NULL,
    at          text COLLATE "C" NOT NULL,
    by_user     text COLLATE "C" NOT NULL,
    learned     text COLLATE "C" NOT NULL,
    lost_reason text COLLATE "C",
    PRIMARY KEY (lead_id, entry_id)
);
CREATE TABLE plans (
    plan_id           text COLLATE "C" PRIMARY KEY,
    customer_id       text COLLATE "C" NOT NULL,
    year              bigint NOT NULL,
    revision          bigint NOT NULL,
    status            text COLLATE "C" NOT NULL,
    approved_by       text COLLATE "C",
    approved_at       text COLLATE "C",
    approved_revision bigint,
    sales_goal        text COLLATE "C" NOT NULL,
    profit_goal       text COLLATE "C" NOT NULL,
    satisfaction_goal bigint NOT NULL,
    owners            text COLLATE "C" NOT NULL,
    sales_strategy    text COLLATE "C" NOT NULL,
    service_plan      text COLLATE "C" NOT NULL
);
CREATE INDEX plans_by_customer ON plans(customer_id, year);
CREATE TABLE plan_quarter_goals (
    plan_id           text COLLATE "C" NOT NULL,
    quarter           bigint NOT NULL,
    sales_goal        text COLLATE "C" NOT NULL,
    profit_goal       text COLLATE "C" NOT NULL,
    satisfaction_goal bigint NOT NULL,
    PRIMARY KEY (plan_id, quarter)
);
CREATE TABLE plan_evaluations (
    plan_id             text COLLATE "C" NOT NULL,
    quarter             bigint NOT NULL,
    sales_actual        text COLLATE "C" NOT NULL,
    profit_actual       text COLLATE "C" NOT NULL,
    satisfaction_actual bigint,
    adjustment          text COLLATE "C" NOT NULL,
    by_user             text COLLATE "C" NOT NULL,
    at                  text COLLATE "C" NOT NULL,
    PRIMARY KEY (plan_id, quarter)
);
CREATE TABLE surveys (
    survey_id             text COLLATE "C" PRIMARY KEY,
    customer_id           text COLLATE "C" NOT NULL,
    kind                  text COLLATE "C" NOT NULL,
    ticket_id             text COLLATE "C",
    taken_at              text COLLATE "C" NOT NULL,
    taken_by              text COLLATE "C" NOT NULL,
    respondent            text COLLATE "C" NOT NULL,
    score                 bigint NOT NULL,
    account_manager_score bigint,
    comments              text COLLATE "C" NOT NULL
);
CREATE INDEX surveys_by_customer ON surveys(customer_id, taken_at);
CREATE INDEX surveys_by_taker ON surveys(taken_by, taken_at);
CREATE TABLE scorecards (
    scorecard_id text COLLATE "C" PRIMARY KEY,
    person       text COLLATE "C" NOT NULL,
    period       text COLLATE "C" NOT NULL,
    sales_target text COLLATE "C" NOT NULL,
    total        text COLLATE "C",
    computed_at  text COLLATE "C"
);
CREATE INDEX scorecards_by_person ON scorecards(person, period);
CREATE TABLE scorecard_lines (
    scorecard_id text COLLATE "C" NOT NULL,
    measure      text COLLATE "C" NOT NULL,
    attainment   text COLLATE "C" NOT NULL,
    weight_pct   bigint NOT NULL,
    points       text COLLATE "C" NOT NULL,
    basis        text COLLATE "C" NOT NULL,
    PRIMARY KEY (scorecard_id, measure)
);
CREATE TABLE scorecard_ratings (
    scorecard_id text COLLATE "C" NOT NULL,
    entry_id     text COLLATE "C" NOT NULL,
    rater        text COLLATE "C" NOT NULL,
    by_user      text COLLATE "C" NOT NULL,
    score        bigint NOT NULL,
    at           text COLLATE "C" NOT NULL,
    note         text COLLATE "C" NOT NULL,
    PRIMARY KEY (scorecard_id, entry_id)
);
CREATE TABLE reviews (
    review_id text COLLATE "C" PRIMARY KEY,
    held_on   text COLLATE "C" NOT NULL,
    attendees text COLLATE "C" NOT NULL
);
CREATE TABLE review_findings (
    review_id   text COLLATE "C" NOT NULL,
    entry_id    text COLLATE "C" NOT NULL,
    customer_id text COLLATE "C" NOT NULL,
    kind        text COLLATE "C" NOT NULL,
    text        text COLLATE "C" NOT NULL,
    PRIMARY KEY (review_id, entry_id)
);
CREATE TABLE review_measures (
    review_id    text COLLATE "C" NOT NULL,
    entry_id     text COLLATE "C" NOT NULL,
    customer_id  text COLLATE "C",
    text         text COLLATE "C" NOT NULL,
    owner        text COLLATE "C" NOT NULL,
    due_on       text COLLATE "C" NOT NULL,
    closed_at    text COLLATE "C",
    closed_by    text COLLATE "C",
    closing_note text COLLATE "C",
    PRIMARY KEY (review_id, entry_id)
);
CREATE INDEX review_measures_open ON review_measures(closed_at, due_on);
CREATE TABLE organisations (
    organisation_id       text COLLATE "C" PRIMARY KEY,
    project_id            text COLLATE "C" NOT NULL,
    name                  text COLLATE "C" NOT NULL,
    status                text COLLATE "C" NOT NULL,
    accepted_price_per_m2 text COLLATE "C" NOT NULL,
    payment_ratio_pct     text COLLATE "C" NOT NULL,
    resource_exchange     bigint NOT NULL,
    owner_occupier_pct    text COLLATE "C" NOT NULL,
    approved_by_gm        text COLLATE "C",
    approved_by_chairman  text COLLATE "C",
    price_per_m2          text COLLATE "C",
    price_method          text COLLATE "C",
    missing_clauses       text COLLATE "C" NOT NULL,
    signed_at             text COLLATE "C"
);
CREATE TABLE organisation_instalments (
    organisation_id  text COLLATE "C" NOT NULL,
    entry_id         text COLLATE "C" NOT NULL,
    due_on           text COLLATE "C" NOT NULL,
    amount           text COLLATE "C" NOT NULL,
    received         text COLLATE "C" NOT NULL,
    outstanding      text COLLATE "C" NOT NULL,
    last_reminder_on text COLLATE "C",
    note             text COLLATE "C" NOT NULL,
    PRIMARY KEY (organisation_id, entry_id)
);
CREATE INDEX organisation_instalments_due ON organisation_instalments(due_on);
CREATE TABLE organisation_collections (
    organisation_id text COLLATE "C" NOT NULL,
    entry_id        text COLLATE "C" NOT NULL,
    received_on     text COLLATE "C" NOT NULL,
    amount          text COLLATE "C" NOT NULL,
    receipt_no      text COLLATE "C" NOT NULL,
    by_user         text COLLATE "C" NOT NULL,
    PRIMARY KEY (organisation_id, entry_id)
);
CREATE TABLE organisation_reconciliations (
    organisation_id text COLLATE "C" NOT NULL,
    entry_id        text COLLATE "C" NOT NULL,
    on_day          text COLLATE "C" NOT NULL,
    bank_balance    text COLLATE "C" NOT NULL,
    receipts_total  text COLLATE "C" NOT NULL,
    by_user         text COLLATE "C" NOT NULL,
    note            text COLLATE "C" NOT NULL,
    PRIMARY KEY (organisation_id, entry_id)
);
"#;

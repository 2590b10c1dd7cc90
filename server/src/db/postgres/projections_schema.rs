//! The PostgreSQL schema of the projections headquarters queries and of the sales ledger
//! (migration step 2), ported from the SQLite steps that made them (`db::sqlite::projections`
//! `PROJECTION_SCHEMA`, and V3 and V5 of `db::sqlite::schema`) as they stand after those
//! steps: one table per projected entity, the ERP's monthly sales, re-grade decisions.
//!
//! As in step 1: `bigint` for integers, `boolean` for SQLite's 0/1 flags, text with
//! `COLLATE "C"` everywhere (ids, codes, dates and RFC 3339 times order as on SQLite), money
//! as Decimal text.

/// Version 2: the projection tables (customers with their owners, contacts, visits, yearly
/// sales and late payments; tickets; units; events), the monthly sales ledger and the
/// re-grade decisions.
///
/// Time-dependent columns (`sla_state`, `overdue_visits`) hold their value at `projected_at`;
/// live queries compare `reply_due_at` or `next_visit_due` with the current time.
pub(crate) const V2_PROJECTIONS_AND_LEDGER: &str = r#"
CREATE TABLE customers (
    customer_id         text COLLATE "C" PRIMARY KEY,
    name                text COLLATE "C" NOT NULL,
    industry            text COLLATE "C" NOT NULL,
    region              text COLLATE "C" NOT NULL,
    tier                text COLLATE "C" NOT NULL,
    strategic           boolean NOT NULL,
    grade               text COLLATE "C",
    score               bigint,
    credit_grade        text COLLATE "C",
    credit_limit        text COLLATE "C" NOT NULL,
    payment_terms       text COLLATE "C" NOT NULL,
    profit_contribution text COLLATE "C" NOT NULL,
    latest_sales_year   bigint,
    latest_annual_sales text COLLATE "C",
    created_at          text COLLATE "C" NOT NULL,
    next_visit_due      text COLLATE "C",
    overdue_visits      bigint NOT NULL,
    projected_at        text COLLATE "C" NOT NULL,
    leading_brand       boolean NOT NULL DEFAULT false
);

CREATE TABLE customer_owners (
    customer_id text COLLATE "C" NOT NULL,
    owner_id    text COLLATE "C" NOT NULL,
    PRIMARY KEY (customer_id, owner_id)
);
CREATE INDEX customer_owners_by_owner ON customer_owners(owner_id, customer_id);

CREATE TABLE contacts (
    customer_id text COLLATE "C" NOT NULL,
    contact_id  text COLLATE "C" NOT NULL,
    name        text COLLATE "C" NOT NULL,
    title       text COLLATE "C" NOT NULL,
    phone       text COLLATE "C" NOT NULL,
    email       text COLLATE "C" NOT NULL,
    is_primary  boolean NOT NULL,
    PRIMARY KEY (customer_id, contact_id)
);

-- Topics are a JSON array (text, as on SQLite); the check keeps it valid JSON.
CREATE TABLE visits (
    customer_id         text COLLATE "C" NOT NULL,
    visit_id            text COLLATE "C" NOT NULL,
    level               text COLLATE "C" NOT NULL,
    visit_date          text COLLATE "C" NOT NULL,
    visitor             text COLLATE "C" NOT NULL,
    topics              text COLLATE "C" NOT NULL CHECK (topics::jsonb IS NOT NULL),
    problems            text COLLATE "C" NOT NULL,
    demand              text COLLATE "C" NOT NULL,
    competitor_activity text COLLATE "C" NOT NULL,
    personnel_changes   text COLLATE "C" NOT NULL,
    PRIMARY KEY (customer_id, visit_id)
);
CREATE INDEX visits_by_visitor ON visits(visitor, visit_date);
CREATE INDEX visits_by_date ON visits(visit_date);

CREATE TABLE customer_sales_years (
    customer_id text COLLATE "C" NOT NULL,
    year        bigint NOT NULL,
    amount      text COLLATE "C" NOT NULL,
    PRIMARY KEY (customer_id, year)
);

CREATE TABLE customer_late_payments (
    customer_id     text COLLATE "C" NOT NULL,
    late_payment_id text COLLATE "C" NOT NULL,
    reference       text COLLATE "C" NOT NULL,
    due_on          text COLLATE "C" NOT NULL,
    paid_on         text COLLATE "C",
    PRIMARY KEY (customer_id, late_payment_id)
);
CREATE INDEX customer_late_payments_by_due ON customer_late_payments(due_on);

CREATE TABLE tickets (
    ticket_id      text COLLATE "C" PRIMARY KEY,
    customer_id    text COLLATE "C" NOT NULL,
    kind           text COLLATE "C" NOT NULL,
    priority       text COLLATE "C" NOT NULL,
    status         text COLLATE "C" NOT NULL,
    title          text COLLATE "C" NOT NULL,
    opened_at      text COLLATE "C" NOT NULL,
    opened_by      text COLLATE "C" NOT NULL,
    owner          text COLLATE "C",
    first_reply_at text COLLATE "C",
    reply_due_at   text COLLATE "C" NOT NULL,
    sla_state      text COLLATE "C" NOT NULL,
    replies        bigint NOT NULL,
    satisfaction   bigint,
    projected_at   text COLLATE "C" NOT NULL
);
CREATE INDEX tickets_by_customer ON tickets(customer_id);
CREATE INDEX tickets_by_status ON tickets(status);

CREATE TABLE units (
    project_id  text COLLATE "C" NOT NULL,
    unit_id     text COLLATE "C" NOT NULL,
    code        text COLLATE "C" NOT NULL,
    building_id text COLLATE "C" NOT NULL,
    floor       bigint NOT NULL,
    layout      text COLLATE "C" NOT NULL,
    area_m2     text COLLATE "C" NOT NULL,
    unit_price  text COLLATE "C",
    total_price text COLLATE "C",
    approved    boolean NOT NULL,
    approvers   text COLLATE "C" CHECK (approvers IS NULL OR approvers::jsonb IS NOT NULL),
    approved_at text COLLATE "C",
    status      text COLLATE "C" NOT NULL,
    PRIMARY KEY (project_id, unit_id)
);
CREATE INDEX units_by_status ON units(status);

CREATE TABLE events (
    event_id       text COLLATE "C" PRIMARY KEY,
    project_id     text COLLATE "C" NOT NULL,
    name           text COLLATE "C" NOT NULL,
    starts_at      text COLLATE "C" NOT NULL,
    mode           text COLLATE "C" NOT NULL,
    allotted_units bigint NOT NULL,
    buyers         bigint NOT NULL
);

-- Sales booked per customer and calendar month (CNY, Decimal text), as the ERP reports them.
CREATE TABLE sales_monthly (
    customer_id text COLLATE "C" NOT NULL,
    month       text COLLATE "C" NOT NULL CHECK (month ~ '^[0-9]{4}-[01][0-9]$'),
    amount      text COLLATE "C" NOT NULL,
    source      text COLLATE "C" NOT NULL,
    imported_at text COLLATE "C" NOT NULL,
    PRIMARY KEY (customer_id, month)
);
CREATE INDEX sales_monthly_by_month ON sales_monthly(month);

CREATE TABLE regrade_decisions (
    customer_id    text COLLATE "C" NOT NULL,
    year           bigint NOT NULL,
    proposed_tier  text COLLATE "C" NOT NULL,
    proposed_grade text COLLATE "C" NOT NULL,
    decision       text COLLATE "C" NOT NULL CHECK (decision IN ('approved', 'rejected')),
    decided_by     text COLLATE "C" NOT NULL,
    decided_at     text COLLATE "C" NOT NULL,
    PRIMARY KEY (customer_id, year)
);
"#;

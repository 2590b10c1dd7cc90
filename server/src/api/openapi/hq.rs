//! Headquarters' JSON API (`crate::api::hq`, ADR 0008): the dashboard's data and its two
//! decisions.

use serde_json::{Value, json};

use super::errors::Code;
use super::op::{
    Caller, Op, Paths, array, array_of, closed_object, integer, nullable, object, path_param,
    query, reference, string, text,
};

/// A read for finance, HQ and admin, by device token or dashboard session.
fn read(summary: &str, description: &str) -> Op {
    Op::get(summary)
        .tag("hq")
        .caller(Caller::DeviceOrSession)
        .describe(description)
        .fails(Code::Forbidden, "The caller is not finance, HQ or admin.")
        .fails(Code::Internal, "A fault on the server.")
}

/// A decision, by an HQ or admin device token only (a browser session cannot be ridden by
/// another site's form).
fn decide(summary: &str, description: &str, answer: Value) -> Op {
    Op::post(summary)
        .tag("hq")
        .caller(Caller::Device)
        .describe(description)
        .json(200, "Done.", answer)
        .fails(Code::Forbidden, "The caller is not HQ or admin.")
        .fails(Code::Internal, "A fault on the server; nothing changed.")
}

fn regrade(action: &str, summary: &str) -> Op {
    decide(
        summary,
        &format!("Decides this year's re-grade proposal of the customer (`{action}`). An approval is a commit by the approver into the customer's document, so every device receives it by sync. No body is read."),
        closed_object(&["customer_id", "decision"], json!({ "customer_id": string(), "decision": { "const": action } })),
    )
    .param(path_param("id", "The customer."))
    .fails(Code::NotFound, "No undecided proposal for the customer.")
}

/// A paged list: the paging parameters, the page as an array with its `Link` and
/// `X-Total-Count` headers, and the refusal of a bad value.
pub(super) fn paged(op: Op, description: &str, item: &str) -> Op {
    op.param(query("dir", "asc | desc (each sort has its natural default)"))
        .param(query("limit", "rows per page, 1–500 (50 by default)"))
        .param(query("cursor", "where the page starts: a cursor from a `Link` header of an earlier page of the same sort"))
        .json(200, &format!("{description} One page of them, as an array. `X-Total-Count` is the number of rows matching the filters; `Link` (RFC 8288) gives the `first`, `prev` and `next` pages as this request with another cursor."), array_of(item))
        .fails(Code::InvalidField, "A filter or paging value that is not one of those listed (an unknown code, a rep who is not a user, a date that is not `YYYY-MM-DD`, a limit outside 1–500, a cursor from another sort or not from this list); the message names the field.")
        .fails(Code::MalformedRequest, "A query string that cannot be read (e.g. a parameter given twice).")
}

/// Headquarters' paths.
pub(super) fn paths() -> Paths {
    Paths::default()
        .add("/api/v1/hq/overview", read("总览计数 / Overview counts", "The overview page's counts.")
            .json(200, "The counts.", reference("Overview")))
        .add("/api/v1/hq/customers", paged(read("客户（按级别与等级）/ Customers by tier and grade", "Customers from the projections: searched, filtered (the filters combine), sorted and paged.")
            .param(query("tier", "strategic | key | main | general"))
            .param(query("grade", "A–D, or `none` for ungraded customers"))
            .param(query("rep", "an owning rep's user id"))
            .param(query("region", "a region, exactly"))
            .param(query("industry", "an industry, exactly"))
            .param(query("overdue", "`1`: only customers with a visit overdue"))
            .param(query("q", "part of the name, id, region, industry or an owning rep's name"))
            .param(query("sort", "tier (default) | name | grade | score | region | industry | sales | credit | reps | overdue")),
            "The customers.", "CustomerLine"))
        .add("/api/v1/hq/customers/{id}", read("客户档案 / A customer's file", "Archive, contacts, visits, tickets and the history of the document with its authors.")
            .param(path_param("id", "The customer."))
            .json(200, "The file.", reference("CustomerDetail"))
            .fails(Code::NotFound, "No such customer."))
        .add("/api/v1/hq/regrades", paged(read("待批准的分级调整 / Re-grade proposals", "This year's undecided proposals, highest score first by default: searched, filtered, sorted and paged.")
            .param(query("q", "part of the customer's name or id"))
            .param(query("proposed", "a proposed tier code"))
            .param(query("sort", "score (default, descending) | name | tier | proposed | grade | proposed_grade")),
            "The proposals.", "RegradeProposal"))
        .add("/api/v1/hq/regrades/{id}/approve", regrade("approve", "批准分级调整 / Approve a re-grade"))
        .add("/api/v1/hq/regrades/{id}/reject", regrade("reject", "驳回分级调整 / Reject a re-grade"))
        .add("/api/v1/hq/charts", read("图表 / Charts", "The charts page's series at the moment of asking: customers by tier and grade, visit compliance by month (the last 12) and by rep, reply-SLA breaches by week (the last 12, by the week a ticket was opened, in the policy's time zone), sales against the scorecards' targets by month. Months are `YYYY-MM`, money exact decimal text.")
            .json(200, "The series.", object(&["today", "tier_grade", "visits_by_month", "visits_by_rep", "sla_by_week", "sales_by_month"], json!({
                "today": string(), "tier_grade": { "type": "array" }, "visits_by_month": { "type": "array" }, "visits_by_rep": { "type": "array" },
                "sla_by_week": { "type": "array" }, "sales_by_month": { "type": "array" } }))))
        .add("/api/v1/hq/visit-compliance", read("拜访达标 / Visit compliance", "Visits against the cadence today, by rep and by level (every visit counted), and one page of the overdue visits (the longest overdue first unless sorted otherwise; `limit` 1–500, 50 by default; `cursor` from a `Link` header) with `X-Total-Count` (the overdue visits matching) and `Link` (`first`, `prev`, `next`); of one rep's customers when `rep` is given.")
            .param(query("rep", "a rep's user id"))
            .param(query("q", "part of the customer's name or id, or of one of its reps' names (narrows the overdue visits)"))
            .param(query("level", "leadership | account_manager | technical | quality (narrows the overdue visits)"))
            .param(query("made", "made | missed (every overdue visit is missed)"))
            .param(query("sort", "due (default) | customer | level | last"))
            .param(query("dir", "asc | desc"))
            .param(query("limit", "overdue visits per page, 1–500 (50 by default)"))
            .param(query("cursor", "where the page starts: from a `Link` header"))
            .json(200, "The compliance.", reference("Compliance"))
            .fails(Code::InvalidField, "A rep who is not a user, a level that is not one; a bad sort, direction, limit or cursor.")
            .fails(Code::MalformedRequest, "A query string that cannot be read (e.g. a parameter given twice)."))
        .add("/api/v1/hq/visit-compliance/month", read("月度拜访达标 / A month's visit compliance", "The cadence entries of one month (the rows behind a month of the compliance chart): due, made and the percentage over every entry, and one page of the entries (missed ones first unless sorted otherwise) with `X-Total-Count` (the entries matching) and `Link` (`first`, `prev`, `next`); of one rep's customers when `rep` is given.")
            .param(query("month", "YYYY-MM, not after this month (default: this month)"))
            .param(query("rep", "a rep's user id"))
            .param(query("q", "part of the customer's name or id, or of one of its reps' names (narrows the lines)"))
            .param(query("level", "leadership | account_manager | technical | quality (narrows the lines)"))
            .param(query("made", "made | missed (narrows the lines)"))
            .param(query("sort", "due (default: missed first, then by due date) | customer | level | visited"))
            .param(query("dir", "asc | desc"))
            .param(query("limit", "lines per page, 1–500 (50 by default)"))
            .param(query("cursor", "where the page starts: from a `Link` header"))
            .json(200, "The month's compliance.", reference("MonthCompliance"))
            .fails(Code::InvalidField, "`month` is not `YYYY-MM` or has not begun; a rep who is not a user; a level or state that is not one; a bad sort, direction, limit or cursor.")
            .fails(Code::MalformedRequest, "A query string that cannot be read (e.g. a parameter given twice)."))
        .add("/api/v1/hq/tickets", paged(read("工单时效 / Tickets with their SLA", "Tickets against the reply SLA at the moment of asking, most urgent first by default: searched, filtered (the filters combine), sorted and paged.")
            .param(query("show", "open (default) | all"))
            .param(query("sla", "overdue | due_soon | pending | breached | met"))
            .param(query("status", "a ticket status code"))
            .param(query("kind", "a ticket kind code"))
            .param(query("priority", "a ticket priority code"))
            .param(query("rep", "the owner's user id"))
            .param(query("customer", "a customer id"))
            .param(query("opened_from", "opened on or after this day, `YYYY-MM-DD` in the policy's time zone"))
            .param(query("opened_to", "opened on or before this day"))
            .param(query("q", "part of the title, the ticket's id, the customer's name or the owner's name"))
            .param(query("sort", "sla (default) | customer | kind | priority | status | title | opened | due | owner")),
            "The tickets.", "TicketSla"))
        .add("/api/v1/hq/conflicts", paged(read("待解决冲突 / Open conflicts", "Open conflicts: searched, filtered, sorted (the oldest first by default) and paged.")
            .param(query("kind", "a document kind: customer | ticket | project | event | lead | plan | survey | scorecard | review | organisation"))
            .param(query("q", "part of the document's id, the field or one of the values"))
            .param(query("sort", "seen (default, the oldest first) | doc | path")),
            "The conflicts.", "Conflict"))
        .add("/api/v1/hq/conflicts/resolve", decide("解决冲突 / Settle a conflict",
                "Keeps one value of a conflict: a forced write of the chosen value by the decider into the document (`Document::resolve_conflict`).",
                closed_object(&["resolved"], json!({ "resolved": { "const": true } })))
            .body("application/json", object(&["doc_id", "path", "value"], json!({
                "doc_id": text("The document, `kind/entity`."), "path": text("The conflicting field, as listed."),
                "value": text("One of the listed values."),
            })), "The conflict and the value to keep.")
            .fails(Code::NotFound, "No such open conflict, document or field.")
            .fails(Code::MalformedRequest, "The body is not JSON (a syntax error).")
            .fails(Code::UnsupportedMediaType, "The body is not sent as `Content-Type: application/json`.")
            .fails(Code::InvalidField, "The body is JSON of another shape, or the value is not one of the conflict's."))
        .add("/api/v1/hq/violations", paged(read("待复核违规 / Violations to review", "Compensated violations not yet reviewed, each with its writer's name: searched, filtered, sorted (the latest first by default) and paged.")
            .param(query("user", "the writer's user id"))
            .param(query("rule", "the rule broken (`owners_hq_only`, …); a well-formed rule no open violation broke matches none"))
            .param(query("q", "part of the writer's id or name, the device, the document or the field"))
            .param(query("sort", "at (default, the latest first) | user | doc | rule")),
            "The violations.", "Violation"))
        .add("/api/v1/hq/violations/{id}/reviewed", decide("标记违规已复核 / Mark a violation reviewed",
                "Marks a compensated violation reviewed. No body is read.",
                closed_object(&["violation_id", "reviewed"], json!({ "violation_id": { "type": "integer" }, "reviewed": { "const": true } })))
            .param(json!({ "name": "id", "in": "path", "required": true, "schema": { "type": "integer" }, "description": "The violation (an integer; anything else is 400)." }))
            .fails(Code::NotFound, "No such violation."))
        .add("/api/v1/hq/devices", paged(read("设备与同步 / Devices", "Devices, their last sync and how many changes they have not absorbed: searched, filtered, sorted (the longest silent first by default) and paged.")
            .param(query("q", "part of the device's label or id, or of its user's id or name"))
            .param(query("user", "the user's id"))
            .param(query("role", "rep | event_staff | venue | finance | hq | admin"))
            .param(query("state", "active | revoked"))
            .param(query("sort", "silent (default, the longest first) | device | user | role | behind | upload | outbox")),
            "The devices.", "Device"))
        .add("/api/v1/hq/quarantine", paged(read("隔离文档 / Quarantined documents", "Documents a background task (the projector, the mirror) could not process and set aside; each is retried once repaired. Searched, filtered, sorted (the latest failure first by default) and paged.")
            .param(query("task", "projection | mirror"))
            .param(query("kind", "a document kind, as for conflicts"))
            .param(query("q", "part of the document's id or of the error"))
            .param(query("sort", "last (default, the latest first) | first | attempts | task | doc")),
            "The quarantined documents.", "Quarantined"))
        .add("/api/v1/hq/reports/monthly", read("附件一 月度战略客户业务状况（JSON）/ Monthly key-account report", "附件一 for one month: the totals and open measures whole, and one page of the customers' rows (in the report's order unless sorted otherwise; `limit` 1–500, 50 by default; `cursor` from a `Link` header), with `X-Total-Count` (the rows) and `Link` (`first`, `prev`, `next`). The whole report is one file at `/hq/reports/monthly.xlsx` or `.csv`.")
            .param(query("month", "YYYY-MM; default: last month"))
            .param(query("sort", "rank (default: strategic first, then by volume) | name | volume | mom | yoy | ytd | overdue_tickets"))
            .param(query("dir", "asc | desc"))
            .param(query("limit", "rows per page, 1–500 (50 by default)"))
            .param(query("cursor", "where the page starts: from a `Link` header"))
            .json(200, "The report.", json!({ "type": "object" }))
            .fails(Code::MalformedRequest, "A query string that cannot be read (e.g. a parameter given twice).")
            .fails(Code::InvalidField, "`month` is not `YYYY-MM`; a bad sort, direction, limit or cursor."))
        .add("/api/v1/hq/scorecards", read("员工绩效考核 / Staff scorecards", "Scorecards, the latest period first unless sorted otherwise, each with its person's name and its published lines (measure, attainment, weight, points and how it was computed): searched, filtered and one page of them (`limit` 1–500, 50 by default; `cursor` from a `Link` header), with `X-Total-Count` and `Link` (`first`, `prev`, `next`).")
            .param(query("period", "YYYY-MM or YYYY; default: every period"))
            .param(query("person", "the person's user id"))
            .param(query("q", "part of the person's id or name"))
            .param(query("sort", "period (default, the latest first) | person | target | total"))
            .param(query("dir", "asc | desc"))
            .param(query("limit", "rows per page, 1–500 (50 by default)"))
            .param(query("cursor", "where the page starts: from a `Link` header"))
            .json(200, "The scorecards.", json!({ "type": "array" }))
            .fails(Code::InvalidField, "A period that is not `YYYY-MM` or `YYYY`, a person who is not a user; a bad sort, direction, limit or cursor.")
            .fails(Code::MalformedRequest, "A query string that cannot be read (e.g. a parameter given twice)."))
        .add("/api/v1/hq/meetings", paged(read("月度例会 / Monthly leadership reviews", "The months reviewed, with attendees, findings and open measures counted: searched, filtered, sorted (the newest first by default) and paged.")
            .param(query("year", "YYYY: the months of one year"))
            .param(query("open", "yes: months with measures still open | no: months with none"))
            .param(query("q", "part of the month or of an attendee's name"))
            .param(query("sort", "month (default, the newest first) | held | findings | open")),
            "The reviews.", "Review"))
        .add("/api/v1/hq/organisations", paged(read("委建单位候选 / Commissioning candidates", "The candidates of every project, each with its rank in its project (price, payment ratio, resource exchange, owner-occupiers; a filter does not change a rank) and whether the project has enough candidates for the negotiation group: searched, filtered, sorted (by project, then rank, by default) and paged.")
            .param(query("project", "a project with candidates"))
            .param(query("status", "candidate | negotiating | chosen | rejected"))
            .param(query("q", "part of the organisation's name or id"))
            .param(query("sort", "rank (default: by project, then rank) | name | price | payment | status | approved")),
            "The candidates.", "Candidate"))
        .add("/api/v1/hq/collections", paged(read("委建单位回款 / Commissioning collections", "The outstanding instalments with days overdue and whether a reminder is due today: searched, filtered, sorted (overdue first, the most days first, then by due date, by default) and paged.")
            .param(query("show", "overdue | reminder (a reminder is due today)"))
            .param(query("organisation", "an organisation's id"))
            .param(query("q", "part of the organisation's name or id"))
            .param(query("sort", "overdue (default) | due | organisation | amount | outstanding")),
            "The instalments.", "Instalment"))
        .add("/api/v1/hq/events", paged(read("选房活动 / Selection events", "Every selection event with its project, allotment and buyers and whether its desk is open on this server: searched, filtered, sorted (the earliest start first by default) and paged.")
            .param(query("project", "a project some event sells"))
            .param(query("desk", "open | closed"))
            .param(query("q", "part of the event's name or id"))
            .param(query("sort", "starts (default) | name | project | units | buyers")),
            "The events.", "SelectionEvent"))
        .add("/api/v1/hq/reports/quarterly", read("季度客户信用及销售分析（JSON）/ Quarterly credit and sales analysis", "The quarterly credit and sales analysis.")
            .param(query("quarter", "YYYY-Qn; default: last quarter"))
            .json(200, "The report.", json!({ "type": "object" }))
            .fails(Code::MalformedRequest, "A query string that cannot be read (e.g. a parameter given twice).")
            .fails(Code::InvalidField, "`quarter` is not `YYYY-Qn`."))
}

/// The overview's and the customer list's schemas.
fn overview_schemas() -> Vec<(&'static str, Value)> {
    vec![
        (
            "Overview",
            object(
                &[
                    "customers",
                    "customers_by_tier",
                    "open_tickets",
                    "overdue_tickets",
                    "customers_with_overdue_visits",
                    "open_conflicts",
                    "unreviewed_violations",
                    "devices_seen_24h",
                    "events",
                ],
                json!({ "customers": { "type": "integer" },
                    "customers_by_tier": { "type": "array", "description": "`[tier, count]` pairs, strategic first.", "items": { "type": "array", "prefixItems": [string(), { "type": "integer" }] } },
                    "open_tickets": { "type": "integer" }, "overdue_tickets": { "type": "integer" },
                    "customers_with_overdue_visits": { "type": "integer" }, "open_conflicts": { "type": "integer" },
                    "unreviewed_violations": { "type": "integer" }, "devices_seen_24h": { "type": "integer" },
                    "events": array(object(&["event_id", "project_id", "name", "starts_at", "allotted_units", "buyers"], json!({
                        "event_id": string(), "project_id": string(), "name": string(), "starts_at": string(),
                        "allotted_units": { "type": "integer" }, "buyers": { "type": "integer" } }))) }),
            ),
        ),
        (
            "CustomerLine",
            object(
                &[
                    "customer_id",
                    "name",
                    "industry",
                    "region",
                    "tier",
                    "strategic",
                    "grade",
                    "credit_limit",
                    "payment_terms",
                    "owners",
                    "owner_names",
                    "overdue_visits",
                ],
                json!({ "customer_id": string(), "name": string(), "industry": string(), "region": string(), "tier": string(),
                    "strategic": { "type": "boolean" }, "grade": nullable("string"), "score": nullable("integer"),
                    "credit_limit": text("CNY, decimal string."), "payment_terms": string(),
                    "latest_sales_year": nullable("integer"), "latest_annual_sales": nullable("string"),
                    "owners": { "type": "array", "items": string() }, "owner_names": { "type": "array", "items": string() }, "overdue_visits": { "type": "integer" },
                    "next_visit_due": nullable("string") }),
            ),
        ),
    ]
}

/// The schemas of a customer's file and of re-grades.
fn file_schemas() -> Vec<(&'static str, Value)> {
    vec![
        (
            "CustomerDetail",
            object(
                &[
                    "customer",
                    "leading_brand",
                    "annual_sales",
                    "contacts",
                    "visits",
                    "tickets",
                    "history",
                ],
                json!({ "customer": reference("CustomerLine"), "leading_brand": { "type": "boolean" },
                    "annual_sales": { "type": "array", "description": "`[year, amount]` pairs, oldest first.", "items": { "type": "array", "prefixItems": [{ "type": "integer" }, string()] } },
                    "contacts": { "type": "array" }, "visits": { "type": "array" }, "tickets": { "type": "array" },
                    "history": array(object(&["at", "author", "author_name", "action", "changes"], json!({ "at": string(), "author": string(), "author_name": text("The author's name (their id when no user has it)."), "action": string(),
                        "changes": array(object(&["field"], json!({ "field": text("Map keys from the document's root, joined by `/`."), "old": nullable("string"), "new": nullable("string") }))),
                        "more_changes": { "type": "boolean" } }))) }),
            ),
        ),
        (
            "RegradeProposal",
            object(
                &[
                    "customer_id",
                    "name",
                    "year",
                    "current_tier",
                    "proposed_tier",
                    "proposed_grade",
                    "score",
                    "reasons",
                ],
                json!({ "customer_id": string(), "name": string(), "year": { "type": "integer" }, "current_tier": string(),
                    "proposed_tier": string(), "current_grade": nullable("string"), "proposed_grade": string(),
                    "score": { "type": "integer" }, "reasons": { "type": "array", "items": { "type": "object", "description": "kind = tier (from, to, why) | grade (from, to, score, rank, of)" } } }),
            ),
        ),
    ]
}

/// The schemas of visit compliance and tickets.
fn visit_schemas() -> Vec<(&'static str, Value)> {
    vec![
        (
            "Compliance",
            object(
                &["today", "by_rep", "by_level", "overdue"],
                json!({ "today": string(), "by_rep": { "type": "object", "additionalProperties": reference("ComplianceCount") },
                    "by_level": { "type": "object", "additionalProperties": reference("ComplianceCount") }, "overdue": { "type": "array" } }),
            ),
        ),
        (
            "MonthCompliance",
            object(
                &["month", "first", "last", "due", "made", "percent", "lines"],
                json!({ "month": string(), "first": string(), "last": string(), "due": { "type": "integer" }, "made": { "type": "integer" },
                    "percent": { "type": ["string", "null"] }, "lines": { "type": "array", "items": reference("MonthLine") } }),
            ),
        ),
        (
            "MonthLine",
            object(
                &["customer_id", "customer_name", "owners", "level", "due_on", "visited_on"],
                json!({ "customer_id": string(), "customer_name": string(), "owners": { "type": "array", "items": string() },
                    "level": string(), "due_on": string(), "visited_on": { "type": ["string", "null"] } }),
            ),
        ),
        (
            "ComplianceCount",
            object(
                &["required", "overdue", "on_schedule_percent"],
                json!({ "required": { "type": "integer" }, "overdue": { "type": "integer" }, "on_schedule_percent": string() }),
            ),
        ),
        (
            "TicketSla",
            object(
                &[
                    "ticket_id",
                    "customer_id",
                    "customer_name",
                    "kind",
                    "priority",
                    "status",
                    "title",
                    "opened_at",
                    "sla",
                    "reply_due_at",
                    "minutes",
                ],
                json!({ "ticket_id": string(), "customer_id": string(), "customer_name": string(), "kind": string(), "priority": string(),
                    "status": string(), "title": string(), "owner": nullable("string"), "owner_name": nullable("string"), "opened_at": string(),
                    "sla": { "type": "string", "enum": ["overdue", "due_soon", "pending", "breached", "met"] },
                    "reply_due_at": string(), "minutes": { "type": "integer" } }),
            ),
        ),
    ]
}

/// The schemas of review, devices and quarantine.
fn review_schemas() -> Vec<(&'static str, Value)> {
    vec![
        (
            "Violation",
            object(
                &[
                    "violation_id",
                    "at",
                    "user_id",
                    "device_id",
                    "doc_id",
                    "field",
                    "rule",
                    "old_value",
                    "new_value",
                    "user_name",
                ],
                json!({ "violation_id": { "type": "integer" }, "at": string(), "user_id": string(), "user_name": string(), "device_id": string(), "doc_id": string(), "doc_name": text("The document's name where the projections know it, else empty."),
                    "field": string(), "rule": string(), "old_value": string(), "new_value": string() }),
            ),
        ),
        (
            "Device",
            object(
                &["device_id", "user_id", "user_name", "role", "label", "changes_behind"],
                json!({ "device_id": string(), "user_id": string(), "user_name": string(), "role": string(), "label": string(),
                    "last_seen_at": nullable("string"), "minutes_since_sync": nullable("integer"), "changes_behind": { "type": "integer" },
                    "last_upload_at": nullable("string"), "outbox_age_minutes": nullable("integer"), "revoked_at": nullable("string") }),
            ),
        ),
        (
            "Review",
            object(
                &["review_id", "held_on", "attendees", "findings", "open_measures"],
                json!({ "review_id": text("The month, `YYYY-MM`."), "held_on": string(), "attendees": { "type": "array", "items": string() },
                    "findings": { "type": "integer" }, "open_measures": { "type": "integer" } }),
            ),
        ),
        (
            "Candidate",
            object(
                &[
                    "rank",
                    "organisation_id",
                    "project_id",
                    "name",
                    "status",
                    "accepted_price_per_m2",
                    "payment_ratio_pct",
                    "enough_for_negotiation",
                ],
                json!({ "rank": integer("1 = best in its project."), "organisation_id": string(), "project_id": string(), "name": string(),
                    "status": string(), "accepted_price_per_m2": text("Decimal, CNY."), "payment_ratio_pct": text("Decimal."),
                    "resource_exchange": { "type": "integer" }, "owner_occupier_pct": text("Decimal."),
                    "approved_by_gm": nullable("string"), "approved_by_chairman": nullable("string"), "price_per_m2": nullable("string"),
                    "missing_clauses": { "type": "array", "items": string() }, "enough_for_negotiation": { "type": "boolean" } }),
            ),
        ),
        (
            "Instalment",
            object(
                &[
                    "organisation_id",
                    "entry_id",
                    "name",
                    "due_on",
                    "amount",
                    "received",
                    "outstanding",
                    "days_overdue",
                    "reminder_due",
                ],
                json!({ "organisation_id": string(), "entry_id": string(), "name": text("The organisation's name."), "due_on": string(),
                    "amount": text("Decimal, CNY."), "received": text("Decimal, CNY."), "outstanding": text("Decimal, CNY."),
                    "last_reminder_on": nullable("string"), "days_overdue": { "type": "integer" }, "reminder_due": { "type": "boolean" } }),
            ),
        ),
        (
            "SelectionEvent",
            object(
                &[
                    "event_id",
                    "name",
                    "project_id",
                    "starts_at",
                    "allotted_units",
                    "buyers",
                    "desk_open",
                ],
                json!({ "event_id": string(), "name": string(), "project_id": string(), "starts_at": text("RFC 3339, UTC."),
                    "allotted_units": { "type": "integer" }, "buyers": { "type": "integer" }, "desk_open": { "type": "boolean" } }),
            ),
        ),
        (
            "Quarantined",
            object(
                &["task", "doc_id", "seq", "error", "first_at", "last_at", "attempts"],
                json!({ "task": text("The task that could not process it."), "doc_id": string(), "doc_name": text("The document's name where the projections know it, else empty."),
                    "seq": integer("Its sequence position (projection) or ledger position (mirror) when it failed."),
                    "error": text("What failed."), "first_at": string(), "last_at": string(), "attempts": { "type": "integer" } }),
            ),
        ),
    ]
}

/// Headquarters' schemas.
pub(super) fn schemas() -> Vec<(&'static str, Value)> {
    let mut all = overview_schemas();
    all.extend(file_schemas());
    all.extend(visit_schemas());
    all.extend(review_schemas());
    all
}

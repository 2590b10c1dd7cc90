//! The pipeline, plans and surveys paths of headquarters' JSON API
//! (`crate::api::account_work`): the same structs the pages show.

use serde_json::json;

use super::errors::Code;
use super::op::{Caller, Op, Paths, closed_object, object, path_param, query, string, text};

/// A read for finance, HQ and admin, by device token or dashboard session, answering an
/// object.
fn read(summary: &str, description: &str) -> Op {
    read_as(summary, description, "object")
}

/// A read answering JSON of `kind` (`object` or `array`).
fn read_as(summary: &str, description: &str, kind: &str) -> Op {
    Op::get(summary)
        .tag("hq")
        .caller(Caller::DeviceOrSession)
        .describe(description)
        .fails(Code::Forbidden, "The caller is not finance, HQ or admin.")
        .fails(Code::Internal, "A fault on the server.")
        .json(200, "The data the page shows.", json!({ "type": kind }))
}

/// A plan decision, by an HQ or admin device token only.
fn decide(summary: &str, description: &str, answer: serde_json::Value) -> Op {
    Op::post(summary)
        .tag("hq")
        .caller(Caller::Device)
        .describe(description)
        .json(200, "Done.", answer)
        .param(path_param("id", "The plan (`<customer>-<year>`)."))
        .fails(Code::Forbidden, "The caller is not HQ or admin.")
        .fails(Code::NotFound, "No such plan.")
        .fails(Code::InvalidField, "The rules refuse the decision; the message says why.")
        .fails(Code::Internal, "A fault on the server; nothing changed.")
}

/// The paths.
pub(super) fn paths() -> Paths {
    let malformed = "A query string that cannot be read (e.g. a parameter given twice).";
    Paths::default()
        .add("/api/v1/hq/pipeline", read("客户开发进度 / Pipeline", "Leads by stage with counts and expected value, by rep, the win rate (won ÷ (won + lost)) and one page of the leads matching the filter, with `X-Total-Count` (the leads) and `Link` (`first`, `prev`, `next`).")
            .param(query("owner", "a rep's user id"))
            .param(query("stage", "market_research | first_contact | needs_analysis | solution | negotiation | won | lost"))
            .param(query("q", "part of the lead's title or id or of its customer's name (narrows the leads, not the totals)"))
            .param(query("sort", "changed (default, newest first) | title | customer | stage | value | rep"))
            .param(query("dir", "asc | desc"))
            .param(query("limit", "leads per page, 1–500 (50 by default)"))
            .param(query("cursor", "where the page starts: from a `Link` header"))
            .fails(Code::InvalidField, "A stage that is not one, a rep who is not a user, or a bad sort, direction, limit or cursor.")
            .fails(Code::MalformedRequest, malformed))
        .add("/api/v1/hq/pipeline/{id}", read("线索 / A lead", "One lead and its stage history.")
            .param(path_param("id", "The lead."))
            .fails(Code::NotFound, "No such lead."))
        .add("/api/v1/hq/plans", read_as("大客户管理计划 / Account plans", "Plans of a year with their status, the owners they lack and the quarterly evaluations due, by customer unless sorted otherwise; one page of them (`limit` 1–500, 50 by default; `cursor` from a `Link` header), with `X-Total-Count` and `Link` (`first`, `prev`, `next`).", "array")
            .param(query("year", "a year (default: this year) or `all`"))
            .param(query("status", "draft | approved | revised_since_approval"))
            .param(query("q", "part of the customer's name or id, or of the plan's id"))
            .param(query("sort", "customer (default) | year | status | revision | due"))
            .param(query("dir", "asc | desc"))
            .param(query("limit", "rows per page, 1–500"))
            .param(query("cursor", "where the page starts"))
            .fails(Code::MalformedRequest, malformed)
            .fails(Code::InvalidField, "`year` is neither a year nor `all`; a status that is not one; a bad sort, direction, limit or cursor."))
        .add("/api/v1/hq/plans/{id}", read("计划 / An account plan", "One plan: goals per quarter, owners, strategy, service plan, evaluations with their attainment, and why it cannot be approved yet, if it cannot.")
            .param(path_param("id", "The plan (`<customer>-<year>`)."))
            .fails(Code::NotFound, "No such plan."))
        .add("/api/v1/hq/plans/{id}/approve", decide("审批计划 / Approve a plan",
                "Approves the plan's current revision, a commit by the approver into the plan's document. Refused (422) when `rules::check_approval` refuses. No body is read.",
                closed_object(&["plan_id", "approved"], json!({ "plan_id": string(), "approved": { "const": true } }))))
        .add("/api/v1/hq/plans/{id}/evaluate", decide("季度评估 / Evaluate a quarter",
                "Records an ended quarter's evaluation: the server fills the actuals (sales from the ERP ledger, profit contribution at the customer's margin, the mean survey score), headquarters gives the adjustment.",
                closed_object(&["plan_id", "quarter"], json!({ "plan_id": string(), "quarter": { "type": "integer" } })))
            .body("application/json", object(&["quarter"], json!({
                "quarter": { "type": "integer", "minimum": 1, "maximum": 4 },
                "adjustment": text("The adjustment decided (调整措施)."),
            })), "The quarter and the adjustment.")
            .fails(Code::MalformedRequest, "The body is not JSON (a syntax error).")
            .fails(Code::UnsupportedMediaType, "The body is not sent as `Content-Type: application/json`."))
        .add("/api/v1/hq/surveys", read("客户满意度 / Surveys", "Survey results by customer, the latest score, the satisfaction factor and the next periodic survey by tier: one page of the customers (overdue first unless sorted otherwise; `limit` 1–500, 50 by default; `cursor` from a `Link` header) and the surveys of those customers, with `X-Total-Count` (the customers) and `Link` (`first`, `prev`, `next`).")
            .param(query("tier", "strategic | key | main | general"))
            .param(query("q", "part of the customer's name or id"))
            .param(query("sort", "due (default) | name | tier | surveys | latest"))
            .param(query("dir", "asc | desc"))
            .param(query("limit", "customers per page, 1–500"))
            .param(query("cursor", "where the page starts"))
            .fails(Code::InvalidField, "A tier that is not one; a bad sort, direction, limit or cursor.")
            .fails(Code::MalformedRequest, malformed))
}

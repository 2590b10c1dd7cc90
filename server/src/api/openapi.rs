//! The OpenAPI 3.1 document of the JSON API, served at `/api/v1/openapi.json`.
//!
//! Written by hand from the routes it describes; `server/tests/hq_api.rs` calls every GET
//! path listed here and checks that each answers with the shape declared, and that every
//! `/api/v1/hq` route is listed, so the document cannot drift from the server silently.

use serde_json::{Value, json};

fn string() -> Value {
    json!({ "type": "string" })
}

fn nullable(kind: &str) -> Value {
    json!({ "type": [kind, "null"] })
}

fn object(required: &[&str], properties: Value) -> Value {
    json!({ "type": "object", "required": required, "properties": properties })
}

fn array_of(schema: &str) -> Value {
    json!({ "type": "array", "items": { "$ref": format!("#/components/schemas/{schema}") } })
}

fn reference(schema: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{schema}") })
}

fn query(name: &str, description: &str) -> Value {
    json!({ "name": name, "in": "query", "required": false, "schema": string(), "description": description })
}

fn path_param(name: &str) -> Value {
    json!({ "name": name, "in": "path", "required": true, "schema": string() })
}

fn get(summary: &str, parameters: Value, response: Value) -> Value {
    json!({ "get": {
        "summary": summary,
        "security": [{ "device": [] }, { "session": [] }],
        "parameters": parameters,
        "responses": {
            "200": { "description": "OK", "content": { "application/json": { "schema": response } } },
            "401": { "$ref": "#/components/responses/Error" },
            "403": { "$ref": "#/components/responses/Error" }
        }
    }})
}

fn post(summary: &str, parameters: Value, body: Option<Value>) -> Value {
    let mut op = json!({
        "summary": summary,
        "security": [{ "device": [] }],
        "parameters": parameters,
        "responses": {
            "200": { "description": "Done", "content": { "application/json": { "schema": { "type": "object" } } } },
            "401": { "$ref": "#/components/responses/Error" },
            "403": { "$ref": "#/components/responses/Error" },
            "404": { "$ref": "#/components/responses/Error" },
            "422": { "$ref": "#/components/responses/Error" }
        }
    });
    if let Some(schema) = body {
        op["requestBody"] =
            json!({ "required": true, "content": { "application/json": { "schema": schema } } });
    }
    json!({ "post": op })
}

fn paths() -> Value {
    json!({
        "/api/v1/hq/overview": get("总览计数 / Overview counts", json!([]), reference("Overview")),
        "/api/v1/hq/customers": get("客户（按级别与等级）/ Customers by tier and grade",
            json!([query("tier", "strategic | key | main | general"), query("grade", "A–D or none"), query("q", "part of the name")]),
            array_of("CustomerLine")),
        "/api/v1/hq/customers/{id}": get("客户档案 / A customer's file", json!([path_param("id")]), reference("CustomerDetail")),
        "/api/v1/hq/regrades": get("待批准的分级调整 / Re-grade proposals", json!([]), array_of("RegradeProposal")),
        "/api/v1/hq/regrades/{id}/approve": post("批准分级调整 / Approve a re-grade", json!([path_param("id")]), None),
        "/api/v1/hq/regrades/{id}/reject": post("驳回分级调整 / Reject a re-grade", json!([path_param("id")]), None),
        "/api/v1/hq/visit-compliance": get("拜访达标 / Visit compliance", json!([]), reference("Compliance")),
        "/api/v1/hq/tickets": get("工单时效 / Tickets with their SLA",
            json!([query("show", "open (default) | all"), query("sla", "overdue | due_soon | pending | breached | met")]),
            array_of("TicketSla")),
        "/api/v1/hq/conflicts": get("待解决冲突 / Open conflicts", json!([]), array_of("Conflict")),
        "/api/v1/hq/conflicts/resolve": post("解决冲突 / Settle a conflict", json!([]),
            Some(object(&["doc_id", "path", "value"], json!({ "doc_id": string(), "path": string(), "value": string() })))),
        "/api/v1/hq/violations": get("待复核违规 / Violations to review", json!([]), array_of("Violation")),
        "/api/v1/hq/violations/{id}/reviewed": post("标记违规已复核 / Mark a violation reviewed", json!([path_param("id")]), None),
        "/api/v1/hq/devices": get("设备与同步 / Devices", json!([]), array_of("Device")),
        "/api/v1/hq/reports/monthly": get("附件一 月度战略客户业务状况（JSON）/ Monthly key-account report",
            json!([query("month", "YYYY-MM; default: last month")]), json!({ "type": "object" })),
        "/api/v1/hq/reports/quarterly": get("季度客户信用及销售分析（JSON）/ Quarterly credit and sales analysis",
            json!([query("quarter", "YYYY-Qn; default: last quarter")]), json!({ "type": "object" })),
        "/api/v1/events/{id}/desk": get("选房实时销控表 / An event's control table", json!([path_param("id")]), reference("ControlTable")),
        "/api/v1/events/{id}/reconciliation": get("选房对账 / An event's reconciliation", json!([path_param("id")]), json!({ "type": "object" })),
    })
}

fn schemas() -> Value {
    json!({
        "Error": object(&["error"], json!({ "error": object(&["code", "message"], json!({ "code": string(), "message": string() })) })),
        "Overview": object(&["customers", "customers_by_tier", "open_tickets", "overdue_tickets", "open_conflicts", "unreviewed_violations", "devices_seen_24h", "events"],
            json!({ "customers": { "type": "integer" }, "customers_by_tier": { "type": "array" }, "open_tickets": { "type": "integer" },
                    "overdue_tickets": { "type": "integer" }, "open_conflicts": { "type": "integer" },
                    "unreviewed_violations": { "type": "integer" }, "devices_seen_24h": { "type": "integer" }, "events": { "type": "array" } })),
        "CustomerLine": object(&["customer_id", "name", "tier", "strategic", "grade", "credit_limit", "owners"],
            json!({ "customer_id": string(), "name": string(), "tier": string(), "strategic": { "type": "boolean" },
                    "grade": nullable("string"), "score": nullable("integer"), "credit_limit": { "type": "string", "description": "decimal CNY" },
                    "payment_terms": string(), "latest_annual_sales": nullable("string"), "owners": { "type": "array", "items": string() } })),
        "CustomerDetail": object(&["customer", "contacts", "visits", "tickets", "history"],
            json!({ "customer": reference("CustomerLine"), "contacts": { "type": "array" }, "visits": { "type": "array" },
                    "tickets": { "type": "array" }, "history": { "type": "array" }, "annual_sales": { "type": "array" } })),
        "RegradeProposal": object(&["customer_id", "name", "year", "current_tier", "proposed_tier", "proposed_grade", "score", "reasons"],
            json!({ "customer_id": string(), "name": string(), "year": { "type": "integer" }, "current_tier": string(),
                    "proposed_tier": string(), "current_grade": nullable("string"), "proposed_grade": string(),
                    "score": { "type": "integer" }, "reasons": { "type": "array", "items": { "type": "object", "description": "kind = tier (from, to, why) | grade (from, to, score, rank, of)" } } })),
        "Compliance": object(&["today", "by_rep", "by_level", "overdue"],
            json!({ "today": string(), "by_rep": { "type": "object" }, "by_level": { "type": "object" }, "overdue": { "type": "array" } })),
        "TicketSla": object(&["ticket_id", "customer_id", "kind", "priority", "status", "sla", "reply_due_at"],
            json!({ "ticket_id": string(), "customer_id": string(), "kind": string(), "priority": string(), "status": string(),
                    "sla": string(), "reply_due_at": string(), "minutes": { "type": "integer" } })),
        "Conflict": object(&["doc_id", "path", "values", "first_seen_at"],
            json!({ "doc_id": string(), "path": string(), "values": { "type": "array", "items": string() }, "first_seen_at": string() })),
        "Violation": object(&["violation_id", "at", "user_id", "doc_id", "field", "rule", "old_value", "new_value"],
            json!({ "violation_id": { "type": "integer" }, "at": string(), "user_id": string(), "doc_id": string(),
                    "field": string(), "rule": string(), "old_value": string(), "new_value": string() })),
        "Device": object(&["device_id", "user_id", "role", "label", "changes_behind"],
            json!({ "device_id": string(), "user_id": string(), "role": string(), "label": string(),
                    "last_seen_at": nullable("string"), "changes_behind": { "type": "integer" },
                    "last_upload_at": nullable("string"), "outbox_age_minutes": nullable("integer") })),
        "ControlTable": object(&["event_id", "mode", "units"],
            json!({ "event_id": string(), "mode": string(), "now_serving": nullable("integer"), "units": { "type": "array" } })),
    })
}

/// The whole document.
pub fn document() -> Value {
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "KAM headquarters API",
            "version": "1",
            "description": "大客户管理系统总部接口：客户分级、拜访达标、工单时效、冲突与违规、设备、选房销控与报表。The data behind the headquarters dashboard."
        },
        "paths": paths(),
        "components": {
            "schemas": schemas(),
            "responses": { "Error": { "description": "Refused; nothing changed", "content": { "application/json": { "schema": reference("Error") } } } },
            "securitySchemes": {
                "device": { "type": "http", "scheme": "bearer", "description": "A device token of a finance, hq or admin user" },
                "session": { "type": "apiKey", "in": "cookie", "name": "kam_session" }
            }
        }
    })
}

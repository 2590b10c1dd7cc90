//! The OpenAPI 3.1 document of the API that devices and programs use, served at
//! `/api/v1/openapi.json`: every route under `/api/` plus `/healthz` and `/metrics`.
//!
//! Written by hand from the routes it describes, in parts: `device` (sync in the binary wire
//! format, the change stream, documents, the public routes), `desk` (the selection desk's
//! commands and reads), `hq` (headquarters' JSON API) and `errors` (the one error format and
//! its codes), built with `op`. `server/tests/openapi.rs` keeps it honest: every route the
//! router serves under `/api/` (found in the source) must be listed with its method, every
//! GET answers the shape declared, provoked errors answer a status and code the operation
//! lists, and every refusal code and command kind in the source is listed.

mod account_work;
mod admin;
mod desk;
mod device;
mod errors;
mod hq;
mod op;
mod venue;

use serde_json::{Map, Value, json};

use crate::http::edge::limits::Limits;

fn description() -> String {
    let limits = Limits::default();
    format!(
        "大客户管理系统的设备与程序接口：同步、变更推送、选房台、总部数据。The API of KAM that devices and programs use: sync, change notices, the selection desk and headquarters' data.\n\n\
         **Callers.** A device authenticates with its token, `Authorization: Bearer <token>` (the scheme in any case); the token is checked before the body is read. Headquarters' reads also take a signed-in dashboard session cookie. `/healthz`, `/metrics`, `/api/v1/policy`, `/api/v1/summary` and this document need no credential.\n\n\
         **One error format.** Every error answers `{{\"error\": {{\"code\": \"<stable code>\", \"message\": \"<text>\"}}}}` (`components/schemas/Error`), whoever produced it: a handler, a limit, an unknown path (404 `not_found`) or a method the path does not have (405 `method_not_allowed`). Each operation lists the statuses and codes it answers; 429 and 503 carry `Retry-After`. A 4xx changed nothing; a 5xx says nothing internal. The documented exceptions are answers, not errors: the desk's refused command (409 `CommandAnswer`), a broken ledger chain (409 `Verification`) and an unhealthy server (503 `Health`).\n\n\
         **Limits** (defaults; `kam-server serve --help` names the flags): bodies of at most {} bytes except sync ({} bytes) and desk commands ({} bytes), 413 past them; a request must be answered within {} s (408); {} requests per second per address, {} per token or session and {} per user, {} failed credentials per second per address (429).",
        limits.max_body_bytes,
        kam_core::wire::MAX_REQUEST_BYTES,
        limits.max_command_bytes,
        limits.request_timeout_s,
        limits.rate_per_address,
        limits.rate_per_token,
        limits.rate_per_user,
        limits.failed_auth_per_address,
    )
}

fn schemas() -> Value {
    let mut all = Map::new();
    let parts =
        [errors::schemas(), device::schemas(), hq::schemas(), venue::schemas(), admin::schemas()];
    for (name, schema) in parts.into_iter().flatten() {
        all.insert(name.to_owned(), schema);
    }
    all.extend(desk::schemas());
    Value::Object(all)
}

/// The whole document.
pub fn document() -> Value {
    let paths = device::paths().merge(desk::paths()).merge(hq::paths()).merge(venue::paths());
    let paths = paths.merge(account_work::paths()).merge(admin::paths());
    json!({
        "openapi": "3.1.0",
        "info": { "title": "KAM API", "version": "1", "description": description() },
        "tags": [
            { "name": "sync", "description": "What every device calls: sync rounds, change notices, documents." },
            { "name": "desk", "description": "The selection desk (选房): commands under an idempotency key, the control table, reconciliation, the ledger." },
            { "name": "hq", "description": "Headquarters' data (总部), for finance, HQ and admin." },
            { "name": "admin", "description": "The administrator's lists: users and grants." },
            { "name": "public", "description": "No credential needed." },
        ],
        "paths": paths.into_value(),
        "components": {
            "schemas": schemas(),
            "responses": { "Error": errors::default_response() },
            "headers": { "Retry-After": errors::retry_after() },
            "securitySchemes": {
                "device": { "type": "http", "scheme": "bearer",
                    "description": "A device token (`kam-server admin enroll`): `Authorization: Bearer <token>`, the scheme matched without regard to case, the token one word of visible ASCII, at most 256 characters. What it may do follows its user's role (rep, event_staff, venue, finance, hq, admin) and grants." },
                "session": { "type": "apiKey", "in": "cookie", "name": crate::web::session::SESSION_COOKIE,
                    "description": "A signed-in dashboard session (`POST /login`), for headquarters' reads only; decisions take a device token." },
            }
        }
    })
}

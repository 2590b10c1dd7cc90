//! The OpenAPI document (`/api/v1/openapi.json`) against the server it describes, driven
//! in-process: what makes it fail when the two drift apart.
//!
//! - Every route the source registers under `/api/` (and `/healthz`, `/metrics`) is
//!   documented with its method, and every documented operation is a route: the routes are
//!   read from the source files, so a route added later without documentation fails here.
//! - Every GET answers the shape its schema declares.
//! - Errors provoked on purpose answer a status and `error.code` the operation lists, in the
//!   body the `Error` schema describes, with `Retry-After` where the document promises it.
//! - The desk's command kinds and refusal codes found in the source are the documented ones,
//!   every documented command deserialises as the server reads it, and every documented range
//!   is the range the server checks.
//! - Every status the edge names (`code_for`) and every code `ServerError` answers is in the
//!   catalogue with its status.
//!
//! The router has no socket here, so the per-address rate limits do not apply.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)]

use std::collections::BTreeSet;
use std::path::Path;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use kam_core::demo::DemoSpec;
use kam_server::desk::writer::{Desk, ReplyKind};
use kam_server::error::ServerError;
use kam_server::{
    data,
    http::{AppState, routes},
};
use serde_json::{Value, json};
use tower::ServiceExt;

// ---------------------------------------------------------------------------------------------
// A small JSON Schema check: the keywords the document uses.

fn is_type(value: &Value, kind: &str) -> bool {
    match kind {
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        "null" => value.is_null(),
        _ => false,
    }
}

/// Whether `value` satisfies `schema` (references resolved in `doc`); the error says where not.
fn check(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    if let Some(target) = schema.get("$ref").and_then(Value::as_str) {
        let resolved = doc.pointer(target.trim_start_matches('#'));
        return check(doc, resolved.ok_or(format!("{at}: dangling {target}"))?, value, at);
    }
    for part in schema["allOf"].as_array().into_iter().flatten() {
        check(doc, part, value, at)?;
    }
    if let Some(options) = schema["oneOf"].as_array() {
        let fits = options.iter().filter(|o| check(doc, o, value, at).is_ok()).count();
        if fits != 1 {
            return Err(format!("{at}: {fits} of {} `oneOf` fit {value}", options.len()));
        }
    }
    if schema.get("const").is_some_and(|c| c != value) {
        return Err(format!("{at}: {value} is not {}", schema["const"]));
    }
    if schema["enum"].as_array().is_some_and(|e| !e.contains(value)) {
        return Err(format!("{at}: {value} is not one of {}", schema["enum"]));
    }
    let kinds: Vec<&str> = match &schema["type"] {
        Value::String(kind) => vec![kind.as_str()],
        Value::Array(kinds) => kinds.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !kinds.is_empty() && !kinds.iter().any(|k| is_type(value, k)) {
        return Err(format!("{at}: {value} is not {kinds:?}"));
    }
    match value {
        Value::Object(map) => check_object(doc, schema, map, at),
        Value::Array(items) => check_array(doc, schema, items, at),
        Value::String(text) => {
            let n = text.chars().count() as u64;
            let short = schema["minLength"].as_u64().is_some_and(|m| n < m);
            let long = schema["maxLength"].as_u64().is_some_and(|m| n > m);
            if short || long { Err(format!("{at}: length {n} outside {schema}")) } else { Ok(()) }
        }
        Value::Number(n) => {
            let x = n.as_f64().unwrap();
            let below = |k: &str, strict: bool| {
                schema[k].as_f64().is_some_and(|m| if strict { x <= m } else { x < m })
            };
            let above = |k: &str, strict: bool| {
                schema[k].as_f64().is_some_and(|m| if strict { x >= m } else { x > m })
            };
            if below("minimum", false)
                || below("exclusiveMinimum", true)
                || above("maximum", false)
                || above("exclusiveMaximum", true)
            {
                return Err(format!("{at}: {x} outside the range of {schema}"));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn check_object(
    doc: &Value,
    schema: &Value,
    map: &serde_json::Map<String, Value>,
    at: &str,
) -> Result<(), String> {
    for field in schema["required"].as_array().into_iter().flatten() {
        let field = field.as_str().unwrap();
        if !map.contains_key(field) {
            return Err(format!("{at}: `{field}` is required but missing"));
        }
    }
    for (name, value) in map {
        let at = format!("{at}.{name}");
        match (schema["properties"].get(name), &schema["additionalProperties"]) {
            (Some(field), _) => check(doc, field, value, &at)?,
            (None, Value::Bool(false)) => return Err(format!("{at}: not a declared field")),
            (None, extra @ Value::Object(_)) => check(doc, extra, value, &at)?,
            (None, _) => {}
        }
    }
    Ok(())
}

fn check_array(doc: &Value, schema: &Value, items: &[Value], at: &str) -> Result<(), String> {
    if schema["maxItems"].as_u64().is_some_and(|m| items.len() as u64 > m) {
        return Err(format!("{at}: more than {} items", schema["maxItems"]));
    }
    if let Some(prefix) = schema["prefixItems"].as_array() {
        for (i, (item, part)) in items.iter().zip(prefix).enumerate() {
            check(doc, part, item, &format!("{at}[{i}]"))?;
        }
    } else if let Some(each) = schema.get("items") {
        for (i, item) in items.iter().enumerate() {
            check(doc, each, item, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The routes in the source.

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The text of the call that opens at `start` (just after its `(`), up to its closing `)`.
fn call_args(text: &str, start: usize) -> &str {
    let mut depth = 1;
    for (i, c) in text[start..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
        if depth == 0 {
            return &text[start..start + i];
        }
    }
    &text[start..]
}

/// Every `.route(PATH, METHODS)` in `server/src` whose path is served as the API, as
/// (method, path); a route whose path is not a literal is refused unless it is a page asset.
fn source_routes() -> BTreeSet<(String, String)> {
    let mut files = Vec::new();
    rust_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
    let mut routes = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (at, _) in text.match_indices(".route(") {
            let args = call_args(&text, at + ".route(".len()).trim_start();
            let Some(rest) = args.strip_prefix('"') else {
                assert!(
                    args.starts_with("assets::"),
                    "{}: a route that is not a literal path: {args}",
                    file.display()
                );
                continue;
            };
            let (path, methods) = rest.split_once('"').unwrap();
            if !kam_server::http::edge::envelope::is_api_path(path) {
                continue;
            }
            let mut found = false;
            for method in ["get", "post", "put", "delete", "patch", "head", "options", "any"] {
                let call = format!("{method}(");
                for (i, _) in methods.match_indices(&call) {
                    let before = methods[..i].chars().next_back().unwrap_or(' ');
                    if !(before.is_alphanumeric() || before == '_') {
                        routes.insert((method.to_owned(), path.to_owned()));
                        found = true;
                    }
                }
            }
            assert!(found, "{path}: no method found in `{methods}`");
        }
    }
    routes
}

/// Whether the route pattern `route` and the documented path template `documented` name the
/// same paths: the same segments, a parameter on either side matching anything.
fn same_path(route: &str, documented: &str) -> bool {
    let (a, b): (Vec<&str>, Vec<&str>) =
        (route.split('/').collect(), documented.split('/').collect());
    let param = |s: &str| s.starts_with('{');
    a.len() == b.len() && a.iter().zip(&b).all(|(x, y)| x == y || param(x) || param(y))
}

fn documented_operations(doc: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            out.push((method.clone(), path.clone()));
        }
    }
    out
}

#[test]
fn every_route_under_api_is_documented_with_its_methods_and_nothing_else() {
    let doc = kam_server::api::openapi::document();
    let documented = documented_operations(&doc);
    let routes = source_routes();
    assert!(routes.len() >= 25, "{} routes found in the source: {routes:?}", routes.len());
    for (method, route) in &routes {
        assert!(
            documented.iter().any(|(m, p)| m == method && same_path(route, p)),
            "{} {route} is served but not in the OpenAPI document",
            method.to_uppercase()
        );
    }
    for (method, path) in &documented {
        assert!(
            routes.iter().any(|(m, r)| m == method && same_path(r, path)),
            "{} {path} is documented but no route serves it",
            method.to_uppercase()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The catalogue of codes and the shared answers of every operation.

fn code_status(doc: &Value, code: &str) -> Option<u64> {
    doc["components"]["schemas"]["ErrorCode"]["x-kam-status"][code].as_u64()
}

#[test]
fn every_code_the_server_answers_is_catalogued_with_its_status() {
    let doc = kam_server::api::openapi::document();
    let codes = doc["components"]["schemas"]["ErrorCode"]["enum"].as_array().unwrap().clone();
    for status in 400..600 {
        let Ok(status) = StatusCode::from_u16(status) else { continue };
        let code = kam_server::http::edge::envelope::code_for(status);
        assert!(codes.contains(&json!(code)), "{status} answers `{code}`, not in ErrorCode");
        if let Some(documented) = code_status(&doc, code)
            && code != "internal"
        {
            assert_eq!(documented, u64::from(status.as_u16()), "`{code}`");
        }
    }
    let errors = [
        ServerError::NotFound,
        ServerError::Unauthorized,
        ServerError::Forbidden(String::new()),
        ServerError::Wire(kam_core::wire::WireError::TooLarge { size: 2, limit: 1 }),
        ServerError::Wire(kam_core::wire::WireError::UnsupportedVersion(2)),
        ServerError::Wire(kam_core::wire::WireError::BadMagic),
        ServerError::Invalid { field: "f", reason: String::new() },
        ServerError::Conflict(String::new()),
        ServerError::Malformed(String::new()),
        ServerError::OutOfRange { field: "f".into(), reason: String::new() },
        ServerError::Refused { code: "invalid_document", message: String::new() },
        ServerError::Refused { code: "document_too_large", message: String::new() },
        ServerError::BodyTooLarge { limit_bytes: 1 },
        ServerError::RateLimited { retry_after_s: 1 },
        ServerError::Unavailable(String::new()),
        ServerError::LockPoisoned,
        kam_server::auth::device_in_use(),
    ];
    for error in errors {
        assert_eq!(
            code_status(&doc, error.code()),
            Some(u64::from(error.status().as_u16())),
            "{error:?} is not catalogued with its status"
        );
    }
    // The codes other parts of the server write by hand: the desk's writer and sync refusals.
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let writer = std::fs::read_to_string(src.join("desk/writer.rs")).unwrap();
    for (at, _) in writer.match_indices("DeskReply::error(") {
        let args = call_args(&writer, at + "DeskReply::error(".len());
        let kind = args.split("ReplyKind::").nth(1).unwrap().split(',').next().unwrap();
        let code = args.split('"').nth(1).unwrap();
        // The writer names what an answer means; the HTTP edge's one mapping gives its status.
        let kind = match kind.trim() {
            "Unauthenticated" => ReplyKind::Unauthenticated,
            "NotPermitted" => ReplyKind::NotPermitted,
            "DeskNotOpen" => ReplyKind::DeskNotOpen,
            "KeyReused" => ReplyKind::KeyReused,
            "Overloaded" => ReplyKind::Overloaded,
            "Failed" => ReplyKind::Failed,
            other => panic!("the desk answers {other}: add it here"),
        };
        let status = u64::from(kam_server::desk::http::reply_status(kind).as_u16());
        assert_eq!(code_status(&doc, code), Some(status), "the desk's `{code}`");
    }
    // A desk that does not serve the event answers with who does (ADR 0021).
    let served_elsewhere =
        u64::from(kam_server::desk::http::reply_status(ReplyKind::ServedElsewhere).as_u16());
    for code in ["event_delegated", "lease_ended", "event_returned", "venue_recovering"] {
        assert_eq!(code_status(&doc, code), Some(served_elsewhere), "the desk's `{code}`");
    }
    let sync = std::fs::read_to_string(src.join("sync/mod.rs")).unwrap();
    for part in sync.split("ServerError::Refused {").skip(1) {
        let code = part.split('"').nth(1).unwrap();
        assert_eq!(code_status(&doc, code), Some(422), "sync's `{code}`");
    }
}

#[test]
fn every_operation_lists_the_errors_it_shares_with_its_kind() {
    let doc = kam_server::api::openapi::document();
    for (method, path) in documented_operations(&doc) {
        let op = &doc["paths"][&path][&method];
        let responses = op["responses"].as_object().unwrap();
        let has = |status: &str| responses.contains_key(status);
        let name = format!("{} {path}", method.to_uppercase());
        let authenticated = op["security"].as_array().is_some_and(|s| !s.is_empty());
        assert!(has("429") && has("405") && has("default"), "{name}");
        if authenticated {
            assert!(has("401") && has("503"), "{name}");
        }
        if op.get("requestBody").is_some() {
            assert!(has("413") && (has("400") || has("422")), "{name}");
        }
        if path.contains('{') {
            assert!(has("400"), "{name}");
        }
        for (status, answer) in responses {
            if status == "default" {
                continue;
            }
            let retry = answer["headers"]["Retry-After"]["$ref"].as_str();
            if status == "429" || (status == "503" && !path.starts_with("/healthz")) {
                assert_eq!(retry, Some("#/components/headers/Retry-After"), "{name} {status}");
            }
            // Every error listed is the envelope narrowed to codes of that status.
            if status.starts_with('4') || status.starts_with('5') {
                let schema = &answer["content"]["application/json"]["schema"];
                let envelope = schema["allOf"].as_array().or_else(|| {
                    schema["oneOf"]
                        .as_array()
                        .and_then(|o| o.iter().find_map(|s| s["allOf"].as_array()))
                });
                let Some(envelope) = envelope else { continue };
                if envelope[0]["$ref"] != "#/components/schemas/Error" {
                    continue; // A documented answer of its own (the desk's 409, the ledger's).
                }
                for code in envelope[1]["properties"]["error"]["properties"]["code"]["enum"]
                    .as_array()
                    .unwrap()
                {
                    let code = code.as_str().unwrap();
                    assert_eq!(
                        code_status(&doc, code),
                        status.parse().ok(),
                        "{name}: `{code}` under {status}"
                    );
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The desk's commands, refusals and ranges.

/// The string literals after `=> ` in the `pub fn {name}(&self)` bodies of `text`.
fn match_arms(text: &str, function: &str) -> Vec<String> {
    let mut out = Vec::new();
    for body in text.split(&format!("pub fn {function}(&self)")).skip(1) {
        let body = body.split("\n    }\n").next().unwrap();
        for arm in body.split("=> \"").skip(1) {
            out.push(arm.split('"').next().unwrap().to_owned());
        }
    }
    out
}

#[test]
fn the_desks_command_kinds_and_refusal_codes_in_the_source_are_documented() {
    let doc = kam_server::api::openapi::document();
    let schemas = &doc["components"]["schemas"];
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let command = std::fs::read_to_string(root.join("core/src/desk/command.rs")).unwrap();
    let kinds: BTreeSet<String> = match_arms(&command, "name").into_iter().collect();
    let documented: BTreeSet<String> = schemas["DeskCommand"]["discriminator"]["mapping"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(kinds, documented, "the command kinds of DeskCommand::name and the document");

    let listed = schemas["Refusal"]["properties"]["code"]["enum"].as_array().unwrap();
    let mut found = match_arms(
        &std::fs::read_to_string(root.join("core/src/rules/selection.rs")).unwrap(),
        "code",
    );
    let mut files = Vec::new();
    rust_files(&root.join("server/src/desk"), &mut files);
    for file in files.iter().filter(|f| !f.ends_with("tests.rs")) {
        let text = std::fs::read_to_string(file).unwrap();
        for (at, _) in text.match_indices("refuse(") {
            let args = call_args(&text, at + "refuse(".len()).trim_start();
            if let Some(rest) = args.strip_prefix('"') {
                found.push(rest.split('"').next().unwrap().to_owned());
            } else if args.starts_with("STALE_STATE") {
                found.push("stale_state".into());
            }
        }
    }
    found.extend([
        kam_core::bounds::OUT_OF_RANGE.to_owned(),
        kam_core::bounds::ARITHMETIC_OVERFLOW.to_owned(),
    ]);
    assert!(found.len() > 40, "{found:?}");
    for code in found {
        assert!(listed.contains(&json!(code)), "refusal `{code}` is answered but not documented");
    }
}

/// The least instance of `schema` (required fields only), with each bounded number at `at_max`
/// of its range when given.
fn sample(doc: &Value, schema: &Value) -> Value {
    if let Some(target) = schema["$ref"].as_str() {
        return sample(doc, doc.pointer(target.trim_start_matches('#')).unwrap());
    }
    if let Some(c) = schema.get("const") {
        return c.clone();
    }
    if let Some(first) = schema["enum"].as_array().and_then(|e| e.first()) {
        return first.clone();
    }
    if let Some(bound) = schema.get("x-kam-bound") {
        let max = bound["max"].as_str().unwrap();
        return if schema["type"] == "integer" {
            json!(max.parse::<i64>().unwrap())
        } else {
            json!(max)
        };
    }
    match schema["type"].as_str() {
        Some("object") => {
            let mut out = serde_json::Map::new();
            for name in schema["required"].as_array().into_iter().flatten() {
                let name = name.as_str().unwrap();
                out.insert(name.to_owned(), sample(doc, &schema["properties"][name]));
            }
            Value::Object(out)
        }
        Some("array") => json!([]),
        Some("integer") => json!(1),
        Some("boolean") => json!(true),
        _ => json!("x"),
    }
}

/// `value` just past the top of its range: one more, or one more decimal place.
fn past_max(schema: &Value) -> Value {
    let bound = &schema["x-kam-bound"];
    let max: rust_decimal::Decimal = bound["max"].as_str().unwrap().parse().unwrap();
    let step = rust_decimal::Decimal::new(1, bound["places"].as_u64().unwrap() as u32 + 1);
    if schema["type"] == "integer" {
        json!(max.to_string().parse::<i64>().unwrap() + 1)
    } else {
        json!((max + step).to_string())
    }
}

#[test]
fn every_documented_command_reads_as_the_server_reads_it_within_the_documented_ranges() {
    use kam_core::desk::command::{CommandRequest, DeskCommand};
    let doc = kam_server::api::openapi::document();
    let mapping = doc["components"]["schemas"]["DeskCommand"]["discriminator"]["mapping"]
        .as_object()
        .unwrap();
    let request_schema = json!({ "$ref": "#/components/schemas/CommandRequest" });
    for (kind, target) in mapping {
        let schema = doc.pointer(target.as_str().unwrap().trim_start_matches('#')).unwrap();
        let command = sample(&doc, schema);
        let parsed: DeskCommand = serde_json::from_value(command.clone())
            .unwrap_or_else(|e| panic!("{kind}: documented {command} does not parse: {e}"));
        assert_eq!(parsed.name(), kind);
        kam_core::desk::bounds::validate(&parsed)
            .unwrap_or_else(|e| panic!("{kind}: the documented maximum is refused: {e}"));
        let request = json!({ "idempotency_key": "k", "event_id": "e", "command": command });
        check(&doc, &request_schema, &request, kind).unwrap();
        let _: CommandRequest = serde_json::from_value(request).unwrap();
        for (field, field_schema) in schema["properties"].as_object().unwrap() {
            if field_schema.get("x-kam-bound").is_none() {
                continue;
            }
            let mut beyond = command.clone();
            beyond[field] = past_max(field_schema);
            let parsed: Result<DeskCommand, _> = serde_json::from_value(beyond.clone());
            let refused =
                parsed.map(|c| kam_core::desk::bounds::validate(&c).is_err()).unwrap_or(true);
            assert!(refused, "{kind}.{field}: {beyond} is past the documented range but accepted");
        }
        let mut unknown = command.clone();
        unknown["surplus"] = json!(1);
        assert!(
            serde_json::from_value::<DeskCommand>(unknown.clone()).is_err(),
            "{kind}: fields are closed"
        );
        assert!(check(&doc, schema, &unknown, kind).is_err(), "{kind}: the schema is closed too");
    }
}

// ---------------------------------------------------------------------------------------------
// The server, in-process.

struct Server {
    app: axum::Router,
    event: String,
    _dir: tempfile::TempDir,
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

async fn server() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let mut store = data::open_store(dir.path()).unwrap();
    let spec = DemoSpec { customers: 20, tickets: 20, units: 20, ..DemoSpec::standard(2) };
    data::load_demo(&mut store, &spec, chrono::Utc::now()).unwrap().unwrap();
    let desk = Desk::start(&store.desk_path(), store.path(), store.policy().clone()).unwrap();
    let event: String = store
        .desk_file()
        .unwrap()
        .query_row("SELECT event_id FROM desk_events", [], |r| r.get(0))
        .unwrap();
    Server { app: routes::app(AppState::with_desk(store, desk).unwrap()), event, _dir: dir }
}

impl Server {
    async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Vec<u8>) -> Answer {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        if !body.is_empty() {
            // As a real client sends it: with its type and length.
            request = request
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::CONTENT_LENGTH, body.len());
        }
        let response =
            self.app.clone().oneshot(request.body(Body::from(body)).unwrap()).await.unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        let body = response.into_body().collect().await.unwrap().to_bytes().to_vec();
        Answer { status, headers, body }
    }

    async fn command(&self, token: &str, key: &str, event: &str, command: Value) -> Answer {
        let body = self::command(key, event, command);
        self.call(Method::POST, "/api/v1/desk/commands", Some(token), body).await
    }
}

/// The documented operation that `method` on the concrete `path` reaches.
fn operation<'a>(doc: &'a Value, method: &Method, path: &str) -> Option<(&'a str, &'a Value)> {
    let path = path.split('?').next().unwrap();
    let method = method.as_str().to_lowercase();
    doc["paths"].as_object().unwrap().iter().find_map(|(template, item)| {
        (same_path(path, template) && item.get(&method).is_some())
            .then(|| (template.as_str(), &item[&method]))
    })
}

/// Checks that an error answer is one the document lists for the operation (for 405, for
/// the path; for a path no operation has, the shared `Error` response), and that its body
/// fits the schema listed.
fn assert_documented(doc: &Value, method: &Method, path: &str, answer: &Answer, code: &str) {
    let body = answer.json();
    let name = format!("{method} {path}");
    assert_eq!(body["error"]["code"], code, "{name}: {}", String::from_utf8_lossy(&answer.body));
    let status = answer.status.as_str();
    let response = match operation(doc, method, path) {
        Some((_, op)) => op["responses"][status].clone(),
        None => {
            let bare = path.split('?').next().unwrap();
            let same = doc["paths"].as_object().unwrap().iter().find(|(t, _)| same_path(bare, t));
            match same {
                Some((_, item)) => {
                    item.as_object().unwrap().values().next().unwrap()["responses"][status].clone()
                }
                None => doc["components"]["responses"]["Error"].clone(),
            }
        }
    };
    assert!(response.is_object(), "{name}: {status} is not documented");
    let schema = &response["content"]["application/json"]["schema"];
    check(doc, schema, &body, &name).unwrap_or_else(|e| panic!("{name} answered {status}: {e}"));
    if response["headers"].get("Retry-After").is_some() {
        assert!(answer.headers.contains_key(header::RETRY_AFTER), "{name}: no Retry-After");
    }
}

#[tokio::test]
async fn every_get_answers_the_shape_it_declares() {
    let server = server().await;
    let doc = server.call(Method::GET, "/api/v1/openapi.json", None, Vec::new()).await.json();
    assert_eq!(doc, kam_server::api::openapi::document(), "the served document is the built one");
    let customers = server
        .call(Method::GET, "/api/v1/hq/customers", Some("kam_demo_hq-01"), Vec::new())
        .await
        .json();
    let customer = customers[0]["customer_id"].as_str().unwrap().to_owned();
    // A lead's and a plan's page need one in the demo: taken from their lists, and checked
    // only when the demo holds one (the lists themselves are always checked).
    let first = |path: &'static str, list: &'static str, key: &'static str| {
        let server = &server;
        async move {
            let answer = server.call(Method::GET, path, Some("kam_demo_hq-01"), Vec::new()).await;
            let value = answer.json();
            let items = if list.is_empty() { &value } else { &value[list] };
            items[0][key].as_str().map(str::to_owned)
        }
    };
    let lead = first("/api/v1/hq/pipeline", "leads", "lead_id").await;
    let plan = first("/api/v1/hq/plans?year=all", "", "plan_id").await;
    let mut checked = 0;
    for (method, template) in documented_operations(&doc) {
        if method != "get" {
            continue;
        }
        let path = match (template.as_str(), &lead, &plan) {
            ("/api/v1/hq/pipeline/{id}", Some(id), _) => format!("/api/v1/hq/pipeline/{id}"),
            ("/api/v1/hq/plans/{id}", _, Some(id)) => format!("/api/v1/hq/plans/{id}"),
            ("/api/v1/hq/pipeline/{id}" | "/api/v1/hq/plans/{id}", _, _) => continue,
            _ => template.clone(),
        };
        let path = path
            .replace("/documents/{kind}/{id}", &format!("/documents/customer/{customer}"))
            .replace("/customers/{id}", &format!("/customers/{customer}"))
            .replace("/events/{id}", &format!("/events/{}", server.event));
        // The administrator's lists are the administrator's alone.
        let bearer = if path.starts_with("/api/v1/admin/") {
            "Bearer kam_demo_admin"
        } else {
            "Bearer kam_demo_hq-01"
        };
        let request = Request::get(&path).header(header::AUTHORIZATION, bearer);
        let response =
            server.app.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
        let status = response.status();
        assert_eq!(status, StatusCode::OK, "{path}");
        let documented = &doc["paths"][&template]["get"]["responses"]["200"]["content"];
        let (kind, media) = documented.as_object().unwrap().iter().next().unwrap();
        let sent = response.headers()[header::CONTENT_TYPE].to_str().unwrap().to_owned();
        assert!(sent.starts_with(kind.as_str()), "{path}: answered {sent}, documented {kind}");
        if kind == "text/event-stream" {
            drop(response); // A stream does not end; its headers are the answer.
            checked += 1;
            continue;
        }
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert!(!body.is_empty(), "{path}");
        if kind == "application/json" {
            let value: Value = serde_json::from_slice(&body).unwrap();
            check(&doc, &media["schema"], &value, &path).unwrap();
        }
        checked += 1;
    }
    assert!(checked >= 20, "{checked} GET operations checked");
}

const HQ: Option<&str> = Some("kam_demo_hq-01");
const STAFF: Option<&str> = Some("kam_demo_staff-01");
const REP: Option<&str> = Some("kam_demo_rep-01");

/// A request that provokes an error: `"METHOD /path"`, the token, the body; and the
/// `"status code"` expected.
type Case = (&'static str, Option<&'static str>, Vec<u8>, &'static str);

/// A desk command's body.
fn command(key: &str, event: &str, command: Value) -> Vec<u8> {
    json!({ "idempotency_key": key, "event_id": event, "command": command }).to_string().into()
}

/// Sends every case and checks the answer is documented for its operation.
async fn provoke(cases: Vec<Case>) {
    let server = server().await;
    let doc = kam_server::api::openapi::document();
    for (request, token, body, expected) in cases {
        let body = replace_event(body, &server.event);
        let (method, path) = request.split_once(' ').unwrap();
        let method: Method = method.parse().unwrap();
        let (status, code) = expected.split_once(' ').unwrap();
        let answer = server.call(method.clone(), path, token, body).await;
        let text = String::from_utf8_lossy(&answer.body).into_owned();
        assert_eq!(answer.status.as_str(), status, "{request}: {text}");
        assert_documented(&doc, &method, path, &answer, code);
        if answer.status == StatusCode::METHOD_NOT_ALLOWED {
            assert!(answer.headers.contains_key(header::ALLOW), "{path}: 405 names the methods");
        }
    }
}

/// The body with `EVENT` replaced by the event's id.
fn replace_event(body: Vec<u8>, event: &str) -> Vec<u8> {
    match String::from_utf8(body) {
        Ok(text) => text.replace("EVENT", event).into_bytes(),
        Err(bytes) => bytes.into_bytes(),
    }
}

#[tokio::test]
async fn errors_of_any_route_are_documented() {
    provoke(vec![
        ("GET /api/v1/changes", None, Vec::new(), "401 unauthorized"),
        ("GET /api/v1/hq/overview", Some("nope"), Vec::new(), "401 unauthorized"),
        ("GET /api/v1/no-such-thing", HQ, Vec::new(), "404 not_found"),
        ("GET /api/v1/hq/customers/nobody", HQ, Vec::new(), "404 not_found"),
        ("GET /api/v1/documents/nonsense/x", REP, Vec::new(), "404 not_found"),
        ("DELETE /api/v1/desk/commands", STAFF, Vec::new(), "405 method_not_allowed"),
        ("GET /api/v1/sync", REP, Vec::new(), "405 method_not_allowed"),
        ("GET /api/v1/conflicts", REP, Vec::new(), "403 forbidden"),
        ("GET /api/v1/desk/ledger/verify", REP, Vec::new(), "403 forbidden"),
        ("GET /api/v1/hq/customers", REP, Vec::new(), "403 forbidden"),
        ("POST /api/v1/hq/regrades/nobody/approve", REP, Vec::new(), "403 forbidden"),
        ("GET /api/v1/events/%FF/desk", HQ, Vec::new(), "400 malformed_request"),
        ("POST /api/v1/hq/violations/abc/reviewed", HQ, Vec::new(), "400 malformed_request"),
        ("GET /api/v1/hq/customers?tier=key&tier=main", HQ, Vec::new(), "400 malformed_request"),
        ("GET /api/v1/hq/reports/monthly?month=soon", HQ, Vec::new(), "422 invalid_field"),
        ("POST /api/v1/hq/conflicts/resolve", HQ, b"{".to_vec(), "400 malformed_request"),
        ("POST /api/v1/hq/conflicts/resolve", HQ, vec![b' '; 64 * 1024 + 1], "413 body_too_large"),
    ])
    .await;
}

/// A desk command to provoke an error with.
fn desk(token: Option<&'static str>, body: Vec<u8>, expected: &'static str) -> Case {
    ("POST /api/v1/desk/commands", token, body, expected)
}

#[tokio::test]
async fn errors_of_the_desk_are_documented() {
    let call_next = || command("k", "EVENT", json!({ "kind": "call_next", "now_serving": 0 }));
    let price = |p: Value| {
        let mut price = json!({ "kind": "approve_price", "unit_id": "u", "approvers": ["gm"] });
        price["unit_price"] = p;
        command("k", "EVENT", price)
    };
    let receipt = json!({ "kind": "record_receipt", "ticket_id": "t", "method": "card",
                          "amount": "0.001" });
    let mode = json!({ "kind": "set_mode", "mode": "free" });
    let empty_key = command("", "EVENT", json!({ "kind": "call_next", "now_serving": 0 }));
    let no_event = command("k", "no-such-event", json!({ "kind": "call_next", "now_serving": 0 }));
    provoke(vec![
        desk(None, call_next(), "401 unauthorized"),
        desk(STAFF, b"{\"idempotency_key\": ".to_vec(), "400 malformed_request"),
        desk(STAFF, b"{\"idempotency_key\" 1}".to_vec(), "400 malformed_request"),
        desk(STAFF, command("k", "EVENT", json!({ "kind": "fly" })), "422 invalid_field"),
        desk(HQ, price(json!(19500)), "422 invalid_field"),
        desk(STAFF, empty_key, "422 invalid_field"),
        desk(STAFF, vec![b' '; 1024 * 1024 + 1], "413 body_too_large"),
        desk(HQ, price(json!("79228162514264337593543950335")), "422 out_of_range"),
        desk(HQ, command("k", "EVENT", receipt), "422 out_of_range"),
        desk(HQ, no_event, "404 event_not_open"),
        desk(REP, command("k", "EVENT", mode), "403 forbidden"),
    ])
    .await;
}

#[tokio::test]
async fn errors_of_sync_are_documented() {
    let mut wrong_version = b"KAMS".to_vec();
    wrong_version.extend_from_slice(&2u16.to_be_bytes());
    let ahead = kam_core::wire::SyncRequest { cursor: 1 << 40, ..Default::default() };
    let oversize = vec![0; kam_core::wire::MAX_REQUEST_BYTES + 2048];
    provoke(vec![
        ("POST /api/v1/sync", None, vec![1, 2, 3], "401 unauthorized"),
        ("POST /api/v1/sync", REP, b"JSON{}".to_vec(), "400 malformed_sync_body"),
        ("POST /api/v1/sync", REP, wrong_version, "400 unsupported_wire_version"),
        ("POST /api/v1/sync", REP, ahead.encode().unwrap(), "422 invalid_field"),
        ("POST /api/v1/sync", REP, oversize, "413 body_too_large"),
    ])
    .await;
}

#[tokio::test]
async fn a_reused_key_and_a_stream_over_the_share_are_documented() {
    let server = server().await;
    let doc = kam_server::api::openapi::document();
    let event = server.event.clone();
    let (staff, hq) = ("kam_demo_staff-01", "kam_demo_hq-01");
    let mode = json!({ "kind": "set_mode", "mode": "free" });
    let first = server.command(staff, "k-twice", &event, mode).await;
    assert_eq!(first.status, StatusCode::OK, "{}", String::from_utf8_lossy(&first.body));
    let call = |n: u32| json!({ "kind": "call_next", "now_serving": n });
    let reused = server.command(staff, "k-twice", &event, call(0)).await;
    let path = "/api/v1/desk/commands";
    assert_documented(&doc, &Method::POST, path, &reused, "idempotency_key_reused");
    let elsewhere = server.command(hq, "k-twice", &event, call(7)).await;
    assert_eq!(elsewhere.status, StatusCode::CONFLICT, "another device's key is another command");

    // One more stream than a token's share.
    let mut open = Vec::new();
    for _ in 0..kam_server::http::edge::limits::Limits::default().streams_per_caller {
        let request =
            Request::get("/api/v1/changes").header(header::AUTHORIZATION, "Bearer kam_demo_rep-01");
        let response = server.app.clone().oneshot(request.body(Body::empty()).unwrap()).await;
        assert_eq!(response.as_ref().unwrap().status(), StatusCode::OK);
        open.push(response);
    }
    let over = server.call(Method::GET, "/api/v1/changes", REP, Vec::new()).await;
    assert_eq!(over.status, StatusCode::TOO_MANY_REQUESTS);
    assert_documented(&doc, &Method::GET, "/api/v1/changes", &over, "rate_limited");
    drop(open);
}

#[tokio::test]
async fn desk_answers_fit_the_command_answer_schema() {
    let server = server().await;
    let doc = kam_server::api::openapi::document();
    let ops = &doc["paths"]["/api/v1/desk/commands"]["post"]["responses"];
    let accepted = server
        .command(
            "kam_demo_staff-01",
            "a-1",
            &server.event,
            json!({ "kind": "set_mode", "mode": "strict_order" }),
        )
        .await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", String::from_utf8_lossy(&accepted.body));
    check(&doc, &ops["200"]["content"]["application/json"]["schema"], &accepted.json(), "accepted")
        .unwrap();
    let again = server
        .command(
            "kam_demo_staff-01",
            "a-1",
            &server.event,
            json!({ "kind": "set_mode", "mode": "strict_order" }),
        )
        .await;
    assert_eq!(
        (again.status, again.json()),
        (accepted.status, accepted.json()),
        "a retry gets the stored answer"
    );
    for (key, command) in [
        ("r-1", json!({ "kind": "call_next", "now_serving": 99 })),
        ("r-2", json!({ "kind": "skip", "lottery_no": 3 })),
        (
            "r-3",
            json!({ "kind": "release", "unit_id": "no-such-unit", "hold_id": "h", "reason": "r" }),
        ),
    ] {
        let refused = server.command("kam_demo_staff-01", key, &server.event, command).await;
        assert_eq!(
            refused.status,
            StatusCode::CONFLICT,
            "{}",
            String::from_utf8_lossy(&refused.body)
        );
        check(&doc, &ops["409"]["content"]["application/json"]["schema"], &refused.json(), key)
            .unwrap();
    }
}

//! Building blocks of the document: small schema helpers and [`Op`], one operation with its
//! caller, parameters, body and every answer it can give.
//!
//! The error answers an operation lists are built from the code catalogue (`errors`): an
//! operation names the codes it can answer ([`Op::fails`]) and the status comes from the code,
//! so a code is never listed under a status the server does not answer it with. The answers
//! every operation of a kind shares (429 everywhere, 401 and 503 where a caller is
//! authenticated, 400 where a path has parameters, 413 where a body is read) are added by
//! [`Paths::add`] and [`Op::caller`], so no operation can forget them.

use serde_json::{Map, Value, json};

use super::errors::{self, Code};

/// `{"type": "string"}`.
pub(super) fn string() -> Value {
    json!({ "type": "string" })
}

/// A string with a description.
pub(super) fn text(description: &str) -> Value {
    json!({ "type": "string", "description": description })
}

/// An integer with a description.
pub(super) fn integer(description: &str) -> Value {
    json!({ "type": "integer", "description": description })
}

/// `{"type": [kind, "null"]}`: a value that may be `null`.
pub(super) fn nullable(kind: &str) -> Value {
    json!({ "type": [kind, "null"] })
}

/// An RFC 3339 instant in UTC.
pub(super) fn instant(description: &str) -> Value {
    json!({ "type": "string", "format": "date-time", "description": description })
}

/// An object with `required` fields and `properties`.
pub(super) fn object(required: &[&str], properties: Value) -> Value {
    json!({ "type": "object", "required": required, "properties": properties })
}

/// An object that refuses fields it does not declare (`deny_unknown_fields` on the server).
pub(super) fn closed_object(required: &[&str], properties: Value) -> Value {
    json!({ "type": "object", "required": required, "properties": properties,
            "additionalProperties": false })
}

/// An array of the named schema.
pub(super) fn array_of(schema: &str) -> Value {
    json!({ "type": "array", "items": reference(schema) })
}

/// An array of `items`.
pub(super) fn array(items: Value) -> Value {
    json!({ "type": "array", "items": items })
}

/// A reference to the named schema.
pub(super) fn reference(schema: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{schema}") })
}

/// An optional query parameter.
pub(super) fn query(name: &str, description: &str) -> Value {
    json!({ "name": name, "in": "query", "required": false, "schema": string(),
            "description": description })
}

/// A path parameter.
pub(super) fn path_param(name: &str, description: &str) -> Value {
    json!({ "name": name, "in": "path", "required": true, "schema": string(),
            "description": description })
}

/// Who may call an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Caller {
    /// Anyone; no credential is read.
    Public,
    /// A device token (`Authorization: Bearer …`).
    Device,
    /// A device token, or else a signed-in dashboard session cookie.
    DeviceOrSession,
    /// A signed-in dashboard session cookie (the consoles' scripts).
    Session,
}

/// One operation: its description and every answer it can give.
#[derive(Debug)]
pub(super) struct Op {
    method: &'static str,
    fields: Map<String, Value>,
    answers: Vec<(u16, Value)>,
    errors: Vec<(Code, String)>,
    caller: Caller,
    body: bool,
}

impl Op {
    fn new(method: &'static str, summary: &str) -> Op {
        let mut fields = Map::new();
        fields.insert("summary".into(), Value::from(summary));
        Op {
            method,
            fields,
            answers: Vec::new(),
            errors: Vec::new(),
            caller: Caller::Public,
            body: false,
        }
    }

    /// A GET.
    pub(super) fn get(summary: &str) -> Op {
        Op::new("get", summary)
    }

    /// A POST.
    pub(super) fn post(summary: &str) -> Op {
        Op::new("post", summary)
    }

    /// The longer description (CommonMark).
    pub(super) fn describe(mut self, description: &str) -> Op {
        self.fields.insert("description".into(), Value::from(description));
        self
    }

    /// The group the operation is listed under.
    pub(super) fn tag(mut self, tag: &str) -> Op {
        self.fields.insert("tags".into(), json!([tag]));
        self
    }

    /// Who may call it. An authenticated operation answers 401 without a valid credential and
    /// 503 while the server shuts down (the credential check reads the database).
    pub(super) fn caller(mut self, caller: Caller) -> Op {
        self.caller = caller;
        let security = match caller {
            Caller::Public => json!([]),
            Caller::Device => json!([{ "device": [] }]),
            Caller::DeviceOrSession => json!([{ "device": [] }, { "session": [] }]),
            Caller::Session => json!([{ "session": [] }]),
        };
        self.fields.insert("security".into(), security);
        if caller != Caller::Public {
            self = self
                .fails(
                    Code::Unauthorized,
                    match caller {
                        Caller::DeviceOrSession => {
                            "No valid device token and no signed-in session (missing, unknown, \
                         expired or revoked)."
                        }
                        Caller::Session => "No signed-in session (missing, unknown or expired).",
                        _ => "No valid device token (missing, malformed, unknown or revoked).",
                    },
                )
                .fails(Code::Unavailable, "The server is shutting down; retry later.");
        }
        self
    }

    /// A parameter (see [`query`], [`path_param`]).
    pub(super) fn param(mut self, parameter: Value) -> Op {
        let list = self.fields.entry("parameters").or_insert_with(|| json!([]));
        if let Some(list) = list.as_array_mut() {
            list.push(parameter);
        }
        self
    }

    /// The request body, of `content_type` and `schema`. An operation with a body answers 413
    /// past its limit and 408 when the upload outlasts the request timeout.
    pub(super) fn body(mut self, content_type: &str, schema: Value, description: &str) -> Op {
        self.fields.insert(
            "requestBody".into(),
            json!({ "required": true, "description": description,
                    "content": { content_type: { "schema": schema } } }),
        );
        self.body = true;
        self.fails(Code::RequestTimeout, "The request (its upload and its handling) took longer than the server's request timeout (60 s by default).")
    }

    /// A successful (or otherwise not-an-error-envelope) answer.
    pub(super) fn answers(
        mut self,
        status: u16,
        description: &str,
        content_type: &str,
        schema: Value,
    ) -> Op {
        let content = json!({ content_type: { "schema": schema } });
        self.answers.push((status, json!({ "description": description, "content": content })));
        self
    }

    /// A JSON answer.
    pub(super) fn json(self, status: u16, description: &str, schema: Value) -> Op {
        self.answers(status, description, "application/json", schema)
    }

    /// An error envelope with `code`, and why this operation answers it.
    pub(super) fn fails(mut self, code: Code, why: &str) -> Op {
        match self.errors.iter_mut().find(|(c, _)| *c == code) {
            Some((_, text)) => {
                text.push(' ');
                text.push_str(why);
            }
            None => self.errors.push((code, why.to_owned())),
        }
        self
    }

    /// The method and the operation object.
    fn finish(self, path: &str) -> (&'static str, Value) {
        let mut op = self;
        if path.contains('{') {
            op = op.fails(
                Code::MalformedRequest,
                "A path parameter that cannot be read (not UTF-8 once percent-decoded, or not \
                 of the parameter's type).",
            );
        }
        if op.body {
            op = op.fails(Code::BodyTooLarge, "The body is larger than the route's limit.");
        }
        let too_many = match op.caller {
            Caller::Public => "Too many requests from the caller's address.",
            _ => {
                "Too many requests from the caller's address, with the caller's token or \
                 session, or by its user; or too many failed credentials from its address."
            }
        };
        op = op.fails(Code::RateLimited, too_many).fails(
            Code::MethodNotAllowed,
            "Another method on this path; `Allow` lists the methods it has.",
        );
        let mut responses = Map::new();
        for (status, answer) in op.answers {
            responses.insert(status.to_string(), answer);
        }
        for (status, answer) in errors::responses(&op.errors) {
            let merged = match responses.remove(&status.to_string()) {
                Some(documented) => either(documented, answer),
                None => answer,
            };
            responses.insert(status.to_string(), merged);
        }
        responses.insert("default".into(), json!({ "$ref": "#/components/responses/Error" }));
        op.fields.insert("responses".into(), Value::Object(responses));
        (op.method, Value::Object(op.fields))
    }
}

/// One answer at a status that is either `documented` (its own JSON shape) or the envelope.
fn either(documented: Value, envelope: Value) -> Value {
    let pick = |v: &Value| v["content"]["application/json"]["schema"].clone();
    let mut merged = envelope.clone();
    merged["description"] = Value::from(format!(
        "{} Or the error envelope: {}",
        documented["description"].as_str().unwrap_or_default(),
        envelope["description"].as_str().unwrap_or_default()
    ));
    merged["content"]["application/json"]["schema"] =
        json!({ "oneOf": [pick(&documented), pick(&envelope)] });
    merged
}

/// The `paths` object, built operation by operation.
#[derive(Debug, Default)]
pub(super) struct Paths {
    paths: Map<String, Value>,
}

impl Paths {
    /// Adds `op` at `path`.
    pub(super) fn add(mut self, path: &str, op: Op) -> Paths {
        let (method, op) = op.finish(path);
        let item = self.paths.entry(path).or_insert_with(|| json!({}));
        if let Some(item) = item.as_object_mut() {
            item.insert(method.into(), op);
        }
        self
    }

    /// Every operation of `other` too.
    pub(super) fn merge(mut self, other: Paths) -> Paths {
        for (path, item) in other.paths {
            match (self.paths.get_mut(&path), item) {
                (Some(Value::Object(mine)), Value::Object(theirs)) => mine.extend(theirs),
                (_, item) => {
                    self.paths.insert(path, item);
                }
            }
        }
        self
    }

    /// The `paths` object.
    pub(super) fn into_value(self) -> Value {
        Value::Object(self.paths)
    }
}

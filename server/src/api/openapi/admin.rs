//! The administrator's lists (`crate::api::admin`): users and grants.

use serde_json::{Value, json};

use super::errors::Code;
use super::op::{Caller, Op, Paths, nullable, object, query, string, text};

/// A read for the administrator, by device token or dashboard session.
fn read(summary: &str, description: &str) -> Op {
    Op::get(summary)
        .tag("admin")
        .caller(Caller::DeviceOrSession)
        .describe(description)
        .fails(Code::Forbidden, "The caller is not an administrator.")
        .fails(Code::Internal, "A fault on the server.")
}

/// The administrator's paths.
pub(super) fn paths() -> Paths {
    Paths::default()
        .add("/api/v1/admin/users", super::hq::paged(read("用户 / Users", "The users: searched, filtered, sorted (by user id by default) and paged.")
            .param(query("q", "part of the name or user id"))
            .param(query("role", "rep | event_staff | venue | finance | hq | admin"))
            .param(query("state", "active | disabled"))
            .param(query("sort", "user (default) | name | role | created")),
            "The users.", "User"))
        .add("/api/v1/admin/grants", super::hq::paged(read("授权 / Grants", "Who may see which customer, event or project beyond what the role grants, holders and what they hold by name: searched, filtered, sorted (by the holder's name by default) and paged.")
            .param(query("user", "the holder's user id"))
            .param(query("scope", "customer | event | project"))
            .param(query("q", "part of the holder's name or id, or of what is granted (its id or name)"))
            .param(query("sort", "person (default) | role | scope | target | granted")),
            "The grants.", "Grant"))
}

/// The administrator's schemas.
pub(super) fn schemas() -> Vec<(&'static str, Value)> {
    vec![
        (
            "User",
            object(
                &["user_id", "display_name", "role", "created_at"],
                json!({ "user_id": text("The sign-in name."), "display_name": string(), "role": string(),
                    "created_at": text("RFC 3339, UTC."), "disabled_at": nullable("string") }),
            ),
        ),
        (
            "Grant",
            object(
                &[
                    "user_id",
                    "user_name",
                    "role",
                    "scope",
                    "target_id",
                    "target_name",
                    "granted_seq",
                ],
                json!({ "user_id": string(), "user_name": string(), "role": string(),
                    "scope": text("customer | event | project"), "target_id": string(),
                    "target_name": text("Its name where the projections know it, else its id."),
                    "granted_seq": { "type": "integer", "description": "The change-sequence number the grant took: later grants have larger ones." } }),
            ),
        ),
    ]
}

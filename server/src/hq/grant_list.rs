//! The grants as a list for the administrator (ADR 0025): who may see which customer, event or
//! project beyond what the role grants — people and what they hold by name, searched,
//! filtered by person and scope, sorted and paged.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::listing::{self, Dir, ListSpec, SortColumn, SortValue};
use crate::db::Db;
use crate::db::hq::CustomerFilter;
use crate::error::ServerError;

/// The scopes a grant may be of (`scope=`), as its key's prefix spells them.
pub const SCOPES: &[&str] = &["customer", "event", "project"];

/// The grant list's filters, as the query string spells them.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct GrantQuery {
    /// The holder's user id.
    pub user: Option<String>,
    /// `customer`, `event` or `project`.
    pub scope: Option<String>,
    /// Part of the holder's name or id, or of what is granted (its id or name).
    pub q: Option<String>,
}

impl GrantQuery {
    /// The filters as query-string pairs.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let v = |o: &Option<String>| o.clone().unwrap_or_default();
        vec![("user", v(&self.user)), ("scope", v(&self.scope)), ("q", v(&self.q))]
    }
}

/// A grant as listed: its holder and what it grants, by name.
#[derive(Clone, Debug, Serialize)]
pub struct GrantLine {
    /// The holder.
    pub user_id: String,
    /// The holder's name.
    pub user_name: String,
    /// The holder's role code.
    pub role: String,
    /// What kind of thing is granted: `customer`, `event`, `project` (or the key's prefix).
    pub scope: String,
    /// The id of what is granted.
    pub target_id: String,
    /// Its name, where the projections know it (a project's is its id).
    pub target_name: String,
    /// The change-sequence number the grant took: later grants have larger ones.
    pub granted_seq: i64,
    /// Holder and key, the list's id.
    #[serde(skip)]
    key: String,
}

fn text(value: &str) -> Option<SortValue> {
    Some(SortValue::Text(value.to_owned()))
}

/// The grant list: by holder's name by default.
pub const GRANTS: ListSpec<GrantLine> = ListSpec {
    columns: &[
        SortColumn { key: "person", value: |g| text(&g.user_name) },
        SortColumn { key: "role", value: |g| text(&g.role) },
        SortColumn { key: "scope", value: |g| text(&g.scope) },
        SortColumn { key: "target", value: |g| text(&g.target_name) },
        SortColumn { key: "granted", value: |g| Some(SortValue::Int(g.granted_seq)) },
    ],
    default: ("person", Dir::Asc),
    id: |g| &g.key,
};

/// The grants matching `query`; a holder who is not a user or a scope that cannot be is
/// refused by name.
pub fn grants(db: &dyn Db, query: &GrantQuery) -> Result<Vec<GrantLine>, ServerError> {
    let scope = listing::code(&query.scope, "scope", SCOPES)?;
    let q = listing::search_text(query.q.as_deref())?;
    let people: HashMap<String, (String, String)> = db
        .users()?
        .into_iter()
        .map(|u| (u.user_id, (u.display_name, u.role.as_str().to_owned())))
        .collect();
    let user = listing::given(&query.user);
    if let Some(u) = user
        && !people.contains_key(u)
    {
        return Err(ServerError::Invalid { field: "user", reason: format!("no user {u:?}") });
    }
    let mut names: HashMap<String, String> = HashMap::new();
    if scope.is_none_or(|s| s == "customer") {
        for c in db.customers(&CustomerFilter::default())? {
            names.insert(format!("customer/{}", c.customer_id), c.name);
        }
    }
    if scope.is_none_or(|s| s == "event") {
        for e in db.projected_events()? {
            names.insert(format!("event/{}", e.event_id), e.name);
        }
    }
    let mut lines = Vec::new();
    for grant in db.grants()? {
        if user.is_some_and(|u| grant.user_id != u) {
            continue;
        }
        let (kind, target) = grant.scope_key.split_once('/').unwrap_or(("", &grant.scope_key));
        if scope.is_some_and(|s| s != kind) {
            continue;
        }
        let (user_name, role) = people
            .get(&grant.user_id)
            .cloned()
            .unwrap_or_else(|| (grant.user_id.clone(), String::new()));
        let target_name = names.get(&grant.scope_key).cloned().unwrap_or_else(|| target.to_owned());
        lines.push(GrantLine {
            key: format!("{}\n{}", grant.user_id, grant.scope_key),
            scope: kind.to_owned(),
            target_id: target.to_owned(),
            user_id: grant.user_id,
            user_name,
            role,
            target_name,
            granted_seq: grant.granted_seq,
        });
    }
    if let Some(q) = q.as_deref() {
        lines.retain(|g| {
            [&g.user_id, &g.user_name, &g.target_id, &g.target_name]
                .iter()
                .any(|field| listing::contains_folded(field, q))
        });
    }
    Ok(lines)
}

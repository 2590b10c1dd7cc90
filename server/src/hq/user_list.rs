//! The users as a list for the administrator (ADR 0025): searched by name or id, filtered by
//! role and state, sorted and paged.

use serde::{Deserialize, Serialize};

use super::listing::{self, Dir, ListParams, ListSpec, Page, SortColumn, SortValue};
use crate::db::Db;
use crate::db::accounts::UserRow;
use crate::error::ServerError;

/// The user list's filters, as the query string spells them.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct UserQuery {
    /// Part of the user's name or id.
    pub q: Option<String>,
    /// A role code.
    pub role: Option<String>,
    /// `active` or `disabled`.
    pub state: Option<String>,
}

impl UserQuery {
    /// The filters as query-string pairs.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let v = |o: &Option<String>| o.clone().unwrap_or_default();
        vec![("q", v(&self.q)), ("role", v(&self.role)), ("state", v(&self.state))]
    }
}

/// The columns the list sorts by (`sort=`); `user`, by id, by default.
pub const SORT_COLUMNS: &[SortColumn<UserRow>] = &[
    SortColumn { key: "user", value: |u| Some(SortValue::Text(u.user_id.clone())) },
    SortColumn { key: "name", value: |u| Some(SortValue::Text(u.display_name.clone())) },
    SortColumn { key: "role", value: |u| Some(SortValue::Text(u.role.as_str().to_owned())) },
    SortColumn { key: "created", value: |u| Some(SortValue::Text(u.created_at.clone())) },
];

/// The list: its columns, its order when none is asked, its rows' ids.
pub const USERS: ListSpec<UserRow> =
    ListSpec { columns: SORT_COLUMNS, default: ("user", Dir::Asc), id: |u| &u.user_id };

/// One page of the users matching `query`.
pub fn page(
    db: &dyn Db,
    query: &UserQuery,
    params: &ListParams,
) -> Result<Page<UserRow>, ServerError> {
    USERS.page(params, || matching(db, query))
}

/// Every user matching `query` in the order `params` asks (for the list's file).
pub fn sorted(
    db: &dyn Db,
    query: &UserQuery,
    params: &ListParams,
) -> Result<Vec<UserRow>, ServerError> {
    USERS.sorted(params, || matching(db, query))
}

/// The users matching `query`; a role or state that cannot be is refused by name.
fn matching(db: &dyn Db, query: &UserQuery) -> Result<Vec<UserRow>, ServerError> {
    let role = listing::code(&query.role, "role", &super::devices::role_codes())?;
    let active = listing::either(&query.state, "state", ("active", "disabled"))?;
    let q = listing::search_text(query.q.as_deref())?;
    let mut users = db.users()?;
    users.retain(|u| {
        role.is_none_or(|r| u.role.as_str() == r)
            && active.is_none_or(|a| u.disabled_at.is_none() == a)
            && q.as_deref().is_none_or(|q| {
                listing::contains_folded(&u.display_name, q)
                    || listing::contains_folded(&u.user_id, q)
            })
    });
    Ok(users)
}

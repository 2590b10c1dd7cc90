//! The administrator's lists over the JSON API (`/api/v1/admin/…`): the users and the grants,
//! the same lists the administrator's pages show, for an administrator's device token or
//! dashboard session only.

use axum::Router;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::Uri;
use axum::http::request::Parts;
use axum::response::Response;
use axum::routing::get;

use crate::auth::Role;
use crate::error::ServerError;
use crate::hq::grant_list::{self, GRANTS, GrantQuery};
use crate::hq::listing::ListParams;
use crate::hq::user_list::{self, UserQuery};
use crate::http::AppState;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/admin/users", get(users_json))
        .route("/api/v1/admin/grants", get(grants_json))
}

/// The caller of an administrator's read: an administrator's device token or session.
struct AdminReader;

impl FromRequestParts<AppState> for AdminReader {
    type Rejection = ServerError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ServerError> {
        let user = super::hq::reader(parts, state).await?;
        if user.role != Role::Admin {
            return Err(ServerError::Forbidden("users and grants are the administrator's".into()));
        }
        Ok(AdminReader)
    }
}

async fn users_json(
    State(state): State<AppState>,
    _reader: AdminReader,
    uri: Uri,
    Query(query): Query<UserQuery>,
    Query(params): Query<ListParams>,
) -> Result<Response, ServerError> {
    let page = state.hq_read(move |store| user_list::page(store.conn(), &query, &params)).await?;
    Ok(super::paging::paged(page, &uri))
}

async fn grants_json(
    State(state): State<AppState>,
    _reader: AdminReader,
    uri: Uri,
    Query(query): Query<GrantQuery>,
    Query(params): Query<ListParams>,
) -> Result<Response, ServerError> {
    let page = state
        .hq_read(move |store| GRANTS.page(&params, || grant_list::grants(store.conn(), &query)))
        .await?;
    Ok(super::paging::paged(page, &uri))
}

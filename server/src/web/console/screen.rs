//! (being written)

use axum::Router;

use crate::http::AppState;

/// This station's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
}

//! The HTTP room: the router (`routes`), what stands between the network and the use cases
//! (`edge`: limits, who is calling, the error mapping and format) and the state every request
//! shares, [`AppState`]: the shared services below it, plus the edge's own limits, limiters and
//! dashboard settings.

pub mod edge;
pub mod routes;

use std::ops::Deref;
use std::sync::Arc;

use crate::desk::Desk;
use crate::error::ServerError;
use crate::health::Health;
use crate::http::edge::Edge;
use crate::http::edge::limits::Limits;
use crate::services::Services;
use crate::store::Store;

/// State shared by every request. It derefs to the [`Services`] below the edge, so a handler
/// reaches the store, the push hub or the desk as `state.with_store(…)`, `state.push`.
#[derive(Clone)]
pub struct AppState {
    /// The services below the edge; background tasks take these alone.
    services: Services,
    /// Limits, rate limiters and stream places of the HTTP edge.
    edge: Arc<Edge>,
    /// How the dashboard is reached (`serve --tls-proxy`: Secure cookies and HSTS).
    pub web: crate::web::security::WebSettings,
}

impl AppState {
    /// State over an opened store, with the default limits.
    pub fn new(store: Store) -> Result<AppState, ServerError> {
        AppState::with_limits(store, Limits::default(), Health::new())
    }

    /// State over an opened store with `limits`, reporting to `health`.
    pub fn with_limits(
        store: Store,
        limits: Limits,
        health: Health,
    ) -> Result<AppState, ServerError> {
        Ok(AppState {
            services: Services::open(store, limits.readers, health)?,
            edge: Arc::new(Edge::new(limits)),
            web: crate::web::security::WebSettings::default(),
        })
    }

    /// State over an opened store with the selection desk's writer and the default limits.
    pub fn with_desk(store: Store, desk: Desk) -> Result<AppState, ServerError> {
        Ok(AppState::new(store)?.and_desk(desk))
    }

    /// This state with the selection desk's writer.
    pub fn and_desk(mut self, desk: Desk) -> AppState {
        self.services.desk = Some(desk);
        self
    }

    /// The HTTP edge's limits and limiters.
    pub fn edge(&self) -> &Edge {
        &self.edge
    }

    /// The services below the edge, for the background tasks.
    pub fn services(&self) -> &Services {
        &self.services
    }
}

impl Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.services
    }
}

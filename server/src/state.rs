//! Shared server state and the one way to touch the store from async code.

use std::sync::{Arc, Mutex};

use crate::desk::Desk;
use crate::error::ServerError;
use crate::metrics::Metrics;
use crate::projector::ProjectorWake;
use crate::push::PushHub;
use crate::store::Store;

/// State shared by every request.
#[derive(Clone)]
pub struct AppState {
    store: Arc<Mutex<Store>>,
    /// Notifies connected devices of changed documents.
    pub push: PushHub,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// Wakes the projector after documents changed.
    pub projector: ProjectorWake,
    /// The selection desk's writer, when this server runs one.
    pub desk: Option<Desk>,
    /// How the dashboard is reached (`serve --tls-proxy`: Secure cookies and HSTS).
    pub web: crate::web::security::WebSettings,
}

impl AppState {
    /// State over an opened store.
    pub fn new(store: Store) -> AppState {
        AppState {
            store: Arc::new(Mutex::new(store)),
            push: PushHub::new(),
            metrics: Arc::new(Metrics::new()),
            projector: ProjectorWake::default(),
            desk: None,
            web: crate::web::security::WebSettings::default(),
        }
    }

    /// State over an opened store with the selection desk's writer.
    pub fn with_desk(store: Store, desk: Desk) -> AppState {
        AppState { desk: Some(desk), ..AppState::new(store) }
    }

    /// Runs `work` against the store on a blocking thread: SQLite must never block the async
    /// runtime. Requests take turns, which is what SQLite's single writer does anyway.
    pub async fn with_store<T, F>(&self, work: F) -> Result<T, ServerError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store) -> Result<T, ServerError> + Send + 'static,
    {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || {
            let mut guard = store.lock().map_err(|_| ServerError::LockPoisoned)?;
            work(&mut guard)
        })
        .await?
    }
}

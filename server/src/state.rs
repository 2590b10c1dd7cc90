//! Shared server state and the one way to touch the store from async code.

use std::sync::{Arc, Mutex};

use kam_core::replica::Replica;

use crate::error::ServerError;

/// State shared by every request.
#[derive(Clone)]
pub struct AppState {
    store: Arc<Mutex<Replica>>,
}

impl AppState {
    /// State over an opened store.
    pub fn new(store: Replica) -> AppState {
        AppState { store: Arc::new(Mutex::new(store)) }
    }

    /// Runs `work` against the store on a blocking thread: SQLite must never block the async
    /// runtime.
    pub async fn with_store<T, F>(&self, work: F) -> Result<T, ServerError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Replica) -> Result<T, ServerError> + Send + 'static,
    {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || {
            let mut guard = store.lock().map_err(|_| ServerError::LockPoisoned)?;
            work(&mut guard)
        })
        .await?
    }
}

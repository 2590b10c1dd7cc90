//! Storage: **the only code that speaks SQL.**
//!
//! Each concern is a trait with typed methods — what the rest of the server may ask of its
//! data — and `sqlite` implements every trait over a `rusqlite::Connection` (a transaction
//! derefs to one, so the same methods run inside a caller's transaction). Callers hold a
//! `&dyn` trait object, never a connection; a second backend implements the same traits
//! (ADR 0018). Model: mozilla/application-services' `places::db` split and
//! matrix-rust-sdk's store traits, which several backends implement.
//!
//! Storage is the lowest room of the server: it depends on kam-core and nothing else in this
//! crate, and its errors are [`DbError`], which the layers above convert.

pub mod accounts;
pub mod backend;
pub mod charts;
pub mod desk;
pub mod documents;
mod error;
pub mod grants;
pub mod hq;
pub mod management;
pub mod parse;
pub mod people;
pub mod pipeline;
pub mod postgres;
pub mod projections;
pub mod reports;
pub mod review;
pub mod sales;
pub mod sessions;
pub(crate) mod sqlite;
#[cfg(test)]
pub(crate) mod suite;
#[cfg(test)]
pub(crate) mod suite_accounts;
pub mod sync_state;

pub use accounts::AccountStore;
pub use backend::{DataLocation, DeskDatabase, ServerDatabase};
pub use charts::ChartQueries;
pub use documents::DocumentStore;
pub use error::DbError;
pub use grants::GrantStore;
pub use hq::HqQueries;
pub use management::{ManagementProjection, ManagementQueries};
pub use people::PeopleTransfer;
pub use pipeline::AccountWorkStore;
pub use projections::{ProjectionStore, Savepoints};
pub use reports::ReportQueries;
pub use review::ReviewStore;
pub use sales::SalesLedgerStore;
pub use sessions::SessionStore;
pub use sqlite::copy::{CopyReport, SecondCopy};
pub use sqlite::desk::{DESK_FILE, DeskFile, ServerReadOnly, desk_path};
pub use sqlite::{STORE_FILE, ServerFile, checkpoint, copy, readers};
pub use sync_state::SyncStateStore;

/// What a storage thread reports to the server's health: alive after each round, or failed.
pub trait Heartbeat: Send + 'static {
    /// The thread finished a round.
    fn tick(&self);
    /// A round failed.
    fn failed(&self);
}

/// Declares `Db` as every listed concern, and implements it for whatever implements them
/// all: one list to extend when a concern is added.
macro_rules! every_concern {
    ($($concern:ident),+ $(,)?) => {
        /// Every storage concern of the server's own database, as one object.
        pub trait Db: $($concern +)+ {}

        impl<T: $($concern +)+ ?Sized> Db for T {}
    };
}

every_concern!(
    AccountStore,
    AccountWorkStore,
    ChartQueries,
    DocumentStore,
    GrantStore,
    HqQueries,
    ManagementProjection,
    ManagementQueries,
    PeopleTransfer,
    ProjectionStore,
    ReportQueries,
    ReviewStore,
    SalesLedgerStore,
    Savepoints,
    SessionStore,
    SyncStateStore,
);

/// Whether a SQLite error met while processing one document is that document's fault (a
/// constraint its rows break, a stored value of the wrong shape) rather than the store's.
pub fn sql_is_content_fault(error: &rusqlite::Error) -> bool {
    sqlite::review::is_content_fault(error)
}

/// The text of a caught panic, for the log.
pub fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".to_owned())
}

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
pub mod documents;
mod error;
pub mod grants;
pub mod hq;
pub mod parse;
pub mod reports;
pub mod review;
pub mod sales;
pub mod sessions;
mod sqlite;

pub use accounts::AccountStore;
pub use documents::DocumentStore;
pub use error::DbError;
pub use grants::GrantStore;
pub use hq::HqQueries;
pub use reports::ReportQueries;
pub use review::ReviewStore;
pub use sales::SalesLedgerStore;
pub use sessions::SessionStore;

/// Every storage concern of the server's own database, as one object.
pub trait Db:
    AccountStore
    + DocumentStore
    + GrantStore
    + HqQueries
    + ReportQueries
    + ReviewStore
    + SalesLedgerStore
    + SessionStore
{
}

impl<T> Db for T where
    T: AccountStore
        + DocumentStore
        + GrantStore
        + HqQueries
        + ReportQueries
        + ReviewStore
        + SalesLedgerStore
        + SessionStore
        + ?Sized
{
}

/// Whether a SQLite error met while processing one document is that document's fault (a
/// constraint its rows break, a stored value of the wrong shape) rather than the store's.
pub fn sql_is_content_fault(error: &rusqlite::Error) -> bool {
    sqlite::review::is_content_fault(error)
}

/// SQLite's plan for `role`'s changed-documents query, one line per step (the schema's tests
/// check it seeks by index).
#[cfg(test)]
pub(crate) fn news_query_plan(
    conn: &rusqlite::Connection,
    role: kam_core::model::Role,
) -> Result<Vec<String>, DbError> {
    sqlite::grants::news_query_plan(conn, role)
}

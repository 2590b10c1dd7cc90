//! The SQLite implementation of every storage trait, over a `rusqlite::Connection` (and so
//! over a transaction, which derefs to one).

mod accounts;
pub mod checkpoint;
mod documents;
mod grants;
mod hq;
mod projections;
pub(super) mod review;
pub(crate) mod schema;
mod sessions;
mod sync_state;

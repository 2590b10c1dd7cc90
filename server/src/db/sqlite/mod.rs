//! The SQLite implementation of every storage trait, over a `rusqlite::Connection` (and so
//! over a transaction, which derefs to one).

mod accounts;
mod documents;
pub(super) mod grants;
mod hq;
pub(crate) mod projections;
pub(super) mod review;
mod sessions;
mod sync_state;

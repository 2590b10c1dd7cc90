//! The SQLite implementation of every storage trait, over a `rusqlite::Connection` (and so
//! over a transaction, which derefs to one).

mod accounts;
mod documents;
pub(super) mod grants;
mod hq;
mod reports;
pub(super) mod review;
mod sales;
mod sessions;

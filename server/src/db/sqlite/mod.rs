//! The SQLite implementation of every storage trait, over a `rusqlite::Connection` (and so
//! over a transaction, which derefs to one).

mod accounts;
mod accounts_schema;
mod charts;
pub mod checkpoint;
pub mod copy;
pub(crate) mod desk;
mod documents;
mod grants;
mod hq;
mod management;
mod people;
mod pipeline;
mod projections;
pub mod readers;
mod reports;
pub(super) mod review;
mod sales;
pub(crate) mod schema;
mod server_file;
mod sessions;
mod sync_state;

pub use server_file::{STORE_FILE, ServerFile};

/// A fresh, migrated server database in memory, for the store test suite.
#[cfg(test)]
#[allow(clippy::unwrap_used)] // A test fixture.
fn fresh() -> Box<rusqlite::Connection> {
    let mut conn = rusqlite::Connection::open_in_memory().unwrap();
    schema::prepare(&conn).unwrap();
    schema::migrate(&mut conn).unwrap();
    Box::new(conn)
}

#[cfg(test)]
mod suite {
    crate::store_suite!(super::fresh);
}

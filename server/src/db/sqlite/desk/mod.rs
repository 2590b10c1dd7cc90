//! The SQLite implementation of the desk's storage traits.

mod answers;
mod ledger;
mod sales;
mod state;

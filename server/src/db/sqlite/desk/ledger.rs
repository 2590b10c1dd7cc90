//! `DeskLedger` over SQLite.

use rusqlite::Connection;

use crate::db::desk::DeskLedger;

impl DeskLedger for Connection {}

//! `DeskState` over SQLite.

use rusqlite::Connection;

use crate::db::desk::DeskState;

impl DeskState for Connection {}

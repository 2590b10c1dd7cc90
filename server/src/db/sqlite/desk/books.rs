//! `DeskBooks` over SQLite.

use rusqlite::Connection;

use crate::db::desk::DeskBooks;

impl DeskBooks for Connection {}

//! `DeskSales` over SQLite.

use rusqlite::Connection;

use crate::db::desk::DeskSales;

impl DeskSales for Connection {}

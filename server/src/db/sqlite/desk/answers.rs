//! `DeskAnswers` over SQLite.

use rusqlite::Connection;

use crate::db::desk::DeskAnswers;

impl DeskAnswers for Connection {}

//! `DeskSavepoints` over PostgreSQL: one savepoint per command, `desk_command`, as on SQLite.
//! PostgreSQL refuses a savepoint outside a transaction block; a command begun outside one
//! begins its own transaction, which its release commits and its undo rolls back (the
//! store's [`Savepoints`](crate::db::Savepoints) do the same). Inside a transaction (the
//! writer's group) a command's savepoint is queued before its first statement that may
//! write, and its release or rollback after it, all sent with later statements (see
//! `deferred`): they cost no round trip of their own, and a command that only read (a hold
//! the rules refused) sends none of them.

use crate::db::desk::DeskSavepoints;
use crate::db::postgres::PgDb;
use crate::db::{DbError, Savepoints};

/// The one savepoint name of the desk's commands.
const COMMAND: &str = "desk_command";

impl DeskSavepoints for PgDb {
    fn begin_command(&self) -> Result<(), DbError> {
        if self.queues_writes() {
            self.begin_savepoint_soon(COMMAND);
            return Ok(());
        }
        self.savepoint(COMMAND)
    }

    fn release_command(&self) -> Result<(), DbError> {
        if self.queues_writes() {
            self.release_savepoint_soon();
            return Ok(());
        }
        self.release_savepoint(COMMAND)
    }

    fn undo_command(&self) -> Result<(), DbError> {
        if self.queues_writes() {
            return self.undo_savepoint_soon();
        }
        if self.own_savepoint() == Some(COMMAND) {
            // The command's own transaction: roll it back and begin it again, so the
            // savepoint stays open until released, as the trait says.
            return self.batch(&format!("ROLLBACK; BEGIN; SAVEPOINT {COMMAND}"));
        }
        self.batch(&format!("ROLLBACK TO SAVEPOINT {COMMAND}"))
    }

    fn final_writes_follow(&self) -> Result<(), DbError> {
        self.final_writes_soon();
        Ok(())
    }
}

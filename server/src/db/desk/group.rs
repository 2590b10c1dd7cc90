//! The desk writer's unit of work: one transaction per group of commands, one savepoint per
//! command inside it (a refusal or a fault rolls back that command only).

use super::DeskDb;
use crate::db::DbError;

/// The savepoint each command of a group runs in. One name, never nested: a command's
/// savepoint is released or rolled back before the next command's begins.
pub trait DeskSavepoints {
    /// Begins the command's savepoint.
    fn begin_command(&self) -> Result<(), DbError>;
    /// Keeps what the command wrote and ends its savepoint.
    fn release_command(&self) -> Result<(), DbError>;
    /// Undoes what the command wrote; its savepoint stays open until released.
    fn undo_command(&self) -> Result<(), DbError>;
    /// Says that the running command refuses nothing from here on but by the answer of a
    /// write checked at once (`hold_unit`'s `false`): what it writes next is final, or a
    /// fault. A backend may then leave those writes outside the command's
    /// savepoint if it has not needed one yet (on PostgreSQL a hold or a release then sends
    /// no savepoint and no release); undoing the command after that fails the whole
    /// transaction instead, so nothing half done commits. By default nothing changes.
    fn final_writes_follow(&self) -> Result<(), DbError> {
        Ok(())
    }
}

/// A group's transaction on the desk's file: every desk concern, and the commands'
/// savepoints.
pub trait DeskGroup: DeskDb + DeskSavepoints {}

impl<T: DeskDb + DeskSavepoints + ?Sized> DeskGroup for T {}

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
}

/// A group's transaction on the desk's file: every desk concern, and the commands'
/// savepoints.
pub trait DeskGroup: DeskDb + DeskSavepoints {}

impl<T: DeskDb + DeskSavepoints + ?Sized> DeskGroup for T {}

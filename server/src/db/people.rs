//! The people who work an event, moved to a venue server with its desk (ADR 0021): their user
//! rows (with password hashes, so they sign in at the venue's consoles), their active devices
//! (token hashes, so their tablets send commands to the venue) and their grants.

use crate::db::DbError;
use crate::db::desk::image::TableRows;

/// Reading and writing the people of an event.
pub trait PeopleTransfer {
    /// The users holding `scope_key`, every active finance user and `also` (the venue's own
    /// user), with their active devices and their grants, as stored.
    fn people_with_grant(&self, scope_key: &str, also: &str) -> Result<Vec<TableRows>, DbError>;

    /// Writes people rows (insert or update).
    fn apply_people(&self, tables: &[TableRows]) -> Result<usize, DbError>;
}

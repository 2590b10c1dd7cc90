//! The hall screens' display links: one random secret for the desk's file and, per event, a
//! generation that rotating the link moves on (so the old link stops working). Both live in
//! the desk's `desk_meta` table, beside the file they guard: a venue server that takes the
//! desk over takes its screen links with it.

use crate::db::DbError;

/// What the big screen's token is derived from and checked against.
pub trait DeskDisplay {
    /// The display secret (hex), if one was made.
    fn display_secret(&self) -> Result<Option<String>, DbError>;
    /// Keeps `fresh` (hex) as the display secret unless one exists; returns the one kept.
    fn ensure_display_secret(&self, fresh: &str) -> Result<String, DbError>;
    /// The event's display generation (0 until the link is first rotated).
    fn display_generation(&self, event_id: &str) -> Result<u64, DbError>;
    /// Moves the event's display generation on by one; returns the new generation.
    fn rotate_display(&self, event_id: &str) -> Result<u64, DbError>;
}

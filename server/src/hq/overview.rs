//! The overview: the counts headquarters looks at first.

use chrono::{DateTime, Utc};

use crate::db::HqQueries;
use crate::error::ServerError;

pub use crate::db::hq::{EventLine, Overview};

/// The overview at `now`.
pub fn overview(db: &dyn HqQueries, now: DateTime<Utc>) -> Result<Overview, ServerError> {
    Ok(db.overview(now)?)
}

/// Active devices seen in the 24 hours before `now`: the one count the overview and
/// `/metrics` both show.
pub fn devices_seen_24h(db: &dyn HqQueries, now: DateTime<Utc>) -> Result<u64, ServerError> {
    let day_ago = now.checked_sub_signed(chrono::Duration::hours(24));
    Ok(db.devices_seen_since(day_ago.unwrap_or(DateTime::<Utc>::MIN_UTC))?)
}

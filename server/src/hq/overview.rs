//! The overview: the counts headquarters looks at first.

use chrono::{DateTime, Utc};

use crate::db::HqQueries;
use crate::error::ServerError;

pub use crate::db::hq::{EventLine, Overview};

/// The overview at `now`.
pub fn overview(db: &dyn HqQueries, now: DateTime<Utc>) -> Result<Overview, ServerError> {
    Ok(db.overview(now, day_before(now))?)
}

/// Active devices seen in the 24 hours before `now`: the one count the overview and
/// `/metrics` both show.
pub fn devices_seen_24h(db: &dyn HqQueries, now: DateTime<Utc>) -> Result<u64, ServerError> {
    Ok(db.devices_seen_since(day_before(now))?)
}

/// The start of the 24 hours before `now` that "seen" counts.
fn day_before(now: DateTime<Utc>) -> DateTime<Utc> {
    now.checked_sub_signed(chrono::Duration::hours(24)).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

//! Headquarters' view of everything that has synced: the queries behind the dashboard's
//! pages and the `/api/v1/hq` JSON API, and the two decisions headquarters takes there
//! (approving a re-grade, settling a conflict or a violation).
//!
//! Everything here reads the projection tables (never scans documents), except a customer's
//! change history, which only its document knows. Pages and JSON serve the same structs, so
//! the API always says what the page shows.

pub mod charts;
pub mod compliance;
pub mod customers;
pub mod decisions;
pub mod devices;
pub mod events;
pub mod grant_list;
pub mod listing;
pub mod meetings;
pub mod organisation_lists;
pub mod organisations;
pub mod overview;
pub mod people;
pub mod pipeline;
pub mod plan_actuals;
pub mod plans;
pub(crate) mod records;
pub mod regrade;
pub mod reps;
pub mod review;
pub mod review_lists;
pub mod scorecard_list;
pub mod scorecards;
pub mod surveys;
pub mod tickets;
pub mod user_list;
pub mod visit_lists;

/// Parses an RFC 3339 instant stored by the projections.
pub(crate) use crate::db::parse::instant;

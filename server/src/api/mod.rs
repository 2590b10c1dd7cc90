//! Headquarters' JSON API (`/api/v1/hq/…`): the dashboard's data for other programs, and
//! the OpenAPI document that describes it (`/api/v1/openapi.json`).
//!
//! A caller is a device token of a finance, headquarters or administrator user (Bearer), or
//! a signed-in dashboard session for reads. Decisions are POSTs and take the Bearer token
//! only, so a browser session cannot be ridden by another site's form.

pub mod account_work;
pub mod admin;
pub mod charts;
pub mod hq;
pub mod management;
pub mod openapi;
pub mod paging;

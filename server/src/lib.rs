//! # kam-server
//!
//! The central server every device syncs with. Its rooms, from the bottom: storage (`db`, the
//! only code that speaks SQL); the sync room (`sync`: one round, with `sync::scope`,
//! `sync::authority` over protected fields, the bounded document cache `sync::docs`,
//! `sync::prefetch`, the push hub `sync::push`, and the relational projections for
//! headquarters kept current behind the rounds, `sync::projection` and `sync::projector`);
//! `store`, the document store every room writes through; authentication (`auth`), the
//! conflicts table, metrics and health; the selection desk (`desk`); headquarters' queries and
//! decisions (`hq`), the sales ledger and the reports (`reports`); `services`, what requests
//! and background tasks share; and at the top the HTTP room (`http`: router, edge, state),
//! the dashboard (`web`) and the JSON API (`api`).
//!
//! The router is built by [`http::routes::app`] so tests can drive it without a socket.

pub mod admin;
pub mod api;
pub mod audit;
pub mod auth;
#[cfg(test)]
mod backends_tests;
pub mod background;
pub mod cluster;
pub mod conflicts;
pub mod data;
pub mod db;
pub mod desk;
pub mod error;
pub mod health;
pub mod hq;
pub mod http;
pub mod metrics;
pub mod migrate;
mod money;
pub mod passwords;
pub mod quarantine;
pub mod reports;
pub mod sales_ledger;
pub mod services;
pub mod store;
pub mod sync;
pub mod web;

//! # kam-server
//!
//! The central server every device syncs with: document storage (snapshot plus chunks, a
//! bounded cache), the sync protocol (`sync`), authentication and scoping (`auth`, `scope`),
//! the authority over protected fields (`authority`), the conflicts table, relational
//! projections for headquarters kept current behind the rounds (`projector`), the push channel and metrics;
//! the selection desk (`desk`); and headquarters' dashboard (`web`), its JSON API (`api`), the
//! queries and decisions behind both (`hq`), the sales ledger and the reports (`reports`).
//!
//! The router is built by [`http::routes::app`] so tests can drive it without a socket.

pub mod admin;
pub mod api;
pub mod audit;
pub mod auth;
mod authority;
pub mod conflicts;
pub mod data;
pub mod db;
pub mod desk;
mod docs;
pub mod error;
pub mod health;
pub mod hq;
pub mod http;
pub mod metrics;
mod money;
pub mod passwords;
mod prefetch;
mod projection;
pub mod projector;
pub mod push;
pub mod quarantine;
pub mod reports;
pub mod sales_ledger;
pub mod scope;
pub mod services;
pub mod store;
pub mod sync;
pub mod web;

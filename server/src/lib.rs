//! # kam-server
//!
//! The central server every device syncs with. What exists today: the data directory with the
//! server's document store (a kam-core replica file), demo data, and a read-only HTTP API for
//! health, the policy in force and a summary. Sync, authentication and the reservation
//! authority come next (see ARCHITECTURE.md).
//!
//! The router is built by [`routes::app`] so tests can drive it without a socket.

pub mod data;
pub mod error;
pub mod routes;
pub mod state;

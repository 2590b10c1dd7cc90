//! Headquarters' dashboard: server-rendered pages (maud), Chinese first with English, for
//! people signed in with a password (see `session`). Only finance, headquarters and
//! administrators open these pages; anyone else gets the forbidden page.
//!
//! Pages read through `crate::hq`, the same queries the `/api/v1/hq` JSON API serves, so the
//! page and the API always agree. Decisions (re-grades, conflicts, violations) are POSTed
//! forms carrying the session's CSRF token; each redirects back with a message.
//!
//! Every answer of the server carries the headers of `security` (a Content-Security-Policy
//! that runs nothing inline, so the style sheet and the live board's script are the static
//! files of `assets`), every redirect taken from a request goes through
//! `security::local_path`, and every failure is a localized page (`error::error_page`).

#[cfg(test)]
mod account_work_tests;
pub mod admin;
pub mod assets;
pub mod board;
pub mod charts;
pub mod console;
pub mod customers;
#[cfg(test)]
pub(crate) mod demo_site_tests;
pub mod devices;
pub mod error;
pub mod events;
pub mod forms;
pub mod history;
pub mod i18n;
pub mod landing;
pub mod layout;
pub mod list;
pub mod list_file;
#[cfg(test)]
mod list_tests;
pub mod login;
pub mod meetings;
pub mod organisation_lists;
pub mod organisations;
pub mod pipeline;
pub mod plans;
pub mod prices;
#[cfg(test)]
mod queue_lists_tests;
pub mod regrades;
pub mod reports;
pub mod reps;
pub mod review;
pub mod rule_labels;
pub mod scorecards;
pub mod security;
pub mod session;
pub mod tickets;
pub mod venue;
pub mod visits;

use axum::Router;
use axum::response::Redirect;
use axum::routing::{get, post};

use crate::http::AppState;

/// The dashboard's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/hq") }))
        .route("/assets/{name}", get(assets::asset))
        .route("/login", get(login::login_page).post(login::login))
        .route("/logout", post(login::logout))
        .route("/lang/{code}", get(login::switch_lang))
        .route("/hq", get(landing::landing))
        .route("/hq/customers", get(customers::customers_page))
        .route("/hq/customers.csv", get(customers::customers_file))
        .route("/hq/customers.xlsx", get(customers::customers_file))
        .route("/hq/customers/{id}", get(customers::customer_page))
        .route("/hq/regrades", get(regrades::regrades_page))
        .route("/hq/regrades.csv", get(regrades::regrades_file))
        .route("/hq/regrades.xlsx", get(regrades::regrades_file))
        .route("/hq/regrades/{id}/{action}", post(regrades::decide_regrade))
        .route("/hq/reps/{id}", get(reps::rep_page))
        .route("/hq/visits", get(visits::visits_page))
        .route("/hq/visits.csv", get(visits::visits_file))
        .route("/hq/visits.xlsx", get(visits::visits_file))
        .route("/hq/tickets", get(tickets::tickets_page))
        .route("/hq/tickets.csv", get(tickets::tickets_file))
        .route("/hq/tickets.xlsx", get(tickets::tickets_file))
        .route("/hq/devices", get(devices::devices_page))
        .route("/hq/devices.csv", get(devices::devices_file))
        .route("/hq/devices.xlsx", get(devices::devices_file))
        .route("/hq/events/{id}/board", get(board::board_page))
        .route("/hq/events/{id}/reconciliation", get(board::reconciliation_page))
        .route("/hq/reports", get(reports::reports_page))
        .route("/hq/reports/{file}", get(reports::report_file))
        .route("/hq/charts", get(charts::charts_page))
        .merge(console::routes())
        .merge(events::routes())
        .merge(prices::routes())
        .merge(scorecards::routes())
        .merge(meetings::routes())
        .merge(organisations::routes())
        .merge(pipeline::routes())
        .merge(admin::routes())
        .merge(devices::routes())
        .merge(regrades::routes())
        .merge(review::routes())
}

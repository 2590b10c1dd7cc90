//! `GET /console/events/{id}/finance`: the finance console (财务台) — the review queue
//! (复核, a second person, never the preparer), the cashier (收款 and 出凭证), the vouchers in
//! force with cancel and swap by red-ink reversal (红字冲红), and the reconciliation with its
//! lists, exportable as CSV and .xlsx.
//!
//! Every action is a desk command sent by `console.js` through the forms contract; the page
//! only draws what the desk's books say. The lists sit in one `[data-refresh]` element whose
//! `?part=lists` answer is the same lists without the layout, re-fetched whenever the desk's
//! ledger moves.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kam_core::bounds;
use maud::html;
use rust_decimal::Decimal;
use serde::Deserialize;

use super::{Station, admit, command, station_nav};
use crate::db::desk::books::{BookReceipt, BookTicket, BookVoucher};
use crate::desk::reconcile::{Reconciliation, reconcile};
use crate::error::ServerError;
use crate::http::AppState;
use crate::web::assets::{CONSOLE_CSS, CONSOLE_JS};
use crate::web::error::{InLang, PageError};
use crate::web::layout::{Here, page, url_encode};
use crate::web::session::WebUser;

/// This station's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/events/{id}/finance", get(finance_page))
        .route("/console/events/{id}/finance/{file}", get(super::finance_export::export_file))
}

/// What the finance console shows of an event, read at once.
#[derive(Clone, Debug)]
pub(crate) struct FinanceBooks {
    /// The event's name (its id when it has none).
    pub(crate) name: String,
    /// Live work tickets, oldest first.
    pub(crate) tickets: Vec<BookTicket>,
    /// Every receipt, red ones included.
    pub(crate) receipts: Vec<BookReceipt>,
    /// Every voucher, black and red, by number.
    pub(crate) vouchers: Vec<BookVoucher>,
    /// Allotted units available now (id, code): where a sale may be swapped to.
    pub(crate) free_units: Vec<(String, String)>,
    /// The reconciliation of the event.
    pub(crate) reconciliation: Reconciliation,
    /// Net money received per ticket.
    pub(crate) received: BTreeMap<String, Decimal>,
}

/// Reads the finance console's books of `event_id` in one go on a reader.
pub(crate) async fn load_books(
    state: &AppState,
    event_id: &str,
) -> Result<FinanceBooks, ServerError> {
    let event = event_id.to_owned();
    state
        .readers()
        .read(move |c| {
            let desk = c.desk();
            let name = desk.event_name(&event)?.ok_or(ServerError::NotFound)?;
            let receipts = desk.event_receipts(&event)?;
            let mut received: BTreeMap<String, Decimal> = BTreeMap::new();
            for r in &receipts {
                let slot = received.entry(r.ticket_id.clone()).or_default();
                *slot = bounds::add("a ticket's receipts", *slot, r.amount)
                    .map_err(|e| ServerError::Corrupt(e.to_string()))?;
            }
            let free_units = desk
                .board_units(&event, None)?
                .into_iter()
                .filter(|u| u.allotted && u.status == "available")
                .map(|u| (u.unit_id, u.code))
                .collect();
            Ok::<_, ServerError>(FinanceBooks {
                name: if name.is_empty() { event.clone() } else { name },
                tickets: desk.event_tickets(&event)?,
                vouchers: desk.event_vouchers(&event)?,
                reconciliation: reconcile(desk, &event)?,
                receipts,
                free_units,
                received,
            })
        })
        .await
}

/// The query of the page: `?part=lists` asks for the lists alone.
#[derive(Debug, Default, Deserialize)]
pub struct Part {
    /// `lists` for the fragment.
    pub part: Option<String>,
}

/// The handler.
pub async fn finance_page(
    State(state): State<AppState>,
    user: WebUser,
    here: Here,
    Path(event_id): Path<String>,
    Query(part): Query<Part>,
) -> Result<Response, PageError> {
    admit(&state, &user, &event_id, Station::Finance).await?;
    let lang = user.lang;
    let books = load_books(&state, &event_id).await.in_lang(lang)?;
    let lists = super::finance_lists::lists(lang, &user, &event_id, &books);
    if part.part.as_deref() == Some("lists") {
        return Ok(lists.into_response());
    }
    let id = url_encode(&event_id);
    let body = html! {
        link rel="stylesheet" href=(CONSOLE_CSS.href());
        (station_nav(lang, &user, &event_id))
        div #console data-csrf=(user.csrf) data-commands=(command::commands_path(&event_id))
            data-live={ "/console/events/" (id) "/live" } {
            h1 { (lang.t("财务台", "Finance")) " · " (books.name) }
            div #finance-lists data-refresh data-src={ "/console/events/" (id) "/finance?part=lists" } {
                (lists)
            }
        }
        script src=(CONSOLE_JS.href()) defer {}
    };
    Ok(page(&user, &here, lang.t("财务台", "Finance console"), body).into_response())
}

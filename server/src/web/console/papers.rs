//! The printed papers of the selection day, as print-ready A4 pages (`papers.css`):
//!
//! | Route | Paper |
//! |---|---|
//! | `/console/events/{id}/papers/confirmation/{hold_id}` | 房源确认单: the unit held for the buyer |
//! | `/console/events/{id}/papers/work-ticket/{ticket_id}` | 选房工作票 |
//! | `/console/events/{id}/papers/voucher/{voucher_no}` | 选房凭证 |
//! | `/console/events/{id}/papers/red/{voucher_no}` | 红字冲销单: a red voucher, naming the one it reverses |
//!
//! Each paper names the ledger entry that made it — its sequence number and the first 16 hex
//! digits of its hash — so a paper can be checked against the desk's ledger. Buyers appear
//! only masked: the name by `mask_name`, the ID number as the list keeps it. Desk staff of
//! the event and finance may print them.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use maud::Markup;

use super::{Station, admit};
use crate::db::desk::books::{
    BookVoucher, PaperBuyer, PaperEntry, PaperHold, PaperOf, PaperTicket, PaperUnit,
};
use crate::error::ServerError;
use crate::http::AppState;
use crate::web::error::{InLang, PageError};
use crate::web::session::WebUser;

/// This station's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/events/{id}/papers/confirmation/{hold_id}", get(confirmation))
        .route("/console/events/{id}/papers/work-ticket/{ticket_id}", get(work_ticket))
        .route("/console/events/{id}/papers/voucher/{voucher_no}", get(voucher))
        .route("/console/events/{id}/papers/red/{voucher_no}", get(red))
}

/// Which paper.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// 房源确认单.
    Confirmation,
    /// 选房工作票.
    WorkTicket,
    /// 选房凭证.
    Voucher,
    /// 红字冲销单.
    Red,
}

impl Kind {
    /// The value of `data-paper`.
    pub(crate) fn code(self) -> &'static str {
        match self {
            Kind::Confirmation => "confirmation",
            Kind::WorkTicket => "work-ticket",
            Kind::Voucher => "voucher",
            Kind::Red => "red",
        }
    }

    /// The paper's title: (zh, en).
    pub(crate) fn title(self) -> (&'static str, &'static str) {
        match self {
            Kind::Confirmation => ("房源确认单", "Unit confirmation"),
            Kind::WorkTicket => ("选房工作票", "Selection work ticket"),
            Kind::Voucher => ("选房凭证", "Selection voucher"),
            Kind::Red => ("红字冲销单", "Red-ink reversal"),
        }
    }
}

/// Everything one paper prints, read at once.
#[derive(Clone, Debug)]
pub(crate) struct PaperFacts {
    /// Which paper.
    pub(crate) kind: Kind,
    /// The event.
    pub(crate) event_id: String,
    /// Its name (empty if the desk keeps none).
    pub(crate) event_name: String,
    /// The unit.
    pub(crate) unit: PaperUnit,
    /// The buyer (in clear here; the view masks).
    pub(crate) buyer: PaperBuyer,
    /// The hold, on a confirmation.
    pub(crate) hold: Option<PaperHold>,
    /// The work ticket, on every paper but a confirmation.
    pub(crate) ticket: Option<PaperTicket>,
    /// The voucher printed: black on a voucher, red on a reversal.
    pub(crate) voucher: Option<BookVoucher>,
    /// On a reversal, the voucher it reverses.
    pub(crate) reversed: Option<BookVoucher>,
    /// The ledger entry that made the paper.
    pub(crate) entry: Option<PaperEntry>,
}

/// What a route asks for.
enum Want {
    Hold(String),
    Ticket(String),
    Voucher(u32),
    Red(u32),
}

/// Reads the facts of the paper `want` of `event_id`; `None` if there is no such paper.
fn read_facts(
    desk: &dyn crate::db::desk::DeskDb,
    event_id: &str,
    want: &Want,
) -> Result<Option<PaperFacts>, ServerError> {
    let event_name = desk.event_name(event_id)?.unwrap_or_default();
    let blank = |kind, unit, buyer| PaperFacts {
        kind,
        event_id: event_id.to_owned(),
        event_name: event_name.clone(),
        unit,
        buyer,
        hold: None,
        ticket: None,
        voucher: None,
        reversed: None,
        entry: None,
    };
    Ok(match want {
        Want::Hold(hold_id) => desk.paper_hold(event_id, hold_id)?.map(|h| PaperFacts {
            hold: Some(h.clone()),
            ..blank(Kind::Confirmation, h.unit, h.buyer)
        }),
        Want::Ticket(ticket_id) => desk.paper_ticket(event_id, ticket_id)?.map(|t| PaperFacts {
            ticket: Some(t.clone()),
            ..blank(Kind::WorkTicket, t.unit, t.buyer)
        }),
        Want::Voucher(no) | Want::Red(no) => {
            let red = matches!(want, Want::Red(_));
            let Some(v) = desk.event_voucher(event_id, *no)? else { return Ok(None) };
            if v.reverses.is_some() != red {
                return Ok(None);
            }
            let reversed = match v.reverses {
                Some(orig) => desk.event_voucher(event_id, orig)?,
                None => None,
            };
            let Some(t) = desk.paper_ticket(event_id, &v.ticket_id)? else { return Ok(None) };
            let kind = if red { Kind::Red } else { Kind::Voucher };
            Some(PaperFacts {
                ticket: Some(t.clone()),
                voucher: Some(v),
                reversed,
                ..blank(kind, t.unit, t.buyer)
            })
        }
    })
}

/// The ledger entry that made the paper `facts`.
fn paper_of(facts: &PaperFacts) -> Option<PaperOf<'_>> {
    match facts.kind {
        Kind::Confirmation => facts.hold.as_ref().map(|h| PaperOf::Confirmation(&h.hold_id)),
        Kind::WorkTicket => facts.ticket.as_ref().map(|t| PaperOf::WorkTicket(&t.ticket_id)),
        Kind::Voucher => facts.voucher.as_ref().map(|v| PaperOf::Voucher(v.voucher_no)),
        Kind::Red => facts.voucher.as_ref().map(|v| PaperOf::Red(v.voucher_no)),
    }
}

/// Admits desk staff of the event and finance, reads the paper and draws it; the not-found
/// page if there is no such paper.
async fn serve(
    state: AppState,
    user: WebUser,
    event_id: String,
    want: Option<Want>,
) -> Result<Markup, PageError> {
    let station = if Station::Desk.admits(user.role) { Station::Desk } else { Station::Finance };
    admit(&state, &user, &event_id, station).await?;
    let lang = user.lang;
    let Some(want) = want else { return Err(PageError::Server(ServerError::NotFound, lang)) };
    let event = event_id.clone();
    let facts = state
        .readers()
        .read(move |c| {
            let desk = c.desk();
            let Some(mut facts) = read_facts(desk, &event, &want)? else { return Ok(None) };
            facts.entry = match paper_of(&facts) {
                Some(of) => desk.paper_entry(&event, of)?,
                None => None,
            };
            Ok::<_, ServerError>(Some(facts))
        })
        .await
        .in_lang(lang)?
        .ok_or_else(|| PageError::Server(ServerError::NotFound, lang))?;
    Ok(super::papers_view::render(lang, &user, &facts))
}

/// A voucher number from the path; anything else finds no paper.
fn number(text: &str) -> Option<u32> {
    text.parse().ok()
}

/// `GET …/papers/confirmation/{hold_id}`.
pub async fn confirmation(
    State(state): State<AppState>,
    user: WebUser,
    Path((event_id, hold_id)): Path<(String, String)>,
) -> Result<Markup, PageError> {
    serve(state, user, event_id, Some(Want::Hold(hold_id))).await
}

/// `GET …/papers/work-ticket/{ticket_id}`.
pub async fn work_ticket(
    State(state): State<AppState>,
    user: WebUser,
    Path((event_id, ticket_id)): Path<(String, String)>,
) -> Result<Markup, PageError> {
    serve(state, user, event_id, Some(Want::Ticket(ticket_id))).await
}

/// `GET …/papers/voucher/{voucher_no}`.
pub async fn voucher(
    State(state): State<AppState>,
    user: WebUser,
    Path((event_id, no)): Path<(String, String)>,
) -> Result<Markup, PageError> {
    serve(state, user, event_id, number(&no).map(Want::Voucher)).await
}

/// `GET …/papers/red/{voucher_no}`.
pub async fn red(
    State(state): State<AppState>,
    user: WebUser,
    Path((event_id, no)): Path<(String, String)>,
) -> Result<Markup, PageError> {
    serve(state, user, event_id, number(&no).map(Want::Red)).await
}

//! Tickets with their reply SLA (24-hour reply), computed at the moment of asking: searched,
//! filtered, sorted and paged.

use chrono::{DateTime, NaiveDate, Utc};
use kam_core::Policy;
use kam_core::model::{TicketKind, TicketPriority, TicketStatus};
use kam_core::rules::{self, SlaState};
use serde::{Deserialize, Serialize};

use super::listing::{self, Dir, ListParams, Page, PageRequest, SortColumn, SortValue};
use super::people::Names;
use crate::db::Db;
use crate::db::hq::TicketFilter;
use crate::error::ServerError;

/// SLA state codes, most urgent first.
pub const SLA_CODES: &[&str] = &["overdue", "due_soon", "pending", "breached", "met"];

/// Which tickets to list, as the query string spells it. Every value is read as text and
/// checked here, so a bad one is answered with a message naming it.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct TicketQuery {
    /// `open` (default) or `all`.
    pub show: Option<String>,
    /// An SLA state code to keep (`overdue`, `due_soon`, `pending`, `breached`, `met`).
    pub sla: Option<String>,
    /// A status code.
    pub status: Option<String>,
    /// A kind code.
    pub kind: Option<String>,
    /// A priority code.
    pub priority: Option<String>,
    /// The owner's user id.
    pub rep: Option<String>,
    /// A customer id.
    pub customer: Option<String>,
    /// Opened on or after this day (`YYYY-MM-DD`, the policy's business day).
    pub opened_from: Option<String>,
    /// Opened on or before this day.
    pub opened_to: Option<String>,
    /// Part of the title, the ticket's id, the customer's name or the owner's name.
    pub q: Option<String>,
}

impl TicketQuery {
    /// The filters as query-string pairs, in the form's order.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let v = |o: &Option<String>| o.clone().unwrap_or_default();
        vec![
            ("q", v(&self.q)),
            ("show", v(&self.show)),
            ("sla", v(&self.sla)),
            ("status", v(&self.status)),
            ("kind", v(&self.kind)),
            ("priority", v(&self.priority)),
            ("rep", v(&self.rep)),
            ("customer", v(&self.customer)),
            ("opened_from", v(&self.opened_from)),
            ("opened_to", v(&self.opened_to)),
        ]
    }
}

/// A ticket and where it stands against the SLA now.
#[derive(Clone, Debug, Serialize)]
pub struct TicketSla {
    /// Ticket id.
    pub ticket_id: String,
    /// Customer id.
    pub customer_id: String,
    /// Customer name.
    pub customer_name: String,
    /// Kind code.
    pub kind: String,
    /// Priority code.
    pub priority: String,
    /// Status code.
    pub status: String,
    /// Title.
    pub title: String,
    /// Who owns it (user id).
    pub owner: Option<String>,
    /// The owner's name.
    pub owner_name: Option<String>,
    /// Opened at (RFC 3339).
    pub opened_at: String,
    /// Reply due at (RFC 3339).
    pub reply_due_at: String,
    /// SLA state code now.
    pub sla: &'static str,
    /// Minutes past due (overdue or breached), or left (pending, due soon).
    pub minutes: i64,
}

fn rank_of(code: &str, codes: impl Iterator<Item = &'static str>) -> i64 {
    codes.zip(0i64..).find(|(c, _)| *c == code).map_or(99, |(_, i)| i)
}

/// The columns the ticket list sorts by (`sort=`).
pub const SORT_COLUMNS: &[SortColumn<TicketSla>] = &[
    SortColumn {
        key: "sla",
        value: |t| {
            let rank = rank_of(t.sla, SLA_CODES.iter().copied());
            Some(SortValue::Text(format!("{rank}{}", t.reply_due_at)))
        },
    },
    SortColumn { key: "customer", value: |t| Some(SortValue::Text(t.customer_name.clone())) },
    SortColumn {
        key: "kind",
        value: |t| {
            Some(SortValue::Int(rank_of(&t.kind, TicketKind::ALL.iter().map(|k| k.as_str()))))
        },
    },
    SortColumn {
        key: "priority",
        value: |t| {
            Some(SortValue::Int(rank_of(
                &t.priority,
                TicketPriority::ALL.iter().map(|p| p.as_str()),
            )))
        },
    },
    SortColumn {
        key: "status",
        value: |t| {
            Some(SortValue::Int(rank_of(&t.status, TicketStatus::ALL.iter().map(|s| s.as_str()))))
        },
    },
    SortColumn { key: "title", value: |t| Some(SortValue::Text(t.title.clone())) },
    SortColumn { key: "opened", value: |t| Some(SortValue::Text(t.opened_at.clone())) },
    SortColumn { key: "due", value: |t| Some(SortValue::Text(t.reply_due_at.clone())) },
    SortColumn { key: "owner", value: |t| t.owner_name.clone().map(SortValue::Text) },
];

/// The default order: most urgent first, then by when the reply is due.
pub const DEFAULT_SORT: (&str, Dir) = ("sla", Dir::Asc);

fn invalid(field: &'static str, reason: String) -> ServerError {
    ServerError::Invalid { field, reason }
}

fn day(value: &Option<String>, field: &'static str) -> Result<Option<NaiveDate>, ServerError> {
    listing::given(value)
        .map(|v| v.parse().map_err(|_| invalid(field, format!("{v:?} is not a date (YYYY-MM-DD)"))))
        .transpose()
}

/// The filters checked.
struct Checked {
    open_only: bool,
    sla: Option<&'static str>,
    status: Option<&'static str>,
    kind: Option<&'static str>,
    priority: Option<&'static str>,
    rep: Option<String>,
    customer: Option<String>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    q: Option<String>,
}

fn check(query: &TicketQuery, names: &Names) -> Result<Checked, ServerError> {
    let open_only = listing::code(&query.show, "show", &["open", "all"])? != Some("all");
    let statuses: Vec<&'static str> = TicketStatus::ALL.iter().map(|s| s.as_str()).collect();
    let kinds: Vec<&'static str> = TicketKind::ALL.iter().map(|k| k.as_str()).collect();
    let priorities: Vec<&'static str> = TicketPriority::ALL.iter().map(|p| p.as_str()).collect();
    let rep = listing::given(&query.rep).map(str::to_owned);
    if let Some(r) = &rep
        && !names.knows(r)
    {
        return Err(invalid("rep", format!("no user {r:?}")));
    }
    let (from, to) = (day(&query.opened_from, "opened_from")?, day(&query.opened_to, "opened_to")?);
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Err(invalid("opened_to", format!("{t} is before {f}")));
    }
    Ok(Checked {
        open_only,
        sla: listing::code(&query.sla, "sla", SLA_CODES)?,
        status: listing::code(&query.status, "status", &statuses)?,
        kind: listing::code(&query.kind, "kind", &kinds)?,
        priority: listing::code(&query.priority, "priority", &priorities)?,
        rep,
        customer: listing::given(&query.customer).map(str::to_owned),
        from,
        to,
        q: listing::search_text(query.q.as_deref())?,
    })
}

impl Checked {
    fn keeps(&self, t: &TicketSla, opened_on: NaiveDate) -> bool {
        self.sla.is_none_or(|s| t.sla == s)
            && self.status.is_none_or(|s| t.status == s)
            && self.kind.is_none_or(|k| t.kind == k)
            && self.priority.is_none_or(|p| t.priority == p)
            && self.rep.as_ref().is_none_or(|r| t.owner.as_ref() == Some(r))
            && self.customer.as_ref().is_none_or(|c| &t.customer_id == c)
            && self.from.is_none_or(|f| opened_on >= f)
            && self.to.is_none_or(|d| opened_on <= d)
            && self.q.as_deref().is_none_or(|q| {
                [&t.title, &t.ticket_id, &t.customer_name]
                    .into_iter()
                    .chain(t.owner_name.as_ref())
                    .any(|field| listing::contains_folded(field, q))
            })
    }
}

impl Checked {
    /// What the store can filter by itself; the SLA, the days and the search are the rule's
    /// and the list's, checked on each row read.
    fn store_filter(&self, without_text: bool) -> TicketFilter {
        TicketFilter {
            open_only: self.open_only,
            status: self.status.map(str::to_owned),
            kind: self.kind.map(str::to_owned),
            priority: self.priority.map(str::to_owned),
            owner: self.rep.clone(),
            customer: self.customer.clone(),
            without_text,
        }
    }
}

/// Every ticket `checked` keeps, where each stands against the SLA at `now`, in the store's
/// order; `without_text` leaves the customer's name and the title empty.
fn read(
    db: &dyn Db,
    checked: &Checked,
    names: &Names,
    (policy, now): (&Policy, DateTime<Utc>),
    without_text: bool,
) -> Result<Vec<TicketSla>, ServerError> {
    let mut out = Vec::new();
    for row in db.tickets(&checked.store_filter(without_text))? {
        let opened_at = super::instant(&row.opened_at)?;
        let replied_at = row.first_reply_at.as_deref().map(super::instant).transpose()?;
        let state = rules::reply_sla(opened_at, replied_at, now, policy);
        let (sla, minutes) = code_and_minutes(&state);
        let ticket = TicketSla {
            owner_name: row.owner.as_deref().map(|o| names.of(o).to_owned()),
            ticket_id: row.ticket_id,
            customer_id: row.customer_id,
            customer_name: row.customer_name,
            kind: row.kind,
            priority: row.priority,
            status: row.status,
            title: row.title,
            owner: row.owner,
            opened_at: row.opened_at,
            reply_due_at: rules::reply_due_at(opened_at, policy).to_rfc3339(),
            sla,
            minutes,
        };
        if checked.keeps(&ticket, policy.business_date(opened_at)) {
            out.push(ticket);
        }
    }
    Ok(out)
}

/// Every ticket matching `query`, where each stands against the SLA at `now`, in the store's
/// order.
pub fn matching(
    db: &dyn Db,
    query: &TicketQuery,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<Vec<TicketSla>, ServerError> {
    let names = Names::load(db)?;
    let checked = check(query, &names)?;
    read(db, &checked, &names, (policy, now), false)
}

/// Every ticket matching `query` in the order `params` asks (for an export: no paging).
pub fn sorted(
    db: &dyn Db,
    query: &TicketQuery,
    params: &ListParams,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<Vec<TicketSla>, ServerError> {
    let request = PageRequest::parse(params, SORT_COLUMNS, DEFAULT_SORT)?;
    let rows = matching(db, query, policy, now)?;
    Ok(request.all(rows, SORT_COLUMNS, |t| &t.ticket_id))
}

/// One page of the tickets matching `query`, sorted as `params` asks.
///
/// Unless the list searches or sorts by text, every ticket is read without its customer's
/// name and title (no join, no long strings) and only the page's rows are read in full: at
/// a company's size that is most of the list's time.
pub fn page(
    db: &dyn Db,
    query: &TicketQuery,
    params: &ListParams,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<Page<TicketSla>, ServerError> {
    let request = PageRequest::parse(params, SORT_COLUMNS, DEFAULT_SORT)?;
    let names = Names::load(db)?;
    let checked = check(query, &names)?;
    let without_text = checked.q.is_none() && !matches!(request.sort, "customer" | "title");
    let rows = read(db, &checked, &names, (policy, now), without_text)?;
    let mut page = request.page(rows, SORT_COLUMNS, |t| &t.ticket_id);
    if without_text {
        fill_text(db, &mut page.rows)?;
    }
    Ok(page)
}

/// Reads the customer's name and the title of `rows`, read without them.
fn fill_text(db: &dyn Db, rows: &mut [TicketSla]) -> Result<(), ServerError> {
    let ids: Vec<String> = rows.iter().map(|t| t.ticket_id.clone()).collect();
    let mut full: std::collections::HashMap<String, crate::db::hq::TicketRecord> =
        db.tickets_by_id(&ids)?.into_iter().map(|r| (r.ticket_id.clone(), r)).collect();
    for row in rows {
        if let Some(record) = full.remove(&row.ticket_id) {
            row.customer_name = record.customer_name;
            row.title = record.title;
        }
    }
    Ok(())
}

/// The state's stable code, and the minutes that matter for it.
pub fn code_and_minutes(state: &SlaState) -> (&'static str, i64) {
    match state {
        SlaState::Overdue { overdue_by, .. } => ("overdue", overdue_by.num_minutes()),
        SlaState::DueSoon { remaining, .. } => ("due_soon", remaining.num_minutes()),
        SlaState::Pending { remaining, .. } => ("pending", remaining.num_minutes()),
        SlaState::Breached { late_by, .. } => ("breached", late_by.num_minutes()),
        SlaState::Met { .. } => ("met", 0),
    }
}

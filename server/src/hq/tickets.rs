//! Tickets with their reply SLA (24-hour reply), computed at the moment of asking.

use chrono::{DateTime, Utc};
use kam_core::Policy;
use kam_core::rules::{self, SlaState};
use serde::{Deserialize, Serialize};

use crate::db::HqQueries;
use crate::error::ServerError;

/// Which tickets to list.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct TicketFilter {
    /// `open` (default) or `all`.
    pub show: Option<String>,
    /// An SLA state code to keep (`overdue`, `due_soon`, `pending`, `breached`, `met`).
    pub sla: Option<String>,
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
    /// Who owns it.
    pub owner: Option<String>,
    /// Opened at (RFC 3339).
    pub opened_at: String,
    /// Reply due at (RFC 3339).
    pub reply_due_at: String,
    /// SLA state code now.
    pub sla: &'static str,
    /// Minutes past due (overdue or breached), or left (pending, due soon).
    pub minutes: i64,
}

/// Tickets matching `filter`, most urgent first.
pub fn tickets(
    db: &dyn HqQueries,
    filter: &TicketFilter,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<Vec<TicketSla>, ServerError> {
    let all = filter.show.as_deref() == Some("all");
    let rows = db.tickets(!all)?;
    let mut out = Vec::new();
    for row in rows {
        let crate::db::hq::TicketRecord {
            ticket_id,
            customer_id,
            customer_name,
            kind,
            priority,
            status,
            title,
            owner,
            opened_at: opened,
            first_reply_at: replied,
        } = row;
        let opened_at = super::instant(&opened)?;
        let replied_at = replied.as_deref().map(super::instant).transpose()?;
        let state = rules::reply_sla(opened_at, replied_at, now, policy);
        let (sla, minutes) = code_and_minutes(&state);
        if filter.sla.as_deref().is_some_and(|want| !want.is_empty() && want != sla) {
            continue;
        }
        out.push((
            state.urgency_rank(),
            TicketSla {
                ticket_id,
                customer_id,
                customer_name,
                kind,
                priority,
                status,
                title,
                owner,
                opened_at: opened,
                reply_due_at: rules::reply_due_at(opened_at, policy).to_rfc3339(),
                sla,
                minutes,
            },
        ));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.reply_due_at.cmp(&b.1.reply_due_at)));
    Ok(out.into_iter().map(|(_, t)| t).collect())
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

//! One rep as headquarters sees them (`/hq/reps/{id}`): their customers, the visits the
//! cadence asks of them, their tickets, their pipeline and their scorecards — each a short
//! view of the list it links to, filtered on the rep.

use chrono::{DateTime, Utc};
use kam_core::Policy;
use kam_core::rules::PipelineSummary;
use serde::Serialize;

use super::charts::VisitMonth;
use super::compliance::{self, ComplianceCount, DueVisit};
use super::customers::{CustomerLine, CustomerQuery};
use super::listing::{ListParams, Page};
use super::people::Names;
use super::pipeline;
use super::tickets::{TicketQuery, TicketSla};
use crate::db::management::ScorecardRow;
use crate::db::pipeline::LeadFilter;
use crate::db::{Db, ManagementQueries};
use crate::error::ServerError;

/// Rows of each short list on the rep's page.
const SHORT_LIST: &str = "10";

/// What the rep's page shows.
#[derive(Clone, Debug, Serialize)]
pub struct RepView {
    /// The rep's user id.
    pub user_id: String,
    /// Their name.
    pub name: String,
    /// Their role code.
    pub role: String,
    /// Their customers, most important first (the first page; `total` counts them all).
    pub customers: Page<CustomerLine>,
    /// Their open tickets, most urgent first (the first page).
    pub open_tickets: Page<TicketSla>,
    /// The visit cadence over their customers today.
    pub visits: Option<ComplianceCount>,
    /// Their visits past due, most overdue first.
    pub overdue_visits: Vec<DueVisit>,
    /// Their visits made against those due, month by month.
    pub visits_by_month: Vec<VisitMonth>,
    /// Their pipeline's totals.
    pub pipeline: PipelineSummary,
    /// Their scorecards, the latest period first.
    pub scorecards: Vec<ScorecardRow>,
}

/// The page of `user_id` at `now`; not found unless they are a user.
pub fn rep(
    db: &dyn Db,
    policy: &Policy,
    now: DateTime<Utc>,
    user_id: &str,
) -> Result<RepView, ServerError> {
    let user =
        db.users()?.into_iter().find(|u| u.user_id == user_id).ok_or(ServerError::NotFound)?;
    let names = Names::load(db)?;
    let short = ListParams { limit: Some(SHORT_LIST.to_owned()), ..ListParams::default() };
    let rep = Some(user_id.to_owned());
    let customers = super::customers::page(
        db,
        &CustomerQuery { rep: rep.clone(), ..CustomerQuery::default() },
        &short,
    )?;
    let open_tickets = super::tickets::page(
        db,
        &TicketQuery { rep: rep.clone(), ..TicketQuery::default() },
        &short,
        policy,
        now,
    )?;
    let cadence = compliance::compliance_of(db, policy, now, Some(user_id))?;
    let pipeline = pipeline::pipeline(db, &LeadFilter { owner: rep, stage: None })?.summary;
    let mut scorecards: Vec<ScorecardRow> = ManagementQueries::scorecards(db, None)?
        .into_iter()
        .filter(|s| s.person == user_id)
        .collect();
    scorecards.sort_by(|a, b| b.period.cmp(&a.period));
    Ok(RepView {
        name: names.of(user_id).to_owned(),
        user_id: user.user_id,
        role: user.role.as_str().to_owned(),
        customers,
        open_tickets,
        visits: cadence.by_rep.get(user_id).cloned(),
        overdue_visits: cadence.overdue,
        visits_by_month: super::charts::rep_visits_by_month(db, policy, now, user_id)?,
        pipeline,
        scorecards,
    })
}

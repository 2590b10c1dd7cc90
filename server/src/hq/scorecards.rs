//! Staff scorecards (绩效考核, RULES.md §10): the figures of a period gathered from the
//! server's records, computed by `rules::compute_scorecard` and published into the person's
//! scorecard document by the server; targets and ratings set by the back office.
//!
//! How each input is gathered (also what the published lines' `basis` rests on):
//! - sales: the ERP sales ledger's months of the period, summed over the customers the person
//!   owns now (`customer_owners`);
//! - visits: for each owned customer, the cadence entries (`rules::visits_due_for`) as they
//!   stood at the period's start whose due date falls on or before its last day are due; one
//!   is done when a visit that counts for it was made within the period;
//! - reply SLA: tickets the person owns or of their customers whose first reply fell due in
//!   the period and is due by now; on time when the first reply came by the deadline;
//! - satisfaction: the mean score of the surveys of the person's customers taken in the
//!   period (none: the measure has no data);
//! - pipeline: the person's leads closed (won or lost) in the period, and those won.

use chrono::{DateTime, NaiveDate, Utc};
use kam_core::Policy;
use kam_core::doc::{ScorecardEdit, customer_doc_id, read_customer};
use kam_core::model::{
    CustomerId, EntryId, RaterKind, Rating, Role, Scorecard, UserId, scorecard_id,
};
use kam_core::rules::{self, ScorecardInputs};
use rust_decimal::Decimal;

use super::decisions::{Decider, write_and_announce};
use super::records;
use crate::db::Db;
use crate::db::sales::YearMonth;
use crate::error::ServerError;
use crate::services::Services;
use crate::sync::ChangedDoc;
use crate::sync::docs::DocCache;

const BACK_OFFICE: &[Role] = &[Role::Hq, Role::Admin];

fn invalid(field: &'static str, e: impl ToString) -> ServerError {
    ServerError::Invalid { field, reason: e.to_string() }
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A new scorecard for `person` and `period`, target 0 and nothing rated.
fn empty_card(person: &str, period: &str) -> Scorecard {
    let person = UserId::from(person);
    Scorecard {
        id: scorecard_id(&person, period),
        person,
        period: period.to_owned(),
        sales_target: Decimal::ZERO,
        ratings: Default::default(),
        published: None,
    }
}

/// Visits done and due for `customers` in `first..=last` (see the module's description).
fn visit_counts(
    tx: &dyn Db,
    docs: &mut DocCache,
    customers: &[String],
    (first, last): (NaiveDate, NaiveDate),
    policy: &Policy,
) -> Result<(u32, u32), ServerError> {
    let (mut done, mut due) = (0u32, 0u32);
    for id in customers {
        let doc_id = customer_doc_id(&CustomerId::from(id.as_str()));
        let Some(doc) = docs.get(tx, &doc_id, false)? else { continue };
        let c = read_customer(doc)?;
        let visits = |until: NaiveDate| -> Vec<_> {
            c.visits.values().filter(|v| v.date <= until).map(|v| (v.level, v.date)).collect()
        };
        let before = first.pred_opt().unwrap_or(first);
        let at_start =
            rules::visits_due_for(&c.classification, c.created_at, &visits(before), policy);
        let at_end = rules::visits_due_for(&c.classification, c.created_at, &visits(last), policy);
        for entry in at_start.iter().filter(|e| e.next_due_on <= last) {
            due = due.saturating_add(1);
            let made = at_end.iter().any(|e| {
                e.level == entry.level && e.last_visit_on.is_some_and(|d| d >= first && d <= last)
            });
            if made {
                done = done.saturating_add(1);
            }
        }
    }
    Ok((done, due))
}

/// The mean of survey scores 0–100, to the whole point, half up; `None` without surveys.
fn mean_score(scores: &[u32]) -> Option<u8> {
    let sum = scores.iter().fold(Decimal::ZERO, |acc, s| acc.saturating_add(Decimal::from(*s)));
    let mean = sum.checked_div(Decimal::from(scores.len()))?;
    let whole =
        mean.round_dp_with_strategy(0, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    u8::try_from(whole.mantissa()).ok().map(|m| m.min(100))
}

/// The inputs of `card`'s scorecard, gathered from the records at `now`.
fn gather(
    tx: &dyn Db,
    docs: &mut DocCache,
    card: &Scorecard,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<ScorecardInputs, ServerError> {
    let bounds = rules::period_bounds(&card.period).map_err(|e| invalid("period", e))?;
    let (first, last) = bounds;
    let person = card.person.as_str();
    let customers = tx.customers_owned_by(person)?;
    let ledger = tx.sales_between(YearMonth::of(first), YearMonth::of(last), Some(&customers))?;
    let sales_actual = ledger
        .values()
        .try_fold(Decimal::ZERO, |acc, amount| acc.checked_add(*amount))
        .ok_or_else(|| invalid("sales", "the period's sales overflow"))?;
    let (visits_done, visits_due) = visit_counts(tx, docs, &customers, bounds, policy)?;
    let now_text = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let replies: Vec<_> = tx
        .replies_due(person, &customers, first, last)?
        .into_iter()
        .filter(|r| r.reply_due_at <= now_text || r.first_reply_at.is_some())
        .collect();
    let on_time = replies
        .iter()
        .filter(|r| r.first_reply_at.as_ref().is_some_and(|at| *at <= r.reply_due_at))
        .count();
    let scores = tx.survey_scores(&customers, first, last)?;
    let satisfaction = mean_score(&scores);
    let (won, closed) = tx.leads_closed(person, first, last)?;
    Ok(ScorecardInputs {
        sales_actual,
        sales_target: card.sales_target,
        visits_done,
        visits_due,
        replies_on_time: count(on_time),
        replies_due: count(replies.len()),
        satisfaction,
        leads_won: u32::try_from(won).unwrap_or(u32::MAX),
        leads_closed: u32::try_from(closed).unwrap_or(u32::MAX),
        ratings: card.ratings.values().cloned().collect(),
    })
}

/// Computes and publishes `person`'s scorecard for `period` inside the caller's write.
pub(crate) fn publish_in(
    tx: &dyn Db,
    docs: &mut DocCache,
    policy: &Policy,
    person: &str,
    period: &str,
    by: &str,
    now: DateTime<Utc>,
) -> Result<ChangedDoc, ServerError> {
    rules::period_bounds(period).map_err(|e| invalid("period", e))?;
    let id = scorecard_id(&UserId::from(person), period);
    let card: Scorecard =
        records::read(tx, docs, id.as_str())?.unwrap_or_else(|| empty_card(person, period));
    let inputs = gather(tx, docs, &card, policy, now)?;
    let figures =
        rules::compute_scorecard(&inputs, policy, now).map_err(|e| invalid("scorecard", e))?;
    let edit = ScorecardEdit::Publish(figures);
    let (changed, _) = records::apply(tx, docs, id.as_str(), Some(card), &edit, by, now)?;
    Ok(changed)
}

/// Publishes `person`'s scorecard for `period` (headquarters or an administrator), then tells
/// devices and the projector.
pub async fn publish_scorecard(
    services: &Services,
    person: String,
    period: String,
    by: Decider<'_>,
) -> Result<(), ServerError> {
    let user = records::allowed(by, BACK_OFFICE, "scorecards are published by headquarters")?;
    write_and_announce(services, move |tx, docs, policy| {
        publish_in(tx, docs, policy, &person, &period, &user, Utc::now()).map(Some)
    })
    .await
}

/// Sets the sales target of `person`'s scorecard for `period`, creating it if absent.
pub async fn set_target(
    services: &Services,
    person: String,
    period: String,
    target: Decimal,
    by: Decider<'_>,
) -> Result<(), ServerError> {
    let user = records::allowed(by, BACK_OFFICE, "targets are set by headquarters")?;
    rules::period_bounds(&period).map_err(|e| invalid("period", e))?;
    if target < Decimal::ZERO {
        return Err(invalid("target", "must not be negative"));
    }
    write_and_announce(services, move |tx, docs, _| {
        let card = empty_card(&person, &period);
        let id = card.id.clone();
        let edit = ScorecardEdit::SetTarget(target);
        records::apply(tx, docs, id.as_str(), Some(card), &edit, &user, Utc::now())
            .map(|(changed, _)| Some(changed))
    })
    .await
}

/// Adds a rating to `person`'s scorecard for `period` (`rules::check_rating`: nobody rates
/// themselves), creating the scorecard if absent.
pub async fn add_rating(
    services: &Services,
    person: String,
    period: String,
    rater: RaterKind,
    score: u8,
    note: String,
    by: Decider<'_>,
) -> Result<(), ServerError> {
    let user = records::allowed(by, BACK_OFFICE, "ratings are entered by headquarters")?;
    rules::period_bounds(&period).map_err(|e| invalid("period", e))?;
    rules::check_rating(
        rater,
        by.role,
        &UserId::from(user.as_str()),
        &UserId::from(person.as_str()),
        score,
    )
    .map_err(|e| invalid("rating", e))?;
    write_and_announce(services, move |tx, docs, _| {
        let now = Utc::now();
        let card = empty_card(&person, &period);
        let id = card.id.clone();
        let rating = Rating {
            id: EntryId::new(),
            rater,
            by: UserId::from(user.as_str()),
            score,
            at: now,
            note: note.clone(),
        };
        let edit = ScorecardEdit::AddRating(rating);
        records::apply(tx, docs, id.as_str(), Some(card), &edit, &user, now)
            .map(|(changed, _)| Some(changed))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn satisfaction_is_the_mean_score_rounded_half_up() {
        assert_eq!(mean_score(&[]), None);
        assert_eq!(mean_score(&[80, 81]), Some(81));
        assert_eq!(mean_score(&[80, 80, 81]), Some(80));
        assert_eq!(mean_score(&[100]), Some(100));
    }
}

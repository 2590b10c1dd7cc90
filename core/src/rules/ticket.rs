//! Service tickets: the status state machine and the 24-hour reply SLA (RULES.md §4).

use crate::model::{Customer, ServiceTicket, TicketKind, TicketStatus};
use crate::policy::Policy;
use chrono::{DateTime, Duration, Utc};

use super::{RuleError, TicketRuleError, is_strategic};

/// The statuses a ticket may move to from `from`. Closing is only from resolved, because
/// the follow-up call comes after the fix; a closed ticket can only be reopened.
pub fn allowed_transitions(from: TicketStatus) -> &'static [TicketStatus] {
    use TicketStatus::{Closed, Escalated, InProgress, New, Reopened, Resolved};
    match from {
        New => &[InProgress, Escalated, Resolved],
        InProgress => &[Escalated, Resolved],
        Escalated => &[InProgress, Resolved],
        Resolved => &[Closed, Reopened],
        Closed => &[Reopened],
        Reopened => &[InProgress, Escalated, Resolved],
    }
}

/// Whether `ticket` may move to `to` now: the edge must exist, and closing needs the
/// follow-up call (回访) recorded and, for a quality ticket, a verified preventive action.
pub fn check_transition(ticket: &ServiceTicket, to: TicketStatus) -> Result<(), TicketRuleError> {
    let from = ticket.status;
    if from == to {
        return Err(RuleError::SameStatus { status: from });
    }
    if !allowed_transitions(from).contains(&to) {
        return Err(RuleError::TransitionNotAllowed { from, to });
    }
    if to == TicketStatus::Closed {
        check_closable(ticket)?;
    }
    Ok(())
}

/// The closing conditions, checked in the order a rep would fix them.
fn check_closable(ticket: &ServiceTicket) -> Result<(), TicketRuleError> {
    if ticket.kind == TicketKind::Quality {
        let action = ticket.preventive_action.as_ref().ok_or(RuleError::PreventiveActionMissing)?;
        // Both who and when: a verification without either is not auditable.
        if action.verified_by.is_none() || action.verified_at.is_none() {
            return Err(RuleError::PreventiveActionNotVerified);
        }
    }
    if ticket.follow_up.is_none() {
        return Err(RuleError::FollowUpMissing);
    }
    Ok(())
}

/// A strategic customer's ticket must have a named service owner (专人负责); other customers'
/// tickets may be unassigned. Check it when a ticket is opened or changes status.
pub fn check_service_owner(
    ticket: &ServiceTicket,
    customer: &Customer,
) -> Result<(), TicketRuleError> {
    if ticket.owner.is_none() && is_strategic(&customer.classification) {
        return Err(RuleError::ServiceOwnerMissing);
    }
    Ok(())
}

/// Where a ticket stands against the reply SLA. (Not serde: how a duration goes on the wire
/// is the caller's choice.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlaState {
    /// First reply was on time (at or before the due time).
    Met {
        /// When the first reply was sent.
        replied_at: DateTime<Utc>,
    },
    /// First reply was late.
    Breached {
        /// When the first reply was sent.
        replied_at: DateTime<Utc>,
        /// How late.
        late_by: Duration,
    },
    /// No reply yet; more than the warning window remains.
    Pending {
        /// Reply due by.
        due_at: DateTime<Utc>,
        /// Time left.
        remaining: Duration,
    },
    /// No reply yet; the warning window has started (includes exactly at the due time).
    DueSoon {
        /// Reply due by.
        due_at: DateTime<Utc>,
        /// Time left (zero at the due time).
        remaining: Duration,
    },
    /// No reply and the due time has passed.
    Overdue {
        /// Reply was due by.
        due_at: DateTime<Utc>,
        /// How long past due.
        overdue_by: Duration,
    },
}

impl SlaState {
    /// Sort key for work lists, most urgent first: overdue 0, due soon 1, pending 2,
    /// breached 3, met 4. Ties are for the caller to break (e.g. by due time).
    pub fn urgency_rank(&self) -> u8 {
        match self {
            SlaState::Overdue { .. } => 0,
            SlaState::DueSoon { .. } => 1,
            SlaState::Pending { .. } => 2,
            SlaState::Breached { .. } => 3,
            SlaState::Met { .. } => 4,
        }
    }
}

/// The reply deadline: opening time plus the SLA hours (24 by default).
pub fn reply_due_at(opened_at: DateTime<Utc>, policy: &Policy) -> DateTime<Utc> {
    let sla = Duration::hours(i64::from(policy.tickets.reply_within_hours));
    opened_at.checked_add_signed(sla).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The SLA state at `now`. A reply exactly at the due time is on time; one second later is
/// a breach. Without a reply, exactly at the due time is still due soon, not overdue.
pub fn reply_sla(
    opened_at: DateTime<Utc>,
    first_reply_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    policy: &Policy,
) -> SlaState {
    let due_at = reply_due_at(opened_at, policy);
    if let Some(replied_at) = first_reply_at {
        return if replied_at <= due_at {
            SlaState::Met { replied_at }
        } else {
            SlaState::Breached { replied_at, late_by: replied_at.signed_duration_since(due_at) }
        };
    }
    if now > due_at {
        return SlaState::Overdue { due_at, overdue_by: now.signed_duration_since(due_at) };
    }
    // Between two instants chrono represents, `signed_duration_since` cannot overflow (the
    // `-` operator is the same function, but hides that from a reader and from clippy).
    let remaining = due_at.signed_duration_since(now);
    let window = Duration::minutes(i64::from(policy.tickets.due_soon_minutes));
    if remaining <= window {
        SlaState::DueSoon { due_at, remaining }
    } else {
        SlaState::Pending { due_at, remaining }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn every_status_has_edges_and_none_to_itself() {
        for from in TicketStatus::ALL {
            let to = allowed_transitions(*from);
            assert!(!to.is_empty(), "{from} is a dead end");
            assert!(!to.contains(from), "{from} loops to itself");
        }
    }

    #[test]
    fn urgency_orders_overdue_first() {
        let t = DateTime::<Utc>::UNIX_EPOCH;
        let d = Duration::zero();
        let mut states = [
            SlaState::Met { replied_at: t },
            SlaState::Pending { due_at: t, remaining: d },
            SlaState::Overdue { due_at: t, overdue_by: d },
            SlaState::Breached { replied_at: t, late_by: d },
            SlaState::DueSoon { due_at: t, remaining: d },
        ];
        states.sort_by_key(SlaState::urgency_rank);
        assert!(matches!(states[0], SlaState::Overdue { .. }));
        assert!(matches!(states[1], SlaState::DueSoon { .. }));
        assert!(matches!(states[4], SlaState::Met { .. }));
    }
}

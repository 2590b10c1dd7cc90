//! The one error type of the business rules.
//!
//! Rules that judge a business request (a price, payment terms, a credit limit) answer with a
//! typed *verdict*, because "refused" is a normal outcome there. `RuleError` is for inputs a
//! rule cannot accept at all (points above a factor's maximum) and for forbidden ticket
//! transitions, which the caller must not write.

use crate::model::TicketStatus;
use crate::policy::ScoreFactor;

/// Why a rule rejected its input.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// A scoring factor was given more points than the policy allows for it.
    #[error("{} ({factor:?}) has {points} points, more than its maximum {max}", factor.label_zh())]
    FactorOverMax {
        /// The factor.
        factor: ScoreFactor,
        /// Points given.
        points: u32,
        /// The policy's maximum for the factor.
        max: u32,
    },
    /// A ticket cannot move to the status it already has.
    #[error("the ticket is already {status}")]
    SameStatus {
        /// The current (and requested) status.
        status: TicketStatus,
    },
    /// The state machine has no edge from the current status to the requested one.
    #[error("a ticket cannot go from {from} to {to}")]
    TransitionNotAllowed {
        /// Current status.
        from: TicketStatus,
        /// Requested status.
        to: TicketStatus,
    },
    /// Closing needs the follow-up call (回访) recorded first.
    #[error("a ticket cannot close before the follow-up call (回访) is recorded")]
    FollowUpMissing,
    /// A quality ticket cannot close without a preventive action.
    #[error("a quality ticket cannot close without a preventive action")]
    PreventiveActionMissing,
    /// A strategic customer's ticket has no named service owner.
    #[error("a strategic customer's ticket needs a named service owner (专人负责)")]
    ServiceOwnerMissing,
    /// A quality ticket's preventive action exists but nobody has verified it yet.
    #[error("a quality ticket cannot close before its preventive action is verified")]
    PreventiveActionNotVerified,
}

/// What [`check_transition`](super::check_transition) returns on refusal: the ticket variants
/// of [`RuleError`]. An alias rather than a second enum, so the rules keep one error type.
pub type TicketRuleError = RuleError;

//! The service ticket aggregate (售后服务 / 投诉).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::common::{CustomerId, EntryId, TicketId, UserId, vocabulary};

/// What kind of request a ticket is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketKind {
    /// A question or inquiry (询价/咨询).
    Inquiry,
    /// After-sales service (售后服务).
    AfterSales,
    /// A quality problem (质量问题): closing needs a verified preventive action.
    Quality,
    /// A complaint (投诉).
    Complaint,
    /// A delivery problem (交货问题): late, short or wrong deliveries, reported in 附件一.
    Delivery,
}
vocabulary!(TicketKind, "ticket kind", {
    Inquiry => "inquiry", AfterSales => "after_sales", Quality => "quality",
    Complaint => "complaint", Delivery => "delivery"
});

/// Ticket priority; lower rank is more urgent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketPriority {
    /// Serious complaint or stopped production.
    Urgent,
    /// Needs attention soon.
    High,
    /// Ordinary.
    Normal,
    /// Can wait.
    Low,
}
vocabulary!(TicketPriority, "ticket priority", {
    Urgent => "urgent", High => "high", Normal => "normal", Low => "low"
});

/// Where a ticket is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    /// Received, nobody working on it yet.
    New,
    /// Someone is working on it.
    InProgress,
    /// Handed to a cross-department group (complex issue).
    Escalated,
    /// Solved; waiting for the follow-up call.
    Resolved,
    /// Done: follow-up made and (for quality) preventive action verified.
    Closed,
    /// Opened again after being resolved or closed.
    Reopened,
}
vocabulary!(TicketStatus, "ticket status", {
    New => "new", InProgress => "in_progress", Escalated => "escalated",
    Resolved => "resolved", Closed => "closed", Reopened => "reopened"
});

impl TicketStatus {
    /// Whether the ticket still needs work (counts as open on screens).
    pub fn is_open(self) -> bool {
        !matches!(self, TicketStatus::Resolved | TicketStatus::Closed)
    }
}

/// One entry of a ticket's status history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusChange {
    /// Stable id.
    pub id: EntryId,
    /// Status before.
    pub from: TicketStatus,
    /// Status after.
    pub to: TicketStatus,
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub by: UserId,
    /// Why, in the author's words.
    pub note: String,
}

/// A reply to the customer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    /// Stable id.
    pub id: EntryId,
    /// When it was sent.
    pub at: DateTime<Utc>,
    /// Who sent it.
    pub by: UserId,
    /// What was said.
    pub body: String,
}

/// The preventive action a quality ticket needs before it can close.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreventiveAction {
    /// What will stop it happening again.
    pub description: String,
    /// Who verified that it works, once verified.
    pub verified_by: Option<UserId>,
    /// When it was verified.
    pub verified_at: Option<DateTime<Utc>>,
}

/// The follow-up call after service (回访).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUp {
    /// When the call was made.
    pub at: DateTime<Utc>,
    /// Who called.
    pub by: UserId,
    /// Satisfaction 1 (very unhappy) to 5 (very happy).
    pub satisfaction: u8,
    /// What the customer said.
    pub notes: String,
}

/// A whole ticket aggregate as read from its document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceTicket {
    /// Stable id.
    pub id: TicketId,
    /// The customer it belongs to.
    pub customer_id: CustomerId,
    /// Kind of request.
    pub kind: TicketKind,
    /// Priority.
    pub priority: TicketPriority,
    /// One-line summary.
    pub title: String,
    /// What the customer asked or reported.
    pub description: String,
    /// When it was received.
    pub opened_at: DateTime<Utc>,
    /// Who received it.
    pub opened_by: UserId,
    /// Named service owner (strategic customers have one).
    pub owner: Option<UserId>,
    /// Current status.
    pub status: TicketStatus,
    /// Status history, by entry id.
    pub history: BTreeMap<EntryId, StatusChange>,
    /// Replies, by entry id.
    pub replies: BTreeMap<EntryId, Reply>,
    /// Preventive action (quality tickets).
    pub preventive_action: Option<PreventiveAction>,
    /// Follow-up call, once made.
    pub follow_up: Option<FollowUp>,
}

impl ServiceTicket {
    /// The earliest reply, which is what the 24-hour rule measures.
    pub fn first_reply_at(&self) -> Option<DateTime<Utc>> {
        self.replies.values().map(|r| r.at).min()
    }
}

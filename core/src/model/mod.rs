//! The domain model: plain data types for every aggregate, free of storage concerns.

mod commissioning;
mod common;
mod customer;
mod event;
mod lead;
mod plan;
mod project;
mod review;
mod role;
mod scorecard;
mod selection;
mod survey;
mod ticket;

pub use commissioning::{
    Agreement, CandidateOffer, Collection, Instalment, LoanSwitch, Organisation,
    OrganisationAnalysis, OrganisationPrice, OrganisationStatus, PricingMethod, Reconciliation,
    Reminder, Signoff,
};
pub(crate) use common::vocabulary;
pub use common::{
    BuildingId, BuyerId, ContactId, CustomerId, EntryId, EventId, LatePaymentId, LeadId,
    OrganisationId, PlanId, ProjectId, ReviewId, ScorecardId, SurveyId, TicketId, UnitId,
    UnknownValue, UserId, VisitId, parse_code,
};
pub use customer::{
    Classification, Contact, CreditTerms, Customer, CustomerProfile, Grade, LatePayment,
    PaymentTerms, Tier, VisitLevel, VisitRecord,
};
pub use event::{Buyer, SelectionEvent, SelectionMode};
pub use lead::{Lead, LeadCriteria, LeadStage, StageChange};
pub use plan::{
    AccountPlan, PlanActuals, PlanApproval, PlanEvaluation, PlanFunction, PlanGoals, plan_id,
};
pub use project::{Building, PriceApproval, Project, Unit, UnitStatus};
pub use review::{Finding, FindingKind, LeadershipReview, Measure, MeasureClosing};
pub use role::Role;
pub use scorecard::{
    PublishedScorecard, RaterKind, Rating, Scorecard, ScorecardLine, scorecard_id,
};
pub use selection::{
    DiscountLine, RelationshipApproval, WorkTicketFigures, WorkTicketTerms, WrittenApproval,
};
pub use survey::{Survey, SurveyItem, SurveyKind};
pub use ticket::{
    FollowUp, PreventiveAction, Reply, ServiceTicket, StatusChange, TicketKind, TicketPriority,
    TicketStatus,
};

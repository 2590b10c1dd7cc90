//! The domain model: plain data types for every aggregate, free of storage concerns.

mod common;
mod customer;
mod event;
mod project;
mod role;
mod selection;
mod ticket;

pub(crate) use common::vocabulary;
pub use common::{
    BuildingId, BuyerId, ContactId, CustomerId, EntryId, EventId, LatePaymentId, ProjectId,
    TicketId, UnitId, UnknownValue, UserId, VisitId, parse_code,
};
pub use customer::{
    Classification, Contact, CreditTerms, Customer, CustomerProfile, Grade, LatePayment,
    PaymentTerms, Tier, VisitLevel, VisitRecord,
};
pub use event::{Buyer, SelectionEvent, SelectionMode};
pub use project::{Building, PriceApproval, Project, Unit, UnitStatus};
pub use role::Role;
pub use selection::{
    DiscountLine, RelationshipApproval, WorkTicketFigures, WorkTicketTerms, WrittenApproval,
};
pub use ticket::{
    FollowUp, PreventiveAction, Reply, ServiceTicket, StatusChange, TicketKind, TicketPriority,
    TicketStatus,
};

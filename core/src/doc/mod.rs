//! The typed read/write API over KAM's Automerge documents.
//!
//! One document per aggregate (customer, ticket, project, event, and the account-management
//! records: lead, plan, survey, scorecard, review, organisation — `record`, ADR 0023). Entities live in maps keyed
//! by stable ids; every user action is one commit carrying its author, time and action name;
//! every document carries a `schema` version and readers accept older ones. Nothing outside
//! this module touches Automerge paths.

mod codec;
mod customer;
mod document;
mod error;
mod event;
mod history;
mod lead;
mod organisation;
mod parts;
mod plan;
mod project;
mod record;
mod review;
mod scorecard;
mod survey;
mod ticket;

pub use customer::{
    CustomerEdit, CustomerEntries, CustomerOutline, PROTECTED_ROOT_KEYS, ProtectedCustomerFields,
    create_customer, customer_doc_id, edit_customer, edit_customer_batch, read_customer,
    read_customer_entries, read_customer_outline, read_protected_fields, read_protected_fields_at,
};
pub use document::{
    ConflictUpdate, DocId, DocKind, Document, EditMeta, FieldConflict, HEADER_ROOT_KEYS,
    HistoryEntry, MAX_CHANGES_PER_MESSAGE, MAX_WALK_DEPTH, MAX_WRITE_DEPTH, SCHEMA_VERSION,
    prime_sync_state,
};
pub use error::DocError;
pub use event::{
    EventEdit, create_event, edit_event, edit_event_batch, event_doc_id, read_event, read_event_at,
};
pub use history::{ChangeDetail, FieldChange, MAX_CHANGES_DETAILED, MAX_FIELDS_PER_CHANGE};
pub use lead::{LeadEdit, lead_doc_id};
pub use organisation::{ChoiceApprover, OrganisationEdit, organisation_doc_id};
pub use parts::{Entries, FixedFieldRestore, Touched, root_key_part};
pub use plan::{PlanEdit, plan_doc_id};
pub use project::{
    ProjectEdit, UNITS_ROOT_KEY, create_project, edit_project, edit_project_batch, project_doc_id,
    read_project, read_project_at, read_project_entries, read_units,
};
pub use record::{
    Record, RecordEdit, create_record, edit_record, read_record, read_record_at, record_doc_id,
    record_value, restore_record_value, update_record,
};
pub use review::{ReviewEdit, review_doc_id};
pub use scorecard::{ScorecardEdit, scorecard_doc_id};
pub use survey::{SurveyEdit, survey_doc_id};
pub use ticket::{
    STATUS_ROOT_KEYS, TicketEdit, create_ticket, edit_ticket, edit_ticket_batch, read_ticket,
    read_ticket_at, ticket_doc_id,
};

/// The per-peer sync state that callers persist between rounds.
pub use automerge::sync::State as SyncState;
/// Re-exported so callers can name actors and change hashes without depending on automerge.
pub use automerge::{ActorId, ChangeHash};

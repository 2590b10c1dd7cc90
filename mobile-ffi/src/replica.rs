//! The device's replica: customers, contacts, visits, tickets, the list screens, conflicts and
//! history. Every call delegates to `kam_core::replica::Replica`; the desk and sync calls are
//! in `desk.rs` and `sync.rs`.

use std::sync::{Arc, Mutex, MutexGuard};

use chrono::Utc;
use kam_core::doc::{
    CustomerEdit, DocId, DocKind, EditMeta, FieldConflict, HistoryEntry, TicketEdit,
};
use kam_core::model::{
    Contact, ContactId, CustomerId, CustomerProfile, EntryId, Reply, StatusChange, TicketId,
    TicketStatus, UserId, VisitId, VisitRecord,
};
use kam_core::replica::{CustomerRow, Replica, ReplicaOptions, TicketRow, VisitDueRow};
use rust_decimal::Decimal;

use crate::error::KamError;
use crate::listeners::{ChangeListener, ListenerHandle, Listeners, SyncProgressListener};
use crate::records::{ChangeOrigin, ChangeSet, Customer, DocumentRef, NewTicket, ServiceTicket};

/// A device's local replica: one SQLite file, used by one signed-in user.
///
/// Calls are quick local reads and writes and may run on any thread; they are serialised on
/// the replica. Every edit is recorded with the user and the device's clock.
#[derive(uniffi::Object)]
pub struct KamReplica {
    inner: Mutex<Replica>,
    user: UserId,
    pub(crate) listeners: Listeners,
}

impl KamReplica {
    /// The replica, for one call.
    pub(crate) fn replica(&self) -> Result<MutexGuard<'_, Replica>, KamError> {
        // A panic while the replica was held may have left its cache ahead of the file: refuse
        // rather than guess. Reopening the replica recovers.
        self.inner.lock().map_err(|_| KamError::Storage {
            detail: "the replica failed earlier in this session; open it again".into(),
        })
    }

    /// Runs one user action as `action`, then tells the change listeners about `document`
    /// (after the replica is released, so they may read it).
    fn edit<T>(
        &self,
        document: DocumentRef,
        action: impl FnOnce(&mut Replica, &UserId) -> Result<T, kam_core::replica::ReplicaError>,
    ) -> Result<T, KamError> {
        let result = action(&mut *self.replica()?, &self.user)?;
        self.listeners
            .changed(ChangeSet { origin: ChangeOrigin::Local, documents: vec![document] });
        Ok(result)
    }

    fn edit_customer(&self, id: &CustomerId, edit: CustomerEdit) -> Result<(), KamError> {
        self.edit(DocumentRef::new(DocKind::Customer, id.as_str()), |r, user| {
            r.edit_customer(id, &edit, &meta(user, edit.action()))
        })
    }

    fn edit_ticket(&self, id: &TicketId, edit: TicketEdit) -> Result<(), KamError> {
        self.edit(DocumentRef::new(DocKind::Ticket, id.as_str()), |r, user| {
            r.edit_ticket(id, &edit, &meta(user, edit.action()))
        })
    }
}

/// The metadata of an action by `user`, now.
fn meta(user: &UserId, action: &str) -> EditMeta {
    EditMeta::new(user, Utc::now(), action)
}

#[uniffi::export]
impl KamReplica {
    /// Opens (creating or upgrading) the replica file at `path` for `user` (e.g. `rep-01`),
    /// the author recorded on every edit.
    #[uniffi::constructor]
    pub fn open(path: String, user: UserId) -> Result<Arc<KamReplica>, KamError> {
        let replica = Replica::open(path, ReplicaOptions::default())?;
        Ok(Arc::new(KamReplica { inner: Mutex::new(replica), user, listeners: Listeners::new() }))
    }

    /// The signed-in user this replica records as author.
    pub fn user(&self) -> UserId {
        self.user.clone()
    }

    /// Calls `listener` whenever data changes (local edits, syncs, desk answers) until the
    /// returned handle is cancelled or dropped.
    pub fn add_change_listener(&self, listener: Arc<dyn ChangeListener>) -> Arc<ListenerHandle> {
        self.listeners.changes.add(listener)
    }

    /// Calls `listener` after every round of every sync until the handle is cancelled or
    /// dropped.
    pub fn add_sync_progress_listener(
        &self,
        listener: Arc<dyn SyncProgressListener>,
    ) -> Arc<ListenerHandle> {
        self.listeners.progress.add(listener)
    }

    // ---- customers ----------------------------------------------------------------------

    /// Creates a customer owned by this user and returns it (one commit, offline).
    pub fn create_customer(&self, profile: CustomerProfile) -> Result<Customer, KamError> {
        let customer = kam_core::model::Customer {
            id: CustomerId::new(),
            created_at: Utc::now(),
            profile,
            annual_sales: Default::default(),
            profit_contribution: Decimal::ZERO,
            owners: vec![self.user.clone()],
            classification: Default::default(),
            credit: Default::default(),
            contacts: Default::default(),
            visits: Default::default(),
            late_payments: Default::default(),
        };
        self.edit(DocumentRef::new(DocKind::Customer, customer.id.as_str()), |r, user| {
            r.create_customer(&customer, &meta(user, "customer.create"))
        })?;
        Ok(customer.into())
    }

    /// A customer with its contacts, visits and late payments.
    pub fn customer(&self, id: CustomerId) -> Result<Customer, KamError> {
        Ok(self.replica()?.customer(&id)?.into())
    }

    /// Changes a customer's profile; only the fields that differ are written.
    pub fn update_customer_profile(
        &self,
        id: CustomerId,
        profile: CustomerProfile,
    ) -> Result<(), KamError> {
        self.edit_customer(&id, CustomerEdit::UpdateProfile(profile))
    }

    /// Records one year's sales with the customer, CNY.
    pub fn set_annual_sales(
        &self,
        id: CustomerId,
        year: i32,
        amount: Decimal,
    ) -> Result<(), KamError> {
        self.edit_customer(&id, CustomerEdit::SetAnnualSales { year, amount })
    }

    /// Adds a contact, or changes the one with the same id.
    pub fn upsert_contact(
        &self,
        customer_id: CustomerId,
        contact: Contact,
    ) -> Result<(), KamError> {
        self.edit_customer(&customer_id, CustomerEdit::UpsertContact(contact))
    }

    /// Removes a contact.
    pub fn remove_contact(
        &self,
        customer_id: CustomerId,
        contact_id: ContactId,
    ) -> Result<(), KamError> {
        self.edit_customer(&customer_id, CustomerEdit::RemoveContact(contact_id))
    }

    /// Adds a visit record, or changes the one with the same id.
    pub fn upsert_visit(
        &self,
        customer_id: CustomerId,
        visit: VisitRecord,
    ) -> Result<(), KamError> {
        self.edit_customer(&customer_id, CustomerEdit::UpsertVisit(visit))
    }

    /// Removes a visit record.
    pub fn remove_visit(&self, customer_id: CustomerId, visit_id: VisitId) -> Result<(), KamError> {
        self.edit_customer(&customer_id, CustomerEdit::RemoveVisit(visit_id))
    }

    // ---- tickets ------------------------------------------------------------------------

    /// Opens a ticket (status `new`, received now by this user) and returns it.
    pub fn open_ticket(&self, ticket: NewTicket) -> Result<ServiceTicket, KamError> {
        let ticket = kam_core::model::ServiceTicket {
            id: TicketId::new(),
            customer_id: ticket.customer_id,
            kind: ticket.kind,
            priority: ticket.priority,
            title: ticket.title,
            description: ticket.description,
            opened_at: Utc::now(),
            opened_by: self.user.clone(),
            owner: ticket.owner,
            status: TicketStatus::New,
            history: Default::default(),
            replies: Default::default(),
            preventive_action: None,
            follow_up: None,
        };
        self.edit(DocumentRef::new(DocKind::Ticket, ticket.id.as_str()), |r, user| {
            r.create_ticket(&ticket, &meta(user, "ticket.open"))
        })?;
        Ok(ticket.into())
    }

    /// A ticket with its history and replies.
    pub fn ticket(&self, id: TicketId) -> Result<ServiceTicket, KamError> {
        Ok(self.replica()?.ticket(&id)?.into())
    }

    /// Moves a ticket to `to`, checked against the ticket state machine first (a refused
    /// move is `KamError.Rejected` and writes nothing).
    pub fn change_ticket_status(
        &self,
        id: TicketId,
        to: TicketStatus,
        note: String,
    ) -> Result<(), KamError> {
        let from = self.replica()?.ticket(&id)?.status;
        let change = StatusChange {
            id: EntryId::new(),
            from,
            to,
            at: Utc::now(),
            by: self.user.clone(),
            note,
        };
        self.edit_ticket(&id, TicketEdit::ChangeStatus(change))
    }

    /// Adds a reply to the customer, sent now by this user.
    pub fn add_ticket_reply(&self, id: TicketId, body: String) -> Result<(), KamError> {
        let reply = Reply { id: EntryId::new(), at: Utc::now(), by: self.user.clone(), body };
        self.edit_ticket(&id, TicketEdit::AddReply(reply))
    }

    // ---- list screens (from the local index, no document is loaded) ---------------------

    /// `owner`'s customers, strategic first, then by score and name.
    pub fn my_customers_by_tier(&self, owner: UserId) -> Result<Vec<CustomerRow>, KamError> {
        Ok(self.replica()?.my_customers_by_tier(&owner)?)
    }

    /// Visits of `owner`'s customers overdue or due by the end of this business week.
    pub fn visits_due(&self, owner: UserId) -> Result<Vec<VisitDueRow>, KamError> {
        Ok(self.replica()?.visits_due(&owner, Utc::now())?)
    }

    /// Open tickets (of `owner`'s customers, or all), most urgent reply first.
    pub fn open_tickets_by_urgency(
        &self,
        owner: Option<UserId>,
    ) -> Result<Vec<TicketRow>, KamError> {
        Ok(self.replica()?.open_tickets_by_urgency(owner.as_ref(), Utc::now())?)
    }

    /// Customers whose name contains `text`, at most `limit`.
    pub fn search_customers(&self, text: String, limit: u32) -> Result<Vec<CustomerRow>, KamError> {
        Ok(self.replica()?.search_customers(&text, limit)?)
    }

    // ---- conflicts and history ----------------------------------------------------------

    /// Fields of a document holding concurrent values, for the conflict screen. Resolving one
    /// is an ordinary edit.
    pub fn conflicts(&self, document: DocumentRef) -> Result<Vec<FieldConflict>, KamError> {
        Ok(self.replica()?.conflicts(&doc_id(&document))?)
    }

    /// Who changed a document, when, and how, oldest first.
    pub fn history(&self, document: DocumentRef) -> Result<Vec<HistoryEntry>, KamError> {
        Ok(self.replica()?.history(&doc_id(&document))?)
    }
}

fn doc_id(document: &DocumentRef) -> DocId {
    DocId::new(document.kind, document.id.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kam_core::model::{TicketKind, TicketPriority, VisitLevel};

    fn profile(name: &str) -> CustomerProfile {
        CustomerProfile { name: name.into(), ..Default::default() }
    }

    #[test]
    fn edits_reach_the_core_and_its_errors_map_to_the_apps_cases() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.kam").display().to_string();
        let replica = KamReplica::open(path.clone(), UserId::from("rep-01")).unwrap();
        let customer = replica.create_customer(profile("华东机械")).unwrap();
        assert_eq!(customer.owners, vec![UserId::from("rep-01")]);
        let visit = VisitRecord {
            id: VisitId::new(),
            level: VisitLevel::AccountManager,
            date: Utc::now().date_naive(),
            visitor: UserId::from("rep-01"),
            topics: vec!["年度框架协议".into()],
            personnel_changes: String::new(),
            problems: String::new(),
            demand: String::new(),
            competitor_activity: String::new(),
        };
        replica.upsert_visit(customer.id.clone(), visit.clone()).unwrap();
        replica
            .set_annual_sales(customer.id.clone(), 2025, Decimal::new(1_250_000_050, 2))
            .unwrap();
        let ticket = replica
            .open_ticket(NewTicket {
                customer_id: customer.id.clone(),
                kind: TicketKind::Inquiry,
                priority: TicketPriority::Normal,
                title: "报价".into(),
                description: String::new(),
                owner: None,
            })
            .unwrap();
        assert_eq!(ticket.allowed_next.first(), Some(&TicketStatus::InProgress));

        // Reopened from the file: everything was committed.
        drop(replica);
        let replica = KamReplica::open(path, UserId::from("rep-01")).unwrap();
        let read = replica.customer(customer.id.clone()).unwrap();
        assert_eq!(read.visits, vec![visit]);
        assert_eq!(read.annual_sales[0].amount, Decimal::new(1_250_000_050, 2));
        assert_eq!(replica.my_customers_by_tier(UserId::from("rep-01")).unwrap().len(), 1);
        assert_eq!(replica.open_tickets_by_urgency(None).unwrap()[0].id, ticket.id);
        assert!(
            !replica
                .history(DocumentRef::new(DocKind::Customer, customer.id.as_str()))
                .unwrap()
                .is_empty()
        );

        assert!(matches!(
            replica.customer(CustomerId::from("no-such-customer")),
            Err(KamError::NotFound { .. })
        ));
        assert!(matches!(
            replica.change_ticket_status(ticket.id.clone(), TicketStatus::Closed, String::new()),
            Err(KamError::Rejected { code, .. }) if code == "rule"
        ));
        assert!(matches!(
            replica.remove_visit(customer.id, VisitId::from("never-recorded")),
            Err(KamError::NotFound { .. })
        ));
    }
}

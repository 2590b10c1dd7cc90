//! The device's replica: customers, contacts, visits, tickets, the list screens and their
//! watch queries, conflicts and history. Every call delegates to
//! `kam_core::shared::SharedReplica`; the desk and sync calls are in `desk.rs` and `sync.rs`.

use std::sync::Arc;

use chrono::Utc;
use kam_core::doc::{
    CustomerEdit, DocId, DocKind, EditMeta, FieldConflict, HistoryEntry, TicketEdit,
};
use kam_core::model::{
    Contact, ContactId, CustomerId, CustomerProfile, EntryId, Reply, StatusChange, TicketId,
    TicketStatus, UserId, VisitId, VisitRecord,
};
use kam_core::replica::{
    CustomerRow, EncryptionKey, Replica, ReplicaOptions, TicketRow, VisitDueRow,
};
use kam_core::shared::{ChangeSet as CoreChangeSet, PendingUploads, SharedReplica, SyncStatus};
use rust_decimal::Decimal;

use crate::error::KamError;
use crate::listeners::{
    ChangeListener, CustomerRowsListener, SyncProgressListener, SyncStatusListener, TaskHandle,
    TicketRowsListener, VisitRowsListener, watch_rows,
};
use crate::records::{Customer, DocumentRef, NewTicket, ServiceTicket};

/// A device's local replica: one SQLite file, used by one signed-in user.
///
/// Calls may run on any thread. List screens read on connections of their own and never wait
/// for a sync; edits wait at most for one sync answer being applied. Every edit is recorded
/// with the user and the device's clock. Opening a file this process already has open shares
/// it (both handles see the same data); a file another process holds is `KamError.Storage`.
#[derive(uniffi::Object)]
pub struct KamReplica {
    pub(crate) shared: Arc<SharedReplica>,
    pub(crate) user: UserId,
}

impl KamReplica {
    /// Runs one user action on `document` as this user; the change listeners and watch
    /// queries hear of it on the notice thread.
    pub(crate) fn edit<T>(
        &self,
        document: DocId,
        action: impl FnOnce(&mut Replica, &UserId) -> Result<T, kam_core::replica::ReplicaError>,
    ) -> Result<T, KamError> {
        Ok(self.shared.edit(vec![document], false, |r| action(r, &self.user))?)
    }

    /// Reads through the replica's document cache.
    pub(crate) fn with<T>(
        &self,
        step: impl FnOnce(&mut Replica) -> Result<T, kam_core::replica::ReplicaError>,
    ) -> Result<T, KamError> {
        Ok(self.shared.with_replica(step)?)
    }

    fn edit_customer(&self, id: &CustomerId, edit: CustomerEdit) -> Result<(), KamError> {
        self.edit(DocId::new(DocKind::Customer, id.as_str()), |r, user| {
            r.edit_customer(id, &edit, &meta(user, edit.action()))
        })
    }

    fn edit_ticket(&self, id: &TicketId, edit: TicketEdit) -> Result<(), KamError> {
        self.edit(DocId::new(DocKind::Ticket, id.as_str()), |r, user| {
            r.edit_ticket(id, &edit, &meta(user, edit.action()))
        })
    }
}

/// The metadata of an action by `user`, now.
fn meta(user: &UserId, action: &str) -> EditMeta {
    EditMeta::new(user, Utc::now(), action)
}

/// Customer lists change with customer documents.
fn customers_changed(changes: &CoreChangeSet) -> bool {
    changes.touches(&[DocKind::Customer])
}

/// Ticket lists change with tickets, and with customers (whose owners they filter by).
fn tickets_changed(changes: &CoreChangeSet) -> bool {
    changes.touches(&[DocKind::Ticket, DocKind::Customer])
}

#[uniffi::export]
impl KamReplica {
    /// Opens (creating or upgrading) the replica file at `path` for `user` (e.g. `rep-01`),
    /// the author recorded on every edit. With `encryption_key` (32 random bytes the app
    /// keeps in the Android Keystore / iOS Keychain) the file is encrypted (SQLCipher); a key
    /// that does not open it is `KamError.WrongKey`. A file this process has open is shared.
    #[uniffi::constructor(default(encryption_key = None))]
    pub fn open(
        path: String,
        user: UserId,
        encryption_key: Option<Vec<u8>>,
    ) -> Result<Arc<KamReplica>, KamError> {
        let encryption_key = encryption_key.map(|k| EncryptionKey::from_bytes(&k)).transpose()?;
        let shared =
            SharedReplica::open(path, ReplicaOptions { encryption_key, ..Default::default() })?;
        Ok(Arc::new(KamReplica { shared, user }))
    }

    /// Encrypts the replica under `new_key` (32 bytes) instead of its current key: key
    /// rotation. Store the new key before calling, keep the old one until this returns.
    pub fn rekey(&self, new_key: Vec<u8>) -> Result<(), KamError> {
        Ok(self.shared.rekey(&EncryptionKey::from_bytes(&new_key)?)?)
    }

    /// The signed-in user this replica records as author.
    pub fn user(&self) -> UserId {
        self.user.clone()
    }

    /// Calls `listener` whenever data changes (local edits, sync rounds, desk answers), with
    /// the documents that changed, until the handle is cancelled.
    pub fn add_change_listener(&self, listener: Arc<dyn ChangeListener>) -> Arc<TaskHandle> {
        let subscription =
            self.shared.on_changes(move |changes| listener.on_change(changes.into()));
        TaskHandle::subscription(subscription)
    }

    /// Calls `listener` after every round of every sync until the handle is cancelled.
    pub fn add_sync_progress_listener(
        &self,
        listener: Arc<dyn SyncProgressListener>,
    ) -> Arc<TaskHandle> {
        TaskHandle::subscription(self.shared.on_progress(move |p| listener.on_progress(p.clone())))
    }

    /// Calls `listener` with the sync status now and at every change (idle, connecting,
    /// downloading, uploading, offline since, error) until the handle is cancelled.
    pub fn watch_sync_status(&self, listener: Arc<dyn SyncStatusListener>) -> Arc<TaskHandle> {
        TaskHandle::subscription(self.shared.on_status(move |s| listener.on_status(s.clone())))
    }

    /// The sync status now.
    pub fn sync_status(&self) -> SyncStatus {
        self.shared.sync_status()
    }

    /// What waits to be sent: documents with unsent changes and unanswered desk commands.
    pub fn pending_uploads(&self) -> Result<PendingUploads, KamError> {
        Ok(self.shared.pending_uploads()?)
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
        self.edit(DocId::new(DocKind::Customer, customer.id.as_str()), |r, user| {
            r.create_customer(&customer, &meta(user, "customer.create"))
        })?;
        Ok(customer.into())
    }

    /// A customer with its contacts, visits and late payments.
    pub fn customer(&self, id: CustomerId) -> Result<Customer, KamError> {
        Ok(self.with(|r| r.customer(&id))?.into())
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
        self.edit(DocId::new(DocKind::Ticket, ticket.id.as_str()), |r, user| {
            r.create_ticket(&ticket, &meta(user, "ticket.open"))
        })?;
        Ok(ticket.into())
    }

    /// A ticket with its history and replies.
    pub fn ticket(&self, id: TicketId) -> Result<ServiceTicket, KamError> {
        Ok(self.with(|r| r.ticket(&id))?.into())
    }

    /// Moves a ticket to `to`, checked against the ticket state machine first (a refused
    /// move is `KamError.Rejected` and writes nothing).
    pub fn change_ticket_status(
        &self,
        id: TicketId,
        to: TicketStatus,
        note: String,
    ) -> Result<(), KamError> {
        let from = self.with(|r| r.ticket(&id))?.status;
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

    // ---- list screens (from the local index, on a reader: never wait for a sync) --------

    /// `owner`'s customers, strategic first, then by score and name.
    pub fn my_customers_by_tier(&self, owner: UserId) -> Result<Vec<CustomerRow>, KamError> {
        Ok(self.shared.read(|r, _| r.my_customers_by_tier(&owner))?)
    }

    /// Visits of `owner`'s customers overdue or due by the end of this business week.
    pub fn visits_due(&self, owner: UserId) -> Result<Vec<VisitDueRow>, KamError> {
        Ok(self.shared.read(|r, policy| r.visits_due(&owner, Utc::now(), policy))?)
    }

    /// Open tickets (of `owner`'s customers, or all), most urgent reply first.
    pub fn open_tickets_by_urgency(
        &self,
        owner: Option<UserId>,
    ) -> Result<Vec<TicketRow>, KamError> {
        Ok(self
            .shared
            .read(|r, policy| r.open_tickets_by_urgency(owner.as_ref(), Utc::now(), policy))?)
    }

    /// Customers whose name contains `text`, at most `limit`.
    pub fn search_customers(&self, text: String, limit: u32) -> Result<Vec<CustomerRow>, KamError> {
        Ok(self.shared.read(|r, _| r.search_customers(&text, limit))?)
    }

    // ---- watch queries: the list screens, emitted again whenever their rows change -------

    /// `my_customers_by_tier(owner)`, now and after every change of its rows.
    pub fn watch_my_customers(
        &self,
        owner: UserId,
        listener: Arc<dyn CustomerRowsListener>,
    ) -> Arc<TaskHandle> {
        let query = move |s: &SharedReplica| s.read(|r, _| r.my_customers_by_tier(&owner));
        watch_rows(&self.shared, customers_changed, query, listener)
    }

    /// `search_customers(text, limit)`, now and after every change of its rows.
    pub fn watch_search_customers(
        &self,
        text: String,
        limit: u32,
        listener: Arc<dyn CustomerRowsListener>,
    ) -> Arc<TaskHandle> {
        let query = move |s: &SharedReplica| s.read(|r, _| r.search_customers(&text, limit));
        watch_rows(&self.shared, customers_changed, query, listener)
    }

    /// `visits_due(owner)`, now and after every change of its rows.
    pub fn watch_visits_due(
        &self,
        owner: UserId,
        listener: Arc<dyn VisitRowsListener>,
    ) -> Arc<TaskHandle> {
        let query =
            move |s: &SharedReplica| s.read(|r, policy| r.visits_due(&owner, Utc::now(), policy));
        watch_rows(&self.shared, customers_changed, query, listener)
    }

    /// `open_tickets_by_urgency(owner)`, now and after every change of its rows.
    pub fn watch_open_tickets(
        &self,
        owner: Option<UserId>,
        listener: Arc<dyn TicketRowsListener>,
    ) -> Arc<TaskHandle> {
        let query = move |s: &SharedReplica| {
            s.read(|r, policy| r.open_tickets_by_urgency(owner.as_ref(), Utc::now(), policy))
        };
        watch_rows(&self.shared, tickets_changed, query, listener)
    }

    // ---- conflicts and history ----------------------------------------------------------

    /// Fields of a document holding concurrent values, for the conflict screen. Resolving one
    /// is an ordinary edit.
    pub fn conflicts(&self, document: DocumentRef) -> Result<Vec<FieldConflict>, KamError> {
        self.with(|r| r.conflicts(&doc_id(&document)))
    }

    /// Who changed a document, when, and how, oldest first.
    pub fn history(&self, document: DocumentRef) -> Result<Vec<HistoryEntry>, KamError> {
        self.with(|r| r.history(&doc_id(&document)))
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
        let replica = KamReplica::open(path.clone(), UserId::from("rep-01"), None).unwrap();
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
        let replica = KamReplica::open(path, UserId::from("rep-01"), None).unwrap();
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

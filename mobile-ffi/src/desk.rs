//! The selection desk (选房) as a tablet sees it: commands queued offline under a key stored
//! before the first send, the control table with the tablet's own pending commands shown as
//! pending (never as held or sold), and refusals kept with their reason until dismissed.
//! Sending is `KamReplica.send_desk_commands` in `sync.rs`.

use std::sync::Arc;

use chrono::Utc;
use kam_core::desk::{self, DeskCommand, UnitOnTable};
use kam_core::doc::{DocId, DocKind};
use kam_core::model::EventId;
use kam_core::replica::OutboxStatus;
use kam_core::shared::{ChangeSet, SharedReplica};

use crate::error::KamError;
use crate::listeners::{ControlTableListener, TaskHandle, watch_rows};
use crate::records::{OutboxEntry, SelectionEvent};
use crate::replica::KamReplica;
use crate::types::HousingUnit;

/// The control table changes with the outbox and with the project and event documents.
fn table_changed(changes: &ChangeSet) -> bool {
    changes.outbox || changes.touches(&[DocKind::Project, DocKind::Event])
}

#[uniffi::export]
impl KamReplica {
    /// Queues `command` for `event_id` under a fresh idempotency key, stored before anything
    /// is sent, and returns the pending entry. Works offline. Commands carrying ID numbers
    /// (identity check, list imports) are refused: ID numbers are never stored on a device.
    pub fn queue_desk_command(
        &self,
        event_id: EventId,
        command: DeskCommand,
    ) -> Result<OutboxEntry, KamError> {
        let event_doc = DocId::new(DocKind::Event, event_id.as_str());
        let entry = self.shared.edit(vec![event_doc], true, |r| {
            desk::queue_command(r, event_id.as_str(), &command, Utc::now())
        })?;
        Ok(entry.into())
    }

    /// The control table of `event_id`, by unit code: the last synced status of each allotted
    /// unit, overlaid with this tablet's commands still waiting for an answer.
    pub fn control_table(&self, event_id: EventId) -> Result<Vec<UnitOnTable>, KamError> {
        self.with(|r| desk::control_table(r, &event_id))
    }

    /// `control_table(event_id)`, now and whenever a row changes: a command queued, the
    /// desk's answer (held at once, with its hold id and expiry; a refusal with its reason),
    /// a sync bringing the project or event.
    pub fn watch_control_table(
        &self,
        event_id: EventId,
        listener: Arc<dyn ControlTableListener>,
    ) -> Arc<TaskHandle> {
        let query = move |s: &SharedReplica| s.with_replica(|r| desk::control_table(r, &event_id));
        watch_rows(&self.shared, table_changed, query, listener)
    }

    /// A selection event with its buyers in lottery order.
    pub fn event(&self, event_id: EventId) -> Result<SelectionEvent, KamError> {
        Ok(self.with(|r| r.event(&event_id))?.into())
    }

    /// The units allotted to `event_id`, with area, approved price and synced status.
    pub fn event_units(&self, event_id: EventId) -> Result<Vec<HousingUnit>, KamError> {
        let units = self.with(|r| {
            let event = r.event(&event_id)?;
            r.project_units(&event.project_id, &event.allotted_units)
        })?;
        Ok(units.into_iter().filter_map(|(_, unit)| unit).collect())
    }

    /// The queued command under `key`.
    pub fn outbox_entry(&self, key: String) -> Result<OutboxEntry, KamError> {
        let entry = self.shared.read(|r, _| r.outbox_entry(&key))?;
        entry.map(Into::into).ok_or(KamError::NotFound { what: format!("outbox entry {key}") })
    }

    /// Queued commands with `status`, oldest first.
    pub fn outbox(&self, status: OutboxStatus) -> Result<Vec<OutboxEntry>, KamError> {
        let entries = self.shared.read(|r, _| r.outbox_with_status(status))?;
        Ok(entries.into_iter().map(Into::into).collect())
    }

    /// Refusals not yet dismissed, oldest first: what the staff must look at.
    pub fn desk_rejections(&self) -> Result<Vec<OutboxEntry>, KamError> {
        let entries = self.with(|r| desk::rejections(r))?;
        Ok(entries.into_iter().map(Into::into).collect())
    }

    /// A person has seen the answer to the command under `key`; it leaves the rejections.
    pub fn dismiss_desk_answer(&self, key: String) -> Result<OutboxEntry, KamError> {
        let dismissed =
            self.shared.edit(Vec::new(), true, |r| r.outbox_dismiss(&key, Utc::now()))?;
        Ok(dismissed.into())
    }
}

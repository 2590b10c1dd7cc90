//! The selection desk (选房) as a tablet sees it: commands queued offline under a key stored
//! before the first send, the control table with the tablet's own pending commands shown as
//! pending (never as held or sold), and refusals kept with their reason until dismissed.
//! Sending is `KamReplica.send_desk_commands` in `sync.rs`.

use chrono::Utc;
use kam_core::desk::{self, DeskCommand, UnitOnTable};
use kam_core::model::EventId;
use kam_core::replica::OutboxStatus;

use crate::error::KamError;
use crate::records::{OutboxEntry, SelectionEvent};
use crate::replica::KamReplica;
use crate::types::HousingUnit;

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
        let entry =
            desk::queue_command(&mut *self.replica()?, event_id.as_str(), &command, Utc::now())?;
        Ok(entry.into())
    }

    /// The control table of `event_id`, by unit code: the last synced status of each allotted
    /// unit, overlaid with this tablet's commands still waiting for an answer.
    pub fn control_table(&self, event_id: EventId) -> Result<Vec<UnitOnTable>, KamError> {
        Ok(desk::control_table(&mut *self.replica()?, &event_id)?)
    }

    /// A selection event with its buyers in lottery order.
    pub fn event(&self, event_id: EventId) -> Result<SelectionEvent, KamError> {
        Ok(self.replica()?.event(&event_id)?.into())
    }

    /// The units allotted to `event_id`, with area, approved price and synced status.
    pub fn event_units(&self, event_id: EventId) -> Result<Vec<HousingUnit>, KamError> {
        let mut replica = self.replica()?;
        let event = replica.event(&event_id)?;
        let units = replica.project_units(&event.project_id, &event.allotted_units)?;
        Ok(units.into_iter().filter_map(|(_, unit)| unit).collect())
    }

    /// The queued command under `key`.
    pub fn outbox_entry(&self, key: String) -> Result<OutboxEntry, KamError> {
        let entry = self.replica()?.outbox_entry(&key)?;
        entry.map(Into::into).ok_or(KamError::NotFound { what: format!("outbox entry {key}") })
    }

    /// Queued commands with `status`, oldest first.
    pub fn outbox(&self, status: OutboxStatus) -> Result<Vec<OutboxEntry>, KamError> {
        let entries = self.replica()?.outbox_with_status(status)?;
        Ok(entries.into_iter().map(Into::into).collect())
    }

    /// Refusals not yet dismissed, oldest first: what the staff must look at.
    pub fn desk_rejections(&self) -> Result<Vec<OutboxEntry>, KamError> {
        let entries = desk::rejections(&*self.replica()?)?;
        Ok(entries.into_iter().map(Into::into).collect())
    }

    /// A person has seen the answer to the command under `key`; it leaves the rejections.
    pub fn dismiss_desk_answer(&self, key: String) -> Result<OutboxEntry, KamError> {
        Ok(self.replica()?.outbox_dismiss(&key, Utc::now())?.into())
    }
}

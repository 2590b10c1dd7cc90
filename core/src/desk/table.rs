//! The unit control table (销控表) as a tablet shows it: the last synced status of every unit
//! allotted to the event, overlaid with the tablet's own commands still waiting for an answer.

use serde::{Deserialize, Serialize};

use crate::model::{EventId, UnitId, UnitStatus};
use crate::replica::{OutboxStatus, Replica, ReplicaError};

/// What a tablet shows for one unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TableStatus {
    /// The server's status, as last synced.
    Synced(UnitStatus),
    /// This tablet asked to hold it and has no answer yet: shown as pending, never as held.
    HoldPending,
    /// This tablet asked to release it and has no answer yet.
    ReleasePending,
}

/// One row of the tablet's control table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitOnTable {
    /// The unit.
    pub unit_id: UnitId,
    /// Its code, e.g. "3-1502".
    pub code: String,
    /// The status the server last sent.
    pub synced: UnitStatus,
    /// What to show.
    pub shown: TableStatus,
    /// The key of this tablet's command waiting on the unit, if any.
    pub pending_key: Option<String>,
    /// The hold this tablet placed on the unit, if the desk accepted it and the unit is still
    /// shown held: `release` and `prepare_work_ticket` name it, so a command made against
    /// this hold never acts on a later one.
    pub hold_id: Option<String>,
}

/// The control table of `event_id` on this tablet, ordered by unit code.
pub fn control_table(
    replica: &mut Replica,
    event_id: &EventId,
) -> Result<Vec<UnitOnTable>, ReplicaError> {
    let event = replica.event(event_id)?;
    let units = replica.project_units(&event.project_id, &event.allotted_units)?;
    let pending = replica.outbox_with_status(OutboxStatus::Pending)?;
    let accepted = replica.outbox_with_status(OutboxStatus::Accepted)?;
    let mut rows: Vec<UnitOnTable> = units
        .into_iter()
        .filter_map(|(id, unit)| unit.map(|u| (id, u)))
        .map(|(unit_id, unit)| {
            // The newest pending command on the unit decides what is shown.
            let waiting = pending.iter().rev().find(|e| {
                e.payload["event_id"] == event_id.as_str()
                    && e.payload["command"]["unit_id"] == unit_id.as_str()
            });
            let shown = match waiting.map(|e| e.command.as_str()) {
                Some("hold") => TableStatus::HoldPending,
                Some("release") => TableStatus::ReleasePending,
                _ => TableStatus::Synced(unit.status),
            };
            // The newest hold this tablet won on the unit, while the unit is held.
            let hold_id = (unit.status == UnitStatus::Held)
                .then(|| {
                    accepted.iter().rev().find(|e| {
                        e.command == "hold"
                            && e.payload["event_id"] == event_id.as_str()
                            && e.payload["command"]["unit_id"] == unit_id.as_str()
                    })
                })
                .flatten()
                .and_then(|e| e.answer.as_ref()?["result"]["hold_id"].as_str().map(str::to_owned));
            UnitOnTable {
                pending_key: waiting
                    .filter(|_| shown != TableStatus::Synced(unit.status))
                    .map(|e| e.key.clone()),
                hold_id,
                unit_id,
                code: unit.code,
                synced: unit.status,
                shown,
            }
        })
        .collect();
    rows.sort_by(|a, b| a.code.cmp(&b.code));
    Ok(rows)
}

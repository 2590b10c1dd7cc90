//! The outbox: commands for the server's authority (holds, approvals...) queued on the
//! device, each under an idempotency key stored *before* its first send.
//!
//! States: `pending` (not answered yet; sent zero or more times) → `accepted` or `rejected`
//! (the server's answer, kept as data) → `dismissed` (a person has seen it). A pending
//! command is shown as pending, never as done; a rejection stays visible with its reason
//! until someone dismisses it. Nothing is rolled back silently.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};

use super::error::ReplicaError;
use super::index::format_instant;
use crate::model::vocabulary;

/// Where an outbox command is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxStatus {
    /// Waiting for the server's answer.
    Pending,
    /// The server accepted it; the answer holds the outcome.
    Accepted,
    /// The server refused it; the answer holds the reason.
    Rejected,
    /// A person has acknowledged the answer.
    Dismissed,
}
vocabulary!(OutboxStatus, "outbox status", {
    Pending => "pending", Accepted => "accepted", Rejected => "rejected", Dismissed => "dismissed"
});

/// One queued command and what became of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// The idempotency key, chosen by the device before the first send.
    pub key: String,
    /// Command name, e.g. `hold`.
    pub command: String,
    /// Command arguments.
    pub payload: serde_json::Value,
    /// Current status.
    pub status: OutboxStatus,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// How many times it has been sent.
    pub attempts: u32,
    /// When it was last sent.
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// The server's answer, once received.
    pub answer: Option<serde_json::Value>,
    /// When the answer arrived.
    pub answered_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "idempotency_key, command, payload, status, created_at, attempts,
    last_attempt_at, answer, answered_at";

fn instant(value: Option<String>) -> Result<Option<DateTime<Utc>>, ReplicaError> {
    value
        .map(|v| {
            DateTime::parse_from_rfc3339(&v)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| ReplicaError::Corrupt(format!("outbox time `{v}`")))
        })
        .transpose()
}

fn entry(row: &Row<'_>) -> Result<OutboxEntry, ReplicaError> {
    let status: String = row.get(3)?;
    Ok(OutboxEntry {
        key: row.get(0)?,
        command: row.get(1)?,
        payload: serde_json::from_str(&row.get::<_, String>(2)?)?,
        status: status
            .parse()
            .map_err(|_| ReplicaError::Corrupt(format!("outbox status {status}")))?,
        created_at: instant(row.get(4)?)?
            .ok_or_else(|| ReplicaError::Corrupt("outbox entry without time".into()))?,
        attempts: row.get(5)?,
        last_attempt_at: instant(row.get(6)?)?,
        answer: row.get::<_, Option<String>>(7)?.map(|a| serde_json::from_str(&a)).transpose()?,
        answered_at: instant(row.get(8)?)?,
    })
}

/// The entry with `key`, if any.
pub(crate) fn get(conn: &Connection, key: &str) -> Result<Option<OutboxEntry>, ReplicaError> {
    let sql = format!("SELECT {COLUMNS} FROM outbox WHERE idempotency_key = ?1");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query([key])?;
    rows.next()?.map(entry).transpose()
}

/// Queues a command. Queuing the same key with the same command again returns the stored
/// entry, so a crash between "queue" and "show" cannot duplicate a command.
pub(crate) fn enqueue(
    conn: &Connection,
    key: &str,
    command: &str,
    payload: &serde_json::Value,
    now: DateTime<Utc>,
) -> Result<OutboxEntry, ReplicaError> {
    if let Some(existing) = get(conn, key)? {
        if existing.command == command && &existing.payload == payload {
            return Ok(existing);
        }
        return Err(ReplicaError::OutboxKeyReused(key.to_owned()));
    }
    conn.prepare_cached(
        "INSERT INTO outbox(idempotency_key, command, payload, status, created_at)
         VALUES (?1, ?2, ?3, 'pending', ?4)",
    )?
    .execute(params![key, command, payload.to_string(), format_instant(now)])?;
    get(conn, key)?.ok_or_else(|| ReplicaError::UnknownOutboxKey(key.to_owned()))
}

/// Entries with `status`, oldest first.
pub(crate) fn with_status(
    conn: &Connection,
    status: OutboxStatus,
) -> Result<Vec<OutboxEntry>, ReplicaError> {
    let sql = format!("SELECT {COLUMNS} FROM outbox WHERE status = ?1 ORDER BY id");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query([status.as_str()])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(entry(row)?);
    }
    Ok(out)
}

/// Records that a pending command is about to be sent (again).
pub(crate) fn record_attempt(
    conn: &Connection,
    key: &str,
    now: DateTime<Utc>,
) -> Result<OutboxEntry, ReplicaError> {
    let current = get(conn, key)?.ok_or_else(|| ReplicaError::UnknownOutboxKey(key.to_owned()))?;
    if current.status != OutboxStatus::Pending {
        return Err(ReplicaError::OutboxState {
            key: key.to_owned(),
            status: current.status.to_string(),
            action: "send",
        });
    }
    conn.prepare_cached(
        "UPDATE outbox SET attempts = attempts + 1, last_attempt_at = ?2 WHERE idempotency_key = ?1",
    )?
    .execute(params![key, format_instant(now)])?;
    get(conn, key)?.ok_or_else(|| ReplicaError::UnknownOutboxKey(key.to_owned()))
}

/// Records the server's answer. The first answer stands: a duplicate answer for a retried
/// command is the same stored answer and changes nothing.
pub(crate) fn record_answer(
    conn: &Connection,
    key: &str,
    accepted: bool,
    answer: &serde_json::Value,
    now: DateTime<Utc>,
) -> Result<OutboxEntry, ReplicaError> {
    let status = if accepted { OutboxStatus::Accepted } else { OutboxStatus::Rejected };
    let updated = conn
        .prepare_cached(
            "UPDATE outbox SET status = ?2, answer = ?3, answered_at = ?4
             WHERE idempotency_key = ?1 AND status = 'pending'",
        )?
        .execute(params![key, status.as_str(), answer.to_string(), format_instant(now)])?;
    let entry = get(conn, key)?.ok_or_else(|| ReplicaError::UnknownOutboxKey(key.to_owned()))?;
    if updated == 0 {
        tracing::debug!(key, status = %entry.status, "duplicate outbox answer ignored");
    }
    Ok(entry)
}

/// A person acknowledges an answered command; pending commands cannot be dismissed.
pub(crate) fn dismiss(
    conn: &Connection,
    key: &str,
    now: DateTime<Utc>,
) -> Result<OutboxEntry, ReplicaError> {
    let status: Option<String> = conn
        .prepare_cached("SELECT status FROM outbox WHERE idempotency_key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?;
    match status.as_deref() {
        None => return Err(ReplicaError::UnknownOutboxKey(key.to_owned())),
        Some("pending") => {
            return Err(ReplicaError::OutboxState {
                key: key.to_owned(),
                status: "pending".into(),
                action: "dismiss",
            });
        }
        Some(_) => {}
    }
    conn.prepare_cached(
        "UPDATE outbox SET status = 'dismissed', dismissed_at = ?2 WHERE idempotency_key = ?1",
    )?
    .execute(params![key, format_instant(now)])?;
    get(conn, key)?.ok_or_else(|| ReplicaError::UnknownOutboxKey(key.to_owned()))
}

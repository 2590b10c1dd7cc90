//! The answers the desk keeps under each command's idempotency key.
//!
//! A key belongs to the device that sent it (ADR 0014): answers are kept and found under the
//! device and the key together, so one device can never read another's answer by sending its
//! key, and two devices that happen to choose the same key send two commands.
//!
//! A group's new answers are written together after its last command, outside the commands'
//! savepoints, in the group's transaction: so they commit with the changes they answer, or not
//! at all. Inside a savepoint, SQLite first copies every page an insert touches into the
//! savepoint's journal, so that the savepoint can be rolled back; a stored answer is never
//! rolled back alone, and those copies were wasted. Until the group writes them, a retry of a
//! key within the same group finds its answer here.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::context::instant;
use crate::error::ServerError;

/// An answer kept under an idempotency key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StoredAnswer {
    /// The fingerprint of the request it answered: the same key with a different request is
    /// refused.
    pub(crate) fingerprint: [u8; 32],
    /// The HTTP status answered.
    pub(crate) status: u16,
    /// The JSON body answered.
    pub(crate) body: String,
}

/// The answers one group has given so far and not yet written.
#[derive(Debug, Default)]
pub(crate) struct GroupAnswers {
    /// Key, answering device and answer, in the order given.
    new: Vec<(String, String, StoredAnswer)>,
    /// Where each (device, key)'s answer is in `new`.
    by_key: HashMap<(String, String), usize>,
}

impl GroupAnswers {
    /// The answer kept under `device_id`'s `key`: given earlier in this group, or stored by an
    /// earlier one.
    pub(crate) fn find(
        &self,
        conn: &Connection,
        device_id: &str,
        key: &str,
    ) -> Result<Option<StoredAnswer>, ServerError> {
        if let Some(at) = self.by_key.get(&(device_id.to_owned(), key.to_owned())) {
            return Ok(self.new.get(*at).map(|(_, _, answer)| answer.clone()));
        }
        stored(conn, device_id, key)
    }

    /// Keeps `answer` under `device_id`'s `key` until [`GroupAnswers::write`].
    pub(crate) fn keep(&mut self, key: &str, device_id: &str, answer: StoredAnswer) {
        self.by_key.insert((device_id.to_owned(), key.to_owned()), self.new.len());
        self.new.push((key.to_owned(), device_id.to_owned(), answer));
    }

    /// Writes the group's answers, answered at `now`, in the group's transaction.
    pub(crate) fn write(self, conn: &Connection, now: DateTime<Utc>) -> Result<(), ServerError> {
        let answered_at = instant(now);
        let mut insert = conn.prepare_cached(
            "INSERT INTO desk_requests(idempotency_key, device_id, request_hash, status, answer,
                 answered_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for (key, device_id, answer) in &self.new {
            insert.execute(params![
                key,
                device_id,
                &answer.fingerprint[..],
                answer.status,
                answer.body,
                answered_at
            ])?;
        }
        Ok(())
    }
}

/// The answer stored under `device_id`'s `key` by an earlier group.
fn stored(
    conn: &Connection,
    device_id: &str,
    key: &str,
) -> Result<Option<StoredAnswer>, ServerError> {
    let row: Option<(Vec<u8>, u16, String)> = conn
        .prepare_cached(
            "SELECT request_hash, status, answer FROM desk_requests
             WHERE device_id = ?1 AND idempotency_key = ?2",
        )?
        .query_row([device_id, key], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    row.map(|(hash, status, body)| {
        let fingerprint = <[u8; 32]>::try_from(hash.as_slice())
            .map_err(|_| ServerError::Corrupt(format!("request hash of {key}")))?;
        Ok(StoredAnswer { fingerprint, status, body })
    })
    .transpose()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn answer(body: &str) -> StoredAnswer {
        StoredAnswer { fingerprint: [3; 32], status: 200, body: body.to_owned() }
    }

    #[test]
    fn a_key_answered_in_this_group_is_found_before_it_is_written_and_after() {
        let dir = tempfile::tempdir().unwrap();
        let conn = super::super::schema::open(&dir.path().join("desk.sqlite3")).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 11, 24, 1, 0, 0).unwrap();
        let mut group = GroupAnswers::default();
        assert_eq!(group.find(&conn, "d1", "k1").unwrap(), None);
        group.keep("k1", "d1", answer(r#"{"n":1}"#));
        assert_eq!(group.find(&conn, "d1", "k1").unwrap(), Some(answer(r#"{"n":1}"#)));
        assert_eq!(group.find(&conn, "d2", "k1").unwrap(), None, "another device's key");
        assert_eq!(
            stored(&conn, "d1", "k1").unwrap(),
            None,
            "nothing written before the group ends"
        );
        group.write(&conn, now).unwrap();
        let next = GroupAnswers::default();
        assert_eq!(next.find(&conn, "d1", "k1").unwrap(), Some(answer(r#"{"n":1}"#)));
        assert_eq!(next.find(&conn, "d2", "k1").unwrap(), None, "keys belong to their device");
        assert_eq!(next.find(&conn, "d1", "k2").unwrap(), None);
    }
}

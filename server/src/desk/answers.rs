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
//!
//! Only answers the authority gave are kept: a command it carried out or one it refused by a
//! rule. The `status` column holds which, as the numbers it has always held (they were the
//! HTTP statuses of those answers, 200 and 409, when the column was written): files written
//! by every earlier version read back unchanged, and no schema version is needed. The numbers
//! are the desk's own code here, chosen by [`stored_code`] and read by [`outcome_of_code`];
//! the HTTP status a replay answers is chosen by the HTTP edge like any other.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::command::Outcome;
use crate::db::desk::DeskAnswers;
use crate::db::desk::answers::{AnswerRow, NewAnswer};
use crate::db::desk::state::instant;
use crate::error::ServerError;

/// An answer kept under an idempotency key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StoredAnswer {
    /// The fingerprint of the request it answered: the same key with a different request is
    /// refused.
    pub(crate) fingerprint: [u8; 32],
    /// Whether the command was carried out or refused.
    pub(crate) outcome: Outcome,
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
    /// What earlier groups stored under the keys looked up together ([`GroupAnswers::look_up`]):
    /// `None` for a key with no answer.
    earlier: HashMap<(String, String), Option<AnswerRow>>,
}

impl GroupAnswers {
    /// The answer kept under `device_id`'s `key`: given earlier in this group, or stored by an
    /// earlier one.
    pub(crate) fn find(
        &self,
        db: &dyn DeskAnswers,
        device_id: &str,
        key: &str,
    ) -> Result<Option<StoredAnswer>, ServerError> {
        let pair = (device_id.to_owned(), key.to_owned());
        if let Some(at) = self.by_key.get(&pair) {
            return Ok(self.new.get(*at).map(|(_, _, answer)| answer.clone()));
        }
        match self.earlier.get(&pair) {
            Some(row) => row.clone().map(|row| decoded(row, key)).transpose(),
            None => stored(db, device_id, key),
        }
    }

    /// Reads what earlier groups stored under each of the `wanted` (device, key) pairs in one
    /// look-up, so that [`GroupAnswers::find`] asks the database nothing more for them.
    pub(crate) fn look_up(
        &mut self,
        db: &dyn DeskAnswers,
        wanted: &[(&str, &str)],
    ) -> Result<(), ServerError> {
        let found = db.stored_answers(wanted)?;
        for (device_id, key) in wanted {
            self.earlier.insert(((*device_id).to_owned(), (*key).to_owned()), None);
        }
        for (device_id, key, row) in found {
            self.earlier.insert((device_id, key), Some(row));
        }
        Ok(())
    }

    /// Keeps `answer` under `device_id`'s `key` until [`GroupAnswers::write`].
    pub(crate) fn keep(&mut self, key: &str, device_id: &str, answer: StoredAnswer) {
        self.by_key.insert((device_id.to_owned(), key.to_owned()), self.new.len());
        self.new.push((key.to_owned(), device_id.to_owned(), answer));
    }

    /// Writes the group's answers, answered at `now`, in the group's transaction.
    pub(crate) fn write(self, db: &dyn DeskAnswers, now: DateTime<Utc>) -> Result<(), ServerError> {
        let answered_at = instant(now);
        let mut rows = self.new.iter().map(|(key, device_id, answer)| NewAnswer {
            key,
            device_id,
            fingerprint: &answer.fingerprint,
            code: stored_code(answer.outcome),
            body: &answer.body,
        });
        db.insert_answers(&answered_at, &mut rows)?;
        Ok(())
    }
}

/// The answer stored under `device_id`'s `key` by an earlier group.
fn stored(
    db: &dyn DeskAnswers,
    device_id: &str,
    key: &str,
) -> Result<Option<StoredAnswer>, ServerError> {
    db.stored_answer(device_id, key)?.map(|row| decoded(row, key)).transpose()
}

/// A stored row as the answer it keeps; a code no version wrote is corrupt.
fn decoded(
    AnswerRow { fingerprint, code, body }: AnswerRow,
    key: &str,
) -> Result<StoredAnswer, ServerError> {
    let outcome = outcome_of_code(code)
        .ok_or_else(|| ServerError::Corrupt(format!("stored answer {code} of {key}")))?;
    Ok(StoredAnswer { fingerprint, outcome, body })
}

/// The code the `status` column keeps for `outcome`. Every version of the desk has written
/// these two numbers, so they must not change.
const fn stored_code(outcome: Outcome) -> u16 {
    match outcome {
        Outcome::Accepted => 200,
        Outcome::Rejected => 409,
    }
}

/// The outcome a stored `code` stands for; `None` for a number no version ever wrote.
const fn outcome_of_code(code: u16) -> Option<Outcome> {
    match code {
        200 => Some(Outcome::Accepted),
        409 => Some(Outcome::Rejected),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn answer(body: &str) -> StoredAnswer {
        StoredAnswer { fingerprint: [3; 32], outcome: Outcome::Accepted, body: body.to_owned() }
    }

    #[test]
    fn answers_are_stored_as_the_numbers_every_earlier_version_wrote_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::db::sqlite::desk::schema::open(&dir.path().join("desk.sqlite3")).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 11, 24, 1, 0, 0).unwrap();
        let mut group = GroupAnswers::default();
        group.keep("k1", "d1", answer("{}"));
        let refused = StoredAnswer { outcome: Outcome::Rejected, ..answer("{}") };
        group.keep("k2", "d1", refused.clone());
        group.write(&conn, now).unwrap();
        let codes: Vec<(String, i64)> = conn
            .prepare("SELECT idempotency_key, status FROM desk_requests ORDER BY 1")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(codes, vec![("k1".into(), 200), ("k2".into(), 409)]);
        // Rows as an earlier version wrote them read back as the same outcomes.
        conn.execute_batch(
            "INSERT INTO desk_requests VALUES
                 ('d2', 'old-ok', zeroblob(32), 200, '{}', '2026-11-24T00:00:00Z'),
                 ('d2', 'old-no', zeroblob(32), 409, '{}', '2026-11-24T00:00:00Z'),
                 ('d2', 'odd', zeroblob(32), 201, '{}', '2026-11-24T00:00:00Z');",
        )
        .unwrap();
        let outcome = |key| stored(&conn, "d2", key).map(|a| a.map(|a| a.outcome));
        assert_eq!(outcome("old-ok").unwrap(), Some(Outcome::Accepted));
        assert_eq!(outcome("old-no").unwrap(), Some(Outcome::Rejected));
        assert!(outcome("odd").is_err(), "a number no version wrote is a corrupt row");
        assert_eq!(stored(&conn, "d1", "k2").unwrap(), Some(refused));
    }

    #[test]
    fn a_key_answered_in_this_group_is_found_before_it_is_written_and_after() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::db::sqlite::desk::schema::open(&dir.path().join("desk.sqlite3")).unwrap();
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

//! What the desk keeps under each idempotency key: the request's fingerprint and its answer.
//! Which outcome each stored code stands for is the desk's (`desk::answers`); this is what
//! it reads and writes.

use crate::db::DbError;

/// An answer as stored under a device's key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnswerRow {
    /// The fingerprint of the request it answered.
    pub fingerprint: [u8; 32],
    /// The desk's code for the outcome (the `status` column).
    pub code: u16,
    /// The JSON body answered.
    pub body: String,
}

/// One answer to store.
#[derive(Clone, Copy, Debug)]
pub struct NewAnswer<'a> {
    /// The idempotency key.
    pub key: &'a str,
    /// The device the key belongs to.
    pub device_id: &'a str,
    /// The fingerprint of the request it answers.
    pub fingerprint: &'a [u8; 32],
    /// The desk's code for the outcome.
    pub code: u16,
    /// The JSON body answered.
    pub body: &'a str,
}

/// The stored answers of the desk's commands.
pub trait DeskAnswers {
    /// The answer stored under `device_id`'s `key`, if any. A fingerprint that is not 32
    /// bytes is corrupt.
    fn stored_answer(&self, device_id: &str, key: &str) -> Result<Option<AnswerRow>, DbError>;

    /// The answers stored under each of the `wanted` (device, key) pairs that has one, as
    /// (device, key, answer): a group looks up all its keys at once. By default one
    /// [`DeskAnswers::stored_answer`] each; a backend across a network reads them in one
    /// query.
    fn stored_answers(
        &self,
        wanted: &[(&str, &str)],
    ) -> Result<Vec<(String, String, AnswerRow)>, DbError> {
        let mut found = Vec::new();
        for (device_id, key) in wanted {
            if let Some(row) = self.stored_answer(device_id, key)? {
                found.push(((*device_id).to_owned(), (*key).to_owned(), row));
            }
        }
        Ok(found)
    }

    /// Stores `answers`, all answered at `answered_at` (as the desk stores instants). An
    /// iterator, so a group's answers are written with one prepared statement and no list.
    fn insert_answers(
        &self,
        answered_at: &str,
        answers: &mut dyn Iterator<Item = NewAnswer<'_>>,
    ) -> Result<(), DbError>;
}

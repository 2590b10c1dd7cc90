//! `DeskAnswers` over PostgreSQL: a group's keys looked up in one query, and its answers
//! written in one statement queued before the group's commit (see `deferred`).

use tokio_postgres::Row;

use crate::db::DbError;
use crate::db::desk::DeskAnswers;
use crate::db::desk::answers::{AnswerRow, NewAnswer};
use crate::db::postgres::PgDb;
use crate::db::postgres::deferred::owned_params;

/// The answer in `row`'s columns from `at` on: request hash, status, body.
fn answer_row(row: &Row, at: usize, key: &str) -> Result<AnswerRow, DbError> {
    let hash: Vec<u8> = row.try_get(at)?;
    let fingerprint = <[u8; 32]>::try_from(hash.as_slice())
        .map_err(|_| DbError::Corrupt(format!("request hash of {key}")))?;
    let code: i64 = row.try_get(at + 1)?;
    let code = u16::try_from(code).map_err(|_| DbError::Corrupt(format!("answer code {code}")))?;
    Ok(AnswerRow { fingerprint, code, body: row.try_get(at + 2)? })
}

impl DeskAnswers for PgDb {
    fn stored_answer(&self, device_id: &str, key: &str) -> Result<Option<AnswerRow>, DbError> {
        self.row(
            "SELECT request_hash, status, answer FROM desk_requests
             WHERE device_id = $1 AND idempotency_key = $2",
            &[&device_id, &key],
        )?
        .map(|row| answer_row(&row, 0, key))
        .transpose()
    }

    fn stored_answers(
        &self,
        wanted: &[(&str, &str)],
    ) -> Result<Vec<(String, String, AnswerRow)>, DbError> {
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let devices: Vec<&str> = wanted.iter().map(|(device, _)| *device).collect();
        let keys: Vec<&str> = wanted.iter().map(|(_, key)| *key).collect();
        let rows = self.rows(
            "SELECT r.device_id, r.idempotency_key, r.request_hash, r.status, r.answer
             FROM unnest($1::text[], $2::text[]) AS w(device_id, idempotency_key)
             JOIN desk_requests r
               ON r.device_id = w.device_id AND r.idempotency_key = w.idempotency_key",
            &[&devices, &keys],
        )?;
        rows.iter()
            .map(|row| {
                let key: String = row.try_get(1)?;
                let answer = answer_row(row, 2, &key)?;
                Ok((row.try_get(0)?, key, answer))
            })
            .collect()
    }

    fn insert_answers(
        &self,
        answered_at: &str,
        answers: &mut dyn Iterator<Item = NewAnswer<'_>>,
    ) -> Result<(), DbError> {
        let (mut keys, mut devices, mut hashes, mut codes, mut bodies) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for answer in answers {
            keys.push(answer.key.to_owned());
            devices.push(answer.device_id.to_owned());
            hashes.push(answer.fingerprint.to_vec());
            codes.push(i64::from(answer.code));
            bodies.push(answer.body.to_owned());
        }
        if keys.is_empty() {
            return Ok(());
        }
        let count = u64::try_from(keys.len()).unwrap_or(u64::MAX);
        // One statement for the group's answers, every one of which must be written.
        self.write_soon(
            "INSERT INTO desk_requests(idempotency_key, device_id, request_hash, status, answer,
                 answered_at)
             SELECT k, d, h, s, a, $6
             FROM unnest($1::text[], $2::text[], $3::bytea[], $4::int8[], $5::text[])
                 AS t(k, d, h, s, a)",
            owned_params![keys, devices, hashes, codes, bodies, answered_at.to_owned()],
            Some(count),
        )
    }
}

//! `DeskAnswers` over SQLite.

use rusqlite::{Connection, OptionalExtension, params};

use crate::db::DbError;
use crate::db::desk::DeskAnswers;
use crate::db::desk::answers::{AnswerRow, NewAnswer};

impl DeskAnswers for Connection {
    fn stored_answer(&self, device_id: &str, key: &str) -> Result<Option<AnswerRow>, DbError> {
        let row: Option<(Vec<u8>, u16, String)> = self
            .prepare_cached(
                "SELECT request_hash, status, answer FROM desk_requests
                 WHERE device_id = ?1 AND idempotency_key = ?2",
            )?
            .query_row([device_id, key], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        row.map(|(hash, code, body)| {
            let fingerprint = <[u8; 32]>::try_from(hash.as_slice())
                .map_err(|_| DbError::Corrupt(format!("request hash of {key}")))?;
            Ok(AnswerRow { fingerprint, code, body })
        })
        .transpose()
    }

    fn insert_answers(
        &self,
        answered_at: &str,
        answers: &mut dyn Iterator<Item = NewAnswer<'_>>,
    ) -> Result<(), DbError> {
        let mut insert = self.prepare_cached(
            "INSERT INTO desk_requests(idempotency_key, device_id, request_hash, status, answer,
                 answered_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for answer in answers {
            insert.execute(params![
                answer.key,
                answer.device_id,
                &answer.fingerprint[..],
                answer.code,
                answer.body,
                answered_at
            ])?;
        }
        Ok(())
    }
}

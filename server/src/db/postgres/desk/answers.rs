//! `DeskAnswers` over PostgreSQL.

use crate::db::DbError;
use crate::db::desk::DeskAnswers;
use crate::db::desk::answers::{AnswerRow, NewAnswer};
use crate::db::postgres::PgDb;

impl DeskAnswers for PgDb {
    fn stored_answer(&self, device_id: &str, key: &str) -> Result<Option<AnswerRow>, DbError> {
        let Some(row) = self.row(
            "SELECT request_hash, status, answer FROM desk_requests
             WHERE device_id = $1 AND idempotency_key = $2",
            &[&device_id, &key],
        )?
        else {
            return Ok(None);
        };
        let hash: Vec<u8> = row.try_get(0)?;
        let fingerprint = <[u8; 32]>::try_from(hash.as_slice())
            .map_err(|_| DbError::Corrupt(format!("request hash of {key}")))?;
        let code: i64 = row.try_get(1)?;
        let code =
            u16::try_from(code).map_err(|_| DbError::Corrupt(format!("answer code {code}")))?;
        Ok(Some(AnswerRow { fingerprint, code, body: row.try_get(2)? }))
    }

    fn insert_answers(
        &self,
        answered_at: &str,
        answers: &mut dyn Iterator<Item = NewAnswer<'_>>,
    ) -> Result<(), DbError> {
        for answer in answers {
            self.execute(
                "INSERT INTO desk_requests(idempotency_key, device_id, request_hash, status,
                     answer, answered_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &answer.key,
                    &answer.device_id,
                    &&answer.fingerprint[..],
                    &i64::from(answer.code),
                    &answer.body,
                    &answered_at,
                ],
            )?;
        }
        Ok(())
    }
}

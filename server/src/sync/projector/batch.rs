//! The projector's batches, taken as the store's turn: up to a limit of documents changed
//! since the watermark, in sequence order, in one transaction.

use chrono::{DateTime, Utc};

use super::{BATCH_DOCS, ProjectedBatch, project_stored, set_watermark, watermark};
use crate::error::ServerError;
use crate::store::Store;

impl Store {
    /// Projects up to `limit` documents changed since the watermark, in one transaction, and
    /// returns how many it projected. Fewer than `limit` means the projections are current.
    pub fn project_pending(
        &mut self,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<usize, ServerError> {
        Ok(self.project_pending_until(limit, now, || false)?.documents)
    }

    /// Like [`Store::project_pending`], but stops after any document for which `give_way`
    /// answers true (a sync round is waiting for the store), committing what it did: a round
    /// then waits for one document's projection, not a whole batch's.
    pub fn project_pending_until(
        &mut self,
        limit: usize,
        now: DateTime<Utc>,
        give_way: impl Fn() -> bool,
    ) -> Result<ProjectedBatch, ServerError> {
        let mut known = std::mem::take(&mut self.projected_heads);
        let result = self.write(|tx, docs, policy| {
            let from = watermark(tx)?;
            let batch = tx.documents_after(from, limit)?;
            let mut done = 0;
            for (id, seq) in &batch {
                project_stored(tx, docs, policy, &mut known, id, *seq, now)?;
                done += 1;
                if done < batch.len() && give_way() {
                    break;
                }
            }
            // A short batch saw everything: moving to the sequence's end also passes numbers
            // that scope changes took, so the watermark does not lag behind them.
            let caught_up = done == batch.len() && batch.len() < limit;
            let to = match batch.get(done.wrapping_sub(1)) {
                Some((_, seq)) if !caught_up => *seq,
                _ => tx.current_seq()?,
            };
            if to != from {
                set_watermark(tx, to)?;
            }
            Ok(ProjectedBatch { documents: done, caught_up })
        });
        // After a failed batch the rows are as before it, so the heads it noted are wrong.
        self.projected_heads = if result.is_ok() { known } else { Default::default() };
        result
    }

    /// Projects everything pending; for startup, demo loading and admin commands.
    pub fn project_all(&mut self, now: DateTime<Utc>) -> Result<usize, ServerError> {
        let mut total = 0;
        loop {
            let done = self.project_pending(BATCH_DOCS * 8, now)?;
            total += done;
            if done < BATCH_DOCS * 8 {
                return Ok(total);
            }
        }
    }
}

//! Change notices between nodes (ADR 0024): a node that committed changes says so with a
//! `NOTIFY` (`PgPool::notify_async`, sent by `cluster::feed` after the commit, as a statement of
//! its own, so no commit waits for PostgreSQL's notify lock), and every node's listener — a
//! connection of its own, outside the pool — hears it; a notice sent inside a transaction is
//! heard once it commits, never if it rolls back, in commit order. The listening node then
//! reads what changed from the change sequence, so a lost notice only delays a stream.

use std::sync::mpsc;
use std::time::Duration;

use tokio_postgres::{AsyncMessage, NoTls};

#[cfg(test)]
use super::PgDb;
use super::PgPool;
use crate::db::DbError;

/// A connection listening on one channel; notices arrive in commit order. Dropping it ends
/// the connection.
pub struct ChangeListener {
    // Kept for the connection's life: dropping the client ends the listening task.
    _client: tokio_postgres::Client,
    notices: mpsc::Receiver<String>,
}

impl std::fmt::Debug for ChangeListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangeListener").finish_non_exhaustive()
    }
}

impl PgPool {
    /// Opens a connection of its own and listens on `channel` (an identifier: letters,
    /// digits and underscores). Waits on the calling (blocking) thread for the connection.
    pub fn listen(&self, channel: &str) -> Result<ChangeListener, DbError> {
        if channel.is_empty() || !channel.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(DbError::Corrupt(format!("channel name {channel:?}")));
        }
        let (tx, notices) = mpsc::channel();
        let config = self.config.clone();
        let client = self.runtime.block_on(async move {
            let (client, mut connection) = config.connect(NoTls).await?;
            tokio::spawn(async move {
                // The connection is driven here; notices go to the listener until either
                // side ends.
                while let Some(message) =
                    std::future::poll_fn(|cx| connection.poll_message(cx)).await
                {
                    match message {
                        Ok(AsyncMessage::Notification(notice)) => {
                            if tx.send(notice.payload().to_owned()).is_err() {
                                break;
                            }
                        }
                        Ok(_) => {}
                        Err(error) => {
                            tracing::warn!(%error, "change listener's connection failed");
                            break;
                        }
                    }
                }
            });
            client.batch_execute(&format!("LISTEN {channel}")).await?;
            Ok::<_, tokio_postgres::Error>(client)
        })?;
        Ok(ChangeListener { _client: client, notices })
    }
}

/// What waiting on a listener found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Heard {
    /// A notice came.
    Notice,
    /// None came in the time given.
    Quiet,
    /// The listening connection ended: no notice will come on it again.
    Closed,
}

impl ChangeListener {
    /// Waits at most `wait` for a notice, and says whether one came, none did, or the
    /// connection ended (so that the caller listens again on a new one).
    pub fn wait(&self, wait: Duration) -> Heard {
        match self.notices.recv_timeout(wait) {
            Ok(_) => Heard::Notice,
            Err(mpsc::RecvTimeoutError::Timeout) => Heard::Quiet,
            Err(mpsc::RecvTimeoutError::Disconnected) => Heard::Closed,
        }
    }

    /// Drops the notices already received; returns how many.
    pub fn drain(&self) -> usize {
        self.notices.try_iter().count()
    }

    /// The next notice, waiting at most `wait`; `None` if none came (or the connection
    /// ended).
    #[cfg(test)]
    pub fn next(&self, wait: Duration) -> Option<String> {
        self.notices.recv_timeout(wait).ok()
    }

    /// A notice already received, without waiting.
    #[cfg(test)]
    pub fn try_next(&self) -> Option<String> {
        self.notices.try_recv().ok()
    }
}

impl PgPool {
    /// Says `payload` on `channel` to every listener now, as a statement of its own on a
    /// pooled connection; waits asynchronously (for a runtime task, not a storage thread).
    pub async fn notify_async(&self, channel: &str, payload: &str) -> Result<(), DbError> {
        let client = self
            .pool
            .get()
            .await
            .map_err(|e| DbError::Unavailable(format!("database connection: {e}")))?;
        client.execute("SELECT pg_notify($1, $2)", &[&channel, &payload]).await?;
        Ok(())
    }
}

#[cfg(test)]
impl PgDb {
    /// Says `payload` on `channel` to every listener, once the current transaction commits.
    pub fn notify(&self, channel: &str, payload: &str) -> Result<(), DbError> {
        self.execute("SELECT pg_notify($1, $2)", &[&channel, &payload])?;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests may panic.
mod tests {
    use std::time::Duration;

    use crate::db::DbError;
    use crate::db::postgres::testing::TestDatabase;

    const WAIT: Duration = Duration::from_secs(30);

    #[test]
    fn a_notice_reaches_another_node_when_its_transaction_commits_and_never_if_it_rolls_back() {
        let Some(database) = TestDatabase::create() else { return };
        // Channels are database-wide: the test's schema names its own.
        let channel = format!("changes_{}", database.schema());
        let listener = database.node_pool().listen(&channel).unwrap();
        let writer = database.node_pool().get().unwrap();
        writer
            .transaction(|db| {
                db.notify(&channel, "41")?;
                Err::<(), _>(DbError::Corrupt("the work fails".into()))
            })
            .unwrap_err();
        for seq in ["42", "43"] {
            writer.transaction(|db| db.notify(&channel, seq)).unwrap();
        }
        assert_eq!(listener.next(WAIT).as_deref(), Some("42"), "the rolled-back 41 never came");
        assert_eq!(listener.next(WAIT).as_deref(), Some("43"), "in commit order");
        assert_eq!(listener.try_next(), None);
    }

    #[test]
    fn a_notice_waits_for_its_commit() {
        let Some(database) = TestDatabase::create() else { return };
        let channel = format!("changes_{}", database.schema());
        let listener = database.node_pool().listen(&channel).unwrap();
        let writer = database.node_pool().get().unwrap();
        writer.batch("BEGIN").unwrap();
        writer.notify(&channel, "7").unwrap();
        // A notice that went out before the commit would be here by the time a later,
        // committed notice from another connection arrives.
        let other = database.node_pool().get().unwrap();
        other.transaction(|db| db.notify(&channel, "8")).unwrap();
        assert_eq!(listener.next(WAIT).as_deref(), Some("8"));
        assert_eq!(listener.try_next(), None, "7 is not committed yet");
        writer.batch("COMMIT").unwrap();
        assert_eq!(listener.next(WAIT).as_deref(), Some("7"));
    }

    #[test]
    fn a_channel_name_is_an_identifier() {
        let Some(database) = TestDatabase::create() else { return };
        let refused = database.node_pool().listen("x; DROP TABLE documents").unwrap_err();
        assert!(matches!(refused, DbError::Corrupt(_)), "{refused}");
    }
}

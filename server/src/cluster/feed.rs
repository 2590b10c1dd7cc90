//! Following what other nodes commit: every node reads the change sequence and the desk's
//! ledger after a notice (or at an interval) and tells its own connected devices, consoles,
//! projector and mirror, as its own commits do. And, when notices are on, telling the other
//! nodes after this node committed.
//!
//! The notice is sent after the commit, as a statement of its own on a pooled connection —
//! not inside the committing transaction — so the documents' and the desk's commits never wait
//! for PostgreSQL's queue of notices (a `NOTIFY` inside a transaction takes a database-wide lock
//! at commit). A notice carries nothing: the listener reads what changed from the database,
//! so notices that arrive together are read once.

use crate::cluster::{ChangeNotices, FOLLOW_INTERVAL, NOTICE_FALLBACK};
use crate::db::postgres::PgPool;
use crate::db::postgres::notices::{ChangeListener, Heard};
use crate::desk::Desk;
use crate::error::ServerError;
use crate::services::Services;
use crate::sync::ChangedDoc;

/// The channel nodes say "something was committed" on.
pub const CHANGES_CHANNEL: &str = "kam_changes";

/// Documents read per look at the sequence; more are read at once in the next look.
const FOLLOW_BATCH: usize = 1_000;

/// Sends a notice to the other nodes after every commit of this node that changed documents
/// or extended the desk's ledger; commits that come while a notice is being sent share the
/// next one. Runs until the runtime stops.
pub async fn send_notices(services: Services, pool: PgPool) {
    let desk_commits = services.desk.as_ref().map(Desk::committed_here);
    loop {
        tokio::select! {
            () = services.push.announced_here() => {}
            () = async {
                match &desk_commits {
                    Some(commits) => commits.notified().await,
                    None => std::future::pending().await,
                }
            } => {}
        }
        if let Err(error) = pool.notify_async(CHANGES_CHANNEL, "").await {
            // The others still read the sequence at least every `NOTICE_FALLBACK`.
            tracing::warn!(%error, "cannot tell the other nodes about a commit");
        }
    }
}

/// Follows the change sequence and the desk's ledger from where they stand now, forever:
/// after each notice (`ChangeNotices::Notify`, and at least every [`NOTICE_FALLBACK`]) or every
/// [`FOLLOW_INTERVAL`] (`ChangeNotices::Follow`).
pub async fn follow_changes(services: Services, pool: PgPool, mode: ChangeNotices) {
    let beat = services.health.beat("change_feed");
    let mut listener: Option<ChangeListener> = None;
    let mut last_seq = loop {
        match services.readers().read(|c| Ok::<_, ServerError>(c.db().current_seq()?)).await {
            Ok(seq) => break seq,
            Err(error) => {
                tracing::warn!(%error, "cannot read the change sequence");
                tokio::time::sleep(NOTICE_FALLBACK).await;
            }
        }
    };
    let mut read_more = false;
    loop {
        beat.tick();
        if !read_more {
            match mode {
                ChangeNotices::Follow => tokio::time::sleep(FOLLOW_INTERVAL).await,
                ChangeNotices::Notify => listener = wait_for_notice(&pool, listener.take()).await,
            }
        }
        let after = last_seq;
        let read = services
            .readers()
            .read(move |c| {
                let changes = c.db().changes_after(after, FOLLOW_BATCH)?;
                Ok::<_, ServerError>((changes, c.desk().ledger_seq()?))
            })
            .await;
        let (changes, ledger_seq) = match read {
            Ok(read) => read,
            Err(error) => {
                beat.failed();
                tracing::warn!(%error, "cannot read what other nodes committed");
                read_more = false;
                continue;
            }
        };
        read_more = changes.len() == FOLLOW_BATCH;
        if let Some(&(_, upto, _)) = changes.last() {
            let changed: Vec<ChangedDoc> = changes
                .into_iter()
                .map(|(doc_id, seq, scope_key)| ChangedDoc { seq, doc_id, scope_key })
                .collect();
            services.push.announce_followed(&changed, upto);
            services.projector.wake();
            last_seq = upto;
        }
        if let Some(desk) = &services.desk {
            desk.moved_elsewhere(ledger_seq);
        }
    }
}

/// Waits for the next notice (or [`NOTICE_FALLBACK`]) on `listener`, connecting one first if
/// there is none; returns the listener to keep, `None` if its connection ended.
async fn wait_for_notice(
    pool: &PgPool,
    listener: Option<ChangeListener>,
) -> Option<ChangeListener> {
    let pool = pool.clone();
    let waited = tokio::task::spawn_blocking(move || {
        let listener = match listener {
            Some(listener) => listener,
            None => match pool.listen(CHANGES_CHANNEL) {
                Ok(listener) => listener,
                Err(error) => {
                    tracing::warn!(%error, "cannot listen for other nodes' notices");
                    std::thread::sleep(NOTICE_FALLBACK);
                    return None;
                }
            },
        };
        match listener.wait(NOTICE_FALLBACK) {
            Heard::Closed => {
                tracing::warn!("the notice listener's connection ended; listening again");
                None
            }
            Heard::Notice | Heard::Quiet => {
                // Notices that came together are read once.
                listener.drain();
                Some(listener)
            }
        }
    })
    .await;
    waited.unwrap_or(None)
}

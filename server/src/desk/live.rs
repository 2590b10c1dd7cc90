//! The live desk: what every console and big screen of an event watches.
//!
//! One follower per event (started by the first watcher, ended when the last one leaves) reads
//! the event's table, queue and recent sales once after every desk commit that wrote the
//! ledger (or every [`REFRESH`] at the latest, for changes made through another connection),
//! and publishes the result on a `watch` channel. Fifty consoles and ten hall screens then
//! cost one read per commit, not sixty; each stream sends its page only what changed since
//! the state it last sent.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::watch;

use super::plan::{Cell, QueueBuyer, STATUSES, cell, read_queue};
use crate::db::desk::DeskDb;
use crate::db::desk::board::{BoardUnit, RecentSale};
use crate::db::readers::Readers;
use crate::error::ServerError;

/// Longest wait between two reads when no commit is announced.
pub const REFRESH: Duration = Duration::from_secs(2);

/// The shortest time between two reads of one event: under a burst of commands the follower
/// reads at most this often (each read covers every commit before it), so a busy desk costs
/// the readers a bounded share of a core while every screen still follows well within a
/// second.
pub const MIN_GAP: Duration = Duration::from_millis(50);

/// Sales the big screen lists.
const RECENT_SALES: u32 = 8;

/// The event's desk as last read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LiveState {
    /// Counts the states published for the event (0 for one read outside a follower).
    pub version: u64,
    /// The cells that changed from the state before this one (`version - 1`), by index; every
    /// stream one version behind sends these without comparing the whole plan again.
    pub moved: Arc<Vec<usize>>,
    /// `strict_order` or `free`.
    pub mode: String,
    /// The number being served.
    pub now_serving: Option<u32>,
    /// The ledger's last entry when read.
    pub ledger_seq: i64,
    /// Every unit of the project, in plan order.
    pub cells: Arc<Vec<Cell>>,
    /// The event's allotted units by status, counted once per read for every stream.
    pub counts: BTreeMap<&'static str, usize>,
    /// The queue, in lottery order.
    pub queue: Arc<Vec<QueueBuyer>>,
    /// The latest sales, newest first.
    pub recent: Arc<Vec<RecentSale>>,
}

impl LiveState {
    /// The cells of `self` that differ from `before` (all of them when the plan changed shape).
    pub fn changed_since<'a>(&'a self, before: &LiveState) -> Vec<&'a Cell> {
        if before.cells.len() != self.cells.len() {
            return self.cells.iter().collect();
        }
        if before.version > 0 && before.version.checked_add(1) == Some(self.version) {
            return self.moved.iter().filter_map(|&i| self.cells.get(i)).collect();
        }
        self.cells
            .iter()
            .zip(before.cells.iter())
            .filter(|(now, was)| now != was)
            .map(|(n, _)| n)
            .collect()
    }
}

/// The allotted units of `cells` by status.
pub fn counts(cells: &[Cell]) -> BTreeMap<&'static str, usize> {
    let mut counts: BTreeMap<&'static str, usize> = STATUSES.iter().map(|s| (*s, 0)).collect();
    for cell in cells.iter().filter(|c| c.allotted) {
        if let Some(n) =
            STATUSES.iter().find(|s| **s == cell.status).and_then(|s| counts.get_mut(s))
        {
            *n += 1;
        }
    }
    counts
}

/// Reads the live state of `event_id` through `readers`.
async fn read_state(
    readers: &Readers,
    event_id: String,
    max_units_per_buyer: u32,
) -> Result<LiveState, ServerError> {
    readers
        .read(move |c| {
            let units = c.desk().board_units(&event_id, None)?;
            state_of(c.desk(), &event_id, &units, max_units_per_buyer)
        })
        .await
}

/// The live state of `event_id` with its plan's `units` already read (a page that also lays
/// the plan out reads them once): `NotFound` if no desk is open for the event.
pub fn state_of(
    desk: &dyn DeskDb,
    event_id: &str,
    units: &[BoardUnit],
    max_units_per_buyer: u32,
) -> Result<LiveState, ServerError> {
    let event = desk.desk_event(event_id)?.ok_or(ServerError::NotFound)?;
    let cells: Vec<Cell> = units.iter().cloned().map(cell).collect();
    Ok(LiveState {
        version: 0,
        moved: Arc::default(),
        mode: event.mode.as_str().to_owned(),
        now_serving: event.now_serving,
        ledger_seq: desk.ledger_seq()?,
        counts: counts(&cells),
        cells: Arc::new(cells),
        queue: Arc::new(read_queue(desk, event_id, max_units_per_buyer)?),
        recent: Arc::new(desk.recent_sales(event_id, RECENT_SALES)?),
    })
}

/// The followers of every watched event.
#[derive(Clone)]
pub struct LiveDesk {
    readers: Readers,
    max_units_per_buyer: u32,
    events: Arc<Mutex<HashMap<String, watch::Receiver<Arc<LiveState>>>>>,
}

impl std::fmt::Debug for LiveDesk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveDesk").finish_non_exhaustive()
    }
}

impl LiveDesk {
    /// Followers reading through `readers`, counting quotas under `max_units_per_buyer`.
    pub fn new(readers: Readers, max_units_per_buyer: u32) -> LiveDesk {
        LiveDesk { readers, max_units_per_buyer, events: Arc::default() }
    }

    /// Watches `event_id`: its state now, and each new state after a commit. `moves` is the
    /// desk writer's commit counter when this server runs a desk. `NotFound` if no desk is
    /// open for the event.
    pub async fn watch(
        &self,
        event_id: &str,
        moves: Option<watch::Receiver<u64>>,
    ) -> Result<watch::Receiver<Arc<LiveState>>, ServerError> {
        if let Some(found) = self.followed(event_id) {
            return Ok(found);
        }
        let first =
            read_state(&self.readers, event_id.to_owned(), self.max_units_per_buyer).await?;
        let mut events = self.events.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(found) = events.get(event_id).filter(|r| r.has_changed().is_ok()) {
            return Ok(found.clone());
        }
        let first = LiveState { version: 1, ..first };
        let (sender, receiver) = watch::channel(Arc::new(first));
        events.insert(event_id.to_owned(), receiver.clone());
        drop(events);
        let follower =
            Follower { live: self.clone(), event_id: event_id.to_owned(), sender, moves };
        let span = tracing::debug_span!("live_desk", event = %event_id);
        tokio::spawn(tracing::Instrument::instrument(follower.run(), span));
        Ok(receiver)
    }

    /// The receiver of a follower still running for `event_id`.
    fn followed(&self, event_id: &str) -> Option<watch::Receiver<Arc<LiveState>>> {
        let events = self.events.lock().unwrap_or_else(PoisonError::into_inner);
        events.get(event_id).filter(|r| r.has_changed().is_ok()).cloned()
    }
}

/// `read` as the state after `current`, with the cells that moved between them; `None` when
/// nothing the watchers show changed. The plan is compared once here, for every watcher.
fn successor(current: &LiveState, mut read: LiveState) -> Option<LiveState> {
    let same_shape = current.cells.len() == read.cells.len();
    let moved: Vec<usize> = if same_shape {
        let pairs = current.cells.iter().zip(read.cells.iter()).enumerate();
        pairs.filter(|(_, (was, now))| was != now).map(|(i, _)| i).collect()
    } else {
        (0..read.cells.len()).collect()
    };
    let unchanged = same_shape
        && moved.is_empty()
        && current.mode == read.mode
        && current.now_serving == read.now_serving
        && current.ledger_seq == read.ledger_seq
        && current.queue == read.queue
        && current.recent == read.recent;
    if unchanged {
        return None;
    }
    // The first published state counts as 1, so a stream that sent it knows the next is its
    // successor; a reshaped plan starts over (every cell is news).
    read.version = if same_shape { current.version.saturating_add(1).max(1) } else { 0 };
    read.moved = Arc::new(moved);
    Some(read)
}

struct Follower {
    live: LiveDesk,
    event_id: String,
    sender: watch::Sender<Arc<LiveState>>,
    moves: Option<watch::Receiver<u64>>,
}

impl Follower {
    async fn run(mut self) {
        let mut last_read: Option<tokio::time::Instant> = None;
        loop {
            self.wait().await;
            if let Some(next) = last_read.and_then(|at| at.checked_add(MIN_GAP)) {
                tokio::time::sleep_until(next).await;
            }
            if self.unwatched() {
                return;
            }
            last_read = Some(tokio::time::Instant::now());
            let read = read_state(
                &self.live.readers,
                self.event_id.clone(),
                self.live.max_units_per_buyer,
            )
            .await;
            match read {
                Ok(state) => {
                    self.sender.send_if_modified(|current| match successor(current, state) {
                        Some(next) => {
                            *current = Arc::new(next);
                            true
                        }
                        None => false,
                    });
                }
                // A failed read is logged and tried again at the next move; the watchers keep
                // the last state.
                Err(error) => tracing::warn!(%error, "live desk read failed"),
            }
        }
    }

    /// Whether nobody watches any more; if so the follower leaves the registry, under the
    /// same lock a new watcher takes its receiver under, so none is handed a closing channel.
    fn unwatched(&self) -> bool {
        let mut events = self.live.events.lock().unwrap_or_else(PoisonError::into_inner);
        // The registry holds one receiver; anyone else is a watcher.
        if self.sender.receiver_count() > 1 {
            return false;
        }
        events.remove(&self.event_id);
        true
    }

    /// Waits for the desk's next commit, or [`REFRESH`].
    async fn wait(&mut self) {
        let refresh = tokio::time::sleep(REFRESH);
        match self.moves.as_mut() {
            Some(moves) => {
                tokio::select! {
                    () = refresh => {}
                    moved = moves.changed() => {
                        if moved.is_err() {
                            self.moves = None;
                        }
                    }
                }
            }
            None => refresh.await,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::db::desk::board::BoardUnit;

    fn state(statuses: &[&str]) -> LiveState {
        let cells = statuses
            .iter()
            .enumerate()
            .map(|(i, s)| {
                cell(BoardUnit {
                    unit_id: format!("u{i}"),
                    code: format!("1-10{i}"),
                    building: "1号楼".into(),
                    floor: 1,
                    layout: "2室".into(),
                    area_m2: "90".into(),
                    unit_price: Some("20000".into()),
                    status: (*s).into(),
                    allotted: true,
                    buyer_id: None,
                    buyer_name: None,
                    hold_id: None,
                    held_until: None,
                })
            })
            .collect();
        LiveState { version: 1, cells: Arc::new(cells), ..LiveState::default() }
    }

    #[test]
    fn the_plan_is_compared_once_and_each_stream_one_behind_sends_what_moved() {
        let first = state(&["available", "available", "available"]);
        assert_eq!(successor(&first, state(&["available", "available", "available"])), None);
        let second = successor(&first, state(&["available", "held", "available"])).unwrap();
        assert_eq!((second.version, second.moved.as_slice()), (2, [1].as_slice()));
        let sent: Vec<&str> =
            second.changed_since(&first).iter().map(|c| c.code.as_str()).collect();
        assert_eq!(sent, ["1-101"]);
        // A stream further behind compares the plan itself.
        let third = successor(&second, state(&["sold", "held", "available"])).unwrap();
        let behind: Vec<&str> =
            third.changed_since(&first).iter().map(|c| c.code.as_str()).collect();
        assert_eq!(behind, ["1-100", "1-101"]);
        // A reshaped plan is all news.
        let reshaped = successor(&third, state(&["sold"])).unwrap();
        assert_eq!(reshaped.changed_since(&third).len(), 1);
        assert_eq!(reshaped.version, 0);
    }
}

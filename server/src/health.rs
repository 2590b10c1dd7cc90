//! Whether the server's background work is moving: what `/healthz` answers.
//!
//! A server whose projector, desk writer or mirror is stuck still accepts connections, so a
//! liveness check that only answers "ok" keeps a broken server in rotation. Each background
//! task owns a [`Beat`]: it marks when it starts a piece of work and when it finishes, and
//! ticks while it idles. The task is *stuck* when one piece of work has run longer than
//! [`STUCK_AFTER`], or when a task that should tick has not ticked for that long (it died).
//! The store's lock is watched the same way: one holder keeping it for longer is a stall.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

/// How long one piece of background work may take before the server calls itself unhealthy.
pub const STUCK_AFTER: Duration = Duration::from_secs(30);

/// The tasks the server watches, in the order `/healthz` lists them.
pub const TASKS: [&str; 10] = [
    "store",
    "projector",
    "mirror",
    "desk_writer",
    "hold_expiry",
    "checkpoint",
    "auth_watcher",
    "second_copy",
    "venue_uplink",
    "change_feed",
];

/// The liveness record of one background task. Cheap to clone; all clones share it.
#[derive(Clone, Debug)]
pub struct Beat {
    name: &'static str,
    /// Whether the task ticks while idle (a thread blocked on a channel does not).
    ticks_when_idle: bool,
    origin: Instant,
    inner: Arc<BeatInner>,
}

#[derive(Debug, Default)]
struct BeatInner {
    /// Milliseconds since `origin` of the last tick or finished work, plus one (0 = never).
    last_ms: AtomicU64,
    /// Milliseconds since `origin` when the running work began, plus one (0 = idle).
    busy_since_ms: AtomicU64,
    /// Pieces of work that failed (an error or a caught panic).
    failures: AtomicU64,
}

/// A guard marking a piece of work under way; dropping it marks the work done.
#[derive(Debug)]
pub struct Busy<'a>(&'a Beat);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.inner.busy_since_ms.store(0, Ordering::Release);
        self.0.tick();
    }
}

impl crate::db::Heartbeat for Beat {
    fn tick(&self) {
        Beat::tick(self);
    }

    fn failed(&self) {
        Beat::failed(self);
    }
}

impl Beat {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX).saturating_add(1)
    }

    /// Records that the task is alive and idle.
    pub fn tick(&self) {
        self.inner.last_ms.store(self.now_ms(), Ordering::Release);
    }

    /// Marks a piece of work under way until the guard is dropped.
    pub fn busy(&self) -> Busy<'_> {
        self.inner.busy_since_ms.store(self.now_ms(), Ordering::Release);
        Busy(self)
    }

    /// Counts a piece of work that failed.
    pub fn failed(&self) {
        self.inner.failures.fetch_add(1, Ordering::Relaxed);
    }

    /// The task's state now.
    pub fn report(&self) -> TaskHealth {
        self.report_at(self.now_ms())
    }

    /// The task's state at `now` (milliseconds since the origin, plus one).
    fn report_at(&self, now: u64) -> TaskHealth {
        let busy_since = self.inner.busy_since_ms.load(Ordering::Acquire);
        let last = self.inner.last_ms.load(Ordering::Acquire);
        let busy_ms = (busy_since > 0).then(|| now.saturating_sub(busy_since));
        let quiet_ms = (last > 0).then(|| now.saturating_sub(last));
        let limit = u64::try_from(STUCK_AFTER.as_millis()).unwrap_or(u64::MAX);
        let stuck_busy = busy_ms.is_some_and(|b| b > limit);
        // A ticking task that never ticked is still starting; one that stopped is dead.
        let silent =
            self.ticks_when_idle && busy_ms.is_none() && quiet_ms.is_some_and(|q| q > limit);
        TaskHealth {
            task: self.name,
            ok: !stuck_busy && !silent,
            busy_ms,
            since_last_beat_ms: quiet_ms,
            failures: self.inner.failures.load(Ordering::Relaxed),
        }
    }
}

/// One task in `/healthz`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TaskHealth {
    /// The task.
    pub task: &'static str,
    /// Whether it is moving.
    pub ok: bool,
    /// How long its current piece of work has run, if it is working.
    pub busy_ms: Option<u64>,
    /// How long since it last ticked or finished work.
    pub since_last_beat_ms: Option<u64>,
    /// Pieces of work that failed since the start.
    pub failures: u64,
}

/// The beats of every watched task. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Health {
    beats: Arc<Vec<Beat>>,
}

impl Default for Health {
    fn default() -> Self {
        Health::new()
    }
}

impl Health {
    /// Beats for [`TASKS`].
    pub fn new() -> Health {
        let origin = Instant::now();
        let beats = TASKS
            .iter()
            .map(|name| Beat {
                name,
                // The store and the desk writer wait for work without ticking.
                ticks_when_idle: !matches!(*name, "store" | "desk_writer"),
                origin,
                inner: Arc::default(),
            })
            .collect();
        Health { beats: Arc::new(beats) }
    }

    /// The beat of `task` (one of [`TASKS`]); an unknown name gets a detached beat that
    /// nobody reports, so a typo cannot make the server unhealthy.
    pub fn beat(&self, task: &str) -> Beat {
        self.beats.iter().find(|b| b.name == task).cloned().unwrap_or_else(|| Beat {
            name: "detached",
            ticks_when_idle: false,
            origin: Instant::now(),
            inner: Arc::default(),
        })
    }

    /// Every task's state, and whether all are moving.
    pub fn report(&self) -> (bool, Vec<TaskHealth>) {
        let tasks: Vec<TaskHealth> = self.beats.iter().map(Beat::report).collect();
        (tasks.iter().all(|t| t.ok), tasks)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const LIMIT_MS: u64 = STUCK_AFTER.as_millis() as u64;

    #[test]
    fn work_longer_than_the_limit_is_stuck_and_finishing_it_heals() {
        let health = Health::new();
        let beat = health.beat("projector");
        beat.tick();
        assert!(health.report().0);
        let guard = beat.busy();
        let began = beat.inner.busy_since_ms.load(Ordering::Acquire);
        assert!(beat.report_at(began + LIMIT_MS).ok, "at the limit it is still working");
        let stuck = beat.report_at(began + LIMIT_MS + 1);
        assert!(!stuck.ok && stuck.busy_ms == Some(LIMIT_MS + 1), "{stuck:?}");
        drop(guard);
        let finished = beat.inner.last_ms.load(Ordering::Acquire);
        assert!(beat.report_at(finished + 1).ok, "finished work heals");
        assert!(health.beat("no such task").report().ok);
    }

    #[test]
    fn a_ticking_task_that_went_silent_is_reported_and_a_waiting_one_is_not() {
        let health = Health::new();
        let checkpoint = health.beat("checkpoint");
        assert!(checkpoint.report_at(10 * LIMIT_MS).ok, "never ticked: still starting");
        checkpoint.tick();
        let last = checkpoint.inner.last_ms.load(Ordering::Acquire);
        assert!(checkpoint.report_at(last + LIMIT_MS).ok);
        assert!(!checkpoint.report_at(last + LIMIT_MS + 1).ok, "silent for too long");
        let writer = health.beat("desk_writer");
        writer.tick();
        let last = writer.inner.last_ms.load(Ordering::Acquire);
        assert!(writer.report_at(last + 100 * LIMIT_MS).ok, "waiting for work is not stuck");
    }
}

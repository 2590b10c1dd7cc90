//! The logging hook: kam-core's `tracing` events forwarded to the app's logger (Logcat,
//! `os_log`, Python's `logging`).
//!
//! Personal data: kam-core logs nothing personal (names, phone numbers, amounts, notes) at
//! Info, Warn or Error — ids, counts, durations and error kinds only; Debug and Trace may
//! carry more. Use [`LogLevel::Info`] in release builds and lower levels only on a developer's
//! device.

use std::cell::Cell;
use std::fmt::{self, Write as _};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Once, RwLock};

use tracing::field::{Field, Visit};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// How severe a log line is, most severe first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, uniffi::Enum)]
pub enum LogLevel {
    /// Something failed and was not recovered.
    Error,
    /// Something failed and was recovered, or looks wrong (a retried sync, a refused answer).
    Warn,
    /// What the SDK did (a sync round, its counts and duration). The level for release builds.
    Info,
    /// Details for a developer; may include personal data.
    Debug,
    /// Every step; may include personal data.
    Trace,
}

impl LogLevel {
    fn of(level: &Level) -> LogLevel {
        match *level {
            Level::ERROR => LogLevel::Error,
            Level::WARN => LogLevel::Warn,
            Level::INFO => LogLevel::Info,
            Level::DEBUG => LogLevel::Debug,
            Level::TRACE => LogLevel::Trace,
        }
    }

    fn from_u8(value: u8) -> LogLevel {
        match value {
            0 => LogLevel::Error,
            1 => LogLevel::Warn,
            2 => LogLevel::Info,
            3 => LogLevel::Debug,
            _ => LogLevel::Trace,
        }
    }
}

/// The app's logger, implemented in Kotlin, Swift or Python, e.g. with `android.util.Log` or
/// `os_log`.
///
/// Called on whichever thread logged, often a background one, and must not block; it must not
/// call into the replica either (the caller may hold it). Whatever it throws is dropped.
#[uniffi::export(foreign)]
pub trait KamLogger: Send + Sync {
    /// One event: its level, its target (the Rust module, e.g. `kam_core::sync_client`, a
    /// good Logcat tag or `os_log` category) and one line with the message and its fields
    /// (`sync round done rounds=3 ms=120`).
    fn log(&self, level: LogLevel, target: String, message: String);
}

/// Sends kam-core's log events at `max_level` and more severe to `logger`, replacing any
/// logger and level set before. Call it once at startup (again to change the level, e.g. from
/// a developer setting). Nothing is logged until it is called.
///
/// It installs the process's global `tracing` subscriber on the first call; if the app's
/// other Rust code installed one first, this hook receives nothing. See the module
/// documentation on personal data: use [`LogLevel::Info`] in release builds.
#[uniffi::export]
pub fn set_logger(logger: Arc<dyn KamLogger>, max_level: LogLevel) {
    {
        // Only this function writes the slot, with one assignment; a poisoned lock still holds
        // a whole value.
        let mut sink = SINK.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        *sink = Some(logger);
    }
    MAX_LEVEL.store(max_level as u8, Ordering::Release);
    INSTALL.call_once(|| {
        let subscriber = tracing_subscriber::registry().with(Forward);
        // Fails only if a global subscriber is already set; see the doc comment.
        let _ = tracing::subscriber::set_global_default(subscriber);
    });
}

/// The app's logger, swapped by [`set_logger`].
static SINK: RwLock<Option<Arc<dyn KamLogger>>> = RwLock::new(None);
/// The most verbose level forwarded, as `LogLevel as u8`; `NONE` until a logger is set.
static MAX_LEVEL: AtomicU8 = AtomicU8::new(NONE);
const NONE: u8 = u8::MAX;
static INSTALL: Once = Once::new();

thread_local! {
    /// Set while this thread is inside the app's logger, so that logging from there (the app
    /// calling back into the SDK) is dropped instead of recursing.
    static IN_LOGGER: Cell<bool> = const { Cell::new(false) };
}

fn forwarded(level: &Level) -> bool {
    let max = MAX_LEVEL.load(Ordering::Acquire);
    max != NONE && LogLevel::of(level) <= LogLevel::from_u8(max)
}

/// The layer that forwards each event to the current sink.
struct Forward;

impl<S: Subscriber> Layer<S> for Forward {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        // Asked again on every event (not cached per call site), since `set_logger` may
        // change the level at any time; the check is one atomic load.
        Interest::sometimes()
    }

    fn enabled(&self, metadata: &Metadata<'_>, _: Context<'_, S>) -> bool {
        forwarded(metadata.level())
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let metadata = event.metadata();
        if !forwarded(metadata.level()) || IN_LOGGER.with(Cell::get) {
            return;
        }
        let sink = SINK.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
        let Some(logger) = sink else { return };
        let mut line = Line::default();
        event.record(&mut line);
        IN_LOGGER.with(|flag| flag.set(true));
        // A logger that throws must not take the SDK call that logged down with it.
        let _ = catch_unwind(AssertUnwindSafe(|| {
            logger.log(LogLevel::of(metadata.level()), metadata.target().to_owned(), line.finish())
        }));
        IN_LOGGER.with(|flag| flag.set(false));
    }
}

/// One event as one line: the message, then ` name=value` for each other field.
#[derive(Default)]
struct Line {
    message: String,
    fields: String,
}

impl Line {
    fn finish(self) -> String {
        let Line { mut message, fields } = self;
        if message.is_empty() {
            return fields.trim_start().to_owned();
        }
        message.push_str(&fields);
        message
    }
}

impl Visit for Line {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={value}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[derive(Default)]
    struct Recorder(Mutex<Vec<(LogLevel, String, String)>>);

    impl KamLogger for Recorder {
        fn log(&self, level: LogLevel, target: String, message: String) {
            self.0.lock().unwrap().push((level, target, message));
        }
    }

    impl Recorder {
        /// What this test logged (other tests in the process may log too).
        fn ours(&self) -> Vec<(LogLevel, String, String)> {
            let lines = self.0.lock().unwrap();
            lines.iter().filter(|(_, target, _)| target == "kam_core::test").cloned().collect()
        }
    }

    /// The same call sites each time, so a level cached per call site would show.
    fn emit(round: u32) {
        tracing::warn!(target: "kam_core::test", round, status = 503, "sync failed, retrying");
        tracing::debug!(target: "kam_core::test", round, "answer applied");
    }

    #[test]
    fn events_at_or_above_the_level_reach_the_current_logger() {
        emit(0); // before any logger: dropped, and must not fix the call sites' interest
        let first = Arc::new(Recorder::default());
        set_logger(first.clone(), LogLevel::Info);
        emit(1);
        assert_eq!(
            first.ours(),
            vec![(
                LogLevel::Warn,
                "kam_core::test".to_owned(),
                "sync failed, retrying round=1 status=503".to_owned()
            )]
        );

        // A later call replaces the logger and the level.
        let second = Arc::new(Recorder::default());
        set_logger(second.clone(), LogLevel::Debug);
        emit(2);
        assert_eq!(first.ours().len(), 1, "the replaced logger hears nothing more");
        let levels: Vec<_> =
            second.ours().into_iter().map(|(level, _, line)| (level, line)).collect();
        assert_eq!(
            levels,
            vec![
                (LogLevel::Warn, "sync failed, retrying round=2 status=503".to_owned()),
                (LogLevel::Debug, "answer applied round=2".to_owned()),
            ]
        );
    }
}

//! The desk's single writer: commands in groups, one durable commit per group.
//!
//! Durable commits cost a `fsync` each, and on a venue's server that is the limit long before
//! the CPU is. So the writer takes every command that is waiting (up to [`MAX_GROUP`]) into one
//! IMMEDIATE transaction, runs each inside its own savepoint (a refusal or a fault rolls back
//! that command only), keeps each answer under its key (written after the group's last
//! command, see `answers`), commits once with `synchronous=FULL`, and only then answers them
//! all. No answer leaves before the commit that makes it true.

use std::any::Any;
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};

use chrono::{DateTime, Utc};
use kam_core::Policy;
use serde_json::json;
use tokio::sync::{Notify, oneshot, watch};

use super::access::authorize;
use super::answers::{GroupAnswers, StoredAnswer};
use super::command::{CommandAnswer, CommandRequest, DeskCommand, Outcome, Refusal};
use super::context::{Ctx, DeskEvent, GroupMemo, Stop};
use super::ledger::{self, Tip};
use super::{holds, queue, sales};
use crate::auth::{self, Principal};
use crate::db::desk::DeskGroup;
use crate::db::desk::state::instant;
use crate::db::{DataLocation, Db, DeskDatabase, panic_message};
use crate::error::ServerError;
use crate::health::Beat;

/// The most commands committed together.
pub const MAX_GROUP: usize = 512;

/// Commands waiting for the writer before new ones are turned away with 503.
const QUEUE_DEPTH: usize = 16_384;

/// What the desk's answer to one command means. The desk decides what happened; how that is
/// said on the wire (an HTTP status) is the HTTP edge's choice, made in one place:
/// `desk::http::reply_status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyKind {
    /// The authority carried the command out; the body says what changed.
    Accepted,
    /// The authority refused the command by one of its rules; nothing changed, and the body
    /// says why.
    Refused,
    /// The idempotency key was used before for a different request.
    KeyReused,
    /// No valid device token came with the command.
    Unauthenticated,
    /// The device may not send this command for this event.
    NotPermitted,
    /// No selection desk is open for the command's event.
    DeskNotOpen,
    /// Another place serves the event's desk (a venue holds it, or this venue's lease ended
    /// or was handed back): nothing was decided here.
    ServedElsewhere,
    /// The writer's queue is full: the command was not taken, and may be retried.
    Overloaded,
    /// The command failed inside the server; it may be retried with the same key.
    Failed,
}

impl From<Outcome> for ReplyKind {
    fn from(outcome: Outcome) -> ReplyKind {
        match outcome {
            Outcome::Accepted => ReplyKind::Accepted,
            Outcome::Rejected => ReplyKind::Refused,
        }
    }
}

/// The answer to one command: what it means and a JSON body, stored or fresh.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeskReply {
    /// What the answer means (the HTTP edge turns it into a status).
    pub kind: ReplyKind,
    /// JSON body.
    pub body: String,
    /// Whether this is a stored answer returned again to a retry.
    pub replayed: bool,
}

impl DeskReply {
    fn error(kind: ReplyKind, code: &str, message: &str) -> DeskReply {
        let body = json!({ "error": { "code": code, "message": message } }).to_string();
        DeskReply { kind, body, replayed: false }
    }

    /// The answer of a desk that does not serve the event (ADR 0021): `event_delegated`,
    /// `lease_ended` or `event_returned`, as `Authority::refusal` names it.
    fn served_elsewhere(code: &str, message: &str) -> DeskReply {
        let body = json!({ "error": { "code": code, "message": message } }).to_string();
        DeskReply { kind: ReplyKind::ServedElsewhere, body, replayed: false }
    }

    fn internal() -> DeskReply {
        DeskReply::error(ReplyKind::Failed, "internal", "internal error")
    }
}

/// Who sends a command: a device with its bearer token, or a person at a console with their
/// dashboard session's token. Both are checked again by the writer inside the command's
/// transaction, so a device revoked or a session ended a moment ago sends nothing.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Caller {
    /// A device's bearer token.
    Device(String),
    /// A dashboard session's cookie token.
    Session(String),
}

impl Caller {
    /// The principal behind the caller, read through `server` at `now`.
    fn principal(
        &self,
        server: &dyn Db,
        now: DateTime<Utc>,
    ) -> Result<Option<Principal>, ServerError> {
        match self {
            Caller::Device(token) => auth::authenticate(server, token),
            Caller::Session(token) => auth::session_principal(server, token, now),
        }
    }
}

// A job is moved once, into the writer's bounded channel, whose slots are sized for the largest
// variant anyway; boxing the command would add an allocation per command on the desk's hot path
// to shrink the rare sweep.
#[allow(clippy::large_enum_variant)]
enum Job {
    /// A command, with the fingerprint of its request (taken before it queues: the writer is
    /// the desk's one serial resource, so what can be done before it is done before it).
    Command {
        caller: Caller,
        request: CommandRequest,
        fingerprint: [u8; 32],
        reply: oneshot::Sender<DeskReply>,
    },
    Sweep {
        reply: Option<oneshot::Sender<usize>>,
    },
    /// Work on the desk that is not a client's command (lending an event's desk, taking a
    /// venue's segment, handing back): it runs in turn with the commands, in its own
    /// savepoint, and its result is sent after the group commits.
    Run {
        /// Taken out once, when the job runs (the group is borrowed while it runs).
        work: std::sync::Mutex<Option<Work>>,
        reply: oneshot::Sender<Box<dyn Any + Send>>,
    },
}

/// What a [`Job::Run`] did: its result, and whether its writes are kept.
struct Ran {
    keep: bool,
    value: Box<dyn Any + Send>,
}

/// The work of a [`Job::Run`].
type Work = Box<dyn FnOnce(&dyn DeskGroup, &dyn Db, &mut Tip, DateTime<Utc>) -> Ran + Send>;

/// Counters the writer keeps, for the metrics and the benchmark.
#[derive(Debug, Default)]
pub struct DeskStats {
    /// Transactions committed.
    pub groups: AtomicU64,
    /// Commands (and sweeps) committed in them.
    pub commands: AtomicU64,
    /// The ledger's last entry this writer committed or read (another node's writer may
    /// have gone further: see [`Desk::moved_elsewhere`]).
    pub tip_seq: std::sync::atomic::AtomicI64,
}

/// Where the writer reads the time: `Utc::now` in service; a simulation drives its own.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// A handle to the desk's writer thread. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Desk {
    jobs: SyncSender<Job>,
    committed: Arc<Notify>,
    /// Notified after this writer's own commits that wrote ledger entries (not after another
    /// node's, which `committed` also hears about).
    committed_here: Arc<Notify>,
    moves: Arc<watch::Sender<u64>>,
    stats: Arc<DeskStats>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Job::Command { request, .. } => write!(f, "Command({})", request.command.name()),
            Job::Sweep { .. } => write!(f, "Sweep"),
            Job::Run { .. } => write!(f, "Run"),
        }
    }
}

impl Desk {
    /// Starts the writer on its own connection to the desk database at `desk_path`, with the
    /// server database at `server_path` attached for devices, users and grants.
    pub fn start(
        desk_path: &Path,
        server_path: &Path,
        policy: Policy,
    ) -> Result<Desk, ServerError> {
        Desk::start_watched(
            desk_path,
            server_path,
            policy,
            crate::health::Health::new().beat("desk_writer"),
        )
    }

    /// Like [`Desk::start`], with the writer's liveness reported on `beat` (see `health`).
    pub fn start_watched(
        desk_path: &Path,
        server_path: &Path,
        policy: Policy,
        beat: Beat,
    ) -> Result<Desk, ServerError> {
        Desk::start_with_clock(desk_path, server_path, policy, beat, Arc::new(Utc::now))
    }

    /// Like [`Desk::start_watched`], with the writer reading the time from `clock`: every
    /// group's `now` (hold expiry, lease checks, answers' times) comes from it. For
    /// simulations that run a day of selection in seconds.
    pub fn start_with_clock(
        desk_path: &Path,
        server_path: &Path,
        policy: Policy,
        beat: Beat,
        clock: Clock,
    ) -> Result<Desk, ServerError> {
        let files = DataLocation::Files {
            server: server_path.to_path_buf(),
            desk: desk_path.to_path_buf(),
        };
        Desk::start_at(&files, policy, beat, clock)
    }

    /// Starts the writer where the data lives (`Store::location`): the desk's SQLite file, or
    /// the shared PostgreSQL database, where the writers of several nodes extend one ledger
    /// (each group takes the ledger's lock with its tip, ADR 0024).
    pub fn start_at(
        location: &DataLocation,
        policy: Policy,
        beat: Beat,
        clock: Clock,
    ) -> Result<Desk, ServerError> {
        let desk = location.open_desk_writer()?;
        // Devices, users and grants are read through their own connection: attaching the
        // server's file would put it under every desk transaction's write lock.
        let server = location.open_server_reader()?;
        let tip = ledger::tip(desk.db())?;
        let (jobs, receiver) = mpsc::sync_channel(QUEUE_DEPTH);
        let committed = Arc::new(Notify::new());
        let committed_here = Arc::new(Notify::new());
        let moves = Arc::new(watch::channel(0).0);
        let stats = Arc::new(DeskStats::default());
        stats.tip_seq.store(tip.seq, Ordering::Relaxed);
        let setup = WriterSetup {
            desk,
            server,
            tip,
            policy,
            committed: Arc::clone(&committed),
            committed_here: Arc::clone(&committed_here),
            moves: Arc::clone(&moves),
            stats: Arc::clone(&stats),
            beat,
            clock,
        };
        std::thread::Builder::new()
            .name("kam-desk-writer".into())
            .spawn(move || run(setup, receiver))
            .map_err(|e| ServerError::Corrupt(format!("cannot start the desk writer: {e}")))?;
        Ok(Desk { jobs, committed, committed_here, moves, stats })
    }

    /// Sends a command and waits for its durable answer.
    pub async fn submit(&self, caller: Caller, request: CommandRequest) -> DeskReply {
        let (reply, answer) = oneshot::channel();
        let fingerprint = super::command::fingerprint(&request);
        match self.jobs.try_send(Job::Command { caller, request, fingerprint, reply }) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                return DeskReply::error(
                    ReplyKind::Overloaded,
                    "desk_busy",
                    "the desk is overloaded; retry with the same key",
                );
            }
            Err(TrySendError::Disconnected(_)) => return DeskReply::internal(),
        }
        answer.await.unwrap_or_else(|_| DeskReply::internal())
    }

    /// Expires lapsed holds now; returns how many.
    pub async fn sweep(&self) -> usize {
        let (reply, answer) = oneshot::channel();
        if self.jobs.try_send(Job::Sweep { reply: Some(reply) }).is_err() {
            return 0;
        }
        answer.await.unwrap_or(0)
    }

    /// Runs `work` on the writer's thread, in turn with the commands, in a savepoint of its
    /// own: an `Ok` is committed with its group before it is returned, an `Err` is rolled back.
    /// `None` if the writer is gone or the group failed to commit.
    pub async fn run<T, E>(
        &self,
        work: impl FnOnce(&dyn DeskGroup, &dyn Db, &mut Tip, DateTime<Utc>) -> Result<T, E>
        + Send
        + 'static,
    ) -> Option<Result<T, E>>
    where
        T: Send + 'static,
        E: Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let work: Work = Box::new(move |tx, server, tip, now| {
            let result = work(tx, server, tip, now);
            Ran { keep: result.is_ok(), value: Box::new(result) }
        });
        self.jobs.try_send(Job::Run { work: std::sync::Mutex::new(Some(work)), reply }).ok()?;
        let value = answer.await.ok()?;
        value.downcast::<Result<T, E>>().ok().map(|b| *b)
    }

    /// The writer's counters.
    pub fn stats(&self) -> &DeskStats {
        &self.stats
    }

    /// Resolves after the next commit that wrote ledger entries (for the mirror).
    pub fn committed(&self) -> Arc<Notify> {
        Arc::clone(&self.committed)
    }

    /// Resolves after the next commit of this writer's own that wrote ledger entries (a node
    /// among several then tells the others, see `cluster`).
    pub fn committed_here(&self) -> Arc<Notify> {
        Arc::clone(&self.committed_here)
    }

    /// A counter that moves after every commit that wrote ledger entries: any number of
    /// watchers (the consoles' live tables, the big screens) see each move, or the latest.
    pub fn moves(&self) -> watch::Receiver<u64> {
        self.moves.subscribe()
    }

    /// Tells this node's watchers and mirror that the ledger reached `seq` through another
    /// node's writer (several nodes over one PostgreSQL database): they move as after a
    /// commit of this writer's own. A `seq` this writer has already seen moves nothing.
    pub fn moved_elsewhere(&self, seq: i64) {
        if self.stats.tip_seq.fetch_max(seq, Ordering::Relaxed) < seq {
            self.committed.notify_one();
            self.moves.send_modify(|n| *n = n.wrapping_add(1));
        }
    }
}

/// What the writer thread runs with.
struct WriterSetup {
    desk: DeskDatabase,
    server: Box<dyn Db + Send>,
    tip: Tip,
    policy: Policy,
    committed: Arc<Notify>,
    committed_here: Arc<Notify>,
    moves: Arc<watch::Sender<u64>>,
    stats: Arc<DeskStats>,
    beat: Beat,
    clock: Clock,
}

fn run(setup: WriterSetup, jobs: Receiver<Job>) {
    let WriterSetup {
        mut desk,
        server,
        mut tip,
        policy,
        committed,
        committed_here,
        moves,
        stats,
        beat,
        clock,
    } = setup;
    let server = &*server;
    while let Ok(first) = jobs.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let span = tracing::debug_span!("desk_group", commands = group.len());
        let _entered = span.enter();
        let now = clock();
        let outcome = {
            let _busy = beat.busy();
            // A panic outside any one command (the commit, the answers) rolls the group back
            // as its transaction unwinds; every command in it is answered 500 and retried with
            // its key. The writer itself lives on.
            std::panic::catch_unwind(AssertUnwindSafe(|| {
                run_group(&mut desk, server, &mut tip, &policy, &group, now)
            }))
            .unwrap_or_else(|panic| Err(ServerError::Panicked(panic_message(&panic))))
        };
        if outcome.is_err() {
            beat.failed();
        }
        let replies = match outcome {
            Ok((replies, wrote_ledger)) => {
                stats.groups.fetch_add(1, Ordering::Relaxed);
                stats.commands.fetch_add(group.len() as u64, Ordering::Relaxed);
                stats.tip_seq.fetch_max(tip.seq, Ordering::Relaxed);
                if wrote_ledger {
                    committed.notify_one();
                    committed_here.notify_one();
                    moves.send_modify(|n| *n = n.wrapping_add(1));
                }
                replies
            }
            Err(error) => {
                tracing::error!(%error, commands = group.len(), "desk group failed");
                group.iter().map(|_| Answer::Fault).collect()
            }
        };
        for (job, reply) in group.into_iter().zip(replies) {
            match (job, reply) {
                (Job::Command { reply: sender, .. }, Answer::Reply(reply)) => {
                    let _ = sender.send(reply);
                }
                (Job::Command { reply: sender, .. }, _) => {
                    let _ = sender.send(DeskReply::internal());
                }
                (Job::Sweep { reply: Some(sender) }, Answer::Swept(n)) => {
                    let _ = sender.send(n);
                }
                (Job::Sweep { .. }, _) => {}
                (Job::Run { reply: sender, .. }, Answer::Ran(value)) => {
                    let _ = sender.send(value);
                }
                (Job::Run { .. }, _) => {}
            }
        }
    }
}

enum Answer {
    Reply(DeskReply),
    Swept(usize),
    Ran(Box<dyn Any + Send>),
    Fault,
}

/// Runs one group in one transaction; returns the answers and whether the group extended
/// the ledger (the mirror has work).
fn run_group(
    desk: &mut DeskDatabase,
    server: &dyn Db,
    tip: &mut Tip,
    policy: &Policy,
    group: &[Job],
    now: DateTime<Utc>,
) -> Result<(Vec<Answer>, bool), ServerError> {
    desk.write(|tx| run_commands(tx, server, tip, policy, group, now))
}

/// Runs each command of `group` in its own savepoint of the group's transaction `tx`, then
/// writes their answers.
fn run_commands(
    tx: &dyn DeskGroup,
    server: &dyn Db,
    tip: &mut Tip,
    policy: &Policy,
    group: &[Job],
    now: DateTime<Utc>,
) -> Result<(Vec<Answer>, bool), ServerError> {
    // Another connection (opening a desk, an admin command) may have extended the chain.
    *tip = ledger::tip(tx)?;
    let start_seq = tip.seq;
    let mut answers = Vec::with_capacity(group.len());
    // A group's commands mostly come from a few devices; each token is checked once per
    // group, and the group commits (or not) as one.
    let mut principals: HashMap<&Caller, Option<Principal>> = HashMap::new();
    let memo = GroupMemo::default();
    let mut kept = GroupAnswers::default();
    look_up_group(tx, server, group, now, &mut principals, &mut kept)?;
    for job in group {
        let before = *tip;
        tx.begin_command()?;
        // A panic in one command is that command's fault: it is rolled back to its savepoint
        // and answered 500 (its client retries with the same key), and the group goes on.
        let answer = std::panic::catch_unwind(AssertUnwindSafe(|| match job {
            Job::Command { caller, request, fingerprint, .. } => {
                let who = match principals.get(caller) {
                    Some(known) => known.clone(),
                    None => {
                        let found = caller.principal(server, now)?;
                        principals.insert(caller, found.clone());
                        found
                    }
                };
                let on = Conns { desk: tx, server, memo: &memo, policy };
                run_command(on, &mut kept, tip, who, (request, fingerprint), now).map(Answer::Reply)
            }
            Job::Sweep { .. } => holds::expire_due(tx, tip, now).map(Answer::Swept),
            Job::Run { work, .. } => {
                // The work may have lent or returned a desk: later commands read it again.
                memo.forget_events();
                Ok(run_work(tx, server, tip, work, now))
            }
        }))
        .unwrap_or_else(|panic| Err(ServerError::Panicked(panic_message(&panic))));
        match answer {
            Ok(answer) => {
                tx.release_command()?;
                answers.push(answer);
            }
            Err(error) => {
                tracing::error!(%error, ?job, "desk command failed");
                tx.undo_command()?;
                tx.release_command()?;
                *tip = before;
                answers.push(Answer::Fault);
            }
        }
    }
    kept.write(tx, now)?;
    Ok((answers, tip.seq != start_seq))
}

/// Before a group's commands run: who sent them (each caller once; one that cannot be read
/// now is read again by its command, which then fails alone) and every answer stored under
/// their keys, in one look-up (one round trip on PostgreSQL instead of one per command).
fn look_up_group<'g>(
    tx: &dyn DeskGroup,
    server: &dyn Db,
    group: &'g [Job],
    now: DateTime<Utc>,
    principals: &mut HashMap<&'g Caller, Option<Principal>>,
    kept: &mut GroupAnswers,
) -> Result<(), ServerError> {
    for job in group {
        if let Job::Command { caller, .. } = job
            && !principals.contains_key(caller)
            && let Ok(found) = caller.principal(server, now)
        {
            principals.insert(caller, found);
        }
    }
    let wanted: Vec<(&str, &str)> = group
        .iter()
        .filter_map(|job| match job {
            Job::Command { caller, request, .. } => {
                let who = principals.get(caller)?.as_ref()?;
                Some((who.device_id.as_str(), request.idempotency_key.as_str()))
            }
            _ => None,
        })
        .collect();
    kept.look_up(tx, &wanted)
}

/// Runs a [`Job::Run`]'s work, undoing its writes if it failed.
fn run_work(
    tx: &dyn DeskGroup,
    server: &dyn Db,
    tip: &mut Tip,
    work: &std::sync::Mutex<Option<Work>>,
    now: DateTime<Utc>,
) -> Answer {
    let before = *tip;
    let taken = work.lock().ok().and_then(|mut w| w.take());
    let Some(work) = taken else { return Answer::Fault };
    let ran = work(tx, server, tip, now);
    if !ran.keep {
        if tx.undo_command().is_err() {
            return Answer::Fault;
        }
        *tip = before;
    }
    Answer::Ran(ran.value)
}

/// Runs `requests` as one group on `conn`, as the writer would, and returns their replies.
#[cfg(test)]
pub(super) fn run_as_one_group(
    desk: &mut DeskDatabase,
    server: &dyn Db,
    policy: &Policy,
    requests: Vec<(String, CommandRequest)>,
) -> Result<Vec<DeskReply>, ServerError> {
    let jobs: Vec<Job> = requests
        .into_iter()
        .map(|(token, request)| Job::Command {
            fingerprint: super::command::fingerprint(&request),
            caller: Caller::Device(token),
            request,
            reply: oneshot::channel().0,
        })
        .collect();
    let mut tip = ledger::tip(desk.db())?;
    let (answers, _) = run_group(desk, server, &mut tip, policy, &jobs, Utc::now())?;
    Ok(answers
        .into_iter()
        .map(|answer| match answer {
            Answer::Reply(reply) => reply,
            _ => DeskReply::internal(),
        })
        .collect())
}

/// The desk's storage (inside the group's transaction), the read-only server database, the
/// group's shared look-ups and the policy.
#[derive(Clone, Copy)]
struct Conns<'a> {
    desk: &'a dyn DeskGroup,
    server: &'a dyn Db,
    memo: &'a GroupMemo,
    policy: &'a Policy,
}

/// Runs one command inside the group's transaction.
fn run_command(
    on: Conns<'_>,
    kept: &mut GroupAnswers,
    tip: &mut Tip,
    who: Option<Principal>,
    (request, fingerprint): (&CommandRequest, &[u8; 32]),
    now: DateTime<Utc>,
) -> Result<DeskReply, ServerError> {
    let who = match admit(on, kept, who, request, fingerprint)? {
        Gate::Run(who) => who,
        Gate::Answered(reply) => return Ok(reply),
    };
    let Some(event) = on.memo.event(on.desk, &request.event_id)? else {
        return Ok(DeskReply::error(
            ReplyKind::DeskNotOpen,
            "event_not_open",
            "no selection desk is open for this event",
        ));
    };
    // Exactly one place serves an event (ADR 0021). A desk that does not serve it now
    // answers with who does, and keeps no answer under the key: it decided nothing, and the
    // same command may be sent where the event is served.
    if let Some((code, message)) = on.memo.authority(on.desk, &request.event_id, now)?.refusal() {
        return Ok(DeskReply::served_elsewhere(code, &message));
    }
    let answer = carry_out(on, tip, &who, event, request, now)?;
    let outcome = answer.outcome;
    let body = serde_json::to_string(&answer).map_err(|e| ServerError::Corrupt(e.to_string()))?;
    let stored = StoredAnswer { fingerprint: *fingerprint, outcome, body: body.clone() };
    kept.keep(&request.idempotency_key, &who.device_id, stored);
    Ok(DeskReply { kind: ReplyKind::from(outcome), body, replayed: false })
}

/// Whether a command goes on to run, or is answered before it does.
enum Gate {
    /// It runs, sent by this device.
    Run(Principal),
    /// It is answered already: refused at the door, or a retry given its stored answer.
    Answered(DeskReply),
}

/// The checks before a command runs: its token, the sender's right to send it, and a stored
/// answer under its key.
fn admit(
    on: Conns<'_>,
    kept: &GroupAnswers,
    who: Option<Principal>,
    request: &CommandRequest,
    fingerprint: &[u8; 32],
) -> Result<Gate, ServerError> {
    let Some(who) = who else {
        return Ok(Gate::Answered(DeskReply::error(
            ReplyKind::Unauthenticated,
            "unauthorized",
            "a valid device token or console session is required",
        )));
    };
    // Who may send this command is checked before anything else, a stored answer included:
    // a device that lost its role or grant gets no answer, stored or fresh.
    if let Err(message) = authorize(on.memo, on.server, &who, &request.event_id, &request.command)?
    {
        return Ok(Gate::Answered(DeskReply::error(
            ReplyKind::NotPermitted,
            "forbidden",
            &message,
        )));
    }
    let Some(stored) = kept.find(on.desk, &who.device_id, &request.idempotency_key)? else {
        return Ok(Gate::Run(who));
    };
    if stored.fingerprint != *fingerprint {
        return Ok(Gate::Answered(DeskReply::error(
            ReplyKind::KeyReused,
            "idempotency_key_reused",
            "this idempotency key was used for a different request",
        )));
    }
    let kind = ReplyKind::from(stored.outcome);
    Ok(Gate::Answered(DeskReply { kind, body: stored.body, replayed: true }))
}

/// Carries the command out on `event`'s desk and returns its answer: accepted, or refused
/// with everything it wrote undone. A fault is an error (the group rolls the command back).
fn carry_out(
    on: Conns<'_>,
    tip: &mut Tip,
    who: &Principal,
    event: DeskEvent,
    request: &CommandRequest,
    now: DateTime<Utc>,
) -> Result<CommandAnswer, ServerError> {
    let before = *tip;
    let mut ctx = Ctx {
        db: on.desk,
        tip,
        who,
        key: &request.idempotency_key,
        now,
        policy: on.policy,
        event,
        last_seq: None,
    };
    let ran = dispatch(&mut ctx, &request.command);
    if !matches!(request.command, DeskCommand::Hold { .. } | DeskCommand::Release { .. }) {
        // Queue, mode and voucher commands write the event row; holds and releases never do.
        on.memo.forget_events();
    }
    let last_seq = ctx.last_seq;
    match ran {
        Ok(result) => Ok(answer(request, Outcome::Accepted, result, None, last_seq, now)),
        Err(Stop::Refused(refusal)) => {
            // A refusal changes nothing: undo what the command wrote, keep its answer.
            on.desk.undo_command()?;
            *tip = before;
            let nothing = serde_json::Value::Null;
            Ok(answer(request, Outcome::Rejected, nothing, Some(refusal), None, now))
        }
        Err(Stop::Failed(error)) => {
            on.desk.undo_command()?;
            *tip = before;
            Err(error)
        }
    }
}

fn answer(
    request: &CommandRequest,
    outcome: Outcome,
    result: serde_json::Value,
    refusal: Option<Refusal>,
    ledger_seq: Option<i64>,
    now: DateTime<Utc>,
) -> CommandAnswer {
    CommandAnswer {
        idempotency_key: request.idempotency_key.clone(),
        command: request.command.name().to_owned(),
        outcome,
        result,
        refusal,
        ledger_seq,
        answered_at: instant(now),
    }
}

fn dispatch(ctx: &mut Ctx<'_>, command: &DeskCommand) -> Result<serde_json::Value, Stop> {
    match command {
        DeskCommand::Hold { unit_id, buyer_id } => holds::hold(ctx, unit_id, buyer_id),
        DeskCommand::Release { unit_id, hold_id, reason } => {
            holds::release(ctx, unit_id, hold_id, reason)
        }
        DeskCommand::CallNext { now_serving } => queue::call_next(ctx, *now_serving),
        DeskCommand::Skip { lottery_no } => queue::skip(ctx, *lottery_no),
        DeskCommand::Recall { lottery_no } => queue::recall(ctx, *lottery_no),
        DeskCommand::SetMode { mode } => queue::set_mode(ctx, *mode),
        DeskCommand::CheckIdentity { buyer_id, id_number } => {
            queue::check_identity(ctx, buyer_id, id_number)
        }
        DeskCommand::ImportBuyers { csv } => queue::import_buyers(ctx, csv),
        DeskCommand::ImportLottery { csv } => queue::import_lottery(ctx, csv),
        DeskCommand::ApprovePrice { unit_id, unit_price, approvers, price_seen } => {
            sales::approve_price(ctx, unit_id, *unit_price, approvers, *price_seen)
        }
        DeskCommand::PrepareWorkTicket {
            unit_id,
            hold_id,
            payment_ratio_pct,
            discounts,
            sealing_fee,
        } => sales::prepare_work_ticket(
            ctx,
            unit_id,
            hold_id,
            *payment_ratio_pct,
            discounts,
            *sealing_fee,
        ),
        DeskCommand::ReviewWorkTicket { ticket_id } => sales::review_work_ticket(ctx, ticket_id),
        DeskCommand::RecordReceipt { ticket_id, amount, method } => {
            sales::record_receipt(ctx, ticket_id, *amount, method)
        }
        DeskCommand::IssueVoucher { ticket_id } => sales::issue_voucher(ctx, ticket_id),
        DeskCommand::CancelSale { voucher_no, reason } => {
            sales::cancel_sale(ctx, *voucher_no, reason)
        }
        DeskCommand::SwapUnit { voucher_no, new_unit_id, reason } => {
            sales::swap_unit(ctx, *voucher_no, new_unit_id, reason)
        }
    }
}

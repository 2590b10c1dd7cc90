//! Queuing desk commands on the tablet and sending them until they are answered.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::command::{CommandAnswer, CommandRequest, DeskCommand, Outcome};
use crate::replica::{Exclusive, LendReplica, OutboxEntry, OutboxStatus, Replica, ReplicaError};
use crate::sync_client::transport::{DEVICE_IN_USE, TransportError};

/// How a desk command reaches the server: `POST /api/v1/desk/commands` over HTTP by default.
pub trait DeskTransport {
    /// Sends one JSON [`CommandRequest`] and returns the JSON [`CommandAnswer`]: the desk
    /// answers both accepted (200) and refused (409) commands with one, and both are final.
    /// Anything else is an error.
    fn send_command(&self, request: &[u8]) -> Result<Vec<u8>, TransportError>;
}

impl<T: DeskTransport + ?Sized> DeskTransport for &T {
    fn send_command(&self, request: &[u8]) -> Result<Vec<u8>, TransportError> {
        (**self).send_command(request)
    }
}

/// Queues `command` for `event_id` under a fresh idempotency key, stored before anything is
/// sent, and returns the entry (pending). Commands that carry ID numbers are refused: they
/// are sent online only, so no number is ever stored on the device.
pub fn queue_command(
    replica: &mut Replica,
    event_id: &str,
    command: &DeskCommand,
    now: DateTime<Utc>,
) -> Result<OutboxEntry, ReplicaError> {
    if command.carries_id_numbers() {
        return Err(ReplicaError::Rule(format!(
            "{} carries ID numbers and is sent online only, never queued on a device",
            command.name()
        )));
    }
    let key = new_idempotency_key();
    let payload = json!({ "event_id": event_id, "command": command });
    replica.outbox_enqueue(&key, command.name(), &payload, now)
}

/// A new idempotency key: a UUIDv7, which starts with its creation time. The desk stores every
/// answer under its key; keys made at the venue arrive roughly in time order, so each new key
/// lands at the end of the desk's key index instead of on a random page of it.
pub fn new_idempotency_key() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Sends a command straight to the desk and returns its answer, without the outbox: for
/// commands that carry ID numbers (an identity check at the desk, list imports), which must
/// not be stored on the device, and which a person retries by hand if the network fails.
pub fn send_online(
    transport: &dyn DeskTransport,
    event_id: &str,
    command: &DeskCommand,
) -> Result<CommandAnswer, TransportError> {
    let request = CommandRequest {
        idempotency_key: new_idempotency_key(),
        event_id: event_id.to_owned(),
        command: command.clone(),
    };
    let body = serde_json::to_vec(&request).map_err(|e| TransportError::Network(e.to_string()))?;
    let answer = transport.send_command(&body)?;
    serde_json::from_slice(&answer)
        .map_err(|e| TransportError::Network(format!("unreadable answer: {e}")))
}

/// What one [`send_pending`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SendReport {
    /// Commands answered "accepted" by this call.
    pub accepted: u32,
    /// Commands answered "rejected" by this call (kept with their reason).
    pub rejected: u32,
    /// Commands still waiting for an answer.
    pub still_pending: u32,
    /// Why sending stopped early, if it did (no network, server busy, token revoked). The
    /// commands not answered stay pending and are sent again, under the same keys, next time.
    pub stopped_by: Option<TransportError>,
    /// The events whose commands this call answered, each once, in the order first answered
    /// (for change notices: their control tables changed).
    pub answered_events: Vec<String>,
}

/// Sends every pending command, oldest first, and records each answer.
///
/// Each attempt is recorded before the request leaves, so a crash mid-send is followed by a
/// retry under the same key, which the desk answers from its stored answer: no command is
/// ever applied twice. A network failure or a busy server stops the run (what follows would
/// fail the same way); the rest stay pending.
///
/// The replica is borrowed per step (read the pending entries, record an attempt, record an
/// answer) and never while a request is on the network, so screens keep reading and editing
/// meanwhile; each answer is in the replica, and on the control table, as soon as it arrives.
pub fn send_pending(
    replica: &impl LendReplica,
    transport: &dyn DeskTransport,
    now: DateTime<Utc>,
) -> Result<SendReport, ReplicaError> {
    let mut report = SendReport::default();
    let pending = replica.with_replica(|r| r.outbox_with_status(OutboxStatus::Pending))?;
    let total = pending.len();
    for (i, entry) in pending.into_iter().enumerate() {
        let answer = match request_of(&entry) {
            Ok(request) => {
                replica.with_replica(|r| r.outbox_record_attempt(&entry.key, now))?;
                match send_one(&entry, &request, transport, now)? {
                    Sent::Answered(answer) => answer,
                    Sent::Stopped(error) => {
                        report.still_pending = u32::try_from(total - i).unwrap_or(u32::MAX);
                        report.stopped_by = Some(error);
                        return Ok(report);
                    }
                }
            }
            // A payload this build cannot read was written by a broken build; it is answered
            // locally so it neither blocks the queue nor disappears.
            Err(reason) => Answered {
                accepted: false,
                answer: local_refusal(
                    &entry.key,
                    &entry.command,
                    "unreadable_command",
                    &reason,
                    now,
                ),
            },
        };
        replica.with_replica(|r| {
            r.outbox_record_answer(&entry.key, answer.accepted, &answer.answer, now)
        })?;
        if let Some(event) = entry.payload["event_id"].as_str()
            && !report.answered_events.iter().any(|e| e == event)
        {
            report.answered_events.push(event.to_owned());
        }
        if answer.accepted {
            report.accepted += 1;
        } else {
            report.rejected += 1;
        }
    }
    Ok(report)
}

/// [`send_pending`] for a caller that has the replica to itself (tests, a single-threaded
/// tool): it is lent through [`Exclusive`] for the call.
pub fn send_pending_exclusive(
    replica: &mut Replica,
    transport: &dyn DeskTransport,
    now: DateTime<Utc>,
) -> Result<SendReport, ReplicaError> {
    send_pending(&Exclusive::new(replica), transport, now)
}

/// An answer to record for one command.
struct Answered {
    accepted: bool,
    answer: serde_json::Value,
}

/// What sending one command came to.
enum Sent {
    /// A final answer, the desk's or a local refusal of a request the desk refused.
    Answered(Answered),
    /// Nothing was decided; sending stops and the command stays pending.
    Stopped(TransportError),
}

/// Sends one command, holding nothing of the replica.
fn send_one(
    entry: &OutboxEntry,
    request: &CommandRequest,
    transport: &dyn DeskTransport,
    now: DateTime<Utc>,
) -> Result<Sent, ReplicaError> {
    let body = serde_json::to_vec(request)?;
    let refused = |code: &str, message: &str| {
        let answer = local_refusal(&entry.key, &entry.command, code, message, now);
        Sent::Answered(Answered { accepted: false, answer })
    };
    Ok(match transport.send_command(&body) {
        Ok(bytes) => {
            if let Some(elsewhere) = served_elsewhere(&bytes) {
                // Nothing was decided: the command stays pending under its key, to be sent
                // where the event is served (the venue's network, or central).
                return Ok(Sent::Stopped(elsewhere));
            }
            let answer: CommandAnswer = serde_json::from_slice(&bytes)?;
            let accepted = answer.outcome == Outcome::Accepted;
            Sent::Answered(Answered { accepted, answer: serde_json::to_value(&answer)? })
        }
        // The desk refused the request itself (a reused key, a field it cannot take, or a
        // role that may not do this): sending it again cannot help, so a person sees it.
        // A token bound to another installation (ADR 0022) is no such refusal: the desk never
        // looked at the command, which stays pending (the last arm).
        Err(TransportError::Rejected { code, message, .. }) if code != DEVICE_IN_USE => {
            refused(&code, &message)
        }
        Err(TransportError::Forbidden(message)) => refused("forbidden", &message),
        Err(error) => Sent::Stopped(error),
    })
}

/// The codes of a desk that does not serve the event now (ADR 0021): central while a venue
/// holds it, a venue whose lease ended or that handed it back, a venue restarted from its
/// second copy that has not compared its ledger with central's yet. Such a 409 carries an
/// error envelope, not an answer, and decides nothing.
pub const SERVED_ELSEWHERE: [&str; 4] =
    ["event_delegated", "lease_ended", "event_returned", "venue_recovering"];

/// The error a 409 body stands for when it says the event is served elsewhere.
fn served_elsewhere(bytes: &[u8]) -> Option<TransportError> {
    let body: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let code = body["error"]["code"].as_str()?;
    SERVED_ELSEWHERE.contains(&code).then(|| TransportError::Rejected {
        status: 409,
        code: code.to_owned(),
        message: body["error"]["message"].as_str().unwrap_or_default().to_owned(),
    })
}

/// The request an outbox entry stands for.
fn request_of(entry: &OutboxEntry) -> Result<CommandRequest, String> {
    let event_id = entry.payload["event_id"].as_str().ok_or("no event id")?.to_owned();
    let command: DeskCommand =
        serde_json::from_value(entry.payload["command"].clone()).map_err(|e| e.to_string())?;
    Ok(CommandRequest { idempotency_key: entry.key.clone(), event_id, command })
}

/// An answer recorded on the tablet for a command the desk will never answer normally.
fn local_refusal(
    key: &str,
    command: &str,
    code: &str,
    message: &str,
    now: DateTime<Utc>,
) -> serde_json::Value {
    json!({
        "idempotency_key": key,
        "command": command,
        "outcome": "rejected",
        "refusal": { "code": code, "message": message },
        "answered_at": now.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
    })
}

/// Answered refusals not yet dismissed, oldest first: what the staff must look at.
pub fn rejections(replica: &Replica) -> Result<Vec<OutboxEntry>, ReplicaError> {
    replica.outbox_with_status(OutboxStatus::Rejected)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::cell::RefCell;
    use std::collections::VecDeque;

    use chrono::TimeZone;

    use super::*;
    use crate::demo::{DemoSpec, generate};
    use crate::desk::{TableStatus, control_table};
    use crate::doc::EditMeta;
    use crate::model::{EventId, UnitStatus, UserId};
    use crate::replica::ReplicaOptions;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()
    }

    /// A tablet holding the demo's project and event documents.
    fn tablet() -> (Replica, EventId, Vec<crate::model::UnitId>, Vec<String>) {
        let spec =
            DemoSpec { customers: 1, tickets: 0, units: 6, buyers: 3, ..DemoSpec::standard(1) };
        let data = generate(&spec, now(), &crate::Policy::default());
        let mut replica = Replica::open(":memory:", ReplicaOptions::default()).unwrap();
        let meta = EditMeta::new(&UserId::from("hq"), now(), "demo");
        replica.create_project(&data.project, &meta).unwrap();
        replica.create_event(&data.event, &meta).unwrap();
        let units = data.event.allotted_units.clone();
        let buyers = data.event.buyers.keys().map(|b| b.to_string()).collect();
        (replica, data.event.id.clone(), units, buyers)
    }

    /// A desk that answers from a script and records what it was sent.
    struct ScriptedDesk {
        answers: RefCell<VecDeque<Result<Vec<u8>, TransportError>>>,
        sent: RefCell<Vec<CommandRequest>>,
    }

    impl ScriptedDesk {
        fn new(answers: Vec<Result<Vec<u8>, TransportError>>) -> Self {
            ScriptedDesk { answers: RefCell::new(answers.into()), sent: RefCell::default() }
        }
    }

    impl DeskTransport for ScriptedDesk {
        fn send_command(&self, request: &[u8]) -> Result<Vec<u8>, TransportError> {
            self.sent.borrow_mut().push(serde_json::from_slice(request).unwrap());
            self.answers.borrow_mut().pop_front().unwrap()
        }
    }

    fn answer(outcome: &str) -> Vec<u8> {
        let refusal = (outcome == "rejected")
            .then(|| json!({ "code": "unit_not_available", "message": "房源已被占用 (taken)" }));
        let mut answer = json!({ "idempotency_key": "k", "command": "hold", "outcome": outcome,
                                 "answered_at": "2026-11-23T09:00:00Z" });
        if let Some(r) = refusal {
            answer["refusal"] = r;
        }
        answer.to_string().into_bytes()
    }

    fn hold(unit: &crate::model::UnitId, buyer: &str) -> DeskCommand {
        DeskCommand::Hold { unit_id: unit.to_string(), buyer_id: buyer.to_owned() }
    }

    #[test]
    fn a_queued_hold_is_shown_pending_never_held() {
        let (mut replica, event, units, buyers) = tablet();
        let entry =
            queue_command(&mut replica, event.as_str(), &hold(&units[0], &buyers[0]), now())
                .unwrap();
        assert_eq!(entry.status, OutboxStatus::Pending);
        let table = control_table(&mut replica, &event).unwrap();
        let row = table.iter().find(|r| r.unit_id == units[0]).unwrap();
        assert_eq!(row.shown, TableStatus::HoldPending);
        assert_eq!(row.synced, UnitStatus::Available);
        assert_eq!(row.pending_key.as_deref(), Some(entry.key.as_str()));
        let others = table.iter().filter(|r| r.unit_id != units[0]);
        assert!(others.into_iter().all(|r| r.shown == TableStatus::Synced(UnitStatus::Available)));
    }

    #[test]
    fn commands_with_id_numbers_are_never_queued_on_the_device() {
        let (mut replica, event, _, buyers) = tablet();
        let check = DeskCommand::CheckIdentity {
            buyer_id: buyers[0].clone(),
            id_number: "11010519491231002X".into(),
        };
        assert!(matches!(
            queue_command(&mut replica, event.as_str(), &check, now()),
            Err(ReplicaError::Rule(_))
        ));
        let import = DeskCommand::ImportBuyers { csv: "张三,11010519491231002X".into() };
        assert!(queue_command(&mut replica, event.as_str(), &import, now()).is_err());
        assert!(replica.outbox_with_status(OutboxStatus::Pending).unwrap().is_empty());
    }

    #[test]
    fn a_lost_answer_is_retried_under_the_same_key_until_answered() {
        let (mut replica, event, units, buyers) = tablet();
        let entry =
            queue_command(&mut replica, event.as_str(), &hold(&units[0], &buyers[0]), now())
                .unwrap();
        let lost = ScriptedDesk::new(vec![Err(TransportError::Network("reset".into()))]);
        let report = send_pending_exclusive(&mut replica, &lost, now()).unwrap();
        assert_eq!((report.still_pending, report.accepted), (1, 0));
        assert!(matches!(report.stopped_by, Some(TransportError::Network(_))));
        assert_eq!(replica.outbox_entry(&entry.key).unwrap().unwrap().attempts, 1);

        let desk = ScriptedDesk::new(vec![Ok(answer("accepted"))]);
        let report = send_pending_exclusive(&mut replica, &desk, now()).unwrap();
        assert_eq!(report.accepted, 1);
        assert_eq!(desk.sent.borrow()[0].idempotency_key, entry.key, "the same key again");
        assert_eq!(lost.sent.borrow()[0], desk.sent.borrow()[0], "the same request again");
        let stored = replica.outbox_entry(&entry.key).unwrap().unwrap();
        assert_eq!((stored.status, stored.attempts), (OutboxStatus::Accepted, 2));
        assert_eq!(
            send_pending_exclusive(&mut replica, &ScriptedDesk::new(vec![]), now()).unwrap(),
            SendReport::default()
        );
    }

    #[test]
    fn a_rejection_stays_with_its_reason_until_a_person_dismisses_it() {
        let (mut replica, event, units, buyers) = tablet();
        let entry =
            queue_command(&mut replica, event.as_str(), &hold(&units[1], &buyers[1]), now())
                .unwrap();
        let desk = ScriptedDesk::new(vec![Ok(answer("rejected"))]);
        assert_eq!(send_pending_exclusive(&mut replica, &desk, now()).unwrap().rejected, 1);
        let shown = rejections(&replica).unwrap();
        assert_eq!(shown.len(), 1);
        assert_eq!(shown[0].answer.as_ref().unwrap()["refusal"]["code"], "unit_not_available");
        let row = control_table(&mut replica, &event)
            .unwrap()
            .into_iter()
            .find(|r| r.unit_id == units[1])
            .unwrap();
        assert_eq!(
            row.shown,
            TableStatus::Synced(UnitStatus::Available),
            "a refusal is not a hold"
        );
        replica.outbox_dismiss(&entry.key, now()).unwrap();
        assert!(rejections(&replica).unwrap().is_empty());
    }

    #[test]
    fn a_desk_that_serves_the_event_elsewhere_decides_nothing_and_the_command_stays_pending() {
        let (mut replica, event, units, buyers) = tablet();
        let first =
            queue_command(&mut replica, event.as_str(), &hold(&units[0], &buyers[0]), now())
                .unwrap();
        queue_command(&mut replica, event.as_str(), &hold(&units[1], &buyers[1]), now()).unwrap();
        for code in SERVED_ELSEWHERE {
            let envelope = json!({ "error": { "code": code, "message": "现场服务器 (venue)" } });
            let desk = ScriptedDesk::new(vec![Ok(envelope.to_string().into_bytes())]);
            let report = send_pending_exclusive(&mut replica, &desk, now()).unwrap();
            assert_eq!((report.accepted, report.rejected, report.still_pending), (0, 0, 2));
            assert!(
                matches!(&report.stopped_by, Some(TransportError::Rejected { status: 409, code: c, .. }) if c == code),
                "{report:?}"
            );
            assert!(rejections(&replica).unwrap().is_empty(), "{code} is not a refusal");
        }
        let venue = ScriptedDesk::new(vec![Ok(answer("accepted")), Ok(answer("accepted"))]);
        assert_eq!(send_pending_exclusive(&mut replica, &venue, now()).unwrap().accepted, 2);
        assert_eq!(venue.sent.borrow()[0].idempotency_key, first.key, "the same key, elsewhere");
    }

    #[test]
    fn a_token_bound_to_another_installation_decides_nothing_and_the_command_stays_pending() {
        let (mut replica, event, units, buyers) = tablet();
        queue_command(&mut replica, event.as_str(), &hold(&units[0], &buyers[0]), now()).unwrap();
        let in_use = TransportError::Rejected {
            status: 409,
            code: crate::sync_client::transport::DEVICE_IN_USE.to_owned(),
            message: "此设备令牌已绑定到另一台设备上的安装".to_owned(),
        };
        let desk = ScriptedDesk::new(vec![Err(in_use.clone())]);
        let report = send_pending_exclusive(&mut replica, &desk, now()).unwrap();
        assert_eq!((report.rejected, report.still_pending), (0, 1));
        assert_eq!(report.stopped_by, Some(in_use));
        assert!(rejections(&replica).unwrap().is_empty(), "not the desk's refusal");
    }

    #[test]
    fn a_revoked_token_stops_sending_and_a_refused_request_is_shown_not_retried() {
        let (mut replica, event, units, buyers) = tablet();
        queue_command(&mut replica, event.as_str(), &hold(&units[0], &buyers[0]), now()).unwrap();
        queue_command(&mut replica, event.as_str(), &hold(&units[1], &buyers[1]), now()).unwrap();
        let revoked = ScriptedDesk::new(vec![Err(TransportError::Unauthorized)]);
        let report = send_pending_exclusive(&mut replica, &revoked, now()).unwrap();
        assert_eq!(
            (report.still_pending, report.stopped_by),
            (2, Some(TransportError::Unauthorized))
        );
        let refused = TransportError::Rejected {
            status: 422,
            code: "idempotency_key_reused".into(),
            message: "reused".into(),
        };
        let desk = ScriptedDesk::new(vec![Err(refused), Ok(answer("accepted"))]);
        let report = send_pending_exclusive(&mut replica, &desk, now()).unwrap();
        assert_eq!((report.rejected, report.accepted, report.still_pending), (1, 1, 0));
        assert_eq!(
            rejections(&replica).unwrap()[0].answer.as_ref().unwrap()["refusal"]["code"],
            "idempotency_key_reused"
        );
    }

    /// A desk that checks, on every request, that the replica is free for others meanwhile.
    struct LockCheckingDesk<'a> {
        replica: &'a std::sync::Mutex<Replica>,
        free_while_sending: RefCell<Vec<bool>>,
    }

    impl DeskTransport for LockCheckingDesk<'_> {
        fn send_command(&self, _: &[u8]) -> Result<Vec<u8>, TransportError> {
            let free = self.replica.try_lock().is_ok();
            self.free_while_sending.borrow_mut().push(free);
            Ok(answer("accepted"))
        }
    }

    #[test]
    fn the_replica_is_not_held_while_a_command_is_on_the_network() {
        let (mut replica, event, units, buyers) = tablet();
        for (unit, buyer) in units.iter().zip(&buyers).take(2) {
            queue_command(&mut replica, event.as_str(), &hold(unit, buyer), now()).unwrap();
        }
        let shared = std::sync::Mutex::new(replica);
        let desk = LockCheckingDesk { replica: &shared, free_while_sending: RefCell::default() };
        let report = send_pending(&shared, &desk, now()).unwrap();
        assert_eq!(report.accepted, 2);
        assert_eq!(*desk.free_while_sending.borrow(), [true, true]);
        let replica = shared.into_inner().unwrap();
        assert!(replica.outbox_with_status(OutboxStatus::Pending).unwrap().is_empty());
    }

    #[test]
    fn an_accepted_hold_shows_held_on_the_table_before_any_sync() {
        let (mut replica, event, units, buyers) = tablet();
        queue_command(&mut replica, event.as_str(), &hold(&units[0], &buyers[0]), now()).unwrap();
        // `control_table` reads the clock: the desk's expiry is a quarter of an hour from now.
        let expires = Utc::now() + chrono::Duration::minutes(15);
        let granted = json!({ "idempotency_key": "k", "command": "hold", "outcome": "accepted",
            "result": { "unit_id": units[0], "buyer_id": buyers[0], "hold_id": "hold-1",
                        "expires_at": expires.to_rfc3339(), "status": "held" },
            "ledger_seq": 3, "answered_at": "2026-11-23T09:00:00Z" });
        let desk = ScriptedDesk::new(vec![Ok(granted.to_string().into_bytes())]);
        assert_eq!(send_pending_exclusive(&mut replica, &desk, now()).unwrap().accepted, 1);
        let table = control_table(&mut replica, &event).unwrap();
        let row = table.iter().find(|r| r.unit_id == units[0]).unwrap();
        assert_eq!(row.synced, UnitStatus::Available, "no sync yet");
        assert_eq!(row.shown, TableStatus::HeldHere);
        assert_eq!((row.hold_id.as_deref(), row.hold_expires_at), (Some("hold-1"), Some(expires)));
    }
}

//! The unit control table (销控表) as a tablet shows it: the last synced status of every unit
//! allotted to the event, overlaid with the tablet's own commands — pending ones, and the
//! desk's answers to them — so an answer shows the moment it is recorded, not syncs later.
//!
//! The desk's answer and the mirror (the project document the desk writes its outcomes into)
//! say the same thing at different times. The mirror writes, with each unit's status, the
//! desk hold the status is about ([`Unit::desk_hold`]); hold ids sort in the order the holds
//! were placed. From it the table tells whether the mirror has caught up with an answer, and
//! is composed so that the mirror's arrival changes nothing visible:
//!
//! - an accepted hold shows [`TableStatus::HeldHere`] with the hold id and expiry from its
//!   answer. Before the mirror has caught up (its hold is an earlier one, or none) it shows so
//!   while the synced status is `available` or `held` and the expiry has not passed (compared
//!   with `now`); once the mirror is about this very hold, as long as it says `held` (a sealed
//!   hold outlives its expiry). When the mirror says the hold ended (`available` or `sold`
//!   about this hold), or is about a later hold, the synced status wins;
//! - an accepted release shows [`TableStatus::Released`] while the synced status is `held`
//!   or `available` and the mirror is not about a later hold (before the mirror has caught
//!   up, only until the released hold's own expiry, after which a synced `held` can only be a
//!   newer hold);
//! - a synced status no hold can precede (sold, withdrawn: a hold is placed only on an
//!   available unit) always wins over an answer the mirror has not caught up with;
//! - a pending command shows as pending, never as its hoped-for outcome;
//! - a refused command marks its row with the desk's reason until a person dismisses it or
//!   this tablet sends a newer command on the unit; the status shown is unchanged by it.
//!
//! A document mirrored by a server that does not write `desk_hold` never catches up in this
//! sense: the answer then shows until the hold's expiry, and the synced status after it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::command::{CommandAnswer, HoldGranted, Refusal};
use crate::model::{EventId, Unit, UnitId, UnitStatus};
use crate::replica::{OutboxEntry, OutboxStatus, Replica, ReplicaError};

/// What a tablet shows for one unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TableStatus {
    /// The server's status, as last synced.
    Synced(UnitStatus),
    /// This tablet asked to hold it and has no answer yet: shown as pending, never as held.
    HoldPending,
    /// This tablet asked to release it and has no answer yet.
    ReleasePending,
    /// The desk accepted this tablet's hold: held, with the hold id and expiry of its answer,
    /// whether or not the synced documents show it yet.
    HeldHere,
    /// The desk accepted this tablet's release: available, whether or not the synced
    /// documents show it yet.
    Released,
}

impl TableStatus {
    /// The unit status this stands for; `None` while this tablet's command is pending.
    pub fn status(&self) -> Option<UnitStatus> {
        match self {
            TableStatus::Synced(status) => Some(*status),
            TableStatus::HeldHere => Some(UnitStatus::Held),
            TableStatus::Released => Some(UnitStatus::Available),
            TableStatus::HoldPending | TableStatus::ReleasePending => None,
        }
    }
}

/// One row of the tablet's control table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitOnTable {
    /// The unit.
    pub unit_id: UnitId,
    /// Its code, e.g. "3-1502".
    pub code: String,
    /// The status the server last sent.
    pub synced: UnitStatus,
    /// What to show.
    pub shown: TableStatus,
    /// The key of this tablet's command waiting on the unit, if any.
    pub pending_key: Option<String>,
    /// The hold this tablet placed on the unit, if the desk accepted it and the unit is
    /// shown held: `release` and `prepare_work_ticket` name it, so a command made against
    /// this hold never acts on a later one.
    pub hold_id: Option<String>,
    /// When that hold lapses, as the desk answered (a work ticket's review seals a hold,
    /// which then outlives it).
    pub hold_expires_at: Option<DateTime<Utc>>,
    /// The desk's refusal of this tablet's newest command on the unit, until a person
    /// dismisses it.
    pub refusal: Option<Refusal>,
}

/// The control table of `event_id` on this tablet, ordered by unit code: the replica's
/// allotted units and outbox, composed by [`compose_table`].
pub fn control_table(
    replica: &mut Replica,
    event_id: &EventId,
) -> Result<Vec<UnitOnTable>, ReplicaError> {
    let event = replica.event(event_id)?;
    let units = replica.project_units(&event.project_id, &event.allotted_units)?;
    let mut outbox = Vec::new();
    for status in [OutboxStatus::Pending, OutboxStatus::Accepted, OutboxStatus::Rejected] {
        outbox.extend(replica.outbox_with_status(status)?);
    }
    let units = units.into_iter().filter_map(|(id, unit)| unit.map(|u| (id, u))).collect();
    Ok(compose_table(event_id, units, &outbox, Utc::now()))
}

/// Composes the control table of `event_id`, ordered by unit code, from plain data: the
/// allotted units as last synced, this tablet's outbox entries (any statuses, any events:
/// dismissed entries and other events' are left out here) and the time `now`. What each row
/// shows is described in the [module docs](self). Pure: the same data give the same table.
pub fn compose_table(
    event_id: &EventId,
    units: Vec<(UnitId, Unit)>,
    outbox: &[OutboxEntry],
    now: DateTime<Utc>,
) -> Vec<UnitOnTable> {
    let mut mine: Vec<&OutboxEntry> = outbox
        .iter()
        .filter(|e| e.status != OutboxStatus::Dismissed)
        .filter(|e| e.payload["event_id"] == event_id.as_str())
        .collect();
    // Keys are UUIDv7: after the queuing time they order commands queued in one instant.
    mine.sort_by(|a, b| (a.created_at, &a.key).cmp(&(b.created_at, &b.key)));
    let granted: Vec<HoldGranted> = mine
        .iter()
        .filter(|e| e.status == OutboxStatus::Accepted)
        .filter_map(|e| answer_of(e)?.hold_granted())
        .collect();
    let mut rows: Vec<UnitOnTable> = units
        .into_iter()
        .map(|(unit_id, unit)| {
            let on_unit: Vec<&OutboxEntry> =
                mine.iter().copied().filter(|e| names_unit(e, &unit_id)).collect();
            compose_row(unit_id, unit, &on_unit, &granted, now)
        })
        .collect();
    rows.sort_by(|a, b| a.code.cmp(&b.code));
    rows
}

/// One row from the unit's synced state and this tablet's commands on it, oldest first.
fn compose_row(
    unit_id: UnitId,
    unit: Unit,
    on_unit: &[&OutboxEntry],
    granted: &[HoldGranted],
    now: DateTime<Utc>,
) -> UnitOnTable {
    let synced = unit.status;
    // The newest hold or release this tablet has not been refused decides what is shown.
    let decider = on_unit.iter().rev().find(|e| {
        matches!(e.status, OutboxStatus::Pending | OutboxStatus::Accepted)
            && matches!(e.command.as_str(), "hold" | "release")
    });
    let mut row = UnitOnTable {
        unit_id,
        code: unit.code,
        synced,
        shown: TableStatus::Synced(synced),
        pending_key: None,
        hold_id: None,
        hold_expires_at: None,
        refusal: None,
    };
    match decider.map(|e| (e.status, e.command.as_str(), *e)) {
        Some((OutboxStatus::Pending, command, entry)) => {
            row.shown = if command == "hold" {
                TableStatus::HoldPending
            } else {
                TableStatus::ReleasePending
            };
            row.pending_key = Some(entry.key.clone());
        }
        Some((_, "hold", entry)) => {
            if let Some(hold) = answer_of(entry).and_then(|a| a.hold_granted())
                && hold_shown(&hold, unit.desk_hold.as_deref(), synced, now)
            {
                row.shown = TableStatus::HeldHere;
                (row.hold_id, row.hold_expires_at) = (Some(hold.hold_id), Some(hold.expires_at));
            }
        }
        Some((_, _, release))
            if release_shown(release, granted, unit.desk_hold.as_deref(), synced, now) =>
        {
            row.shown = TableStatus::Released;
        }
        Some(_) | None => {}
    }
    if row.shown != TableStatus::Released && row.hold_id.is_none() && synced == UnitStatus::Held {
        // Held as synced: the hold this tablet may act on, if it placed it.
        if let Some(hold) = own_hold(on_unit, unit.desk_hold.as_deref()) {
            (row.hold_id, row.hold_expires_at) = (Some(hold.hold_id), Some(hold.expires_at));
        }
    }
    row.refusal = on_unit
        .last()
        .filter(|e| e.status == OutboxStatus::Rejected)
        .and_then(|e| answer_of(e)?.refusal);
    row
}

/// A hold is placed only on an available unit: `available` and `held` are the synced statuses
/// an answer can be ahead of; any other comes after it.
fn answer_can_be_ahead(synced: UnitStatus) -> bool {
    matches!(synced, UnitStatus::Available | UnitStatus::Held)
}

/// Whether this tablet's accepted `hold` shows as [`TableStatus::HeldHere`].
fn hold_shown(
    hold: &HoldGranted,
    desk_hold: Option<&str>,
    synced: UnitStatus,
    now: DateTime<Utc>,
) -> bool {
    match mirrored(desk_hold, &hold.hold_id) {
        Mirror::Before => answer_can_be_ahead(synced) && now < hold.expires_at,
        // The desk still holds it (a sealed hold outlives its expiry), or has ended it.
        Mirror::Exactly => synced == UnitStatus::Held,
        Mirror::Past => false,
    }
}

/// Whether this tablet's accepted `release` shows as [`TableStatus::Released`]. Before the
/// mirror has caught up, only until the released hold would have lapsed anyway (its expiry
/// in this tablet's answer), after which a synced hold can only be a newer one.
fn release_shown(
    release: &OutboxEntry,
    granted: &[HoldGranted],
    desk_hold: Option<&str>,
    synced: UnitStatus,
    now: DateTime<Utc>,
) -> bool {
    let released = release.payload["command"]["hold_id"].as_str().unwrap_or_default();
    match mirrored(desk_hold, released) {
        Mirror::Before => {
            let until = granted.iter().find(|g| g.hold_id == released);
            answer_can_be_ahead(synced) && until.is_some_and(|g| now < g.expires_at)
        }
        Mirror::Exactly => answer_can_be_ahead(synced),
        Mirror::Past => false,
    }
}

/// The hold this tablet may act on while the unit is held as synced: the one the mirror says
/// the status is about, if this tablet won it; with a mirror that does not say
/// (`desk_hold` absent), the newest it won and did not release (a release against a hold
/// that is no longer there is refused, never misapplied).
fn own_hold(on_unit: &[&OutboxEntry], desk_hold: Option<&str>) -> Option<HoldGranted> {
    let accepted = on_unit.iter().filter(|e| e.status == OutboxStatus::Accepted);
    let released: Vec<&str> = accepted
        .clone()
        .filter(|e| e.command == "release")
        .filter_map(|e| e.payload["command"]["hold_id"].as_str())
        .collect();
    accepted
        .rev()
        .filter_map(|e| answer_of(e)?.hold_granted())
        .filter(|hold| desk_hold.is_none_or(|d| d == hold.hold_id))
        .find(|hold| !released.contains(&hold.hold_id.as_str()))
}

/// How far the mirror has come, for one hold this tablet has an answer about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mirror {
    /// The synced status is about an earlier hold, or the mirror does not say: the answer is
    /// ahead of it.
    Before,
    /// The synced status is about this hold.
    Exactly,
    /// The synced status is about a later hold: this one has ended.
    Past,
}

/// Where the mirror is, from the hold it says the synced status is about (`desk_hold`)
/// and the hold of an answer. The desk's hold ids are `hold-` and a UUIDv7, which begins
/// with the time it was made, so the later hold sorts after the earlier one.
fn mirrored(desk_hold: Option<&str>, hold: &str) -> Mirror {
    match desk_hold {
        Some(mirrored) if mirrored == hold => Mirror::Exactly,
        Some(mirrored) if mirrored > hold => Mirror::Past,
        _ => Mirror::Before,
    }
}

/// Whether an outbox entry's command acts on `unit_id` (a swap names its new unit).
fn names_unit(entry: &OutboxEntry, unit_id: &UnitId) -> bool {
    let command = &entry.payload["command"];
    command["unit_id"] == unit_id.as_str() || command["new_unit_id"] == unit_id.as_str()
}

/// The desk's answer stored with an entry, if it has one this build reads.
fn answer_of(entry: &OutboxEntry) -> Option<CommandAnswer> {
    serde_json::from_value(entry.answer.clone()?).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use chrono::{Duration, TimeZone};
    use rust_decimal::Decimal;
    use serde_json::json;

    use super::*;
    use crate::model::BuildingId;

    const EVENT: &str = "ev-1";
    /// Hold ids as the desk makes them: `hold-` and a UUIDv7, ordered by creation time.
    const EARLIER: &str = "hold-019a0000000070008000000000000001";
    const HOLD: &str = "hold-019a0000000170008000000000000001";
    const LATER: &str = "hold-019a0000000270008000000000000001";

    fn t(minutes: i64) -> DateTime<Utc> {
        let start = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
        start.checked_add_signed(Duration::minutes(minutes)).unwrap()
    }

    fn unit(id: &str, status: UnitStatus) -> (UnitId, Unit) {
        unit_about(id, status, None)
    }

    /// A unit whose mirrored status is about `desk_hold`.
    fn unit_about(id: &str, status: UnitStatus, desk_hold: Option<&str>) -> (UnitId, Unit) {
        let unit = Unit {
            id: UnitId::from(id),
            code: format!("3-{id}"),
            building_id: BuildingId::from("b3"),
            floor: 15,
            layout: "3室2厅2卫".into(),
            area_m2: Decimal::new(8900, 2),
            unit_price: None,
            approval: None,
            status,
            desk_hold: desk_hold.map(str::to_owned),
        };
        (UnitId::from(id), unit)
    }

    /// An outbox entry queued at minute `at` (its key orders it within the minute).
    fn entry(key: &str, at: i64, command: serde_json::Value, status: OutboxStatus) -> OutboxEntry {
        let name = command["kind"].as_str().unwrap().to_owned();
        OutboxEntry {
            key: key.into(),
            command: name,
            payload: json!({ "event_id": EVENT, "command": command }),
            status,
            created_at: t(at),
            attempts: u32::from(status != OutboxStatus::Pending),
            last_attempt_at: None,
            answer: None,
            answered_at: None,
        }
    }

    fn hold(key: &str, at: i64, unit: &str) -> OutboxEntry {
        let command = json!({ "kind": "hold", "unit_id": unit, "buyer_id": "b1" });
        entry(key, at, command, OutboxStatus::Pending)
    }

    fn release(key: &str, at: i64, unit: &str, hold_id: &str) -> OutboxEntry {
        let command =
            json!({ "kind": "release", "unit_id": unit, "hold_id": hold_id, "reason": "改主意" });
        entry(key, at, command, OutboxStatus::Pending)
    }

    /// `e` answered accepted with `result`, as `send_pending` records it.
    fn accepted(mut e: OutboxEntry, result: serde_json::Value) -> OutboxEntry {
        e.status = OutboxStatus::Accepted;
        e.answer = Some(json!({ "idempotency_key": e.key, "command": e.command,
            "outcome": "accepted", "result": result, "ledger_seq": 7,
            "answered_at": "2026-11-23T09:00:01Z" }));
        e
    }

    /// A hold accepted with `HOLD`, lapsing at minute `expires`.
    fn held(key: &str, at: i64, unit: &str, expires: i64) -> OutboxEntry {
        let expires_at = t(expires).to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        accepted(
            hold(key, at, unit),
            json!({ "unit_id": unit, "buyer_id": "b1", "hold_id": HOLD,
                    "expires_at": expires_at, "status": "held" }),
        )
    }

    fn refused(mut e: OutboxEntry, code: &str) -> OutboxEntry {
        e.status = OutboxStatus::Rejected;
        e.answer = Some(json!({ "idempotency_key": e.key, "command": e.command,
            "outcome": "rejected", "refusal": { "code": code, "message": "房源已被占用 (taken)" },
            "answered_at": "2026-11-23T09:00:01Z" }));
        e
    }

    fn row(synced: UnitStatus, outbox: &[OutboxEntry], now: DateTime<Utc>) -> UnitOnTable {
        row_about(synced, None, outbox, now)
    }

    /// The row of unit u1, synced as `synced` about the hold `desk_hold`.
    fn row_about(
        synced: UnitStatus,
        desk_hold: Option<&str>,
        outbox: &[OutboxEntry],
        now: DateTime<Utc>,
    ) -> UnitOnTable {
        let units = vec![unit_about("u1", synced, desk_hold)];
        let table = compose_table(&EventId::from(EVENT), units, outbox, now);
        assert_eq!(table.len(), 1);
        table.into_iter().next().unwrap()
    }

    /// Shown status, pending key, hold id, hold expiry, refusal code.
    type Visible<'a> =
        (TableStatus, Option<&'a str>, Option<&'a str>, Option<DateTime<Utc>>, Option<&'a str>);

    /// What a person sees of a row: all but the synced status underneath.
    fn visible(row: &UnitOnTable) -> Visible<'_> {
        (
            row.shown,
            row.pending_key.as_deref(),
            row.hold_id.as_deref(),
            row.hold_expires_at,
            row.refusal.as_ref().map(|r| r.code.as_str()),
        )
    }

    #[test]
    fn an_accepted_hold_shows_held_at_once_and_the_mirror_changes_nothing_visible() {
        let outbox = [held("k1", 0, "u1", 15)];
        let before = row(UnitStatus::Available, &outbox, t(1));
        assert_eq!(before.shown, TableStatus::HeldHere);
        assert_eq!(before.shown.status(), Some(UnitStatus::Held));
        assert_eq!(before.hold_id.as_deref(), Some(HOLD));
        assert_eq!(before.hold_expires_at, Some(t(15)));
        assert_eq!((before.pending_key.as_deref(), before.refusal.as_ref()), (None, None));
        // Any time before the expiry, with the mirror arrived or not (about an earlier hold,
        // or by a server that does not say): the same row.
        for minute in [0, 1, 7, 14] {
            for (synced, about) in [
                (UnitStatus::Available, None),
                (UnitStatus::Available, Some(EARLIER)),
                (UnitStatus::Held, Some(EARLIER)),
                (UnitStatus::Held, Some(HOLD)),
                (UnitStatus::Held, None),
            ] {
                let r = row_about(synced, about, &outbox, t(minute));
                assert_eq!(visible(&r), visible(&before), "minute {minute}, {synced:?} {about:?}");
            }
        }
        // Mirrored as held by this hold, it stays shown past its expiry: a sealed hold.
        let sealed = row_about(UnitStatus::Held, Some(HOLD), &outbox, t(60));
        assert_eq!(visible(&sealed), visible(&before));
    }

    #[test]
    fn the_mirror_ending_the_hold_or_moving_past_it_wins_before_the_expiry() {
        let outbox = [held("k1", 0, "u1", 15)];
        // Released or cancelled elsewhere: mirrored available (or sold) about this hold.
        for ended in [UnitStatus::Available, UnitStatus::Sold] {
            let r = row_about(ended, Some(HOLD), &outbox, t(3));
            assert_eq!(visible(&r), (TableStatus::Synced(ended), None, None, None, None));
        }
        // A later hold (another buyer's) on the unit: shown as synced, not under this id.
        let r = row_about(UnitStatus::Held, Some(LATER), &outbox, t(3));
        assert_eq!(visible(&r), (TableStatus::Synced(UnitStatus::Held), None, None, None, None));
    }

    #[test]
    fn past_its_expiry_a_hold_gives_way_to_the_synced_status() {
        let outbox = [held("k1", 0, "u1", 15)];
        let lapsed = row(UnitStatus::Available, &outbox, t(15));
        assert_eq!(
            visible(&lapsed),
            (TableStatus::Synced(UnitStatus::Available), None, None, None, None)
        );
        // Still held as synced (a sealed hold, or the lapse not mirrored yet): the tablet's
        // hold id stays there to act on.
        let sealed = row(UnitStatus::Held, &outbox, t(20));
        assert_eq!(sealed.shown, TableStatus::Synced(UnitStatus::Held));
        assert_eq!(sealed.hold_id.as_deref(), Some(HOLD));
    }

    #[test]
    fn a_synced_status_a_hold_cannot_precede_wins_over_the_answer() {
        let outbox = [held("k1", 0, "u1", 15)];
        for status in [UnitStatus::Sold, UnitStatus::Withdrawn] {
            let moved_on = row(status, &outbox, t(3));
            assert_eq!(moved_on.shown, TableStatus::Synced(status));
            assert_eq!((moved_on.hold_id, moved_on.hold_expires_at), (None, None));
        }
    }

    #[test]
    fn an_accepted_release_shows_available_at_once_until_the_released_hold_would_lapse() {
        let released = accepted(
            release("k2", 5, "u1", HOLD),
            json!({ "unit_id": "u1", "hold_id": HOLD, "status": "available" }),
        );
        let outbox = [held("k1", 0, "u1", 15), released];
        for synced in [UnitStatus::Held, UnitStatus::Available] {
            let r = row(synced, &outbox, t(6));
            assert_eq!(visible(&r), (TableStatus::Released, None, None, None, None), "{synced:?}");
            assert_eq!(r.shown.status(), Some(UnitStatus::Available));
        }
        // Mirrored: the release, or not yet (still held by the released hold), at any time.
        for synced in [UnitStatus::Held, UnitStatus::Available] {
            let r = row_about(synced, Some(HOLD), &outbox, t(60));
            assert_eq!(visible(&r), (TableStatus::Released, None, None, None, None), "{synced:?}");
        }
        // A later hold mirrored: it shows, and not under the id this tablet released.
        let later = row_about(UnitStatus::Held, Some(LATER), &outbox, t(6));
        assert_eq!(
            visible(&later),
            (TableStatus::Synced(UnitStatus::Held), None, None, None, None)
        );
        // Without a mirror that says, past the old hold's expiry a synced hold can only be a
        // newer one: it shows, and not under the id this tablet released.
        let newer = row(UnitStatus::Held, &outbox, t(16));
        assert_eq!(
            visible(&newer),
            (TableStatus::Synced(UnitStatus::Held), None, None, None, None)
        );
        assert_eq!(
            row(UnitStatus::Sold, &outbox, t(6)).shown,
            TableStatus::Synced(UnitStatus::Sold)
        );
    }

    #[test]
    fn a_pending_command_shows_pending_never_its_hoped_for_outcome() {
        let pending = [hold("k1", 0, "u1")];
        for synced in [UnitStatus::Available, UnitStatus::Held] {
            let r = row(synced, &pending, t(1));
            assert_eq!(visible(&r), (TableStatus::HoldPending, Some("k1"), None, None, None));
            assert_eq!(r.shown.status(), None);
        }
        // A release queued on an accepted hold is pending too, and names the hold it is for.
        let outbox = [held("k1", 0, "u1", 15), release("k2", 2, "u1", HOLD)];
        let r = row(UnitStatus::Held, &outbox, t(3));
        assert_eq!(
            visible(&r),
            (TableStatus::ReleasePending, Some("k2"), Some(HOLD), Some(t(15)), None)
        );
    }

    #[test]
    fn a_refusal_marks_its_row_with_the_reason_until_dismissed_or_superseded() {
        let taken = refused(hold("k1", 0, "u1"), "unit_not_available");
        let r = row(UnitStatus::Available, std::slice::from_ref(&taken), t(1));
        assert_eq!(r.shown, TableStatus::Synced(UnitStatus::Available), "a refusal is not a hold");
        let refusal = r.refusal.unwrap();
        assert_eq!(
            (refusal.code.as_str(), refusal.message.as_str()),
            ("unit_not_available", "房源已被占用 (taken)")
        );

        let mut dismissed = taken.clone();
        dismissed.status = OutboxStatus::Dismissed;
        assert_eq!(row(UnitStatus::Available, &[dismissed], t(1)).refusal, None);

        // A newer command on the unit supersedes the refusal on the row.
        let again = [taken.clone(), hold("k2", 1, "u1")];
        let r = row(UnitStatus::Available, &again, t(2));
        assert_eq!(visible(&r), (TableStatus::HoldPending, Some("k2"), None, None, None));

        // A refused release leaves the accepted hold shown, and says why.
        let stale = refused(release("k3", 3, "u1", HOLD), "receipts_recorded");
        let r = row(UnitStatus::Held, &[held("k1", 0, "u1", 15), stale], t(4));
        assert_eq!(
            visible(&r),
            (TableStatus::HeldHere, None, Some(HOLD), Some(t(15)), Some("receipts_recorded"))
        );
    }

    #[test]
    fn only_this_events_commands_on_the_unit_count_and_rows_are_ordered_by_code() {
        let mut elsewhere = held("k1", 0, "u1", 15);
        elsewhere.payload["event_id"] = json!("ev-2");
        let other_unit = hold("k2", 0, "u2");
        let units = vec![unit("u2", UnitStatus::Available), unit("u1", UnitStatus::Available)];
        let table = compose_table(&EventId::from(EVENT), units, &[elsewhere, other_unit], t(1));
        let shown: Vec<_> = table.iter().map(|r| (r.unit_id.as_str(), r.shown)).collect();
        assert_eq!(
            shown,
            [("u1", TableStatus::Synced(UnitStatus::Available)), ("u2", TableStatus::HoldPending)]
        );
    }

    #[test]
    fn a_hold_answer_without_an_expiry_is_not_shown_held() {
        let old = accepted(hold("k1", 0, "u1"), json!({ "hold_id": HOLD, "status": "held" }));
        let r = row(UnitStatus::Available, &[old], t(1));
        assert_eq!(r.shown, TableStatus::Synced(UnitStatus::Available));
    }
}

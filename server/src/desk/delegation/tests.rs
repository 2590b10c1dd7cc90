//! Delegation through the real writers of two real desks: central (the demo company) and a
//! venue server's fresh store.

use chrono::{Duration, Utc};
use kam_core::Policy;
use kam_core::demo::DemoSpec;
use kam_core::doc::{project_doc_id, read_project};
use kam_core::model::{ProjectId, Role, UnitId, UnitStatus};
use serde_json::{Value, json};

use super::lend::{LendRequest, Lent};
use super::wire::{Ack, Shipment};
use super::{DelegationError, edge, lend};
use crate::data;
use crate::desk::command::CommandRequest;
use crate::desk::{Caller, Desk, ledger};
use crate::store::Store;

const STAFF: &str = "kam_demo_staff-01";
const FINANCE: &str = "kam_demo_finance-01";

struct Site {
    _dir: tempfile::TempDir,
    store: Store,
    desk: Desk,
}

impl Site {
    fn demo() -> Site {
        let dir = tempfile::tempdir().unwrap();
        let mut store = data::open_store(dir.path()).unwrap();
        let spec =
            DemoSpec { customers: 5, tickets: 5, units: 12, buyers: 8, ..DemoSpec::standard(2) };
        data::load_demo(&mut store, &spec, Utc::now()).unwrap();
        let desk = Desk::start(&store.desk_path(), store.path(), Policy::default()).unwrap();
        Site { _dir: dir, store, desk }
    }

    fn empty() -> Site {
        Site::open(tempfile::tempdir().unwrap())
    }

    /// A site on the data directory `dir` (a second copy, for instance).
    fn open(dir: tempfile::TempDir) -> Site {
        let store = data::open_store(dir.path()).unwrap();
        let desk = Desk::start(&store.desk_path(), store.path(), Policy::default()).unwrap();
        Site { _dir: dir, store, desk }
    }

    fn column(&self, sql: &str) -> Vec<String> {
        let conn = self.store.desk_conn();
        let mut stmt = conn.prepare(sql).unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    }

    fn send(&self, rt: &Rt, token: &str, event: &str, command: Value) -> (u16, Value) {
        self.send_keyed(rt, token, &uuid::Uuid::now_v7().to_string(), event, command)
    }

    fn send_keyed(
        &self,
        rt: &Rt,
        token: &str,
        key: &str,
        event: &str,
        command: Value,
    ) -> (u16, Value) {
        let request: CommandRequest = serde_json::from_value(json!({
            "idempotency_key": key, "event_id": event, "command": command,
        }))
        .unwrap();
        let reply = rt.block_on(self.desk.submit(Caller::Device(token.to_owned()), request));
        (reply.status().as_u16(), serde_json::from_str(&reply.body).unwrap())
    }

    fn status(&self, unit: &str) -> String {
        self.store
            .desk_conn()
            .query_row("SELECT status FROM desk_units WHERE unit_id = ?1", [unit], |r| r.get(0))
            .unwrap()
    }
}

type Rt = tokio::runtime::Runtime;

struct World {
    rt: Rt,
    central: Site,
    venue: Site,
    device: String,
    venue_token: String,
    event: String,
    units: Vec<String>,
    buyers: Vec<String>,
    lent: Lent,
}

/// Lends `event` to `device` at central and has a fresh venue store take the offer, as the
/// venue's uplink does.
/// The venue server `venue-1` (role `venue`) with the event's grant and its device `hall-1`,
/// made on central's command line.
fn enrol_venue(
    store: &mut crate::store::Store,
    event: &str,
    project: &str,
    now: chrono::DateTime<Utc>,
) -> crate::auth::Enrolment {
    use crate::admin::{ADMIN_ACTOR, add_user, assign_event, enroll};
    add_user(store, ADMIN_ACTOR, "venue-1", "一号厅", Role::Venue, now).unwrap();
    assign_event(store, ADMIN_ACTOR, event, project, "venue-1", now).unwrap();
    enroll(store, ADMIN_ACTOR, "venue-1", "hall-1", now).unwrap()
}

fn lend_to_fresh_venue(rt: &Rt, central: &Site, event: &str, device: &str) -> (Site, Lent) {
    let request = LendRequest {
        event_id: event.to_owned(),
        venue_device_id: device.to_owned(),
        lease_until: Utc::now() + Duration::hours(12),
        actor: "hq-01".into(),
    };
    let lent = rt
        .block_on(
            central
                .desk
                .run(move |tx, server, tip, now| lend::lend(tx, server, tip, &request, now)),
        )
        .unwrap()
        .unwrap();
    let mut venue = Site::empty();
    let offer = lend::offer(central.store.desk(), central.store.conn(), device, "venue-1")
        .unwrap()
        .unwrap();
    venue.store.transaction(|db| Ok(db.apply_people(&offer.people)?)).unwrap();
    let took =
        rt.block_on(venue.desk.run(move |tx, _, tip, now| edge::accept(tx, tip, &offer, now)));
    assert!(took.unwrap().unwrap(), "the venue takes the desk once");
    (venue, lent)
}

/// Central with a venue device enrolled and the event lent to it; the venue has taken it.
fn world() -> World {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut central = Site::demo();
    let event = central.column("SELECT event_id FROM desk_events").remove(0);
    let project = central.column("SELECT project_id FROM desk_events").remove(0);
    let units = central.column("SELECT unit_id FROM desk_allotments ORDER BY unit_id");
    let buyers = central.column("SELECT buyer_id FROM desk_buyers ORDER BY lottery_no");
    let (status, _) =
        central.send(&rt, STAFF, &event, json!({ "kind": "set_mode", "mode": "free" }));
    assert_eq!(status, 200);
    let now = Utc::now();
    let device = enrol_venue(&mut central.store, &event, &project, now);
    let (venue, lent) = lend_to_fresh_venue(&rt, &central, &event, &device.device_id);
    World {
        rt,
        central,
        venue,
        device: device.device_id,
        venue_token: device.token,
        event,
        units,
        buyers,
        lent,
    }
}

impl World {
    /// Ships the venue's next batch to central and records the answer at the venue.
    fn ship(&self) -> Option<Result<Ack, DelegationError>> {
        let shipment = edge::next_shipment(self.venue.store.desk()).unwrap()?;
        Some(self.deliver(shipment))
    }

    fn deliver(&self, shipment: Shipment) -> Result<Ack, DelegationError> {
        let (device, event) = (self.device.clone(), self.event.clone());
        let ack = self
            .rt
            .block_on(
                self.central
                    .desk
                    .run(move |tx, _, tip, now| lend::receive(tx, tip, &device, &shipment, now)),
            )
            .unwrap()?;
        let copy = ack.clone();
        self.rt
            .block_on(
                self.venue
                    .desk
                    .run(move |tx, _, _, now| edge::acknowledged(tx, &event, &copy, now)),
            )
            .unwrap()
            .unwrap();
        Ok(ack)
    }

    fn hold(&self, site: &Site, i: usize) -> (u16, Value) {
        let command =
            json!({ "kind": "hold", "unit_id": self.units[i], "buyer_id": self.buyers[i] });
        site.send(&self.rt, STAFF, &self.event, command)
    }
}

#[test]
fn central_refuses_a_lent_event_and_the_venue_serves_it_from_central_s_anchor() {
    let w = world();
    let answers = || -> i64 {
        w.central
            .store
            .desk_conn()
            .query_row("SELECT COUNT(*) FROM desk_requests", [], |r| r.get(0))
            .unwrap()
    };
    let before = answers();
    let (status, answer) = w.hold(&w.central, 0);
    assert_eq!(status, 409, "{answer}");
    assert_eq!(answer["error"]["code"], "event_delegated");
    assert!(answer["error"]["message"].as_str().unwrap().contains("hall-1"), "{answer}");
    assert_eq!(answers(), before, "a desk that does not serve the event keeps no answer");
    let (status, answer) = w.hold(&w.venue, 0);
    assert_eq!(status, 200, "{answer}");
    // The venue's chain continues from central's delegation entry.
    let first: (i64, Vec<u8>) = w
        .venue
        .store
        .desk_conn()
        .query_row("SELECT seq, prev_hash FROM desk_ledger ORDER BY seq LIMIT 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(first.0, w.lent.anchor.seq + 1);
    assert_eq!(hex::encode(first.1), w.lent.anchor.hash);
    assert!(
        ledger::verify(w.venue.store.desk()).unwrap().ok(),
        "the venue's chain verifies from its anchor"
    );
}

#[test]
fn shipped_batches_are_verified_applied_and_idempotent_by_sequence() {
    let w = world();
    for i in 0..4 {
        assert_eq!(w.hold(&w.venue, i).0, 200);
    }
    let batch = edge::next_shipment(w.venue.store.desk()).unwrap().unwrap();
    assert_eq!(batch.entries.len(), 5, "the lease entry and four holds");
    let ack = w.deliver(batch.clone()).unwrap();
    assert_eq!(ack.shipped.seq, batch.venue_tip.seq);
    assert_eq!(w.central.status(&w.units[3]), "held", "central's rows follow the venue's");
    // The mirror writes what the batch names into central's project document.
    let mut w = w;
    crate::desk::mirror::mirror_pending(&mut w.central.store, Utc::now()).unwrap();
    let project = w.central.column("SELECT project_id FROM desk_events").remove(0);
    let doc = w
        .central
        .store
        .document(&project_doc_id(&ProjectId::from(project.as_str())))
        .unwrap()
        .unwrap();
    let mirrored = read_project(doc).unwrap();
    for unit in &w.units[..4] {
        assert_eq!(mirrored.units[&UnitId::from(unit.as_str())].status, UnitStatus::Held, "{unit}");
    }
    // The same batch again: the same answer, nothing stored twice.
    assert_eq!(w.deliver(batch.clone()).unwrap(), ack);
    assert!(w.ship().is_none(), "nothing left to ship");
    // A tampered entry breaks the chain; another generation is stale; another device is
    // not the venue.
    assert_eq!(w.hold(&w.venue, 4).0, 200);
    let mut next = edge::next_shipment(w.venue.store.desk()).unwrap().unwrap();
    let honest = next.clone();
    next.entries[0].entry = next.entries[0].entry.replace(&w.buyers[4], &w.buyers[5]);
    assert!(matches!(w.deliver(next), Err(DelegationError::ChainBreak { .. })));
    let mut stale = honest.clone();
    stale.generation += 2;
    assert!(matches!(w.deliver(stale), Err(DelegationError::StaleGeneration { .. })));
    let (stranger, shipment) = ("someone-else".to_owned(), honest.clone());
    let refused =
        w.rt.block_on(
            w.central
                .desk
                .run(move |tx, _, tip, now| lend::receive(tx, tip, &stranger, &shipment, now)),
        )
        .unwrap();
    assert!(matches!(refused, Err(DelegationError::NotDelegated(_))));
    assert!(w.deliver(honest).is_ok(), "the honest batch still goes through after the refusals");
    assert_eq!(w.central.status(&w.units[4]), "held");
    let checks = lend::verify_segments(w.central.store.desk()).unwrap();
    assert_eq!(checks.len(), 1);
    assert_eq!((checks[0].entries, checks[0].fault.clone()), (6, None));
}

#[test]
fn a_hand_back_returns_every_row_and_central_resumes_at_the_next_generation() {
    let w = world();
    let (_, held) = w.hold(&w.venue, 0);
    let hold_id = held["result"]["hold_id"].as_str().unwrap().to_owned();
    let ticket = w
        .venue
        .send(
            &w.rt,
            STAFF,
            &w.event,
            json!({ "kind": "prepare_work_ticket",
        "unit_id": w.units[0], "hold_id": hold_id, "payment_ratio_pct": "60", "discounts": [],
        "sealing_fee": "20000" }),
        )
        .1["result"]
        .clone();
    let id = ticket["ticket_id"].as_str().unwrap();
    let due = ticket["figures"]["amount_due"].clone();
    for command in [
        json!({ "kind": "review_work_ticket", "ticket_id": id }),
        json!({ "kind": "record_receipt", "ticket_id": id, "amount": due, "method": "transfer" }),
        json!({ "kind": "issue_voucher", "ticket_id": id }),
    ] {
        let (status, answer) = w.venue.send(&w.rt, FINANCE, &w.event, command);
        assert_eq!(status, 200, "{answer}");
    }
    w.rt.block_on(w.venue.desk.run(|tx, _, _, now| edge::hand_back(tx, now))).unwrap().unwrap();
    assert_eq!(w.hold(&w.venue, 1).1["error"]["code"], "event_returned", "the venue stopped");
    let mut acks = Vec::new();
    while let Some(ack) = w.ship() {
        acks.push(ack.unwrap());
    }
    assert!(acks.last().unwrap().returned, "the last batch handed the desk back");
    assert_eq!(w.central.status(&w.units[0]), "sold");
    let books = crate::desk::reconcile::reconcile(w.central.store.desk(), &w.event).unwrap();
    assert!(books.mismatches.is_empty(), "{books:?}");
    assert_eq!(books.vouchers_live, 1);
    assert_eq!(w.hold(&w.central, 1).0, 200, "central serves the event again");
    assert!(ledger::verify(w.central.store.desk()).unwrap().ok());
    let next = w.central.store.desk().delegation(&w.event).unwrap().unwrap();
    assert_eq!(next.state.as_str(), "returned");
}

#[test]
fn the_export_bundle_is_signed_and_central_takes_back_only_after_the_lease() {
    let w = world();
    assert_eq!(w.hold(&w.venue, 0).0, 200);
    let event = w.event.clone();
    let early =
        w.rt.block_on(
            w.central
                .desk
                .run(move |tx, _, tip, now| lend::take_back(tx, tip, &event, "hq-01", now)),
        )
        .unwrap();
    assert!(matches!(early, Err(DelegationError::LeaseNotEnded(_))));
    let bundle =
        w.rt.block_on(w.venue.desk.run(|tx, _, _, now| edge::export_bundle(tx, now)))
            .unwrap()
            .unwrap();
    assert_eq!(
        w.hold(&w.venue, 1).1["error"]["code"],
        "event_returned",
        "a bundle is the last word"
    );
    let mut forged = bundle.clone();
    forged.shipment.entries.pop();
    let refused =
        w.rt.block_on(
            w.central.desk.run(move |tx, _, tip, now| lend::import_bundle(tx, tip, &forged, now)),
        )
        .unwrap();
    assert!(matches!(refused, Err(DelegationError::BundleSignature)), "{refused:?}");
    let ack =
        w.rt.block_on(
            w.central.desk.run(move |tx, _, tip, now| lend::import_bundle(tx, tip, &bundle, now)),
        )
        .unwrap()
        .unwrap();
    assert!(ack.returned);
    assert_eq!(w.central.status(&w.units[0]), "held", "the venue's hold came home in the bundle");
    assert_eq!(w.hold(&w.central, 1).0, 200);
}

#[test]
fn a_lost_venue_s_desk_is_taken_back_after_its_lease_and_clock_allowance() {
    let w = world();
    let event = w.event.clone();
    let after = w.lent.lease_until.parse::<chrono::DateTime<Utc>>().unwrap()
        + Duration::seconds(lend::CLOCK_SKEW_ALLOWANCE_S + 1);
    let generation =
        w.rt.block_on(
            w.central
                .desk
                .run(move |tx, _, tip, _| lend::take_back(tx, tip, &event, "hq-01", after)),
        )
        .unwrap()
        .unwrap();
    assert_eq!(generation, w.lent.generation + 1);
    assert_eq!(w.hold(&w.central, 0).0, 200, "central serves the event again");
    // The venue's batch of the ended generation is refused: the fence holds.
    assert_eq!(w.hold(&w.venue, 1).0, 200);
    assert!(matches!(w.ship(), Some(Err(DelegationError::NotDelegated(_)))));
}

/// Runs the uplink's recovery until the venue has taken back what central holds; returns the
/// entries taken back.
fn recover(w: &World) -> usize {
    let mut taken = 0;
    loop {
        let tip = ledger::tip(w.venue.store.desk()).unwrap();
        let recovery = lend::recovery(w.central.store.desk(), &w.device, tip.seq).unwrap();
        let empty = recovery.entries.is_empty();
        let done =
            w.rt.block_on(w.venue.desk.run(move |tx, _, tip, _| edge::recover(tx, tip, &recovery)))
                .unwrap()
                .unwrap();
        taken += done;
        if empty {
            return taken;
        }
    }
}

#[test]
fn a_new_store_on_the_venue_s_device_takes_the_desk_back_from_central_before_it_serves() {
    let mut w = world();
    for i in 0..3 {
        assert_eq!(w.hold(&w.venue, i).0, 200);
    }
    while let Some(ack) = w.ship() {
        ack.unwrap();
    }
    // The box is replaced: a fresh store on the same device takes the offer again.
    w.venue = Site::empty();
    let offer = lend::offer(w.central.store.desk(), w.central.store.conn(), &w.device, "venue-1")
        .unwrap()
        .unwrap();
    w.venue.store.transaction(|db| Ok(db.apply_people(&offer.people)?)).unwrap();
    let took =
        w.rt.block_on(w.venue.desk.run(move |tx, _, tip, now| edge::accept(tx, tip, &offer, now)));
    assert!(took.unwrap().unwrap());
    let (status, answer) = w.hold(&w.venue, 3);
    assert_eq!((status, answer["error"]["code"].as_str()), (409, Some("venue_recovering")));
    assert_eq!(recover(&w), 4, "the lease entry and three holds come back");
    assert!(ledger::verify(w.venue.store.desk()).unwrap().ok());
    assert_eq!(w.venue.status(&w.units[2]), "held");
    assert_eq!(w.hold(&w.venue, 3).0, 200, "the new box serves again");
    assert!(w.ship().unwrap().is_ok(), "and continues central's chain");
}

#[test]
fn a_venue_restarted_from_its_second_copy_takes_back_what_it_shipped_before_it_serves() {
    let mut w = world();
    for i in 0..2 {
        assert_eq!(w.hold(&w.venue, i).0, 200);
    }
    let copy = tempfile::tempdir().unwrap();
    let venue_dir = w.venue.store.path().parent().unwrap().to_path_buf();
    crate::db::SecondCopy::copy_now(&venue_dir, copy.path()).unwrap();
    // After the copy: more holds, shipped to central; then the venue's disk dies.
    for i in 2..5 {
        assert_eq!(w.hold(&w.venue, i).0, 200);
    }
    while let Some(ack) = w.ship() {
        ack.unwrap();
    }
    w.venue = Site::open(copy);
    let (status, answer) = w.hold(&w.venue, 5);
    assert_eq!((status, answer["error"]["code"].as_str()), (409, Some("venue_recovering")));
    // The uplink's recovery: what central holds beyond the copy's tip, then the comparison.
    assert_eq!(recover(&w), 3, "the three holds the copy lost come back from central");
    assert_eq!(w.venue.status(&w.units[4]), "held", "the lost hold is back at the venue");
    assert!(ledger::verify(w.venue.store.desk()).unwrap().ok());
    let (status, answer) = w.hold(&w.venue, 4);
    assert_eq!(status, 409, "the unit is held already: {answer}");
    assert_eq!(w.hold(&w.venue, 5).0, 200, "the venue serves again");
    assert!(w.ship().unwrap().is_ok(), "and its next batch continues central's chain");
}

#[test]
fn an_answer_lost_on_one_desk_is_the_same_answer_at_the_other() {
    // Central accepts a hold whose answer the tablet never hears; after the delegation the
    // tablet sends the same key to the venue, which answers it from the lent answers.
    let mut central = Site::demo();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let event = central.column("SELECT event_id FROM desk_events").remove(0);
    let project = central.column("SELECT project_id FROM desk_events").remove(0);
    let units = central.column("SELECT unit_id FROM desk_allotments ORDER BY unit_id");
    let buyers = central.column("SELECT buyer_id FROM desk_buyers ORDER BY lottery_no");
    central.send(&rt, STAFF, &event, json!({ "kind": "set_mode", "mode": "free" }));
    let hold = |i: usize| json!({ "kind": "hold", "unit_id": units[i], "buyer_id": buyers[i] });
    let (status, first) = central.send_keyed(&rt, STAFF, "lost-at-central", &event, hold(0));
    assert_eq!(status, 200, "{first}");
    let now = Utc::now();
    let device = enrol_venue(&mut central.store, &event, &project, now);
    let (venue, _) = lend_to_fresh_venue(&rt, &central, &event, &device.device_id);
    let (status, again) = venue.send_keyed(&rt, STAFF, "lost-at-central", &event, hold(0));
    assert_eq!((status, &again), (200, &first), "the venue answers the key as central did");
    // The venue accepts a hold whose answer is lost; after the hand-back central answers it.
    let (status, at_venue) = venue.send_keyed(&rt, STAFF, "lost-at-venue", &event, hold(1));
    assert_eq!(status, 200, "{at_venue}");
    rt.block_on(venue.desk.run(|tx, _, _, now| edge::hand_back(tx, now))).unwrap().unwrap();
    let event_id = event.clone();
    while let Some(shipment) = edge::next_shipment(venue.store.desk()).unwrap() {
        let device_id = device.device_id.clone();
        let ack = rt
            .block_on(
                central
                    .desk
                    .run(move |tx, _, tip, now| lend::receive(tx, tip, &device_id, &shipment, now)),
            )
            .unwrap()
            .unwrap();
        let event = event_id.clone();
        rt.block_on(venue.desk.run(move |tx, _, _, now| edge::acknowledged(tx, &event, &ack, now)))
            .unwrap()
            .unwrap();
    }
    let (status, home) = central.send_keyed(&rt, STAFF, "lost-at-venue", &event, hold(1));
    assert_eq!((status, &home), (200, &at_venue), "central answers the key as the venue did");
    assert_eq!(central.status(&units[1]), "held", "and holds the unit once");
    // Lent again, to a fresh venue store: what the first venue accepted is answered the same.
    let (second, _) = lend_to_fresh_venue(&rt, &central, &event, &device.device_id);
    let (status, again) = second.send_keyed(&rt, STAFF, "lost-at-venue", &event, hold(1));
    assert_eq!((status, &again), (200, &at_venue), "the second venue answers as the first did");
}

/// The venue's document relay against central's real sync round, as the uplink runs it:
/// until both sides are quiet (at most `rounds`). Returns the rounds it took.
fn relay(w: &mut World, rounds: u32) -> u32 {
    use crate::sync::upstream::{self, RelaySession};
    let who = crate::auth::authenticate(w.central.store.conn(), &w.venue_token).unwrap().unwrap();
    assert_eq!(who.role, Role::Venue);
    let mut session = RelaySession::default();
    for round in 1..=rounds {
        let request = upstream::next_request(&mut w.venue.store, &mut session).unwrap();
        let answer =
            crate::sync::sync_round(&mut w.central.store, &who, &request.request, Utc::now())
                .unwrap()
                .response;
        let relayed =
            upstream::apply_answer(&mut w.venue.store, &mut session, &request, &answer, Utc::now())
                .unwrap();
        if relayed.quiet {
            return round;
        }
    }
    panic!("the relay did not settle in {rounds} rounds");
}

/// The event's and the project's documents travel through the venue: the venue fetches them
/// from central and mirrors its desk into them at once; its tablets sync them from the
/// venue's store (copied grants numbered in the venue's own sequence, so a synced tablet hears
/// nothing twice); what the venue's desk sells reaches central's documents as the desk's
/// writes (no violation), and both stores end with the same heads.
#[test]
fn the_venue_relays_the_event_s_documents_between_central_and_its_tablets() {
    use kam_core::doc::event_doc_id;
    use kam_core::model::EventId;
    use kam_core::wire::SyncRequest;
    let mut w = world();
    let (status, answer) = w.hold(&w.venue, 0);
    assert_eq!(status, 200, "{answer}");
    let project =
        ProjectId::from(w.central.column("SELECT project_id FROM desk_events").remove(0).as_str());
    let project_doc = project_doc_id(&project);
    let event_doc = event_doc_id(&EventId::from(w.event.as_str()));

    assert!(relay(&mut w, 20) > 1);
    let units = |store: &mut Store| {
        read_project(store.document(&project_doc).unwrap().unwrap()).unwrap().units
    };
    let held = UnitId::from(w.units[0].as_str());
    assert_eq!(units(&mut w.venue.store)[&held].status, UnitStatus::Held, "mirrored on arrival");
    assert!(w.venue.store.document(&event_doc).unwrap().is_some());

    // Copied grants are numbered in the venue's own sequence.
    let newest_grant: i64 = w
        .venue
        .store
        .sql()
        .query_row("SELECT MAX(granted_seq) FROM grants", [], |r| r.get(0))
        .unwrap();
    assert!(newest_grant <= w.venue.store.conn().current_seq().unwrap());
    // A staff tablet at the venue syncs from the venue's store.
    let staff = crate::auth::authenticate(w.venue.store.conn(), STAFF).unwrap().unwrap();
    let first =
        crate::sync::sync_round(&mut w.venue.store, &staff, &SyncRequest::default(), Utc::now())
            .unwrap()
            .response;
    let got: Vec<&str> = first.snapshots.iter().map(|s| s.doc_id.as_str()).collect();
    assert!(got.contains(&project_doc.to_string().as_str()), "{got:?}");
    assert!(got.contains(&event_doc.to_string().as_str()), "{got:?}");
    let again = SyncRequest { cursor: first.cursor, ..SyncRequest::default() };
    let second =
        crate::sync::sync_round(&mut w.venue.store, &staff, &again, Utc::now()).unwrap().response;
    assert!(second.snapshots.is_empty() && second.messages.is_empty(), "{second:?}");

    // The venue sells another unit; its mirror writes it, the relay takes it to central.
    let (status, answer) = w.hold(&w.venue, 1);
    assert_eq!(status, 200, "{answer}");
    crate::desk::mirror::mirror_pending(&mut w.venue.store, Utc::now()).unwrap();
    relay(&mut w, 20);
    let second_unit = UnitId::from(w.units[1].as_str());
    assert_eq!(units(&mut w.central.store)[&second_unit].status, UnitStatus::Held);
    let violations = w.central.store.conn().open_violations().unwrap();
    assert!(violations.is_empty(), "the venue's mirror writes are its desk's: {violations:?}");

    // Central's own mirror of the shipped segment writes the same outcome; both converge.
    while w.ship().is_some() {}
    crate::desk::mirror::mirror_pending(&mut w.central.store, Utc::now()).unwrap();
    relay(&mut w, 20);
    for id in [&project_doc, &event_doc] {
        let central = w.central.store.document(id).unwrap().unwrap().heads();
        let venue = w.venue.store.document(id).unwrap().unwrap().heads();
        assert_eq!(central, venue, "{id} converged");
    }
    assert_eq!(units(&mut w.central.store)[&second_unit].status, UnitStatus::Held);
    assert_eq!(units(&mut w.central.store)[&held].status, UnitStatus::Held);
}

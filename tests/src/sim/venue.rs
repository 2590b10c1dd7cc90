//! The venue side of the simulation: central lends the event's desk mid-load, a venue server
//! made from an empty store takes the offer (as `desk::delegation::uplink` does), tablets roam
//! between its LAN and 4G to central, the uplink ships one batch a step through the same
//! faults as requests (a lost ack ships the same batch again; a duplicate must change
//! nothing), the venue crashes and restarts from its files or from its second copy, and hands
//! the desk back mid-load; optionally central lends it again to a fresh venue store.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::Duration;
use kam_core::sync_client::transport::TransportError;
use kam_core::wire::SyncResponse;
use kam_server::db::{DESK_FILE, SecondCopy};
use kam_server::desk::delegation::lend::LendRequest;
use kam_server::desk::delegation::{DelegationError, edge, lend};
use kam_server::error::ServerError;
use kam_server::sync::upstream::{self, RelaySession};
use rusqlite::{Connection, OpenFlags, OptionalExtension};

use super::server::{SimClock, SimServer};
use super::{Setup, SimConfig, SimReport, Target};
use crate::TestResult;
use crate::crash::SplitMix;

/// The venue server's account at central.
pub(super) const VENUE_USER: &str = "venue-1";

/// What the venue does during a run.
#[derive(Clone, Copy, Debug)]
pub struct VenueConfig {
    /// The step at which central lends the event's desk to the venue.
    pub delegate_at: u32,
    /// The step at which the venue's staff start handing it back.
    pub hand_back_at: u32,
    /// Whether central lends the desk again (to a fresh venue store) after the hand-back; that
    /// lease is handed back when the network heals.
    pub second_delegation: bool,
    /// Chance per step that the uplink goes down, for a step up to a simulated day, percent.
    pub uplink_partition_pct: u64,
    /// Whether the uplink goes down for a whole simulated day (≥ 24 h) soon after delegation.
    pub day_long_outage: bool,
    /// Chance per step that a tablet moves between the venue's LAN and 4G, percent.
    pub roam_pct: u64,
    /// The venue crashes and restarts every this many steps (0: never).
    pub crash_every: u32,
    /// The venue's second copy is taken every this many steps (0: never).
    pub copy_every: u32,
    /// Every this-many-th venue crash restarts from the second copy (0: never).
    pub copy_restart_every: u32,
    /// Restart from the copy even when central holds venue entries newer than the copy, or
    /// has taken the hand-back already: exposes the gap the default run steps around.
    pub copy_behind: bool,
}

/// A venue server's store: the one that took one delegation's offer.
pub(super) struct VenueSite {
    /// Numbers the sites of a run (a request in flight names the site it was sent to).
    pub(super) no: u32,
    pub(super) server: SimServer,
    pub(super) generation: i64,
    copy_dir: PathBuf,
    copied: bool,
    /// Central acknowledged the hand-back.
    returned: bool,
    crashes: u32,
    /// The document relay's conversation with central (lost with the process).
    relay: RelaySession,
}

/// Both servers, the uplink, and where each tablet is.
pub(super) struct World {
    pub(super) central: SimServer,
    pub(super) venue: Option<VenueSite>,
    /// Venue sites of earlier delegations (checked at the end too).
    pub(super) retired: Vec<VenueSite>,
    /// Keys answered by a venue after its last copy and lost when it restarted from it.
    pub(super) lost_by_copy: BTreeSet<String>,
    on_lan: Vec<bool>,
    uplink_down_until: u32,
    outage_from_s: Option<i64>,
    event: String,
    device_id: String,
    /// The venue device's token at central.
    venue_token: String,
    /// The generation central lent and has not had back yet.
    lent: Option<i64>,
    lends: u32,
    sites: u32,
    broken: bool,
    dirs: Vec<tempfile::TempDir>,
    clock: SimClock,
    config: SimConfig,
}

impl World {
    pub(super) fn new(
        central: SimServer,
        setup: &Setup,
        config: SimConfig,
        clock: &SimClock,
    ) -> World {
        World {
            central,
            venue: None,
            retired: Vec::new(),
            lost_by_copy: BTreeSet::new(),
            on_lan: vec![false; setup.tokens.len()],
            uplink_down_until: 0,
            outage_from_s: None,
            event: setup.event.clone(),
            device_id: setup.venue_device.0.clone(),
            venue_token: setup.venue_device.1.clone(),
            lent: None,
            lends: 0,
            sites: 0,
            broken: false,
            dirs: Vec::new(),
            clock: clock.clone(),
            config,
        }
    }

    /// Where a tablet's request goes now.
    pub(super) fn target(&self, tablet: usize) -> Result<Target, TransportError> {
        // On the venue's LAN a tablet talks to the venue server only: desk commands and
        // document sync alike (the venue relays the documents with central).
        let on_lan = self.on_lan.get(tablet).copied().unwrap_or(false);
        match (&self.venue, on_lan) {
            (Some(site), true) if site.server.is_up() => Ok(Target::Venue(site.no)),
            (Some(_), true) => Err(TransportError::Network("the venue server is down".into())),
            _ => Ok(Target::Central),
        }
    }

    /// The server a target names, if it is still there.
    pub(super) fn server(&self, target: Target) -> Option<&SimServer> {
        match target {
            Target::Central => Some(&self.central),
            Target::Venue(no) => self.venue.as_ref().filter(|v| v.no == no).map(|v| &v.server),
        }
    }

    /// Central's and the venue's sweeps (a server that is down sweeps nothing).
    pub(super) fn sweep(&self) -> TestResult<()> {
        self.central.sweep()?;
        if let Some(site) = &self.venue
            && site.server.is_up()
        {
            site.server.sweep()?;
        }
        Ok(())
    }

    /// Whether central refused a batch as breaking the chain (the uplink stopped).
    pub(super) fn broken(&self) -> bool {
        self.broken
    }

    /// A tablet leaves the venue's LAN for 4G.
    pub(super) fn roam_to_central(&mut self, tablet: usize) {
        if let Some(on_lan) = self.on_lan.get_mut(tablet) {
            *on_lan = false;
        }
    }

    /// What the venue, the uplink and central's headquarters do in one step.
    pub(super) fn step(
        &mut self,
        step: u32,
        v: &VenueConfig,
        rng: &mut SplitMix,
        (loss, dup): (u64, u64),
        counts: &mut SimReport,
    ) -> TestResult<()> {
        let second_at = v.hand_back_at + (self.config.steps.saturating_sub(v.hand_back_at)) / 4;
        let again = v.second_delegation && self.lends == 1 && step >= second_at;
        if (step == v.delegate_at || again) && self.lent.is_none() {
            self.lend()?;
        }
        self.outages(step, v, rng, counts);
        if self.venue.is_some() {
            self.crashes(step, v, counts)?;
            if v.copy_every > 0 && step.is_multiple_of(v.copy_every) {
                self.copy()?;
            }
            if rng.below(100) < v.roam_pct {
                let tablet = rng.below(self.on_lan.len() as u64) as usize;
                self.on_lan[tablet] = !self.on_lan[tablet];
            }
        }
        if step >= v.hand_back_at && self.lends == 1 {
            self.press_hand_back()?;
        }
        if step >= self.uplink_down_until && !self.broken {
            self.uplink_round(rng, (loss, dup), counts)?;
        }
        if step >= self.uplink_down_until {
            self.relay_round(rng, loss, counts)?;
        }
        Ok(())
    }

    /// One round of the venue's document relay, as its uplink runs it: the venue's changed
    /// event and project documents to central, central's news into the venue's store. The
    /// request or its answer may be lost; a lost one drops the conversation, which resumes
    /// from the stored states. Returns whether both sides were quiet.
    fn relay_round(
        &mut self,
        rng: &mut SplitMix,
        loss: u64,
        counts: &mut SimReport,
    ) -> TestResult<bool> {
        let Some(site) = &mut self.venue else { return Ok(true) };
        if !site.server.is_up() {
            return Ok(true);
        }
        let session = std::mem::take(&mut site.relay);
        let (request, session) = site.server.with_store(move |store| {
            let mut session = session;
            Ok((upstream::next_request(store, &mut session)?, session))
        })?;
        if rng.below(100) < loss {
            return Ok(false);
        }
        let body = request.request.encode()?;
        let Ok((status, bytes)) = self.central.post("/api/v1/sync", &self.venue_token, body) else {
            return Ok(false);
        };
        if status != 200 {
            let text = String::from_utf8_lossy(&bytes);
            return Err(format!("central refused the venue's documents: {status} {text}").into());
        }
        counts.relay_rounds += 1;
        if rng.below(100) < loss {
            return Ok(false);
        }
        let answer = SyncResponse::decode(&bytes)?;
        let now = self.clock.now();
        let (relayed, session) = site.server.with_store(move |store| {
            let mut session = session;
            let relayed = upstream::apply_answer(store, &mut session, &request, &answer, now)?;
            Ok((relayed, session))
        })?;
        site.relay = session;
        Ok(relayed.quiet)
    }

    /// The venue relays until central and it agree on every document they share.
    pub(super) fn relay_until_quiet(&mut self, counts: &mut SimReport) -> TestResult<()> {
        let mut rng = SplitMix(0);
        for _ in 0..100 {
            if self.relay_round(&mut rng, 0, counts)? {
                return Ok(());
            }
        }
        Err("the venue's documents did not settle with central in 100 rounds".into())
    }

    /// Heals the uplink, hands back the desk the venue holds and ships until central has it.
    pub(super) fn finish(&mut self, counts: &mut SimReport) -> TestResult<()> {
        self.uplink_down_until = 0;
        self.end_outage(counts);
        if let Some(site) = &mut self.venue
            && !site.server.is_up()
        {
            site.server.crash_and_restart()?;
        }
        let mut rng = SplitMix(0);
        for _ in 0..10_000 {
            if self.lent.is_none() || self.broken {
                return Ok(());
            }
            self.press_hand_back()?;
            self.uplink_round(&mut rng, (0, 0), counts)?;
        }
        Err("the venue did not hand the desk back in 10,000 rounds".into())
    }

    fn lend(&mut self) -> TestResult<()> {
        let request = LendRequest {
            event_id: self.event.clone(),
            venue_device_id: self.device_id.clone(),
            lease_until: self.clock.now() + Duration::hours(96),
            actor: "hq-01".into(),
        };
        let lent = self
            .central
            .desk_run(move |tx, server, tip, now| lend::lend(tx, server, tip, &request, now))??;
        self.lent = Some(lent.generation);
        self.lends += 1;
        Ok(())
    }

    fn outages(&mut self, step: u32, v: &VenueConfig, rng: &mut SplitMix, counts: &mut SimReport) {
        let step_s =
            (i64::from(self.config.sim_hours) * 3600 / i64::from(self.config.steps.max(1))).max(1);
        // Every step lasts at least `step_s`, so `day` steps are more than 24 hours.
        let day = u32::try_from(24 * 3600 / step_s + 2).unwrap_or(u32::MAX);
        if v.day_long_outage && step == v.delegate_at + 2 {
            // The day-long outage starts now, or stretches the one under way to a day from now.
            if self.outage_from_s.is_none() {
                self.outage_from_s = Some(self.clock.elapsed_s());
                counts.uplink_outages += 1;
            }
            self.uplink_down_until = self.uplink_down_until.max(step + day);
            return;
        }
        if step < self.uplink_down_until {
            return;
        }
        self.end_outage(counts);
        let length = if rng.below(100) < v.uplink_partition_pct {
            match rng.below(100) {
                0..=49 => 1 + rng.below(2) as u32,
                50..=84 => 3 + rng.below(18) as u32,
                _ => 20 + rng.below(u64::from(day.saturating_sub(20)) + 1) as u32,
            }
        } else {
            0
        };
        if length > 0 {
            self.uplink_down_until = step + length;
            self.outage_from_s = Some(self.clock.elapsed_s());
            counts.uplink_outages += 1;
        }
    }

    fn end_outage(&mut self, counts: &mut SimReport) {
        if let Some(from) = self.outage_from_s.take() {
            counts.longest_outage_s = counts.longest_outage_s.max(self.clock.elapsed_s() - from);
        }
    }

    fn crashes(&mut self, step: u32, v: &VenueConfig, counts: &mut SimReport) -> TestResult<()> {
        if v.crash_every == 0 || step == 0 || !step.is_multiple_of(v.crash_every) {
            return Ok(());
        }
        let Some(site) = &mut self.venue else { return Ok(()) };
        counts.venue_crashes += 1;
        site.crashes += 1;
        let from_copy = v.copy_restart_every > 0 && site.crashes % v.copy_restart_every == 0;
        site.relay = RelaySession::default();
        if from_copy && site.copied {
            return self.restart_from_copy(v.copy_behind, counts);
        }
        site.server.crash_and_restart()
    }

    /// The venue restarts from its second copy (its disk died). Commands it answered after
    /// the copy and had not shipped are lost (counted in `lost_by_copy`); what it shipped is
    /// at central, and the copy takes it back before it serves (`recovery_round`). With
    /// `copy_behind` off, a copy behind what central holds is not used (the venue restarts from
    /// its own files), so the default run also covers the plain crash.
    fn restart_from_copy(&mut self, copy_behind: bool, counts: &mut SimReport) -> TestResult<()> {
        let Some(site) = &mut self.venue else { return Ok(()) };
        let copy_tip: i64 = open(&site.copy_dir)?.query_row(
            "SELECT COALESCE(MAX(seq), 0) FROM desk_ledger",
            [],
            |r| r.get(0),
        )?;
        let central: Option<(i64, String)> = open(self.central.dir()?)?
            .query_row(
                "SELECT shipped_seq, state FROM desk_delegations
                 WHERE event_id = ?1 AND generation = ?2 AND side = 'lent'",
                rusqlite::params![self.event, site.generation],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let behind =
            !central.is_some_and(|(shipped, state)| shipped <= copy_tip && state == "active");
        if behind && !copy_behind {
            counts.copy_restarts_deferred += 1;
            return site.server.crash_and_restart();
        }
        site.server.stop();
        let keys = |dir: &Path| -> TestResult<BTreeSet<String>> {
            let conn = open(dir)?;
            let mut stmt = conn.prepare("SELECT idempotency_key FROM desk_requests")?;
            Ok(stmt.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?)
        };
        let kept = keys(&site.copy_dir)?;
        self.lost_by_copy.extend(keys(site.server.dir()?)?.difference(&kept).cloned());
        let copy = std::mem::replace(&mut site.copy_dir, fresh_dir(&mut self.dirs)?);
        site.server.restart_from(&copy)?;
        site.copied = false;
        counts.copy_restarts += 1;
        Ok(())
    }

    fn copy(&mut self) -> TestResult<()> {
        if let Some(site) = &mut self.venue
            && site.server.is_up()
        {
            SecondCopy::copy_now(site.server.dir()?, &site.copy_dir)?;
            site.copied = true;
        }
        Ok(())
    }

    /// The venue's staff press "hand back" (again, if a restart from an older copy forgot it).
    fn press_hand_back(&mut self) -> TestResult<()> {
        let Some(site) = &mut self.venue else { return Ok(()) };
        if Some(site.generation) != self.lent || site.returned || !site.server.is_up() {
            return Ok(());
        }
        site.server.desk_run(|tx, _, _, now| edge::hand_back(tx, now))??;
        Ok(())
    }

    /// One round of the venue's uplink: take the offered desk if this venue holds none, else
    /// ship the next batch and record central's answer.
    fn uplink_round(
        &mut self,
        rng: &mut SplitMix,
        (loss, dup): (u64, u64),
        counts: &mut SimReport,
    ) -> TestResult<()> {
        let Some(generation) = self.lent else { return Ok(()) };
        if self.venue.as_ref().map(|v| v.generation) != Some(generation) {
            return self.take_offer(rng, loss, counts);
        }
        let Some(site) = &mut self.venue else { return Ok(()) };
        if !site.server.is_up() || site.returned {
            return Ok(());
        }
        let copy =
            site.server.with_store(|store| store.desk().copy_mark().map_err(ServerError::from))?;
        if copy.is_some() {
            return self.recovery_round(rng, loss);
        }
        let Some(site) = &mut self.venue else { return Ok(()) };
        let next = site
            .server
            .with_store(|store| edge::next_shipment(store.desk()).map_err(ServerError::from))?;
        let Some(shipment) = next else { return Ok(()) };
        if rng.below(100) < loss {
            return Ok(());
        }
        let receive = |shipment: kam_server::desk::delegation::wire::Shipment| {
            let device = self.device_id.clone();
            self.central
                .desk_run(move |tx, _, tip, now| lend::receive(tx, tip, &device, &shipment, now))
        };
        let mut answer = receive(shipment.clone())?;
        counts.batches += 1;
        if rng.below(100) < dup {
            let again = receive(shipment)?;
            counts.batches += 1;
            if let (Ok(first), Ok(second)) = (&answer, &again)
                && first != second
            {
                return Err(
                    format!("a repeated batch was answered {second:?}, not {first:?}").into()
                );
            }
            answer = again;
        }
        let ack = match answer {
            Ok(ack) => ack,
            Err(e @ DelegationError::ChainBreak { .. }) => {
                eprintln!("seed {}: central refused the venue's batch: {e}", self.config.seed);
                counts.chain_breaks += 1;
                self.broken = true;
                return Ok(());
            }
            Err(e) => return Err(format!("central refused the venue's batch: {e}").into()),
        };
        if rng.below(100) < loss {
            return Ok(());
        }
        let (event, copy) = (self.event.clone(), ack.clone());
        site.server.desk_run(move |tx, _, _, now| edge::acknowledged(tx, &event, &copy, now))??;
        if ack.returned {
            site.returned = true;
            self.lent = None;
        }
        Ok(())
    }

    /// One round of a venue restarted from its second copy: it asks central what it holds
    /// beyond the copy's tip, appends it, and compares, before it serves again (ADR 0021). A
    /// delegation that ended meanwhile leaves the copy held back for good.
    fn recovery_round(&mut self, rng: &mut SplitMix, loss: u64) -> TestResult<()> {
        let Some(site) = &mut self.venue else { return Ok(()) };
        if rng.below(100) < loss {
            return Ok(());
        }
        let tip = site.server.with_store(|store| kam_server::desk::ledger::tip(store.desk()))?;
        let device = self.device_id.clone();
        let recovery = self
            .central
            .with_store(move |store| Ok(lend::recovery(store.desk(), &device, tip.seq)))?;
        let recovery = match recovery {
            Ok(recovery) => recovery,
            Err(DelegationError::NotDelegated(_)) => {
                // Central ended the lease (the hand-back completed with an answer the copy
                // never saw): the copy stays held back, and the event is central's again.
                site.returned = true;
                self.lent = None;
                return Ok(());
            }
            Err(e) => return Err(format!("central refused the recovery: {e}").into()),
        };
        site.server.desk_run(move |tx, _, tip, _| edge::recover(tx, tip, &recovery))??;
        Ok(())
    }

    /// A venue server with a fresh store takes central's offer (as its uplink does) and every
    /// tablet is pointed at it.
    fn take_offer(
        &mut self,
        rng: &mut SplitMix,
        loss: u64,
        counts: &mut SimReport,
    ) -> TestResult<()> {
        if rng.below(100) < loss {
            return Ok(());
        }
        let device = self.device_id.clone();
        let offer = self.central.with_store(move |store| {
            lend::offer(store.desk(), store.conn(), &device, VENUE_USER).map_err(ServerError::from)
        })?;
        let Some(offer) = offer else { return Ok(()) };
        if rng.below(100) < loss {
            return Ok(());
        }
        let dir = fresh_dir(&mut self.dirs)?;
        let server = SimServer::start(&dir, &self.clock)?;
        let people = offer.people.clone();
        server.with_store(move |store| store.transaction(|db| Ok(db.apply_people(&people)?)))?;
        let generation = offer.generation;
        server.desk_run(move |tx, _, tip, now| edge::accept(tx, tip, &offer, now))??;
        self.sites += 1;
        let site = VenueSite {
            no: self.sites,
            server,
            generation,
            copy_dir: fresh_dir(&mut self.dirs)?,
            copied: false,
            returned: false,
            crashes: 0,
            relay: RelaySession::default(),
        };
        if let Some(old) = self.venue.replace(site) {
            self.retired.push(old);
        }
        self.on_lan.iter_mut().for_each(|on| *on = true);
        counts.delegations += 1;
        self.copy()
    }
}

fn fresh_dir(dirs: &mut Vec<tempfile::TempDir>) -> TestResult<PathBuf> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().to_path_buf();
    dirs.push(dir);
    Ok(path)
}

/// The desk file in `dir`, read-only.
pub(super) fn open(dir: &Path) -> TestResult<Connection> {
    Ok(Connection::open_with_flags(dir.join(DESK_FILE), OpenFlags::SQLITE_OPEN_READ_ONLY)?)
}

//! What the authority's tests share: the fixtures, and the table of cases most of them are.
//!
//! Each case plays what the server does on a merge: it holds a document, a device loads a
//! copy of it (or creates it) and edits it, sometimes as a tampered or buggy tablet would,
//! bypassing the local checks, and the server merges, enforces and reads the typed values.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, TimeZone, Utc};
use kam_core::Policy;
use kam_core::demo::{self, DemoData, DemoSpec};
use kam_core::doc::{
    ActorId, ChangeHash, CustomerEdit, Document, EditMeta, EventEdit, ProjectEdit, TicketEdit,
    Touched, create_customer, create_ticket, edit_customer, edit_event, edit_project, edit_ticket,
};
use kam_core::model::{
    Classification, CreditTerms, Customer, EntryId, FollowUp, Grade, PaymentTerms,
    PreventiveAction, Reply, ServiceTicket, StatusChange, TicketStatus, Tier, UnitId, UserId,
};
use rust_decimal::Decimal;
use serde_json::Value;

use super::{
    DeskView, Guarded, SERVER_AUTHOR, Violation, capture_touched, check_merge, enforce,
    guarded_touch,
};
use crate::auth::{Principal, Role};
use crate::error::ServerError;

/// A selection desk as the tests want it: these units on it, this event's desk open or not.
#[derive(Default)]
pub(super) struct FakeDesk {
    pub(super) units: Vec<UnitId>,
    pub(super) event_open: bool,
    /// Events lent to whichever venue device asks.
    pub(super) lent: Vec<crate::db::desk::state::LentDesk>,
}

impl DeskView for FakeDesk {
    fn units_on_desk(&self, _project_id: &str) -> Result<BTreeSet<UnitId>, crate::db::DbError> {
        Ok(self.units.iter().cloned().collect())
    }

    fn event_desk_open(&self, _event_id: &str) -> Result<bool, crate::db::DbError> {
        Ok(self.event_open)
    }

    fn lent_to_device(
        &self,
        _device_id: &str,
    ) -> Result<Vec<crate::db::desk::state::LentDesk>, crate::db::DbError> {
        Ok(self.lent.clone())
    }
}

/// When the fixtures were made.
pub(super) fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 1, 0, 0).unwrap()
}

/// When the server enforces: after the device's edits.
pub(super) fn later() -> DateTime<Utc> {
    now() + Duration::hours(2)
}

/// A small seeded demo company with two reps (`rep-01`, `rep-02`).
pub(super) fn data() -> DemoData {
    let spec = DemoSpec { customers: 6, tickets: 6, units: 6, buyers: 2, ..DemoSpec::standard(2) };
    demo::generate(&spec, now(), &Policy::default())
}

pub(super) fn who(user: &str, role: Role) -> Principal {
    Principal { device_id: format!("dev-{user}"), user_id: user.to_owned(), role }
}

pub(super) fn meta(user: &str, action: &str) -> EditMeta {
    EditMeta::new(&UserId::from(user), now() + Duration::minutes(30), action)
}

pub(super) fn json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap()
}

// --- documents -----------------------------------------------------------------------------

/// A customer owned by `rep-01` alone, graded B with credit terms.
pub(super) fn customer(data: &DemoData) -> Customer {
    let mut c = data.customers[0].clone();
    c.owners = vec![UserId::from("rep-01")];
    c.classification = Classification {
        strategic: false,
        tier: Tier::Main,
        grade: Some(Grade::B),
        score: Some(72),
    };
    c.credit = CreditTerms {
        credit_grade: Some(Grade::B),
        credit_limit: Decimal::from(500_000),
        payment_terms: PaymentTerms::NetDays { days: 30 },
    };
    c
}

/// The server's copy of a customer created by HQ.
pub(super) fn server_customer(c: &Customer) -> Document {
    create_customer(c, ActorId::random(), &meta("hq", "customer.create")).unwrap()
}

pub(super) fn change(from: TicketStatus, to: TicketStatus, by: &str) -> StatusChange {
    StatusChange {
        id: EntryId::new(),
        from,
        to,
        at: now() + Duration::minutes(20),
        by: UserId::from(by),
        note: String::new(),
    }
}

/// A ticket whose history walks the state machine from New to `status`.
pub(super) fn ticket(data: &DemoData, status: TicketStatus) -> ServiceTicket {
    use TicketStatus::{Closed, InProgress, New, Resolved};
    let mut t = data.tickets[0].clone();
    let path: &[TicketStatus] = match status {
        New => &[New],
        InProgress => &[New, InProgress],
        Resolved => &[New, InProgress, Resolved],
        Closed => &[New, InProgress, Resolved, Closed],
        other => panic!("no fixture path to {other:?}"),
    };
    t.status = status;
    t.history =
        path.windows(2).map(|w| change(w[0], w[1], "rep-01")).map(|c| (c.id.clone(), c)).collect();
    t
}

pub(super) fn reply(by: &str, body: &str) -> Reply {
    Reply { id: EntryId::new(), at: now(), by: UserId::from(by), body: body.into() }
}

/// A ticket in progress with one reply, a preventive action and a follow-up recorded.
pub(super) fn ticket_with_evidence(data: &DemoData) -> (ServiceTicket, Reply) {
    let mut t = ticket(data, TicketStatus::InProgress);
    let first = reply("rep-01", "已收到，明天上门");
    t.replies = [(first.id.clone(), first.clone())].into();
    t.preventive_action = Some(PreventiveAction {
        description: "更换轴承供应商".into(),
        verified_by: Some(UserId::from("qa-01")),
        verified_at: Some(now()),
    });
    t.follow_up = Some(FollowUp {
        at: now(),
        by: UserId::from("rep-01"),
        satisfaction: 90,
        notes: "满意".into(),
    });
    (t, first)
}

pub(super) fn server_ticket(t: &ServiceTicket) -> Document {
    create_ticket(t, ActorId::random(), &meta("rep-01", "ticket.open")).unwrap()
}

/// A device's copy of what the server holds.
pub(super) fn device_copy(server: &mut Document) -> Document {
    device_copy_as(server, ActorId::random())
}

pub(super) fn device_copy_as(server: &mut Document, actor: ActorId) -> Document {
    Document::load(server.id().clone(), &server.save(), actor).unwrap()
}

/// Writes into `device` with plain Automerge calls, as a tampered tablet would: what no typed
/// edit writes (a rewritten id, a deleted history entry).
pub(super) fn tamper(device: &mut Document, write: impl FnOnce(&mut automerge::AutoCommit)) {
    let mut am = automerge::AutoCommit::load(&device.save()).unwrap();
    let heads = am.get_heads();
    write(&mut am);
    am.commit();
    device.load_incremental(&am.save_after(&heads)).unwrap();
}

/// The map under root key `key` of a document being tampered with.
pub(super) fn root_map(am: &automerge::AutoCommit, key: &str) -> automerge::ObjId {
    use automerge::ReadDoc;
    am.get(automerge::ROOT, key).unwrap().unwrap().1
}

/// A typed edit a device makes, as `user`, in one commit named by its action.
pub(super) trait DeviceEdit {
    fn write(&self, device: &mut Document, user: &str);
}

impl DeviceEdit for CustomerEdit {
    fn write(&self, device: &mut Document, user: &str) {
        edit_customer(device, self, &meta(user, self.action())).unwrap();
    }
}

impl DeviceEdit for TicketEdit {
    fn write(&self, device: &mut Document, user: &str) {
        edit_ticket(device, self, &meta(user, self.action())).unwrap();
    }
}

impl DeviceEdit for ProjectEdit {
    fn write(&self, device: &mut Document, user: &str) {
        edit_project(device, self, &meta(user, self.action())).unwrap();
    }
}

impl DeviceEdit for EventEdit {
    fn write(&self, device: &mut Document, user: &str) {
        edit_event(device, self, &meta(user, self.action())).unwrap();
    }
}

/// A case whose device writes nothing after creating the document.
pub(super) fn no_edit(_: &mut Document, _: &str) {}

/// A case's device writes `edits`, in order, as the case's user.
pub(super) fn writes<'a, E: DeviceEdit + 'a>(edits: Vec<E>) -> impl Fn(&mut Document, &str) + 'a {
    move |device: &mut Document, user: &str| edits.iter().for_each(|e| e.write(device, user))
}

// --- merging -------------------------------------------------------------------------------

/// Captures every authorised value of `doc` as it was at `heads`, or `None` if it held
/// nothing then (a new document).
pub(super) fn capture(
    doc: &Document,
    heads: &[ChangeHash],
) -> Result<Option<Guarded>, ServerError> {
    capture_touched(doc, heads, Touched::everything())
}

/// Whether the changes since `before` need checking at all (see [`guarded_touch`]).
pub(super) fn touches_guarded(doc: &mut Document, before: &[ChangeHash]) -> bool {
    guarded_touch(doc, before).is_some()
}

/// Merges `device` into `server` with the patch index on, and says whether the merge
/// touched a guarded key.
pub(super) fn merge_touches_guarded(server: &mut Document, device: &mut Document) -> bool {
    let heads_before = server.heads();
    server.start_patch_index();
    server.merge(device).unwrap();
    let touched = touches_guarded(server, &heads_before);
    server.stop_patch_index();
    touched
}

/// What the server does when a device's changes arrive, with `desk_owned` the units on
/// an open selection desk.
pub(super) fn merge_and_check(
    server: &mut Document,
    device: &mut Document,
    author: &Principal,
    desk_owned: &[UnitId],
) -> Vec<Violation> {
    let desk = FakeDesk { units: desk_owned.to_vec(), event_open: false, lent: Vec::new() };
    merge_at_desk(server, device, author, &desk)
}

/// What the server does when a device's changes arrive, with `desk` what the selection desk
/// holds.
pub(super) fn merge_at_desk(
    server: &mut Document,
    device: &mut Document,
    author: &Principal,
    desk: &FakeDesk,
) -> Vec<Violation> {
    let heads_before = server.heads();
    server.start_patch_index();
    server.merge(device).unwrap();
    let found = check_merge(server, &heads_before, desk, author, later()).unwrap();
    server.stop_patch_index();
    found
}

pub(super) fn merge_and_enforce(
    server: &mut Document,
    device: &mut Document,
    author: &Principal,
) -> Vec<Violation> {
    merge_and_check(server, device, author, &[])
}

/// A second round with nothing new: no violations and no new commit, even when every
/// guarded value is read and compared again.
pub(super) fn assert_settled(server: &mut Document, author: &Principal) {
    let heads = server.heads();
    let before = capture(server, &heads).unwrap();
    let found = enforce(server, before.as_ref(), author, later()).unwrap();
    assert_eq!(found, Vec::new(), "a settled document has nothing left to compensate");
    assert_eq!(server.heads(), heads, "enforcing a settled document commits nothing");
}

/// The actions of the server's own commits, oldest first.
pub(super) fn server_actions(doc: &mut Document) -> Vec<String> {
    doc.history()
        .into_iter()
        .filter_map(|h| h.meta)
        .filter(|m| m.author.as_str() == SERVER_AUTHOR)
        .map(|m| m.action)
        .collect()
}

// --- tables of cases -----------------------------------------------------------------------

/// Names a case on stderr when it fails (panics) while this lives.
pub(super) struct CaseName<'a>(pub(super) &'a str);

impl Drop for CaseName<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("failed case: {}", self.0);
        }
    }
}

/// What a case expects the server to find in the merge.
#[derive(Debug)]
pub(super) enum Expect {
    /// Nothing: every write is kept, and the server commits nothing of its own.
    Kept,
    /// Exactly these violations, in this order.
    Exactly(Vec<Violation>),
    /// Violations of these fields and rules, in this order.
    Fields(Vec<(String, &'static str)>),
    /// Violations of these fields and rules, in any order.
    FieldsAnyOrder(Vec<(String, &'static str)>),
    /// Violations of these rules, in this order.
    Rules(Vec<&'static str>),
    /// `count` violations, every one of them of one of `rules`.
    Each { rules: &'static [&'static str], count: usize },
}

impl Expect {
    fn check(&self, found: &[Violation]) {
        let fields =
            || -> Vec<(String, &str)> { found.iter().map(|v| (v.field.clone(), v.rule)).collect() };
        match self {
            Expect::Kept => assert_eq!(found, &[] as &[Violation]),
            Expect::Exactly(expected) => assert_eq!(found, expected.as_slice()),
            Expect::Fields(expected) => assert_eq!(&fields(), expected),
            Expect::FieldsAnyOrder(expected) => {
                let (mut got, mut expected) = (fields(), expected.clone());
                got.sort();
                expected.sort();
                assert_eq!(got, expected);
            }
            Expect::Rules(expected) => {
                assert_eq!(&found.iter().map(|v| v.rule).collect::<Vec<_>>(), expected);
            }
            Expect::Each { rules, count } => {
                assert_eq!(found.len(), *count, "{found:?}");
                assert!(found.iter().all(|v| rules.contains(&v.rule)), "{found:?}");
            }
        }
    }
}

/// What a case's device writes, given the case's user.
pub(super) type Edit<'a> = Box<dyn Fn(&mut Document, &str) + 'a>;

/// A case's further checks of its outcome.
type Then<'a> = Box<dyn Fn(&mut Outcome) + 'a>;

/// A case's documents before the device's edits: the server's and the device's.
pub(super) type Arrange<'a> = Box<dyn Fn(&str) -> (Document, Document) + 'a>;

/// The server holds what `make` makes; the device edits a copy of it.
pub(super) fn held<'a>(make: impl Fn() -> Document + 'a) -> Arrange<'a> {
    Box::new(move |_| {
        let mut server = make();
        let device = device_copy(&mut server);
        (server, device)
    })
}

/// The case's user creates the document (`make` given the user); the server has nothing yet.
pub(super) fn created<'a>(make: impl Fn(&str) -> Document + 'a) -> Arrange<'a> {
    Box::new(move |user| {
        let device = make(user);
        (Document::empty(device.id().clone(), ActorId::random()), device)
    })
}

/// What a case's merge left, for its own further checks: the device has received the
/// server's answer.
pub(super) struct Outcome {
    pub(super) found: Vec<Violation>,
    pub(super) server: Document,
    pub(super) device: Document,
}

/// One row of a table: `user` as `role` edits, the server merges and enforces, and finds
/// what `expect` says.
pub(super) struct Case<'a> {
    name: String,
    user: &'a str,
    role: Role,
    edit: Edit<'a>,
    expect: Expect,
    arrange: Option<Arrange<'a>>,
    actions: Option<Vec<&'a str>>,
    desk: FakeDesk,
    then: Option<Then<'a>>,
}

impl<'a> Case<'a> {
    pub(super) fn new(
        name: impl Into<String>,
        (user, role): (&'a str, Role),
        edit: impl Fn(&mut Document, &str) + 'a,
        expect: Expect,
    ) -> Self {
        Case {
            name: name.into(),
            user,
            role,
            edit: Box::new(edit),
            expect,
            arrange: None,
            actions: None,
            desk: FakeDesk::default(),
            then: None,
        }
    }

    /// Documents other than the table's.
    pub(super) fn on(mut self, arrange: Arrange<'a>) -> Self {
        self.arrange = Some(arrange);
        self
    }

    /// The actions of the server's compensating commits, oldest first.
    pub(super) fn actions(mut self, actions: &[&'a str]) -> Self {
        self.actions = Some(actions.to_vec());
        self
    }

    /// What the selection desk holds.
    pub(super) fn desk(mut self, desk: FakeDesk) -> Self {
        self.desk = desk;
        self
    }

    /// Further checks of the outcome.
    pub(super) fn then(mut self, then: impl Fn(&mut Outcome) + 'a) -> Self {
        self.then = Some(Box::new(then));
        self
    }
}

/// Runs every case on fresh documents from its own or the table's `arrange`. Besides what a
/// case expects, every case checks that the server settled (a second round finds nothing and
/// commits nothing) and that the device, merging the server's answer, holds what it holds.
pub(super) fn run(cases: Vec<Case<'_>>, arrange: &Arrange<'_>) {
    for case in &cases {
        let _name = CaseName(&case.name);
        let (mut server, mut device) = case.arrange.as_ref().unwrap_or(arrange)(case.user);
        (case.edit)(&mut device, case.user);
        let author = who(case.user, case.role);
        let found = merge_at_desk(&mut server, &mut device, &author, &case.desk);
        case.expect.check(&found);
        if matches!(case.expect, Expect::Kept) {
            assert_eq!(server.heads(), device.heads(), "no compensating commit");
        }
        if let Some(actions) = &case.actions {
            assert_eq!(&server_actions(&mut server), actions);
        }
        assert_settled(&mut server, &author);
        device.merge(&mut server).unwrap();
        assert_eq!(device.heads(), server.heads(), "the device receives the answer");
        if let Some(then) = &case.then {
            then(&mut Outcome { found, server, device });
        }
    }
}

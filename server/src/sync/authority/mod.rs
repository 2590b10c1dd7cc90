//! The server's authority over synced documents (DESIGN §5, ADR 0005 and 0015).
//!
//! A CRDT cannot un-receive a change. So when a device's merge writes something its user may
//! not write — changes a customer's credit terms, adds a late payment, removes a visit record
//! or a ticket's reply, adds a unit to a project, touches an event's buyer list — or moves a
//! ticket along an edge the state machine does not have, the server keeps the change in the
//! history but immediately commits a compensating change that restores the authorised state,
//! and records a violation for review. An entity added without authority is removed again, one
//! removed is put back as it was, one changed is restored. The device receives the correction
//! in the same round's answer.
//!
//! Who may add, change and remove each part of a document is kam-core's permission matrix
//! (`rules::write_permissions`), shared with the tablets. The authorised state is the one the
//! server held before merging the device's changes: the server only ever holds authorised
//! values, because everything it merges passes this check. A device's new document is
//! compared with what its creator may put in one.

mod compare;
mod customer;
mod event;
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)]
mod matrix_tests;
mod project;
mod record;
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)]
mod test_support;
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::arithmetic_side_effects)]
mod tests;
mod ticket;

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use kam_core::doc::{
    ChangeHash, DocKind, Document, EditMeta, Entries, Touched, read_event_at, read_project_entries,
    read_ticket_at, root_key_part,
};
use kam_core::model::{Project, SelectionEvent, ServiceTicket, UnitId, UserId};
use kam_core::rules::{self, DocPart, Write, WriteRule, open_to_everyone};
use serde_json::{Value, json};

use crate::auth::Principal;
use crate::db::ReviewStore;
use crate::db::review::NewViolation;
use crate::error::ServerError;

/// The author recorded on the server's own changes.
pub(crate) const SERVER_AUTHOR: &str = "kam-server";

/// What the selection desk is the authority over, asked only when a merge touched a project's
/// units or an event (storage's trait: the desk's file answers it).
pub(crate) use crate::db::desk::DeskView;

/// The authorised values of a document before a merge, as far as the merge touched them.
#[derive(Clone, Debug)]
struct Guarded {
    /// The heads they were read at.
    heads: Vec<ChangeHash>,
    /// What the merge touched: only these parts (and entries) are compared.
    touched: Touched,
    /// The values.
    values: Authorised,
}

/// The authorised values of one kind of document.
#[derive(Clone, Debug)]
enum Authorised {
    /// A customer's protected fields and the touched entries of its collections.
    Customer(customer::Before),
    /// A whole ticket (small: its status, history, replies and fields).
    Ticket(Box<ServiceTicket>),
    /// A project's name and touched buildings and units, and which of its units an open
    /// selection desk owns (filled from the desk's file).
    Project { project: Project, desk_owned: BTreeSet<UnitId> },
    /// A whole event, and whether its desk is open (filled from the desk's file).
    Event { event: Box<SelectionEvent>, desk_open: bool },
    /// A record document's root keys and values (lead, plan, survey, scorecard, review,
    /// organisation): small enough to hold whole.
    Record(record::Before),
}

/// A write the author was not allowed to make, already compensated.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Violation {
    /// The field or entity, as a path.
    pub(crate) field: String,
    /// The rule broken.
    pub(crate) rule: &'static str,
    /// The authorised value, restored (`null` for an entity that was not there).
    pub(crate) old_value: Value,
    /// The value the author wrote (`null` for an entity the author removed).
    pub(crate) new_value: Value,
}

/// Who wrote a merge and when the server judges it: what every part's check needs.
struct Check<'a> {
    /// The author's role in the permission matrix.
    role: rules::Role,
    /// The author.
    author: &'a Principal,
    /// Whether the merge created the document.
    creating: bool,
    /// When the server judges.
    now: DateTime<Utc>,
    /// What the author writes as the selection desk itself.
    as_desk: AsDesk,
}

/// What a merge's author writes as the selection desk itself: a venue server holding an
/// event's lease (ADR 0021) is that event's desk, and its mirror writes the desk's outcomes
/// into the event and its allotted units, as central's own mirror does for a desk it holds.
/// Central's mirror writes the same outcomes when the venue's ledger segment arrives.
#[derive(Clone, Debug, Default)]
pub(crate) struct AsDesk {
    /// Units of the merged project allotted to an event lent to the author.
    pub(crate) units: BTreeSet<UnitId>,
    /// Whether the merged event is lent to the author.
    pub(crate) event: bool,
}

impl AsDesk {
    /// What `author` writes as the desk in the document `kind`/`entity`: nothing unless the
    /// author is a venue server holding a lease of the event or of one in the project.
    fn of(
        desk: &(impl DeskView + ?Sized),
        author: &Principal,
        kind: DocKind,
        entity: &str,
    ) -> Result<AsDesk, ServerError> {
        if author.role != rules::Role::Venue || !matches!(kind, DocKind::Project | DocKind::Event) {
            return Ok(AsDesk::default());
        }
        let mut as_desk = AsDesk::default();
        for lent in desk.lent_to_device(&author.device_id)? {
            match kind {
                DocKind::Event if lent.event_id == entity => as_desk.event = true,
                DocKind::Project if lent.project_id == entity => {
                    as_desk.units.extend(lent.units.into_iter().map(UnitId));
                }
                _ => {}
            }
        }
        Ok(as_desk)
    }
}

/// The parts the desk's mirror writes: a unit's status and approved price, an event's queue,
/// mode and buyer list.
fn written_by_desk_mirror(part: DocPart) -> bool {
    matches!(
        part,
        DocPart::UnitStatus | DocPart::UnitPrice | DocPart::Queue | DocPart::Mode | DocPart::Buyers
    )
}

impl Check<'_> {
    /// Metadata of a compensating commit named `action`.
    fn meta(&self, action: &str) -> EditMeta {
        EditMeta::new(&UserId::from(SERVER_AUTHOR), self.now, action)
    }

    /// The matrix's verdict on the author making `write` to `part`, `on_open_desk` or not.
    fn judge(&self, part: DocPart, write: Write, on_open_desk: bool) -> Result<(), WriteRule> {
        if self.as_desk.event && written_by_desk_mirror(part) {
            return Ok(());
        }
        let ctx =
            rules::WriteContext { creating: self.creating, owns_customer: false, on_open_desk };
        rules::check_write(self.role, part, write, ctx)
    }

    /// Like [`Check::judge`], for a write to `unit`: a unit lent to the author is the
    /// author's desk's to mirror.
    fn judge_unit(
        &self,
        unit: &UnitId,
        part: DocPart,
        write: Write,
        on_open_desk: bool,
    ) -> Result<(), WriteRule> {
        if written_by_desk_mirror(part) && self.as_desk.units.contains(unit) {
            return Ok(());
        }
        self.judge(part, write, on_open_desk)
    }

    /// A field group's write: added with the document, or changed.
    fn group_write(&self) -> Write {
        if self.creating { Write::Add } else { Write::Change }
    }
}

/// What the changes since `before` touched, if any of it needs checking: `None` when every
/// write the merge made is one the matrix leaves open to everyone (a profile edit, a new
/// visit, a new reply). That is the common case, since reps mostly record visits and
/// contacts; reading the guarded values twice was a quarter of a merge's cost.
fn guarded_touch(doc: &mut Document, before: &[ChangeHash]) -> Option<Touched> {
    let touched = doc.touched_since(before);
    if touched.is_everything() {
        return Some(touched);
    }
    let kind = doc.id().kind();
    let needed = touched.keys().any(|(key, entries)| needs_check(doc, kind, key, entries, before));
    needed.then_some(touched)
}

/// Whether writes under root key `key` (to `entries` of it) may need compensating. A key that
/// holds no part (the schema version, a key no reader knows) is checked to be safe.
fn needs_check(
    doc: &Document,
    kind: DocKind,
    key: &str,
    entries: &Entries,
    before: &[ChangeHash],
) -> bool {
    let Some(part) = root_key_part(kind, key) else { return true };
    // A ticket's status moves along its state machine, whoever writes it.
    if part == DocPart::StatusHistory {
        return true;
    }
    let ids = match entries {
        Entries::All => return !Write::ALL.iter().all(|w| open_to_everyone(part, *w)),
        Entries::Only(ids) => ids,
    };
    // An error reading an entry counts as the write that needs the check.
    match Write::ALL.map(|w| open_to_everyone(part, w)) {
        [true, true, true] => false,
        // Adding and changing are open: only an entry now gone was removed.
        [true, true, false] => ids.iter().any(|id| !doc.has_entry(key, id, None).unwrap_or(false)),
        // Only adding is open: only an entry that was there before was changed or removed.
        [true, false, false] => {
            ids.iter().any(|id| doc.has_entry(key, id, Some(before)).unwrap_or(true))
        }
        _ => true,
    }
}

/// Checks what the merge into `doc` since `heads_before` did, and compensates every
/// unauthorised write (see [`enforce`]). The authorised values before the merge are read as
/// of those heads, and only those the merge touched; `desk` is asked what an open selection
/// desk owns only when a project's units or an event were touched.
///
/// `doc` should have its patch index started at `heads_before`
/// ([`Document::start_patch_index`]); without it, finding what the merge touched scans the
/// whole document.
pub(crate) fn check_merge(
    doc: &mut Document,
    heads_before: &[ChangeHash],
    desk: &(impl DeskView + ?Sized),
    author: &Principal,
    now: DateTime<Utc>,
) -> Result<Vec<Violation>, ServerError> {
    let Some(touched) = guarded_touch(doc, heads_before) else { return Ok(Vec::new()) };
    let as_desk = AsDesk::of(desk, author, doc.id().kind(), doc.id().entity())?;
    let mut before = capture_touched(doc, heads_before, touched)?;
    if let Some(guarded) = &mut before {
        let entity = doc.id().entity();
        match &mut guarded.values {
            Authorised::Project { desk_owned, .. }
                if guarded.touched.entries("units").is_some() =>
            {
                *desk_owned = desk.units_on_desk(entity)?;
            }
            Authorised::Event { desk_open, .. } => *desk_open = desk.event_desk_open(entity)?,
            _ => {}
        }
    }
    enforce_as(doc, before.as_ref(), author, as_desk, now)
}

/// Captures the authorised values of what `touched` names, as `doc` held them at `heads`.
fn capture_touched(
    doc: &Document,
    heads: &[ChangeHash],
    touched: Touched,
) -> Result<Option<Guarded>, ServerError> {
    if heads.is_empty() {
        return Ok(None);
    }
    let values = match doc.id().kind() {
        DocKind::Customer => Authorised::Customer(customer::capture(doc, heads, &touched)?),
        DocKind::Ticket => Authorised::Ticket(Box::new(read_ticket_at(doc, heads)?)),
        DocKind::Project => Authorised::Project {
            project: read_project_entries(doc, Some(heads), &touched)?,
            desk_owned: BTreeSet::new(),
        },
        DocKind::Event => {
            Authorised::Event { event: Box::new(read_event_at(doc, heads)?), desk_open: false }
        }
        DocKind::Lead
        | DocKind::Plan
        | DocKind::Survey
        | DocKind::Scorecard
        | DocKind::Review
        | DocKind::Organisation => Authorised::Record(record::capture(doc, heads)?),
    };
    Ok(Some(Guarded { heads: heads.to_vec(), touched, values }))
}

/// [`enforce_as`] for an author who is no desk.
#[cfg(test)]
fn enforce(
    doc: &mut Document,
    before: Option<&Guarded>,
    author: &Principal,
    now: DateTime<Utc>,
) -> Result<Vec<Violation>, ServerError> {
    enforce_as(doc, before, author, AsDesk::default(), now)
}

/// Checks what a merge from `author` did to `doc` against `before` (`None`: the merge created
/// it) and compensates every unauthorised write, with one server commit per field group or
/// collection. Returns the violations.
/// `as_desk` names what the author writes as the selection desk itself.
fn enforce_as(
    doc: &mut Document,
    before: Option<&Guarded>,
    author: &Principal,
    as_desk: AsDesk,
    now: DateTime<Utc>,
) -> Result<Vec<Violation>, ServerError> {
    let check = Check { role: author.role, author, creating: before.is_none(), now, as_desk };
    let everything = Touched::everything();
    let (heads, touched) = match before {
        Some(g) => (g.heads.as_slice(), &g.touched),
        None => (&[][..], &everything),
    };
    // First, so that a kind a merge rewrote is put back before the typed reads check it.
    let mut found = if touched.parts(doc.id().kind()).contains(&DocPart::Fixed) {
        restore_fixed(doc, heads, &check)?
    } else {
        Vec::new()
    };
    found.extend(match (doc.id().kind(), before.map(|g| &g.values)) {
        (DocKind::Customer, Some(Authorised::Customer(b))) => {
            customer::enforce(doc, b, touched, &check)?
        }
        (DocKind::Customer, None) => {
            customer::enforce(doc, &customer::baseline(author), touched, &check)?
        }
        (DocKind::Ticket, Some(Authorised::Ticket(b))) => {
            ticket::enforce(doc, Some(b), touched, &check)?
        }
        (DocKind::Ticket, None) => ticket::enforce(doc, None, touched, &check)?,
        (DocKind::Project, Some(Authorised::Project { project, desk_owned })) => {
            project::enforce(doc, Some(project), desk_owned, touched, &check)?
        }
        (DocKind::Project, None) => project::enforce(doc, None, &BTreeSet::new(), touched, &check)?,
        (DocKind::Event, Some(Authorised::Event { event, desk_open })) => {
            event::enforce(doc, Some(event), *desk_open, touched, &check)?
        }
        (DocKind::Event, None) => event::enforce(doc, None, false, touched, &check)?,
        (kind, Some(Authorised::Record(b))) if kind.is_record() => {
            record::enforce(doc, Some(b), touched, &check)?
        }
        (kind, None) if kind.is_record() => record::enforce(doc, None, touched, &check)?,
        _ => Vec::new(),
    });
    Ok(found)
}

/// Puts back the fields the document fixed at its creation (its address; a customer's
/// creation time; a ticket's customer and opening), one commit for all of them.
fn restore_fixed(
    doc: &mut Document,
    heads: &[ChangeHash],
    check: &Check<'_>,
) -> Result<Vec<Violation>, ServerError> {
    let restored = doc.restore_fixed_fields(heads, &check.meta("authority.restore_fixed"))?;
    let rule = WriteRule::FixedAtCreation.code();
    Ok(restored
        .iter()
        .map(|r| violation(&format!("/{}", r.key), rule, &r.authorised, &r.written))
        .collect())
}

fn violation<T: serde::Serialize + ?Sized>(
    field: &str,
    rule: &'static str,
    old: &T,
    new: &T,
) -> Violation {
    Violation {
        field: field.to_owned(),
        rule,
        old_value: serde_json::to_value(old).unwrap_or(Value::Null),
        new_value: serde_json::to_value(new).unwrap_or(Value::Null),
    }
}

/// Stores violations for review and notes each in the audit log.
pub(crate) fn record(
    db: &dyn ReviewStore,
    who: &Principal,
    doc_id: &str,
    found: &[Violation],
    now: DateTime<Utc>,
) -> Result<(), ServerError> {
    for v in found {
        db.insert_violation(&NewViolation {
            at: now,
            user_id: &who.user_id,
            device_id: &who.device_id,
            doc_id,
            field: &v.field,
            rule: v.rule,
            old_value: &v.old_value.to_string(),
            new_value: &v.new_value.to_string(),
        })?;
        crate::audit::log(
            db,
            now,
            SERVER_AUTHOR,
            "authority.compensate",
            doc_id,
            &json!({ "field": v.field, "rule": v.rule, "user": who.user_id, "device": who.device_id }),
        )?;
    }
    Ok(())
}

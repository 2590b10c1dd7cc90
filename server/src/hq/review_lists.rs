//! What headquarters settles by hand, as lists (ADR 0025): open conflicts, violations awaiting
//! review and documents set aside by a background task — each searched, filtered, sorted and
//! paged like every other list, people by name.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::listing::{self, Dir, ListSpec, SortColumn, SortValue};
use super::people::Names;
use crate::db::Db;
use crate::db::hq::CustomerFilter;
use crate::db::review::{OpenConflict, Quarantined, ViolationLine};
use crate::error::ServerError;
use crate::quarantine::Task;

/// The document kinds a conflict or a set-aside document may be on (`kind=`).
pub fn doc_kinds() -> Vec<&'static str> {
    kam_core::doc::DocKind::ALL.iter().map(|k| k.as_str()).collect()
}

/// The background tasks that set documents aside (`task=`).
pub fn tasks() -> [&'static str; 2] {
    [Task::Projection.as_str(), Task::Mirror.as_str()]
}

fn text(value: &str) -> Option<SortValue> {
    Some(SortValue::Text(value.to_owned()))
}

fn kind_of(doc_id: &str) -> &str {
    doc_id.split_once('/').map_or(doc_id, |(kind, _)| kind)
}

/// The names of the documents a queue lists, where the projections know them: a customer's
/// name, a ticket's title, an event's name. Read once per request, only for the kinds present.
struct DocNames(HashMap<String, String>);

impl DocNames {
    fn load<'a>(
        db: &dyn Db,
        doc_ids: impl Iterator<Item = &'a str>,
    ) -> Result<DocNames, ServerError> {
        let mut by_kind: HashMap<&str, Vec<String>> = HashMap::new();
        for doc_id in doc_ids {
            if let Some((kind, entity)) = doc_id.split_once('/') {
                by_kind.entry(kind).or_default().push(entity.to_owned());
            }
        }
        let mut names = HashMap::new();
        if by_kind.contains_key("customer") {
            for c in db.customers(&CustomerFilter::default())? {
                names.insert(format!("customer/{}", c.customer_id), c.name);
            }
        }
        if let Some(ids) = by_kind.get("ticket") {
            for t in db.tickets_by_id(ids)? {
                names.insert(format!("ticket/{}", t.ticket_id), t.title);
            }
        }
        if by_kind.contains_key("event") {
            for e in db.projected_events()? {
                names.insert(format!("event/{}", e.event_id), e.name);
            }
        }
        Ok(DocNames(names))
    }

    /// The document's name, or empty when no projection knows it.
    fn of(&self, doc_id: &str) -> String {
        self.0.get(doc_id).cloned().unwrap_or_default()
    }
}

/// The conflict list's filters, as the query string spells them.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct ConflictQuery {
    /// The document kind (`customer`, `ticket`, …).
    pub kind: Option<String>,
    /// Part of the document's id, the field or one of the values.
    pub q: Option<String>,
}

impl ConflictQuery {
    /// The filters as query-string pairs.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let v = |o: &Option<String>| o.clone().unwrap_or_default();
        vec![("kind", v(&self.kind)), ("q", v(&self.q))]
    }
}

/// An open conflict as listed.
#[derive(Clone, Debug, Serialize)]
pub struct ConflictLine {
    /// The conflict.
    #[serde(flatten)]
    pub conflict: OpenConflict,
    /// The document's name (a customer's, a ticket's title), empty when unknown.
    pub doc_name: String,
    /// Its document and field, the list's id.
    #[serde(skip)]
    key: String,
}

/// The conflict list: the oldest first by default.
pub const CONFLICTS: ListSpec<ConflictLine> = ListSpec {
    columns: &[
        SortColumn { key: "seen", value: |c| text(&c.conflict.first_seen_at) },
        SortColumn { key: "doc", value: |c| text(&c.conflict.doc_id) },
        SortColumn { key: "path", value: |c| text(&c.conflict.path) },
    ],
    default: ("seen", Dir::Asc),
    id: |c| &c.key,
};

/// The open conflicts matching `query`; a kind that cannot be is refused by name.
pub fn conflicts(db: &dyn Db, query: &ConflictQuery) -> Result<Vec<ConflictLine>, ServerError> {
    let kind = listing::code(&query.kind, "kind", &doc_kinds())?;
    let q = listing::search_text(query.q.as_deref())?;
    let mut open = db.open_conflicts()?;
    open.retain(|c| kind.is_none_or(|k| kind_of(&c.doc_id) == k));
    let names = DocNames::load(db, open.iter().map(|c| c.doc_id.as_str()))?;
    Ok(open
        .into_iter()
        .map(|conflict| ConflictLine {
            key: format!("{}\n{}", conflict.doc_id, conflict.path),
            doc_name: names.of(&conflict.doc_id),
            conflict,
        })
        .filter(|l| {
            let c = &l.conflict;
            q.as_deref().is_none_or(|q| {
                listing::contains_folded(&c.doc_id, q)
                    || listing::contains_folded(&l.doc_name, q)
                    || listing::contains_folded(&c.path, q)
                    || c.values.iter().any(|v| listing::contains_folded(v, q))
            })
        })
        .collect())
}

/// The violation list's filters, as the query string spells them.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct ViolationQuery {
    /// The writer's user id.
    pub user: Option<String>,
    /// The rule broken (`owners_hq_only`, …).
    pub rule: Option<String>,
    /// Part of the writer's id or name, the device, the document or the field.
    pub q: Option<String>,
}

impl ViolationQuery {
    /// The filters as query-string pairs.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let v = |o: &Option<String>| o.clone().unwrap_or_default();
        vec![("user", v(&self.user)), ("rule", v(&self.rule)), ("q", v(&self.q))]
    }
}

/// A violation awaiting review as listed: its row and its writer's name.
#[derive(Clone, Debug, Serialize)]
pub struct ViolationItem {
    /// The violation.
    #[serde(flatten)]
    pub violation: ViolationLine,
    /// The writer's name.
    pub user_name: String,
    /// The document's name (a customer's, a ticket's title), empty when unknown.
    pub doc_name: String,
    /// The id as text, zero-padded (the list's id).
    #[serde(skip)]
    key: String,
}

/// The violation list: the latest first by default.
pub const VIOLATIONS: ListSpec<ViolationItem> = ListSpec {
    columns: &[
        SortColumn { key: "at", value: |v| text(&v.violation.at) },
        SortColumn { key: "user", value: |v| text(&v.user_name) },
        SortColumn { key: "doc", value: |v| text(&v.violation.doc_id) },
        SortColumn { key: "rule", value: |v| text(&v.violation.rule) },
    ],
    default: ("at", Dir::Desc),
    id: |v| &v.key,
};

/// Whether `rule` is spelled as a rule is (lower-case words joined by `_`); a well-formed
/// rule no open violation broke matches nothing, as a queue emptied by review should.
fn rule_name(value: &Option<String>) -> Result<Option<&str>, ServerError> {
    let Some(rule) = listing::given(value) else { return Ok(None) };
    let well_formed = rule.len() <= 64
        && rule.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !well_formed {
        let reason = format!("{rule:?} is not a rule's name");
        return Err(ServerError::Invalid { field: "rule", reason });
    }
    Ok(Some(rule))
}

/// The violations awaiting review matching `query`; a user who is not one or a rule that
/// cannot be is refused by name.
pub fn violations(db: &dyn Db, query: &ViolationQuery) -> Result<Vec<ViolationItem>, ServerError> {
    let names = Names::load(db)?;
    let user = listing::given(&query.user);
    if let Some(u) = user
        && !names.knows(u)
    {
        return Err(ServerError::Invalid { field: "user", reason: format!("no user {u:?}") });
    }
    let rule = rule_name(&query.rule)?;
    let q = listing::search_text(query.q.as_deref())?;
    let mut open = db.open_violations()?;
    open.retain(|v| user.is_none_or(|u| v.user_id == u) && rule.is_none_or(|r| v.rule == r));
    let docs = DocNames::load(db, open.iter().map(|v| v.doc_id.as_str()))?;
    Ok(open
        .into_iter()
        .map(|violation| ViolationItem {
            user_name: names.of(&violation.user_id).to_owned(),
            doc_name: docs.of(&violation.doc_id),
            key: format!("{:020}", violation.violation_id),
            violation,
        })
        .filter(|v| {
            q.as_deref().is_none_or(|q| {
                let w = &v.violation;
                [&w.user_id, &v.user_name, &w.device_id, &w.doc_id, &v.doc_name, &w.field]
                    .iter()
                    .any(|field| listing::contains_folded(field, q))
            })
        })
        .collect())
}

/// The rules the violations awaiting review broke, each once, for the list's filter.
pub fn violated_rules(db: &dyn Db) -> Result<Vec<String>, ServerError> {
    let mut rules: Vec<String> = db.open_violations()?.into_iter().map(|v| v.rule).collect();
    rules.sort();
    rules.dedup();
    Ok(rules)
}

/// The quarantine list's filters, as the query string spells them.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct QuarantineQuery {
    /// The task (`projection`, `mirror`).
    pub task: Option<String>,
    /// The document kind.
    pub kind: Option<String>,
    /// Part of the document's id or of the error.
    pub q: Option<String>,
}

impl QuarantineQuery {
    /// The filters as query-string pairs.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let v = |o: &Option<String>| o.clone().unwrap_or_default();
        vec![("task", v(&self.task)), ("kind", v(&self.kind)), ("q", v(&self.q))]
    }
}

/// A document set aside, as listed.
#[derive(Clone, Debug, Serialize)]
pub struct QuarantineLine {
    /// The document and its failure.
    #[serde(flatten)]
    pub item: Quarantined,
    /// The document's name (a customer's, a ticket's title), empty when unknown.
    pub doc_name: String,
    /// Its task and document, the list's id.
    #[serde(skip)]
    key: String,
}

/// The quarantine list: the latest failure first by default.
pub const QUARANTINE: ListSpec<QuarantineLine> = ListSpec {
    columns: &[
        SortColumn { key: "last", value: |q| text(&q.item.last_at) },
        SortColumn { key: "first", value: |q| text(&q.item.first_at) },
        SortColumn { key: "attempts", value: |q| Some(SortValue::Int(q.item.attempts)) },
        SortColumn { key: "task", value: |q| text(&q.item.task) },
        SortColumn { key: "doc", value: |q| text(&q.item.doc_id) },
    ],
    default: ("last", Dir::Desc),
    id: |q| &q.key,
};

/// The documents set aside matching `query`; a task or kind that cannot be is refused by name.
pub fn quarantine(
    db: &dyn Db,
    query: &QuarantineQuery,
) -> Result<Vec<QuarantineLine>, ServerError> {
    let task = listing::code(&query.task, "task", &tasks())?;
    let kind = listing::code(&query.kind, "kind", &doc_kinds())?;
    let q = listing::search_text(query.q.as_deref())?;
    let mut set_aside = db.quarantined(usize::MAX)?;
    set_aside.retain(|i| {
        task.is_none_or(|t| i.task == t) && kind.is_none_or(|k| kind_of(&i.doc_id) == k)
    });
    let names = DocNames::load(db, set_aside.iter().map(|i| i.doc_id.as_str()))?;
    Ok(set_aside
        .into_iter()
        .map(|item| QuarantineLine {
            key: format!("{}\n{}", item.task, item.doc_id),
            doc_name: names.of(&item.doc_id),
            item,
        })
        .filter(|l| {
            let i = &l.item;
            q.as_deref().is_none_or(|q| {
                listing::contains_folded(&i.doc_id, q)
                    || listing::contains_folded(&l.doc_name, q)
                    || listing::contains_folded(&i.error, q)
            })
        })
        .collect())
}

/// How many of each queue are open: conflicts, violations, documents set aside.
pub fn counts(db: &dyn Db) -> Result<[u64; 3], ServerError> {
    let conflicts = u64::try_from(db.open_conflicts()?.len()).unwrap_or(u64::MAX);
    let violations = u64::try_from(db.open_violations()?.len()).unwrap_or(u64::MAX);
    Ok([conflicts, violations, db.quarantined_count()?])
}
